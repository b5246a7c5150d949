"""Deadlines for inbound handlers without a timer per call.

``asyncio.timeout`` arms and cancels a timer-heap entry for every call, which the benchmarks showed to be
about a sixth of the server's CPU per OCPP call. Handler deadlines are coarse (seconds), so one ticker per
event loop checks every running handler a few times per deadline instead: a handler that overruns is
cancelled at most a quarter of its deadline late, and a call that finishes in time costs a clock read
and two dict operations. The ticker stops when nothing is watched, so an idle loop keeps no task for it.

Every handler runs under one, so the per-call path is kept short: the last event loop's watchdog is
remembered (a weak reference, not a WeakKeyDictionary lookup per call), the clock is read directly, and
the ticker's interval is recomputed only when a shorter deadline comes along.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
import weakref

__all__ = ["HandlerDeadline"]

_clock = time.monotonic
"""The watchdog's clock (the default event loop's own; only differences of its readings matter)."""


class _Watchdog:
    """One event loop's watched tasks and their ticker."""

    __slots__ = ("__weakref__", "deadlines", "expired", "generation", "loop", "shortest", "tick", "ticking")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.deadlines: dict[asyncio.Task[object], float] = {}
        self.expired: set[asyncio.Task[object]] = set()
        self.shortest = float("inf")
        """The shortest deadline watched since the ticker started (sets ``tick``)."""
        self.tick = 1.0
        self.ticking = False
        self.generation = 0
        """Which ticker is the current one: a shorter deadline starts a new one, the old one then stops."""

    def start(self, seconds: float) -> None:
        """A deadline of ``seconds`` is watched: tick at all, and often enough for it.

        A deadline shorter than those watched so far starts a new ticker at once (the current one may be
        asleep for a whole longer tick), so that it too is enforced at most a quarter of itself late.
        """
        shorter = seconds < self.shortest
        if shorter:
            self.shortest = seconds
            self.tick = min(1.0, max(seconds / 4, 0.01))
        if shorter or not self.ticking:
            self.ticking = True
            self.generation += 1
            # A fresh context: the ticker outlives the handler that started it and must not keep that
            # handler's context variables (and through them its connection) alive.
            self.loop.create_task(self._run(self.generation), context=contextvars.Context())

    async def _run(self, generation: int) -> None:
        try:
            while self.deadlines and generation == self.generation:
                await asyncio.sleep(self.tick)
                now = _clock()
                for task, deadline in list(self.deadlines.items()):
                    if deadline <= now and task not in self.expired:
                        self.expired.add(task)
                        task.cancel()
        finally:
            if generation == self.generation:
                self.ticking = False
                self.shortest = float("inf")
                self.tick = 1.0


_watchdogs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watchdog] = weakref.WeakKeyDictionary()
_last: tuple[weakref.ReferenceType[asyncio.AbstractEventLoop], _Watchdog] | None = None
"""The event loop whose watchdog was asked for last, and that watchdog: nearly always the one asked for."""


def _watchdog_of(loop: asyncio.AbstractEventLoop) -> _Watchdog:
    global _last
    last = _last
    if last is not None and last[0]() is loop:
        return last[1]
    watchdog = _watchdogs.get(loop)
    if watchdog is None:
        watchdog = _watchdogs[loop] = _Watchdog(loop)
    _last = (weakref.ref(loop), watchdog)
    return watchdog


class HandlerDeadline:
    """``with HandlerDeadline(seconds) as deadline:`` around awaiting a handler; then ``deadline.expired``.

    When the deadline passes, the current task is cancelled; the ``CancelledError`` that results is
    turned back into normal flow by :meth:`__exit__` (the cancellation is ``uncancel``-ed), so the caller
    just checks ``expired`` and answers InternalError. A cancellation from anywhere else propagates.
    """

    __slots__ = ("_task", "_watchdog", "expired", "seconds")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.expired = False
        self._task: asyncio.Task[object] | None = None

    def __enter__(self) -> HandlerDeadline:
        seconds = self.seconds
        if seconds is None:
            return self
        task = asyncio.current_task()
        if task is None:
            return self
        loop = task.get_loop()
        last = _last
        watchdog = last[1] if last is not None and last[0]() is loop else _watchdog_of(loop)
        watchdog.deadlines[task] = _clock() + seconds
        if seconds < watchdog.shortest or not watchdog.ticking:
            watchdog.start(seconds)
        self._task, self._watchdog = task, watchdog
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: object) -> bool:
        task = self._task
        if task is None:
            return False
        watchdog = self._watchdog
        watchdog.deadlines.pop(task, None)
        expired = watchdog.expired
        if expired and task in expired:
            expired.discard(task)
            task.uncancel()
            if kind is asyncio.CancelledError:
                self.expired = True
                return True  # swallow our own cancellation
            # The handler finished (or failed) just as the deadline passed: its outcome stands.
        return False
