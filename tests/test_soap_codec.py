"""The OCPP-S envelope codec: round trips of every message, schema validity, headers, the tolerance rules for
real peers' envelopes, faults both ways, hostile input, and what zeep makes of our envelopes."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError

from ocpprpc._frames import OCPP_J_1
from ocpprpc.errors import (
    ActionNotImplemented,
    ErrorCode,
    FormationViolation,
    GenericError,
    InternalError,
    OccurrenceConstraintViolation,
    OcppError,
    PropertyConstraintViolation,
    ProtocolError,
    SecurityError,
    TypeConstraintViolation,
    UsageError,
)
from ocpprpc.messages import v12, v15, v16
from ocpprpc.messages._base import ActionSpec, OcppModel, OcppVersion, Side
from ocpprpc.messages.examples import example, example_payload
from ocpprpc.transports._soap_codec import (
    DEFAULT_MAX_SIZE,
    FAULT_ACTION,
    FAULT_CONTENT_TYPE,
    SENDER_FAULTS,
    SOAP_NS,
    WSA_NS,
    EnvelopeError,
    IdentityReader,
    SoapMessage,
    content_type,
    decode_message,
    encode_fault,
    encode_request,
    encode_response,
    encode_unchecked_request,
    fault_status,
    message_id_iri,
    require_identity,
    unique_id_of,
)

from .conftest import WSDL_DIR, needs_wsdl

VERSIONS: dict[str, OcppVersion] = {"1.2": v12.VERSION, "1.5": v15.VERSION, "1.6": v16.VERSION}
ALL = list(VERSIONS.values())
CS16 = v16.VERSION.central_system_namespace
CP16 = v16.VERSION.charge_point_namespace
CS15 = v15.VERSION.central_system_namespace

FV = ErrorCode.FORMATION_VIOLATION
NI = ErrorCode.NOT_IMPLEMENTED
PE = ErrorCode.PROTOCOL_ERROR

CASES = [
    pytest.param(
        version, spec, response, optional, id=f"{version.version}-{spec.initiator.value}-{spec.name}-{kind}-{fill}"
    )
    for version in ALL
    for spec in version.actions
    for response, kind in ((False, "req"), (True, "conf"))
    for optional, fill in ((True, "all"), (False, "required"))
]


def _spec(version: OcppVersion, name: str, initiator: Side = Side.CHARGE_POINT) -> ActionSpec:
    return version.initiated_by(initiator)[name]


def _encode(version: OcppVersion, spec: ActionSpec, payload: dict[str, Any], response: bool) -> bytes:
    if response:
        return encode_response(version, spec, payload, charge_box_identity="CP-1", relates_to="urn:uuid:req-1")
    return encode_request(
        version,
        spec,
        payload,
        charge_box_identity="CP-1",
        message_id="urn:uuid:req-1",
        to="http://cs.example/ocpp",
        from_="http://cp.example:8080/",
    )


def _body_element(data: bytes) -> etree._Element:
    root = etree.fromstring(data)
    body = root.find(f"{{{SOAP_NS}}}Body")
    assert body is not None
    return body[0]


def _decode_error(data: bytes, versions: list[OcppVersion] = ALL, **kwargs: Any) -> EnvelopeError:
    with pytest.raises(EnvelopeError) as info:
        decode_message(data, versions, **kwargs)
    return info.value


# --- round trips: every action of every version, both directions ----------------------------------------------


@pytest.mark.parametrize(("version", "spec", "response", "optional"), CASES)
def test_every_message_round_trips(version: OcppVersion, spec: ActionSpec, response: bool, optional: bool) -> None:
    model = spec.response if response else spec.request
    original = example(model, optional=optional)
    payload = original.to_json_dict()
    message = decode_message(_encode(version, spec, payload, response), ALL)
    assert message.version is version
    assert message.spec is spec
    assert message.is_response is response
    assert message.fault is None
    assert message.model is model
    assert message.payload == payload
    assert model.model_validate(message.payload) == original


@functools.cache
def _schemas(version: str) -> dict[str, Any]:
    from codegen.wsdl import read_version

    return {service.namespace: service.schema for service in read_version(WSDL_DIR, version)}


@needs_wsdl
@pytest.mark.parametrize(("version", "spec", "response", "optional"), CASES)
def test_every_body_we_emit_is_valid_against_the_wsdl_schema(
    version: OcppVersion, spec: ActionSpec, response: bool, optional: bool
) -> None:
    model = spec.response if response else spec.request
    element = _body_element(_encode(version, spec, example_payload(model, optional=optional), response))
    assert element.tag == f"{{{spec.namespace}}}{spec.response_element if response else spec.request_element}"
    _schemas(version.version)[spec.namespace].validate(element)


def test_meter_values_with_several_readings_round_trip_in_each_version() -> None:
    stamp = "2013-03-07T16:52:16Z"
    payloads = {
        "1.2": {"connectorId": 1, "values": [{"timestamp": stamp, "value": 0}, {"timestamp": stamp, "value": 20}]},
        "1.5": {
            "connectorId": 2,
            "transactionId": 7,
            "values": [
                {
                    "timestamp": stamp,
                    "values": [
                        {"value": "0", "unit": "Wh", "measurand": "Energy.Active.Import.Register"},
                        {"value": "20"},
                    ],
                },
                {"timestamp": stamp, "values": [{"value": "21", "context": "Sample.Periodic"}]},
            ],
        },
        "1.6": {
            "connectorId": 1,
            "transactionId": 42,
            "meterValue": [
                {
                    "timestamp": stamp,
                    "sampledValue": [
                        {"value": "1234.5", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                        {"value": "16.0", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                        {"value": "230", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
                    ],
                }
            ],
        },
    }
    for name, payload in payloads.items():
        version = VERSIONS[name]
        spec = _spec(version, "MeterValues")
        spec.request.model_validate(payload)
        assert decode_message(_encode(version, spec, payload, False), ALL).payload == payload


def test_data_transfer_goes_both_ways_and_each_direction_has_its_namespace() -> None:
    payload = {"vendorId": "com.example", "messageId": "m", "data": '<not xml> & "quoted" é€'}
    for initiator in Side:
        spec = _spec(v16.VERSION, "DataTransfer", initiator)
        message = decode_message(_encode(v16.VERSION, spec, payload, False), ALL)
        assert message.spec is spec
        assert message.payload == payload
    assert (
        _spec(v16.VERSION, "DataTransfer").namespace
        != _spec(v16.VERSION, "DataTransfer", Side.CENTRAL_SYSTEM).namespace
    )


# --- scalar text, both ways ---------------------------------------------------------------------------------


def test_scalars_are_written_as_xsd_text() -> None:
    spec = _spec(v16.VERSION, "GetConfiguration", Side.CENTRAL_SYSTEM)
    element = _body_element(
        _encode(
            v16.VERSION,
            spec,
            {"configurationKey": [{"key": "A", "readonly": True}, {"key": "B", "readonly": False, "value": "x"}]},
            True,
        )
    )
    assert [e.text for e in element.iter(f"{{{CP16}}}readonly")] == ["true", "false"]

    profile = v16.SetChargingProfileRequest.model_validate(
        example_payload(v16.SetChargingProfileRequest) | {"connectorId": 3}
    ).to_json_dict()
    schedule = profile["csChargingProfiles"]["chargingSchedule"]
    schedule["minChargingRate"] = 1e-05  # float repr would say 1e-05, which is no xs:decimal
    schedule["chargingSchedulePeriod"] = [{"startPeriod": 0, "limit": 16}, {"startPeriod": 60, "limit": 16.5}]
    element = _body_element(
        _encode(v16.VERSION, _spec(v16.VERSION, "SetChargingProfile", Side.CENTRAL_SYSTEM), profile, False)
    )
    assert [e.text for e in element.iter(f"{{{CP16}}}limit")] == ["16", "16.5"]
    assert next(element.iter(f"{{{CP16}}}minChargingRate")).text == "0.00001"
    assert next(element.iter(f"{{{CP16}}}connectorId")).text == "3"


def test_python_values_are_accepted_where_json_values_are_expected() -> None:
    # model_dump() without mode="json" gives datetimes, enums and Decimals: they are written correctly too.
    spec = _spec(v16.VERSION, "BootNotification")
    when = datetime(2026, 11, 24, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    payload = {"status": v16.RegistrationStatus.ACCEPTED, "currentTime": when, "interval": 300}
    element = _body_element(_encode(v16.VERSION, spec, payload, True))
    assert [e.text for e in element] == ["Accepted", "2026-11-24T10:00:00Z", "300"]
    limit = {"startPeriod": 0, "limit": Decimal("12.50")}
    period = _body_element(
        encode_request(
            v16.VERSION,
            _spec(v16.VERSION, "SetChargingProfile", Side.CENTRAL_SYSTEM),
            {
                "connectorId": 1,
                "csChargingProfiles": {
                    "chargingProfileId": 1,
                    "stackLevel": 0,
                    "chargingProfilePurpose": "TxProfile",
                    "chargingProfileKind": "Relative",
                    "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [limit]},
                },
            },
            charge_box_identity="CP-1",
            message_id="m",
            to="http://cp",
        )
    )
    assert next(period.iter(f"{{{CP16}}}limit")).text == "12.50"


def _request_envelope(namespace: str, body: str, header: str = "") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP_NS}" xmlns:a="{WSA_NS}" xmlns:tns="{namespace}">'
        f"<s:Header><tns:chargeBoxIdentity>CP-1</tns:chargeBoxIdentity>{header}</s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("1", True), ("false", False), ("0", False), (" true\n", True), ("yes", "yes"), ("", "")],
)
def test_boolean_text_is_read_as_xsd_boolean(text: str, value: Any) -> None:
    body = (
        "<tns:getConfigurationResponse><tns:configurationKey><tns:key>K</tns:key>"
        f"<tns:readonly>{text}</tns:readonly></tns:configurationKey></tns:getConfigurationResponse>"
    )
    payload = decode_message(_request_envelope(CP16, body), ALL).payload
    assert payload == {"configurationKey": [{"key": "K", "readonly": value}]}


def test_integer_text_is_converted_and_bad_integers_are_left_for_the_model_to_refuse() -> None:
    def connector(text: str) -> Any:
        body = f"<tns:statusNotificationRequest><tns:connectorId>{text}</tns:connectorId>"
        body += (
            "<tns:errorCode>NoError</tns:errorCode><tns:status>Available</tns:status></tns:statusNotificationRequest>"
        )
        return decode_message(_request_envelope(CS16, body), ALL).payload["connectorId"]

    assert connector("7") == 7
    assert connector(" -3 ") == -3
    assert connector("+12") == 12
    for bad in ("one", "1.5", "1_000", "", "٣", "9" * 5000):
        assert connector(bad) == bad
    with pytest.raises(ValidationError) as info:
        v16.StatusNotificationRequest.model_validate(
            {"connectorId": "one", "errorCode": "NoError", "status": "Available"}
        )
    assert info.value.errors()[0]["type"] == "int_type"


def test_decimal_text_becomes_a_json_number() -> None:
    periods = "".join(
        f"<tns:chargingSchedulePeriod><tns:startPeriod>{i}</tns:startPeriod><tns:limit>{limit}</tns:limit>"
        "</tns:chargingSchedulePeriod>"
        for i, limit in enumerate(["16", "16.5", " .5 ", "-2.", "1e3"])
    )
    body = (
        "<tns:getCompositeScheduleResponse><tns:status>Accepted</tns:status><tns:chargingSchedule>"
        f"<tns:chargingRateUnit>A</tns:chargingRateUnit>{periods}</tns:chargingSchedule>"
        "</tns:getCompositeScheduleResponse>"
    )
    payload = decode_message(_request_envelope(CP16, body), ALL).payload
    limits = [p["limit"] for p in payload["chargingSchedule"]["chargingSchedulePeriod"]]
    assert limits == [16, 16.5, 0.5, -2.0, "1e3"]
    assert [type(x) for x in limits[:2]] == [int, float]


def test_unknown_and_repeated_elements_are_left_for_the_model_to_refuse() -> None:
    body = "<tns:authorizeRequest><tns:idTag>A</tns:idTag><tns:colour>red</tns:colour></tns:authorizeRequest>"
    payload = decode_message(_request_envelope(CS16, body), ALL).payload
    assert payload == {"idTag": "A", "colour": "red"}
    with pytest.raises(ValidationError) as info:
        v16.AuthorizeRequest.model_validate(payload)
    assert info.value.errors()[0]["type"] == "extra_forbidden"

    tags = "<tns:idTag>A</tns:idTag><tns:idTag>B</tns:idTag><tns:idTag>C</tns:idTag>"
    body = f"<tns:authorizeRequest>{tags}</tns:authorizeRequest>"
    payload = decode_message(_request_envelope(CS16, body), ALL).payload
    assert payload == {"idTag": ["A", "B", "C"]}
    with pytest.raises(ValidationError):
        v16.AuthorizeRequest.model_validate(payload)


_XML_CHAR = st.characters(blacklist_categories=["Cs"]).filter(
    lambda c: c in "\t\n\r" or (c >= " " and c not in "\ufffe\uffff")
)


@settings(max_examples=200, deadline=None)
@given(text=st.text(_XML_CHAR, max_size=40), attr=st.text(_XML_CHAR, max_size=40))
def test_any_xml_text_survives_elements_and_attributes(text: str, attr: str) -> None:
    spec = _spec(v15.VERSION, "MeterValues")
    reading = {"value": text, "unit": attr}  # 1.5: the reading is element text, the unit an attribute
    payload = {"connectorId": 1, "values": [{"timestamp": "2026-11-24T10:00:00Z", "values": [reading]}]}
    assert decode_message(_encode(v15.VERSION, spec, payload, False), ALL).payload == payload
    # header text is stripped of surrounding whitespace on input
    data = encode_request(
        v16.VERSION,
        _spec(v16.VERSION, "Heartbeat"),
        {},
        charge_box_identity="CP",
        message_id="m",
        to="http://cs",
        from_=text,
    )
    assert decode_message(data, ALL).from_address == (text.strip(" \t\r\n") or None)


@pytest.mark.parametrize(
    ("bad", "cleaned"), [("\x00", ""), ("\x1b", ""), ("\ud800", ""), ("\uffff", ""), ("a\x0bb", "ab")]
)
def test_characters_xml_cannot_carry_are_a_usage_error(bad: str, cleaned: str) -> None:
    spec = _spec(v16.VERSION, "Authorize")
    with pytest.raises(UsageError):
        _encode(v16.VERSION, spec, {"idTag": bad}, False)
    with pytest.raises(UsageError):
        encode_request(v16.VERSION, spec, {"idTag": "A"}, charge_box_identity=bad, message_id="m", to="http://cs")
    # a fault's description may quote the peer's bad input: it is cleaned, never refused
    fault = decode_message(encode_fault(ProtocolError(f"bad {bad}!")), ALL).fault
    assert fault is not None and fault.description == f"bad {cleaned}!"


def test_text_keeps_its_whitespace_and_markup_characters() -> None:
    spec = _spec(v15.VERSION, "DataTransfer")
    payload = {"vendorId": " v ", "data": "a < b && c > d\n\t]]> 'q' \"q\""}
    assert decode_message(_encode(v15.VERSION, spec, payload, False), ALL).payload == payload


# --- headers and content type -----------------------------------------------------------------------------


def test_request_headers() -> None:
    spec = _spec(v16.VERSION, "BootNotification")
    data = encode_request(
        v16.VERSION,
        spec,
        {"chargePointVendor": "V", "chargePointModel": "M"},
        charge_box_identity="CP-1",
        message_id="urn:uuid:5b1e",
        to="http://cs.example/ocpp",
        from_="http://cp.example:8080/",
        reply_to="http://cp.example:8080/replies",
    )
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = etree.fromstring(data)
    assert root.tag == f"{{{SOAP_NS}}}Envelope"
    header = root.find(f"{{{SOAP_NS}}}Header")
    assert header is not None
    headers = {child.tag: child for child in header}
    assert headers[f"{{{CS16}}}chargeBoxIdentity"].text == "CP-1"
    assert headers[f"{{{WSA_NS}}}Action"].text == "/BootNotification"
    assert headers[f"{{{WSA_NS}}}MessageID"].text == "urn:uuid:5b1e"
    assert headers[f"{{{WSA_NS}}}To"].text == "http://cs.example/ocpp"
    assert headers[f"{{{WSA_NS}}}From"].findtext(f"{{{WSA_NS}}}Address") == "http://cp.example:8080/"
    assert headers[f"{{{WSA_NS}}}ReplyTo"].findtext(f"{{{WSA_NS}}}Address") == "http://cp.example:8080/replies"
    assert f"{{{WSA_NS}}}RelatesTo" not in headers
    assert {el.nsmap.get(el.prefix) for el in root.iter()} == {SOAP_NS, WSA_NS, CS16}

    message = decode_message(data, ALL)
    assert (message.charge_box_identity, message.message_id, message.action, message.to) == (
        "CP-1",
        "urn:uuid:5b1e",
        "/BootNotification",
        "http://cs.example/ocpp",
    )
    assert (message.from_address, message.reply_to_address, message.relates_to) == (
        "http://cp.example:8080/",
        "http://cp.example:8080/replies",
        None,
    )
    assert require_identity(message) == "CP-1"
    assert "BootNotification request" in repr(message) and "CP-1" in repr(message)


def test_request_without_optional_headers() -> None:
    spec = _spec(v16.VERSION, "Heartbeat")
    data = encode_request(v16.VERSION, spec, {}, charge_box_identity="CP-1", message_id="m1", to="http://cs")
    header = etree.fromstring(data).find(f"{{{SOAP_NS}}}Header")
    assert header is not None
    assert [child.tag for child in header] == [
        f"{{{CS16}}}chargeBoxIdentity",
        f"{{{WSA_NS}}}Action",
        f"{{{WSA_NS}}}MessageID",
        f"{{{WSA_NS}}}To",
    ]
    message = decode_message(data, ALL)
    assert message.payload == {}
    assert message.from_address is None and message.reply_to_address is None


def test_response_headers() -> None:
    spec = _spec(v16.VERSION, "Reset", Side.CENTRAL_SYSTEM)
    data = encode_response(
        v16.VERSION, spec, {"status": "Accepted"}, charge_box_identity="CP-1", relates_to="urn:uuid:9", to="http://cs"
    )
    header = etree.fromstring(data).find(f"{{{SOAP_NS}}}Header")
    assert header is not None
    headers = {child.tag: child.text for child in header}
    assert headers == {
        f"{{{CP16}}}chargeBoxIdentity": "CP-1",
        f"{{{WSA_NS}}}Action": "/ResetResponse",
        f"{{{WSA_NS}}}RelatesTo": "urn:uuid:9",
        f"{{{WSA_NS}}}To": "http://cs",
    }
    message = decode_message(data, ALL)
    assert message.is_response and message.relates_to == "urn:uuid:9" and message.message_id is None
    assert message.payload == {"status": "Accepted"}

    bare = encode_response(v16.VERSION, spec, {"status": "Rejected"}, charge_box_identity=None, relates_to=None)
    header = etree.fromstring(bare).find(f"{{{SOAP_NS}}}Header")
    assert header is not None
    assert [(child.tag, child.text) for child in header] == [(f"{{{WSA_NS}}}Action", "/ResetResponse")]


def test_content_type() -> None:
    assert content_type("BootNotification") == 'application/soap+xml; charset=utf-8; action="/BootNotification"'
    assert (
        content_type("Heartbeat", response=True) == 'application/soap+xml; charset=utf-8; action="/HeartbeatResponse"'
    )
    assert FAULT_CONTENT_TYPE == (
        'application/soap+xml; charset=utf-8; action="http://www.w3.org/2005/08/addressing/soap/fault"'
    )


def test_one_url_serves_several_versions_and_the_body_namespace_picks_the_version() -> None:
    for version in ALL:
        spec = _spec(version, "Authorize")
        message = decode_message(_encode(version, spec, {"idTag": "TAG"}, False), ALL)
        assert message.version is version and message.spec is spec
    only16 = _decode_error(_encode(v15.VERSION, _spec(v15.VERSION, "Authorize"), {"idTag": "T"}, False), [v16.VERSION])
    assert only16.code is NI


def test_missing_identity_is_for_the_caller_to_refuse() -> None:
    data = (
        f'<s:Envelope xmlns:s="{SOAP_NS}"><s:Body><heartbeatRequest xmlns="{CS16}"/></s:Body></s:Envelope>'
    ).encode()
    message = decode_message(data, ALL)
    assert message.charge_box_identity is None and message.payload == {}
    with pytest.raises(EnvelopeError) as info:
        require_identity(message)
    assert info.value.code is PE
    assert info.value.namespace == CS16


# --- tolerance: envelopes real peers send ---------------------------------------------------------------------

OCPPJS_METER_VALUES = b"""<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:wsa="http://www.w3.org/2005/08/addressing" xmlns:tns="urn://Ocpp/Cs/2012/06/">
  <soap:Header>
    <tns:chargeBoxIdentity soap:mustUnderstand="true">boxid</tns:chargeBoxIdentity>
    <wsa:Action soap:mustUnderstand="true">/MeterValues</wsa:Action>
    <wsa:To soap:mustUnderstand="true">http://localhost:9000/</wsa:To>
  </soap:Header>
  <soap:Body>
    <tns:meterValuesRequest>
      <tns:connectorId>2</tns:connectorId>
      <tns:transactionId>1</tns:transactionId>
      <tns:values>
        <tns:timestamp>2013-03-07T16:52:16Z</tns:timestamp>
        <tns:value tns:unit="Wh" tns:measurand="Energy.Active.Import.Register">0</tns:value>
        <tns:value tns:unit="Wh" tns:context="Sample.Periodic">20</tns:value>
      </tns:values>
    </tns:meterValuesRequest>
  </soap:Body>
