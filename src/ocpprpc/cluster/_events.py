"""Every inbound call and its answer, published to a durable JetStream stream for backends (``events=True``).

Stream ``<prefix>_events`` (file storage, ``events_max_age`` seconds of history, duplicate window 2
minutes), one message per call a charge point made and the node handled (a retry answered from memory
is not handled again, so not published again), on the subject::

    <prefix>.events.<version>.<action>.<charge point>      e.g. ocpprpc.events.v16.MeterValues.CP1

(``<version>`` is ``v12`` ``v15`` ``v16`` ``v201`` ``v21``; the charge point id as a token, see
:func:`~ocpprpc.cluster.encode_token`). Its header ``Nats-Msg-Id`` is ``<charge point>.<message id>``
(tokens), so the stream drops a second copy of the same message within its window. The body is JSON::

    {"charge_point_id": "CP1", "node": "cs-2", "version": "1.6", "action": "MeterValues",
     "message_id": "f3b9…", "received_at": "2025-05-01T10:00:00.000123+00:00",
     "answered_at": "2025-05-01T10:00:00.000876+00:00",
     "request": {…the payload as received…},
     "response": {…the payload answered…} | null,
     "error": null | {"code": "PropertyConstraintViolation", "description": "…", "details": {…}}}

A backend consumes it with a durable consumer in any language (``subjects`` filter, explicit acks):
what it has not acknowledged is delivered again after it restarts, so nothing is lost to a crash;
duplicates are recognised by ``(charge_point_id, message_id)``.

The node stores the event before the answer goes back to the charge point, so what a charge point was
answered is in the stream unless the node dies while NATS is unreachable. When NATS does not take the
event within a second (or is unreachable), the event waits in memory (at most ``max_backlog`` of them,
the oldest dropped with an error line beyond that) and is published, in order and with the same
``Nats-Msg-Id``, when NATS is back. An event NATS cannot take at all (larger than its ``max_payload``,
a charge point's near-1 MiB frame with its answer, say) is dropped with an error line, so that it does
not hold up the events after it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..roles import InboundResult
from ._bus import Bus, BusDown, TooLarge
from ._subjects import Names, encode_token
from ._wire import as_object, json_object

__all__ = ["Event", "EventPublisher"]

_log = logging.getLogger("ocpprpc.cluster")

PUBLISH_TIMEOUT = 1.0
"""Seconds a node waits for JetStream to store an event before keeping it in memory instead."""


@dataclass(frozen=True, slots=True)
class Event:
    """One event of the stream, read back (for Python backends: ``Event.from_json(message.data)``)."""

    charge_point_id: str
    node: str
    version: str
    action: str
    message_id: str | None
    received_at: datetime
    answered_at: datetime
    request: dict[str, Any]
    response: dict[str, Any] | None
    error: dict[str, Any] | None

    @classmethod
    def from_json(cls, data: bytes | str) -> Event:
        """Raises ValueError for a body that is not an event."""
        body = json_object(data)
        if body is None:
            raise ValueError("an event is a JSON object")
        try:
            request = as_object(body["request"])
            if request is None:
                raise TypeError("request is not an object")
            return cls(
                str(body["charge_point_id"]),
                str(body["node"]),
                str(body["version"]),
                str(body["action"]),
                None if body.get("message_id") is None else str(body["message_id"]),
                datetime.fromisoformat(str(body["received_at"])),
                datetime.fromisoformat(str(body["answered_at"])),
                request,
                as_object(body.get("response")),
                as_object(body.get("error")),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an event: {exc}") from None


@dataclass(frozen=True, slots=True)
class _Pending:
    subject: str
    data: bytes
    msg_id: str


class EventPublisher:
    """Publishes a node's events; keeps them in memory while NATS does not take them."""

    def __init__(
        self, bus: Bus, names: Names, node: str, actions: Collection[str] | None, *, max_backlog: int = 10_000
    ) -> None:
        self._bus = bus
        self._names = names
        self._node = node
        self._actions = None if actions is None else frozenset(actions)
        self._backlog: collections.deque[_Pending] = collections.deque()
        self._max_backlog = max_backlog
        self._flushing: asyncio.Task[None] | None = None
        self._sequence = 0
        self.published = 0
        """Events stored in the stream by this node so far."""
        self.dropped = 0
        """Events dropped because the backlog was full, or NATS cannot take them (too large)."""

    def wants(self, action: str) -> bool:
        return self._actions is None or action in self._actions

    @property
    def backlog(self) -> int:
        """Events waiting for NATS."""
        return len(self._backlog)

    async def publish(
        self,
        charge_point_id: str,
        version: str,
        action: str,
        message_id: str | None,
        payload: dict[str, Any] | str,
        result: InboundResult,
        received_at: datetime,
    ) -> None:
        """Store the event of one handled call (in the stream, or in the backlog when NATS does not take it)."""
        request = json.loads(payload) if isinstance(payload, str) else payload
        error = result.error
        body = {
            "charge_point_id": charge_point_id,
            "node": self._node,
            "version": version,
            "action": action,
            "message_id": message_id,
            "received_at": received_at.isoformat(),
            "answered_at": datetime.now(UTC).isoformat(),
            "request": request,
            "response": result.payload,
            "error": None
            if error is None
            else {"code": error.raw_code, "description": error.description, "details": error.details},
        }
        if message_id is None:
            self._sequence += 1
            message_id = f"{self._node}-{received_at.timestamp()}-{self._sequence}"
        event = _Pending(
            self._names.event(version, action, charge_point_id),
            json.dumps(body, separators=(",", ":"), default=str).encode(),
            f"{encode_token(charge_point_id)}.{encode_token(message_id)}",
        )
        if self._backlog or not self._bus.up:
            self._keep(event)
            return
        try:
            await self._store(event)
        except TooLarge as exc:
            self._too_large(event, exc)
        except BusDown as exc:
            _log.warning("cluster: event of %s %s kept until NATS takes it: %s", action, charge_point_id, exc)
            self._keep(event)

    async def _store(self, event: _Pending) -> None:
        await self._bus.js_publish(
            event.subject, event.data, headers={"Nats-Msg-Id": event.msg_id}, timeout=PUBLISH_TIMEOUT
        )
        self.published += 1

    def _too_large(self, event: _Pending, error: TooLarge) -> None:
        self.dropped += 1
        _log.error("cluster: event %s (%s) dropped: NATS cannot take it: %s", event.subject, event.msg_id, error)

    def _keep(self, event: _Pending) -> None:
        self._backlog.append(event)
        if len(self._backlog) > self._max_backlog:
            self._backlog.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                _log.error(
                    "cluster: %d event(s) dropped: NATS has not taken them and the backlog is full", self.dropped
                )
        self.flush_soon()

    def flush_soon(self) -> None:
        """Publish the backlog in the background once NATS is up."""
        if self._backlog and self._bus.up and (self._flushing is None or self._flushing.done()):
            self._flushing = asyncio.create_task(self._flush(), name="ocpprpc-cluster-events")

    async def _flush(self) -> None:
        while self._backlog and self._bus.up:
            try:
                await self._store(self._backlog[0])
            except TooLarge as exc:
                self._too_large(self._backlog[0], exc)
            except BusDown:
                await asyncio.sleep(0.5)
                continue
            self._backlog.popleft()
        if self._backlog:
            _log.info("cluster: %d event(s) wait for NATS", len(self._backlog))

    async def close(self) -> None:
        if self._flushing is not None and not self._flushing.done():
            self._flushing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flushing
        if self._backlog:
            _log.error("cluster: %d event(s) not published: NATS did not take them before closing", len(self._backlog))
