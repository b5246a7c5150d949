"""Translate a message between OCPP 1.2, 1.5 and 1.6: the same request or response, in another version.

Why: operators keep installed 1.2 / 1.5 chargers on 1.6 platforms. A role class written once for 1.6
(``canonical = "1.6"``) serves older peers by translating their requests up and its answers down, and a
SOAP 1.5 → OCPP-J 1.6 gateway does the same between two connections. Both need the translation to be
faithful: what the receiving version can say is said, and what it cannot is refused with the reason
(:class:`NotTranslatable`), never dropped silently.

What: :func:`translate` finds the message's version, action and kind (request or response) from its class,
and applies the table (:mod:`ocpprpc.messages.translation_table`) step by step: 1.2 ⇄ 1.5 ⇄ 1.6. Going up
succeeds for every valid message, except a string longer than the newer version allows and a MeterValues
without any reading; going down refuses whatever the older version cannot say. Some rules are lossy
(1.6's Preparing goes to 1.5 as Occupied, which comes back as Charging): the table marks them, and
:func:`translate_with_losses` reports the ones that applied to a message, e.g. for a log line.

How: on the JSON form. ``to_json_dict()``, then per step a walk of the JSON object alongside the pair of
model classes (what the table does with each pair of types is worked out once and kept), then
``model_validate`` of the target model, which checks the result as any received message is checked.
About 4 µs for a BootNotification.req and 20 µs for a MeterValues.req of four readings, 1.5 → 1.6 or
back (the walk is half of it; pydantic's dump and validation the rest).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, NoReturn

from annotated_types import MinLen
from pydantic import ValidationError

from ._versions import VERSIONS, resolve_version
from .errors import UsageError
from .messages import v12, v15, v16
from .messages._base import OcppModel
from .messages.examples import _max_length, _unwrap
from .messages.translation_table import (
    STEPS,
    Convert,
    Copy,
    Drop,
    EnumRule,
    Field,
    Fill,
    Needed,
    Refuse,
    Step,
    TypeRule,
    Unset,
)

__all__ = [
    "TRANSLATABLE_VERSIONS",
    "Loss",
    "NotTranslatable",
    "lossy_rules",
    "translatable",
    "translate",
    "translate_with_losses",
]

TRANSLATABLE_VERSIONS: tuple[str, ...] = ("1.2", "1.5", "1.6")
"""The versions translation joins, oldest first. OCPP 2.x is another protocol, not a newer 1.6."""

Kind = Literal["request", "response"]

_OUTSIDE = "translation covers OCPP 1.2, 1.5 and 1.6"


class NotTranslatable(UsageError):
    """A message cannot be said in the version asked for: the action is missing there, or a field is.

    ``reason`` says why (naming the field and its value where one is at fault), ``action`` is the
    message's action, ``to_version`` the version asked for, and ``field`` the JSON path of the refused
    field (as the refusing step reads the message: in 1.5's names when a 1.6 message is refused on its
    way to 1.2 by the 1.5 → 1.2 step), or None when the whole action is refused. A :class:`UsageError`:
    the program asked for what the peer's version cannot do.
    """

    def __init__(self, reason: str, *, action: str, to_version: str, field: str | None = None) -> None:
        self.reason = reason
        self.action = action
        self.to_version = to_version
        self.field = field
        super().__init__(f"{action} cannot be translated to OCPP {to_version}: {reason}")


@dataclass(frozen=True, slots=True)
class Loss:
    """One lossy rule of the table that applied to a message.

    ``rule`` names the rule, as :func:`lossy_rules` does: ``"1.6→1.5 ChargePointStatus Preparing"`` for a
    value, ``"1.5→1.6 SendLocalListRequest.hash"`` for a field. ``path`` is the JSON path of the value in
    the message ``version`` speaks (the sending side of that step), ``why`` what is not kept.
    """

    rule: str
    version: str
    path: str
    why: str


# -- the registries --------------------------------------------------------------------------------------

_MODULES = {"1.2": v12, "1.5": v15, "1.6": v16}


def _index() -> dict[type[OcppModel], tuple[str, str, Kind]]:
    found: dict[type[OcppModel], tuple[str, str, Kind]] = {}
    for version in VERSIONS.values():
        for spec in version.actions:
            found[spec.request] = (version.version, spec.name, "request")
            found[spec.response] = (version.version, spec.name, "response")
    return found


_MESSAGES = _index()
"""Every request and response model of every version → (version, action, kind)."""


def _actions(version: str) -> dict[str, tuple[type[OcppModel], type[OcppModel]]]:
    """Action name → (request model, response model) of ``version`` (DataTransfer's one pair counted once)."""
    return {spec.name: (spec.request, spec.response) for spec in VERSIONS[version].actions}


_ACTIONS = {version: _actions(version) for version in TRANSLATABLE_VERSIONS}


def _message_model(version: str, action: str, kind: Kind) -> type[OcppModel]:
    """The request or response model of ``action`` in ``version``; KeyError when the version lacks it."""
    request, response = _ACTIONS[version][action]
    return request if kind == "request" else response


def _model_named(version: str, name: str) -> type[OcppModel]:
    """The model class ``name`` of ``version``'s generated models."""
    found: Any = getattr(_MODULES[version], name, None)
    if not (isinstance(found, type) and issubclass(found, OcppModel)):
        raise KeyError(f"OCPP {version} has no model {name}")
    return found


# -- field facts -----------------------------------------------------------------------------------------

_SlotKind = Literal["model", "enum", "str", "int", "bool", "decimal", "datetime", "other"]


@dataclass(frozen=True, slots=True)
class _Slot:
    """What one field of a model holds, as translation needs it."""

    key: str
    kind: _SlotKind
    type: type[Any]
    repeated: bool
    required: bool
    max_length: int | None
    min_items: int

    @property
    def type_name(self) -> str:
        return self.type.__name__


def _kind(inner: Any) -> _SlotKind:
    if isinstance(inner, type):
        if issubclass(inner, OcppModel):
            return "model"
        if issubclass(inner, enum.Enum):
            return "enum"
        for python, kind in ((bool, "bool"), (int, "int"), (str, "str")):
            if issubclass(inner, python):
                return kind  # type: ignore[return-value]
        if inner.__name__ == "Decimal":
            return "decimal"
        if inner.__name__ in ("datetime", "AwareDatetime"):
            return "datetime"
    return "other"


@cache
def _slots(model: type[OcppModel]) -> dict[str, _Slot]:
    """The fields of ``model`` by JSON name."""
    found: dict[str, _Slot] = {}
    for name, info in model.model_fields.items():
        inner, repeated, metadata = _unwrap(info.annotation)
        key = info.alias or name
        min_items = next((m.min_length for m in info.metadata if isinstance(m, MinLen)), 0)
        max_length = _max_length([*metadata, *info.metadata])  # a repeated string's: each item's
        found[key] = _Slot(key, _kind(inner), inner, repeated, info.is_required(), max_length, min_items)
    return found


# -- the walk ------------------------------------------------------------------------------------------------


class _Refused(Exception):
    def __init__(self, why: str, path: str | None) -> None:
        super().__init__(why)
        self.why = why
        self.path = path


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _rule_name(step: Step, up: bool, type_name: str, key: str) -> str:
    arrow = f"{step.lower}→{step.upper}" if up else f"{step.upper}→{step.lower}"
    return f"{arrow} {type_name}.{key}"


def _enum_rule_name(step: Step, up: bool, enum_name: str, value: str) -> str:
    arrow = f"{step.lower}→{step.upper}" if up else f"{step.upper}→{step.lower}"
    return f"{arrow} {enum_name} {value}"


_NO_RULE = TypeRule()


def lossy_rules() -> dict[str, str]:
    """Every lossy rule of the table, by the name a :class:`Loss` gives it (``Loss.rule``) → what it does not keep."""
    found: dict[str, str] = {}
    for step in STEPS:
        for (lower, upper), rule in step.types.items():
            for field in rule.fields:
                for up, way, type_name, key in (
                    (True, field.up, lower, field.lower or field.upper),
                    (False, field.down, upper, field.upper or field.lower),
                ):
                    lossy = isinstance(way, Fill | Drop) or (isinstance(way, Convert) and not way.lossless)
                    if lossy and key is not None:
                        found[_rule_name(step, up, type_name, key)] = way.why
        for name, enum_rule in step.enums.items():
            for up, values in ((True, enum_rule.up), (False, enum_rule.down)):
                for value, mapped in values.items():
                    if mapped.to is not None and not mapped.lossless:
                        found[_enum_rule_name(step, up, name, value)] = mapped.why
    return found


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one step does with one pair of types, one way: worked out once per pair and kept."""

    fields: tuple[Field, ...]
    named: frozenset[str]
    """The sending side's keys the table's fields handle."""
    implicit: Mapping[str, tuple[_Slot, _Slot, bool]]
    """Every other key: its slot, its counterpart's, and whether the value is copied as it is."""
    sending: Mapping[str, _Slot]
    receiving: Mapping[str, _Slot]
    adjust: Any


_PLANS: dict[tuple[int, bool, type[OcppModel], type[OcppModel]], _Plan] = {}


def _plan(step: Step, up: bool, sender: type[OcppModel], receiver: type[OcppModel]) -> _Plan:
    cache_key = (id(step), up, sender, receiver)
    found = _PLANS.get(cache_key)
    if found is not None:
        return found
    pair = (sender.__name__, receiver.__name__) if up else (receiver.__name__, sender.__name__)
    rule = step.types.get(pair, _NO_RULE)
    sending, receiving = _slots(sender), _slots(receiver)
    named = frozenset(key for field in rule.fields if (key := field.lower if up else field.upper) is not None)
    implicit: dict[str, tuple[_Slot, _Slot, bool]] = {}
    for key, slot in sending.items():
        counterpart = receiving.get(key)
        if key in named or counterpart is None:
            continue
        plain = slot.kind not in ("model", "enum") and (slot.kind != "str" or counterpart.max_length is None)
        implicit[key] = (slot, counterpart, plain)
    adjust = rule.adjust_up if up else rule.adjust_down
    made = _Plan(rule.fields, named, implicit, sending, receiving, adjust)
    _PLANS[cache_key] = made
    return made


class _Here:
    """The :class:`~ocpprpc.messages.translation_table.Context` a conversion function of the table gets."""

    __slots__ = ("_path", "_rule", "_run", "source")

    def __init__(self, run: _Run, source: Mapping[str, Any], path: str, rule: str) -> None:
        self._run = run
        self.source = source
        self._path = path
        self._rule = rule

    def nested(self, value: Mapping[str, Any], lower: str, upper: str, index: int | None = None) -> dict[str, Any]:
        run = self._run
        source = _model_named(run.sender, lower if run.up else upper)
        target = _model_named(run.receiver, upper if run.up else lower)
        path = self._path if index is None else f"{self._path}[{index}]"
        return run.object(value, source, target, path)

    def refuse(self, why: str, field: str | None = None) -> NoReturn:
        raise _Refused(why, self._path if field is None else _join(self._path, field))

    def lost(self, why: str) -> None:
        self._run.losses.append(Loss(self._rule, self._run.sender, self._path, why))


class _Run:
    """One step of one translation: the JSON of the sending version → the JSON of the receiving one."""

    def __init__(self, step: Step, up: bool, losses: list[Loss]) -> None:
        self.step = step
        self.up = up
        self.sender, self.receiver = (step.lower, step.upper) if up else (step.upper, step.lower)
        self.losses = losses

    def object(
        self, source: Mapping[str, Any], sender: type[OcppModel], receiver: type[OcppModel], path: str
    ) -> dict[str, Any]:
        plan = _plan(self.step, self.up, sender, receiver)
        out: dict[str, Any] = {}
        for field in plan.fields:
            self._field(field, source, plan, sender.__name__, path, out)
        implicit = plan.implicit
        for key, value in source.items():
            if value is None:
                continue
            found = implicit.get(key)
            if found is None:
                if key in plan.named:
                    continue
                # the coverage test keeps this from happening
                raise _Refused(f"the table has no rule for {sender.__name__}.{key}", _join(path, key))
            slot, counterpart, plain = found
            out[key] = value if plain else self.value(value, slot, counterpart, _join(path, key))
        if plan.adjust is not None:
            plan.adjust(source, out, _Here(self, source, path, f"{sender.__name__} (adjusted)"))
        return out

    def _field(
        self, field: Field, source: Mapping[str, Any], plan: _Plan, sender_name: str, path: str, out: dict[str, Any]
    ) -> None:
        key, to = (field.lower, field.upper) if self.up else (field.upper, field.lower)
        way = field.up if self.up else field.down
        value = None if key is None else source.get(key)
        here = _join(path, key or to or "")
        if isinstance(way, Unset):
            return
        if isinstance(way, Refuse):
            if value is not None:
                raise _Refused(f"{here} is set: {way.why}", here)
            return
        name = _rule_name(self.step, self.up, sender_name, key or to or "")
        if isinstance(way, Drop):
            if value is not None:
                self.losses.append(Loss(name, self.sender, here, f"{key} is left out: {way.why}"))
            return
        if isinstance(way, Convert):
            if value is not None:
                result = way.function(value, _Here(self, source, here, name))
                if result is not None:
                    if to is None:  # the coverage test keeps this from happening
                        raise _Refused(f"the table gives {sender_name}.{key} no counterpart", here)
                    out[to] = result
            return
        if to is None:  # the coverage test keeps this from happening
            raise _Refused(f"the table gives {sender_name}.{key} no counterpart", here)
        if value is None:
            if isinstance(way, Fill):
                out[to] = way.function(_Here(self, source, here, name))
                self.losses.append(Loss(name, self.sender, here, f"{to} was not given: {way.why}"))
            elif isinstance(way, Needed):
                raise _Refused(f"{here} is not given: {way.why}", here)
            return
        if isinstance(way, Needed) and value == []:
            raise _Refused(f"{here} is empty: {way.why}", here)
        assert key is not None and isinstance(way, Copy | Fill | Needed)
        out[to] = self.value(value, plan.sending[key], plan.receiving[to], here)

    def value(self, value: Any, slot: _Slot, counterpart: _Slot, path: str) -> Any:
        if slot.repeated:
            return [self._one(item, slot, counterpart, f"{path}[{i}]") for i, item in enumerate(value)]
        return self._one(value, slot, counterpart, path)

    def _one(self, value: Any, slot: _Slot, counterpart: _Slot, path: str) -> Any:
        kind = slot.kind
        if kind == "model":
            return self.object(value, slot.type, counterpart.type, path)
        if kind == "enum":
            return self._enum(value, slot.type_name, path)
        if kind == "str" and counterpart.max_length is not None and len(value) > counterpart.max_length:
            raise _Refused(
                f"{path} is {len(value)} characters long and OCPP {self.receiver} allows "
                f"{counterpart.max_length}; shortened, it would be another value",
                path,
            )
        return value

    def _enum(self, value: str, enum_name: str, path: str) -> str:
        rule: EnumRule | None = self.step.enums.get(enum_name)
        if rule is None:
            return value
        mapped = (rule.up if self.up else rule.down).get(value)
        if mapped is None:
            return value
        if mapped.to is None:
            raise _Refused(f"{path} is {value}: {mapped.why}", path)
        if not mapped.lossless:
            name = _enum_rule_name(self.step, self.up, enum_name, value)
            self.losses.append(Loss(name, self.sender, path, f"{value} becomes {mapped.to}: {mapped.why}"))
        return mapped.to


def _steps_between(source: str, target: str) -> Iterator[tuple[Step, bool]]:
    """The table's steps from ``source`` to ``target``, each with True when it goes up (towards 1.6)."""
    start, end = TRANSLATABLE_VERSIONS.index(source), TRANSLATABLE_VERSIONS.index(target)
    if start < end:
        for step in STEPS[start:end]:
            yield step, True
    else:
        for step in reversed(STEPS[end:start]):
            yield step, False


# -- the API ---------------------------------------------------------------------------------------------------


def translatable(action: str, from_version: str, to_version: str) -> str | None:
    """None when the action exists in both versions (messages may still fail field by field), else the reason."""
    source, target = resolve_version(from_version).version, resolve_version(to_version).version
    if source not in TRANSLATABLE_VERSIONS or target not in TRANSLATABLE_VERSIONS:
        return None if source == target and action in _actions_of(source) else _OUTSIDE
    if action not in _ACTIONS[source]:
        return f"OCPP {source} has no action {action}"
    for step, up in _steps_between(source, target):
        receiver = step.upper if up else step.lower
        if action not in _ACTIONS[receiver]:
            return step.new_actions.get(action, f"OCPP {receiver} has no action {action}")
    return None


def _actions_of(version: str) -> set[str]:
    return {spec.name for spec in VERSIONS[version].actions}


def translate(message: OcppModel, to_version: str) -> OcppModel:
    """The same message (request or response of an action, of any of 1.2 / 1.5 / 1.6) in ``to_version``.

    Same version: returned as is. Raises NotTranslatable naming the reason when the target version has no
    such action, or a field that is set cannot be expressed there (never dropped silently).
    """
    return translate_with_losses(message, to_version)[0]


def translate_with_losses(message: OcppModel, to_version: str) -> tuple[OcppModel, tuple[Loss, ...]]:
    """:func:`translate`, and the lossy rules of the table that applied to this message (empty: lossless)."""
    if not isinstance(message, OcppModel):
        raise UsageError(f"translate() takes a message model, not {type(message).__name__}")
    target = resolve_version(to_version).version
    found = _MESSAGES.get(type(message))
    if found is None:
        raise UsageError(f"{type(message).__name__} is not the request or response of an OCPP action")
    source, action, kind = found
    if source == target:
        return message, ()
    if source not in TRANSLATABLE_VERSIONS or target not in TRANSLATABLE_VERSIONS:
        raise NotTranslatable(_OUTSIDE, action=action, to_version=target)
    payload: dict[str, Any] = message.to_json_dict()
    losses: list[Loss] = []
    receiver = source
    for step, up in _steps_between(source, target):
        sender, receiver = receiver, (step.upper if up else step.lower)
        if action not in _ACTIONS[receiver]:
            reason = step.new_actions.get(action, f"OCPP {receiver} has no action {action}")
            raise NotTranslatable(reason, action=action, to_version=target)
        run = _Run(step, up, losses)
        try:
            payload = run.object(
                payload, _message_model(sender, action, kind), _message_model(receiver, action, kind), ""
            )
        except _Refused as refused:
            raise NotTranslatable(
                f"{refused.why} (OCPP {sender} → {receiver})", action=action, to_version=target, field=refused.path
            ) from None
    model = _message_model(target, action, kind)
    try:
        return model.model_validate(payload), tuple(losses)
    except ValidationError as exc:  # the table's rules make valid messages; this says where one did not
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise NotTranslatable(
            f"{where}: {error['msg']} (OCPP {target})", action=action, to_version=target, field=where or None
        ) from None