</soap:Envelope>
"""


def test_ocppjs_meter_values_in_soap_11_with_qualified_attributes() -> None:
    message = decode_message(OCPPJS_METER_VALUES, ALL)
    assert message.version is v15.VERSION and message.spec is _spec(v15.VERSION, "MeterValues")
    assert message.charge_box_identity == "boxid"
    assert message.message_id is None and message.from_address is None
    assert message.payload == {
        "connectorId": 2,
        "transactionId": 1,
        "values": [
            {
                "timestamp": "2013-03-07T16:52:16Z",
                "values": [
                    {"value": "0", "unit": "Wh", "measurand": "Energy.Active.Import.Register"},
                    {"value": "20", "unit": "Wh", "context": "Sample.Periodic"},
                ],
            }
        ],
    }
    v15.MeterValuesRequest.model_validate(message.payload)


OCPPJS_BOOT_REPLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn://Ocpp/Cs/2012/06/">
  <soap:Header>
    <tns:chargeBoxIdentity SOAP-ENV:mustUnderstand="true">boxid</tns:chargeBoxIdentity>
    <Action xmlns="http://www.w3.org/2005/08/addressing"
        SOAP-ENV:mustUnderstand="true">/BootNotificationResponse</Action>
    <RelatesTo xmlns="http://www.w3.org/2005/08/addressing">urn:uuid:abc</RelatesTo>
  </soap:Header>
  <soap:Body>
    <tns:bootNotificationResponse>
      <tns:status>Accepted</tns:status>
      <tns:currentTime>2013-02-01T20:53:32.486Z</tns:currentTime>
      <tns:heartbeatInterval>300</tns:heartbeatInterval>
    </tns:bootNotificationResponse>
  </soap:Body>
</soap:Envelope>
"""


