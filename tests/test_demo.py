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
    for who in ("CP-WS", "CP-SOAP"):
        for action in ("BootNotification", "StartTransaction", "MeterValues", "StopTransaction"):
            assert f"cs: <<cp#{who}" in out and action in out
    assert 'cs: <<cp#CP-WS [2,' in out  # OCPP-J frames
    assert "cs: <<cp#CP-SOAP /StopTransaction" in out  # OCPP-S messages
    assert "cp#CP-WS: <<cs [2," in out and "GetConfiguration" in out  # and the central system calling out
