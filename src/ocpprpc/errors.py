"""Exceptions raised by ocpprpc, and the OCPP-J error codes.

Everything the library raises derives from :class:`OcppRpcError`, so ``except OcppRpcError`` catches
all of it. Below that, the errors split by *who* is at fault, as h11 splits LocalProtocolError from
RemoteProtocolError, because the right reaction differs:

* :class:`OcppError` carries an OCPP-J error code. A handler raises one (``raise SecurityError("not
  authorised")``) and the peer receives a CALLERROR with that code; when the peer answers one of our
  CALLs with a CALLERROR, the caller receives one, with ``remote=True``.
* :class:`CallTimeout`, :class:`ConnectionClosed` and :class:`UnreadableAnswer`: a call of ours never
  got an answer it could read. Nobody sent a code, so these are not OcppErrors; whether the peer acted
  is unknown. Retrying may help (a charge point's outbox retries transaction messages on each of them).
* :class:`UsageError`: the program using the library made a mistake (e.g. it called an action its role
  does not initiate). Retrying never helps; fix the code. It is also a :class:`TypeError`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "ActionNotImplemented",
    "ActionNotSupported",
    "CallTimeout",
    "ConnectionClosed",
    "ErrorCode",
    "FormatViolation",
    "FormationViolation",
    "GenericError",
    "InternalError",
    "MessageTypeNotSupported",
    "OccurrenceConstraintViolation",
    "OcppError",
    "OcppRpcError",
    "PropertyConstraintViolation",
    "ProtocolError",
    "RpcFrameworkError",
    "SecurityError",
    "TypeConstraintViolation",
    "UnreadableAnswer",
    "UsageError",
]


class ErrorCode(enum.StrEnum):
    """The error codes of OCPP-J, valued as OCPP-J 1.2 / 1.5 / 1.6 spell them on the wire.

    OCPP-J 2.0.1 and 2.1 renamed one code (``FormatViolation``) and fixed the spelling of another
    (``OccurrenceConstraintViolation``): the members are the same, and a connection speaking 2.x spells
    them its way on the wire. (No alias members: type checkers take an alias for a member of its own.) The two
    codes only 2.x has, ``RpcFrameworkError`` and ``MessageTypeNotSupported``, go out to a 1.x peer as
    the 1.x code that means the same (``FormationViolation``, ``ProtocolError``).
    """

    NOT_IMPLEMENTED = "NotImplemented"
    """The action is not known to the receiver."""
    NOT_SUPPORTED = "NotSupported"
    """The action is known but the receiver does not support it."""
    INTERNAL_ERROR = "InternalError"
    """The receiver failed while handling a valid call."""
    PROTOCOL_ERROR = "ProtocolError"
    """The payload is incomplete, or the message breaks the protocol (e.g. an unknown message type)."""
    SECURITY_ERROR = "SecurityError"
    """The sender is not authenticated, or not authorised for the action."""
    FORMATION_VIOLATION = "FormationViolation"
    """Not valid JSON, or not the frame structure."""
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    """A field holds an invalid value, or the action defines no such field."""
    OCCURENCE_CONSTRAINT_VIOLATION = "OccurenceConstraintViolation"
    """A required field is missing, or a list has the wrong number of items. (Misspelled so in OCPP-J.)"""
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
    """A field breaks its data type: wrong JSON type, too long, not one of the enumerated values."""
    GENERIC_ERROR = "GenericError"
    """Anything else."""
    RPC_FRAMEWORK_ERROR = "RpcFrameworkError"
    """OCPP-J 2.x: not a valid RPC frame (e.g. the message id cannot be read, or is too long)."""
    MESSAGE_TYPE_NOT_SUPPORTED = "MessageTypeNotSupported"
    """OCPP-J 2.x: a message type number the receiver does not support."""


class OcppRpcError(Exception):
    """Base class of every exception ocpprpc raises."""


class UsageError(OcppRpcError, TypeError):
    """The program misused the library: a bug on our side of the wire, never the peer's.

    Examples: calling an action the connection's role does not initiate, or a payload that cannot be
    encoded as JSON. It subclasses :class:`TypeError` because that is what most such mistakes are.
    """


class CallTimeout(OcppRpcError, TimeoutError):
    """A CALL of ours got no CALLRESULT / CALLERROR in time.

    The peer may still be handling it (its answer is then logged as unmatched and dropped). Also a
    :class:`TimeoutError`, so code written for ``asyncio.wait_for`` keeps working.
    """

    def __init__(
        self,
        message: str = "",
        *,
        action: str | None = None,
        unique_id: str | None = None,
        timeout: float | None = None,
    ) -> None:
        if not message:
            message = f"no reply to {action or 'CALL'} {unique_id or ''}".rstrip()
            if timeout is not None:
                message += f" within {timeout:g} s"
        super().__init__(message)
        self.action = action
        self.unique_id = unique_id
        self.timeout = timeout


class ConnectionClosed(OcppRpcError):
    """The connection went away while a CALL of ours was waiting for its answer (or before it was sent).

    Whether the peer acted on the call is unknown.
    """

    def __init__(self, message: str = "connection closed", *, code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        """The WebSocket close code, when there was one."""
        self.reason = reason
        """The WebSocket close reason, when there was one."""


class UnreadableAnswer(OcppRpcError):
    """The peer's answer to a call of ours could not be read as an OCPP answer.

    A garbled CALLRESULT frame, a SOAP response cut off or not XML, an HTTP error status without a SOAP
    Fault, a refusal by the HTTP layer (401) rather than by the peer's handler. No OCPP error code was
    received, so the call's fate is unknown, exactly as after a :class:`ConnectionClosed`: a charge
    point's outbox keeps the message and retries it.
    """


class OcppError(OcppRpcError):
    """An error with an OCPP-J error code: sent to the peer as a CALLERROR, or received from it as one.

    Raise a subclass from a handler (each subclass has its code built in); catch :class:`OcppError` (or
    a subclass) around a call to handle the peer's CALLERROR. Build one from a code on the wire with
    :meth:`from_code`.

    Attributes:
        code: the error code, always a valid :class:`ErrorCode`.
        description: human-readable text (the CALLERROR's ``errorDescription``).
        details: a JSON object with further detail (the CALLERROR's ``errorDetails``).
        raw_code: the code exactly as the peer sent it; differs from ``code`` when the peer used another
            OCPP version's spelling (``FormatViolation``, read as ``FormationViolation``) or a code no
            version defines (``code`` is then ``GenericError``).
        remote: True when the peer sent this error, False when it arose on our side.
    """

    default_code: ClassVar[ErrorCode] = ErrorCode.GENERIC_ERROR

    code: ErrorCode
    description: str
    details: dict[str, Any]
    raw_code: str
    remote: bool

    def __init__(
        self,
        description: str = "",
        details: Mapping[str, Any] | None = None,
        *,
        code: ErrorCode | None = None,
        raw_code: str | None = None,
        remote: bool = False,
    ) -> None:
        super().__init__(description)
        self.code = self.default_code if code is None else code
        self.description = description
        self.details = dict(details) if details else {}
        self.raw_code = self.code.value if raw_code is None else raw_code
        self.remote = remote

    def __str__(self) -> str:
        text = f"{self.raw_code}: {self.description}" if self.description else self.raw_code
        return f"{text} (from peer)" if self.remote else text

    @classmethod
    def from_code(
        cls,
        code: str,
        description: str = "",
        details: Mapping[str, Any] | None = None,
        *,
        remote: bool = True,
    ) -> OcppError:
        """Build the error for a code as it appears in a CALLERROR, as an instance of the code's subclass.

        Meant for the caller side: the peer answered our CALL with a CALLERROR, so ``remote`` defaults
        to True. Both spellings of a code are read alike: 2.x's ``FormatViolation`` and
        ``OccurrenceConstraintViolation`` as 1.x's ``FormationViolation`` and ``OccurenceConstraintViolation``
        (see ``_CODE_ALIASES``). 2.x's ``RpcFrameworkError`` and ``MessageTypeNotSupported`` have classes
        of their own, subclasses of the 1.x classes meaning the same (:class:`FormationViolation`,
        :class:`ProtocolError`), so ``except`` clauses written for 1.x catch them. A code no version
        defines yields a :class:`GenericError`. Either way ``raw_code`` keeps the peer's string, so
        nothing the peer said is lost.
        """
        known = _CODE_ALIASES.get(code)
        if known is None:
            try:
                known = ErrorCode(code)
            except ValueError:
                return GenericError(description, details, raw_code=str(code), remote=remote)
        return _CLASS_BY_CODE[known](description, details, raw_code=str(code), remote=remote)


class ActionNotImplemented(OcppError):
    """``NotImplemented``: the action is not known to the receiver."""

    default_code = ErrorCode.NOT_IMPLEMENTED


class ActionNotSupported(OcppError):
    """``NotSupported``: the action is known but the receiver does not support it."""

    default_code = ErrorCode.NOT_SUPPORTED


class InternalError(OcppError):
    """``InternalError``: the receiver failed while handling a valid call."""

    default_code = ErrorCode.INTERNAL_ERROR


class ProtocolError(OcppError):
    """``ProtocolError``: the payload is incomplete, or the message breaks the protocol."""

    default_code = ErrorCode.PROTOCOL_ERROR


class SecurityError(OcppError):
    """``SecurityError``: the sender is not authenticated, or not authorised for the action."""

    default_code = ErrorCode.SECURITY_ERROR


class FormationViolation(OcppError):
    """``FormationViolation``: not valid JSON, or not the frame structure."""

    default_code = ErrorCode.FORMATION_VIOLATION


FormatViolation = FormationViolation
"""OCPP-J 2.x's name for :class:`FormationViolation` (the same class; a 2.x connection spells the code so)."""


class RpcFrameworkError(FormationViolation):
    """``RpcFrameworkError`` (OCPP-J 2.x): not a valid RPC frame, e.g. its message id cannot be read or is
    longer than 36 characters. Sent to a 1.x peer as ``FormationViolation``, which it subclasses."""

    default_code = ErrorCode.RPC_FRAMEWORK_ERROR


class MessageTypeNotSupported(ProtocolError):
    """``MessageTypeNotSupported`` (OCPP-J 2.x): a message type number the receiver does not support.
    Sent to a 1.x peer as ``ProtocolError``, which it subclasses."""

    default_code = ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED


class PropertyConstraintViolation(OcppError):
    """``PropertyConstraintViolation``: a field holds an invalid value, or the action defines no such field."""

    default_code = ErrorCode.PROPERTY_CONSTRAINT_VIOLATION


class OccurrenceConstraintViolation(OcppError):
    """``OccurenceConstraintViolation``: a required field is missing, or a list has the wrong length.

    The class name is spelled correctly; the code on the wire keeps the spelling of the connection's
    version (``OccurenceConstraintViolation`` in 1.x, ``OccurrenceConstraintViolation`` in 2.x).
    """

    default_code = ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION


class TypeConstraintViolation(OcppError):
    """``TypeConstraintViolation``: a field breaks its data type (JSON type, length, enumeration)."""

    default_code = ErrorCode.TYPE_CONSTRAINT_VIOLATION


class GenericError(OcppError):
    """``GenericError``: anything else; also what an unknown code from a peer becomes."""

    default_code = ErrorCode.GENERIC_ERROR


_CLASS_BY_CODE: dict[ErrorCode, type[OcppError]] = {
    cls.default_code: cls
    for cls in (
        ActionNotImplemented,
        ActionNotSupported,
        InternalError,
        ProtocolError,
        SecurityError,
        FormationViolation,
        PropertyConstraintViolation,
        OccurrenceConstraintViolation,
        TypeConstraintViolation,
        GenericError,
        RpcFrameworkError,
        MessageTypeNotSupported,
    )
}

_CODE_ALIASES: dict[str, ErrorCode] = {
    "FormatViolation": ErrorCode.FORMATION_VIOLATION,  # 2.x's name for it
    "OccurrenceConstraintViolation": ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,  # the spelling 2.x fixed
}
"""The 2.x spellings of codes 1.x spells differently, read as the same code (``raw_code`` keeps theirs)."""
