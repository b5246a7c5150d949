"""Hostile peers: does one central system process, with its default settings, keep serving a charge point under attack?

What is measured
----------------
One ocpprpc central system process (``benchmarks._servers dual``) serves both transports at once,
``websocket.serve`` and ``soap.serve`` on one ``CentralSystemServer``, each with its *defaults*: no limit
is set by the benchmark, because the point is that the defaults are safe. A legitimate OCPP-J 1.6 charge
point (``benchmarks._hostile_peers legit``) connects and warms up before the attack starts, as a charge
point connected for days would be; once the attack runs it sends ``--hostile-calls`` BootNotifications at
a steady ``--hostile-rate`` per second over that WebSocket connection, one in flight at a time, and
records each round trip; a call unanswered in ``--hostile-timeout`` seconds (3), or lost with its
connection, is a failure and counts as infinitely slow. Meanwhile it opens a fresh connection once a
second, sends one BootNotification and closes it: what a charge point that connects during the attack
sees. This is done in five conditions, side by side, each with a fresh server process:

0. ``quiet``: nobody else.
1. ``flood, reading``: another connection sends Heartbeat CALLs back to back as fast as the socket takes
   them, each with a new unique id, never waiting for an answer; it reads and discards the answers.
2. ``flood, not reading``: the same, but it never reads: the server's answers pile up wherever the
   server lets them. The server's memory must stay flat.
3. ``SOAP bodies``: three clients POST, in a loop, without credentials, a BootNotification envelope with
   40,000 empty ``<imsi/>`` elements (an element that may occur once; ~360 KB) and a ~900 KiB
   BootNotification padded with small unknown elements, both under the default body limit.
4. ``half-open``: 1,000 TCP connections, half to the WebSocket port and half to the SOAP port, each
   having sent the first lines of an HTTP request head and nothing more; the attacker opens a socket
   again when the server closes one. They come from ten source addresses (127.0.0.10-19), the charge
   point from 127.0.0.1.

For each: the BootNotification latency (p50, p99, max) and its ratio to the quiet figure, failures, the
fresh connections' time to connect and boot, the server's resident memory (from ``/proc``) before the
attack starts, at the end of the measurement (attack still running) and its peak, the server's CPU in
the measured window, the log records the server wrote and its full garbage collections, and what the
attacker achieved (frames sent and answered, SOAP requests answered and how fast, sockets held).

Why it is fair
--------------
Every party is its own process (``_hostile_peers``): the server, the measuring charge point and each
attacker, on 127.0.0.1 only; the parent only starts them and reads ``/proc``. Attackers start first and
run for ``--hostile-settle`` seconds before the measurement begins, so the server is measured in the
steady state of the attack, not its first second. Every attack loop is bounded in count and time and
stops when told. On a machine with two cores the attacker competes with the server for the CPUs, as an
attacker on the same host would; the CPU use of everything is printed so it can be judged.

Targets (this machine, 2 cores): p99 under 100 ms in every condition; under either flood, the server's
memory grows by less than 50 MiB over the condition.
"""

from __future__ import annotations

import argparse
import signal
import socket
import threading
import time
from typing import Any

from ._common import Child, cpu_seconds, fmt_num, machine_busy_seconds, percentile, rss_bytes, table, verdict
from ._harness import _wait_idle

CONDITIONS = ("quiet", "flood_read", "flood_noread", "soap_bodies", "half_open")
LABELS = {
    "quiet": "quiet",
    "flood_read": "flood, reading",
    "flood_noread": "flood, not reading",
    "soap_bodies": "SOAP bodies",
    "half_open": "half-open",
}
TARGET_P99_MS = 100.0
TARGET_FLOOD_GROWTH_MIB = 50.0
AUTH = "legit:s3cret-of-the-benchmark"
_MIB = 2**20


