"""``python -m benchmarks [--only PART,...] [--quick]``: run the benchmarks, print, save JSON.

The parts: ``codec``, ``codec201``, ``throughput``, ``throughput201``, ``scale``, ``hostile``, ``gateway``,
``cluster`` (the ``201`` ones are the OCPP 2.0.1 editions of the part before them). Without ``--only`` all
eight run, in that order (about 20 minutes on two cores). ``--quick`` shortens every part for a smoke run
(its numbers are not worth quoting). The results, with the machine's facts, go to
``benchmarks/results/<UTC timestamp>.json`` (ignored by git: numbers belong to a machine, not to the code).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import UTC, datetime
from typing import Any

from . import cluster, codec, codec201, gateway, hostile, scale, throughput, throughput201
from ._common import RESULTS_DIR, machine_busy_seconds, machine_info, print_machine, raise_nofile_limit

PARTS = {
    "codec": codec,
    "codec201": codec201,
    "throughput": throughput,
    "throughput201": throughput201,
    "scale": scale,
    "hostile": hostile,
    "gateway": gateway,
    "cluster": cluster,
}


def _parts(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in PARTS:
            raise argparse.ArgumentTypeError(f"unknown part {name!r}; choose from {', '.join(PARTS)}")
    return names


def _clean(value: Any) -> Any:
    """NaN / infinity become null, so the JSON file is standard JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _other_load(seconds: float = 1.0) -> float | None:
    """Cores' worth of CPU the rest of the machine uses right now (this process is idle meanwhile)."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    after = machine_busy_seconds()
    return None if before is None or after is None else (after - before) / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--only",
        type=_parts,
        action="extend",
        help=f"run only these parts ({', '.join(PARTS)}; repeat or separate with commas)",
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run (numbers not meaningful)")
    parser.add_argument("--output", help="write the JSON here instead of benchmarks/results/<timestamp>.json")
    parser.add_argument("--no-save", action="store_true", help="do not write a JSON file")
    for module in PARTS.values():
        module.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.repetitions, args.warmup, args.window = 1, 1.0, 2.0
        args.scale_connections, args.scale_window, args.interval = min(args.scale_connections, 1000), 4.0, 2.0
        args.codec_repeat, args.min_time = 2, 0.05
        args.hostile_calls, args.hostile_rate, args.hostile_settle = min(args.hostile_calls, 60), 40.0, 0.5
        args.hostile_grace, args.hostile_timeout = 1.0, 1.0
        cluster.quick(args)
    parts = args.only or list(PARTS)

    raise_nofile_limit()
    started = datetime.now(UTC)
    info = machine_info()
    print(f"ocpprpc benchmarks, {started:%Y-%m-%d %H:%M:%S} UTC; parts: {', '.join(parts)}")
    print_machine(info)
    info["other_load_before_cores"] = busy = _other_load()
    if busy is not None:
        state = "quiet" if busy < 0.15 else "BUSY: other processes compete for the CPUs, numbers will be noisy"
        print(f"load:    {busy * 100:.0f}% of a core used by other processes in the second before the run ({state})")
    report: dict[str, Any] = {
        "started": started.isoformat(),
        "machine": info,
        "argv": sys.argv[1:],
        "quick": args.quick,
    }
    t0 = time.monotonic()
    for name in parts:
        t = time.monotonic()
        report[name] = PARTS[name].run(args)
        report[name]["seconds"] = time.monotonic() - t
    report["seconds"] = time.monotonic() - t0

    targets = {f"{part}.{key}": value for part in parts for key, value in report[part].get("targets", {}).items()}
    if targets:
        print("\n== Targets")
        for key, value in targets.items():
            met = value.get("met")
            state = "n/a" if met is None else ("MET" if met else "MISSED")
            print(f"   {key:<42} {state}")
    print(f"\ntotal {report['seconds']:.0f} s")
    if not args.no_save:
        path = args.output or RESULTS_DIR / f"{started:%Y%m%dT%H%M%SZ}.json"
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as f:
            json.dump(_clean(report), f, indent=1)
        print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
