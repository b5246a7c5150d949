"""Exactly-once across nodes: the answers to transaction messages in a key-value bucket every node reads.

A charge point retries a transaction message (StartTransaction, StopTransaction, MeterValues,
TransactionEvent) with the id of its first attempt when the answer was lost; after a reconnect the retry
may reach another node. Each node therefore records, in bucket ``<prefix>_answers`` (key
``<charge point>.<action>.<message id>``, tokens; TTL: the server's ``replay_memory_ttl``):

1. before handling a message, ``{"pending": "<node>", "at": <unix time>}``, created only if the key is
   new: of two nodes getting the same message at once, one handles it;
2. once handled, the answer: ``{"payload": {...}}`` or ``{"error": {"code", "description", "details"}}``.

A node finding an answer sends it again without handling the message; finding a pending mark it waits
for the answer, and handles the message itself only if the marking node is gone (or stays silent longer
than a handler may take). The node's own memory (:class:`~ocpprpc.roles.AnsweredCalls`) still answers a
retry on the same node, and stands in alone while NATS is unreachable (exactly-once then holds per node).

The same object publishes the events (:mod:`._events`): it sees every request the charge point makes and
the answer it gets. And it hands a request to the worker pool instead of the role's handler when the
node has one (:mod:`._pool`): the marks, the answers and the events are the same; an InternalError the
node gave because no worker answered is neither remembered nor published, so a retry is handled.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._identity import loggable
from ..roles import TRANSACTION_ACTIONS, AnsweredCalls, InboundResult, Role
from ._bus import Bucket, BusDown, Conflict
from ._subjects import Names
from ._wire import as_object, ocpp_error_fields, ocpp_error_from

if TYPE_CHECKING:
    from ._events import EventPublisher
    from ._pool import Forwarder

__all__ = ["AnswerStore", "ClusterAnswers"]

_log = logging.getLogger("ocpprpc.cluster")

_WRITE_TIMEOUT = 2.0
"""Seconds a key-value read or write may take before the node answers from its own memory alone."""
_PENDING_GRACE = 5.0
"""Seconds beyond the handler timeout a pending mark is trusted while its node is alive."""


class AnswerStore:
    """The answers bucket of one node (None while NATS is not joined)."""

    def __init__(self, names: Names, node: str, node_alive: Callable[[str], bool]) -> None:
        self._names = names
        self._node = node
        self._node_alive = node_alive
        self.bucket: Bucket | None = None
        self.events: EventPublisher | None = None
        """Where the events go (None unless the node publishes them)."""
        self.forwarder: Forwarder | None = None
        """Where the handlers run when not here (None unless the node has a worker pool)."""
        self._unwritten: dict[str, bytes] = {}
        self.exactly_once: frozenset[str] = frozenset(TRANSACTION_ACTIONS)
        """The transaction messages handled once across nodes (the others: once per node)."""

    async def claim(
        self, charge_point_id: str, action: str, message_id: str, handler_timeout: float | None
    ) -> int | InboundResult | None:
        """Mark a message as being handled here: its revision; or the answer another node gave; None without NATS."""
        bucket = self.bucket
        if bucket is None:
            return None
        key = self._names.answer_key(charge_point_id, action, message_id)
        mark = json.dumps({"pending": self._node, "at": time.time()}).encode()
        patience = (handler_timeout if handler_timeout is not None else 30.0) + _PENDING_GRACE
        delay = 0.01
        try:
            async with asyncio.timeout(patience + _WRITE_TIMEOUT):
                while True:
                    try:
                        return await bucket.create(key, mark)
                    except Conflict:
                        pass
                    entry = await bucket.get(key)
                    data = None if entry is None else entry.json()
                    if entry is None or data is None:
                        continue  # deleted meanwhile (or garbage): create it
                    answer = _answer_from(data)
                    if answer is not None:
                        return answer
                    owner, at = str(data.get("pending")), data.get("at")
                    age = time.time() - at if isinstance(at, int | float) else patience
                    if owner == self._node or not self._node_alive(owner) or age >= patience:
                        try:  # the node that began is gone (or this node's own attempt was lost): take over
                            return await bucket.update(key, mark, entry.revision)
                        except Conflict:
                            continue
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 0.5)
        except (BusDown, TimeoutError) as exc:
            _log.warning(
                "cluster: %s %s of %s handled with this node's memory only: %s",
                action,
                loggable(message_id),
                charge_point_id,
                exc or "no answer in time",
            )
            return None

    async def record(
        self, charge_point_id: str, action: str, message_id: str, revision: int, result: InboundResult
    ) -> None:
        """Replace the pending mark by the answer (kept and written later if NATS does not take it now)."""
        key = self._names.answer_key(charge_point_id, action, message_id)
        value = _answer_json(result)
        bucket = self.bucket
        try:
            if bucket is None:
                raise BusDown("not joined")
            async with asyncio.timeout(_WRITE_TIMEOUT):
                await bucket.update(key, value, revision)
        except Conflict:
            _log.warning(
                "cluster: %s %s of %s was taken over by another node", action, loggable(message_id), charge_point_id
            )
        except (BusDown, TimeoutError):
            self._unwritten[key] = value

    async def forget(self, charge_point_id: str, action: str, message_id: str, revision: int) -> None:
        """Drop a pending mark whose handling was cancelled (a retry then handles the message)."""
        bucket = self.bucket
        if bucket is not None:
            try:
                async with asyncio.timeout(_WRITE_TIMEOUT):
                    await bucket.delete(self._names.answer_key(charge_point_id, action, message_id), last=revision)
            except (BusDown, TimeoutError):
                pass

    async def write_unwritten(self) -> None:
        """At a (re)join: the answers NATS did not take while it was away."""
        bucket = self.bucket
        while bucket is not None and self._unwritten:
            key, value = next(iter(self._unwritten.items()))
            try:
                await bucket.put(key, value)
            except BusDown:
                return
            del self._unwritten[key]


def _answer_json(result: InboundResult) -> bytes:
    error = result.error
    if error is None:
        return json.dumps({"payload": result.payload}, separators=(",", ":")).encode()
    return json.dumps({"error": ocpp_error_fields(error)}, separators=(",", ":"), default=str).encode()


def _answer_from(data: dict[str, Any]) -> InboundResult | None:
    payload, error = as_object(data.get("payload")), as_object(data.get("error"))
    if payload is not None:
        return InboundResult(payload)
    if error is not None:
        return InboundResult(None, ocpp_error_from(error, remote=False))
    return None


class ClusterAnswers(AnsweredCalls):
    """One charge point's memory of answers on a cluster node: this node's memory, the answers bucket, the events.

    The server gives one to each charge point's role objects (``role.answered``), so every request its
    charge point makes comes here (see :meth:`answer`).
    """

    __slots__ = ("_store", "charge_point_id")

    def __init__(self, charge_point_id: str, ttl: float | None, store: AnswerStore) -> None:
        super().__init__(ttl)
        self.charge_point_id = charge_point_id
        self._store = store

    async def answer(
        self, role: Role, action: str, payload: dict[str, Any] | str, message_id: str | None
    ) -> InboundResult:
        """Answer one request of ``role``'s charge point: a transaction message once across the cluster; the
        event published (when ``events`` wants it) before the answer goes back."""
        events = self._store.events
        received_at = datetime.now(UTC) if events is not None and events.wants(action) else None
        if message_id is None or action not in TRANSACTION_ACTIONS:
            result, handled = await self._handle(role, action, payload, message_id)
        else:
            result, handled = await self._once(role, action, payload, message_id)
        if handled and events is not None and received_at is not None:
            await events.publish(self.charge_point_id, role.version, action, message_id, payload, result, received_at)
        return result

    async def _handle(
        self, role: Role, action: str, payload: dict[str, Any] | str, message_id: str | None
    ) -> tuple[InboundResult, bool]:
        """The answer of the worker pool (when it takes ``action``) or of ``role``'s handler, and whether it is
        the handler's (False: no worker answered)."""
        forwarder = self._store.forwarder
        if forwarder is not None and forwarder.wants(action):
            return await forwarder.answer(role, action, payload, message_id)
        return await role._answer(action, payload), True

    async def _once(
        self, role: Role, action: str, payload: dict[str, Any] | str, message_id: str
    ) -> tuple[InboundResult, bool]:
        """The answer to a transaction message, and whether it was handled now (not answered before, here or
        on another node)."""
        earlier = self.get(action, message_id)
        if earlier is not None:
            role.logger.info("%s %s from %s is a retry: answered as before", action, loggable(message_id), role.id)
            if isinstance(earlier, InboundResult):
                return earlier, False
            try:
                return await asyncio.shield(earlier), False
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                # the first attempt's handler was cancelled: this one handles the message itself
        future = self.begin(action, message_id)
        try:
            claimed = (
                await self._store.claim(self.charge_point_id, action, message_id, role.handler_timeout)
                if action in self._store.exactly_once
                else None  # once on this node only (the node's option)
            )
        except BaseException:
            await self._undo(action, message_id, future, None)
            raise
        if isinstance(claimed, InboundResult):
            role.logger.info(
                "%s %s from %s was answered by another node: answered as then", action, loggable(message_id), role.id
            )
            self.finish(action, message_id, future, claimed)
            return claimed, False
        try:
            result, handled = await self._handle(role, action, payload, message_id)
        except BaseException:
            await self._undo(action, message_id, future, claimed)
            raise
        if not handled:  # no worker answered: as if never begun, so that a retry is handled
            await self._undo(action, message_id, future, claimed)
            return result, False
        bare = InboundResult(result.payload, result.error)  # a retry does not rerun after-hooks
        self.finish(action, message_id, future, bare)
        if claimed is not None:
            await self._store.record(self.charge_point_id, action, message_id, claimed, bare)
        return result, True

    async def _undo(
        self, action: str, message_id: str, future: asyncio.Future[InboundResult], claimed: int | None
    ) -> None:
        """As if the message had never begun here or in the cluster, so that a retry is handled."""
        self.forget(action, message_id)
        future.cancel()
        if claimed is not None:  # shielded: also when the handling itself was cancelled
            await asyncio.shield(self._store.forget(self.charge_point_id, action, message_id, claimed))
