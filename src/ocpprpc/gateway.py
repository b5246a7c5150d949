"""A protocol gateway: OCPP 1.2 / 1.5 charge points, over SOAP or OCPP-J, reach an OCPP-J 1.6 central system.

Theory of operation
-------------------
Installed chargers speaking OCPP 1.5 (often over SOAP) outlive the central systems that accepted them;
today's platforms take OCPP-J 1.6. A :class:`Gateway` sits between the two. To the central system
(*upstream*) it is one ordinary OCPP-J 1.6 charge point per charger; to each charger (*downstream*) it
is its central system, in the charger's own version and transport.

* **Downstream** is :attr:`Gateway.server`, a :class:`~ocpprpc.server.CentralSystemServer` of
  ``canonical = "1.6"`` roles: serve it with ``soap.serve`` and / or ``websocket.serve``. Each request
  of a charger arrives translated up to 1.6 (:mod:`ocpprpc.translation`) and is forwarded upstream; the
  central system's 1.6 answer goes back translated down.
* **Upstream**, one :class:`~ocpprpc.roles.ChargePoint` (1.6) per downstream identity, connected with
  :func:`ocpprpc.transports.websocket.connect` to ``<upstream_url>/<upstream id>`` (Basic auth per
  charge point, TLS), started when the charger first connects. The central system's requests are
  forwarded down (translated down; one the charger's version cannot express is answered
  ``NotSupported`` with the reason, so the central system sees what its charger cannot do).
* **Identity**: the downstream id (SOAP chargeBoxIdentity, the OCPP-J URL segment) is the upstream id,
  unless ``identities`` maps it.
* **Nothing lost, nothing twice**: transaction messages (StartTransaction, StopTransaction,
  MeterValues) go through the upstream charge point's outbox: stored (in SQLite with ``store=``) before
  anything else, delivered in order and once, across outages of the central system and restarts of
  the gateway. Each goes up under an id worked out from the charger's message id and its content (a
  UUID: the same in every run of the gateway, another for any other message), so a charger sending a
  message again with its first id, because no answer reached it, joins the copy already queued (also
  one a previous run stored) or gets the answer just given (the gateway keeps the last few thousand),
  instead of queueing a second copy.
* **Waiting**: only the central system answers a transaction message (or the policy below): the wait
  has no handler timeout, and a wait given up upstream (timeouts) goes on while the message is queued.
  A request still waiting when its charger goes, or the gateway closes, is cancelled unanswered (the
  charger sends it again and is joined to its copy): never answered with an error the gateway made up,
  and a closing listener does not wait for it.
* **Offline** (the central system unreachable: not connected and the last attempt failed; a first
  attempt is waited for, up to ``open_timeout``), :class:`OfflinePolicy` decides what a charger is
  answered without the central system. By default: MeterValues and StopTransaction are confirmed once
  stored (their answers carry nothing the central system decides); a Heartbeat gets the gateway's
  time; nothing else is answered (StartTransaction waits for the central system's answer, an Authorize
  or BootNotification is refused with InternalError): the gateway never invents an authorisation.
* **What 1.6 cannot carry**: a 1.2 / 1.5 MeterValues without any reading (1.6 requires one) is
  answered by the gateway, as its answer is empty; the central system's requests the charger's version
  cannot express are answered NotSupported with the reason (above).
* **Lifetime of an upstream connection**: from the charger's first request (or, for messages a
  previous run left in the store, from :meth:`Gateway.start`) until the charger has gone (its
  connection ended and was not replaced) and nothing of it is queued.
* **Operability**: one INFO line per forwarded exchange on the ``ocpprpc.gateway`` logger (both forms,
  downstream and upstream, at DEBUG), and :meth:`Gateway.status`: every charge point, its downstream
  version and presence, its upstream link and its queued messages.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import json
import logging
import os
import ssl as ssl_module
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from pydantic import ValidationError

from ._client import Backoff
from ._frames import new_unique_id
from ._identity import loggable
from ._link import NotConnected
from .errors import (
    ActionNotSupported,
    CallTimeout,
    ConnectionClosed,
    InternalError,
    OcppError,
    UnreadableAnswer,
    UsageError,
)
from .messages import v16
from .messages._base import OcppModel, OcppVersion
from .outbox import OutboxStore, open_outbox
from .roles import TRANSACTION_ACTIONS, CentralSystem, ChargePoint, InboundResult, _Queued, _retrieve_exception
from .server import CentralSystemServer, UnknownChargePoint
from .transports.websocket import WebSocketClient

__all__ = ["ChargePointStatus", "Gateway", "OfflinePolicy"]

_log = logging.getLogger("ocpprpc.gateway")

_POLL = 0.02
"""Seconds between looks at an upstream client connecting (it signals a connection, not a failed attempt)."""

_REMEMBERED = 4096
"""How many relayed transaction messages' answers the gateway keeps for retries (a few per charger)."""

