"""The generated models: every operation present, every XSD constraint enforced, JSON round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from ocpprpc._validation import error_from_validation
from ocpprpc.errors import TypeConstraintViolation
from ocpprpc.messages import v12, v15, v16
from ocpprpc.messages._base import OcppModel, OcppVersion, Side
from ocpprpc.messages.examples import _unwrap, example, example_payload

VERSIONS: dict[str, OcppVersion] = {"1.2": v12.VERSION, "1.5": v15.VERSION, "1.6": v16.VERSION}
ALL_MESSAGES = sorted(
    {(v.version, spec.request) for v in VERSIONS.values() for spec in v.actions}
    | {(v.version, spec.response) for v in VERSIONS.values() for spec in v.actions},
    key=lambda item: (item[0], item[1].__name__),
)


def _error_types(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {e["type"] for e in exc.value.errors()}


# --- every operation of both services ---------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "cp_initiated", "cs_initiated"),
    [(v12.VERSION, 9, 9), (v15.VERSION, 10, 15), (v16.VERSION, 10, 19)],
    ids=["1.2", "1.5", "1.6"],
)
def test_every_operation_of_both_services_has_request_and_response_models(
    version: OcppVersion, cp_initiated: int, cs_initiated: int
) -> None:
    assert len(version.initiated_by(Side.CHARGE_POINT)) == cp_initiated
    assert len(version.initiated_by(Side.CENTRAL_SYSTEM)) == cs_initiated
    for spec in version.actions:
        assert spec.request.__name__ == spec.name + "Request"
        assert spec.response.__name__ == spec.name + "Response"
        assert spec.request_element == spec.name[0].lower() + spec.name[1:] + "Request"
        assert version.for_request(spec.request, spec.initiator) is spec


def test_registry_knows_who_initiates_and_the_service_namespace() -> None:
    boot = v16.VERSION.initiated_by(Side.CHARGE_POINT)["BootNotification"]
    assert boot.request is v16.BootNotificationRequest
    assert boot.namespace == "urn://Ocpp/Cs/2015/10/"
    reset = v15.VERSION.received_by(Side.CHARGE_POINT)["Reset"]
    assert reset.initiator is Side.CENTRAL_SYSTEM
    assert reset.namespace == "urn://Ocpp/Cp/2012/06/"
    assert "BootNotification" not in v16.VERSION.initiated_by(Side.CENTRAL_SYSTEM)
    # DataTransfer goes both ways with one model pair
    assert v16.VERSION.for_request(v16.DataTransferRequest, Side.CENTRAL_SYSTEM).namespace == "urn://Ocpp/Cp/2015/10/"
    assert v16.VERSION.for_request(v16.DataTransferRequest, Side.CHARGE_POINT).namespace == "urn://Ocpp/Cs/2015/10/"
    assert [v.subprotocol for v in VERSIONS.values()] == ["ocpp1.2", "ocpp1.5", "ocpp1.6"]


def test_named_types_and_enumerations_are_generated_even_when_shared_by_both_services() -> None:
    assert issubclass(v16.ChargingProfile, OcppModel)
    assert issubclass(v15.AuthorisationData, OcppModel)
    # A member is its wire string (typed as str, else mypy calls an enum and a str never equal)
    status: str = v16.ChargePointStatus.SUSPENDED_EVSE
    measurand: str = v16.Measurand.ENERGY_ACTIVE_IMPORT_REGISTER
    phase: str = v16.Phase.L1_N
    assert status == "SuspendedEVSE"
    assert measurand == "Energy.Active.Import.Register"
    assert phase == "L1-N"
    assert isinstance(v12.RegistrationStatus.ACCEPTED, str)


def test_documentation_from_the_wsdl_becomes_docstrings() -> None:
    assert v16.ResetRequest.__doc__ == "Defines the Reset.req PDU"
    assert v15.AuthorizeRequest.__doc__ == "Defines the Authorize.req PDU"
    assert v16.AuthorizationStatus.__doc__ == "Defines the authorization-status-value"
    # types the WSDL leaves undocumented get a plain fallback, never an empty docstring
    assert v16.IdTagInfo.__doc__ == "IdTagInfo."


# --- names ------------------------------------------------------------------------------------


def test_python_names_are_snake_case_and_wire_names_are_the_wsdl_element_names() -> None:
    by_python = v16.StartTransactionRequest(
        connector_id=1, id_tag="TAG", meter_start=0, timestamp=datetime(2026, 11, 24, 10, tzinfo=UTC)
    )
    by_wire = v16.StartTransactionRequest.model_validate(
        {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": "2026-11-24T10:00:00Z"}
    )
    assert by_python == by_wire
    assert by_python.to_json_dict() == {
        "connectorId": 1,
        "idTag": "TAG",
        "meterStart": 0,
        "timestamp": "2026-11-24T10:00:00Z",
    }
    assert by_python.to_json_dict() == by_python.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_the_constructor_takes_an_enum_value_as_its_wire_string_and_a_nested_model_as_a_dict() -> None:
    """What the typed ``__init__`` signatures promise type checkers holds at run time."""
    conf = v16.BootNotificationResponse(status="Accepted", current_time=datetime(2026, 11, 24, tzinfo=UTC), interval=1)
    assert conf.status is v16.RegistrationStatus.ACCEPTED
    answer = v16.AuthorizeResponse(id_tag_info={"status": "Blocked", "parent_id_tag": "P"})
    assert answer.id_tag_info == v16.IdTagInfo(status=v16.AuthorizationStatus.BLOCKED, parent_id_tag="P")
    # wire names still work at run time (type checkers flag them)
    assert v16.AuthorizeRequest(idTag="T") == v16.AuthorizeRequest(id_tag="T")  # type: ignore[call-arg]


# --- constraints ------------------------------------------------------------------------------


def test_required_field_missing_is_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        v16.BootNotificationRequest.model_validate({"chargePointVendor": "ACME"})
    assert _error_types(exc) == {"missing"}
    assert exc.value.errors()[0]["loc"] == ("chargePointModel",)


def test_optional_fields_may_be_left_out_and_are_not_emitted() -> None:
    conf = v16.StopTransactionResponse.model_validate({})
    assert conf.id_tag_info is None
    assert conf.to_json_dict() == {}


def test_string_longer_than_max_length_is_rejected() -> None:
    v16.AuthorizeRequest(id_tag="X" * 20)
    with pytest.raises(ValidationError) as exc:
        v16.AuthorizeRequest(id_tag="X" * 21)
    assert _error_types(exc) == {"string_too_long"}
    with pytest.raises(ValidationError):
        v15.BootNotificationRequest(charge_point_vendor="V" * 21, charge_point_model="M")


def test_value_outside_the_enumeration_is_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        v16.ResetRequest.model_validate({"type": "Medium"})
    assert _error_types(exc) == {"enum"}
    assert v16.ResetRequest.model_validate({"type": "Soft"}).type is v16.ResetType.SOFT


@pytest.mark.parametrize("bad", ["1", "one", 1.5, True, None])
def test_integer_fields_take_only_json_integers(bad: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        v16.UnlockConnectorRequest.model_validate({"connectorId": bad})
    assert _error_types(exc) <= {"int_type", "int_from_float"}


@pytest.mark.parametrize("bad", ["true", 1, "yes"])
def test_boolean_fields_take_only_json_booleans(bad: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        v16.KeyValue.model_validate({"key": "HeartbeatInterval", "readonly": bad})
    assert _error_types(exc) == {"bool_type"}
    assert v16.KeyValue.model_validate({"key": "K", "readonly": False}).readonly is False


def test_date_time_must_carry_a_timezone_and_is_emitted_in_utc() -> None:
    with pytest.raises(ValidationError) as exc:
        v16.HeartbeatResponse.model_validate({"currentTime": "2026-11-24T10:00:00"})
    assert _error_types(exc) == {"timezone_aware"}
    with pytest.raises(ValidationError):
        v16.HeartbeatResponse.model_validate({"currentTime": "yesterday"})
    plus_two = timezone(timedelta(hours=2))
    conf = v16.HeartbeatResponse(current_time=datetime(2026, 11, 24, 12, 0, tzinfo=plus_two))
    assert conf.to_json_dict() == {"currentTime": "2026-11-24T10:00:00Z"}
    parsed = v16.HeartbeatResponse.model_validate({"currentTime": "2026-11-24T12:00:00+02:00"})
    assert parsed.current_time == datetime(2026, 11, 24, 10, tzinfo=UTC)
    assert parsed.to_json_dict() == {"currentTime": "2026-11-24T10:00:00Z"}


def test_decimal_takes_json_numbers_keeps_its_fraction_digits_and_is_emitted_as_a_number() -> None:
    period = v16.ChargingSchedulePeriod.model_validate({"startPeriod": 0, "limit": 16.5})
    assert period.limit == Decimal("16.5")
    assert period.to_json_dict() == {"startPeriod": 0, "limit": 16.5}
    assert json.loads(json.dumps(v16.ChargingSchedulePeriod(start_period=0, limit=32).to_json_dict())) == {
        "startPeriod": 0,
        "limit": 32,
    }
    with pytest.raises(ValidationError) as exc:
        v16.ChargingSchedulePeriod.model_validate({"startPeriod": 0, "limit": 16.25})
    assert _error_types(exc) == {"decimal_max_places"}


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-24T10:00:00Z",
        "2026-11-24t10:00:00z",
        "2026-11-24T10:00:00.123456Z",
        "2026-11-24T12:00:00+02:00",
        "2026-11-24T05:00:00.5-05:00",
    ],
)
def test_date_time_takes_rfc_3339_strings(text: str) -> None:
    parsed = v16.HeartbeatResponse.model_validate({"currentTime": text})
    assert parsed.current_time.tzinfo is not None
    assert parsed.current_time.replace(microsecond=0) == datetime(2026, 11, 24, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad",
    [
        1732442400,  # Unix time, as a JSON number
        1732442400.5,
        "1732442400",  # ... or as a digit string
        "2026-11-24",  # a date alone
        "2026-11-24 10:00:00Z",  # a space for the T
        "2026-11-24T10:00Z",  # no seconds
        "24/11/2026 10:00:00",
        True,
        ["2026-11-24T10:00:00Z"],
    ],
)
def test_date_time_refuses_what_is_not_an_rfc_3339_string_as_a_type_fault(bad: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        v16.HeartbeatResponse.model_validate({"currentTime": bad})
    assert _error_types(exc) == {"date_time_format"}
    assert type(error_from_validation(exc.value, "Heartbeat", "response")) is TypeConstraintViolation
    # the model's own constructor takes a datetime (and, from Python, the same strings)
    assert v16.HeartbeatResponse(current_time=datetime(2026, 11, 24, 10, tzinfo=UTC)).current_time.year == 2026


def _numeric_fields(model: type[OcppModel], path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """The wire path of every integer and decimal field of ``model``, nested models and lists included."""
    found: list[tuple[str | int, ...]] = []
    for name, info in model.model_fields.items():
        inner, is_list, _ = _unwrap(info.annotation)
        here = (*path, info.alias or name, *((0,) if is_list else ()))
        if isinstance(inner, type) and issubclass(inner, OcppModel):
            found += _numeric_fields(inner, here)
        elif inner in (int, Decimal):
            found.append(here)
    return found


def _numeric_cases() -> list[tuple[type[OcppModel], tuple[str | int, ...]]]:
    return [(model, path) for _, model in ALL_MESSAGES for path in _numeric_fields(model)]


@pytest.mark.parametrize(
    ("model", "path"), _numeric_cases(), ids=lambda x: x.__name__ if isinstance(x, type) else "/".join(map(str, x))
)
def test_every_number_sent_as_a_json_string_is_a_type_fault(
    model: type[OcppModel], path: tuple[str | int, ...]
) -> None:
    payload = example_payload(model)
    node: Any = payload
    for key in path[:-1]:
        node = node[key]
    assert isinstance(node[path[-1]], int | float) and not isinstance(node[path[-1]], bool)
    node[path[-1]] = str(node[path[-1]])
    with pytest.raises(ValidationError) as exc:
        model.model_validate(payload)
    assert [(e["type"], e["loc"]) for e in exc.value.errors()] in (
        [("int_type", path)],
        [("number_type", path)],
    )
    assert type(error_from_validation(exc.value, "X")) is TypeConstraintViolation


def test_numeric_fields_are_found_at_every_level() -> None:
    paths = {(model.__name__, path) for model, path in _numeric_cases()}
    assert (
        "SetChargingProfileRequest",
        ("csChargingProfiles", "chargingSchedule", "chargingSchedulePeriod", 0, "limit"),
    ) in paths
    assert ("SetChargingProfileRequest", ("connectorId",)) in paths
    assert ("GetCompositeScheduleResponse", ("chargingSchedule", "minChargingRate")) in paths
    assert len({path[-1] for _, path in paths if path[-1] in ("limit", "minChargingRate")}) == 2


@pytest.mark.parametrize("bad", ["16.5", "16", True, None, {"value": 16}])
def test_decimal_takes_only_json_numbers(bad: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        v16.ChargingSchedulePeriod.model_validate({"startPeriod": 0, "limit": bad})
    assert _error_types(exc) == {"number_type"}
    assert v16.ChargingSchedulePeriod(start_period=0, limit=Decimal("16.5")).limit == Decimal("16.5")


def test_v16_unit_celcius_from_the_official_json_schema_is_read_as_celsius_and_never_written() -> None:
    reading = v16.SampledValue.model_validate({"value": "21.5", "unit": "Celcius"})
    assert reading.unit is v16.UnitOfMeasure.CELSIUS
    assert reading.to_json_dict() == {"value": "21.5", "unit": "Celsius"}
    assert v16.UnitOfMeasure("Celcius") is v16.UnitOfMeasure.CELSIUS
    assert "Celcius" not in {member.value for member in v16.UnitOfMeasure}
    with pytest.raises(ValidationError):  # only 1.6's JSON schema has the misspelling
        v15.MeterValueValue.model_validate({"value": "21.5", "unit": "Celcius"})


def test_lists_follow_max_occurs_and_min_occurs() -> None:
    request = v16.GetConfigurationRequest.model_validate({"key": ["HeartbeatInterval", "MeterValueSampleInterval"]})
    assert request.key == ["HeartbeatInterval", "MeterValueSampleInterval"]
    with pytest.raises(ValidationError) as exc:
        v16.MeterValuesRequest.model_validate(
            {"connectorId": 1, "meterValue": [{"timestamp": "2026-11-24T10:00:00Z", "sampledValue": []}]}
        )
    assert _error_types(exc) == {"too_short"}
    with pytest.raises(ValidationError):
        v16.GetConfigurationRequest.model_validate({"key": "HeartbeatInterval"})


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        v16.HeartbeatRequest.model_validate({"foo": 1})
    assert _error_types(exc) == {"extra_forbidden"}


def test_v16_meter_values_requires_meter_value_as_the_json_schema_does() -> None:
    with pytest.raises(ValidationError) as exc:
        v16.MeterValuesRequest.model_validate({"connectorId": 1})
    assert _error_types(exc) == {"missing"}
    # in 1.5 the WSDL's optional `values` stays optional
    assert v15.MeterValuesRequest.model_validate({"connectorId": 1}).values is None


# --- 1.5 XML attributes in JSON ----------------------------------------------------------------

OCPPJS_102 = {
    "connectorId": 2,
    "transactionId": 7,
    "values": [
        {
            "timestamp": "2013-03-07T16:52:16Z",
            "values": [{"value": "0", "unit": "Wh", "measurand": "Energy.Active.Import.Register"}, {"value": "20"}],
        }
    ],
}


def test_v15_meter_value_attributes_are_read_and_written_as_ocppjs_does() -> None:
    request = v15.MeterValuesRequest.model_validate(OCPPJS_102)
    reading = request.values[0].values[0] if request.values else None
    assert reading is not None and reading.value == "0"
    assert reading.unit is v15.UnitOfMeasure.WH
    assert reading.measurand is v15.Measurand.ENERGY_ACTIVE_IMPORT_REGISTER
    assert request.to_json_dict() == OCPPJS_102


def test_v15_meter_value_legacy_value_and_at_value_lists_are_accepted_and_emitted_in_the_new_form() -> None:
    legacy = {
        "connectorId": 2,
        "transactionId": 7,
        "values": [
            {
                "timestamp": "2013-03-07T16:52:16Z",
                "value": ["0", "20"],
                "@value": [{"unit": "Wh", "measurand": "Energy.Active.Import.Register"}, {}],
            }
        ],
    }
    assert v15.MeterValuesRequest.model_validate(legacy).to_json_dict() == OCPPJS_102
    stop = v15.StopTransactionRequest.model_validate(
        {
            "transactionId": 7,
            "timestamp": "2013-03-07T17:00:00Z",
            "meterStop": 20,
            "transactionData": [{"values": [{"timestamp": "2013-03-07T16:52:16Z", "value": ["5"]}]}],
        }
    )
    assert stop.to_json_dict()["transactionData"][0]["values"][0]["values"] == [{"value": "5"}]


def test_xml_facts_say_which_fields_are_attributes_and_in_which_order_children_come() -> None:
    facts = v15.MeterValueValue.__ocpp_xml__
    kinds = {child.field: child.kind for child in facts}
    assert kinds == {
        "value": "text",
        "context": "attribute",
        "format": "attribute",
        "measurand": "attribute",
        "location": "attribute",
        "unit": "attribute",
    }
    meter_value = v15.MeterValue.__ocpp_xml__
    assert [(c.field, c.name, c.repeated) for c in meter_value] == [
        ("timestamp", "timestamp", False),
        ("values", "value", True),
    ]
    assert all(child.kind == "element" for child in v16.SampledValue.__ocpp_xml__)
    boot = v16.BootNotificationRequest.__ocpp_xml__
    assert [c.name for c in boot][:2] == ["chargePointVendor", "chargePointModel"]
    assert boot.type_name == "BootNotificationRequest"
    assert [c.value for c in v16.IdTagInfo.__ocpp_xml__] == ["str", "datetime", "str"]


# --- JSON round trips for every model -----------------------------------------------------------


@pytest.mark.parametrize(("version", "model"), ALL_MESSAGES, ids=lambda x: getattr(x, "__name__", x))
@pytest.mark.parametrize("optional", [True, False], ids=["all-fields", "required-only"])
def test_every_message_round_trips_through_ocpp_j_json(version: str, model: type[OcppModel], optional: bool) -> None:
    payload = example_payload(model, optional=optional)
    text = json.dumps(payload)
    parsed = model.model_validate(json.loads(text))
    assert parsed == example(model, optional=optional)
    assert parsed.to_json_dict() == payload
    assert model.model_validate_json(text) == parsed
