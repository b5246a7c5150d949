"""The example simulator, driven through stdin in a subprocess, as a test engineer drives it.

The ``sims`` fixture (tests/conftest.py) stops every simulator a test started.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from ocpprpc import OcppVersion, Side
from ocpprpc.messages import v12, v15, v16, v21, v201

from .sim_driver import Sim

VERSIONS: dict[str, OcppVersion] = {
    "1.2": v12.VERSION,
    "1.5": v15.VERSION,
    "1.6": v16.VERSION,
    "2.0.1": v201.VERSION,
    "2.1": v21.VERSION,
}


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


def remote_command(action: str) -> str:
    """The central system's command for ``action``: ``remote_reset``, ``remote_starttransaction`` (1.x), ..."""
    return "remote_" + (action[6:] if action.startswith("Remote") else action).lower()


@pytest.mark.parametrize("version", ["1.2", "1.5", "1.6", "2.0.1", "2.1"])
def test_every_action_has_a_valid_default_in_both_directions(sims: list[Sim], version: str) -> None:
    spec = VERSIONS[version]
    cs, port = start_cs(sims)  # without -p: it serves every version
    cs.send(f"start_cp ws://127.0.0.1:{port} CPX -p ocpp{version}")
    cs.expect(rf"cp#CPX: connected to .* \(ocpp{re.escape(version)}\)")
    for action in spec.initiated_by(Side.CHARGE_POINT):
        cs.send(action.lower() + " --id CPX")
        cs.expect(rf'cs: <<cp#CPX \[2,"[\w-]+","{action}"')
    for action in spec.sent_by(Side.CHARGE_POINT):  # 2.1's SEND
        cs.send(action.lower() + " --id CPX")
        cs.expect(rf'cs: <<cp#CPX \[6,"[\w-]+","{action}"')
    for action in spec.initiated_by(Side.CENTRAL_SYSTEM):
        cs.send(remote_command(action) + " --remote-id CPX")
        cs.expect(rf'cp#CPX: <<cs \[2,"[\w-]+","{action}"')
    cs.send("heartbeat --id CPX")
    cs.expect(r'cp#CPX: <<cs \[3,"[\w-]+",\{"currentTime"')
    errors = [f for f in cs.frames(cs.all) if f[3][0] not in (2, 3, 6)]
    assert not errors, errors
    assert not [line for line in cs.all if "error:" in line or "failed" in line]


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


# -- OCPP 2.0.1 and 2.1 ------------------------------------------------------------------------------------


def start_pair(sims: list[Sim], version: str) -> tuple[Sim, Sim]:
    """A central system serving only ``version`` and, in a process of its own, a charge point connected to it."""
    cs, port = start_cs(sims, "-p", f"ocpp{version}")
    cp = Sim("start_cp", f"ws://127.0.0.1:{port}", "CP1", "-p", f"ocpp{version}")
    sims.append(cp)
    cp.expect(rf"cp#CP1: connected to ws://127\.0\.0\.1:{port}/CP1 \(ocpp{re.escape(version)}\)")
    return cs, cp


def call_id(sim: Sim, pattern: str) -> str:
    """The message id of the first frame line matching ``pattern`` (whose id is its ``(?P<id>...)`` group)."""
    return sim.expect(pattern)["id"]


def test_a_201_pair_exchanges_every_action_in_both_directions_each_answered(sims: list[Sim]) -> None:
    cs, cp = start_pair(sims, "2.0.1")
    version = v201.VERSION
    for action in version.initiated_by(Side.CHARGE_POINT):
        cp.send(action.lower())
        message_id = call_id(cs, rf'cs: <<cp#CP1 \[2,"(?P<id>[\w-]+)","{action}",')
        cp.expect(rf'cp#CP1: <<cs \[3,"{message_id}",')
    for action in version.initiated_by(Side.CENTRAL_SYSTEM):
        cs.send(remote_command(action))
        message_id = call_id(cp, rf'cp#CP1: <<cs \[2,"(?P<id>[\w-]+)","{action}",')
        cs.expect(rf'cs: <<cp#CP1 \[3,"{message_id}",')
    for sim in (cs, cp):
        assert not [f for f in sim.frames(sim.all) if f[3][0] == 4], "no CALLERROR either way"
        assert not [line for line in sim.all if "error:" in line or "failed" in line]
    # the central system's answers say what a CSMS says
    answers = {frame[1]: frame[2] for _, way, _, frame in cs.frames(cs.all) if way == ">>" and frame[0] == 3}
    calls = {frame[1]: frame[2] for _, way, _, frame in cs.frames(cs.all) if way == "<<" and frame[0] == 2}
    by_action = {action: answers[message_id] for message_id, action in calls.items()}
    assert isinstance(boot := by_action["BootNotification"], dict)
    assert (boot["status"], boot["interval"]) == ("Accepted", 300)
    assert by_action["Authorize"] == {"idTokenInfo": {"status": "Accepted"}}
    assert by_action["TransactionEvent"] == {"idTokenInfo": {"status": "Accepted"}}  # Started, with the idToken


