"""Roles that are not strict repair what real chargers get slightly wrong; strict ones refuse it; both tell."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from ocpprpc import (
    CentralSystem,
    CentralSystemServer,
    OccurrenceConstraintViolation,
    OcppError,
    TypeConstraintViolation,
    on,
)
from ocpprpc._lenient import repair
from ocpprpc.messages import v16
from ocpprpc.transports import memory

from .roles_for_tests import EchoChargePoint, answer_next_call, hand_driven_peer

SLOPPY_START = {
    "connectorId": "1",  # a string
    "idTag": "ABC",
    "meterStart": 0.0,  # a whole float
    "timestamp": "2026-11-24T10:00:00",  # no timezone
    "vendorBattery": 80,  # a field OCPP does not define
}


async def _raw_call(cp: EchoChargePoint, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The peer's response payload to an unvalidated request; its CALLERROR raised."""
    return (await cp.call_raw(action, payload)).result()


class Recording(CentralSystem):
    """Records what its handler received and what on_validation_error heard."""

    def __init__(self, id: str, version: Any = None) -> None:
        super().__init__(id, version)
        self.strict = not id.startswith("LENIENT")  # per charge point
        self.started: list[v16.StartTransactionRequest] = []
        self.heard: list[tuple[str, str, bool]] = []

    async def on_validation_error(self, action: str, payload: dict[str, Any], error: OcppError, repaired: bool) -> None:
        self.heard.append((action, error.code.value, repaired))

    @on("StartTransaction")
    def start(self, request: v16.StartTransactionRequest) -> v16.StartTransactionResponse:
        self.started.append(request)
        return v16.StartTransactionResponse(transaction_id=1, id_tag_info={"status": "Accepted"})

    @on("StatusNotification")
    def status(self, request: v16.StatusNotificationRequest) -> v16.StatusNotificationResponse:
        return v16.StatusNotificationResponse()


async def test_a_strict_central_system_refuses_a_sloppy_payload_and_says_so() -> None:
    server = CentralSystemServer(Recording)
    cp = EchoChargePoint("STRICT-1", "1.6")
    async with memory.connect(server, cp) as cs:
        with pytest.raises(TypeConstraintViolation):
            await _raw_call(cp, "StartTransaction", SLOPPY_START)
        assert cs.heard == [("StartTransaction", "TypeConstraintViolation", False)]
        assert cs.started == []


async def test_a_lenient_charge_point_connection_gets_its_payload_repaired_and_the_handler_a_valid_model() -> None:
    server = CentralSystemServer(Recording)
    cp = EchoChargePoint("LENIENT-1", "1.6")
    async with memory.connect(server, cp) as cs:
        answer = await _raw_call(cp, "StartTransaction", SLOPPY_START)
        assert answer["transactionId"] == 1
        (request,) = cs.started
        assert request.connector_id == 1 and request.meter_start == 0
        assert request.timestamp == datetime(2026, 11, 24, 10, tzinfo=UTC)
        assert cs.heard == [("StartTransaction", "TypeConstraintViolation", True)]
        answer = await _raw_call(
            cp, "StatusNotification", {"connectorId": 1, "errorCode": "noerror", "status": "available"}
        )
        assert answer == {}


async def test_a_lenient_role_still_refuses_what_has_no_obvious_fix() -> None:
    server = CentralSystemServer(Recording)
    cp = EchoChargePoint("LENIENT-2", "1.6")
    async with memory.connect(server, cp) as cs:
        with pytest.raises(OccurrenceConstraintViolation):
            await _raw_call(
                cp, "StartTransaction", {"connectorId": 1, "idTag": "A", "timestamp": "2026-11-24T10:00:00Z"}
            )
        with pytest.raises(TypeConstraintViolation):
            await _raw_call(cp, "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"})
        assert [repaired for *_, repaired in cs.heard] == [False, False]


async def test_a_lenient_caller_repairs_a_sloppy_response() -> None:
    class LenientChargePoint(EchoChargePoint):
        strict = False

    cp = LenientChargePoint("CP1", "1.6")
    async with hand_driven_peer(cp) as peer_end:
        call = asyncio.create_task(cp.call(v16.HeartbeatRequest()))
        await answer_next_call(peer_end, {"currentTime": "2026-11-24T10:00:00"})
        response = await call
    assert response.current_time == datetime(2026, 11, 24, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("model", "payload", "expected"),
    [
        (v16.UnlockConnectorRequest, {"connectorId": "2"}, {"connectorId": 2}),
        (v16.KeyValue, {"key": "K", "readonly": "true"}, {"key": "K", "readonly": True}),
        (v16.ChangeConfigurationRequest, {"key": "K" * 60, "value": 5}, {"key": "K" * 50, "value": "5"}),
        (
            v16.ChargingSchedulePeriod,
            {"startPeriod": 0, "limit": 16.25},
            {"startPeriod": 0, "limit": 16.2},
        ),
        (v16.ResetRequest, {"type": "HARD"}, {"type": "Hard"}),
        (v16.HeartbeatResponse, {"currentTime": 1732442400}, {"currentTime": "2024-11-24T10:00:00Z"}),
        (v16.HeartbeatResponse, {"currentTime": "1732442400"}, {"currentTime": "2024-11-24T10:00:00Z"}),
        (v16.HeartbeatResponse, {"currentTime": "2026-11-24 12:00+02:00"}, {"currentTime": "2026-11-24T10:00:00Z"}),
        (v16.HeartbeatResponse, {"currentTime": "2026-11-24 10:00"}, {"currentTime": "2026-11-24T10:00:00Z"}),
        (v16.ChargingSchedulePeriod, {"startPeriod": 0, "limit": " 16.5"}, {"startPeriod": 0, "limit": 16.5}),
        (v16.ChargingSchedulePeriod, {"startPeriod": 0, "limit": "16.25"}, {"startPeriod": 0, "limit": 16.2}),
        (
            v16.MeterValuesRequest,
            {
                "connectorId": 1,
                "meterValue": [{"timestamp": "2026-11-24T10:00:00", "sampledValue": [{"value": 7, "unit": "wh"}]}],
            },
            {
                "connectorId": 1,
                "meterValue": [{"timestamp": "2026-11-24T10:00:00Z", "sampledValue": [{"value": "7", "unit": "Wh"}]}],
            },
        ),
    ],
)
def test_each_kind_of_repair(model: Any, payload: dict[str, Any], expected: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as exc:
        model.model_validate(payload)
    fixed = repair(model, payload, exc.value)
    assert fixed is not None and fixed.to_json_dict() == expected
    assert payload != expected  # the caller's payload is left as it was


@pytest.mark.parametrize(
    ("model", "payload"),
    [
        (v16.HeartbeatResponse, {"currentTime": "2026-11-24"}),  # a date alone: which time of day?
        (v16.HeartbeatResponse, {"currentTime": "yesterday"}),
        (v16.HeartbeatResponse, {"currentTime": True}),
        (v16.ChargingSchedulePeriod, {"startPeriod": 0, "limit": "sixteen"}),
        (v16.ChargingSchedulePeriod, {"startPeriod": 0, "limit": "NaN"}),
    ],
)
def test_what_has_no_obvious_fix_stays_refused(model: Any, payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as exc:
        model.model_validate(payload)
    assert repair(model, payload, exc.value) is None
