"""Calls across the cluster: the caller's side (:class:`Caller`), the node holding the socket's (:class:`Responder`).

The node holding a charge point's connection subscribes to ``<prefix>.call.<charge point>`` (in a queue
group, so that while a charge point moves between nodes each request still reaches one of them). A
caller anywhere publishes the request there (:mod:`._wire` says what it looks like) with a reply subject
of its own, and asking for an acknowledgement:

* nobody subscribed: NATS answers "no responders" at once → :class:`UnknownChargePoint`;
* the node acknowledges with its id and the time it will wait for the charge point, calls the charge
  point as a local ``server.call`` would, and replies with the response or the error;
* while waiting the caller checks every second that the node is still there (``<prefix>.node.<node>.ping``):
  a node gone (killed, cut off from NATS) fails the call with :class:`ConnectionClosed` within about a
  second, and a reply that never comes fails it with :class:`CallTimeout` a little after the node's own
  timeout. A call never hangs.
* a node that got the request just as the charge point moved away answers ``NotHere`` and the caller
  sends the request again (three times at most, a few milliseconds apart).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError

from .._identity import loggable
from .._link import RawAnswer
from .._versions import VERSIONS
from ..errors import CallTimeout, ConnectionClosed, OcppRpcError, UsageError
from ..messages._base import OcppModel, OcppRequest, Side
from ..roles import CentralSystem, _version_of
from ..server import UnknownChargePoint
from ._bus import Bus, BusDown, Msg, NoResponders, Subscription, TooLarge
from ._subjects import Names
from ._wire import (
    ACK_HEADER,
    NODE_HEADER,
    ClusterError,
    NotHere,
    RawRequest,
    RemoteRequest,
    decode_raw_answer,
    decode_reply,
    decode_text,
    encode_error,
    encode_payload,
    encode_raw_answer,
    encode_text,
    json_object,
    object_of,
)

__all__ = ["Caller", "ClusterUnavailable", "NoWorker", "Responder", "retrying"]

R = TypeVar("R", bound=OcppModel)

_log = logging.getLogger("ocpprpc.cluster")

ACK_TIMEOUT = 5.0
"""Seconds a caller waits for the node holding the charge point to acknowledge a request (it does so at once)."""
REPLY_GRACE = 2.0
"""Seconds a caller waits for a reply beyond the time the node said it would wait for the charge point."""
PROBE_INTERVAL = 1.0
"""Seconds between two checks that a node a caller waits for is still there."""
_NOT_HERE_RETRIES = (0.005, 0.02, 0.1)


class ClusterUnavailable(ConnectionClosed):
    """The call could not go through the cluster: this member is not connected to NATS (it reconnects by
    itself), or lost its connection while waiting for the answer. Whether the charge point is connected
    elsewhere is unknown; a charge point connected to this node is still called directly."""


class NoWorker(OcppRpcError):
    """No worker subscribes to the subject a node hands an inbound call to (NATS's "no responders")."""


@dataclass(eq=False)
class _Pending:
    charge_point_id: str
    action: str
    nobody: Callable[[], OcppRpcError]
    """What NATS's "no responders" means for this request."""
    messages: asyncio.Queue[Msg] = field(default_factory=lambda: asyncio.Queue[Msg]())
    watched: str | None = None
    """The ping subject of the node (or worker) that acknowledged the request."""
    gone: str = ""
    """What to say when it is gone."""
    failure: asyncio.Future[OcppRpcError] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


T = TypeVar("T")


def first_line(exc: BaseException) -> str:
    """What a one-line log or refusal tells of ``exc``: its message's first line, else its type's name."""
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


async def pong(bus: Bus, message: Msg) -> None:
    """Answer a ping (a member making sure this one is alive); nothing while NATS is away."""
    if message.reply:
        with contextlib.suppress(BusDown):
            await bus.publish(message.reply, b"pong")


async def publish_reply(bus: Bus, subject: str, data: bytes, headers: dict[str, str], sender: str) -> None:
    """Send a reply; one lost with NATS is logged (``sender``: "node X", "worker Y"). Raises
    :class:`TooLarge` for one NATS would not take."""
    try:
        await bus.publish(subject, data, headers=headers)
    except TooLarge:
        raise
    except BusDown as exc:
        _log.info("cluster: %s lost a reply with NATS: %s", sender, exc)


async def retrying(attempt: Callable[[], Awaitable[T]], retried: type[Exception], pauses: Sequence[float]) -> T:
    """``attempt()``, made again after each of ``pauses`` (seconds) while it raises ``retried``; the last
    attempt's error propagates (``len(pauses) + 1`` attempts in all)."""
    for pause in pauses:
        try:
            return await attempt()
        except retried:
            await asyncio.sleep(pause)
    return await attempt()


class Caller:
    """Sends requests through NATS and waits for their replies, watching whoever acknowledged them: calls to
    charge points held by other nodes (any member: a node or a :class:`ClusterClient`), and a node's inbound
    calls handed to the worker pool."""

    def __init__(self, bus: Bus, names: Names) -> None:
        self._bus = bus
        self._names = names
        self._inbox: str | None = None
        self._inbox_subscription: Subscription | None = None
        self._inbox_lock = asyncio.Lock()
        self._pending: dict[str, _Pending] = {}
        self._probes: dict[str, asyncio.Task[None]] = {}
        self._sequence = 0

    async def call(self, charge_point_id: str, request: OcppRequest[R], *, timeout: float | None = None) -> R:
        """Call a charge point connected to another node; raises what a local call raises (see the module)."""
        spec, version = _resolve(request)
        if timeout is not None and timeout <= 0:
            raise UsageError("a call's timeout is a positive number of seconds")
        payload = await self.call_payload(charge_point_id, version, spec.name, request.to_json_dict(), timeout)
        try:
            response: R = spec.response.model_validate(payload)
        except ValidationError as exc:
            raise ClusterError(f"the {spec.name} response relayed for {charge_point_id} is invalid: {exc}") from None
        return response

    async def call_payload(
        self, charge_point_id: str, version: str, action: str, payload: dict[str, Any], timeout: float | None
    ) -> dict[str, Any]:
        """:meth:`call` with the request as data (a valid payload of ``action`` in ``version``); the response's."""
        body = RemoteRequest(version, action, payload, timeout).encode()
        return await self._to_holder(charge_point_id, action, body, decode_reply)

    async def call_raw(
        self, charge_point_id: str, action: str, payload: dict[str, Any], timeout: float | None
    ) -> RawAnswer:
        """:meth:`Role.call_raw <ocpprpc.roles.Role.call_raw>` of a charge point connected to another node."""
        if timeout is not None and timeout <= 0:
            raise UsageError("a call's timeout is a positive number of seconds")
        body = RawRequest("call", action, payload, timeout).encode()
        return await self._to_holder(charge_point_id, action, body, decode_raw_answer)

    async def send_raw(self, charge_point_id: str, text: str) -> str | None:
        """:meth:`Role.send_raw <ocpprpc.roles.Role.send_raw>` of a charge point connected to another node."""
        return await self._to_holder(charge_point_id, "send_raw", RawRequest("send", text=text).encode(), decode_text)

    async def forward(self, subject: str, charge_point_id: str, action: str, body: bytes) -> dict[str, Any]:
        """Hand an inbound call to the worker pool; the response payload. Raises the handler's
        :class:`~ocpprpc.errors.OcppError`, or :class:`NoWorker`, :class:`CallTimeout`,
        :class:`ConnectionClosed` (the worker died), :class:`ClusterUnavailable`, :class:`ClusterError`."""

        def nobody() -> OcppRpcError:
            return NoWorker(f"no worker takes {subject}")

        return decode_reply(await self._send(subject, charge_point_id, action, body, nobody))

    async def _to_holder(self, charge_point_id: str, action: str, body: bytes, decode: Callable[[bytes], T]) -> T:
        """Send a request to the node holding the charge point; sent again when it answers NotHere."""

        def nobody() -> OcppRpcError:
            return UnknownChargePoint(f"no charge point {charge_point_id!r} is connected in the cluster")

        async def attempt() -> T:
            return decode(await self._send(subject, charge_point_id, action, body, nobody))

        subject = self._names.call(charge_point_id)
        try:
            return await retrying(attempt, NotHere, _NOT_HERE_RETRIES)
        except NotHere:
            raise UnknownChargePoint(
                f"charge point {charge_point_id!r} keeps moving between nodes; not reached"
            ) from None

    async def _send(
        self, subject: str, charge_point_id: str, action: str, body: bytes, nobody: Callable[[], OcppRpcError]
    ) -> bytes:
        if not self._bus.up:
            raise ClusterUnavailable(
                f"charge point {charge_point_id!r} is not connected to this node, and the cluster (NATS) is unreachable"
            )
        inbox = await self._reply_inbox()
        self._sequence += 1
        token = str(self._sequence)
        pending = self._pending[token] = _Pending(charge_point_id, action, nobody)
        try:
            await self._bus.publish(subject, body, reply=f"{inbox}.{token}", headers={ACK_HEADER: "1"})
            first = await self._next(pending, ACK_TIMEOUT, f"nobody acknowledged {action} on {subject}")
            if first.headers and first.headers.get(ACK_HEADER):
                ack = json_object(first.data) or {}
                worker = ack.get("worker")
                if isinstance(worker, str) and worker:
                    pending.watched = self._names.worker_ping(worker)
                    pending.gone = f"worker {worker} handling {action} of {charge_point_id!r} is gone"
                else:
                    node = str(ack.get("node") or first.headers.get(NODE_HEADER) or "")
                    pending.watched = self._names.ping(node) if node else None
                    pending.gone = f"node {node} holding charge point {charge_point_id!r} is gone"
                wait = ack.get("timeout")
                wait = float(wait) if isinstance(wait, int | float) and not isinstance(wait, bool) else 30.0
                self._probe(pending.watched)
                first = await self._next(pending, wait + REPLY_GRACE, f"no answer to {action} of {charge_point_id!r}")
            return first.data
        except TooLarge as exc:  # the message, not NATS: no use trying again
            raise ClusterError(f"{action} for {charge_point_id!r} not sent: {exc}") from None
        except BusDown as exc:
            raise ClusterUnavailable(f"{action} for {charge_point_id!r} could not be sent: {exc}") from None
        finally:
            del self._pending[token]

    async def _next(self, pending: _Pending, timeout: float, why: str) -> Msg:
        """The next message for a pending request, or what made it fail (node gone, NATS lost, no responders)."""
        getting = asyncio.ensure_future(pending.messages.get())
        either: list[asyncio.Future[Any]] = [getting, pending.failure]
        try:
            done, _ = await asyncio.wait(either, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            getting.cancel()
        if pending.failure in done:
            raise pending.failure.result()
        if getting not in done:
            raise CallTimeout(f"{why} within {timeout:g} s", action=pending.action, timeout=timeout)
        message = getting.result()
        if message.headers and message.headers.get("Status") == "503":
            raise pending.nobody()
        return message

    async def _reply_inbox(self) -> str:
        """The subject prefix replies come to (subscribed once: concurrent first calls wait for one another)."""
        if self._inbox is None:
            async with self._inbox_lock:
                if self._inbox is None:
                    inbox = self._bus.new_inbox()
                    self._inbox_subscription = await self._bus.subscribe(f"{inbox}.*", self._on_reply)
                    self._inbox = inbox
        return self._inbox

    async def _on_reply(self, message: Msg) -> None:
        pending = self._pending.get(message.subject.rsplit(".", 1)[-1])
        if pending is not None:
            pending.messages.put_nowait(message)

    def _probe(self, subject: str | None) -> None:
        if subject and subject not in self._probes:
            self._probes[subject] = asyncio.create_task(self._watch(subject), name=f"ocpprpc-cluster-probe-{subject}")

    async def _watch(self, subject: str) -> None:
        """While requests wait for a node (or worker), check every second that it is there (``subject``: its
        ping); fail them when it is not."""
        try:
            while any(p.watched == subject for p in self._pending.values()):
                await asyncio.sleep(PROBE_INTERVAL)
                started = time.monotonic()
                try:
                    await self._bus.request(subject, b"", timeout=PROBE_INTERVAL)
                except NoResponders:
                    self._fail(lambda p: p.watched == subject, lambda p: ConnectionClosed(p.gone))
                    return
                except BusDown:
                    pass  # a slow node, or NATS lost (failed separately): the call's own deadline holds
                await asyncio.sleep(max(0.0, PROBE_INTERVAL - (time.monotonic() - started)))
        finally:
            self._probes.pop(subject, None)

    def connection_lost(self) -> None:
        """NATS went away: no reply can reach us any more."""
        self._fail(
            lambda p: True,
            lambda p: ClusterUnavailable(f"lost the connection to NATS while calling {p.charge_point_id!r}"),
        )

    def _fail(self, which: Callable[[_Pending], bool], error: Callable[[_Pending], OcppRpcError]) -> None:
        for pending in list(self._pending.values()):
            if which(pending) and not pending.failure.done():
                pending.failure.set_result(error(pending))

    async def close(self) -> None:
        self.connection_lost()
        for task in list(self._probes.values()):
            task.cancel()
        if self._inbox_subscription is not None:
            await Bus.unsubscribe(self._inbox_subscription)
            self._inbox_subscription, self._inbox = None, None


def _resolve(request: object) -> tuple[Any, str]:
    """The action spec a central system sends ``request`` with, and its version; UsageError otherwise."""
    if not isinstance(request, OcppModel):
        raise UsageError(f"call() takes a request model, not {type(request).__name__}")
    version = _version_of(type(request))
    if version is not None:
        with contextlib.suppress(KeyError):
            return VERSIONS[version].for_request(type(request), Side.CENTRAL_SYSTEM), version
    raise UsageError(f"{type(request).__module__}.{type(request).__name__} is not a request a central system sends")


class Responder:
    """Serves calls to the charge points this node holds: one subscription per charge point, and the ping."""

    def __init__(self, bus: Bus, names: Names, node: str, lookup: Callable[[str], CentralSystem | None]) -> None:
        self._bus = bus
        self._names = names
        self._node = node
        self._lookup = lookup
        self._subscriptions: dict[str, Subscription] = {}
        self._ping: Subscription | None = None
        self._running: set[asyncio.Task[None]] = set()

    @property
    def serving(self) -> frozenset[str]:
        return frozenset(self._subscriptions)

    async def start(self) -> None:
        """Answer pings (at each join: a subscription nats-py restores by itself is kept)."""
        if self._ping is None:
            self._ping = await self._bus.subscribe(self._names.ping(self._node), self._on_ping)

    async def serve(self, charge_point_id: str) -> None:
        """Take calls for ``charge_point_id`` (once subscribed, kept across reconnections by nats-py)."""
        if charge_point_id in self._subscriptions or not self._bus.up:
            return

        async def on_call(message: Msg) -> None:
            await self._on_call(charge_point_id, message)

        try:
            subscription = await self._bus.subscribe(self._names.call(charge_point_id), on_call, queue="owner")
        except Exception as exc:  # NATS lost meanwhile: subscribed again at the next join
            _log.debug("cluster: cannot take calls for %s yet: %s", loggable(charge_point_id), exc)
            return
        if charge_point_id in self._subscriptions:  # subscribed twice concurrently
            await Bus.unsubscribe(subscription)
        else:
            self._subscriptions[charge_point_id] = subscription

    async def stop_serving(self, charge_point_id: str) -> None:
        subscription = self._subscriptions.pop(charge_point_id, None)
        if subscription is not None:
            await Bus.unsubscribe(subscription)

    async def _on_ping(self, message: Msg) -> None:
        await pong(self._bus, message)

    async def _on_call(self, charge_point_id: str, message: Msg) -> None:
        reply = message.reply
        if not reply:
            _log.warning("cluster: a call to %s without a reply subject dropped", loggable(charge_point_id))
            return
        role = self._lookup(charge_point_id)
        if role is None:
            await self._reply(reply, encode_error(NotHere(f"{charge_point_id!r} is not connected to {self._node}")))
            return
        work: Callable[[], Awaitable[bytes]]
        try:
            body = object_of(message.data)
            if "raw" in body:
                raw = RawRequest.from_object(body)
                timeout = raw.timeout if raw.timeout is not None else role.call_timeout
                work = self._raw_work(role, raw, timeout)
                action = raw.action if raw.kind == "call" else "send_raw"
            else:
                request = RemoteRequest.from_object(body)
                action = request.action
                spec = VERSIONS[request.version].initiated_by(Side.CENTRAL_SYSTEM)[request.action]
                model = spec.request.model_validate(request.payload)
                timeout = request.timeout if request.timeout is not None else role.call_timeout
                work = self._typed_work(role, model, timeout)
        except (ValueError, KeyError) as exc:  # ValidationError is a ValueError
            why = first_line(exc)
            _log.warning("cluster: a malformed call to %s refused: %s", loggable(charge_point_id), loggable(why))
            await self._reply(reply, encode_error(UsageError(f"malformed cluster call: {why}")))
            return
        if message.headers and message.headers.get(ACK_HEADER):
            ack = json.dumps({"node": self._node, "timeout": timeout}).encode()
            await self._reply(reply, ack, {ACK_HEADER: "1"})
        task = asyncio.create_task(self._run(role, action, work, reply), name=f"ocpprpc-cluster-call-{charge_point_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    @staticmethod
    def _typed_work(
        role: CentralSystem, request: OcppRequest[OcppModel], timeout: float
    ) -> Callable[[], Awaitable[bytes]]:
        async def work() -> bytes:
            response = await role.call(request, timeout=timeout)
            return encode_payload(response.to_json_dict())

        return work

    @staticmethod
    def _raw_work(role: CentralSystem, raw: RawRequest, timeout: float) -> Callable[[], Awaitable[bytes]]:
        async def work() -> bytes:
            if raw.kind == "send":
                return encode_text(await role.send_raw(raw.text))
            assert raw.payload is not None
            return encode_raw_answer(await role.call_raw(raw.action, raw.payload, timeout=timeout))

        return work

    async def _run(self, role: CentralSystem, action: str, work: Callable[[], Awaitable[bytes]], reply: str) -> None:
        try:
            data = await work()
        except asyncio.CancelledError:
            data = encode_error(ConnectionClosed(f"node {self._node} is closing"))
            await self._reply(reply, data)
            raise
        except OcppRpcError as exc:
            data = encode_error(exc)
        except Exception as exc:
            _log.exception("cluster: relaying a call to %s failed", loggable(role.id))
            data = encode_error(ClusterError(f"node {self._node} failed: {type(exc).__name__}"))
        try:
            await self._reply(reply, data)
        except TooLarge as exc:  # the charge point's answer: the caller hears why rather than waiting in vain
            _log.warning(
                "cluster: the answer to %s of %s cannot go back through NATS: %s", action, loggable(role.id), exc
            )
            await self._reply(reply, encode_error(ClusterError(f"the answer to {action} is too large: {exc}")))

    async def _reply(self, subject: str, data: bytes, headers: dict[str, str] | None = None) -> None:
        """:func:`publish_reply`, with this node's header."""
        await publish_reply(
            self._bus, subject, data, {NODE_HEADER: self._node, **(headers or {})}, f"node {self._node}"
        )

    async def close(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        for charge_point_id in list(self._subscriptions):
            await self.stop_serving(charge_point_id)
        if self._ping is not None:
            await Bus.unsubscribe(self._ping)
            self._ping = None
