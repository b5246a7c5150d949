"""One load run: start a server process, start load generator processes against it, collect what they measured.

Used by :mod:`benchmarks.throughput` and :mod:`benchmarks.scale`. The server runs alone in its process
(``benchmarks._servers``); each generator is a separate process (``benchmarks._loadgen``). All connect to
127.0.0.1 only. The parent does no load itself: it only reads ``/proc`` for the server's CPU and memory
and coordinates the start time, so it does not compete for the CPUs while something is measured.
"""

from __future__ import annotations

import array
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._common import Child, cpu_seconds, percentile, rss_bytes


@dataclass
class LoadRun:
    """What one run of one server measured (all windows merged unless stated)."""

    kind: str
    connections: int
    connected: int = 0
    connect_failures: dict[str, int] = field(default_factory=dict)
    connect_seconds: float = float("nan")
    handshake_p50: float = float("nan")
    handshake_p99: float = float("nan")
    server_cpu_connect: float | None = None
    served: int = 0
    calls: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    unexpected_frames: int = 0
    wall: float = float("nan")
    server_cpu: float | None = None
    machine_cpu: float | None = None
    generator_cpu: list[float] = field(default_factory=list)
    latency_p50: float = float("nan")
    latency_p99: float = float("nan")
    latency_max: float = float("nan")
    rss_base: int | None = None
    rss_connected: int | None = None
    rss_loaded: int | None = None
    gc_full: dict[str, float] = field(default_factory=dict)

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.wall if self.wall else float("nan")

    @property
    def server_cores(self) -> float | None:
        return None if self.server_cpu is None else self.server_cpu / self.wall

    @property
    def generator_cores_max(self) -> float:
        return max(self.generator_cpu) / self.wall if self.generator_cpu else float("nan")

    @property
    def other_cores(self) -> float | None:
        """CPU used by everything else on the machine during the window (other processes, the kernel)."""
        if self.machine_cpu is None or self.server_cpu is None:
            return None
        return max(0.0, self.machine_cpu - self.server_cpu - sum(self.generator_cpu)) / self.wall

    @property
    def server_us_per_call(self) -> float | None:
        return None if self.server_cpu is None or not self.calls else self.server_cpu / self.calls * 1e6

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data.update(
            calls_per_second=self.calls_per_second,
            server_cores=self.server_cores,
            generator_cores_max=self.generator_cores_max,
            other_cores=self.other_cores,
            server_us_per_call=self.server_us_per_call,
        )
        return data


def _wait_idle(pid: int, limit: float = 15.0, quiet: float = 0.02, step: float = 0.5) -> None:
    """Wait until process ``pid`` uses less than ``quiet`` CPU seconds per ``step`` (at most ``limit`` s)."""
    deadline = time.monotonic() + limit
    last = cpu_seconds(pid)
    while time.monotonic() < deadline and last is not None:
        time.sleep(step)
        now = cpu_seconds(pid)
        if now is None or now - last < quiet:
            return
        last = now


def loadgen_arguments(
    port: int,
    first: int,
    count: int,
    *,
    mode: str,
    warmup: float,
    window: float,
    interval: float,
    connect_concurrency: int,
    out_dir: Path,
) -> list[str]:
    """The command line of one ``_loadgen`` process: ``count`` charge points numbered from ``first``, on the
    server at 127.0.0.1:``port`` (path ``/ocpp``)."""
    return [
        "--url",
        f"ws://127.0.0.1:{port}/ocpp",
        "--first",
        str(first),
        "--count",
        str(count),
        "--mode",
        mode,
        "--warmup",
        str(warmup),
        "--window",
        str(window),
        "--interval",
        str(interval),
        "--connect-concurrency",
        str(connect_concurrency),
        "--out-dir",
        str(out_dir),
    ]