def test_reply_with_attributes_on_an_undeclared_prefix_is_read_in_recover_mode() -> None:
    with pytest.raises(etree.XMLSyntaxError):  # what a strict parser says about it
        etree.fromstring(OCPPJS_BOOT_REPLY)
    message = decode_message(OCPPJS_BOOT_REPLY, ALL)
    assert message.is_response and message.spec is _spec(v15.VERSION, "BootNotification")
    assert (message.charge_box_identity, message.relates_to, message.action) == (
        "boxid",
        "urn:uuid:abc",
        "/BootNotificationResponse",
    )
    assert message.payload == {
        "status": "Accepted",
        "currentTime": "2013-02-01T20:53:32.486Z",
        "heartbeatInterval": 300,
    }
    v15.BootNotificationResponse.model_validate(message.payload)


OCPPJS_FAULT = b"""<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn://Ocpp/Cs/2012/06/"
    xmlns:wsa5="http://www.w3.org/2005/08/addressing">
  <soap:Header>
    <tns:chargeBoxIdentity soap:mustUnderstand='true'>boxid</tns:chargeBoxIdentity>
    <wsa5:Action soap:mustUnderstand='true'>/AuthorizeResponse</wsa5:Action>
  </soap:Header>
  <soap:Body>
    <SOAP-ENV:Body>
      <SOAP-ENV:Fault>
        <SOAP-ENV:Code>
          <SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>
          <SOAP-ENV:Subcode><SOAP-ENV:Value>PropertyConstraintViolation</SOAP-ENV:Value></SOAP-ENV:Subcode>
        </SOAP-ENV:Code>
        <SOAP-ENV:Reason>
          <SOAP-ENV:Text xml:lang="en">Payload is syntactically correct but at least one field contains an invalid
            value</SOAP-ENV:Text>
        </SOAP-ENV:Reason>
      </SOAP-ENV:Fault>
    </SOAP-ENV:Body>
  </soap:Body>
</soap:Envelope>
"""
"""A Fault as ocppjs writes it: the SOAP 1.1 envelope namespace, an undeclared ``SOAP-ENV`` prefix, and
a Body inside the Body."""


