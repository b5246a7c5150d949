"""Gateway: what the protocol gateway (``ocpprpc.gateway``) costs against charge points connected directly.

What is measured
----------------
The same OCPP 1.6 central system process (``benchmarks._servers ocpprpc``: a ``CentralSystem`` with
``@on`` handlers on ``websocket.serve``), reached four ways, side by side in one run:

* ``direct``: OCPP-J 1.6 charge points connected to it;
* ``relay``: OCPP-J 1.6 charge points connected to a gateway process, which connects one upstream
  charge point per charger to the central system: the hop alone, no translation;
* ``gateway``: OCPP-J 1.5 chargers through the gateway: the hop and the translation 1.5 → 1.6 of
  every request (and 1.6 → 1.5 of every answer), what the gateway is for;
* ``gateway+sqlite``: the same with the gateway's outbox in SQLite (``store=``, as the app's
  ``--store``): every MeterValues is written and fsynced before it is forwarded, and removed once
  answered, so nothing is lost if the gateway dies.

Each connection sends MeterValues (five sampled values) four times, then a Heartbeat, back to back, one
call in flight (as the throughput part). Two figures per way: **loaded**, ``--gateway-connections``
connections (default 50) saturating the machine, for calls/s; and **one charge point**, a single
connection calling back to back, for the latency a call takes when nothing queues — the latency the
gateway adds. Each repetition starts fresh processes (central system, gateway), the ways in rotating
order; results are medians (min-max) of the repetitions. CPU per call of the central system and of the
gateway are read from ``/proc`` over the measured window.

Why it is fair
--------------
* The central system does the same work in every way: the 1.6 charge points send exactly the 1.6
  frames the gateway sends upstream for the 1.5 chargers (the 1.5 MeterValues translated by
  ``ocpprpc.translation`` once, before the run: energy, current, voltage, power and temperature, which
  1.5 can say; the same timestamp), and the Heartbeat.
* The load comes from the throughput part's generator (``benchmarks._loadgen``: pre-built frames, no
  OCPP library), given these frames and, for 1.5, the subprotocol ``ocpp1.5``; its CPU is printed.
* The gateway process runs ``Gateway`` with its defaults and ``websocket.serve`` for the chargers with
  its defaults, but the cap on connections per source address (every generator connection comes from
  127.0.0.1, as behind a load balancer), as the central system does.
* The gateway is a third process: on a machine with few cores it competes with the central system and
  the generator for them, as it would on a shared host; "other CPU" says how busy the rest was.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._common import Child, cpu_seconds, fmt_num, fmt_spread, machine_busy_seconds, percentile, spread, table
from .throughput import default_generators

WAYS = ("direct", "relay", "gateway", "gateway+sqlite")
LABELS = {
    "direct": "direct: 1.6 charge points -> central system",
    "relay": "relay: 1.6 -> gateway -> 1.6",
    "gateway": "gateway: 1.5 chargers -> gateway -> 1.6",
    "gateway+sqlite": "gateway, SQLite outbox (--store)",
}
GENERATOR_VERSIONS = {"direct": "gw1.6", "relay": "gw1.6", "gateway": "gw1.5", "gateway+sqlite": "gw1.5"}
"""The load generator's frame sets (registered by :func:`_generate`): 1.5, and its translation to 1.6."""
TIMESTAMP = "2026-11-24T10:00:00Z"


def meter_values_15() -> dict[str, Any]:
    """An OCPP 1.5 MeterValues with five sampled values, the measurands and units 1.5 has."""
    values = [
        {
            "value": "15234.7",
            "context": "Sample.Periodic",
            "format": "Raw",
            "measurand": "Energy.Active.Import.Register",
            "location": "Outlet",
            "unit": "Wh",
        },
        {"value": "15.9", "context": "Sample.Periodic", "measurand": "Current.Import", "unit": "Amp"},
        {"value": "229.8", "context": "Sample.Periodic", "measurand": "Voltage", "unit": "Volt"},
        {"value": "10980", "context": "Sample.Periodic", "measurand": "Power.Active.Import", "unit": "W"},
        {
            "value": "31",
            "context": "Sample.Periodic",
            "measurand": "Temperature",
            "location": "Body",
            "unit": "Celsius",
        },
    ]
    return {"connectorId": 1, "transactionId": 4711, "values": [{"timestamp": TIMESTAMP, "values": values}]}


