"""A user's program is type-checked without plugins: mypy --strict and basedpyright strict see the real signatures.

pydantic's ``dataclass_transform`` alone would make checkers see each field's *alias* (the camelCase wire
name) as the constructor's parameter and refuse ``status="Accepted"`` for an enum field; the pydantic mypy
plugin hides that by typing every argument as ``Any``. The generated models declare their ``__init__``
for type checkers instead (see ``codegen/render.py``), so both checkers, with no plugin, accept every
correct construction below and flag each line marked ``# error``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SNIPPET = """\
from datetime import UTC, datetime
from decimal import Decimal

from ocpprpc import CentralSystem, ChargePoint
from ocpprpc.messages import v15, v16

now = datetime.now(UTC)

# Correct: snake_case keywords; an enum field takes the member or its exact wire string; a nested model
# takes the model or a dict of its fields; optional fields may be left out.
boot = v16.BootNotificationRequest(charge_point_vendor="ACME", charge_point_model="X1", iccid=None)
conf = v16.BootNotificationResponse(status="Accepted", current_time=now, interval=300)
same = v16.BootNotificationResponse(status=v16.RegistrationStatus.ACCEPTED, current_time=now, interval=300)
status: v16.RegistrationStatus = conf.status
period = v16.ChargingSchedulePeriod(start_period=0, limit=Decimal("16.5"))
period_from_float = v16.ChargingSchedulePeriod(start_period=0, limit=16.5, number_phases=3)
authorized = v16.AuthorizeResponse(id_tag_info={"status": "Accepted", "expiry_date": now})
blocked = v16.AuthorizeResponse(id_tag_info=v16.IdTagInfo(status="Blocked", parent_id_tag="P"))
reading = v16.MeterValue(timestamp=now, sampled_value=[{"value": "1", "unit": "Wh"}, v16.SampledValue(value="2")])
meter = v16.MeterValuesRequest(connector_id=1, meter_value=[reading])
config = v16.GetConfigurationRequest(key=["HeartbeatInterval"])
beat = v16.HeartbeatRequest()
old = v15.BootNotificationResponse(status="Accepted", current_time=now, heartbeat_interval=300)
wire = v16.ResetRequest.model_validate({"type": "Soft"})


async def calls(cs: CentralSystem, cp: ChargePoint) -> None:
    answer = await cs.call(v16.ResetRequest(type="Soft"))
    reset_status: v16.ResetStatus = answer.status
    heartbeat = await cp.call(v16.HeartbeatRequest())
    when: datetime = heartbeat.current_time
    print(reset_status, when)


# Mistakes, one per line
v16.ResetRequest(type=123)  # error: not a reset type
v16.ResetRequest(type="Medium")  # error: not one of the wire strings
v16.BootNotificationResponse(status="Acepted", current_time=now, interval=300)  # error: misspelled value
v16.BootNotificationRequest(chargePointVendor="ACME", charge_point_model="X1")  # error: camelCase keyword
v16.BootNotificationRequest(charge_point_vendr="ACME", charge_point_model="X1")  # error: misspelled keyword
v16.BootNotificationRequest(charge_point_vendor="ACME")  # error: a required field left out
v16.ResetRequest(v16.ResetType.HARD)  # error: positional
v16.UnlockConnectorRequest(connector_id="1")  # error: a string for an integer
v16.HeartbeatResponse(current_time="2026-11-24T10:00:00Z")  # error: a string for a date-time
v16.ChargingSchedulePeriod(start_period=0, limit="16.5")  # error: a string for a decimal
v16.AuthorizeResponse(id_tag_info={"status": "Acepted"})  # error: misspelled value in a dict
v16.AuthorizeResponse(id_tag_info={"status": "Accepted", "parentIdTag": "P"})  # error: camelCase key in a dict
v16.MeterValuesRequest(connector_id=1, meter_value=[v15.MeterValue(timestamp=now)])  # error: another version
wrong_attribute: str = conf.current_time  # error: a datetime is not a str
"""


def _expected_lines(source: str) -> set[int]:
    return {number for number, line in enumerate(source.splitlines(), 1) if "# error" in line}


@pytest.fixture
def snippet(tmp_path: Path) -> Path:
    path = tmp_path / "user_program.py"
    path.write_text(SNIPPET, encoding="utf-8")
    return path


def test_the_snippet_marks_each_mistake_on_its_own_line() -> None:
    assert len(_expected_lines(SNIPPET)) == 14


def test_mypy_strict_without_the_pydantic_plugin_accepts_correct_code_and_flags_each_mistake(
    snippet: Path, tmp_path: Path
) -> None:
    config = tmp_path / "mypy.ini"
    config.write_text(f"[mypy]\nstrict = True\npython_version = 3.11\nmypy_path = {REPO / 'src'}\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--cache-dir",
            str(tmp_path / "cache"),
            str(snippet),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    lines = {int(line.split(":")[1]) for line in errors}
    assert lines == _expected_lines(SNIPPET), "\n".join(errors) or result.stdout + result.stderr
    assert "pydantic" not in config.read_text(encoding="utf-8")


def _basedpyright() -> str | None:
    beside = Path(sys.executable).with_name("basedpyright")
    return str(beside) if beside.exists() else shutil.which("basedpyright")


def test_basedpyright_strict_accepts_correct_code_and_flags_each_mistake(snippet: Path, tmp_path: Path) -> None:
    checker = _basedpyright()
    if checker is None:
        pytest.skip("basedpyright is not installed (pip install basedpyright; it belongs in the dev extra)")
    config = {"typeCheckingMode": "strict", "pythonVersion": "3.11", "extraPaths": [str(REPO / "src")]}
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config), encoding="utf-8")
    result = subprocess.run(
        [checker, "--outputjson", "--pythonpath", sys.executable, str(snippet)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    report = json.loads(result.stdout)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    lines = {d["range"]["start"]["line"] + 1 for d in errors}
    described = "\n".join(f"{d['range']['start']['line'] + 1}: {d['message']}" for d in errors)
    assert lines == _expected_lines(SNIPPET), described