def test_an_ocppjs_fault_is_read_as_its_subcode() -> None:
    message = decode_message(OCPPJS_FAULT, ALL)
    assert message.is_response and message.spec is None
    assert type(message.fault) is PropertyConstraintViolation and message.fault.remote
    assert message.fault.description.startswith("Payload is syntactically correct")
    assert message.charge_box_identity == "boxid"
    sender_only = OCPPJS_FAULT.replace(
        b"<SOAP-ENV:Subcode><SOAP-ENV:Value>PropertyConstraintViolation</SOAP-ENV:Value></SOAP-ENV:Subcode>", b""
    )
    assert type(decode_message(sender_only, ALL).fault) is ProtocolError  # the Code alone: the sender's fault
    two = OCPPJS_FAULT.replace(b"</SOAP-ENV:Fault>", b"</SOAP-ENV:Fault><SOAP-ENV:Fault/>")
    assert _decode_error(two).code is FV
    empty = OCPPJS_FAULT.replace(b"<SOAP-ENV:Body>", b"<SOAP-ENV:Body><!--").replace(
        b"</SOAP-ENV:Body>", b"--></SOAP-ENV:Body>"
    )
    assert _decode_error(empty).code is FV


def test_message_ids_are_urn_uuid_iris_whose_unique_id_reads_back() -> None:
    ident = "0b5c7a9e-3f41-4d2b-9c55-2f1e8d7a6b30"
    assert message_id_iri(ident) == "urn:uuid:" + ident
    assert unique_id_of(message_id_iri(ident)) == ident
    assert unique_id_of("URN:UUID:" + ident) == ident
    assert message_id_iri("uuid:x-y") == "uuid:x-y"  # already an IRI: as is
    assert unique_id_of("uuid:x-y") == "uuid:x-y" and unique_id_of(None) is None
    body = encode_request(
        v16.VERSION,
        _spec(v16.VERSION, "Heartbeat"),
        {},
        charge_box_identity="CP1",
        message_id=message_id_iri(ident),
        to="http://cs/",
    )
    assert decode_message(body, ALL).message_id == "urn:uuid:" + ident


def test_an_unchecked_request_is_written_typed_when_it_fits_and_plainly_otherwise() -> None:
    common: dict[str, Any] = {"charge_box_identity": "CP1", "message_id": "urn:uuid:1", "to": "http://cs/"}
    typed = encode_unchecked_request(v16.VERSION, Side.CHARGE_POINT, "Authorize", {"idTag": "A"}, **common)
    assert typed == encode_request(v16.VERSION, _spec(v16.VERSION, "Authorize"), {"idTag": "A"}, **common)
    plain = encode_unchecked_request(
        v16.VERSION, Side.CHARGE_POINT, "FooBar", {"a": [1, 2], "b": {"c": True}, "d": None}, **common
    )
    root = etree.fromstring(plain)
    body = root.find(f"{{{SOAP_NS}}}Body")
    assert body is not None
    (element,) = body
    assert element.tag == "{urn://Ocpp/Cs/2015/10/}fooBarRequest"
    assert [(etree.QName(child).localname, child.text) for child in element] == [
        ("a", "1"),
        ("a", "2"),
        ("b", None),
        ("d", None),
    ]
    assert element[2][0].text == "true"
    wrong_type = encode_unchecked_request(v16.VERSION, Side.CHARGE_POINT, "Authorize", {"idTag": 5}, **common)
    assert b"<tns:idTag>5</tns:idTag>" in wrong_type  # the typed writer refuses an int: written plainly
    with pytest.raises(UsageError):
        encode_unchecked_request(v16.VERSION, Side.CHARGE_POINT, "FooBar", {"not a name": 1}, **common)


