"""The JSON Schema front end: the official OCPP 2.0.1 / 2.1 schemas in, a :class:`~codegen.model.VersionDef` out.

OCPP 2.x has no WSDL and no SOAP binding: each message is one JSON Schema (draft-06) file,
``<Action>Request.json`` / ``<Action>Response.json``, and a file with neither suffix is an unanswered
SEND message (2.1's ``NotifyPeriodicEventStream.json``). This module reads a version's folder into the same
description the WSDL front end builds, so the same templates render it. What it does with the schemas:

* **One Python type per definition name**, named exactly as the definition (``IdTokenType``,
  ``RegistrationStatusEnumType``); the top-level schemas become ``<Action>Request`` / ``<Action>Response``.
  Each file is self-contained and repeats the definitions it uses; a repeated definition must be
  identical to the first one apart from its descriptions, or generation fails.
* **Types**: ``integer`` → ``Integer``, ``number`` → ``Decimal`` (a JSON number, as 1.x decimals),
  ``boolean`` → ``Boolean``, ``string`` with ``"format": "date-time"`` → ``DateTime``, ``string`` with
  ``maxLength`` → a bounded ``str``, a string ``enum`` definition → a ``StrEnum``, an ``object`` definition
  → a model, ``array`` → a list with ``minItems`` / ``maxItems``, ``minimum`` / ``maximum`` → ``ge`` / ``le``
  (checked in pydantic-core), a property without a type (DataTransfer's ``data``) → any JSON value.
  Anything else (another format, an inline enum or object, a nested array, an unknown keyword) fails.
* **Closed objects**: every object says ``"additionalProperties": false`` except ``CustomDataType``, the
  one open object (vendor extensions), generated on ``OcppOpenModel``. ``OPEN_MODELS`` lists it; another
  open object fails generation.
* **Defaults are not filled in.** Thirteen properties (``UnitOfMeasureType.unit`` "Wh", ``multiplier`` 0,
  several booleans false) and five enumerations (``MeasurandEnumType`` "Energy.Active.Import.Register",
  ...) carry a ``default``: it tells a receiver what an absent field means. The models leave an absent
  field absent (``None``), so a received message is emitted again as it was sent and a message we build
  carries only what its author set. The parity tests list each as an intended difference.
* **Documentation**: descriptions, whitespace-folded (the schemas' ``\\r\\n`` gone), become docstrings and
  field descriptions. A field that refers to an enumeration has no description of its own in the
  schemas: the enumeration's description in that file is about the field (``GenericStatusEnumType`` says
  what the status of *that* message means), so it becomes the field's. (An object definition's
  description is about the type, and stays on the type.) Where copies of a definition (or a field of one)
  are described differently in different files, the most frequent description wins, and none if no single
  one is the most frequent.
* **Who sends what** comes from :mod:`codegen.initiators` (the specifications' message lists); the folder
  and the table must name the same actions. Where a description says who sends a message ("the reason
  for sending this message to the CSMS"), it must agree with the table.
* Ignored keywords: ``$schema``, ``$id``, ``comment``, ``javaType`` and ``additionalItems`` (meaningless
  beside a single ``items`` schema in draft-06).
"""

from __future__ import annotations

import json
import keyword
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, cast

from pydantic import BaseModel

from .initiators import ACTIONS, SENDS, Initiator
from .model import ActionDef, EnumDef, FieldDef, ModelDef, SendDef, TypeRef, VersionDef, snake_case

#: The versions this front end knows: folder under the JSON schema directory → module name.
VERSIONS: Final[dict[str, str]] = {"2.0.1": "v201", "2.1": "v21"}

OPEN_MODELS: Final = frozenset({"CustomDataType"})
"""The object definitions without ``"additionalProperties": false``: extra keys allowed and kept."""

_IGNORED: Final = frozenset({"$schema", "$id", "comment", "javaType", "additionalItems"})
_KEYWORDS: Final[dict[str, frozenset[str]]] = {
    "ref": frozenset({"$ref"}),
    "enum": frozenset({"type", "description", "enum", "additionalProperties", "default"}),
    "object": frozenset({"type", "description", "properties", "required", "additionalProperties"}),
    "string": frozenset({"type", "description", "maxLength", "format", "default"}),
    "integer": frozenset({"type", "description", "minimum", "maximum", "default"}),
    "number": frozenset({"type", "description", "minimum", "maximum", "default"}),
    "boolean": frozenset({"type", "description", "default"}),
    "array": frozenset({"type", "description", "items", "minItems", "maxItems"}),
    "any": frozenset({"description"}),
}

