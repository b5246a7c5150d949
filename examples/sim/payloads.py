"""Default payloads: what the simulator sends when a command gives no (or only some) fields.

Every default is the generic valid example of the model (``ocpprpc.messages.examples.example``) with
realistic values laid over it where the model has that field, so the same table serves 1.2, 1.5 and 1.6
and every default validates for the version in use.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from ocpprpc import OcppModel, OcppVersion
from ocpprpc.messages.examples import example

ID_TAG = "044943121F1D80"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _wire_names(model: type[OcppModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def _overlay(model: type[OcppModel], values: dict[str, Any]) -> dict[str, Any]:
    """The generic example with each realistic value laid over it that the model has and accepts.

    Versions disagree on fields and enumerations (1.2's UnlockStatus has no "Unlocked"), so a value
    the model refuses is left out rather than making the default invalid.
    """
    payload = example(model, optional=False, at=now()).to_json_dict()
    names = _wire_names(model)
    for key, value in values.items():
        if key not in names:
            continue
        candidate = {**payload, key: value}
        try:
            model.model_validate(candidate)
        except ValidationError:
            continue
        payload = candidate
    return payload


def meter_reading(version: OcppVersion, value: int) -> list[dict[str, Any]]:
    """One meter reading in the shape of ``version``."""
    stamp = now().isoformat().replace("+00:00", "Z")
    if version.version == "1.2":
        return [{"timestamp": stamp, "value": value}]
    if version.version == "1.5":
        return [{"timestamp": stamp, "values": [{"value": str(value), "unit": "Wh"}]}]
    return [
        {
            "timestamp": stamp,
            "sampledValue": [
                {"value": str(value), "unit": "Wh", "measurand": "Energy.Active.Import.Register"},
                {"value": "16", "unit": "A", "measurand": "Current.Import"},
                {"value": "230", "unit": "V", "measurand": "Voltage"},
            ],
        }
    ]


def request(version: OcppVersion, model: type[OcppModel], action: str, state: dict[str, Any]) -> dict[str, Any]:
    """The default request payload for ``action``; ``state`` carries e.g. the last transaction id."""
    transaction_id = state.get("transaction_id", 1)
    later = (now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    values: dict[str, dict[str, Any]] = {
        "BootNotification": {"chargePointVendor": "DBT", "chargePointModel": "NQC-ACDC"},
        "Authorize": {"idTag": ID_TAG},
        "StartTransaction": {"connectorId": 1, "idTag": ID_TAG, "meterStart": 0},
        "StopTransaction": {"transactionId": transaction_id, "meterStop": 20, "idTag": ID_TAG},
        "MeterValues": {
            "connectorId": 1,
            "transactionId": transaction_id,
            "meterValue": meter_reading(version, 20),
            "values": meter_reading(version, 20),
        },
        "StatusNotification": {"connectorId": 1, "status": "Available", "errorCode": "NoError"},
        "DataTransfer": {"vendorId": "DBT"},
        "DiagnosticsStatusNotification": {"status": "Uploaded"},
        "FirmwareStatusNotification": {"status": "Installed"},
        # central system → charge point
        "RemoteStartTransaction": {"idTag": ID_TAG, "connectorId": 1},
        "RemoteStopTransaction": {"transactionId": transaction_id},
        "Reset": {"type": "Soft"},
        "UnlockConnector": {"connectorId": 1},
        "ChangeAvailability": {"connectorId": 0, "type": "Operative"},
        "ChangeConfiguration": {"key": "HeartbeatInterval", "value": "300"},
        "GetDiagnostics": {"location": "ftp://diagnostics.example.com/upload/"},
        "UpdateFirmware": {"location": "ftp://firmware.example.com/fw.bin", "retrieveDate": later},
        "ReserveNow": {"connectorId": 1, "expiryDate": later, "idTag": ID_TAG, "reservationId": 1},
        "CancelReservation": {"reservationId": 1},
        "SendLocalList": {
            "listVersion": 1,
            "updateType": "Full",
            "localAuthorisationList": [{"idTag": ID_TAG, "idTagInfo": {"status": "Accepted"}}],
            "localAuthorizationList": [{"idTag": ID_TAG, "idTagInfo": {"status": "Accepted"}}],
        },
        "TriggerMessage": {"requestedMessage": "Heartbeat"},
    }
    return _overlay(model, values.get(action, {}))


def response(version: OcppVersion, model: type[OcppModel], action: str, state: dict[str, Any]) -> dict[str, Any]:
    """The default answer to ``action``: valid for ``version``, and accepting wherever there is a choice."""
    stamp = now().isoformat().replace("+00:00", "Z")
    values: dict[str, dict[str, Any]] = {
        "BootNotification": {"status": "Accepted", "currentTime": stamp, "heartbeatInterval": 300, "interval": 300},
        "StartTransaction": {"transactionId": state.get("next_transaction_id", 1), "idTagInfo": {"status": "Accepted"}},
        "Authorize": {"idTagInfo": {"status": "Accepted"}},
        "StopTransaction": {"idTagInfo": {"status": "Accepted"}},
        "Heartbeat": {"currentTime": stamp},
        "DataTransfer": {"status": "Accepted"},
        "GetConfiguration": {
            "configurationKey": [
                {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                {"key": "MeterValueSampleInterval", "readonly": False, "value": "60"},
            ]
        },
        "GetLocalListVersion": {"listVersion": state.get("local_list_version", 0)},
        "UnlockConnector": {"status": "Unlocked"},
    }
    return _overlay(model, values.get(action, {}))
