"""The central system every throughput measurement serves: MeterValues and Heartbeat in OCPP 1.6, nothing else.

One class for the single process (``_servers``) and for the cluster's nodes and worker processes
(``_cluster_peers``), so their figures compare the same handlers. At the top level of a module so that
spawned worker processes import it by name (``benchmarks._roles:BenchCentralSystem``); imported only by
the processes serving it, so the bare and mobilityhouse servers never load ocpprpc.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ocpprpc import CentralSystem, on
from ocpprpc.messages import v16


class BenchCentralSystem(CentralSystem):
    versions = ("1.6",)

    @on("MeterValues")
    async def meter_values(self, request: v16.MeterValuesRequest) -> v16.MeterValuesResponse:
        return v16.MeterValuesResponse()

    @on("Heartbeat")
    async def heartbeat(self, request: v16.HeartbeatRequest) -> v16.HeartbeatResponse:
        return v16.HeartbeatResponse(current_time=datetime.now(UTC))
