"""Shared helpers: machine facts, process CPU / memory from ``/proc``, statistics, tables, child processes.

Nothing here is timed itself. CPU and memory of *other* processes (the server under test, the load
generators) are read from ``/proc/<pid>/stat`` and ``/proc/<pid>/status`` on Linux, or through ``psutil``
when it is installed (other systems); without either they are reported as unavailable, never guessed.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: child processes run ``python -m benchmarks.<module>`` from here."""

RESULTS_DIR = Path(__file__).resolve().parent / "results"

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

try:  # optional: only needed where /proc is missing
    import psutil as _psutil
except ImportError:  # pragma: no cover - depends on the environment
    _psutil = None


# -- machine -------------------------------------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, Any]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    mem_total = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) * 1024
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable_cores(),
        "memory_total_mib": round(mem_total / 2**20) if mem_total else None,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "nofile_limit": {"soft": soft, "hard": hard},
        "packages": {
            name: package_version(name)
            for name in ("ocpprpc", "ocpp", "websockets", "pydantic", "pydantic-core", "lxml", "zeep", "jsonschema")
        },
        "event_loop": "asyncio (default selector loop)",
        "ocpprpc_from": _ocpprpc_from(),
        "bytecode_cache": not sys.dont_write_bytecode,
    }


def _ocpprpc_from() -> str:
    """Where ocpprpc is imported from (the benchmarks put this checkout's ``src`` first: see the package)."""
    import ocpprpc

    return str(Path(ocpprpc.__file__).resolve().parent)


def print_machine(info: dict[str, Any]) -> None:
    print(
        f"machine: {info['cpu_model']}, {info['usable_cpus']} usable of {info['logical_cpus']} logical CPUs, "
        f"{info['memory_total_mib']} MiB RAM, {info['os']}"
    )
    print(f"python:  {info['python']}, {info['event_loop']}; open files soft/hard {info['nofile_limit']}")
    print("packages: " + ", ".join(f"{k} {v}" for k, v in info["packages"].items()))
    here = str(ROOT / "src" / "ocpprpc")
    where = info["ocpprpc_from"]
    print(f"ocpprpc: {where}" + ("" if where == here else f"  (NOT this checkout's {here})"))
    if not info["bytecode_cache"]:
        print("note:    bytecode is not written (PYTHONDONTWRITEBYTECODE / -B): processes compile uncached modules")


def raise_nofile_limit(wanted: int | None = None) -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE up to ``wanted`` (default: the hard limit); returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if wanted is None else wanted
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# -- other processes ---------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds used so far by process ``pid`` (all its threads)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        if _psutil is None:
            return None
        try:
            times = _psutil.Process(pid).cpu_times()
        except Exception:
            return None
        return float(times.user + times.system)
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may contain spaces
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def machine_busy_seconds() -> float | None:
    """CPU seconds all CPUs of the machine spent busy so far (``/proc/stat``), to see other load."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal ...
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / _CLK_TCK


def rss_bytes(pid: int) -> int | None:
    """Resident memory of process ``pid`` in bytes."""
    try:
        text = Path(f"/proc/{pid}/statm").read_text()
    except OSError:
        if _psutil is None:
            return None
        try:
            return int(_psutil.Process(pid).memory_info().rss)
        except Exception:
            return None
    return int(text.split()[1]) * _PAGE


class Child:
    """A benchmark child process (``python -m benchmarks.<module> args``) that prints one JSON line when ready."""

    def __init__(self, module: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"benchmarks.{module}", *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid = self.proc.pid
        self.ready: dict[str, Any] = {}
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def wait_ready(self, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for the child's first JSON line (it is listening, or connected)."""
        self.ready = self._read_line(timeout)
        return self.ready

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _read_line(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise RuntimeError(f"child {self.proc.args!r} did not report within {timeout} s") from None
            if line is None:
                raise RuntimeError(f"child {self.proc.args!r} exited with {self.proc.wait()}")
            if line.startswith("{"):
                result: dict[str, Any] = json.loads(line)
                return result

    def send_line(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def result(self, timeout: float, wait: bool = True) -> dict[str, Any]:
        """The child's next JSON line; with ``wait``, it is the last one and the child exits after it."""
        data = self._read_line(timeout)
        if wait:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        return data

    def stop(self) -> None:
        """End the child (SIGTERM to it, by pid; SIGKILL after 10 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


# -- statistics and tables ------------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of already sorted values, nearest-rank; NaN for none."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def spread(values: Iterable[float]) -> dict[str, float]:
    """Median, min and max of repeated measurements."""
    data = sorted(values)
    if not data:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    n = len(data)
    median = data[n // 2] if n % 2 else (data[n // 2 - 1] + data[n // 2]) / 2
    return {"median": median, "min": data[0], "max": data[-1], "n": n}


def fmt_num(value: float | None, digits: int = 0) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value:,.{digits}f}"


def fmt_spread(s: dict[str, float], digits: int = 0, scale: float = 1.0) -> str:
    """``12,345 (12,001-12,800)``: median and the min-max range."""
    if not s.get("n"):
        return "n/a"
    return (
        f"{fmt_num(s['median'] * scale, digits)} "
        f"({fmt_num(s['min'] * scale, digits)}-{fmt_num(s['max'] * scale, digits)})"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None) -> str:
    """A plain-text table; ``align`` is one ``l`` / ``r`` per column (default: first left, others right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = []
        for cell, width, a in zip(cells, widths, align, strict=True):
            out.append(str(cell).ljust(width) if a == "l" else str(cell).rjust(width))
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("MET" if ok else "MISSED")
