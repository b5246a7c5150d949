"""One OCPP-J connection: text frames in and out of a channel, calls correlated by unique id.

Theory of operation
-------------------
:class:`OcppJLink` sits between a *text channel* (anything that can send and receive one text message
at a time: a WebSocket, an in-memory queue pair) and a :class:`~ocpprpc.roles.Role`. It is the
:class:`~ocpprpc.roles.Link` the role calls out through, and it feeds the role the peer's CALLs.

* The receive loop (:meth:`OcppJLink.run`) never waits for a handler, so answers to our own calls are
  read even while the peer's CALLs are being handled or wait their turn.
* Inbound CALLs are handled one at a time, in the order they arrive (OCPP-J: one call in flight per
  direction). Up to ``max_queued_calls`` (default 8) more may wait while one is handled; a CALL beyond
  that is refused at once with a CALLERROR ``GenericError`` ("too many calls at once"): OCPP-J 1.6 has
  no "busy" code, and GenericError is the one for a fault no other code covers (InternalError would
  say that we failed). So one peer ties up at most ``1 + max_queued_calls`` calls' worth of memory,
  and its CALLs run no faster than one at a time, whatever it sends.
* A handler waiting for an answer from the same peer (``await self.call(...)`` in the handler or its
  after-hook, which run in the task that handles the CALL) lends its turn to the next waiting CALL, so
  handlers that call each other across the connection never deadlock; the bound on CALLs in progress
  still holds. (A call from a task the handler started itself does not lend the turn.)
* Outbound, at most ``max_calls_in_flight`` CALLs (default 1, as OCPP-J requires) are unanswered at a
  time; later calls wait their turn. Each has its own timeout. A CALLRESULT / CALLERROR for an id
  with no call pending (late, or never ours) is logged and dropped. An answer that is not a well-formed
  CALLRESULT / CALLERROR fails its call with :class:`~ocpprpc.errors.UnreadableAnswer`; a CALLERROR
  the peer sent is a remote :class:`~ocpprpc.errors.OcppError`.
* Backpressure: the receive loop awaits its own sends (CALLERRORs for bad frames and refused calls).
  When the peer does not read and the channel's write buffer fills, the loop stops receiving, the
  channel's bounded receive buffer fills, and the transport stops reading the socket: TCP pushes back
  on the peer instead of memory growing. Nothing is sent from a task of its own.
* Fairness: a channel may hand over many buffered messages without ever suspending (websockets does,
  from its receive queue), so the loop yields to the event loop every :data:`FAIR_SHARE` messages;
  one busy connection cannot stall the others.
* Bad input never ends the connection by itself: a malformed frame is answered with a CALLERROR when
  its id can be read, logged either way. The connection is closed with 1008 only after
  ``max_bad_messages`` (default 20; None: never) bad frames (binary frames included) or answers to
  no call of ours *in a row* (any CALL accepted or answer to a call of ours starts the count over),
  or after that many refused CALLs in a burst: refusals are not forgiven by the CALLs accepted in
  between (a flood has plenty of those); their count falls by one a second instead. Warning lines are
  rate-limited per connection (:data:`WARNINGS_PER_WINDOW` per :data:`WARNING_WINDOW` seconds, then
  one line counting what was left out), so a hostile peer cannot flood the log.
* No send of ours raises out of the link: an answer that cannot be encoded (say, a handler echoing
  text with a lone surrogate) is replaced by an InternalError CALLERROR.
* When the connection ends, pending calls fail with ConnectionClosed; handlers already running finish
  (bounded by the role's ``handler_timeout``) and their answers are dropped; CALLs still waiting are
  dropped unhandled (the peer sees no answer and may retry).
* The per-CALL path is kept short, since it is most of what a busy central system does: a well-formed
  CALL in the usual compact form is admitted without decoding its payload
  (:func:`~ocpprpc._frames.split_call` checks it as JSON with pydantic's parser, which builds nothing),
  and the role validates the request straight from the payload text; anything that function is not
  sure of is decoded as before, so every fault gets the same answer. Answers are written by
  :func:`~ocpprpc._frames.encode_result`. (A role class that overrides ``handle_call`` gets dicts.)
* Every frame in and out is logged at INFO on the ``ocpprpc.frames`` logger (:mod:`ocpprpc._framelog`),
  in the simulator transcript style: ``cs: <<cp#CP1 [2,"…","Heartbeat",{}]`` / ``cp#CP1: >>cs …``; what
  the peer chose (frames, ids, actions) is escaped with :func:`~ocpprpc._identity.loggable`, so it
  cannot forge lines.
* The edition of OCPP-J follows the connection's version (:func:`~ocpprpc._frames.framework_of`; set
  again by :meth:`speak` when the connection opens): 2.x codes and spellings and the 36-character id
  limit for 2.0.1 and 2.1, and for 2.1 its two unanswered message types. A SEND is admitted and handled
  like a CALL (same queue, same bounds) but never answered, not even when refused or bad; a
  CALLRESULTERROR goes to the role's :meth:`~ocpprpc.roles.Role.on_call_result_error`.
  :meth:`send_message` and :meth:`refuse_result` send them (:class:`~ocpprpc.connection.SendLink`).
* Test tools: the link is also a :class:`~ocpprpc.connection.RawLink`: :meth:`OcppJLink.call_raw`
  sends any action with any payload and returns the answer, a CALLERROR as data;
  :meth:`OcppJLink.send_raw` sends any text as a frame. An answer that matches no pending call goes
  to the role's :meth:`~ocpprpc.roles.Role.on_unmatched_frame` as well as to the log.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from ._framelog import frame_labels, frame_logger
from ._frames import (
    Call,
    CallErrorFrame,
    CallResult,
    CallResultErrorFrame,
    FrameError,
    MessageType,
    RpcFramework,
    Send,
    call_error_for,
    call_result_error_for,
    decode,
    encode,
    encode_result,
    framework_of,
    new_unique_id,
    split_call,
)
from ._identity import loggable
from ._link import RawAnswer
from .errors import (
    CallTimeout,
    ConnectionClosed,
    ErrorCode,
    InternalError,
    OcppError,
    UnreadableAnswer,
    UsageError,
)
from .messages._base import ActionSpec, OcppVersion

if TYPE_CHECKING:
    from .roles import Role

__all__ = [
    "DEFAULT_MAX_BAD_MESSAGES",
    "DEFAULT_MAX_QUEUED_CALLS",
    "FAIR_SHARE",
    "WARNINGS_PER_WINDOW",
    "WARNING_WINDOW",
    "OcppJLink",
    "TextChannel",
]

_log = logging.getLogger("ocpprpc.connection")

DEFAULT_MAX_QUEUED_CALLS = 8
"""Inbound CALLs that may wait while one is handled; more are refused (a compliant peer sends one at a time)."""

DEFAULT_MAX_BAD_MESSAGES = 20
"""Bad frames or stray answers in a row, or refused CALLs in a burst, before the connection is closed with 1008.

