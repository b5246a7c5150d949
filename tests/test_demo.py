"""The README's demo runs a full session over WebSocket and over SOAP and says so by its exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def test_the_demo_completes_a_charging_session_over_websocket_and_over_soap() -> None:
    result = subprocess.run([sys.executable, str(DEMO)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "demo: OK" in out
    lines = out.splitlines()
    for action in ("BootNotification", "Authorize", "StartTransaction", "MeterValues", "StopTransaction"):
        # OCPP-J frames over WebSocket, OCPP-S messages over SOAP, each received and answered
        assert any('cs: <<cp#CP-WS [2,"' in line and f'","{action}",' in line for line in lines), action
        assert any(f"cs: <<cp#CP-SOAP /{action} {{" in line for line in lines), action
        assert any(f"cs: >>cp#CP-SOAP /{action}Response {{" in line for line in lines), action
    # and the central system calling out to each charge point
    assert any('cp#CP-WS: <<cs [2,"' in line and '"GetConfiguration"' in line for line in lines)
    assert any("cp#CP-SOAP: <<cs /GetConfiguration " in line for line in lines)