def test_recover_mode_is_only_for_namespace_errors() -> None:
    broken = OCPPJS_BOOT_REPLY.replace(b"</tns:status>", b"</tns:statu>")
    assert _decode_error(broken).code is FV


def test_soap_12_headers_marked_must_understand_and_unknown_headers_are_accepted() -> None:
    data = f"""<env:Envelope xmlns:env="{SOAP_NS}">
      <env:Header>
        <cs:chargeBoxIdentity xmlns:cs="{CS16}" env:mustUnderstand="true"> CP-7 </cs:chargeBoxIdentity>
        <wsa:Action xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing"
            env:mustUnderstand="1">/Heartbeat</wsa:Action>
        <wsa:MessageID xmlns:wsa="{WSA_NS}">urn:uuid:1</wsa:MessageID>
        <sec:Security xmlns:sec="urn:example:security" env:mustUnderstand="true"><sec:Token>x</sec:Token></sec:Security>
        <wsa:From xmlns:wsa="{WSA_NS}"><wsa:Address> http://cp7.example/ </wsa:Address></wsa:From>
      </env:Header>
      <env:Body><cs:heartbeatRequest xmlns:cs="{CS16}"/></env:Body>
    </env:Envelope>""".encode()
    message = decode_message(data, ALL)
    assert message.spec is _spec(v16.VERSION, "Heartbeat")
    assert (message.charge_box_identity, message.action, message.message_id, message.from_address) == (
        "CP-7",
        "/Heartbeat",
        "urn:uuid:1",
        "http://cp7.example/",
    )


def test_unqualified_children_are_read_by_local_name() -> None:
    body = f'<cs:authorizeRequest xmlns:cs="{CS16}"><idTag>ABC</idTag></cs:authorizeRequest>'
    data = f'<s:Envelope xmlns:s="{SOAP_NS}"><s:Body>{body}</s:Body></s:Envelope>'.encode()
    assert decode_message(data, ALL).payload == {"idTag": "ABC"}


@pytest.mark.parametrize(
    "action", ["/Authorize", "Authorize", "urn://Ocpp/Cs/2015/10/Authorize", "/AuthorizeResponse", " /Authorize "]
)
def test_action_header_is_cross_checked_leniently(action: str) -> None:
    body = "<tns:authorizeRequest><tns:idTag>A</tns:idTag></tns:authorizeRequest>"
    data = _request_envelope(CS16, body, f"<a:Action>{action}</a:Action><a:MessageID>m-1</a:MessageID>")
    assert decode_message(data, ALL).spec is _spec(v16.VERSION, "Authorize")


def test_action_header_contradicting_the_body_is_a_protocol_error() -> None:
    body = "<tns:authorizeRequest><tns:idTag>A</tns:idTag></tns:authorizeRequest>"
    data = _request_envelope(CS16, body, "<a:Action>/Heartbeat</a:Action><a:MessageID>m-1</a:MessageID>")
    error = _decode_error(data)
    assert error.code is PE
    assert (error.message_id, error.charge_box_identity, error.namespace) == ("m-1", "CP-1", CS16)
    assert error.spec is _spec(v16.VERSION, "Authorize")


def test_two_different_identities_are_refused() -> None:
    data = _request_envelope(CS16, "<tns:heartbeatRequest/>", "<tns:chargeBoxIdentity>CP-2</tns:chargeBoxIdentity>")
    assert _decode_error(data).code is PE
    same = _request_envelope(CS16, "<tns:heartbeatRequest/>", "<tns:chargeBoxIdentity>CP-1</tns:chargeBoxIdentity>")
    assert decode_message(same, ALL).charge_box_identity == "CP-1"


def test_bytes_like_input_and_other_encodings() -> None:
    spec = _spec(v16.VERSION, "Authorize")
    data = _encode(v16.VERSION, spec, {"idTag": "é"}, False)
    assert decode_message(bytearray(data), ALL).payload == {"idTag": "é"}
    assert decode_message(memoryview(data), ALL).payload == {"idTag": "é"}
    latin = data.replace(b'encoding="utf-8"', b'encoding="iso-8859-1"').replace("é".encode(), "é".encode("latin-1"))
    assert decode_message(latin, ALL).payload == {"idTag": "é"}
    utf16 = data.decode().replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    assert decode_message(utf16, ALL).payload == {"idTag": "é"}


# --- faults ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", list(ErrorCode))
@pytest.mark.parametrize("namespace", [CS16, None], ids=["qualified", "unqualified"])
def test_every_error_code_survives_a_fault_round_trip(code: ErrorCode, namespace: str | None) -> None:
    error = OcppError.from_code(code.value, f"why {code.value} happened", remote=False)
    wire = OCPP_J_1.spell(code)  # OCPP-S is 1.x: a 2.x-only code goes out as the 1.x code meaning the same
    arrives = ErrorCode(wire)
    data = encode_fault(error, relates_to="urn:uuid:req", namespace=namespace, charge_box_identity="CP-1")
    root = etree.fromstring(data)
    fault = root.find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault")
    assert fault is not None
    side = "Sender" if code in SENDER_FAULTS else "Receiver"
    assert fault.findtext(f"{{{SOAP_NS}}}Code/{{{SOAP_NS}}}Value") == f"s:{side}"
    subcode = fault.find(f"{{{SOAP_NS}}}Code/{{{SOAP_NS}}}Subcode/{{{SOAP_NS}}}Value")
    assert subcode is not None and subcode.text is not None
    prefix, _, local = subcode.text.rpartition(":")
    assert local == wire
    assert subcode.nsmap.get(prefix or None) == namespace  # a QName: its prefix resolves to the namespace
    text = fault.find(f"{{{SOAP_NS}}}Reason/{{{SOAP_NS}}}Text")
    assert text is not None and text.text == f"why {code.value} happened"
    assert text.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert fault_status(error) == (400 if side == "Sender" else 500)

    message = decode_message(data, ALL)
    assert message.fault is not None
    assert isinstance(error, type(message.fault))
    assert message.fault.code is arrives
    assert message.fault.description == f"why {code.value} happened"
    assert message.fault.remote is True
    assert message.is_response and message.spec is None and message.version is None and message.payload == {}
    assert message.relates_to == "urn:uuid:req"
    assert message.action == FAULT_ACTION
    assert message.charge_box_identity == ("CP-1" if namespace else None)
    assert "fault" in repr(message)


