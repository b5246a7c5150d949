"""The gateway demo runs a 1.5 SOAP charger's session on a 1.6 OCPP-J central system and says so by its exit code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo_gateway.py"


def test_the_gateway_demo_carries_a_15_soap_session_to_a_16_central_system_and_back() -> None:
    result = subprocess.run([sys.executable, str(DEMO)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "demo: OK" in lines[-1]

    def logged(who: str, pattern: str) -> bool:
        regex = re.compile(rf"^\[[\d:]+\] {who}\s+\| {pattern}")
        return any(regex.search(line) for line in lines)

    for action in ("BootNotification", "Authorize", "StartTransaction", "MeterValues", "StopTransaction"):
        # the charger's SOAP request, the same request as an OCPP-J 1.6 frame at the CSMS, and both answers
        assert logged("charger", rf"cp#CP15: >>cs /{action} \{{"), action
        assert logged("gateway", rf"cs: <<cp#CP15 /{action} \{{"), action
        assert logged("CSMS", rf'cs: <<cp#CP15 \[2,"[\w-]+","{action}",\{{'), action
        assert logged("gateway", rf"gateway: CP15 {action} forwarded \(OCPP 1\.5 → 1\.6\)"), action
        assert logged("charger", rf"cp#CP15: <<cs /{action}Response \{{"), action
    # translated, not copied: 1.5's Occupied is 1.6's Charging, 1.5's meter "values" 1.6's "meterValue"
    assert logged("charger", r'cp#CP15: >>cs /StatusNotification \{"connectorId":1,"status":"Occupied"')
    assert logged("CSMS", r'cs: <<cp#CP15 \[2,"[\w-]+","StatusNotification",\{"connectorId":1,"status":"Charging"')
    assert logged("CSMS", r'cs: <<cp#CP15 \[2,"[\w-]+","MeterValues",\{.*"meterValue":\[\{.*"sampledValue"')
    # remote actions come back down, as SOAP requests to the charger
    for action, answer in (
        ("GetConfiguration", '"configurationKey":'),
        ("RemoteStopTransaction", '"status":"Accepted"'),
    ):
        assert logged("CSMS", rf'cs: >>cp#CP15 \[2,"[\w-]+","{action}",'), action
        assert logged("charger", rf"cp#CP15: <<cs /{action} \{{"), action
        assert logged("charger", rf"cp#CP15: >>cs /{action}Response \{{{answer}"), action
        assert logged("CSMS", rf'cs: <<cp#CP15 \[3,"[\w-]+",\{{{answer}'), action
    assert logged("CSMS", r"CP15 reports \{'HeartbeatInterval': '300'\}")
    # what 1.5 cannot say is refused to the CSMS with the reason, and never reaches the charger
    assert logged("CSMS", r'cs: <<cp#CP15 \[4,"[\w-]+","NotSupported","the charge point speaks OCPP 1\.5: ')
    assert not logged("charger", r"cp#CP15: <<cs /TriggerMessage")
