"""OCPP 1.6 models against the Open Charge Alliance's official OCPP-J JSON schemas.

The official schemas ship in the PyPI package ``ocpp`` (a dev dependency). For every 1.6 action, the JSON
schema of the request and response models (what ``model_json_schema`` says, which is what validation
enforces) must state the same facts as the official one at every level of nesting: properties, required
fields, ``additionalProperties``, JSON types (integer vs number vs string), enumerations, formats
(``date-time``, ``uri``), ``maxLength``, ``minItems`` / ``maxItems`` and ``multipleOf``. Every difference
is listed in ``INTENDED`` with its reason; a new one, or one that went away, fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ocpprpc.messages import v16
from ocpprpc.messages._base import OcppModel

ocpp = pytest.importorskip("ocpp", reason="the `ocpp` package (official 1.6 JSON schemas) is not installed")
SCHEMAS = Path(ocpp.__file__).parent / "v16" / "schemas"

SCALAR_FACTS = ("type", "enum", "format", "maxLength", "minItems", "maxItems", "multipleOf")
OBJECT_FACTS = ("properties", "required", "additionalProperties")

Facts = dict[str, dict[str, Any]]  # path → fact → value
Difference = tuple[str, str, str]  # (schema file, path, fact)

_WSDL_MIN_ONE_PERIOD = (
    "the WSDL's ChargingSchedule has chargingSchedulePeriod minOccurs=1 (a schedule without a period means "
    "nothing); the JSON schemas leave minItems out. The model follows the WSDL"
)
_CELCIUS = (
    "Celcius (sic) is accepted on input as Celsius (see UnitOfMeasure._missing_) and never emitted, so the "
    "model's schema lists only the WSDL's value"
)

INTENDED: dict[Difference, tuple[Any, Any, str]] = {
    # (file, path, fact): (ours, official, why). For enumerations: (values only we have, values only they have).
    ("GetCompositeScheduleResponse.json", "/chargingSchedule/chargingSchedulePeriod", "minItems"): (
        1,
        None,
        _WSDL_MIN_ONE_PERIOD,
    ),
    ("RemoteStartTransaction.json", "/chargingProfile/chargingSchedule/chargingSchedulePeriod", "minItems"): (
        1,
        None,
        _WSDL_MIN_ONE_PERIOD,
    ),
    ("SetChargingProfile.json", "/csChargingProfiles/chargingSchedule/chargingSchedulePeriod", "minItems"): (
        1,
        None,
        _WSDL_MIN_ONE_PERIOD,
    ),
    ("StopTransaction.json", "/transactionData[]/sampledValue", "minItems"): (
        1,
        None,
        "StopTransaction's transactionData holds the WSDL's MeterValue type, whose sampledValue has minOccurs=1, as "
        "MeterValues.json itself says (minItems 1) for the same type; StopTransaction.json leaves it out",
    ),
    ("StopTransaction.json", "/transactionData[]/sampledValue[]/unit", "enum"): ((), ("Celcius",), _CELCIUS),
    ("MeterValues.json", "/meterValue[]/sampledValue[]/unit", "enum"): (
        (),
        ("Celcius", "Hertz"),
        _CELCIUS + ". Hertz is in MeterValues.json only (not in StopTransaction.json, which holds the same "
        "SampledValue type, nor in the WSDL): refused, as the WSDL says",
    ),
}


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    for key in ("anyOf", "allOf"):
        if key in schema:
            options = [_resolve(s, defs) for s in schema[key] if s.get("type") != "null"]
            if len(options) == 1:
                return options[0]
    return schema


def _facts(schema: dict[str, Any], defs: dict[str, Any], path: str = "", out: Facts | None = None) -> Facts:
    """What a schema says at every path: ``/a/b`` for properties, ``[]`` for the items of an array."""
    out = {} if out is None else out
    schema = _resolve(schema, defs)
    here: dict[str, Any] = {fact: schema[fact] for fact in SCALAR_FACTS if fact in schema}
    if "enum" in here:
        here["enum"] = sorted(here["enum"])
    if schema.get("type") == "object":  # additionalProperties on a string (the official enums) means nothing
        here["properties"] = sorted(schema.get("properties", {}))
        here["required"] = sorted(schema.get("required", []))
        here["additionalProperties"] = schema.get("additionalProperties", True)
    out[path or "/"] = here
    if schema.get("type") == "array":
        _facts(schema["items"], defs, path + "[]", out)
    for name, sub in schema.get("properties", {}).items():
        _facts(sub, defs, f"{path}/{name}", out)
    return out


def _cases() -> list[tuple[type[OcppModel], str]]:
    cases: set[tuple[type[OcppModel], str]] = {(spec.request, f"{spec.name}.json") for spec in v16.VERSION.actions}
    cases |= {(spec.response, f"{spec.name}Response.json") for spec in v16.VERSION.actions}
    return sorted(cases, key=lambda case: case[1])


def _official(schema_file: str) -> Facts:
    return _facts(json.loads((SCHEMAS / schema_file).read_text(encoding="utf-8")), {})


def _ours(model: type[OcppModel]) -> Facts:
    schema = model.model_json_schema(by_alias=True)
    return _facts(schema, schema.get("$defs", {}))


def _differences(schema_file: str, ours: Facts, official: Facts) -> dict[Difference, tuple[Any, Any]]:
    found: dict[Difference, tuple[Any, Any]] = {}
    for path in sorted(set(ours) | set(official)):
        mine, theirs = ours.get(path), official.get(path)
        if mine is None or theirs is None:
            found[(schema_file, path, "(path)")] = (mine is not None, theirs is not None)
            continue
        for fact in sorted(set(mine) | set(theirs)):
            if mine.get(fact) == theirs.get(fact):
                continue
            if fact == "enum" and "enum" in mine and "enum" in theirs:
                only_mine = tuple(sorted(set(mine["enum"]) - set(theirs["enum"])))
                only_theirs = tuple(sorted(set(theirs["enum"]) - set(mine["enum"])))
                found[(schema_file, path, fact)] = (only_mine, only_theirs)
            else:
                found[(schema_file, path, fact)] = (mine.get(fact), theirs.get(fact))
    return found


@pytest.mark.parametrize(("model", "schema_file"), _cases(), ids=lambda x: x if isinstance(x, str) else "")
def test_v16_model_says_what_the_official_json_schema_says_at_every_level(
    model: type[OcppModel], schema_file: str
) -> None:
    found = _differences(schema_file, _ours(model), _official(schema_file))
    expected = {key: value[:2] for key, value in INTENDED.items() if key[0] == schema_file}
    assert found == expected, "a difference from the official schema: fix the model, or list it in INTENDED"


def test_every_intended_difference_names_a_schema_of_a_v16_action_and_a_reason() -> None:
    files = {schema_file for _, schema_file in _cases()}
    for (schema_file, _, _), (_, _, why) in INTENDED.items():
        assert schema_file in files
        assert len(why) > 40


def test_the_comparison_covers_every_kind_of_fact_at_nested_levels() -> None:
    """The walk is not vacuous: each fact kind occurs in the official schemas, and below the top level."""
    seen: dict[tuple[str, Any], int] = {}
    nested: set[str] = set()
    for _, schema_file in _cases():
        for path, facts in _official(schema_file).items():
            for fact, value in facts.items():
                key = (fact, value if fact in ("type", "format") else None)
                seen[key] = seen.get(key, 0) + 1
                if path.count("/") > 1 or "[]" in path:
                    nested.add(fact if fact not in ("type", "format") else f"{fact}={value}")
    for kind in ("integer", "number", "string", "boolean", "object", "array"):
        assert seen.get(("type", kind)), kind
    for fmt in ("date-time", "uri"):
        assert seen.get(("format", fmt)), fmt
    for fact in ("enum", "maxLength", "minItems", "multipleOf", "required", "additionalProperties"):
        assert seen.get((fact, None)), fact
    assert {"type=number", "type=integer", "format=date-time", "enum", "maxLength", "minItems", "multipleOf"} <= nested


def test_the_listed_enumeration_differences_behave_as_their_reasons_say() -> None:
    reading = {"value": "50", "unit": "Celcius"}
    assert v16.SampledValue.model_validate(reading).to_json_dict()["unit"] == "Celsius"
    with pytest.raises(ValidationError):
        v16.SampledValue.model_validate({"value": "50", "unit": "Hertz"})


def test_every_official_v16_core_schema_has_a_model() -> None:
    names = {spec.name for spec in v16.VERSION.actions}
    assert len(names) == 28
    for name in names:
        assert (SCHEMAS / f"{name}.json").exists(), name
