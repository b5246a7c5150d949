"""What every charge point client shares: staying connected, with one back-off policy.

A client (``websocket.connect``, ``soap.connect``) runs one background task: open a connection
(a WebSocket handshake; for SOAP, reaching the central system's HTTP endpoint), attach it to the
charge point through a :class:`~ocpprpc.connection.Connection`, serve it until it is lost, wait, open
again. The waits follow a :class:`Backoff`; they start over after a connection that opened. Only the
opening and the serving are the transport's (:meth:`KeepConnected._open`, :meth:`KeepConnected._serve`).

The contract of ``async with client:`` is the same for every transport: it starts the client and waits
until the first connection is attached, up to ``open_timeout`` (failed attempts meanwhile are retried
per the back-off), else raises :class:`~ocpprpc.connection.NotConnected` with the last failure. Leaving
the block stops reconnecting and closes the connection; transaction messages still queued stay in the
charge point's outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, Self, TypeVar

from ._identity import loggable
from ._link import NotConnected
from .errors import UsageError
from .roles import ChargePoint

__all__ = ["Backoff", "KeepConnected"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long a client waits before each new attempt to connect: exponential, capped, with jitter.

    The nominal wait after ``n`` failures in a row (``n`` = 0 right after a connection is lost) is
    ``min(initial * factor ** n, max)``; each actual wait is that shortened by a random fraction of up
    to ``jitter`` (uniformly between ``(1 - jitter)`` times the nominal wait and the nominal wait), so a
    fleet of charge points does not reconnect in lock step after a central system restart, and no wait
    is ever longer than ``max``. A connection that opens starts the sequence over.
    """

    initial: float = 1.0
    """Seconds of the first wait (> 0)."""
    max: float = 60.0
    """The longest wait in seconds (>= ``initial``)."""
    factor: float = 2.0
    """How much each failure in a row multiplies the wait (>= 1)."""
    jitter: float = 0.5
    """The largest fraction a wait is shortened by at random (0 to 1; 0: no randomness)."""

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.max and self.factor >= 1 and 0 <= self.jitter <= 1):
            raise UsageError(f"a Backoff needs 0 < initial <= max, factor >= 1 and 0 <= jitter <= 1, not {self!r}")

    def nominal(self, failures: int) -> float:
        """The wait before jitter after ``failures`` failures in a row."""
        if failures > 64:  # beyond any useful factor ** n: no float overflow
            return self.max
        return min(self.initial * self.factor**failures, self.max)

    def delay(self, failures: int) -> float:
        """A wait after ``failures`` failures in a row, jitter applied."""
        return self.nominal(failures) * (1 - self.jitter * random.random())


OpenedT = TypeVar("OpenedT")


class KeepConnected(Generic[OpenedT]):
    """A charge point's client that keeps itself connected: the loop both transports share.

    Subclasses implement :meth:`_open` (one attempt to connect, raising on failure; it gives an
    ``OpenedT``) and :meth:`_serve` (attach the connection, call :meth:`_attached` once attached, return
    when it is lost), and may override :meth:`_describe_error`.
    """

    def __init__(
        self,
        charge_point: ChargePoint,
        *,
        label: str,
        target: str,
        open_timeout: float,
        reconnect: bool,
        backoff: Backoff,
    ) -> None:
        if not isinstance(backoff, Backoff):
            raise UsageError(f"backoff is a Backoff(initial, max, factor, jitter), not {backoff!r}")
        if open_timeout <= 0:
            raise UsageError(f"open_timeout is a number of seconds > 0, not {open_timeout}")
        if charge_point.version not in type(charge_point).versions:
            raise UsageError(
                f"{type(charge_point).__name__} speaks OCPP {', '.join(type(charge_point).versions)}, "
                f"not {charge_point.version}"
            )
        self.charge_point = charge_point
        self.open_timeout = open_timeout
        """Seconds one attempt may take; also how long ``async with`` waits for the first connection."""
        self.reconnect = reconnect
        """Whether to connect again after a lost connection or a failed attempt."""
        self.backoff = backoff
        """The waits between attempts."""
        self._label = label
        self._target = target
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._wake = asyncio.Event()
        self._up = asyncio.Event()
        self._stopped = asyncio.Event()
        self.last_error: BaseException | None = None
        """Why the last attempt to connect failed (None once one succeeds)."""

    async def __aenter__(self) -> Self:
        await self.start()
        try:
            await self.wait_connected(self.open_timeout)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        """True while a connection is open and attached to the charge point."""
        return self._up.is_set() and self.charge_point.connected

    async def start(self) -> Self:
        """Start connecting in the background (returns at once; see :meth:`wait_connected`)."""
        if self._task is not None:
            raise UsageError("the client is already started")
        await self._prepare()
        self._task = asyncio.create_task(self._keep_connected(), name=f"ocpprpc-{self._label}")
        return self

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until connected; :class:`NotConnected` (with the last failure) on timeout or when stopped."""
        if self._task is None:
            raise UsageError("start() the client first")
        up = asyncio.ensure_future(self._up.wait())
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({up, stopped}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            up.cancel()
            stopped.cancel()
        if self.connected:
            return
        why = "the client stopped" if self._stopped.is_set() else f"not connected within {timeout} s"
        if self.last_error is not None:
            why += f"; last error: {self._describe_error(self.last_error)}"
        raise NotConnected(f"{self._label}: {why}", self.last_error) from self.last_error

    async def close(self) -> None:
        """Stop reconnecting and close the connection. Idempotent."""
        self._closing = True
        self._wake.set()
        task = self._task
        if task is not None and not task.done():
            if not await self._disconnect():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._finish()

    # -- for subclasses ---------------------------------------------------------------------------------

    async def _prepare(self) -> None:
        """Set up what the connections need (e.g. a listening port) before the first attempt."""

    async def _finish(self) -> None:
        """Release what :meth:`_prepare` set up, once closed."""

    async def _open(self) -> OpenedT:
        """One attempt to connect; what :meth:`_serve` serves. Raises on failure."""
        raise NotImplementedError

    async def _serve(self, opened: OpenedT, /) -> None:
        """Attach the opened connection, call :meth:`_attached`, return once it is lost."""
        raise NotImplementedError

    async def _disconnect(self) -> bool:
        """Close the current connection, if any, so that :meth:`_serve` returns; False when there was none."""
        raise NotImplementedError

    def _describe_error(self, exc: BaseException) -> str:
        return f"{type(exc).__name__}: {loggable(str(exc))}" if str(exc) else type(exc).__name__

    def _attached(self) -> None:
        """The connection being served is attached: ``wait_connected`` returns."""
        self._up.set()

    # -- the background task --------------------------------------------------------------------------

    async def _keep_connected(self) -> None:
        log = logging.getLogger(f"ocpprpc.{self._transport}")
        waits = 0  # since the last connection that opened
        try:
            while not self._closing:
                try:
                    opened = await self._open()
                except Exception as exc:
                    self.last_error = exc
                    log.info("%s: cannot connect to %s: %s", self._label, self._target, self._describe_error(exc))
                else:
                    self.last_error = None
                    waits = 0
                    try:
                        await self._serve(opened)
                    finally:
                        self._up.clear()
                if self._closing:
                    break
                if not self.reconnect:
                    log.info("%s: not reconnecting (reconnect=False)", self._label)
                    break
                pause = self.backoff.delay(waits)
                waits += 1
                log.info("%s: reconnecting in %.2f s", self._label, pause)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._wake.wait()
        finally:
            self._stopped.set()

    _transport = "client"
    """The logger's last part (``ocpprpc.websocket``, ``ocpprpc.soap``)."""
