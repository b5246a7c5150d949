"""Pydantic validation errors as OCPP-J error codes.

A CALL whose payload fails its model must be answered with the code OCPP-J names for the fault. The
mapping follows the classic ocppjs simulator, which answered every version the same way:

====================================================  ================================
pydantic error                                        OCPP-J code
====================================================  ================================
``missing``; a list too short / too long              OccurenceConstraintViolation
``extra_forbidden`` (a field the action lacks)        PropertyConstraintViolation
anything else: wrong JSON type, string too long,      TypeConstraintViolation
value not in the enumeration, bad date-time, ...
====================================================  ================================

When several fields are wrong the first error (in field order) picks the code; the details list them
all (without the offending values, which are the peer's data and may be large).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .errors import OccurrenceConstraintViolation, OcppError, PropertyConstraintViolation, TypeConstraintViolation

__all__ = ["MAX_REPORTED_ERRORS", "error_from_validation"]

MAX_REPORTED_ERRORS = 10
"""At most this many field errors go into a CALLERROR's details."""

_OCCURRENCE = frozenset({"missing", "too_short", "too_long"})
_PROPERTY = frozenset({"extra_forbidden"})


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(payload)"


def _code_class(error_type: str) -> type[OcppError]:
    if error_type in _OCCURRENCE:
        return OccurrenceConstraintViolation
    if error_type in _PROPERTY:
        return PropertyConstraintViolation
    return TypeConstraintViolation


def error_from_validation(exc: ValidationError, action: str, what: str = "request") -> OcppError:
    """The :class:`OcppError` to answer a payload of ``action`` that failed validation with."""
    errors = exc.errors(include_url=False, include_input=False)
    reported: list[dict[str, Any]] = [
        {"field": _location(e["loc"]), "type": e["type"], "message": e["msg"]} for e in errors[:MAX_REPORTED_ERRORS]
    ]
    first = reported[0] if reported else {"field": "(payload)", "type": "value_error", "message": str(exc)}
    description = f"{action} {what}: {first['field']}: {first['message']}"
    if len(errors) > 1:
        description += f" (and {len(errors) - 1} more)"
    details: dict[str, Any] = {"errors": reported}
    if len(errors) > MAX_REPORTED_ERRORS:
        details["omitted"] = len(errors) - MAX_REPORTED_ERRORS
    return _code_class(str(first["type"]))(description, details)
