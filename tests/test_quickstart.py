"""The README's first example runs as shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


def test_the_readme_quickstart_runs_a_boot_a_configuration_query_and_a_reset() -> None:
    result = subprocess.run([sys.executable, str(QUICKSTART)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "charge point: boot Accepted",
        "central system: configuration of CP1 [KeyValue(key='HeartbeatInterval', readonly=False, value=None)]",
        "central system: reset Accepted",
    ]
