"""Every core: ``workers=N`` central system processes on one port, sharing the cluster.

One Python process uses one core. :func:`serve_workers` starts N worker processes (the ``spawn`` start
method: each a fresh interpreter), each running a :class:`~ocpprpc.server.CentralSystemServer` joined to a
:class:`~ocpprpc.cluster.Cluster` node and listening on the *same* host and port with ``SO_REUSEPORT``, so
the kernel spreads the charge points' connections over them; together they are one central system (any
worker calls any charge point, presence is cluster-wide). With no NATS URL the parent starts one
:class:`~ocpprpc.cluster.EmbeddedNats` and hands its URL to the workers, so ``workers=2`` needs no setup::

    # myapp.py
    class MyCentralSystem(CentralSystem): ...

    async def setup(server: CentralSystemServer[MyCentralSystem], cluster: Cluster) -> None:
        server.add_listener(on_connect=lambda role: print("connected", role.id))

    if __name__ == "__main__":
        serve_workers(MyCentralSystem, host="0.0.0.0", port=9000, workers=2, setup=setup)

What crosses to a worker is pickled, so the role factory and ``setup`` are named, not built: a class or a
function defined at the top level of an importable module (pickled by reference), or a
``"module:attribute"`` string the worker imports. A script's own classes work when the script keeps its
start under ``if __name__ == "__main__":`` (the worker imports the script without running that part).

Supervision (the parent): SIGINT / SIGTERM stop every worker gracefully (each closes its transports, so its
charge points get a WebSocket close 1001 and reconnect elsewhere, and leaves the cluster), then the
embedded NATS; a worker that dies unexpectedly is started again after a backoff (0.1 s, doubling up to
5 s, back to 0.1 s once a worker has run for a minute), each death logged on ``ocpprpc.cluster``. A
worker that cannot start at all when the workers first start (a bad import, a port taken) stops the
others and raises :class:`WorkerFailed` with its error. Workers die with the parent (Linux
``PR_SET_PDEATHSIG``), so a killed parent leaves no orphan. The parent holds the port (a bound
``SO_REUSEPORT`` socket that does not listen) while it runs, so a restarted worker finds it free and
``port=0`` picks one port for all of them.

``workers=1`` runs the node in the calling process: no child, no supervision, no ``SO_REUSEPORT`` needed
(so it runs on every platform); a crash is the process's, for systemd or a container runtime to restart.
More than one worker needs ``SO_REUSEPORT`` (Linux, the BSDs, macOS; on Linux the kernel spreads
connections evenly): elsewhere :func:`serve_workers` raises :class:`~ocpprpc.errors.UsageError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import ssl as ssl_module
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Protocol

from ..errors import OcppRpcError, UsageError
from ..server import CentralSystemServer
from ._cluster import Cluster
from ._embedded import EmbeddedNats, _die_with_parent

__all__ = ["WorkerFailed", "WorkerSpec", "Workers", "run_worker", "serve_workers"]

_log = logging.getLogger("ocpprpc.cluster")

RESTART_BACKOFF_INITIAL = 0.1
"""Seconds before the first restart of a worker that died."""
RESTART_BACKOFF_MAX = 5.0
"""The longest wait before a restart (the wait doubles at each death in a row)."""
STABLE_AFTER = 60.0
"""A worker that ran this long before dying is restarted after the initial backoff again."""
_POLL = 0.05
"""How often the parent looks at its workers (seconds)."""

LOG_FORMAT = "%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"
"""How workers given a ``log_level`` log: the process id tells the workers apart."""

Ref = str | Callable[..., Any]
"""A role factory or setup: the object (pickled by reference) or ``"module:attribute"``."""


class _PipeEnd(Protocol):
    """One end of the pipe between the parent and a worker (what both platforms' connections have)."""

    def send(self, obj: Any, /) -> None: ...
    def recv(self) -> Any: ...
    def poll(self, timeout: float | None = 0.0, /) -> bool: ...
    def close(self) -> None: ...


class WorkerFailed(OcppRpcError):
    """A worker process could not start (its error, as the worker printed it, is in the message)."""


def resolve(ref: Ref) -> Any:
    """``"package.module:Class"`` → the object (imported here); anything else is returned as it is."""
    if not isinstance(ref, str):
        return ref
    module_name, _, attribute = ref.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"{ref!r} is not 'module:attribute'")
    thing: Any = importlib.import_module(module_name)
    for name in attribute.split("."):
        thing = getattr(thing, name)
    return thing


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker runs: everything in it crosses to the worker process, so it is picklable.

    ``factory``: the role class or ``(charge_point_id, version) -> role`` factory (or its
    ``"module:attribute"``); ``versions``: the versions served (default: the factory's, see
    :class:`~ocpprpc.server.CentralSystemServer`). ``port``: the WebSocket port (None: no WebSocket);
    ``soap_port``: the SOAP port (None: no SOAP). ``websocket_options`` / ``soap_options`` go to
    :func:`ocpprpc.transports.websocket.serve` / :func:`ocpprpc.transports.soap.serve` (``path``,
    ``auth``, ...: picklable values); ``ssl``: a function (or ``"module:function"``) making the server's
    TLS context in the worker (a context cannot be pickled). ``nats_url``: the cluster (None: the parent's
    embedded one; with one worker, the node's own); ``cluster_options`` go to
    :class:`~ocpprpc.cluster.Cluster` (``events``, ``prefix``, ``heartbeat``, ...). ``node_name``: worker
    ``i``'s node id is ``<node_name>-w<i>-<pid>`` (default: the host name), a new id per process life.
    ``setup(server, cluster)``: see :func:`serve_workers`.
    """

    factory: Ref
    host: str = "127.0.0.1"
    port: int | None = 9000
    soap_port: int | None = None
    versions: tuple[str, ...] | None = None
    nats_url: str | None = None
    setup: Ref | None = None
    websocket_options: Mapping[str, Any] = field(default_factory=dict[str, Any])
    soap_options: Mapping[str, Any] = field(default_factory=dict[str, Any])
    ssl: Ref | None = None
    cluster_options: Mapping[str, Any] = field(default_factory=dict[str, Any])
    node_name: str | None = None
    log_level: str | int | None = None
    """A worker logs to stderr at this level (``logging.basicConfig``); None: it configures no logging."""
    reuse_port: bool = False
    """Listen with ``SO_REUSEPORT`` (set by :class:`Workers`: several processes on one port)."""

    def node_id(self, index: int) -> str:
        return f"{self.node_name or socket.gethostname()}-w{index}-{os.getpid()}"


@dataclass(frozen=True)
class Ready:
    """A worker's word that it listens and is joined: its node id and the ports it listens on."""

    node_id: str
    pid: int
    port: int | None
    soap_port: int | None


async def run_worker(
    spec: WorkerSpec, index: int = 1, *, stop: asyncio.Event, on_ready: Callable[[Ready], None] | None = None
) -> None:
    """Run one node in this process until ``stop`` is set: join the cluster, run ``setup``, listen.

    Stopping closes the transports first (charge points get a close and reconnect elsewhere), then what
    ``setup`` entered, then the node leaves the cluster. A worker process runs this; so does
    :func:`serve_workers` with one worker.
    """
    from ..transports import soap, websocket

    factory = resolve(spec.factory)
    cluster = Cluster(spec.nats_url, node_id=spec.node_id(index), **spec.cluster_options)
    server: CentralSystemServer[Any] = CentralSystemServer(factory, versions=spec.versions, cluster=cluster)
    reuse = spec.reuse_port
    context: ssl_module.SSLContext | None = resolve(spec.ssl)() if spec.ssl is not None else None
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(cluster)
        if spec.setup is not None:
            made = resolve(spec.setup)(server, cluster)
            if hasattr(made, "__aenter__"):
                await stack.enter_async_context(made)
            elif inspect.isawaitable(made):
                await made
        ws_port = soap_port = None
        if spec.port is not None:
            options: dict[str, Any] = {"ssl": context, **spec.websocket_options}
            ws = websocket.serve(server, spec.host, spec.port, reuse_port=reuse, **options)
            ws_port = (await stack.enter_async_context(ws)).port
        if spec.soap_port is not None:
            options = {"ssl": context, **spec.soap_options}
            endpoint = soap.serve(server, spec.host, spec.soap_port, reuse_port=reuse, **options)
            soap_port = (await stack.enter_async_context(endpoint)).port
        if on_ready is not None:
            on_ready(Ready(cluster.node_id, os.getpid(), ws_port, soap_port))
        await stop.wait()


def _reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


# -- the worker process ---------------------------------------------------------------------------------


def _worker_main(spec: WorkerSpec, index: int, pipe: _PipeEnd) -> None:
    """A worker process: run the node until SIGTERM / SIGINT; tell the parent when ready or why it failed."""
    if sys.platform == "linux":
        _die_with_parent()
    parent = os.getppid()
    if parent == 1:  # the parent died before the death signal was armed
        sys.exit(1)
    if spec.log_level is not None:
        logging.basicConfig(level=spec.log_level, format=LOG_FORMAT)
    try:
        asyncio.run(_worker_async(spec, index, pipe))
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        with contextlib.suppress(OSError):
            pipe.send(("failed", "".join(traceback.format_exception(exc)).rstrip()))
        sys.exit(1)


def _stop_on_signals() -> asyncio.Event:
    """An event that SIGTERM or SIGINT sets (a graceful stop), for the running event loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _worker_async(spec: WorkerSpec, index: int, pipe: _PipeEnd) -> None:
    stop = _stop_on_signals()

    def ready(what: Ready) -> None:
        pipe.send(("ready", what))

    await run_worker(spec, index, stop=stop, on_ready=ready)


# -- the parent ------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Slot:
    """One worker place: the process running in it now, and its restart bookkeeping."""

    index: int
    process: BaseProcess | None = None
    pipe: _PipeEnd | None = None
    ready: Ready | None = None
    started_at: float = 0.0
    backoff: float = RESTART_BACKOFF_INITIAL
    restart_at: float | None = None
    error: str | None = None


class Workers:
    """N worker processes serving ``spec`` on one port, supervised (the async side of :func:`serve_workers`).

    ``async with Workers(spec, 2) as workers:`` starts the embedded NATS (when ``spec.nats_url`` is None)
    and the workers, and returns once every one listens and has joined (:class:`WorkerFailed` if one
    cannot start within ``start_timeout``); leaving stops them (SIGTERM; SIGKILL after ``stop_timeout``)
    and the embedded NATS. Meanwhile a worker that dies is started again (see the module docstring).
    :attr:`nodes` / :attr:`pids` say who runs now, :attr:`restarts` how many restarts there were.
    """

    def __init__(
        self,
        spec: WorkerSpec,
        workers: int = 2,
        *,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        if workers < 1:
            raise UsageError("workers is at least 1")
        if not _reuse_port_supported():
            raise UsageError("several workers on one port need SO_REUSEPORT, which this platform lacks; use workers=1")
        if spec.port is None and spec.soap_port is None:
            raise UsageError("workers listen on a WebSocket port, a SOAP port or both")
        try:
            pickle.dumps(spec)
        except Exception as exc:
            raise UsageError(
                f"what a worker runs is pickled ({exc}): give the role factory and setup as top-level classes or "
                "functions of an importable module, or as 'module:attribute' strings, and picklable options"
            ) from None
        self.spec = replace(spec, reuse_port=True)
        self.count = workers
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.embedded: EmbeddedNats | None = None
        """The nats-server started for the workers when the spec names no NATS URL."""
        self.restarts = 0
        """How many times a worker was started again after it died."""
        self._slots = [_Slot(index) for index in range(1, workers + 1)]
        self._held: list[socket.socket] = []
        self._context = multiprocessing.get_context("spawn")
        self._supervising: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def nats_url(self) -> str:
        """The NATS URL the workers use."""
        return self.spec.nats_url or ""

    @property
    def port(self) -> int | None:
        """The WebSocket port every worker listens on (the one picked, when ``spec.port`` was 0)."""
        return self.spec.port

    @property
    def soap_port(self) -> int | None:
        return self.spec.soap_port

    @property
    def nodes(self) -> dict[int, str]:
        """Worker index → node id of the process serving in it now (ready ones only)."""
        return {slot.index: slot.ready.node_id for slot in self._slots if slot.ready is not None}

    @property
    def pids(self) -> dict[int, int]:
        """Worker index → process id of the process in it now (started, maybe not ready yet)."""
        return {
            slot.index: slot.process.pid
            for slot in self._slots
            if slot.process is not None and slot.process.pid is not None and slot.process.is_alive()
        }

    async def __aenter__(self) -> Workers:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start NATS (if embedded) and every worker; return once all are ready."""
        try:
            self._hold_ports()
            if self.spec.nats_url is None:
                self.embedded = EmbeddedNats()
                await self.embedded.start()
                self.spec = replace(self.spec, nats_url=self.embedded.url)
            for slot in self._slots:
                self._spawn(slot)
            async with asyncio.timeout(self.start_timeout):
                while not all(slot.ready is not None for slot in self._slots):
                    for slot in self._slots:
                        self._read(slot)
                        if slot.ready is None and slot.process is not None and not slot.process.is_alive():
                            why = slot.error or f"it exited with status {slot.process.exitcode}"
                            raise WorkerFailed(f"worker {slot.index} did not start: {why}")
                    await asyncio.sleep(_POLL)
        except TimeoutError:
            await self.close()
            raise WorkerFailed(f"the workers were not all ready within {self.start_timeout:g} s") from None
        except BaseException:
            await self.close()
            raise
        _log.info(
            "cluster: %d workers on %s (nodes %s), NATS %s",
            self.count,
            ", ".join(f"{kind} port {port}" for kind, port in (("ws", self.port), ("soap", self.soap_port)) if port),
            ", ".join(self.nodes.values()),
            self.nats_url,
        )
        self._supervising = asyncio.create_task(self._supervise(), name="ocpprpc-workers")

    async def wait(self) -> None:
        """Wait until the workers are closed."""
        if self._supervising is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._supervising)

    async def close(self) -> None:
        """Stop every worker gracefully (SIGTERM; SIGKILL after ``stop_timeout``), then the embedded NATS."""
        self._stopping = True
        if self._supervising is not None:
            self._supervising.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervising
        running = [slot.process for slot in self._slots if slot.process is not None]
        for process in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: a graceful stop
        deadline = time.monotonic() + self.stop_timeout
        while any(process.is_alive() for process in running) and time.monotonic() < deadline:
            await asyncio.sleep(_POLL / 5)
        for process in running:
            if process.is_alive():
                _log.warning("cluster: worker pid %s did not stop within %g s; killed", process.pid, self.stop_timeout)
                process.kill()
            process.join()
            process.close()
        for slot in self._slots:
            slot.process = None
            if slot.pipe is not None:
                slot.pipe.close()
                slot.pipe = None
        if self.embedded is not None:
            await self.embedded.stop()
        for held in self._held:
            held.close()
        self._held.clear()

    # -- inside ------------------------------------------------------------------------------------------

    def _hold_ports(self) -> None:
        """Bind (without listening) each port with SO_REUSEPORT: port 0 becomes one free port for all
        workers, a port in use fails here, and the port stays ours while workers restart."""
        ports = {"port": self.spec.port, "soap_port": self.spec.soap_port}
        family = socket.AF_INET6 if ":" in self.spec.host else socket.AF_INET
        for name, port in ports.items():
            if port is None:
                continue
            held = socket.socket(family, socket.SOCK_STREAM)
            held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            try:
                held.bind((self.spec.host, port))
            except OSError as exc:
                held.close()
                raise UsageError(f"cannot listen on {self.spec.host} port {port}: {exc.strerror}") from None
            self._held.append(held)
            bound = int(held.getsockname()[1])
            self.spec = replace(self.spec, port=bound) if name == "port" else replace(self.spec, soap_port=bound)

    def _spawn(self, slot: _Slot) -> None:
        ours, theirs = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_worker_main, args=(self.spec, slot.index, theirs), name=f"ocpprpc-worker-{slot.index}"
        )
        process.start()
        theirs.close()
        if slot.pipe is not None:
            slot.pipe.close()
        slot.process, slot.pipe, slot.ready, slot.error = process, ours, None, None
        slot.started_at, slot.restart_at = time.monotonic(), None

    def _read(self, slot: _Slot) -> None:
        pipe = slot.pipe
        try:
            while pipe is not None and pipe.poll():
                kind, what = pipe.recv()
                if kind == "ready" and isinstance(what, Ready):
                    slot.ready = what
                elif kind == "failed":
                    slot.error = str(what)
        except (EOFError, OSError):
            pass

    async def _supervise(self) -> None:
        while not self._stopping:
            now = time.monotonic()
            for slot in self._slots:
                self._read(slot)
                process = slot.process
                if slot.restart_at is not None:
                    if now >= slot.restart_at:
                        self.restarts += 1
                        self._spawn(slot)
                    continue
                if process is None or process.is_alive():
                    continue
                process.join()
                code = process.exitcode
                node = slot.ready.node_id if slot.ready is not None else "not ready"
                if now - slot.started_at >= STABLE_AFTER:
                    slot.backoff = RESTART_BACKOFF_INITIAL
                _log.warning(
                    "cluster: worker %d (pid %s, node %s) exited with %s; starting it again in %g s%s",
                    slot.index,
                    process.pid,
                    node,
                    f"signal {-code}" if code is not None and code < 0 else f"status {code}",
                    slot.backoff,
                    f": {slot.error.splitlines()[-1]}" if slot.error else "",
                )
                process.close()
                slot.process, slot.ready = None, None
                slot.restart_at = now + slot.backoff
                slot.backoff = min(slot.backoff * 2, RESTART_BACKOFF_MAX)
            await asyncio.sleep(_POLL)


