"""OCPP-J over real WebSockets on 127.0.0.1: every action, negotiation, paths, auth, TLS, reconnects, bad input.

Each test runs under ``asyncio.timeout`` (see :func:`bounded`) so a broken transport fails fast instead of
hanging; back-off delays are tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

import pytest
from websockets.asyncio.client import connect as raw_connect
from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from ocpprpc import Backoff, CentralSystem, CentralSystemServer, ChargePoint, ConnectionClosed, OcppModel, UsageError
from ocpprpc._basic_auth import basic_authorization
from ocpprpc._versions import VERSIONS
from ocpprpc.messages import v15, v16
from ocpprpc.messages._base import Side
from ocpprpc.messages.examples import example
from ocpprpc.server import UnknownChargePoint
from ocpprpc.transports import websocket
from ocpprpc.transports.websocket import NotConnected, WebSocketClient, WebSocketServer, connect, serve

from .timing import FAST, bounded, eventually

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)

# -- the two test roles ----------------------------------------------------------------------------------


class ExampleCentralSystem(CentralSystem):
    """Answers every action with a valid example response, and writes what it got into ``journal``."""

    journal: ClassVar[list[tuple[str, str, OcppModel]]] = []

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        self.journal.append((self.id, action, request))
        return example(self.ocpp_version.received_by(self.side)[action].response)


class ExampleChargePoint(ChargePoint):
    """Answers every central system request with a valid example response and remembers it."""

    def __init__(self, id: str, version: Any = None) -> None:
        super().__init__(id, version)
        self.received: list[str] = []

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        self.received.append(action)
        return example(self.ocpp_version.received_by(self.side)[action].response)


def fresh_central_system() -> type[ExampleCentralSystem]:
    """A subclass with its own journal, so two servers in one test keep separate records."""
    return type("JournalledCentralSystem", (ExampleCentralSystem,), {"journal": []})


@pytest.fixture
async def ws_server() -> AsyncIterator[WebSocketServer[ExampleCentralSystem]]:
    async with serve(CentralSystemServer(fresh_central_system()), path="/ocpp") as running:
        yield running


def client(cp: ChargePoint, url: str, **options: Any) -> WebSocketClient:
    return connect(cp, url, **{**FAST, **options})


# -- every action, both directions, every version --------------------------------------------------------


@pytest.mark.parametrize("version", ["1.2", "1.5", "1.6"])
@bounded(8)
async def test_every_action_in_both_directions(ws_server: WebSocketServer[ExampleCentralSystem], version: str) -> None:
    ocpp = VERSIONS[version]
    cp = ExampleChargePoint(f"CP-{version}", version)
    async with client(cp, ws_server.url) as cp_client:
        assert cp_client.version == version
        cs_role = ws_server.server[cp.id]
        assert cs_role.version == version and cs_role.ocpp_version is ocpp
        for spec in ocpp.initiated_by(Side.CHARGE_POINT).values():
            request: Any = example(spec.request)
            response: OcppModel = await cp.call(request)
            assert isinstance(response, spec.response), spec.name
        for spec in ocpp.initiated_by(Side.CENTRAL_SYSTEM).values():
            request = example(spec.request)
            response = await ws_server.server.call(cp.id, request)
            assert isinstance(response, spec.response), spec.name
    assert [action for _, action, _ in cs_role.journal] == list(ocpp.initiated_by(Side.CHARGE_POINT))
    assert cp.received == list(ocpp.initiated_by(Side.CENTRAL_SYSTEM))
    assert len(ocpp.initiated_by(Side.CHARGE_POINT)) == (9 if version == "1.2" else 10)
    assert len(ocpp.initiated_by(Side.CENTRAL_SYSTEM)) == {"1.2": 9, "1.5": 15, "1.6": 19}[version]


# -- subprotocol negotiation --------------------------------------------------------------------------------


@bounded()
async def test_the_server_picks_the_first_of_its_own_preferences(
    ws_server: WebSocketServer[ExampleCentralSystem],
) -> None:
    assert ws_server.versions == ("1.6", "1.5", "1.2")
    cp = ExampleChargePoint("CP1", "1.2")
    async with client(cp, ws_server.url, versions=["ocpp1.2", "ocpp1.6"]) as cp_client:
        assert cp_client.version == "1.6" and cp_client.versions == ("1.2", "1.6")
        assert cp.version == "1.6" and cp.ocpp_version is v16.VERSION
        assert ws_server.server["CP1"].version == "1.6"
        await cp.call(v16.HeartbeatRequest())


@bounded()
async def test_a_server_preferring_an_older_version_gets_it() -> None:
    async with serve(CentralSystemServer(fresh_central_system()), versions=["1.2", "ocpp1.6"]) as ws_server:
        cp = ExampleChargePoint("CP1", "1.6")
        async with client(cp, ws_server.url, versions=["ocpp1.6", "ocpp1.2"]):
            assert cp.version == "1.2"
            assert ws_server.server["CP1"].version == "1.2"


@bounded()
async def test_a_version_the_server_does_not_serve_is_refused_before_the_upgrade(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ocpprpc.websocket")
    async with serve(CentralSystemServer(fresh_central_system()), versions=["ocpp1.5"]) as ws_server:
        with pytest.raises(InvalidStatus) as refused:
            await raw_connect(ws_server.url_for("CP1"), subprotocols=[Subprotocol("ocpp1.6")])
        assert refused.value.response.status_code == 400
        assert b"ocpp1.5" in refused.value.response.body
        with pytest.raises(InvalidStatus) as refused:
            await raw_connect(ws_server.url_for("CP1"))  # no subprotocol at all
        assert refused.value.response.status_code == 400

        cp = ExampleChargePoint("CP1", "1.6")
        with pytest.raises(NotConnected) as not_connected:
            async with client(cp, ws_server.url, reconnect=False):
                pass
        assert isinstance(not_connected.value.last_error, InvalidStatus)
        assert not_connected.value.last_error.response.status_code == 400
        assert len(ws_server.server) == 0
    assert "refused" in caplog.text and "HTTP 400" in caplog.text


def test_a_server_cannot_offer_a_version_its_role_class_does_not_speak() -> None:
    class Only16(CentralSystem):
        versions = ("1.6",)

    with pytest.raises(UsageError):
        serve(CentralSystemServer(Only16), versions=["ocpp1.5"])
    with pytest.raises(UsageError):
        serve(CentralSystemServer(Only16), versions=["ocpp2.0.1"])


# -- paths and the registry ---------------------------------------------------------------------------------


@bounded()
async def test_the_charge_point_id_is_the_path_segment_after_the_endpoint() -> None:
    async with serve(CentralSystemServer(fresh_central_system()), path="/central/ocpp/") as ws_server:
        assert ws_server.url == f"ws://127.0.0.1:{ws_server.port}/central/ocpp/"
        cp = ExampleChargePoint("CP-7é")
        async with client(cp, ws_server.url) as cp_client:
            assert cp_client.url.endswith("/central/ocpp/CP-7%C3%A9")
            assert "CP-7é" in ws_server.server
            await cp.call(v16.HeartbeatRequest())


@bounded()
async def test_a_check_id_override_on_both_sides_admits_ids_the_default_rule_refuses() -> None:
    def anything_but_empty(charge_point_id: str) -> str | None:
        return None if charge_point_id else "empty"

    server = CentralSystemServer(fresh_central_system())
    async with serve(server, path="/ocpp", check_id=anything_but_empty) as ws_server:
        cp = ExampleChargePoint("CP 7/é")
        with pytest.raises(UsageError):
            connect(cp, ws_server.url)  # the default rule refuses a space and a slash
        async with client(cp, ws_server.url, check_id=anything_but_empty) as cp_client:
            assert cp_client.url.endswith("/ocpp/CP%207%2F%C3%A9")
            assert "CP 7/é" in ws_server.server
            await cp.call(v16.HeartbeatRequest())


@pytest.mark.parametrize("path", ["/ocpp", "/ocpp/", "/CP1", "/other/CP1", "/ocpp/x/CP1", "/ocppCP1", "/"])
@bounded()
async def test_a_path_without_an_id_after_the_endpoint_is_refused_with_404(
    ws_server: WebSocketServer[ExampleCentralSystem], path: str
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await raw_connect(f"ws://127.0.0.1:{ws_server.port}{path}", subprotocols=[Subprotocol("ocpp1.6")])
    assert refused.value.response.status_code == 404
    assert len(ws_server.server) == 0


@bounded()
async def test_a_trailing_slash_after_the_id_is_tolerated(ws_server: WebSocketServer[ExampleCentralSystem]) -> None:
    async with raw_connect(ws_server.url + "CP1/", subprotocols=[Subprotocol("ocpp1.6")]):
        await ws_server.server.wait_for("CP1", timeout=1)


@bounded()
async def test_server_call_reaches_the_right_charge_point(ws_server: WebSocketServer[ExampleCentralSystem]) -> None:
    cps = [ExampleChargePoint(f"CP{n}") for n in range(3)]
    clients = [client(cp, ws_server.url) for cp in cps]
    for cp_client in clients:
        await cp_client.__aenter__()
    try:
        assert sorted(ws_server.server) == ["CP0", "CP1", "CP2"]
        response = await ws_server.server.call("CP1", v16.ResetRequest(type="Soft"))
        assert response.status == "Accepted"
        assert [cp.received for cp in cps] == [[], ["Reset"], []]
        with pytest.raises(UnknownChargePoint):
            await ws_server.server.call("CP9", v16.ResetRequest(type="Soft"))
    finally:
        for cp_client in clients:
            await cp_client.close()
    await eventually(lambda: len(ws_server.server) == 0)


def test_the_client_appends_the_id_unless_the_url_ends_with_it() -> None:
    cp = ExampleChargePoint("CP1")
    assert connect(cp, "ws://h:9000/ocpp/CP1").url == "ws://h:9000/ocpp/CP1"
    assert connect(cp, "ws://h:9000/ocpp").url == "ws://h:9000/ocpp/CP1"
    assert connect(cp, "ws://h:9000/ocpp/").url == "ws://h:9000/ocpp/CP1"
    assert connect(cp, "ws://h:9000").url == "ws://h:9000/CP1"
    assert connect(ExampleChargePoint("a-é"), "ws://h/x?q=1").url == "ws://h/x/a-%C3%A9?q=1"
    with pytest.raises(UsageError):
        connect(ExampleChargePoint("a b"), "ws://h/x")  # refused by the default id rule (white space)
    with pytest.raises(UsageError):
        connect(cp, "http://h/ocpp")
    with pytest.raises(UsageError):
        connect(cp, "ws://h/ocpp", ssl=ssl.create_default_context())
    with pytest.raises(UsageError):
        connect(cp, "ws://h/ocpp", ping_interval=-1)
    with pytest.raises(UsageError):
        connect(cp, "ws://h/ocpp", backoff=Backoff(initial=0))
    with pytest.raises(UsageError):
        connect(cp, "ws://h/ocpp", versions=["1.6", "2.0.1"])
    with pytest.raises(UsageError):  # a version the charge point's class does not speak

        class Only16(ChargePoint):
            versions = ("1.6",)

        connect(Only16("CP1", "1.6"), "ws://h/ocpp", versions=["1.5"])


# -- HTTP Basic authentication --------------------------------------------------------------------------------


@bounded()
async def test_basic_auth_is_checked_before_the_upgrade_with_the_charge_point_id() -> None:
    seen: list[tuple[str, str, str]] = []

    async def auth(charge_point_id: str, username: str, password: str) -> bool:
        seen.append((charge_point_id, username, password))
        return username == charge_point_id and password == f"secret-{charge_point_id}"

    async with serve(CentralSystemServer(fresh_central_system()), auth=auth) as ws_server:
        cp = ExampleChargePoint("CP1")
        async with client(cp, ws_server.url, auth=("CP1", "secret-CP1")):
            await cp.call(v16.HeartbeatRequest())
        assert seen == [("CP1", "CP1", "secret-CP1")]

        offer = [Subprotocol("ocpp1.6")]
        wrong = {"Authorization": basic_authorization("CP1", "guess")}
        other = {"Authorization": basic_authorization("CP1", "secret-CP1")}  # CP1's password, CP2's id
        for url, headers in [
            (ws_server.url_for("CP1"), wrong),
            (ws_server.url_for("CP1"), {}),
            (ws_server.url_for("CP2"), other),
        ]:
            with pytest.raises(InvalidStatus) as refused:
                await raw_connect(url, subprotocols=offer, additional_headers=headers)
            assert refused.value.response.status_code == 401
            assert refused.value.response.headers["WWW-Authenticate"].startswith("Basic")
        assert seen[-1] == ("CP2", "CP1", "secret-CP1")
        assert len(ws_server.server) == 0


@bounded()
async def test_a_refused_client_keeps_retrying_and_reports_the_refusal() -> None:
    allowed = False

    def check(*_: str) -> bool:
        return allowed

    async with serve(CentralSystemServer(fresh_central_system()), auth=check) as ws_server:
        cp = ExampleChargePoint("CP1")
        cp_client = client(cp, ws_server.url, auth=("CP1", "pw"))
        await cp_client.start()
        try:
            with pytest.raises(NotConnected) as not_connected:
                await cp_client.wait_connected(0.2)
            assert isinstance(not_connected.value.last_error, InvalidStatus)
            assert not_connected.value.last_error.response.status_code == 401
            assert "401" in str(not_connected.value)
            allowed = True  # the server changed its mind: the next retry gets in
            await cp_client.wait_connected(1)
            assert cp_client.last_error is None
        finally:
            await cp_client.close()


@bounded()
async def test_nobody_listening_is_reported_too() -> None:
    async with serve(CentralSystemServer(fresh_central_system())) as ws_server:
        url = ws_server.url
    with pytest.raises(NotConnected) as not_connected:
        async with client(ExampleChargePoint("CP1"), url, reconnect=False):
            pass
    assert isinstance(not_connected.value.last_error, OSError)


# -- TLS ----------------------------------------------------------------------------------------------------------


@bounded()
async def test_wss_with_a_self_signed_certificate(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls
    async with serve(CentralSystemServer(fresh_central_system()), path="/ocpp", ssl=server_context) as ws_server:
        assert ws_server.url.startswith("wss://127.0.0.1:")
        cp = ExampleChargePoint("CP1")
        async with client(cp, ws_server.url, ssl=client_context):
            response = await cp.call(v16.HeartbeatRequest())
            assert response.current_time is not None
        # A client that does not trust the certificate does not get in.
        with pytest.raises(NotConnected) as not_connected:
            async with client(
                ExampleChargePoint("CP2"), ws_server.url, ssl=ssl.create_default_context(), reconnect=False
            ):
                pass
        assert isinstance(not_connected.value.last_error, ssl.SSLError)


@bounded()
async def test_a_tls_handshake_that_never_comes_is_cut_after_the_open_timeout_quietly(
    tls: tuple[ssl.SSLContext, ssl.SSLContext], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server_context, client_context = tls
    central_system = CentralSystemServer(fresh_central_system())
    async with serve(central_system, ssl=server_context, open_timeout=0.3) as ws_server:
        loop = asyncio.get_running_loop()
        started = loop.time()
        reader, writer = await asyncio.open_connection("127.0.0.1", ws_server.port)  # TCP only, no ClientHello
        async with asyncio.timeout(2):
            assert await reader.read() == b""
        assert 0.28 < loop.time() - started < 2.0  # not before the open timeout, and soon after it
        writer.close()
        cp = ExampleChargePoint("CP1")
        async with client(cp, ws_server.url, ssl=client_context):
            await cp.call(v16.HeartbeatRequest())
    assert not [
        r for r in caplog.records if r.levelno >= logging.WARNING and (r.exc_info or r.levelno >= logging.ERROR)
    ]


# -- reconnects -----------------------------------------------------------------------------------------------


@bounded()
async def test_a_reconnecting_charge_point_replaces_its_old_connection(
    ws_server: WebSocketServer[ExampleCentralSystem],
) -> None:
    old_cp, new_cp = ExampleChargePoint("CP1"), ExampleChargePoint("CP1")
    async with client(old_cp, ws_server.url, reconnect=False) as old_client:
        old_role = ws_server.server["CP1"]
        async with client(new_cp, ws_server.url, reconnect=False):
            await eventually(lambda: not old_client.connected)
            assert not old_cp.connected
            new_role = ws_server.server["CP1"]
            assert new_role is not old_role
            # The registry names the new role at once; it is attached once the old socket has closed.
            await eventually(lambda: new_role.connected and not old_role.connected)
            await ws_server.server.call("CP1", v16.ResetRequest(type="Hard"))
            assert (old_cp.received, new_cp.received) == ([], ["Reset"])
            assert len(ws_server.server) == 1
    await eventually(lambda: len(ws_server.server) == 0)


@bounded()
async def test_the_client_reconnects_by_itself_when_the_server_comes_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ocpprpc.websocket")
    first = serve(CentralSystemServer(fresh_central_system()))
    await first.start()
    cp = ExampleChargePoint("CP1")
    async with client(cp, first.url) as cp_client:
        await cp.call(v16.HeartbeatRequest())
        port = first.port
        await first.close()
        await eventually(lambda: not cp_client.connected)
        with pytest.raises(ConnectionClosed):
            await cp.call(v16.HeartbeatRequest())
        async with serve(CentralSystemServer(fresh_central_system()), port=port) as second:
            await cp_client.wait_connected(2)
            await cp.call(v16.HeartbeatRequest())
            assert "CP1" in second.server
    assert "reconnecting in" in caplog.text
    assert "disconnected: received 1001" in caplog.text
    assert not cp.connected


@bounded()
async def test_a_central_system_restart_mid_session_loses_no_transaction_message() -> None:
    """The reliability promise: what the charge point sends while the server is down arrives, in order, once."""
    first_cs, second_cs = fresh_central_system(), fresh_central_system()
    first = serve(CentralSystemServer(first_cs))
    await first.start()
    port = first.port
    cp = ExampleChargePoint("CP1", "1.6")
    async with client(cp, first.url) as cp_client:
        started = await cp.call(v16.StartTransactionRequest(connector_id=1, id_tag="TAG", timestamp=NOW, meter_start=0))
        transaction = started.transaction_id
        await first.close()
        await eventually(lambda: not cp_client.connected)

        def meter(wh: int) -> v16.MeterValuesRequest:
            reading = v16.MeterValue(timestamp=NOW, sampled_value=[v16.SampledValue(value=str(wh))])
            return v16.MeterValuesRequest(connector_id=1, transaction_id=transaction, meter_value=[reading])

        calls: list[asyncio.Task[Any]] = [asyncio.create_task(cp.call(meter(wh))) for wh in (100, 200, 300)]
        stop = v16.StopTransactionRequest(transaction_id=transaction, timestamp=NOW, meter_stop=400)
        calls.append(asyncio.create_task(cp.call(stop)))
        await eventually(lambda: cp.pending_transaction_messages == 4)
        await asyncio.sleep(0.05)
        assert not any(call.done() for call in calls)

        async with serve(CentralSystemServer(second_cs), port=port):
            responses = await asyncio.gather(*calls)
        assert [type(response).__name__ for response in responses] == [
            "MeterValuesResponse",
            "MeterValuesResponse",
            "MeterValuesResponse",
            "StopTransactionResponse",
        ]
    assert [action for _, action, _ in first_cs.journal] == ["StartTransaction"]
    assert [action for _, action, _ in second_cs.journal] == ["MeterValues"] * 3 + ["StopTransaction"]
    readings = [request.meter_value[0].sampled_value[0].value for _, _, request in second_cs.journal[:3]]  # type: ignore[attr-defined]
    assert readings == ["100", "200", "300"]
    assert cp.pending_transaction_messages == 0


# -- bad input over a real socket ---------------------------------------------------------------------------------


async def answer(ws: Any, timeout: float = 1.0) -> Any:
    async with asyncio.timeout(timeout):
        return json.loads(await ws.recv())


async def no_answer(ws: Any) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.15):
            await ws.recv()


@bounded()
async def test_every_kind_of_bad_input_is_answered_as_protocol_md_says(
    ws_server: WebSocketServer[ExampleCentralSystem], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ocpprpc.connection")
    boot = {"chargePointVendor": "ACME", "chargePointModel": "X1"}
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    expectations: list[tuple[str, str]] = [
        ('[2,"id1","Foo",{}]', "NotImplemented"),
        (json.dumps([2, "id2", "BootNotification", {"chargePointVendor": "ACME"}]), "OccurenceConstraintViolation"),
        (json.dumps([2, "id3", "StatusNotification", {**status, "connectorId": "one"}]), "TypeConstraintViolation"),
        (
            json.dumps([2, "id4", "BootNotification", {**boot, "chargePointVendor": "V" * 21}]),
            "TypeConstraintViolation",
        ),
        (json.dumps([2, "id5", "StatusNotification", {**status, "status": "Sleeping"}]), "TypeConstraintViolation"),
        (json.dumps([2, "id6", "Heartbeat", {"foo": 1}]), "PropertyConstraintViolation"),
        ('[2,"id7","Heartbeat",[]]', "TypeConstraintViolation"),
        ('[7,"id8",{}]', "ProtocolError"),
    ]
    async with raw_connect(ws_server.url_for("RAW"), subprotocols=[Subprotocol("ocpp1.6")]) as ws:
        await ws.send("this is not JSON")
        await no_answer(ws)
        assert "bad frame" in caplog.text
        for frame, code in expectations:
            await ws.send(frame)
            reply = await answer(ws)
            assert reply[:3] == [4, json.loads(frame)[1], code], frame
            assert isinstance(reply[3], str) and isinstance(reply[4], dict)
        await ws.send(b"\x00\x01binary")
        await no_answer(ws)
        await ws.send('[3,"nobody-asked",{}]')
        await no_answer(ws)
        await ws.send('[2,"id9","Heartbeat",{}]')
        reply = await answer(ws)
        assert reply[:2] == [3, "id9"] and "currentTime" in reply[2]
    assert "binary frame" in caplog.text and "unknown or expired call nobody-asked" in caplog.text


@bounded()
async def test_too_many_bad_messages_close_only_that_connection() -> None:
    async with serve(CentralSystemServer(fresh_central_system()), max_bad_messages=3) as ws_server:
        good = ExampleChargePoint("GOOD")
        async with client(good, ws_server.url) as good_client:
            async with raw_connect(ws_server.url_for("BAD"), subprotocols=[Subprotocol("ocpp1.6")]) as ws:
                for _ in range(3):
                    await ws.send("garbage")
                with pytest.raises(WsConnectionClosed) as closed:
                    async with asyncio.timeout(1):
                        await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            await eventually(lambda: "BAD" not in ws_server.server)
            assert good_client.connected
            await good.call(v16.HeartbeatRequest())
            assert list(ws_server.server) == ["GOOD"]


@bounded()
async def test_a_frame_over_the_size_limit_closes_with_1009(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ocpprpc.websocket")
    async with serve(CentralSystemServer(fresh_central_system()), max_message_size=1024) as ws_server:
        async with raw_connect(ws_server.url_for("BIG"), subprotocols=[Subprotocol("ocpp1.6")]) as ws:
            await ws.send(json.dumps([2, "big", "DataTransfer", {"vendorId": "X", "data": "x" * 2000}]))
            with pytest.raises(WsConnectionClosed) as closed:
                async with asyncio.timeout(1):
                    await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        await eventually(lambda: "BIG" not in ws_server.server)
    assert "BIG disconnected" in caplog.text and "1009" in caplog.text


# -- logs, pings ------------------------------------------------------------------------------------------------


@bounded()
async def test_frames_are_logged_in_both_directions_with_the_charge_point_id(
    ws_server: WebSocketServer[ExampleCentralSystem], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ocpprpc.frames")
    caplog.set_level(logging.INFO, logger="ocpprpc.websocket")
    cp = ExampleChargePoint("CP42")
    async with client(cp, ws_server.url):
        await cp.call(v16.HeartbeatRequest())
    frames = [record.getMessage() for record in caplog.records if record.name == "ocpprpc.frames"]
    for prefix in ("cp#CP42: >>cs [2,", "cs: <<cp#CP42 [2,", "cs: >>cp#CP42 [3,", "cp#CP42: <<cs [3,"):
        assert any(line.startswith(prefix) for line in frames), prefix
    assert any(line.startswith("cs: <<cp#CP42 [2,") and '"Heartbeat"' in line for line in frames)
    assert "cs: charge point CP42 connected from 127.0.0.1:" in caplog.text
    assert "cp#CP42: connected to" in caplog.text


@bounded()
async def test_ping_now_and_change_the_ping_interval_while_connected(
    ws_server: WebSocketServer[ExampleCentralSystem], monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[str] = []
    real_ping = websocket._Socket.ping

    async def counting_ping(self: websocket._Socket, timeout: float | None = None) -> float:
        pings.append(self.label)
        return await real_ping(self, timeout)

    monkeypatch.setattr(websocket._Socket, "ping", counting_ping)
    cp = ExampleChargePoint("CP1")
    async with client(cp, ws_server.url, ping_interval=0) as cp_client:
        assert cp_client.ping_interval is None
        assert 0 <= await cp_client.ping() < 1
        assert 0 <= await ws_server.ping("CP1") < 1
        with pytest.raises(UnknownChargePoint):
            await ws_server.ping("CP2")
        assert pings == ["cp#CP1", "cs: cp#CP1"]
        await asyncio.sleep(0.1)
        assert len(pings) == 2  # no keep-alive pings: interval None (websocket_ping_interval=0)

        cp_client.ping_interval = 0.02
        ws_server.ping_interval = 0.02
        await eventually(lambda: pings.count("cp#CP1") >= 4 and pings.count("cs: cp#CP1") >= 4)
        cp_client.ping_interval = ws_server.ping_interval = 0
        await asyncio.sleep(0.05)
        count = len(pings)
        await asyncio.sleep(0.1)
        assert len(pings) == count
    with pytest.raises(ConnectionClosed):
        await cp_client.ping()


@bounded()
async def test_a_close_reason_too_long_for_a_close_frame_is_cut(
    ws_server: WebSocketServer[ExampleCentralSystem],
) -> None:
    cp = ExampleChargePoint("CP1")
    async with client(cp, ws_server.url, reconnect=False) as cp_client:
        await cp.close("é" * 100)  # 200 bytes; a close frame holds 123
        await eventually(lambda: not cp_client.connected)


@bounded()
async def test_version_specific_models_travel_unchanged(ws_server: WebSocketServer[ExampleCentralSystem]) -> None:
    """A 1.5 charge point's MeterValues (attribute-style values) reach the central system as 1.5 models."""
    cp = ExampleChargePoint("CP15", "1.5")
    async with client(cp, ws_server.url):
        await cp.call(example(v15.MeterValuesRequest))
    _, action, request = cast(Any, ws_server.server.factory).journal[-1]
    assert action == "MeterValues" and isinstance(request, v15.MeterValuesRequest)
