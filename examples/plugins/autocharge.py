"""An automatic charge point: connectors, a local authorisation list, and transactions that run themselves.

It speaks OCPP 1.2, 1.5, 1.6, 2.0.1 and 2.1. Load it in a simulator that runs charge points (``load
autocharge``), then::

    plug 1 044943121F1D80       an EV plugs into connector 1 and the driver shows tag 044943121F1D80
    unplug 1                    the EV leaves: the transaction stops
    status                      connectors, transactions and the local list
    autocharge_interval 2       MeterValues every 2 seconds (default 5)
    autocharge_connectors 3     how many connectors a charge point has (default 2)

(add ``--id CP`` to pick the charge point when several run). What happens on ``plug``:

1. the tag is identified: a tag the local list holds as Accepted is authorised at once, any other is
   sent to the central system in an Authorize request;
2. StatusNotification: Preparing (OCPP 1.6) or Occupied (1.2, 1.5, 2.x);
3. the transaction starts: StartTransaction (1.x; in 1.6 a StatusNotification Charging follows), or
   TransactionEvent Started (2.x: a transaction id of the charge point's own, seqNo 0, the EVSE, the
   idToken and the register at the start);
4. every ``autocharge_interval`` seconds the energy register grows as at 11 kW and is reported:
   MeterValues (1.x) or TransactionEvent Updated with the next seqNo (2.x);
5. on ``unplug`` (or a remote stop): StopTransaction with the final meter reading (1.x), or
   TransactionEvent Ended with the final reading and its stoppedReason (2.x: EVDisconnected, Remote,
   DeAuthorized), then StatusNotification Available.

In 2.x each connector is an EVSE of its own (connector n is EVSE n, connector 1 of it). The central
system fills the local list with SendLocalList and reads its version with GetLocalListVersion (both
from OCPP 1.5 on); RemoteStartTransaction (RequestStartTransaction in 2.x) starts the same flow on the
requested (or the first free) connector, RemoteStopTransaction (RequestStopTransaction) stops a
running transaction.

Every message goes through ``await cp.call(request)``. For the transaction messages (StartTransaction,
MeterValues, StopTransaction, TransactionEvent) that is the library's transaction outbox: while the
charge point is offline they wait, and after a reconnect they reach the central system in order. The
request models are looked up in the connection's OCPP version (``cp.ocpp_version.initiated_by(cp.side)``),
so one plugin serves every version.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sim.commands import Command, CommandError
from sim.payloads import id_token, meter_reading, now, transaction_event
from sim.plugin import Plugin
from sim.state import is_2x

from ocpprpc import ChargePoint, OcppError, OcppModel, OcppRpcError, Role

if TYPE_CHECKING:
    from sim.app import Simulator

POWER_WATTS = 11_000
"""The charging power the meter readings pretend."""

REMOTE_STARTS_AND_STOPS = frozenset(
    {"RemoteStartTransaction", "RemoteStopTransaction", "RequestStartTransaction", "RequestStopTransaction"}
)
"""The central system's remote starts and stops: 1.x names, then 2.x names."""


@dataclass
class Connector:
    """One connector and the transaction on it, if any."""

    number: int
    meter_wh: int = 0
    """The energy register: it keeps counting from one transaction to the next."""
    state: str = "available"
    id_tag: str | None = None
    transaction_id: int | str | None = None
    """1.x: the central system's number; 2.x: the charge point's own string."""
    seq_no: int = 0
    """2.x: the seqNo of the next TransactionEvent of the transaction."""
    remote_start_id: int | None = None
    """2.x: the remoteStartId of the RequestStartTransaction that started the transaction."""
    session: asyncio.Task[None] | None = None
    unplugged: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: str = "EVDisconnected"

    @property
    def free(self) -> bool:
        return self.session is None and self.state == "available"

    def reset(self) -> None:
        self.state, self.id_tag, self.transaction_id, self.session = "available", None, None, None
        self.seq_no, self.remote_start_id = 0, None
        self.unplugged = asyncio.Event()
        self.stop_reason = "EVDisconnected"


