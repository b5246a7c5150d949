"""The message reference under ``docs/messages`` is what ``python -m codegen.reference`` makes, and is right.

Three kinds of check: the committed pages are byte for byte what the generator writes now (so they follow
every change to the models); every action of every version has a page, linked from the index; and every
example on every page, read back from the Markdown as a reader would copy it, is a valid message: the
OCPP-J frame's payload validates against its model and is emitted unchanged, and each SOAP envelope decodes
to that same payload, for the right action, direction and version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from codegen.reference import CALL_ID, CHARGE_BOX_IDENTITY, DEFAULT_OUT, SOAP_MESSAGE_ID, VERSIONS, generate
from ocpprpc.messages._base import ActionSpec, OcppVersion, Side
from ocpprpc.transports._soap_codec import decode_message

MESSAGES = DEFAULT_OUT / "messages"
STALE = "run `python -m codegen.reference` (or `make docs`) and commit docs/"
DIRECTIONS = {"Charge point → Central system": Side.CHARGE_POINT, "Central system → Charge point": Side.CENTRAL_SYSTEM}

ACTIONS: list[tuple[OcppVersion, str, list[ActionSpec]]] = []
for _version in VERSIONS:
    _names = sorted({spec.name for spec in _version.actions})
    ACTIONS.extend([(_version, name, [s for s in _version.actions if s.name == name]) for name in _names])


@dataclass(frozen=True)
class Block:
    """A fenced code block of a page and the headings it is under."""

    h2: str
    h3: str
    h4: str
    language: str
    text: str


def blocks(page: str) -> list[Block]:
    """The fenced code blocks of a Markdown page, each with its enclosing ``##``, ``###`` and ``####``."""
    found: list[Block] = []
    headings = {2: "", 3: "", 4: ""}
    fence: list[str] | None = None
    language = ""
    for line in page.splitlines():
        if fence is not None:
            if line == "```":
                found.append(Block(headings[2], headings[3], headings[4], language, "\n".join(fence) + "\n"))
                fence = None
            else:
                fence.append(line)
        elif line.startswith("```"):
            fence, language = [], line[3:]
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            if level in headings:
                headings[level] = line[level:].strip()
                for deeper in range(level + 1, 5):
                    headings[deeper] = ""
    assert fence is None, "a code block is not closed"
    return found


def read_page(version: OcppVersion, action: str) -> str:
    path = MESSAGES / version.version / f"{action}.md"
    assert path.is_file(), f"no page {path.relative_to(DEFAULT_OUT.parent)}: {STALE}"
    return path.read_text(encoding="utf-8")


def test_the_committed_docs_are_what_the_generator_writes_byte_for_byte(tmp_path: Path) -> None:
    written = generate(tmp_path)
    generated = {path.relative_to(tmp_path): path.read_bytes() for path in written}
    committed = {path.relative_to(DEFAULT_OUT): path.read_bytes() for path in MESSAGES.rglob("*") if path.is_file()}
    missing = sorted(str(p) for p in generated.keys() - committed.keys())
    stale = sorted(str(p) for p in committed.keys() - generated.keys())
    differ = sorted(str(p) for p in generated.keys() & committed.keys() if generated[p] != committed[p])
    assert not missing, f"generated but not committed under docs/: {missing}; {STALE}"
    assert not stale, f"committed under docs/ but no longer generated: {stale}; {STALE}"
    assert not differ, f"out of date under docs/: {differ}; {STALE}"


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in generate(tmp_path / "a")}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in generate(tmp_path / "b")}
    assert first == second


def test_generation_replaces_stale_pages_and_leaves_the_rest_of_the_folder_alone(tmp_path: Path) -> None:
    (tmp_path / "messages" / "1.6").mkdir(parents=True)
    (tmp_path / "messages" / "1.6" / "Gone.md").write_text("an action that no longer exists\n")
    (tmp_path / "other.md").write_text("not ours\n")
    generate(tmp_path)
    assert not (tmp_path / "messages" / "1.6" / "Gone.md").exists()
    assert (tmp_path / "other.md").read_text() == "not ours\n"


