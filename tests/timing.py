"""Time helpers the transport tests share: fast reconnection, a bound on a test's run, waiting for a condition."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ocpprpc import Backoff

FAST: dict[str, Any] = {"backoff": Backoff(initial=0.02, max=0.1), "open_timeout": 2.0}
"""Client options for tests (either transport): reconnect within a tenth of a second."""

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def bounded(seconds: float = 5.0) -> Callable[[F], F]:
    """Fail a test that takes longer than ``seconds`` instead of letting it hang."""

    def decorate(test: F) -> F:
        @functools.wraps(test)
        async def run(*args: Any, **kwargs: Any) -> Any:
            async with asyncio.timeout(seconds):
                return await test(*args, **kwargs)

        return run  # type: ignore[return-value]

    return decorate


async def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait until ``condition()`` holds; TimeoutError after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)
