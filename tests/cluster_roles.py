"""The roles of the cluster tests (also run by ``tests/cluster_node.py`` and ``tests/cluster_worker.py``).

:class:`Csms` is a central system that notes every transaction message it handles (a retry answered from
memory is not handled again) on the node (or worker) that handled it, and answers a DataTransfer with
what it learns by calling the charge point back; :class:`Charger` answers Reset (a hard reset refused
with SecurityError, each one noted) and GetConfiguration after ``slow`` seconds; :class:`Station` is a 2.0.1
charging station whose Reset handler refuses with FormatViolation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ocpprpc import CentralSystem, CentralSystemServer, ChargePoint, on
from ocpprpc.cluster import Cluster
from ocpprpc.errors import FormationViolation, SecurityError
from ocpprpc.messages import v16, v201


@dataclass
class Handled:
    """What the nodes (or workers) of one test handled: (node, charge point, action) in order."""

    messages: list[tuple[str, str, str]] = field(default_factory=list[tuple[str, str, str]])
    on_stop: Callable[[str], Awaitable[None]] | None = None
    """Run (with the node's id) inside the StopTransaction handler, before it answers."""
    delay: float = 0.0
    """Seconds the Heartbeat and MeterValues handlers take."""
    transaction_id: int = 7
    """What StartTransaction answers."""
    gate: asyncio.Event | None = None
    """When given, Heartbeat handlers wait for it to be set."""
    started: Callable[[str], None] | None = None
    """Called with the action as a MeterValues handler starts (before its ``delay``)."""
    running: int = 0
    """Heartbeat handlers running now, and the most at once (``peak``)."""
    peak: int = 0


class Csms(CentralSystem):
    versions = ("1.6", "2.0.1")

    def __init__(self, charge_point_id: str, version: str, *, node: str = "", handled: Handled | None = None) -> None:
        super().__init__(charge_point_id, version)
        self.node = node
        self.handled = handled if handled is not None else Handled()

    @on(v16.BootNotificationRequest)
    def boot(self, request: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
        return v16.BootNotificationResponse(status="Accepted", current_time=datetime.now(UTC), interval=300)

    @on(v16.HeartbeatRequest)
    async def heartbeat(self, request: v16.HeartbeatRequest) -> v16.HeartbeatResponse:
        self.handled.running += 1
        self.handled.peak = max(self.handled.peak, self.handled.running)
        try:
            await asyncio.sleep(self.handled.delay)
            if self.handled.gate is not None:
                await self.handled.gate.wait()
        finally:
            self.handled.running -= 1
        return v16.HeartbeatResponse(current_time=datetime.now(UTC))

    @on(v16.StartTransactionRequest)
    def start(self, request: v16.StartTransactionRequest) -> v16.StartTransactionResponse:
        self.handled.messages.append((self.node, self.id, "StartTransaction"))
        return v16.StartTransactionResponse(
            transaction_id=self.handled.transaction_id, id_tag_info={"status": "Accepted"}
        )

    @on(v16.MeterValuesRequest)
    async def meter_values(self, request: v16.MeterValuesRequest) -> v16.MeterValuesResponse:
        if self.handled.started is not None:
            self.handled.started("MeterValues")
        await asyncio.sleep(self.handled.delay)
        self.handled.messages.append((self.node, self.id, "MeterValues"))
        return v16.MeterValuesResponse()

    @on(v16.DataTransferRequest)
    async def data_transfer(self, request: v16.DataTransferRequest) -> v16.DataTransferResponse:
        """Asks the charge point who it is (a call back from inside a handler), answers what it knows."""
        configuration = await self.call(v16.GetConfigurationRequest(key=["Who"]))
        who = configuration.configuration_key[0].value if configuration.configuration_key else None
        return v16.DataTransferResponse(status="Accepted", data=f"{self.id} {self.version} {who} {self.node}")

    @on(v16.StopTransactionRequest)
    async def stop(self, request: v16.StopTransactionRequest) -> v16.StopTransactionResponse:
        self.handled.messages.append((self.node, self.id, "StopTransaction"))
        if self.handled.on_stop is not None:
            await self.handled.on_stop(self.node)
        return v16.StopTransactionResponse(id_tag_info={"status": "Blocked" if self.node == "a" else "Accepted"})


def node_server(cluster: Cluster, handled: Handled | None = None) -> CentralSystemServer[Csms]:
    """The server of one node: its role objects know the node's id and note what they handle in ``handled``."""
    node = cluster.node_id

    def factory(charge_point_id: str, version: str) -> Csms:
        return Csms(charge_point_id, version, node=node, handled=handled)

    return CentralSystemServer(factory, versions=["1.6", "2.0.1"], cluster=cluster)


class Charger(ChargePoint):
    versions = ("1.6",)
    slow = 0.0

    def __init__(self, id: str, version: str | None = None) -> None:
        super().__init__(id, version)
        self.resets: list[str] = []
        """The types of the resets asked for."""
        self.configuring = asyncio.Event()
        """Set once a GetConfiguration reached it (its node has the call in hand)."""

    @on(v16.ResetRequest)
    def reset(self, request: v16.ResetRequest) -> v16.ResetResponse:
        self.resets.append(request.type.value)
        if request.type == v16.ResetType.HARD:
            raise SecurityError("no hard reset here")
        return v16.ResetResponse(status="Accepted")

    @on(v16.GetConfigurationRequest)
    async def configuration(self, request: v16.GetConfigurationRequest) -> v16.GetConfigurationResponse:
        self.configuring.set()
        await asyncio.sleep(self.slow)
        return v16.GetConfigurationResponse(configuration_key=[{"key": "Who", "readonly": True, "value": self.id}])


class Station(ChargePoint):
    versions = ("2.0.1",)

    @on(v201.ResetRequest)
    def reset(self, request: v201.ResetRequest) -> v201.ResetResponse:
        raise FormationViolation("resets are not taken from strangers")
