"""Translation between OCPP 1.2, 1.5 and 1.6: the table is complete, round trips keep what it says they keep.

Four kinds of check:

* coverage: every action, every field (through nested types) and every enumerated value of each version
  is mapped each way or refused with a reason, by the table read against the generated models; a model
  or an enumeration that gains a field or a value fails it (shown below with a model grown by hand);
* round trips (hypothesis, messages drawn from the models' own fields): 1.5 → 1.6 → 1.5, 1.2 → 1.6 → 1.2
  and 1.6 → 1.5 → 1.6 give the original back, except exactly where a lossy rule of the table applied, and
  each lossy rule of the table is shown to lose something;
* refusals: actions and fields the receiving version cannot say are refused naming them, never dropped;
* the guide page is what the generator writes from the table.
"""

from __future__ import annotations

import enum
import importlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from annotated_types import MinLen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime

from codegen.translation import DEFAULT_OUT, KINDS, Row, enum_problems, field_map, render
from ocpprpc import UsageError
from ocpprpc.messages import v12, v15, v16, v201
from ocpprpc.messages._base import OcppModel
from ocpprpc.messages.examples import _max_length, _unwrap, example
from ocpprpc.messages.translation_table import STEPS, Convert, Drop, Refuse, Step, Unset
from ocpprpc.translation import (
    _ACTIONS,
    Kind,
    Loss,
    NotTranslatable,
    _message_model,
    lossy_rules,
    translatable,
    translate,
    translate_with_losses,
)

AT = datetime(2026, 11, 24, 10, tzinfo=UTC)
STEP_IDS = [f"{step.lower}-{step.upper}" for step in STEPS]


def _common(step: Step) -> list[str]:
    return sorted(set(_ACTIONS[step.lower]) & set(_ACTIONS[step.upper]))


def _pairs() -> Iterator[tuple[Step, str, Kind]]:
    for step in STEPS:
        for action in _common(step):
            for kind in KINDS:
                yield step, action, kind


PAIRS = list(_pairs())
PAIR_IDS = [f"{step.lower}-{step.upper}-{action}-{kind}" for step, action, kind in PAIRS]


# -- coverage ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", STEPS, ids=STEP_IDS)
def test_every_action_is_in_both_versions_or_its_absence_has_a_reason(step: Step) -> None:
    lower, upper = set(_ACTIONS[step.lower]), set(_ACTIONS[step.upper])
    assert lower - upper == set(), "an action the newer version dropped needs a rule"
    assert set(step.new_actions) == upper - lower
    assert all(reason.strip() for reason in step.new_actions.values())


def _paths(model: type[OcppModel], at: str = "") -> Iterator[str]:
    """Every field path of ``model``, through nested models (``meterValue[].sampledValue[].phase``)."""
    for name, info in model.model_fields.items():
        inner, repeated, _ = _unwrap(info.annotation)
        path = f"{at}.{info.alias or name}" if at else (info.alias or name)
        yield path
        if isinstance(inner, type) and issubclass(inner, OcppModel):
            yield from _paths(inner, path + ("[]" if repeated else ""))


def _covers_below(row: Row, up: bool) -> bool:
    """A rule whose subtree needs no rows of its own: refused, dropped, left unset or converted by a function."""
    if row.field is None:
        return False
    way = row.field.up if up else row.field.down
    return isinstance(way, Refuse | Drop | Unset | Convert)


@pytest.mark.parametrize(("step", "action", "kind"), PAIRS, ids=PAIR_IDS)
def test_every_field_of_both_versions_is_covered_by_the_table(step: Step, action: str, kind: Kind) -> None:
    lower, upper = _message_model(step.lower, action, kind), _message_model(step.upper, action, kind)
    rows = field_map(step, lower, upper)
    problems = [f"{row.lower or row.upper}: {problem}" for row in rows for problem in row.problems]
    assert problems == []
    for model, side, up in ((lower, "lower", True), (upper, "upper", False)):
        listed = {getattr(row, side): row for row in rows if getattr(row, side) is not None}
        for path in _paths(model):
            parents = [p for p in listed if path.startswith(p + ".") or path.startswith(p + "[]")]
            assert path in listed or any(_covers_below(listed[p], up) for p in parents), f"{side} {path}"