_MESSAGE_IDS = uuid.UUID("1f0c5d0e-8a8e-5b7c-9f47-3c1e0a6b2d44")
"""The namespace of the upstream ids of relayed transaction messages (``_upstream_message_id``)."""

_CHARGER_MESSAGE_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("charger_message_id", default=None)
"""The message id of the charger's request being handled (its handler cannot see it otherwise)."""

Credentials = Mapping[str, tuple[str, str]] | Callable[[str], tuple[str, str] | None]
"""Upstream HTTP Basic credentials by upstream id: a mapping, or a function (None: no auth)."""

Identities = Mapping[str, str] | Callable[[str], str]
"""Upstream id by downstream id: a mapping (ids not in it are kept as they are), or a function."""


@dataclass(frozen=True)
class OfflinePolicy:
    """What a charger is answered while the central system is unreachable.

    The default never invents what the central system decides (an authorisation, a transaction id, a
    registration): only answers whose content is fixed by the protocol are given.
    """

    confirm_when_stored: frozenset[str] = frozenset({"MeterValues", "StopTransaction"})
    """Transaction messages answered at once, offline, once durably stored: their 1.6 answers carry
    nothing (StopTransaction's optional idTagInfo left out). StartTransaction is not among them by
    default: its answer holds the central system's transaction id and authorisation."""
    local_heartbeat: bool = True
    """Answer a Heartbeat with the gateway's own time while offline."""

    def __post_init__(self) -> None:
        unknown = set(self.confirm_when_stored) - TRANSACTION_ACTIONS
        if unknown:
            raise UsageError(f"confirm_when_stored takes transaction messages only, not {sorted(unknown)}")


@dataclass(frozen=True)
class ChargePointStatus:
    """One charge point as the gateway sees it (:meth:`Gateway.status`)."""

    id: str
    """The downstream id."""
    upstream_id: str
    downstream_version: str | None
    """The charger's OCPP version while connected (``"1.5"``), else None."""
    downstream_connected: bool
    upstream_connected: bool
    upstream_error: str | None
    """Why the last upstream attempt failed, while not connected."""
    queued: int
    """Transaction messages waiting for the central system."""


class _Downstream(CentralSystem):
    """The gateway as the central system of one charger: 1.6 handlers for every version (canonical)."""

    versions = ("1.5", "1.2", "1.6")
    canonical = "1.6"
    handler_timeout = None
    """No cut-off: a StartTransaction waits for the central system however long it is away (cut off, the
    charger would hear InternalError for a transaction the central system gets later, and never learn its
    id; its retries join the wait). Everything else is bounded by the upstream call's own timeout."""

    def __init__(self, id: str, version: str | OcppVersion | None = None, *, gateway: Gateway) -> None:
        super().__init__(id, version)
        self._gateway = gateway
        self.forwarding: set[asyncio.Task[Any]] = set()
        """The tasks of this connection's requests waiting for the central system."""

    async def on_connect(self) -> None:
        self._gateway._upstream_for(self.id)

    async def on_disconnect(self) -> None:
        self.stop_waiting()
        await self._gateway._downstream_gone(self.id)

    def stop_waiting(self) -> None:
        """Cancel the requests still waiting for the central system: their answers can no longer be given
        (nor does a closing listener wait for them). What they stored stays queued; the charger sends them
        again, unanswered, and is then joined to the copy queued (see ``_Upstream.relay``)."""
        for task in self.forwarding:
            task.cancel()

    async def handle_call(self, action: str, payload: dict[str, Any], message_id: str | None = None) -> InboundResult:
        if action == "MeterValues" and self.version != "1.6" and not payload.get("values"):
            # 1.6 requires a meter value, so such a message cannot go up; it says nothing and its answer is empty
            spec = self.ocpp_version.received_by(self.side)[action]
            try:
                spec.request.model_validate(payload)
            except ValidationError:
                pass  # refused below as any invalid request
            else:
                _log.info("gateway: %s MeterValues without a reading answered here (1.6 cannot carry it)", self.id)
                return InboundResult(spec.response().to_json_dict())
        token = _CHARGER_MESSAGE_ID.set(message_id)
        try:
            return await super().handle_call(action, payload, message_id)
        finally:
            _CHARGER_MESSAGE_ID.reset(token)

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        return await self._gateway._forward_up(self, action, request)


