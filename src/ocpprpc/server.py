"""The central system's registry of connected charge points, whatever transport each one uses.

A transport (WebSocket, SOAP, in-memory) accepts a charge point's connection, asks the server for a
role object (:meth:`CentralSystemServer.create`), and registers it (:meth:`~CentralSystemServer.attach`);
from then on the application finds it by id and calls it, without knowing how it is connected. A charge
point that connects again replaces its old connection, which is closed.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Generic, TypeVar

from .errors import UsageError
from .messages._base import OcppModel, OcppRequest, OcppVersion
from .roles import AnsweredCalls, CentralSystem, Link

__all__ = ["CentralSystemServer", "UnknownChargePoint"]

CS = TypeVar("CS", bound=CentralSystem)
R = TypeVar("R", bound=OcppModel)

Listener = Callable[[CS], Awaitable[None] | None]

_log = logging.getLogger("ocpprpc.server")


class UnknownChargePoint(UsageError, KeyError):
    """No charge point with that id is connected."""


class CentralSystemServer(Generic[CS]):
    """Every connected charge point, by id, each served by an instance of ``role_class``.

    ``on_connect`` / ``on_disconnect`` callbacks (sync or async) receive the role object; the role's own
    ``on_connect`` / ``on_disconnect`` methods run as well.
    """

    def __init__(
        self,
        role_class: type[CS],
        *,
        on_connect: Listener[CS] | None = None,
        on_disconnect: Listener[CS] | None = None,
    ) -> None:
        self.role_class = role_class
        self._connected: dict[str, CS] = {}
        self._answered: dict[str, AnsweredCalls] = {}
        self._changed = asyncio.Condition()
        self._on_connect: list[Listener[CS]] = [on_connect] if on_connect else []
        self._on_disconnect: list[Listener[CS]] = [on_disconnect] if on_disconnect else []

    @property
    def versions(self) -> tuple[str, ...]:
        """The versions the role class speaks, in order of preference."""
        return self.role_class.versions

    @property
    def charge_points(self) -> Mapping[str, CS]:
        """The connected charge points by id (a live read-only view)."""
        return self._connected

    def __getitem__(self, charge_point_id: str) -> CS:
        try:
            return self._connected[charge_point_id]
        except KeyError:
            raise UnknownChargePoint(f"no charge point {charge_point_id!r} is connected") from None

    def __contains__(self, charge_point_id: object) -> bool:
        return charge_point_id in self._connected

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._connected))

    def __len__(self) -> int:
        return len(self._connected)

    def add_listener(self, on_connect: Listener[CS] | None = None, on_disconnect: Listener[CS] | None = None) -> None:
        """Add connect / disconnect callbacks."""
        if on_connect:
            self._on_connect.append(on_connect)
        if on_disconnect:
            self._on_disconnect.append(on_disconnect)

    async def call(self, charge_point_id: str, request: OcppRequest[R], *, timeout: float | None = None) -> R:
        """Call the charge point ``charge_point_id``, over whatever transport it is connected by."""
        return await self[charge_point_id].call(request, timeout=timeout)

    async def wait_for(self, charge_point_id: str, timeout: float | None = None) -> CS:
        """Wait until ``charge_point_id`` is connected and return its role object."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: charge_point_id in self._connected)
        return self._connected[charge_point_id]

    # -- for transports -------------------------------------------------------------------------------

    def create(self, charge_point_id: str, version: OcppVersion) -> CS:
        """A new role object for a connecting charge point.

        It shares the charge point's memory of answered transaction messages with the role objects of
        its earlier connections, so a message retried after a reconnect is recognised.
        """
        role = self.role_class(charge_point_id, version)
        answered = self._answered.get(charge_point_id)
        if answered is None:
            answered = self._answered[charge_point_id] = role.answered
        role.answered = answered
        return role

    async def attach(self, role: CS, link: Link, version: OcppVersion) -> None:
        """Register ``role`` as the connection of its charge point, replacing (and closing) an older one."""
        old = self._connected.get(role.id)
        self._connected[role.id] = role
        # Attach first: closing the old connection may take a closing handshake's time, and meanwhile
        # calls to this charge point must already reach the new one.
        await role.attach(link, version)
        async with self._changed:
            self._changed.notify_all()
        if old is not None and old is not role:
            _log.info("charge point %s connected again; closing its previous connection", role.id)
            await old.close("replaced by a new connection")
        await self._notify(self._on_connect, role)

    async def detach(self, role: CS, link: Link) -> None:
        """Unregister a connection that ended (unless a newer one already replaced it)."""
        if self._connected.get(role.id) is role:
            del self._connected[role.id]
        await role.detach(link)
        await self._notify(self._on_disconnect, role)

    async def _notify(self, listeners: list[Listener[CS]], role: CS) -> None:
        for listener in listeners:
            try:
                result = listener(role)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("listener %r failed for %s", listener, role.id)
