"""``python -m codegen [--wsdl-dir DIR] [--out DIR]``: regenerate ``src/ocpprpc/messages/v12|v15|v16``.

The WSDL directory defaults to ``$OCPP_WSDL_DIR`` or ``../shared/ocpp-wsdl`` beside the checkout; the
output to the package's ``messages`` folder. Output is ruff-formatted and deterministic, so the test
suite can regenerate into a temporary folder and compare.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .model import build_version
from .render import render_actions, render_enums, render_models, render_package
from .wsdl import VERSIONS, read_version

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WSDL_DIR = REPO.parent / "shared" / "ocpp-wsdl"
DEFAULT_OUT = REPO / "src" / "ocpprpc" / "messages"


def default_wsdl_dir() -> Path:
    env = os.environ.get("OCPP_WSDL_DIR")
    return Path(env) if env else DEFAULT_WSDL_DIR


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


def generate(wsdl_dir: Path, out_dir: Path) -> list[Path]:
    """Write every version's package under ``out_dir``; returns the files written."""
    written: list[Path] = []
    for version, module in VERSIONS.items():
        cs, cp = read_version(wsdl_dir, version)
        vdef = build_version(version, module, cs, cp)
        target = out_dir / module
        target.mkdir(parents=True, exist_ok=True)
        files = {
            "__init__.py": render_package(vdef),
            "enums.py": render_enums(vdef),
            "models.py": render_models(vdef),
            "actions.py": render_actions(vdef),
        }
        for name, source in files.items():
            path = target / name
            path.write_text(format_source(source), encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--wsdl-dir", type=Path, default=default_wsdl_dir(), help="folder with 1.2/ 1.5/ 1.6/")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the ocpprpc/messages folder")
    args = parser.parse_args(argv)
    if not args.wsdl_dir.is_dir():
        parser.error(f"no WSDL folder at {args.wsdl_dir} (set --wsdl-dir or OCPP_WSDL_DIR)")
    for path in generate(args.wsdl_dir, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
