"""The simulator's default payloads: every one of OCPP 2.0.1 and 2.1 is valid, and the common ones are realistic.

Each action's default request, and the default answer to that request, is checked against our model and,
when the official JSON schemas are beside the checkout, against the schema with ``jsonschema``. The
realistic values come from tables a test cannot see into, so the common actions are also checked for
what a user relies on: a TransactionEvent sequence that hangs together, GetVariables reading what
SetVariables set, answers that carry what the request asked about.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ocpprpc import OcppModel, OcppVersion, Side
from ocpprpc.messages import v12, v15, v16, v21, v201

from .ocpp_json import is_rfc3339, needs_json, schema_files

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))  # the simulator's `sim` package

from sim import payloads
from sim.state import Memory

TWO_X: dict[str, OcppVersion] = {"2.0.1": v201.VERSION, "2.1": v21.VERSION}
ONE_X: dict[str, OcppVersion] = {"1.6": v16.VERSION, "1.5": v15.VERSION, "1.2": v12.VERSION}


def defaults(version: OcppVersion) -> list[tuple[str, type[OcppModel], dict[str, Any]]]:
    """(action, model, payload) of every default request, SEND message and answer of ``version``.

    The two sides' memories are kept apart (a charge point's, the central system's), as in the simulator.
    """
    made: list[tuple[str, type[OcppModel], dict[str, Any]]] = []
    for side in Side:
        memory = Memory()
        for action, spec in version.initiated_by(side).items():
            request = payloads.request(version, spec.request, action, memory)
            made.append((action, spec.request, request))
            made.append((action, spec.response, payloads.response(version, spec.response, action, Memory(), request)))
        for action, send in version.sent_by(side).items():
            made.append((action, send.message, payloads.request(version, send.message, action, memory)))
    return made


def all_defaults(versions: dict[str, OcppVersion]) -> list[Any]:
    return [
        pytest.param(name, model, payload, id=f"{name}-{model.__name__}")
        for name, version in versions.items()
        for _action, model, payload in defaults(version)
    ]


@pytest.mark.parametrize(("version", "model", "payload"), all_defaults({**TWO_X, **ONE_X}))
def test_every_default_validates_against_our_model(
    version: str, model: type[OcppModel], payload: dict[str, Any]
) -> None:
    assert model.model_validate(payload).to_json_dict() == payload


FORMATS = jsonschema.FormatChecker(formats=())
FORMATS.checks("date-time")(is_rfc3339)


@cache
def _validator(version: str, name: str) -> jsonschema.Draft6Validator:
    return jsonschema.Draft6Validator(schema_files(version)[name], format_checker=FORMATS)


@needs_json
@pytest.mark.parametrize(("version", "model", "payload"), all_defaults(TWO_X))
def test_every_2x_default_validates_against_the_official_json_schema(
    version: str, model: type[OcppModel], payload: dict[str, Any]
) -> None:
    validator: Any = _validator(version, model.__name__)  # jsonschema types instances as JSON values
    errors = [str(error.message) for error in validator.iter_errors(payload)]
    assert not errors, errors


def test_every_2x_action_has_a_default_in_both_directions() -> None:
    for version in TWO_X.values():
        actions = {spec.name for spec in version.actions} | {send.name for send in version.sends}
        assert {action for action, _, _ in defaults(version)} == actions


def test_a_table_value_the_model_refuses_is_an_error_naming_it_not_a_silent_bare_example() -> None:
    version = v201.VERSION
    reset = version.initiated_by(Side.CENTRAL_SYSTEM)["Reset"]
    with pytest.raises(ValueError, match=r"ResetRequest: no field 'kind'"):
        payloads._overlay(reset.request, {"kind": "Hard"}, strict=True)
    with pytest.raises(ValueError, match=r"ResetRequest: type: Input should be"):
        payloads._overlay(reset.request, {"type": "Hard"}, strict=True)
    # 1.x shares one table between versions: what a version lacks is left out instead
    assert payloads._overlay(v16.ResetRequest, {"type": "Hard", "kind": 1}) == {"type": "Hard"}


# -- what the common 2.x defaults say ------------------------------------------------------------------------


def cp_request(version: OcppVersion, action: str, memory: Memory, **fields: Any) -> dict[str, Any]:
    """A charge point's default ``action`` with ``fields`` laid over it, remembered as sent (as ``cp_action`` does)."""
    spec = version.initiated_by(Side.CHARGE_POINT)[action]
    payload = payloads.request(version, spec.request, action, memory, fields) | fields
    memory.sent(version, action, spec.request.model_validate(payload).to_json_dict())
    return payload