def run_load(
    kind: str,
    *,
    connections: int,
    generators: int,
    mode: str,
    warmup: float,
    window: float,
    interval: float = 5.0,
    client: str = "raw",
    connect_concurrency: int = 100,
    connect_timeout: float = 300.0,
    measure_memory: bool = False,
    ocpp_version: str = "1.6",
) -> LoadRun:
    """Start server ``kind``, load it with ``connections`` charge points from ``generators`` processes.

    ``ocpp_version`` ("1.6" or "2.0.1") is the version the server serves and the generators speak.
    """
    run = LoadRun(kind, connections)
    out_dir = Path(tempfile.mkdtemp(prefix="ocpprpc-bench-"))
    server = Child("_servers", kind, "--ocpp", ocpp_version)
    gens: list[Child] = []
    try:
        port = server.wait_ready()["port"]
        if measure_memory:
            time.sleep(1.0)
            run.rss_base = rss_bytes(server.pid)
        cpu0 = cpu_seconds(server.pid)
        share, extra = divmod(connections, generators)
        first = 0
        for g in range(generators):
            count = share + (1 if g < extra else 0)
            args = loadgen_arguments(
                port,
                first,
                count,
                mode=mode,
                warmup=warmup,
                window=window,
                interval=interval,
                connect_concurrency=max(1, connect_concurrency // generators),
                out_dir=out_dir,
            )
            args += ["--client", client, "--ocpp", ocpp_version, "--windows", "1"]
            if g == 0:
                args += ["--server-pid", str(server.pid)]
            gens.append(Child("_loadgen", *args))
            first += count
        readies = [gen.wait_ready(connect_timeout) for gen in gens]
        cpu1 = cpu_seconds(server.pid)
        run.connected = sum(r["connected"] for r in readies)
        for r in readies:
            for key, n in r["failures"].items():
                run.connect_failures[key] = run.connect_failures.get(key, 0) + n
        run.connect_seconds = max(r["connect_seconds"] for r in readies)
        run.handshake_p50 = max(r["handshake_p50"] for r in readies)
        run.handshake_p99 = max(r["handshake_p99"] for r in readies)
        if cpu0 is not None and cpu1 is not None:
            run.server_cpu_connect = cpu1 - cpu0
        if measure_memory:
            _wait_idle(server.pid)
            run.rss_connected = rss_bytes(server.pid)

        start = time.time() + 0.5
        for gen in gens:
            gen.send_line(repr(start))
        # Full garbage collections of the server during the measured window: reset at its start, read at its end.
        time.sleep(max(0.0, start + warmup - time.time()))
        server.proc.send_signal(signal.SIGUSR1)
        server.result(10.0, wait=False)
        time.sleep(max(0.0, start + warmup + window - 0.3 - time.time()))
        if measure_memory:  # before the generators disconnect
            run.rss_loaded = rss_bytes(server.pid)
        server.proc.send_signal(signal.SIGUSR1)
        run.gc_full = server.result(10.0, wait=False)["gc_full"]
        results = [gen.result(warmup + window + 120.0) for gen in gens]
    finally:
        for gen in gens:
            gen.stop()
        server.stop()

    latencies = array.array("d")
    for index, result in enumerate(results):
        run.served += result["connections_served"]
        run.unexpected_frames += result["unexpected_frames"]
        for kind_, n in result["error_kinds"].items():
            run.error_kinds[kind_] = run.error_kinds.get(kind_, 0) + n
        window_ = result["windows"][0]
        run.calls += window_["calls"]
        run.errors += window_["errors"]
        run.generator_cpu.append(window_["generator_cpu"])
        if index == 0:
            run.wall = window_["wall"]
            run.server_cpu = window_["server_cpu"]
            run.machine_cpu = window_.get("machine_cpu")
        with open(window_["latency_file"], "rb") as f:
            latencies.frombytes(f.read())
    shutil.rmtree(out_dir, ignore_errors=True)
    ordered = sorted(latencies)
    run.latency_p50 = percentile(ordered, 0.50)
    run.latency_p99 = percentile(ordered, 0.99)
    run.latency_max = ordered[-1] if ordered else float("nan")
    return run
