"""Interoperability with the mobilityhouse ``ocpp`` package (2.1.0) over OCPP-J 2.0.1 and 2.1, real sockets.

Every action of both versions, one test each, in four pairings on 127.0.0.1:

* a mobilityhouse charging station (``ocpp.v201.ChargePoint`` / ``ocpp.v21.ChargePoint``, a ``websockets``
  client) calls an ocpprpc CSMS served by :func:`websocket.serve` every action a charging station
  initiates: our handler must receive exactly what it sent, and it must get our response;
* that CSMS calls the mobilityhouse station every action a CSMS initiates (``server.call``), answered by
  mobilityhouse ``@on`` handlers: they must get our request, and our typed response is what they returned;
* an ocpprpc charging station (:func:`websocket.connect`) calls a mobilityhouse CSMS served with
  ``websockets.serve`` every charging station action, and that CSMS calls our station every CSMS action.

What mobilityhouse sends is our example built as its own dataclasses (:mod:`tests.mh_ocpp`): the full
example (every optional field) in 2.0.1; in 2.1, where its case conversion mangles a field name, the example
without the optional fields it cannot write, or with the required fields only, and a skip with the reason
when it cannot write even those (BatterySwap's ``soC``) or has no such message (the SEND
NotifyPeriodicEventStream). What we send is our full example. Both sides' frames are recorded and compared.

Then bad input both ways: mobilityhouse raising its exception class for each of our 2.x CALLERROR codes and
our exception classes for its codes (both spellings of 1.6 and 2.x), what it does with a CALLRESULTERROR
and a SEND (drops them), and one ocpprpc server serving a mobilityhouse 1.6 station and a mobilityhouse
2.0.1 station at once, each in its own version.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncGenerator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from ocpprpc import (
    ActionNotImplemented,
    CallTimeout,
    CentralSystem,
    CentralSystemServer,
    FormatViolation,
    InternalError,
    OccurrenceConstraintViolation,
    OcppModel,
    ProtocolError,
    Role,
    SecurityError,
    Side,
    TypeConstraintViolation,
    UsageError,
    on,
)
from ocpprpc._versions import VERSIONS
from ocpprpc.messages import v16, v21, v201
from ocpprpc.messages.examples import EXAMPLE_TIME, example
from ocpprpc.transports import websocket

from .mh_ocpp import (
    MH_RELEASE,
    MH_VERSIONS,
    CannotCarry,
    Kind,
    MhMessage,
    MhPeer,
    error_class,
    mh_charge_point,
    mh_csms,
    mh_exceptions,
    mh_fields,
    mh_message,
    mh_station,
    snake_case,
    spec_of,
    within,
)
from .roles_for_tests import EchoCentralSystem, EchoChargePoint, EchoMixin
from .timing import FAST, bounded

VERSIONS_2X = ("2.0.1", "2.1")


class RefusingMixin(EchoMixin):
    """Answers a DataTransfer for vendor ``forbidden`` with SecurityError, for vendor ``crash`` by failing."""

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        vendor = getattr(request, "vendor_id", None)
        if action == "DataTransfer" and vendor == "forbidden":
            raise SecurityError("not for you")
        if action == "DataTransfer" and vendor == "crash":
            raise RuntimeError("a handler bug")
        return await super().on_unhandled(action, request)


class OurCsms201(RefusingMixin, EchoCentralSystem):
    """An ocpprpc OCPP 2.0.1 CSMS answering every action with its example response (and recording the request)."""

    versions = ("2.0.1",)


class OurCsms21(RefusingMixin, EchoCentralSystem):
    """The same in OCPP 2.1."""

    versions = ("2.1",)


OUR_CSMS: dict[str, type[EchoCentralSystem]] = {"2.0.1": OurCsms201, "2.1": OurCsms21}


class OurStation(RefusingMixin, EchoChargePoint):
    """An ocpprpc charging station of 2.0.1 or 2.1 answering every action with its example response."""

    versions = ("2.0.1", "2.1")


def actions_initiated_by(side: Side, *, sends: bool = False) -> list[Any]:
    """``(version, action)`` of every action ``side`` initiates in 2.0.1 and 2.1 (and its SEND messages)."""
    params: list[Any] = []
    for version in VERSIONS_2X:
        names = list(VERSIONS[version].initiated_by(side))
        if sends:
            names += list(VERSIONS[version].sent_by(side))
        params += [pytest.param(version, name, id=f"{version}-{name}") for name in names]
    return params


def mobilityhouse_writes(version: str, action: str, kind: Kind) -> MhMessage:
    """:func:`mh_message`, or the test skipped with the reason mobilityhouse cannot write it."""
    if action in VERSIONS[version].sent_by(Side.CHARGE_POINT) or action in VERSIONS[version].sent_by(
        Side.CENTRAL_SYSTEM
    ):
        pytest.skip(
            f"{action} is an OCPP {version} SEND (message type 6): mobilityhouse ocpp {MH_RELEASE} has no such "
            "frame type and no model for it"
        )
    try:
        return mh_message(version, action, kind)
    except CannotCarry as exc:
        pytest.skip(str(exc))


def expected(model: type[OcppModel], message: MhMessage) -> OcppModel:
    """The typed message mobilityhouse sent for ``message``; it holds every field of our example it was built from."""
    typed = model.model_validate(message.wire)
    assert within(message.payload, typed.to_json_dict())
    return typed


# -- every action: a mobilityhouse charging station and our CSMS ---------------------------------------------


@pytest.mark.parametrize(("version", "action"), actions_initiated_by(Side.CHARGE_POINT, sends=True))
@bounded(5)
async def test_a_mobilityhouse_station_calls_our_csms(version: str, action: str) -> None:
    message = mobilityhouse_writes(version, action, "request")
    spec = spec_of(version, action)
    async with (
        websocket.serve(CentralSystemServer(OUR_CSMS[version]), "127.0.0.1", 0, path="/ocpp") as ws_server,
        mh_station(ws_server.url_for("CS1"), "CS1", version) as station,
    ):
        ours = await ws_server.server.wait_for("CS1", timeout=2)
        assert ours.version == version and station.socket.ws.subprotocol == f"ocpp{version}"
        result = await station.role.call(message.obj, suppress=False)
    assert ours.received == [expected(spec.request, message)]
    answer = example(spec.response).to_json_dict()
    [call] = station.socket.frames("sent")
    assert call == [2, call[1], action, message.wire]
    assert station.socket.frames("received") == [[3, call[1], answer]]
    assert type(result).__name__ == action and mh_fields(result) == snake_case(answer)


@pytest.mark.parametrize(("version", "action"), actions_initiated_by(Side.CENTRAL_SYSTEM))
@bounded(5)
async def test_our_csms_calls_a_mobilityhouse_station(version: str, action: str) -> None:
    reply = mobilityhouse_writes(version, action, "response")
    spec = spec_of(version, action)
    request: Any = example(spec.request)
    async with (
        websocket.serve(CentralSystemServer(OUR_CSMS[version]), "127.0.0.1", 0, path="/ocpp") as ws_server,
        mh_station(ws_server.url_for("CS1"), "CS1", version, [action]) as station,
    ):
        await ws_server.server.wait_for("CS1", timeout=2)
        response: OcppModel = await ws_server.server.call("CS1", request)
    assert response == expected(spec.response, reply)
    [call] = station.socket.frames("received")
    assert call == [2, call[1], action, request.to_json_dict()]
    assert station.handled == [(action, snake_case(request.to_json_dict()))]
    assert station.socket.frames("sent") == [[3, call[1], reply.wire]]


# -- every action: our charging station and a mobilityhouse CSMS ---------------------------------------------


@pytest.mark.parametrize(("version", "action"), actions_initiated_by(Side.CHARGE_POINT))
@bounded(5)
async def test_our_station_calls_a_mobilityhouse_csms(version: str, action: str) -> None:
    reply = mobilityhouse_writes(version, action, "response")
    spec = spec_of(version, action)
    request: Any = example(spec.request)
    async with mh_csms(version, [action]) as csms:
        station = OurStation("CS1", version)
        async with websocket.connect(station, csms.url, **FAST) as client:
            assert client.version == version
            peer = await csms.peer("CS1")
            response: OcppModel = await station.call(request)
    assert response == expected(spec.response, reply)
    [call] = peer.socket.frames("received")
    assert call == [2, call[1], action, request.to_json_dict()]
    assert peer.handled == [(action, snake_case(request.to_json_dict()))]
    assert peer.socket.frames("sent") == [[3, call[1], reply.wire]]


@pytest.mark.parametrize(("version", "action"), actions_initiated_by(Side.CENTRAL_SYSTEM))
@bounded(5)
async def test_a_mobilityhouse_csms_calls_our_station(version: str, action: str) -> None:
    message = mobilityhouse_writes(version, action, "request")
    spec = spec_of(version, action)
    async with mh_csms(version) as csms:
        station = OurStation("CS1", version)
        async with websocket.connect(station, csms.url, **FAST):
            peer = await csms.peer("CS1")
            result = await peer.role.call(message.obj, suppress=False)
    assert station.received == [expected(spec.request, message)]
    answer = example(spec.response).to_json_dict()
    [call] = peer.socket.frames("sent")
    assert call == [2, call[1], action, message.wire]
    assert peer.socket.frames("received") == [[3, call[1], answer]]
    assert type(result).__name__ == action and mh_fields(result) == snake_case(answer)


def test_mobilityhouse_writes_every_201_message_in_full() -> None:
    """Else the tests above would quietly send less than our complete examples in 2.0.1."""
    for spec in VERSIONS["2.0.1"].actions:
        for kind in ("request", "response"):
            message = mh_message("2.0.1", spec.name, kind)
            assert (
                not message.dropped
                and message.payload == example(spec.request if kind == "request" else spec.response).to_json_dict()
            )


# -- the two pairings, for the tests of errors ----------------------------------------------------------------


@dataclass
class Pair:
    """A mobilityhouse peer connected to one of ours over real sockets."""

    mh: MhPeer
    ours: Role


@asynccontextmanager
async def paired(
    version: str, ours: Literal["csms", "station"], mh_actions: Iterable[str] = (), unchecked: Iterable[str] = ()
) -> AsyncGenerator[Pair]:
    """Our CSMS with a mobilityhouse station, or our station with a mobilityhouse CSMS; the mobilityhouse side
    answers ``mh_actions`` (see :func:`mh_role_class` for ``unchecked``)."""
    if ours == "csms":
        async with (
            websocket.serve(CentralSystemServer(OUR_CSMS[version]), "127.0.0.1", 0, path="/ocpp") as ws_server,
            mh_station(ws_server.url_for("CS1"), "CS1", version, mh_actions, unchecked) as station,
        ):
            yield Pair(station, await ws_server.server.wait_for("CS1", timeout=2))
    else:
        async with mh_csms(version, mh_actions, unchecked) as csms:
            station_role = OurStation("CS1", version)
            async with websocket.connect(station_role, csms.url, **FAST):
                yield Pair(await csms.peer("CS1"), station_role)


OURS = [
    pytest.param(version, ours, id=f"{version}-our {ours}") for version in VERSIONS_2X for ours in ("csms", "station")
]


# -- bad input: mobilityhouse gets our 2.x CALLERRORs ---------------------------------------------------------

MH_RECEIVES = {
    # fault: (the code on the wire, the exception mobilityhouse raises)
    "required field missing": ("OccurrenceConstraintViolation", "OccurrenceConstraintViolationError"),
    "unknown field": ("PropertyConstraintViolation", "PropertyConstraintViolationError"),
    "wrong type": ("TypeConstraintViolation", "TypeConstraintViolationError"),
    "value outside its enumeration": ("TypeConstraintViolation", "TypeConstraintViolationError"),
    "unknown action": ("NotImplemented", "NotImplementedError"),
    "action the other side sends": ("NotSupported", "NotSupportedError"),
    "handler refuses": ("SecurityError", "SecurityError"),
    "handler fails": ("InternalError", "InternalError"),
    # mobilityhouse ocpp 2.1.0 has no class for 2.x's RpcFrameworkError: its call() raises this instead
    "id longer than 36 characters": ("RpcFrameworkError", "UnknownCallErrorCodeError"),
}


def faulty_request(version: str, ours: str, fault: str) -> tuple[Any, dict[str, Any]]:
    """A request from mobilityhouse to our ``ours`` with ``fault``, and the keyword arguments of its call()."""
    call = MH_VERSIONS[version].call
    to_csms = ours == "csms"
    no_fields = "Heartbeat" if to_csms else "ClearCache"
    faulty: dict[str, Any] = {
        "required field missing": (
            call.BootNotification(charging_station=None, reason="PowerUp") if to_csms else call.Reset(type=None)
        ),
        "unknown field": dataclasses.make_dataclass(no_fields, [("colour", str)])("blue"),
        "wrong type": (
            call.BootNotification(charging_station={"model": "X1", "vendor_name": "ACME"}, reason=42)
            if to_csms
            else call.Reset(type=42)
        ),
        "value outside its enumeration": (
            call.BootNotification(charging_station={"model": "X1", "vendor_name": "ACME"}, reason="Bored")
            if to_csms
            else call.Reset(type="Sideways")
        ),
        "unknown action": dataclasses.make_dataclass("FrobnicateWidget", [])(),
        "action the other side sends": call.Reset(type="Immediate") if to_csms else call.Heartbeat(),
        "handler refuses": call.DataTransfer(vendor_id="forbidden"),
        "handler fails": call.DataTransfer(vendor_id="crash"),
        "id longer than 36 characters": getattr(call, no_fields)(),
    }
    options: dict[str, Any] = {"suppress": False, "skip_schema_validation": True}
    if fault == "id longer than 36 characters":
        options["unique_id"] = "x" * 37
    return faulty[fault], options


@pytest.mark.parametrize("fault", list(MH_RECEIVES))
@pytest.mark.parametrize(("version", "ours"), OURS)
@bounded(5)
async def test_mobilityhouse_raises_its_class_for_our_2x_callerror(
    version: str, ours: Literal["csms", "station"], fault: str
) -> None:
    code, mh_class = MH_RECEIVES[fault]
    request, options = faulty_request(version, ours, fault)
    async with paired(version, ours) as pair:
        with pytest.raises(error_class(mh_class)):
            await pair.mh.role.call(request, **options)
        [call] = pair.mh.socket.frames("sent")
        assert pair.mh.socket.frames("received")[-1][:3] == [4, call[1], code]
        # the connection goes on
        valid: Any = MH_VERSIONS[version].call.Heartbeat() if ours == "csms" else MH_VERSIONS[version].call.ClearCache()
        assert type(await pair.mh.role.call(valid, suppress=False)).__name__ == type(valid).__name__


@pytest.mark.parametrize(
    ("frame", "code", "mh_class"),
    [
        ('[2,"raw-1","Heartbeat",[]]', "FormatViolation", "FormatViolationError"),
        ('[7,"raw-1","Heartbeat",{}]', "MessageTypeNotSupported", "UnknownCallErrorCodeError"),
    ],
    ids=["payload not an object", "unknown message type"],
)
@pytest.mark.parametrize(("version", "ours"), OURS)
@bounded(5)
async def test_mobilityhouse_reads_our_2x_answers_to_bad_frames(
    version: str, ours: Literal["csms", "station"], frame: str, code: str, mh_class: str
) -> None:
    async with paired(version, ours) as pair:
        await pair.mh.socket.send(frame)
        answer: Any = await asyncio.wait_for(pair.mh.role._response_queue.get(), 3)  # where its receive loop puts it
        assert [answer.unique_id, answer.error_code] == ["raw-1", code]
        with pytest.raises(error_class(mh_class)):
            raise answer.to_exception()  # its class for the code; for a code it has none for, this raises itself
        # the connection goes on
        valid: Any = MH_VERSIONS[version].call.Heartbeat() if ours == "csms" else MH_VERSIONS[version].call.ClearCache()
        assert type(await pair.mh.role.call(valid, suppress=False)).__name__ == type(valid).__name__


# -- bad input: we get mobilityhouse's CALLERRORs ---------------------------------------------------------------

WE_RECEIVE = {
    # how mobilityhouse's handler answers: (it raises this, our exception, the code on the wire)
    "refuses": ("SecurityError", SecurityError, "SecurityError"),
    "fails": (None, InternalError, "InternalError"),
    "1.6 spelling of OccurrenceConstraintViolation": (
        "OccurenceConstraintViolationError",
        OccurrenceConstraintViolation,
        "OccurenceConstraintViolation",
    ),
    "2.x spelling of OccurrenceConstraintViolation": (
        "OccurrenceConstraintViolationError",
        OccurrenceConstraintViolation,
        "OccurrenceConstraintViolation",
    ),
    "1.6 spelling of FormatViolation": ("FormationViolationError", FormatViolation, "FormationViolation"),
}


@pytest.mark.parametrize("how", list(WE_RECEIVE))
@pytest.mark.parametrize(("version", "ours"), OURS)
@bounded(5)
async def test_we_raise_our_class_for_mobilityhouse_callerrors(
    version: str, ours: Literal["csms", "station"], how: str
) -> None:
    raised, our_class, code = WE_RECEIVE[how]
    action = "ClearCache" if ours == "csms" else "Heartbeat"
    async with paired(version, ours, [action]) as pair:

        def answer(fields: dict[str, Any]) -> Any:
            raise error_class(raised)("as told") if raised else RuntimeError("a handler bug")

        pair.mh.role.answers[action] = answer
        request: Any = example(spec_of(version, action).request)
        with pytest.raises(our_class) as caught:
            await pair.ours.call(request)
    assert caught.value.remote and caught.value.raw_code == code


SCHEMA_FAULTS = {
    # fault: (the code mobilityhouse's schema check answers with, our exception)
    "unknown field": ("FormatViolation", FormatViolation),
    "required field missing": ("ProtocolError", ProtocolError),
    "wrong type": ("TypeConstraintViolation", TypeConstraintViolation),
}


def broken(payload: dict[str, Any], fault: str, required: str) -> dict[str, Any]:
    """``payload`` with ``fault``; ``required`` names one of its required fields."""
    if fault == "unknown field":
        return payload | {"colour": "blue"}
    if fault == "required field missing":
        return {key: value for key, value in payload.items() if key != required}
    return payload | {required: 42}


@pytest.mark.parametrize("fault", list(SCHEMA_FAULTS))
@pytest.mark.parametrize(("version", "ours"), OURS)
@bounded(5)
async def test_mobilityhouse_schema_check_answers_our_invalid_requests(
    version: str, ours: Literal["csms", "station"], fault: str
) -> None:
    code, our_class = SCHEMA_FAULTS[fault]
    action, required = ("Reset", "type") if ours == "csms" else ("BootNotification", "reason")
    payload = broken(example(spec_of(version, action).request).to_json_dict(), fault, required)
    async with paired(version, ours, [action]) as pair:
        answer = await pair.ours.call_raw(action, payload, timeout=3)
    assert isinstance(answer.error, our_class) and answer.error.remote and answer.error.raw_code == code
    assert pair.mh.handled == []


@pytest.mark.parametrize(("version", "ours"), OURS)
@bounded(5)
async def test_an_action_mobilityhouse_has_no_handler_for(version: str, ours: Literal["csms", "station"]) -> None:
    """2.0.1: NotImplemented. 2.1: mobilityhouse ocpp 2.1.0 does not answer at all (its lookup of the action
    knows 1.6 and 2.0.1 only), so our call times out."""
    action = "ClearCache" if ours == "csms" else "Heartbeat"
    async with paired(version, ours) as pair:
        request: Any = example(spec_of(version, action).request)
        if version == "2.0.1":
            with pytest.raises(ActionNotImplemented) as caught:
                await pair.ours.call(request)
            assert caught.value.remote and caught.value.raw_code == "NotImplemented"
        else:
            with pytest.raises(CallTimeout):
                await pair.ours.call(request, timeout=0.3)


@pytest.mark.parametrize("version", VERSIONS_2X)
@bounded(5)
async def test_mobilityhouse_answering_an_invalid_response(version: str, caplog: pytest.LogCaptureFixture) -> None:
    """Its handler skips its schema check and answers Reset with a status no version has: our call raises the
    constraint error; in 2.1 we also tell it with a CALLRESULTERROR, which it logs as unparseable and drops."""
    caplog.set_level(logging.ERROR, logger="ocpp")
    reset: Any = example(spec_of(version, "Reset").request)
    clear_cache: Any = example(spec_of(version, "ClearCache").request)
    async with paired(version, "csms", ["Reset", "ClearCache"], unchecked=["Reset"]) as pair:

        def perhaps(fields: dict[str, Any]) -> Any:
            return MH_VERSIONS[version].call_result.Reset(status="Perhaps")

        pair.mh.role.answers["Reset"] = perhaps
        with pytest.raises(TypeConstraintViolation) as caught:
            await pair.ours.call(reset)
        assert not caught.value.remote
        await pair.ours.call(clear_cache)  # the connection goes on
    received = pair.mh.socket.frames("received")
    if version == "2.1":
        assert [frame[0] for frame in received] == [2, 5, 2]
        assert received[1][:3] == [5, received[0][1], "TypeConstraintViolation"]
        assert "Unable to parse message" in caplog.text  # mobilityhouse knows no message type 5
    else:
        assert [frame[0] for frame in received] == [2, 2]


# -- 2.1 SEND ----------------------------------------------------------------------------------------------------


@bounded(5)
async def test_mobilityhouse_drops_our_unconfirmed_messages(caplog: pytest.LogCaptureFixture) -> None:
    """mobilityhouse ocpp 2.1.0 knows no SEND (message type 6): it logs our NotifyPeriodicEventStream as
    unparseable and goes on, and answers nothing."""
    caplog.set_level(logging.ERROR, logger="ocpp")
    async with paired("2.1", "station", ["Heartbeat"]) as pair:
        await pair.ours.send(example(v21.NotifyPeriodicEventStream))
        await pair.ours.call(v21.HeartbeatRequest())
    [send, call] = pair.mh.socket.frames("received")
    assert send[0] == 6 and send[2:] == [
        "NotifyPeriodicEventStream",
        example(v21.NotifyPeriodicEventStream).to_json_dict(),
    ]
    assert call[0] == 2 and pair.mh.handled == [("Heartbeat", {})]
    assert [frame[0] for frame in pair.mh.socket.frames("sent")] == [3]
    assert "Unable to parse message" in caplog.text


@pytest.mark.parametrize("ours", ["csms", "station"])
@bounded(5)
async def test_a_send_message_called_as_a_request_is_known_but_not_supported(ours: Literal["csms", "station"]) -> None:
    stream = example(v21.NotifyPeriodicEventStream).to_json_dict()
    fields = mh_charge_point.camel_to_snake_case(stream)
    request = dataclasses.make_dataclass("NotifyPeriodicEventStream", list(fields))(**fields)
    async with paired("2.1", ours) as pair:
        with pytest.raises(mh_exceptions.OCPPError) as caught:
            await pair.mh.role.call(request, suppress=False, skip_schema_validation=True)
    [call] = pair.mh.socket.frames("sent")
    assert call[2:] == ["NotifyPeriodicEventStream", stream]
    assert type(caught.value) is error_class("NotSupportedError"), pair.mh.socket.frames("received")[-1]


# -- 1.6 and 2.0.1 charging stations on one server -----------------------------------------------------------


class MixedCsms(CentralSystem):
    """A central system of 2.0.1 and 1.6: each connection speaks the version its charge point offered."""

    versions = ("2.0.1", "1.6")

    @on("BootNotification")
    def boot(
        self, request: v201.BootNotificationRequest | v16.BootNotificationRequest
    ) -> v201.BootNotificationResponse | v16.BootNotificationResponse:
        if isinstance(request, v16.BootNotificationRequest):
            return v16.BootNotificationResponse(status="Accepted", current_time=EXAMPLE_TIME, interval=160)
        return v201.BootNotificationResponse(status="Accepted", current_time=EXAMPLE_TIME, interval=201)


@bounded(5)
async def test_one_server_serves_a_16_and_a_201_mobilityhouse_station() -> None:
    async with (
        websocket.serve(CentralSystemServer(MixedCsms), "127.0.0.1", 0, path="/ocpp") as ws_server,
        mh_station(ws_server.url_for("OLD"), "OLD", "1.6", ["Reset"]) as old,
        mh_station(ws_server.url_for("NEW"), "NEW", "2.0.1", ["Reset"]) as new,
    ):
        assert ws_server.versions == ("2.0.1", "1.6")
        assert (old.socket.ws.subprotocol, new.socket.ws.subprotocol) == ("ocpp1.6", "ocpp2.0.1")
        server = ws_server.server
        assert (await server.wait_for("OLD", 2)).version == "1.6"
        assert (await server.wait_for("NEW", 2)).version == "2.0.1"

        mh16, mh201 = MH_VERSIONS["1.6"].call, MH_VERSIONS["2.0.1"].call
        booted_old = await old.role.call(mh16.BootNotification(charge_point_model="X0", charge_point_vendor="ACME"))
        booted_new = await new.role.call(
            mh201.BootNotification(charging_station={"model": "X1", "vendor_name": "ACME"}, reason="PowerUp")
        )
        assert (booted_old.interval, booted_new.interval) == (160, 201)

        assert isinstance(await server.call("OLD", v16.ResetRequest(type="Hard")), v16.ResetResponse)
        assert isinstance(await server.call("NEW", v201.ResetRequest(type="Immediate")), v201.ResetResponse)
        assert [action for action, _ in old.handled] == ["Reset"] and old.handled[0][1] == {"type": "Hard"}
        assert [action for action, _ in new.handled] == ["Reset"] and new.handled[0][1] == {"type": "Immediate"}
        with pytest.raises(UsageError):
            await server.call("OLD", v201.ResetRequest(type="Immediate"))  # a model of the other connection's version

        # each is answered in its own version's words: the same fault, two spellings, two classes
        with pytest.raises(error_class("OccurenceConstraintViolationError")):
            await old.role.call(
                mh16.BootNotification(charge_point_model=None, charge_point_vendor="ACME"),
                suppress=False,
                skip_schema_validation=True,
            )
        with pytest.raises(error_class("OccurrenceConstraintViolationError")):
            await new.role.call(
                mh201.BootNotification(charging_station=None, reason="PowerUp"),
                suppress=False,
                skip_schema_validation=True,
            )
    assert old.socket.frames("received")[-1][2] == "OccurenceConstraintViolation"
    assert new.socket.frames("received")[-1][2] == "OccurrenceConstraintViolation"


# -- what our log says ---------------------------------------------------------------------------------------


@bounded(5)
async def test_our_log_names_the_code_we_sent(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ocpprpc")
    async with paired("2.0.1", "csms") as pair:
        request, options = faulty_request("2.0.1", "csms", "required field missing")
        with pytest.raises(error_class("OccurrenceConstraintViolationError")):
            await pair.mh.role.call(request, **options)
        await pair.mh.socket.send('[2,"raw-1","Heartbeat",[]]')
        await asyncio.wait_for(pair.mh.role._response_queue.get(), 3)
    sent_codes = [str(frame[2]) for frame in pair.mh.socket.frames("received") if frame[0] == 4]
    assert sent_codes == ["OccurrenceConstraintViolation", "FormatViolation"]
    logged = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("ocpprpc.") and r.name != "ocpprpc.frames"
    )
    for code in sent_codes:
        assert code in logged
    assert "OccurenceConstraintViolation" not in logged and "FormationViolation" not in logged
