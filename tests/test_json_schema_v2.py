"""OCPP 2.0.1 and 2.1 models against the Open Charge Alliance's official JSON schemas they are generated from.

Three kinds of check, for both versions:

* **Parity, definition by definition.** Every official definition and every message has a Python type of
  the same name, and nothing else is generated. For each object, what our model's ``model_json_schema``
  says (which is what validation enforces) states the same facts as the official definition: properties,
  required ones, ``additionalProperties``, and for each property the referenced type, JSON type (integer
  vs number vs string vs boolean vs any), ``format``, ``maxLength``, ``minimum`` / ``maximum``, array
  ``minItems`` / ``maxItems`` and item facts, ``default``; each enumeration has the official values, in
  order. Every difference is listed in ``INTENDED`` with its reason; a new one, or one that went away,
  fails the test.
* **What we emit, the official schema accepts**: for every message, an example with every optional field
  and one with only the required ones, and random payloads (hypothesis, from the models' own
  constraints, vendor keys in ``customData`` included) read by the model and emitted again.
* **What the official schema refuses, we refuse**: for every message, each way of breaking its example
  (wrong JSON type, string too long, unknown enumeration value, extra key, missing required key, number
  out of range, a date-time that is not RFC 3339) is refused by the official schema and by the model,
  with the OCPP-J error code the library answers such a CALL with.

The official schemas are read from ``../shared/ocpp-json`` (or ``$OCPP_JSON_DIR``); without them these
tests skip.
"""

from __future__ import annotations

import copy
import enum
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, JsonValue, ValidationError
from pydantic.fields import FieldInfo

from ocpprpc._validation import error_from_validation
from ocpprpc.errors import (
    OccurrenceConstraintViolation,
    OcppError,
    PropertyConstraintViolation,
    TypeConstraintViolation,
)
from ocpprpc.messages._base import OcppModel, OcppOpenModel, OcppVersion
from ocpprpc.messages.examples import example

from .ocpp_json import AVAILABLE, MODULES, Schema, definitions, is_rfc3339, needs_json, schema_files

pytestmark = needs_json

VERSIONS = tuple(MODULES)

# --- the intended differences -----------------------------------------------------------------------------

_DEFAULT_NOT_FILLED = (
    "the official schema names a default, which tells a receiver what an absent field means; the model leaves an "
    "absent field absent (None) instead of filling it in, so a received message is emitted again as it was sent "
    "and a message we build carries only what its author set"
)

DEFAULTS: dict[tuple[str, str], Any] = {
    # (definition or message, property; "" for an enumeration's own default): the official default
    ("APNType", "useOnlyPreferredNetwork"): False,
    ("NotifyCustomerInformationRequest", "tbc"): False,
    ("NotifyDisplayMessagesRequest", "tbc"): False,
    ("NotifyEventRequest", "tbc"): False,
    ("NotifyMonitoringReportRequest", "tbc"): False,
    ("NotifyReportRequest", "tbc"): False,
    ("ReportChargingProfilesRequest", "tbc"): False,
    ("SetMonitoringDataType", "transaction"): False,
    ("TransactionEventRequest", "offline"): False,
    ("UnitOfMeasureType", "multiplier"): 0,
    ("UnitOfMeasureType", "unit"): "Wh",
    ("VariableAttributeType", "constant"): False,
    ("VariableAttributeType", "persistent"): False,
    ("AttributeEnumType", ""): "Actual",
    ("LocationEnumType", ""): "Outlet",
    ("MeasurandEnumType", ""): "Energy.Active.Import.Register",
    ("MutabilityEnumType", ""): "ReadWrite",
    ("ReadingContextEnumType", ""): "Sample.Periodic",
}
"""The same in 2.0.1 and 2.1."""

Difference = tuple[str, str, str, str]  # (version, definition or message, property or "", fact)

INTENDED: dict[Difference, tuple[Any, Any, str]] = {
    (version, owner, prop, "default"): (None, value, _DEFAULT_NOT_FILLED)
    for version in VERSIONS
    for (owner, prop), value in DEFAULTS.items()
}
"""(version, owner, property, fact): (ours, official, why)."""