_NOT_A_FIELD_NAME: Final = frozenset(
    {"list", "str", "int", "float", "bool", "dict", "datetime", "Any", "Field", "JsonValue"}
    | {name for name in dir(BaseModel) if not name.startswith("__")}
    | {"to_json_dict"}
)
"""Python names a field may not take: ones the generated annotations use, or a pydantic model's own attributes."""

_NOT_A_TYPE_NAME: Final = frozenset(
    {"Annotated", "Any", "Boolean", "DateTime", "Decimal", "DecimalBounds", "Field", "Integer", "JsonValue"}
    | {"Literal", "NotRequired", "OcppModel", "OcppOpenModel", "OcppRequest", "TYPE_CHECKING", "TypedDict"}
    | {"VERSION", "datetime", "enum"}
)
"""Names the generated modules import or define: a definition of that name would hide them."""

_SENT_TO: Final[tuple[tuple[re.Pattern[str], Initiator], ...]] = (
    (re.compile(r"\b(?:sends|sending|sent) this message to the CSMS\b"), "CHARGE_POINT"),
    (re.compile(r"\b(?:sends|sending|sent) this message to the Charging Station\b"), "CENTRAL_SYSTEM"),
)
"""Descriptions that say who sends the message they are in: checked against the initiator table."""

Json = dict[str, Any]


def fold(text: str | None) -> str:
    """A description as one line: every run of white space (the schemas' ``\\r\\n`` included) one space."""
    return " ".join((text or "").split())


def _without_descriptions(node: object) -> object:
    """A schema with every ``description`` left out: what two copies of a definition must share."""
    if isinstance(node, dict):
        return {k: _without_descriptions(v) for k, v in cast(Json, node).items() if k != "description"}
    if isinstance(node, list):
        return [_without_descriptions(v) for v in cast(list[object], node)]
    return node


def _kind(node: Json, where: str) -> str:
    if "$ref" in node:
        return "ref"
    kind = node.get("type")
    if kind is None:
        return "any"
    if kind == "string" and "enum" in node:
        return "enum"
    if not isinstance(kind, str) or kind not in _KEYWORDS:
        raise ValueError(f"{where}: type {kind!r} is not supported")
    return kind


def _check_keywords(node: Json, where: str) -> str:
    kind = _kind(node, where)
    unknown = set(node) - _KEYWORDS[kind] - _IGNORED
    if unknown:
        raise ValueError(f"{where}: keyword(s) {sorted(unknown)} on a {kind} are not supported")
    return kind


def _bound(node: Json, key: str, integer: bool, where: str) -> int | float | None:
    value = node.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: {key} {value!r} is not a number")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if integer and not isinstance(value, int):
        raise ValueError(f"{where}: {key} {value!r} on an integer")
    return value


def _most_common(counts: Counter[str]) -> str:
    """The most frequent text; empty when two or more are equally frequent (no single right one)."""
    ranked = counts.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return ""
    return ranked[0][0]


@dataclass
class _Definitions:
    """Every definition of a version's folder, each once, with the descriptions its copies carry."""

    version: str
    first: dict[str, tuple[str, Json]] = field(default_factory=dict)  # name → (file, schema)
    canonical: dict[str, Any] = field(default_factory=dict)  # name → schema without descriptions
    docs: dict[str, Counter[str]] = field(default_factory=dict)  # name → description → copies
    field_docs: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)

    def add(self, name: str, schema: Json, file: str) -> None:
        canonical = _without_descriptions(schema)
        if name in self.first:
            if self.canonical[name] != canonical:
                raise ValueError(
                    f"OCPP {self.version}: definition {name} in {file} differs from the one in {self.first[name][0]} "
                    "(apart from descriptions): one Python type cannot stand for both"
                )
        else:
            self.first[name] = (file, schema)
            self.canonical[name] = canonical
        self.docs.setdefault(name, Counter())[fold(schema.get("description"))] += 1

    def add_field_docs(self, owner: str, schema: Json, in_file: dict[str, Json]) -> None:
        """Count each property's description, or, for a reference, its definition's description in this file."""
        for prop, node in cast(dict[str, Json], schema.get("properties", {})).items():
            target = node.get("items", node) if node.get("type") == "array" else node
            doc = node.get("description")
            referred = in_file.get(_ref_name(target["$ref"]), {}) if "$ref" in target else {}
            if doc is None and "enum" in referred:  # an enumeration's description is about the field holding it
                doc = referred.get("description")
            self.field_docs.setdefault((owner, prop), Counter())[fold(doc)] += 1


