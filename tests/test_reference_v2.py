"""The OCPP 2.0.1 and 2.1 pages of the message reference under ``docs/messages``: present, linked, right.

``test_reference.py`` proves the whole folder is what ``python -m codegen.reference`` writes and checks the
1.x pages (with their SOAP envelopes). This does the same for the JSON-only 2.x pages: every action and
2.1's SEND message has a page linked from the index, the direction in 2.x's terms, no SOAP anywhere, the
JSON Schema block is the model's (descriptions left out, as the page says), and every example, read back
from the Markdown as a reader would copy it, is a valid, canonical message in the right frame: CALL (2),
CALLRESULT (3) or SEND (6).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from codegen.reference import CALL_ID, DEFAULT_OUT, JSON_ONLY_VERSIONS, without_descriptions
from ocpprpc.messages._base import OcppModel, OcppVersion, Side

from .test_reference import blocks

MESSAGES = DEFAULT_OUT / "messages"
STALE = "run `python -m codegen.reference` (or `make docs`) and commit docs/"
DIRECTIONS = {Side.CHARGE_POINT: "Charging Station → CSMS", Side.CENTRAL_SYSTEM: "CSMS → Charging Station"}

PAGES: list[tuple[OcppVersion, str]] = [
    (version, name)
    for version in JSON_ONLY_VERSIONS
    for name in sorted({spec.name for spec in version.actions} | {send.name for send in version.sends})
]


def _page(version: OcppVersion, name: str) -> str:
    path = MESSAGES / version.version / f"{name}.md"
    assert path.is_file(), f"no page {path.relative_to(DEFAULT_OUT.parent)}: {STALE}"
    return path.read_text(encoding="utf-8")


def test_the_json_only_versions_are_2_0_1_and_2_1_each_with_its_folder_of_pages() -> None:
    assert [v.version for v in JSON_ONLY_VERSIONS] == ["2.0.1", "2.1"]
    for version in JSON_ONLY_VERSIONS:
        on_disk = {path.stem for path in (MESSAGES / version.version).glob("*.md")}
        assert on_disk == {name for v, name in PAGES if v is version}, STALE
    assert len(PAGES) == 64 + 91


def test_every_2x_page_is_linked_from_the_index_with_its_direction() -> None:
    index = (MESSAGES / "README.md").read_text(encoding="utf-8")
    for version in JSON_ONLY_VERSIONS:
        assert f"[OCPP {version.version}](#ocpp-{version.version.replace('.', '')})" in index
        assert f"WebSocket subprotocol `{version.subprotocol}`; OCPP-J only" in index
    for version, name in PAGES:
        row = next(line for line in index.splitlines() if line.startswith(f"| [{name}]({version.version}/{name}.md)"))
        sides = [spec.initiator for spec in version.actions if spec.name == name]
        sides += [send.initiator for send in version.sends if send.name == name]
        ordered = sorted(sides, key=lambda side: side is not Side.CHARGE_POINT)  # the Charging Station's first
        assert "<br>".join(DIRECTIONS[side] for side in ordered) in row, row
    assert "| Charging Station → CSMS (SEND, never answered) | `NotifyPeriodicEventStream` | — |" in index


@pytest.mark.parametrize(("version", "name"), PAGES, ids=[f"{v.version}/{n}" for v, n in PAGES])
def test_every_example_on_a_2x_page_is_a_valid_message_in_its_frame(version: OcppVersion, name: str) -> None:
    page = _page(version, name)
    assert page.splitlines()[1] == f"# {name} (OCPP {version.version})"
    assert "SOAP envelope" not in page and "```xml" not in page and "| OCPP-S (SOAP) | none" in page
    assert "Central system" not in page and "Charge point" not in page  # 2.x names its roles otherwise
    found = blocks(page)
    specs = [spec for spec in version.actions if spec.name == name]
    sections: list[tuple[str, type[OcppModel], int]]
    if specs:
        for spec in specs:
            assert DIRECTIONS[spec.initiator] in page
        sections = [("Request", specs[0].request, 2), ("Response", specs[0].response, 3)]
    else:
        send = next(send for send in version.sends if send.name == name)
        assert f"**Direction:** {DIRECTIONS[send.initiator]}, never answered (SEND)" in page
        sections = [("Message", send.message, 6)]
    assert {b.h2 for b in found if b.h2.split(":")[0] in ("Request", "Response", "Message")} == {
        f"{title}: `{model.__name__}`" for title, model, _ in sections
    }
    for title, model, message_type in sections:
        mine = [b for b in found if b.h2 == f"{title}: `{model.__name__}`"]
        schemas = [b for b in mine if b.h3 == "JSON Schema"]
        assert [b.language for b in schemas] == ["json"]
        assert json.loads(schemas[0].text) == without_descriptions(model.model_json_schema(by_alias=True))
        frames = [b for b in mine if b.h3 == "Example (OCPP-J)"]
        assert [b.language for b in frames] == ["json"]
        frame = json.loads(frames[0].text)
        assert frame[0] == message_type and frame[1] == CALL_ID
        if message_type == 3:
            assert len(frame) == 3
            payload: Any = frame[2]
        else:
            assert len(frame) == 4 and frame[2] == name
            payload = frame[3]
        assert isinstance(payload, dict)
        assert model.model_validate(payload).to_json_dict() == payload, f"{title}: the example is not canonical"


def test_the_open_custom_data_type_is_described_as_open() -> None:
    page = _page(JSON_ONLY_VERSIONS[0], "BootNotification")
    section = page.split("### CustomDataType", 1)[1]
    assert section.lstrip().startswith("Python: `ocpprpc.messages.v201.CustomDataType`")
    assert "An open object: besides the fields below it may carry any other keys (vendor extensions)" in section


def test_without_descriptions_leaves_a_property_named_description_alone() -> None:
    schema = {"description": "x", "properties": {"description": {"type": "string", "description": "y"}}}
    assert without_descriptions(schema) == {"properties": {"description": {"type": "string"}}}


_SEPARATOR = re.compile(r"(?<!\\)(?:\\\\)*\|")  # a pipe after an even number of backslashes splits cells


def test_every_table_row_has_as_many_cells_as_its_header() -> None:
    """Descriptions carry regular expressions (``\\|``, brackets): escaped, they never split or link a cell."""
    rows = 0
    for version, name in PAGES:
        header = 0
        for line in _page(version, name).splitlines():
            if not line.startswith("|"):
                header = 0
                continue
            cells = len(_SEPARATOR.findall(line))
            if header == 0:
                header = cells
            assert cells == header, f"{version.version}/{name}: {line[:120]}"
            rows += 1
    assert rows > 5_000