def meter_values_16() -> dict[str, Any]:
    """:func:`meter_values_15` as the gateway sends it upstream (translated by ocpprpc, checked to be valid)."""
    from ocpprpc.messages import v15
    from ocpprpc.translation import translate

    payload: dict[str, Any] = translate(v15.MeterValuesRequest.model_validate(meter_values_15()), "1.6").to_json_dict()
    return payload


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("gateway (also uses --warmup, --window, --generators, --client)")
    group.add_argument("--gateway-connections", type=int, default=50, help="loaded connections (default 50)")
    group.add_argument("--gateway-repetitions", type=int, default=3, help="fresh runs of each way (default 3)")
    group.add_argument(
        "--gateway-store-dir", default=None, help="where the SQLite outbox is written (default: the temp dir)"
    )


@dataclass
class Phase:
    """One measured window of one way: loaded, or one charge point."""

    connections: int
    connected: int = 0
    calls: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict[str, int])
    wall: float = float("nan")
    latency_p50: float = float("nan")
    latency_p99: float = float("nan")
    cpu: dict[str, float | None] = field(default_factory=dict[str, float | None])
    """CPU seconds over the window: ``central system``, ``gateway``, ``generator`` (the busiest), ``other``."""

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.wall if self.wall else float("nan")

    def us_per_call(self, who: str) -> float | None:
        seconds = self.cpu.get(who)
        return None if seconds is None or not self.calls else seconds / self.calls * 1e6

    def cores(self, who: str) -> float | None:
        seconds = self.cpu.get(who)
        return None if seconds is None else seconds / self.wall

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "calls_per_second": self.calls_per_second,
            "us_per_call": {who: self.us_per_call(who) for who in self.cpu},
        }


def _store_filesystem(folder: Path) -> str:
    """The file system type of ``folder`` (from ``/proc/mounts``): a tmpfs makes fsync free."""
    best, kind = "", "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and str(folder.resolve()).startswith(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    return kind


def _measure(
    url: str,
    version: str,
    connections: int,
    generators: int,
    warmup: float,
    window: float,
    client: str,
    pids: dict[str, int],
    prefix: str,
) -> Phase:
    """Generators load ``url``; CPU of ``pids`` read over the measured window."""
    phase = Phase(connections)
    out_dir = Path(tempfile.mkdtemp(prefix="ocpprpc-bench-gw-"))
    generators = max(1, min(generators, connections))
    gens: list[Child] = []
    try:
        share, extra = divmod(connections, generators)
        first = 0
        for g in range(generators):
            count = share + (1 if g < extra else 0)
            gens.append(
                Child(
                    "gateway",
                    "generate",
                    *("--url", url, "--first", str(first), "--count", str(count), "--id-prefix", prefix),
                    *("--mode", "calls", "--client", client, "--ocpp", version, "--windows", "1"),
                    *("--warmup", str(warmup), "--window", str(window), "--out-dir", str(out_dir)),
                )
            )
            first += count
        readies = [gen.wait_ready(120.0) for gen in gens]
        phase.connected = sum(ready["connected"] for ready in readies)
        watched = {**pids, **{f"generator {i}": gen.pid for i, gen in enumerate(gens)}}
        start = time.time() + 0.5
        for gen in gens:
            gen.send_line(repr(start))
        time.sleep(max(0.0, start + warmup - time.time()))
        before = {who: cpu_seconds(pid) for who, pid in watched.items()}
        machine_before, t0 = machine_busy_seconds(), time.monotonic()
        time.sleep(max(0.0, start + warmup + window - time.time()))
        after = {who: cpu_seconds(pid) for who, pid in watched.items()}
        machine_after, t1 = machine_busy_seconds(), time.monotonic()
        results = [gen.result(warmup + window + 120.0) for gen in gens]
    finally:
        for gen in gens:
            gen.stop()
    used: dict[str, float | None] = {}
    for who in watched:
        was, now = before[who], after[who]
        used[who] = None if was is None or now is None else now - was
    generator_cpu = [seconds for who, seconds in used.items() if who.startswith("generator") and seconds is not None]
    phase.cpu = {who: used[who] for who in pids}
    phase.cpu["generator"] = max(generator_cpu) if generator_cpu else None
    known = [seconds for seconds in used.values() if seconds is not None]
    if machine_before is not None and machine_after is not None:
        phase.cpu["other"] = max(0.0, (machine_after - machine_before) - sum(known)) * window / (t1 - t0)
    latencies = array.array("d")
    for result in results:
        measured = result["windows"][0]
        phase.calls += measured["calls"]
        phase.errors += measured["errors"]
        phase.wall = measured["wall"]
        for kind, n in result["error_kinds"].items():
            phase.error_kinds[kind] = phase.error_kinds.get(kind, 0) + n
        with open(measured["latency_file"], "rb") as f:
            latencies.frombytes(f.read())
    shutil.rmtree(out_dir, ignore_errors=True)
    ordered = sorted(latencies)
    phase.latency_p50 = percentile(ordered, 0.50)
    phase.latency_p99 = percentile(ordered, 0.99)
    return phase


