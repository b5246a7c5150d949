"""The seam between the RPC core and the transports: what a transport gives a role, and one connection's life.

Theory of operation
-------------------
A transport moves messages; everything else is the core's. It gives each connection a :class:`Link`:
something that carries the role's requests to the peer and returns the answers (an OCPP-J
:class:`~ocpprpc._ocppj.OcppJLink` over any :class:`~ocpprpc._ocppj.TextChannel`, a SOAP link posting
over HTTP). It feeds the peer's requests to :meth:`Role.handle_call <ocpprpc.roles.Role.handle_call>`
and sends back the :class:`~ocpprpc.roles.InboundResult`, then runs its after-hook (see below).

The life of each connection is a :class:`Connection`, the one place that binds a link to a role:

* a central system's transport asks its :class:`~ocpprpc.server.CentralSystemServer` with
  :meth:`~ocpprpc.server.CentralSystemServer.accept` when a charge point connects (a WebSocket
  handshake done, a first SOAP request): the server's factory makes the role object, and the
  connection is registered by :meth:`Connection.open`. A charge point already connected (by any
  transport) is replaced: calls go to the new connection at once, then the old one is closed;
* a charge point's transport makes ``Connection(charge_point, version)`` for each connection it opens;
* either way, :meth:`Connection.open` attaches the link (the role's ``on_connect`` runs, then the
  server's listeners) and :meth:`Connection.end` detaches it once the link is gone, whoever closed it
  (the role's ``on_disconnect``, then the listeners; exactly once, however many times it is called).
  The server's registry (``charge_point_id in server``) is true exactly between the two.

A transport must already be reading its connection when it calls :meth:`~Connection.open`: an
``on_connect`` hook may call the peer, and the answer has to be received.

After-hooks (``@after``) run in the task that handled the request, once its answer is on the wire: a
transport awaits ``result.after()`` right after sending the answer. Over OCPP-J the next CALL of the
peer waits for it (calls it makes to the peer lend their turn, so it cannot deadlock).

Test tools (the simulator's ``send`` / ``send_raw``) need more than a production link: a link that can
send any action or any text also implements :class:`RawLink`, used by
:meth:`Role.call_raw <ocpprpc.roles.Role.call_raw>` and :meth:`Role.send_raw <ocpprpc.roles.Role.send_raw>`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._link import Link, NotConnected, RawAnswer, RawLink, SendLink, VersionedLink
from ._ocppj import OcppJLink, TextChannel
from ._versions import resolve_version
from .errors import UsageError
from .messages._base import OcppVersion

if TYPE_CHECKING:
    from .roles import Role
    from .server import CentralSystemServer

__all__ = [
    "Connection",
    "Link",
    "NotConnected",
    "OcppJLink",
    "RawAnswer",
    "RawLink",
    "SendLink",
    "TextChannel",
    "VersionedLink",
]


RoleT = TypeVar("RoleT", bound="Role")


class Connection(Generic[RoleT]):
    """One connection of ``role`` to its peer, from :meth:`open` to :meth:`end`.

    Made by a transport: ``Connection(charge_point, version)`` on a charge point's side,
    ``server.accept(charge_point_id, version)`` on a central system's (registered with the server).
    ``on_end`` callbacks run once the connection has ended (the transport forgets its state there).
    """

    def __init__(
        self,
        role: RoleT,
        version: str | OcppVersion | None = None,
        *,
        server: CentralSystemServer[Any] | None = None,
    ) -> None:
        self.role = role
        self.version = resolve_version(version) if version is not None else role.ocpp_version
        """The version the connection speaks."""
        if self.version.version not in type(role).versions:
            raise UsageError(
                f"{type(role).__name__} speaks OCPP {', '.join(type(role).versions)}, not {self.version.version}"
            )
        self.server = server
        self.link: Link | None = None
        """The link, once opened."""
        self._ending: asyncio.Future[None] | None = None
        self._on_end: list[Callable[[], object]] = []

    def __repr__(self) -> str:
        state = "ended" if self.ended else "open" if self.link is not None else "new"
        return f"<Connection {self.role.id!r} OCPP {self.version.version} {state}>"

    @property
    def ended(self) -> bool:
        """True once :meth:`end` was called."""
        return self._ending is not None

    def on_end(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` (synchronously) once the connection has ended."""
        self._on_end.append(callback)

    async def open(self, link: Link) -> None:
        """Attach ``link`` to the role and, on a central system, register it (replacing an older connection).

        Runs the role's ``on_connect``, then the server's listeners. The transport must already be
        reading the connection. Once only.
        """
        if self.link is not None or self.ended:
            raise UsageError("a Connection is opened once")
        if isinstance(link, VersionedLink):
            link.speak(self.version)  # before any await: the link may already be reading
        self.link = link
        if self.server is not None:
            await self.server._attach(self.role, link, self.version)
        else:
            await self.role.attach(link, self.version)

    async def end(self, reason: str = "") -> None:
        """The connection is gone (or must go): close the link if still open, detach, unregister.

        Runs the role's ``on_disconnect``, then the server's listeners, once, however often and from
        wherever it is called (concurrent callers wait for the first). A connection never opened ends
        quietly.
        """
        if self._ending is None:
            self._ending = asyncio.ensure_future(self._end(reason))
        await asyncio.shield(self._ending)

    async def _end(self, reason: str) -> None:
        link = self.link
        try:
            if link is not None:
                if not link.closed:
                    await link.close(reason)
                if self.server is not None:
                    await self.server._detach(self.role, link)
                else:
                    await self.role.detach(link)
            elif self.server is not None:
                self.server._abandon(self.role)
        finally:
            for callback in self._on_end:
                callback()
