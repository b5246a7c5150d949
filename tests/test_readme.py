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


def test_the_readme_example_is_an_excerpt_of_the_quickstart_that_runs() -> None:
    """Every line of the README's first example stands in examples/quickstart.py (which a test runs)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    quickstart = {line.strip() for line in (REPO / "examples" / "quickstart.py").read_text().splitlines()}
    missing = [line for line in block.splitlines() if line.strip() and line.strip() not in quickstart]
    assert not missing, f"README example lines not in examples/quickstart.py: {missing}"


def test_the_readme_201_example_is_an_excerpt_of_its_quickstart_that_runs() -> None:
    """Every line of the README's OCPP 2.0.1 example stands in examples/quickstart_201.py (which a test runs)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## OCPP 2.0.1 and 2.1", 1)[1]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    quickstart = {line.strip() for line in (REPO / "examples" / "quickstart_201.py").read_text().splitlines()}
    missing = [line for line in block.splitlines() if line.strip() and line.strip() not in quickstart]
    assert block.strip() and not missing, f"README 2.0.1 example lines not in examples/quickstart_201.py: {missing}"
