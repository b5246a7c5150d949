"""The user guide is true: its Python blocks run and type-check, and the site builds without a warning.

The guide is ``docs/guide/*.md``, built by MkDocs (``mkdocs.yml``, ``make docs``). Every fenced
``python`` block in it is tested. An HTML comment on the line just before a block's fence steers how:

* no comment: the block runs by itself, in a fresh namespace, as a script (``__name__ == "__main__"``)
  in a temporary working directory. Top-level ``await`` / ``async with`` / ``async for`` are allowed,
  as in ``python -m asyncio``: the test runs such a block in an event loop. A block that only defines
  things and calls ``asyncio.run(main())`` runs as it is.
* ``<!-- test: continue -->``: the block continues the page's previous Python block: same namespace,
  same event loop (so a server started above is still listening).
* ``<!-- test: skip (why) -->``: the block is not run, because it cannot run here (it binds a public
  address or a fixed port, waits for a real charger, needs a file of yours); say why. It is still
  type-checked. ``<!-- test: skip, continue (why) -->`` combines both.
* ``<!-- test: output -->`` before a ``text`` block: what the Python block before it prints (stdout
  and stderr, so a log configured by the block as well). ``...`` in a line stands for any text; a line
  of only ``...`` for any number of lines.

A block and the blocks continuing it form a *chain*. Every chain is type-checked with the project's
``mypy --strict`` settings (top-level await allowed), skipped blocks included, so the guide's code is
what a user of the typed API would write. Runnable blocks must bind servers to 127.0.0.1 with port 0
(checked on the code); each runs with a time bound. The repository's ``examples/`` folder is importable,
for the simulator's ``sim`` package (plugin examples).

``test_the_site_builds_strictly`` runs ``mkdocs build --strict`` into a temporary folder: a broken link,
a missing page, a page left out of the nav or an API reference that does not resolve fails it.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import dataclasses
import inspect
import io
import logging
import os
import re
import signal
import subprocess
import sys
import types
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO

GUIDE = REPO / "docs" / "guide"
BLOCK_SECONDS = 20.0
"""The longest a runnable chain may take (a hung server or a forgotten wait fails instead of hanging)."""

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\s]*)")
_MARKER = re.compile(r"^<!--\s*test:\s*(?P<words>[a-z, ]+?)\s*(?:\((?P<why>[^)]*)\))?\s*-->$")
_PYTHON = {"python", "py", "python3"}
_MARKER_WORDS = {"skip", "continue", "output"}


@dataclasses.dataclass
class Block:
    page: Path
    line: int
    """The line of the block's first code line in the page (1-based)."""
    source: str
    skip: bool = False
    cont: bool = False
    output: str | None = None
    """What the block prints, when the page shows it (a ``text`` block marked ``output``)."""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


@dataclasses.dataclass
class Chain:
    blocks: list[Block]

    @property
    def id(self) -> str:
        return f"{self.blocks[0].page.name}:{self.blocks[0].line}"

    def padded(self, blocks: list[Block] | None = None) -> str:
        """The blocks as one module whose line numbers are the page's (so errors point into the page)."""
        lines: list[str] = []
        for block in blocks if blocks is not None else self.blocks:
            lines.extend([""] * (block.line - 1 - len(lines)))
            lines.extend(block.source.splitlines())
        return "\n".join(lines) + "\n"


