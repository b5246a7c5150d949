"""``python -m codegen.translation [--out PATH]``: write the guide page on translating between OCPP versions.

What: ``docs/guide/translation.md``, from the translation table (``ocpprpc.messages.translation_table``)
read against the generated models: per step (1.5 ⇄ 1.6, then 1.2 ⇄ 1.5) the actions only the newer version
has, then per action the field map of its request and response (every field that is not simply the same,
and the list of those that are), then the enumerations whose values differ, value by value. Each cell
says what happens going up and going down: same, renamed, converted, filled, left unset, dropped or
refused, and whether it is lossless.

The same walk (:func:`field_map`) gives the coverage test its rows: a field the table does not cover, or
a rule that no longer matches the models, becomes a row with ``problems``, and the test fails on it.

Why generated: the page can then never disagree with the table the engine applies; ``tests/
test_translation.py`` fails when the committed page differs from what this writes.
"""

from __future__ import annotations

import argparse
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ocpprpc.messages._base import OcppModel
from ocpprpc.messages.translation_table import (
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
    Value,
    Way,
)
from ocpprpc.translation import _ACTIONS, Kind, _message_model, _model_named, _Slot, _slots

__all__ = ["DEFAULT_OUT", "Row", "enum_problems", "field_map", "main", "render"]

REPO: Final = Path(__file__).resolve().parents[1]
DEFAULT_OUT: Final = REPO / "docs" / "guide" / "translation.md"
KINDS: Final[tuple[Kind, ...]] = ("request", "response")


@dataclass(frozen=True)
class Row:
    """One field of a pair of types and what the table does with it, each way."""

    lower: str | None
    """Its JSON path in the lower version (``meterValue[].sampledValue[].phase``); None: only the upper has it."""
    upper: str | None
    lower_slot: _Slot | None
    upper_slot: _Slot | None
    field: Field | None
    """The table's rule; None: the same on both sides (not named by the table)."""
    problems: tuple[str, ...] = ()
    """Why the table does not cover this field as the models now are (the coverage test fails on any)."""

    @property
    def same(self) -> bool:
        """Not named by the table, nothing to say either way (no narrower length, no enumeration rule)."""
        return self.field is None and not self.notes(True) and not self.notes(False)

    def notes(self, up: bool) -> list[str]:
        sending, receiving = (self.lower_slot, self.upper_slot) if up else (self.upper_slot, self.lower_slot)
        if sending is None or receiving is None:
            return []
        notes: list[str] = []
        if receiving.max_length is not None and (sending.max_length or 10**9) > receiving.max_length:
            notes.append(f"refused over {receiving.max_length} characters")
        if sending.kind == "enum" and _differs(sending.type, receiving.type):
            notes.append(f"values: see {sending.type_name} below")
        return notes


def _differs(lower: type, upper: type) -> bool:
    return _values(lower) != _values(upper)


def _values(enumeration: type) -> list[str]:
    assert issubclass(enumeration, enum.Enum)
    return [str(member.value) for member in enumeration]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _copies(way: Way) -> bool:
    return isinstance(way, Copy | Fill | Needed)


def _compatible(step: Step, lower: _Slot, upper: _Slot, up: Way | None, down: Way | None) -> list[str]:
    """Why ``lower`` and ``upper`` cannot be copied into each other as they are (empty: they can)."""
    problems: list[str] = []
    if lower.kind != upper.kind or lower.repeated != upper.repeated:
        held = f"{lower.kind}{'[]' if lower.repeated else ''} / {upper.kind}{'[]' if upper.repeated else ''}"
        problems.append(f"holds another type in each version ({held}): the table needs a rule")
    if lower.kind == "enum" and upper.kind == "enum":
        if lower.type_name != upper.type_name:
            problems.append(f"enumeration {lower.type_name} in {step.lower}, {upper.type_name} in {step.upper}")
        else:
            problems.extend(enum_problems(step, lower.type, upper.type))
    if upper.required and not lower.required and not isinstance(up, Fill | Needed):
        problems.append(f"optional in {step.lower}, required in {step.upper}: going up needs Fill or Needed")
    if lower.required and not upper.required and not isinstance(down, Fill | Needed):
        problems.append(f"optional in {step.upper}, required in {step.lower}: going down needs Fill or Needed")
    if upper.min_items > lower.min_items and not isinstance(up, Needed):
        problems.append(f"{step.upper} requires {upper.min_items} item(s), {step.lower} fewer: going up needs Needed")
    if lower.min_items > upper.min_items and not isinstance(down, Needed):
        problems.append(f"{step.lower} requires {lower.min_items} item(s), {step.upper} fewer: going down needs Needed")
    return problems


