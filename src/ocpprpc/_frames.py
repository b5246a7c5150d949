"""The OCPP-J frame codec: text in, frames out, and back. No sockets, no asyncio.

Theory of operation
-------------------
OCPP-J carries three kinds of frame, each a JSON array whose first element is the message type::

    CALL        [2, "<uniqueId>", "<Action>", {payload}]
    CALLRESULT  [3, "<uniqueId>", {payload}]
    CALLERROR   [4, "<uniqueId>", "<errorCode>", "<errorDescription>", {errorDetails}]

This module only turns one WebSocket text message into one :data:`Frame` (:func:`decode`) and one frame
into text (:func:`encode`). It does no I/O and keeps no state, as in h11: the same code serves every
transport and every role, and the tests can feed it any bytes without a network.

The interesting part is what happens to bad input. A peer can send anything, and the receiver must
never crash; it answers a malformed CALL with a CALLERROR when it can, and logs and moves on when it
cannot. So :func:`decode` raises exactly one exception type, :class:`FrameError`, for every malformed
input, and the exception says what the receiver needs to know to react:

* ``code``: the OCPP-J error code to answer with;
* ``unique_id``: the frame's id when it could be read (element 1 is a non-empty string), else None.
  Without an id there is nobody to answer: log it and go on;
* ``message_type``: the frame's type when element 0 is a valid one. A CALLERROR answers a CALL only;
  a malformed CALLRESULT / CALLERROR is for the caller side (it can fail the pending call) and must not
  be answered. :attr:`FrameError.answerable` combines the two.

Classification (the same for OCPP 1.2, 1.5 and 1.6: the code the classic ocppjs simulator answered
with where it answered, the OCPP-J error-code list where it stayed silent or crashed), checked in this
order:

===========================================================  ===========================  ==========
fault                                                        code                         id read?
===========================================================  ===========================  ==========
bytes that are not UTF-8; not JSON (incl. NaN / Infinity,    FormationViolation           no
too deeply nested, an integer too long to convert)
a string spelling a lone surrogate (``"\\ud800"``)            FormationViolation           unless in
                                                                                          the id
not an array, or an empty array                              FormationViolation           no
message type not the integer 2, 3 or 4 (``true``, ``2.0``,   ProtocolError                if element 1
``"2"`` are not)                                                                          is a string
id missing, not a string, or empty                           FormationViolation           no
CALL with length != 4, or action not a string                FormationViolation           yes
CALL payload not an object                                   TypeConstraintViolation      yes
CALLRESULT with length != 3, or payload not an object        FormationViolation           yes
CALLERROR with length not 4 or 5, code / description not a   FormationViolation           yes
string, details not an object
===========================================================  ===========================  ==========

Text that UTF-8 cannot carry is a formation fault too: a JSON string may spell a lone UTF-16 surrogate
(``"\\ud800"``), which decodes to a Python string no WebSocket text message can hold, so echoing it back
would fail. Such a frame is refused with FormationViolation; when the lone surrogate is in the id
itself, the id counts as unreadable (the frame cannot be answered). Likewise :func:`encode` refuses,
with :class:`UsageError`, to produce text that is not valid UTF-8, so no send can fail half-way.

OCPP-J 2.0.1 and 2.1 (their "RPC framework") differ in four ways, and :func:`decode` takes the
connection's :class:`RpcFramework` (:data:`OCPP_J_1`, :data:`OCPP_J_201`, :data:`OCPP_J_21`):

* codes: a frame that is not the frame structure is a ``RpcFrameworkError`` (1.x: FormationViolation),
  an unknown message type ``MessageTypeNotSupported`` (1.x: ProtocolError), a CALL payload that is not
  an object a ``FormatViolation``; and codes go out spelled the 2.x way (:meth:`RpcFramework.spell`);
* a message id longer than 36 characters is a ``RpcFrameworkError`` (1.x accepts it, see below);
* 2.1 adds two message types: CALLRESULTERROR ``[5, "<uniqueId>", "<errorCode>", "<errorDescription>",
  {errorDetails}]``, the caller telling the callee that its CALLRESULT could not be processed (never
  answered), and SEND ``[6, "<uniqueId>", "<Action>", {payload}]``, a message that is never answered,
  not even when it is bad. Decoded as :class:`CallResultErrorFrame` and :class:`Send`; to a 1.x or 2.0.1
  decoder they are unknown message types.

Two leniencies, because peers in the field do this and rejecting it gains nothing: a CALLERROR without
its details element (length 4) or with ``null`` details decodes with ``error_details == {}``. Ids longer
than :data:`MAX_ID_LENGTH` are accepted (OCPP 1.6 caps them at 36; ocppjs sends 32, ours are 36-character
UUIDs); the caller may log
them. An empty action string is not a framing fault: it is an unknown action (NotImplemented), which the
dispatcher decides. Error codes in a CALLERROR are not checked here: see :meth:`OcppError.from_code`.
"""

