"""An in-memory OCPP-J connection: a central system and a charge point in one process, no sockets.

For unit-testing handlers: the frames take exactly the path they take over a WebSocket (encoded,
logged, decoded, dispatched), only the socket is replaced by a pair of queues.

    server = CentralSystemServer(MyCentralSystem)
    cp = MyChargePoint("CP1", "1.6")
    async with memory.connect(server, cp):
        await cp.call(v16.HeartbeatRequest())

It is also the smallest complete transport, the worked example of ``docs/guide/writing-a-transport.md``:
a :class:`MemoryChannel` is the I/O, and :func:`connect` hands each end to the core (an
:class:`~ocpprpc.connection.OcppJLink` and a :class:`~ocpprpc.connection.Connection` per side).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from ..connection import Connection, OcppJLink
from ..errors import ConnectionClosed, UsageError
from ..messages._base import OcppVersion
from ..roles import CentralSystem, ChargePoint
from ..server import CentralSystemServer

__all__ = ["MemoryChannel", "channel_pair", "connect"]

_CLOSE = object()

CS = TypeVar("CS", bound=CentralSystem)


class MemoryChannel:
    """One end of an in-memory message pipe (a :class:`~ocpprpc.connection.TextChannel`)."""

    def __init__(self, inbox: asyncio.Queue[Any], outbox: asyncio.Queue[Any]) -> None:
        self._inbox = inbox
        self._outbox = outbox
        self._closed = False

    async def send(self, text: str) -> None:
        if self._closed:
            raise ConnectionClosed("in-memory channel closed")
        await self._outbox.put(text)

    async def recv(self) -> str | bytes:
        if self._closed:
            raise ConnectionClosed("in-memory channel closed")
        message = await self._inbox.get()
        if message is _CLOSE:
            self._closed = True
            raise ConnectionClosed("in-memory channel closed by the peer")
        assert isinstance(message, str | bytes)
        return message

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if not self._closed:
            self._closed = True
            self._outbox.put_nowait(_CLOSE)
            self._inbox.put_nowait(_CLOSE)


def channel_pair() -> tuple[MemoryChannel, MemoryChannel]:
    """Two connected channel ends."""
    a: asyncio.Queue[Any] = asyncio.Queue()
    b: asyncio.Queue[Any] = asyncio.Queue()
    return MemoryChannel(a, b), MemoryChannel(b, a)


@asynccontextmanager
async def connect(
    central_system: CentralSystemServer[CS] | CS,
    charge_point: ChargePoint,
    *,
    version: str | OcppVersion | None = None,
) -> AsyncGenerator[CS, None]:
    """Connect ``charge_point`` to a central system in memory; yields the central system's role object.

    ``central_system`` is a :class:`CentralSystemServer` (the charge point is registered there, as a
    network connection would be, replacing an older connection of the same id) or a ready
    :class:`CentralSystem` role object. ``version`` defaults to the charge point's; both sides must
    speak it (:class:`UsageError` otherwise). Both ends are closed when the block exits.
    """
    cp_connection = Connection(charge_point, version)  # checks that the charge point speaks it
    cs_connection: Connection[CS]
    if isinstance(central_system, CentralSystemServer):
        cs_connection = central_system.accept(charge_point.id, cp_connection.version)
    elif isinstance(central_system, CentralSystem):
        cs_connection = Connection(central_system, cp_connection.version)
    else:
        raise UsageError(f"connect() needs a CentralSystemServer or a CentralSystem, not {central_system!r}")
    cs_end, cp_end = channel_pair()
    cs_link = OcppJLink(cs_end, cs_connection.role, version=cs_connection.version)
    cp_link = OcppJLink(cp_end, charge_point, version=cp_connection.version)
    # Read before opening: an on_connect hook that calls the peer needs its answer read.
    reading = [asyncio.create_task(_serve(cs_link, cs_connection)), asyncio.create_task(_serve(cp_link, cp_connection))]
    try:
        await cs_connection.open(cs_link)
        await cp_connection.open(cp_link)
        yield cs_connection.role
    finally:
        await cp_link.close()
        await asyncio.gather(*reading, return_exceptions=True)


async def _serve(link: OcppJLink, connection: Connection[Any]) -> None:
    """Receive until the channel ends, whoever closed it; then the connection ends."""
    try:
        await link.run()
    finally:
        await connection.end()
