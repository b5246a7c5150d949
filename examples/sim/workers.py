"""The simulator's central system in worker processes: ``start_cs PORT --workers N``.

Each worker process (started by :class:`ocpprpc.cluster.Workers`) imports this module by name:
:class:`WorkerCentralSystem` serves the charge points, :func:`setup_worker` gives the process a simulator
of its own (default answers, the central system's memory, frames printed to the shared stdout). The
console stays in the parent process, whose commands reach these charge points through the cluster.
"""

from __future__ import annotations

import sys
from typing import Any

from ocpprpc import CentralSystemServer
from ocpprpc.cluster import Cluster

from .app import SimCentralSystem, Simulator, configure_logging


class WorkerCentralSystem(SimCentralSystem):
    """The simulated central system of a worker process (its ``simulator`` set by :func:`setup_worker`)."""


def setup_worker(server: CentralSystemServer[Any], cluster: Cluster) -> None:
    """In each worker, before it listens: frames and messages printed as the simulator prints them."""
    configure_logging(sys.stdout)
    WorkerCentralSystem.simulator = Simulator(sys.stdout)
    WorkerCentralSystem.simulator.say(f"cs: worker node {cluster.node_id} joined the cluster at {cluster.nats_url}")