def _way_problems(step: Step, field: Field) -> list[str]:
    problems: list[str] = []
    absent = (Unset, Fill)
    gone = (Refuse, Drop, Convert)
    if field.lower is None and not (isinstance(field.up, absent) and isinstance(field.down, gone)):
        problems.append(f"only {step.upper} has it: going up is Unset or Fill, going down Refuse, Drop or Convert")
    if field.upper is None and not (isinstance(field.down, absent) and isinstance(field.up, gone)):
        problems.append(f"only {step.lower} has it: going down is Unset or Fill, going up Refuse, Drop or Convert")
    if field.lower is not None and field.upper is not None:
        for way in (field.up, field.down):
            if isinstance(way, Unset | Drop):
                problems.append(f"both versions have it: {type(way).__name__} makes no sense")
    return problems


def field_map(step: Step, lower: type[OcppModel], upper: type[OcppModel], at: tuple[str, str] = ("", "")) -> list[Row]:
    """Every field of the pair (``lower``, ``upper``) and of the pairs it nests, with the table's rule for it."""
    rule: TypeRule = step.types.get((lower.__name__, upper.__name__), TypeRule())
    low, high = _slots(lower), _slots(upper)
    rows: list[Row] = []
    named_low = {field.lower for field in rule.fields if field.lower is not None}
    named_high = {field.upper for field in rule.fields if field.upper is not None}
    for field in rule.fields:
        lower_slot = None if field.lower is None else low.get(field.lower)
        upper_slot = None if field.upper is None else high.get(field.upper)
        paths = (
            None if field.lower is None else _join(at[0], field.lower),
            None if field.upper is None else _join(at[1], field.upper),
        )
        problems = _way_problems(step, field)
        for key, slot, version in ((field.lower, lower_slot, step.lower), (field.upper, upper_slot, step.upper)):
            if key is not None and slot is None:
                problems.append(f"{version} has no field {key} here any more")
        nested: list[Row] = []
        if lower_slot is not None and upper_slot is not None:
            if _copies(field.up) and _copies(field.down):
                problems.extend(_compatible(step, lower_slot, upper_slot, field.up, field.down))
                if lower_slot.kind == "model" and upper_slot.kind == "model":
                    nested = field_map(step, lower_slot.type, upper_slot.type, _nested_at(paths, lower_slot))
            for way in (field.up, field.down):
                if isinstance(way, Convert):
                    for lower_name, upper_name in way.via:
                        pair = (_model_named(step.lower, lower_name), _model_named(step.upper, upper_name))
                        at_pair = (f"{paths[0]}{way.via_at[0]}", f"{paths[1]}{way.via_at[1]}")
                        nested = field_map(step, *pair, at_pair)
        rows.append(Row(paths[0], paths[1], lower_slot, upper_slot, field, tuple(problems)))
        rows.extend(nested)
    for key in [*low, *(key for key in high if key not in low)]:
        lower_slot = None if key in named_low else low.get(key)
        upper_slot = None if key in named_high else high.get(key)
        if lower_slot is None and upper_slot is None:
            continue
        paths = (None if lower_slot is None else _join(at[0], key), None if upper_slot is None else _join(at[1], key))
        if lower_slot is None or upper_slot is None:
            version = step.upper if lower_slot is None else step.lower
            problem = f"only {version} has it, and the table says nothing"
            rows.append(Row(*paths, lower_slot, upper_slot, None, (problem,)))
            continue
        rows.append(
            Row(*paths, lower_slot, upper_slot, None, tuple(_compatible(step, lower_slot, upper_slot, None, None)))
        )
        if lower_slot.kind == "model" and upper_slot.kind == "model":
            rows.extend(field_map(step, lower_slot.type, upper_slot.type, _nested_at(paths, lower_slot)))
    return rows


