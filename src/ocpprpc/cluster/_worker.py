"""Handlers in a worker pool, the worker's side: :class:`ClusterWorker` runs an ordinary role class's handlers.

Nodes given ``Cluster(worker_pool=...)`` hand the valid inbound calls of their charge points to
``<prefix>.work.<version>.<action>``; every worker subscribes to the subjects of the actions it serves in
one NATS queue group (``workers``), so each call reaches one worker, and starting more worker processes
(on any machine) spreads the load. A worker makes a role object of the call's charge point and version
with the role class (or factory) it was given, runs the ``@on`` handler, replies with the response (or
the handler's OCPP error), then runs the ``@after`` hooks. The node checks and remembers the answer.

Inside a handler the role object is what it is on a node: ``self.id`` is the charge point's id,
``self.version`` its connection's version, and ``await self.call(...)`` (also ``call_raw`` and
``send_raw``) reaches the charge point through the cluster, wherever it is connected. What differs: the
role object lives for one call (keep state in a database, not on ``self``), its ``on_connect`` /
``on_disconnect`` run on the node (with the node's role object), and ``self.close()`` closes nothing.

Bounds: at most ``max_concurrent`` handlers run at once, and at most ``max_waiting`` calls wait for a
slot, in arrival order; a call arriving beyond that is refused at once as busy (the node tries the
pool again twice, then answers InternalError), and one that waited so long that its node stopped
waiting for the acknowledgement (five seconds) is dropped, not run late. A call is acknowledged when its
handler starts.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Generic, TypeVar

from .._identity import loggable
from .._link import RawAnswer
from .._versions import resolve_version
from ..errors import ConnectionClosed, UsageError
from ..messages._base import ActionSpec, Side
from ..roles import CentralSystem
from ..server import RoleFactory, served_versions
from ._bus import Bucket, Bus, BusDown, Msg, NoResponders, Subscription, TooLarge
from ._calls import ACK_TIMEOUT, Caller, first_line, pong, publish_reply
from ._cluster import ClusterClient, member_id
from ._wire import ACK_HEADER, WORKER_HEADER, ClusterError, PoolBusy, WorkRequest, encode_error, encode_payload

__all__ = ["DEFAULT_MAX_CONCURRENT", "DEFAULT_MAX_WAITING", "ClusterWorker"]

CS = TypeVar("CS", bound=CentralSystem)

_log = logging.getLogger("ocpprpc.cluster")

DEFAULT_MAX_CONCURRENT = 100
"""Handlers a worker runs at once by default."""
DEFAULT_MAX_WAITING = 1000
"""Calls that wait for a free handler slot by default (beyond: refused as busy)."""
_MAX_WAIT = ACK_TIMEOUT - 0.5
"""Seconds a call may wait for a slot: its node waits :data:`ACK_TIMEOUT` for the acknowledgement."""
_FLUSH_TIMEOUT = 5.0
"""Seconds a join waits for NATS to confirm the worker's subscriptions."""
_DRAIN_TIMEOUT = 5.0
"""Seconds a closing worker lets the handlers running finish (then they are cancelled, and their nodes
answer InternalError, which the charge point may retry)."""


class _ClusterLink:
    """A worker's role object's way to its charge point: through the cluster, to the node holding it."""

    def __init__(self, caller: Caller, charge_point_id: str, version: str) -> None:
        self._caller = caller
        self._charge_point_id = charge_point_id
        self._version = version

    @property
    def closed(self) -> bool:
        return False

    async def request(
        self, spec: ActionSpec, payload: dict[str, Any], timeout: float, message_id: str | None = None
    ) -> dict[str, Any]:
        return await self._caller.call_payload(self._charge_point_id, self._version, spec.name, payload, timeout)

    async def call_raw(self, action: str, payload: dict[str, Any], timeout: float) -> RawAnswer:
        return await self._caller.call_raw(self._charge_point_id, action, payload, timeout)

    async def send_raw(self, text: str) -> str | None:
        return await self._caller.send_raw(self._charge_point_id, text)

    async def close(self, reason: str = "") -> None:
        """Nothing: the connection is the node's."""