def test_every_action_of_every_version_has_a_page_linked_from_the_index() -> None:
    index = (MESSAGES / "README.md").read_text(encoding="utf-8")
    for version, action, specs in ACTIONS:
        page = read_page(version, action)
        assert page.splitlines()[1] == f"# {action} (OCPP {version.version})"
        assert f"[{action}]({version.version}/{action}.md)" in index, f"{version.version} {action} not in the index"
        for spec in specs:
            direction = next(text for text, side in DIRECTIONS.items() if side is spec.initiator)
            assert direction in page
            assert f"`/{action}`" in page and f"`/{action}Response`" in page
            assert f"`{spec.request_element}`" in page and f"`{spec.response_element}`" in page
            assert f"`{spec.namespace}`" in page
        if version.version == "1.6" and action == "MeterValues":
            assert "**`meterValue` is required.**" in page
        if version.version == "1.5" and action in ("MeterValues", "StopTransaction"):
            assert "**XML attributes in JSON.**" in page


def test_no_page_is_oversized() -> None:
    sizes = {path: path.stat().st_size for path in MESSAGES.rglob("*.md")}
    assert sum(sizes.values()) < 3 * 1024 * 1024
    assert max(sizes.values()) < 100 * 1024, max(sizes, key=lambda p: sizes[p])


@pytest.mark.parametrize(("version", "action", "specs"), ACTIONS, ids=[f"{v.version}/{a}" for v, a, _ in ACTIONS])
def test_every_example_on_the_page_is_a_valid_message(
    version: OcppVersion, action: str, specs: list[ActionSpec]
) -> None:
    found = blocks(read_page(version, action))
    spec = specs[0]
    for section, model in (("Request", spec.request), ("Response", spec.response)):
        title = f"{section}: `{model.__name__}`"
        mine = [b for b in found if b.h2 == title]

        schemas = [b for b in mine if b.h3 == "JSON Schema"]
        assert [b.language for b in schemas] == ["json"], f"{section}: one JSON Schema block expected"
        assert json.loads(schemas[0].text) == model.model_json_schema(by_alias=True)

        frames = [b for b in mine if b.h3 == "Example (OCPP-J)"]
        assert [b.language for b in frames] == ["json"], f"{section}: one OCPP-J example expected"
        frame = json.loads(frames[0].text)
        payload: Any
        if section == "Request":
            assert frame[:3] == [2, CALL_ID, action], frame[:3]
            payload = frame[3]
            assert len(frame) == 4
        else:
            assert frame[:2] == [3, CALL_ID], frame[:2]
            payload = frame[2]
            assert len(frame) == 3
        assert isinstance(payload, dict)
        assert model.model_validate(payload).to_json_dict() == payload, f"{section}: the example is not canonical"

        envelopes = [b for b in mine if b.h3 == "Example (OCPP-S, SOAP 1.2)"]
        assert [b.language for b in envelopes] == ["xml"] * len(specs), f"{section}: one envelope per direction"
        sides: set[Side] = set()
        for block in envelopes:
            message = decode_message(block.text.encode("utf-8"), [version])
            assert message.fault is None
            assert message.version is version
            assert message.spec is not None and message.spec.name == action
            assert message.is_response is (section == "Response")
            assert message.payload == payload, f"{section}: the XML example says something else than the JSON one"
            assert message.charge_box_identity == CHARGE_BOX_IDENTITY
            assert message.action == (f"/{action}Response" if message.is_response else f"/{action}")
            if message.is_response:
                assert message.relates_to == SOAP_MESSAGE_ID
            else:
                assert message.message_id == SOAP_MESSAGE_ID
            if len(specs) > 1:
                assert DIRECTIONS[block.h4] is message.spec.initiator, f"{block.h4}: wrong direction's envelope"
            sides.add(message.spec.initiator)
        assert sides == {s.initiator for s in specs}
