"""The OCPP 2.0.1 and 2.1 models: the registry, the official names, the open ``CustomDataType``, the SEND message.

What a user of ``ocpprpc.messages.v201`` / ``v21`` relies on beyond the schema facts (those are compared one
by one in ``test_json_schema_v2.py``): who sends each action, one Python type per official definition, snake_case
attributes over camelCase wire names, vendor keys kept in ``customData``, absent fields left absent (no
defaults filled in), strict scalars and bounds checked inside pydantic-core, and type checkers (no plugin)
seeing the same: ``call()`` takes requests only, so 2.1's unanswered NotifyPeriodicEventStream is refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Annotated, cast

import pytest
from pydantic import Field, JsonValue, TypeAdapter, ValidationError

from ocpprpc.messages import v16, v21, v201
from ocpprpc.messages._base import Decimal as OcppDecimal
from ocpprpc.messages._base import OcppModel, OcppOpenModel, OcppRequest, OcppVersion, SendSpec, Side
from ocpprpc.messages.examples import example

REPO = Path(__file__).resolve().parents[1]
MODULES: dict[str, ModuleType] = {"2.0.1": v201, "2.1": v21}
REGISTRIES: dict[str, OcppVersion] = {"2.0.1": v201.VERSION, "2.1": v21.VERSION}


def _models() -> Iterator[type[OcppModel]]:
    for module in MODULES.values():
        for name in module.__all__:
            found = getattr(module, name)
            if isinstance(found, type) and issubclass(found, OcppModel):
                yield found


# --- the registry -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "from_charging_station", "from_csms", "subprotocol"),
    [("2.0.1", 25, 40, "ocpp2.0.1"), ("2.1", 36, 55, "ocpp2.1")],
)
def test_every_action_is_registered_with_who_sends_it(
    version: str, from_charging_station: int, from_csms: int, subprotocol: str
) -> None:
    registry = REGISTRIES[version]
    assert registry.version == version and registry.subprotocol == subprotocol
    assert len(registry.initiated_by(Side.CHARGE_POINT)) == from_charging_station
    assert len(registry.initiated_by(Side.CENTRAL_SYSTEM)) == from_csms
    for spec in registry.actions:
        assert spec.request.__name__ == spec.name + "Request" and spec.response.__name__ == spec.name + "Response"
        assert issubclass(spec.request, OcppRequest) and not issubclass(spec.response, OcppRequest)
        assert registry.for_request(spec.request, spec.initiator) is spec
        assert (spec.namespace, spec.request_element, spec.response_element) == ("", "", "")  # no SOAP for 2.x
    assert registry.central_system_namespace == registry.charge_point_namespace == ""


def test_directions_follow_the_specification_message_lists() -> None:
    for registry in REGISTRIES.values():
        from_station = registry.initiated_by(Side.CHARGE_POINT)
        from_csms = registry.initiated_by(Side.CENTRAL_SYSTEM)
        for name in ("BootNotification", "TransactionEvent", "NotifyReport", "SignCertificate", "Authorize"):
            assert name in from_station and name not in from_csms, name
        for name in ("RequestStartTransaction", "GetVariables", "SetChargingProfile", "Reset", "CertificateSigned"):
            assert name in from_csms and name not in from_station, name
        assert registry.received_by(Side.CHARGE_POINT)["Reset"].initiator is Side.CENTRAL_SYSTEM
    assert "PullDynamicScheduleUpdate" in v21.VERSION.initiated_by(Side.CHARGE_POINT)
    assert "UpdateDynamicSchedule" in v21.VERSION.initiated_by(Side.CENTRAL_SYSTEM)
    assert "BatterySwap" not in v201.VERSION.initiated_by(Side.CHARGE_POINT)


def test_data_transfer_goes_both_ways_with_one_model_pair() -> None:
    for module in MODULES.values():
        registry: OcppVersion = module.VERSION
        both = [spec for spec in registry.actions if spec.name == "DataTransfer"]
        assert {spec.initiator for spec in both} == {Side.CHARGE_POINT, Side.CENTRAL_SYSTEM}
        assert {spec.request for spec in both} == {module.DataTransferRequest}
        request = module.DataTransferRequest(vendor_id="ACME", data={"any": ["JSON", 1, None, {"x": 2.5}]})
        assert request.to_json_dict() == {"vendorId": "ACME", "data": {"any": ["JSON", 1, None, {"x": 2.5}]}}


def test_notify_periodic_event_stream_is_a_send_message_never_a_request() -> None:
    stream = v21.NotifyPeriodicEventStream
    assert issubclass(stream, OcppModel) and not issubclass(stream, OcppRequest)
    spec = v21.VERSION.for_message(stream)
    assert spec == SendSpec("NotifyPeriodicEventStream", stream, Side.CHARGE_POINT, "")
    assert v21.VERSION.sends == (spec,)
    assert dict(v21.VERSION.sent_by(Side.CHARGE_POINT)) == {"NotifyPeriodicEventStream": spec}
    assert dict(v21.VERSION.sent_by(Side.CENTRAL_SYSTEM)) == {}
    assert "NotifyPeriodicEventStream" not in v21.VERSION.initiated_by(Side.CHARGE_POINT)
    with pytest.raises(KeyError):
        v21.VERSION.for_message(v21.HeartbeatRequest)
    for older in (v201.VERSION, v16.VERSION):
        assert older.sends == () and dict(older.sent_by(Side.CHARGE_POINT)) == {}
    message = stream(id=7, pending=0, basetime=datetime(2026, 11, 24, 10, tzinfo=UTC), data=[{"t": 0.5, "v": "230"}])
    assert message.to_json_dict() == {
        "data": [{"t": 0.5, "v": "230"}],
        "id": 7,
        "pending": 0,
        "basetime": "2026-11-24T10:00:00Z",
    }


# --- names ------------------------------------------------------------------------------------------------


def test_types_carry_the_official_definition_names_one_python_type_each() -> None:
    for module in MODULES.values():
        for name in ("IdTokenType", "StatusInfoType", "RegistrationStatusEnumType", "CustomDataType", "EVSEType"):
            assert getattr(module, name).__name__ == name
        # the same definition, used by several messages, is one class
        assert module.AuthorizeRequest.model_fields["id_token"].annotation is module.IdTokenType
        assert module.TransactionEventRequest.model_fields["id_token"].annotation == module.IdTokenType | None
        assert module.BootNotificationResponse.model_fields["status"].annotation is module.RegistrationStatusEnumType
    assert v201.IdTokenType.__module__ != v21.IdTokenType.__module__  # each version its own types


def test_fields_are_snake_case_with_the_camel_case_wire_name_as_alias() -> None:
    boot = v201.BootNotificationRequest(reason="PowerUp", charging_station={"model": "X1", "vendor_name": "ACME"})
    wire = {"chargingStation": {"model": "X1", "vendorName": "ACME"}, "reason": "PowerUp"}
    assert boot.to_json_dict() == wire
    assert v201.BootNotificationRequest.model_validate(wire) == boot
    assert boot.charging_station.vendor_name == "ACME"
    assert boot.reason is v201.BootReasonEnumType.POWER_UP
    swap = v21.BatterySwapRequest.model_validate(example(v21.BatterySwapRequest).to_json_dict())
    assert swap.battery_data[0].so_c == Decimal("16.0")
    assert "soC" in swap.to_json_dict()["batteryData"][0]


# --- the open object --------------------------------------------------------------------------------------


def test_custom_data_keeps_vendor_keys_and_emits_them_unchanged() -> None:
    pairs = ((v201.CustomDataType, v201.HeartbeatRequest), (v21.CustomDataType, v21.HeartbeatRequest))
    for custom, heartbeat_model in pairs:
        assert issubclass(custom, OcppOpenModel)
        wire = {"vendorId": "ACME", "acmeMode": {"level": 3, "tags": ["a", None]}, "acmeOff": None}
        read = custom.model_validate(wire)
        assert read.vendor_id == "ACME"
        assert read.model_extra == {"acmeMode": {"level": 3, "tags": ["a", None]}, "acmeOff": None}
        assert read.to_json_dict() == wire
        built = custom(vendor_id="ACME", acmeMode=1)
        assert built.to_json_dict() == {"vendorId": "ACME", "acmeMode": 1}
        heartbeat = heartbeat_model.model_validate({"customData": wire})
        assert heartbeat.to_json_dict() == {"customData": wire}
        with pytest.raises(ValidationError):
            custom.model_validate({"acmeMode": 1})  # vendorId is required
        with pytest.raises(ValidationError):
            custom.model_validate({"vendorId": "x" * 256})  # and at most 255 characters
        assert custom.model_json_schema()["additionalProperties"] is True


def test_every_other_object_refuses_unknown_keys() -> None:
    closed = [model for model in _models() if not issubclass(model, OcppOpenModel)]
    assert len(closed) > 450
    for model in closed:
        assert model.model_config.get("extra") == "forbid", model
    open_ = {model.__name__ for model in _models() if issubclass(model, OcppOpenModel)}
    assert open_ == {"CustomDataType"}


# --- absent stays absent ----------------------------------------------------------------------------------


def test_schema_defaults_are_not_filled_in() -> None:
    for module in MODULES.values():
        unit = module.UnitOfMeasureType()
        assert unit.unit is None and unit.multiplier is None
        assert unit.to_json_dict() == {}
        assert module.UnitOfMeasureType.model_validate({"unit": "kWh"}).to_json_dict() == {"unit": "kWh"}
        event = example(module.TransactionEventRequest, optional=False)
        assert event.offline is None and "offline" not in event.to_json_dict()
        reading = module.SampledValueType(value=1.5)
        assert reading.to_json_dict() == {"value": 1.5}  # no measurand "Energy.Active.Import.Register", no context


# --- strict scalars and bounds, inside pydantic-core ------------------------------------------------------


def test_scalars_are_strict_as_the_official_json_types_say() -> None:
    period = {"startPeriod": 0, "limit": 16.5}
    assert v201.ChargingSchedulePeriodType.model_validate(period).to_json_dict() == period
    for bad in (
        {"startPeriod": "0", "limit": 16.5},
        {"startPeriod": 0, "limit": "16.5"},
        {"startPeriod": 0.0, "limit": 1},
    ):
        with pytest.raises(ValidationError):
            v201.ChargingSchedulePeriodType.model_validate(bad)
    attribute = {"value": "1", "persistent": True}
    assert v201.VariableAttributeType.model_validate(attribute).to_json_dict() == attribute
    with pytest.raises(ValidationError):
        v201.VariableAttributeType.model_validate({"value": "1", "persistent": "true"})
    answer = {"currentTime": "2026-11-24T12:00:00+02:00", "interval": 300, "status": "Accepted"}
    assert v201.BootNotificationResponse.model_validate(answer).to_json_dict()["currentTime"] == "2026-11-24T10:00:00Z"
    for when in ("2026-11-24T12:00:00", "1732442400", 1732442400, "2026-11-24 12:00:00Z"):
        with pytest.raises(ValidationError):
            v201.BootNotificationResponse.model_validate({**answer, "currentTime": when})
    with pytest.raises(ValidationError):
        v201.BootNotificationRequest.model_validate({"reason": "PowerUp", "chargingStation": {"model": "X1"}})


def test_minimum_and_maximum_are_enforced() -> None:
    battery = {"evseId": 1, "serialNumber": "B1", "soC": 55.5, "soH": 100}
    assert v21.BatteryDataType.model_validate(battery).to_json_dict() == battery
    for field, value in (("soC", 100.01), ("soC", -0.5), ("soH", 101), ("evseId", -1)):
        with pytest.raises(ValidationError):
            v21.BatteryDataType.model_validate({**battery, field: value})
    assert v21.ChargingSchedulePeriodType.model_validate({"startPeriod": 0, "dischargeLimit": -5}).discharge_limit == -5
    with pytest.raises(ValidationError):
        v21.ChargingSchedulePeriodType.model_validate({"startPeriod": 0, "dischargeLimit": 1})
    state = {"evMaxCurrent": 1, "evMaxVoltage": 1, "stateOfCharge": 100}
    assert v201.DCChargingParametersType.model_validate(state).state_of_charge == 100
    with pytest.raises(ValidationError):
        v201.DCChargingParametersType.model_validate({**state, "stateOfCharge": 101})


_VALIDATOR_FUNCTIONS = frozenset({"function-before", "function-after", "function-wrap", "function-plain"})


def _python_validators(schema: object) -> Iterator[str]:
    """The Python functions a core schema calls while validating (serializers left out: they run on output).

    pydantic's own ``JsonValue`` (DataTransfer's ``data``, any JSON: the schemas give it no type) is left
    out: its union picks a branch with a Python function per value, and only for that one field.
    """
    if isinstance(schema, dict):
        items = cast(dict[str, object], schema)
        if str(items.get("ref", "")).startswith("pydantic.types.JsonValue"):
            return
        kind = items.get("type")
        if isinstance(kind, str) and kind in _VALIDATOR_FUNCTIONS:  # ("type" may also be a field's name)
            yield str(items["function"])
        if callable(items.get("discriminator")):
            yield str(items["discriminator"])
        for key, value in items.items():
            if key != "serialization":
                yield from _python_validators(value)
    elif isinstance(schema, list):
        for value in cast(list[object], schema):
            yield from _python_validators(value)


def test_every_check_runs_inside_pydantic_core_without_a_python_call_per_value() -> None:
    """minimum / maximum, maxLength, strict types, date-times: all pydantic-core schemas, no Python validator."""
    models = list(_models())
    assert len(models) > 450
    for model in models:
        assert list(_python_validators(model.__pydantic_core_schema__)) == [], model
    schema = json.dumps(v21.BatteryDataType.__pydantic_core_schema__, default=str)
    assert '"le": 100' in schema and '"ge": 0' in schema  # the bounds sit in the decimal and int schemas
    # the walk finds what it looks for: pydantic's Field(le=...) on ocpprpc's Decimal is a Python call per value
    assert list(_python_validators(TypeAdapter(Annotated[OcppDecimal, Field(le=0)]).core_schema))
    assert list(_python_validators(TypeAdapter(JsonValue).core_schema)) == []


# --- generated, documented ---------------------------------------------------------------------------------


def test_the_modules_say_they_are_generated_from_the_official_schemas_and_their_licence() -> None:
    for version, module in MODULES.items():
        folder = Path(module.__file__ or "").parent
        for file in ("__init__.py", "enums.py", "models.py", "actions.py"):
            head = (folder / file).read_text(encoding="utf-8").splitlines()[:2]
            assert head[0].startswith(f"# Generated by `python -m codegen` from the OCPP {version} JSON schemas")
            assert "(Open Charge Alliance, CC BY-ND 4.0)" in head[0] and "Do not edit by hand" in head[1]
        assert "__ocpp_xml__" not in (folder / "models.py").read_text(encoding="utf-8")  # no SOAP, no XML facts


def test_docstrings_come_from_the_schema_descriptions_folded_on_one_line() -> None:
    assert v201.ChargingStationType.__doc__ == (
        "Charge_ Point urn:x-oca:ocpp:uid:2:233122 The physical system where an Electrical Vehicle (EV) can be charged."
    )
    assert v201.HeartbeatRequest.__doc__ == "The Heartbeat request."
    assert v21.GetPeriodicEventStreamRequest.__doc__ == "This message is empty. It has no fields."
    for model in _models():
        for text in (model.__doc__ or "", *(info.description or "" for info in model.model_fields.values())):
            assert "\r" not in text and "\n" not in text and "  " not in text, model


# --- type checkers, no plugin -----------------------------------------------------------------------------

SNIPPET = """\
from datetime import UTC, datetime