class ClusterWorker(ClusterClient, Generic[CS]):
    """A process of the worker pool: runs the handlers of ``factory`` for the nodes' charge points.

    ``ClusterWorker(MyCentralSystem, "nats://nats:4222")``, then ``async with worker:`` for as long as it
    should serve. ``factory`` is a :class:`~ocpprpc.CentralSystem` subclass (the same class a node would
    serve) or a function ``(charge_point_id, version) -> role`` as for
    :class:`~ocpprpc.server.CentralSystemServer`. ``versions`` (default: the role class's) and ``actions``
    (default: every action a central system receives) choose what this worker serves, so a pool of its own
    can serve, say, only the transaction messages. ``max_concurrent``: handlers run at once at most;
    ``max_waiting``: calls waiting for a slot (beyond: refused as busy). ``worker_id`` names it in
    acknowledgements and logs (default: host name, process id, a random suffix). The member's other
    options are :class:`ClusterClient`'s; :meth:`call` and :attr:`presence` work as there.
    """

    def __init__(
        self,
        factory: type[CS] | RoleFactory[CS],
        nats_url: str | Sequence[str],
        *,
        actions: Collection[str] | None = None,
        versions: Sequence[str] | None = None,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT,
        max_waiting: int = DEFAULT_MAX_WAITING,
        worker_id: str | None = None,
        prefix: str = "ocpprpc",
        replicas: int = 1,
        join_timeout: float = 10.0,
        nats_options: Mapping[str, Any] | None = None,
    ) -> None:
        _, self.versions = served_versions(factory, versions)
        """The OCPP versions served."""
        if not nats_url or (isinstance(nats_url, str) and not nats_url.strip()):  # (None: untyped callers)
            raise UsageError("a worker joins an existing cluster: give the NATS URL of its nodes")
        if max_concurrent < 1 or max_waiting < 1:
            raise UsageError("max_concurrent and max_waiting are at least 1")
        if isinstance(actions, str):
            raise UsageError("actions is a collection of action names, not one string")
        self.worker_id = member_id(worker_id, "worker")
        """This worker's id in acknowledgements and logs."""
        super().__init__(
            nats_url,
            prefix=prefix,
            replicas=replicas,
            join_timeout=join_timeout,
            name=f"ocpprpc-worker-{self.worker_id}",
            nats_options=nats_options,
        )
        self.factory: type[CS] | RoleFactory[CS] = factory
        served = {
            (version, action)
            for version in self.versions
            for action in resolve_version(version).received_by(Side.CENTRAL_SYSTEM)
            if actions is None or action in actions
        }
        unknown = set(actions or ()) - {action for _, action in served}
        if unknown:
            raise UsageError(
                f"not an action a central system receives in OCPP {', '.join(self.versions)}: "
                + ", ".join(sorted(unknown))
            )
        self.subjects: tuple[str, ...] = tuple(sorted(self.names.work(v, a) for v, a in served))
        """The subjects this worker takes calls on (in the queue group ``workers``)."""
        self.max_concurrent = max_concurrent
        self.max_waiting = max_waiting
        self.handled = 0
        """Calls answered so far (a handler's error included)."""
        self._waiting: collections.deque[tuple[float, Msg]] = collections.deque()
        self._subscriptions: list[Subscription] = []
        self._ping: Subscription | None = None
        self._running: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        """Handlers running now."""
        return len(self._running)

    # -- joining ----------------------------------------------------------------------------------------

    async def _joined_as_member(self, bus: Bus, nodes: Bucket, presence: Bucket) -> None:
        await super()._joined_as_member(bus, nodes, presence)
        # Each subscription once (nats-py restores them after a reconnection); a join that failed half-way
        # subscribes the rest the next time.
        if self._ping is None:
            self._ping = await bus.subscribe(self.names.worker_ping(self.worker_id), self._on_ping)
        fresh = len(self._subscriptions) < len(self.subjects)
        for subject in self.subjects[len(self._subscriptions) :]:
            self._subscriptions.append(await bus.subscribe(subject, self._on_work, queue=self.names.worker_queue))
        # Joined means taking calls: a request to our own ping, sent after the subscriptions on the same
        # connection, comes back once the server has them all (nats-py's flush() writes its PING ahead of
        # commands still buffered, so it proves nothing about them).
        try:
            await bus.request(self.names.worker_ping(self.worker_id), b"", timeout=_FLUSH_TIMEOUT)
        except NoResponders:
            raise BusDown("the worker's subscriptions are not in place yet") from None
        if fresh:
            _log.info("cluster: worker %s takes %d subjects", self.worker_id, len(self.subjects))

    async def _leave(self) -> None:
        """Stop taking calls, let those running finish (a while), then stop answering pings."""
        for subscription in self._subscriptions:
            await Bus.unsubscribe(subscription)
        self._subscriptions.clear()
        closing = encode_error(ConnectionClosed(f"worker {self.worker_id} is closing"))
        while self._waiting:  # their nodes answer at once rather than after the acknowledgement wait
            _, message = self._waiting.popleft()
            if message.reply:
                await self._reply(message.reply, closing)
        if self._running:
            await asyncio.wait(list(self._running), timeout=_DRAIN_TIMEOUT)
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        if self._ping is not None:
            await Bus.unsubscribe(self._ping)
            self._ping = None

    # -- calls ------------------------------------------------------------------------------------------

    async def _on_ping(self, message: Msg) -> None:
        if self._bus is not None:
            await pong(self._bus, message)

    async def _on_work(self, message: Msg) -> None:
        """A call for the pool: started now, or queued, or refused as busy (never held in NATS's buffer, so a
        flood costs this worker at most ``max_waiting`` messages)."""
        if len(self._running) < self.max_concurrent:
            self._start(message)
        elif len(self._waiting) < self.max_waiting:
            self._waiting.append((time.monotonic(), message))
        elif message.reply:
            running, waiting = self.max_concurrent, self.max_waiting
            busy = PoolBusy(f"worker {self.worker_id} is busy ({running} running, {waiting} waiting)")
            await self._reply(message.reply, encode_error(busy))

    def _start(self, message: Msg) -> None:
        task = asyncio.get_running_loop().create_task(self._work(message), name="ocpprpc-worker-call")
        self._running.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        """A slot is free: start the oldest call still worth starting (its node still waits for the ack)."""
        self._running.discard(task)
        now = time.monotonic()
        while self._waiting and not self._closed:
            since, message = self._waiting.popleft()
            if now - since <= _MAX_WAIT:
                self._start(message)
                return
            _log.warning("cluster: worker %s dropped a call that waited %.1f s for a slot", self.worker_id, now - since)

    async def _work(self, message: Msg) -> None:
        """Run one call: the role object of its charge point, the acknowledgement, the handler, the reply, the
        after-hooks."""
        reply = message.reply
        if not reply:
            _log.warning("cluster: worker %s dropped a call without a reply subject", self.worker_id)
            return
        try:
            request = WorkRequest.decode(message.data)
            if request.version not in self.versions:
                raise ValueError(f"OCPP {request.version} is not served here")
            role = self.factory(request.charge_point_id, request.version)
            if not isinstance(role, CentralSystem):
                raise TypeError(f"the factory made {type(role).__name__}, not a CentralSystem")
        except Exception as exc:  # ValueError (garbage, made up), or the factory's failure
            why = first_line(exc)
            _log.warning("cluster: worker %s refused a call: %s", self.worker_id, loggable(why))
            await self._reply(reply, encode_error(UsageError(f"not handled by worker {self.worker_id}: {why}")))
            return
        assert self._caller is not None
        role._link = _ClusterLink(self._caller, request.charge_point_id, request.version)
        if message.headers and message.headers.get(ACK_HEADER):
            ack = json.dumps({"worker": self.worker_id, "timeout": role.handler_timeout}).encode()
            await self._reply(reply, ack, {ACK_HEADER: "1"})
        try:
            result = await role._answer(request.action, request.payload)
        except asyncio.CancelledError:
            await self._reply(reply, encode_error(ConnectionClosed(f"worker {self.worker_id} is closing")))
            raise
        self.handled += 1
        if result.error is not None:
            data = encode_error(result.error)
        else:
            assert result.payload is not None
            data = encode_payload(result.payload)
        try:
            await self._reply(reply, data)
        except TooLarge as exc:  # the node answers InternalError at once rather than after the handler timeout
            _log.warning(
                "cluster: worker %s cannot send its %s answer for %s through NATS: %s",
                self.worker_id,
                request.action,
                loggable(request.charge_point_id),
                exc,
            )
            await self._reply(reply, encode_error(ClusterError(f"the {request.action} answer is too large: {exc}")))
        if result.after is not None:
            await result.after()

    async def _reply(self, subject: str, data: bytes, headers: dict[str, str] | None = None) -> None:
        """:func:`~ocpprpc.cluster._calls.publish_reply`, with this worker's header."""
        assert self._bus is not None
        headers = {WORKER_HEADER: self.worker_id, **(headers or {})}
        await publish_reply(self._bus, subject, data, headers, f"worker {self.worker_id}")