def test_every_rule_of_the_table_applies_to_some_message() -> None:
    for step in STEPS:
        reached: set[tuple[str, str]] = set()
        enums: set[str] = set()
        for action in _common(step):
            for kind in KINDS:
                lower, upper = _message_model(step.lower, action, kind), _message_model(step.upper, action, kind)
                reached.add((lower.__name__, upper.__name__))
                for row in field_map(step, lower, upper):
                    low, high = row.lower_slot, row.upper_slot
                    if low is not None and high is not None and low.kind == high.kind == "model":
                        reached.add((low.type_name, high.type_name))
                    enums |= {slot.type_name for slot in (low, high) if slot is not None and slot.kind == "enum"}
                    ways = () if row.field is None else (row.field.up, row.field.down)
                    reached |= {pair for way in ways if isinstance(way, Convert) for pair in way.via}
        assert set(step.types) - reached == set(), "rules for pairs of types no message holds"
        assert set(step.enums) - enums == set(), "rules for enumerations no message holds"


@pytest.mark.parametrize("version", ["1.2", "1.5", "1.6"])
def test_every_enumeration_of_each_version_is_held_by_some_message(version: str) -> None:
    held: set[str] = set()
    for request, response in _ACTIONS[version].values():
        for model in (request, response):
            held |= _enums_in(model)
    assert set(_enum_classes(version)) - held == set()


def _enums_in(model: type[OcppModel]) -> set[str]:
    found: set[str] = set()
    for info in model.model_fields.values():
        inner, _, _ = _unwrap(info.annotation)
        if isinstance(inner, type) and issubclass(inner, enum.Enum):
            found.add(inner.__name__)
        elif isinstance(inner, type) and issubclass(inner, OcppModel):
            found |= _enums_in(inner)
    return found


@pytest.mark.parametrize("step", STEPS, ids=STEP_IDS)
def test_every_value_of_every_enumeration_both_versions_have_is_covered_each_way(step: Step) -> None:
    lower, upper = _enum_classes(step.lower), _enum_classes(step.upper)
    for name in sorted(set(lower) & set(upper)):
        assert enum_problems(step, lower[name], upper[name]) == []
    for values in (rule for enum_rule in step.enums.values() for rule in (enum_rule.up, enum_rule.down)):
        for mapped in values.values():
            assert mapped.why.strip()
            if mapped.restored_by:  # kept elsewhere by the adjusters of that type, both ways
                rules = [r for (low, high), r in step.types.items() if mapped.restored_by in (low, high)]
                assert rules and all(r.adjust_up and r.adjust_down and r.adjusts for r in rules)


def _enum_classes(version: str) -> dict[str, type[enum.Enum]]:
    """The enumerations of ``version``'s generated ``enums`` module, by name."""
    module = importlib.import_module(f"ocpprpc.messages.v{version.replace('.', '')}.enums")
    found: dict[str, type[enum.Enum]] = {}
    for name in module.__all__:
        value: object = getattr(module, name)
        if isinstance(value, type) and issubclass(value, enum.Enum):
            found[name] = value
    return found


def test_a_field_or_a_value_a_regeneration_adds_is_reported_until_the_table_covers_it() -> None:
    step = STEPS[1]

    class HeartbeatResponse(v16.HeartbeatResponse):  # as if the WSDL had grown a field
        uptime: int | None = None

    rows = field_map(step, v15.HeartbeatResponse, HeartbeatResponse)
    assert [row.problems for row in rows if row.upper == "uptime"] == [("only 1.6 has it, and the table says nothing",)]

    class RegistrationStatus(enum.StrEnum):  # as if it had grown a value
        ACCEPTED = "Accepted"
        PENDING = "Pending"
        REJECTED = "Rejected"
        POSTPONED = "Postponed"

    assert enum_problems(step, v15.RegistrationStatus, RegistrationStatus) == [
        "RegistrationStatus 1.6→1.5: Postponed has no counterpart and no rule"
    ]


# -- messages drawn from the models ----------------------------------------------------------------------------

_TEXT = st.text(st.sampled_from("abcXYZ019 -_.:"), max_size=20)