def _conditions(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in CONDITIONS:
            raise argparse.ArgumentTypeError(f"unknown condition {name!r}; choose from {', '.join(CONDITIONS)}")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("hostile")
    group.add_argument("--hostile-calls", type=int, default=200, help="BootNotifications measured per condition")
    group.add_argument("--hostile-rate", type=float, default=20.0, help="BootNotifications per second (default 20)")
    group.add_argument("--hostile-settle", type=float, default=1.0, help="seconds of attack before measuring")
    group.add_argument("--hostile-half-open", type=int, default=1000, help="half-open sockets (default 1000)")
    group.add_argument("--hostile-sources", type=int, default=10, help="source addresses of the half-open sockets")
    group.add_argument("--hostile-soap-clients", type=int, default=3, help="SOAP attackers (default 3)")
    group.add_argument(
        "--hostile-timeout", type=float, default=3.0, help="seconds after which a call counts as failed (default 3)"
    )
    group.add_argument(
        "--hostile-grace",
        type=float,
        default=5.0,
        help="seconds the charge point goes on beyond calls/rate before it counts the calls left as failed",
    )
    group.add_argument(
        "--hostile-conditions",
        type=_conditions,
        default=list(CONDITIONS),
        help=f"conditions to run, comma-separated (default all: {','.join(CONDITIONS)})",
    )
    group.add_argument(
        "--hostile-auth",
        action="store_true",
        help="the server requires HTTP Basic credentials (the charge point has them, attackers do not)",
    )


def loopback_aliases_work() -> bool:
    """Whether this process can bind 127.0.0.2 (Linux: all of 127.0.0.0/8 is the loopback interface)."""
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
    except OSError:
        return False
    return True


class _RssSampler:
    """The server's resident memory every 0.2 s in a thread, keeping the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            rss = rss_bytes(self.pid)
            if rss is not None and (self.peak is None or rss > self.peak):
                self.peak = rss

    def stop(self) -> int | None:
        self._stop.set()
        self._thread.join()
        return self.peak


def _attackers(condition: str, args: argparse.Namespace, ports: dict[str, int], aliases: bool) -> list[list[str]]:
    duration = str(args.hostile_settle + args.hostile_calls / args.hostile_rate + 60.0)  # a bound; stopped sooner
    ws, soap = str(ports["ws"]), str(ports["soap"])
    if condition in ("flood_read", "flood_noread"):
        read = [] if condition == "flood_read" else ["--no-read"]
        source = "127.0.0.2" if aliases else "127.0.0.1"
        return [["flood", "--port", ws, "--source", source, "--duration", duration, *read]]
    if condition == "soap_bodies":
        source = "127.0.0.3" if aliases else "127.0.0.1"
        clients = str(args.hostile_soap_clients)
        return [["soap", "--soap-port", soap, "--clients", clients, "--source", source, "--duration", duration]]
    if condition == "half_open":
        sources = str(args.hostile_sources if aliases else 0)
        sockets = str(args.hostile_half_open)
        half_open = ["half-open", "--port", ws, "--soap-port", soap, "--sockets", sockets, "--sources", sources]
        return [[*half_open, "--duration", duration]]
    return []


def _server_counters(server: Child) -> dict[str, Any]:
    """Full GCs and log lines of the server since the previous call (its SIGUSR1 report)."""
    server.proc.send_signal(signal.SIGUSR1)
    return server.result(10.0, wait=False)


def run_condition(condition: str, args: argparse.Namespace, aliases: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"condition": condition}
    server = Child("_servers", "dual", *(["--auth", AUTH] if args.hostile_auth else []))
    attackers: list[Child] = []
    legit: Child | None = None
    sampler: _RssSampler | None = None
    phases: dict[str, float] = {}
    out["phase_seconds"] = phases
    mark = time.monotonic()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        phases[name] = now - mark
        mark = now

    try:
        ready = server.wait_ready()
        ports = {"ws": ready["port"], "soap": ready["soap_port"]}
        command = ["legit", "--port", str(ports["ws"]), "--calls", str(args.hostile_calls)]
        command += ["--rate", str(args.hostile_rate), "--grace", str(args.hostile_grace)]
        command += ["--timeout", str(args.hostile_timeout)]
        if args.hostile_auth:
            command += ["--auth", AUTH]
        legit = Child("_hostile_peers", *command)
        out["legit_ready"] = legit.wait_ready()
        _wait_idle(server.pid, limit=3.0)
        out["rss_before"] = rss_bytes(server.pid)
        for spec in _attackers(condition, args, ports, aliases):
            attackers.append(Child("_hostile_peers", *spec))
        out["attackers_ready"] = [attacker.wait_ready(30.0) for attacker in attackers]
        phase("start")
        if attackers:
            time.sleep(args.hostile_settle)
        out["rss_measure_start"] = rss_bytes(server.pid)
        sampler = _RssSampler(server.pid)
        _server_counters(server)
        cpu0, machine0, t0 = cpu_seconds(server.pid), machine_busy_seconds(), time.monotonic()
        legit.send_line("go")
        out["legit"] = legit.result(args.hostile_calls / args.hostile_rate + 120.0)
        cpu1, machine1, t1 = cpu_seconds(server.pid), machine_busy_seconds(), time.monotonic()
        phase("measure")
        out["rss_end"] = rss_bytes(server.pid)
        out["server_alive"] = server.proc.poll() is None
        if out["server_alive"]:
            out["server_window"] = _server_counters(server)
        out["rss_peak"] = sampler.stop()
        sampler = None
        out["wall"] = t1 - t0
        out["server_cpu"] = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
        out["machine_cpu"] = None if machine0 is None or machine1 is None else machine1 - machine0
        for attacker in attackers:
            attacker.send_line("stop")
        out["attackers"] = [attacker.result(30.0) for attacker in attackers]
        phase("stop attackers")
    except RuntimeError as exc:  # a child died or hung: report it, go on with the next condition
        out["problem"] = str(exc)
        out["server_alive"] = server.proc.poll() is None
    finally:
        if sampler is not None:
            sampler.stop()
        for child in (legit, *attackers):
            if child is not None:
                child.stop()
        if server.proc.poll() is None:  # measured: no need to wait for a graceful shutdown
            server.proc.kill()
        server.stop()
        phase("stop")
    return _summarise(out)


def _summarise(out: dict[str, Any]) -> dict[str, Any]:
    legit = out.get("legit") or {}
    latencies = sorted(legit.get("latencies", []))
    answered = [x for x in latencies if x != float("inf")]
    probes = legit.get("probes", [])
    probe_ok = sorted(p["total"] for p in probes if "failure" not in p)

    def mib(value: int | None) -> float | None:
        return None if value is None else value / _MIB

    before, end = out.get("rss_before"), out.get("rss_end")
    summary = {
        "calls": len(latencies),
        "answered": len(answered),
        "failures": legit.get("failures", {}),
        "p50_ms": percentile(latencies, 0.50) * 1e3,
        "p99_ms": percentile(latencies, 0.99) * 1e3,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1e3,
        "answered_p50_ms": percentile(answered, 0.50) * 1e3,
        "answered_max_ms": (answered[-1] if answered else float("nan")) * 1e3,
        "probes": len(probes),
        "probes_failed": len(probes) - len(probe_ok),
        "probe_p50_ms": percentile(probe_ok, 0.5) * 1e3,
        "probe_max_ms": (probe_ok[-1] * 1e3) if probe_ok else float("nan"),
        "probe_failures": sorted({p["failure"] for p in probes if "failure" in p}),
        "rss_before_mib": mib(before),
        "rss_measure_start_mib": mib(out.get("rss_measure_start")),
        "rss_end_mib": mib(end),
        "rss_peak_mib": mib(out.get("rss_peak")),
        "rss_growth_mib": None if before is None or end is None else (end - before) / _MIB,
        "server_cores": out["server_cpu"] / out["wall"] if out.get("server_cpu") is not None else None,
        "machine_cores": out["machine_cpu"] / out["wall"] if out.get("machine_cpu") is not None else None,
        "server_alive": out.get("server_alive"),
        "server_log_lines": (out.get("server_window") or {}).get("log_lines"),
        "server_gc_full": (out.get("server_window") or {}).get("gc_full"),
        "problem": out.get("problem"),
    }
    return {"summary": summary, "raw": {k: v for k, v in out.items() if k != "legit"}, "legit": legit}


def _attack_line(condition: str, raw: dict[str, Any]) -> str:
    """What the attacker achieved, in one cell."""
    results = raw.get("attackers") or []
    if not results:
        return "-" if condition == "quiet" else "n/a"
    r = results[0]
    if condition.startswith("flood"):
        text = f"{fmt_num(r.get('frames_per_second'))} CALLs/s sent"
        if r.get("read"):
            text += f", {fmt_num(r.get('answers', 0) / r['seconds'] if r.get('seconds') else None)}/s answered"
        closes = sum(n for k, n in r.get("closes", {}).items() if not k.startswith("connect"))
        return text + (f", closed {closes}x" if closes else "")
    if condition == "soap_bodies":
        times = r.get("answer_seconds", {})
        parts = [f"{r.get('requests', 0)} answered"]
        for kind in ("repeated", "large"):
            t = times.get(kind, {})
            if t.get("n"):
                parts.append(f"{kind} p50 {fmt_num(t['p50'] * 1e3)} ms")
        return ", ".join(parts)
    if condition == "half_open":
        held = sum((r.get("held_at_end") or {}).values())
        closed = sum(n for k, n in r.items() if k.startswith("closed by the server"))
        return f"{held:,} held at end (lowest {r.get('held_lowest', 0):,}), {closed:,} closed by the server"
    return "n/a"


def run(args: argparse.Namespace) -> dict[str, Any]:
    conditions = args.hostile_conditions
    aliases = loopback_aliases_work()
    pace = args.hostile_calls / args.hostile_rate
    print(
        f"\n== Hostile peers: one ocpprpc central system process (WebSocket + SOAP, default settings"
        f"{', HTTP Basic auth' if args.hostile_auth else ''}); a charge point sends {args.hostile_calls} "
        f"BootNotifications at {args.hostile_rate:g}/s ({pace:g} s) in each condition, attacks running "
        f"{args.hostile_settle:g} s before"
    )
    if not aliases:
        print("   note: cannot bind 127.0.0.2: every attacker connects from 127.0.0.1, as the charge point does")

    def ms(value: float) -> str:
        return "timeout" if value == float("inf") else fmt_num(value, 1)

    results: dict[str, dict[str, Any]] = {}
    for condition in conditions:
        t = time.monotonic()
        results[condition] = run_condition(condition, args, aliases)
        s = results[condition]["summary"]
        print(
            f"   {LABELS[condition]:<19} p50 {ms(s['p50_ms'])} ms, p99 {ms(s['p99_ms'])} ms, "
            f"{s['calls'] - s['answered']} failed, RSS {fmt_num(s['rss_before_mib'], 1)} -> "
            f"{fmt_num(s['rss_end_mib'], 1)} MiB ({time.monotonic() - t:.0f} s)"
            + (f"; {s['problem']}" if s["problem"] else ""),
            flush=True,
        )
    quiet = results.get("quiet", {}).get("summary")

    def ratio(s: dict[str, Any], key: str) -> str:
        if not quiet or not quiet[key] or quiet[key] != quiet[key] or s[key] != s[key]:
            return "n/a"
        if s[key] == float("inf"):
            return "inf"
        return f"{s[key] / quiet[key]:.1f}x"

    rows: list[tuple[str, Any]] = [
        ("BootNotification p50 ms", lambda s: ms(s["p50_ms"])),
        ("BootNotification p99 ms", lambda s: ms(s["p99_ms"])),
        ("BootNotification max ms", lambda s: ms(s["max_ms"])),
        ("p50 / quiet", lambda s: ratio(s, "p50_ms")),
        ("p99 / quiet", lambda s: ratio(s, "p99_ms")),
        ("calls failed / sent", lambda s: f"{s['calls'] - s['answered']} / {s['calls']}"),
        (
            "answered calls only: p50 / max ms",
            lambda s: f"{fmt_num(s['answered_p50_ms'], 1)} / {fmt_num(s['answered_max_ms'], 1)}",
        ),
        (
            "fresh connect + boot p50 / max ms",
            lambda s: f"{fmt_num(s['probe_p50_ms'], 1)} / {fmt_num(s['probe_max_ms'], 1)}",
        ),
        ("fresh connects failed / tried", lambda s: f"{s['probes_failed']} / {s['probes']}"),
        ("server RSS before attack, MiB", lambda s: fmt_num(s["rss_before_mib"], 1)),
        ("server RSS at end, MiB", lambda s: fmt_num(s["rss_end_mib"], 1)),
        ("server RSS growth, MiB", lambda s: fmt_num(s["rss_growth_mib"], 1)),
        ("server RSS peak, MiB", lambda s: fmt_num(s["rss_peak_mib"], 1)),
        ("server CPU %", lambda s: fmt_num((s["server_cores"] or 0) * 100) if s["server_cores"] is not None else "n/a"),
        ("machine CPU % (all)", lambda s: fmt_num((s["machine_cores"] or 0) * 100) if s["machine_cores"] else "n/a"),
        (
            "server log lines (warning+)",
            lambda s: fmt_num(sum((s["server_log_lines"] or {}).values())) if s["server_alive"] else "server died",
        ),
        (
            "server full GCs, longest ms",
            lambda s: (
                f"{(s['server_gc_full'] or {}).get('count', 'n/a')}, "
                f"{fmt_num((s['server_gc_full'] or {}).get('max_ms'), 0)}"
            ),
        ),
    ]
    print()
    print(
        table(
            ["", *(LABELS[c] for c in conditions)],
            [[label, *(fmt(results[c]["summary"]) for c in conditions)] for label, fmt in rows],
        )
    )
    print("\n   what the attacker did:")
    for condition in conditions:
        if condition != "quiet":
            print(f"   {LABELS[condition]:<19} {_attack_line(condition, results[condition]['raw'])}")
    print(
        "   p50 / p99 over all calls due, a failed call (no answer in time, connection lost, or not sent because\n"
        "   the calls before it took the time) counting as infinitely slow; RSS growth = at the end of the\n"
        "   measurement (attack still running) - before the attack started; CPU over the measured window"
    )

    targets: dict[str, Any] = {}
    target_rows: list[tuple[str, str, str, bool | None]] = []
    for condition in conditions:
        s = results[condition]["summary"]
        met = s["p99_ms"] < TARGET_P99_MS if s["p99_ms"] == s["p99_ms"] else False
        targets[f"p99_{condition}"] = {"p99_ms": s["p99_ms"], "target_ms": TARGET_P99_MS, "met": met}
        shown = ms(s["p99_ms"]) + ("" if s["p99_ms"] == float("inf") else " ms")
        target_rows.append((f"p99, {LABELS[condition]}", shown, f"< {TARGET_P99_MS:g} ms", met))
        if condition.startswith("flood"):
            growth = s["rss_growth_mib"]
            grew_ok = None if growth is None else growth < TARGET_FLOOD_GROWTH_MIB
            if not s["server_alive"]:
                grew_ok = False
            targets[f"memory_{condition}"] = {
                "growth_mib": growth,
                "target_mib": TARGET_FLOOD_GROWTH_MIB,
                "met": grew_ok,
            }
            target_rows.append(
                (
                    f"RSS growth, {LABELS[condition]}",
                    f"{fmt_num(growth, 1)} MiB",
                    f"< {TARGET_FLOOD_GROWTH_MIB:g} MiB",
                    grew_ok,
                )
            )
    print()
    print(table(["target", "value", "target", "verdict"], [[a, b, c, verdict(d)] for a, b, c, d in target_rows]))
    return {
        "config": {
            "conditions": conditions,
            "calls": args.hostile_calls,
            "rate": args.hostile_rate,
            "settle_s": args.hostile_settle,
            "half_open_sockets": args.hostile_half_open,
            "half_open_sources": args.hostile_sources if aliases else 1,
            "soap_clients": args.hostile_soap_clients,
            "auth": args.hostile_auth,
            "loopback_aliases": aliases,
        },
        "summary": {c: r["summary"] for c, r in results.items()},
        "targets": targets,
        "runs": {c: {"raw": r["raw"], "legit": r["legit"]} for c, r in results.items()},
    }