def _nested_at(paths: tuple[str | None, str | None], slot: _Slot) -> tuple[str, str]:
    suffix = "[]" if slot.repeated else ""
    return (f"{paths[0]}{suffix}", f"{paths[1]}{suffix}")


def enum_problems(step: Step, lower: type, upper: type) -> list[str]:
    """Why the table's rule for this enumeration does not cover it (empty: every value, both ways)."""
    rule: EnumRule = step.enums.get(lower.__name__, EnumRule())
    low, high = _values(lower), _values(upper)
    problems: list[str] = []
    for sending, receiving, rules, back, arrow in (
        (low, high, rule.up, rule.down, f"{step.lower}→{step.upper}"),
        (high, low, rule.down, rule.up, f"{step.upper}→{step.lower}"),
    ):
        for value in rules:
            if value not in sending:
                problems.append(f"{lower.__name__} {arrow}: the table names {value}, which is no value any more")
        for value in sending:
            mapped = rules.get(value)
            target = value if mapped is None else mapped.to
            if mapped is None and value not in receiving:
                problems.append(f"{lower.__name__} {arrow}: {value} has no counterpart and no rule")
                continue
            if target is None:
                continue
            if target not in receiving:
                problems.append(f"{lower.__name__} {arrow}: {value} becomes {target}, which is no value there")
            returned = back.get(target)
            comes_back = target if returned is None else returned.to
            lossless = mapped is None or mapped.lossless
            if lossless and comes_back != value and not (mapped is not None and mapped.restored_by):
                problems.append(f"{lower.__name__} {arrow}: {value} is lossless but comes back as {comes_back}")
            if not lossless and comes_back == value:
                problems.append(f"{lower.__name__} {arrow}: {value} is marked lossy but comes back as it was")
    return problems


# -- the page ------------------------------------------------------------------------------------------------