def test_2x_only_codes_go_out_as_their_1x_equivalents() -> None:
    for code, wire in (
        (ErrorCode.RPC_FRAMEWORK_ERROR, "FormationViolation"),
        (ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED, "ProtocolError"),
    ):
        data = encode_fault(OcppError.from_code(code.value, "x", remote=False), relates_to="urn:uuid:r", namespace=CS16)
        assert f"tns:{wire}</s:Value>".encode() in data


def test_receiver_and_sender_codes() -> None:
    assert {code for code in ErrorCode if code not in SENDER_FAULTS} == {
        ErrorCode.INTERNAL_ERROR,
        ErrorCode.NOT_SUPPORTED,
        ErrorCode.GENERIC_ERROR,
    }


def test_a_peers_unknown_code_goes_out_as_generic_error() -> None:
    error = OcppError.from_code("VendorSpecificTrouble", "hm")
    fault = decode_message(encode_fault(error, namespace=CS16), ALL).fault
    assert isinstance(fault, GenericError) and fault.raw_code == "GenericError"


def test_empty_description_still_gives_a_reason_text() -> None:
    fault = decode_message(encode_fault(SecurityError()), ALL).fault
    assert isinstance(fault, SecurityError) and fault.description == "SecurityError"


def _fault12(code: str, subcodes: list[str] = [], reason: str = "went wrong") -> bytes:  # noqa: B006
    nested = ""
    for sub in reversed(subcodes):
        nested = f"<e:Subcode><e:Value>{sub}</e:Value>{nested}</e:Subcode>"
    return (
        f'<e:Envelope xmlns:e="{SOAP_NS}" xmlns:wsa="{WSA_NS}" xmlns:x="urn:example:app">'
        f"<e:Header><wsa:RelatesTo>urn:uuid:r</wsa:RelatesTo></e:Header><e:Body><e:Fault>"
        f"<e:Code><e:Value>{code}</e:Value>{nested}</e:Code>"
        f'<e:Reason><e:Text xml:lang="en">{reason}</e:Text><e:Text xml:lang="de">schief</e:Text></e:Reason>'
        f"<e:Detail><x:trace>...</x:trace></e:Detail>"
        f"</e:Fault></e:Body></e:Envelope>"
    ).encode()


