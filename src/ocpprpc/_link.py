"""The protocols between the RPC core and a transport's link (see :mod:`ocpprpc.connection`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .errors import OcppError, OcppRpcError
from .messages._base import ActionSpec, OcppVersion

__all__ = ["DEFAULT_MAX_MESSAGE_SIZE", "Link", "NotConnected", "RawAnswer", "RawLink", "SendLink", "VersionedLink"]

DEFAULT_MAX_MESSAGE_SIZE = 1 << 20
"""The largest message a transport accepts by default, in bytes (1 MiB): a WebSocket frame, a SOAP body
(``max_message_size=``). Room for a large SendLocalList or GetConfiguration answer, not for a memory attack."""


class Link(Protocol):
    """What a transport gives a role: one connection to the peer, able to carry requests out."""

    @property
    def closed(self) -> bool:
        """True once the connection is gone; a closed link never opens again."""
        ...

    async def request(
        self, spec: ActionSpec, payload: dict[str, Any], timeout: float, message_id: str | None = None
    ) -> dict[str, Any]:
        """Send a request of the action ``spec`` and return the peer's response payload.

        ``spec`` is what the role resolved (the action in the connection's version, which this side may
        send) and ``payload`` a valid request of it. ``message_id`` (the OCPP-J unique id, the SOAP
        MessageID) is fresh when None; a retry passes the id of its first attempt, so that the peer can
        tell a repeat from a new message. Raises :class:`OcppError` with ``remote=True`` only for an
        error the peer sent (a CALLERROR, a SOAP Fault); :class:`UnreadableAnswer` for an answer that is
        not an OCPP answer (garbled, an HTTP error without a Fault, an HTTP 401); :class:`CallTimeout`;
        :class:`ConnectionClosed`. A charge point's outbox relies on this: only the first kind, or a
        response, counts as delivered.
        """
        ...

    async def close(self, reason: str = "") -> None:
        """Close the connection; pending requests fail with :class:`ConnectionClosed`."""
        ...


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """The peer's answer to :meth:`~ocpprpc.roles.Role.call_raw`, as data: its payload, or the error it sent.

    ``frame`` shows it as the OCPP-J answer frame (``[3, id, payload]`` or ``[4, id, code, description,
    details]``) whatever the transport; :meth:`result` gives the payload or raises the error.
    """

    unique_id: str
    """The id of the request answered (the OCPP-J unique id, the SOAP MessageID without ``urn:uuid:``)."""
    payload: dict[str, Any] | None = None
    """The response payload, unvalidated; None when the peer answered with an error."""
    error: OcppError | None = None
    """The error the peer answered with (``remote=True``; its ``raw_code`` as sent); None for a response."""

    @property
    def frame(self) -> list[Any]:
        """The answer as an OCPP-J frame."""
        if self.error is not None:
            return [4, self.unique_id, self.error.raw_code, self.error.description, dict(self.error.details)]
        return [3, self.unique_id, self.payload]

    def result(self) -> dict[str, Any]:
        """The response payload; the peer's error raised."""
        if self.error is not None:
            raise self.error
        assert self.payload is not None
        return self.payload


@runtime_checkable
class RawLink(Protocol):
    """The test-tool side of a link: any action with any payload, any text. Not for production code."""

    async def call_raw(self, action: str, payload: dict[str, Any], timeout: float) -> RawAnswer:
        """Send ``action`` with ``payload`` unchecked; the peer's answer, an error it sent included.

        Raises only what :meth:`Link.request` raises when no OCPP answer comes (timeout, closed,
        unreadable).
        """
        ...

    async def send_raw(self, text: str) -> str | None:
        """Send ``text`` as is (one WebSocket frame, one HTTP body); the synchronous answer, if the
        transport has one (SOAP: the HTTP response body)."""
        ...


@runtime_checkable
class SendLink(Protocol):
    """A link that carries OCPP-J 2.1's two unanswered message types (an OCPP-J link does)."""

    async def send_message(self, action: str, payload: dict[str, Any]) -> str:
        """Send an unconfirmed message (SEND); its id. :class:`UsageError` when the version has no SEND."""
        ...

    async def refuse_result(self, message_id: str, error: OcppError) -> None:
        """Tell the peer its answer to our call ``message_id`` was refused (CALLRESULTERROR), where the
        version has that message type; otherwise nothing. Never raises."""
        ...


@runtime_checkable
class VersionedLink(Protocol):
    """A link whose framing depends on the OCPP version (OCPP-J 1.x, 2.0.1 and 2.1 differ).

    :meth:`Connection.open <ocpprpc.connection.Connection.open>` tells it the connection's version
    before anything else, as a client negotiates its version after making its link.
    """

    def speak(self, version: OcppVersion) -> None: ...


class NotConnected(OcppRpcError, TimeoutError):
    """A client's ``wait_connected`` (or ``async with``) gave up: no connection in time, or it stopped trying.

    ``last_error`` (also the ``__cause__``) is why the last attempt failed, e.g. websockets'
    ``InvalidStatus`` for a handshake the server refused with 401; None if no attempt failed.
    """

    def __init__(self, message: str, last_error: BaseException | None = None) -> None:
        super().__init__(message)
        self.last_error = last_error