INTEGRAL_FLOATS_FOR_INTEGERS = (
    "JSON Schema draft-06 counts 1.0 as an integer; the models refuse it for an integer field (a type fault, "
    "as for every OCPP version in ocpprpc: integers are strict), so this difference is one of behaviour, "
    "not of any one schema, and is pinned by its own test below"
)


# --- facts ------------------------------------------------------------------------------------------------

Facts = dict[str, Any]

_SCALAR_FACTS = ("type", "format", "maxLength", "minimum", "maximum", "minItems", "maxItems", "default")


def _ref_name(node: Schema) -> str:
    return str(node["$ref"]).rsplit("/", 1)[1]


def _official_property(node: Schema) -> Facts:
    facts: Facts = {fact: node[fact] for fact in _SCALAR_FACTS if fact in node}
    if "$ref" in node:
        facts["ref"] = _ref_name(node)
    elif "type" not in node:
        facts["type"] = "any JSON value"
    if node.get("type") == "array":
        facts["items"] = _official_property(node["items"])
    return facts


def _ours_property(node: Schema) -> Facts:
    options = [option for option in node.get("anyOf", [node]) if option.get("type") != "null"]
    assert len(options) == 1, node
    inner = {**options[0], **{k: v for k, v in node.items() if k not in ("anyOf", "description", "title")}}
    facts: Facts = {fact: inner[fact] for fact in _SCALAR_FACTS if fact in inner and inner[fact] is not None}
    if "$ref" in inner:
        if _ref_name(inner) == "JsonValue":
            facts["type"] = "any JSON value"
        else:
            facts["ref"] = _ref_name(inner)
    if inner.get("type") == "array":
        facts["items"] = _ours_property(inner["items"])
    return facts


def _object_facts(schema: Schema, describe: Callable[[Schema], Facts]) -> dict[str, Facts]:
    """``{"": the object's own facts, property: its facts}``."""
    properties: dict[str, Schema] = schema.get("properties", {})
    found: dict[str, Facts] = {
        "": {
            "properties": sorted(properties),
            "required": sorted(schema.get("required", [])),
            "additionalProperties": schema.get("additionalProperties", True),
        }
    }
    for name, node in properties.items():
        found[name] = describe(node)
    return found


def _enum_facts(schema: Schema) -> dict[str, Facts]:
    return {"": {"enum": list(schema["enum"]), **({"default": schema["default"]} if "default" in schema else {})}}


def _official(version: str, name: str) -> dict[str, Facts]:
    files = schema_files(version)
    schema = files[name] if name in files else definitions(version)[name]
    return _enum_facts(schema) if "enum" in schema else _object_facts(schema, _official_property)


def _python_type(version: str, name: str) -> type[OcppModel] | type[enum.Enum]:
    found: object = getattr(MODULES[version], name)
    assert isinstance(found, type) and issubclass(found, OcppModel | enum.Enum), name
    return found


def _ours(version: str, name: str) -> dict[str, Facts]:
    python_type = _python_type(version, name)
    if issubclass(python_type, enum.Enum):
        return _enum_facts({"enum": [member.value for member in python_type]})
    return _object_facts(python_type.model_json_schema(by_alias=True), _ours_property)


def _differences(version: str, name: str) -> dict[Difference, tuple[Any, Any]]:
    ours, official = _ours(version, name), _official(version, name)
    found: dict[Difference, tuple[Any, Any]] = {}
    for prop in sorted(set(ours) | set(official)):
        mine, theirs = ours.get(prop, {}), official.get(prop, {})
        for fact in sorted(set(mine) | set(theirs)):
            if mine.get(fact) != theirs.get(fact):
                found[(version, name, prop, fact)] = (mine.get(fact), theirs.get(fact))
    return found


def _names(version: str) -> list[str]:
    return sorted(set(definitions(version)) | set(schema_files(version)))


CASES = [(version, name) for version in VERSIONS for name in _names(version)] if AVAILABLE else []


