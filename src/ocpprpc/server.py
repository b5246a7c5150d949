"""The central system's registry of connected charge points, whatever transport each one uses.

A transport (WebSocket, SOAP, in-memory) accepts a charge point's connection and asks the server for
its :class:`~ocpprpc.connection.Connection` (:meth:`CentralSystemServer.accept`): the server's factory
makes the role object, and opening the connection registers it; from then on the application finds it
by id and calls it, without knowing how it is connected. A charge point that connects again replaces
its old connection, which is closed. When a connection ends it is unregistered: ``charge_point_id in
server`` is true exactly while the charge point has a live connection, on every transport.

The role objects come from a factory ``(charge_point_id, version) -> role``: a :class:`CentralSystem`
subclass is one, and a function (or ``functools.partial``) can hand each role object what the
application keeps elsewhere (a database, services) without class variables::

    server = CentralSystemServer(lambda cp_id, version: MyCentralSystem(cp_id, version, db=db), versions=["1.6"])

The server also remembers, per charge point id, the answers to its last transaction messages
(:class:`~ocpprpc.roles.AnsweredCalls`), so that a message retried after a reconnect is answered
without being handled twice. That memory is bounded: a connected charge point's is always kept; a
disconnected one's for ``replay_memory_ttl`` seconds, and of at most ``max_remembered_charge_points``
disconnected charge points (the longest gone are forgotten first). Nothing else is kept for an id
after its connection ends, so charge points coming and going (or a peer inventing ids) cannot grow the
server's memory without bound.

A server given a :class:`~ocpprpc.cluster.Cluster` (``cluster=``) is one node of a central system spread
over several processes: :meth:`CentralSystemServer.call` (and the test tools ``call_raw`` / ``send_raw``)
reaches a charge point connected to any node, each connection registered here is registered in the
cluster too (a charge point reconnecting to another node is closed here), and the memory of answers is
shared by every node (see :mod:`ocpprpc.cluster`); the node may hand its charge points' calls to a pool
of workers (``Cluster(worker_pool=...)``). The registry itself (``in``, ``len``, ``server[id]``, listeners) stays this
process's; the cluster's is ``cluster.presence``.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._versions import DEFAULT_VERSIONS, resolve_version
from .connection import Connection, Link, RawAnswer
from .errors import OcppRpcError, UsageError
from .messages._base import OcppModel, OcppRequest, OcppVersion
from .roles import REPLAY_MEMORY_TTL, AnsweredCalls, CentralSystem

if TYPE_CHECKING:
    from .cluster import Cluster

__all__ = ["MAX_REMEMBERED_CHARGE_POINTS", "CentralSystemServer", "RoleFactory", "UnknownChargePoint"]

MAX_REMEMBERED_CHARGE_POINTS = 50_000
"""How many disconnected charge points' answers a server remembers at most (see :class:`CentralSystemServer`).

