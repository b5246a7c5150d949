"""``python -m codegen [--wsdl-dir DIR] [--json-dir DIR] [--out DIR]``: regenerate ``src/ocpprpc/messages/v*``.

``v12`` / ``v15`` / ``v16`` come from the official WSDLs, ``v201`` / ``v21`` from the official OCPP 2.0.1 /
2.1 JSON schemas. The WSDL directory defaults to ``$OCPP_WSDL_DIR`` or ``../shared/ocpp-wsdl`` beside the
checkout, the JSON schema directory (``2.0.1/`` and ``2.1/`` in it) to ``$OCPP_JSON_DIR`` or
``../shared/ocpp-json``; the output to the package's ``messages`` folder. Output is ruff-formatted and
deterministic, so the test suite can regenerate into a temporary folder and compare.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import json_schema
from .model import VersionDef, build_version
from .render import render_actions, render_enums, render_models, render_package
from .wsdl import VERSIONS, read_version

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WSDL_DIR = REPO.parent / "shared" / "ocpp-wsdl"
DEFAULT_JSON_DIR = REPO.parent / "shared" / "ocpp-json"
DEFAULT_OUT = REPO / "src" / "ocpprpc" / "messages"


def default_wsdl_dir() -> Path:
    env = os.environ.get("OCPP_WSDL_DIR")
    return Path(env) if env else DEFAULT_WSDL_DIR


def default_json_dir() -> Path:
    env = os.environ.get("OCPP_JSON_DIR")
    return Path(env) if env else DEFAULT_JSON_DIR


def _ruff() -> list[str]:
    beside = Path(sys.executable).with_name("ruff")
    return [str(beside)] if beside.exists() else [shutil.which("ruff") or "ruff"]


_RUFF_SETTINGS = ["--isolated", "--line-length", "120", "--target-version", "py311"]


def _run_ruff(args: list[str], source: str) -> str:
    result = subprocess.run([*_ruff(), *args], input=source, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ruff {args[0]} failed:\n{result.stderr}")
    return result.stdout


def format_source(source: str) -> str:
    """Sort imports and ``__all__`` and format, with fixed settings independent of any config near the output."""
    fix = ["check", "--fix-only", "--exit-zero", "--select", "I,RUF022", *_RUFF_SETTINGS, "-"]
    return _run_ruff(["format", *_RUFF_SETTINGS, "-"], _run_ruff(fix, source))


def _write(vdef: VersionDef, out_dir: Path) -> list[Path]:
    target = out_dir / vdef.module
    target.mkdir(parents=True, exist_ok=True)
    files = {
        "__init__.py": render_package(vdef),
        "enums.py": render_enums(vdef),
        "models.py": render_models(vdef),
        "actions.py": render_actions(vdef),
    }
    written: list[Path] = []
    for name, source in files.items():
        path = target / name
        path.write_text(format_source(source), encoding="utf-8")
        written.append(path)
    return written


def generate(wsdl_dir: Path | None, out_dir: Path, json_dir: Path | None = None) -> list[Path]:
    """Write the packages of the WSDL versions (from ``wsdl_dir``) and of the JSON schema versions (from
    ``json_dir``) under ``out_dir``, each front end only when its folder is given; returns the files written."""
    written: list[Path] = []
    if wsdl_dir is not None:
        for version, module in VERSIONS.items():
            cs, cp = read_version(wsdl_dir, version)
            written += _write(build_version(version, module, cs, cp), out_dir)
    if json_dir is not None:
        for version in json_schema.VERSIONS:
            written += _write(json_schema.build_json_version(json_dir, version), out_dir)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--wsdl-dir", type=Path, default=default_wsdl_dir(), help="folder with 1.2/ 1.5/ 1.6/")
    parser.add_argument("--json-dir", type=Path, default=default_json_dir(), help="folder with 2.0.1/ 2.1/")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the ocpprpc/messages folder")
    args = parser.parse_args(argv)
    if not args.wsdl_dir.is_dir():
        parser.error(f"no WSDL folder at {args.wsdl_dir} (set --wsdl-dir or OCPP_WSDL_DIR)")
    if not args.json_dir.is_dir():
        parser.error(f"no JSON schema folder at {args.json_dir} (set --json-dir or OCPP_JSON_DIR)")
    for path in generate(args.wsdl_dir, args.out, args.json_dir):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