@pytest.mark.parametrize(("version", "name"), CASES, ids=[f"{v}/{n}" for v, n in CASES])
def test_each_definition_and_message_says_what_the_official_schema_says(version: str, name: str) -> None:
    found = _differences(version, name)
    expected = {key: value[:2] for key, value in INTENDED.items() if key[:2] == (version, name)}
    assert found == expected, "a difference from the official schema: fix the generator, or list it in INTENDED"


@pytest.mark.parametrize("version", VERSIONS)
def test_one_python_type_per_official_definition_and_message_and_nothing_else(version: str) -> None:
    module = MODULES[version]
    generated = {name for name in module.__all__ if name != "VERSION"}
    assert generated == set(_names(version))
    assert len(definitions(version)) == {"2.0.1": 143, "2.1": 232}[version]


def test_every_intended_difference_names_a_definition_and_a_reason() -> None:
    for version, owner, prop, _ in INTENDED:
        assert prop in _official(version, owner), (version, owner, prop)
    assert all(len(why) > 40 for _, _, why in INTENDED.values())


def test_the_comparison_covers_every_kind_of_fact_and_every_python_type() -> None:
    """Not vacuous: each fact the comparison reads occurs in the official schemas, many times."""
    seen: dict[str, int] = {}
    for version in VERSIONS:
        for name in _names(version):
            for prop, facts in _official(version, name).items():
                for fact, value in facts.items():
                    key = f"{fact}={value}" if fact in ("type", "format") else fact
                    seen[key] = seen.get(key, 0) + 1
                    if fact == "items":
                        for item_fact in value:
                            seen["items." + item_fact] = seen.get("items." + item_fact, 0) + 1
                if prop == "" and facts.get("additionalProperties") is True:
                    seen["open object"] = seen.get("open object", 0) + 1
    for kind in ("integer", "number", "string", "boolean", "array", "any JSON value"):
        assert seen.get(f"type={kind}", 0) > 0, kind
    for fact in ("format=date-time", "maxLength", "minimum", "maximum", "minItems", "maxItems", "ref", "enum"):
        assert seen.get(fact, 0) > 0, fact
    for fact in ("items.ref", "items.type", "items.maxLength", "items.minimum", "default", "open object"):
        assert seen.get(fact, 0) > 0, fact


def test_descriptions_become_folded_docs_taken_from_the_schemas() -> None:
    folded = 0
    for version in VERSIONS:
        texts = {" ".join(str(d).split()) for d in _all_descriptions(version)}
        for name in _names(version):
            python_type = _python_type(version, name)
            if not issubclass(python_type, OcppModel):
                continue
            for info in python_type.model_fields.values():
                if info.description:
                    assert info.description in texts, (version, name, info.description)
                    assert "\r" not in info.description and "  " not in info.description
                    folded += 1
    assert folded > 1000
    assert (
        MODULES["2.0.1"].BootNotificationRequest.model_fields["reason"].description
        == "This contains the reason for sending this message to the CSMS."
    )
    assert MODULES["2.1"].IdTokenType.__doc__ == (
        "Contains a case insensitive identifier to use for the authorization and the type of authorization to "
        "support multiple forms of identifiers."
    )


def _all_descriptions(version: str) -> Iterator[object]:
    def walk(node: object) -> Iterator[object]:
        if isinstance(node, dict):
            for key, value in typing.cast(dict[str, object], node).items():
                if key == "description" and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)

    for schema in schema_files(version).values():
        yield from walk(schema)


# --- what we emit, the official schema accepts ------------------------------------------------------------

FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("date-time")(is_rfc3339)


@cache
def _validator(version: str, file: str) -> jsonschema.Draft6Validator:
    schema = schema_files(version)[file]
    jsonschema.Draft6Validator.check_schema(schema)
    return jsonschema.Draft6Validator(schema, format_checker=FORMATS)


def _messages(version: str) -> list[tuple[str, type[OcppModel]]]:
    """(schema file, model) of every request, response and SEND message of a version."""
    registry: OcppVersion = MODULES[version].VERSION
    found: set[tuple[str, type[OcppModel]]] = {(spec.request.__name__, spec.request) for spec in registry.actions}
    found |= {(spec.response.__name__, spec.response) for spec in registry.actions}
    found |= {(send.message.__name__, send.message) for send in registry.sends}
    return sorted(found, key=lambda item: item[0])