# -- the entry point -------------------------------------------------------------------------------------


def serve_workers(
    factory: Ref,
    *,
    host: str = "127.0.0.1",
    port: int | None = 9000,
    workers: int = 2,
    nats_url: str | Sequence[str] | None = None,
    versions: Sequence[str] | None = None,
    setup: Ref | None = None,
    soap_port: int | None = None,
    websocket_options: Mapping[str, Any] | None = None,
    soap_options: Mapping[str, Any] | None = None,
    ssl: Ref | None = None,
    cluster_options: Mapping[str, Any] | None = None,
    node_name: str | None = None,
    log_level: str | int | None = None,
    stop_timeout: float = 10.0,
) -> None:
    """Serve charge points with ``workers`` processes on one port, sharing the cluster, until SIGINT / SIGTERM.

    ``factory``: the role class (or ``(charge_point_id, version) -> role`` function), or its
    ``"module:attribute"``. ``host``, ``port``: where charge points connect over WebSocket (None: no
    WebSocket); ``soap_port``: also serve OCPP 1.x over SOAP there. ``nats_url``: the NATS servers (None:
    an embedded nats-server, started here and stopped at the end). ``setup(server, cluster)``, run in
    every worker once it joined and before it listens: sync, async, or returning an async context
    manager (``contextlib.asynccontextmanager``) that stays entered while the worker runs, for what a worker
    opens and closes (a database pool). ``websocket_options`` / ``soap_options`` (``path``, ``auth``,
    ``ping_interval`` ...), ``ssl`` (a function making the TLS context), ``cluster_options`` (``events``,
    ``prefix``, ...), ``node_name``, ``log_level`` (workers start with no logging configured: a spawned
    process does not inherit the parent's): see :class:`WorkerSpec`.

    Returns once stopped by a signal (after every worker and the embedded NATS stopped). Raises
    :class:`WorkerFailed` when a worker cannot start, :class:`~ocpprpc.errors.UsageError` for an
    unpicklable factory or, with more than one worker, a platform without ``SO_REUSEPORT``. One worker
    runs in this process (see the module docstring).
    """
    nats = nats_url if nats_url is None or isinstance(nats_url, str) else ",".join(nats_url)
    spec = WorkerSpec(
        factory,
        host=host,
        port=port,
        soap_port=soap_port,
        versions=tuple(versions) if versions is not None else None,
        nats_url=nats,
        setup=setup,
        websocket_options=dict(websocket_options or {}),
        soap_options=dict(soap_options or {}),
        ssl=ssl,
        cluster_options=dict(cluster_options or {}),
        node_name=node_name,
        log_level=log_level,
    )
    asyncio.run(_serve(spec, workers, stop_timeout))


async def _serve(spec: WorkerSpec, count: int, stop_timeout: float) -> None:
    stop = _stop_on_signals()
    if count == 1:
        await run_worker(spec, 1, stop=stop)
        return
    async with Workers(spec, count, stop_timeout=stop_timeout):
        await stop.wait()
        _log.info("cluster: stopping the workers")