A process is sized for about 10,000 connected charge points (``benchmarks/scale.py``); after a network
outage all of them reconnect within minutes, and each one's last answer must still be known then. Five
times that leaves room for churn and for charge points moving between processes behind a load
balancer. A remembered charge point costs about 250 bytes, plus about 350 per answer (at most
:data:`~ocpprpc.roles.REPLAY_MEMORY` = 4): 12 MB for 50,000 with nothing answered, 80 MB at worst.
"""

CS = TypeVar("CS", bound=CentralSystem)
R = TypeVar("R", bound=OcppModel)

Listener = Callable[[CS], Awaitable[None] | None]

RoleFactory = Callable[[str, str], CS]
"""``factory(charge_point_id, version)`` → the role object serving one connection (``version``: ``"1.6"``, ...)."""

_log = logging.getLogger("ocpprpc.server")


def served_versions(
    factory: object, versions: Sequence[str | OcppVersion] | None
) -> tuple[type[CentralSystem] | None, tuple[str, ...]]:
    """The role class ``factory`` is (None: a function making role objects) and the versions it serves,
    without repeats, in order of preference (None: the class's own, else :data:`DEFAULT_VERSIONS`). A
    :class:`UsageError` for a factory that cannot be called, a class that is no :class:`CentralSystem`,
    or versions the class does not speak. For a server and for a worker of a cluster's pool."""
    if not callable(factory):
        raise UsageError(f"a factory (charge_point_id, version) -> role is needed, not {factory!r}")
    role_class = factory if isinstance(factory, type) else None
    if role_class is not None and not issubclass(role_class, CentralSystem):
        raise UsageError(f"{role_class.__name__} is not a CentralSystem subclass")
    if versions is None:
        versions = role_class.versions if role_class is not None else DEFAULT_VERSIONS
    served = tuple(dict.fromkeys(resolve_version(v).version for v in versions))
    if role_class is not None and not set(served) <= set(role_class.versions):
        raise UsageError(
            f"{role_class.__name__} speaks OCPP {', '.join(role_class.versions)}; "
            f"it cannot serve {', '.join(v for v in served if v not in role_class.versions)}"
        )
    return role_class, served


class UnknownChargePoint(OcppRpcError, KeyError):
    """No charge point with that id is connected (it may have disconnected a moment ago): a runtime
    condition, to handle like :class:`~ocpprpc.errors.ConnectionClosed`, not a programming mistake."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown charge point"  # not KeyError's repr()


class CentralSystemServer(Generic[CS]):
    """Every connected charge point, by id, each served by a role object the ``factory`` makes.

    ``factory(charge_point_id, version)`` makes the :class:`CentralSystem` object of one connection; a
    role class is such a factory (``CentralSystemServer(MyCentralSystem)``). ``versions`` are the OCPP
    versions served, in order of preference: by default a role class's ``versions``, for any other
    factory ``DEFAULT_VERSIONS`` (1.6, 1.5, 1.2: 2.x is opted into); a role class that does not speak
    one of them is a :class:`UsageError`.

    ``on_connect`` / ``on_disconnect`` callbacks (sync or async) receive the role object; the role's own
    ``on_connect`` / ``on_disconnect`` methods run first.

    ``replay_memory_ttl`` (default 900 s: :data:`~ocpprpc.roles.REPLAY_MEMORY_TTL` says why) is how long
    an answer, and a disconnected charge point's memory of answers, is kept to recognise a retry;
    ``max_remembered_charge_points`` (default :data:`MAX_REMEMBERED_CHARGE_POINTS`) bounds how many
    disconnected charge points are remembered at once. A retry arriving after either limit dropped its
    answer is handled again, as after a server restart.

    ``cluster``: a :class:`~ocpprpc.cluster.Cluster` node this server is part of (one server per node);
    start it (``async with cluster:``) around the transports.
    """

    def __init__(
        self,
        factory: type[CS] | RoleFactory[CS],
        *,
        versions: Sequence[str | OcppVersion] | None = None,
        on_connect: Listener[CS] | None = None,
        on_disconnect: Listener[CS] | None = None,
        replay_memory_ttl: float = REPLAY_MEMORY_TTL,
        max_remembered_charge_points: int = MAX_REMEMBERED_CHARGE_POINTS,
        cluster: Cluster | None = None,
    ) -> None:
        if replay_memory_ttl < 0 or max_remembered_charge_points < 0:
            raise UsageError("replay_memory_ttl and max_remembered_charge_points cannot be negative")
        role_class, self.versions = served_versions(factory, versions)
        """The versions served, in order of preference."""
        if not self.versions:
            raise UsageError("a server serves at least one version")
        self.factory: type[CS] | RoleFactory[CS] = factory
        self.name = role_class.__name__ if role_class is not None else getattr(factory, "__name__", "factory")
        """What serves the charge points (the role class's name), for messages."""
        self.replay_memory_ttl = replay_memory_ttl
        self.max_remembered_charge_points = max_remembered_charge_points
        self._connected: dict[str, CS] = {}
        self._answered: dict[str, AnsweredCalls] = {}
        # Ids not connected whose memory is kept for a while, by when they were released (disconnected, or
        # a connection created but not yet attached), oldest first: forgetting takes from the front, so
        # it costs O(1) per id forgotten, whatever the number of ids.
        self._released: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._changed = asyncio.Condition()
        self._on_connect: list[Listener[CS]] = [on_connect] if on_connect else []
        self._on_disconnect: list[Listener[CS]] = [on_disconnect] if on_disconnect else []
        self.cluster = cluster
        """The cluster node this server is part of, or None."""
        if cluster is not None:
            cluster._attach_server(self)

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

    @property
    def remembered_charge_points(self) -> int:
        """How many charge points' answers are remembered: those connected and those gone for a while."""
        return len(self._answered)

    def add_listener(self, on_connect: Listener[CS] | None = None, on_disconnect: Listener[CS] | None = None) -> None:
        """Add connect / disconnect callbacks."""
        if on_connect:
            self._on_connect.append(on_connect)
        if on_disconnect:
            self._on_disconnect.append(on_disconnect)

    async def call(self, charge_point_id: str, request: OcppRequest[R], *, timeout: float | None = None) -> R:
        """Call the charge point ``charge_point_id``, over whatever transport it is connected by.

        Raises :class:`UnknownChargePoint` when it is not connected, and what :meth:`Role.call
        <ocpprpc.roles.Role.call>` raises. With a ``cluster``, a charge point connected to another node is
        called through it, with the same results (:meth:`Cluster.call <ocpprpc.cluster.ClusterClient.call>`).
        """
        role = self._connected.get(charge_point_id)
        if role is None and self.cluster is not None:
            return await self.cluster.call(charge_point_id, request, timeout=timeout)
        return await self[charge_point_id].call(request, timeout=timeout)

    async def call_raw(
        self, charge_point_id: str, action: str, payload: dict[str, Any], *, timeout: float | None = None
    ) -> RawAnswer:
        """:meth:`Role.call_raw <ocpprpc.roles.Role.call_raw>` of a connected charge point (test tools); with a
        ``cluster``, of one connected to any node, with the same results."""
        role = self._connected.get(charge_point_id)
        if role is None and self.cluster is not None:
            return await self.cluster.call_raw(charge_point_id, action, payload, timeout=timeout)
        return await self[charge_point_id].call_raw(action, payload, timeout=timeout)

    async def send_raw(self, charge_point_id: str, text: str) -> str | None:
        """:meth:`Role.send_raw <ocpprpc.roles.Role.send_raw>` of a connected charge point (test tools); with a
        ``cluster``, of one connected to any node (over OCPP-J an answer to the text then reaches the role
        object on that node)."""
        role = self._connected.get(charge_point_id)
        if role is None and self.cluster is not None:
            return await self.cluster.send_raw(charge_point_id, text)
        return await self[charge_point_id].send_raw(text)

    async def wait_for(self, charge_point_id: str, timeout: float | None = None) -> CS:
        """Wait until ``charge_point_id`` is connected and return its role object."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: charge_point_id in self._connected)
        return self._connected[charge_point_id]

    # -- for transports -------------------------------------------------------------------------------

    def accept(self, charge_point_id: str, version: str | OcppVersion) -> Connection[CS]:
        """The :class:`~ocpprpc.connection.Connection` of a charge point connecting with ``version``.

        The factory makes its role object, which shares the charge point's memory of answered
        transaction messages with the role objects of its earlier connections (so a message retried
        after a reconnect is recognised). :meth:`Connection.open <ocpprpc.connection.Connection.open>`
        registers it. Raises :class:`UsageError` for a version the server does not serve, or a factory
        that does not make a central system speaking it.
        """
        ocpp_version = resolve_version(version)
        if ocpp_version.version not in self.versions:
            raise UsageError(f"this server serves OCPP {', '.join(self.versions)}, not {ocpp_version.version}")
        self._forget_released()
        role = self.factory(charge_point_id, ocpp_version.version)
        if not isinstance(role, CentralSystem):
            raise UsageError(f"the factory made {type(role).__name__}, not a CentralSystem")
        if role.id != charge_point_id or role.ocpp_version is not ocpp_version:
            raise UsageError(
                f"the factory made a role for {role.id!r} OCPP {role.version}, "
                f"not for {charge_point_id!r} OCPP {ocpp_version.version}"
            )
        answered = self._answered.get(charge_point_id)
        if answered is None:
            answered = self._answered[charge_point_id] = (
                AnsweredCalls(self.replay_memory_ttl)
                if self.cluster is None
                else self.cluster._answers_for(charge_point_id, self.replay_memory_ttl)
            )
        # Counted as released until attached (and again once detached), so a connection that fails
        # before it is attached leaves nothing behind for good.
        self._release(charge_point_id)
        role.answered = answered
        return Connection(role, ocpp_version, server=self)

    # -- for Connection ---------------------------------------------------------------------------------

    async def _attach(self, role: CS, link: Link, version: OcppVersion) -> None:
        """Register ``role`` as the connection of its charge point, replacing (and closing) an older one."""
        old = self._connected.get(role.id)
        self._connected[role.id] = role
        self._answered.setdefault(role.id, role.answered)  # in case it was forgotten since accept()
        self._released.pop(role.id, None)  # kept while connected
        if self.cluster is not None:  # registered cluster-wide before anything can take long (on_connect)
            await self.cluster._claim(role, link, version)
        # Attach first: closing the old connection may take a closing handshake's time, and meanwhile
        # calls to this charge point must already reach the new one.
        await role.attach(link, version)
        async with self._changed:
            self._changed.notify_all()
        if old is not None and old is not role:
            _log.info("charge point %s connected again; closing its previous connection", role.id)
            await old.close("replaced by a new connection")
        await self._notify(self._on_connect, role)

    async def _detach(self, role: CS, link: Link) -> None:
        """Unregister a connection that ended (unless a newer one already replaced it)."""
        if self._connected.get(role.id) is role:
            del self._connected[role.id]
            self._release(role.id)
            self._forget_released()
            if self.cluster is not None:
                await self.cluster._release(role)
        await role.detach(link)
        await self._notify(self._on_disconnect, role)

    def _abandon(self, role: CS) -> None:
        """A connection accepted but never opened ended: its memory goes the way of a released one."""
        self._forget_released()

    def _release(self, charge_point_id: str) -> None:
        self._released[charge_point_id] = time.monotonic()
        self._released.move_to_end(charge_point_id)

    def _forget_released(self) -> None:
        """Forget the memories released longest ago while they are past the TTL or too many."""
        released, deadline = self._released, time.monotonic() - self.replay_memory_ttl
        while released:
            charge_point_id, since = next(iter(released.items()))
            if since >= deadline and len(released) <= self.max_remembered_charge_points:
                break
            del released[charge_point_id]
            if charge_point_id not in self._connected:  # a connected one is released again when it goes
                self._answered.pop(charge_point_id, None)

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