def _scalar(inner: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return st.sampled_from(list(inner))
    if inner is bool:
        return st.booleans()
    if inner is int:
        return st.integers(-(2**31), 2**31 - 1)
    if inner is Decimal:
        return st.decimals(min_value=-1000, max_value=1000, places=1, allow_nan=False, allow_infinity=False)
    if inner in (datetime, AwareDatetime):
        return st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))
    if inner is str:
        limit = _max_length(metadata)
        return _TEXT if limit is None or limit >= 20 else st.text(st.sampled_from("abc019"), max_size=limit)
    raise TypeError(f"no strategy for {inner!r}")


def payloads(model: type[OcppModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid payloads of ``model`` (Python values under JSON names), optional fields present or not."""
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, info in model.model_fields.items():
        inner, repeated, metadata = _unwrap(info.annotation)
        if isinstance(inner, type) and issubclass(inner, OcppModel):
            value: st.SearchStrategy[Any] = _nested(inner)
        else:
            value = _scalar(inner, [*metadata, *info.metadata])
        if repeated:
            least = next((m.min_length for m in info.metadata if isinstance(m, MinLen)), 0)
            value = st.lists(value, min_size=least, max_size=3)
        (required if info.is_required() else optional)[info.alias or name] = value
    return st.fixed_dictionaries(required, optional=optional)


def _nested(model: type[OcppModel]) -> st.SearchStrategy[dict[str, Any]]:
    return st.deferred(lambda: payloads(model))


def messages(model: type[OcppModel]) -> st.SearchStrategy[OcppModel]:
    return payloads(model).map(model.model_validate)


ORDER = ("1.2", "1.5", "1.6")


def _counterpart(key: str, version: str, origin: str, action: str, kind: Kind) -> str:
    """The top-level ``key`` of ``version``'s message, named as ``origin`` names it (through renames)."""
    while version != origin:
        up = ORDER.index(origin) > ORDER.index(version)
        step = STEPS[ORDER.index(version)] if up else STEPS[ORDER.index(version) - 1]
        pair = (_message_model(step.lower, action, kind).__name__, _message_model(step.upper, action, kind).__name__)
        rule = step.types.get(pair)
        for field in rule.fields if rule else ():
            sending, receiving = (field.lower, field.upper) if up else (field.upper, field.lower)
            if sending == key and receiving is not None:
                key = receiving
        version = step.upper if up else step.lower
    return key


def _top(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _round_trip(message: OcppModel, via: str) -> None:
    """``message`` → ``via`` → back: the original, but for the top-level fields a reported lossy rule touched."""
    origin, action, kind = _version_of(message), *_action_of(message)
    going_up = ORDER.index(via) > ORDER.index(origin)
    original = message.to_json_dict()
    try:
        there, out = translate_with_losses(message, via)
    except NotTranslatable as refused:
        if going_up:  # the one documented exception hypothesis can draw: a MeterValues without readings
            assert (action, refused.field) == ("MeterValues", "values"), refused
        else:  # refused naming the action, or a field the message sets
            assert refused.reason and refused.action == action and refused.to_version == via
            assert refused.field is None or _top(refused.field) in original, refused
            assert refused.field is not None or translatable(action, origin, via) == refused.reason
        return
    back, home = translate_with_losses(there, origin)  # what came from ``origin`` always goes back
    losses: list[Loss] = [*out, *home]
    assert {loss.rule for loss in losses} <= set(lossy_rules())
    touched = {_counterpart(_top(loss.path), loss.version, origin, action, kind) for loss in losses}
    returned = back.to_json_dict()
    assert {k: v for k, v in returned.items() if k not in touched} == {
        k: v for k, v in original.items() if k not in touched
    }
    if not losses:
        assert returned == original


def _version_of(message: OcppModel) -> str:
    return {v12.__name__: "1.2", v15.__name__: "1.5", v16.__name__: "1.6"}[type(message).__module__.rsplit(".", 1)[0]]


def _action_of(message: OcppModel) -> tuple[str, Kind]:
    for action, (request, response) in _ACTIONS[_version_of(message)].items():
        if type(message) in (request, response):
            return action, "request" if type(message) is request else "response"
    raise AssertionError(type(message))


def _round_trip_cases(origin: str, via: str) -> list[Any]:
    cases: list[Any] = []
    for action in sorted(set(_ACTIONS[origin]) & set(_ACTIONS[via])):
        for kind in KINDS:
            cases.append(pytest.param(_message_model(origin, action, kind), via, id=f"{action}-{kind}"))
    return cases


ROUND_TRIP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(("model", "via"), _round_trip_cases("1.5", "1.6"))
def test_15_up_to_16_and_back(model: type[OcppModel], via: str) -> None:
    @ROUND_TRIP
    @given(messages(model))
    def check(message: OcppModel) -> None:
        _round_trip(message, via)

    check()


@pytest.mark.parametrize(("model", "via"), _round_trip_cases("1.2", "1.6"))
def test_12_up_to_16_and_back(model: type[OcppModel], via: str) -> None:
    @ROUND_TRIP
    @given(messages(model))
    def check(message: OcppModel) -> None:
        _round_trip(message, via)

    check()


@pytest.mark.parametrize(("model", "via"), _round_trip_cases("1.6", "1.5"))
def test_16_down_to_15_and_back_where_it_goes_down(model: type[OcppModel], via: str) -> None:
    @ROUND_TRIP
    @given(messages(model))
    def check(message: OcppModel) -> None:
        _round_trip(message, via)

    check()


# -- each lossy rule loses what it says, and nothing else does ------------------------------------------------


def _status_16(status: str) -> OcppModel:
    return v16.StatusNotificationRequest.model_validate({"connectorId": 1, "status": status, "errorCode": "NoError"})


def _status_case(status: str) -> Callable[[], OcppModel]:
    return lambda: _status_16(status)


def _meter_value_15(**attributes: Any) -> dict[str, Any]:
    return {"timestamp": AT, "values": [{"value": "12.0", **attributes}]}


LOSSY: dict[str, tuple[Callable[[], OcppModel], str]] = {
    "1.2→1.5 BootNotificationResponse.currentTime": (
        lambda: v12.BootNotificationResponse(status="Accepted", heartbeat_interval=60),
        "1.6",
    ),
    "1.2→1.5 BootNotificationResponse.heartbeatInterval": (
        lambda: v12.BootNotificationResponse(status="Accepted", current_time=AT),
        "1.6",
    ),
    "1.5→1.2 MeterValue.values": (
        lambda: v15.MeterValuesRequest.model_validate({"connectorId": 1, "values": [_meter_value_15(unit="Wh")]}),
        "1.2",
    ),
    "1.5→1.6 SendLocalListRequest.hash": (
        lambda: v15.SendLocalListRequest(update_type="Full", list_version=2, hash="9f86d081"),
        "1.6",
    ),
    "1.5→1.6 SendLocalListResponse.hash": (
        lambda: v15.SendLocalListResponse(status="Accepted", hash="9f86d081"),
        "1.6",
    ),
    "1.5→1.6 StopTransactionRequest.transactionData": (
        lambda: v15.StopTransactionRequest.model_validate(
            {
                "transactionId": 7,
                "timestamp": AT,
                "meterStop": 100,
                "transactionData": [{"values": [_meter_value_15()]}, {"values": [_meter_value_15()]}],
            }
        ),
        "1.6",
    ),
    "1.6→1.5 StopTransactionRequest.reason": (
        lambda: v16.StopTransactionRequest(transaction_id=7, timestamp=AT, meter_stop=100, reason="Local"),
        "1.5",
    ),
    **{
        f"1.6→1.5 ChargePointStatus {status}": (_status_case(status), "1.5")
        for status in ("Preparing", "SuspendedEV", "SuspendedEVSE", "Finishing")
    },
    "1.6→1.5 ConfigurationStatus RebootRequired": (
        lambda: v16.ChangeConfigurationResponse(status="RebootRequired"),
        "1.5",
    ),
    "1.6→1.5 RegistrationStatus Pending": (
        lambda: v16.BootNotificationResponse(status="Pending", current_time=AT, interval=60),
        "1.5",
    ),
    "1.6→1.5 UnlockStatus NotSupported": (lambda: v16.UnlockConnectorResponse(status="NotSupported"), "1.5"),
    "1.5→1.6 UpdateStatus HashError": (lambda: v15.SendLocalListResponse(status="HashError"), "1.6"),
}
"""Every lossy rule of the table → a message it applies to, and the version that makes it apply."""


def test_every_lossy_rule_of_the_table_is_shown_to_lose_something() -> None:
    assert set(LOSSY) == set(lossy_rules())


@pytest.mark.parametrize("rule", sorted(LOSSY))
def test_a_lossy_rule_loses_and_says_so(rule: str) -> None:
    build, to = LOSSY[rule]
    message = build()
    there, losses = translate_with_losses(message, to)
    assert {loss.rule for loss in losses} == {rule}
    assert all(loss.why and loss.path for loss in losses)
    back = translate(there, _version_of(message))
    assert back.to_json_dict() != message.to_json_dict()


def test_thelossy_rules_say_what_they_did() -> None:
    _, losses = translate_with_losses(_status_16("Finishing"), "1.5")
    assert losses == (
        Loss(
            "1.6→1.5 ChargePointStatus Finishing",
            "1.6",
            "status",
            "Finishing becomes Occupied: 1.5's one in-use state: which part of the use is lost",
        ),
    )


# -- what each rule does ------------------------------------------------------------------------------------------


def test_a_15_status_notification_goes_up_with_charging_for_occupied_and_the_renamed_error_code() -> None:
    old = v15.StatusNotificationRequest(connector_id=2, status="Occupied", error_code="Mode3Error", info="cable")
    new = translate(old, "1.6")
    assert isinstance(new, v16.StatusNotificationRequest)
    assert new.to_json_dict() == {
        "connectorId": 2,
        "status": "Charging",
        "errorCode": "EVCommunicationError",
        "info": "cable",
    }
    assert translate(new, "1.5").to_json_dict() == old.to_json_dict()


def test_a_16_error_code_15_lacks_goes_as_other_error_with_the_code_and_comes_back() -> None:
    new = v16.StatusNotificationRequest(connector_id=1, status="Faulted", error_code="OverVoltage")
    old = translate(new, "1.5")
    assert old.to_json_dict() == {
        "connectorId": 1,
        "status": "Faulted",
        "errorCode": "OtherError",
        "vendorErrorCode": "OverVoltage",
    }
    assert translate(old, "1.6").to_json_dict() == new.to_json_dict()
    # a vendor's own OtherError stays one
    vendor = v15.StatusNotificationRequest(
        connector_id=1, status="Faulted", error_code="OtherError", vendor_id="ACME", vendor_error_code="OverVoltage"
    )
    assert translate(vendor, "1.6").to_json_dict()["errorCode"] == "OtherError"


def test_a_16_error_code_15_lacks_is_refused_when_vendor_error_code_is_taken() -> None:
    new = _status_16("Faulted").model_copy(update={"error_code": v16.ChargePointErrorCode.INTERNAL_ERROR})
    taken = new.model_copy(update={"vendor_error_code": "E42"})
    with pytest.raises(NotTranslatable) as refused:
        translate(taken, "1.5")
    assert refused.value.field == "errorCode"
    assert "InternalError" in refused.value.reason and refused.value.action == "StatusNotification"


def test_meter_values_go_up_from_12_as_the_energy_register_and_come_back() -> None:
    old = v12.MeterValuesRequest(connector_id=1, values=[{"timestamp": AT, "value": 1234}])
    new = translate(old, "1.6")
    assert new.to_json_dict() == {
        "connectorId": 1,
        "meterValue": [{"timestamp": "2026-11-24T10:00:00Z", "sampledValue": [{"value": "1234"}]}],
    }
    assert translate(new, "1.2").to_json_dict() == old.to_json_dict()


@pytest.mark.parametrize(
    ("reading", "why"),
    [
        ({"value": "12.5"}, "integers"),
        ({"value": "abc"}, "integers"),
        ({"value": "12", "unit": "kWh"}, "unit Wh"),
        ({"value": "12", "measurand": "Voltage"}, "measurand Energy.Active.Import.Register"),
    ],
)
def test_a_15_reading_12_cannot_say_is_refused(reading: dict[str, Any], why: str) -> None:
    old = v15.MeterValuesRequest.model_validate({"connectorId": 1, "values": [{"timestamp": AT, "values": [reading]}]})
    with pytest.raises(NotTranslatable, match=re.escape(why)) as refused:
        translate(old, "1.2")
    assert refused.value.field == "values[0].values"


def test_several_readings_at_one_time_are_refused_for_12() -> None:
    readings = [{"value": "1"}, {"value": "2"}]
    two = v15.MeterValuesRequest.model_validate({"connectorId": 1, "values": [{"timestamp": AT, "values": readings}]})
    with pytest.raises(NotTranslatable, match="one reading per timestamp"):
        translate(two, "1.2")


def test_a_16_meter_value_with_a_phase_is_refused_naming_the_field_not_dropped() -> None:
    readings = [{"value": "230"}, {"value": "16.2", "measurand": "Current.Import", "unit": "A", "phase": "L2"}]
    new = v16.MeterValuesRequest.model_validate(
        {"connectorId": 1, "meterValue": [{"timestamp": AT, "sampledValue": readings}]}
    )
    for to in ("1.5", "1.2"):
        with pytest.raises(NotTranslatable) as refused:
            translate(new, to)
        assert refused.value.field == "meterValue[0].sampledValue[1].phase"
        assert refused.value.action == "MeterValues" and refused.value.to_version == to
        assert "phase" in str(refused.value) and "1.5 readings have no phase" in refused.value.reason
    without = new.model_copy(deep=True)
    without.meter_value[0].sampled_value[1].phase = None
    assert translate(without, "1.5").to_json_dict()["values"][0]["values"][1]["unit"] == "Amp"


@pytest.mark.parametrize(
    ("model", "payload", "field"),
    [
        (v16.MeterValuesRequest, {"sampledValue": [{"value": "1", "unit": "Percent"}]}, "unit"),
        (v16.MeterValuesRequest, {"sampledValue": [{"value": "1", "measurand": "SoC"}]}, "measurand"),
        (v16.MeterValuesRequest, {"sampledValue": [{"value": "1", "context": "Trigger"}]}, "context"),
        (v16.MeterValuesRequest, {"sampledValue": [{"value": "1", "location": "EV"}]}, "location"),
    ],
)
def test_a_16_value_15_lacks_is_refused(model: type[OcppModel], payload: dict[str, Any], field: str) -> None:
    message = model.model_validate({"connectorId": 1, "meterValue": [{"timestamp": AT, **payload}]})
    with pytest.raises(NotTranslatable) as refused:
        translate(message, "1.5")
    assert refused.value.field == f"meterValue[0].sampledValue[0].{field}"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("SetChargingProfile", example(v16.SetChargingProfileRequest)),
        ("TriggerMessage", v16.TriggerMessageRequest(requested_message="Heartbeat")),
    ],
)
def test_an_action_the_older_version_lacks_is_refused_naming_it(action: str, message: OcppModel) -> None:
    for to in ("1.5", "1.2"):
        with pytest.raises(NotTranslatable, match=action) as refused:
            translate(message, to)
        assert (refused.value.action, refused.value.to_version, refused.value.field) == (action, to, None)
        assert refused.value.reason == translatable(action, "1.6", to)
        assert isinstance(refused.value, UsageError)


def test_a_stop_reason_15_cannot_say_is_refused_and_local_is_left_out() -> None:
    remote = v16.StopTransactionRequest(transaction_id=7, timestamp=AT, meter_stop=100, reason="Remote")
    with pytest.raises(NotTranslatable) as refused:
        translate(remote, "1.5")
    assert refused.value.field == "reason" and "Remote" in refused.value.reason
    local = remote.model_copy(update={"reason": v16.Reason.LOCAL})
    assert "reason" not in translate(local, "1.5").to_json_dict()


def test_15_transaction_data_is_flattened_going_up_and_grouped_going_down() -> None:
    old = v15.StopTransactionRequest.model_validate(
        {
            "transactionId": 7,
            "timestamp": AT,
            "meterStop": 100,
            "transactionData": [{"values": [_meter_value_15(unit="Amp")]}],
        }
    )
    new = translate(old, "1.6")
    assert new.to_json_dict()["transactionData"] == [
        {"timestamp": "2026-11-24T10:00:00Z", "sampledValue": [{"value": "12.0", "unit": "A"}]}
    ]
    assert translate(new, "1.5").to_json_dict() == old.to_json_dict()


def test_boot_notification_response_renames_the_interval_and_fills_what_12_left_out() -> None:
    new = v16.BootNotificationResponse(status="Accepted", current_time=AT, interval=300)
    assert translate(new, "1.5").to_json_dict() == {
        "status": "Accepted",
        "currentTime": "2026-11-24T10:00:00Z",
        "heartbeatInterval": 300,
    }
    bare = translate(v12.BootNotificationResponse(status="Accepted"), "1.6")
    assert isinstance(bare, v16.BootNotificationResponse)
    assert bare.interval == 0 and abs((bare.current_time - datetime.now(UTC)).total_seconds()) < 60


def test_an_over_long_string_is_refused_even_going_up_never_shortened() -> None:
    tag = "A" * 21  # 1.2's WSDL bounds no string; 1.5 and 1.6 say 20
    with pytest.raises(NotTranslatable) as refused:
        translate(v12.AuthorizeRequest(id_tag=tag), "1.6")
    assert refused.value.field == "idTag" and "20" in refused.value.reason
    info = "x" * 51  # 1.5 bounds no info text, 1.6 says 50
    status = v15.StatusNotificationRequest(connector_id=1, status="Available", error_code="NoError", info=info)
    with pytest.raises(NotTranslatable) as refused:
        translate(status, "1.6")
    assert refused.value.field == "info"


def test_a_15_meter_values_without_a_reading_is_refused_going_up() -> None:
    for empty in (v15.MeterValuesRequest(connector_id=1), v15.MeterValuesRequest(connector_id=1, values=[])):
        with pytest.raises(NotTranslatable) as refused:
            translate(empty, "1.6")
        assert refused.value.field == "values" and "1.6 requires one" in refused.value.reason


@pytest.mark.parametrize("version", ["1.2", "1.5"])
@pytest.mark.parametrize("optional", [True, False], ids=["all fields", "required fields"])
def test_going_up_every_example_message_translates(version: str, optional: bool) -> None:
    for action, (request, response) in _ACTIONS[version].items():
        for model in (request, response):
            message = example(model, optional=optional)
            for to in ("1.5", "1.6")[("1.2", "1.5").index(version) :]:
                if action == "MeterValues" and model is request and not optional:
                    continue  # no reading: the documented refusal above
                assert type(translate(message, to)) is _message_model(to, action, _action_of(message)[1])


def test_the_same_version_returns_the_message_itself_and_data_transfer_goes_both_ways() -> None:
    message = v16.DataTransferRequest(vendor_id="ACME", message_id="m", data="x")
    assert translate(message, "1.6") is message
    assert translate(message, "ocpp1.5").to_json_dict() == message.to_json_dict()


def test_what_translation_does_not_join_is_refused() -> None:
    with pytest.raises(NotTranslatable, match=r"translation covers OCPP 1\.2, 1\.5 and 1\.6"):
        translate(v16.HeartbeatRequest(), "2.0.1")
    with pytest.raises(NotTranslatable, match=r"translation covers OCPP 1\.2, 1\.5 and 1\.6"):
        translate(v201.HeartbeatRequest(), "1.6")
    with pytest.raises(UsageError, match="not the request or response"):
        translate(v16.IdTagInfo(status="Accepted"), "1.5")
    with pytest.raises(UsageError, match="unknown OCPP version"):
        translate(v16.HeartbeatRequest(), "1.7")


def test_translatable_says_why_before_any_message_is_built() -> None:
    assert translatable("Heartbeat", "1.2", "1.6") is None
    assert translatable("TriggerMessage", "1.6", "1.6") is None
    assert translatable("TriggerMessage", "1.6", "ocpp1.5") == STEPS[1].new_actions["TriggerMessage"]
    assert translatable("DataTransfer", "1.6", "1.2") == STEPS[0].new_actions["DataTransfer"]
    assert translatable("Nothing", "1.6", "1.5") == "OCPP 1.6 has no action Nothing"
    assert translatable("Heartbeat", "2.0.1", "1.6") == "translation covers OCPP 1.2, 1.5 and 1.6"


# -- the guide ------------------------------------------------------------------------------------------------------


def test_the_guide_page_is_what_the_generator_writes_from_the_table() -> None:
    assert DEFAULT_OUT.read_text(encoding="utf-8") == render(), "run `python -m codegen.translation` and commit"
