"""What the gateway demands of chargers: HTTP Basic credentials per charge point (``--downstream-credentials``).

The same check serves both listeners (the transports' ``auth=`` callback: over WebSocket before the
upgrade, over SOAP before the body of each request is read), and the charge point id is part of it, so
one charger's password cannot speak for another. Credentials are compared with
:func:`hmac.compare_digest`, and an unknown id is compared with something too, so the time a check
takes tells nothing about which ids exist or how much of a guess was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


class ChargerAuth:
    """``auth(charge_point_id, username, password)`` → whether that charger may be served."""

    def __init__(self, credentials: Mapping[str, tuple[str, str]]) -> None:
        self.credentials = dict(credentials)

    def __call__(self, charge_point_id: str, username: str, password: str) -> bool:
        expected = self.credentials.get(charge_point_id)
        user, secret = expected if expected is not None else ("\0", "\0" * 16)
        user_ok = _same(username, user)
        password_ok = _same(password, secret)
        return expected is not None and user_ok and password_ok
