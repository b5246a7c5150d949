"""The README's promises point at real tests: every test its "Guarantees" table names exists."""

from __future__ import annotations

import re

from .conftest import REPO

TESTS = REPO / "tests"


def _guarantee_rows() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Guarantees", 1)[1]
    return [line for line in table.splitlines() if line.startswith("| ") and "`test_" in line]


def test_every_test_the_guarantees_table_names_exists() -> None:
    rows = _guarantee_rows()
    assert len(rows) >= 20
    missing: list[str] = []
    for row in rows:
        module = None
        for reference in re.findall(r"`([^`]+)`", row.split(" | ", 1)[1]):
            file, _, name = reference.partition("::")
            module = file or module
            assert module is not None and module.endswith(".py"), f"no test file before {reference!r} in: {row}"
            source = (TESTS / module).read_text(encoding="utf-8") if (TESTS / module).is_file() else ""
            if not source:
                missing.append(module)
            elif name and not re.search(rf"^(async )?def {re.escape(name)}\(", source, re.MULTILINE):
                missing.append(f"{module}::{name}")
    assert not missing, f"the README's Guarantees table names tests that do not exist: {missing}"
