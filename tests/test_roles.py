"""The RPC core through the in-memory transport: dispatch, errors, calls out, registry, outbox."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from ocpprpc import (
    ActionNotImplemented,
    ActionNotSupported,
    CallTimeout,
    CentralSystem,
    CentralSystemServer,
    ChargePoint,
    ConnectionClosed,
    ErrorCode,
    InternalError,
    OcppError,
    OcppModel,
    SecurityError,
    TypeConstraintViolation,
    UnknownChargePoint,
    UsageError,
    after,
    on,
)
from ocpprpc.messages import v15, v16
from ocpprpc.transports import memory

from .roles_for_tests import answer_next_call, hand_driven_peer

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


def boot_request() -> v16.BootNotificationRequest:
    return v16.BootNotificationRequest(charge_point_vendor="ACME", charge_point_model="X1")


class DemoCentralSystem(CentralSystem):
    """A small central system: a sync handler, an async one, an after hook, and failing handlers."""

    def __init__(self, id: str, version: Any = None) -> None:
        super().__init__(id, version)
        self.events: list[str] = []
        self.transactions: list[str] = []

    @on("BootNotification")
    def boot(self, request: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
        self.events.append("boot")
        return v16.BootNotificationResponse(status="Accepted", current_time=NOW, interval=300)

    @after("BootNotification")
    async def ask_configuration(self, request: v16.BootNotificationRequest, response: Any) -> None:
        self.events.append("after-boot")
        configuration = await self.call(v16.GetConfigurationRequest(key=["HeartbeatInterval"]))
        self.events.append(
            f"config:{configuration.configuration_key[0].value if configuration.configuration_key else None}"
        )

    @on("Heartbeat")
    async def heartbeat(self, request: v16.HeartbeatRequest) -> v16.HeartbeatResponse:
        return v16.HeartbeatResponse(current_time=NOW)

    @on("Authorize")
    def authorize(self, request: v16.AuthorizeRequest) -> Any:
        if request.id_tag == "BOOM":
            raise RuntimeError("database on fire at /srv/secret/path.py line 12")
        if request.id_tag == "FORBIDDEN":
            raise SecurityError("not allowed", {"tag": request.id_tag})
        if request.id_tag == "DICT":
            return {"idTagInfo": {"status": "Accepted"}}
        if request.id_tag == "WRONG":
            return v16.HeartbeatResponse(current_time=NOW)
        return v16.AuthorizeResponse(id_tag_info={"status": "Accepted"})

    @on("StartTransaction")
    @on("StopTransaction")
    @on("MeterValues")
    def transaction(self, request: Any) -> Any:
        self.transactions.append(type(request).__name__)
        if isinstance(request, v16.StartTransactionRequest):
            return v16.StartTransactionResponse(
                transaction_id=len(self.transactions), id_tag_info={"status": "Accepted"}
            )
        if isinstance(request, v16.StopTransactionRequest):
            return v16.StopTransactionResponse()
        return v16.MeterValuesResponse()


class DemoChargePoint(ChargePoint):
    def __init__(self, id: str, version: Any = "1.6") -> None:
        super().__init__(id, version)
        self.seen: list[str] = []
        self.release = asyncio.Event()

    @on(v16.GetConfigurationRequest)
    def configuration(self, request: v16.GetConfigurationRequest) -> v16.GetConfigurationResponse:
        self.seen.append("GetConfiguration")
        return v16.GetConfigurationResponse(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
        )

    @on("Reset")
    async def reset(self, request: v16.ResetRequest) -> v16.ResetResponse:
        await self.release.wait()
        return v16.ResetResponse(status="Accepted")

    @on("RemoteStartTransaction")
    async def remote_start(self, request: v16.RemoteStartTransactionRequest) -> v16.RemoteStartTransactionResponse:
        # A handler that itself calls the peer must not deadlock the connection.
        await self.call(v16.AuthorizeRequest(id_tag=request.id_tag))
        return v16.RemoteStartTransactionResponse(status="Accepted")


@pytest.fixture
def server() -> CentralSystemServer[DemoCentralSystem]:
    return CentralSystemServer(DemoCentralSystem)


async def test_sync_and_async_handlers_answer_with_typed_responses(
    server: CentralSystemServer[DemoCentralSystem],
) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp):
        response = await cp.call(boot_request())
        assert isinstance(response, v16.BootNotificationResponse)
        assert response.status is v16.RegistrationStatus.ACCEPTED
        heartbeat = await cp.call(v16.HeartbeatRequest())
        assert heartbeat.current_time == NOW


async def test_after_hook_runs_once_the_response_was_sent_and_may_call_the_peer(
    server: CentralSystemServer[DemoCentralSystem],
) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp) as cs:
        await cp.call(boot_request())
        async with asyncio.timeout(2):
            while "config:300" not in cs.events:
                await asyncio.sleep(0.01)
        assert cs.events == ["boot", "after-boot", "config:300"]
        assert cp.seen == ["GetConfiguration"]


async def test_handler_that_calls_the_peer_does_not_deadlock(server: CentralSystemServer[DemoCentralSystem]) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp):
        async with asyncio.timeout(2):
            answer = await server.call("CP1", v16.RemoteStartTransactionRequest(id_tag="TAG"))
        assert answer.status is v16.RemoteStartStopStatus.ACCEPTED


@pytest.mark.parametrize(
    ("action", "payload", "code"),
    [
        ("FooBar", {}, "NotImplemented"),
        ("Reset", {"type": "Soft"}, "NotSupported"),  # known action, but one a central system never receives
        ("DataTransfer", {"vendorId": "ACME"}, "NotSupported"),  # known, received, no handler
        ("Authorize", {}, "OccurenceConstraintViolation"),
        ("Authorize", {"idTag": 42}, "TypeConstraintViolation"),
        ("Authorize", {"idTag": "X" * 21}, "TypeConstraintViolation"),
        ("Authorize", {"idTag": "A", "color": "red"}, "PropertyConstraintViolation"),
        (
            "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"},
            "TypeConstraintViolation",
        ),
        (
            "StatusNotification",
            {"connectorId": "one", "errorCode": "NoError", "status": "Available"},
            "TypeConstraintViolation",
        ),
        ("Authorize", {"idTag": "BOOM"}, "InternalError"),
        ("Authorize", {"idTag": "WRONG"}, "InternalError"),
        ("Authorize", {"idTag": "FORBIDDEN"}, "SecurityError"),
    ],
)
async def test_every_failure_is_answered_with_its_ocpp_j_error_code(
    server: CentralSystemServer[DemoCentralSystem], action: str, payload: dict[str, Any], code: str
) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp):
        answer = await cp.call_raw(action, payload)
        assert answer.payload is None and answer.error is not None
        assert answer.error.code == code and answer.frame[2] == code
        assert answer.error.remote
        # the connection goes on
        assert (await cp.call(v16.HeartbeatRequest())).current_time == NOW


async def test_internal_errors_never_leak_a_traceback_to_the_peer(
    server: CentralSystemServer[DemoCentralSystem], caplog: pytest.LogCaptureFixture
) -> None:
    cp = DemoChargePoint("CP1")
    with caplog.at_level(logging.ERROR, logger="ocpprpc"):
        async with memory.connect(server, cp):
            with pytest.raises(InternalError) as exc:
                (await cp.call_raw("Authorize", {"idTag": "BOOM"})).result()
    sent = json.dumps([exc.value.description, exc.value.details])
    assert "database" not in sent and "secret" not in sent and "Traceback" not in sent
    assert "database on fire" in caplog.text  # but it is logged on our side


async def test_handler_raising_an_ocpp_error_chooses_the_code_and_details(
    server: CentralSystemServer[DemoCentralSystem],
) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp):
        with pytest.raises(SecurityError) as exc:
            await cp.call(v16.AuthorizeRequest(id_tag="FORBIDDEN"))
    assert exc.value.description == "not allowed"
    assert exc.value.details == {"tag": "FORBIDDEN"}


async def test_a_handler_may_return_a_dict_which_is_validated_into_the_response(
    server: CentralSystemServer[DemoCentralSystem],
) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp):
        response = await cp.call(v16.AuthorizeRequest(id_tag="DICT"))
    assert response.id_tag_info.status is v16.AuthorizationStatus.ACCEPTED


async def test_validation_error_details_name_every_bad_field(server: CentralSystemServer[DemoCentralSystem]) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp):
        with pytest.raises(OcppError) as exc:
            (await cp.call_raw("BootNotification", {"chargePointVendor": 1})).result()
    assert exc.value.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
    fields = {e["field"] for e in exc.value.details["errors"]}
    assert fields == {"chargePointVendor", "chargePointModel"}


async def test_calling_an_action_this_side_does_not_send_is_a_usage_error(
    server: CentralSystemServer[DemoCentralSystem],
) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp):
        with pytest.raises(UsageError, match="not a request a ChargePoint sends"):
            await cp.call(v16.ResetRequest(type="Soft"))
        with pytest.raises(UsageError, match=r"OCPP 1\.6"):
            await cp.call(v15.HeartbeatRequest())  # a 1.5 model on a 1.6 connection


async def test_a_response_that_does_not_validate_raises_the_constraint_error() -> None:
    cp = DemoChargePoint("CP1")
    async with hand_driven_peer(cp) as peer_end:
        call = asyncio.create_task(cp.call(v16.HeartbeatRequest()))
        frame = await answer_next_call(peer_end, {"currentTime": "not a time"})
        assert frame[:3] == [2, frame[1], "Heartbeat"]
        with pytest.raises(TypeConstraintViolation) as exc:
            async with asyncio.timeout(2):
                await call
    assert "Heartbeat response" in exc.value.description


async def test_calls_time_out_and_late_answers_are_dropped(
    server: CentralSystemServer[DemoCentralSystem], caplog: pytest.LogCaptureFixture
) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp):
        with pytest.raises(CallTimeout):
            await server.call("CP1", v16.ResetRequest(type="Soft"), timeout=0.05)
        with caplog.at_level(logging.WARNING, logger="ocpprpc"):
            cp.release.set()
            await asyncio.sleep(0.05)
        assert "unknown or expired call" in caplog.text
        # the connection is still usable
        assert (await cp.call(v16.HeartbeatRequest())).current_time == NOW


async def test_one_call_in_flight_per_direction_by_default(server: CentralSystemServer[DemoCentralSystem]) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp):
        first = asyncio.create_task(server.call("CP1", v16.ResetRequest(type="Hard")))
        await asyncio.sleep(0.02)
        second = asyncio.create_task(server.call("CP1", v16.GetConfigurationRequest()))
        await asyncio.sleep(0.05)
        assert cp.seen == []  # the second CALL waits for the first answer
        # the other direction is independent
        assert (await cp.call(v16.HeartbeatRequest())).current_time == NOW
        cp.release.set()
        async with asyncio.timeout(2):
            assert (await first).status is v16.ResetStatus.ACCEPTED
            await second
        assert cp.seen == ["GetConfiguration"]


async def test_a_pending_call_fails_with_connection_closed_when_the_connection_ends(
    server: CentralSystemServer[DemoCentralSystem],
) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp):
        pending = asyncio.create_task(server.call("CP1", v16.ResetRequest(type="Hard")))
        await asyncio.sleep(0.02)
        await cp.close("bye")
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(2):
                await pending
    with pytest.raises(ConnectionClosed):
        await cp.call(v16.HeartbeatRequest())


async def test_registry_events_and_calls_by_id() -> None:
    events: list[str] = []
    server = CentralSystemServer(
        DemoCentralSystem,
        on_connect=lambda role: events.append(f"+{role.id}"),
        on_disconnect=lambda role: events.append(f"-{role.id}"),
    )
    a, b = DemoChargePoint("A"), DemoChargePoint("B")
    async with memory.connect(server, a), memory.connect(server, b):
        assert sorted(server.charge_points) == ["A", "B"]
        assert server["A"].version == "1.6" and server["A"].ocpp_version is v16.VERSION
        await server.call("B", v16.GetConfigurationRequest())
        assert b.seen == ["GetConfiguration"] and a.seen == []
        with pytest.raises(UnknownChargePoint):
            await server.call("C", v16.GetConfigurationRequest())
    assert events == ["+A", "+B", "-B", "-A"]
    assert len(server) == 0


async def test_one_role_class_serves_several_versions_with_version_specific_handlers() -> None:
    class MultiVersion(CentralSystem):
        @on("Heartbeat")
        def any_version(self, request: Any) -> Any:
            return type(request).__module__  # wrong on purpose: replaced below for 1.5

        @on(v15.HeartbeatRequest)
        def v15_only(self, request: v15.HeartbeatRequest) -> v15.HeartbeatResponse:
            return v15.HeartbeatResponse(current_time=NOW)

    server = CentralSystemServer(MultiVersion)
    cp = DemoChargePoint("OLD", "1.5")
    async with memory.connect(server, cp):
        assert (await cp.call(v15.HeartbeatRequest())).current_time == NOW
    cp16 = DemoChargePoint("NEW", "1.6")
    async with memory.connect(server, cp16):
        with pytest.raises(InternalError):  # the generic handler returned a string
            await cp16.call(v16.HeartbeatRequest())


async def test_unhandled_actions_can_be_answered_by_overriding_on_unhandled() -> None:
    class Answering(CentralSystem):
        async def on_unhandled(self, action: str, request: Any) -> Any:
            return {"status": "Accepted"} if action == "DataTransfer" else await super().on_unhandled(action, request)

    cp = DemoChargePoint("CP1")
    async with memory.connect(CentralSystemServer(Answering), cp):
        assert (await cp.call(v16.DataTransferRequest(vendor_id="ACME"))).status is v16.DataTransferStatus.ACCEPTED
        with pytest.raises(ActionNotSupported):
            await cp.call(v16.HeartbeatRequest())
        with pytest.raises(ActionNotImplemented):
            (await cp.call_raw("NoSuchAction", {})).result()


async def test_transaction_messages_sent_while_offline_are_delivered_in_order_after_reconnecting(
    server: CentralSystemServer[DemoCentralSystem],
) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp):
        start = await cp.call(v16.StartTransactionRequest(connector_id=1, id_tag="TAG", meter_start=0, timestamp=NOW))
    assert not cp.connected
    meter = v16.MeterValuesRequest(
        connector_id=1,
        transaction_id=start.transaction_id,
        meter_value=[{"timestamp": NOW, "sampled_value": [{"value": "10"}]}],
    )
    queued: list[asyncio.Task[OcppModel]] = [asyncio.create_task(cp.call(meter)) for _ in range(3)]
    queued.append(
        asyncio.create_task(
            cp.call(v16.StopTransactionRequest(transaction_id=start.transaction_id, meter_stop=30, timestamp=NOW))
        )
    )
    await asyncio.sleep(0.05)
    assert cp.pending_transaction_messages == 4
    with pytest.raises(ConnectionClosed):  # other messages are not queued
        await cp.call(v16.HeartbeatRequest())
    fresh = CentralSystemServer(DemoCentralSystem)
    async with memory.connect(fresh, cp) as cs:
        async with asyncio.timeout(2):
            await asyncio.gather(*queued)
        assert cs.transactions == ["MeterValuesRequest"] * 3 + ["StopTransactionRequest"]
    assert cp.pending_transaction_messages == 0


async def test_a_response_that_cannot_be_written_is_answered_with_internal_error() -> None:
    class Careless(CentralSystem):
        @on("Heartbeat")
        def heartbeat(self, request: v16.HeartbeatRequest) -> v16.HeartbeatResponse:
            return v16.HeartbeatResponse.model_construct(current_time="not a datetime")  # skips validation

    cp = DemoChargePoint("CP1")
    async with memory.connect(CentralSystemServer(Careless), cp):
        with pytest.raises(InternalError):
            await cp.call(v16.HeartbeatRequest())
        with pytest.raises(ActionNotSupported):  # and the connection goes on
            await cp.call(v16.AuthorizeRequest(id_tag="T"))


async def test_call_raw_returns_the_answer_as_data_and_the_server_offers_it_by_charge_point_id(
    server: CentralSystemServer[DemoCentralSystem],
) -> None:
    cp = DemoChargePoint("CP1")
    async with memory.connect(server, cp):
        answer = await cp.call_raw("Heartbeat", {})
        assert answer.error is None and answer.result() == {"currentTime": "2026-11-24T10:00:00Z"}
        assert answer.frame == [3, answer.unique_id, {"currentTime": "2026-11-24T10:00:00Z"}]
        refused = await cp.call_raw("Authorize", {"idTag": "FORBIDDEN"})
        assert refused.payload is None and refused.error is not None and refused.error.remote
        assert refused.frame == [4, refused.unique_id, "SecurityError", "not allowed", {"tag": "FORBIDDEN"}]
        with pytest.raises(SecurityError):
            refused.result()
        cp.release.set()
        by_id = await server.call_raw("CP1", "Reset", {"type": "Soft"})
        assert by_id.result() == {"status": "Accepted"}
        bad = await server.call_raw("CP1", "Reset", {"type": "Sideways"})
        assert bad.error is not None and bad.error.code is ErrorCode.TYPE_CONSTRAINT_VIOLATION
        assert await server.send_raw("CP1", "[2,") is None  # OCPP-J: any answer comes as a frame
        with pytest.raises(UnknownChargePoint):
            await server.call_raw("CP9", "Reset", {"type": "Soft"})


async def test_an_answer_to_no_pending_call_goes_to_on_unmatched_frame() -> None:
    class Watching(DemoChargePoint):
        def __init__(self, id: str) -> None:
            super().__init__(id)
            self.unmatched: list[str] = []

        def on_unmatched_frame(self, frame: str) -> None:
            self.unmatched.append(frame)

    cp = Watching("CP1")
    async with memory.connect(CentralSystemServer(DemoCentralSystem), cp):
        await cp.send_raw('[2,"by-hand-1","Heartbeat",{}]')  # a CALL sent by hand: its answer matches no call
        await asyncio.sleep(0.05)
        assert [json.loads(frame)[:2] for frame in cp.unmatched] == [[3, "by-hand-1"]]
        await cp.send_raw('[2,"by-hand-2","NoSuchAction",{}]')
        await asyncio.sleep(0.05)
        assert json.loads(cp.unmatched[-1])[:3] == [4, "by-hand-2", "NotImplemented"]
        await cp.call(v16.HeartbeatRequest())  # answers to our own calls are not unmatched
        assert len(cp.unmatched) == 2


async def test_a_handler_returning_a_model_of_another_version_gets_an_error_naming_both_versions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Mixed(CentralSystem):
        @on("Heartbeat")
        def heartbeat(self, request: Any) -> Any:
            return v15.HeartbeatResponse(current_time=NOW)  # a 1.5 model on any connection

    cp = DemoChargePoint("CP1", "1.6")
    with caplog.at_level(logging.ERROR, logger="ocpprpc"):
        async with memory.connect(CentralSystemServer(Mixed), cp):
            with pytest.raises(InternalError):
                await cp.call(v16.HeartbeatRequest())
    assert "a model of OCPP 1.5, on a connection speaking OCPP 1.6" in caplog.text
    assert "ocpprpc.messages.v16" in caplog.text


async def test_the_role_version_is_the_version_string_and_ocpp_version_its_registry() -> None:
    cp = DemoChargePoint("CP1", "1.5")
    assert cp.version == "1.5" and cp.ocpp_version is v15.VERSION
    async with memory.connect(CentralSystemServer(DemoCentralSystem), cp) as cs:
        assert cs.version == "1.5" and "Heartbeat" in cs.ocpp_version.received_by(cs.side)
