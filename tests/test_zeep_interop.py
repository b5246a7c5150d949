"""Interoperability with zeep: a third-party SOAP stack, loaded with the official OCPP WSDLs, calls our servers.

For every operation of OCPP 1.2, 1.5 and 1.6, zeep (the synchronous client, on a ``requests`` session, run
in a worker thread so our aiohttp servers keep serving on the event loop) calls

* the central system service of :func:`soap.serve` (a :class:`CentralSystemServer` of EchoCentralSystem),
* the remote action port of a charge point from :func:`soap.connect` (an EchoChargePoint),

with the example request of the operation, and must get the example response back, parsed by zeep against
the WSDL's schema. The body element of each answer is also validated with xmlschema against the same
schema, and its WS-Addressing headers are checked (``Action`` = ``/<Action>Response``, ``RelatesTo`` =
zeep's ``MessageID``). The role on our side must have received exactly the example request.

What zeep does on its own, found in its source (zeep 4.3): the WSDLs' ``wsaw:Action`` on each input makes
zeep's SOAP binding add WS-Addressing ``Action`` / ``MessageID`` / ``To`` headers by itself (``zeep.wsa``
applied in ``SoapBinding._create``), so no ``WsAddressingPlugin`` is passed (it would add them twice).
``chargeBoxIdentity`` is a ``soap12:header`` part named ``ChargeBoxIdentity`` in every operation's input,
passed as ``_soapheaders={"ChargeBoxIdentity": ...}``. zeep returns a response element with one child
element and no attributes as that child's value, and an empty response as None
(``SoapMessage.deserialize``); :func:`zeep_result_as_payload` undoes that. 1.5's MeterValue ``value``
(``xs:simpleContent`` with attributes) is ``{"_value_1": text, "unit": ...}`` for zeep.

Faults: zeep raises :class:`zeep.exceptions.Fault` with ``code`` = the text of ``Code/Value`` (as written,
``s:Sender``), ``subcodes`` = the ``Subcode/Value`` QNames resolved (``{service ns}TypeConstraintViolation``),
``message`` = ``Reason/Text``.
"""

from __future__ import annotations

import asyncio
import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from ocpprpc import CentralSystem, CentralSystemServer, OcppModel, Side
from ocpprpc._versions import VERSIONS
from ocpprpc.messages._base import ActionSpec
from ocpprpc.messages.examples import example
from ocpprpc.transports import soap

from .conftest import WSDL_DIR, needs_wsdl
from .roles_for_tests import EchoCentralSystem, EchoChargePoint

zeep = pytest.importorskip("zeep")
requests = pytest.importorskip("requests")
xmlschema = pytest.importorskip("xmlschema")
zeep_helpers = pytest.importorskip("zeep.helpers")  # serialize_object: unannotated, used as Any

from lxml import etree  # noqa: E402
from zeep.exceptions import Fault  # noqa: E402
from zeep.plugins import HistoryPlugin  # noqa: E402
from zeep.wsdl.bindings.soap import Soap12Binding  # noqa: E402

pytestmark = needs_wsdl

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
XSD = "http://www.w3.org/2001/XMLSchema"

WSDL_FILES = {
    ("1.2", Side.CENTRAL_SYSTEM): "1.2/ocpp_centralsystemservice_1.2_final.wsdl",
    ("1.2", Side.CHARGE_POINT): "1.2/ocpp_chargepointservice_1.2_final.wsdl",
    ("1.5", Side.CENTRAL_SYSTEM): "1.5/ocpp_centralsystemservice_1.5_final.wsdl",
    ("1.5", Side.CHARGE_POINT): "1.5/ocpp_chargepointservice_1.5_final.wsdl",
    ("1.6", Side.CENTRAL_SYSTEM): "1.6/OCPP_CentralSystemService_1.6.wsdl",
    ("1.6", Side.CHARGE_POINT): "1.6/OCPP_ChargePointService_1.6.wsdl",
}
"""The WSDL of the service each side offers, by (OCPP version, side that serves it)."""

VERSION_IDS = ["1.2", "1.5", "1.6"]


# -- zeep, loaded once per WSDL --------------------------------------------------------------------------------

