"""OCPP 2.0.1 and 2.1 through the same roles and transports: every action both ways, negotiation, the
OCPP-J 2.x RPC framework (its error codes, 36-character ids) and 2.1's SEND and CALLRESULTERROR."""

# pyright: reportUnusedClass=false
# (classes defined only to be refused)

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
from websockets.asyncio.client import connect as raw_connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from ocpprpc import (
    ALL_VERSIONS,
    CSMS,
    DEFAULT_VERSIONS,
    CentralSystem,
    CentralSystemServer,
    ChargePoint,
    ChargingStation,
    FormatViolation,
    OccurrenceConstraintViolation,
    OcppError,
    OcppModel,
    Role,
    UsageError,
    on,
)
from ocpprpc._versions import VERSIONS
from ocpprpc.messages import v21, v201
from ocpprpc.messages._base import Side
from ocpprpc.messages.examples import example
from ocpprpc.transports import memory
from ocpprpc.transports.websocket import WebSocketServer, connect, serve

from .roles_for_tests import answer_next_call, hand_driven_peer
from .timing import FAST, bounded, eventually

REPO = Path(__file__).resolve().parents[1]
JSON_DIR = Path(os.environ.get("OCPP_JSON_DIR", REPO.parent / "shared" / "ocpp-json"))
TWO_X = ("2.0.1", "2.1")


class Csms(CSMS):
    """A 2.x central system answering every action with a valid example response; records what it got."""

    versions: ClassVar[tuple[str, ...]] = ("2.1", "2.0.1", "1.6")
    journal: ClassVar[list[tuple[str, str, OcppModel]]] = []

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        self.journal.append((self.id, action, request))
        return example(self.ocpp_version.received_by(self.side)[action].response)


class Station(ChargingStation):
    """A 2.x charging station answering every action with a valid example response."""

    versions: ClassVar[tuple[str, ...]] = ("2.1", "2.0.1")

    def __init__(self, id: str, version: Any = None) -> None:
        super().__init__(id, version)
        self.received: list[str] = []

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        self.received.append(action)
        return example(self.ocpp_version.received_by(self.side)[action].response)