from __future__ import annotations

import enum
import json
import json.encoder as _json_encoder
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn, TypeAlias

from pydantic_core import SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

from .errors import ErrorCode, OcppError, UsageError

__all__ = [
    "MAX_ID_LENGTH",
    "OCPP_J_1",
    "OCPP_J_21",
    "OCPP_J_201",
    "Call",
    "CallErrorFrame",
    "CallResult",
    "CallResultErrorFrame",
    "Frame",
    "FrameError",
    "MessageType",
    "RpcFramework",
    "Send",
    "call_error_for",
    "call_result_error_for",
    "decode",
    "decode_payload",
    "encode",
    "encode_result",
    "framework_of",
    "new_unique_id",
    "split_call",
]

MAX_ID_LENGTH = 36
"""The longest unique id OCPP-J allows. A 1.x decoder accepts longer ids, a 2.x one refuses them;
:func:`new_unique_id` makes 36."""


class MessageType(enum.IntEnum):
    """Element 0 of every OCPP-J frame."""

    CALL = 2
    CALLRESULT = 3
    CALLERROR = 4
    CALLRESULTERROR = 5
    """OCPP-J 2.1 only."""
    SEND = 6
    """OCPP-J 2.1 only."""


@dataclass(frozen=True, slots=True)
class RpcFramework:
    """The rules of one edition of OCPP-J's RPC framework: message types, error codes, id length."""

    name: str
    message_types: frozenset[int]
    """The message type numbers this edition has."""
    frame_fault: ErrorCode
    """The code of a frame that is not the frame structure."""
    unknown_type: ErrorCode
    """The code of a message type number this edition does not have."""
    payload_fault: ErrorCode
    """The code of a CALL whose payload is not a JSON object."""
    max_id_length: int | None
    """Ids longer than this are a frame fault; None: any length is accepted."""
    spellings: dict[ErrorCode, str]
    """Codes this edition spells differently from ``ErrorCode``'s values."""

    def spell(self, code: ErrorCode) -> str:
        """``code`` as this edition writes it in a CALLERROR."""
        return self.spellings.get(code, code.value)


OCPP_J_1 = RpcFramework(
    name="OCPP-J 1.x",
    message_types=frozenset({2, 3, 4}),
    frame_fault=ErrorCode.FORMATION_VIOLATION,
    unknown_type=ErrorCode.PROTOCOL_ERROR,
    payload_fault=ErrorCode.TYPE_CONSTRAINT_VIOLATION,
    max_id_length=None,
    spellings={
        ErrorCode.RPC_FRAMEWORK_ERROR: ErrorCode.FORMATION_VIOLATION.value,
        ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED: ErrorCode.PROTOCOL_ERROR.value,
    },
)
"""OCPP-J of OCPP 1.2, 1.5 and 1.6."""

_SPELLED_2X = {
    ErrorCode.FORMATION_VIOLATION: "FormatViolation",
    ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION: "OccurrenceConstraintViolation",
}

OCPP_J_201 = RpcFramework(
    name="OCPP-J 2.0.1",
    message_types=frozenset({2, 3, 4}),
    frame_fault=ErrorCode.RPC_FRAMEWORK_ERROR,
    unknown_type=ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED,
    payload_fault=ErrorCode.FORMATION_VIOLATION,  # spelled FormatViolation
    max_id_length=MAX_ID_LENGTH,
    spellings=_SPELLED_2X,
)
"""OCPP-J of OCPP 2.0.1."""

OCPP_J_21 = RpcFramework(
    name="OCPP-J 2.1",
    message_types=frozenset({2, 3, 4, 5, 6}),
    frame_fault=ErrorCode.RPC_FRAMEWORK_ERROR,
    unknown_type=ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED,
    payload_fault=ErrorCode.FORMATION_VIOLATION,  # spelled FormatViolation
    max_id_length=MAX_ID_LENGTH,
    spellings=_SPELLED_2X,
)
"""OCPP-J of OCPP 2.1: 2.0.1's, plus CALLRESULTERROR and SEND."""

