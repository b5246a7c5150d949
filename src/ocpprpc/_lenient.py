"""Repairing the slightly wrong payloads real chargers send, for roles that are not ``strict``.

Real charge points send timestamps without a timezone, numbers as strings, enum values in the wrong case,
vendor fields the schema lacks. A central system that must take them anyway should not have to give up
typed handlers: instead of skipping validation, :func:`repair` reads pydantic's errors, fixes what has
one obvious fix, and validation runs again, so a handler still receives a valid model. What cannot be
fixed without guessing (a missing required field, a value that means nothing) stays an error.

=====================================  =============================================================
error                                  repair
=====================================  =============================================================
a field the action does not define     dropped
date-time without a timezone           read as UTC
date-time not in RFC 3339 form         read as pydantic reads it, then written as RFC 3339 in UTC:
                                       Unix time (``1732442400``, ``"1732442400"``) → ``"2024-11-24T10:00:00Z"``;
                                       ``"2026-11-24 10:00"`` (space, no seconds, no timezone: UTC)
                                       → ``"2026-11-24T10:00:00Z"``; a date alone stays an error
integer as a string or whole float     ``"1"`` / ``1.0`` → ``1``
decimal as a string                    ``"16.5"`` → ``16.5``
boolean as a string                    ``"true"`` / ``"false"`` / ``"1"`` / ``"0"`` → the boolean
string as a number                     ``42`` → ``"42"``
enum value in another case             ``"accepted"`` → ``"Accepted"``
string longer than its maximum         cut to the maximum
decimal with too many digits           rounded to the allowed places
=====================================  =============================================================
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard, cast

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from .messages._base import DATE_TIME_FORMAT_ERROR, NUMBER_TYPE_ERROR, OcppModel, format_datetime

__all__ = ["repair"]

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_ROUNDS = 4
"""Each round fixes every reported error; errors hidden behind others show up in the next round."""

_LAX_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)
"""pydantic's own reading of a date-time: Unix time, a space for the ``T``, no seconds, ..."""
_DATE_ONLY = re.compile(r"\s*\d{4}-\d\d-\d\d\s*")


def _date_time(value: Any) -> tuple[bool, Any]:
    """A date-time that is not an RFC 3339 string, as one (in UTC; no timezone read as UTC)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float) or _DATE_ONLY.fullmatch(str(value)):
        return False, None
    try:
        parsed = _LAX_DATETIME.validate_python(value)
    except ValidationError:
        return False, None
    return True, format_datetime(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC))


def _number(value: Any) -> tuple[bool, Any]:
    """A decimal sent as a string, as the number it spells."""
    if not isinstance(value, str):
        return False, None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return False, None
    return (True, number) if number.is_finite() else (False, None)


def _fix(error: ErrorDetails) -> tuple[bool, Any]:
    """(True, new value) for a fixable error, (True, _DROP) to delete the field, (False, None) if not."""
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "extra_forbidden":
        return True, _DROP
    if kind == "timezone_aware" and isinstance(value, str):
        return True, value + "Z"
    if kind == DATE_TIME_FORMAT_ERROR:
        return _date_time(value)
    if kind == NUMBER_TYPE_ERROR:
        return _number(value)
    if kind in ("int_type", "int_parsing", "int_from_float"):
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return True, int(value.strip())
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
    if kind == "bool_type" and isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return True, value.strip().lower() in ("true", "1")
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return True, str(value)
    if kind == "enum" and isinstance(value, str):
        allowed = _QUOTED.findall(str(ctx.get("expected", "")))
        matches = [a for a in allowed if a.lower() == value.strip().lower()]
        if len(matches) == 1:
            return True, matches[0]
    if kind == "string_too_long" and isinstance(value, str) and isinstance(ctx.get("max_length"), int):
        return True, value[: ctx["max_length"]]
    places = ctx.get("decimal_places")
    if kind == "decimal_max_places" and isinstance(places, int):
        try:
            return True, float(round(Decimal(str(cast(object, value))), places))
        except (InvalidOperation, ValueError):
            return False, None
    return False, None


_DROP = object()


def _is_list(value: object) -> TypeGuard[list[Any]]:
    return isinstance(value, list)


def _is_dict(value: object) -> TypeGuard[dict[Any, Any]]:
    return isinstance(value, dict)


def _set(payload: Any, loc: tuple[int | str, ...], value: Any) -> bool:
    """Replace (or with ``_DROP`` delete) the value at ``loc``; False when the path does not exist."""
    *path, last = loc
    node: Any = payload
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return False
    if _is_dict(node) and last in node:
        if value is _DROP:
            del node[last]
        else:
            node[last] = value
        return True
    if _is_list(node) and isinstance(last, int) and 0 <= last < len(node) and value is not _DROP:
        node[last] = value
        return True
    return False


def repair(model: type[OcppModel], payload: dict[str, Any], error: ValidationError) -> OcppModel | None:
    """``model`` validated from ``payload`` after fixing what has an obvious fix; None when some error has none.

    ``payload`` is not changed. Validation errors are located by wire name (the payload's own keys).
    """
    fixed = copy.deepcopy(payload)
    for _ in range(_ROUNDS):
        for details in error.errors(include_url=False):
            loc = details["loc"]
            if not loc:
                return None
            fixable, value = _fix(details)
            if not fixable or not _set(fixed, loc, value):
                return None
        try:
            return model.model_validate(fixed)
        except ValidationError as again:
            error = again
    return None
