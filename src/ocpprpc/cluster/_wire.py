"""What a call to a charge point on another node looks like on NATS (JSON), and errors across the wire.

The request (to ``<prefix>.call.<charge point token>``)::

    {"version": "1.6", "action": "Reset", "payload": {"type": "Soft"}, "timeout": 30.0}

``version`` / ``action`` name the request model (its OCPP version, not necessarily the connection's:
a ``canonical`` role translates, as locally); ``payload`` is its JSON form (wire names); ``timeout`` is
optional (absent or null: the role's ``call_timeout``). A header ``Ocpprpc-Ack: 1`` asks the node for an
acknowledgement first, ``{"node": "<node id>", "timeout": <seconds it will wait>}`` with the same header,
so the caller knows whom to watch. Then the reply, exactly one::

    {"payload": {"status": "Accepted"}}
    {"error": {"kind": "OcppError", "code": "NotSupported", "description": "...", "details": {}, "remote": true}}

``kind`` is one of ``OcppError`` (``code``: the code as the charge point spelled it, ``remote``: whether
it sent it), ``CallTimeout``, ``ConnectionClosed``, ``UnreadableAnswer``, ``UsageError``,
``UnknownChargePoint``, ``NotHere`` (the charge point moved while the request was on its way: send it
again) or ``Failure`` (the node failed; ``description`` says how); every kind but ``OcppError`` has a
``description``. A Python caller raises exactly what a local call raises.

The test tools :meth:`~ocpprpc.roles.Role.call_raw` / :meth:`~ocpprpc.roles.Role.send_raw` go to the
same subject, with the same acknowledgement and error replies::

    {"raw": "call", "action": "Reset", "payload": {"type": "Soft"}, "timeout": 30.0}
    {"raw": "send", "text": "[2,\"1\",\"Reset\",{}]"}

answered ``{"raw": {"unique_id": "…", "payload": {…} | null, "error": null | {"code", "description",
"details"}}}`` (the charge point's answer, its CALLERROR included, as data) and ``{"text": "…" | null}``
(what the transport answered synchronously: a SOAP HTTP body; null over OCPP-J).

Handlers in a worker pool: a node hands an inbound call to ``<prefix>.work.<version>.<action>``
(``v16``, ``StartTransaction``; queue group ``workers``, so one worker gets it)::

    {"charge_point_id": "CP1", "node": "cs-1", "version": "1.6", "action": "StartTransaction",
     "message_id": "…" | null, "payload": {…the request, valid in that version…}}

With the header ``Ocpprpc-Ack: 1`` the worker first acknowledges, when its handler starts, with
``{"worker": "<worker id>", "timeout": <its handler timeout, or null>}`` (same header); the node then
checks ``<prefix>.worker.<worker id>.ping`` every second while it waits. The reply is a payload or an
error as above: ``{"payload": {…the response…}}`` or ``{"error": {"kind": "OcppError", "code":
"…", "description": "…", "details": {…}}}`` (the handler's error, sent to the charge point as its
CALLERROR); ``kind`` ``Busy``: the worker has no room (the node tries again, twice); any other
``kind`` means the worker failed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from .._link import RawAnswer
from ..errors import CallTimeout, ConnectionClosed, OcppError, OcppRpcError, UnreadableAnswer, UsageError
from ..server import UnknownChargePoint

__all__ = [
    "ClusterError",
    "NotHere",
    "PoolBusy",
    "RawRequest",
    "RemoteRequest",
    "WorkRequest",
    "as_object",
    "decode_raw_answer",
    "decode_reply",
    "decode_text",
    "encode_error",
    "encode_payload",
    "encode_raw_answer",
    "encode_text",
    "json_object",
    "object_of",
    "ocpp_error_fields",
    "ocpp_error_from",
]

ACK_HEADER = "Ocpprpc-Ack"
NODE_HEADER = "Ocpprpc-Node"
WORKER_HEADER = "Ocpprpc-Worker"


def as_object(value: object) -> dict[str, Any] | None:
    """``value`` when it is a JSON object (a dict), else None."""
    return cast(dict[str, Any], value) if isinstance(value, dict) else None


def json_object(data: bytes | str | None) -> dict[str, Any] | None:
    """The JSON object ``data`` holds; None for anything else (not JSON, another type, nothing)."""
    if data is None:
        return None
    try:
        return as_object(json.loads(data))
    except ValueError:
        return None


class ClusterError(OcppRpcError):
    """The cluster could not carry a call: the node holding the charge point failed, or a reply made no sense."""


class PoolBusy(OcppRpcError):
    """The worker that got a call has every handler slot and every waiting place taken."""


class NotHere(OcppRpcError):
    """The node that got a request does not hold the charge point any more (it moved meanwhile)."""


@dataclass(frozen=True, slots=True)
class RemoteRequest:
    version: str
    action: str
    payload: dict[str, Any]
    timeout: float | None

    def encode(self) -> bytes:
        return json.dumps(
            {"version": self.version, "action": self.action, "payload": self.payload, "timeout": self.timeout},
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_object(cls, message: dict[str, Any]) -> RemoteRequest:
        version, action, payload = message.get("version"), message.get("action"), as_object(message.get("payload"))
        if not isinstance(version, str) or not isinstance(action, str) or payload is None:
            raise ValueError("version and action (strings) and payload (an object) are needed")
        return cls(version, action, payload, _timeout_of(message))


@dataclass(frozen=True, slots=True)
class RawRequest:
    """A test tool's request to the node holding a charge point: ``call_raw`` (``kind`` "call") or ``send_raw``."""

    kind: str
    action: str = ""
    payload: dict[str, Any] | None = None
    timeout: float | None = None
    text: str = ""

    def encode(self) -> bytes:
        if self.kind == "send":
            body: dict[str, Any] = {"raw": "send", "text": self.text}
        else:
            body = {"raw": "call", "action": self.action, "payload": self.payload, "timeout": self.timeout}
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def from_object(cls, message: dict[str, Any]) -> RawRequest:
        """Raises ValueError for anything but a well-formed raw request."""
        kind = message.get("raw")
        if kind == "send":
            text = message.get("text")
            if not isinstance(text, str):
                raise ValueError("a raw send has a text (a string)")
            return cls("send", text=text)
        if kind == "call":
            action, payload = message.get("action"), as_object(message.get("payload"))
            if not isinstance(action, str) or payload is None:
                raise ValueError("a raw call has an action (a string) and a payload (an object)")
            return cls("call", action, payload, _timeout_of(message))
        raise ValueError('raw is "call" or "send"')


