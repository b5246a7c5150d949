"""The error types: codes on the wire, the subclass per code, and the exception hierarchy."""

from __future__ import annotations

import pickle

import pytest

from ocpprpc.errors import (
    ActionNotImplemented,
    ActionNotSupported,
    CallTimeout,
    ConnectionClosed,
    ErrorCode,
    FormationViolation,
    FormatViolation,
    GenericError,
    InternalError,
    MessageTypeNotSupported,
    OccurrenceConstraintViolation,
    OcppError,
    OcppRpcError,
    PropertyConstraintViolation,
    ProtocolError,
    RpcFrameworkError,
    SecurityError,
    TypeConstraintViolation,
    UsageError,
)

# Every OCPP-J code, as spelled on the wire, and the class a handler raises for it.
CODES: list[tuple[str, ErrorCode, type[OcppError]]] = [
    ("NotImplemented", ErrorCode.NOT_IMPLEMENTED, ActionNotImplemented),
    ("NotSupported", ErrorCode.NOT_SUPPORTED, ActionNotSupported),
    ("InternalError", ErrorCode.INTERNAL_ERROR, InternalError),
    ("ProtocolError", ErrorCode.PROTOCOL_ERROR, ProtocolError),
    ("SecurityError", ErrorCode.SECURITY_ERROR, SecurityError),
    ("FormationViolation", ErrorCode.FORMATION_VIOLATION, FormationViolation),
    ("PropertyConstraintViolation", ErrorCode.PROPERTY_CONSTRAINT_VIOLATION, PropertyConstraintViolation),
    ("OccurenceConstraintViolation", ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION, OccurrenceConstraintViolation),
    ("TypeConstraintViolation", ErrorCode.TYPE_CONSTRAINT_VIOLATION, TypeConstraintViolation),
    ("GenericError", ErrorCode.GENERIC_ERROR, GenericError),
    ("RpcFrameworkError", ErrorCode.RPC_FRAMEWORK_ERROR, RpcFrameworkError),
    ("MessageTypeNotSupported", ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED, MessageTypeNotSupported),
]


def test_error_code_lists_exactly_the_ocpp_j_codes() -> None:
    assert [c.value for c in ErrorCode] == [wire for wire, _, _ in CODES]


@pytest.mark.parametrize(("wire", "code", "cls"), CODES, ids=[w for w, _, _ in CODES])
def test_each_subclass_carries_its_code(wire: str, code: ErrorCode, cls: type[OcppError]) -> None:
    err = cls("why", {"k": 1})
    assert err.code is code
    assert err.code == wire
    assert str(err.code) == wire
    assert err.raw_code == wire
    assert (err.description, err.details, err.remote) == ("why", {"k": 1}, False)
    assert isinstance(err, OcppError)
    assert isinstance(err, OcppRpcError)


@pytest.mark.parametrize(("wire", "code", "cls"), CODES, ids=[w for w, _, _ in CODES])
def test_from_code_returns_the_matching_subclass(wire: str, code: ErrorCode, cls: type[OcppError]) -> None:
    err = OcppError.from_code(wire, "peer said no", {"a": [1]})
    assert type(err) is cls
    assert err.code is code
    assert err.raw_code == wire
    assert (err.description, err.details) == ("peer said no", {"a": [1]})
    assert err.remote is True


def test_from_code_accepts_an_error_code_member() -> None:
    err = OcppError.from_code(ErrorCode.SECURITY_ERROR)
    assert type(err) is SecurityError
    assert err.raw_code == "SecurityError"
    assert type(err.raw_code) is str


def test_from_code_can_build_a_local_error() -> None:
    assert OcppError.from_code("InternalError", remote=False).remote is False


@pytest.mark.parametrize("wire", ["VendorSpecific", "", "notimplemented", "formatviolation", "FormatViolations"])
def test_from_code_unknown_codes_become_generic_error_keeping_the_original(wire: str) -> None:
    err = OcppError.from_code(wire, "d", {"x": 1})
    assert type(err) is GenericError
    assert err.code is ErrorCode.GENERIC_ERROR
    assert err.raw_code == wire
    assert (err.description, err.details, err.remote) == ("d", {"x": 1}, True)


def test_from_code_reads_the_correct_spelling_of_occurrence() -> None:
    err = OcppError.from_code("OccurrenceConstraintViolation")
    assert type(err) is OccurrenceConstraintViolation
    assert err.code == "OccurenceConstraintViolation"
    assert err.raw_code == "OccurrenceConstraintViolation"


