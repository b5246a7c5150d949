"""Where the official OCPP 2.0.1 / 2.1 JSON schemas are, a skip for tests that need them, and readers.

The schemas are not in the repository (Open Charge Alliance, CC BY-ND 4.0): they sit in
``../shared/ocpp-json`` beside the checkout, or wherever ``$OCPP_JSON_DIR`` says, as for the generator.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ocpprpc.messages import v21, v201

REPO = Path(__file__).resolve().parents[1]
JSON_DIR = Path(os.environ.get("OCPP_JSON_DIR", REPO.parent / "shared" / "ocpp-json"))

MODULES: dict[str, ModuleType] = {"2.0.1": v201, "2.1": v21}
"""The generated package of each JSON-only version."""

AVAILABLE = all((JSON_DIR / version).is_dir() for version in MODULES)
"""Whether the official schemas are there (parametrized tests list their cases only then)."""

needs_json = pytest.mark.skipif(
    not AVAILABLE,
    reason=f"the official OCPP 2.0.1 / 2.1 JSON schemas are not at {JSON_DIR} (../shared/ocpp-json beside the repo)",
)

Schema = dict[str, Any]


@cache
def schema_files(version: str) -> dict[str, Schema]:
    """Every schema file of a version by its name without ``.json`` (``BootNotificationRequest``)."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted((JSON_DIR / version).glob("*.json"))
    }


@cache
def definitions(version: str) -> dict[str, Schema]:
    """Every definition of a version, once (the first copy in file order; the copies differ only in descriptions)."""
    found: dict[str, Schema] = {}
    for schema in schema_files(version).values():
        for name, definition in schema.get("definitions", {}).items():
            found.setdefault(name, definition)
    return found


_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")


def is_rfc3339(value: object) -> bool:
    """JSON Schema's ``date-time`` (RFC 3339 ``date-time``): the official schemas' only format."""
    if not isinstance(value, str):
        return True  # a format applies to strings only; the type keyword refuses the rest
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
