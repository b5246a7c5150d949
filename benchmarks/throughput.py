"""Throughput: calls per second one central system process answers for 50 busy charge points.

What is measured
----------------
One central system process; 50 charge point connections on 127.0.0.1, each sending its calls back to
back, one in flight at a time as OCPP-J requires: a MeterValues with five sampled values (energy, current,
voltage, power, state of charge, each with context / measurand / unit) four times, then a Heartbeat, and
again. After a warm-up that is not measured, one fixed window counts the calls answered, their latency
(send → matching CALLRESULT, p50 and p99) and the CPU used by the server and by each load generator.
The whole thing is repeated with a fresh server process each time, the servers in rotating order, and
reported as median (min-max) of the repetitions.

The three servers (``benchmarks._servers``): (a) ocpprpc, a ``CentralSystem`` subclass with ``@on``
handlers on ``websocket.serve``; (b) the mobilityhouse ``ocpp`` package, its ``v16.ChargePoint`` with
``@on`` handlers on a ``websockets`` server; (c) a bare ``websockets`` server that parses each frame with
``json.loads`` and answers a CALLRESULT: the ceiling for anything built on ``websockets``.

Why it is fair
--------------
* The load generator (``benchmarks._loadgen``) is the same code for all three, in separate processes,
  with no OCPP library in it: pre-built frames, replies checked by prefix. Its CPU use is printed next to
  the server's: when the server uses a full core and the generator does not, the server is the
  bottleneck, which is what we want to compare. A generator above 90 % of a core is flagged.
* Same transport library (``websockets``) under all three, same event loop, same payloads, handlers that
  do the same (nothing), each library used the way its README shows, with its defaults (for the
  mobilityhouse package this includes validating every request and response against its JSON schemas, in
  its default thread pool; ocpprpc validates every request into its pydantic model).
* Only the server process is loaded; the parent only reads ``/proc`` and waits.
* On a machine with few cores the generator and the server compete for them; the number of generator
  processes is ``usable cores - 1`` (at least 1, at most 2) unless ``--generators`` says otherwise.

The same measurement in OCPP 2.0.1 is :mod:`benchmarks.throughput201` (:func:`run_edition`).
"""

from __future__ import annotations

import argparse
from typing import Any

from ._common import fmt_num, fmt_spread, spread, table, usable_cores, verdict
from ._harness import LoadRun, run_load

KINDS = ("ocpprpc", "mobilityhouse", "bare")
LABELS = {"ocpprpc": "ocpprpc", "mobilityhouse": "mobilityhouse ocpp", "bare": "bare websockets (ceiling)"}
TARGET_VS_MOBILITYHOUSE = 3.0
TARGET_VS_BARE = 0.8

CYCLE_TEXT = {
    "1.6": "MeterValues x4 + Heartbeat per cycle",
    "2.0.1": "TransactionEvent Updated x4 + Heartbeat per cycle",
}
CYCLE_CONFIG = {
    "1.6": "MeterValues(5 sampled values) x4, Heartbeat x1",
    "2.0.1": "TransactionEvent(Updated, 5 sampled values) x4, Heartbeat x1",
}
TARGETS_VS_BARE = {"1.6": TARGET_VS_BARE}
"""The ceiling target is the 1.6 part's; for 2.0.1 the ratio to the bare server is printed for context only."""


