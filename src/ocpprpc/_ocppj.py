"""One OCPP-J connection: text frames in and out of a channel, calls correlated by unique id.

Theory of operation
-------------------
:class:`OcppJLink` sits between a *text channel* (anything that can send and receive one text message
at a time: a WebSocket, an in-memory queue pair) and a :class:`~ocpprpc.roles.Role`. It is the
:class:`~ocpprpc.roles.Link` the role calls out through, and it feeds the role the peer's CALLs.

* The receive loop (:meth:`OcppJLink.run`) never blocks on a handler: every inbound CALL runs as its
  own task, so a handler that itself calls the peer cannot deadlock the connection. Every CALL that
  arrives is answered, each with its own id, even while others are still being handled.
* Outbound, at most ``max_calls_in_flight`` CALLs (default 1, as OCPP-J requires) are unanswered at a
  time; later calls wait their turn. Each has its own timeout. A CALLRESULT / CALLERROR for an id
  with no call pending (late, or never ours) is logged and dropped.
* When the connection ends, pending calls fail with ConnectionClosed; handlers already running finish
  (bounded by the role's ``handler_timeout``) and their answers are dropped.
* Bad input never ends the connection: a malformed frame is answered with a CALLERROR when its id
  can be read, logged either way. Only ``max_bad_messages`` consecutive bad frames (when set) close it.
* Every frame in and out is logged at INFO on the ``ocpprpc.frames`` logger, in the simulator
  transcript style: ``cs: <<cp#CP1 [2,"…","Heartbeat",{}]`` / ``cp#CP1: >>cs …``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, Protocol

from ._frames import Call, CallErrorFrame, CallResult, FrameError, call_error_for, decode, encode, new_unique_id
from .errors import CallTimeout, ConnectionClosed, FormationViolation, OcppError
from .messages._base import Side

if TYPE_CHECKING:
    from .roles import Role

__all__ = ["OcppJLink", "TextChannel", "frame_labels", "frame_logger"]

frame_logger = logging.getLogger("ocpprpc.frames")
"""Every OCPP-J frame, in and out, at INFO."""

_log = logging.getLogger("ocpprpc.connection")


def frame_labels(role: Role) -> tuple[str, str]:
    """(sent, received) prefixes of ``role``'s frame log lines: ``cs: >>cp#CP1`` / ``cp#CP1: <<cs``."""
    if role.side is Side.CENTRAL_SYSTEM:
        return f"cs: >>cp#{role.id}", f"cs: <<cp#{role.id}"
    return f"cp#{role.id}: >>cs", f"cp#{role.id}: <<cs"


class TextChannel(Protocol):
    """A message-oriented connection: what a transport adapts its socket to."""

    async def send(self, text: str) -> None:
        """Send one message; raises :class:`ConnectionClosed` when the connection is gone."""
        ...

    async def recv(self) -> str | bytes:
        """The next message (bytes for a binary one); raises :class:`ConnectionClosed` at the end."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (idempotent)."""
        ...


