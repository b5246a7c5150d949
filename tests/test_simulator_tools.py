"""The simulator's test tools and its example plugins, driven through stdin as a test engineer drives them.

Each test runs one simulator process holding both a central system and a charge point (``start_cs`` then
``start_cp``), over WebSocket or SOAP on 127.0.0.1, and reads its transcript: every frame is printed as
``cs: <<cp#CP1 [2,"…","Heartbeat",{}]`` over WebSocket and as ``cs: <<cp#CP1 /Heartbeat {}`` over SOAP.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .sim_driver import FRAME, Sim

TIMEOUT = 5.0
"""Seconds any one expected line may take; the whole file runs in seconds when all is well."""

METER_INTERVAL = 0.2
"""The autocharge plugin's MeterValues interval in these tests."""


class RecordingSim(Sim):
    """A :class:`Sim` whose expected lines come within :data:`TIMEOUT` (every line is in ``all``)."""

    def expect(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        return super().expect(pattern, timeout)


@dataclass
class Session:
    """One simulator process running a central system and one charge point connected to it."""

    sim: RecordingSim
    cp: str
    transport: str

    @property
    def soap(self) -> bool:
        return self.transport == "soap"

    def send(self, *lines: str) -> None:
        for line in lines:
            self.sim.send(line)

    def expect(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        return self.sim.expect(pattern, timeout)

    # Patterns of transcript lines; ``payload`` is literal JSON text the frame's payload starts with.

    def cs_got_call(self, action: str, payload: str = "") -> str:
        """The central system received ``action`` from the charge point."""
        if self.soap:
            return rf"cs: <<cp#{self.cp} /{action} " + re.escape(payload)
        return rf'cs: <<cp#{self.cp} \[2,"(?P<id>[^"]+)","{action}",' + re.escape(payload)

    def cp_got_call_answered(self, action: str, call: re.Match[str]) -> str:
        """The charge point received the answer to ``call``, a :meth:`cs_got_call` match of ``action``."""
        if self.soap:
            return rf"cp#{self.cp}: <<cs /{action}Response "
        return rf'cp#{self.cp}: <<cs \[3,"{call["id"]}",'

    def cp_got_call(self, action: str, payload: str = "") -> str:
        """The charge point received ``action`` from the central system."""
        if self.soap:
            return rf"cp#{self.cp}: <<cs /{action} " + re.escape(payload)
        return rf'cp#{self.cp}: <<cs \[2,"[^"]+","{action}",' + re.escape(payload)

    def cs_got_answer(self, action: str, payload: str = "") -> str:
        """The central system received the charge point's answer to its ``action``."""
        if self.soap:
            return rf"cs: <<cp#{self.cp} /{action}Response " + re.escape(payload)
        return rf'cs: <<cp#{self.cp} \[3,"[^"]+",' + re.escape(payload)

    def cp_got_answer(self, action: str, payload: str = "") -> str:
        """The charge point received the central system's answer to its ``action``."""
        if self.soap:
            return rf"cp#{self.cp}: <<cs /{action}Response " + re.escape(payload)
        return rf'cp#{self.cp}: <<cs \[3,"[^"]+",' + re.escape(payload)

    def calls_to_cs(self) -> list[tuple[str, dict[str, Any]]]:
        """Every request the central system received so far, in order: (action, payload)."""
        soap_call = re.compile(rf"^\[[^\]]+\] cs: <<cp#{re.escape(self.cp)} /(\w+) (\{{.*\}})$")
        calls: list[tuple[str, dict[str, Any]]] = []
        for line in list(self.sim.all):
            if self.soap:
                match = soap_call.match(line)
                if match and not match[1].endswith(("Response", "Fault")):
                    calls.append((match[1], json.loads(match[2])))
            elif (frame := FRAME.match(line)) and frame["who"] == "cs:" and frame["dir"] == "<<":
                message = json.loads(frame["frame"])
                if message[0] == 2:
                    calls.append((message[2], message[3]))
        return calls

    def errors_seen(self) -> list[str]:
        """CALLERRORs and SOAP Faults anywhere in the transcript."""
        fault = re.compile(r"<<(cs|cp#\S+) (\[4,|/\w+Fault )")
        return [line for line in self.sim.all if fault.search(line)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(sims: list[Sim], transport: str, *, version: str = "1.6", first: tuple[str, ...] = ()) -> Session:
    """A central system and, after the ``first`` commands (e.g. ``load greeter``), a charge point connected to it."""
    if transport == "soap":
        sim = RecordingSim("start_cs", "0", "-t", "soap", "--host", "127.0.0.1")
        sims.append(sim)
        port = sim.expect(r"cs: listening on http://127\.0\.0\.1:(\d+)")[1]
        session = Session(sim, "boxid", transport)
        session.send(*first)
        session.send(
            f"start_cp http://127.0.0.1:{port} boxid -t soap -f http://127.0.0.1:{free_port()} --host 127.0.0.1"
            f" -p ocpp{version}"
        )
        session.expect(r"cp#boxid: connecting to .* \(remote actions at http://127\.0\.0\.1:\d+")
    else:
        sim = RecordingSim("start_cs", "0", "--host", "127.0.0.1")
        sims.append(sim)
        port = sim.expect(r"cs: listening on ws://127\.0\.0\.1:(\d+)")[1]
        session = Session(sim, "CP1", transport)
        session.send(*first)
        session.send(f"start_cp ws://127.0.0.1:{port} CP1 -p ocpp{version}")
        session.expect(rf"cp#CP1: connected to ws://127\.0\.0\.1:{port}/CP1 \(ocpp{re.escape(version)}\)")
    return session


def boot(session: Session) -> None:
    """A BootNotification: over SOAP the central system knows a charge point only once it has heard from it."""
    session.send("bootnotification")
    session.expect(session.cp_got_answer("BootNotification", '{"status":"Accepted"'))


TRANSPORTS = ["websocket", "soap"]
TRANSACTION_MESSAGES = ("StartTransaction", "MeterValues", "StopTransaction")


# -- the command line's tools --------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_charge_point_actions_and_remote_actions_are_answered(sims: list[Sim], transport: str) -> None:
    session = start(sims, transport)
    boot(session)
    for command, action in [
        ("heartbeat", "Heartbeat"),
        ("authorize idTag=TAG1", "Authorize"),
        ("statusnotification connectorId=2 status=Preparing", "StatusNotification"),
        ("datatransfer vendorId=ACME messageId=hi", "DataTransfer"),
        ("starttransaction connectorId=2", "StartTransaction"),
        ("metervalues connectorId=2", "MeterValues"),
        ("stoptransaction meterStop=42", "StopTransaction"),
    ]:
        session.send(command)
        session.expect(session.cs_got_call(action))
        session.expect(session.cp_got_answer(action))
    session.send('remote_reset type="Soft"')
    session.expect(session.cp_got_call("Reset", '{"type":"Soft"}'))
    session.expect(session.cs_got_answer("Reset", '{"status":"Accepted"}'))
    session.send("remote_getconfiguration")
    session.expect(session.cs_got_answer("GetConfiguration", '{"configurationKey":[{"key":"HeartbeatInterval"'))
    session.send("remote_starttransaction idTag=REMOTE1")
    session.expect(session.cp_got_call("RemoteStartTransaction"))
    session.expect(session.cs_got_answer("RemoteStartTransaction", '{"status":"Accepted"}'))
    session.send("remote_clearcache")
    session.expect(session.cs_got_answer("ClearCache", '{"status":"Accepted"}'))
    assert not session.errors_seen()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_send_and_remote_send_put_any_payload_in_a_valid_message(sims: list[Sim], transport: str) -> None:
    session = start(sims, transport)
    boot(session)
    session.send('send DataTransfer {"vendorId": "ACME", "data": "raw"}')
    session.expect(session.cs_got_call("DataTransfer", '{"vendorId":"ACME","data":"raw"}'))
    session.expect(session.cp_got_answer("DataTransfer", '{"status":"Accepted"}'))
    session.send('remote_send Reset {"type": "Hard"}')
    session.expect(session.cp_got_call("Reset", '{"type":"Hard"}'))
    session.expect(session.cs_got_answer("Reset", '{"status":"Accepted"}'))
    # unchecked: a value the peer refuses goes out, and the peer's error answer is printed
    session.send('remote_send Reset {"type": "Bogus"}')
    session.expect(r"cs: Reset answered with TypeConstraintViolation")
    session.send("heartbeat")
    session.expect(session.cp_got_answer("Heartbeat", '{"currentTime":'))


@pytest.mark.parametrize(
    "transport",
    [
        "websocket",
        "soap",
    ],
)
def test_an_unknown_action_sent_is_answered_not_implemented(sims: list[Sim], transport: str) -> None:
    session = start(sims, transport)
    boot(session)
    session.send("send FooBar {}")
    session.expect(rf"cp#{session.cp}: FooBar answered with NotImplemented", timeout=2)
    session.send("remote_send FooBar {}")
    session.expect(r"cs: FooBar answered with NotImplemented", timeout=2)


def test_send_raw_over_websocket_gets_a_callerror_when_the_id_can_be_read(sims: list[Sim]) -> None:
    session = start(sims, "websocket")
    session.send("send_raw this is no frame")
    session.expect(r"cs: <<cp#CP1 this is no frame$")
    session.send('send_raw [2,"raw-1","NoSuchAction",{}]')
    session.expect(r'cs: >>cp#CP1 \[4,"raw-1","NotImplemented",')
    session.send('send_raw [2,"raw-2","Heartbeat",{"x":')  # cut short: not JSON, so the id cannot be read
    session.expect(r'cs: <<cp#CP1 \[2,"raw-2","Heartbeat",\{"x":$')
    session.send("remote_send_raw garbage")
    session.expect(r"cp#CP1: <<cs garbage$")
    session.send('remote_send_raw [2,"raw-3","NoSuchAction",{}]')
    session.expect(r'cp#CP1: >>cs \[4,"raw-3","NotImplemented",')
    session.send("heartbeat")  # the session goes on
    session.expect(session.cp_got_answer("Heartbeat", '{"currentTime":'))
    answered = [line for line in session.sim.all if re.search(r'\[4,"raw-2"', line)]
    assert not answered, answered


def test_send_raw_over_soap_prints_the_fault_the_peer_answers(sims: list[Sim]) -> None:
    session = start(sims, "soap")
    boot(session)
    session.send("send_raw this is no envelope")
    session.expect(r"\] cp#boxid: answer: ")
    session.expect(r"<s:Fault>.*FormationViolation")
    session.send("remote_send_raw <not-soap/>")
    session.expect(r"cs: cp#boxid: answer: ")
    session.expect(r"<s:Fault>.*<s:Value>s:Sender</s:Value>")
    envelope = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:o="urn://Ocpp/Cs/2015/10/">'
        "<s:Header><o:chargeBoxIdentity>boxid</o:chargeBoxIdentity></s:Header>"
        "<s:Body><o:fooBarRequest/></s:Body></s:Envelope>"
    )
    session.send("send_raw " + envelope)
    session.expect(r"\] cp#boxid: answer: ")
    session.expect(r"<s:Fault>.*NotImplemented")
    session.send("heartbeat")  # the session goes on
    session.expect(session.cp_got_answer("Heartbeat", '{"currentTime":'))


def test_settings_and_pings_over_websocket(sims: list[Sim]) -> None:
    session = start(sims, "websocket")
    session.send("set cs websocket_ping_interval=1")
    session.expect(r"cs: websocket_ping_interval = 1")
    session.send("set cp websocket_ping_interval=0")
    session.expect(r"cp: websocket_ping_interval = (0|None)")
    session.send("websocket_ping_cs")
    session.expect(r"cs: cp#CP1: pong in [\d.]+ ms")
    session.send("websocket_ping_cp")
    session.expect(r"cp#CP1: pong in [\d.]+ ms")
    session.send("set cs print_xml=true")
    session.expect(r"cs: print_xml = True")
    session.send("heartbeat")
    session.expect(session.cp_got_answer("Heartbeat"))
    assert not [line for line in session.sim.all if "<s:Envelope" in line]


def test_settings_print_xml_and_pings_over_soap(sims: list[Sim]) -> None:
    session = start(sims, "soap")
    boot(session)
    session.send("set cs websocket_ping_interval=1", "set cp websocket_ping_interval=0")
    session.expect(r"cs: websocket_ping_interval = 1")
    session.expect(r"cp: websocket_ping_interval = (0|None)")
    assert not [line for line in session.sim.all if "<s:Envelope" in line]
    session.send("set cs print_xml=true")
    session.expect(r"cs: print_xml = True")
    session.send("heartbeat")
    session.expect(r"<s:Envelope .*<a:Action>/Heartbeat</a:Action>")
    session.expect(r"<s:Envelope .*<a:Action>/HeartbeatResponse</a:Action>")
    session.send("set cs print_xml=false")
    session.expect(r"cs: print_xml = False")
    # no WebSocket to ping: an error line, and the session goes on
    session.send("websocket_ping_cs")
    session.expect(r"error: .*not connected by WebSocket")
    session.send("websocket_ping_cp")
    session.expect(r"error: .*does not use WebSocket")
    session.send("heartbeat")
    session.expect(session.cp_got_answer("Heartbeat"))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_plugins_load_unload_and_bad_commands(sims: list[Sim], transport: str) -> None:
    session = start(sims, transport)
    boot(session)
    session.send("plugins")
    for name, side in (("hello", "cs"), ("greeter", "cs"), ("autocharge", "cp")):
        session.expect(rf"plugin {name} \[available\] \({side}, ")
    # the hello plugin: on load, on every connection, its own command, on unload
    session.send("load hello")
    session.expect(r"hello: loaded")
    session.expect(r"plugin hello loaded")
    session.expect(rf"hello: hello, {session.cp}$")
    session.send("hello Bob")
    session.expect(r"hello: hello, Bob$")
    session.send("plugins")
    session.expect(r"plugin hello \[loaded\]")
    session.send("load hello")
    session.expect(r"error: plugin hello is already loaded")
    session.send("unload hello")
    session.expect(r"hello: goodbye")
    session.expect(r"plugin hello unloaded")
    session.send("hello Bob")
    session.expect(r"error: unknown command 'hello'")
    # bad commands: an error line with the usage, never a crash
    for command, answer in [
        ("frobnicate", r"error: unknown command 'frobnicate'"),
        ("load", r"error: usage: load <name>"),
        ("load no_such_plugin", r"error: no plugin 'no_such_plugin'"),
        ("unload hello", r"error: usage: unload <name>"),
        ("set cs", r"error: usage: set cs\|cp"),
        ("set cs colour=blue", r"error: unknown setting 'colour'"),
        ("send", r"error: usage: send "),
        ("send Heartbeat [1]", r"error: the payload must be a JSON object"),
        ("remote_send_raw", r"error: usage: send_raw "),
        ('remote_reset type="Bogus"', r"error: invalid ResetRequest"),
        ("plug 1 TAG1", r"error: unknown command 'plug'"),
    ]:
        session.send(command)
        session.expect(answer)
    session.send("heartbeat")
    session.expect(session.cp_got_answer("Heartbeat"))
    assert session.sim.proc.poll() is None
    session.send("quit")
    assert session.sim.close() == 0


# -- the greeter plugin ------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_greeter_greets_a_16_charge_point_and_prints_its_local_list_version(sims: list[Sim], transport: str) -> None:
    session = start(sims, transport, first=("load greeter",))
    if session.soap:
        boot(session)  # the central system meets a SOAP charge point at its first request
    session.expect(session.cp_got_call("DataTransfer", '{"vendorId":"ocpprpc","messageId":"greeting","data":"Hello'))
    session.expect(session.cs_got_answer("DataTransfer", '{"status":"Accepted"}'))
    session.expect(rf"greeter: {session.cp} answered the greeting: Accepted")
    session.expect(session.cp_got_call("GetLocalListVersion", "{}"))
    session.expect(session.cs_got_answer("GetLocalListVersion", '{"listVersion":0}'))
    session.expect(rf"greeter: {session.cp} local list version: 0$")


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_greeter_greets_a_2x_charge_point_and_reads_its_version_number(sims: list[Sim], version: str) -> None:
    session = start(sims, "websocket", version=version, first=("load greeter",))
    session.expect(
        session.cp_got_call("DataTransfer", '{"messageId":"greeting","data":"Hello CP1","vendorId":"ocpprpc"}')
    )
    session.expect(session.cs_got_answer("DataTransfer", '{"status":"Accepted"}'))
    session.expect(session.cs_got_answer("GetLocalListVersion", '{"versionNumber":0}'))
    session.expect(r"greeter: CP1 local list version: 0$")
    assert not session.errors_seen()
    assert not [line for line in session.sim.all if "failed" in line]


def test_greeter_on_loading_greets_the_charge_points_already_connected_and_skips_what_12_lacks(
    sims: list[Sim],
) -> None:
    session = start(sims, "websocket", version="1.2")
    session.send("load greeter")
    session.expect(r"greeter: hello, CP1 \(OCPP 1\.2 has no DataTransfer\)")
    session.expect(r"greeter: GetLocalListVersion is unavailable in OCPP 1\.2")
    assert not [line for line in session.sim.all if re.search(r'"(DataTransfer|GetLocalListVersion)"', line)]
    assert not session.errors_seen()


# -- the autocharge plugin ---------------------------------------------------------------------------------


def start_autocharge(sims: list[Sim], transport: str, version: str) -> Session:
    """A charge point run by autocharge: it boots and reports its connectors by itself."""
    first = ("load autocharge", f"autocharge_interval {METER_INTERVAL}")
    session = start(sims, transport, version=version, first=first)
    session.expect(session.cs_got_call("BootNotification", '{"chargePointVendor":"ocpprpc"'))
    for connector in (1, 2):
        session.expect(session.cs_got_call("StatusNotification", f'{{"connectorId":{connector},"status":"Available"'))
    return session


def send_local_list(session: Session, version: str, version_number: int, entries: list[dict[str, Any]]) -> None:
    key = "localAuthorisationList" if version == "1.5" else "localAuthorizationList"
    session.send(f"remote_sendlocallist listVersion={version_number} updateType=Full {key}={json.dumps(entries)}")
    session.expect(session.cs_got_answer("SendLocalList", '{"status":"Accepted"'))
    session.send("remote_getlocallistversion")
    session.expect(session.cs_got_answer("GetLocalListVersion", f'{{"listVersion":{version_number}}}'))


def energy(version: str, payload: dict[str, Any]) -> int:
    """The energy reading of a MeterValues payload in the shape of ``version``."""
    if version == "1.2":
        return int(payload["values"][0]["value"])
    if version == "1.5":
        return int(payload["values"][0]["values"][0]["value"])
    return int(payload["meterValue"][0]["sampledValue"][0]["value"])


@pytest.mark.parametrize(("transport", "version"), [("websocket", "1.6"), ("websocket", "1.5"), ("soap", "1.5")])
def test_autocharge_charges_a_tag_of_the_local_list_from_plug_to_unplug(
    sims: list[Sim], transport: str, version: str
) -> None:
    session = start_autocharge(sims, transport, version)
    accepted = {"idTag": "LOCAL1", "idTagInfo": {"status": "Accepted"}}
    send_local_list(session, version, 7, [accepted, {"idTag": "BLOCKED1", "idTagInfo": {"status": "Blocked"}}])
    session.send("plug 1 LOCAL1")
    session.expect(r"autocharge: \S+: LOCAL1 is in the local list")
    busy = "Preparing" if version == "1.6" else "Occupied"
    session.expect(session.cs_got_call("StatusNotification", f'{{"connectorId":1,"status":"{busy}"'))
    session.expect(session.cs_got_call("StartTransaction", '{"connectorId":1,"idTag":"LOCAL1"'))
    for _ in range(2):
        session.expect(session.cs_got_call("MeterValues", '{"connectorId":1,"transactionId":'))
    session.send("status")
    session.expect(r"autocharge:   connector 1: charging, tag LOCAL1, transaction \d+")
    session.expect(r"autocharge:   local list version 7: LOCAL1 Accepted, BLOCKED1 Blocked")
    session.send("unplug 1")
    session.expect(session.cs_got_call("StopTransaction", '{"transactionId":'))
    session.expect(session.cs_got_call("StatusNotification", '{"connectorId":1,"status":"Available"'))

    calls = session.calls_to_cs()
    actions = [action for action, _ in calls]
    assert "Authorize" not in actions, "a tag the local list accepts is authorised without asking"
    transaction = [(action, payload) for action, payload in calls if action in TRANSACTION_MESSAGES]
    assert [action for action, _ in transaction] == [
        "StartTransaction",
        *["MeterValues"] * (len(transaction) - 2),
        "StopTransaction",
    ]
    assert len(transaction) >= 4, "at least two MeterValues between start and stop"
    readings = [energy(version, payload) for action, payload in transaction if action == "MeterValues"]
    assert readings == sorted(set(readings)), f"the energy register grows: {readings}"
    assert transaction[-1][1]["meterStop"] == readings[-1]
    assert not session.errors_seen()


@pytest.mark.parametrize(("transport", "version"), [("websocket", "1.6"), ("soap", "1.6"), ("websocket", "1.2")])
def test_autocharge_asks_the_central_system_about_a_tag_not_in_the_local_list(
    sims: list[Sim], transport: str, version: str
) -> None:
    session = start_autocharge(sims, transport, version)
    if version != "1.2":
        send_local_list(session, version, 1, [{"idTag": "BLOCKED1", "idTagInfo": {"status": "Blocked"}}])
    session.send("plug 2 STRANGER", "plug 1 BLOCKED1")
    session.expect(session.cs_got_call("Authorize", '{"idTag":"STRANGER"}'))
    session.expect(session.cs_got_call("Authorize", '{"idTag":"BLOCKED1"}'))
    for connector, tag in ((2, "STRANGER"), (1, "BLOCKED1")):  # both started before they are unplugged
        session.expect(session.cs_got_call("StartTransaction", f'{{"connectorId":{connector},"idTag":"{tag}"'))
    session.expect(session.cs_got_call("MeterValues", '{"connectorId":2'))
    session.send("unplug 2", "unplug 1")
    session.expect(session.cs_got_call("StopTransaction"))
    session.expect(session.cs_got_call("StopTransaction"))
    actions = [(action, payload.get("idTag")) for action, payload in session.calls_to_cs()]
    for tag in ("STRANGER", "BLOCKED1"):
        assert actions.index(("Authorize", tag)) < actions.index(("StartTransaction", tag))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_autocharge_answers_remote_start_and_remote_stop(sims: list[Sim], transport: str) -> None:
    session = start_autocharge(sims, transport, "1.6")
    session.send("remote_starttransaction idTag=REMOTE1 connectorId=2")
    session.expect(session.cs_got_answer("RemoteStartTransaction", '{"status":"Accepted"}'))
    session.expect(session.cs_got_call("StartTransaction", '{"connectorId":2,"idTag":"REMOTE1"'))
    transaction = session.expect(session.cp_got_answer("StartTransaction", '{"transactionId":') + r"(\d+)")[1]
    session.expect(session.cs_got_call("MeterValues", f'{{"connectorId":2,"transactionId":{transaction}'))
    # the connector is busy now: a second remote start there is rejected, one without a connector takes 1
    session.send("remote_starttransaction idTag=REMOTE2 connectorId=2")
    session.expect(session.cs_got_answer("RemoteStartTransaction", '{"status":"Rejected"}'))
    session.send("remote_stoptransaction transactionId=999999")
    session.expect(session.cs_got_answer("RemoteStopTransaction", '{"status":"Rejected"}'))
    session.send(f"remote_stoptransaction transactionId={transaction}")
    session.expect(session.cs_got_answer("RemoteStopTransaction", '{"status":"Accepted"}'))
    session.expect(session.cs_got_call("StopTransaction", f'{{"transactionId":{transaction},"idTag":"REMOTE1"'))
    stop = [payload for action, payload in session.calls_to_cs() if action == "StopTransaction"][-1]
    assert stop["reason"] == "Remote"
    available = session.expect(session.cs_got_call("StatusNotification", '{"connectorId":2,"status":"Available"'))
    session.expect(session.cp_got_call_answered("StatusNotification", available))  # the session is over
    session.send("status")
    session.expect(r"autocharge:   connector 2: available, meter [1-9]\d* Wh")
    assert not session.errors_seen()


# -- the autocharge plugin in OCPP 2.0.1 and 2.1 ---------------------------------------------------------

TWO_X = ["2.0.1", "2.1"]


def start_autocharge_2x(sims: list[Sim], version: str) -> Session:
    """A 2.x charge point run by autocharge: it boots and reports each EVSE Available by itself."""
    first = ("load autocharge", f"autocharge_interval {METER_INTERVAL}")
    session = start(sims, "websocket", version=version, first=first)
    boot = '{"chargingStation":{"model":"autocharge","vendorName":"ocpprpc"},"reason":"PowerUp"}'
    session.expect(session.cs_got_call("BootNotification", boot))
    for evse in (1, 2):
        session.expect(status_2x(session, "Available", evse))
    return session


def status_2x(session: Session, status: str, evse: int) -> str:
    """A 2.x StatusNotification of connector 1 of ``evse`` the central system received."""
    return session.cs_got_call("StatusNotification") + (
        rf'\{{"timestamp":"[^"]+","connectorStatus":"{status}","evseId":{evse},"connectorId":1\}}'
    )


def transaction_events(session: Session, transaction_id: str) -> list[dict[str, Any]]:
    return [
        payload
        for action, payload in session.calls_to_cs()
        if action == "TransactionEvent" and payload["transactionInfo"]["transactionId"] == transaction_id
    ]


def energy_2x(event: dict[str, Any]) -> tuple[str, float]:
    """(context, Wh) of the energy register in a 2.x TransactionEvent."""
    [sampled] = [s for s in event["meterValue"][0]["sampledValue"] if s["measurand"] == "Energy.Active.Import.Register"]
    assert sampled["unitOfMeasure"] == {"unit": "Wh"}
    return sampled["context"], float(sampled["value"])


@pytest.mark.parametrize("version", TWO_X)
def test_autocharge_runs_a_2x_transaction_from_plug_to_unplug(sims: list[Sim], version: str) -> None:
    session = start_autocharge_2x(sims, version)
    session.send("plug 1 STRANGER")
    session.expect(session.cs_got_call("Authorize", '{"idToken":{"idToken":"STRANGER","type":"ISO14443"}}'))
    session.expect(status_2x(session, "Occupied", 1))
    started = session.expect(
        session.cs_got_call("TransactionEvent", '{"eventType":"Started"')
        + r'.*"transactionInfo":\{"transactionId":"(?P<tx>[^"]+)"'
    )
    answer = session.expect(rf'cs: >>cp#CP1 \[3,"{started["id"]}",(?P<answer>.*)\]$')
    assert json.loads(answer["answer"]) == {"idTokenInfo": {"status": "Accepted"}}
    for _ in range(2):
        session.expect(session.cs_got_call("TransactionEvent", '{"eventType":"Updated"'))
    session.send("unplug 1")
    session.expect(session.cs_got_call("TransactionEvent", '{"eventType":"Ended"'))
    available = session.expect(status_2x(session, "Available", 1))
    session.expect(session.cp_got_call_answered("StatusNotification", available))

    calls = session.calls_to_cs()
    actions = [action for action, _ in calls]
    first = actions.index("Authorize")
    events = transaction_events(session, started["tx"])
    assert actions[first:] == [
        "Authorize",
        "StatusNotification",
        *["TransactionEvent"] * len(events),
        "StatusNotification",
    ]
    assert [event["eventType"] for event in events] == ["Started", *["Updated"] * (len(events) - 2), "Ended"]
    assert [event["seqNo"] for event in events] == list(range(len(events))), "seqNo counts up from 0"
    start, *updates, end = events
    assert len(started["tx"]) <= 36
    assert start["evse"] == {"id": 1, "connectorId": 1}
    assert start["idToken"] == {"idToken": "STRANGER", "type": "ISO14443"}
    assert start["triggerReason"] == "Authorized"
    assert {event["triggerReason"] for event in updates} == {"MeterValuePeriodic"}
    assert (end["triggerReason"], end["transactionInfo"]["stoppedReason"]) == ("EVCommunicationLost", "EVDisconnected")
    readings = [energy_2x(event) for event in events]
    assert [context for context, _ in readings] == [
        "Transaction.Begin",
        *["Sample.Periodic"] * len(updates),
        "Transaction.End",
    ]
    energies = [wh for _, wh in readings]
    assert energies[1:-1] == sorted(set(energies[1:-1])) and energies[0] < energies[1], (
        f"the register grows: {energies}"
    )
    assert energies[-1] == energies[-2], "Ended carries the final reading"
    assert not session.errors_seen()


@pytest.mark.parametrize("version", TWO_X)
def test_autocharge_answers_the_2x_local_list_and_remote_start_and_stop(sims: list[Sim], version: str) -> None:
    session = start_autocharge_2x(sims, version)
    entries = [{"idToken": {"idToken": "LOCAL1", "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted"}}]
    session.send(f"remote_sendlocallist versionNumber=4 updateType=Full localAuthorizationList={json.dumps(entries)}")
    session.expect(session.cs_got_answer("SendLocalList", '{"status":"Accepted"'))
    session.send("remote_getlocallistversion")
    session.expect(session.cs_got_answer("GetLocalListVersion", '{"versionNumber":4}'))
    session.send("plug 2 LOCAL1")
    session.expect(r"autocharge: CP1: LOCAL1 is in the local list")
    session.expect(session.cs_got_call("TransactionEvent", '{"eventType":"Started"') + r'.*"evse":\{"id":2,')

    token = json.dumps({"idToken": "REMOTE1", "type": "ISO14443"})
    session.send(f"remote_requeststarttransaction idToken={token} evseId=1 remoteStartId=77")
    session.expect(session.cs_got_answer("RequestStartTransaction", '{"status":"Accepted"}'))
    remote = session.expect(
        session.cs_got_call("TransactionEvent", '{"eventType":"Started"')
        + r'.*"triggerReason":"RemoteStart","seqNo":0,"transactionInfo":\{"transactionId":"(?P<tx>[^"]+)"'
        + r'.*"remoteStartId":77\}.*"evse":\{"id":1,"connectorId":1\}'
    )
    session.send(f"remote_requeststarttransaction idToken={token} evseId=1")  # busy now
    session.expect(session.cs_got_answer("RequestStartTransaction", '{"status":"Rejected"}'))
    session.send("remote_requeststoptransaction transactionId=no-such-transaction")
    session.expect(session.cs_got_answer("RequestStopTransaction", '{"status":"Rejected"}'))
    session.send(f"remote_requeststoptransaction transactionId={remote['tx']}")
    session.expect(session.cs_got_answer("RequestStopTransaction", '{"status":"Accepted"}'))
    session.expect(session.cs_got_call("TransactionEvent", '{"eventType":"Ended"'))
    session.expect(status_2x(session, "Available", 1))
    end = transaction_events(session, remote["tx"])[-1]
    assert end["eventType"] == "Ended"
    assert (end["triggerReason"], end["transactionInfo"]["stoppedReason"]) == ("RemoteStop", "Remote")
    session.send("status")
    session.expect(r"autocharge:   connector 2: charging, tag LOCAL1, transaction [\w-]+")
    session.expect(r"autocharge:   local list version 4: LOCAL1 Accepted")
    actions = [(action, payload.get("idToken")) for action, payload in session.calls_to_cs()]
    assert ("Authorize", {"idToken": "LOCAL1", "type": "ISO14443"}) not in actions, "the local list answers"
    assert not session.errors_seen()


def test_autocharge_commands_check_their_arguments(sims: list[Sim]) -> None:
    session = start_autocharge(sims, "websocket", "1.6")
    for command, answer in [
        ("plug", r"error: usage: plug <connector> <idTag>"),
        ("plug 9 TAG1", r"error: CP1 has connectors 1, 2, not '9'"),
        ("unplug 1", r"error: nothing is plugged into connector 1"),
        ("autocharge_interval soon", r"error: usage: autocharge_interval"),
        ("autocharge_interval 0", r"error: usage: autocharge_interval"),
        ("plug 1 TAG1 --id NOPE", r"error: no charge point NOPE started"),
    ]:
        session.send(command)
        session.expect(answer)
    session.send("plug 1 A_TAG_FAR_TOO_LONG_FOR_OCPP")  # more than 20 characters: refused, and the connector freed
    session.expect(r"autocharge: CP1 connector 1: invalid AuthorizeRequest: idTag: String should have at most 20")
    session.send("status")
    session.expect(r"autocharge:   connector 1: available")
    session.send("autocharge_connectors 3")
    session.expect(r"autocharge: 3 connectors per charge point")
    session.send("plug 3 TAG1")
    session.expect(session.cs_got_call("StartTransaction", '{"connectorId":3'))
    session.send("plug 3 TAG2")
    session.expect(r"error: connector 3 of CP1 is busy")
    session.send("unload autocharge")
    session.expect(r"plugin autocharge unloaded")
    session.send("plug 1 TAG1")
    session.expect(r"error: unknown command 'plug'")
    session.send("quit")
    assert session.sim.close() == 0


# -- safe by default: loopback, HTTP Basic credentials -----------------------------------------------------


def test_the_simulator_listens_on_loopback_unless_told_otherwise(sims: list[Sim]) -> None:
    sim = RecordingSim("start_cs", "0", "start_cs", "0", "-t", "soap")  # no --host anywhere
    sims.append(sim)
    sim.expect(r"cs: listening on ws://127\.0\.0\.1:\d+")
    soap_port = sim.expect(r"cs: listening on http://127\.0\.0\.1:(\d+)")[1]
    sim.send(f"start_cp http://127.0.0.1:{soap_port} boxid -t soap")  # its remote action port too
    sim.expect(r"cp#boxid: connecting to .* \(remote actions at http://127\.0\.0\.1:\d+/?\)")
    sim.send("help")
    sim.expect(r"--host HOST, default 127\.0\.0\.1")
    sim.expect(r"--credentials FILE: one username:password line per charge point, the username being the charge")
    assert not [line for line in sim.all if "0.0.0.0" in line]


def start_with_auth(sims: list[Sim], transport: str, *options: str) -> tuple[RecordingSim, str]:
    """A simulator running a central system started with ``options``; the URL charge points connect to."""
    extra = ("-t", "soap") if transport == "soap" else ()
    sim = RecordingSim("start_cs", "0", *extra, *options)
    sims.append(sim)
    scheme = "http" if transport == "soap" else "ws"
    port = sim.expect(rf"cs: listening on {scheme}://127\.0\.0\.1:(\d+)")[1]
    sim.expect(r"cs: charge points must present HTTP Basic credentials")
    return sim, f"{scheme}://127.0.0.1:{port}"


def start_cp(sim: RecordingSim, transport: str, url: str, cp_id: str, credentials: str = "") -> None:
    extra = " -t soap" if transport == "soap" else ""
    sim.send(f"start_cp {url} {cp_id}{extra} {credentials}".rstrip())


def assert_accepted(sim: RecordingSim, transport: str, cp_id: str) -> None:
    if transport == "websocket":
        sim.expect(rf"cp#{cp_id}: connected to ws://")
    sim.send(f"bootnotification --id {cp_id}")
    if transport == "soap":
        sim.expect(rf'cp#{cp_id}: <<cs /BootNotificationResponse \{{"status":"Accepted"')
    else:
        sim.expect(rf'cp#{cp_id}: <<cs \[3,"[^"]+",\{{"status":"Accepted"')


def assert_refused(sim: RecordingSim, transport: str, cp_id: str) -> None:
    if transport == "soap":
        sim.send(f"bootnotification --id {cp_id}")
        sim.expect(rf"cp#{cp_id}: BootNotification (answered with|failed: ).*(SecurityError|HTTP 401)")
    else:
        sim.expect(r"cs: refused .*401")
        sim.expect(rf"cp#{cp_id}: connecting to ws://", timeout=TIMEOUT + 5)  # start_cp waits 5 s for a connection
        assert not [line for line in sim.all if f"cp#{cp_id}: connected to" in line]
    sim.send(f"remote_reset --remote-id {cp_id}")  # the central system does not know it
    sim.expect(rf"error: no charge point {cp_id} connected")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_central_system_with_user_and_password_accepts_only_charge_points_presenting_them(
    sims: list[Sim], transport: str
) -> None:
    sim, url = start_with_auth(sims, transport, "--user", "operator", "--password", '"s3cret pass"')
    start_cp(sim, transport, url, "CPGOOD", '--user operator --password "s3cret pass"')
    assert_accepted(sim, transport, "CPGOOD")
    start_cp(sim, transport, url, "CPBAD", "--user operator --password s3cret")
    assert_refused(sim, transport, "CPBAD")
    if transport == "soap":  # cheap over SOAP: no credentials at all
        start_cp(sim, transport, url, "CPNONE")
        assert_refused(sim, transport, "CPNONE")
    sim.send("heartbeat --id CPGOOD")  # the good one goes on
    sim.expect(r"cp#CPGOOD: <<cs (/HeartbeatResponse |\[3,)")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_credentials_file_gives_each_charge_point_its_own_password(
    sims: list[Sim], transport: str, tmp_path: Path
) -> None:
    credentials = tmp_path / "credentials.txt"
    credentials.write_text("# charge point id:password\nCPA:pa55:word\n\nCPB:other\n", encoding="utf-8")
    sim, url = start_with_auth(sims, transport, "--credentials", str(credentials))
    assert [line for line in sim.all if "credentials (2 charge point(s) with their own password)" in line]
    start_cp(sim, transport, url, "CPA", "--password pa55:word")  # the user name is the id by default
    assert_accepted(sim, transport, "CPA")
    start_cp(sim, transport, url, "CPB", "--password pa55:word")  # A's password does not open B
    assert_refused(sim, transport, "CPB")


def test_credential_options_are_checked(sims: list[Sim], tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_text("CPA:pw\nno colon here\n", encoding="utf-8")
    sim = RecordingSim("help")
    sims.append(sim)
    for command, answer in [
        ("start_cs 0 --user operator", r"error: --user and --password go together"),
        ("start_cs 0 --password secret", r"error: --user and --password go together"),
        (f"start_cs 0 --credentials {tmp_path / 'missing.txt'}", r"error: cannot read the credentials file"),
        (f"start_cs 0 --credentials {empty}", r"error: the credentials file .* holds no username:password line"),
        (f"start_cs 0 --credentials {bad}", r"error: .*bad\.txt, line 2: not a username:password line"),
        (f"start_cs 0 --credentials {bad} --user a --password b", r"error: give either --credentials FILE or"),
        ("start_cp ws://127.0.0.1:9 CPX --user operator", r"error: --user needs --password"),
    ]:
        sim.send(command)
        sim.expect(answer)
    assert not [line for line in sim.all if "listening on" in line]
