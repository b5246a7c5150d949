"""The OCPP-J frame codec: round trips, the malformed-input classification, and a fuzz test."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocpprpc._frames import (
    MAX_ID_LENGTH,
    Call,
    CallErrorFrame,
    CallResult,
    Frame,
    FrameError,
    MessageType,
    call_error_for,
    decode,
    encode,
    new_unique_id,
)
from ocpprpc.errors import ErrorCode, OcppError, SecurityError, UsageError

FV = ErrorCode.FORMATION_VIOLATION
PE = ErrorCode.PROTOCOL_ERROR
TCV = ErrorCode.TYPE_CONSTRAINT_VIOLATION

# --- round trips -------------------------------------------------------------------------------------------

FRAMES: list[Frame] = [
    Call("19223201", "Heartbeat", {}),
    Call("a" * 32, "BootNotification", {"chargePointVendor": "VendorX", "chargePointModel": "M1"}),
    Call("x", "DataTransfer", {"vendorId": "é€😀", "data": 'line\nbreak "quoted"'}),
    CallResult("19223201", {"currentTime": "2013-02-01T20:53:32.486Z", "interval": 300, "status": "Accepted"}),
    CallResult("id", {"nested": {"list": [1, 2.5, -0.0, None, True, "s"]}}),
    CallErrorFrame("19223201", "NotImplemented", "unknown action", {}),
    CallErrorFrame("id", "SecurityError", "not authorised", {"hint": ["a", 1]}),
]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: type(f).__name__)
def test_round_trip(frame: Frame) -> None:
    assert decode(encode(frame)) == frame
    assert decode(encode(frame).encode("utf-8")) == frame


def test_encode_is_compact_json_with_the_message_type_first() -> None:
    assert encode(Call("id", "Heartbeat", {})) == '[2,"id","Heartbeat",{}]'
    assert encode(CallResult("id", {"a": 1})) == '[3,"id",{"a":1}]'
    assert encode(CallErrorFrame("id", "GenericError", "boom", {})) == '[4,"id","GenericError","boom",{}]'


def test_encode_keeps_non_ascii_text_as_is() -> None:
    assert encode(Call("id", "DataTransfer", {"data": "Grüße"})) == '[2,"id","DataTransfer",{"data":"Grüße"}]'


def test_each_frame_knows_its_message_type() -> None:
    assert Call.message_type is MessageType.CALL
    assert CallResult.message_type is MessageType.CALLRESULT
    assert CallErrorFrame.message_type is MessageType.CALLERROR
    assert [int(t) for t in MessageType] == [2, 3, 4, 5, 6]


def test_decode_accepts_whitespace_as_sent_by_other_peers() -> None:
    text = '[ 2 , "id" ,\n "Heartbeat" , { } ]'
    assert decode(text) == Call("id", "Heartbeat", {})


@pytest.mark.parametrize(
    "payload",
    [{"x": float("nan")}, {"x": float("inf")}, {"x": object()}, {"x": {1, 2}}],
    ids=["nan", "inf", "object", "set"],
)
def test_encode_of_a_payload_that_is_not_json_is_a_usage_error(payload: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        encode(Call("id", "DataTransfer", payload))


def test_encode_of_a_circular_payload_is_a_usage_error() -> None:
    payload: dict[str, Any] = {}
    payload["self"] = payload
    with pytest.raises(UsageError):
        encode(CallResult("id", payload))


def test_encode_of_something_else_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        encode([2, "id", "Heartbeat", {}])  # type: ignore[arg-type]


def test_decode_of_something_else_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        decode(['[2,"id","Heartbeat",{}]'])  # type: ignore[arg-type]


# --- leniencies --------------------------------------------------------------------------------------------


def test_callerror_without_details_decodes_with_empty_details() -> None:
    assert decode('[4,"id","GenericError","boom"]') == CallErrorFrame("id", "GenericError", "boom", {})


def test_callerror_with_null_details_decodes_with_empty_details() -> None:
    assert decode('[4,"id","GenericError","boom",null]') == CallErrorFrame("id", "GenericError", "boom", {})


def test_callerror_keeps_a_code_ocpp_does_not_define() -> None:
    assert decode('[4,"id","NoSuchCode","x",{}]').error_code == "NoSuchCode"  # type: ignore[union-attr]


def test_ids_longer_than_the_1_6_cap_are_accepted() -> None:
    long_id = "i" * (MAX_ID_LENGTH + 10)
    assert decode(f'[2,"{long_id}","Heartbeat",{{}}]') == Call(long_id, "Heartbeat", {})
    assert MAX_ID_LENGTH == 36


def test_a_valid_surrogate_pair_escape_is_one_character() -> None:
    assert decode(r'[2,"id","DataTransfer",{"data":"\ud83d\ude00"}]') == Call("id", "DataTransfer", {"data": "😀"})


def test_encode_refuses_text_that_utf_8_cannot_carry() -> None:
    """A handler echoing a lone surrogate must not get as far as the socket, where sending it would fail."""
    with pytest.raises(UsageError):
        encode(CallResult("id", {"data": "\ud800"}))
    with pytest.raises(UsageError):
        encode(CallErrorFrame("id", "GenericError", "x\udfff", {}))


def test_an_unknown_message_type_is_described_briefly() -> None:
    """The description goes back to the peer and into the log: a huge element 0 is not repeated whole."""
    with pytest.raises(FrameError) as info:
        decode(json.dumps([["x" * 10_000], "id"]))
    assert info.value.code is PE and len(info.value.description) < 100
    with pytest.raises(FrameError) as info:
        decode(json.dumps(["y" * 10_000, "id"]))
    assert len(info.value.description) < 100


def test_empty_action_is_left_to_the_dispatcher() -> None:
    # Not a framing fault: the dispatcher answers it with NotImplemented like any unknown action.
    assert decode('[2,"id","",{}]') == Call("id", "", {})


# --- classification of malformed input ---------------------------------------------------------------------

# (raw text, expected code, expected unique_id, expected message_type)
MALFORMED: list[tuple[str | bytes, ErrorCode, str | None, MessageType | None]] = [
    # not JSON at all: nothing can be read
    ("", FV, None, None),
    ("not json", FV, None, None),
    ('[2,"id","Heartbeat",{}', FV, None, None),
    ('[2,"id","Heartbeat",{}]]', FV, None, None),
    ("[2,'id','Heartbeat',{}]", FV, None, None),
    ('[2,"id","Heartbeat",{"x":NaN}]', FV, None, None),
    ('[2,"id","Heartbeat",{"x":Infinity}]', FV, None, None),
    ('[2,"id","Heartbeat",{"x":-Infinity}]', FV, None, None),
    (b'[2,"id","Heartbeat",{"x":"\xff"}]', FV, None, None),
    (b'\xef\xbb\xbf[2,"id","Heartbeat",{}]', FV, None, None),  # UTF-8 byte order mark
    ("[" * 100_000 + "]" * 100_000, FV, None, None),
    ('[2,"id","DataTransfer",{"data":' + "9" * 5000 + "}]", FV, None, None),
    # JSON, but not an array
    ("{}", FV, None, None),
    ('{"0":2,"1":"id"}', FV, None, None),
    ('"[2,\\"id\\",\\"Heartbeat\\",{}]"', FV, None, None),
    ("2", FV, None, None),
    ("null", FV, None, None),
    ("[]", FV, None, None),
    # message type not 2/3/4: ProtocolError, answerable when element 1 is a string
    ('[5,"id","Heartbeat",{}]', PE, "id", None),
    ('[1,"id","Heartbeat",{}]', PE, "id", None),
    ('[0,"id"]', PE, "id", None),
    ('[-2,"id","Heartbeat",{}]', PE, "id", None),
    ('["2","id","Heartbeat",{}]', PE, "id", None),
    ('[2.0,"id","Heartbeat",{}]', PE, "id", None),
    ('[true,"id","Heartbeat",{}]', PE, "id", None),
    ('[null,"id","Heartbeat",{}]', PE, "id", None),
    ('[[2],"id","Heartbeat",{}]', PE, "id", None),
    ('[99999999999999999999999,"id"]', PE, "id", None),
    ("[5]", PE, None, None),
    ('[5,7,"Heartbeat",{}]', PE, None, None),
    ('[5,"","Heartbeat",{}]', PE, None, None),
    # the id cannot be read: FormationViolation, unanswerable
    ("[2]", FV, None, MessageType.CALL),
    ('[2,7,"Heartbeat",{}]', FV, None, MessageType.CALL),
    ('[2,null,"Heartbeat",{}]', FV, None, MessageType.CALL),
    ('[2,["id"],"Heartbeat",{}]', FV, None, MessageType.CALL),
    ('[2,"","Heartbeat",{}]', FV, None, MessageType.CALL),
    ("[3]", FV, None, MessageType.CALLRESULT),
    ("[3,1,{}]", FV, None, MessageType.CALLRESULT),
    ('[4,false,"GenericError","",{}]', FV, None, MessageType.CALLERROR),
    # CALL: wrong arity or action type is FormationViolation, payload type is TypeConstraintViolation
    ('[2,"id"]', FV, "id", MessageType.CALL),
    ('[2,"id","Heartbeat"]', FV, "id", MessageType.CALL),
    ('[2,"id","Heartbeat",{},{}]', FV, "id", MessageType.CALL),
    ('[2,"id",7,{}]', FV, "id", MessageType.CALL),
    ('[2,"id",null,{}]', FV, "id", MessageType.CALL),
    ('[2,"id","Heartbeat",[]]', TCV, "id", MessageType.CALL),
    ('[2,"id","Heartbeat",null]', TCV, "id", MessageType.CALL),
    ('[2,"id","Heartbeat","{}"]', TCV, "id", MessageType.CALL),
    ('[2,"id","Heartbeat",1]', TCV, "id", MessageType.CALL),
    # CALLRESULT
    ('[3,"id"]', FV, "id", MessageType.CALLRESULT),
    ('[3,"id",{},{}]', FV, "id", MessageType.CALLRESULT),
    ('[3,"id",[]]', FV, "id", MessageType.CALLRESULT),
    ('[3,"id",null]', FV, "id", MessageType.CALLRESULT),
    # CALLERROR
    ('[4,"id"]', FV, "id", MessageType.CALLERROR),
    ('[4,"id","GenericError"]', FV, "id", MessageType.CALLERROR),
    ('[4,"id","GenericError","boom",{},{}]', FV, "id", MessageType.CALLERROR),
    ('[4,"id",7,"boom",{}]', FV, "id", MessageType.CALLERROR),
    ('[4,"id","GenericError",null,{}]', FV, "id", MessageType.CALLERROR),
    ('[4,"id","GenericError","boom",[]]', FV, "id", MessageType.CALLERROR),
    ('[4,"id","GenericError","boom","details"]', FV, "id", MessageType.CALLERROR),
    # a lone surrogate cannot be sent back as UTF-8: FormationViolation; unanswerable when it is the id
    (r'[2,"\ud800","Heartbeat",{}]', FV, None, MessageType.CALL),
    (r'[2,"id\udfff","Heartbeat",{}]', FV, None, MessageType.CALL),
    (r'[2,"id","Heartbeat",{"x":"\ud800"}]', FV, "id", MessageType.CALL),
    (r'[2,"id","\udc00",{}]', FV, "id", MessageType.CALL),
    (r'[3,"id",{"\ud800":1}]', FV, "id", MessageType.CALLRESULT),
    (r'[4,"id","GenericError","\ud800",{}]', FV, "id", MessageType.CALLERROR),
    (r'[9,"\ud800"]', FV, None, None),
    (r'["\ud800"]', FV, None, None),
    ('[2,"id","Heartbeat",{"x":"\ud800"}]', FV, None, None),  # a raw surrogate in a str is not UTF-8 text
]


@pytest.mark.parametrize(("text", "code", "unique_id", "message_type"), MALFORMED, ids=lambda v: repr(v)[:40])
def test_malformed_frame_is_classified(
    text: str | bytes, code: ErrorCode, unique_id: str | None, message_type: MessageType | None
) -> None:
    with pytest.raises(FrameError) as info:
        decode(text)
    err = info.value
    assert (err.code, err.unique_id, err.message_type) == (code, unique_id, message_type)
    assert isinstance(err, OcppError)
    assert err.remote is False
    assert err.description


@pytest.mark.parametrize(
    ("text", "answerable"),
    [
        ("not json", False),
        ('[2,"","Heartbeat",{}]', False),
        ('[9,"id","Heartbeat",{}]', True),  # unknown type, readable id: answer with ProtocolError
        ('[2,"id","Heartbeat",[]]', True),  # a malformed CALL is answered
        ('[3,"id",[]]', False),  # a malformed reply is never answered: it is the caller side's business
        ('[4,"id",7,"boom",{}]', False),
    ],
)
def test_answerable(text: str, answerable: bool) -> None:
    with pytest.raises(FrameError) as info:
        decode(text)
    assert info.value.answerable is answerable


def test_frame_error_turns_into_the_answer() -> None:
    with pytest.raises(FrameError) as info:
        decode('[2,"abc","Heartbeat",[]]')
    err = info.value
    assert err.unique_id is not None
    answer = call_error_for(err.unique_id, err)
    assert answer == CallErrorFrame("abc", "TypeConstraintViolation", err.description, {})
    assert json.loads(encode(answer))[:3] == [4, "abc", "TypeConstraintViolation"]


# --- call_error_for ----------------------------------------------------------------------------------------


def test_call_error_for_uses_the_error_code_and_details() -> None:
    frame = call_error_for("id", SecurityError("not authorised", {"who": "cp1"}))
    assert frame == CallErrorFrame("id", "SecurityError", "not authorised", {"who": "cp1"})
    assert encode(frame) == '[4,"id","SecurityError","not authorised",{"who":"cp1"}]'


def test_call_error_for_a_peers_unknown_code_answers_generic_error() -> None:
    err = OcppError.from_code("VendorSpecificFailure", "nope")
    assert call_error_for("id", err).error_code == "GenericError"


# --- new_unique_id -----------------------------------------------------------------------------------------


def test_new_unique_id_is_a_random_uuid_within_the_ocpp_j_cap() -> None:
    for _ in range(1000):
        ident = new_unique_id()
        assert type(ident) is str
        assert len(ident) == 36 == MAX_ID_LENGTH
        parsed = uuid.UUID(ident)
        assert str(parsed) == ident and parsed.version == 4


def test_new_unique_ids_are_unique() -> None:
    ids = [new_unique_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)


def test_new_unique_id_round_trips_through_a_frame() -> None:
    ident = new_unique_id()
    assert decode(encode(Call(ident, "Heartbeat", {}))).unique_id == ident


# --- fuzz --------------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=3)
ids = st.text(min_size=1, max_size=40)

# Arrays that look like frames: a plausible (or not) message type, then a few arbitrary elements.
frame_like = st.tuples(
    st.sampled_from([2, 3, 4, 0, 5, True, 2.0, "2", None]) | json_values,
    st.lists(ids | json_values | json_objects, max_size=5),
).map(lambda t: [t[0], *t[1]])


def _decode_or_frame_error(text: str | bytes) -> None:
    try:
        frame = decode(text)
    except FrameError as err:
        assert isinstance(err.code, ErrorCode)
        assert err.unique_id is None or (type(err.unique_id) is str and err.unique_id)
        return
    assert isinstance(frame, Call | CallResult | CallErrorFrame)
    # What decodes re-encodes to an equivalent frame.
    assert decode(encode(frame)) == frame


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_arbitrary_text(text: str) -> None:
    _decode_or_frame_error(text)


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    _decode_or_frame_error(data)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fuzz_arbitrary_json(value: Any) -> None:
    _decode_or_frame_error(json.dumps(value))


@settings(max_examples=300, deadline=None)
@given(frame_like)
def test_fuzz_frame_like_arrays(value: list[Any]) -> None:
    _decode_or_frame_error(json.dumps(value))


frames = st.one_of(
    st.builds(Call, ids, st.text(max_size=20), json_objects),
    st.builds(CallResult, ids, json_objects),
    st.builds(CallErrorFrame, ids, st.text(max_size=20), st.text(max_size=20), json_objects),
)


@settings(max_examples=300, deadline=None)
@given(frames)
def test_fuzz_round_trip(frame: Frame) -> None:
    assert decode(encode(frame)) == frame
