"""Default payloads: what the simulator sends, and answers, when a command gives no (or only some) fields.

Every default is the generic valid example of the model (``ocpprpc.messages.examples.example``, required
fields only) with the realistic values of the tables below laid over it. The tables are data: one entry
per action, its top-level fields in OCPP-J spelling.

* OCPP 1.2, 1.5 and 1.6 share one table: a value the version's model lacks or refuses (1.2's
  UnlockStatus has no "Unlocked", 1.5 calls the readings ``values``) is left out, so the same table
  serves all three.
* OCPP 2.0.1 and 2.1 share another, strictly: every value in it must be a valid field of the
  version's model, or the default is refused with an error that names it (a test builds every default of
  both versions, so a typo in the table fails there, not in a user's session).

What the side remembers (``state.Memory``) makes the defaults hang together: the transaction id and
``seqNo`` of a TransactionEvent, the requestId a NotifyReport answers, GetVariables reading what
SetVariables set. Actions without an entry get the generic example, which is valid but says little.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from ocpprpc import OcppModel, OcppVersion
from ocpprpc.messages.examples import example

from .state import Memory, is_2x, variable_key

ID_TAG = "044943121F1D80"
ID_TOKEN_TYPE = "ISO14443"
"""An RFID card: the idToken type of the 2.x defaults."""
TRANSACTION_STEP_WH = 500
"""How much the energy register grows from one 2.x TransactionEvent (Updated or Ended) to the next."""
FIRMWARE = "https://firmware.example.com/ncq-acdc-1.2.0.bin"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUSimulated\n-----END CERTIFICATE-----\n"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _stamp(at: datetime | None = None) -> str:
    return (at or now()).isoformat().replace("+00:00", "Z")


def id_token(tag: str = ID_TAG) -> dict[str, Any]:
    """A 2.x IdTokenType of an RFID card."""
    return {"idToken": tag, "type": ID_TOKEN_TYPE}


def _wire_names(model: type[OcppModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def _overlay(model: type[OcppModel], values: dict[str, Any], *, strict: bool = False) -> dict[str, Any]:
    """The generic example with each realistic value laid over it that the model has and accepts.

    Not ``strict`` (1.x): a value the model lacks or refuses is left out. ``strict`` (2.x): it is a
    ``ValueError`` naming the field.
    """
    payload = example(model, optional=False, at=now()).to_json_dict()
    names = _wire_names(model)
    for key, value in values.items():
        if key not in names:
            if strict:
                raise ValueError(f"default {model.__name__}: no field {key!r}")
            continue
        candidate = {**payload, key: value}
        try:
            model.model_validate(candidate)
        except ValidationError as error:
            if strict:
                raise ValueError(f"default {model.__name__}: {key}: {error.errors()[0]['msg']}") from None
            continue
        payload = candidate
    return payload


# -- meter readings ----------------------------------------------------------------------------------------


def meter_reading(version: OcppVersion, value: int, context: str | None = None) -> list[dict[str, Any]]:
    """One meter reading (the energy register at ``value`` Wh) in the shape of ``version``.

    2.x: the register with its ``context`` (``Transaction.Begin``, ``Sample.Periodic``, ...), plus power,
    current and voltage for a periodic sample.
    """
    stamp = _stamp()
    if version.version == "1.2":
        return [{"timestamp": stamp, "value": value}]
    if version.version == "1.5":
        return [{"timestamp": stamp, "values": [{"value": str(value), "unit": "Wh"}]}]
    if not is_2x(version):
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
    context = context or "Sample.Periodic"
    sampled: list[dict[str, Any]] = [
        {
            "value": value,
            "context": context,
            "measurand": "Energy.Active.Import.Register",
            "unitOfMeasure": {"unit": "Wh"},
        }
    ]
    if context == "Sample.Periodic":
        sampled += [
            {"value": 11000, "context": context, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
            {
                "value": 16,
                "context": context,
                "measurand": "Current.Import",
                "phase": "L1",
                "unitOfMeasure": {"unit": "A"},
            },
            {"value": 230, "context": context, "measurand": "Voltage", "phase": "L1-N", "unitOfMeasure": {"unit": "V"}},
        ]
    return [{"timestamp": stamp, "sampledValue": sampled}]


# -- OCPP 2.x transactions ----------------------------------------------------------------------------------

TRIGGER_OF_STOP = {
    "EVDisconnected": "EVCommunicationLost",
    "Remote": "RemoteStop",
    "DeAuthorized": "Deauthorized",
    "Local": "StopAuthorized",
}
"""The 2.x TransactionEvent Ended ``triggerReason`` that goes with a ``stoppedReason``."""


def transaction_event(
    version: OcppVersion,
    event_type: str,
    *,
    transaction_id: str,
    seq_no: int,
    meter_wh: int,
    evse_id: int = 1,
    connector_id: int = 1,
    tag: str | None = None,
    trigger_reason: str | None = None,
    stopped_reason: str = "Local",
    remote_start_id: int | None = None,
) -> dict[str, Any]:
    """A 2.x TransactionEvent: Started (EVSE, idToken, the register at its start), Updated (a periodic
    sample) or Ended (the final register and ``stopped_reason``)."""
    context = {"Started": "Transaction.Begin", "Ended": "Transaction.End"}.get(event_type, "Sample.Periodic")
    info: dict[str, Any] = {"transactionId": transaction_id, "chargingState": "Charging"}
    if event_type == "Started":
        default_trigger = "RemoteStart" if remote_start_id is not None else "Authorized"
        if remote_start_id is not None:
            info["remoteStartId"] = remote_start_id
    elif event_type == "Ended":
        default_trigger = TRIGGER_OF_STOP.get(stopped_reason, "StopAuthorized")
        info.update(chargingState="EVConnected" if stopped_reason != "EVDisconnected" else "Idle")
        info["stoppedReason"] = stopped_reason
    else:
        default_trigger = "MeterValuePeriodic"
    payload: dict[str, Any] = {
        "eventType": event_type,
        "timestamp": _stamp(),
        "triggerReason": trigger_reason or default_trigger,
        "seqNo": seq_no,
        "transactionInfo": info,
        "meterValue": meter_reading(version, meter_wh, context),
    }
    if event_type == "Started":
        payload["evse"] = {"id": evse_id, "connectorId": connector_id}
    if tag is not None and (event_type == "Started" or payload["triggerReason"] == "StopAuthorized"):
        payload["idToken"] = id_token(tag)
    return payload


def _next_transaction_event(version: OcppVersion, memory: Memory, fields: dict[str, Any]) -> dict[str, Any]:
    """The ``transactionevent`` command's default: Started when no transaction runs, else Updated
    (``eventType=Ended`` ends it); the transaction id and ``seqNo`` carry on from the last one sent."""
    event_type = str(fields.get("eventType") or ("Updated" if memory.transaction_running else "Started"))
    if event_type == "Started" or not memory.transaction_running or not isinstance(memory.transaction_id, str):
        transaction_id, seq_no, meter = f"TX-{now():%Y%m%d%H%M%S}-{memory.next_request_id()}", 0, memory.meter_wh
    else:
        transaction_id, seq_no, meter = memory.transaction_id, memory.seq_no, memory.meter_wh + TRANSACTION_STEP_WH
    return transaction_event(
        version, event_type, transaction_id=transaction_id, seq_no=seq_no, meter_wh=meter, tag=ID_TAG
    )


def _report_data(memory: Memory) -> list[dict[str, Any]]:
    """NotifyReport's reportData: every variable of the device model with its value."""
    return [
        {
            "component": {"name": component},
            "variable": {"name": variable},
            "variableAttribute": [{"type": "Actual", "value": value, "mutability": "ReadWrite"}],
            "variableCharacteristics": {
                "dataType": "integer" if value.isdigit() else "boolean" if value in ("true", "false") else "string",
                "supportsMonitoring": False,
            },
        }
        for (component, variable), value in memory.variables.items()
    ]