class _Upstream(ChargePoint):
    """The gateway as one OCPP-J 1.6 charge point of the central system."""

    versions = ("1.6",)

    def __init__(self, id: str, *, downstream_id: str, gateway: Gateway, outbox: OutboxStore) -> None:
        super().__init__(id, "1.6", outbox=outbox)
        self.downstream_id = downstream_id
        self._gateway = gateway

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        return await self._gateway._forward_down(self, action, request)

    async def relay(self, request: OcppModel, charger_message_id: str) -> asyncio.Future[dict[str, Any]]:
        """Queue a charger's transaction message (1.6), or join the copy queued or answered before: the future
        of the central system's answer payload.

        A charger sends a message again, with its first id, when it got no answer (its request timed out,
        its connection or the gateway went away meanwhile). The copy upstream has an id worked out from
        the charger's id and the message (``_upstream_message_id``), the same in every run of the
        gateway, so a retry finds it: still queued (also when a previous run stored it), or answered a
        moment ago (the gateway remembers recent answers). Never a second copy.
        """
        spec = self._outbound_spec(request)
        payload = request.to_json_dict()
        message_id = _upstream_message_id(self.id, spec.name, charger_message_id, payload)
        recent = self._gateway._relayed
        answered = recent.get(message_id)
        if answered is not None and (not answered.done() or _final(answered)):
            return answered
        async with self._outbox_lock:
            await self._recover()
            queued = next((entry for entry in self._outbox if entry.message_id == message_id), None)
            if queued is not None and (queued.answer is None or queued.answer.done()):
                queued.answer = asyncio.get_running_loop().create_future()  # its caller is gone: this one waits
                queued.answer.add_done_callback(_retrieve_exception)
        if queued is not None:
            assert queued.answer is not None
            future = queued.answer
        else:
            future = await self._queue(spec, payload, self.call_timeout, message_id)
        self._gateway._remember(message_id, future)
        return future

    async def load_outbox(self) -> None:
        """Load what a previous run left in the store now (else loaded once connected), so it is counted."""
        async with self._outbox_lock:
            await self._recover()

    async def _delivered(self, entry: _Queued, result: dict[str, Any] | OcppError) -> None:
        if entry.answer is None or entry.answer.done():  # stored by a previous run, or its caller gave up:
            if entry.answer is None:  # the answer is kept all the same, for the charger's retry
                _log.info(
                    "gateway: %s %s %s stored by a previous run delivered", self.id, entry.action, entry.message_id
                )
            entry.answer = asyncio.get_running_loop().create_future()
            entry.answer.add_done_callback(_retrieve_exception)
            self._gateway._remember(entry.message_id, entry.answer)
        await super()._delivered(entry, result)
        if not self.pending_transaction_messages:
            self._gateway._drained(self)


@dataclass(eq=False)
class _Link:
    """The upstream side of one charge point: its role and its client."""

    charge_point: _Upstream
    client: WebSocketClient
    starting: asyncio.Future[WebSocketClient] | None = field(default=None, repr=False)