def energy(payload: dict[str, Any]) -> float:
    [register] = [
        sampled["value"]
        for sampled in payload["meterValue"][0]["sampledValue"]
        if sampled["measurand"] == "Energy.Active.Import.Register"
    ]
    assert payload["meterValue"][0]["sampledValue"][0]["unitOfMeasure"] == {"unit": "Wh"}
    return float(register)


@pytest.mark.parametrize("version", TWO_X.values(), ids=TWO_X.keys())
def test_the_common_charge_point_defaults_are_realistic(version: OcppVersion) -> None:
    memory = Memory()
    boot = cp_request(version, "BootNotification", memory)
    assert boot["reason"] == "PowerUp"
    assert {"model", "vendorName"} <= boot["chargingStation"].keys()
    assert boot["chargingStation"]["vendorName"] != "vendorName"
    status = cp_request(version, "StatusNotification", memory)
    assert {"timestamp", "connectorStatus", "evseId", "connectorId"} <= status.keys()
    assert cp_request(version, "Authorize", memory)["idToken"] == {"idToken": payloads.ID_TAG, "type": "ISO14443"}
    meter = cp_request(version, "MeterValues", memory)
    assert meter["meterValue"][0]["sampledValue"][0]["measurand"] == "Energy.Active.Import.Register"


@pytest.mark.parametrize("version", TWO_X.values(), ids=TWO_X.keys())
def test_transaction_events_start_update_and_end_one_transaction_with_seq_no_counting_up(version: OcppVersion) -> None:
    memory = Memory()
    started = cp_request(version, "TransactionEvent", memory)
    updated = [cp_request(version, "TransactionEvent", memory) for _ in range(2)]
    ended = cp_request(version, "TransactionEvent", memory, eventType="Ended")
    events = [started, *updated, ended]
    assert [event["eventType"] for event in events] == ["Started", "Updated", "Updated", "Ended"]
    assert [event["seqNo"] for event in events] == [0, 1, 2, 3]
    assert len({event["transactionInfo"]["transactionId"] for event in events}) == 1
    assert [event["triggerReason"] for event in events] == [
        "Authorized",
        "MeterValuePeriodic",
        "MeterValuePeriodic",
        "StopAuthorized",
    ]
    assert started["evse"] == {"id": 1, "connectorId": 1}
    assert started["idToken"]["idToken"] == payloads.ID_TAG
    assert ended["transactionInfo"]["stoppedReason"] == "Local"
    readings = [energy(event) for event in events]
    assert readings == sorted(readings) and readings[0] < readings[-1], readings
    contexts = [event["meterValue"][0]["sampledValue"][0]["context"] for event in events]
    assert contexts == ["Transaction.Begin", "Sample.Periodic", "Sample.Periodic", "Transaction.End"]
    # the next one starts another transaction, at seqNo 0, the register going on from where it was
    again = cp_request(version, "TransactionEvent", memory)
    assert (again["eventType"], again["seqNo"]) == ("Started", 0)
    assert again["transactionInfo"]["transactionId"] != started["transactionInfo"]["transactionId"]
    assert energy(again) == readings[-1]


def answer(version: OcppVersion, action: str, memory: Memory, request: dict[str, Any]) -> dict[str, Any]:
    """The default answer to ``action`` (of either side), after the side has taken ``request`` in."""
    spec = next(s for s in version.actions if s.name == action)
    memory.received(version, action, request)
    return payloads.response(version, spec.response, action, memory, request)