def _blocks(page: Path) -> list[Block]:
    """The fenced Python blocks of a Markdown page, with the marker comment before each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if opened is None:
            i += 1
            continue
        indent, fence, info = opened["indent"], opened["fence"], opened["info"].lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if (
                closing
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"]
            ):
                break
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        previous = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = _MARKER.match(previous)
        if previous.startswith("<!--") and "test:" in previous and marker is None:
            raise AssertionError(f"{page.relative_to(REPO)}:{i}: unreadable test marker {previous!r}")
        words: set[str] = set() if marker is None else {w.strip() for w in marker["words"].split(",") if w.strip()}
        if words - _MARKER_WORDS:
            raise AssertionError(f"{page.relative_to(REPO)}:{i}: unknown test marker words {words - _MARKER_WORDS}")
        where = f"{page.relative_to(REPO)}:{i + 1}"
        if info in _PYTHON:
            if "skip" in words and not (marker and marker["why"]):
                raise AssertionError(f"{where}: say why a block is skipped: skip (why)")
            if "output" in words:
                raise AssertionError(f"{where}: 'output' marks the text block after a Python block")
            found.append(Block(page, i + 2, "\n".join(body), skip="skip" in words, cont="continue" in words))
        elif words == {"output"}:
            if not found or found[-1].skip or found[-1].output is not None:
                raise AssertionError(f"{where}: an output block follows a runnable Python block, once")
            found[-1].output = "\n".join(body)
        elif words:
            raise AssertionError(f"{where}: test marker {sorted(words)} before a {info or 'plain'} block")
        i = j + 1
    return found


def _chains() -> list[Chain]:
    chains: list[Chain] = []
    for page in sorted(GUIDE.glob("*.md")):
        for block in _blocks(page):
            if block.cont:
                assert chains and chains[-1].blocks[0].page == page, f"{block.where}: nothing to continue"
                chains[-1].blocks.append(block)
            else:
                chains.append(Chain([block]))
    return chains


CHAINS = _chains()


def test_the_guide_has_code_and_every_page_is_checked() -> None:
    pages = {chain.blocks[0].page.name for chain in CHAINS}
    assert len(CHAINS) >= 20, "the guide's Python blocks were not found"
    for page in ("getting-started.md", "handlers-and-calls.md", "transports.md", "testing.md", "versions.md"):
        assert page in pages


# -- running -------------------------------------------------------------------------------------------


def _address_problems(block: Block) -> list[str]:
    """Servers in a runnable block must bind 127.0.0.1 and port 0: where one does not."""
    problems: list[str] = []
    for node in ast.walk(ast.parse(block.source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        arguments = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
        if name in ("serve", "WebSocketServer", "SoapServer"):
            arguments.setdefault("host", node.args[1] if len(node.args) > 1 else ast.Constant("127.0.0.1"))
            arguments.setdefault("port", node.args[2] if len(node.args) > 2 else ast.Constant(0))
        for keyword, wanted in (("host", "127.0.0.1"), ("port", 0)):
            value = arguments.get(keyword)
            if value is not None and not (isinstance(value, ast.Constant) and value.value == wanted):
                problems.append(f"line {block.line + node.lineno - 1}: {ast.unparse(node)[:80]} ({keyword})")
    return problems


@contextlib.contextmanager
def _time_bound(seconds: float) -> Generator[None, None, None]:
    """Raise TimeoutError in the main thread after ``seconds`` (also inside a block's own asyncio.run)."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the guide's code ran for over {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _as_main(module: types.ModuleType) -> Generator[None, None, None]:
    """The chain's module is ``__main__`` while it runs (dataclasses and pydantic look names up there)."""
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = module
    try:
        yield
    finally:
        sys.modules["__main__"] = saved


@contextlib.contextmanager
def _logging_restored() -> Generator[None, None, None]:
    """Undo what a block does to logging (a basicConfig, a level set to see the frames)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root.handlers[:] = []  # as in a fresh process, so a block's logging.basicConfig() takes effect
    try:
        yield
    finally:
        root.handlers[:], root.level = handlers, level
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            if isinstance(logger, logging.Logger):
                logger.setLevel(levels.get(name, logging.NOTSET))


def _compile(block: Block) -> types.CodeType:
    source = "\n" * (block.line - 1) + block.source
    code: types.CodeType = compile(
        source, str(block.page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    return code


@pytest.mark.parametrize("chain", CHAINS, ids=lambda chain: chain.id)
def test_the_guide_code_runs(chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = [(block, _compile(block)) for block in chain.blocks]  # every block compiles, skipped ones too
    runnable = [(block, code) for block, code in codes if not block.skip]
    if not runnable:
        pytest.skip("every block of this chain is marked skip; test_the_guide_code_type_checks covers it")
    problems = [problem for block, _ in runnable for problem in _address_problems(block)]
    assert not problems, f"{chain.id}: servers in the guide's runnable code bind 127.0.0.1, port 0: {problems}"
    monkeypatch.chdir(tmp_path)
    # pytest leaves syspath_prepend's parameter unannotated.
    monkeypatch.syspath_prepend(str(REPO / "examples"))  # pyright: ignore[reportUnknownMemberType]
    module = types.ModuleType("__main__")
    module.__file__ = str(chain.blocks[0].page)
    namespace = module.__dict__
    with _logging_restored(), _time_bound(BLOCK_SECONDS), asyncio.Runner() as runner, _as_main(module):
        for block, code in runnable:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
                if code.co_flags & inspect.CO_COROUTINE:
                    runner.run(eval(code, namespace))
                else:
                    exec(code, namespace)
            if block.output is not None:
                shown = printed.getvalue()
                if not _printed_as_shown(block.output, shown):
                    pytest.fail(f"{block.where}: the page shows\n{block.output}\nbut the block printed\n{shown[:3000]}")


def _printed_as_shown(shown: str, printed: str) -> bool:
    """Whether ``printed`` is what the page shows, ``...`` standing for any text (a line of it: any lines)."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?"
        if line.strip() == "..."
        else ".*?".join(map(re.escape, line.rstrip().split("..."))) + r"[ \t]*\n"
        for line in shown.splitlines()
    )
    return re.fullmatch(pattern, printed.rstrip("\n") + "\n") is not None


# -- type checking -------------------------------------------------------------------------------------


def test_the_guide_code_type_checks(tmp_path: Path) -> None:
    files: dict[str, Chain] = {}
    for number, chain in enumerate(CHAINS):
        name = f"guide_{chain.blocks[0].page.stem.replace('-', '_')}_{number}.py"
        (tmp_path / name).write_text(chain.padded(), encoding="utf-8")
        files[name] = chain
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(REPO / "pyproject.toml"),
            "--disable-error-code",
            "top-level-await",  # the guide's blocks run as in `python -m asyncio`
            "--disable-error-code",
            "syntax",  # likewise top-level `async with`; real syntax errors fail test_the_guide_code_runs
            "--follow-imports",
            "silent",  # the guide's errors only: the library and examples/ have `make typecheck`
            *sorted(str(tmp_path / name) for name in files),
        ],
        cwd=REPO,
        env={**os.environ, "MYPYPATH": str(REPO / "examples")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    errors: list[str] = []
    for line in result.stdout.splitlines():
        found = re.match(r"^(?P<file>[^:]+\.py):(?P<line>\d+): (?P<rest>.*)$", line)
        if found and Path(found["file"]).name in files:
            page = files[Path(found["file"]).name].blocks[0].page.relative_to(REPO)
            errors.append(f"{page}:{found['line']}: {found['rest']}")
    if result.returncode != 0 or errors:
        others = [line for line in result.stdout.splitlines() if Path(line.split(":", 1)[0]).name not in files]
        pytest.fail("\n".join([*errors, *others, result.stderr]).strip())


# -- the site ------------------------------------------------------------------------------------------


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (the docs extra, part of dev, brings it)")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            "mkdocs.yml",
            "--site-dir",
            str(tmp_path / "site"),
        ],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    warnings = [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert result.returncode == 0 and not warnings, output
    assert (tmp_path / "site" / "guide" / "index.html").is_file()
    assert (tmp_path / "site" / "messages" / "index.html").is_file()  # the generated message reference
    assert (tmp_path / "site" / "guide" / "api" / "ocpprpc" / "index.html").is_file()
