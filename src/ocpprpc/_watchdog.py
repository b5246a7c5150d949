"""Deadlines for inbound handlers without a timer per call.

``asyncio.timeout`` arms and cancels a timer-heap entry for every call, which the benchmarks showed to be
about a sixth of the server's CPU per OCPP call. Handler deadlines are coarse (seconds), so one ticker per
event loop checks every running handler a few times per deadline instead: a handler that overruns is
cancelled at most a quarter of its deadline late, and a call that finishes in time costs two dict
operations. The ticker stops when nothing is watched, so an idle loop keeps no task for it.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref

__all__ = ["HandlerDeadline"]


class _Watchdog:
    """One event loop's watched tasks and their ticker."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.deadlines: dict[asyncio.Task[object], float] = {}
        self.expired: set[asyncio.Task[object]] = set()
        self.tick = 1.0
        self.ticker: asyncio.Task[None] | None = None

    def watch(self, task: asyncio.Task[object], seconds: float) -> None:
        self.deadlines[task] = self.loop.time() + seconds
        self.tick = min(self.tick, max(seconds / 4, 0.01))
        if self.ticker is None or self.ticker.done():
            # A fresh context: the ticker outlives the handler that started it and must not keep that
            # handler's context variables (and through them its connection) alive.
            self.ticker = self.loop.create_task(self._run(), context=contextvars.Context())

    async def _run(self) -> None:
        while self.deadlines:
            await asyncio.sleep(self.tick)
            now = self.loop.time()
            for task, deadline in list(self.deadlines.items()):
                if deadline <= now and task not in self.expired:
                    self.expired.add(task)
                    task.cancel()
        self.tick = 1.0


_watchdogs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Watchdog] = weakref.WeakKeyDictionary()


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
        self._watchdog: _Watchdog | None = None

    def __enter__(self) -> HandlerDeadline:
        if self.seconds is None:
            return self
        task = asyncio.current_task()
        if task is None:
            return self
        loop = task.get_loop()
        watchdog = _watchdogs.get(loop)
        if watchdog is None:
            watchdog = _watchdogs[loop] = _Watchdog(loop)
        watchdog.watch(task, self.seconds)
        self._task, self._watchdog = task, watchdog
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: object) -> bool:
        task, watchdog = self._task, self._watchdog
        if task is None or watchdog is None:
            return False
        watchdog.deadlines.pop(task, None)
        if task in watchdog.expired:
            watchdog.expired.discard(task)
            task.uncancel()
            if kind is asyncio.CancelledError:
                self.expired = True
                return True  # swallow our own cancellation
            # The handler finished (or failed) just as the deadline passed: its outcome stands.
        return False