# -- requests --------------------------------------------------------------------------------------------


def _requests_1x(version: OcppVersion, memory: Memory) -> dict[str, dict[str, Any]]:
    transaction_id = memory.transaction_id if isinstance(memory.transaction_id, int) else 1
    later = _stamp(now() + timedelta(hours=1))
    return {
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


NEW_REQUEST_ID = frozenset(
    {
        "GetBaseReport",
        "GetReport",
        "GetLog",
        "UpdateFirmware",
        "PublishFirmware",
        "ReserveNow",
        "RequestStartTransaction",
        "CustomerInformation",
        "GetMonitoringReport",
        "GetDisplayMessages",
        "GetChargingProfiles",
    }
)
"""2.x requests whose default takes a fresh requestId (remoteStartId, reservation id); the others reuse the last."""


def _requests_2x(version: OcppVersion, action: str, memory: Memory, fields: dict[str, Any]) -> dict[str, Any]:
    """The 2.x table entry of ``action`` (a fresh request id only for the action that takes one)."""
    if action == "TransactionEvent":
        return _next_transaction_event(version, memory, fields)
    stamp, later = _stamp(), _stamp(now() + timedelta(hours=1))
    evse = {"id": 1, "connectorId": 1}
    transaction_id = memory.transaction_id if isinstance(memory.transaction_id, str) else "TX-1"
    heartbeat = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    tx_interval = {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"}}
    request_id = memory.next_request_id() if action in NEW_REQUEST_ID else memory.counters.request_id or 1
    table: dict[str, dict[str, Any]] = {
        # charging station → CSMS
        "BootNotification": {
            "chargingStation": {
                "model": "NQC-ACDC",
                "vendorName": "DBT",
                "serialNumber": "DBT-0001",
                "firmwareVersion": "1.2.0",
            },
            "reason": "PowerUp",
        },
        "Heartbeat": {},
        "StatusNotification": {"timestamp": stamp, "connectorStatus": "Available", "evseId": 1, "connectorId": 1},
        "Authorize": {"idToken": id_token()},
        "MeterValues": {"evseId": 1, "meterValue": meter_reading(version, memory.meter_wh, "Sample.Periodic")},
        "NotifyReport": {
            "requestId": memory.report_request_id,
            "generatedAt": stamp,
            "seqNo": 0,
            "tbc": False,
            "reportData": _report_data(memory),
        },
        "NotifyEvent": {
            "generatedAt": stamp,
            "seqNo": 0,
            "eventData": [
                {
                    "eventId": 1,
                    "timestamp": stamp,
                    "trigger": "Delta",
                    "actualValue": "Occupied",
                    "component": {"name": "Connector", "evse": evse},
                    "variable": {"name": "AvailabilityState"},
                    "eventNotificationType": "HardWiredNotification",
                }
            ],
        },
        "SecurityEventNotification": {"type": "StartupOfTheDevice", "timestamp": stamp},
        "FirmwareStatusNotification": {"status": "Installed", "requestId": request_id},
        "LogStatusNotification": {"status": "Uploaded", "requestId": request_id},
        "DataTransfer": {"vendorId": "DBT", "messageId": "hello", "data": "Hello from the simulator"},
        "SignCertificate": {"csr": PEM.replace("CERTIFICATE", "CERTIFICATE REQUEST")},
        "ReservationStatusUpdate": {"reservationId": request_id, "reservationUpdateStatus": "Expired"},
        "NotifyChargingLimit": {"chargingLimit": {"chargingLimitSource": "EMS"}, "evseId": 1},
        "ClearedChargingLimit": {"chargingLimitSource": "EMS", "evseId": 1},
        "NotifyEVChargingNeeds": {
            "evseId": 1,
            "chargingNeeds": {
                "requestedEnergyTransfer": "AC_three_phase",
                "acChargingParameters": {
                    "energyAmount": 20000,
                    "evMinCurrent": 6,
                    "evMaxCurrent": 32,
                    "evMaxVoltage": 400,
                },
            },
        },
        "PublishFirmwareStatusNotification": {"status": "Published", "location": [FIRMWARE], "requestId": request_id},
        # 2.1: periodic event streams (NotifyPeriodicEventStream is a SEND: never answered)
        "OpenPeriodicEventStream": {
            "constantStreamData": {"id": 1, "variableMonitoringId": 1, "params": {"interval": 1, "values": 10}}
        },
        "NotifyPeriodicEventStream": {
            "id": 1,
            "pending": 0,
            "basetime": stamp,
            "data": [{"t": 0, "v": "230.1"}, {"t": 1, "v": "229.8"}, {"t": 2, "v": "230.4"}],
        },
        "ClosePeriodicEventStream": {"id": 1},
        # CSMS → charging station
        "RequestStartTransaction": {"idToken": id_token(), "evseId": 1, "remoteStartId": request_id},
        "RequestStopTransaction": {"transactionId": transaction_id},
        "GetTransactionStatus": {"transactionId": transaction_id},
        "Reset": {"type": "Immediate"},
        "ChangeAvailability": {"operationalStatus": "Operative"},
        "TriggerMessage": {"requestedMessage": "Heartbeat"},
        "UnlockConnector": {"evseId": 1, "connectorId": 1},
        "GetVariables": {"getVariableData": [heartbeat, tx_interval]},
        "SetVariables": {"setVariableData": [{**heartbeat, "attributeValue": "300"}]},
        "GetBaseReport": {"requestId": request_id, "reportBase": "FullInventory"},
        "GetReport": {"requestId": request_id, "componentCriteria": ["Enabled"]},
        "SendLocalList": {
            "versionNumber": 1,
            "updateType": "Full",
            "localAuthorizationList": [{"idToken": id_token(), "idTokenInfo": {"status": "Accepted"}}],
        },
        "ReserveNow": {"id": request_id, "expiryDateTime": later, "idToken": id_token(), "evseId": 1},
        "CancelReservation": {"reservationId": request_id},
        "GetLog": {
            "log": {"remoteLocation": "https://logs.example.com/upload/"},
            "logType": "DiagnosticsLog",
            "requestId": request_id,
        },
        "UpdateFirmware": {"requestId": request_id, "firmware": {"location": FIRMWARE, "retrieveDateTime": stamp}},
        "PublishFirmware": {
            "location": FIRMWARE,
            "checksum": "9e107d9d372bb6826bd81d3542a419d6",
            "requestId": request_id,
        },
        "UnpublishFirmware": {"checksum": "9e107d9d372bb6826bd81d3542a419d6"},
        "SetChargingProfile": {
            "evseId": 1,
            "chargingProfile": {
                "id": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": [
                    {
                        "id": 1,
                        "chargingRateUnit": "A",
                        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16, "numberPhases": 3}],
                    }
                ],
            },
        },
        "GetChargingProfiles": {
            "requestId": request_id,
            "evseId": 1,
            "chargingProfile": {"chargingProfilePurpose": "TxDefaultProfile"},
        },
        "ClearChargingProfile": {"chargingProfileCriteria": {"chargingProfilePurpose": "TxDefaultProfile"}},
        "GetCompositeSchedule": {"duration": 3600, "evseId": 1, "chargingRateUnit": "A"},
        "CostUpdated": {"totalCost": 4.2, "transactionId": transaction_id},
        "CustomerInformation": {"requestId": request_id, "report": True, "clear": False, "idToken": id_token()},
        "SetNetworkProfile": {
            "configurationSlot": 1,
            "connectionData": {
                "ocppVersion": "OCPP20",
                "ocppTransport": "JSON",
                "ocppCsmsUrl": "wss://csms.example.com/ocpp",
                "messageTimeout": 30,
                "securityProfile": 2,
                "ocppInterface": "Wired0",
            },
        },
        "SetMonitoringBase": {"monitoringBase": "All"},
        "SetMonitoringLevel": {"severity": 5},
        "GetMonitoringReport": {"requestId": request_id},
        "SetVariableMonitoring": {
            "setMonitoringData": [
                {
                    "value": 7400,
                    "type": "UpperThreshold",
                    "severity": 4,
                    "component": {"name": "EVSE", "evse": {"id": 1}},
                    "variable": {"name": "Power"},
                }
            ]
        },
        "ClearVariableMonitoring": {"id": [1]},
        "SetDisplayMessage": {
            "message": {"id": 1, "priority": "NormalCycle", "message": {"format": "UTF8", "content": "Welcome!"}}
        },
        "GetDisplayMessages": {"requestId": request_id},
        "ClearDisplayMessage": {"id": 1},
        "InstallCertificate": {"certificateType": "CSMSRootCertificate", "certificate": PEM},
        "CertificateSigned": {"certificateChain": PEM},
    }
    return table.get(action, {})