from ocpprpc.messages import v21, v201
from ocpprpc.roles import Role

now = datetime.now(UTC)

boot = v201.BootNotificationRequest(reason="PowerUp", charging_station={"model": "X1", "vendor_name": "ACME"})
custom = v201.CustomDataType(vendor_id="ACME", acme_mode=3, anything=["goes"])
beat = v201.HeartbeatRequest(custom_data=custom)
beat_from_dict = v201.HeartbeatRequest(custom_data={"vendor_id": "ACME"})
reset = v201.ResetRequest(type=v201.ResetEnumType.ON_IDLE, evse_id=1)
data = v201.DataTransferRequest(vendor_id="ACME", data={"any": ["JSON", 1, None]})
stream = v21.NotifyPeriodicEventStream(id=1, pending=0, basetime=now, data=[{"t": 0.5, "v": "230"}])
battery = v21.BatteryDataType(evse_id=1, serial_number="B1", so_c=55.5, so_h=100)


async def calls(role: Role) -> None:
    answer = await role.call(v201.ResetRequest(type="Immediate"))
    status: v201.ResetStatusEnumType = answer.status
    station = v21.ChargingStationType(model="X", vendor_name="Y")
    boot_answer = await role.call(v21.BootNotificationRequest(reason="PowerUp", charging_station=station))
    interval: int = boot_answer.interval
    print(status, interval)
    await role.call(stream)  # error: a SEND message is not a request: call() refuses it