@dataclass(frozen=True, slots=True)
class WorkRequest:
    """An inbound call a node hands to the worker pool (see the module docstring)."""

    charge_point_id: str
    node: str
    version: str
    action: str
    message_id: str | None
    payload: dict[str, Any]

    def encode(self) -> bytes:
        body = {
            "charge_point_id": self.charge_point_id,
            "node": self.node,
            "version": self.version,
            "action": self.action,
            "message_id": self.message_id,
            "payload": self.payload,
        }
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> WorkRequest:
        """Raises ValueError for anything but a well-formed request."""
        message = object_of(data)
        strings = [message.get(key) for key in ("charge_point_id", "node", "version", "action")]
        payload, message_id = as_object(message.get("payload")), message.get("message_id")
        if not all(isinstance(value, str) and value for value in strings) or payload is None:
            raise ValueError("charge_point_id, node, version, action (strings) and payload (an object) are needed")
        if message_id is not None and not isinstance(message_id, str):
            raise ValueError("message_id is a string or null")
        charge_point_id, node, version, action = (str(value) for value in strings)
        return cls(charge_point_id, node, version, action, message_id, payload)


def object_of(data: bytes) -> dict[str, Any]:
    """The JSON object ``data`` holds; ValueError for anything else."""
    message = as_object(json.loads(data))
    if message is None:
        raise ValueError("not a JSON object")
    return message


def _timeout_of(message: dict[str, Any]) -> float | None:
    timeout = message.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        raise ValueError("timeout is a positive number of seconds")
    return None if timeout is None else float(timeout)


def ocpp_error_fields(error: OcppError) -> dict[str, Any]:
    """How an OCPP error is written in the cluster's JSON: its code (as received), description and details."""
    return {"code": error.raw_code, "description": error.description, "details": error.details}


def ocpp_error_from(fields: dict[str, Any], *, remote: bool) -> OcppError:
    """The OCPP error :func:`ocpp_error_fields` wrote (a GenericError when the code is missing)."""
    return OcppError.from_code(
        str(fields.get("code") or "GenericError"),
        str(fields.get("description") or ""),
        as_object(fields.get("details")),
        remote=remote,
    )


