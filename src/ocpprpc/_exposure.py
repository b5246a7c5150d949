"""What every listening transport shares to be safe on the open internet: connection caps, quiet accept errors.

Theory of operation
-------------------
Each accepted TCP connection costs a file descriptor; when the process runs out, ``accept()`` fails with
EMFILE and *every* listener of the process stops taking charge points. A peer can cause that with
sockets it opens and never uses. So every server of ocpprpc admits a connection through a
:class:`ConnectionGate` before doing anything with it: at most ``max_connections`` at once (by default
below the process's file limit, leaving room for the application's own files and sockets) and at most
``max_per_address`` from one source address. A connection over a cap is closed at once. Servers of
one process share one gate by default (:func:`shared_gate`), because they share the file limit.

Should EMFILE still happen (the application's own descriptors), asyncio logs each failed accept as an
error with a traceback, once a second per listener. :func:`quiet_accept_errors` turns those into one
warning line per :data:`ACCEPT_ERROR_LOG_INTERVAL` with a count; the listener recovers by itself
(asyncio retries the accept a second later). Every other exception still reaches the previous handler.

:func:`warn_if_exposed` logs one clear warning when a server without authentication listens on an
address other than loopback: anyone who can reach it can then open, or replace, any charge point's
session.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
import resource
import time
from typing import Any, TypeAlias

__all__ = [
    "ACCEPT_ERROR_LOG_INTERVAL",
    "DEFAULT_MAX_PER_ADDRESS",
    "ConnectionGate",
    "PeerName",
    "default_max_connections",
    "is_loopback",
    "peer_address",
    "quiet_accept_errors",
    "restore_accept_errors",
    "shared_gate",
    "warn_if_exposed",
]

_log = logging.getLogger("ocpprpc.exposure")

DEFAULT_MAX_PER_ADDRESS = 256
"""Connections from one source address at once, by default.

Room for many charge points behind one carrier-grade NAT; far below what exhausts a process. Behind a
load balancer or reverse proxy every connection comes from its address: raise it (or pass None)."""

ACCEPT_ERROR_LOG_INTERVAL = 10.0
"""Seconds between two log lines about failed accepts (running out of file descriptors)."""


def default_max_connections() -> int:
    """Connections at once by default: the process's file limit less a tenth (at least 256) for everything else.

    The reserve also covers a burst: asyncio accepts up to 100 connections per listener in one go before
    any of them reaches the gate, and a process may have a listener per transport."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        soft = 1 << 20
    return max(16, soft - max(256, soft // 10))


class ConnectionGate:
    """Counts open connections, in all and per source address, and refuses those over a cap.

    ``max_connections`` None: :func:`default_max_connections`, read when the gate is made;
    ``max_per_address`` None: no cap per address.
    """

    def __init__(self, max_connections: int | None = None, max_per_address: int | None = DEFAULT_MAX_PER_ADDRESS):
        self.max_connections = default_max_connections() if max_connections is None else max_connections
        self.max_per_address = max_per_address
        self._per_address: collections.Counter[str] = collections.Counter()
        self._open = 0
        self.refused = 0
        """Connections refused so far (for monitoring)."""
        self._last_refusal_log = 0.0
        self._refusals_unlogged = 0

    @property
    def open(self) -> int:
        """Connections admitted and not yet released."""
        return self._open

    def count(self, address: str) -> int:
        """Connections admitted from ``address`` and not yet released."""
        return self._per_address.get(address, 0)

    def admit(self, address: str) -> bool:
        """Count a new connection from ``address``; False (and nothing counted) when a cap is reached."""
        if self._open >= self.max_connections:
            self._refuse(address, f"{self._open} connections open (max_connections)")
            return False
        if self.max_per_address is not None and self._per_address[address] >= self.max_per_address:
            self._refuse(address, f"{self._per_address[address]} connections from it (max_per_address)")
            return False
        self._open += 1
        self._per_address[address] += 1
        return True

    def release(self, address: str) -> None:
        """Uncount a connection :meth:`admit` counted."""
        self._open -= 1
        left = self._per_address[address] - 1
        if left > 0:
            self._per_address[address] = left
        else:
            del self._per_address[address]

    def _refuse(self, address: str, why: str) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self._last_refusal_log < ACCEPT_ERROR_LOG_INTERVAL:
            self._refusals_unlogged += 1
            return
        more = f" ({self._refusals_unlogged} more refused since the last such line)" if self._refusals_unlogged else ""
        _log.warning("refused a connection from %s: %s%s", address, why, more)
        self._last_refusal_log, self._refusals_unlogged = now, 0


_shared: ConnectionGate | None = None


def shared_gate() -> ConnectionGate:
    """The process's default gate, shared by every server that is not given one of its own."""
    global _shared
    if _shared is None:
        _shared = ConnectionGate()
    return _shared


PeerName: TypeAlias = tuple[object, ...] | str | bytes | None
"""A socket's ``peername``: (host, port, ...) for IP, a path for a Unix socket, None when unknown."""


def peer_address(transport: asyncio.BaseTransport) -> str:
    """The source address (host only) of an accepted connection, ``"?"`` when unknown."""
    peer: PeerName = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return "?" if not peer else str(peer)


# -- accept errors ------------------------------------------------------------------------------------

_ACCEPT_ERROR = "socket.accept() out of system resource"


class _QuietAcceptErrors:
    """A loop exception handler: failed accepts → a rate-limited line; everything else → the previous one."""

    def __init__(self, previous: Any) -> None:
        self.previous = previous
        self.users = 0
        self._last_log = 0.0
        self._unlogged = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != _ACCEPT_ERROR:
            if self.previous is not None:
                self.previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if now - self._last_log < ACCEPT_ERROR_LOG_INTERVAL:
            self._unlogged += 1
            return
        more = f"; {self._unlogged} more since the last such line" if self._unlogged else ""
        _log.warning(
            "cannot accept connections: %s (out of file descriptors?); retrying every second%s",
            context.get("exception"),
            more,
        )
        self._last_log, self._unlogged = now, 0


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Rate-limit failed-accept errors on ``loop`` (each server calls it when it starts; idempotent)."""
    handler = loop.get_exception_handler()
    if isinstance(handler, _QuietAcceptErrors):
        handler.users += 1
        return
    quiet = _QuietAcceptErrors(handler)
    quiet.users = 1
    loop.set_exception_handler(quiet)


def restore_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Undo one :func:`quiet_accept_errors` (each server calls it when it closes)."""
    handler = loop.get_exception_handler()
    if isinstance(handler, _QuietAcceptErrors):
        handler.users -= 1
        if handler.users <= 0:
            loop.set_exception_handler(handler.previous)


# -- exposure -------------------------------------------------------------------------------------------


def is_loopback(host: str | None) -> bool:
    """True when ``host`` names only this machine (127.0.0.0/8, ::1, localhost)."""
    if not host:
        return False  # all interfaces
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def warn_if_exposed(what: str, host: str | None, authenticated: bool) -> None:
    """One warning when ``what`` (e.g. "WebSocket central system") listens beyond loopback without auth."""
    if authenticated or is_loopback(host):
        return
    _log.warning(
        "%s listens on %s without authentication: anyone who can reach it can open or replace any charge "
        "point's session; pass auth=... (and TLS) unless a trusted proxy authenticates",
        what,
        host or "all interfaces",
    )
