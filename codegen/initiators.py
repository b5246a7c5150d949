"""Who sends each OCPP 2.0.1 / 2.1 message: data the JSON schemas do not carry.

A WSDL says who initiates an operation (the service that receives it); the 2.x JSON schemas are one file
per message and say nothing of direction. This table is taken from the message lists of the OCPP 2.0.1
and OCPP 2.1 specifications (Part 2, "Messages": the messages a Charging Station sends to the CSMS, and
those the CSMS sends to a Charging Station). ``CHARGE_POINT`` is the Charging Station, ``CENTRAL_SYSTEM``
the CSMS (ocpprpc's ``Side`` names both versions' roles alike).

The generator checks the table against the schema folder both ways: an action in the folder that is not
here, or one here that has no schema, is an error, so a new edition cannot be generated with a guess.
"""

from __future__ import annotations

from typing import Final, Literal

Initiator = Literal["CHARGE_POINT", "CENTRAL_SYSTEM"]

_BOTH_WAYS: Final = ("DataTransfer",)

_CHARGING_STATION_201: Final = (
    "Authorize",
    "BootNotification",
    "ClearedChargingLimit",
    "FirmwareStatusNotification",
    "Get15118EVCertificate",
    "GetCertificateStatus",
    "Heartbeat",
    "LogStatusNotification",
    "MeterValues",
    "NotifyChargingLimit",
    "NotifyCustomerInformation",
    "NotifyDisplayMessages",
    "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule",
    "NotifyEvent",
    "NotifyMonitoringReport",
    "NotifyReport",
    "PublishFirmwareStatusNotification",
    "ReportChargingProfiles",
    "ReservationStatusUpdate",
    "SecurityEventNotification",
    "SignCertificate",
    "StatusNotification",
    "TransactionEvent",
)

_CSMS_201: Final = (
    "CancelReservation",
    "CertificateSigned",
    "ChangeAvailability",
    "ClearCache",
    "ClearChargingProfile",
    "ClearDisplayMessage",
    "ClearVariableMonitoring",
    "CostUpdated",
    "CustomerInformation",
    "DeleteCertificate",
    "GetBaseReport",
    "GetChargingProfiles",
    "GetCompositeSchedule",
    "GetDisplayMessages",
    "GetInstalledCertificateIds",
    "GetLocalListVersion",
    "GetLog",
    "GetMonitoringReport",
    "GetReport",
    "GetTransactionStatus",
    "GetVariables",
    "InstallCertificate",
    "PublishFirmware",
    "RequestStartTransaction",
    "RequestStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "SetDisplayMessage",
    "SetMonitoringBase",
    "SetMonitoringLevel",
    "SetNetworkProfile",
    "SetVariableMonitoring",
    "SetVariables",
    "TriggerMessage",
    "UnlockConnector",
    "UnpublishFirmware",
    "UpdateFirmware",
)

_CHARGING_STATION_NEW_IN_21: Final = (
    "BatterySwap",
    "ClosePeriodicEventStream",
    "GetCertificateChainStatus",
    "NotifyDERAlarm",
    "NotifyDERStartStop",
    "NotifyPriorityCharging",
    "NotifySettlement",
    "OpenPeriodicEventStream",
    "PullDynamicScheduleUpdate",
    "ReportDERControl",
    "VatNumberValidation",
)

_CSMS_NEW_IN_21: Final = (
    "AFRRSignal",
    "AdjustPeriodicEventStream",
    "ChangeTransactionTariff",
    "ClearDERControl",
    "ClearTariffs",
    "GetDERControl",
    "GetPeriodicEventStream",
    "GetTariffs",
    "NotifyAllowedEnergyTransfer",
    "NotifyWebPaymentStarted",
    "RequestBatterySwap",
    "SetDERControl",
    "SetDefaultTariff",
    "UpdateDynamicSchedule",
    "UsePriorityCharging",
)


def _table(charging_station: tuple[str, ...], csms: tuple[str, ...]) -> dict[str, tuple[Initiator, ...]]:
    table: dict[str, tuple[Initiator, ...]] = {}
    for name in charging_station:
        table[name] = ("CHARGE_POINT",)
    for name in csms:
        table[name] = ("CENTRAL_SYSTEM",)
    for name in _BOTH_WAYS:
        table[name] = ("CHARGE_POINT", "CENTRAL_SYSTEM")
    if len(table) != len(charging_station) + len(csms) + len(_BOTH_WAYS):
        raise ValueError("an action is listed twice in the initiator table")
    return table


ACTIONS: Final[dict[str, dict[str, tuple[Initiator, ...]]]] = {
    "2.0.1": _table(_CHARGING_STATION_201, _CSMS_201),
    "2.1": _table(_CHARGING_STATION_201 + _CHARGING_STATION_NEW_IN_21, _CSMS_201 + _CSMS_NEW_IN_21),
}
"""version → request / response action → the side(s) that send its request (DataTransfer: both)."""

SENDS: Final[dict[str, dict[str, Initiator]]] = {
    "2.0.1": {},
    "2.1": {"NotifyPeriodicEventStream": "CHARGE_POINT"},
}
"""version → unanswered SEND message (OCPP 2.1, message type 6) → the side that sends it."""
