"""The cluster demo: two simulator central systems share a cluster; a reset typed on one reaches the other's CP.

Three simulator processes on 127.0.0.1, driven through their consoles as a person would type:

* ``cs-one``: ``start_cs 0 --cluster --node cs-one`` (``--cluster`` alone starts an embedded nats-server,
  whose URL it prints);
* ``cs-two``: ``start_cs 0 --cluster <that URL> --node cs-two``, another port, the same cluster;
* ``charger``: ``start_cp ws://127.0.0.1:<cs-one's port> CP1``.

Then on cs-two: ``list`` (CP1 on node cs-one), ``remote_reset --remote-id CP1 type="Soft"`` (the reset
goes through NATS to cs-one, over CP1's socket, and the answer comes back to cs-two), and ``list``
again. Every line each process prints is shown, prefixed with who printed it. Exits 0 when everything
went as described, 1 otherwise (and the line that was missing).

    python examples/demo_cluster.py
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

SIMULATOR = Path(__file__).resolve().parent / "simulator.py"
TIMEOUT = 20.0


class Console:
    """A simulator process: type command lines into it, wait for a line it prints (every line is echoed)."""

    def __init__(self, name: str, *arguments: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, str(SIMULATOR), *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            print(f"{self.name:>8} | {line.rstrip()}", flush=True)
            self._lines.put(line.rstrip())

    def type(self, line: str) -> None:
        print(f"{self.name:>8} > {line}", flush=True)
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait_for(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if match := regex.search(line):
                return match
        raise LookupError(f"{self.name} did not print a line matching {pattern!r} within {timeout:g} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # the simulator stops when its input ends
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def demo() -> None:
    consoles: list[Console] = []
    try:
        print("demo: cs-one starts with --cluster alone: an embedded nats-server", flush=True)
        one = Console("cs-one", "start_cs", "0", "--cluster", "--node", "cs-one")
        consoles.append(one)
        url = one.wait_for(r"embedded nats-server at (nats://\S+)")[1]
        port_one = one.wait_for(r"cs: listening on ws://127\.0\.0\.1:(\d+)")[1]

        print(f"demo: cs-two joins the same cluster ({url}) on another port", flush=True)
        two = Console("cs-two", "start_cs", "0", "--cluster", url, "--node", "cs-two")
        consoles.append(two)
        two.wait_for(r"cs: listening on ws://127\.0\.0\.1:\d+")

        print(f"demo: charge point CP1 connects to cs-one (port {port_one})", flush=True)
        charger = Console("charger", "start_cp", f"ws://127.0.0.1:{port_one}", "CP1")
        consoles.append(charger)
        charger.wait_for(r"cp#CP1: connected to ")

        print("demo: on cs-two, list the charge points connected cluster-wide", flush=True)
        for _ in range(50):  # presence reaches every node within milliseconds
            two.type("list")
            if two.wait_for(r"cs: (\d+) charge point\(s\) connected cluster-wide")[1] == "1":
                break
            time.sleep(0.1)
        two.wait_for(r"cs:\s+CP1\s+node=cs-one\s+websocket\s+ocpp1\.6")

        print("demo: on cs-two, reset CP1, which is connected to cs-one", flush=True)
        two.type('remote_reset --remote-id CP1 type="Soft"')
        charger.wait_for(r'cp#CP1: <<cs \[2,"[\w-]+","Reset",\{"type":"Soft"\}\]')
        one.wait_for(r'cs: <<cp#CP1 \[3,"[\w-]+",\{"status":"Accepted"\}\]')
        two.wait_for(r'cs: cp#CP1 \(node cs-one\): Reset answered \{"status":"Accepted"\}')
        two.type("list")
        two.wait_for(r"cs:\s+CP1\s+node=cs-one")
        time.sleep(0.2)  # the last lines printed
    finally:
        for console in reversed(consoles):  # cs-one, holding the embedded nats-server, stops last
            console.stop()


def main() -> int:
    try:
        demo()
    except LookupError as missing:
        print(f"demo: FAILED: {missing}", flush=True)
        return 1
    print("demo: OK: a reset typed on cs-two reached CP1 on cs-one through the cluster, and came back", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
