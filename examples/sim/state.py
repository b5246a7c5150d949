"""What a simulated side remembers between messages, and how each message it sends or receives changes that.

The default payloads (``payloads``) read it, so a session typed by hand hangs together: a 1.x
StopTransaction names the transaction the last StartTransaction opened, a 2.x TransactionEvent carries
the next ``seqNo`` of its transaction, a RequestStopTransaction names the transaction the central system
heard of last, GetVariables answers what SetVariables set and GetLocalListVersion what SendLocalList sent.

A charge point has one :class:`Memory`; a central system one per charge point, sharing one
:class:`Counters` (transaction ids and request ids are unique across its connections).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ocpprpc import OcppVersion

TWO_X = frozenset({"2.0.1", "2.1"})
"""The OCPP 2.x versions: other messages, other payload tables."""

DEVICE_MODEL: dict[tuple[str, str], str] = {
    ("OCPPCommCtrlr", "HeartbeatInterval"): "300",
    ("OCPPCommCtrlr", "NetworkConfigurationPriority"): "0",
    ("SampledDataCtrlr", "TxUpdatedInterval"): "60",
    ("SampledDataCtrlr", "TxUpdatedMeasurands"): "Energy.Active.Import.Register,Power.Active.Import",
    ("AuthCtrlr", "AuthorizeRemoteStart"): "true",
    ("AuthCtrlr", "LocalAuthorizeOffline"): "true",
    ("LocalAuthListCtrlr", "Enabled"): "true",
    ("TxCtrlr", "EVConnectionTimeOut"): "120",
    ("TxCtrlr", "TxStartPoint"): "PowerPathClosed",
    ("TxCtrlr", "TxStopPoint"): "EVConnected",
    ("SecurityCtrlr", "SecurityProfile"): "1",
}
"""A 2.x charge point's variables (component, variable) → value: what GetVariables reads, SetVariables sets
and NotifyReport reports. Anything else is an unknown component or variable, as on a real station."""


def is_2x(version: OcppVersion | str) -> bool:
    return (version if isinstance(version, str) else version.version) in TWO_X


@dataclass
class Counters:
    """Numbers a central system hands out across all its connections."""

    transaction_id: int = 0
    """1.x: the last transaction id given in a StartTransaction answer."""
    request_id: int = 0
    """2.x: the last requestId / remoteStartId / reservation id used."""


@dataclass
class Memory:
    """What one side remembers about one connection (see the module docstring)."""

    counters: Counters = field(default_factory=Counters)
    transaction_id: int | str | None = None
    """The transaction messages refer to: 1.x the id the central system gave, 2.x the charge point's."""
    transaction_running: bool = False
    """2.x, charge point: a TransactionEvent Started was sent and no Ended yet."""
    open_transactions: dict[str, None] = field(default_factory=dict[str, None])
    """2.x, central system: the transactions heard of and not ended, oldest first."""
    seq_no: int = 0
    """2.x, charge point: the seqNo of the next TransactionEvent of the running transaction."""
    meter_wh: int = 0
    """The energy register as last reported."""
    variables: dict[tuple[str, str], str] = field(default_factory=lambda: dict(DEVICE_MODEL))
    report_request_id: int = 1
    """2.x, charge point: the requestId of the last GetBaseReport / GetReport, which NotifyReport answers."""
    local_list_version: int = 0

    def next_request_id(self) -> int:
        self.counters.request_id += 1
        return self.counters.request_id

    def sent(self, version: OcppVersion, action: str, payload: dict[str, Any]) -> None:
        """This side sends ``action`` with ``payload`` (its final form, the user's fields included)."""
        if action == "TransactionEvent" and is_2x(version):
            info: dict[str, Any] = payload.get("transactionInfo") or {}
            self.transaction_id = info.get("transactionId", self.transaction_id)
            self.seq_no = int(payload.get("seqNo", self.seq_no)) + 1
            self.transaction_running = payload.get("eventType") != "Ended"
            self.meter_wh = max(self.meter_wh, energy_wh(payload.get("meterValue") or []))

    def answered(self, version: OcppVersion, action: str, response: dict[str, Any]) -> None:
        """The peer answered this side's ``action`` with ``response``."""
        if action == "StartTransaction" and "transactionId" in response:
            self.transaction_id = response["transactionId"]

    def received(self, version: OcppVersion, action: str, payload: dict[str, Any]) -> None:
        """This side received the request ``action`` (before its default answer is made)."""
        if action == "StartTransaction":  # 1.x central system: a fresh transaction id
            self.counters.transaction_id += 1
            self.transaction_id = self.counters.transaction_id
        elif action == "TransactionEvent":  # 2.x central system: the running transaction it heard of last
            info: dict[str, Any] = payload.get("transactionInfo") or {}
            transaction_id = str(info.get("transactionId", ""))
            if payload.get("eventType") == "Ended":
                self.open_transactions.pop(transaction_id, None)
            else:
                self.open_transactions.pop(transaction_id, None)
                self.open_transactions[transaction_id] = None
            self.transaction_id = next(reversed(self.open_transactions), transaction_id)
        elif action in ("GetBaseReport", "GetReport"):
            self.report_request_id = int(payload.get("requestId", self.report_request_id))
        elif action == "SendLocalList":
            self.local_list_version = int(payload.get("versionNumber", payload.get("listVersion", 0)))
        elif action == "SetVariables":
            for entry in payload.get("setVariableData", []):
                key = variable_key(entry)
                if key in self.variables:
                    self.variables[key] = str(entry.get("attributeValue", ""))


def variable_key(entry: dict[str, Any]) -> tuple[str, str]:
    """(component name, variable name) of a GetVariableData / SetVariableData entry."""
    return str(entry.get("component", {}).get("name", "")), str(entry.get("variable", {}).get("name", ""))


def energy_wh(meter_values: list[dict[str, Any]]) -> int:
    """The highest Energy.Active.Import.Register reading (2.x sampled values, Wh) in ``meter_values``; else 0."""
    readings = [
        int(sampled["value"])
        for meter_value in meter_values
        for sampled in meter_value.get("sampledValue", [])
        if sampled.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register"
        and isinstance(sampled.get("value"), int | float)
    ]
    return max(readings, default=0)
