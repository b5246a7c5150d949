"""The two OCPP roles users subclass: :class:`ChargePoint` and :class:`CentralSystem`.

Theory of operation
-------------------
A role object is the application's view of one connection to one peer. It knows nothing of sockets or
XML: a transport gives it a :class:`~ocpprpc.connection.Link` (something that can send a request and
await its answer) through a :class:`~ocpprpc.connection.Connection`, and feeds it the peer's requests
through :meth:`Role.handle_call`. So the same subclass works over OCPP-J (WebSocket), OCPP-S (SOAP) and
the in-memory test transport, unchanged.

Inbound: action name → the :class:`~ocpprpc.messages.ActionSpec` of the connection's version → the
payload validated into the typed request → the ``@on`` handler → the typed response → its payload.
Every failure on the way becomes the :class:`~ocpprpc.errors.OcppError` the peer is answered with;
nothing a peer sends can raise out of :meth:`Role.handle_call`.

Outbound: :meth:`Role.call` takes a request model, finds its action (which also checks that this side
may send it in this version), hands the action and the payload to the link and validates the answer
into the response model. The request model's type parameter gives ``call`` its return type.

A :class:`ChargePoint` additionally keeps its transaction messages (StartTransaction, StopTransaction,
MeterValues) in an ordered outbox (:mod:`ocpprpc.outbox`; in memory, or an SQLite file that survives a
crash): while offline they wait, and after a reconnect they are delivered in order, one at a time,
before any later one. Only the central system's answer takes one out; nothing is lost to a failing wire.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import logging
import os
import time
import types
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, ClassVar, TypeVar

from pydantic import ValidationError

from ._dispatch import HandlerTable
from ._frames import decode_payload, new_unique_id
from ._identity import loggable
from ._lenient import repair
from ._link import Link, RawAnswer, RawLink, SendLink
from ._validation import error_from_validation
from ._versions import DEFAULT_VERSIONS, VERSIONS, resolve_version
from ._watchdog import HandlerDeadline
from .errors import (
    ActionNotImplemented,
    ActionNotSupported,
    CallTimeout,
    ConnectionClosed,
    InternalError,
    OcppError,
    OcppRpcError,
    UnreadableAnswer,
    UsageError,
)
from .messages._base import ActionSpec, OcppModel, OcppRequest, OcppVersion, SendSpec, Side
from .outbox import OutboxStore, open_outbox

__all__ = [
    "CSMS",
    "DEFAULT_CALL_TIMEOUT",
    "REPLAY_MEMORY",
    "REPLAY_MEMORY_TTL",
    "TRANSACTION_ACTIONS",
    "AnsweredCalls",
    "CentralSystem",
    "ChargePoint",
    "ChargingStation",
    "InboundResult",
    "Link",
    "RawAnswer",
    "Role",
]

R = TypeVar("R", bound=OcppModel)

DEFAULT_CALL_TIMEOUT = 30.0
"""Seconds a call waits for its answer by default (as ocppjs)."""

TRANSACTION_ACTIONS = frozenset({"StartTransaction", "StopTransaction", "MeterValues", "TransactionEvent"})
"""The charge point's messages that must reach the central system, in order, even across outages
(1.x: StartTransaction, StopTransaction, MeterValues; 2.x: TransactionEvent, and MeterValues)."""

REPLAY_MEMORY = 4
"""How many answered transaction messages per charge point are remembered to recognise retries.

A charge point's outbox sends one transaction message at a time, so only the last one answered can be
retried; a few more cover peers that pipeline."""

REPLAY_MEMORY_TTL = 900.0
"""Seconds an answer is remembered to recognise a retry (15 minutes).