class Gateway:
    """OCPP 1.2 / 1.5 charge points (SOAP or OCPP-J) to an OCPP-J 1.6 central system; see the module.

    ``async with Gateway(url, ...) as gateway:`` then serve :attr:`server` with ``soap.serve`` and / or
    ``websocket.serve``; leaving the block closes every upstream connection (queued messages stay in the
    store).

    Args:
        upstream_url: the central system's OCPP-J endpoint, ``ws[s]://host:port/path``; each charge point
            connects to ``<upstream_url>/<upstream id>``.
        credentials: upstream Basic auth per upstream id (a mapping, or a function; None: no auth).
        identities: upstream id per downstream id (a mapping, ids not in it kept; or a function).
        ssl: the client TLS context for a ``wss://`` central system (e.g. trusting a private CA, or
            holding the gateway's client certificate for security profile 3).
        store: where transaction messages wait: a path (one SQLite file for every charge point, WAL,
            fsync on each message: a crash or power loss loses nothing), an
            :class:`~ocpprpc.outbox.OutboxStore`, or None (in memory: lost with the process).
        policy: what chargers are answered while the central system is unreachable.
        versions: the downstream versions served, in order of preference (WebSocket negotiation).
        backoff / open_timeout: of the upstream connections (see ``websocket.connect``).
        upstream_options: more keyword arguments for ``websocket.connect`` (``security_profile``,
            ``ping_interval``, ...).
    """

    def __init__(
        self,
        upstream_url: str,
        *,
        credentials: Credentials | None = None,
        identities: Identities | None = None,
        ssl: ssl_module.SSLContext | None = None,
        store: str | os.PathLike[str] | OutboxStore | None = None,
        policy: OfflinePolicy = OfflinePolicy(),
        versions: tuple[str, ...] = ("1.5", "1.2", "1.6"),
        backoff: Backoff = Backoff(),  # noqa: B008 (immutable)
        open_timeout: float = 10.0,
        upstream_options: Mapping[str, Any] | None = None,
    ) -> None:
        if not upstream_url.startswith(("ws://", "wss://")):
            raise UsageError(f"the upstream central system is an OCPP-J URL (ws:// or wss://), not {upstream_url!r}")
        self.upstream_url = upstream_url.rstrip("/")
        self.policy = policy
        self._credentials = credentials
        self._identities = identities
        self._ssl = ssl
        self._backoff = backoff
        self._open_timeout = open_timeout
        self._options = dict(upstream_options or {})
        self._store: OutboxStore
        self._store, self._owns_store = open_outbox(store)
        self._links: dict[str, _Link] = {}
        """Upstream links by upstream id."""
        self._tasks: set[asyncio.Future[None]] = set()
        self._relayed: collections.OrderedDict[str, asyncio.Future[dict[str, Any]]] = collections.OrderedDict()
        """The last transaction messages relayed, by upstream message id: their answers, for retries."""
        self._closed = False
        self.server: CentralSystemServer[_Downstream] = CentralSystemServer(
            lambda charge_point_id, version: _Downstream(charge_point_id, version, gateway=self),
            versions=versions,
        )
        """The downstream central system: give it to ``soap.serve`` and / or ``websocket.serve``."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def start(self) -> None:
        """Deliver what a previous run left in the store: an upstream connection per charge point with
        messages waiting (its charger need not be back). ``async with`` calls it."""
        listing = getattr(self._store, "charge_points", None)
        if listing is None:
            return
        for upstream_id in await listing():
            if upstream_id not in self._links:
                link = self._start_link(upstream_id, self._downstream_of(upstream_id))
                await link.charge_point.load_outbox()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every upstream connection; queued messages stay in the store. Idempotent."""
        self._closed = True
        for downstream in self.server.charge_points.values():
            downstream.stop_waiting()
        links = list(self._links.values())
        self._links.clear()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for link in links:
            await link.client.close()
            await link.charge_point.close_outbox()
        if self._owns_store:
            await self._store.close()

    def status(self) -> list[ChargePointStatus]:
        """Every charge point the gateway holds an upstream connection for, by downstream id."""
        rows: list[ChargePointStatus] = []
        for link in self._links.values():
            downstream_id = link.charge_point.downstream_id
            role = self._downstream(downstream_id)
            client = link.client
            error = client.last_error
            rows.append(
                ChargePointStatus(
                    id=downstream_id,
                    upstream_id=link.charge_point.id,
                    downstream_version=role.version if role is not None else None,
                    downstream_connected=role is not None,
                    upstream_connected=client.connected,
                    upstream_error=None
                    if client.connected or error is None
                    else loggable(str(error) or type(error).__name__),
                    queued=link.charge_point.pending_transaction_messages,
                )
            )
        return sorted(rows, key=lambda row: row.id)

    # -- upstream connections ---------------------------------------------------------------------------------

    def upstream_id(self, downstream_id: str) -> str:
        """The id the central system knows ``downstream_id`` by."""
        identities = self._identities
        if identities is None:
            return downstream_id
        if callable(identities):
            return identities(downstream_id)
        return identities.get(downstream_id, downstream_id)

    def _auth(self, upstream_id: str) -> tuple[str, str] | None:
        credentials = self._credentials
        if credentials is None:
            return None
        if callable(credentials):
            return credentials(upstream_id)
        return credentials.get(upstream_id)

    def _downstream(self, downstream_id: str) -> _Downstream | None:
        try:
            return self.server[downstream_id]
        except UnknownChargePoint:
            return None

    def _downstream_of(self, upstream_id: str) -> str:
        """The downstream id whose upstream id is ``upstream_id`` (as is when a function maps them)."""
        identities = self._identities
        if identities is None or callable(identities):
            return upstream_id
        return next((down for down, up in identities.items() if up == upstream_id), upstream_id)

    def _upstream_for(self, downstream_id: str) -> _Link:
        """The upstream link of ``downstream_id``, started on first use."""
        upstream_id = self.upstream_id(downstream_id)
        link = self._links.get(upstream_id)
        if link is not None:
            link.charge_point.downstream_id = downstream_id
            return link
        return self._start_link(upstream_id, downstream_id)

    def _start_link(self, upstream_id: str, downstream_id: str) -> _Link:
        if self._closed:
            raise ConnectionClosed("the gateway is closed")
        charge_point = _Upstream(upstream_id, downstream_id=downstream_id, gateway=self, outbox=self._store)
        client = WebSocketClient(
            charge_point,
            self.upstream_url,
            auth=self._auth(upstream_id),
            ssl=self._ssl,
            backoff=self._backoff,
            open_timeout=self._open_timeout,
            **self._options,
        )
        link = self._links[upstream_id] = _Link(charge_point, client)
        link.starting = asyncio.ensure_future(client.start())  # connects in the background
        _log.info("gateway: %s → %s as %s", loggable(downstream_id), self.upstream_url, loggable(upstream_id))
        return link

    async def _downstream_gone(self, downstream_id: str) -> None:
        """The charger left: its upstream connection ends once nothing of it is queued any more (else when
        the last queued message is delivered: ``_drained``). A connection replaced by the charger's new
        one is not a charger leaving: it is still in :attr:`server`."""
        link = self._links.get(self.upstream_id(downstream_id))
        if link is not None:
            await self._drop_if_idle(link)

    def _drained(self, upstream: _Upstream) -> None:
        """The last queued message of ``upstream`` was delivered (from the outbox's delivery task, which
        must not wait for its own connection to close: the closing gets a task of its own)."""
        link = self._links.get(upstream.id)
        if link is not None and link.charge_point is upstream:
            task = asyncio.ensure_future(self._drop_if_idle(link))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drop_if_idle(self, link: _Link) -> None:
        """Close the upstream connection of a charger that is gone and has nothing queued."""
        upstream = link.charge_point
        if upstream.downstream_id in self.server or upstream.pending_transaction_messages:
            return
        if self._links.get(upstream.id) is link:
            del self._links[upstream.id]
        await link.client.close()
        _log.info("gateway: %s gone; upstream connection closed", loggable(upstream.downstream_id))

    def _remember(self, message_id: str, answer: asyncio.Future[dict[str, Any]]) -> None:
        """Keep the answer of a relayed transaction message for a retry (the last ``_REMEMBERED``)."""
        self._relayed[message_id] = answer
        self._relayed.move_to_end(message_id)
        while len(self._relayed) > _REMEMBERED:
            del self._relayed[next(iter(self._relayed))]

    # -- forwarding -----------------------------------------------------------------------------------------

    async def _forward_up(self, downstream: _Downstream, action: str, request: OcppModel) -> OcppModel:
        """A charger's request (translated up to 1.6) → the central system's 1.6 answer, or the policy's."""
        _log.debug("gateway: %s %s up: %s", loggable(downstream.id), action, request.to_json_dict())
        task = asyncio.current_task()
        assert task is not None
        downstream.forwarding.add(task)
        try:
            if not downstream.connected:  # gone while this request waited its turn: nobody to answer
                task.cancel()
            link = self._upstream_for(downstream.id)  # ConnectionClosed once the gateway is closed
            upstream = link.charge_point
            online = await self._online(link)
            if action in TRANSACTION_ACTIONS:
                response = await self._relay(downstream, upstream, action, request, online)
            elif not online:
                if action == "Heartbeat" and self.policy.local_heartbeat:
                    return v16.HeartbeatResponse(current_time=datetime.now(UTC))
                raise InternalError(f"{action}: the central system is unreachable")
            else:
                response = await upstream.call(_as_request(request))
        except OcppError as error:
            _log.info("gateway: %s %s → %s from upstream", loggable(downstream.id), action, error.raw_code)
            raise
        except (CallTimeout, ConnectionClosed, UnreadableAnswer) as exc:
            _log.info("gateway: %s %s not answered upstream: %s", loggable(downstream.id), action, exc)
            raise InternalError(f"{action}: the central system did not answer") from None
        finally:
            downstream.forwarding.discard(task)
        _log.info("gateway: %s %s forwarded (OCPP %s → 1.6)", loggable(downstream.id), action, downstream.version)
        _log.debug("gateway: %s %s answer: %s", loggable(downstream.id), action, response.to_json_dict())
        return response

    async def _relay(
        self, downstream: _Downstream, upstream: _Upstream, action: str, request: OcppModel, online: bool
    ) -> OcppModel:
        """A transaction message: stored first, then the central system's answer (however long it takes:
        nothing else is a true answer), or the policy's confirmation while offline."""
        charger_message_id = _CHARGER_MESSAGE_ID.get() or new_unique_id()
        answer = await upstream.relay(request, charger_message_id)
        if action in self.policy.confirm_when_stored and not online:
            _log.info(
                "gateway: %s %s stored; confirmed downstream, delivered when the central system is back",
                loggable(downstream.id),
                action,
            )
            return _empty_answer(action)
        while True:
            try:
                raw = await asyncio.shield(answer)
            except (CallTimeout, UnreadableAnswer):  # the outbox stopped waiting; the message stays first
                answer = await upstream.relay(request, charger_message_id)
            else:
                break
        spec = upstream.ocpp_version.initiated_by(upstream.side)[action]
        response: OcppModel = await upstream._response(spec, raw)
        return response

    async def _online(self, link: _Link) -> bool:
        """Whether the central system can be reached now: connected, or connecting for the first time since
        the last connection (then waited for until that attempt ends, at most ``open_timeout``); a failed
        last attempt means offline, so a charger is answered at once while the central system is away."""
        client = link.client
        if client.connected:
            return True
        if link.starting is not None:
            await asyncio.shield(link.starting)  # start() returns at once, connecting in the background
        deadline = asyncio.get_running_loop().time() + self._open_timeout
        while client.last_error is None:  # the client tells a failed attempt only by last_error: looked at often
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            try:
                await client.wait_connected(min(left, _POLL))
            except NotConnected:
                continue
            return True
        return False

    async def _forward_down(self, upstream: _Upstream, action: str, request: OcppModel) -> OcppModel:
        """The central system's 1.6 request → the charger (translated down) → its answer, up in 1.6."""
        try:
            downstream = self.server[upstream.downstream_id]
        except UnknownChargePoint:
            raise InternalError(f"charge point {upstream.downstream_id} is not connected to the gateway") from None
        try:
            answer: OcppModel = await downstream.call(_as_request(request))
        except UsageError as exc:  # NotTranslatable: the charger's version cannot say it
            _log.info("gateway: %s %s not forwarded: %s", loggable(upstream.downstream_id), action, exc)
            raise ActionNotSupported(f"the charge point speaks OCPP {downstream.version}: {exc}") from None
        except OcppError:
            raise
        except (CallTimeout, ConnectionClosed, UnreadableAnswer) as exc:
            raise InternalError(f"{action}: the charge point did not answer ({type(exc).__name__})") from None
        _log.info(
            "gateway: %s %s forwarded down (1.6 → OCPP %s)",
            loggable(upstream.downstream_id),
            action,
            downstream.version,
        )
        return answer