# What these tests use of zeep's objects, typed: zeep ships py.typed but leaves them unannotated.


class ZeepBinding(Protocol):
    @property
    def name(self) -> etree.QName: ...

    def all(self) -> dict[str, Any]: ...


class ZeepHistory(Protocol):
    """The last exchange a HistoryPlugin saw, each a dict with the lxml ``envelope``."""

    @property
    def last_sent(self) -> dict[str, Any] | None: ...

    @property
    def last_received(self) -> dict[str, Any] | None: ...


class ZeepFault(Protocol):
    code: str | None
    subcodes: list[etree.QName] | None
    message: str | None


@dataclass
class ZeepPeer:
    """A zeep client of one OCPP service WSDL, and the schema of that WSDL for xmlschema."""

    client: Any
    binding: ZeepBinding
    history: ZeepHistory
    schema: Any
    namespace: str

    def service(self, address: str) -> Any:
        """The service proxy bound to ``address`` (the WSDL's own address is a placeholder)."""
        return self.client.create_service(str(self.binding.name), address)

    @property
    def operations(self) -> set[str]:
        return set(self.binding.all())

    def response_element(self, spec: ActionSpec) -> Any:
        return self.client.get_element(f"{{{self.namespace}}}{spec.response_element}")


@functools.cache
def zeep_peer(version: str, serving: Side) -> ZeepPeer:
    """zeep loaded with the WSDL of the service ``serving`` offers in ``version`` (blocking: call in a thread)."""
    path = WSDL_DIR / WSDL_FILES[version, serving]
    session = requests.Session()
    session.trust_env = False  # 127.0.0.1 only: no proxy from the environment
    transport = zeep.Transport(session=session, timeout=5, operation_timeout=5)
    history = HistoryPlugin()  # type: ignore[no-untyped-call]
    client = zeep.Client(str(path), transport=transport, plugins=[history], settings=zeep.Settings(strict=True))
    bindings = list(client.wsdl.bindings.values())
    assert len(bindings) == 1 and isinstance(bindings[0], Soap12Binding), bindings
    namespace = VERSIONS[version].namespace_of(serving)
    return ZeepPeer(client, bindings[0], history, _schema_of(path), namespace)


def _schema_of(wsdl: Path) -> Any:
    """The WSDL's embedded ``xs:schema`` as an xmlschema schema (serialised so it keeps its namespaces)."""
    document = etree.parse(str(wsdl), etree.XMLParser(resolve_entities=False, no_network=True))
    element = document.find(f".//{{{XSD}}}schema")
    assert element is not None
    return xmlschema.XMLSchema(etree.tostring(element, encoding="unicode"))


async def load(version: str, serving: Side) -> ZeepPeer:
    return await asyncio.to_thread(zeep_peer, version, serving)


# -- between our models and zeep's values ------------------------------------------------------------------