@dataclass
class Station:
    """What the plugin keeps for one charge point."""

    connectors: dict[int, Connector]
    local_list: dict[str, str] = field(default_factory=dict)
    """idTag (2.x: idToken) → authorisation status ("Accepted", "Blocked", ...), as sent by the central system."""
    local_list_version: int = 0
    booted: bool = False
    accepted: list[Callable[[], None]] = field(default_factory=list)
    """What accepted remote starts / stops will do once their answer is sent (see ``answered``)."""


class AutoCharge(Plugin):
    name = "autocharge"
    description = "an automatic charge point: plug/unplug, local list, remote start/stop, periodic MeterValues"
    side = "cp"
    version = None

    def __init__(self, sim: "Simulator") -> None:
        super().__init__(sim)
        self.meter_interval = 5.0
        self.connector_count = 2
        self.stations: dict[str, Station] = {}

    # -- plugin hooks ---------------------------------------------------------------------------------

    async def on_load(self) -> None:
        self.commands.update(
            {
                "plug": self.plug,
                "unplug": self.unplug,
                "status": self.status,
                "autocharge_interval": self.set_interval,
                "autocharge_connectors": self.set_connectors,
            }
        )

    async def on_unload(self) -> None:
        # Transactions still running are abandoned, not stopped: a StopTransaction could wait for a
        # central system that never comes back, and unloading must not hang.
        for station in self.stations.values():
            for connector in station.connectors.values():
                if connector.session is not None:
                    connector.session.cancel()

    async def on_connect(self, role: Role) -> None:
        # In a task of its own: neither the connection nor the command that made it waits for these calls.
        self.sim.spawn(f"autocharge: cp#{role.id}", "start-up", self.report_in(role))

    async def answer(self, role: Role, action: str, request: OcppModel) -> dict[str, Any] | None:
        station = self.station(role)
        if action == "SendLocalList":
            return self.update_local_list(station, request)
        if action == "GetLocalListVersion":
            key = "versionNumber" if is_2x(role.ocpp_version) else "listVersion"
            return {key: station.local_list_version}
        if action in ("RemoteStartTransaction", "RequestStartTransaction"):
            return self.remote_start(role, station, request)
        if action in ("RemoteStopTransaction", "RequestStopTransaction"):
            return self.remote_stop(station, request)
        return None

    async def answered(self, role: Role, action: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        # A remote start or stop acts only once the central system has its answer, as a real charger does.
        if action in REMOTE_STARTS_AND_STOPS:
            station = self.station(role)
            while station.accepted:
                station.accepted.pop(0)()

    # -- the charge point's state -----------------------------------------------------------------------

    def station(self, cp: Role) -> Station:
        if cp.id not in self.stations:
            connectors = {n: Connector(n) for n in range(1, self.connector_count + 1)}
            self.stations[cp.id] = Station(connectors)
        return self.stations[cp.id]

    def target(self, command: Command) -> ChargePoint:
        """The charge point a command is for: ``--id CP``, else the one started last."""
        cp = self.sim.started_cp(command.options.get("id")).cp
        if not self.applies_to(cp):
            raise CommandError(f"autocharge does not run charge point {cp.id}")
        return cp

    def connector(self, cp: Role, text: str) -> Connector:
        connectors = self.station(cp).connectors
        if not text.isdigit() or int(text) not in connectors:
            raise CommandError(f"{cp.id} has connectors {', '.join(map(str, connectors))}, not {text!r}")
        return connectors[int(text)]

    # -- commands ---------------------------------------------------------------------------------------

    async def plug(self, command: Command) -> None:
        if len(command.args) != 2:
            raise CommandError("usage: plug <connector> <idTag> [--id CP]")
        cp = self.target(command)
        connector = self.connector(cp, command.args[0])
        if not connector.free:
            raise CommandError(f"connector {connector.number} of {cp.id} is busy ({connector.state})")
        self.start_session(cp, connector, command.args[1])

    async def unplug(self, command: Command) -> None:
        if len(command.args) != 1:
            raise CommandError("usage: unplug <connector> [--id CP]")
        cp = self.target(command)
        connector = self.connector(cp, command.args[0])
        if connector.free:
            raise CommandError(f"nothing is plugged into connector {connector.number} of {cp.id}")
        connector.unplugged.set()

    async def status(self, command: Command) -> None:
        cps = [self.target(command)] if "id" in command.options else self.charge_points()
        for cp in cps:
            station = self.station(cp)
            online = "online" if cp.connected else "offline"
            self.sim.say(f"autocharge: {cp.id} (OCPP {cp.version}, {online})")
            for c in station.connectors.values():
                details = f", tag {c.id_tag}" if c.id_tag else ""
                details += f", transaction {c.transaction_id}" if c.transaction_id is not None else ""
                self.sim.say(f"autocharge:   connector {c.number}: {c.state}{details}, meter {c.meter_wh} Wh")
            tags = ", ".join(f"{tag} {status}" for tag, status in station.local_list.items()) or "empty"
            self.sim.say(f"autocharge:   local list version {station.local_list_version}: {tags}")
        self.sim.say(f"autocharge: meter values every {self.meter_interval:g} s")

    async def set_interval(self, command: Command) -> None:
        try:
            seconds = float(command.args[0]) if len(command.args) == 1 else 0.0
        except ValueError:
            seconds = 0.0
        if seconds <= 0:
            raise CommandError("usage: autocharge_interval <seconds, more than 0>")
        self.meter_interval = seconds
        self.sim.say(f"autocharge: meter values every {seconds:g} s")

    async def set_connectors(self, command: Command) -> None:
        if len(command.args) != 1 or not command.args[0].isdigit() or int(command.args[0]) < 1:
            raise CommandError("usage: autocharge_connectors <count, at least 1>")
        self.connector_count = int(command.args[0])
        for station in self.stations.values():  # add the missing connectors, drop the idle extra ones
            for n in range(1, self.connector_count + 1):
                station.connectors.setdefault(n, Connector(n))
            for n in [n for n, c in station.connectors.items() if n > self.connector_count and c.free]:
                del station.connectors[n]
        self.sim.say(f"autocharge: {self.connector_count} connectors per charge point")

    def charge_points(self) -> list[ChargePoint]:
        return [started.cp for started in self.sim.charge_points.values() if self.applies_to(started.cp)]

    # -- answers to the central system --------------------------------------------------------------------

    def update_local_list(self, station: Station, request: OcppModel) -> dict[str, Any]:
        sent = request.to_json_dict()
        # 1.6 and 2.x / 1.5
        entries: list[dict[str, Any]] = sent.get("localAuthorizationList") or sent.get("localAuthorisationList") or []
        if sent["updateType"] == "Full":
            station.local_list.clear()
        for entry in entries:
            tag = entry["idToken"]["idToken"] if "idToken" in entry else entry["idTag"]  # 2.x / 1.x
            info = entry.get("idTokenInfo") or entry.get("idTagInfo")
            if info is not None:
                station.local_list[tag] = info["status"]
            else:  # a differential update without idTagInfo removes the tag
                station.local_list.pop(tag, None)
        station.local_list_version = sent.get("versionNumber", sent.get("listVersion", 0))
        self.sim.say(f"autocharge: local list version {station.local_list_version}, {len(station.local_list)} tags")
        return {"status": "Accepted"}

    def remote_start(self, cp: Role, station: Station, request: OcppModel) -> dict[str, Any]:
        sent = request.to_json_dict()
        wanted = sent.get("evseId", sent.get("connectorId"))  # 2.x / 1.x
        free = [c for c in station.connectors.values() if c.free and wanted in (None, c.number)]
        if not free:
            return {"status": "Rejected"}
        connector = free[0]
        id_tag = sent["idToken"]["idToken"] if "idToken" in sent else sent["idTag"]
        connector.state = "reserved"  # taken now, so a second remote start cannot pick it too
        connector.remote_start_id = sent.get("remoteStartId")
        station.accepted.append(lambda: self.start_session(cp, connector, id_tag))
        return {"status": "Accepted"}

    def remote_stop(self, station: Station, request: OcppModel) -> dict[str, Any]:
        transaction_id = request.to_json_dict()["transactionId"]
        for connector in station.connectors.values():
            if connector.transaction_id == transaction_id and not connector.unplugged.is_set():
                connector.stop_reason = "Remote"
                station.accepted.append(connector.unplugged.set)
                return {"status": "Accepted"}
        return {"status": "Rejected"}

    # -- talking to the central system ---------------------------------------------------------------------

    async def call(self, cp: Role, action: str, payload: dict[str, Any]) -> Any:
        """Send ``action`` with ``payload`` (wire names) in the charge point's version; the typed answer."""
        spec = cp.ocpp_version.initiated_by(cp.side)[action]
        return await cp.call(spec.request.model_validate(payload))

    async def report_in(self, cp: Role) -> None:
        """On (re)connection: a BootNotification the first time, then the status of every connector."""
        station = self.station(cp)
        if not station.booted:
            station.booted = True
            if is_2x(cp.ocpp_version):
                boot = {"chargingStation": {"vendorName": "ocpprpc", "model": "autocharge"}, "reason": "PowerUp"}
            else:
                boot = {"chargePointVendor": "ocpprpc", "chargePointModel": "autocharge"}
            await self.call(cp, "BootNotification", boot)
        for connector in list(station.connectors.values()):
            if connector.free:
                await self.notify_status(cp, connector, "Available")

    async def notify_status(self, cp: Role, connector: Connector, status: str) -> None:
        """Report a connector's status. Not a transaction message: while offline it is lost, and that is all."""
        payload: dict[str, Any] = {"connectorId": connector.number, "status": status, "errorCode": "NoError"}
        if is_2x(cp.ocpp_version):
            payload = {"timestamp": now(), "connectorStatus": status, "evseId": connector.number, "connectorId": 1}
        try:
            await self.call(cp, "StatusNotification", payload)
        except (OcppError, OcppRpcError) as error:
            self.sim.say(f"autocharge: {cp.id} connector {connector.number}: status {status} not reported: {error}")

    async def authorised(self, cp: Role, station: Station, id_tag: str) -> bool:
        if station.local_list.get(id_tag) == "Accepted":
            self.sim.say(f"autocharge: {cp.id}: {id_tag} is in the local list")
            return True
        if is_2x(cp.ocpp_version):
            answer = await self.call(cp, "Authorize", {"idToken": id_token(id_tag)})
            return bool(answer.id_token_info.status == "Accepted")
        answer = await self.call(cp, "Authorize", {"idTag": id_tag})
        return bool(answer.id_tag_info.status == "Accepted")

    # -- one charging session, from plug to unplug -------------------------------------------------------

    def start_session(self, cp: Role, connector: Connector, id_tag: str) -> None:
        connector.state, connector.id_tag = "identifying", id_tag
        connector.session = asyncio.create_task(self.run_session(cp, connector, id_tag))

    async def run_session(self, cp: Role, connector: Connector, id_tag: str) -> None:
        where = f"autocharge: {cp.id} connector {connector.number}"
        try:
            await self.charge(cp, connector, id_tag, where)
        except (OcppError, OcppRpcError) as error:
            self.sim.say(f"{where}: {error}")
        except ValidationError as error:  # e.g. an idTag longer than OCPP allows
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            self.sim.say(f"{where}: invalid {error.title}: {problems}")
        finally:
            connector.reset()

    async def charge(self, cp: Role, connector: Connector, id_tag: str, where: str) -> None:
        if not await self.authorised(cp, self.station(cp), id_tag):
            self.sim.say(f"{where}: {id_tag} is not authorised")
            return
        if connector.unplugged.is_set():
            self.sim.say(f"{where}: unplugged before charging began")
            return
        is_16 = cp.version == "1.6"  # 1.6 says Preparing → Charging where the others say Occupied
        await self.notify_status(cp, connector, "Preparing" if is_16 else "Occupied")

        connector.state = "starting"
        accepted = await self.start_transaction(cp, connector, id_tag)
        self.sim.say(f"{where}: transaction {connector.transaction_id} started for {id_tag}")
        if accepted != "Accepted":
            self.sim.say(f"{where}: the central system refused {id_tag} ({accepted}); stopping")
            connector.stop_reason = "DeAuthorized"
            connector.unplugged.set()
        elif is_16:
            await self.notify_status(cp, connector, "Charging")

        connector.state = "charging"
        while not connector.unplugged.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(connector.unplugged.wait(), self.meter_interval)
            if not connector.unplugged.is_set():
                connector.meter_wh += max(1, round(POWER_WATTS * self.meter_interval / 3600))
                await self.report_meter(cp, connector)

        connector.state = "stopping"
        await self.stop_transaction(cp, connector)
        self.sim.say(f"{where}: transaction {connector.transaction_id} stopped at {connector.meter_wh} Wh")
        await self.notify_status(cp, connector, "Available")

    # -- the transaction messages of each version -----------------------------------------------------------

    async def start_transaction(self, cp: Role, connector: Connector, id_tag: str) -> str:
        """StartTransaction (1.x) or TransactionEvent Started (2.x); the central system's word on the tag."""
        if is_2x(cp.ocpp_version):
            connector.transaction_id = str(uuid.uuid4())  # 36 characters, the most 2.x allows
            answer = await self.call(cp, "TransactionEvent", self.transaction_event(cp, connector, "Started"))
            return "Accepted" if answer.id_token_info is None else str(answer.id_token_info.status)
        start = {"connectorId": connector.number, "idTag": id_tag, "timestamp": now(), "meterStart": connector.meter_wh}
        answer = await self.call(cp, "StartTransaction", start)
        connector.transaction_id = answer.transaction_id
        return str(answer.id_tag_info.status)

    async def report_meter(self, cp: Role, connector: Connector) -> None:
        """MeterValues (1.x) or TransactionEvent Updated (2.x) with the energy register."""
        if is_2x(cp.ocpp_version):
            await self.call(cp, "TransactionEvent", self.transaction_event(cp, connector, "Updated"))
        else:
            await self.call(cp, "MeterValues", self.meter_values(cp, connector))

    async def stop_transaction(self, cp: Role, connector: Connector) -> None:
        """StopTransaction (1.x) or TransactionEvent Ended (2.x) with the final meter reading."""
        if is_2x(cp.ocpp_version):
            await self.call(cp, "TransactionEvent", self.transaction_event(cp, connector, "Ended"))
        else:
            await self.call(cp, "StopTransaction", self.stop_payload(cp, connector))

    def transaction_event(self, cp: Role, connector: Connector, event_type: str) -> dict[str, Any]:
        """The next 2.x TransactionEvent of the connector's transaction (its seqNo counts up from 0)."""
        assert isinstance(connector.transaction_id, str)
        payload = transaction_event(
            cp.ocpp_version,
            event_type,
            transaction_id=connector.transaction_id,
            seq_no=connector.seq_no,
            meter_wh=connector.meter_wh,
            evse_id=connector.number,
            tag=connector.id_tag,
            stopped_reason=connector.stop_reason,
            remote_start_id=connector.remote_start_id,
        )
        connector.seq_no += 1
        return payload

    def meter_values(self, cp: Role, connector: Connector) -> dict[str, Any]:
        payload: dict[str, Any] = {"connectorId": connector.number}
        readings = meter_reading(cp.ocpp_version, connector.meter_wh)
        if cp.version == "1.2":  # no transactionId yet, and the readings are called "values"
            payload["values"] = readings
        else:
            payload["transactionId"] = connector.transaction_id
            payload["values" if cp.version == "1.5" else "meterValue"] = readings
        return payload

    def stop_payload(self, cp: Role, connector: Connector) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "transactionId": connector.transaction_id,
            "idTag": connector.id_tag,
            "timestamp": now(),
            "meterStop": connector.meter_wh,
        }
        final = meter_reading(cp.ocpp_version, connector.meter_wh)
        if cp.version == "1.5":
            payload["transactionData"] = [{"values": final}]
        elif cp.version == "1.6":
            payload["transactionData"] = final
            payload["reason"] = connector.stop_reason
        return payload
