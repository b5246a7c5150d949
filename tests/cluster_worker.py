"""A worker of the pool in its own process, for the worker tests.

    python tests/cluster_worker.py <nats url> <worker id> <delay> <transaction id>

Runs :class:`~tests.cluster_roles.Csms` handlers (Heartbeat and MeterValues taking ``delay`` seconds,
StartTransaction answering ``transaction id``) for the nodes of the cluster; prints ``READY 0`` once
joined and taking calls, ``HANDLING MeterValues`` as such a handler starts, then runs until killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocpprpc.cluster import ClusterWorker
from tests.cluster_roles import Csms, Handled


async def main() -> None:
    nats_url, worker_id, delay, transaction_id = sys.argv[1:5]
    handled = Handled(delay=float(delay), transaction_id=int(transaction_id))
    handled.started = lambda action: print(f"HANDLING {action}", flush=True)

    def factory(charge_point_id: str, version: str) -> Csms:
        return Csms(charge_point_id, version, node=worker_id, handled=handled)

    async with ClusterWorker(factory, nats_url, worker_id=worker_id, versions=["1.6", "2.0.1"]):
        print("READY 0", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
