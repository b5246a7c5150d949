"""Scale: 10,000 charge points connected to one central system process at once.

What is measured
----------------
For ocpprpc (``websocket.serve`` with a ``CentralSystem`` subclass, its defaults) and for a bare
``websockets`` server holding the same connections (``benchmarks._servers``):

* connect: how long opening all connections took (at most ``--connect-concurrency`` handshakes in flight,
  as a fleet reconnecting after a restart would, but bounded so the listen backlog does not overflow),
  the handshake latency (p50 / p99) and the server CPU spent per connection;
* memory: the server's resident memory before any connection, once all are connected and idle, and at
  the end of the heartbeat window; the difference divided by the number of connections is the memory per
  connection, compared with the bare server's;
* latency while connected: every charge point sends a Heartbeat every ``--interval`` seconds at a random
  phase; after two intervals of warm-up (the first Heartbeats allocate per-connection state, which can
  set off a full garbage collection), a fixed window records each Heartbeat's round trip (p50, p99,
  max), errors, how many connections were served (at least one answer), and the server's full garbage
  collections in the window (count, longest pause): with ~100 objects per connection a full collection
  of a 10,000-connection process stops its event loop for hundreds of milliseconds, whatever the
  library, so whether one falls into the window decides the p99. The table says whether one did.

Why it is fair
--------------
Both servers get the same connections from the same load generator processes (``benchmarks._loadgen``,
a minimal RFC 6455 client, no OCPP library) on 127.0.0.1, and both run with their defaults (websockets'
own keep-alive pings every 20 s for the bare server, ocpprpc's every 300 s). Memory is the resident set
of the server process read from ``/proc``, measured against the same process's own baseline, so the
interpreter and imported libraries are not counted per connection.

Limits of the machine
---------------------
Each connection needs a file descriptor in the server and one in a generator, and a local port. The
soft ``RLIMIT_NOFILE`` is raised in every process up to its hard limit; when the hard limit (or the
ephemeral port range) cannot hold ``--scale-connections``, the largest N that fits is used and the reason
printed. Connections that fail are counted and reported, not retried.
"""

from __future__ import annotations

import argparse
import resource
from pathlib import Path
from typing import Any

from ._common import fmt_num, table, usable_cores, verdict
from ._harness import LoadRun, run_load

KINDS = ("ocpprpc", "bare")
LABELS = {"ocpprpc": "ocpprpc", "bare": "bare websockets", "mobilityhouse": "mobilityhouse ocpp"}
TARGET_MEMORY_RATIO = 2.0
_FD_RESERVE = 200  # descriptors a process needs besides its connections


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scale")
    group.add_argument("--scale-connections", type=int, default=10_000, help="connections (default 10000)")
    group.add_argument("--interval", type=float, default=5.0, help="seconds between Heartbeats (default 5)")
    group.add_argument("--scale-window", type=float, default=10.0, help="seconds measured (default 10)")
    group.add_argument("--connect-concurrency", type=int, default=100, help="handshakes in flight (default 100)")
    group.add_argument("--scale-generators", type=int, default=None, help="generator processes (default: cores-1)")
    group.add_argument("--with-mobilityhouse", action="store_true", help="also hold the connections with it")


def _port_range() -> int | None:
    try:
        low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return None
    return high - low + 1


