"""``workers=N``: central system processes on one port (SO_REUSEPORT) sharing the cluster, supervised.

Real worker processes (the spawn start method), a real embedded nats-server, charge points over real
sockets on 127.0.0.1; the signal test runs the parent itself as ``python -m ocpprpc.cluster``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect as raw_connect
from websockets.typing import Subprotocol

from ocpprpc import CentralSystemServer
from ocpprpc.cluster import Cluster, ClusterClient
from ocpprpc.cluster._processes import WorkerFailed, Workers, WorkerSpec
from ocpprpc.errors import UsageError
from ocpprpc.messages import v16
from ocpprpc.transports import websocket

from .cluster_roles import Charger
from .cluster_support import nats_server_or_skip
from .timing import FAST, bounded, eventually

REPO = Path(__file__).resolve().parents[1]
QUICK: dict[str, Any] = {"heartbeat": 0.2, "node_ttl": 1.0}
SPEC = WorkerSpec("tests.cluster_roles:Csms", port=0, cluster_options=QUICK)


@contextlib.asynccontextmanager
async def lifespan(server: CentralSystemServer[Any], cluster: Cluster) -> AsyncGenerator[None]:
    """A worker's setup (imported by name in the worker): notes its start and its end in a folder the test names."""
    folder = Path(os.environ["LIFESPAN_DIR"])
    assert cluster.connected and server.cluster is cluster  # joined before setup runs
    (folder / f"{cluster.node_id}.entered").touch()
    yield
    (folder / f"{cluster.node_id}.exited").touch()


@pytest.fixture
async def workers() -> AsyncIterator[Workers]:
    nats_server_or_skip()
    async with Workers(SPEC, 2) as running:
        yield running


async def connect_until_both_workers_hold_some(
    stack: contextlib.AsyncExitStack, workers: Workers, client: ClusterClient
) -> dict[str, Charger]:
    """Charge points connecting to the one port until both workers hold at least two (the kernel picks)."""
    chargers: dict[str, Charger] = {}
    url = f"ws://127.0.0.1:{workers.port}/"
    while len(chargers) < 40:
        for _ in range(6):
            cp_id = f"CP{len(chargers) + 1}"
            chargers[cp_id] = Charger(cp_id, "1.6")
            await stack.enter_async_context(websocket.connect(chargers[cp_id], url + cp_id, **FAST))
        await client.presence.wait_until(lambda p: set(chargers) <= set(p), timeout=5)
        counts = client.presence.count_by_node()
        if len(counts) == 2 and min(counts.values()) >= 2:
            return chargers
    raise AssertionError(f"40 connections did not land on both workers: {client.presence.count_by_node()}")


@bounded(40)
async def test_two_workers_on_one_port_each_hold_charge_points_and_a_client_reaches_every_one(
    workers: Workers,
) -> None:
    assert workers.port and len(set(workers.pids.values())) == 2 and os.getpid() not in workers.pids.values()
    async with contextlib.AsyncExitStack() as stack, ClusterClient(workers.nats_url) as client:
        chargers = await connect_until_both_workers_hold_some(stack, workers, client)
        assert set(client.presence.count_by_node()) == set(workers.nodes.values())
        assert set(client.presence.nodes) == set(workers.nodes.values())
        for node in workers.nodes.values():
            for info in client.presence.on_node(node)[:2]:
                reset = await client.call(info.charge_point_id, v16.ResetRequest(type="Soft"))
                assert reset.status == v16.ResetStatus.ACCEPTED
                answer = await client.call(info.charge_point_id, v16.GetConfigurationRequest())
                assert answer.configuration_key and answer.configuration_key[0].value == info.charge_point_id
        assert len(chargers) >= 4