INTRO = """\
<!-- Generated by `python -m codegen.translation` from ocpprpc.messages.translation_table: do not edit. -->
# Translating between OCPP versions

`ocpprpc.translation.translate(message, to_version)` gives the same message — a request or a response of
any action of OCPP 1.2, 1.5 or 1.6 — in another of those versions. It is what lets a handler written once
for 1.6 serve 1.2 and 1.5 charge points (a role class with `canonical = "1.6"` translates for you), and a
gateway put installed 1.5 chargers on a 1.6 platform. It is faithful: what the other version can say is
said, and what it cannot is refused with `NotTranslatable` (a `UsageError`) naming the action, the field
and the reason. Nothing is dropped silently.

```python
from datetime import UTC, datetime

from ocpprpc.messages import v15, v16
from ocpprpc.translation import NotTranslatable, translate, translate_with_losses

old = v15.StatusNotificationRequest(connector_id=1, status="Occupied", error_code="Mode3Error")
new = translate(old, "1.6")
assert isinstance(new, v16.StatusNotificationRequest)
print(new.status.value, new.error_code.value)

reading = v16.MeterValuesRequest(
    connector_id=1,
    meter_value=[
        v16.MeterValue(
            timestamp=datetime(2026, 11, 24, 10, tzinfo=UTC),
            sampled_value=[v16.SampledValue(value="16.2", measurand="Current.Import", unit="A", phase="L1")],
        )
    ],
)
try:
    translate(reading, "1.5")
except NotTranslatable as refused:
    print(refused.action, refused.to_version, refused.field)

finishing = v16.StatusNotificationRequest(connector_id=1, status="Finishing", error_code="NoError")
down, losses = translate_with_losses(finishing, "1.5")
assert isinstance(down, v15.StatusNotificationRequest)
print(down.status.value, [loss.rule for loss in losses])
```

<!-- test: output -->
```text
Charging EVCommunicationError
MeterValues 1.5 meterValue[0].sampledValue[0].phase
Occupied ['1.6→1.5 ChargePointStatus Finishing']
```

`translatable(action, from_version, to_version)` says beforehand whether the action exists in both
versions (None) or why not; a message may still be refused field by field.

## How it works, and the words below

A 1.2 message reaches 1.6 through 1.5, and back: two steps, **1.5 ⇄ 1.6** and **1.2 ⇄ 1.5**. **Up** is
towards 1.6, **down** towards 1.2. Each step lists only what differs; a field it does not name has the
same name, type and meaning on both sides and is copied, nested objects and enumerated values by their
own rules.

- **Going up** succeeds for every valid message, with two exceptions: a string longer than the newer
  version allows (1.2's WSDL bounds no string, 1.5 bounds fewer than 1.6), refused because a shortened
  idTag, key or vendor id would name something else; and a MeterValues without any reading, since 1.6
  requires one. Where the newer version requires what the older one may leave out, a documented neutral
  value is filled in.
- **Going down** refuses whatever the older version cannot say: an action it lacks, a field it lacks
  that is set, a value it has no counterpart for.
- **Lossless** means that translating the result back gives the original. Some rules are **lossy**: 1.6's
  Preparing, Charging, SuspendedEV, SuspendedEVSE and Finishing all go to 1.5 as Occupied, which comes
  back as Charging. `translate_with_losses()` returns the lossy rules that applied to a message, e.g.
  for a log line.
"""


def _say(way: Way | None, notes: Sequence[str]) -> str:
    """One direction of one field, for a table cell."""
    match way:
        case None:
            text = "same"
        case Copy():
            text = way.why or "same"
        case Fill():
            text = f"copied; {way.why} (lossy when filled)"
        case Needed():
            text = way.why
        case Convert():
            text = f"converted: {way.why}" + ("" if way.lossless else " (lossy)")
        case Unset():
            text = f"left unset: {way.why}"
        case Drop():
            text = f"**dropped** (lossy): {way.why}"
        case Refuse():
            text = f"**refused** when set: {way.why}"
    return "; ".join([text, *notes])


def _code(path: str | None) -> str:
    return "—" if path is None else f"`{path}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _action_section(step: Step, action: str, out: list[str]) -> None:
    out.append(f"### {action}\n")
    for kind in KINDS:
        rows = field_map(step, _message_model(step.lower, action, kind), _message_model(step.upper, action, kind))
        same = [row.lower for row in rows if row.same and row.lower is not None]
        listed = [row for row in rows if not row.same]
        label = "Request" if kind == "request" else "Response"
        if not rows:
            out.append(f"{label}: no fields.\n")
            continue
        if not listed:
            out.append(f"{label}: every field the same in both, lossless both ways: {_codes(same)}.\n")
            continue
        out.append(f"{label}:\n")
        up, down = f"{step.lower} → {step.upper}", f"{step.upper} → {step.lower}"
        out.append(f"| OCPP {step.lower} | OCPP {step.upper} | {up} | {down} |")
        out.append("|---|---|---|---|")
        for row in listed:
            field = row.field
            up = _say(None if field is None else field.up, row.notes(True))
            down = _say(None if field is None else field.down, row.notes(False))
            out.append(f"| {_code(row.lower)} | {_code(row.upper)} | {_cell(up)} | {_cell(down)} |")
        out.append("")
        if same:
            out.append(f"Every other field the same in both, lossless both ways: {_codes(same)}.\n")
    for kind in KINDS:
        rule = step.types.get((_name(step.lower, action, kind), _name(step.upper, action, kind)))
        if rule is not None and rule.adjusts:
            out.append(f"Also: {rule.adjusts}.\n")


