"""Role classes shared by the transport tests: they answer every action with a valid example response."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from ocpprpc import CentralSystem, ChargePoint, OcppModel, Role
from ocpprpc.connection import Connection, OcppJLink
from ocpprpc.messages.examples import example
from ocpprpc.transports import memory
from ocpprpc.transports.memory import MemoryChannel


class EchoMixin:
    """Answers every request it has no handler for with the example response, and records the request."""

    def __init__(self, id: str, version: Any = None) -> None:
        super().__init__(id, version)  # type: ignore[call-arg]
        self.received: list[OcppModel] = []

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        assert isinstance(self, Role)
        self.received.append(request)
        return example(self.ocpp_version.received_by(self.side)[action].response)


class EchoCentralSystem(EchoMixin, CentralSystem):
    """A central system answering every charge point action."""


class EchoChargePoint(EchoMixin, ChargePoint):
    """A charge point answering every central system action."""


@asynccontextmanager
async def hand_driven_peer(role: Role) -> AsyncGenerator[MemoryChannel, None]:
    """``role`` connected in memory to a peer end whose frames the test reads and writes by hand."""
    peer_end, role_end = memory.channel_pair()
    connection = Connection(role)
    link = OcppJLink(role_end, role)
    runner = asyncio.create_task(link.run())
    await connection.open(link)
    try:
        yield peer_end
    finally:
        await link.close()
        await runner
        await connection.end()


async def answer_next_call(peer_end: MemoryChannel, payload: dict[str, Any]) -> list[Any]:
    """Read the role's next CALL at ``peer_end``, answer it with ``payload`` as is; the CALL frame."""
    frame: list[Any] = json.loads(await peer_end.recv())
    await peer_end.send(json.dumps([3, frame[1], payload]))
    return frame