def request(
    version: OcppVersion,
    model: type[OcppModel],
    action: str,
    memory: Memory,
    fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The default payload of ``action`` (a request, or 2.1's unanswered NotifyPeriodicEventStream).

    ``fields`` are the ones the command gives (laid over the default by the caller); a TransactionEvent
    default follows its ``eventType``.
    """
    if is_2x(version):
        return _overlay(model, _requests_2x(version, action, memory, fields or {}), strict=True)
    return _overlay(model, _requests_1x(version, memory).get(action, {}))


# -- answers ----------------------------------------------------------------------------------------------


def _responses_1x(memory: Memory) -> dict[str, dict[str, Any]]:
    stamp = _stamp()
    return {
        "BootNotification": {"status": "Accepted", "currentTime": stamp, "heartbeatInterval": 300, "interval": 300},
        "StartTransaction": {"transactionId": memory.transaction_id or 1, "idTagInfo": {"status": "Accepted"}},
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
        "GetLocalListVersion": {"listVersion": memory.local_list_version},
        "UnlockConnector": {"status": "Unlocked"},
    }


def _variable_results(memory: Memory, entries: list[dict[str, Any]], *, setting: bool) -> list[dict[str, Any]]:
    """GetVariables / SetVariables results, one per requested variable, from the device model."""
    components = {component for component, _ in memory.variables}
    results: list[dict[str, Any]] = []
    for entry in entries:
        key = variable_key(entry)
        result: dict[str, Any] = {"component": entry["component"], "variable": entry["variable"]}
        if "attributeType" in entry:
            result["attributeType"] = entry["attributeType"]
        if key in memory.variables:
            result["attributeStatus"] = "Accepted"
            if not setting:
                result["attributeValue"] = memory.variables[key]
        else:
            result["attributeStatus"] = "UnknownVariable" if key[0] in components else "UnknownComponent"
        results.append(result)
    return results


def _responses_2x(action: str, memory: Memory, request: dict[str, Any]) -> dict[str, Any]:
    stamp = _stamp()
    accepted = {"status": "Accepted"}
    if action == "GetVariables":
        return {"getVariableResult": _variable_results(memory, request.get("getVariableData", []), setting=False)}
    if action == "SetVariables":
        return {"setVariableResult": _variable_results(memory, request.get("setVariableData", []), setting=True)}
    if action == "TransactionEvent":  # idTokenInfo goes with an idToken only
        return {"idTokenInfo": {"status": "Accepted"}} if "idToken" in request else {}
    if action == "SetVariableMonitoring":
        monitors = request.get("setMonitoringData", [])
        return {
            "setMonitoringResult": [
                {"id": number, "status": "Accepted"}
                | {key: monitor[key] for key in ("type", "severity", "component", "variable")}
                for number, monitor in enumerate(monitors, start=1)
            ]
        }
    if action == "ClearVariableMonitoring":
        return {"clearMonitoringResult": [{"id": number, "status": "Accepted"} for number in request.get("id", [])]}
    if action == "GetTransactionStatus":
        ongoing = memory.transaction_running and request.get("transactionId") == memory.transaction_id
        return {"messagesInQueue": False} | ({"ongoingIndicator": ongoing} if "transactionId" in request else {})
    if action == "VatNumberValidation":
        return {"vatNumber": request.get("vatNumber", ""), "status": "Accepted"}
    table: dict[str, dict[str, Any]] = {
        # the CSMS answers
        "BootNotification": {"currentTime": stamp, "interval": 300, "status": "Accepted"},
        "Heartbeat": {"currentTime": stamp},
        "Authorize": {"idTokenInfo": {"status": "Accepted"}},
        "DataTransfer": accepted,
        "SignCertificate": accepted,
        "NotifyEVChargingNeeds": accepted,
        "NotifyEVChargingSchedule": accepted,
        "OpenPeriodicEventStream": accepted,
        # the charging station answers
        "GetLocalListVersion": {"versionNumber": memory.local_list_version},
        "RequestStartTransaction": accepted,
        "RequestStopTransaction": accepted,
        "Reset": accepted,
        "ChangeAvailability": accepted,
        "TriggerMessage": accepted,
        "UnlockConnector": {"status": "Unlocked"},
        "GetBaseReport": accepted,
        "GetReport": accepted,
        "SendLocalList": accepted,
        "ReserveNow": accepted,
        "CancelReservation": accepted,
        "ClearCache": accepted,
        "GetLog": {"status": "Accepted", "filename": "diagnostics.log"},
        "UpdateFirmware": accepted,
        "SetChargingProfile": accepted,
        "ClearChargingProfile": accepted,
        "GetCompositeSchedule": accepted,
        "UnpublishFirmware": {"status": "Unpublished"},
    }
    return table.get(action, {})


def response(
    version: OcppVersion,
    model: type[OcppModel],
    action: str,
    memory: Memory,
    request: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The default answer to ``action``: valid for ``version``, and accepting wherever there is a choice.

    ``request`` (OCPP-J) shapes the 2.x answers that answer it entry by entry (GetVariables, ...).
    """
    if is_2x(version):
        return _overlay(model, _responses_2x(action, memory, request or {}), strict=True)
    return _overlay(model, _responses_1x(memory).get(action, {}))
