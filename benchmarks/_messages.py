"""The OCPP 1.6 payloads every benchmark uses, as plain JSON-ready dicts (wire names).

They are written by hand to look like what real charge points send (a meter reading with energy,
current, voltage, power and state of charge, each with context / measurand / unit), not generated, so
that no library's example generator decides what is being measured. Each is valid for OCPP 1.6 as both
ocpprpc's models and the mobilityhouse package's JSON schemas read it; ``python -m benchmarks.codec
--check`` verifies that.
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


def compact(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))
