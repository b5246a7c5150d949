"""The OCPP 1.6 and 2.0.1 payloads every benchmark uses, as plain JSON-ready dicts (wire names).

They are written by hand to look like what real charge points send (a meter reading with energy,
current, voltage, power and state of charge, each with context / measurand / unit), not generated, so
that no library's example generator decides what is being measured. Each is valid for its version as
both ocpprpc's models and the mobilityhouse package's JSON schemas read it: the codec parts check that
both libraries accept every message, and carry it unchanged, before timing anything.

The 2.0.1 messages carry the same facts as their 1.6 counterparts, in 2.0.1's shape: the meter reading
travels in a TransactionEvent (eventType Updated, as a charging station sends it periodically during a
transaction) instead of a MeterValues, its values are numbers instead of strings, and each unit is an
object (``unitOfMeasure``).
"""

from __future__ import annotations

import json
from typing import Any

TIMESTAMP = "2026-11-24T10:00:00Z"

_SAMPLED_VALUES: list[dict[str, Any]] = [
    {
        "value": "15234.7",
        "context": "Sample.Periodic",
        "format": "Raw",
        "measurand": "Energy.Active.Import.Register",
        "location": "Outlet",
        "unit": "Wh",
    },
    {"value": "15.9", "context": "Sample.Periodic", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
    {"value": "229.8", "context": "Sample.Periodic", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
    {"value": "10980", "context": "Sample.Periodic", "measurand": "Power.Active.Import", "unit": "W"},
    {"value": "63", "context": "Sample.Periodic", "measurand": "SoC", "location": "EV", "unit": "Percent"},
]


def meter_values(sampled: int = 5, connector_id: int = 1, transaction_id: int = 4711) -> dict[str, Any]:
    """A MeterValues.req with one MeterValue of ``sampled`` (1-5) sampled values."""
    return {
        "connectorId": connector_id,
        "transactionId": transaction_id,
        "meterValue": [{"timestamp": TIMESTAMP, "sampledValue": [dict(v) for v in _SAMPLED_VALUES[:sampled]]}],
    }


def boot_notification() -> dict[str, Any]:
    return {
        "chargePointVendor": "ACME Charging",
        "chargePointModel": "Wallbox-22",
        "chargePointSerialNumber": "WB22-000123",
        "chargeBoxSerialNumber": "CB-000123",
        "firmwareVersion": "2.4.1-build.77",
        "iccid": "8931000000000000123",
        "imsi": "262011234567890",
        "meterType": "EMH eHZ",
        "meterSerialNumber": "1EMH0012345678",
    }


def start_transaction() -> dict[str, Any]:
    return {
        "connectorId": 1,
        "idTag": "04A2B3C4D5E6F7",
        "timestamp": TIMESTAMP,
        "meterStart": 15234,
        "reservationId": 42,
    }


def heartbeat() -> dict[str, Any]:
    return {}


def set_charging_profile() -> dict[str, Any]:
    """A TxDefaultProfile with a daily recurring schedule of three periods (central system → charge point)."""
    return {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 17,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Recurring",
            "recurrencyKind": "Daily",
            "validFrom": TIMESTAMP,
            "validTo": "2027-11-24T10:00:00Z",
            "chargingSchedule": {
                "duration": 86400,
                "startSchedule": TIMESTAMP,
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 16.0, "numberPhases": 3},
                    {"startPeriod": 28800, "limit": 10.5, "numberPhases": 3},
                    {"startPeriod": 64800, "limit": 32.0},
                ],
                "minChargingRate": 6.0,
            },
        },
    }


CODEC_MESSAGES: dict[str, dict[str, Any]] = {
    "BootNotification": boot_notification(),
    "MeterValues": meter_values(sampled=3),
    "StartTransaction": start_transaction(),
    "Heartbeat": heartbeat(),
    "SetChargingProfile": set_charging_profile(),
}
"""The messages of the codec benchmark, by action (MeterValues with 3 sampled values, as the issue asks)."""