_BY_VERSION = {"2.0.1": OCPP_J_201, "2.1": OCPP_J_21}
_KIND_OF = {int(kind): kind for kind in MessageType}


def framework_of(version: str) -> RpcFramework:
    """The RPC framework of an OCPP version (``"1.6"`` → :data:`OCPP_J_1`)."""
    return _BY_VERSION.get(version, OCPP_J_1)


@dataclass(frozen=True, slots=True)
class Call:
    """A request: ``[2, unique_id, action, payload]``."""

    message_type: ClassVar[MessageType] = MessageType.CALL

    unique_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResult:
    """A successful answer to the CALL with the same id: ``[3, unique_id, payload]``."""

    message_type: ClassVar[MessageType] = MessageType.CALLRESULT

    unique_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallErrorFrame:
    """A failed answer to the CALL with the same id: ``[4, unique_id, code, description, details]``.

    ``error_code`` is the string as sent, not checked against :class:`ErrorCode`, so a peer's unknown
    code survives decoding; turn it into an exception with :meth:`OcppError.from_code`.
    """

    message_type: ClassVar[MessageType] = MessageType.CALLERROR

    unique_id: str
    error_code: str
    error_description: str
    error_details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResultErrorFrame:
    """OCPP-J 2.1: the CALLRESULT with this id could not be processed by the caller:
    ``[5, unique_id, code, description, details]``. Never answered."""

    message_type: ClassVar[MessageType] = MessageType.CALLRESULTERROR

    unique_id: str
    error_code: str
    error_description: str
    error_details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Send:
    """OCPP-J 2.1: an unconfirmed message, ``[6, unique_id, action, payload]``. Never answered."""

    message_type: ClassVar[MessageType] = MessageType.SEND

    unique_id: str
    action: str
    payload: dict[str, Any]


Frame: TypeAlias = Call | CallResult | CallErrorFrame | CallResultErrorFrame | Send

# A decoded JSON value. Declared on what json gives back, so that ``type(x) is dict`` narrows to
# ``dict[str, Any]`` for the type checkers (an ``Any`` would narrow to a dict of unknowns).
_Json: TypeAlias = dict[str, Any] | list[Any] | str | int | float | bool | None


class FrameError(OcppError):
    """A text message that is not a well-formed OCPP-J frame; raised by :func:`decode` only.

    It is an :class:`OcppError` whose ``code`` is the one to answer with, so
    ``call_error_for(exc.unique_id, exc)`` builds the answer directly.
    """

    unique_id: str | None
    """The frame's id if it could be read, else None (then the frame cannot be answered)."""
    message_type: MessageType | None
    """The frame's message type if element 0 was a valid one, else None."""

    def __init__(
        self,
        code: ErrorCode,
        description: str,
        unique_id: str | None = None,
        message_type: MessageType | None = None,
    ) -> None:
        super().__init__(description, code=code)
        self.args = (code, description, unique_id, message_type)
        self.unique_id = unique_id
        self.message_type = message_type

    @property
    def answerable(self) -> bool:
        """Whether the receiver should send a CALLERROR: the id was read and the frame was not itself a reply."""
        return self.unique_id is not None and (self.message_type is None or self.message_type is MessageType.CALL)


def _reject_constant(name: str) -> NoReturn:
    # json accepts NaN / Infinity / -Infinity by default; they are not JSON.
    raise ValueError(f"{name} is not valid JSON")


# One decoder / encoder for the process: json.loads / json.dumps with keyword arguments build a new one
# per call, which is measurable on the per-frame path.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_encode_string = _json_encoder.encode_basestring
"""A str as a JSON string, as _ENCODER writes it (ensure_ascii=False)."""
# For the UTF-8 check of decoded text only: json reads 1e999 as inf, which is no concern of that check.
_TEXT_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=True)


