"""What can be a charge point id, and how to put text a peer chose into a log line.

A charge point names itself: in the last segment of its WebSocket URL (OCPP-J), in the
``chargeBoxIdentity`` header (OCPP-S). That name becomes a registry key, a part of log lines, perhaps a
database key or a file name in the application. So it is checked before anything is allocated for the
peer, the same way on every transport.

The rule (:func:`check_charge_point_id`): 1 to :data:`MAX_CHARGE_POINT_ID_LENGTH` (48) characters, as
OCPP 2.0.1 bounds the identity; every character printable and not white space (no control, format,
surrogate, private-use or unassigned code point: no forged log line, no NUL); no ``/`` or ``\\``, and
not ``.`` or ``..`` (nothing that reads as a path). In a URL the id is percent-decoded as strict UTF-8
first (:func:`decode_url_segment`): invalid UTF-8 is refused rather than replaced, so two different
byte strings never collapse into one id. A server takes ``check_id=`` to replace the rule.

:func:`loggable` escapes what a peer sent (an id, a frame) for a log line: one physical line, no
terminal escapes, bounded length.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

__all__ = [
    "MAX_CHARGE_POINT_ID_LENGTH",
    "IdCheck",
    "check_charge_point_id",
    "decode_url_segment",
    "loggable",
]

MAX_CHARGE_POINT_ID_LENGTH = 48
"""The longest charge point id accepted by default (the OCPP 2.0.1 identity's bound)."""

IdCheck = Callable[[str], "str | None"]
"""``check(charge_point_id)`` → why it is refused, or None to accept it."""

_FORBIDDEN = frozenset("/\\")


def check_charge_point_id(charge_point_id: str) -> str | None:
    """Why ``charge_point_id`` cannot be a charge point id, or None when it can (the default rule)."""
    if not charge_point_id:
        return "the charge point id is empty"
    if len(charge_point_id) > MAX_CHARGE_POINT_ID_LENGTH:
        return f"a charge point id has at most {MAX_CHARGE_POINT_ID_LENGTH} characters, not {len(charge_point_id)}"
    if charge_point_id in (".", ".."):
        return f"{charge_point_id!r} is not a charge point id"
    # str.isprintable() is False for control, format, surrogate, private-use, unassigned and separator
    # code points other than the ASCII space; the space is refused below with the other white space.
    if not charge_point_id.isprintable() or any(c.isspace() or c in _FORBIDDEN for c in charge_point_id):
        refused = loggable(charge_point_id)
        return f"a charge point id holds printable characters other than white space, / and \\: {refused}"
    return None


def decode_url_segment(segment: str) -> str | None:
    """A percent-encoded URL path segment as text, or None when it is not valid UTF-8."""
    try:
        return urllib.parse.unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        return None


def loggable(text: str, limit: int | None = 200) -> str:
    """``text`` safe for one log line: non-printable characters escaped, cut to about ``limit`` characters.

    ``limit`` None keeps the whole text (the frame log shows frames whole).

    Printable text (the usual case, checked in C) is returned as is, so the frame log's hot path pays
    almost nothing.
    """
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}…(+{len(text) - limit} characters)"
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii") for c in text
    )
