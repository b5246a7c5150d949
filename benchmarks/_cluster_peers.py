"""The processes of the cluster part, each run alone: ``python -m benchmarks._cluster_peers ROLE ...``.

* ``nats``: an :class:`ocpprpc.cluster.EmbeddedNats` (JetStream, 127.0.0.1, a free port); prints
  ``{"url", "pid", "nats_pid"}`` (``nats_pid``: the ``nats-server`` process, for its CPU and memory).
* ``node``: a central system process: a ``CentralSystemServer`` with ``Cluster(--nats)`` (or, with
  ``--plain``, no cluster at all: the same process as a lone central system) served by
  ``websocket.serve`` on 127.0.0.1 at ``/ocpp/<id>``, with its defaults but the per-address cap, lifted
  since every generator connects from 127.0.0.1 (as through a load balancer; :mod:`benchmarks._servers`
  does the same). Its role answers MeterValues and Heartbeat as the throughput part's does. Prints
  ``{"port", "pid", "node"}`` once listening (and joined).
* ``workers``: ``--count`` central system processes on one port (``SO_REUSEPORT``), each a node of the
  cluster at ``--nats``: the library's own entry point, :class:`ocpprpc.cluster.Workers` (what
  ``serve_workers`` and ``python -m ocpprpc.cluster`` run), serving :class:`BenchCentralSystem` with the
  ``node`` role's options. Prints ``{"port", "pid", "worker_pids"}`` once every worker listens and joined.
* ``backend``: a :class:`ocpprpc.cluster.ClusterClient` (no sockets), as a billing or API process.
* ``chargepoints``: ``--count`` charge points on ``websockets`` client connections to one node, each
  answering every CALL it gets at once: Reset → ``{"status": "Accepted"}``, GetConfiguration → one key.
  No OCPP library: JSON in, a pre-built answer out, so it costs the same whoever called.

``node`` and ``backend`` then read commands, one JSON line each on stdin, and answer each with one line:

* ``{"op": "calls", "cps": [...], "workers": W, "warmup": s, "window": s, "pids": [...]}``: W workers,
  worker *i* calling charge point ``cps[i % len(cps)]`` back to back (``server.call`` on a node,
  ``ClusterClient.call`` on the backend), Reset and GetConfiguration in turn, for ``warmup + window``
  seconds; the answer has the calls completed in the window, their latency p50 / p99, errors, and the CPU
  seconds of this process, of each of ``pids`` and of the whole machine (read from ``/proc`` at the
  window's start and end).
* ``{"op": "presence", "count": N, "timeout": s}`` (backend): answered at once with ``{"watching": n}``,
  then, when the backend's presence view first holds N charge points, with ``{"reached_at": <unix time>,
  "count": n}`` (or ``{"timeout": true, "count": n}``). From then on the backend notes the fewest charge
  points its view held (``{"op": "count"}`` answers ``{"count": now, "min_since_reached": ...}``): a
  view that loses charge points that are still connected shows there.
* ``{"op": "logs"}``: the log records of WARNING and above since the start, counted by message (the
  first text of each kind kept): ``node`` and ``backend`` log through a counting handler instead of
  writing to the terminal, so the parent prints how many there were and what they said.

All of them run until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from ocpprpc.messages import v16

from ._common import cpu_seconds, machine_busy_seconds, percentile, raise_nofile_limit
from ._roles import BenchCentralSystem

CallFunction = Callable[[str, Any], Awaitable[Any]]


class _CountingHandler(logging.Handler):
    """Counts the records by message template and keeps the first text of each (see the ``logs`` command)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}
        self.first: dict[str, tuple[str, float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = str(record.msg)
        self.counts[key] = self.counts.get(key, 0) + 1
        if key not in self.first:
            self.first[key] = f"{record.levelname} {record.name}: {record.getMessage()}"[:300], record.created

    def report(self) -> dict[str, Any]:
        return {
            "logs": [
                {"count": n, "first": self.first[key][0], "first_at": self.first[key][1]}
                for key, n in self.counts.items()
            ]
        }


_logs = _CountingHandler()


def _print(data: dict[str, Any]) -> None:
    print(json.dumps(data), flush=True)


async def _until_terminated() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _commands(handle: Callable[[dict[str, Any]], Coroutine[Any, Any, None]]) -> None:
    """Read command lines from stdin until it closes or the process is told to stop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks: set[asyncio.Task[None]] = set()
    while line := await reader.readline():
        if line.strip():
            task = asyncio.create_task(handle(json.loads(line)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)


def _requests() -> list[Any]:
    return [v16.ResetRequest(type="Soft"), v16.GetConfigurationRequest(key=["HeartbeatInterval"])]


async def measure_calls(call: CallFunction, spec: dict[str, Any]) -> dict[str, Any]:
    """``spec["workers"]`` callers back to back for ``warmup + window`` s; what the window saw."""
    requests = _requests()
    cps: list[str] = spec["cps"]
    pids: list[int] = spec.get("pids", [])
    clock = time.perf_counter
    start = clock() + float(spec["warmup"])
    end = start + float(spec["window"])
    latencies: list[float] = []
    errors: dict[str, int] = {}

    async def worker(index: int) -> None:
        cp = cps[index % len(cps)]
        n = index
        while True:
            sent = clock()
            if sent >= end:
                return
            try:
                await call(cp, requests[n % len(requests)])
            except Exception as exc:
                done = clock()
                if done >= start:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                await asyncio.sleep(0.01)
                continue
            done = clock()
            if start <= sent and done <= end:
                latencies.append(done - sent)
            n += 1

    async def sample() -> tuple[list[float | None], list[float | None], float, float, float | None]:
        await asyncio.sleep(max(0.0, start - clock()))
        t0, own0, busy0 = clock(), time.process_time(), machine_busy_seconds()
        before = [cpu_seconds(pid) for pid in pids]
        await asyncio.sleep(max(0.0, end - clock()))
        t1, own1, busy1 = clock(), time.process_time(), machine_busy_seconds()
        after = [cpu_seconds(pid) for pid in pids]
        return before, after, t1 - t0, own1 - own0, None if busy0 is None or busy1 is None else busy1 - busy0

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(worker(i) for i in range(int(spec["workers"]))))
    before, after, wall, own, machine = await sampler
    ordered = sorted(latencies)
    return {
        "calls": len(ordered),
        "wall": wall,
        "errors": errors,
        "latency_p50": percentile(ordered, 0.5),
        "latency_p99": percentile(ordered, 0.99),
        "latency_mean": sum(ordered) / len(ordered) if ordered else float("nan"),
        "caller_cpu": own,
        "machine_cpu": machine,
        "cpu": {
            str(pid): None if a is None or b is None else b - a for pid, a, b in zip(pids, before, after, strict=True)
        },
    }


# -- roles ------------------------------------------------------------------------------------------------


async def run_nats() -> None:
    from ocpprpc.cluster import EmbeddedNats

    async with EmbeddedNats() as nats:
        children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
        pids: list[int] = []
        with contextlib.suppress(OSError, ValueError):
            pids = [int(p) for p in children.read_text().split()]
        _print({"url": nats.url, "pid": os.getpid(), "nats_pid": pids[0] if pids else None})
        await _until_terminated()


WEBSOCKET_OPTIONS: dict[str, Any] = {"path": "/ocpp", "max_connections_per_address": None}
"""``websocket.serve``'s options for every node: the defaults but the per-address cap (see the docstring)."""


async def run_node(nats_url: str | None, node_id: str, port: int, replay_memory_ttl: float | None = None) -> None:
    from ocpprpc import CentralSystemServer
    from ocpprpc.transports import websocket

    async with contextlib.AsyncExitStack() as stack:
        memory: dict[str, Any] = {} if replay_memory_ttl is None else {"replay_memory_ttl": replay_memory_ttl}
        if nats_url is None:
            server = CentralSystemServer(BenchCentralSystem, **memory)
        else:
            from ocpprpc.cluster import Cluster

            cluster = Cluster(nats_url, node_id=node_id)
            server = CentralSystemServer(BenchCentralSystem, cluster=cluster, **memory)
            await stack.enter_async_context(cluster)
        ws_server = await stack.enter_async_context(websocket.serve(server, "127.0.0.1", port, **WEBSOCKET_OPTIONS))

        async def handle(command: dict[str, Any]) -> None:
            if command["op"] == "calls":
                _print(await measure_calls(server.call, command))
            elif command["op"] == "logs":
                _print(_logs.report())

        commands = asyncio.create_task(_commands(handle))
        _print({"port": ws_server.port, "pid": os.getpid(), "node": node_id})
        await _until_terminated()
        commands.cancel()


async def run_workers(nats_url: str, count: int) -> None:
    from ocpprpc.cluster import Workers, WorkerSpec

    spec = WorkerSpec(
        "benchmarks._roles:BenchCentralSystem",
        host="127.0.0.1",
        port=0,
        nats_url=nats_url,
        websocket_options=WEBSOCKET_OPTIONS,
        node_name="bench",
    )
    async with Workers(spec, count) as workers:
        _print({"port": workers.port, "pid": os.getpid(), "worker_pids": sorted(workers.pids.values())})
        await _until_terminated()


async def run_backend(nats_url: str) -> None:
    from ocpprpc.cluster import ClusterClient

    async with ClusterClient(nats_url) as client:
        fewest: list[int] = []

        async def follow() -> None:
            while True:
                fewest[0] = min(fewest[0], len(client.presence))
                await asyncio.sleep(0.01)

        async def handle(command: dict[str, Any]) -> None:
            if command["op"] == "calls":
                _print(await measure_calls(client.call, command))
            elif command["op"] == "logs":
                _print(_logs.report())
            elif command["op"] == "count":
                _print({"count": len(client.presence), "min_since_reached": fewest[0] if fewest else None})
            elif command["op"] == "presence":
                wanted, timeout = int(command["count"]), float(command["timeout"])
                _print({"watching": len(client.presence)})
                deadline = time.monotonic() + timeout
                while len(client.presence) < wanted and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                count = len(client.presence)
                reached = {"reached_at": time.time()} if count >= wanted else {"timeout": True}
                _print({**reached, "count": count})
                if count >= wanted and not fewest:
                    fewest.append(count)
                    following.append(asyncio.create_task(follow()))

        following: list[asyncio.Task[None]] = []

        commands = asyncio.create_task(_commands(handle))
        _print({"pid": os.getpid()})
        await _until_terminated()
        commands.cancel()


async def run_chargepoints(url: str, first: int, count: int) -> None:
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed
    from websockets.typing import Subprotocol

    answers = {
        "Reset": '{"status":"Accepted"}',
        "GetConfiguration": '{"configurationKey":[{"key":"HeartbeatInterval","readonly":false,"value":"300"}]}',
    }
    loads = json.loads

    async def answer(ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                frame = loads(message)
                if frame[0] == 2:
                    payload = answers.get(frame[2])
                    if payload is None:
                        await ws.send(json.dumps([4, frame[1], "NotImplemented", "", {}]))
                    else:
                        await ws.send(f'[3,"{frame[1]}",{payload}]')

    connections = [
        await connect(f"{url}/CP{i}", subprotocols=[Subprotocol("ocpp1.6")], compression=None, ping_interval=None)
        for i in range(first, first + count)
    ]
    tasks = [asyncio.create_task(answer(ws)) for ws in connections]
    _print({"pid": os.getpid(), "connected": len(connections)})
    await _until_terminated()
    for ws in connections:
        await ws.close()
    await asyncio.gather(*tasks, return_exceptions=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("role", choices=("nats", "node", "workers", "backend", "chargepoints"))
    parser.add_argument("--nats", help="the NATS URL (node, backend)")
    parser.add_argument("--plain", action="store_true", help="node: no cluster at all")
    parser.add_argument("--node-id", default="node")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--replay-memory-ttl",
        type=float,
        help="node: the server's replay_memory_ttl (0: it remembers no answers, so a cluster shares none)",
    )
    parser.add_argument("--url", help="chargepoints: ws://127.0.0.1:PORT/ocpp")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=1, help="charge points, or worker processes")
    args = parser.parse_args(argv)
    raise_nofile_limit()
    logging.basicConfig(level=logging.WARNING, handlers=[_logs], force=True)
    if args.role == "nats":
        asyncio.run(run_nats())
    elif args.role == "node":
        asyncio.run(run_node(None if args.plain else args.nats, args.node_id, args.port, args.replay_memory_ttl))
    elif args.role == "workers":
        asyncio.run(run_workers(args.nats, args.count))
    elif args.role == "backend":
        asyncio.run(run_backend(args.nats))
    else:
        asyncio.run(run_chargepoints(args.url, args.first, args.count))


if __name__ == "__main__":
    main()
