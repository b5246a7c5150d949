"""HTTP Basic authentication (RFC 7617), the same for every transport and both directions.

A server checks a charge point's credentials with an :data:`AuthCallback` before it serves anything for
it: over WebSocket before the upgrade, over SOAP before the body of each request is decoded (and on a
charge point's remote action port, before it is read). The callback gets the charge point id as well,
so one charge point's password cannot speak for another. A client presents ``(username, password)``
with :func:`basic_authorization`.

User id and password are UTF-8 (RFC 7617's ``charset="UTF-8"``, which the challenge announces); a user
id holds no colon, the password may.
"""

from __future__ import annotations

import base64
import binascii
import inspect
from collections.abc import Awaitable, Callable, Sequence

from ._identity import loggable
from .errors import UsageError

__all__ = [
    "AuthCallback",
    "basic_authorization",
    "check_basic_auth",
    "parse_basic_authorization",
    "www_authenticate",
]

AuthCallback = Callable[[str, str, str], bool | Awaitable[bool]]
"""``auth(charge_point_id, username, password)`` → whether the charge point may be served (sync or async).

``charge_point_id`` is the id the request is for: from the WebSocket URL, the SOAP chargeBoxIdentity,
or, on a SOAP charge point's remote action port, the charge point's own id."""


def basic_authorization(username: str, password: str) -> str:
    """The ``Authorization`` header value for ``username`` / ``password`` (UTF-8, RFC 7617)."""
    if ":" in username:
        raise UsageError("an HTTP Basic user id cannot hold a colon (RFC 7617)")
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def parse_basic_authorization(header: str) -> tuple[str, str] | None:
    """``(username, password)`` from an ``Authorization`` header value; None when it is not valid Basic."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


def www_authenticate(realm: str = "OCPP") -> str:
    """The ``WWW-Authenticate`` challenge a 401 carries."""
    return f'Basic realm="{realm}", charset="UTF-8"'


async def check_basic_auth(
    auth: AuthCallback, charge_point_id: str, headers: Sequence[str], *, username_is_id: bool = False
) -> str | None:
    """Why the ``Authorization`` header values ``headers`` do not let ``charge_point_id`` in, or None.

    Missing, repeated (a peer sending two could hope each check reads another) or malformed headers
    are refused without asking ``auth``, and so, with ``username_is_id``, is a user name other than
    ``charge_point_id`` (the OCPP security profiles' rule: the user name is the charge point identity).
    Exceptions of the callback propagate.
    """
    if not headers:
        return "credentials missing"
    if len(headers) > 1:
        return f"{len(headers)} Authorization headers"
    credentials = parse_basic_authorization(headers[0])
    if credentials is None:
        return "not HTTP Basic credentials"
    if username_is_id and credentials[0] != charge_point_id:
        return f"the user name {loggable(repr(credentials[0]), 60)} is not the charge point id"
    verdict = auth(charge_point_id, *credentials)
    if inspect.isawaitable(verdict):
        verdict = await verdict
    if not verdict:
        return f"credentials of {loggable(repr(credentials[0]), 60)} not accepted"
    return None
