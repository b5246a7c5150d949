"""The OCPP-J link's fast path: a CALL taken without decoding its payload, validated straight from its text.

What it must keep: :func:`split_call` takes only frames that :func:`decode` reads as a CALL, with the same
id, action and payload; a request validated from the payload text is the one validated from the decoded
payload, and fails exactly when that fails; and a link answers every frame, good or bad, as it does
without the fast path (same answers, same bad-message counts). Mutated frames (hypothesis and a seeded
sample) probe the edges where pydantic's JSON parser and ``json`` could differ: NaN / Infinity,
escapes, control characters, white space, long integers, non-ASCII text.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ocpprpc import CentralSystem, on
from ocpprpc._frames import (
    OCPP_J_1,
    OCPP_J_21,
    OCPP_J_201,
    Call,
    CallResult,
    FrameError,
    RpcFramework,
    decode,
    decode_payload,
    encode,
    encode_result,
    framework_of,
    split_call,
)
from ocpprpc._ocppj import OcppJLink
from ocpprpc._versions import VERSIONS
from ocpprpc.errors import ConnectionClosed, UsageError
from ocpprpc.messages import v16, v201
from ocpprpc.messages._base import ActionSpec, OcppModel
from ocpprpc.messages.examples import example_payload
from ocpprpc.roles import InboundResult

from .timing import bounded, eventually

METER_VALUES = {
    "connectorId": 1,
    "transactionId": 4711,
    "meterValue": [
        {
            "timestamp": "2026-11-24T10:00:00Z",
            "sampledValue": [
                {"value": "15234.7", "context": "Sample.Periodic", "measurand": "Energy.Active.Import.Register"},
                {"value": "229.8", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
            ],
        }
    ],
}
TRANSACTION_EVENT = {
    "eventType": "Updated",
    "timestamp": "2026-11-24T10:00:00Z",
    "triggerReason": "MeterValuePeriodic",
    "seqNo": 7,
    "transactionInfo": {"transactionId": "tx-1", "chargingState": "Charging"},
    "meterValue": [{"timestamp": "2026-11-24T10:00:00Z", "sampledValue": [{"value": 15234.7, "measurand": "SoC"}]}],
    "customData": {"vendorId": "ACME", "note": [1, 2.5, None, True]},
}


def compact(unique_id: str, action: str, payload: dict[str, Any]) -> str:
    return json.dumps([2, unique_id, action, payload], separators=(",", ":"), ensure_ascii=False)


def _example_frames() -> Iterator[tuple[str, ActionSpec, str]]:
    """(version, spec, frame) for every request of every version, with all optional fields and without."""
    for registry in VERSIONS.values():
        for spec in registry.actions:
            for optional in (True, False):
                frame = compact("id-1", spec.name, example_payload(spec.request, optional=optional))
                yield registry.version, spec, frame


EXAMPLES = list(_example_frames())


def _same_outcome(model: type[OcppModel], payload: str) -> None:
    """Validating ``payload`` from its text and from its decoded dict succeed or fail together, alike."""
    try:
        from_text: OcppModel | None = model.__pydantic_validator__.validate_json(payload)
    except ValidationError:
        from_text = None
    try:
        from_dict: OcppModel | None = model.model_validate(decode_payload(payload))
    except ValidationError:
        from_dict = None
    assert (from_text is None) == (from_dict is None), payload
    if from_text is not None and from_dict is not None:
        assert from_text == from_dict
        assert from_text.to_json_dict() == from_dict.to_json_dict()


def _check_split(text: str, framework: RpcFramework, model: type[OcppModel] | None = None) -> bool:
    """split_call agrees with decode on ``text``; True when it took the frame."""
    parts = split_call(text, framework)
    if parts is None:
        return False
    unique_id, action, payload = parts
    assert decode(text, framework) == Call(unique_id, action, decode_payload(payload))  # decode must not raise
    if model is not None:
        _same_outcome(model, payload)
    return True


@pytest.mark.parametrize(("version", "spec", "frame"), EXAMPLES, ids=[f"{v}-{s.name}" for v, s, _ in EXAMPLES])
def test_every_example_request_is_taken_and_reads_alike(version: str, spec: ActionSpec, frame: str) -> None:
    assert _check_split(frame, framework_of(version), spec.request)
    payload = split_call(frame, framework_of(version))
    assert payload is not None
    assert spec.request.__pydantic_validator__.validate_json(payload[2]) == spec.request.model_validate(
        decode_payload(payload[2])
    )


@pytest.mark.parametrize(
    "text",
    [
        '[2,"1","Heartbeat",{"a":NaN}]',  # not JSON to json; a number to pydantic's parser
        '[2,"1","Heartbeat",{"a":-Infinity}]',
        '[2,"1","Heartbeat",{"a":"\\ud800"}]',  # a lone surrogate
        '[2,"1","Heartbeat",{"a":"\\u00e9"}]',  # any \\u escape: left to decode()
        '[2,"1","Heartbeat",{}] ',  # white space around or between the elements
        '[2, "1","Heartbeat",{}]',
        '[2,"1" ,"Heartbeat",{}]',
        '[2,"1","Heartbeat", {}]',
        '[2,"a\\"b","Heartbeat",{}]',  # escapes in the id or the action
        '[2,"1","Heart\\u0062eat",{}]',
        '[2,"1\x01","Heartbeat",{}]',  # a control character
        '[2,"","Heartbeat",{}]',  # an empty id
        '[2,"1","Heartbeat",{}',  # unterminated
        '[2,"1","Heartbeat",{}}]',
        '[2,"1","Heartbeat",{},{}]',  # five elements
        '[2,"1","Heartbeat",[]]',  # not an object
        '[2,"1","Heartbeat",{"a":1,}]',
        '[2,"1","Heartbeat",{"a":01}]',
        '[2,"1","Heartbeat",{"a":' + "9" * 4301 + "}]",  # too long an integer for json
        '[3,"1",{}]',
        '[2.0,"1","Heartbeat",{}]',
        '[6,"1","NotifyPeriodicEventStream",{}]',
        '[2,"1","Heartbeat",{"a":"\ud800"}]',  # a str UTF-8 cannot carry
    ],
)
def test_what_decode_refuses_or_reads_otherwise_is_left_to_it(text: str) -> None:
    assert split_call(text, OCPP_J_21) is None


def test_a_2x_id_longer_than_36_characters_is_left_to_decode() -> None:
    text = compact("x" * 37, "Heartbeat", {})
    assert split_call(text, OCPP_J_1) is not None
    assert split_call(text, OCPP_J_201) is None
    with pytest.raises(FrameError):
        decode(text, OCPP_J_201)


def test_a_lowered_integer_digit_limit_turns_the_fast_path_off() -> None:
    text = compact("1", "Heartbeat", {"a": 1})
    limit = sys.get_int_max_str_digits()
    try:
        sys.set_int_max_str_digits(1000)
        assert split_call(text) is None
        sys.set_int_max_str_digits(0)  # no limit: json reads more than pydantic's parser, which then refuses
        assert split_call(text) is not None
        assert split_call(compact("1", "Heartbeat", {}).replace("{}", '{"a":' + "9" * 5000 + "}")) is None
    finally:
        sys.set_int_max_str_digits(limit)


_PIECES = [
    "NaN", "Infinity", "-Infinity", "\\u0041", "\\ud800", "\\\\", '\\"', '"', ",", ":", "{", "}", "[", "]", " ", "\t",
    "\n", "\x01", "\x7f", "1" * 30, "-", ".", "e", "E+", "0", "true", "null", "é", "😀", "\u2028", "\ufeff",
    '"x":', '"connectorId":', '"connector_id":', '"value":', '"customData":{"vendorId":"v","k":',
]  # fmt: skip


def _mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(text) + 1)
        kind = rng.random()
        if kind < 0.5:
            text = text[:at] + rng.choice(_PIECES) + text[at:]
        elif kind < 0.75:
            text = text[:at] + text[at + rng.randint(1, 8) :]
        else:
            text = text[:at] + rng.choice(_PIECES) + text[at + rng.randint(1, 4) :]
    return text


_BASES: list[tuple[str, type[OcppModel], str]] = [
    ("1.6", v16.MeterValuesRequest, compact("17.3", "MeterValues", METER_VALUES)),
    ("2.0.1", v201.TransactionEventRequest, compact("17.3", "TransactionEvent", TRANSACTION_EVENT)),
    ("1.6", v16.HeartbeatRequest, compact("17.4", "Heartbeat", {})),
]


@settings(max_examples=400, deadline=None)
@given(base=st.sampled_from(_BASES), seed=st.integers(0, 2**32))
def test_mutated_frames_split_only_as_decode_reads_them(base: tuple[str, type[OcppModel], str], seed: int) -> None:
    version, model, text = base
    _check_split(_mutate(text, random.Random(seed)), framework_of(version), model)


def test_a_seeded_sample_of_mutations_takes_many_frames_and_agrees_on_all() -> None:
    rng = random.Random(20261129)
    taken = 0
    for _ in range(3000):
        version, model, text = rng.choice(_BASES)
        taken += _check_split(_mutate(text, rng), framework_of(version), model)
    assert taken > 300  # the sample does exercise the fast path (valid and invalid payloads alike)


# -- the link: the same answers with the fast path and without ------------------------------------------


class _Channel:
    """A text channel that records what the link sends; recv() is never used (frames are fed directly)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, text: str) -> None:
        self.sent.append(text)

    async def recv(self) -> str | bytes:
        raise ConnectionClosed("not used")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        pass