def _run_way(way: str, args: argparse.Namespace, generators: int, store_dir: Path) -> dict[str, Phase]:
    """Fresh central system (and gateway) processes; one charge point first, then the loaded window."""
    central = Child("_servers", "ocpprpc")
    gateway: Child | None = None
    store = store_dir / f"outbox-{os.getpid()}-{time.monotonic_ns()}.sqlite"
    try:
        url = f"ws://127.0.0.1:{central.wait_ready()['port']}/ocpp"
        pids = {"central system": central.pid}
        if way != "direct":
            options = ["--store", str(store)] if way == "gateway+sqlite" else []
            gateway = Child("gateway", "serve", "--upstream", url, *options)
            url = f"ws://127.0.0.1:{gateway.wait_ready()['port']}/ocpp"
            pids["gateway"] = gateway.pid
        version = GENERATOR_VERSIONS[way]
        # one charge point: half the warm-up and window (its latency settles fast; the loaded window counts)
        single = _measure(url, version, 1, 1, args.warmup / 2, args.window / 2, args.client, pids, prefix="ONE")
        loaded = _measure(
            url, version, args.gateway_connections, generators, args.warmup, args.window, args.client, pids, prefix="CP"
        )
        return {"single": single, "loaded": loaded}
    finally:
        if gateway is not None:
            gateway.stop()
        central.stop()
        for leftover in store_dir.glob(store.name + "*"):
            leftover.unlink(missing_ok=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    generators = args.generators or default_generators()
    repetitions = 1 if args.quick else args.gateway_repetitions
    store_dir = Path(args.gateway_store_dir or tempfile.gettempdir())
    print(
        f"\n== Gateway: the same 1.6 central system directly and through ocpprpc.gateway; "
        f"MeterValues x4 + Heartbeat per cycle; one charge point, then {args.gateway_connections} connections; "
        f"{args.warmup:g} s warm-up + {args.window:g} s measured each, {repetitions} repetitions, "
        f"{generators} generator process(es); SQLite outbox in {store_dir} ({_store_filesystem(store_dir)})"
    )
    runs: dict[str, list[dict[str, Phase]]] = {way: [] for way in WAYS}
    for rep in range(repetitions):
        order = WAYS[rep % len(WAYS) :] + WAYS[: rep % len(WAYS)]
        for way in order:
            result = _run_way(way, args, generators, store_dir)
            runs[way].append(result)
            single, loaded = result["single"], result["loaded"]
            print(
                f"   rep {rep + 1} {way:<15} 1 cp p50 {single.latency_p50 * 1e3:6.3f} ms  "
                f"loaded {fmt_num(loaded.calls_per_second):>7} calls/s p99 {loaded.latency_p99 * 1e3:7.2f} ms  "
                f"cs {fmt_num((loaded.cores('central system') or 0) * 100)}% "
                f"gateway {fmt_num((loaded.cores('gateway') or 0) * 100)}% "
                f"generator {fmt_num((loaded.cores('generator') or 0) * 100)}% "
                f"other {fmt_num((loaded.cores('other') or 0) * 100)}%  errors {single.errors + loaded.errors}",
                flush=True,
            )

    summary: dict[str, dict[str, Any]] = {}
    rows: list[list[str]] = []
    notes: list[str] = []
    for way in WAYS:
        singles = [r["single"] for r in runs[way]]
        loads = [r["loaded"] for r in runs[way]]

        def cpu(phases: list[Phase], who: str) -> dict[str, float]:
            return spread(v for v in (p.us_per_call(who) for p in phases) if v is not None)

        s: dict[str, Any] = {
            "single_latency_p50_ms": spread(p.latency_p50 * 1e3 for p in singles),
            "single_latency_p99_ms": spread(p.latency_p99 * 1e3 for p in singles),
            "single_calls_per_second": spread(p.calls_per_second for p in singles),
            "calls_per_second": spread(p.calls_per_second for p in loads),
            "latency_p50_ms": spread(p.latency_p50 * 1e3 for p in loads),
            "latency_p99_ms": spread(p.latency_p99 * 1e3 for p in loads),
            "central_system_us_per_call": cpu(loads, "central system"),
            "gateway_us_per_call": cpu(loads, "gateway"),
            "generator_cores_max": spread(v for v in (p.cores("generator") for p in loads) if v is not None),
            "other_cores": spread(v for v in (p.cores("other") for p in loads) if v is not None),
            "errors": sum(p.errors for p in singles + loads),
            "connected_min": min(p.connected for p in loads),
        }
        summary[way] = s
        rows.append(
            [
                LABELS[way],
                fmt_spread(s["single_latency_p50_ms"], 3),
                fmt_spread(s["single_latency_p99_ms"], 3),
                fmt_spread(s["calls_per_second"]),
                fmt_spread(s["latency_p50_ms"], 1),
                fmt_spread(s["latency_p99_ms"], 1),
                fmt_spread(s["central_system_us_per_call"], 0),
                fmt_spread(s["gateway_us_per_call"], 0),
                str(s["errors"]),
            ]
        )
        if s["generator_cores_max"].get("n") and s["generator_cores_max"]["max"] > 0.9:
            notes.append(f"{way}: a generator process used >90% of a core: the result may be generator-bound")
        if s["other_cores"].get("n") and s["other_cores"]["max"] > 0.25:
            notes.append(f"{way}: up to {s['other_cores']['max'] * 100:.0f}% of a core used by other processes")
        if s["connected_min"] < args.gateway_connections:
            notes.append(f"{way}: only {s['connected_min']} of {args.gateway_connections} connections opened")
        kinds = {k: v for p in singles + loads for k, v in p.error_kinds.items()}
        if kinds:
            notes.append(f"{way}: errors {kinds}")
    print()
    print(
        table(
            [
                "way",
                "1 cp p50 ms",
                "1 cp p99 ms",
                "loaded calls/s",
                "p50 ms",
                "p99 ms",
                "CS CPU us/call",
                "gateway CPU us/call",
                "errors",
            ],
            rows,
        )
    )
    print(
        "   median (min-max) of the repetitions. 1 cp: one charge point calling back to back (nothing queues);\n"
        "   loaded: every connection calling back to back. CPU per call: over the loaded window, /proc"
    )

    def median(way: str, key: str) -> float:
        return float(summary[way][key]["median"])

    ratios: dict[str, float] = {}
    ratio_rows: list[list[str]] = []
    for way in WAYS[1:]:
        throughput = median(way, "calls_per_second") / median("direct", "calls_per_second")
        added_p50 = median(way, "single_latency_p50_ms") - median("direct", "single_latency_p50_ms")
        added_p99 = median(way, "single_latency_p99_ms") - median("direct", "single_latency_p99_ms")
        latency = median(way, "single_latency_p50_ms") / median("direct", "single_latency_p50_ms")
        ratios[f"{way}_calls_per_second_vs_direct"] = throughput
        ratios[f"{way}_single_latency_p50_vs_direct"] = latency
        ratios[f"{way}_added_latency_p50_ms"] = added_p50
        ratios[f"{way}_added_latency_p99_ms"] = added_p99
        ratio_rows.append(
            [way, f"{throughput:.2f}x", f"{latency:.2f}x", f"+{added_p50:.3f} ms", f"+{added_p99:.3f} ms"]
        )
    print()
    print(
        table(
            ["against direct", "loaded calls/s", "1 cp latency p50", "added p50 (1 cp)", "added p99 (1 cp)"],
            ratio_rows,
        )
    )
    for note in notes:
        print(f"   note: {note}")
    return {
        "config": {
            "connections": args.gateway_connections,
            "repetitions": repetitions,
            "warmup_s": args.warmup,
            "window_s": args.window,
            "generators": generators,
            "client": args.client,
            "cycle": "MeterValues(5 sampled values) x4, Heartbeat x1",
            "store_dir": str(store_dir),
            "store_filesystem": _store_filesystem(store_dir),
        },
        "summary": summary,
        "ratios": ratios,
        "notes": notes,
        "runs": {way: [{k: p.as_dict() for k, p in r.items()} for r in rs] for way, rs in runs.items()},
    }


# -- the child processes ----------------------------------------------------------------------------------------


def _generate(argv: list[str]) -> None:
    """``benchmarks._loadgen`` with this part's frame sets: ``--ocpp gw1.5`` (1.5 chargers) and ``gw1.6``.

    The generator reads its frames from ``benchmarks._messages`` by version; the two sets are added
    there, in this process only, before it starts: the 1.5 MeterValues (subprotocol ``ocpp1.5``), and
    its 1.6 translation (``ocpp1.6``), each with the Heartbeat, in the throughput part's cycle.
    """
    from . import _loadgen, _messages

    payloads = {"gw1.5": meter_values_15(), "gw1.6": meter_values_16()}
    standard = _messages.load_payload

    def load_payload(version: str, action: str) -> dict[str, Any]:
        if version in payloads and action == "MeterValues":
            return payloads[version]
        return standard(version, action)

    for version, subprotocol in (("gw1.5", "ocpp1.5"), ("gw1.6", "ocpp1.6")):
        _messages.CYCLES[version] = _messages.CYCLES["1.6"]
        _messages.SUBPROTOCOLS[version] = subprotocol
    _messages.load_payload = load_payload
    _loadgen.main(argv)


async def _serve(upstream: str, store: str | None) -> None:
    """A gateway process: ``Gateway`` with its defaults, its chargers served by ``websocket.serve``."""
    from ocpprpc.gateway import Gateway
    from ocpprpc.transports import websocket

    from ._common import raise_nofile_limit

    raise_nofile_limit()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with (
        Gateway(upstream, store=store) as gateway,
        websocket.serve(gateway.server, "127.0.0.1", 0, path="/ocpp", max_connections_per_address=None) as server,
    ):
        print(json.dumps({"port": server.port, "pid": os.getpid()}), flush=True)
        await stop.wait()


def main(argv: list[str]) -> None:
    """``python -m benchmarks.gateway serve --upstream URL [--store PATH]`` or ``generate <loadgen options>``."""
    if argv[:1] == ["generate"]:
        _generate(argv[1:])
        return
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gateway", description=main.__doc__)
    parser.add_argument("command", choices=("serve",))
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--store")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.upstream, args.store))
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