def _zeep_value(value: Any) -> Any:
    if isinstance(value, OcppModel):
        return model_as_zeep_kwargs(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value  # datetime, Decimal, int, bool, str: zeep writes them per the schema


def model_as_zeep_kwargs(model: OcppModel) -> dict[str, Any]:
    """``model`` as zeep wants it: XML element and attribute names, simpleContent text as ``_value_1``,
    Python values (datetimes stay datetimes, enums become their strings)."""
    out: dict[str, Any] = {}
    for child in type(model).__ocpp_xml__.children:
        value = getattr(model, child.field)
        if value is None:
            continue
        key = "_value_1" if child.kind == "text" else child.name
        out[key] = [_zeep_value(v) for v in value] if child.repeated else _zeep_value(value)
    return out


def zeep_dict_as_payload(data: Mapping[str, Any], model: type[OcppModel]) -> dict[str, Any]:
    """zeep's serialised value of ``model``'s XML type as an OCPP-J-shaped payload (wire names), for
    ``model.model_validate``. Anything zeep parsed that the model has no field for fails the test."""
    rest = dict(data)
    out: dict[str, Any] = {}
    for child in model.__ocpp_xml__.children:
        value = rest.pop("_value_1" if child.kind == "text" else child.name, None)
        if value is None or value == []:
            continue
        if not isinstance(child.value, str):
            nested = child.value
            value = (
                [zeep_dict_as_payload(v, nested) for v in value]
                if child.repeated
                else zeep_dict_as_payload(value, nested)
            )
        out[model.model_fields[child.field].alias or child.field] = value
    assert all(v is None or v == [] for v in rest.values()), f"{model.__name__}: zeep read more: {rest}"
    return out


def zeep_result_as_payload(peer: ZeepPeer, spec: ActionSpec, result: Any) -> dict[str, Any]:
    """Undo zeep's unwrapping of the response element (``zeep.wsdl.messages.soap.SoapMessage.deserialize``):
    no content → None; one child element and no attributes → that child's value; else the element's value."""
    xsd_type = peer.response_element(spec).type
    children, attributes = xsd_type.elements, xsd_type.attributes
    if not children and not attributes:
        assert result is None, result
        data: dict[str, Any] = {}
    elif len(children) == 1 and not attributes:
        data = {children[0][0]: zeep_helpers.serialize_object(result, dict)}
    else:
        data = zeep_helpers.serialize_object(result, dict)
    return zeep_dict_as_payload(data, spec.response)


# -- checks on what came over the wire -----------------------------------------------------------------------


def check_last_exchange(peer: ZeepPeer, spec: ActionSpec) -> None:
    """Our answer, as zeep received it: the body element valid against the WSDL's schema, and the
    WS-Addressing headers answering zeep's request."""
    last_sent = peer.history.last_sent
    assert last_sent is not None
    sent = last_sent["envelope"]
    last_received = peer.history.last_received
    assert last_received is not None
    received = last_received["envelope"]
    assert received.tag == f"{{{SOAP12}}}Envelope"
    body = received.find(f"{{{SOAP12}}}Body")
    assert body is not None and len(body) == 1
    element = body[0]
    assert element.tag == f"{{{peer.namespace}}}{spec.response_element}"
    errors = [str(e.reason or e) for e in peer.schema.iter_errors(element)]
    assert not errors, f"{spec.name}: our response is not valid against the WSDL schema: {errors}"
    message_id = sent.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}MessageID")
    assert message_id, "zeep sent no MessageID"
    assert received.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}RelatesTo") == message_id
    assert received.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}Action") == f"/{spec.name}Response"


def call_with_zeep(peer: ZeepPeer, service: Any, spec: ActionSpec, request: OcppModel, identity: str) -> OcppModel:
    """One zeep call of ``spec`` carrying ``request``; the answer as zeep parsed it, validated by our model."""
    result = getattr(service, spec.name)(**model_as_zeep_kwargs(request), _soapheaders={"ChargeBoxIdentity": identity})
    check_last_exchange(peer, spec)
    return spec.response.model_validate(zeep_result_as_payload(peer, spec, result))


# -- the tests ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("optional", [True, False], ids=["all-fields", "required-only"])
@pytest.mark.parametrize("version", VERSION_IDS)
async def test_zeep_calls_every_central_system_operation(version: str, optional: bool) -> None:
    ocpp = VERSIONS[version]
    actions = ocpp.initiated_by(Side.CHARGE_POINT)
    peer = await load(version, Side.CENTRAL_SYSTEM)
    assert peer.operations == set(actions), "the WSDL's operations are not ours"
    server = CentralSystemServer(EchoCentralSystem)
    cp_id = f"ZEEP-{version}"
    async with soap.serve(server, path="/ocpp/cs") as endpoint:
        service = peer.service(endpoint.url)
        sent: list[OcppModel] = []
        for spec in actions.values():
            request = example(spec.request, optional=optional)
            sent.append(request)
            answer = await asyncio.to_thread(call_with_zeep, peer, service, spec, request, cp_id)
            assert answer == example(spec.response), spec.name
            assert answer.to_json_dict() == example(spec.response).to_json_dict(), spec.name
        role = server[cp_id]
        assert role.ocpp_version is ocpp and role.version == version
        assert role.received == sent