CODEC_LABELS = {"MeterValues": "MeterValues (3 sampled)"}


# -- OCPP 2.0.1 --------------------------------------------------------------------------------------------

_SAMPLED_VALUES_201: list[dict[str, Any]] = [
    {
        "value": 15234.7,
        "context": "Sample.Periodic",
        "measurand": "Energy.Active.Import.Register",
        "location": "Outlet",
        "unitOfMeasure": {"unit": "Wh"},
    },
    {
        "value": 15.9,
        "context": "Sample.Periodic",
        "measurand": "Current.Import",
        "phase": "L1",
        "unitOfMeasure": {"unit": "A"},
    },
    {
        "value": 229.8,
        "context": "Sample.Periodic",
        "measurand": "Voltage",
        "phase": "L1-N",
        "unitOfMeasure": {"unit": "V"},
    },
    {"value": 10980, "context": "Sample.Periodic", "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
    {
        "value": 63,
        "context": "Sample.Periodic",
        "measurand": "SoC",
        "location": "EV",
        "unitOfMeasure": {"unit": "Percent"},
    },
]


def transaction_event_updated(sampled: int = 5, seq_no: int = 7) -> dict[str, Any]:
    """A 2.0.1 TransactionEventRequest, eventType Updated (periodic meter values during a transaction).

    One meterValue of ``sampled`` (1-5) sampled values, the transaction (id, charging state), the EVSE
    and the sequence number. It is the 2.0.1 counterpart of :func:`meter_values`: in 2.0.1 a transaction's
    meter values travel in TransactionEvent.
    """
    return {
        "eventType": "Updated",
        "timestamp": TIMESTAMP,
        "triggerReason": "MeterValuePeriodic",
        "seqNo": seq_no,
        "transactionInfo": {"transactionId": "8d6f1a2e-4b7c-4f0e-9a51-3c2d7e6b1f04", "chargingState": "Charging"},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [{"timestamp": TIMESTAMP, "sampledValue": [dict(v) for v in _SAMPLED_VALUES_201[:sampled]]}],
    }


def boot_notification_201() -> dict[str, Any]:
    """A 2.0.1 BootNotificationRequest with the same station facts as the 1.6 :func:`boot_notification`."""
    return {
        "reason": "PowerUp",
        "chargingStation": {
            "model": "Wallbox-22",
            "vendorName": "ACME Charging",
            "serialNumber": "WB22-000123",
            "firmwareVersion": "2.4.1-build.77",
            "modem": {"iccid": "8931000000000000123", "imsi": "262011234567890"},
        },
    }


CODEC_MESSAGES_201: dict[str, dict[str, Any]] = {
    "TransactionEvent": transaction_event_updated(sampled=3),
    "BootNotification": boot_notification_201(),
}
"""The messages of the 2.0.1 codec benchmark, by action (3 sampled values, as the 1.6 MeterValues there)."""

CODEC_LABELS_201 = {"TransactionEvent": "TransactionEvent Updated (3 sampled)"}


# -- the load generator's cycle, per version ---------------------------------------------------------------------

CYCLES: dict[str, tuple[str, ...]] = {
    "1.6": ("MeterValues", "MeterValues", "MeterValues", "MeterValues", "Heartbeat"),
    "2.0.1": ("TransactionEvent", "TransactionEvent", "TransactionEvent", "TransactionEvent", "Heartbeat"),
}
"""What each connection of the throughput parts sends, in order, round and round: four meter readings
(five sampled values each) and a Heartbeat, the same mix in both versions."""

SUBPROTOCOLS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
"""The WebSocket subprotocol of each version the load runs speak."""


def load_payload(version: str, action: str) -> dict[str, Any]:
    """The payload the load generator sends for ``action`` in ``version`` (see :data:`CYCLES`)."""
    if action == "MeterValues":
        return meter_values(sampled=5)
    if action == "TransactionEvent":
        return transaction_event_updated(sampled=5)
    return heartbeat()


def compact(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))