A retry follows the lost answer as soon as the charge point is connected again: after its reconnect
back-off (ocpprpc's grows to 60 s; chargers' own are typically seconds to a few minutes) or, after a
timeout, its retry back-off (at most a minute). A quarter of an hour covers that with room to spare,
short outages included; a charge point offline for longer resends a message that is then handled
again, as after a central system restart (the memory does not outlive the process either)."""


class AnsweredCalls:
    """The answers to one charge point's last transaction messages, by message id.

    A charge point retries a transaction message with the id of its first attempt when the answer was
    lost with the connection. Answering such a retry from here, without running the handler again,
    makes the central system handle each transaction message once; a retry that arrives while the first
    attempt is still being handled waits for that answer. The memory outlives connections (the server
    keeps one per charge point id, for a while: see :class:`~ocpprpc.server.CentralSystemServer`) but
    not the process. It holds the last :data:`REPLAY_MEMORY` answers, each for ``ttl`` seconds.

    An answer given is kept as its bare :class:`InboundResult` (no future, no after-hook), so a
    remembered charge point costs about 250 bytes plus 350 per answer.
    """

    __slots__ = ("_answers", "ttl")

    def __init__(self, ttl: float | None = REPLAY_MEMORY_TTL) -> None:
        self.ttl = ttl
        """Seconds an answer is remembered (None: until pushed out by newer ones)."""
        # (action, message id) -> (when answered, the answer) or (0, the mark of a message being handled)
        self._answers: dict[tuple[str, str], tuple[float, InboundResult | _Handling]] = {}

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, action: str, message_id: str) -> InboundResult | asyncio.Future[InboundResult] | None:
        """The answer to a message seen before: given (InboundResult), still being worked out (a future), or None."""
        key = (action, message_id)
        entry = self._answers.get(key)
        if entry is None:
            return None
        when, answer = entry
        if isinstance(answer, _Handling):
            return answer.waited()
        if self.ttl is not None and time.monotonic() - when > self.ttl:
            del self._answers[key]
            return None
        return answer

    def begin(self, action: str, message_id: str) -> asyncio.Future[InboundResult]:
        """Note that a message is being handled; retries wait on the returned future."""
        return self._note(action, message_id).waited()

    def finish(
        self, action: str, message_id: str, future: asyncio.Future[InboundResult], answer: InboundResult
    ) -> None:
        """Record the answer to a message :meth:`begin` noted: retries waiting get it, later ones too."""
        future.set_result(answer)
        key = (action, message_id)
        entry = self._answers.get(key)
        if entry is not None and isinstance(entry[1], _Handling) and entry[1].future is future:
            self._answers[key] = (time.monotonic(), answer)

    def forget(self, action: str, message_id: str) -> None:
        self._answers.pop((action, message_id), None)

    async def answer(
        self, role: Role, action: str, payload: dict[str, Any] | str, message_id: str | None
    ) -> InboundResult:
        """Answer a request of ``role``'s peer, in a subclass that keeps the answers beyond this process.

        :meth:`Role.handle_call` hands every request to ``role.answered.answer()`` when ``answered`` is a
        subclass (``ocpprpc.cluster``'s keeps them in NATS for every node, and publishes each call); this
        class's own memory is used inline, for speed, and never comes here.
        """
        raise NotImplementedError

    # The per-message path of Role.handle_call: no future unless a retry comes to wait for one.

    def _claim(self, action: str, message_id: str) -> InboundResult | asyncio.Future[InboundResult] | _Handling:
        """:meth:`get`; for a message not seen before, the mark noting it as being handled (see :meth:`_note`)."""
        answers = self._answers
        if (action, message_id) in answers:  # nearly never: get() decides
            earlier = self.get(action, message_id)
            if earlier is not None:
                return earlier
        return self._note(action, message_id)

    def _note(self, action: str, message_id: str) -> _Handling:
        """Note that a message is being handled: :meth:`_settle` or :meth:`_drop` its mark afterwards."""
        mark = _Handling()
        answers = self._answers
        answers[(_ACTION_NAMES.get(action, action), message_id)] = (0.0, mark)
        while len(answers) > REPLAY_MEMORY:
            del answers[next(iter(answers))]  # at most REPLAY_MEMORY + 1 entries: cheap
        return mark

    def _settle(self, action: str, message_id: str, mark: _Handling, result: InboundResult) -> None:
        """Record the answer to a message noted with ``mark`` (bare: a retry does not rerun after-hooks)."""
        answer = result if result.after is None else InboundResult(result.payload, result.error)
        key = (action, message_id)
        entry = self._answers.get(key)
        if entry is not None and entry[1] is mark:
            self._answers[key] = (time.monotonic(), answer)
        if mark.future is not None:
            mark.future.set_result(answer)

    def _drop(self, action: str, message_id: str, mark: _Handling) -> None:
        """The handling noted with ``mark`` ended without an answer: retries waiting handle the message themselves."""
        self._answers.pop((action, message_id), None)
        if mark.future is not None:
            mark.future.cancel()


class _Handling:
    """The mark of a transaction message being handled: the future retries wait on, made when one comes."""

    __slots__ = ("future",)

    def __init__(self) -> None:
        self.future: asyncio.Future[InboundResult] | None = None

    def waited(self) -> asyncio.Future[InboundResult]:
        if self.future is None:
            self.future = asyncio.get_running_loop().create_future()
        return self.future


_ACTION_NAMES = {name: name for name in TRANSACTION_ACTIONS}
"""One string object per action name, shared by every remembered answer instead of one per message."""


AfterCallback = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class _Route:
    """How a role class answers one action of one version: its spec, its handler's name, its after-hooks."""

    spec: ActionSpec
    handler: str | None
    after_hooks: tuple[str, ...]


_Coroutine: type[Any] = types.CoroutineType
"""What an ``async def`` handler returns: checked first, before the general (and slower) isawaitable()."""


@dataclass(frozen=True, slots=True)
class InboundResult:
    """The answer to one inbound request: a response payload or an error, and what to run once sent."""

    payload: dict[str, Any] | None
    error: OcppError | None = None
    after: AfterCallback | None = None


class Role:
    """Base of :class:`ChargePoint` and :class:`CentralSystem`; one instance per connection.

    Subclass one of those, decorate handler methods with :func:`~ocpprpc.on`, and call the peer with
    :meth:`call`. Class attributes a subclass may set:

    * ``versions``: the OCPP versions it speaks, in order of preference (default: 1.6, 1.5, 1.2; OCPP
      2.0.1 and 2.1 are opted into, e.g. ``versions = ("2.0.1", "1.6")``, as they are another protocol).
    * ``call_timeout``: seconds a call waits for its answer (default 30).
    * ``handler_timeout``: seconds a handler may take before the peer is answered with InternalError
      (default 30, the peer's own call timeout; None: no limit). A hung handler then ties up nothing.
    * ``canonical``: the one version the handlers are written for (``"1.6"``), while the class serves
      every version in ``versions``: a request of a 1.2 / 1.5 peer reaches the handler translated into
      the canonical version's model and the handler's response goes back translated down; ``call()``
      takes canonical models, translated down for the connection (refused with
      :class:`~ocpprpc.translation.NotTranslatable`, a :class:`UsageError`, where the peer's version cannot
      express the request) and returns the canonical response. ``self.version`` stays the connection's
      version. The table is :mod:`ocpprpc.messages.translation_table`. None (the default): handlers get
      the models of the connection's version.
    * ``strict``: when False, a request (or a response to our call) that fails validation is repaired
      where the fix is obvious (a timestamp without timezone, ``"1"`` for 1, an enum value in the wrong
      case, a vendor field: see ``ocpprpc._lenient``) instead of refused; handlers still get valid
      models. Also settable per instance, so per charge point. Either way :meth:`on_validation_error`
      hears of every payload that failed validation.
    """

    side: ClassVar[Side]
    versions: ClassVar[tuple[str, ...]] = DEFAULT_VERSIONS
    call_timeout: ClassVar[float] = DEFAULT_CALL_TIMEOUT
    handler_timeout: ClassVar[float | None] = DEFAULT_CALL_TIMEOUT
    canonical: ClassVar[str | None] = None
    strict: bool = True
    _handlers: ClassVar[HandlerTable] = HandlerTable()
    _routes: ClassVar[dict[str, dict[str, _Route]]] = {}
    """Per class: version -> action -> what :meth:`_answer` needs to know, found once per action."""
    _canonical: ClassVar[OcppVersion | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for version in cls.versions:
            resolve_version(version)
        cls._canonical = None if cls.canonical is None else resolve_version(cls.canonical)
        if cls._canonical is not None:
            cls.canonical = cls._canonical.version  # "ocpp1.6" → "1.6"
            untranslatable = [v for v in cls.versions if not _translates(resolve_version(v).version, cls.canonical)]
            if untranslatable:
                raise UsageError(
                    f"{cls.__name__}: canonical = {cls.canonical!r} cannot serve OCPP {', '.join(untranslatable)} "
                    "(translation covers OCPP 1.2, 1.5 and 1.6)"
                )
        cls._handlers = HandlerTable.of(cls)
        cls._routes = {}

    def __init__(self, id: str, version: str | OcppVersion | None = None) -> None:
        self.id = id
        """The charge point identity this connection is about (for a central system: its peer's id)."""
        self._version = resolve_version(version if version is not None else self.versions[0])
        self._link: Link | None = None
        self._link_changed = asyncio.Condition()
        self.answered = AnsweredCalls()
        """Answers to the peer's transaction messages, to recognise retries (a server shares one per id)."""
        self.logger: logging.LoggerAdapter[logging.Logger] = logging.LoggerAdapter(
            logging.getLogger(f"ocpprpc.{self.side.value}"), {"charge_point_id": id}
        )

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"<{type(self).__name__} {self.id!r} OCPP {self._version.version} {state}>"

    # -- public API ------------------------------------------------------------------------------

    @property
    def version(self) -> str:
        """The OCPP version of the connection, ``"1.6"``, ``"1.5"`` or ``"1.2"`` (negotiated when connected).

        A handler serving several versions reads it as ``if self.version == "1.6": ...``; the version's
        action registry is :attr:`ocpp_version`.
        """
        return self._version.version

    @property
    def ocpp_version(self) -> OcppVersion:
        """The registry of the connection's version: its actions (``initiated_by(side)``,
        ``received_by(side)``), models and namespaces, e.g. ``v16.VERSION``."""
        return self._version

    @property
    def connected(self) -> bool:
        return self._link is not None and not self._link.closed

    async def call(self, request: OcppRequest[R], *, timeout: float | None = None) -> R:
        """Send ``request`` to the peer and return its typed response.

        Raises :class:`~ocpprpc.errors.OcppError` (``remote=True``) when the peer answers with an error,
        the matching constraint error when its response does not validate, :class:`CallTimeout`,
        :class:`UnreadableAnswer`, :class:`ConnectionClosed`, or :class:`UsageError` when this side does
        not send that action in the connection's version. (A charge point's transaction messages go
        through its outbox: see :class:`ChargePoint` for how they are retried.)
        """
        wire = self._down(request)
        spec = self._outbound_spec(wire)
        message_id = new_unique_id()
        raw = await self._send_request(spec, wire.to_json_dict(), self._timeout(timeout), message_id)
        response: R = self._up(await self._response(spec, raw, message_id), request)
        return response

    async def send(self, message: OcppModel) -> None:
        """Send an unconfirmed message to the peer (OCPP 2.1's SEND, e.g. ``v21.NotifyPeriodicEventStream``).

        Nobody answers it, so this returns once it is on its way. Raises :class:`UsageError` for a
        model this side does not send that way in the connection's version (requests go through
        :meth:`call`), and :class:`ConnectionClosed` when not connected.
        """
        spec = self._outbound_send_spec(message)
        link = await self._current_link()
        if not isinstance(link, SendLink):
            raise UsageError(f"the {type(link).__name__} of {self.id} cannot send unconfirmed messages")
        await link.send_message(spec.name, message.to_json_dict())

    async def call_raw(self, action: str, payload: dict[str, Any], *, timeout: float | None = None) -> RawAnswer:
        """Send any action with any payload, unvalidated; the peer's answer as data.

        For test tools (the simulator's ``send``): a conforming application uses :meth:`call`. The
        answer's ``payload`` is the response payload (unvalidated), or its ``error`` the error the peer
        answered with (a CALLERROR, a SOAP Fault), which is not raised: ``answer.result()`` raises it.
        A call that gets no OCPP answer raises as :meth:`call` does (:class:`CallTimeout`, ...).
        """
        link = await self._current_link()
        if not isinstance(link, RawLink):
            raise UsageError(f"the {type(link).__name__} of {self.id} cannot send raw requests")
        return await link.call_raw(action, payload, self._timeout(timeout))

    async def send_raw(self, text: str) -> str | None:
        """Send any text to the peer as is, to exercise its error handling (the simulator's ``send_raw``).

        Over OCPP-J the text is one WebSocket frame; an answer to it arrives as any frame does (see
        :meth:`on_unmatched_frame`). Over OCPP-S it is the HTTP body of a POST and the HTTP response
        body is returned.
        """
        link = await self._current_link()
        if not isinstance(link, RawLink):
            raise UsageError(f"the {type(link).__name__} of {self.id} cannot send raw text")
        return await link.send_raw(text)

    async def close(self, reason: str = "") -> None:
        """Close this connection."""
        if self._link is not None:
            await self._link.close(reason)

    async def on_connect(self) -> None:
        """Called when the connection is up (override to react)."""

    async def on_disconnect(self) -> None:
        """Called when the connection is gone (override to react)."""

    async def on_validation_error(self, action: str, payload: dict[str, Any], error: OcppError, repaired: bool) -> None:
        """A payload of ``action`` from the peer failed validation (override to count or alert).

        ``error`` is what strict validation answers; ``repaired`` says whether a non-``strict`` role
        fixed the payload and went on. The default logs a warning.
        """
        outcome = "repaired" if repaired else "refused"
        self.logger.warning("%s %s from %s: %s", outcome, action, self.id, loggable(error.description, None))

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        """Answer a valid request that has no ``@on`` handler. By default: NotSupported."""
        raise ActionNotSupported(f"{action} is not supported by this {self.side.value}")

    def on_call_result_error(self, message_id: str, error: OcppError) -> None:
        """The peer could not process our answer to its call ``message_id`` (OCPP-J 2.1 CALLRESULTERROR).

        Informational: nothing is sent back, the call is over. Called from the connection's receive
        loop: do not block. The default logs a warning.
        """
        self.logger.warning(
            "%s refused our answer to its call %s: %s", self.id, loggable(message_id, 40), loggable(str(error))
        )

    def on_unmatched_frame(self, frame: str) -> None:
        """An answer from the peer matched no call of ours (override to see it; test tools do).

        Over OCPP-J: a CALLRESULT or CALLERROR whose id is not that of a pending call, e.g. the answer
        to a CALL sent with :meth:`send_raw`, or one that came after its call timed out. ``frame`` is
        the text as received. Called from the connection's receive loop: do not block. The default does
        nothing (the link logs it and counts it as a bad message).
        """

    # -- for transports ------------------------------------------------------------------------------

    async def attach(self, link: Link, version: OcppVersion | None = None) -> None:
        """Bind a freshly opened connection (and its negotiated version) to this role; runs ``on_connect``.

        Transports do not call it themselves: :meth:`Connection.open <ocpprpc.connection.Connection.open>`
        does (and registers a central system's connection with its server).

        A transport must already be reading the connection when it attaches: ``on_connect`` may call
        the peer, and the answer has to be received.
        """
        async with self._link_changed:
            self._link = link
            if version is not None:
                self._version = version
            self._link_changed.notify_all()
        await self._run_hook(self.on_connect)

    async def detach(self, link: Link) -> None:
        """Unbind a connection that has gone away; runs ``on_disconnect``. Ignores a link already replaced."""
        async with self._link_changed:
            if self._link is not link:
                return
            self._link = None
            self._link_changed.notify_all()
        await self._run_hook(self.on_disconnect)

    async def handle_call(self, action: str, payload: dict[str, Any], message_id: str | None = None) -> InboundResult:
        """Answer one request from the peer. Never raises, but for cancellation.

        With the request's ``message_id``, a transaction message answered before under the same id (a
        retry whose first answer was lost) gets that answer again without running the handler twice.
        """
        return await self._handle_call(action, payload, message_id)

    async def _handle_call(self, action: str, payload: dict[str, Any] | str, message_id: str | None) -> InboundResult:
        """:meth:`handle_call`; ``payload`` may also be the JSON text of a payload that the OCPP-J link found
        well-formed (:func:`~ocpprpc._frames.split_call`): the request is then validated straight from
        it, with the same outcome as from the decoded payload, and in about half the time."""
        if type(self.answered) is not AnsweredCalls:  # answers kept beyond this process: see AnsweredCalls.answer
            return await self.answered.answer(self, action, payload, message_id)
        if message_id is None or action not in TRANSACTION_ACTIONS:
            return await self._answer(action, payload)
        answered = self.answered
        mark = answered._claim(action, message_id)
        if not isinstance(mark, _Handling):
            self.logger.info("%s %s from %s is a retry: answered as before", action, loggable(message_id), self.id)
            if isinstance(mark, InboundResult):
                return mark
            try:
                return await asyncio.shield(mark)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                # the first attempt's handler was cancelled: this one handles the message itself
            mark = answered._note(action, message_id)
        try:
            result = await self._answer(action, payload)
        except BaseException:
            answered._drop(action, message_id, mark)
            raise
        answered._settle(action, message_id, mark, result)  # a retry does not rerun after-hooks
        return result

    async def handle_send(self, action: str, payload: dict[str, Any], message_id: str | None = None) -> None:
        """Handle one unconfirmed message from the peer (OCPP-J 2.1 SEND): its ``@on`` handler, if any.

        Nothing is ever answered, not even a fault: an unknown action, an invalid payload or a failing
        handler is logged (and an invalid payload told to :meth:`on_validation_error`). Never raises,
        but for cancellation.
        """
        version = self._version
        spec = version.sent_by(self.side.other).get(action)
        if spec is None:
            self.logger.warning(
                "unconfirmed %s from %s dropped: not a message OCPP %s sends this way",
                loggable(action, 40),
                self.id,
                version.version,
            )
            return
        try:
            message: OcppModel = spec.message.model_validate(payload)
        except ValidationError as exc:
            repaired, _error = await self._invalid(spec.name, spec.message, payload, exc, "message")
            if repaired is None:
                return
            message = repaired
        name = self._handlers.handler(version, spec.name)
        if name is None:
            self.logger.debug("unconfirmed %s from %s: no handler", spec.name, self.id)
            return
        deadline = HandlerDeadline(self.handler_timeout)
        result: Any = None
        try:
            with deadline:
                result = getattr(self, name)(message)
                if inspect.isawaitable(result):
                    result = await result
        except asyncio.CancelledError:
            raise
        except Exception:
            self.logger.exception("handler for unconfirmed %s from %s failed", spec.name, self.id)
            return
        if deadline.expired:
            self.logger.error(
                "handler for unconfirmed %s from %s took over %s s", spec.name, self.id, self.handler_timeout
            )
        elif result is not None:
            self.logger.error(
                "handler for unconfirmed %s returned %s; nothing is sent back for it", spec.name, type(result).__name__
            )

    async def _answer(self, action: str, payload: dict[str, Any] | str) -> InboundResult:
        checked = await self._request_of(action, payload)
        if isinstance(checked, InboundResult):
            return checked
        route, request = checked
        spec, version = route.spec, self._version
        canonical = self._canonical
        if canonical is not None and canonical is not version:
            try:
                request = _translate(request, canonical.version)
            except UsageError as exc:  # NotTranslatable: the handlers' version has no such request
                return InboundResult(None, ActionNotSupported(f"{action} cannot be handled here: {exc}"))
            version = canonical
            canonical_route = self._route(version, action)
            assert canonical_route is not None
            route, spec = canonical_route, canonical_route.spec
        deadline = HandlerDeadline(self.handler_timeout)
        response: OcppModel | None = None  # stays None when the deadline passed (its cancellation is swallowed)
        try:
            with deadline:
                # The handler of the action (of the connection's version or the canonical one), run here
                # rather than in a coroutine of its own: the worker's task is the handler's task.
                name = route.handler
                result: Any = self.on_unhandled(spec.name, request) if name is None else getattr(self, name)(request)
                if type(result) is _Coroutine or isawaitable(result):
                    result = await result
                response = result if type(result) is spec.response else self._response_of(spec, result)
        except OcppError as error:
            return InboundResult(None, error)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.logger.exception("handler for %s from %s failed", action, self.id)
            return InboundResult(None, InternalError(f"the {self.side.value} failed while handling {action}"))
        if deadline.expired or response is None:
            self.logger.error("handler for %s from %s took over %s s", action, self.id, self.handler_timeout)
            return InboundResult(None, InternalError(f"the {self.side.value} took too long to handle {action}"))
        wire_response = response
        if version is not self._version:
            try:
                wire_response = _translate(response, self._version.version)
            except UsageError as exc:
                self.logger.error("the %s response cannot be given in OCPP %s: %s", action, self._version.version, exc)
                return InboundResult(
                    None,
                    InternalError(f"the {self.side.value}'s {action} response cannot be expressed in this version"),
                )
        try:
            answer = wire_response.to_json_dict()
        except Exception:  # e.g. a model_construct()-ed response holding what JSON cannot carry
            self.logger.exception("the %s response cannot be written", action)
            return InboundResult(None, InternalError(f"the {self.side.value} built an invalid {action} response"))
        hooks = route.after_hooks
        after = self._after_callback(hooks, request, response) if hooks else None
        return InboundResult(answer, None, after)

    async def _request_of(self, action: str, payload: dict[str, Any] | str) -> tuple[_Route, OcppModel] | InboundResult:
        """The first half of :meth:`_answer`: the request validated in the connection's version (repaired
        when not ``strict``, told to :meth:`on_validation_error`), with its route; or the answer refusing
        it. On its own for a cluster node that hands valid requests to a worker pool (the protocol stays
        on the node)."""
        version = self._version
        routes = self._routes.get(version.version)
        route = routes.get(action) if routes is not None else None
        if route is None:
            route = self._route(version, action)
            if route is None:
                return self._not_received(action)
        spec = route.spec
        if type(payload) is str:
            try:
                return route, spec.request.__pydantic_validator__.validate_json(payload)
            except Exception:  # told as it always was, from the decoded payload
                payload = decode_payload(payload)
        assert not isinstance(payload, str)
        try:
            return route, spec.request.model_validate(payload)
        except ValidationError as exc:
            repaired, error = await self._invalid(spec.name, spec.request, payload, exc, "request")
            return InboundResult(None, error) if repaired is None else (route, repaired)

    # -- internals ------------------------------------------------------------------------------------

    def _not_received(self, action: str) -> InboundResult:
        """The answer to a request of an action this side does not receive in the connection's version."""
        version = self._version
        if action in version.initiated_by(self.side):
            return InboundResult(
                None, ActionNotSupported(f"{action} is sent by a {self.side.value}, not received by one")
            )
        if action in version.sent_by(self.side) or action in version.sent_by(self.side.other):
            return InboundResult(
                None, ActionNotSupported(f"{action} is an unconfirmed message (SEND) in OCPP {version.version}")
            )
        return InboundResult(None, ActionNotImplemented(f"unknown action {action!r} in OCPP {version.version}"))

    @classmethod
    def _takes_payload_text(cls) -> bool:
        """Whether a link may hand this class's objects payloads as JSON text (:meth:`_handle_call`): not
        when a subclass overrides :meth:`handle_call`, which then sees every payload as before."""
        return cls.handle_call is Role.handle_call

    def _timeout(self, timeout: float | None) -> float:
        return self.call_timeout if timeout is None else timeout

    def _outbound_spec(self, request: OcppModel) -> ActionSpec:
        if not isinstance(request, OcppModel):
            raise UsageError(f"call() takes a request model, not {type(request).__name__}")
        try:
            return self._version.for_request(type(request), self.side)
        except KeyError:
            raise UsageError(
                f"{type(request).__module__}.{type(request).__name__} is not a request a {self.side.value} "
                f"sends in OCPP {self._version.version}"
            ) from None

    def _down(self, request: OcppModel) -> OcppModel:
        """A canonical request in the connection's version (as is without ``canonical``, or in the same version)."""
        canonical = self._canonical
        if canonical is None or canonical is self._version or not isinstance(request, OcppModel):
            return request
        if _version_of(type(request)) != canonical.version:
            return request  # a model of the connection's own version: sent as it is
        return _translate(request, self._version.version)

    def _up(self, response: Any, request: OcppModel) -> Any:
        """The peer's response in the version of the request the caller gave (the canonical one, translated up)."""
        if self._canonical is None or self._canonical is self._version:
            return response
        version = _version_of(type(request))
        if version is None or version == self._version.version:
            return response
        return _translate(response, version)

    def _outbound_send_spec(self, message: OcppModel) -> SendSpec:
        if not isinstance(message, OcppModel):
            raise UsageError(f"send() takes a message model, not {type(message).__name__}")
        try:
            spec: SendSpec | None = self._version.for_message(type(message))
        except KeyError:
            spec = None
        if spec is None or spec.initiator is not self.side:
            kind: type[OcppModel] = type(message)
            how = " (requests go through call())" if issubclass(kind, OcppRequest) else ""
            raise UsageError(
                f"{kind.__module__}.{kind.__name__} is not a message a {self.side.value} "
                f"sends unconfirmed in OCPP {self._version.version}{how}"
            )
        return spec

    async def _response(self, spec: ActionSpec, raw: dict[str, Any], message_id: str | None = None) -> Any:
        """The peer's response payload validated into its model (repaired when not ``strict``), or the error.

        A response refused is also told to a 2.1 peer (CALLRESULTERROR) when its ``message_id`` is known.
        """
        try:
            return spec.response.model_validate(raw)
        except ValidationError as exc:
            repaired, error = await self._invalid(spec.name, spec.response, raw, exc, "response")
            if repaired is None:
                link = self._link
                if message_id is not None and isinstance(link, SendLink):
                    await link.refuse_result(message_id, error)
                raise error from None
            return repaired

    async def _current_link(self) -> Link:
        link = self._link
        if link is None or link.closed:
            raise ConnectionClosed(f"{self.side.value} {self.id} is not connected")
        return link

    async def _wait_for_link(self) -> Link:
        async with self._link_changed:
            await self._link_changed.wait_for(lambda: self._link is not None and not self._link.closed)
            assert self._link is not None
            return self._link

    async def _send_request(
        self, spec: ActionSpec, payload: dict[str, Any], timeout: float, message_id: str
    ) -> dict[str, Any]:
        link = await self._current_link()
        return await link.request(spec, payload, timeout, message_id)

    async def _invalid(
        self, action: str, model: type[OcppModel], payload: dict[str, Any], exc: ValidationError, what: str
    ) -> tuple[OcppModel | None, OcppError]:
        """Tell :meth:`on_validation_error`; the repaired model (when not ``strict`` and repairable) and the error."""
        repaired = None if self.strict else repair(model, payload, exc)
        error = error_from_validation(exc, action, what)
        try:
            await self.on_validation_error(action, payload, error, repaired is not None)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.logger.exception("on_validation_error failed")
        return repaired, error

    def _route(self, version: OcppVersion, action: str) -> _Route | None:
        """What answering ``action`` of ``version`` takes (None: this side does not receive it), remembered
        per class: only actions of the version are, so a peer's made-up names add nothing."""
        spec = version.received_by(self.side).get(action)
        if spec is None:
            return None
        table = self._handlers
        route = _Route(spec, table.handler(version, action), table.after_hooks(version, action))
        self._routes.setdefault(version.version, {})[action] = route
        return route

    def _response_of(self, spec: ActionSpec, result: Any) -> OcppModel:
        """The handler's ``result`` as ``spec``'s response model (a dict validated into it); InternalError else."""
        if isinstance(result, dict):
            try:
                return spec.response.model_validate(result)
            except ValidationError as exc:
                self.logger.error("handler for %s returned an invalid response: %s", spec.name, exc)
                raise InternalError(f"the {self.side.value} built an invalid {spec.name} response") from None
        if not isinstance(result, spec.response):
            self.logger.error("handler for %s %s", spec.name, self._wrong_response(spec, result))
            raise InternalError(f"the {self.side.value} built an invalid {spec.name} response")
        return result

    def _wrong_response(self, spec: ActionSpec, result: object) -> str:
        """What is wrong with a handler's answer that is not ``spec``'s response model."""
        expected = f"{spec.response.__module__}.{spec.response.__qualname__}"
        kind = type(result)
        name = f"{kind.__module__}.{kind.__qualname__}"
        for version in VERSIONS.values():
            if version is self._version:
                continue
            for other in version.actions:
                if other.response is kind:
                    return (
                        f"returned {name}, a model of OCPP {version.version}, on a connection speaking OCPP "
                        f"{self._version.version}: return {expected} (OCPP {self._version.version}) instead"
                    )
        return f"returned {name}, expected {expected}"

    def _after_callback(self, hooks: tuple[str, ...], request: OcppModel, response: OcppModel) -> AfterCallback:
        async def run_after() -> None:
            for name in hooks:
                try:
                    result = getattr(self, name)(request, response)
                    if inspect.isawaitable(result):
                        await result
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.logger.exception("after-hook %s failed", name)

        return run_after

    async def _run_hook(self, hook: Callable[[], Awaitable[None]]) -> None:
        try:
            await hook()
        except asyncio.CancelledError:
            raise
        except Exception:
            self.logger.exception("%s hook failed", hook.__name__)


class CentralSystem(Role):
    """The central system's side of one charge point connection. Subclass it and add ``@on`` handlers."""

    side = Side.CENTRAL_SYSTEM


class ChargePoint(Role):
    """A charge point. Subclass it, add ``@on`` handlers for the central system's requests, and ``call()``.

    Transaction messages (:data:`TRANSACTION_ACTIONS`) go through an ordered outbox. ``call`` writes the
    message to the outbox store, then it is sent when the charge point is connected, one at a time, in
    order; ``call`` returns once the central system has answered. :meth:`enqueue` returns as soon as
    the message is stored, for a charge point that must not wait for the central system.

    Only a real OCPP answer takes a message out of the outbox: a response, or an error the central
    system's handler sent (a CALLERROR, a SOAP Fault; the caller gets it as an :class:`OcppError` with
    ``remote=True``) other than a failure to process it. Anything else means "not delivered", and the
    message is kept and sent again with the id of its first attempt:

    * the connection is lost (:class:`ConnectionClosed`): sent again after the next (re)connection;
      the caller keeps waiting across reconnections;
    * the central system failed to process it (a CALLERROR ``InternalError``, or a SOAP Fault that says
      so): sent again after the retry interval below, as OCPP 1.6 and 2.x ask ("failure to process the
      message"); after ``transaction_message_attempts`` such answers the message is skipped, as the
      protocol permits, and the caller gets the :class:`InternalError`. Any other CALLERROR refuses the
      message itself, and sending it again would not change that: it is the answer;
    * no answer in time (:class:`CallTimeout`) or an answer that is not an OCPP answer
      (:class:`UnreadableAnswer`: a garbled frame, an HTTP error without a Fault, an HTTP 401): sent
      again on the same connection after ``transaction_message_retry_interval`` seconds, doubling per
      failure up to ``transaction_message_retry_max``. After ``transaction_message_attempts`` such
      failures in a row the caller stops waiting with that error, but the message stays first in the
      outbox and is still delivered later, before any later message. Only :meth:`abandon_outbox` drops
      messages.

    A message whose answer was lost is thus sent again with its first id; an ocpprpc central system
    recognises the retry (see :class:`AnsweredCalls`) and answers it as before without handling it
    twice. Other central systems see it twice.

    ``outbox`` chooses the store (see :mod:`ocpprpc.outbox`): None keeps the messages in memory (they
    survive disconnections, not a restart); a path keeps them in an SQLite file
    (:class:`~ocpprpc.outbox.SqliteOutbox`), so they survive a crash or ``kill -9``; an
    :class:`~ocpprpc.outbox.OutboxStore` is used as is. Messages a previous process left in the store
    are loaded at the first connection (or the first transaction message, whichever comes first) and
    delivered first, in order, with their original ids; nobody awaits their answers (an INFO line says
    how many were recovered). A stored message keeps the OCPP version it was written in: it is sent
    only over a connection speaking that version and otherwise waits, logged, without holding back the
    messages of the connection's version.
    """

    side = Side.CHARGE_POINT
    transaction_message_attempts: ClassVar[int] = 3
    """Timeouts or unreadable answers in a row after which the caller stops waiting (the message stays)."""
    transaction_message_retry_interval: ClassVar[float] = 1.0
    """Seconds before a transaction message is sent again after a timeout or an unreadable answer."""
    transaction_message_retry_max: ClassVar[float] = 60.0
    """The longest wait between two attempts (the interval doubles per failure up to it)."""

    def __init__(
        self,
        id: str,
        version: str | OcppVersion | None = None,
        *,
        outbox: OutboxStore | str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(id, version)
        self._store, self._owns_store = open_outbox(outbox)
        self._outbox: collections.deque[_Queued] = collections.deque()
        self._outbox_lock = asyncio.Lock()
        self._outbox_task: asyncio.Task[None] | None = None
        self._recovered = False
        self._outbox_closed = False
        self._delivery_held = 0  # > 0 while close_outbox / abandon_outbox work: no delivery may start

    @property
    def outbox(self) -> OutboxStore:
        """The store transaction messages wait in."""
        return self._store

    @property
    def pending_transaction_messages(self) -> int:
        """How many transaction messages wait for delivery (with those recovered from the store, once loaded)."""
        return len(self._outbox)

    async def enqueue(self, request: OcppRequest[R], *, timeout: float | None = None) -> asyncio.Future[R]:
        """Queue a transaction message; returns once it is in the outbox store (durable, for a durable store).

        The returned future gives the typed response, or raises as :meth:`call` would; the message is
        delivered whether or not anyone awaits it, and cancelling the future does not withdraw it.
        ``await cp.call(request)`` is ``await (await cp.enqueue(request))``. Raises
        :class:`~ocpprpc.outbox.OutboxError` when the store cannot take the message (it is then not
        queued) and :class:`UsageError` for a request that is not a transaction message.
        """
        wire = self._down(request)
        spec = self._outbound_spec(wire)
        if spec.name not in TRANSACTION_ACTIONS:
            raise UsageError(f"{spec.name} is not a transaction message; call() it")
        message_id = new_unique_id()
        answer = await self._queue(spec, wire.to_json_dict(), self._timeout(timeout), message_id)

        async def response() -> R:
            typed: R = self._up(await self._response(spec, await asyncio.shield(answer), message_id), request)
            return typed

        task = asyncio.ensure_future(response())
        task.add_done_callback(_retrieve_exception)
        return task

    async def abandon_outbox(self, error: BaseException | None = None) -> int:
        """Drop every queued transaction message, from the store as well: their callers get ``error``.

        For a charge point taken out of service; the default error is :class:`ConnectionClosed`.
        Returns how many messages were dropped (those a previous process left in the store included).
        """
        async with self._delivery_stopped():
            await self._recover()
            dropped = 0
            while self._outbox:
                entry = self._outbox.popleft()
                await self._store.remove(entry.key)
                dropped += 1
                if entry.answer is not None and not entry.answer.done():
                    entry.answer.set_exception(error or ConnectionClosed(f"charge point {self.id} dropped it"))
        self._deliver_soon()  # messages queued meanwhile
        return dropped

    async def close_outbox(self) -> None:
        """Stop delivering and close the store if the charge point opened it (from a path, or the default).

        Queued messages stay in the store (a durable one delivers them after a restart); callers still
        waiting get :class:`ConnectionClosed`. The charge point sends no transaction message after this.
        """
        async with self._delivery_stopped():
            for entry in self._outbox:
                if entry.answer is not None and not entry.answer.done():
                    entry.answer.set_exception(ConnectionClosed(f"the outbox of {self.id} is closed; message kept"))
            self._outbox.clear()
            self._outbox_closed = True
            if self._owns_store:
                await self._store.close()

    # -- for transports ------------------------------------------------------------------------------

    async def attach(self, link: Link, version: OcppVersion | None = None) -> None:
        """Bind a new connection; messages left in the outbox store by a previous process are loaded first."""
        try:
            async with self._outbox_lock:
                await self._recover()
        except OcppRpcError as exc:
            self.logger.error("cannot read the outbox of %s: %s", self.id, exc)
        self._deliver_soon()  # it waits for the link, then sends while on_connect runs, as before
        await super().attach(link, version)

    # -- internals ------------------------------------------------------------------------------------

    async def _send_request(
        self, spec: ActionSpec, payload: dict[str, Any], timeout: float, message_id: str
    ) -> dict[str, Any]:
        if spec.name not in TRANSACTION_ACTIONS:
            return await super()._send_request(spec, payload, timeout, message_id)
        answer = await self._queue(spec, payload, timeout, message_id)
        # The message stays queued even if the caller stops waiting: it is delivered all the same.
        return await asyncio.shield(answer)

    async def _queue(
        self, spec: ActionSpec, payload: dict[str, Any], timeout: float, message_id: str
    ) -> asyncio.Future[dict[str, Any]]:
        """Store a transaction message and put it in the queue; the future of its answer payload."""
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        answer.add_done_callback(_retrieve_exception)
        entry = _Queued(0, spec.name, self._version.version, payload, message_id, timeout, answer)
        # Its own task, so that a caller cancelled half-way leaves the message queued, not half stored;
        # tasks start in creation order and the lock is fair, so messages are stored in call order.
        storing = asyncio.ensure_future(self._store_and_queue(entry))
        storing.add_done_callback(_retrieve_exception)
        await asyncio.shield(storing)
        return answer

    async def _store_and_queue(self, entry: _Queued) -> None:
        async with self._outbox_lock:
            if self._outbox_closed:
                raise UsageError(f"the outbox of charge point {self.id} is closed")
            await self._recover()
            entry.key = await self._store.append(self.id, entry.action, entry.version, entry.payload, entry.message_id)
            self._outbox.append(entry)
        self._deliver_soon()

    async def _recover(self) -> None:
        """Load what a previous process left in the store (once; with the lock held)."""
        if self._recovered or self._outbox_closed:
            return
        stored = await self._store.pending(self.id)
        self._recovered = True
        if not stored:
            return
        self.logger.info(
            "%d transaction message(s) of %s recovered from the outbox; delivering them first", len(stored), self.id
        )
        recovered = [
            _Queued(m.key, m.action, m.version, m.payload, m.message_id, self.call_timeout, None) for m in stored
        ]
        self._outbox.extendleft(reversed(recovered))

    def _deliver_soon(self) -> None:
        if self._delivery_held or self._outbox_closed:
            return
        if self._outbox and (self._outbox_task is None or self._outbox_task.done()):
            self._outbox_task = asyncio.create_task(self._deliver_outbox(), name=f"ocpprpc-outbox-{self.id}")

    @contextlib.asynccontextmanager
    async def _delivery_stopped(self) -> AsyncGenerator[None, None]:
        """Delivery stopped and kept from starting again (a connection attaching meanwhile), lock held.

        Without the hold, a reconnect between stopping and locking would start sending a message that
        ``close_outbox`` then drops from the queue and whose answer finds the store closed: it would be
        sent again after a restart.
        """
        self._delivery_held += 1
        try:
            task, self._outbox_task = self._outbox_task, None
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            async with self._outbox_lock:
                yield
        finally:
            self._delivery_held -= 1

    def _next_message(self, version: str, link: Link) -> _Queued | None:
        """The first queued message written in ``version``; the others wait for a connection speaking theirs."""
        for entry in self._outbox:
            if entry.version == version:
                return entry
            if entry.link_warned is not link:
                entry.link_warned = link
                self.logger.warning(
                    "%s %s is OCPP %s; kept until a connection speaks it (this one speaks %s)",
                    entry.action,
                    entry.message_id,
                    entry.version,
                    version,
                )
        return None

    async def _deliver_outbox(self) -> None:
        """Send the queued messages one at a time until none is left for the current connection's version."""
        failures = 0
        while True:
            link = await self._wait_for_link()
            entry = self._next_message(self._version.version, link)
            if entry is None:
                return  # restarted by the next message queued or the next connection
            try:
                # Every attempt carries the first attempt's id: the central system can tell a retry.
                spec = self._version.initiated_by(self.side)[entry.action]
                raw = await link.request(spec, entry.payload, entry.timeout, entry.message_id)
            except ConnectionClosed:
                self.logger.info("%s not delivered: connection lost; retrying after reconnect", entry.action)
                await self._wait_for_new_link(link)
                continue
            except OcppError as exc:
                if exc.remote and not (
                    isinstance(exc, InternalError) and failures + 1 < self.transaction_message_attempts
                ):  # the central system's own answer: delivered (InternalError once attempts ran out: skipped)
                    await self._delivered(entry, exc)
                    failures = 0
                    continue
                failure: Exception = exc
            except (CallTimeout, UnreadableAnswer) as exc:
                failure = exc
            except Exception as exc:  # a transport's bug: the message is kept all the same
                self.logger.exception("%s not delivered: unexpected failure", entry.action)
                failure = exc
            else:
                await self._delivered(entry, raw)
                failures = 0
                continue
            failures += 1
            if failures >= self.transaction_message_attempts and entry.answer is not None and not entry.answer.done():
                entry.answer.set_exception(failure)  # the caller stops waiting; the message stays first
            delay = min(
                self.transaction_message_retry_interval * 2 ** (failures - 1), self.transaction_message_retry_max
            )
            self.logger.warning(
                "%s %s not delivered (%s, attempt %d); sending it again in %.1f s",
                entry.action,
                entry.message_id,
                type(failure).__name__,
                failures,
                delay,
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wait_for_new_link(link)  # a new connection is tried at once

    async def _delivered(self, entry: _Queued, result: dict[str, Any] | OcppError) -> None:
        """The central system answered ``entry``: out of the store, then the queue, and to its caller.

        The store goes first, so that ``pending_transaction_messages`` reaches 0 only once the store is
        empty too; and the removal is finished even when delivery is stopped half-way (``close_outbox``
        right after the last answer), or the answered message would be sent again after a restart.
        """
        removal = asyncio.ensure_future(self._store.remove(entry.key))
        try:
            await asyncio.shield(removal)
        except asyncio.CancelledError:
            await asyncio.wait({removal})  # the store closes after this, so the removal lands first
            self._answered(entry, result, removal)
            raise
        except OcppRpcError:
            pass  # logged by _answered
        self._answered(entry, result, removal)

    def _answered(self, entry: _Queued, result: dict[str, Any] | OcppError, removal: asyncio.Future[None]) -> None:
        self._outbox.remove(entry)
        error = removal.exception()
        if error is not None:
            self.logger.error("%s %s answered but still in the outbox store: %s", entry.action, entry.message_id, error)
        if entry.answer is None:
            self.logger.info("recovered %s %s delivered", entry.action, entry.message_id)
        elif not entry.answer.done():
            if isinstance(result, OcppError):
                entry.answer.set_exception(result)
            else:
                entry.answer.set_result(result)

    async def _wait_for_new_link(self, old: Link) -> None:
        async with self._link_changed:
            await self._link_changed.wait_for(lambda: self._link is not old)


@dataclass(slots=True, eq=False)
class _Queued:
    """A transaction message in a charge point's outbox."""

    key: int
    """The outbox store's key."""
    action: str
    version: str
    payload: dict[str, Any]
    message_id: str
    timeout: float
    answer: asyncio.Future[dict[str, Any]] | None
    """Where its caller waits; None for a message recovered from the store (its caller is gone)."""
    link_warned: Link | None = None
    """The connection on which it was last logged as waiting for another version."""


def _retrieve_exception(future: asyncio.Future[Any]) -> None:
    """Mark an outbox result as seen, so a caller that stopped waiting causes no 'never retrieved' noise."""
    if not future.cancelled():
        future.exception()


ChargingStation = ChargePoint
"""OCPP 2.x's name for a charge point: the same class (``versions = ("2.0.1",)`` makes it speak 2.0.1)."""

CSMS = CentralSystem
"""OCPP 2.x's name for the central system (Charging Station Management System): the same class."""


def _translate(message: OcppModel, to_version: str) -> OcppModel:
    """:func:`ocpprpc.translation.translate`, imported on first use (only ``canonical`` roles need it)."""
    from .translation import translate

    return translate(message, to_version)


def _translates(version: str, canonical: str) -> bool:
    """Whether translation joins ``version`` and ``canonical`` (OCPP 1.2, 1.5 and 1.6 among themselves)."""
    one_x = {"1.2", "1.5", "1.6"}
    return version == canonical or (version in one_x and canonical in one_x)


_VERSION_OF_MODEL: dict[type[OcppModel], str] = {}


def _version_of(model: type[OcppModel]) -> str | None:
    """The OCPP version whose request or response ``model`` is (None for a data type or a foreign class)."""
    if not _VERSION_OF_MODEL:
        for registry in VERSIONS.values():
            for spec in registry.actions:
                _VERSION_OF_MODEL[spec.request] = registry.version
                _VERSION_OF_MODEL[spec.response] = registry.version
    return _VERSION_OF_MODEL.get(model)