MESSAGES = [(v, file, model) for v in VERSIONS for file, model in _messages(v)] if AVAILABLE else []
_IDS = [f"{v}/{file}" for v, file, _ in MESSAGES]


def test_every_schema_file_is_a_message_of_the_registry() -> None:
    for version in VERSIONS:
        assert {file for file, _ in _messages(version)} == set(schema_files(version)), version


def _official_errors(version: str, file: str, payload: object) -> list[str]:
    """What the official schema says is wrong with ``payload`` (nothing: valid)."""
    validator: Any = _validator(version, file)  # jsonschema types instances as JSON, payloads here are objects
    return [str(error.message) for error in validator.iter_errors(payload)]


def _officially_refused(version: str, file: str, payload: object) -> bool:
    validator: Any = _validator(version, file)
    return next(iter(validator.iter_errors(payload)), None) is not None  # stops at the first error


@pytest.mark.parametrize(("version", "file", "model"), MESSAGES, ids=_IDS)
def test_the_official_schema_accepts_our_examples_with_and_without_the_optional_fields(
    version: str, file: str, model: type[OcppModel]
) -> None:
    for optional in (True, False):
        payload = example(model, optional=optional).to_json_dict()
        assert _official_errors(version, file, payload) == [], payload


_OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5, minutes=30))])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _constraint(metadata: list[Any], name: str) -> Any:
    for item in metadata:
        value = _constraint(list(item.metadata), name) if isinstance(item, FieldInfo) else getattr(item, name, None)
        if value is not None:
            return value
    return None


def _unwrap(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """(inner type, is a list, the inner type's constraints) of ``X``, ``X | None``, ``list[X]``, ``Annotated``."""
    metadata: list[Any] = []
    is_list = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation, *extra = typing.get_args(annotation)
            metadata += extra
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        elif origin is list:
            annotation, is_list = typing.get_args(annotation)[0], True
        else:
            return annotation, is_list, metadata


def _scalar(annotation: Any, constraints: list[Any]) -> st.SearchStrategy[Any]:
    """Wire values (JSON) of one field type, within its constraints and at their edges."""
    if isinstance(annotation, type) and issubclass(annotation, OcppModel):
        return _payloads(annotation)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return st.sampled_from([member.value for member in annotation])
    if annotation is str:
        limit = _constraint(constraints, "max_length")
        if limit is None:
            return st.text(max_size=12)
        if limit > 1000:
            return st.text(max_size=12)
        return st.text(max_size=min(limit, 12)) | st.text(min_size=limit, max_size=limit)
    if annotation is bool:
        return st.booleans()
    low, high = _constraint(constraints, "ge"), _constraint(constraints, "le")
    if annotation is int:
        return st.integers(-(2**31) if low is None else low, 2**31 - 1 if high is None else high)
    if annotation is Decimal:
        low, high = -1e9 if low is None else low, 1e9 if high is None else high
        return st.integers(int(low), int(high)) | st.floats(low, high, allow_nan=False, allow_infinity=False)
    if annotation in (datetime, AwareDatetime):
        moments = st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1), timezones=_OFFSETS)
        return moments.map(lambda moment: moment.isoformat())
    if annotation is JsonValue:
        return _JSON
    raise TypeError(f"no strategy for {annotation!r}")


@cache
def _payloads(model: type[OcppModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid OCPP-J payloads of ``model``, drawn from its fields' constraints; vendor keys in an open object."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        inner, is_list, item_constraints = _unwrap(info.annotation)
        if is_list:
            low, high = _constraint(info.metadata, "min_length") or 0, _constraint(info.metadata, "max_length")
            value = st.lists(_scalar(inner, item_constraints), min_size=low, max_size=min(high or 3, 3))
        else:
            value = _scalar(inner, [*item_constraints, *info.metadata])
        (required if info.is_required() else optional)[info.alias or name] = value
    fields = st.fixed_dictionaries(required, optional=optional)
    if not issubclass(model, OcppOpenModel):
        return fields
    taken = {info.alias or name for name, info in model.model_fields.items()} | set(model.model_fields)
    vendor_keys = st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in taken), _JSON, max_size=3)
    return st.tuples(fields, vendor_keys).map(lambda pair: {**pair[1], **pair[0]})