@pytest.mark.parametrize("version", TWO_X.values(), ids=TWO_X.keys())
def test_the_central_system_answers_accept_and_carry_id_token_info_where_an_id_token_was_sent(
    version: OcppVersion,
) -> None:
    cs = Memory()
    boot = answer(version, "BootNotification", cs, {})
    assert (boot["status"], boot["interval"]) == ("Accepted", 300)
    assert answer(version, "Authorize", cs, {"idToken": payloads.id_token()}) == {"idTokenInfo": {"status": "Accepted"}}
    cp = Memory()
    started = cp_request(version, "TransactionEvent", cp)
    assert answer(version, "TransactionEvent", cs, started) == {"idTokenInfo": {"status": "Accepted"}}
    updated = cp_request(version, "TransactionEvent", cp)
    assert "idToken" not in updated
    assert answer(version, "TransactionEvent", cs, updated) == {}
    # a remote stop names the transaction the central system heard of last
    stop = version.initiated_by(Side.CENTRAL_SYSTEM)["RequestStopTransaction"]
    request = payloads.request(version, stop.request, "RequestStopTransaction", cs)
    assert request == {"transactionId": started["transactionInfo"]["transactionId"]}


@pytest.mark.parametrize("version", TWO_X.values(), ids=TWO_X.keys())
def test_get_variables_reads_the_device_model_and_set_variables_changes_it(version: OcppVersion) -> None:
    cp = Memory()
    heartbeat = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    unknown_variable = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "Frobnication"}}
    unknown_component = {"component": {"name": "Flux"}, "variable": {"name": "Capacitor"}}
    asked = {"getVariableData": [heartbeat, unknown_variable, unknown_component]}
    results = answer(version, "GetVariables", cp, asked)["getVariableResult"]
    assert [(r["attributeStatus"], r.get("attributeValue")) for r in results] == [
        ("Accepted", "300"),
        ("UnknownVariable", None),
        ("UnknownComponent", None),
    ]
    assert [(r["component"], r["variable"]) for r in results] == [
        (e["component"], e["variable"]) for e in asked["getVariableData"]
    ]
    setting = {"setVariableData": [{**heartbeat, "attributeValue": "60"}, {**unknown_component, "attributeValue": "1"}]}
    results = answer(version, "SetVariables", cp, setting)["setVariableResult"]
    assert [r["attributeStatus"] for r in results] == ["Accepted", "UnknownComponent"]
    assert (
        answer(version, "GetVariables", cp, {"getVariableData": [heartbeat]})["getVariableResult"][0]["attributeValue"]
        == "60"
    )
    # a NotifyReport reports it too, under the requestId of the GetBaseReport it answers
    answer(version, "GetBaseReport", cp, {"requestId": 42, "reportBase": "FullInventory"})
    report = cp_request(version, "NotifyReport", cp)
    assert report["requestId"] == 42
    reported = {
        (d["component"]["name"], d["variable"]["name"]): d["variableAttribute"][0]["value"]
        for d in report["reportData"]
    }
    assert reported[("OCPPCommCtrlr", "HeartbeatInterval")] == "60"


@pytest.mark.parametrize("version", TWO_X.values(), ids=TWO_X.keys())
def test_the_local_list_version_answered_is_the_one_sent(version: OcppVersion) -> None:
    cp = Memory()
    assert answer(version, "GetLocalListVersion", cp, {}) == {"versionNumber": 0}
    answer(version, "SendLocalList", cp, {"versionNumber": 7, "updateType": "Full"})
    assert answer(version, "GetLocalListVersion", cp, {}) == {"versionNumber": 7}


def test_the_21_periodic_event_stream_default_carries_samples() -> None:
    send = v21.VERSION.sent_by(Side.CHARGE_POINT)["NotifyPeriodicEventStream"]
    message = payloads.request(v21.VERSION, send.message, "NotifyPeriodicEventStream", Memory())
    assert message["id"] == 1 and message["pending"] == 0
    assert len(message["data"]) > 1
    assert [element["t"] for element in message["data"]] == sorted(element["t"] for element in message["data"])
