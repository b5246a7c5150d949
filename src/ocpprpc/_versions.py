"""The OCPP versions ocpprpc speaks, by version string and by WebSocket subprotocol."""

from __future__ import annotations

from .errors import UsageError
from .messages import v12, v15, v16
from .messages._base import OcppVersion

__all__ = ["ALL_VERSIONS", "VERSIONS", "by_subprotocol", "resolve_version"]

VERSIONS: dict[str, OcppVersion] = {"1.6": v16.VERSION, "1.5": v15.VERSION, "1.2": v12.VERSION}
"""Every supported version, newest first (the default preference order when negotiating)."""

ALL_VERSIONS: tuple[str, ...] = tuple(VERSIONS)

_BY_SUBPROTOCOL = {version.subprotocol: version for version in VERSIONS.values()}


def by_subprotocol(subprotocol: str) -> OcppVersion | None:
    """The version a WebSocket subprotocol (``ocpp1.6``) names, or None."""
    return _BY_SUBPROTOCOL.get(subprotocol)


def resolve_version(version: str | OcppVersion) -> OcppVersion:
    """Accept ``"1.6"``, ``"ocpp1.6"`` or an :class:`OcppVersion`; a :class:`UsageError` for anything else."""
    if isinstance(version, OcppVersion):
        return version
    found = VERSIONS.get(version) or _BY_SUBPROTOCOL.get(version)
    if found is None:
        raise UsageError(f"unknown OCPP version {version!r}; known: {', '.join(ALL_VERSIONS)}")
    return found