def decode(text: str | bytes, framework: RpcFramework = OCPP_J_1) -> Frame:
    """Parse one OCPP-J frame from a WebSocket message, by the rules of ``framework``.

    Bytes are read as UTF-8 (OCPP-J uses text messages; a transport may still hand over bytes).
    Raises :class:`FrameError`, and nothing else, for any malformed input; the module docstring has the
    classification.
    """
    if not isinstance(text, str):
        if not isinstance(text, bytes | bytearray | memoryview):
            raise UsageError(f"decode() takes str or bytes, not {type(text).__name__}")
        try:
            text = str(text, "utf-8")
        except UnicodeDecodeError as exc:
            raise FrameError(framework.frame_fault, f"not UTF-8: {exc}") from None
    elif not text.isascii():  # O(1) for str; only a str that did not come from strict UTF-8 can fail here
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise FrameError(framework.frame_fault, f"not UTF-8: {exc.reason} at {exc.start}") from None
    try:
        msg: _Json = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, NaN / Infinity and integers too long to convert.
        raise FrameError(framework.frame_fault, f"not valid JSON: {exc}") from None
    # Only a \\u escape can spell a lone surrogate. A lone backslash is found with memchr (ns); the
    # two-character search alone costs about as much as half the JSON parse, so it comes second.
    if "\\" in text and "\\u" in text:
        _refuse_lone_surrogates(msg, framework)

    if type(msg) is not list or not msg:
        raise FrameError(framework.frame_fault, "frame is not a non-empty JSON array")
    n = len(msg)
    unique_id = msg[1] if n > 1 else None
    if type(unique_id) is not str or not unique_id:
        unique_id = None
    mt: _Json = msg[0]
    if type(mt) is not int or mt not in framework.message_types:
        raise FrameError(framework.unknown_type, f"unknown message type {_short_repr(mt)}", unique_id)
    # Error paths only below use the MessageType member (a dict probe) and the framework's codes.
    if unique_id is None:
        raise FrameError(framework.frame_fault, "unique id missing, empty or not a string", None, _KIND_OF[mt])
    longest = framework.max_id_length
    if longest is not None and len(unique_id) > longest:
        raise FrameError(framework.frame_fault, f"unique id longer than {longest} characters", unique_id, _KIND_OF[mt])

    if mt == 2 or mt == 6:
        if n != 4:
            raise _malformed(framework, mt, unique_id, f"has {n} elements, expected 4")
        action: _Json = msg[2]
        payload: _Json = msg[3]
        if type(action) is not str:
            raise _malformed(framework, mt, unique_id, "action is not a string")
        if type(payload) is not dict:
            kind = _KIND_OF[mt]
            raise FrameError(framework.payload_fault, f"{kind.name} payload is not an object", unique_id, kind)
        return Call(unique_id, action, payload) if mt == 2 else Send(unique_id, action, payload)

    if mt == 3:
        if n != 3:
            raise _malformed(framework, mt, unique_id, f"has {n} elements, expected 3")
        payload = msg[2]
        if type(payload) is not dict:
            raise _malformed(framework, mt, unique_id, "payload is not an object")
        return CallResult(unique_id, payload)

    if n != 5 and n != 4:
        raise _malformed(framework, mt, unique_id, f"has {n} elements, expected 5")
    code: _Json = msg[2]
    description: _Json = msg[3]
    details: _Json = msg[4] if n == 5 else None
    if details is None:
        details = {}
    if type(code) is not str or type(description) is not str or type(details) is not dict:
        raise _malformed(framework, mt, unique_id, "needs a string code, a string description and an object of details")
    if mt == 4:
        return CallErrorFrame(unique_id, code, description, details)
    return CallResultErrorFrame(unique_id, code, description, details)


_PARSER_MAX_DIGITS = 4300
"""The longest integer pydantic's JSON parser reads, as Python's default ``sys.get_int_max_str_digits()``."""

_JSON_OBJECT = SchemaValidator(cs.typed_dict_schema({}, extra_behavior="ignore"))
"""Parses a JSON object to the end with pydantic's parser, and builds nothing of it: the check that a
payload is well-formed JSON (an object) at a fraction of the cost of ``json.loads``."""


