"""HandlerDeadline: one ticker per event loop cancels overrunning handlers, a call in time costs no timer."""

from __future__ import annotations

import asyncio
import time

import pytest

from ocpprpc import _watchdog
from ocpprpc._watchdog import HandlerDeadline


async def _run_under(seconds: float | None, work: float) -> tuple[bool, float]:
    """(expired, seconds taken) of a handler that sleeps ``work`` seconds under a deadline of ``seconds``."""
    start = time.monotonic()
    deadline = HandlerDeadline(seconds)
    with deadline:
        await asyncio.sleep(work)
    return deadline.expired, time.monotonic() - start


async def test_an_overrunning_handler_is_cancelled_at_most_a_quarter_of_its_deadline_late() -> None:
    expired, took = await _run_under(1.0, 5.0)
    assert expired
    assert 1.0 <= took < 1.0 * 1.25 + 0.2  # 0.2 s for a busy machine


async def test_a_handler_in_time_is_not_cancelled_and_leaves_nothing_watched() -> None:
    expired, took = await _run_under(0.5, 0.01)
    assert not expired and took < 0.4
    watchdog = _watchdog._watchdog_of(asyncio.get_running_loop())
    assert watchdog.deadlines == {} and watchdog.expired == set()


async def test_no_deadline_watches_nothing() -> None:
    assert (await _run_under(None, 0.01))[0] is False


async def test_a_shorter_deadline_after_a_longer_one_is_kept_as_well() -> None:
    long_one = asyncio.create_task(_run_under(30.0, 0.6))
    await asyncio.sleep(0.05)  # the ticker runs for the 30 s deadline now, asleep for a second
    expired, took = await _run_under(0.1, 5.0)
    assert expired and took < 0.1 * 1.25 + 0.4  # not the second the ticker was asleep for
    expired, took = await long_one
    assert not expired and 0.6 <= took < 1.5


async def test_the_ticker_stops_when_nothing_is_watched() -> None:
    await _run_under(0.05, 0.2)
    watchdog = _watchdog._watchdog_of(asyncio.get_running_loop())
    for _ in range(50):
        if not watchdog.ticking:
            break
        await asyncio.sleep(0.02)
    assert not watchdog.ticking
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_a_cancellation_from_elsewhere_propagates() -> None:
    task = asyncio.create_task(_run_under(5.0, 5.0))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_each_event_loop_has_its_own_watchdog() -> None:
    # the watchdog remembered for the last loop is not taken for a new one
    for _ in range(3):
        expired, took = asyncio.run(_run_under(0.1, 5.0))
        assert expired and took < 0.5
