"""An in-memory OCPP-J connection: a central system and a charge point in one process, no sockets.

For unit-testing handlers: the frames take exactly the path they take over a WebSocket (encoded,
logged, decoded, dispatched), only the socket is replaced by a pair of queues.

    server = CentralSystemServer(MyCentralSystem)
    cp = MyChargePoint("CP1")
    async with memory.connect(server, cp, version="1.6"):
        await cp.call(v16.HeartbeatRequest())
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .._ocppj import OcppJLink
from .._versions import resolve_version
from ..errors import ConnectionClosed
from ..messages._base import OcppVersion
from ..roles import CentralSystem, ChargePoint
from ..server import CentralSystemServer

__all__ = ["MemoryChannel", "channel_pair", "connect"]

_CLOSE = object()


class MemoryChannel:
    """One end of an in-memory message pipe (a :class:`~ocpprpc._ocppj.TextChannel`)."""

    def __init__(self, inbox: asyncio.Queue[Any], outbox: asyncio.Queue[Any]) -> None:
        self._inbox = inbox
        self._outbox = outbox
        self._closed = False

    async def send(self, text: str | bytes) -> None:
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
    central_system: CentralSystemServer[Any] | CentralSystem,
    charge_point: ChargePoint,
    *,
    version: str | OcppVersion | None = None,
) -> AsyncIterator[CentralSystem]:
    """Connect ``charge_point`` to a central system in memory; yields the central system's role object.

    ``central_system`` is a :class:`CentralSystemServer` (the charge point is registered there, as a
    network connection would be) or a ready :class:`CentralSystem` role object. Both ends are closed
    when the block exits.
    """
    ocpp_version = resolve_version(version if version is not None else charge_point.version)
    if isinstance(central_system, CentralSystemServer):
        server: CentralSystemServer[Any] | None = central_system
        cs_role: CentralSystem = central_system.create(charge_point.id, ocpp_version)
    else:
        server, cs_role = None, central_system
    cs_channel, cp_channel = channel_pair()
    cs_link = OcppJLink(cs_channel, cs_role)
    cp_link = OcppJLink(cp_channel, charge_point)
    tasks = [asyncio.create_task(cs_link.run()), asyncio.create_task(cp_link.run())]
    if server is not None:
        await server.attach(cs_role, cs_link, ocpp_version)
    else:
        await cs_role.attach(cs_link, ocpp_version)
    await charge_point.attach(cp_link, ocpp_version)
    try:
        yield cs_role
    finally:
        await cp_link.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        await charge_point.detach(cp_link)
        if server is not None:
            await server.detach(cs_role, cs_link)
        else:
            await cs_role.detach(cs_link)