class OcppJLink:
    """The OCPP-J :class:`~ocpprpc.roles.Link` of one connection. Start it with :meth:`run`."""

    def __init__(
        self,
        channel: TextChannel,
        role: Role,
        *,
        max_calls_in_flight: int = 1,
        max_bad_messages: int | None = None,
    ) -> None:
        self._channel = channel
        self._role = role
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._in_flight = asyncio.Semaphore(max_calls_in_flight)
        self._inbound: set[asyncio.Task[None]] = set()
        self._max_bad_messages = max_bad_messages
        self._bad_messages = 0
        self._closed = False
        self.close_reason = ""
        self._out_label, self._in_label = frame_labels(role)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- outbound -----------------------------------------------------------------------------------

    async def request(
        self, action: str, payload: dict[str, Any], timeout: float, message_id: str | None = None
    ) -> dict[str, Any]:
        if self._closed:
            raise ConnectionClosed(f"connection to {self._role.id} is closed")
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
            frame_logger.info("%s %s", self._out_label, text)
        await self._channel.send(text)

    async def send_raw(self, text: str) -> None:
        """Send ``text`` as one frame, unchecked; answers, if any, arrive like any frame."""
        await self.send_text(text)

    async def close(self, reason: str = "") -> None:
        self.close_reason = self.close_reason or reason
        await self._channel.close(1000, reason)

    # -- inbound -------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Receive until the channel ends; then fail pending calls (running handlers finish on their own)."""
        try:
            while True:
                message = await self._channel.recv()
                if not self._on_message(message):
                    break
        except ConnectionClosed:
            pass
        finally:
            await self._shut_down()

    def _on_message(self, message: str | bytes) -> bool:
        """Handle one message; False when the connection must be closed (too many bad messages)."""
        if isinstance(message, bytes):
            _log.warning("%s: binary frame of %d bytes ignored", self._role.id, len(message))
            return True
        if frame_logger.isEnabledFor(logging.INFO):
            frame_logger.info("%s %s", self._in_label, message)
        try:
            frame = decode(message)
        except FrameError as error:
            return self._on_bad_frame(error)
        self._bad_messages = 0
        if isinstance(frame, Call):
            if self._inbound:
                _log.debug("%s: CALL %s while %d still handled", self._role.id, frame.action, len(self._inbound))
            task = asyncio.create_task(self._serve(frame))
            self._inbound.add(task)
            task.add_done_callback(self._inbound.discard)
        elif isinstance(frame, CallResult):
            self._resolve(frame.unique_id, frame.payload, None)
        else:
            self._resolve(frame.unique_id, None, _remote_error(frame))
        return True

    def _on_bad_frame(self, error: FrameError) -> bool:
        self._bad_messages += 1
        _log.warning("%s: bad frame (%s): %s", self._role.id, error.code.value, error.description)
        if error.answerable and error.unique_id is not None:
            self._spawn_send(encode(call_error_for(error.unique_id, error)))
        elif error.unique_id is not None and error.unique_id in self._pending:
            # A malformed answer to one of our calls: fail that call instead of letting it time out.
            self._resolve(error.unique_id, None, FormationViolation(error.description, remote=True))
        if self._max_bad_messages is not None and self._bad_messages >= self._max_bad_messages:
            _log.warning("%s: %d bad messages in a row; closing", self._role.id, self._bad_messages)
            self.close_reason = "too many bad messages"
            return False
        return True

    def _resolve(self, unique_id: str, payload: dict[str, Any] | None, error: OcppError | None) -> None:
        entry = self._pending.get(unique_id)
        if entry is None or entry[1].done():
            _log.warning("%s: answer for unknown or expired call %s dropped", self._role.id, unique_id)
            return
        if error is not None:
            entry[1].set_exception(error)
        else:
            assert payload is not None
            entry[1].set_result(payload)

    async def _serve(self, call: Call) -> None:
        result = await self._role.handle_call(call.action, call.payload, call.unique_id)
        if result.error is not None:
            if not result.error.remote:
                _log.info("%s: %s answered with %s", self._role.id, call.action, result.error.code.value)
            text = encode(call_error_for(call.unique_id, result.error))
        else:
            assert result.payload is not None
            text = encode(CallResult(call.unique_id, result.payload))
        try:
            await self.send_text(text)
        except ConnectionClosed:
            _log.info("%s: connection closed before the answer to %s could be sent", self._role.id, call.action)
            return
        if result.after is not None:
            await result.after()

    def _spawn_send(self, text: str) -> None:
        """Send from the receive loop without waiting in it."""

        async def send() -> None:
            with contextlib.suppress(ConnectionClosed):
                await self.send_text(text)

        task = asyncio.create_task(send())
        self._inbound.add(task)
        task.add_done_callback(self._inbound.discard)

    async def _shut_down(self) -> None:
        self._closed = True
        for _action, future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionClosed(f"connection to {self._role.id} closed with the call pending"))
        # Handlers still running are left to finish (within the role's handler_timeout): cancelling one
        # half-way would leave its work half done, and a transaction message's answer is remembered for
        # the retry that follows the reconnect. Only their answers are dropped.
        if self.close_reason == "too many bad messages":
            await self._channel.close(1008, self.close_reason)
        else:
            await self._channel.close()


def _remote_error(frame: CallErrorFrame) -> OcppError:
    return OcppError.from_code(frame.error_code, frame.error_description, frame.error_details, remote=True)