def _fault11(code: str, reason: str = "went wrong") -> bytes:
    return (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
        f"<faultcode>{code}</faultcode><faultstring>{reason}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


@pytest.mark.parametrize(
    ("data", "cls", "raw_code"),
    [
        (_fault12("e:Sender"), ProtocolError, "ProtocolError"),
        (_fault12("e:Receiver"), InternalError, "InternalError"),
        (_fault12("e:MustUnderstand"), ProtocolError, "ProtocolError"),
        (_fault12("e:VersionMismatch"), FormationViolation, "FormationViolation"),
        (_fault12("e:DataEncodingUnknown"), FormationViolation, "FormationViolation"),
        (_fault12("x:Strange"), GenericError, "GenericError"),
        (_fault12("e:Sender", ["x:NotAnOcppCode"]), ProtocolError, "ProtocolError"),
        (_fault12("e:Sender", ["x:Outer", "x:TypeConstraintViolation"]), TypeConstraintViolation, None),
        (_fault12("e:Sender", ["x:OccurrenceConstraintViolation"]), OccurrenceConstraintViolation, None),
        (_fault12("e:Sender", ["wsa:ActionNotSupported"]), ActionNotImplemented, "NotImplemented"),
        (_fault12("e:Sender", ["wsa:MessageAddressingHeaderRequired"]), ProtocolError, "ProtocolError"),
        (_fault12("e:Receiver", ["wsa:EndpointUnavailable"]), InternalError, "InternalError"),
        (_fault12("e:Receiver", [" SecurityError "]), SecurityError, None),
        (_fault11("soap:Client"), ProtocolError, "ProtocolError"),
        (_fault11("soap:Server"), InternalError, "InternalError"),
        (_fault11("soap:Client.TypeConstraintViolation"), TypeConstraintViolation, None),
        (_fault11("Server.Boom"), InternalError, "InternalError"),
    ],
)
def test_faults_from_other_stacks(data: bytes, cls: type[OcppError], raw_code: str | None) -> None:
    message = decode_message(data, ALL)
    fault = message.fault
    assert fault is not None and type(fault) is cls
    assert fault.description == "went wrong"
    assert fault.remote
    if raw_code is not None:
        assert fault.raw_code == raw_code
    assert message.relates_to == ("urn:uuid:r" if b"RelatesTo" in data else None)


def test_occurrence_spelled_correctly_keeps_the_peers_spelling() -> None:
    fault = decode_message(_fault12("e:Sender", ["OccurrenceConstraintViolation"]), ALL).fault
    assert fault is not None
    assert fault.code is ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION
    assert fault.raw_code == "OccurrenceConstraintViolation"


def test_envelope_errors_answer_with_what_could_be_read() -> None:
    body = "<tns:noSuchRequest/>"
    data = _request_envelope(CS16, body, "<a:MessageID>urn:uuid:q</a:MessageID>")
    error = _decode_error(data)
    assert error.code is NI
    assert (error.message_id, error.charge_box_identity, error.namespace, error.version) == (
        "urn:uuid:q",
        "CP-1",
        CS16,
        v16.VERSION,
    )
    fault = etree.fromstring(encode_fault(error))
    assert fault.findtext(f".//{{{WSA_NS}}}RelatesTo") == "urn:uuid:q"
    assert fault.findtext(f".//{{{CS16}}}chargeBoxIdentity") == "CP-1"
    assert fault.findtext(f".//{{{SOAP_NS}}}Subcode/{{{SOAP_NS}}}Value") == "tns:NotImplemented"
    # explicit arguments win over what the error read
    fault = etree.fromstring(encode_fault(error, relates_to="other", namespace=CS15))
    assert fault.findtext(f".//{{{WSA_NS}}}RelatesTo") == "other"
    assert fault.findtext(f".//{{{CS15}}}chargeBoxIdentity") == "CP-1"


# --- hostile and malformed input ---------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>
<authorizeRequest xmlns="urn://Ocpp/Cs/2015/10/"><idTag>&lol9;</idTag></authorizeRequest>
</s:Body></s:Envelope>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>
<authorizeRequest xmlns="urn://Ocpp/Cs/2015/10/"><idTag>&x;</idTag></authorizeRequest>
</s:Body></s:Envelope>"""

_ENV = f'<s:Envelope xmlns:s="{SOAP_NS}">{{}}</s:Envelope>'


@pytest.mark.parametrize(
    ("data", "code"),
    [
        pytest.param(b"", FV, id="empty"),
        pytest.param(b"not xml at all", FV, id="not-xml"),
        pytest.param(b'{"json": true}', FV, id="json"),
        pytest.param(b"<s:Envelope xmlns:s='" + SOAP_NS.encode() + b"'><s:Body>", FV, id="truncated"),
        pytest.param(b"\xff\xfe\x00<", FV, id="binary"),
        pytest.param(BILLION_LAUGHS, FV, id="billion-laughs"),
        pytest.param(EXTERNAL_ENTITY, FV, id="external-entity"),
        pytest.param(
            BILLION_LAUGHS.decode().replace('"?>', '" encoding="utf-16"?>').encode("utf-16"), FV, id="utf16-doctype"
        ),
        pytest.param(
            BILLION_LAUGHS.replace(b'"1.0"?>', b'"1.0" encoding="utf-7"?>').replace(b"<!DOCTYPE", b"+ADw-!DOCTYPE"),
            FV,
            id="utf7-doctype",
        ),
        pytest.param(b"<Envelope><Body/></Envelope>", FV, id="no-soap-namespace"),
        pytest.param(f'<s:Body xmlns:s="{SOAP_NS}"/>'.encode(), FV, id="not-an-envelope"),
        pytest.param(_ENV.format("<s:Header/>").encode(), FV, id="no-body"),
        pytest.param(_ENV.format("<s:Body/>").encode(), FV, id="empty-body"),
        pytest.param(_ENV.format("<s:Body>  text only  </s:Body>").encode(), FV, id="text-body"),
        pytest.param(
            _ENV.format(
                f'<s:Body><heartbeatRequest xmlns="{CS16}"/><heartbeatRequest xmlns="{CS16}"/></s:Body>'
            ).encode(),
            FV,
            id="two-body-elements",
        ),
        pytest.param(
            _ENV.format('<s:Body><heartbeatRequest xmlns="urn://Ocpp/Cs/2099/01/"/></s:Body>').encode(),
            NI,
            id="wrong-namespace",
        ),
        pytest.param(_ENV.format("<s:Body><heartbeatRequest/></s:Body>").encode(), NI, id="no-namespace"),
        pytest.param(
            _ENV.format(f'<s:Body><rebootRequest xmlns="{CS16}"/></s:Body>').encode(), NI, id="unknown-element"
        ),
        pytest.param(
            _ENV.format(f'<s:Body><resetRequest xmlns="{CS16}"/></s:Body>').encode(),
            NI,
            id="operation-of-the-other-service",
        ),
    ],
)
def test_malformed_input_is_refused_with_its_error_code(data: bytes, code: ErrorCode) -> None:
    error = _decode_error(data)
    assert error.code is code
    assert isinstance(error, OcppError) and not error.remote
    assert decode_message(encode_fault(error), ALL).fault.code is code  # type: ignore[union-attr]


def test_oversize_input_is_refused_before_parsing() -> None:
    spec = _spec(v16.VERSION, "DataTransfer")
    data = _encode(v16.VERSION, spec, {"vendorId": "v", "data": "x" * 2000}, False)
    assert decode_message(data, ALL, max_size=len(data)).payload["data"] == "x" * 2000
    assert _decode_error(data, max_size=len(data) - 1).code is FV
    assert _decode_error(b"<" * (DEFAULT_MAX_SIZE + 1)).code is FV


def test_deep_nesting_is_refused_by_the_parser() -> None:
    deep = b"<a>" * 5000 + b"</a>" * 5000
    data = _ENV.format(f"<s:Body>{deep.decode()}</s:Body>").encode()
    assert _decode_error(data).code is FV


def test_non_bytes_input_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        decode_message("<s:Envelope/>", ALL)  # type: ignore[arg-type]


FUZZ_SEED = _encode(
    v16.VERSION,
    _spec(v16.VERSION, "MeterValues"),
    example_payload(v16.MeterValuesRequest),
    False,
)


def _spliced(cut: int, insert: bytes, at: int) -> bytes:
    return FUZZ_SEED[:at] + insert + FUZZ_SEED[at + cut :]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.builds(
            _spliced,
            st.integers(0, 40),
            st.binary(max_size=20)
            | st.sampled_from([b"<", b">", b"&", b"</x>", b"<!DOCTYPE x>", b"xmlns:q='u'", b"q:"]),
            st.integers(0, len(FUZZ_SEED)),
        ),
        st.text(max_size=200).map(lambda t: _ENV.format(t).encode()),
    )
)
def test_fuzz_only_envelope_errors_escape(data: bytes) -> None:
    try:
        message = decode_message(data, ALL)
    except EnvelopeError as exc:
        assert isinstance(exc.code, ErrorCode)
        encode_fault(exc)
    else:
        assert isinstance(message, SoapMessage)


# --- misuse on the encoding side --------------------------------------------------------------------------------


def test_encoding_misuse_is_a_usage_error() -> None:
    boot = _spec(v16.VERSION, "BootNotification")
    with pytest.raises(UsageError):
        _encode(v15.VERSION, boot, {"chargePointVendor": "V", "chargePointModel": "M"}, False)
    for bad in (
        {"chargePointVendor": 5, "chargePointModel": "M"},
        {"chargePointVendor": "nul\x00", "chargePointModel": "M"},
    ):
        with pytest.raises(UsageError):
            _encode(v16.VERSION, boot, bad, False)
    with pytest.raises(UsageError):
        _encode(v16.VERSION, boot, ["not", "a", "mapping"], False)  # type: ignore[arg-type]
    meter = _spec(v16.VERSION, "MeterValues")
    bad_payloads: list[dict[str, Any]] = [
        {"connectorId": True},
        {"connectorId": "1"},
        {"connectorId": 1, "meterValue": {"timestamp": "t"}},
        {"connectorId": 1, "meterValue": ["not a mapping"]},
        {"connectorId": 1, "meterValue": [{"timestamp": datetime(2026, 1, 1), "sampledValue": []}]},
    ]
    for bad_payload in bad_payloads:
        with pytest.raises(UsageError):
            _encode(v16.VERSION, meter, bad_payload, False)
    rate = _spec(v16.VERSION, "SetChargingProfile", Side.CENTRAL_SYSTEM)
    for limit in (float("nan"), Decimal("Infinity"), "sixteen", False):
        payload = example_payload(v16.SetChargingProfileRequest)
        payload["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = limit
        with pytest.raises(UsageError):
            _encode(v16.VERSION, rate, payload, False)
    gc = _spec(v16.VERSION, "GetConfiguration", Side.CENTRAL_SYSTEM)
    with pytest.raises(UsageError):
        _encode(v16.VERSION, gc, {"configurationKey": [{"key": "K", "readonly": "true"}]}, True)


def test_fields_the_model_does_not_define_are_not_written() -> None:
    spec = _spec(v16.VERSION, "Authorize")
    element = _body_element(_encode(v16.VERSION, spec, {"idTag": "A", "extra": "dropped"}, False))
    assert [child.tag for child in element] == [f"{{{CS16}}}idTag"]


# --- zeep reads what we write ---------------------------------------------------------------------------------


@functools.cache
def _zeep_binding(version: str, service: str) -> Any:
    zeep = pytest.importorskip("zeep")
    path = next(p for p in (WSDL_DIR / version).glob("*.wsdl") if service.lower() in p.name.lower())
    return zeep.Client(str(path)).service._binding


ZEEP_CASES = [
    (v12.VERSION, "centralsystem", "BootNotification"),
    (v15.VERSION, "centralsystem", "MeterValues"),
    (v16.VERSION, "centralsystem", "MeterValues"),
    (v16.VERSION, "chargepoint", "SetChargingProfile"),
]


@needs_wsdl
@pytest.mark.parametrize(("version", "service", "name"), ZEEP_CASES, ids=[f"{v.version}-{n}" for v, _, n in ZEEP_CASES])
def test_zeep_reads_our_request_and_response(version: OcppVersion, service: str, name: str) -> None:
    initiator = Side.CHARGE_POINT if service == "centralsystem" else Side.CENTRAL_SYSTEM
    spec = _spec(version, name, initiator)
    operation = _zeep_binding(version.version, service).get(name)

    request = example_payload(spec.request)
    parsed = operation.input.deserialize(etree.fromstring(_encode(version, spec, request, False)))
    assert parsed.header.ChargeBoxIdentity == "CP-1"
    _assert_same(spec.request, request, parsed.body)

    response = example_payload(spec.response)
    parsed = operation.process_reply(etree.fromstring(_encode(version, spec, response, True)))
    _assert_same(spec.response, response, parsed)


def _assert_same(model: type[OcppModel], payload: dict[str, Any], parsed: Any) -> None:
    """zeep's objects, serialised to plain data, validate to the same model as our payload."""
    zeep_helpers = pytest.importorskip("zeep.helpers")
    data = zeep_helpers.serialize_object(parsed, dict)
    if data is None:  # an empty body element
        data = {}
    elif not isinstance(data, dict):  # zeep unwraps a body element with a single child
        (only,) = model.__ocpp_xml__.children
        data = {only.name: data}
    # zeep returns datetimes and Decimals; re-dump them through the model as JSON
    assert model.model_validate(_jsonable(model, cast("dict[str, Any]", data))) == model.model_validate(payload)


def _jsonable(model: type[OcppModel], data: dict[str, Any]) -> dict[str, Any]:
    from ocpprpc.transports._soap_codec import _plan  # the plan knows which key is which

    plan = _plan(model, "")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None or value == []:
            continue
        entry = plan.by_local.get(key)
        attr = plan.attr_by_local.get(key)
        json_key = entry[0] if entry else attr[0] if attr else key
        nested = entry[2] if entry else None
        if nested is not None:
            items = cast("list[dict[str, Any]]", value) if isinstance(value, list) else [value]
            converted = [_jsonable(nested.model, item) for item in items]
            value = converted if isinstance(value, list) else converted[0]
        out[json_key] = value
    if plan.text is not None and "_value_1" in out:
        out[plan.text[0]] = out.pop("_value_1")
    return out


@needs_wsdl
def test_zeep_reads_our_fault() -> None:
    zeep_exceptions = pytest.importorskip("zeep.exceptions")
    binding = _zeep_binding("1.6", "centralsystem")
    data = encode_fault(TypeConstraintViolation("connectorId is not an integer"), namespace=CS16, relates_to="m")
    with pytest.raises(zeep_exceptions.Fault) as info:
        binding.process_error(etree.fromstring(data), binding.get("BootNotification"))
    assert info.value.message == "connectorId is not an integer"
    assert info.value.code == "s:Sender"
    assert [(q.namespace, q.localname) for q in info.value.subcodes] == [(CS16, "TypeConstraintViolation")]


# --- the identity before the body --------------------------------------------------------------------------------


def _identity_of(data: bytes, piece: int = 1 << 20, **kwargs: Any) -> tuple[str | None, int]:
    """What an IdentityReader fed ``data`` in pieces of ``piece`` bytes finds, and how many bytes it took."""
    reader = IdentityReader(**kwargs)
    fed = 0
    for at in range(0, len(data), piece):
        fed += len(data[at : at + piece])
        if reader.feed(data[at : at + piece]):
            break
    return reader.identity, fed


def test_the_identity_reader_finds_what_decode_message_finds_however_the_body_is_cut() -> None:
    for version in ALL:
        spec = _spec(version, "BootNotification")
        data = _encode(version, spec, example_payload(spec.request), False)
        expected = decode_message(data, ALL).charge_box_identity
        for piece in (1, 7, 64, len(data)):
            assert _identity_of(data, piece)[0] == expected == "CP-1"


def test_the_identity_reader_stops_at_the_identity_and_never_reads_the_body() -> None:
    head = (
        f'<s:Envelope xmlns:s="{SOAP_NS}" xmlns:t="{CS16}"><s:Header><t:chargeBoxIdentity> CP-9 </t:chargeBoxIdentity>'
    )
    data = (head + "</s:Header><s:Body><t:authorizeRequest>" + "<t:idTag>A</t:idTag>" * 50_000).encode()
    identity, fed = _identity_of(data, 100)
    assert identity == "CP-9" and fed <= len(head) + 100
    # the Body is never looked into, even when the identity would come after it
    late = f'<s:Envelope xmlns:s="{SOAP_NS}" xmlns:t="{CS16}"><s:Body><t:heartbeatRequest/></s:Body>'
    late += "<s:Header><t:chargeBoxIdentity>CP-9</t:chargeBoxIdentity></s:Header></s:Envelope>"
    assert _identity_of(late.encode(), 10)[0] is None
    # an envelope whose Header ends without one; an empty identity does not count
    empty = f'<s:Envelope xmlns:s="{SOAP_NS}" xmlns:t="{CS16}"><s:Header><t:chargeBoxIdentity> </t:chargeBoxIdentity>'
    assert _identity_of((empty + "</s:Header><s:Body/></s:Envelope>").encode())[0] is None


def test_the_identity_reader_reads_at_most_its_limit() -> None:
    padding = "<x/>" * 40_000
    data = f'<s:Envelope xmlns:s="{SOAP_NS}"><s:Header>{padding}<c:chargeBoxIdentity xmlns:c="{CS16}">CP-1'
    data += "</c:chargeBoxIdentity></s:Header></s:Envelope>"
    assert _identity_of(data.encode(), 4096) == (None, 65536)
    assert _identity_of(data.encode(), 4096, limit=1 << 20)[0] == "CP-1"


def test_the_identity_reader_takes_soap_11_and_undeclared_prefixes_like_decode_message() -> None:
    assert _identity_of(OCPPJS_BOOT_REPLY, 16)[0] == decode_message(OCPPJS_BOOT_REPLY, ALL).charge_box_identity


@pytest.mark.parametrize(
    "data",
    [
        b"not xml at all",
        b"<x><y></x>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
        b"<notAnEnvelope/>",
        f'<s:Envelope xmlns:s="{SOAP_NS}"><s:Header><a></b>'.encode(),
    ],
    ids=["not-xml", "mismatched", "doctype", "not-an-envelope", "broken-header"],
)
def test_the_identity_reader_refuses_what_cannot_start_an_envelope(data: bytes) -> None:
    for piece in (1, len(data)):
        with pytest.raises(EnvelopeError) as exc:
            _identity_of(data, piece)
        assert exc.value.code is FV


def test_a_failed_identity_reader_leaves_recover_mode_intact() -> None:
    # lxml's feed parser leaves its errors in the thread's error log; decode_message must not mistake them
    # for errors of the document it parses (which would refuse what recover mode reads)
    with pytest.raises(EnvelopeError):
        IdentityReader().feed(b"<x><y></x>")
    assert decode_message(OCPPJS_BOOT_REPLY, ALL).payload["status"] == "Accepted"


def test_an_element_repeated_though_it_may_occur_once_becomes_one_list_of_all_its_occurrences() -> None:
    def envelope(count: int) -> bytes:
        return _request_envelope(
            CS16, "<tns:authorizeRequest>" + "<tns:idTag>A</tns:idTag>" * count + "</tns:authorizeRequest>"
        )

    payload = decode_message(envelope(20_000), ALL).payload
    assert payload == {"idTag": ["A"] * 20_000}