class _Cs(CentralSystem):
    versions = ("1.6", "2.0.1")

    def __init__(self, id: str, version: str | None = None) -> None:
        super().__init__(id, version)
        self.payload_kinds: list[type] = []
        self.invalid: list[tuple[str, dict[str, Any], str]] = []

    async def on_validation_error(self, action: str, payload: dict[str, Any], error: Any, repaired: bool) -> None:
        self.invalid.append((action, payload, error.code.value))

    @on("MeterValues")
    async def meter_values(self, request: v16.MeterValuesRequest) -> v16.MeterValuesResponse:
        return v16.MeterValuesResponse()

    @on("Heartbeat")
    def heartbeat(self, request: v16.HeartbeatRequest | v201.HeartbeatRequest) -> OcppModel:
        now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
        if isinstance(request, v201.HeartbeatRequest):
            return v201.HeartbeatResponse(current_time=now)
        return v16.HeartbeatResponse(current_time=now)

    @on("TransactionEvent")
    async def transaction_event(self, request: v201.TransactionEventRequest) -> v201.TransactionEventResponse:
        return v201.TransactionEventResponse(total_cost=request.seq_no)


class _Overriding(_Cs):
    """A role that overrides handle_call (as the gateway does): it must see every payload as a dict."""

    async def handle_call(self, action: str, payload: dict[str, Any], message_id: str | None = None) -> InboundResult:
        self.payload_kinds.append(type(payload))
        return await super().handle_call(action, payload, message_id)