def default_generators() -> int:
    return max(1, min(2, usable_cores() - 1))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("throughput")
    group.add_argument("--connections", type=int, default=50, help="charge point connections (default 50)")
    group.add_argument("--repetitions", type=int, default=5, help="fresh server runs per server (default 5)")
    group.add_argument("--warmup", type=float, default=5.0, help="seconds not measured (default 5)")
    group.add_argument("--window", type=float, default=10.0, help="seconds measured (default 10)")
    group.add_argument("--generators", type=int, default=None, help="load generator processes (default: cores-1)")
    group.add_argument("--client", choices=("raw", "websockets"), default="raw", help="generator WebSocket client")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The OCPP 1.6 part (``--only throughput``)."""
    return run_edition(args, "1.6")


def run_edition(args: argparse.Namespace, version: str) -> dict[str, Any]:
    """The throughput part for OCPP ``version`` ("1.6", or "2.0.1" for :mod:`benchmarks.throughput201`)."""
    generators = args.generators or default_generators()
    print(
        f"\n== Throughput, OCPP {version}: {args.connections} connections, {CYCLE_TEXT[version]}, "
        f"{args.warmup:g} s warm-up + {args.window:g} s measured, {args.repetitions} repetitions, "
        f"{generators} generator process(es), client={args.client}"
    )
    runs: dict[str, list[LoadRun]] = {kind: [] for kind in KINDS}
    for rep in range(args.repetitions):
        order = KINDS[rep % len(KINDS) :] + KINDS[: rep % len(KINDS)]
        for kind in order:
            result = run_load(
                kind,
                connections=args.connections,
                generators=generators,
                mode="calls",
                warmup=args.warmup,
                window=args.window,
                client=args.client,
                ocpp_version=version,
            )
            runs[kind].append(result)
            print(
                f"   rep {rep + 1} {kind:<13} {fmt_num(result.calls_per_second):>8} calls/s  "
                f"p99 {result.latency_p99 * 1e3:6.2f} ms  server {fmt_num((result.server_cores or 0) * 100)}% "
                f"generator {fmt_num(result.generator_cores_max * 100)}%  "
                f"other {fmt_num((result.other_cores or 0) * 100)}%  errors {result.errors}",
                flush=True,
            )

    summary: dict[str, dict[str, Any]] = {}
    rows = []
    notes = []
    for kind in KINDS:
        rs = runs[kind]
        s: dict[str, Any] = {
            "calls_per_second": spread(r.calls_per_second for r in rs),
            "latency_p50_ms": spread(r.latency_p50 * 1e3 for r in rs),
            "latency_p99_ms": spread(r.latency_p99 * 1e3 for r in rs),
            "server_cores": spread(r.server_cores for r in rs if r.server_cores is not None),
            "generator_cores_max": spread(r.generator_cores_max for r in rs),
            "other_cores": spread(r.other_cores for r in rs if r.other_cores is not None),
            "server_us_per_call": spread(r.server_us_per_call for r in rs if r.server_us_per_call is not None),
            "errors": sum(r.errors for r in rs),
            "gc_full_in_windows": sum(int(r.gc_full.get("count", 0)) for r in rs),
            "connected_min": min(r.connected for r in rs),
        }
        summary[kind] = s
        rows.append(
            [
                LABELS[kind],
                fmt_spread(s["calls_per_second"]),
                fmt_spread(s["latency_p50_ms"], 2),
                fmt_spread(s["latency_p99_ms"], 2),
                fmt_spread(s["server_cores"], 0, 100),
                fmt_spread(s["generator_cores_max"], 0, 100),
                fmt_spread(s["other_cores"], 0, 100),
                fmt_spread(s["server_us_per_call"], 1),
                str(s["errors"]),
            ]
        )
        if s["generator_cores_max"]["max"] > 0.9:
            notes.append(f"{kind}: a generator process used >90% of a core: the result may be generator-bound")
        if s["other_cores"].get("n") and s["other_cores"]["max"] > 0.25:
            notes.append(
                f"{kind}: up to {s['other_cores']['max'] * 100:.0f}% of a core was used by other processes "
                "during a window: that repetition is noisy"
            )
        if s["connected_min"] < args.connections:
            notes.append(f"{kind}: only {s['connected_min']} of {args.connections} connections opened")
        kinds_of_errors = {k: v for r in rs for k, v in r.error_kinds.items()}
        if kinds_of_errors:
            notes.append(f"{kind}: errors {kinds_of_errors}")
    print()
    print(
        table(
            [
                "server",
                "calls/s",
                "p50 ms",
                "p99 ms",
                "server CPU %",
                "generator CPU %",
                "other CPU %",
                "server CPU us/call",
                "errors",
            ],
            rows,
        )
    )
    print(
        "   median (min-max) of the repetitions. CPU: % of one core over the measured window; generator: the busiest\n"
        "   generator process; other: the rest of the machine (other processes, interrupts), to spot a noisy run"
    )

    def ratio(a: str, b: str) -> float:
        return float(summary[a]["calls_per_second"]["median"] / summary[b]["calls_per_second"]["median"])

    def worst(a: str, b: str) -> float:
        return float(summary[a]["calls_per_second"]["min"] / summary[b]["calls_per_second"]["max"])

    def cpu_ratio(a: str, b: str) -> float:
        return float(summary[a]["server_us_per_call"]["median"] / summary[b]["server_us_per_call"]["median"])

    vs_mh, vs_bare = ratio("ocpprpc", "mobilityhouse"), ratio("ocpprpc", "bare")
    bare_target = TARGETS_VS_BARE.get(version)
    targets: dict[str, dict[str, Any]] = {
        "ocpprpc_vs_mobilityhouse": {
            "ratio": vs_mh,
            "worst_case": worst("ocpprpc", "mobilityhouse"),
            "target": TARGET_VS_MOBILITYHOUSE,
            "met": vs_mh >= TARGET_VS_MOBILITYHOUSE,
        },
    }
    ratios: dict[str, float] = {
        "ocpprpc_vs_mobilityhouse": vs_mh,
        "ocpprpc_vs_bare": vs_bare,
        "mobilityhouse_cpu_per_call_vs_ocpprpc": cpu_ratio("mobilityhouse", "ocpprpc"),
        "ocpprpc_cpu_per_call_vs_bare": cpu_ratio("ocpprpc", "bare"),
    }
    if bare_target is not None:
        targets["ocpprpc_vs_bare"] = {
            "ratio": vs_bare,
            "worst_case": worst("ocpprpc", "bare"),
            "target": bare_target,
            "met": vs_bare >= bare_target,
        }
    print()
    print(
        table(
            ["ratio (calls/s, medians)", "value", "worst case (min/max)", "target", "verdict"],
            [
                [
                    "ocpprpc / mobilityhouse",
                    f"{vs_mh:.2f}x",
                    f"{worst('ocpprpc', 'mobilityhouse'):.2f}x",
                    f">= {TARGET_VS_MOBILITYHOUSE:g}x",
                    verdict(vs_mh >= TARGET_VS_MOBILITYHOUSE),
                ],
                [
                    "ocpprpc / bare websockets",
                    f"{vs_bare:.2f}x",
                    f"{worst('ocpprpc', 'bare'):.2f}x",
                    "(none)" if bare_target is None else f">= {bare_target:g}x",
                    "-" if bare_target is None else verdict(vs_bare >= bare_target),
                ],
            ],
        )
    )
    print(
        f"   server CPU per call: mobilityhouse uses {ratios['mobilityhouse_cpu_per_call_vs_ocpprpc']:.2f}x "
        f"ocpprpc's; ocpprpc uses {ratios['ocpprpc_cpu_per_call_vs_bare']:.2f}x the bare server's"
    )
    for note in notes:
        print(f"   note: {note}")
    return {
        "config": {
            "connections": args.connections,
            "repetitions": args.repetitions,
            "warmup_s": args.warmup,
            "window_s": args.window,
            "generators": generators,
            "client": args.client,
            "ocpp_version": version,
            "cycle": CYCLE_CONFIG[version],
        },
        "summary": summary,
        "ratios": ratios,
        "targets": targets,
        "notes": notes,
        "runs": {kind: [r.as_dict() for r in rs] for kind, rs in runs.items()},
    }