def _ref_name(ref: str) -> str:
    prefix = "#/definitions/"
    if not ref.startswith(prefix):
        raise ValueError(f"reference {ref!r}: only local #/definitions/ references are supported")
    return ref[len(prefix) :]


def _read(folder: Path) -> dict[str, Json]:
    files = sorted(folder.glob("*.json"))
    if not files:
        raise ValueError(f"{folder}: no JSON schema files")
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in files}


def _messages(version: str, files: Iterable[str]) -> tuple[list[str], list[str]]:
    """(actions, SEND messages) named by the files; each action must have a request and a response file."""
    stems = {name.removesuffix(".json") for name in files}
    actions = sorted({s.removesuffix("Request") for s in stems if s.endswith("Request")})
    responses = sorted({s.removesuffix("Response") for s in stems if s.endswith("Response")})
    if actions != responses:
        unpaired = sorted(set(actions) ^ set(responses))
        raise ValueError(f"OCPP {version}: actions without both a request and a response schema: {unpaired}")
    sends = sorted(s for s in stems if not s.endswith(("Request", "Response")))
    table, send_table = ACTIONS[version], SENDS[version]
    if set(actions) != set(table) or set(sends) != set(send_table):
        missing = sorted((set(actions) - set(table)) | (set(sends) - set(send_table)))
        extra = sorted((set(table) - set(actions)) | (set(send_table) - set(sends)))
        raise ValueError(
            f"OCPP {version}: the initiator table (codegen/initiators.py) and the schema folder disagree: "
            f"not in the table: {missing}; no schema: {extra}"
        )
    return actions, sends


class _Builder:
    def __init__(self, vdef: VersionDef, definitions: _Definitions) -> None:
        self.v = vdef
        self.defs = definitions

    def _where(self, owner: str, prop: str = "") -> str:
        return f"OCPP {self.v.version} {owner}{'.' + prop if prop else ''}"

    def enum(self, name: str, schema: Json) -> None:
        _check_keywords(schema, self._where(name))
        values = cast(list[Any], schema["enum"])
        if not all(isinstance(v, str) for v in values) or len(set(values)) != len(values):
            raise ValueError(f"{self._where(name)}: enum values must be distinct strings")
        self.v.enums[name] = EnumDef(name, _most_common(self.defs.docs[name]), tuple(cast(list[str], values)))

    def model(self, name: str, schema: Json, doc: str) -> None:
        where = self._where(name)
        if _check_keywords(schema, where) != "object":
            raise ValueError(f"{where}: a {schema.get('type')} definition is not supported")
        open_ = schema.get("additionalProperties", True) is not False
        if open_ and name not in OPEN_MODELS:
            raise ValueError(f"{where}: an open object (no additionalProperties: false) that OPEN_MODELS does not list")
        if not open_ and name in OPEN_MODELS:
            raise ValueError(f"{where}: a closed object (additionalProperties: false) that OPEN_MODELS lists as open")
        required = cast(list[str], schema.get("required", []))
        properties = cast(dict[str, Json], schema.get("properties", {}))
        if not set(required) <= set(properties):
            raise ValueError(f"{where}: required {sorted(set(required) - set(properties))} are not properties")
        model = ModelDef(name=name, doc=doc, open=open_)
        for prop, node in properties.items():
            model.fields.append(self.field(name, prop, node, prop in required))
        py_names = [f.py_name for f in model.fields]
        if len(set(py_names)) != len(py_names):
            raise ValueError(f"{where}: two properties have the same Python name: {py_names}")
        self.v.models[name] = model

    def field(self, owner: str, prop: str, node: Json, required: bool) -> FieldDef:
        where = self._where(owner, prop)
        py_name = snake_case(prop)
        if not py_name.isidentifier() or keyword.iskeyword(py_name) or py_name in _NOT_A_FIELD_NAME:
            raise ValueError(f"{where}: the Python name {py_name!r} is not usable as a field name")
        doc = _most_common(self.defs.field_docs[(owner, prop)])
        if _check_keywords(node, where) == "array":
            items = cast(Json, node["items"])
            if _check_keywords(items, where + "[]") == "array":
                raise ValueError(f"{where}: arrays of arrays are not supported")
            low, high = cast(int, node.get("minItems", 0)), cast("int | None", node.get("maxItems"))
            ref = self.type(items, where + "[]")
            return FieldDef(prop, prop, py_name, "element", ref, int(required), high, doc, list_bounds=(low, high))
        return FieldDef(prop, prop, py_name, "element", self.type(node, where), int(required), 1, doc)

    def type(self, node: Json, where: str) -> TypeRef:
        kind = _kind(node, where)
        if kind == "ref":
            target = _ref_name(cast(str, node["$ref"]))
            if target not in self.defs.first:
                raise ValueError(f"{where}: unknown definition {target}")
            is_enum = _kind(self.defs.first[target][1], target) == "enum"
            return TypeRef("enum" if is_enum else "model", target, "str")
        if kind == "any":
            return TypeRef("scalar", "json", "json")
        if kind == "string":
            fmt = node.get("format")
            if fmt == "date-time" and "maxLength" not in node:
                return TypeRef("scalar", "datetime", "datetime")
            if fmt is not None:
                raise ValueError(f"{where}: string format {fmt!r} is not supported here")
            max_length = cast("int | None", node.get("maxLength"))
            return TypeRef("scalar", "str", "str", max_length=max_length)
        if kind in ("integer", "number"):
            integer = kind == "integer"
            ge, le = _bound(node, "minimum", integer, where), _bound(node, "maximum", integer, where)
            return TypeRef("scalar", "int" if integer else "decimal", "int" if integer else "decimal", ge=ge, le=le)
        if kind == "boolean":
            return TypeRef("scalar", "bool", "bool")
        raise ValueError(f"{where}: an inline {kind} is not supported (only definitions may be enums or objects)")