def split_call(text: str, framework: RpcFramework = OCPP_J_1) -> tuple[str, str, str] | None:
    """A well-formed CALL's id, action and payload *text*; None when not sure: then :func:`decode` it.

    When this returns ``(unique_id, action, payload)``, ``decode(text, framework)`` gives
    ``Call(unique_id, action, decode_payload(payload))``; only the payload is left as JSON text, so that
    it can be validated straight from it by pydantic's JSON parser without building the dicts decode()
    builds (the OCPP-J link's fast path: it saves about half of what reading a request costs). It
    takes the form every implementation sends, ``[2,"<id>","<action>",{...}]`` with no white space
    between the elements, no escape in the id or the action and no ``\\u`` escape anywhere, and
    checks the payload with pydantic's parser, which reads JSON as ``json`` does but for two things it
    takes and decode() refuses: ``NaN`` / ``Infinity``, and integers longer than
    ``sys.get_int_max_str_digits()`` when that limit was lowered; a text that might hold either is not
    taken. None is no verdict on the frame.
    """
    if not text.startswith('[2,"') or text[-1] != "]":
        return None
    id_end = text.find('"', 4)
    if id_end < 5 or not text.startswith(',"', id_end + 1):
        return None
    action_end = text.find('"', id_end + 3)
    if action_end < 0 or not text.startswith(",{", action_end + 1):
        return None
    unique_id = text[4:id_end]
    action = text[id_end + 3 : action_end]
    # A backslash or a control character reads differently, or not at all, as JSON (isprintable() is
    # also False for some other characters: they take the long way, which costs only time).
    if not unique_id.isprintable() or not action.isprintable() or "\\" in unique_id or "\\" in action:
        return None
    longest = framework.max_id_length
    if longest is not None and len(unique_id) > longest:
        return None
    if not text.isascii():  # O(1); as in decode(): a str that did not come from strict UTF-8
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return None
    if "\\" in text and "\\u" in text:  # a lone surrogate is refused by decode(); left to it
        return None
    payload = text[action_end + 2 : -1]
    if "NaN" in payload or "Infinity" in payload:
        return None
    digits = sys.get_int_max_str_digits()
    if 0 < digits < _PARSER_MAX_DIGITS:
        return None
    try:
        _JSON_OBJECT.validate_json(payload)
    except ValidationError:
        return None
    return unique_id, action, payload


def decode_payload(payload: str) -> dict[str, Any]:
    """The payload of a CALL :func:`split_call` took, decoded as :func:`decode` decodes it."""
    value: _Json = _DECODER.decode(payload)
    if type(value) is not dict:  # split_call made sure of it
        raise UsageError("not the payload of a CALL split_call() took")
    return value


def _malformed(framework: RpcFramework, mt: int, unique_id: str, what: str) -> FrameError:
    """The FrameError of a frame of type ``mt`` that is not the frame structure."""
    kind = _KIND_OF[mt]
    return FrameError(framework.frame_fault, f"{kind.name} {what}", unique_id, kind)


def _utf8_problem(value: Any) -> str | None:
    """Why ``value`` (decoded JSON) cannot be written as UTF-8 JSON, or None when it can."""
    try:
        _TEXT_ENCODER.encode(value).encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"text holds {exc.object[exc.start : exc.end]!r}, which UTF-8 cannot carry (a lone surrogate)"
    except RecursionError:
        return "too deeply nested"
    return None


def _refuse_lone_surrogates(msg: _Json, framework: RpcFramework) -> None:
    """Raise FrameError when decoded JSON holds a lone surrogate anywhere (it cannot be sent back)."""
    problem = _utf8_problem(msg)
    if problem is None:
        return
    unique_id: str | None = None
    message_type: MessageType | None = None
    if type(msg) is list and msg:
        if type(msg[0]) is int and msg[0] in framework.message_types:
            message_type = MessageType(msg[0])
        candidate: _Json = msg[1] if len(msg) > 1 else None
        if type(candidate) is str and candidate and _utf8_problem(candidate) is None:
            unique_id = candidate
    raise FrameError(framework.frame_fault, problem, unique_id, message_type)


def _short_repr(value: _Json, limit: int = 40) -> str:
    """``repr(value)`` cut to about ``limit`` characters (a peer's value in a description sent back)."""
    text = repr(value) if type(value) is not list and type(value) is not dict else type(value).__name__
    return text if len(text) <= limit else f"{text[:limit]}…"


def encode(frame: Frame) -> str:
    """Serialise a frame as compact JSON text, e.g. ``[2,"id","Heartbeat",{}]``.

    Non-ASCII text stays as is (smaller, and OCPP-J messages are UTF-8 anyway). Raises
    :class:`UsageError` when a payload cannot be represented in JSON (a non-JSON type, NaN, a cycle) or
    the text in UTF-8 (a lone surrogate): that is a bug on the sending side, not a fault of the peer.
    """
    obj: list[Any]
    if isinstance(frame, Call):
        obj = [2, frame.unique_id, frame.action, frame.payload]
    elif isinstance(frame, CallResult):
        obj = [3, frame.unique_id, frame.payload]
    elif isinstance(frame, CallErrorFrame):
        obj = [4, frame.unique_id, frame.error_code, frame.error_description, frame.error_details]
    elif isinstance(frame, Send):
        obj = [6, frame.unique_id, frame.action, frame.payload]
    elif isinstance(frame, CallResultErrorFrame):
        obj = [5, frame.unique_id, frame.error_code, frame.error_description, frame.error_details]
    else:
        raise UsageError(f"not an OCPP-J frame: {frame!r}")
    try:
        text: str = _ENCODER.encode(obj)
    except (TypeError, ValueError, RecursionError) as exc:
        raise UsageError(f"cannot encode {type(frame).__name__} {frame.unique_id!r} as JSON: {exc}") from exc
    if not text.isascii():  # O(1); ASCII text (nearly every frame) is valid UTF-8 as it stands
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UsageError(
                f"cannot encode {type(frame).__name__} {frame.unique_id!r}: {exc.reason} (a lone surrogate)"
            ) from None
    return text


