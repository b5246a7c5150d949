"""The OCPP versions ocpprpc speaks, by version string and by WebSocket subprotocol."""

from __future__ import annotations

from .errors import UsageError
from .messages import v12, v15, v16, v21, v201
from .messages._base import OcppVersion

__all__ = ["ALL_VERSIONS", "DEFAULT_VERSIONS", "JSON_ONLY_VERSIONS", "VERSIONS", "by_subprotocol", "resolve_version"]

VERSIONS: dict[str, OcppVersion] = {
    "2.1": v21.VERSION,
    "2.0.1": v201.VERSION,
    "1.6": v16.VERSION,
    "1.5": v15.VERSION,
    "1.2": v12.VERSION,
}
"""Every supported version, newest first."""

ALL_VERSIONS: tuple[str, ...] = tuple(VERSIONS)
"""Every supported version, newest first: ``("2.1", "2.0.1", "1.6", "1.5", "1.2")``."""

DEFAULT_VERSIONS: tuple[str, ...] = ("1.6", "1.5", "1.2")
"""What a role or a server speaks unless told otherwise, in order of preference.

OCPP 2.x is not a newer 1.6 but another protocol (other actions, other models), so it is opted into
(``versions = ("2.0.1",)``, or ``("2.0.1", "1.6")`` to serve both): a 1.6 central system upgraded to this
library never finds a 2.0.1 charge point routed to handlers written for 1.6 models.
"""

JSON_ONLY_VERSIONS: frozenset[str] = frozenset({"2.0.1", "2.1"})
"""Versions with no SOAP binding (OCPP-J only)."""

_BY_SUBPROTOCOL = {version.subprotocol: version for version in VERSIONS.values()}


def by_subprotocol(subprotocol: str) -> OcppVersion | None:
    """The version a WebSocket subprotocol (``ocpp1.6``, ``ocpp2.0.1``) names, or None."""
    return _BY_SUBPROTOCOL.get(subprotocol)


def resolve_version(version: str | OcppVersion) -> OcppVersion:
    """Accept ``"1.6"``, ``"ocpp1.6"`` or an :class:`OcppVersion`; a :class:`UsageError` for anything else."""
    if isinstance(version, OcppVersion):
        return version
    found = VERSIONS.get(version) or _BY_SUBPROTOCOL.get(version)
    if found is None:
        raise UsageError(f"unknown OCPP version {version!r}; known: {', '.join(ALL_VERSIONS)}")
    return found
