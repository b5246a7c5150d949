"""Which charge points are connected where, cluster-wide: a live copy of the presence bucket, and node liveness.

Two key-value buckets hold the truth. ``<prefix>_presence`` has one entry per connected charge point,
written by the node holding its connection (a JSON object, :meth:`ChargePointInfo.to_json`);
``<prefix>_nodes`` one per node, rewritten every ``heartbeat`` seconds (``{"node", "ttl", "at",
"since"}``: ``ttl`` is how long the node may stay silent before it counts as gone). Every member watches
both and keeps a copy in memory, so reads (``len(presence)``, ``presence["CP1"]``) cost nothing.

What the copy shows: the entries whose node is alive. A node is alive while its heartbeats keep coming
(at most ``ttl`` seconds apart, as timed by this member; each heartbeat is also published on core NATS,
``<prefix>.node.<node>.beat``, so liveness holds while a NATS cluster elects a new leader for a bucket);
one that leaves deletes its heartbeat and its entries. A node silent for longer than ``ttl`` is asked
(``<prefix>.node.<node>.ping``): NATS answering "no responders" means its connection, and with it its
subscriptions, is gone (a killed process), so its charge points leave the view ``ttl`` seconds (plus up to
a second) after its last heartbeat; a node that answers is alive and only late (its event loop busy, or
its heartbeats queued behind a burst of updates, as when thousands of charge points connect at once) and
stays; one that neither answers nor is known gone (a machine lost without closing its sockets) leaves
after three times ``ttl``. The live node with the smallest id deletes a gone node's leftovers. While
this member is itself cut off from NATS the copy stays as it was last seen (:attr:`Presence.synced` is
False); it is reloaded when the connection comes back.

Listeners (``presence.add_listener(on_connect, on_disconnect)``) hear every change of the view, on every
member, in order: a charge point appearing (``on_connect``) or leaving (``on_disconnect``). A charge point
that reconnects to another node is a disconnect of the old entry followed by a connect of the new one.
At a (re)join the view is reloaded and only the differences are heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .._identity import loggable
from ..server import UnknownChargePoint
from ._bus import Bucket, KvEntry
from ._subjects import decode_token
from ._wire import json_object

__all__ = ["ChargePointInfo", "NodeInfo", "Presence", "PresenceListener"]

_log = logging.getLogger("ocpprpc.cluster")


@dataclass(frozen=True, slots=True)
class ChargePointInfo:
    """Where one charge point is connected: the presence entry the node holding it wrote."""

    charge_point_id: str
    node: str
    """The id of the node holding the connection."""
    transport: str
    """``"websocket"``, ``"soap"``, ``"memory"``, or the link's class name for another transport."""
    version: str
    """The OCPP version of the connection (``"1.6"``, ``"2.0.1"``, ...)."""
    since: datetime
    """When the connection was registered (UTC)."""
    connection: str
    """A unique id of the connection: a reconnection, even to the same node, has another one."""

    def to_json(self) -> dict[str, Any]:
        return {
            "charge_point_id": self.charge_point_id,
            "node": self.node,
            "transport": self.transport,
            "version": self.version,
            "since": self.since.isoformat(),
            "connection": self.connection,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChargePointInfo | None:
        """The entry, or None for a value that is not one (written by something else)."""
        try:
            since = datetime.fromisoformat(str(data["since"]))
            fields = [str(data[name]) for name in ("charge_point_id", "node", "transport", "version", "connection")]
        except (KeyError, ValueError):
            return None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return cls(fields[0], fields[1], fields[2], fields[3], since, fields[4])


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A live node, from its heartbeat."""

    node: str
    since: datetime | None
    """When the node joined (by its clock)."""
    ttl: float
    """How long it may stay silent before it counts as gone."""


@dataclass(frozen=True, slots=True)
class Held:
    """A presence entry as stored, with its revision (what a conditional write or delete names)."""

    info: ChargePointInfo
    revision: int


PresenceListener = Callable[[ChargePointInfo], Awaitable[None] | None]


@dataclass(slots=True)
class _Node:
    info: NodeInfo
    last_seen: float
    """time.monotonic() of the last heartbeat seen."""
    revision: int


class Presence(Mapping[str, ChargePointInfo]):
    """The connected charge points of the whole cluster, by id (a live read-only view); see the module docstring.

    ``presence["CP1"]`` raises :class:`~ocpprpc.server.UnknownChargePoint` for a charge point connected
    nowhere; :attr:`nodes` are the live nodes; :meth:`wait_for` waits for a charge point to show up.
    """

    def __init__(self, own_node: str | None = None) -> None:
        self._own_node = own_node
        self._raw: dict[str, Held] = {}
        self._by_node: dict[str, set[str]] = {}
        self._visible: dict[str, ChargePointInfo] = {}
        self._nodes: dict[str, _Node] = {}
        self._listeners: list[tuple[PresenceListener | None, PresenceListener | None]] = []
        self._events: asyncio.Queue[tuple[bool, ChargePointInfo]] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self.synced = False
        """True while the view follows the buckets (False before the first join and while cut off from NATS)."""
        self.on_entry: Callable[[str, Held | None], None] | None = None
        """Called with every stored change of an entry (the node's ownership checks); not for users."""
        self.on_node_gone: Callable[[str, list[Held], int | None], None] | None = None
        """Called when a node stops beating, with its entries and its heartbeat's revision (cleanup)."""

    # -- the view --------------------------------------------------------------------------------------

    def __getitem__(self, charge_point_id: str) -> ChargePointInfo:
        try:
            return self._visible[charge_point_id]
        except KeyError:
            raise UnknownChargePoint(f"no charge point {charge_point_id!r} is connected in the cluster") from None

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._visible))

    def __len__(self) -> int:
        return len(self._visible)

    def __contains__(self, charge_point_id: object) -> bool:
        return charge_point_id in self._visible

    @property
    def nodes(self) -> Mapping[str, NodeInfo]:
        """The live nodes, by id."""
        return {node: seen.info for node, seen in self._nodes.items()}

    def on_node(self, node: str) -> list[ChargePointInfo]:
        """The charge points connected to ``node``."""
        return [self._visible[cp] for cp in self._by_node.get(node, ()) if cp in self._visible]

    def count_by_node(self) -> dict[str, int]:
        """How many charge points each live node holds."""
        counts: dict[str, int] = {}
        for info in self._visible.values():
            counts[info.node] = counts.get(info.node, 0) + 1
        return counts

    def add_listener(
        self, on_connect: PresenceListener | None = None, on_disconnect: PresenceListener | None = None
    ) -> None:
        """Callbacks (sync or async) for every charge point appearing / leaving anywhere in the cluster."""
        self._listeners.append((on_connect, on_disconnect))

    async def wait_for(
        self, charge_point_id: str, *, node: str | None = None, timeout: float | None = None
    ) -> ChargePointInfo:
        """Wait until ``charge_point_id`` is connected (to ``node``, when given) and return its entry."""

        def found() -> ChargePointInfo | None:
            info = self._visible.get(charge_point_id)
            return info if info is not None and (node is None or info.node == node) else None

        async with asyncio.timeout(timeout):
            while (info := found()) is None:
                await self._changed.wait()
        return info

    async def wait_until(self, condition: Callable[[Presence], bool], timeout: float | None = None) -> None:
        """Wait until ``condition(presence)`` holds (checked at every change of the view)."""
        async with asyncio.timeout(timeout):
            while not condition(self):
                await self._changed.wait()

    def held(self, charge_point_id: str) -> Held | None:
        """The stored entry (also one of a node not yet known alive), with its revision."""
        return self._raw.get(charge_point_id)

    def entries_of(self, node: str) -> list[Held]:
        return [self._raw[cp] for cp in self._by_node.get(node, ()) if cp in self._raw]

    def node_alive(self, node: str) -> bool:
        return node == self._own_node or node in self._nodes

    # -- following the buckets -------------------------------------------------------------------------

    async def follow(self, nodes: Bucket, presence: Bucket, ready: asyncio.Future[None]) -> None:
        """Load both buckets, then follow them until cancelled; ``ready`` resolves once both are loaded."""
        loaded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        following_nodes = asyncio.create_task(self._follow_nodes(nodes, loaded), name="ocpprpc-cluster-nodes")
        try:
            await asyncio.shield(loaded)  # nodes first: an entry is visible only if its node is known
            await self._follow_presence(presence, ready)
        finally:
            following_nodes.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following_nodes

    async def _follow_nodes(self, bucket: Bucket, loaded: asyncio.Future[None]) -> None:
        snapshot: dict[str, KvEntry] = {}
        async for entry in bucket.watch():
            if entry is None:
                if not loaded.done():
                    self._load_nodes(snapshot)
                    loaded.set_result(None)
            elif not loaded.done():
                if entry.value is None:
                    snapshot.pop(entry.key, None)
                else:
                    snapshot[entry.key] = entry
            else:
                self._node_entry(entry)

    async def _follow_presence(self, bucket: Bucket, ready: asyncio.Future[None]) -> None:
        snapshot: dict[str, Held] = {}
        loaded = False
        async for entry in bucket.watch():
            if entry is None:
                if not loaded:
                    loaded = True
                    self._load_presence(snapshot)
                    self.synced = True
                    if not ready.done():
                        ready.set_result(None)
                continue
            cp, held = decode_token(entry.key), _held(entry)
            if not loaded:
                if held is None:
                    snapshot.pop(cp, None)
                else:
                    snapshot[cp] = held
            else:
                self._set(cp, held)

    def stopped(self) -> None:
        """The connection to NATS is gone: the view stays as last seen, unsynced."""
        self.synced = False

    def _load_nodes(self, snapshot: dict[str, KvEntry]) -> None:
        now, wall = time.monotonic(), time.time()
        fresh: dict[str, _Node] = {}
        for entry in snapshot.values():
            beat = _heartbeat(entry.json())
            if beat is None:
                continue
            info, at = beat
            age = max(0.0, wall - at)
            if age <= info.ttl or info.node == self._own_node:
                fresh[info.node] = _Node(info, now - age, entry.revision)
        gone = [node for node in self._nodes if node not in fresh]
        self._nodes = fresh
        for node in gone:
            self._recheck_node(node)
        for node in fresh:
            self._recheck_node(node)

    def _node_entry(self, entry: KvEntry) -> None:
        node_id = decode_token(entry.key)
        if entry.value is None:  # the node left (or was found gone by another member)
            if self._nodes.pop(node_id, None) is not None:
                self._node_gone(node_id, None)
            return
        beat = _heartbeat(entry.json())
        if beat is not None:
            self._heard(beat[0], entry.revision)

    def heard(self, data: bytes) -> None:
        """A heartbeat published on core NATS (the bucket's copy may lag while JetStream elects a leader)."""
        if self.synced:
            beat = _heartbeat(json_object(data))
            if beat is not None:
                self._heard(beat[0], None)

    def _heard(self, info: NodeInfo, revision: int | None) -> None:
        known = self._nodes.get(info.node)
        if revision is None:
            revision = known.revision if known is not None else 0
        self._nodes[info.node] = _Node(info, time.monotonic(), revision)
        if known is None:
            if info.node != self._own_node:
                _log.info("cluster: node %s is up", loggable(info.node))
            self._recheck_node(info.node)

    def silent_nodes(self) -> list[tuple[str, float, float]]:
        """The other nodes silent for longer than their ``ttl``: (node, seconds of silence, ttl); none while
        not synced (a member that cannot hear NATS cannot tell)."""
        if not self.synced:
            return []
        now = time.monotonic()
        return [
            (node, now - seen.last_seen, seen.info.ttl)
            for node, seen in self._nodes.items()
            if node != self._own_node and now - seen.last_seen > seen.info.ttl
        ]

    def vouch(self, node: str) -> None:
        """A node answered although its heartbeats are late (its event loop busy, its beats queued behind a
        burst of updates): it counts as heard now."""
        seen = self._nodes.get(node)
        if seen is not None:
            seen.last_seen = time.monotonic()

    def drop_node(self, node: str, why: str) -> None:
        """A silent node is gone (its NATS connection closed, or silent past every grace): its charge points
        leave the view, and the cleaner is told."""
        seen = self._nodes.pop(node, None)
        if seen is None or node == self._own_node:
            return
        _log.warning(
            "cluster: node %s silent for %.1f s and %s: its %d charge point(s) are gone",
            loggable(node),
            time.monotonic() - seen.last_seen,
            why,
            len(self._by_node.get(node, ())),
        )
        self._node_gone(node, seen.revision)

    def _node_gone(self, node: str, revision: int | None) -> None:
        """``node`` has just left the nodes known: its charge points leave the view, and the cleaner is told
        (of another node than this one; ``revision``: that of its last heartbeat entry, when known)."""
        self._recheck_node(node)
        if self.on_node_gone is not None and node != self._own_node:
            self.on_node_gone(node, self.entries_of(node), revision)

    def _load_presence(self, snapshot: dict[str, Held]) -> None:
        for cp in [cp for cp in self._raw if cp not in snapshot]:
            self._set(cp, None)
        for cp, held in snapshot.items():
            self._set(cp, held)

    def _set(self, cp: str, held: Held | None) -> None:
        """Store one entry's change and tell who needs to know."""
        old = self._raw.get(cp)
        if old is not None:
            self._by_node.get(old.info.node, set()).discard(cp)
        if held is None:
            self._raw.pop(cp, None)
        else:
            self._raw[cp] = held
            self._by_node.setdefault(held.info.node, set()).add(cp)
        if self.on_entry is not None and (old is None or held is None or old.revision != held.revision):
            self.on_entry(cp, held)
        self._show(cp)

    def _recheck_node(self, node: str) -> None:
        self._touch()
        for cp in list(self._by_node.get(node, ())):
            self._show(cp)

    def _show(self, cp: str) -> None:
        """Bring the view of ``cp`` in line with its stored entry and its node's liveness."""
        held = self._raw.get(cp)
        new = held.info if held is not None and self.node_alive(held.info.node) else None
        old = self._visible.get(cp)
        if old == new:
            return
        if new is None:
            del self._visible[cp]
        else:
            self._visible[cp] = new
        if old is not None and (new is None or old.connection != new.connection):
            self._emit(False, old)
        if new is not None and (old is None or old.connection != new.connection):
            self._emit(True, new)

    def _touch(self) -> None:
        """Wake :meth:`wait_for` / :meth:`wait_until`: the view (charge points or nodes) changed."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _emit(self, connected: bool, info: ChargePointInfo) -> None:
        self._touch()
        if self._listeners:
            self._events.put_nowait((connected, info))
            if self._dispatcher is None or self._dispatcher.done():
                self._dispatcher = asyncio.create_task(self._dispatch(), name="ocpprpc-cluster-presence")

    async def _dispatch(self) -> None:
        while not self._events.empty():
            connected, info = self._events.get_nowait()
            for on_connect, on_disconnect in list(self._listeners):
                listener = on_connect if connected else on_disconnect
                if listener is None:
                    continue
                try:
                    result = listener(info)
                    if inspect.isawaitable(result):
                        await result
                except asyncio.CancelledError:
                    raise
                except Exception:
                    _log.exception("presence listener %r failed for %s", listener, loggable(info.charge_point_id))

    async def close(self) -> None:
        if self._dispatcher is not None and not self._dispatcher.done():
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher


def _held(entry: KvEntry) -> Held | None:
    data = entry.json()
    info = None if data is None else ChargePointInfo.from_json(data)
    return None if info is None else Held(info, entry.revision)


def _heartbeat(data: dict[str, Any] | None) -> tuple[NodeInfo, float] | None:
    if data is None:
        return None
    try:
        node, ttl, at = str(data["node"]), float(data["ttl"]), float(data["at"])
        since = datetime.fromisoformat(str(data["since"])) if data.get("since") else None
    except (KeyError, ValueError, TypeError):
        return None
    return NodeInfo(node, since, ttl), at