@st.composite
def _message_and_payload(draw: st.DrawFn, version: str) -> tuple[str, type[OcppModel], dict[str, Any]]:
    file, model = draw(st.sampled_from(_messages(version)))
    return file, model, draw(_payloads(model))


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_valid_payloads_are_read_and_emitted_as_the_official_schema_accepts(
    version: str, data: st.DataObject
) -> None:
    file, model, payload = data.draw(_message_and_payload(version))
    assert _official_errors(version, file, payload) == [], "the strategy drew an invalid payload"
    emitted = model.model_validate(payload).to_json_dict()
    assert _official_errors(version, file, emitted) == [], emitted
    assert model.model_validate(emitted).to_json_dict() == emitted


# --- what the official schema refuses, we refuse ----------------------------------------------------------

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Mutation:
    """One fault put into a valid payload: its kind, the property it breaks, where, and the broken payload."""

    kind: str
    breaks: str  # "IdTokenType.idToken": the definition (or message) and property, the same wherever it sits
    path: Path
    build: Callable[[], object]  # the broken payload, made only for the mutations a test tries
    detail: str = ""  # tells apart several faults of one kind at one property

    @property
    def payload(self) -> object:
        return self.build()


EXPECTED_CODE: dict[str, type[OcppError]] = {
    "wrong JSON type": TypeConstraintViolation,
    "string too long": TypeConstraintViolation,
    "unknown enumeration value": TypeConstraintViolation,
    "number out of range": TypeConstraintViolation,
    "not an RFC 3339 date-time": TypeConstraintViolation,
    "extra key": PropertyConstraintViolation,
    "missing required key": OccurrenceConstraintViolation,
}
_WRONG_TYPE: dict[str, object] = {"string": 42, "integer": "1", "number": "16.5", "boolean": "true"}
_NOT_DATE_TIMES = ("2026-11-24 10:00:00Z", "1732442400", "2026-11-24T10:00:00", "tomorrow")


def _mutations(message: str, schema: Schema, payload: dict[str, Any]) -> Iterator[Mutation]:
    """Every single fault one can put into ``payload`` at a place its official ``schema`` constrains."""
    defs: dict[str, Schema] = schema.get("definitions", {})

    def broken(path: Path, value: object = None, delete: bool = False) -> Callable[[], object]:
        def build() -> object:
            changed = copy.deepcopy(payload)
            target: Any = changed
            for part in path[:-1]:
                target = target[part]
            if delete:
                del target[path[-1]]
            else:
                target[path[-1]] = value
            return changed

        return build

    def walk(node: Schema, value: Any, path: Path, where: str) -> Iterator[Mutation]:
        owner = where.partition(".")[0]
        if "$ref" in node:
            owner = _ref_name(node)
            node = defs[owner]
        kind = node.get("type")
        if kind == "object":
            if path:
                yield Mutation("wrong JSON type", where, path, broken(path, "an object"))
            if node.get("additionalProperties", True) is False:
                yield Mutation("extra key", owner, path, broken((*path, "unknownKey"), 1))
            for key in node.get("required", []):
                yield Mutation(
                    "missing required key", f"{owner}.{key}", (*path, key), broken((*path, key), delete=True)
                )
            for key, sub in node.get("properties", {}).items():
                if key in value:
                    yield from walk(sub, value[key], (*path, key), f"{owner}.{key}")
        elif kind == "array":
            yield Mutation("wrong JSON type", where, path, broken(path, {"0": value[0]}))
            yield from walk(node["items"], value[0], (*path, 0), where + "[]")
        elif kind in _WRONG_TYPE:
            yield Mutation("wrong JSON type", where, path, broken(path, _WRONG_TYPE[kind]))
            if "enum" in node:
                yield Mutation("unknown enumeration value", where, path, broken(path, "NoSuchValue"))
            if "maxLength" in node:
                yield Mutation("string too long", where, path, broken(path, "x" * (node["maxLength"] + 1)))
            if node.get("format") == "date-time":
                for text in _NOT_DATE_TIMES:
                    yield Mutation("not an RFC 3339 date-time", where, path, broken(path, text), text)
            if "minimum" in node:
                yield Mutation("number out of range", where, path, broken(path, node["minimum"] - 1), "below")
            if "maximum" in node:
                yield Mutation("number out of range", where, path, broken(path, node["maximum"] + 1), "above")

    yield from walk(schema, payload, (), message)