def _name(version: str, action: str, kind: Kind) -> str:
    return _message_model(version, action, kind).__name__


def _codes(paths: Iterable[str | None]) -> str:
    return ", ".join(f"`{path}`" for path in paths if path is not None)


def _enums(step: Step) -> list[tuple[type, type]]:
    """The pairs of enumerations the step's actions use whose values differ, by name."""
    found: dict[str, tuple[type, type]] = {}
    for action in sorted(set(_ACTIONS[step.lower]) & set(_ACTIONS[step.upper])):
        for kind in KINDS:
            rows = field_map(step, _message_model(step.lower, action, kind), _message_model(step.upper, action, kind))
            for row in rows:
                low, high = row.lower_slot, row.upper_slot
                if low is None or high is None or not low.kind == high.kind == "enum":
                    continue
                if _differs(low.type, high.type) or low.type_name in step.enums:
                    found[low.type_name] = (low.type, high.type)
    return [found[name] for name in sorted(found)]


def _enum_section(step: Step, lower: type, upper: type, out: list[str]) -> None:
    rule = step.enums.get(lower.__name__, EnumRule())
    low, high = _values(lower), _values(upper)
    out.append(f"#### {lower.__name__}\n")
    out.append(f"| value | {step.lower} → {step.upper} | {step.upper} → {step.lower} |")
    out.append("|---|---|---|")
    same: list[str] = []
    for value in [*low, *(value for value in high if value not in low)]:
        up = _value_cell(value, low, rule.up)
        down = _value_cell(value, high, rule.down)
        if up == down == "same":
            same.append(value)
            continue
        out.append(f"| `{value}` | {_cell(up)} | {_cell(down)} |")
    out.append("")
    if same:
        out.append(f"The same in both: {', '.join(f'`{value}`' for value in same)}.\n")


def _value_cell(value: str, sending: list[str], rules: Mapping[str, Value]) -> str:
    if value not in sending:
        return "—"
    mapped = rules.get(value)
    if mapped is None:
        return "same"
    if mapped.to is None:
        return f"**refused**: {mapped.why}"
    return f"`{mapped.to}`" + ("" if mapped.lossless else " (lossy)") + f": {mapped.why}"


def render() -> str:
    """The page, as Markdown."""
    out: list[str] = [INTRO]
    for step in reversed(STEPS):
        out.append(f"## OCPP {step.lower} ⇄ {step.upper}\n")
        new = sorted(set(_ACTIONS[step.upper]) - set(_ACTIONS[step.lower]))
        out.append(f"Actions only {step.upper} has: going down they are refused.\n")
        out.append("| action | why |")
        out.append("|---|---|")
        out.extend(f"| {action} | {_cell(step.new_actions.get(action, '(no reason given)'))} |" for action in new)
        out.append("")
        common = sorted(set(_ACTIONS[step.lower]) & set(_ACTIONS[step.upper]))
        plain = [a for a in common if all(row.same for k in KINDS for row in _rows(step, a, k))]
        out.append(f"Actions the same in both, every field lossless both ways: {', '.join(plain)}.\n")
        for action in common:
            if action not in plain:
                _action_section(step, action, out)
        out.append(f"### Enumerations {step.lower} ⇄ {step.upper}\n")
        out.append(
            "Values not listed are the same in both and kept. Each table lists every value of either version "
            "that is not simply kept; — where the sending version has no such value.\n"
        )
        for lower, upper in _enums(step):
            _enum_section(step, lower, upper, out)
    return "\n".join(out).rstrip() + "\n"


def _rows(step: Step, action: str, kind: Kind) -> list[Row]:
    return field_map(step, _message_model(step.lower, action, kind), _message_model(step.upper, action, kind))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the page to write (default: {DEFAULT_OUT})")
    arguments = parser.parse_args(argv)
    out: Path = arguments.out
    out.write_text(render(), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
