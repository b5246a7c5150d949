"""The example simulator, driven through stdin in a subprocess, as a test engineer drives it.

The ``sims`` fixture (tests/conftest.py) stops every simulator a test started.
"""

from __future__ import annotations

import time

import pytest

from .sim_driver import Sim


def start_cs(sims: list[Sim], *extra: str) -> tuple[Sim, int]:
    cs = Sim("start_cs", "0", "--host", "127.0.0.1", *extra)
    sims.append(cs)
    port = int(cs.expect(r"cs: listening on ws://127\.0\.0\.1:(\d+)")[1])
    return cs, port


def test_a_session_driven_from_stdin_prints_every_frame_in_the_ocppjs_style(sims: list[Sim]) -> None:
    cs, port = start_cs(sims)
    cp = Sim("start_cp", f"ws://127.0.0.1:{port}", "CP1")
    sims.append(cp)
    cs.expect(r"connected|CP1")
    for command in ("bootnotification", "heartbeat", "starttransaction", "metervalues", "stoptransaction"):
        cp.send(command)
        action = {"bootnotification": "BootNotification", "heartbeat": "Heartbeat"}.get(command, "")
        cp.expect(r"cp#CP1: <<cs \[3,")
        if action:
            cs.expect(rf'cs: <<cp#CP1 \[2,"[\w-]+","{action}"')
    cp.send('bootnotification chargePointVendor="ACME" chargePointModel=X9')
    cs.expect(r'cs: <<cp#CP1 \[2,"[\w-]+","BootNotification",\{"chargePointVendor":"ACME","chargePointModel":"X9"\}\]')
    cs.send('remote_reset type="Hard"')
    cp.expect(r'cp#CP1: <<cs \[2,"[\w-]+","Reset",\{"type":"Hard"\}\]')
    cs.expect(r'cs: <<cp#CP1 \[3,"[\w-]+",\{"status":"Accepted"\}\]')
    cs.send("remote_getconfiguration")
    cs.expect(r'cs: <<cp#CP1 \[3,"[\w-]+",\{"configurationKey":')
    cs.send("remote_starttransaction")
    cp.expect(r'cp#CP1: <<cs \[2,"[\w-]+","RemoteStartTransaction",')
    # every answer in the transcript is a CALLRESULT: the defaults are valid for the version
    assert not [f for f in cs.frames() if f[3][0] == 4]
    cp.send("quit")
    assert cp.close() == 0


@pytest.mark.parametrize("version", ["1.2", "1.5", "1.6"])
def test_every_action_has_a_valid_default_in_both_directions(sims: list[Sim], version: str) -> None:
    from ocpprpc import Side
    from ocpprpc._versions import VERSIONS

    spec = VERSIONS[version]
    cs, port = start_cs(sims)
    cs.send(f"start_cp ws://127.0.0.1:{port} CPX -p ocpp{version}")
    cs.expect(r"cs: <<cp#CPX|cp#CPX: connect")
    time.sleep(0.3)
    for action in spec.initiated_by(Side.CHARGE_POINT):
        cs.send(action.lower() + " --id CPX")
        cs.expect(rf'cs: <<cp#CPX \[2,"[\w-]+","{action}"')
    for action in spec.initiated_by(Side.CENTRAL_SYSTEM):
        command = "remote_" + (action[6:] if action.startswith("Remote") else action).lower()
        cs.send(command + " --remote-id CPX")
        cs.expect(rf'cp#CPX: <<cs \[2,"[\w-]+","{action}"')
    cs.send("heartbeat --id CPX")
    cs.expect(r'cp#CPX: <<cs \[3,"[\w-]+",\{"currentTime"')
    errors = [f for f in cs.frames() if f[3][0] == 4]
    assert not errors, errors


def test_bad_commands_get_a_usage_line_and_the_simulator_goes_on(sims: list[Sim]) -> None:
    cs, port = start_cs(sims)
    cs.send("start_cs")
    cs.expect(r"error: usage: start_cs <port>")
    cs.send("frobnicate")
    cs.expect(r"error: .*(no charge point|unknown command)")
    cs.send('heartbeat unterminated="')
    cs.expect(r"error: ")
    cs.send("remote_reset")
    cs.expect(r"error: no charge point")
    cs.send(f"start_cp ws://127.0.0.1:{port} CP7")
    cs.send('authorize idTag="far too long for an id tag"')
    cs.expect(r"error: .*idTag")
    cs.send("help")
    cs.expect(r"charge point actions: .*bootnotification")
    cs.send("heartbeat")
    cs.expect(r'cp#CP7: <<cs \[3,"[\w-]+",\{"currentTime"')


def test_without_a_terminal_it_serves_until_stdin_closes(sims: list[Sim]) -> None:
    cs, _port = start_cs(sims)
    time.sleep(0.3)
    assert cs.proc.poll() is None
    assert cs.close() == 0