def _check_directions(version: str, action: str, initiators: tuple[Initiator, ...], schema: Json) -> None:
    """Where the request's own descriptions say who sends it, the initiator table must agree."""
    definitions = cast(dict[str, Json], schema.get("definitions", {}))
    texts: list[str] = []
    for node in cast(dict[str, Json], schema.get("properties", {})).values():
        texts.append(fold(node.get("description")))
        if "$ref" in node:
            texts.append(fold(definitions.get(_ref_name(node["$ref"]), {}).get("description")))
    for pattern, initiator in _SENT_TO:
        if any(pattern.search(text) for text in texts) and initiators != (initiator,):
            raise ValueError(
                f"OCPP {version} {action}: its schema says {pattern.pattern!r}, the initiator table says {initiators}"
            )


def _check_acyclic(vdef: VersionDef) -> None:
    state: dict[str, bool] = {}  # name → finished

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) is False:
            raise ValueError(f"OCPP {vdef.version}: recursive definitions are not supported: {' → '.join(path)}")
        if name in state:
            return
        state[name] = False
        for dep in vdef.models[name].dependencies():
            visit(dep, (*path, dep))
        state[name] = True

    for name in sorted(vdef.models):
        visit(name, (name,))


def build_json_version(json_dir: Path, version: str) -> VersionDef:
    """Read ``json_dir/<version>/*.json`` into a :class:`VersionDef` (no XML facts, no SOAP namespaces)."""
    schemas = _read(json_dir / version)
    actions, sends = _messages(version, schemas)
    vdef = VersionDef(
        version=version,
        module=VERSIONS[version],
        central_system_namespace="",
        charge_point_namespace="",
        sources=(f"{version}/*.json ({len(schemas)} files)",),
        xml=False,
    )
    definitions = _Definitions(version)
    for file, schema in schemas.items():
        message = file.removesuffix(".json")
        in_file = cast(dict[str, Json], schema.get("definitions", {}))
        for name, definition in in_file.items():
            if name in _NOT_A_TYPE_NAME or not name.isidentifier():
                raise ValueError(f"OCPP {version} {file}: a definition named {name} would hide a generated name")
            definitions.add(name, definition, file)
            definitions.add_field_docs(name, definition, in_file)
        definitions.add_field_docs(message, schema, in_file)
    messages = {file.removesuffix(".json"): schema for file, schema in schemas.items()}
    clash = sorted(set(messages) & set(definitions.first))
    if clash:
        raise ValueError(f"OCPP {version}: definitions named like messages: {clash}")

    builder = _Builder(vdef, definitions)
    for name in sorted(definitions.first):
        schema = definitions.first[name][1]
        if _kind(schema, name) == "enum":
            builder.enum(name, schema)
        else:
            builder.model(name, schema, _most_common(definitions.docs[name]))
    for name, schema in sorted(messages.items()):
        builder.model(name, {k: v for k, v in schema.items() if k != "definitions"}, fold(schema.get("description")))

    for action in actions:
        initiators = ACTIONS[version][action]
        _check_directions(version, action, initiators, messages[action + "Request"])
        for initiator in initiators:
            vdef.actions.append(ActionDef(action, initiator, "", action + "Request", action + "Response", "", "", ""))
    for send in sends:
        _check_directions(version, send, (SENDS[version][send],), messages[send])
        vdef.sends.append(SendDef(send, SENDS[version][send], send, ""))
    _check_acyclic(vdef)
    return vdef