def encode_payload(payload: dict[str, Any]) -> bytes:
    return json.dumps({"payload": payload}, separators=(",", ":")).encode()


def encode_error(error: BaseException) -> bytes:
    """The reply telling ``error`` (what the call raised on the node holding the charge point)."""
    body: dict[str, Any]
    if isinstance(error, OcppError):
        body = {"kind": "OcppError", **ocpp_error_fields(error), "remote": error.remote}
    else:
        kind = next(
            (name for name, cls in _KINDS.items() if isinstance(error, cls) and name not in ("OcppError", "Failure")),
            "Failure",
        )
        body = {"kind": kind, "description": str(error)}
        if isinstance(error, CallTimeout):
            body.update(action=error.action, unique_id=error.unique_id, timeout=error.timeout)
    return json.dumps({"error": body}, separators=(",", ":"), default=str).encode()


def encode_raw_answer(answer: RawAnswer) -> bytes:
    error = answer.error
    told = None if error is None else ocpp_error_fields(error)
    body = {"raw": {"unique_id": answer.unique_id, "payload": answer.payload, "error": told}}
    return json.dumps(body, separators=(",", ":"), default=str).encode()


def decode_raw_answer(data: bytes) -> RawAnswer:
    """The charge point's answer to a raw call; raises the error the reply tells instead."""
    raw = as_object((json_object(data) or {}).get("raw"))
    if raw is None:
        decode_reply(data)  # raises the error it tells
        raise ClusterError("the node holding the charge point sent a payload where a raw answer was due")
    unique_id, payload, error = raw.get("unique_id"), as_object(raw.get("payload")), as_object(raw.get("error"))
    if not isinstance(unique_id, str) or (payload is None) == (error is None):
        raise ClusterError("the node holding the charge point sent a raw answer that makes no sense")
    if error is None:
        return RawAnswer(unique_id, payload)
    return RawAnswer(unique_id, None, ocpp_error_from(error, remote=True))


def encode_text(text: str | None) -> bytes:
    return json.dumps({"text": text}, separators=(",", ":")).encode()


def decode_text(data: bytes) -> str | None:
    """What the charge point's transport answered a raw send with; raises the error the reply tells instead."""
    message = json_object(data) or {}
    if "text" in message and (message["text"] is None or isinstance(message["text"], str)):
        text: str | None = message["text"]
        return text
    decode_reply(data)
    raise ClusterError("the node holding the charge point sent a payload where a raw send's reply was due")


def decode_reply(data: bytes) -> dict[str, Any]:
    """The response payload of a reply; raises the error it tells (:class:`ClusterError` for nonsense)."""
    message = json_object(data)
    if message is not None:
        payload = as_object(message.get("payload"))
        if payload is not None:
            return payload
        error = as_object(message.get("error"))
        if error is not None:
            raise decode_error(error)
    raise ClusterError("the node holding the charge point sent a reply that is neither a payload nor an error")


def decode_error(error: dict[str, Any]) -> OcppRpcError:
    kind = error.get("kind")
    if kind == "OcppError":
        return ocpp_error_from(error, remote=bool(error.get("remote")))
    description = str(error.get("description") or "")
    if kind == "CallTimeout":
        timeout = error.get("timeout")
        return CallTimeout(
            description,
            action=_str_or_none(error.get("action")),
            unique_id=_str_or_none(error.get("unique_id")),
            timeout=float(timeout) if isinstance(timeout, int | float) else None,
        )
    cls = _KINDS.get(str(kind), ClusterError)
    return cls(description or f"the node holding the charge point failed ({kind})")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


_KINDS: dict[str, type[OcppRpcError]] = {
    "OcppError": OcppError,
    "UnknownChargePoint": UnknownChargePoint,
    "NotHere": NotHere,
    "Busy": PoolBusy,
    "CallTimeout": CallTimeout,
    "ConnectionClosed": ConnectionClosed,
    "UnreadableAnswer": UnreadableAnswer,
    "UsageError": UsageError,
    "Failure": ClusterError,
}
"""Error kinds on the wire and the class each one is raised as; the most specific first (UnknownChargePoint
before the KeyError it also is)."""