async def _answers(
    frames: list[str], version: str, fast: bool, role_class: type[_Cs] = _Cs
) -> tuple[list[str], int, list[Any]]:
    role = role_class("CP1", version)
    channel = _Channel()
    link = OcppJLink(channel, role, max_bad_messages=None)
    link._payload_text = fast and link._payload_text
    for frame in frames:
        reply = link._on_message(frame)
        if reply is not None:
            await channel.send(reply)
        await eventually(lambda: link.workers == 0, timeout=2)
    return channel.sent, link.bad_messages, role.invalid


BAD_AND_GOOD = [
    compact("1", "MeterValues", METER_VALUES),
    compact("2", "MeterValues", {**METER_VALUES, "connectorId": "1"}),  # invalid: a string
    compact("3", "MeterValues", {"connectorId": 1}),  # a required field missing
    compact("4", "MeterValues", {**METER_VALUES, "bogus": 1}),
    compact("5", "Heartbeat", {}),
    compact("6", "Reset", {"type": "Soft"}),  # sent by the central system
    compact("7", "NoSuchAction", {}),
    '[2,"8","MeterValues",{"connectorId":NaN}]',
    '[2,"9","Heartbeat",{"a":1} x]',
    '[2,"10","Heartbeat",{"a":"\\ud800"}]',
    '[2,"11","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"2026-11-24T10:00:00Z","sampledValue":[]}]}]',
    '[2,"12","Heartbeat",{"a":' + "9" * 5000 + "}]",
    compact("13", "MeterValues", METER_VALUES).replace("Voltage", "Volts"),
    '[2,"14","MeterValues",' + json.dumps(METER_VALUES, indent=1) + "]",
    compact("15", "Heartbeat", {}).replace("{}", '{"connector_id":1}'),
]


@bounded(20)
@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_link_answers_alike_with_the_fast_path_and_without(version: str) -> None:
    frames = [
        *BAD_AND_GOOD,
        compact("20", "TransactionEvent", TRANSACTION_EVENT),
        compact("21", "TransactionEvent", {**TRANSACTION_EVENT, "seqNo": -1}),
        compact("x" * 37, "Heartbeat", {}),
    ]
    rng = random.Random(7)
    frames += [_mutate(rng.choice(_BASES)[2], rng) for _ in range(150)]
    fast = await _answers(frames, version, fast=True)
    slow = await _answers(frames, version, fast=False)
    assert fast == slow
    assert any(answer.startswith('[3,"1",') or answer.startswith('[3,"20",') for answer in fast[0])
    assert any(answer.startswith("[4,") for answer in fast[0])


@bounded(10)
async def test_the_usual_calls_are_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str | bytes, framework: RpcFramework = OCPP_J_1) -> Any:
        raise AssertionError(f"decoded: {text!r}")

    monkeypatch.setattr("ocpprpc._ocppj.decode", refuse)
    frames = [compact("1", "MeterValues", METER_VALUES), compact("2", "Heartbeat", {})]
    sent, bad, invalid = await _answers(frames, "1.6", fast=True)
    assert [answer[:8] for answer in sent] == ['[3,"1",{', '[3,"2",{']
    assert bad == 0 and invalid == []