def feasible(wanted: int, generators: int) -> tuple[int, list[str]]:
    """The largest connection count this machine allows (<= wanted), and why it is lower, if it is."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    reasons = []
    n = wanted
    if hard != resource.RLIM_INFINITY:
        if hard - _FD_RESERVE < n:
            n = hard - _FD_RESERVE
            reasons.append(f"the hard open-files limit is {hard} (server needs one descriptor per connection)")
        if (hard - _FD_RESERVE) * generators < n:
            n = (hard - _FD_RESERVE) * generators
            reasons.append(f"{generators} generator process(es) x {hard} open files")
    ports = _port_range()
    if ports is not None and ports - 1000 < n:
        n = ports - 1000
        reasons.append(f"the ephemeral port range holds {ports} ports")
    return max(n, 1), reasons


def run(args: argparse.Namespace) -> dict[str, Any]:
    generators = args.scale_generators or max(1, min(4, usable_cores() - 1))
    n, reasons = feasible(args.scale_connections, generators)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    print(
        f"\n== Scale: {n:,} connections, a Heartbeat every {args.interval:g} s each, {2 * args.interval:g} s warm-up + "
        f"{args.scale_window:g} s measured, {generators} generator process(es); open files soft {soft} / hard {hard} "
        "(each process raises its soft limit to the hard one)"
    )
    for reason in reasons:
        print(f"   note: {args.scale_connections:,} connections do not fit: {reason}; using {n:,}")
    kinds = (*KINDS, "mobilityhouse") if args.with_mobilityhouse else KINDS
    runs: dict[str, LoadRun] = {}
    for kind in kinds:
        result = run_load(
            kind,
            connections=n,
            generators=generators,
            mode="heartbeat",
            warmup=2 * args.interval,
            window=args.scale_window,
            interval=args.interval,
            connect_concurrency=args.connect_concurrency,
            measure_memory=True,
        )
        runs[kind] = result
        print(
            f"   {kind:<13} connected {result.connected:,}/{n:,} in {result.connect_seconds:.1f} s, "
            f"served {result.served:,}, p99 {result.latency_p99 * 1e3:.1f} ms, errors {result.errors}",
            flush=True,
        )

    def per_conn(r: LoadRun, rss: int | None) -> float | None:
        if rss is None or r.rss_base is None or not r.connected:
            return None
        return (rss - r.rss_base) / r.connected

    summary: dict[str, dict[str, Any]] = {}
    for kind, r in runs.items():
        summary[kind] = {
            "connections": n,
            "connected": r.connected,
            "served": r.served,
            "connect_failures": r.connect_failures,
            "connect_seconds": r.connect_seconds,
            "connections_per_second": r.connected / r.connect_seconds if r.connect_seconds else None,
            "handshake_p50_ms": r.handshake_p50 * 1e3,
            "handshake_p99_ms": r.handshake_p99 * 1e3,
            "server_cpu_ms_per_connect": (r.server_cpu_connect or 0) / r.connected * 1e3 if r.connected else None,
            "rss_base_mib": r.rss_base / 2**20 if r.rss_base else None,
            "rss_connected_mib": r.rss_connected / 2**20 if r.rss_connected else None,
            "rss_loaded_mib": r.rss_loaded / 2**20 if r.rss_loaded else None,
            "kib_per_connection_idle": (per_conn(r, r.rss_connected) or 0) / 1024,
            "kib_per_connection": (per_conn(r, r.rss_loaded) or 0) / 1024,
            "heartbeats": r.calls,
            "heartbeats_per_second": r.calls_per_second,
            "errors": r.errors,
            "error_kinds": r.error_kinds,
            "latency_p50_ms": r.latency_p50 * 1e3,
            "latency_p99_ms": r.latency_p99 * 1e3,
            "latency_max_ms": r.latency_max * 1e3,
            "server_cores": r.server_cores,
            "generator_cores_max": r.generator_cores_max,
            "other_cores": r.other_cores,
            "gc_full_in_window": r.gc_full,
        }
    metrics: list[tuple[str, Any]] = [
        ("connected / wanted", lambda s: f"{s['connected']:,} / {n:,}"),
        ("connections served (>= 1 answer)", lambda s: f"{s['served']:,}"),
        ("time to connect all", lambda s: f"{s['connect_seconds']:.1f} s"),
        ("connections per second", lambda s: fmt_num(s["connections_per_second"])),
        (
            "handshake p50 / p99 ms",
            lambda s: f"{fmt_num(s['handshake_p50_ms'], 1)} / {fmt_num(s['handshake_p99_ms'], 1)}",
        ),
        ("server CPU per connect, ms", lambda s: fmt_num(s["server_cpu_ms_per_connect"], 2)),
        ("RSS before connections, MiB", lambda s: fmt_num(s["rss_base_mib"], 1)),
        ("RSS connected, idle, MiB", lambda s: fmt_num(s["rss_connected_mib"], 1)),
        ("RSS end of heartbeat window, MiB", lambda s: fmt_num(s["rss_loaded_mib"], 1)),
        ("memory per connection, KiB (idle)", lambda s: fmt_num(s["kib_per_connection_idle"], 1)),
        ("memory per connection, KiB", lambda s: fmt_num(s["kib_per_connection"], 1)),
        (
            "heartbeats answered in the window",
            lambda s: f"{s['heartbeats']:,} ({fmt_num(s['heartbeats_per_second'])}/s)",
        ),
        (
            "heartbeat latency p50 / p99 / max ms",
            lambda s: (
                f"{fmt_num(s['latency_p50_ms'], 2)} / {fmt_num(s['latency_p99_ms'], 2)} / "
                f"{fmt_num(s['latency_max_ms'], 1)}"
            ),
        ),
        (
            "server full GCs in window: n, longest ms",
            lambda s: (
                f"{s['gc_full_in_window'].get('count', 'n/a')}, {fmt_num(s['gc_full_in_window'].get('max_ms'), 0)}"
            ),
        ),
        ("errors", lambda s: f"{s['errors']} {s['error_kinds'] or ''}".strip()),
        (
            "CPU % server / generator / other",
            lambda s: (
                f"{fmt_num((s['server_cores'] or 0) * 100)} / {fmt_num(s['generator_cores_max'] * 100)} / "
                f"{fmt_num((s['other_cores'] or 0) * 100)}"
            ),
        ),
    ]
    print()
    print(
        table(
            ["", *(LABELS[kind] for kind in runs)],
            [[label, *(fmt(summary[kind]) for kind in runs)] for label, fmt in metrics],
        )
    )
    print(
        "   memory per connection = (RSS at the end of the heartbeat window - RSS before any connection) / connected;\n"
        "   (idle): the same, once all are connected and before the first Heartbeat"
    )
    ours, bare = summary.get("ocpprpc"), summary.get("bare")
    targets: dict[str, Any] = {}
    if ours and bare:
        memory_ratio = ours["kib_per_connection"] / bare["kib_per_connection"] if bare["kib_per_connection"] else None
        all_served = ours["served"] == args.scale_connections and ours["errors"] == 0
        targets = {
            "all_served": {"wanted": args.scale_connections, "served": ours["served"], "met": all_served},
            "memory_vs_bare": {
                "ratio": memory_ratio,
                "target": TARGET_MEMORY_RATIO,
                "met": memory_ratio is not None and memory_ratio <= TARGET_MEMORY_RATIO,
            },
        }
        print()
        print(
            table(
                ["target", "value", "target", "verdict"],
                [
                    [
                        f"all {args.scale_connections:,} served by ocpprpc",
                        f"{ours['served']:,} served, {ours['errors']} errors",
                        f"{args.scale_connections:,}",
                        verdict(all_served),
                    ],
                    [
                        "memory per connection, ocpprpc / bare",
                        f"{memory_ratio:.2f}x" if memory_ratio else "n/a",
                        f"<= {TARGET_MEMORY_RATIO:g}x",
                        verdict(targets["memory_vs_bare"]["met"]),
                    ],
                ],
            )
        )
    return {
        "config": {
            "connections_wanted": args.scale_connections,
            "connections": n,
            "reduced_because": reasons,
            "interval_s": args.interval,
            "window_s": args.scale_window,
            "generators": generators,
            "connect_concurrency": args.connect_concurrency,
            "nofile": {"soft": soft, "hard": hard},
        },
        "summary": summary,
        "targets": targets,
        "runs": {kind: r.as_dict() for kind, r in runs.items()},
    }