ocpp-rpc (JavaScript) defaults to no limit; we are hostile by default: 20 is far above what a peer
with an occasional bug sends in a row, and far below what fills a log or a CPU."""

FAIR_SHARE = 16
"""Messages a receive loop handles before it yields to the other connections."""

WARNINGS_PER_WINDOW = 20
"""Warning lines one connection may log per :data:`WARNING_WINDOW` (enough to log up to the default close)."""

WARNING_WINDOW = 60.0
"""Seconds of the warning rate limit's window."""

_BUSY = ErrorCode.GENERIC_ERROR
"""The code of a refused CALL: OCPP-J has no "busy" code; GenericError is "anything else"."""


class TextChannel(Protocol):
    """A message-oriented connection: what a transport adapts its socket to."""

    async def send(self, text: str) -> None:
        """Send one message; raises :class:`ConnectionClosed` when the connection is gone.

        May raise :class:`UsageError` for text the channel cannot carry (not encodable as UTF-8).
        Blocks while the channel's write buffer is full: that is how backpressure reaches the link.
        """
        ...

    async def recv(self) -> str | bytes:
        """The next message (bytes for a binary one); raises :class:`ConnectionClosed` at the end."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (idempotent)."""
        ...


class OcppJLink:
    """The OCPP-J :class:`~ocpprpc.roles.Link` of one connection. Start it with :meth:`run`.

    Args:
        channel: the connection's text channel.
        role: the role object fed the peer's CALLs.
        max_calls_in_flight: our unanswered CALLs at a time (OCPP-J: 1).
        max_bad_messages: bad frames in a row, or refused CALLs in a burst, before the connection is
            closed (1008); None: never.
        max_queued_calls: the peer's CALLs that may wait while one is handled; beyond, refused.
    """

    def __init__(
        self,
        channel: TextChannel,
        role: Role,
        *,
        version: OcppVersion | None = None,
        max_calls_in_flight: int = 1,
        max_bad_messages: int | None = DEFAULT_MAX_BAD_MESSAGES,
        max_queued_calls: int = DEFAULT_MAX_QUEUED_CALLS,
    ) -> None:
        if max_calls_in_flight < 1 or max_queued_calls < 0 or (max_bad_messages is not None and max_bad_messages < 1):
            raise UsageError("need max_calls_in_flight >= 1, max_queued_calls >= 0 and max_bad_messages >= 1 or None")
        self._channel = channel
        self._role = role
        self._framework: RpcFramework = framework_of((version or role.ocpp_version).version)
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._in_flight = asyncio.Semaphore(max_calls_in_flight)
        self._max_bad_messages = max_bad_messages
        self._max_queued_calls = max_queued_calls
        self._strikes = 0
        self._refusal_score = 0.0
        self._refusal_time = 0.0
        self._must_close = False
        self._closed = False
        self.close_reason = ""
        self._out_label, self._in_label = frame_labels(role.side, role.id)
        self._who = loggable(role.id)
        self._payload_text = role._takes_payload_text()
        # inbound CALLs: waiting, being handled (some of those lent their turn), worker tasks
        self._calls: collections.deque[_Inbound] = collections.deque()
        self._running = 0
        self._lenders: set[asyncio.Task[Any]] = set()  # workers whose handler waits for the peer
        self._workers = 0  # counted at once (a task's done callback would run a loop iteration late)
        self._worker_tasks: set[asyncio.Task[Any]] = set()
        # rate limit of warning lines
        self._warnings = 0
        self._warnings_dropped = 0
        self._warning_window_end = 0.0
        self.refused_calls = 0
        """The peer's CALLs refused so far because too many were in progress (for monitoring)."""
        self.bad_messages = 0
        """Bad frames (binary included) and answers to no call of ours received so far (for monitoring)."""
        self.peak_calls = 0
        """The most inbound CALLs in progress (handled or waiting) at once so far (for monitoring)."""

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def framework(self) -> RpcFramework:
        """The edition of OCPP-J's RPC framework spoken: message types, error codes, id length."""
        return self._framework

    def speak(self, version: OcppVersion) -> None:
        """Speak ``version``'s edition of OCPP-J: :class:`~ocpprpc.connection.Connection` says so when it
        opens (a client negotiates its version after making its link). Before any frame is read."""
        self._framework = framework_of(version.version)

    @property
    def calls_in_progress(self) -> int:
        """The peer's CALLs being handled or waiting now (at most ``1 + max_queued_calls`` at admission)."""
        return len(self._calls) + self._running

    @property
    def workers(self) -> int:
        """Tasks handling the peer's CALLs now: one, plus one per handler waiting for the peer."""
        return self._workers

    # -- outbound -----------------------------------------------------------------------------------

    async def request(
        self, spec: ActionSpec, payload: dict[str, Any], timeout: float, message_id: str | None = None
    ) -> dict[str, Any]:
        return await self._call(spec.name, payload, timeout, message_id)

    async def _call(
        self, action: str, payload: dict[str, Any], timeout: float, message_id: str | None
    ) -> dict[str, Any]:
        if self._closed:
            raise ConnectionClosed(f"connection to {self._role.id} is closed")
        if not self._running:  # the usual case: not called from a handler of ours
            return await self._request(action, payload, timeout, message_id)
        task = asyncio.current_task()
        if task not in self._worker_tasks or task in self._lenders:
            return await self._request(action, payload, timeout, message_id)
        # A handler (or after-hook) of the peer's CALL calls the peer: the next waiting CALL may run
        # meanwhile, since the peer may need one of them answered before it answers this one.
        assert task is not None
        self._lenders.add(task)
        self._start_worker()
        try:
            return await self._request(action, payload, timeout, message_id)
        finally:
            self._lenders.discard(task)

    async def _request(
        self, action: str, payload: dict[str, Any], timeout: float, message_id: str | None
    ) -> dict[str, Any]:
        async with self._in_flight:
            if self._closed:
                raise ConnectionClosed(f"connection to {self._role.id} is closed")
            unique_id = message_id or new_unique_id()
            future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._pending[unique_id] = (action, future)
            try:
                await self.send_text(encode(Call(unique_id, action, payload)))
                try:
                    async with asyncio.timeout(timeout):
                        return await future
                except TimeoutError:
                    if future.done() and not future.cancelled():  # answered or failed as the timeout fired
                        return future.result()
                    raise CallTimeout(action=action, unique_id=unique_id, timeout=timeout) from None
            finally:
                self._pending.pop(unique_id, None)

    async def send_text(self, text: str) -> None:
        """Send one raw text message (logged like every frame). For test tools: ``send_raw``."""
        if frame_logger.isEnabledFor(logging.INFO):
            frame_logger.info("%s %s", self._out_label, loggable(text, None))
        await self._channel.send(text)

    async def call_raw(self, action: str, payload: dict[str, Any], timeout: float) -> RawAnswer:
        """Send a CALL of any action with any payload; the answer, a CALLERROR as data (for test tools)."""
        unique_id = new_unique_id()
        try:
            answer = await self._call(action, payload, timeout, unique_id)
        except OcppError as error:
            if not error.remote:
                raise
            return RawAnswer(unique_id, None, error)
        return RawAnswer(unique_id, answer)

    async def send_raw(self, text: str) -> None:
        """Send ``text`` as one frame, unchecked; answers, if any, arrive like any frame (an answer to no
        pending call goes to the role's ``on_unmatched_frame``)."""
        await self.send_text(text)

    async def refuse_result(self, message_id: str, error: OcppError) -> None:
        """Tell the peer its CALLRESULT ``message_id`` was refused (OCPP-J 2.1 CALLRESULTERROR; others: nothing).

        The answer to our call was unusable (it did not validate): the caller gets ``error``, and a 2.1
        peer learns why. Never raises.
        """
        if MessageType.CALLRESULTERROR not in self._framework.message_types or self._closed:
            return
        try:
            await self.send_text(encode(call_result_error_for(message_id, error)))
        except (ConnectionClosed, UsageError) as exc:
            _log.info("%s: CALLRESULTERROR for %s not sent: %s", self._who, loggable(message_id, 40), exc)

    async def send_message(self, action: str, payload: dict[str, Any]) -> str:
        """Send an unconfirmed message (OCPP-J 2.1 SEND): nobody answers it. Returns its id.

        Raises :class:`UsageError` when the connection's edition of OCPP-J has no SEND, and
        :class:`ConnectionClosed` when the connection is gone.
        """
        if MessageType.SEND not in self._framework.message_types:
            raise UsageError(f"{self._framework.name} has no SEND message type; {action} cannot be sent")
        if self._closed:
            raise ConnectionClosed(f"connection to {self._role.id} is closed")
        unique_id = new_unique_id()
        await self.send_text(encode(Send(unique_id, action, payload)))
        return unique_id

    async def close(self, reason: str = "") -> None:
        self.close_reason = self.close_reason or reason
        await self._channel.close(1000, reason)

    # -- inbound -------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Receive until the channel ends; then fail pending calls (running handlers finish on their own)."""
        recv = self._channel.recv
        on_message = self._on_message
        handled = 0
        try:
            while True:
                reply = on_message(await recv())
                if reply is not None:
                    # Awaited here, not in a task: a peer that does not read stops being read (backpressure).
                    await self._send_reply(reply)
                if self._must_close:
                    break
                handled += 1
                if handled >= FAIR_SHARE:
                    handled = 0
                    await asyncio.sleep(0)  # buffered messages do not suspend recv(): let others run
        except ConnectionClosed:
            pass
        finally:
            await self._shut_down()

    def _on_message(self, message: str | bytes) -> str | None:
        """Handle one message; the text to send back at once (a CALLERROR), if any."""
        if type(message) is not str:
            self.bad_messages += 1
            self._warn("binary frame of %d bytes ignored (OCPP-J uses text frames)", len(message))
            self._strike()
            return None
        if frame_logger.isEnabledFor(logging.INFO):
            frame_logger.info("%s %s", self._in_label, loggable(message, None))
        in_progress = len(self._calls) + self._running
        if self._payload_text and in_progress <= self._max_queued_calls:
            # The usual CALL, taken without decoding its payload (the role validates it from the text);
            # anything split_call is not sure of is decoded, so every fault is answered as before.
            parts = split_call(message, self._framework)
            if parts is not None:
                self._admit(parts, in_progress)
                return None
        try:
            frame = decode(message, self._framework)
        except FrameError as error:
            return self._on_bad_frame(error)
        if type(frame) is Call or type(frame) is Send:  # (inline: the per-frame path)
            if in_progress > self._max_queued_calls:
                return self._refuse(frame, in_progress)
            self._admit(frame, in_progress)
            return None
        if type(frame) is CallResult:
            self._resolve(frame.unique_id, frame.payload, None, message)
        elif type(frame) is CallErrorFrame:
            self._resolve(frame.unique_id, None, _remote_error(frame), message)
        else:
            assert type(frame) is CallResultErrorFrame
            self._on_result_refused(frame)
        return None

    def _admit(self, call: _Inbound, in_progress: int) -> None:
        """Take a CALL (or SEND) that the bound on CALLs in progress admits: handled now, or queued."""
        self._strikes = 0
        if in_progress >= self.peak_calls:
            self.peak_calls = in_progress + 1
        if self._workers <= len(self._lenders):  # nobody holds the turn: this CALL takes it
            self._spawn_worker(call)
        else:
            self._calls.append(call)

    def _on_result_refused(self, frame: CallResultErrorFrame) -> None:
        """The peer could not process our CALLRESULT ``frame.unique_id``: the role hears of it; nothing is sent."""
        error = OcppError.from_code(frame.error_code, frame.error_description, frame.error_details, remote=True)
        try:
            self._role.on_call_result_error(frame.unique_id, error)
        except Exception:
            _log.exception("%s: on_call_result_error failed", self._who)

    def _refuse(self, call: Call | Send, in_progress: int) -> str | None:
        self.refused_calls += 1
        self._warn(
            "CALL %s %s refused: %d calls already in progress (max_queued_calls=%d)",
            loggable(call.action, 40),
            loggable(call.unique_id, 40),
            in_progress,
            self._max_queued_calls,
        )
        # Refusals are not forgiven by the calls accepted between them (a flood has plenty): they count
        # in a bucket that empties by one a second.
        now = time.monotonic()
        self._refusal_score = max(0.0, self._refusal_score - (now - self._refusal_time)) + 1.0
        self._refusal_time = now
        if self._max_bad_messages is not None and self._refusal_score >= self._max_bad_messages:
            self._close_for(f"{self.refused_calls} calls refused, too many at once", "too many calls at once")
        if type(call) is Send:
            return None  # a SEND is never answered, not even when dropped
        description = (
            f"too many calls at once: {in_progress} in progress; OCPP-J allows one call in flight, "
            "send the next once this one is answered"
        )
        return encode(CallErrorFrame(call.unique_id, _BUSY.value, description, {}))

    def _on_bad_frame(self, error: FrameError) -> str | None:
        self.bad_messages += 1
        self._warn("bad frame (%s): %s", self._framework.spell(error.code), loggable(error.description))
        self._strike()
        if error.answerable and error.unique_id is not None:
            return encode(call_error_for(error.unique_id, error, self._framework))
        if error.unique_id is not None:
            entry = self._pending.get(error.unique_id)
            if entry is not None and not entry[1].done():
                # A garbled answer to one of our calls: its fate is unknown, as after a lost connection.
                entry[1].set_exception(
                    UnreadableAnswer(f"the answer to {entry[0]} {error.unique_id} is unreadable: {error.description}")
                )
        return None

    def _strike(self) -> None:
        self._strikes += 1
        if self._max_bad_messages is not None and self._strikes >= self._max_bad_messages:
            self._close_for(f"{self._strikes} bad frames or stray answers in a row", "too many bad messages")

    def _close_for(self, why: str, reason: str) -> None:
        if not self._must_close:
            self._must_close = True
            self.close_reason = reason
            _log.warning("%s: %s; closing (max_bad_messages=%d)", self._who, why, self._max_bad_messages)

    def _warn(self, message: str, *args: object) -> None:
        """A warning line about this connection, at most WARNINGS_PER_WINDOW per WARNING_WINDOW seconds."""
        now = time.monotonic()
        if now >= self._warning_window_end:
            self._flush_warnings()
            self._warning_window_end = now + WARNING_WINDOW
            self._warnings = 0
        if self._warnings < WARNINGS_PER_WINDOW:
            self._warnings += 1
            _log.warning("%s: " + message, self._who, *args)
        else:
            self._warnings_dropped += 1

    def _flush_warnings(self) -> None:
        if self._warnings_dropped:
            _log.warning(
                "%s: %d more warnings about this connection were not logged (at most %d per %g s)",
                self._who,
                self._warnings_dropped,
                WARNINGS_PER_WINDOW,
                WARNING_WINDOW,
            )
            self._warnings_dropped = 0

    def _resolve(self, unique_id: str, payload: dict[str, Any] | None, error: OcppError | None, text: str) -> None:
        entry = self._pending.get(unique_id)
        if entry is None or entry[1].done():
            self.bad_messages += 1
            self._warn("answer for unknown or expired call %s dropped", loggable(unique_id, 40))
            self._strike()
            try:
                self._role.on_unmatched_frame(text)
            except Exception:
                _log.exception("%s: on_unmatched_frame failed", self._who)
            return
        self._strikes = 0
        if error is not None:
            entry[1].set_exception(error)
        else:
            assert payload is not None
            entry[1].set_result(payload)

    async def _send_reply(self, text: str) -> None:
        """Send a CALLERROR from the receive loop; a failure to send ends nothing but this send."""
        try:
            await self.send_text(text)
        except ConnectionClosed:
            pass  # the next recv() reports the end
        except UsageError as exc:  # the channel could not carry it: never raise out of the loop
            self._warn("a reply could not be sent: %s", loggable(str(exc)))

    # -- handling the peer's CALLs, one at a time --------------------------------------------------------

    def _start_worker(self) -> None:
        """Start a worker for the next waiting CALL when every worker has lent its turn."""
        if self._calls and self._workers - len(self._lenders) < 1 and not self._closed:
            self._spawn_worker(self._calls.popleft())

    def _spawn_worker(self, call: _Inbound) -> None:
        self._workers += 1
        self._running += 1  # counted from now: the task starts a loop iteration later
        # The loop's create_task (its task factory, if one is set), without asyncio.create_task's naming step
        asyncio.get_running_loop().create_task(self._work(call))

    async def _work(self, call: _Inbound) -> None:
        """Handle ``call``, then the waiting CALLs while no other worker holds the turn.

        Handlers run in this task, so :meth:`request` can tell when one of them calls the peer (and
        :class:`~ocpprpc._watchdog.HandlerDeadline` cancels this task when one overruns).
        """
        task = asyncio.current_task()
        assert task is not None
        # Registered by itself, so that it is known before its first await even if it starts eagerly (an
        # eager task factory runs it within create_task) and dropped at its end without a done callback.
        self._worker_tasks.add(task)
        try:
            while True:
                try:
                    await self._serve(call)
                except Exception:  # a bug: _serve answers everything; log it and go on with the next CALL
                    action = call[1] if isinstance(call, tuple) else call.action
                    _log.exception("%s: handling %s failed", self._who, loggable(action, 40))
                finally:
                    self._running -= 1
                # a lent turn that came back holds the turn again: then one of the two stops here
                if not self._calls or self._workers - len(self._lenders) > 1:
                    return
                call = self._calls.popleft()
                self._running += 1
        finally:
            self._workers -= 1
            self._worker_tasks.discard(task)

    async def _serve(self, call: _Inbound) -> None:
        if isinstance(call, tuple):  # from split_call: (id, action, payload text)
            unique_id, action, text = call
            result = await self._role._handle_call(action, text, unique_id)
        elif type(call) is Call:
            unique_id, action = call.unique_id, call.action
            result = await self._role.handle_call(action, call.payload, unique_id)
        else:
            assert type(call) is Send
            await self._role.handle_send(call.action, call.payload, call.unique_id)  # never answered
            return
        error = result.error
        try:
            if error is None:
                assert result.payload is not None
                text = encode_result(unique_id, result.payload)
            else:
                if not error.remote:
                    code = self._framework.spell(error.code)
                    _log.info("%s: %s answered with %s", self._who, loggable(action, 40), code)
                text = encode(call_error_for(unique_id, error, self._framework))
        except UsageError as exc:  # e.g. a handler echoing text with a lone surrogate
            _log.error("%s: the answer to %s cannot be sent: %s", self._who, loggable(action, 40), loggable(str(exc)))
            error = InternalError(f"the {self._role.side.value} could not encode its answer to {action}")
            text = encode(call_error_for(unique_id, error, self._framework))
        if frame_logger.isEnabledFor(logging.INFO):  # send_text(), inline: the per-CALL path
            frame_logger.info("%s %s", self._out_label, loggable(text, None))
        try:
            await self._channel.send(text)
        except ConnectionClosed:
            _log.info("%s: connection closed before the answer to %s could be sent", self._who, loggable(action, 40))
            return
        except UsageError as exc:
            _log.error("%s: the answer to %s cannot be sent: %s", self._who, loggable(action, 40), loggable(str(exc)))
            return
        if result.after is not None:
            await result.after()

    async def _shut_down(self) -> None:
        self._closed = True
        self._calls.clear()  # not started: dropped unanswered, like any CALL that arrives as a connection dies
        for _action, future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionClosed(f"connection to {self._role.id} closed with the call pending"))
        self._flush_warnings()
        # Handlers still running are left to finish (within the role's handler_timeout): cancelling one
        # half-way would leave its work half done, and a transaction message's answer is remembered for
        # the retry that follows the reconnect. Only their answers are dropped.
        if self._must_close:
            await self._close_reading(1008, self.close_reason)
        else:
            await self._channel.close()

    async def _close_reading(self, code: int, reason: str) -> None:
        """Close the channel while reading (and dropping) what the peer still sends.

        The receive loop has stopped; a peer that kept sending has filled the channel's receive buffer,
        so its close frame would not be read until the close timeout. Bounded by that timeout.
        """
        closing = asyncio.ensure_future(self._channel.close(code, reason))
        try:
            while not closing.done():
                receiving = asyncio.ensure_future(self._channel.recv())
                await asyncio.wait((closing, receiving), return_when=asyncio.FIRST_COMPLETED)
                if not receiving.done():
                    receiving.cancel()  # cancelling a recv() loses nothing (and nothing is wanted now)
                    await asyncio.gather(receiving, return_exceptions=True)
                    break
                if receiving.exception() is not None:  # the end (ConnectionClosed)
                    break
        finally:
            await closing


_Inbound: TypeAlias = "Call | Send | tuple[str, str, str]"
"""What waits in a link's queue of the peer's CALLs: a decoded CALL or SEND, or what
:func:`~ocpprpc._frames.split_call` gave for a well-formed CALL: its id, action and payload text."""


def _remote_error(frame: CallErrorFrame) -> OcppError:
    return OcppError.from_code(frame.error_code, frame.error_description, frame.error_details, remote=True)