def test_a_21_send_from_the_charge_point_reaches_the_central_system_and_nothing_answers_it(sims: list[Sim]) -> None:
    cs, cp = start_pair(sims, "2.1")
    cp.send('notifyperiodiceventstream id=7 data=[{"t": 0, "v": "230.1"}, {"t": 0.5, "v": "231"}]')
    sent = cs.expect(r'cs: <<cp#CP1 \[6,"(?P<id>[\w-]+)","NotifyPeriodicEventStream",(?P<payload>\{.*\})\]$')
    assert json.loads(sent["payload"])["data"] == [{"t": 0, "v": "230.1"}, {"t": 0.5, "v": "231"}]
    cs.expect(r"cs: cp#CP1: stream 7: 2 value\(s\), 0 pending \(unconfirmed: nothing is answered\)")
    cp.send("heartbeat")  # a round trip after it: had anything answered the SEND, it would be in by now
    cp.expect(r'cp#CP1: <<cs \[3,"[\w-]+",\{"currentTime"')
    answered = [line for line in cp.all + cs.all if re.search(rf'\[[345],"{sent["id"]}"', line)]
    assert not answered, answered


def test_a_central_system_without_p_serves_1x_as_before_and_2x_too(sims: list[Sim]) -> None:
    cs = Sim("start_cs", "0", "--host", "127.0.0.1")
    sims.append(cs)
    port = cs.expect(
        r"cs: listening on ws://127\.0\.0\.1:(\d+)/ \(ocpp1\.6, ocpp1\.5, ocpp1\.2, ocpp2\.1, ocpp2\.0\.1\)"
    )[1]
    for cp_id, protocol in (("CP16", ""), ("CP201", " -p ocpp2.0.1"), ("CP21", " -p ocpp2.1")):
        cs.send(f"start_cp ws://127.0.0.1:{port} {cp_id}{protocol}")
        cs.expect(rf"cp#{cp_id}: connected to .* \({protocol.removeprefix(' -p ') or 'ocpp1.6'}\)")
    cs.send("bootnotification --id CP201")
    cs.expect(r'cs: <<cp#CP201 \[2,"[\w-]+","BootNotification",\{"chargingStation":\{.*"reason":"PowerUp"\}')
    cs.send("bootnotification --id CP16")
    cs.expect(r'cs: <<cp#CP16 \[2,"[\w-]+","BootNotification",\{"chargePointVendor":"DBT"')
    for cp_id, reset in (("CP16", "Soft"), ("CP201", "Immediate")):
        cs.send(f"remote_reset --remote-id {cp_id}")
        cs.expect(rf'cp#{cp_id}: <<cs \[2,"[\w-]+","Reset",\{{"type":"{reset}"\}}')
    # 2.x's remote start answers to the 1.x command name too
    cs.send("remote_starttransaction --remote-id CP201")
    cs.expect(r'cp#CP201: <<cs \[2,"[\w-]+","RequestStartTransaction",\{.*"idToken":\{"idToken":"044943121F1D80"')
    # the SEND is 2.1's alone
    cs.send("notifyperiodiceventstream --id CP201")
    cs.expect(r"error: unknown command 'notifyperiodiceventstream'")
    cs.send("notifyperiodiceventstream --id CP21")
    cs.expect(r'cs: <<cp#CP21 \[6,"[\w-]+","NotifyPeriodicEventStream",')
    assert not [f for f in cs.frames(cs.all) if f[3][0] == 4]


def test_ocpp_2x_over_soap_is_refused_with_a_line_that_says_why(sims: list[Sim]) -> None:
    sim = Sim("start_cs", "0", "-t", "soap", "-p", "ocpp2.0.1")
    sims.append(sim)
    sim.expect(r"error: OCPP 2\.0\.1 has no SOAP binding \(OCPP 2\.x is OCPP-J only\): use -t websocket$")
    sim.send("start_cs 0 -t soap -p ocpp1.6,ocpp2.1")
    sim.expect(r"error: OCPP 2\.1 has no SOAP binding \(OCPP 2\.x is OCPP-J only\): use -t websocket$")
    sim.send("start_cs 0 -t soap")  # without -p: the versions SOAP has
    port = sim.expect(r"cs: listening on http://127\.0\.0\.1:(\d+)/? \(soap, ocpp1\.6,ocpp1\.5,ocpp1\.2\)")[1]
    sim.send(f"start_cp http://127.0.0.1:{port} boxid -t soap -p ocpp2.0.1")
    sim.expect(r"error: OCPP 2\.0\.1 has no SOAP binding \(OCPP 2\.x is OCPP-J only\): use -t websocket$")
    sim.send("heartbeat --id boxid")
    sim.expect(r"error: no charge point boxid started")
    assert len([line for line in sim.all if "listening on" in line]) == 1