def official_schema(version: str, name: str) -> dict[str, Any] | None:
    """The official JSON schema of message ``name`` (``BootNotificationRequest``), or None without ../shared."""
    path = JSON_DIR / version / f"{name}.json"
    if not path.is_file():
        return None
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def check_against_official_schema(version: str, name: str, payload: dict[str, Any]) -> None:
    schema = official_schema(version, name)
    if schema is not None:
        jsonschema.validate(payload, schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture
async def ws_server() -> AsyncIterator[WebSocketServer[Csms]]:
    role: type[Csms] = type("JournalledCsms", (Csms,), {"journal": []})
    async with serve(CentralSystemServer[Csms](role), path="/ocpp") as running:
        yield running


# -- roles and versions ------------------------------------------------------------------------------------


def test_2x_is_opted_into_and_the_2x_names_are_the_same_classes() -> None:
    assert DEFAULT_VERSIONS == ("1.6", "1.5", "1.2")
    assert ALL_VERSIONS == ("2.1", "2.0.1", "1.6", "1.5", "1.2")
    assert ChargePoint.versions == DEFAULT_VERSIONS and CentralSystem.versions == DEFAULT_VERSIONS
    assert ChargingStation is ChargePoint and CSMS is CentralSystem
    assert VERSIONS["2.0.1"].subprotocol == "ocpp2.0.1" and VERSIONS["2.1"].subprotocol == "ocpp2.1"
    assert len(VERSIONS["2.0.1"].actions) == 65  # 64 actions, DataTransfer both ways
    assert [s.name for s in VERSIONS["2.1"].sends] == ["NotifyPeriodicEventStream"]


def test_a_1x_class_handling_a_2x_action_is_told_to_opt_in() -> None:
    with pytest.raises(UsageError, match=r'"TransactionEvent".*OCPP 2\.1, 2\.0\.1 has\. Add "2\.1" or "2\.0\.1"'):

        class Old(CentralSystem):
            @on("TransactionEvent")
            def transaction(self, request: Any) -> Any: ...


def test_a_send_handler_on_the_side_that_sends_it_is_refused_with_how_to_send_it() -> None:
    with pytest.raises(UsageError, match=r"send\(v21\.NotifyPeriodicEventStream\(\.\.\.\)\)"):

        class Wrong(ChargingStation):
            versions = ("2.1",)

            @on("NotifyPeriodicEventStream")
            def stream(self, message: Any) -> None: ...


# -- every action, both directions, over WebSocket and in memory ---------------------------------------


async def exercise_every_action(cs_call: Any, cp: Station, version: str) -> None:
    """Send every charge-point action from ``cp`` and every CSMS action through ``cs_call``; check the answers."""
    ocpp = VERSIONS[version]
    for spec in ocpp.initiated_by(Side.CHARGE_POINT).values():
        request: Any = example(spec.request)
        check_against_official_schema(version, spec.request.__name__, request.to_json_dict())
        response: OcppModel = await cp.call(request)
        assert isinstance(response, spec.response), spec.name
        check_against_official_schema(version, spec.response.__name__, response.to_json_dict())
    for spec in ocpp.initiated_by(Side.CENTRAL_SYSTEM).values():
        request = example(spec.request)
        check_against_official_schema(version, spec.request.__name__, request.to_json_dict())
        response = await cs_call(request)
        assert isinstance(response, spec.response), spec.name


@pytest.mark.parametrize("version", TWO_X)
@bounded(15)
async def test_every_action_in_both_directions_over_websocket(ws_server: WebSocketServer[Csms], version: str) -> None:
    ocpp = VERSIONS[version]
    cp = Station(f"CS-{version}", version)
    async with connect(cp, ws_server.url, versions=[version], **FAST) as client:
        assert client.version == version
        cs_role = ws_server.server[cp.id]
        assert cs_role.ocpp_version is ocpp

        async def cs_call(request: Any) -> OcppModel:
            response: OcppModel = await ws_server.server.call(cp.id, request)
            return response

        await exercise_every_action(cs_call, cp, version)
    assert [action for _, action, _ in cs_role.journal] == list(ocpp.initiated_by(Side.CHARGE_POINT))
    assert cp.received == list(ocpp.initiated_by(Side.CENTRAL_SYSTEM))


@pytest.mark.parametrize("version", TWO_X)
@bounded(15)
async def test_every_action_in_both_directions_in_memory(version: str) -> None:
    role: type[Csms] = type("MemoryCsms", (Csms,), {"journal": []})
    server = CentralSystemServer(role)
    cp = Station("CS-mem", version)
    async with memory.connect(server, cp) as cs_role:
        assert cs_role.version == version

        async def cs_call(request: Any) -> OcppModel:
            response: OcppModel = await cs_role.call(request)
            return response

        await exercise_every_action(cs_call, cp, version)


# -- negotiation --------------------------------------------------------------------------------------------


@bounded()
async def test_one_server_serves_2x_and_1x_clients_each_their_version(ws_server: WebSocketServer[Csms]) -> None:
    for offered, expected in (
        (["ocpp2.1", "ocpp2.0.1", "ocpp1.6"], "ocpp2.1"),
        (["ocpp2.0.1", "ocpp1.6"], "ocpp2.0.1"),
        (["ocpp1.6"], "ocpp1.6"),
    ):
        async with raw_connect(
            f"{ws_server.url}CP-raw", subprotocols=[Subprotocol(p) for p in offered], open_timeout=2
        ) as ws:
            assert ws.subprotocol == expected


@bounded()
async def test_a_1x_server_refuses_a_2x_only_client_before_the_upgrade() -> None:
    class Old(CentralSystem):
        pass

    async with serve(CentralSystemServer(Old), path="/ocpp") as running:
        with pytest.raises(InvalidStatus) as refused:
            async with raw_connect(f"{running.url}CP1", subprotocols=[Subprotocol("ocpp2.0.1")], open_timeout=2):
                pass
        assert refused.value.response.status_code == 400


def test_soap_refuses_2x() -> None:
    from ocpprpc.transports import soap

    with pytest.raises(UsageError, match="no SOAP binding"):
        soap.SoapServer(CentralSystemServer(Csms), versions=["2.0.1"])
    assert soap.SoapServer(CentralSystemServer(Csms)).versions == ("1.6",)  # the 1.x it serves
    with pytest.raises(UsageError, match="no SOAP binding"):
        soap.SoapChargePointClient(Station("CP1", "2.0.1"), "http://127.0.0.1:1/ocpp")


# -- the OCPP-J 2.x RPC framework: bad input answered with 2.x codes ------------------------------------


BAD_FRAMES_2X = [
    # (frame, code answered) — the id is readable in each, so each is answered
    ('[2,"a1","BootNotification",[]]', "FormatViolation"),
    ('[2,"a2","Heartbeat"]', "RpcFrameworkError"),
    ('[2,"a3",7,{}]', "RpcFrameworkError"),
    (json.dumps([2, "x" * 37, "Heartbeat", {}]), "RpcFrameworkError"),
    ('[7,"a4","Heartbeat",{}]', "MessageTypeNotSupported"),
    ('[2,"a5","BootNotification",{"reason":"PowerUp"}]', "OccurrenceConstraintViolation"),
    (
        '[2,"a6","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"m","vendorName":"v"},"x":1}]',
        "PropertyConstraintViolation",
    ),
    ('[2,"a7","Heartbeat",{"customData":{}}]', "OccurrenceConstraintViolation"),  # customData needs vendorId
    ('[2,"a8","Teleport",{}]', "NotImplemented"),
]


@pytest.mark.parametrize("version", TWO_X)
@pytest.mark.parametrize(
    ("frame", "code"), BAD_FRAMES_2X, ids=[code + str(i) for i, (_, code) in enumerate(BAD_FRAMES_2X)]
)
@bounded()
async def test_bad_input_is_answered_with_the_2x_code(version: str, frame: str, code: str) -> None:
    async with hand_driven_peer(Csms("CP1", version)) as peer:
        await peer.send(frame)
        answer = json.loads(await peer.recv())
        assert answer[0] == 4 and answer[2] == code, answer
        assert answer[1] == json.loads(frame)[1]


@bounded()
async def test_the_same_faults_keep_their_1x_codes_on_a_1x_connection() -> None:
    async with hand_driven_peer(Csms("CP1", "1.6")) as peer:
        for frame, code in (
            ('[2,"b1","BootNotification",[]]', "TypeConstraintViolation"),
            ('[2,"b2","Heartbeat"]', "FormationViolation"),
            ('[7,"b3","Heartbeat",{}]', "ProtocolError"),
            ('[6,"b4","NotifyPeriodicEventStream",{}]', "ProtocolError"),  # SEND is 2.1's
            ('[2,"b5","BootNotification",{}]', "OccurenceConstraintViolation"),
        ):
            await peer.send(frame)
            answer = json.loads(await peer.recv())
            assert answer[2] == code, (frame, answer)
        await peer.send(json.dumps([2, "y" * 40, "Heartbeat", {}]))  # 1.x accepts long ids
        assert json.loads(await peer.recv())[0] == 3


@bounded()
async def test_a_2x_peers_error_codes_are_read_as_our_classes() -> None:
    cp = Station("CP1", "2.0.1")
    async with hand_driven_peer(cp) as peer:
        heartbeat = asyncio.ensure_future(cp.call(v201.HeartbeatRequest()))
        frame = json.loads(await peer.recv())
        await peer.send(json.dumps([4, frame[1], "FormatViolation", "bad", {}]))
        with pytest.raises(FormatViolation) as raised:
            await heartbeat
        assert raised.value.raw_code == "FormatViolation" and raised.value.remote


# -- 2.1: SEND and CALLRESULTERROR ----------------------------------------------------------------------------


class StreamCsms(Csms):
    versions = ("2.1", "2.0.1")

    def __init__(self, id: str, version: Any = None) -> None:
        super().__init__(id, version)
        self.streams: list[v21.NotifyPeriodicEventStream] = []
        self.invalid: list[tuple[str, OcppError]] = []
        self.refused_answers: list[tuple[str, OcppError]] = []

    @on(v21.NotifyPeriodicEventStream)
    async def stream(self, message: v21.NotifyPeriodicEventStream) -> None:
        self.streams.append(message)

    async def on_validation_error(self, action: str, payload: dict[str, Any], error: OcppError, repaired: bool) -> None:
        self.invalid.append((action, error))

    def on_call_result_error(self, message_id: str, error: OcppError) -> None:
        self.refused_answers.append((message_id, error))


def stream_message() -> v21.NotifyPeriodicEventStream:
    return example(v21.NotifyPeriodicEventStream)


@bounded()
async def test_a_send_reaches_its_handler_and_nothing_is_answered() -> None:
    server = CentralSystemServer(StreamCsms)
    cp = Station("CP1", "2.1")
    async with memory.connect(server, cp) as cs_role:
        await cp.send(stream_message())
        await eventually(lambda: len(cs_role.streams) == 1)
        assert cs_role.streams[0] == stream_message()
        # nothing came back: the next call's answer is the next frame the charge point sees
        assert isinstance(await cp.call(v21.HeartbeatRequest()), v21.HeartbeatResponse)


@bounded()
async def test_a_send_over_websocket_is_one_frame_of_type_6() -> None:
    async with (
        serve(CentralSystemServer(StreamCsms), path="/ocpp") as running,
        raw_connect(f"{running.url}CP1", subprotocols=[Subprotocol("ocpp2.1")], open_timeout=2) as ws,
    ):
        payload = stream_message().to_json_dict()
        check_against_official_schema("2.1", "NotifyPeriodicEventStream", payload)
        await ws.send(json.dumps([6, "s1", "NotifyPeriodicEventStream", payload]))
        role = running.server["CP1"]
        await eventually(lambda: len(role.streams) == 1)
        await ws.send('[2,"h1","Heartbeat",{}]')
        assert json.loads(await ws.recv())[:2] == [3, "h1"]  # the first frame back answers the CALL


@bounded()
async def test_a_bad_or_unknown_send_is_logged_never_answered(caplog: pytest.LogCaptureFixture) -> None:
    role = StreamCsms("CP1", "2.1")
    async with hand_driven_peer(role) as peer:
        with caplog.at_level(logging.WARNING):
            await peer.send('[6,"s1","NotifyPeriodicEventStream",{"id":1}]')  # data, pending, basetime missing
            await peer.send('[6,"s2","Teleport",{}]')
            await peer.send('[6,"s3","NotifyPeriodicEventStream",[]]')  # a malformed SEND
            await peer.send('[2,"h1","Heartbeat",{}]')
            answer = json.loads(await peer.recv())
        assert answer[1] == "h1"  # no answer to any of the three came before
        assert [action for action, _ in role.invalid] == ["NotifyPeriodicEventStream"]
        assert role.streams == []
        assert "Teleport" in caplog.text


@bounded()
async def test_send_is_refused_where_it_does_not_exist() -> None:
    server = CentralSystemServer(StreamCsms)
    cp = Station("CP1", "2.0.1")
    async with memory.connect(server, cp) as cs_role:
        with pytest.raises(UsageError, match=r"not a message a ChargePoint sends unconfirmed in OCPP 2\.0\.1"):
            await cp.send(stream_message())
        with pytest.raises(UsageError, match="requests go through call"):
            await cp.send(v201.HeartbeatRequest())
        assert cs_role.streams == []
    cs = StreamCsms("CP2", "2.1")
    async with hand_driven_peer(cs):
        with pytest.raises(UsageError, match="not a message a CentralSystem sends"):
            await cs.send(stream_message())


@bounded()
async def test_an_invalid_answer_to_our_2_1_call_is_refused_with_a_callresulterror() -> None:
    cs = StreamCsms("CP1", "2.1")
    async with hand_driven_peer(cs) as peer:
        reset = asyncio.ensure_future(cs.call(v21.ResetRequest(type="Immediate")))
        frame = await answer_next_call(peer, {"status": "Sure"})
        with pytest.raises(OcppError):
            await reset
        refusal = json.loads(await peer.recv())
        assert refusal[:3] == [5, frame[1], "PropertyConstraintViolation"] or refusal[:3] == [
            5,
            frame[1],
            "TypeConstraintViolation",
        ]
        reset = asyncio.ensure_future(cs.call(v21.ResetRequest(type="Immediate")))
        frame = await answer_next_call(peer, {})
        with pytest.raises(OccurrenceConstraintViolation):
            await reset
        assert json.loads(await peer.recv())[:3] == [5, frame[1], "OccurrenceConstraintViolation"]


@bounded()
async def test_a_2_0_1_connection_sends_no_callresulterror() -> None:
    cs = StreamCsms("CP1", "2.0.1")
    async with hand_driven_peer(cs) as peer:
        reset = asyncio.ensure_future(cs.call(v201.ResetRequest(type="Immediate")))
        await answer_next_call(peer, {})
        with pytest.raises(OccurrenceConstraintViolation):
            await reset
        await peer.send('[2,"h1","Heartbeat",{}]')
        assert json.loads(await peer.recv())[:2] == [3, "h1"]  # nothing was sent before the answer


@bounded()
async def test_a_callresulterror_from_the_peer_reaches_the_role_and_is_not_answered() -> None:
    cs = StreamCsms("CP1", "2.1")
    async with hand_driven_peer(cs) as peer:
        await peer.send('[2,"h1","Heartbeat",{}]')
        assert json.loads(await peer.recv())[0] == 3
        await peer.send('[5,"h1","FormatViolation","your answer was odd",{}]')
        await eventually(lambda: len(cs.refused_answers) == 1)
        message_id, error = cs.refused_answers[0]
        assert message_id == "h1" and isinstance(error, FormatViolation) and error.description == "your answer was odd"
        await peer.send('[2,"h2","Heartbeat",{}]')
        assert json.loads(await peer.recv())[:2] == [3, "h2"]


# -- lenient mode --------------------------------------------------------------------------------------------


@bounded()
async def test_a_lenient_2x_role_repairs_what_is_obvious() -> None:
    class Lenient(Csms):
        strict = False

    async with hand_driven_peer(Lenient("CP1", "2.0.1")) as peer:
        boot = {"reason": "powerup", "chargingStation": {"model": "m", "vendorName": "v"}}
        await peer.send(json.dumps([2, "c1", "BootNotification", boot]))
        answer = json.loads(await peer.recv())
        assert answer[0] == 3, answer


def test_role_classes_type_check_for_2x() -> None:
    # what a user writes: typed handlers for 2.0.1 models (checked by mypy / basedpyright in make test)
    class Typed(CSMS):
        versions = ("2.0.1",)

        @on(v201.BootNotificationRequest)
        async def boot(self, request: v201.BootNotificationRequest) -> v201.BootNotificationResponse:
            return v201.BootNotificationResponse(
                current_time=example(v201.HeartbeatResponse).current_time, interval=300, status="Accepted"
            )

    assert Typed._handlers.handlers == {("2.0.1", "BootNotification"): "boot"}
    assert issubclass(Typed, Role)


# -- transaction messages: nothing lost, nothing twice ------------------------------------------------------


def started_event(seq_no: int = 0) -> v201.TransactionEventRequest:
    return v201.TransactionEventRequest(
        event_type="Started",
        timestamp=datetime(2026, 11, 24, 10, tzinfo=UTC),
        trigger_reason="Authorized",
        seq_no=seq_no,
        transaction_info={"transaction_id": "T-1"},
    )


@bounded()
async def test_a_retried_transaction_event_is_answered_as_before_without_handling_it_twice() -> None:
    class Counting(Csms):
        events: ClassVar[list[int]] = []

        @on(v201.TransactionEventRequest)
        def event(self, request: v201.TransactionEventRequest) -> v201.TransactionEventResponse:
            self.events.append(request.seq_no)
            return v201.TransactionEventResponse(total_cost=len(self.events))

    async with hand_driven_peer(Counting("CP1", "2.0.1")) as peer:
        frame = json.dumps([2, "tx-1", "TransactionEvent", started_event().to_json_dict()])
        await peer.send(frame)
        first = json.loads(await peer.recv())
        await peer.send(frame)  # the charging station lost the answer and retries with the same id
        again = json.loads(await peer.recv())
    assert first == again == [3, "tx-1", {"totalCost": 1}]
    assert Counting.events == [0]


@bounded(8)
async def test_a_transaction_event_sent_while_offline_is_delivered_after_the_reconnect(
    ws_server: WebSocketServer[Csms],
) -> None:
    station = Station("CS-offline", "2.0.1")
    pending = await station.enqueue(started_event())  # not connected: the event waits in the outbox
    assert station.pending_transaction_messages == 1
    async with connect(station, ws_server.url, versions=["2.0.1"], **FAST):
        response = await asyncio.wait_for(pending, 5)
        journal = ws_server.server[station.id].journal
    assert isinstance(response, v201.TransactionEventResponse)
    assert station.pending_transaction_messages == 0
    assert [action for _, action, _ in journal] == ["TransactionEvent"]