# The OCPP-J 2.0.1 error codes (OCPP 2.0.1 part 4, 4.3) and the class each is read as.
OCPP_201_CODES: list[tuple[str, type[OcppError]]] = [
    ("FormatViolation", FormationViolation),
    ("GenericError", GenericError),
    ("InternalError", InternalError),
    ("MessageTypeNotSupported", MessageTypeNotSupported),
    ("NotImplemented", ActionNotImplemented),
    ("NotSupported", ActionNotSupported),
    ("OccurrenceConstraintViolation", OccurrenceConstraintViolation),
    ("PropertyConstraintViolation", PropertyConstraintViolation),
    ("ProtocolError", ProtocolError),
    ("RpcFrameworkError", RpcFrameworkError),
    ("SecurityError", SecurityError),
    ("TypeConstraintViolation", TypeConstraintViolation),
]


@pytest.mark.parametrize(("wire", "cls"), OCPP_201_CODES, ids=[w for w, _ in OCPP_201_CODES])
def test_an_ocpp_201_code_is_read_as_its_class_keeping_the_raw_code(wire: str, cls: type[OcppError]) -> None:
    err = OcppError.from_code(wire, "peer said no", {"a": 1})
    assert type(err) is cls
    assert err.code is cls.default_code
    assert err.raw_code == wire
    assert (err.description, err.details, err.remote) == ("peer said no", {"a": 1}, True)
    assert str(err) == f"{wire}: peer said no (from peer)"


def test_every_ocpp_201_code_has_a_16_reading_other_than_generic_error_unless_it_is_generic() -> None:
    for wire, cls in OCPP_201_CODES:
        assert (cls is GenericError) == (wire == "GenericError"), wire


def test_the_two_codes_only_2x_has_are_caught_by_the_1x_class_meaning_the_same() -> None:
    with pytest.raises(FormationViolation):
        raise OcppError.from_code("RpcFrameworkError")
    with pytest.raises(ProtocolError):
        raise OcppError.from_code("MessageTypeNotSupported")


def test_the_2x_name_of_formation_violation_is_the_same_class() -> None:
    assert FormatViolation is FormationViolation
    assert OcppError.from_code("FormatViolation").code is ErrorCode.FORMATION_VIOLATION


def test_a_handler_can_catch_a_peers_error_by_class() -> None:
    with pytest.raises(SecurityError, match="not authorised"):
        raise OcppError.from_code("SecurityError", "not authorised")


def test_details_default_to_an_empty_object_and_are_copied() -> None:
    assert InternalError().details == {}
    assert InternalError("x", None).details == {}
    given = {"a": 1}
    err = InternalError("x", given)
    given["b"] = 2
    assert err.details == {"a": 1}


def test_str_says_code_description_and_origin() -> None:
    assert str(SecurityError("not authorised")) == "SecurityError: not authorised"
    assert str(SecurityError()) == "SecurityError"
    assert str(OcppError.from_code("Odd", "x")) == "Odd: x (from peer)"


def test_plain_ocpp_error_is_generic() -> None:
    assert OcppError("x").code is ErrorCode.GENERIC_ERROR


@pytest.mark.parametrize(
    "err",
    [SecurityError("no", {"a": 1}), OcppError.from_code("Odd", "x", {"b": 2})],
    ids=["local", "remote-unknown"],
)
def test_errors_pickle(err: OcppError) -> None:
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err)
    assert vars(copy) == vars(err)


# --- the other exceptions ----------------------------------------------------------------------------------


def test_hierarchy() -> None:
    assert issubclass(UsageError, OcppRpcError)
    assert issubclass(UsageError, TypeError)
    assert issubclass(CallTimeout, OcppRpcError)
    assert issubclass(CallTimeout, TimeoutError)
    assert issubclass(ConnectionClosed, OcppRpcError)
    for cls in (UsageError, CallTimeout, ConnectionClosed):
        assert not issubclass(cls, OcppError)


def test_call_timeout_says_what_timed_out() -> None:
    err = CallTimeout(action="Heartbeat", unique_id="abc", timeout=30)
    assert (err.action, err.unique_id, err.timeout) == ("Heartbeat", "abc", 30)
    assert str(err) == "no reply to Heartbeat abc within 30 s"
    assert str(CallTimeout("custom")) == "custom"


def test_connection_closed_keeps_the_close_code() -> None:
    err = ConnectionClosed(code=1006, reason="abnormal")
    assert (err.code, err.reason) == (1006, "abnormal")
    assert str(err) == "connection closed"
