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
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from ..errors import CallTimeout, ConnectionClosed, OcppError, OcppRpcError, UnreadableAnswer, UsageError
from ..server import UnknownChargePoint

__all__ = [
    "ClusterError",
    "NotHere",
    "RemoteRequest",
    "as_object",
    "decode_reply",
    "encode_error",
    "encode_payload",
    "json_object",
]

ACK_HEADER = "Ocpprpc-Ack"
NODE_HEADER = "Ocpprpc-Node"


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
    def decode(cls, data: bytes) -> RemoteRequest:
        """Raises ValueError for anything but a well-formed request."""
        message = as_object(json.loads(data))
        if message is None:
            raise ValueError("not a JSON object")
        version, action, payload = message.get("version"), message.get("action"), as_object(message.get("payload"))
        timeout = message.get("timeout")
        if not isinstance(version, str) or not isinstance(action, str) or payload is None:
            raise ValueError("version and action (strings) and payload (an object) are needed")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
            raise ValueError("timeout is a positive number of seconds")
        return cls(version, action, payload, None if timeout is None else float(timeout))


def encode_payload(payload: dict[str, Any]) -> bytes:
    return json.dumps({"payload": payload}, separators=(",", ":")).encode()


def encode_error(error: BaseException) -> bytes:
    """The reply telling ``error`` (what the call raised on the node holding the charge point)."""
    body: dict[str, Any]
    if isinstance(error, OcppError):
        body = {
            "kind": "OcppError",
            "code": error.raw_code,
            "description": error.description,
            "details": error.details,
            "remote": error.remote,
        }
    else:
        kind = next(
            (name for name, cls in _KINDS.items() if isinstance(error, cls) and name not in ("OcppError", "Failure")),
            "Failure",
        )
        body = {"kind": kind, "description": str(error)}
        if isinstance(error, CallTimeout):
            body.update(action=error.action, unique_id=error.unique_id, timeout=error.timeout)
    return json.dumps({"error": body}, separators=(",", ":"), default=str).encode()


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
    description = str(error.get("description") or "")
    if kind == "OcppError":
        return OcppError.from_code(
            str(error.get("code") or "GenericError"),
            description,
            as_object(error.get("details")),
            remote=bool(error.get("remote")),
        )
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
    "CallTimeout": CallTimeout,
    "ConnectionClosed": ConnectionClosed,
    "UnreadableAnswer": UnreadableAnswer,
    "UsageError": UsageError,
    "Failure": ClusterError,
}
"""Error kinds on the wire and the class each one is raised as; the most specific first (UnknownChargePoint
before the KeyError it also is)."""