def _distinct_mutations(version: str) -> Iterator[tuple[str, type[OcppModel], Mutation]]:
    """Each fault of each property of each definition once (where it first occurs), over every message."""
    seen: set[tuple[str, str, str]] = set()
    for file, model in _messages(version):
        for mutation in _mutations(file, schema_files(version)[file], example(model).to_json_dict()):
            key = (mutation.kind, mutation.breaks, mutation.detail)
            if key not in seen:
                seen.add(key)
                yield file, model, mutation


@pytest.mark.parametrize("version", VERSIONS)
def test_each_fault_the_official_schema_refuses_the_model_refuses_with_its_ocpp_j_code(version: str) -> None:
    for file, model, mutation in _distinct_mutations(version):
        what = f"{file}: {mutation.kind} at {mutation.path} ({mutation.breaks})"
        assert _officially_refused(version, file, mutation.payload), f"{what}: the official schema accepts it"
        with pytest.raises(ValidationError) as refused:
            model.model_validate(mutation.payload)
        code = error_from_validation(refused.value, file)
        assert isinstance(code, EXPECTED_CODE[mutation.kind]), (what, refused.value.errors())


def test_the_faults_cover_every_kind_and_every_constrained_property() -> None:
    """Not vacuous: every kind of fault is tried many times, below the top level too, and every constrained
    property of every definition in a message's example is broken in each way that applies."""
    kinds: dict[str, int] = {}
    nested: set[str] = set()
    for version in VERSIONS:
        for _, _, mutation in _distinct_mutations(version):
            kinds[mutation.kind] = kinds.get(mutation.kind, 0) + 1
            if len(mutation.path) > 1:
                nested.add(mutation.kind)
        broken = {m.breaks for _, _, m in _distinct_mutations(version) if m.kind == "string too long"}
        assert {"IdTokenType.idToken", "CustomDataType.vendorId", "StatusInfoType.reasonCode"} <= broken
    assert set(kinds) == set(EXPECTED_CODE)
    assert min(kinds.values()) >= 20, kinds
    assert nested == set(EXPECTED_CODE)


def test_vendor_keys_in_custom_data_are_accepted_by_both_and_emitted_unchanged() -> None:
    for version in VERSIONS:
        model = MODULES[version].HeartbeatRequest
        payload = {"customData": {"vendorId": "ACME", "acmeMode": {"level": 3, "tags": ["a", None]}, "off": None}}
        assert _official_errors(version, "HeartbeatRequest", payload) == []
        assert model.model_validate(payload).to_json_dict() == payload
        outside = {"vendorId": "ACME", "acmeMode": 1}
        assert _official_errors(version, "DataTransferRequest", outside) != []
        with pytest.raises(ValidationError):
            MODULES[version].DataTransferRequest.model_validate(outside)


def test_an_integral_float_for_an_integer_is_refused_though_draft_06_calls_it_an_integer() -> None:
    """The one behaviour (not schema) difference: see ``INTEGRAL_FLOATS_FOR_INTEGERS``."""
    assert len(INTEGRAL_FLOATS_FOR_INTEGERS) > 40
    payload = {"currentTime": "2026-11-24T10:00:00Z", "interval": 300.0, "status": "Accepted"}
    for version in VERSIONS:
        assert _official_errors(version, "BootNotificationResponse", payload) == []
        with pytest.raises(ValidationError) as refused:
            MODULES[version].BootNotificationResponse.model_validate(payload)
        assert isinstance(error_from_validation(refused.value, "BootNotification"), TypeConstraintViolation)