@pytest.mark.parametrize("optional", [True, False], ids=["all-fields", "required-only"])
@pytest.mark.parametrize("version", VERSION_IDS)
async def test_zeep_calls_every_charge_point_operation(version: str, optional: bool) -> None:
    ocpp = VERSIONS[version]
    actions = ocpp.initiated_by(Side.CENTRAL_SYSTEM)
    peer = await load(version, Side.CHARGE_POINT)
    assert peer.operations == set(actions), "the WSDL's operations are not ours"
    server = CentralSystemServer(EchoCentralSystem)
    async with soap.serve(server) as endpoint:
        cp = EchoChargePoint(f"ZEEP-CP-{version}", version)
        async with soap.connect(cp, endpoint.url, port=0) as client:
            service = peer.service(client.from_url)
            sent: list[OcppModel] = []
            for spec in actions.values():
                request = example(spec.request, optional=optional)
                sent.append(request)
                answer = await asyncio.to_thread(call_with_zeep, peer, service, spec, request, cp.id)
                assert answer == example(spec.response), spec.name
                assert answer.to_json_dict() == example(spec.response).to_json_dict(), spec.name
            assert cp.received == sent


def _fault_of(service: Any, operation: str, kwargs: dict[str, Any], headers: dict[str, str] | None) -> ZeepFault:
    with pytest.raises(Fault) as caught:
        getattr(service, operation)(**kwargs, _soapheaders=headers)
    return caught.value


async def test_an_unhandled_action_is_a_receiver_fault_carrying_not_supported() -> None:
    peer = await load("1.6", Side.CENTRAL_SYSTEM)
    server = CentralSystemServer(CentralSystem)  # no handlers at all
    async with soap.serve(server) as endpoint:
        service = peer.service(endpoint.url)
        fault = await asyncio.to_thread(_fault_of, service, "Heartbeat", {}, {"ChargeBoxIdentity": "CP-F"})
    assert fault.code == "s:Receiver"
    assert fault.subcodes == [etree.QName(peer.namespace, "NotSupported")]
    assert fault.message
    last_received, last_sent = peer.history.last_received, peer.history.last_sent
    assert last_received is not None and last_sent is not None
    envelope = last_received["envelope"]
    assert envelope.find(f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault/{{{SOAP12}}}Code/{{{SOAP12}}}Value").nsmap["s"] == SOAP12
    assert envelope.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}RelatesTo") == last_sent["envelope"].findtext(
        f"{{{SOAP12}}}Header/{{{WSA}}}MessageID"
    )


@pytest.mark.parametrize(
    ("serving", "operation", "kwargs", "identity", "code"),
    [
        # zeep does not enforce xs:maxLength: the 21-character idTag reaches our server, which refuses it.
        (Side.CENTRAL_SYSTEM, "Authorize", {"idTag": "X" * 21}, "CP-F", "TypeConstraintViolation"),
        # zeep lets an operation be called without its soap12:header; a central system needs the identity.
        (Side.CENTRAL_SYSTEM, "Heartbeat", {}, None, "ProtocolError"),
        # A ChargePointService operation posted to the central system: a known body element, wrong way round.
        (Side.CHARGE_POINT, "Reset", {"type": "Soft"}, "CP-F", "ProtocolError"),
    ],
    ids=["too-long-idTag", "no-chargeBoxIdentity", "cp-operation-at-cs"],
)
async def test_faults_for_bad_requests_are_sender_faults_carrying_the_ocpp_error_code(
    serving: Side, operation: str, kwargs: dict[str, Any], identity: str | None, code: str
) -> None:
    peer = await load("1.6", serving)
    server = CentralSystemServer(EchoCentralSystem)
    async with soap.serve(server) as endpoint:
        service = peer.service(endpoint.url)
        headers = {"ChargeBoxIdentity": identity} if identity is not None else None
        fault = await asyncio.to_thread(_fault_of, service, operation, kwargs, headers)
        assert fault.code == "s:Sender"
        assert fault.subcodes == [etree.QName(peer.namespace, code)]
        assert fault.message
        # The central system is still fine afterwards.
        good = await load("1.6", Side.CENTRAL_SYSTEM)
        heartbeat = VERSIONS["1.6"].initiated_by(Side.CHARGE_POINT)["Heartbeat"]
        answer = await asyncio.to_thread(
            call_with_zeep, good, good.service(endpoint.url), heartbeat, example(heartbeat.request), "CP-OK"
        )
        assert answer == example(heartbeat.response)
