"""Driving the example simulator in a subprocess through stdin, as a test engineer drives it."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

SIMULATOR = Path(__file__).resolve().parents[1] / "examples" / "simulator.py"
FRAME = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] (?P<who>\S+:) (?P<dir><<|>>)(?P<peer>\S+) (?P<frame>.*)$")


class Sim:
    """A simulator subprocess: write command lines, wait for output lines matching a pattern."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SIMULATOR), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.all: list[str] = []
        """Every line so far, matched or not, for checks over the whole transcript."""
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.all.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            for line in self.seen:
                if match := regex.search(line):
                    self.seen.remove(line)
                    return match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.seen))
            try:
                self.seen.append(self.lines.get(timeout=remaining))
            except queue.Empty:
                continue

    def frames(self, lines: list[str] | None = None) -> Iterator[tuple[str, str, str, list[object]]]:
        """(who, direction, peer, frame) of the frame log lines among ``lines`` (default: those not matched yet)."""
        for line in self.seen if lines is None else list(lines):
            match = FRAME.match(line)
            if match:
                yield match["who"], match["dir"], match["peer"], json.loads(match["frame"])

    def close(self) -> int:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