@bounded(10)
async def test_a_role_that_overrides_handle_call_gets_every_payload_decoded() -> None:
    frames = [compact("1", "MeterValues", METER_VALUES), compact("2", "Heartbeat", {})]
    role = _Overriding("CP1", "1.6")
    link = OcppJLink(_Channel(), role)
    for frame in frames:
        assert link._on_message(frame) is None
        await eventually(lambda: link.workers == 0, timeout=2)
    assert role.payload_kinds == [dict, dict]


@bounded(10)
async def test_an_invalid_payload_is_told_decoded_as_before() -> None:
    frame = compact("2", "MeterValues", {**METER_VALUES, "connectorId": "1"})
    fast = await _answers([frame], "1.6", fast=True)
    assert fast[2] == [("MeterValues", {**METER_VALUES, "connectorId": "1"}, "TypeConstraintViolation")]
    assert fast[0][0].startswith('[4,"2","TypeConstraintViolation",')
    await asyncio.sleep(0)


# -- answers: to_json_dict asks the serializer directly --------------------------------------------------


@pytest.mark.parametrize("version", list(VERSIONS))
def test_to_json_dict_is_model_dump_in_json_mode_by_alias_without_nones(version: str) -> None:
    registry = VERSIONS[version]
    models = [
        model.model_validate(example_payload(model, optional=optional))
        for spec in registry.actions
        for model in (spec.request, spec.response)
        for optional in (True, False)
    ]
    assert models
    for model in models:
        assert model.to_json_dict() == model.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_to_json_dict_keeps_a_vendor_key_whose_value_is_null() -> None:
    request = v201.HeartbeatRequest.model_validate({"customData": {"vendorId": "ACME", "gone": None, "n": 1.5}})
    assert request.to_json_dict() == {"customData": {"vendorId": "ACME", "gone": None, "n": 1.5}}


# -- answers: encode_result is encode(CallResult(...)) ----------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(unique_id=st.text(min_size=1, max_size=40), payload=st.dictionaries(st.text(max_size=8), _JSON, max_size=5))
def test_encode_result_writes_what_encode_writes(unique_id: str, payload: dict[str, Any]) -> None:
    try:
        expected: str | None = encode(CallResult(unique_id, payload))
    except UsageError as exc:
        expected = None
        with pytest.raises(UsageError) as caught:
            encode_result(unique_id, payload)
        assert str(caught.value) == str(exc)
    if expected is not None:
        assert encode_result(unique_id, payload) == expected


@pytest.mark.parametrize(
    ("unique_id", "payload"),
    [
        ("1", {"a": float("nan")}),
        ("1", {"a": object()}),
        ("1", {"a": "\ud800"}),
        ("\udc00", {}),
        ("\udc00", {"a": 1}),
    ],
)
def test_encode_result_refuses_what_encode_refuses_in_the_same_words(unique_id: str, payload: dict[str, Any]) -> None:
    with pytest.raises(UsageError) as expected:
        encode(CallResult(unique_id, payload))
    with pytest.raises(UsageError) as caught:
        encode_result(unique_id, payload)
    assert str(caught.value) == str(expected.value)


def test_a_circular_payload_is_refused_and_does_not_spoil_the_next_answer() -> None:
    inner: dict[str, Any] = {"x": 1}
    payload: dict[str, Any] = {"a": inner, "b": [inner]}
    payload["self"] = payload
    with pytest.raises(UsageError, match="Circular reference"):
        encode_result("1", payload)
    del payload["self"]
    assert encode_result("1", payload) == '[3,"1",{"a":{"x":1},"b":[{"x":1}]}]'


# -- the role's per-class routes ----------------------------------------------------------------------


@bounded(10)
async def test_a_peers_made_up_actions_are_not_remembered_and_known_ones_once() -> None:
    class Fresh(_Cs):
        pass

    frames = [compact(str(n), f"Made{n}Up", {}) for n in range(200)]
    frames += [compact("m", "MeterValues", METER_VALUES), compact("h", "Heartbeat", {})] * 3
    sent, _bad, _invalid = await _answers(frames, "1.6", fast=True, role_class=Fresh)
    assert sum('"NotImplemented"' in answer for answer in sent) == 200
    assert sum(answer.startswith('[3,"m",{}]') for answer in sent) == 3
    assert set(Fresh._routes) == {"1.6"}
    assert set(Fresh._routes["1.6"]) == {"MeterValues", "Heartbeat"}
    assert not CentralSystem._routes  # each class its own
