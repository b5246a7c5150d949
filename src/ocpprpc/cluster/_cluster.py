"""A cluster member: :class:`ClusterClient` (calls and presence, no sockets) and :class:`Cluster` (a node).

The life of a member: :meth:`ClusterClient.start` starts connecting to NATS in the background (or first
starts an embedded ``nats-server`` when no URL is given) and waits up to ``join_timeout`` for the first
join; a member that cannot join yet keeps trying (local charge points are served all the same). Each
time the connection comes up (the first time and after every reconnection) the member *joins*: it makes
sure the buckets and the stream exist, reloads the presence view, and a node then beats, re-registers
the charge points it holds (settling any charge point that connected elsewhere meanwhile: the later
connection wins), subscribes to their call subjects and writes what waited for NATS. When the
connection goes down, calls waiting for a reply fail (:class:`ClusterUnavailable`), new remote calls
fail at once, and the presence view stays as last seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from .._identity import loggable
from .._link import RawAnswer
from .._versions import VERSIONS
from ..connection import Link
from ..errors import UsageError
from ..messages._base import OcppModel, OcppRequest, OcppVersion, Side
from ..roles import REPLAY_MEMORY_TTL, TRANSACTION_ACTIONS, CentralSystem
from ._answers import AnswerStore, ClusterAnswers
from ._bus import Bucket, Bus, BusDown, Msg, NoResponders, Subscription
from ._calls import Caller, Responder
from ._embedded import EmbeddedNats
from ._events import EventPublisher
from ._pool import Forwarder
from ._presence import ChargePointInfo, Held, Presence
from ._subjects import Names, encode_token

if TYPE_CHECKING:
    from ..server import CentralSystemServer

__all__ = ["Cluster", "ClusterClient"]

R = TypeVar("R", bound=OcppModel)

_log = logging.getLogger("ocpprpc.cluster")

DEFAULT_HEARTBEAT = 1.0
DEFAULT_NODE_TTL = 5.0
DEFAULT_EVENTS_MAX_AGE = 7 * 24 * 3600.0
_LOAD_TIMEOUT = 5.0
"""Seconds a join waits for the presence buckets to load (a watcher started while a NATS cluster elects a
stream leader may never deliver: the join is tried again)."""
_WRITE_TIMEOUT = 2.0
"""Seconds a closing node gives its last writes to NATS."""
_SILENCE_LIMIT = 3
"""A silent node that answers no ping but is not known gone either leaves the view after this many ttls."""
_NODES_BUCKET_TTL = 3600.0
"""How long a heartbeat stays in the nodes bucket at most (leftovers of nodes nobody saw die)."""


def member_id(given: str | None, kind: str) -> str:
    """A member's id: ``given`` (1 to 64 characters, else :class:`UsageError`), or by default host name,
    process id and a random suffix, so a restarted process is new. ``kind`` ("node", "worker") is for the error."""
    if given is None:
        return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    if not isinstance(given, str) or not given or len(given) > 64:
        raise UsageError(f"a {kind} id is 1 to 64 characters")
    return given


class ClusterClient:
    """A member of the cluster that holds no charge point: calls any charge point, sees presence.

    For a backend or API process: ``async with ClusterClient("nats://nats:4222") as client: await
    client.call("CP1", v16.ResetRequest(type="Soft"))``. ``nats_url`` is one URL, a comma-separated list or
    a sequence of URLs of the NATS cluster; None starts an embedded ``nats-server`` (:class:`EmbeddedNats`,
    its URL in :attr:`nats_url` once started). ``prefix`` names the subjects, buckets and stream (members
    with the same prefix form one cluster). ``replicas`` is how many NATS servers keep each bucket and the
    stream when this member creates them (1, or 3 on a three-server NATS cluster). ``nats_options`` go to
    nats-py's ``connect`` (credentials, TLS, ...).
    """

    def __init__(
        self,
        nats_url: str | Sequence[str] | None = None,
        *,
        prefix: str = "ocpprpc",
        replicas: int = 1,
        join_timeout: float = 10.0,
        name: str | None = None,
        nats_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.names = Names(prefix)
        if replicas < 1 or join_timeout < 0:
            raise UsageError("replicas is at least 1 and join_timeout cannot be negative")
        if isinstance(nats_url, str):
            servers = [url.strip() for url in nats_url.split(",") if url.strip()]
        else:
            servers = list(nats_url) if nats_url is not None else []
        if nats_url is not None and not servers:
            raise UsageError("a NATS URL is needed (or None for an embedded nats-server)")
        self._servers = servers
        self.embedded: EmbeddedNats | None = None if servers else EmbeddedNats()
        """The nats-server started for this member when no URL was given."""
        self.replicas = replicas
        self.join_timeout = join_timeout
        self._name = name or f"ocpprpc-{socket.gethostname()}-{os.getpid()}"
        self._nats_options = dict(nats_options or {})
        self.presence = self._make_presence()
        """The connected charge points of the whole cluster (see :class:`Presence`)."""
        self._bus: Bus | None = None
        self._caller: Caller | None = None
        self._joined = asyncio.Event()
        self._following: asyncio.Task[None] | None = None
        self._buckets: tuple[Bucket, Bucket] | None = None
        self._ticking: asyncio.Task[None] | None = None
        self._beats: Subscription | None = None
        self._closed = False
        self._pinging: dict[str, asyncio.Task[None]] = {}
        """The silent nodes being asked whether they are there."""

    def _make_presence(self) -> Presence:
        return Presence()

    # -- life -----------------------------------------------------------------------------------------

    @property
    def nats_url(self) -> str:
        """The NATS URL(s) the member connects to (the embedded server's once started)."""
        if self.embedded is not None:
            return self.embedded.url
        return ",".join(self._servers)

    @property
    def connected_url(self) -> str | None:
        """The NATS server the member is connected to now (None while disconnected)."""
        return self._bus.connected_url if self._bus is not None and self._bus.up else None

    @property
    def connected(self) -> bool:
        """True while joined to the cluster (connected to NATS, its buckets and stream in place)."""
        return self._joined.is_set() and self._bus is not None and self._bus.up

    async def start(self) -> None:
        """Start the embedded server (if any) and connect; wait up to ``join_timeout`` for the first join.

        A member that has not joined by then logs a warning and keeps trying in the background.
        """
        if self._bus is not None:
            return
        if self.embedded is not None:
            await self.embedded.start()
            self._servers = [self.embedded.url]
        self._bus = Bus(self._servers, name=self._name, on_up=self._up, on_down=self._down, options=self._nats_options)
        self._caller = Caller(self._bus, self.names)
        self._made(self._bus)
        self._bus.start()
        self._ticking = asyncio.create_task(self._tick(), name="ocpprpc-cluster-tick")
        try:
            await self.wait_joined(self.join_timeout)
        except TimeoutError:
            _log.warning(
                "cluster: not joined within %g s (NATS %s); serving local charge points, still trying",
                self.join_timeout,
                ",".join(self._servers),
            )

    async def wait_joined(self, timeout: float | None = None) -> None:
        """Wait until the member is joined (TimeoutError after ``timeout``)."""
        async with asyncio.timeout(timeout):
            while not self.connected:
                await self._joined.wait()
                if not self.connected:
                    await asyncio.sleep(0.01)

    async def close(self) -> None:
        """Leave the cluster, close the connection, stop the embedded server."""
        if self._closed:
            return
        self._closed = True
        for task in (self._ticking, self._following, *self._pinging.values()):  # no heartbeat after leaving
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, BusDown):
                    await task
        await self._leave()
        if self._caller is not None:
            await self._caller.close()
        await self.presence.close()
        if self._bus is not None:
            await self._bus.close()
        if self.embedded is not None:
            await self.embedded.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- calls ----------------------------------------------------------------------------------------

    async def call(self, charge_point_id: str, request: OcppRequest[R], *, timeout: float | None = None) -> R:
        """Call ``charge_point_id`` wherever it is connected; the typed response.

        Raises what a local :meth:`CentralSystemServer.call <ocpprpc.server.CentralSystemServer.call>`
        raises: the charge point's :class:`~ocpprpc.errors.OcppError` (``remote=True``),
        :class:`~ocpprpc.server.UnknownChargePoint` at once when it is connected nowhere,
        :class:`~ocpprpc.errors.CallTimeout`, :class:`~ocpprpc.errors.ConnectionClosed` (also when the node
        holding it goes away meanwhile), :class:`~ocpprpc.errors.UsageError`; and
        :class:`ClusterUnavailable` (a ConnectionClosed) when NATS is unreachable from here.
        """
        return await self._started().call(charge_point_id, request, timeout=timeout)

    async def call_raw(
        self, charge_point_id: str, action: str, payload: dict[str, Any], *, timeout: float | None = None
    ) -> RawAnswer:
        """:meth:`Role.call_raw <ocpprpc.roles.Role.call_raw>` (a test tool) of ``charge_point_id`` wherever it
        is connected: the charge point's answer as data, its CALLERROR included; raises as :meth:`call`."""
        return await self._started().call_raw(charge_point_id, action, payload, timeout)

    async def send_raw(self, charge_point_id: str, text: str) -> str | None:
        """:meth:`Role.send_raw <ocpprpc.roles.Role.send_raw>` (a test tool) of ``charge_point_id`` wherever it
        is connected. Over OCPP-J None, and the charge point's answer to the text, if any, reaches the role
        object on the node holding it (its ``on_unmatched_frame``); over SOAP the HTTP response body."""
        return await self._started().send_raw(charge_point_id, text)

    def _started(self) -> Caller:
        if self._caller is None:
            raise UsageError("start the cluster member first (await cluster.start(), or async with)")
        return self._caller

    # -- joining ----------------------------------------------------------------------------------------

    async def _up(self) -> None:
        """The connection came up: (re)join until done or it goes down again."""
        self._joined.clear()
        delay, fresh = 0.05, self._buckets is None
        while self._bus is not None and self._bus.up and not self._closed:
            try:
                await self._join(self._bus, fresh)
            except BusDown as exc:
                _log.info("cluster: joining (JetStream not ready?): %s", exc)
                await asyncio.sleep(delay)
                delay, fresh = min(delay * 2, 2.0), True
                continue
            self._joined.set()
            _log.info("cluster: %s joined via %s", self._name, self._bus.connected_url)
            return

    async def _down(self) -> None:
        self._joined.clear()
        self.presence.stopped()
        if self._caller is not None:
            self._caller.connection_lost()
        _log.warning("cluster: %s lost NATS; local charge points still served, rejoining by itself", self._name)

    async def _join(self, bus: Bus, fresh: bool) -> None:
        """Join: the buckets and the stream in place (checked at the first join, or after a failed one: a
        reconnection reuses them, as a NATS cluster electing new leaders answers slowly), presence loaded."""
        if fresh or self._buckets is None:
            nodes = await bus.bucket(self.names.nodes_bucket, ttl=_NODES_BUCKET_TTL, replicas=self.replicas)
            presence = await bus.bucket(self.names.presence_bucket, ttl=None, replicas=self.replicas)
            await self._prepare(bus)
            self._buckets = nodes, presence
        nodes, presence = self._buckets
        if self._following is not None:  # the previous join's (its failure, if any, was seen then)
            self._following.cancel()
            with contextlib.suppress(asyncio.CancelledError, BusDown):
                await self._following
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._following = asyncio.create_task(self._follow(nodes, presence, ready), name="ocpprpc-cluster-follow")
        await asyncio.wait({ready, self._following}, timeout=_LOAD_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            if self._following.done():
                self._following.result()  # raises why following stopped
            raise BusDown(f"presence not loaded within {_LOAD_TIMEOUT:g} s")
        await self._joined_as_member(bus, nodes, presence)

    async def _follow(self, nodes: Bucket, presence: Bucket, ready: asyncio.Future[None]) -> None:
        try:
            await self.presence.follow(nodes, presence, ready)
        except BusDown as exc:
            if not ready.done():
                raise
            _log.warning("cluster: stopped following presence (%s); joining again", exc)
            self.presence.stopped()
            if self._bus is not None and not self._closed:
                self._bus.rejoin()

    def _made(self, bus: Bus) -> None:
        """The connection object exists (not connected yet): make what uses it."""

    async def _prepare(self, bus: Bus) -> None:
        """What else a member needs in place before it follows presence (a node: its stream, its bucket)."""

    async def _joined_as_member(self, bus: Bus, nodes: Bucket, presence: Bucket) -> None:
        """What a member does once presence is loaded (a node also beats and registers its charge points)."""
        if self._beats is None:

            async def heard(message: Msg) -> None:
                self.presence.heard(message.data)

            self._beats = await bus.subscribe(self.names.beats, heard)

    async def _leave(self) -> None:
        """What a member does before it closes (a node: unregister)."""

    async def _tick(self) -> None:
        """Every second: nodes that stopped beating are checked, and leave the view when gone (a node beats)."""
        while True:
            await asyncio.sleep(self._tick_interval())
            try:
                self._check_silent_nodes()
                await self._beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("cluster: periodic work failed")

    def _tick_interval(self) -> float:
        return 0.5

    def _check_silent_nodes(self) -> None:
        """A node silent past its ttl is pinged (see :mod:`._presence`): gone when NATS has no responder for
        it, kept when it answers, dropped anyway after ``_SILENCE_LIMIT`` times its ttl."""
        for node, silence, ttl in self.presence.silent_nodes():
            if silence > ttl * _SILENCE_LIMIT:
                self.presence.drop_node(node, f"unanswered past {_SILENCE_LIMIT} times its ttl")
            elif node not in self._pinging:
                self._pinging[node] = asyncio.create_task(self._ping_silent(node, ttl))

    async def _ping_silent(self, node: str, ttl: float) -> None:
        try:
            bus = self._bus
            if bus is None or not bus.up:
                return
            await bus.request(self.names.ping(node), b"", timeout=max(ttl / 2, self._tick_interval()))
        except NoResponders:
            self.presence.drop_node(node, "its NATS connection is gone")
        except BusDown:
            pass  # undecided (a late reply, or this member's own link busy): asked again at the next tick
        else:
            self.presence.vouch(node)
        finally:
            self._pinging.pop(node, None)

    async def _beat(self) -> None:
        """A node's heartbeat (none for a client)."""


def _action_option(
    option: str, value: bool | Collection[str], allowed: frozenset[str], kind: str, what: str
) -> frozenset[str] | None:
    """An option naming actions: None for True (every one), empty for False, else the names given, each
    one of ``allowed`` (a UsageError saying which are not ``what``)."""
    if isinstance(value, bool):
        return None if value else frozenset()
    if isinstance(value, str) or not all(isinstance(action, str) for action in value):
        raise UsageError(f"{option} is True, False or a collection of {kind}")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise UsageError(f"{option}: not {what}: {', '.join(unknown)}")
    return frozenset(value)


@dataclass(eq=False, slots=True)
class _Claim:
    """A charge point this node holds, and what it wrote about it."""

    role: CentralSystem
    info: ChargePointInfo
    revision: int | None = None
    """The presence entry's revision once written (None: not written yet, e.g. NATS away)."""


class Cluster(ClusterClient):
    """A central system node: joined to a :class:`~ocpprpc.server.CentralSystemServer`, it makes the charge
    points connected to that server reachable from every member, and reaches theirs.

    ``CentralSystemServer(MyCentralSystem, cluster=Cluster("nats://nats:4222"))``, then ``async with
    cluster:`` around the transports. ``node_id`` names the node in presence (default: host name, process
    id and a random suffix, so a restarted process is a new node). ``heartbeat`` / ``node_ttl``: a node
    beats every ``heartbeat`` seconds and counts as gone after ``node_ttl`` seconds of silence (its charge
    points then leave presence). ``events``: True publishes every inbound call and its answer to the
    event stream, a collection of action names only those (``{"StartTransaction", "StopTransaction",
    "MeterValues"}``); ``events_max_age`` is the stream's history in seconds when this node creates it.
    ``worker_pool``: True hands every inbound call, once validated, to the worker pool
    (:class:`~ocpprpc.cluster.ClusterWorker` processes) instead of this node's handlers, a collection of
    action names only those; the node keeps the protocol (validation, exactly once, events), see
    :mod:`._pool`. It is the node's option, not the server's, because it is a routing decision on the
    cluster like ``events`` (a server without a cluster has nowhere to forward to), and the server keeps
    making its role objects for the protocol work either way. ``exactly_once``: which transaction messages
    are handled once across nodes (True: all of StartTransaction, StopTransaction, MeterValues and
    TransactionEvent; a collection: those; False: none). Each costs two acknowledged writes to the answers
    bucket per message (about 130 µs of CPU between the node and NATS); the others are still handled once
    per node (its own memory), so a retry that reaches another node after a reconnect is handled again
    there. ``{"StartTransaction", "StopTransaction"}`` keeps billing's messages exactly once where a
    flood of MeterValues, stored idempotently by the application, need not be. See
    :class:`ClusterClient` for the other options.
    """

    def __init__(
        self,
        nats_url: str | Sequence[str] | None = None,
        *,
        node_id: str | None = None,
        events: bool | Collection[str] = False,
        prefix: str = "ocpprpc",
        replicas: int = 1,
        heartbeat: float = DEFAULT_HEARTBEAT,
        node_ttl: float = DEFAULT_NODE_TTL,
        events_max_age: float = DEFAULT_EVENTS_MAX_AGE,
        worker_pool: bool | Collection[str] = False,
        exactly_once: bool | Collection[str] = True,
        join_timeout: float = 10.0,
        nats_options: Mapping[str, Any] | None = None,
    ) -> None:
        once = _action_option(
            "exactly_once",
            exactly_once,
            TRANSACTION_ACTIONS,
            "transaction messages",
            f"one of the transaction messages ({', '.join(sorted(TRANSACTION_ACTIONS))}), the only ones retried"
            " with their first id",
        )
        pool = _action_option(
            "worker_pool",
            worker_pool,
            frozenset(a for v in VERSIONS.values() for a in v.received_by(Side.CENTRAL_SYSTEM)),
            "action names",
            "an action a central system receives",
        )
        if heartbeat <= 0 or node_ttl < 2 * heartbeat:
            raise UsageError("heartbeat is positive and node_ttl at least twice the heartbeat")
        self.node_id = member_id(node_id, "node")
        """This node's id in presence and in events."""
        super().__init__(
            nats_url,
            prefix=prefix,
            replicas=replicas,
            join_timeout=join_timeout,
            name=f"ocpprpc-node-{self.node_id}",
            nats_options=nats_options,
        )
        self.heartbeat = heartbeat
        self.node_ttl = node_ttl
        self.events_max_age = events_max_age
        self._event_actions: Collection[str] | None = None if events is True else (events or None)
        self._events_on = events is True or bool(events)
        self._server: CentralSystemServer[Any] | None = None
        self._claims: dict[str, _Claim] = {}
        self._since = datetime.now(UTC)
        self._nodes_bucket: Bucket | None = None
        self._presence_bucket: Bucket | None = None
        self._last_beat = 0.0
        self._writing_beat: asyncio.Task[None] | None = None
        self._answer_store = AnswerStore(self.names, self.node_id, self.presence.node_alive)
        self._answer_store.exactly_once = TRANSACTION_ACTIONS if once is None else once
        self._events: EventPublisher | None = None
        self._responder: Responder | None = None
        self._forwarder: Forwarder | None = None
        if pool is None or pool:
            self._forwarder = self._answer_store.forwarder = Forwarder(self.names, self.node_id, pool)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.presence.on_entry = self._on_entry
        self.presence.on_node_gone = self._on_node_gone

    def _make_presence(self) -> Presence:
        return Presence(self.node_id)

    @property
    def server(self) -> CentralSystemServer[Any] | None:
        """The server this node serves the charge points of."""
        return self._server

    @property
    def events(self) -> EventPublisher | None:
        """The event publisher (None unless ``events``): ``published``, ``backlog``, ``dropped`` counts."""
        return self._events

    def _attach_server(self, server: CentralSystemServer[Any]) -> None:
        """Called by the server given ``cluster=``: one server per node."""
        if self._server is not None and self._server is not server:
            raise UsageError("a Cluster node serves one CentralSystemServer")
        self._server = server

    # -- for the server -------------------------------------------------------------------------------

    def _answers_for(self, charge_point_id: str, ttl: float | None) -> ClusterAnswers:
        """The memory of answers the server gives a charge point's role objects."""
        return ClusterAnswers(charge_point_id, ttl, self._answer_store)

    async def _claim(self, role: CentralSystem, link: Link, version: OcppVersion) -> None:
        """A charge point connected to this node (its connection registered with the server): make it ours."""
        info = ChargePointInfo(
            role.id, self.node_id, _transport_name(link), version.version, datetime.now(UTC), secrets.token_hex(8)
        )
        claim = self._claims[role.id] = _Claim(role, info)
        if self._bus is not None and self._bus.up:  # (else written when the node joins)
            await self._write_claim(claim)

    async def _release(self, role: CentralSystem) -> None:
        """A connection of this node ended (and no newer one of the same charge point replaced it here)."""
        claim = self._claims.get(role.id)
        if claim is None or claim.role is not role:
            return
        del self._claims[role.id]
        if self._responder is not None:
            await self._responder.stop_serving(role.id)
        bucket, revision = self._presence_bucket, claim.revision
        if revision is not None and bucket is not None and self._bus is not None and self._bus.up:

            async def unregister() -> None:  # in the background: a disconnection never waits for NATS
                with contextlib.suppress(BusDown):
                    await bucket.delete(encode_token(role.id), last=revision)  # not a newer entry

            self._spawn(unregister())

    async def _write_claim(self, claim: _Claim) -> None:
        """Write the presence entry of a charge point held here, and take its calls."""
        bucket, responder = self._presence_bucket, self._responder
        if bucket is None or responder is None:
            return
        await responder.serve(claim.info.charge_point_id)
        try:
            revision = await bucket.put(encode_token(claim.info.charge_point_id), _entry_json(claim.info))
        except BusDown as exc:
            _log.info("cluster: %s not registered yet: %s", loggable(claim.info.charge_point_id), exc)
            return
        if self._claims.get(claim.info.charge_point_id) is not claim:  # released meanwhile: undo
            with contextlib.suppress(BusDown):
                await bucket.delete(encode_token(claim.info.charge_point_id), last=revision)
            return
        claim.revision = revision
        self._check_claim(claim.info.charge_point_id, self.presence.held(claim.info.charge_point_id))

    def _on_entry(self, charge_point_id: str, held: Held | None) -> None:
        """A presence entry changed (seen by the watcher): a charge point of ours may have moved away."""
        claim = self._claims.get(charge_point_id)
        if claim is None or claim.revision is None:
            return
        if held is None:  # someone deleted our entry (it took us for dead): write it again
            if self._bus is not None and self._bus.up:
                claim.revision = None
                self._spawn(self._write_claim(claim))
            return
        self._check_claim(charge_point_id, held)

    def _check_claim(self, charge_point_id: str, held: Held | None) -> None:
        claim = self._claims.get(charge_point_id)
        if claim is None or held is None or claim.revision is None:
            return
        if held.info.connection != claim.info.connection and held.revision > claim.revision:
            self._lose(claim, held.info)

    def _lose(self, claim: _Claim, winner: ChargePointInfo) -> None:
        """Another connection of this charge point is newer: close ours (never two owners)."""
        cp = claim.info.charge_point_id
        del self._claims[cp]
        where = "here" if winner.node == self.node_id else f"to node {winner.node}"
        _log.info(
            "cluster: charge point %s connected again %s; closing its connection on this node", loggable(cp), where
        )

        async def close() -> None:
            if self._responder is not None and cp not in self._claims:
                await self._responder.stop_serving(cp)
            await claim.role.close(f"connected again {where}")

        self._spawn(close())

    def _on_node_gone(self, node: str, entries: list[Held], heartbeat_revision: int | None) -> None:
        """A node left or stopped beating: the live node with the smallest id deletes its leftovers (deletes
        conditional on the revisions seen, so an entry written again meanwhile stays)."""
        if min([self.node_id, *self.presence.nodes]) != self.node_id:
            return

        async def clean() -> None:
            presence, nodes = self._presence_bucket, self._nodes_bucket
            if presence is None or nodes is None or not self.connected or self.presence.node_alive(node):
                return  # a node back meanwhile keeps its entries
            with contextlib.suppress(BusDown):
                for held in entries:
                    await presence.delete(encode_token(held.info.charge_point_id), last=held.revision)
                if heartbeat_revision is not None:
                    await nodes.delete(encode_token(node), last=heartbeat_revision)

        self._spawn(clean())

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _local(self, charge_point_id: str) -> CentralSystem | None:
        """The role object of a charge point this node holds."""
        claim = self._claims.get(charge_point_id)
        return claim.role if claim is not None else None

    # -- joining ----------------------------------------------------------------------------------------

    async def _prepare(self, bus: Bus) -> None:
        ttl = self._server.replay_memory_ttl if self._server is not None else REPLAY_MEMORY_TTL
        if ttl > 0:  # (a server remembering nothing: nothing to share)
            self._answer_store.bucket = await bus.bucket(self.names.answers_bucket, ttl=ttl, replicas=self.replicas)
        if self._events_on:
            await bus.ensure_stream(
                self.names.events_stream,
                [f"{self.names.prefix}.events.>"],
                max_age=self.events_max_age,
                replicas=self.replicas,
            )

    @property
    def worker_pool(self) -> frozenset[str] | bool:
        """The actions handed to the worker pool: True for all, False for none (see ``worker_pool=``)."""
        if self._forwarder is None:
            return False
        return True if self._forwarder.actions is None else self._forwarder.actions

    def _made(self, bus: Bus) -> None:
        if self._forwarder is not None:
            self._forwarder.caller = self._caller
        self._responder = Responder(bus, self.names, self.node_id, self._local)
        if self._events_on:
            self._events = EventPublisher(bus, self.names, self.node_id, self._event_actions)
            self._answer_store.events = self._events

    async def _joined_as_member(self, bus: Bus, nodes: Bucket, presence: Bucket) -> None:
        await super()._joined_as_member(bus, nodes, presence)
        self._nodes_bucket, self._presence_bucket = nodes, presence
        assert self._responder is not None
        await self._responder.start()
        await self._beat(force=True)
        # The charge points held here: settle each against what the bucket says (the later connection wins).
        for cp, claim in list(self._claims.items()):
            held = self.presence.held(cp)
            if held is not None and held.info.connection == claim.info.connection:
                claim.revision = held.revision
                await self._responder.serve(cp)
            elif held is not None and held.info.since > claim.info.since and self.presence.node_alive(held.info.node):
                self._lose(claim, held.info)
            else:
                claim.revision = None
                await self._write_claim(claim)
        # Entries naming this node that it does not hold: left by its previous life, or released while away.
        for held in self.presence.entries_of(self.node_id):
            ours = self._claims.get(held.info.charge_point_id)
            if ours is None or ours.info.connection != held.info.connection:
                with contextlib.suppress(BusDown):
                    await presence.delete(encode_token(held.info.charge_point_id), last=held.revision)
        await self._answer_store.write_unwritten()
        if self._events is not None:
            self._events.flush_soon()

    def _tick_interval(self) -> float:
        return min(0.5, self.heartbeat / 2)

    async def _beat(self, force: bool = False) -> None:
        """Every ``heartbeat`` seconds: published on core NATS, and written to the nodes bucket for members
        that join later (in the background: a NATS cluster electing a leader may hold the write a while)."""
        bucket, bus = self._nodes_bucket, self._bus
        now = time.monotonic()
        if bucket is None or bus is None or not bus.up or (not force and now - self._last_beat < self.heartbeat):
            return
        self._last_beat = now
        beat = json.dumps(
            {"node": self.node_id, "ttl": self.node_ttl, "at": time.time(), "since": self._since.isoformat()}
        ).encode()
        with contextlib.suppress(BusDown):
            await bus.publish(self.names.beat(self.node_id), beat)
        if self._writing_beat is None or self._writing_beat.done():
            self._writing_beat = asyncio.create_task(self._write_beat(bucket, beat))

    async def _write_beat(self, bucket: Bucket, beat: bytes) -> None:
        try:
            await bucket.put(encode_token(self.node_id), beat)
        except BusDown as exc:
            _log.debug("cluster: heartbeat not written: %s", exc)

    async def _leave(self) -> None:
        """Unregister the charge points held here and the node itself; stop taking calls."""
        if self._responder is not None:
            await self._responder.close()
        if self._writing_beat is not None:
            self._writing_beat.cancel()
        if self._tasks:  # unregistering of connections that just ended, and the like: let them finish
            await asyncio.wait(list(self._tasks), timeout=_WRITE_TIMEOUT)
        presence, nodes = self._presence_bucket, self._nodes_bucket
        if self.connected and presence is not None and nodes is not None:
            with contextlib.suppress(BusDown):
                for cp, claim in list(self._claims.items()):
                    if claim.revision is not None:
                        await presence.delete(encode_token(cp), last=claim.revision)
                await nodes.delete(encode_token(self.node_id))
        self._claims.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._events is not None:
            await self._events.close()


def _entry_json(info: ChargePointInfo) -> bytes:
    return json.dumps(info.to_json(), separators=(",", ":")).encode()


def _transport_name(link: Link) -> str:
    """``websocket``, ``soap``, ``memory`` for ocpprpc's transports; the link's class name for another."""
    for thing in (getattr(link, "_channel", None), link):
        module = type(thing).__module__ if thing is not None else ""
        if module.startswith("ocpprpc.transports."):
            return module.rsplit(".", 1)[1]
    return type(link).__name__