def _upstream_message_id(upstream_id: str, action: str, charger_message_id: str, payload: dict[str, Any]) -> str:
    """The id a charger's transaction message goes upstream with: the same for the same message (a retry),
    in any run of the gateway, and another for any other (a charger reusing ids after a reboot); an
    OCPP-J id (a UUID, 36 characters) whatever the charger's id looks like."""
    text = json.dumps([upstream_id, action, charger_message_id, payload], sort_keys=True, separators=(",", ":"))
    return str(uuid.uuid5(_MESSAGE_IDS, text))


def _final(answer: asyncio.Future[dict[str, Any]]) -> bool:
    """Whether a done answer is the central system's (a response, or its error), not a wait given up."""
    if answer.cancelled():
        return False
    error = answer.exception()
    return error is None or (isinstance(error, OcppError) and error.remote)


def _as_request(model: OcppModel) -> Any:
    """A request model as ``call()`` takes it (typed per action there; any request here)."""
    return model


def _empty_answer(action: str) -> OcppModel:
    """The 1.6 answer of a transaction message that carries nothing the central system decides."""
    if action == "MeterValues":
        return v16.MeterValuesResponse()
    if action == "StopTransaction":
        return v16.StopTransactionResponse()
    raise UsageError(f"{action} has no answer the gateway may give without the central system")