def encode_result(unique_id: str, payload: dict[str, Any]) -> str:
    """``encode(CallResult(unique_id, payload))``: the same text or the same :class:`UsageError`, sooner.

    Every answer goes through here: no frame object, no list around the payload, ``{}`` written as it
    is (the answer to MeterValues, StatusNotification, TransactionEvent, ...), and the payload encoded by
    one C encoder kept for the purpose instead of one built per call (the text is the same).
    """
    if payload:
        try:
            body = _encode_payload(payload)
        except (TypeError, ValueError, RecursionError) as exc:
            raise UsageError(f"cannot encode CallResult {unique_id!r} as JSON: {exc}") from exc
    else:
        body = "{}"
    text = "[3," + _encode_string(unique_id) + "," + body + "]"
    if not text.isascii():  # as in encode()
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UsageError(f"cannot encode CallResult {unique_id!r}: {exc.reason} (a lone surrogate)") from None
    return text


def _encode_payload(payload: dict[str, Any]) -> str:
    """``_ENCODER.encode(payload)`` with a C encoder made once (json makes one, and a closure, per call)."""
    if _c_encoder is None:
        return _ENCODER.encode(payload)
    try:
        return "".join(_c_encoder(payload, 0))
    except BaseException:
        _c_markers.clear()  # the cycle check's marks of a failed call would poison the next one
        raise


def _make_c_encoder(markers: dict[int, Any]) -> Callable[[Any, int], Iterable[str]] | None:
    """The C encoder ``_ENCODER.encode`` builds per call (json's internals: the arguments
    ``JSONEncoder.iterencode`` passes), made once; None when this Python's differs in any way."""
    make: Any = getattr(_json_encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        encoder: Callable[[Any, int], Iterable[str]] = make(
            markers, _ENCODER.default, _encode_string, None, ":", ",", False, False, False
        )
        sample: dict[str, Any] = {"a": [1, -2.5e-7, None, True, "é\n\u2028"], "b": {}, "c": 10**20}
        return encoder if "".join(encoder(sample, 0)) == _ENCODER.encode(sample) else None
    except Exception:
        return None


_c_markers: dict[int, Any] = {}
_c_encoder = _make_c_encoder(_c_markers)


def new_unique_id() -> str:
    """A fresh message id: a random (version 4) UUID, ``"0b5c7a9e-3f41-4d2b-9c55-2f1e8d7a6b30"``.

    36 characters, within OCPP-J's 36-character cap, drawn from the OS's CSPRNG (so unguessable as well
    as unique). The same id serves both transports: over SOAP it is the ``MessageID`` IRI
    ``urn:uuid:<id>``, so a message retried by a charge point's outbox keeps its id whichever way it goes.
    """
    return str(uuid.uuid4())


def call_error_for(unique_id: str, error: OcppError, framework: RpcFramework = OCPP_J_1) -> CallErrorFrame:
    """The CALLERROR answering the CALL ``unique_id`` with ``error``, its code spelled as ``framework`` does.

    Uses ``error.code``, never ``raw_code``: when a handler re-raises a peer's error with an unknown
    code, we answer with GenericError rather than repeat a code OCPP-J does not define.
    """
    return CallErrorFrame(unique_id, framework.spell(error.code), error.description, error.details)


def call_result_error_for(unique_id: str, error: OcppError) -> CallResultErrorFrame:
    """The OCPP-J 2.1 CALLRESULTERROR telling the peer its CALLRESULT ``unique_id`` was refused for ``error``."""
    return CallResultErrorFrame(unique_id, OCPP_J_21.spell(error.code), error.description, error.details)