v201.ResetRequest(type="Soft")  # error: a 1.6 value, not a 2.0.1 one
v201.CustomDataType(acme_mode=3)  # error: vendor_id left out
v201.HeartbeatRequest(custom_data={"vendor_id": 1})  # error: vendor_id is a string
v201.BootNotificationRequest(reason="PowerUp", charging_station={"model": "X1"})  # error: vendor_name left out
v201.BootNotificationRequest(reason="PowerUp", chargingStation={"model": "X1", "vendor_name": "A"})  # error: camelCase
v21.BatteryDataType(evse_id="1", serial_number="B1", so_c=55.5, so_h=100)  # error: a string for an integer
"""


def _expected_lines(source: str) -> set[int]:
    return {number for number, line in enumerate(source.splitlines(), 1) if "# error" in line}


def test_the_snippet_marks_each_mistake_on_its_own_line() -> None:
    assert len(_expected_lines(SNIPPET)) == 7


@pytest.fixture
def snippet(tmp_path: Path) -> Path:
    path = tmp_path / "user_program_v2.py"
    path.write_text(SNIPPET, encoding="utf-8")
    return path


def test_mypy_strict_sees_the_2x_constructors_and_refuses_a_send_message_in_call(snippet: Path, tmp_path: Path) -> None:
    config = tmp_path / "mypy.ini"
    config.write_text(f"[mypy]\nstrict = True\npython_version = 3.11\nmypy_path = {REPO / 'src'}\n", encoding="utf-8")
    command = [sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir", str(tmp_path / "cache")]
    result = subprocess.run([*command, str(snippet)], capture_output=True, text=True, cwd=tmp_path, check=False)
    errors = [line for line in result.stdout.splitlines() if line.startswith(f"{snippet.name}:") and ": error:" in line]
    lines = {int(line.split(":")[1]) for line in errors}
    assert lines == _expected_lines(SNIPPET), "\n".join(errors) or result.stdout + result.stderr


def test_basedpyright_strict_sees_the_2x_constructors_and_refuses_a_send_message_in_call(
    snippet: Path, tmp_path: Path
) -> None:
    beside = Path(sys.executable).with_name("basedpyright")
    checker = str(beside) if beside.exists() else shutil.which("basedpyright")
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
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error" and d["file"].endswith(snippet.name)]
    lines = {d["range"]["start"]["line"] + 1 for d in errors}
    described = "\n".join(f"{d['range']['start']['line'] + 1}: {d['message']}" for d in errors)
    assert lines == _expected_lines(SNIPPET), described
