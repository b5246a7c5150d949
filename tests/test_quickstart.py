"""The README's first example runs as shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"
QUICKSTART_201 = QUICKSTART.with_name("quickstart_201.py")


def test_the_readme_quickstart_runs_a_boot_a_configuration_query_and_a_reset() -> None:
    result = subprocess.run([sys.executable, str(QUICKSTART)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "charge point: boot Accepted",
        "central system: configuration of CP1 [KeyValue(key='HeartbeatInterval', readonly=False, value=None)]",
        "central system: reset Accepted",
    ]


def test_the_201_quickstart_runs_a_boot_a_transaction_event_and_a_remote_start() -> None:
    result = subprocess.run(
        [sys.executable, str(QUICKSTART_201)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "csms: boot of CS1 X2 PowerUp",
        "station: boot Accepted",
        "csms: transaction T-1 Started",
        "station: id token Accepted",
        "csms: remote start Accepted",
    ]
