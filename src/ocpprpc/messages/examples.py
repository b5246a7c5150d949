"""Valid example payloads for any generated model, derived from its fields and constraints.

Used for the simulators' default payloads, the message reference under ``docs/`` and the round-trip
tests: one function that knows how to fill every kind of field (enum → its first value, bounded string →
a string within the bound, number → one within its minimum / maximum, list → one item, nested model →
recursively, any JSON → a string) keeps all three in step with the generated models.
"""

from __future__ import annotations

import enum
import types
import typing
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from annotated_types import MaxLen
from pydantic import AwareDatetime, JsonValue
from pydantic.fields import FieldInfo

from ._base import OcppModel

__all__ = ["example", "example_payload"]

M = TypeVar("M", bound=OcppModel)

EXAMPLE_TIME = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
"""The one timestamp every example uses, so examples are stable."""


def _unwrap(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """(inner type, is_list, metadata) of ``X``, ``X | None``, ``list[X]``, ``Annotated[X, ...]``."""
    metadata: list[Any] = []
    is_list = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            args = typing.get_args(annotation)
            annotation, metadata = args[0], [*metadata, *args[1:]]
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        elif origin is list:
            is_list = True
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation, is_list, metadata


def _max_length(metadata: list[Any]) -> int | None:
    for item in metadata:
        if isinstance(item, MaxLen):
            return item.max_length
        if isinstance(item, FieldInfo):
            found = _max_length(list(item.metadata))
            if found is not None:
                return found
    return None


def _bound(metadata: list[Any], name: str) -> Any:
    """The ``ge`` or ``le`` of a field's constraints (``Field(ge=0)``, ``DecimalBounds(le=0)``), or None."""
    for item in metadata:
        found = _bound(list(item.metadata), name) if isinstance(item, FieldInfo) else getattr(item, name, None)
        if found is not None:
            return found
    return None


def _within(value: Any, metadata: list[Any]) -> Any:
    """``value``, or the nearest bound when it lies outside the field's minimum / maximum."""
    low, high = _bound(metadata, "ge"), _bound(metadata, "le")
    if low is not None and value < low:
        return type(value)(str(low)) if isinstance(value, Decimal) else low
    if high is not None and value > high:
        return type(value)(str(high)) if isinstance(value, Decimal) else high
    return value


def _value(annotation: Any, metadata: list[Any], name: str, optional: bool, at: datetime) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, OcppModel):
        return example(annotation, optional=optional, at=at)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation))
    if annotation is bool:
        return True
    if annotation is int:
        return _within(1, metadata)
    if annotation is Decimal:
        return _within(Decimal("16.0"), metadata)
    if annotation is JsonValue:
        return name
    if annotation in (datetime, AwareDatetime):
        return at
    if annotation is str:
        limit = _max_length(metadata)
        text = name if name != "value" else "42"
        return text[:limit] if limit is not None else text
    raise TypeError(f"no example for {annotation!r}")


def example(model: type[M], *, optional: bool = True, at: datetime = EXAMPLE_TIME) -> M:
    """A valid instance of ``model``: every required field filled, and every optional one when ``optional``.

    Date-times are ``at`` (a fixed instant by default, so examples are stable).
    """
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if not info.is_required() and not optional:
            continue
        inner, is_list, metadata = _unwrap(info.annotation)
        value = _value(inner, [*metadata, *info.metadata], info.alias or name, optional, at)
        values[name] = [value] if is_list else value
    return model(**values)


def example_payload(model: type[OcppModel], *, optional: bool = True, at: datetime = EXAMPLE_TIME) -> dict[str, Any]:
    """:func:`example` as an OCPP-J JSON payload."""
    return example(model, optional=optional, at=at).to_json_dict()
