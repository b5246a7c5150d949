"""A cluster node in its own process, for the node-kill test.

    python tests/cluster_node.py <nats url> <node id> <heartbeat> <node ttl>

Serves OCPP-J on 127.0.0.1 (a free port) with :class:`~tests.cluster_roles.Csms`, joined to the cluster;
prints ``READY <port>`` once joined and listening, then runs until killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocpprpc.cluster import Cluster
from ocpprpc.transports import websocket
from tests.cluster_roles import node_server


async def main() -> None:
    nats_url, node_id, heartbeat, node_ttl = sys.argv[1:5]
    cluster = Cluster(nats_url, node_id=node_id, heartbeat=float(heartbeat), node_ttl=float(node_ttl))
    server = node_server(cluster)
    async with cluster, websocket.serve(server, "127.0.0.1", 0) as ws_server:
        print(f"READY {ws_server.port}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