@bounded(40)
async def test_a_killed_worker_is_started_again_and_its_charge_points_reconnect(workers: Workers) -> None:
    async with contextlib.AsyncExitStack() as stack, ClusterClient(workers.nats_url) as client:
        chargers = await connect_until_both_workers_hold_some(stack, workers, client)
        victim_pid, victim_node = workers.pids[1], workers.nodes[1]
        victims = {info.charge_point_id for info in client.presence.on_node(victim_node)}
        os.kill(victim_pid, signal.SIGKILL)

        await eventually(lambda: workers.restarts == 1 and 1 in workers.nodes, timeout=15)
        assert workers.pids[1] != victim_pid and workers.nodes[1] != victim_node
        live = set(workers.nodes.values())
        assert victim_node not in live and len(live) == 2
        # every charge point is connected again, to a live worker (the port is the same: the kernel picks one)
        await client.presence.wait_until(
            lambda p: set(chargers) <= set(p) and {p[cp].node for cp in chargers} <= live, timeout=10
        )
        for cp_id in sorted(victims)[:3]:
            reset = await client.call(cp_id, v16.ResetRequest(type="Soft"))
            assert reset.status == v16.ResetStatus.ACCEPTED


@bounded(30)
async def test_setup_runs_in_every_worker_and_what_it_entered_is_left_when_the_workers_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nats_server_or_skip()
    monkeypatch.setenv("LIFESPAN_DIR", str(tmp_path))  # spawned workers inherit the environment
    async with Workers(replace(SPEC, setup="tests.test_cluster_processes:lifespan"), 2) as running:
        nodes = set(running.nodes.values())
        assert {path.name for path in tmp_path.iterdir()} == {f"{node}.entered" for node in nodes}
    assert {path.name for path in tmp_path.iterdir()} == {
        f"{node}.{what}" for node in nodes for what in ("entered", "exited")
    }


@bounded(30)
async def test_a_worker_that_cannot_start_fails_the_start_with_its_error_and_stops_the_others() -> None:
    nats_server_or_skip()
    broken = WorkerSpec("tests.cluster_roles:NoSuchRole", port=0, cluster_options=QUICK)
    workers = Workers(broken, 2)
    with pytest.raises(WorkerFailed, match=r"(?s)worker \d did not start: .*NoSuchRole"):
        await workers.start()
    assert workers.pids == {} and workers.embedded is not None and not workers.embedded.running


def test_what_cannot_cross_to_a_worker_is_refused_before_anything_starts() -> None:
    def local_factory(charge_point_id: str, version: str) -> Charger:
        return Charger(charge_point_id, version)

    with pytest.raises(UsageError, match="pickled"):
        Workers(WorkerSpec(local_factory, port=0), 2)
    with pytest.raises(UsageError, match="at least 1"):
        Workers(SPEC, 0)


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (from /proc)."""
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads child processes from /proc (Linux)")
@bounded(40)
async def test_sigterm_to_the_parent_closes_the_charge_points_and_stops_every_worker_and_nats() -> None:
    nats_server_or_skip()
    parent = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ocpprpc.cluster",
        "tests.cluster_roles:Csms",
        "--port",
        "0",
        "--workers",
        "2",
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    assert parent.stderr is not None
    try:
        port = 0
        async with asyncio.timeout(30):
            while not port:
                line = (await parent.stderr.readline()).decode()
                assert line, "the parent exited before its workers were ready"
                if match := re.search(r"2 workers on ws port (\d+)", line):
                    port = int(match[1])
        children = _children(parent.pid)
        assert len(children) >= 3  # two workers and the nats-server (and multiprocessing's resource tracker)
        sockets = [
            await raw_connect(f"ws://127.0.0.1:{port}/CP{i}", subprotocols=[Subprotocol("ocpp1.6")]) for i in range(6)
        ]

        parent.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(parent.wait(), 20) == 0
        for ws in sockets:  # each worker closed its connections as it stopped: 1001 going away, not a reset
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 1001
        await eventually(lambda: not any(_alive(pid) for pid in children), timeout=5)
    finally:
        if parent.returncode is None:
            parent.kill()
            await parent.wait()
