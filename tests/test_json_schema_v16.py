"""OCPP 1.6 models against the Open Charge Alliance's official OCPP-J JSON schemas.

The official schemas ship in the PyPI package ``ocpp`` (a dev dependency). For every 1.6 action, the
request and response models must have the same properties and the same required fields, at every level
of nesting. The one known difference between the WSDL and the JSON schemas (MeterValues ``meterValue``
optional in the WSDL, required in JSON) is resolved in favour of the JSON schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ocpprpc.messages import v16
from ocpprpc.messages._base import OcppModel

ocpp = pytest.importorskip("ocpp", reason="the `ocpp` package (official 1.6 JSON schemas) is not installed")
SCHEMAS = Path(ocpp.__file__).parent / "v16" / "schemas"


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    for key in ("anyOf", "allOf"):
        if key in schema:
            options = [_resolve(s, defs) for s in schema[key] if s.get("type") != "null"]
            if len(options) == 1:
                return options[0]
    return schema


def _shape(schema: dict[str, Any], defs: dict[str, Any], path: str = "") -> dict[str, Any]:
    """{path: (properties, required)} for every object in the schema, with arrays walked into."""
    schema = _resolve(schema, defs)
    shapes: dict[str, Any] = {}
    if schema.get("type") == "array" or "items" in schema:
        return _shape(schema["items"], defs, path + "[]")
    if "properties" in schema or schema.get("type") == "object":
        properties = schema.get("properties", {})
        shapes[path or "/"] = (sorted(properties), sorted(schema.get("required", [])))
        for name, sub in properties.items():
            shapes.update(_shape(sub, defs, f"{path}/{name}"))
    return shapes


def _cases() -> list[tuple[str, type[OcppModel], str]]:
    cases = []
    for spec in v16.VERSION.actions:
        cases.append((spec.name, spec.request, f"{spec.name}.json"))
        cases.append((spec.name, spec.response, f"{spec.name}Response.json"))
    return sorted(set(cases), key=lambda c: c[2])


@pytest.mark.parametrize(("action", "model", "schema_file"), _cases(), ids=lambda x: x if isinstance(x, str) else "")
def test_v16_model_has_the_properties_and_required_fields_of_the_official_json_schema(
    action: str, model: type[OcppModel], schema_file: str
) -> None:
    official = json.loads((SCHEMAS / schema_file).read_text(encoding="utf-8"))
    ours = model.model_json_schema(by_alias=True)
    assert _shape(ours, ours.get("$defs", {})) == _shape(official, {})


def test_every_official_v16_core_schema_has_a_model() -> None:
    names = {spec.name for spec in v16.VERSION.actions}
    assert len(names) == 28
    for name in names:
        assert (SCHEMAS / f"{name}.json").exists(), name
