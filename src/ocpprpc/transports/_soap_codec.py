"""The OCPP-S envelope codec: SOAP 1.2 bytes in, (action, payload) out, and back. No HTTP, no asyncio.

Theory of operation
-------------------
OCPP-S is document/literal SOAP 1.2 over HTTP POST. Each HTTP request carries one request envelope, each
HTTP response one response envelope or one Fault. This module only turns bytes into a :class:`SoapMessage`
(:func:`decode_message`) and (action, payload) pairs into bytes (:func:`encode_request`,
:func:`encode_response`, :func:`encode_fault`). Like the OCPP-J frame codec (``ocpprpc._frames``) it keeps
no state and does no I/O, so the HTTP server and client on top of it stay thin and every rule below is
testable with literal envelopes.

The payloads are OCPP-J payloads: dicts keyed by wire names holding JSON types, exactly what
``model.to_json_dict()`` emits and ``Model.model_validate()`` accepts. Above this codec the library does
not know whether it speaks JSON or XML. The translation is driven by the XML facts the code generator put
on every model (``Model.__ocpp_xml__``): for each field, its element or attribute name, whether it is a
child element, an XML attribute or the element's own text, the scalar kind of its text, and whether it
repeats. The first time a (model, namespace) pair is used, those facts are compiled into a :class:`_Plan`
(dicts from tag to JSON key and converter, tuples in schema order for output); every later call only
does dict look-ups, which is what keeps the codec several times faster than a WSDL-driven SOAP stack.
Input is parsed with lxml; output is written as text straight from the plans (constant tags, every value
escaped, characters XML cannot carry refused), which is an order of magnitude faster than building an
lxml tree and serialising it (see the comment above ``_write``).

Wire shape (document/literal SOAP 1.2 over HTTP POST, with WS-Addressing)::

    <s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
                xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:tns="urn://Ocpp/Cs/2015/10/">
      <s:Header>
        <tns:chargeBoxIdentity>CP-1</tns:chargeBoxIdentity>
        <a:Action>/BootNotification</a:Action>           (responses: /BootNotificationResponse)
        <a:MessageID>urn:uuid:...</a:MessageID>          (responses: a:RelatesTo instead)
        <a:To>http://cs.example/ocpp</a:To>
        <a:From><a:Address>http://cp.example:8080/</a:Address></a:From>     (requests, optional)
        <a:ReplyTo><a:Address>...</a:Address></a:ReplyTo>                   (requests, optional)
      </s:Header>
      <s:Body><tns:bootNotificationRequest>...</tns:bootNotificationRequest></s:Body>
    </s:Envelope>

Every body element and its children are in the namespace of the service that receives the request
(``ActionSpec.namespace``; the WSDLs say ``elementFormDefault="qualified"``), and so is the
``chargeBoxIdentity`` header. A central system commonly serves several OCPP versions at one URL, so
:func:`decode_message` finds both the version and the action from the body element's namespace and
local name; the WS-Addressing ``Action`` header, when present, is only cross-checked.

Text conversion on input (leaving validation to the pydantic models, so a bad value yields the same
error code as in OCPP-J): ``int`` text becomes an ``int``, ``bool`` text ``true``/``1``/``false``/``0`` a
``bool``, ``decimal`` text an ``int`` or ``float``, ``datetime`` stays a string, repeated elements become
lists. Text that does not convert is kept as the string, so pydantic reports a type fault instead of this
codec crashing. An unknown child element is kept under its local name (as its text) so that pydantic
refuses it as an unknown field; a non-repeated element given twice becomes a list (a type fault).

Faults
------
A Fault carries the OCPP-J error code as its first ``Subcode``, a QName in the service namespace (the
namespace of the exchange) with the ``tns`` prefix, or an unprefixed QName when that namespace is not
known (an envelope that could not be read)::

    <s:Fault>
      <s:Code><s:Value>s:Sender</s:Value>
              <s:Subcode><s:Value>tns:TypeConstraintViolation</s:Value></s:Subcode></s:Code>
      <s:Reason><s:Text xml:lang="en">connectorId: Input should be a valid integer</s:Text></s:Reason>
    </s:Fault>

``Code/Value`` says whose fault it is (:data:`SENDER_FAULTS`): ``s:Sender`` for faults in the message the
peer sent (FormationViolation, ProtocolError, the three constraint violations, SecurityError, and
NotImplemented, since the body names no operation this endpoint has), ``s:Receiver`` for faults of our own
(InternalError, NotSupported: a known operation we chose not to implement, GenericError: nobody can tell).
Error details are not carried: OCPP-S has no place for them.

Decoding a Fault yields ``SoapMessage.fault``, built with :meth:`OcppError.from_code` (``remote=True``):
the first subcode (in any namespace, by local name) that is an OCPP-J code wins; else a WS-Addressing
subcode (``ActionNotSupported`` → NotImplemented, ``ActionMismatch`` / ``InvalidAddressingHeader`` /
``MessageAddressingHeaderRequired`` / ``DestinationUnreachable`` → ProtocolError, ``EndpointUnavailable``
→ InternalError); else the Code decides: ``Sender`` (SOAP 1.1 ``Client``) → ProtocolError, ``Receiver``
(``Server``) → InternalError, ``MustUnderstand`` → ProtocolError, ``VersionMismatch`` /
``DataEncodingUnknown`` → FormationViolation, anything else → GenericError. SOAP 1.1 faults
(``faultcode`` / ``faultstring``) are read too; a dotted ``faultcode`` (``Client.TypeConstraintViolation``)
has its later parts read as subcodes.

Safety and malformed input
--------------------------
Envelopes come from the network. Input longer than ``max_size`` bytes is refused before parsing; any
``<!DOCTYPE`` is refused outright (entity expansion and external entities need one: checked on the bytes
before parsing, and on the parsed document for encodings such as UTF-16 or UTF-7 that hide it), and the parser
neither resolves entities nor loads DTDs nor touches the network, and keeps libxml2's size and depth
limits (``huge_tree=False``: depth 256, text nodes of 10 MB). Decoding costs time linear in the size of
the input whatever its shape: each child is looked at once (a repeated element is appended to its list in
place; a Body holding a second element is refused at that element), so 1 MiB of repeats costs what any
other 1 MiB costs, about 50 ms. A server that must check credentials before it decodes anything reads
the identity alone with :class:`IdentityReader` (a push parser stopping at the Header's end, at most
:data:`HEADER_READ_LIMIT` bytes). Every malformed input raises :class:`EnvelopeError`, and nothing else; it is
an :class:`OcppError` whose ``code`` is the one to answer with, and which carries what could be read
(message id, namespace, identity) so that the fault can still be addressed:

==========================================================  ======================
fault                                                       code
==========================================================  ======================
larger than ``max_size``; a DOCTYPE; not well-formed XML;   FormationViolation
not a SOAP 1.1 / 1.2 Envelope; no Body; an empty Body or
more than one element in it
body element in an unknown namespace, or not an operation   NotImplemented
of that service (or of a version not served)
WS-Addressing Action contradicting the body element;        ProtocolError
two different chargeBoxIdentity headers; no identity where
one is required (:func:`require_identity`)
==========================================================  ======================

Tolerance (real peers, ocppjs among them, send imperfect envelopes): ``mustUnderstand`` flags are ignored (the
headers we act on are all understood, others are skipped); ``MessageID``, ``From``, ``ReplyTo``, ``To``
and ``Action`` may be missing; envelopes in the SOAP 1.1 namespace are read like SOAP 1.2 ones; headers
and child elements are matched by local name whatever their namespace (WS-Addressing 2004/08 headers,
unqualified children); attributes are matched by local name whatever their namespace (1.5's
``tns:unit="Wh"``); an Action header is matched by its last path segment with or without ``Response``
(``BootNotification``, ``/BootNotificationResponse`` and ``urn:x/BootNotification`` all name the
bootNotification body elements); header values are stripped of surrounding whitespace and the first of
a repeated header wins. A prefix used without a declaration (``SOAP-ENV:mustUnderstand`` in an envelope that declares
``soap``) is an XML namespace error, and strict parsers refuse the document; here the document is parsed
strictly first and, only when every error was a namespace error, parsed again in libxml2's recover mode,
where the undeclared ``prefix:name`` is kept as a plain name, which the local-name matching then reads.
Anything else that is not well-formed stays refused. Output is always clean SOAP 1.2.
"""

from __future__ import annotations

import enum
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, cast

from lxml import etree

from .._frames import OCPP_J_1
from .._link import DEFAULT_MAX_MESSAGE_SIZE
from ..errors import (
    ActionNotImplemented,
    ErrorCode,
    FormationViolation,
    GenericError,
    InternalError,
    OcppError,
    ProtocolError,
    UsageError,
)
from ..messages._base import ActionSpec, OcppModel, OcppVersion, Side, format_datetime

__all__ = [
    "DEFAULT_MAX_SIZE",
    "FAULT_ACTION",
    "FAULT_CONTENT_TYPE",
    "HEADER_READ_LIMIT",
    "SENDER_FAULTS",
    "SOAP11_NS",
    "SOAP_NS",
    "WSA_NS",
    "EnvelopeError",
    "IdentityReader",
    "SoapMessage",
    "content_type",
    "decode_message",
    "encode_fault",
    "encode_request",
    "encode_response",
    "encode_unchecked_request",
    "fault_status",
    "message_id_iri",
    "require_identity",
    "unique_id_of",
]

SOAP_NS: Final = "http://www.w3.org/2003/05/soap-envelope"
"""The SOAP 1.2 envelope namespace: the only one emitted."""
SOAP11_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
"""The SOAP 1.1 envelope namespace: accepted on input, never emitted."""
WSA_NS: Final = "http://www.w3.org/2005/08/addressing"
"""WS-Addressing 1.0, which the OCPP WSDLs use for Action, MessageID, RelatesTo, To, From and ReplyTo."""
FAULT_ACTION: Final = WSA_NS + "/soap/fault"
"""The WS-Addressing Action of a SOAP fault message."""
FAULT_CONTENT_TYPE: Final = f'application/soap+xml; charset=utf-8; action="{FAULT_ACTION}"'
"""The HTTP Content-Type of a fault envelope."""
DEFAULT_MAX_SIZE: Final = DEFAULT_MAX_MESSAGE_SIZE
"""The default limit on an envelope's size in bytes (1 MiB): a GetConfiguration response with every key
and a SendLocalList with a few thousand entries fit many times over."""

_URN_UUID: Final = "urn:uuid:"

SENDER_FAULTS: Final[frozenset[ErrorCode]] = frozenset(
    {
        ErrorCode.FORMATION_VIOLATION,
        ErrorCode.PROTOCOL_ERROR,
        ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
        ErrorCode.OCCURENCE_CONSTRAINT_VIOLATION,
        ErrorCode.TYPE_CONSTRAINT_VIOLATION,
        ErrorCode.SECURITY_ERROR,
        ErrorCode.NOT_IMPLEMENTED,
        ErrorCode.RPC_FRAMEWORK_ERROR,  # OCPP-J 2.x codes, sent as their 1.x equivalents
        ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED,
    }
)
"""The error codes sent as ``s:Sender`` faults (the peer's message is at fault); all others are
``s:Receiver`` faults (InternalError, NotSupported, GenericError)."""

_FV = ErrorCode.FORMATION_VIOLATION
_WS = " \t\r\n"  # XML whitespace, what xs:token-like types collapse; Python's strip() would take more.


def content_type(action: str, response: bool = False) -> str:
    """The HTTP Content-Type of an envelope for ``action``: ``application/soap+xml; charset=utf-8;
    action="/<Action>"`` (``/<Action>Response`` for a response), as the WSDLs' ``wsaw:Action`` values."""
    return f'application/soap+xml; charset=utf-8; action="/{action}{"Response" if response else ""}"'


def message_id_iri(unique_id: str) -> str:
    """The WS-Addressing ``MessageID`` of a message whose unique id is ``unique_id``: an absolute IRI.

    The core's ids are UUID strings (:func:`~ocpprpc._frames.new_unique_id`, also the OCPP-J unique id),
    written as ``urn:uuid:<id>``; an id that already is an IRI (it has a scheme) is written as is. A
    retried message keeps its id on both transports: :func:`unique_id_of` reads it back."""
    return unique_id if ":" in unique_id else _URN_UUID + unique_id


def unique_id_of(message_id: str | None) -> str | None:
    """The unique id a ``MessageID`` carries: without its ``urn:uuid:`` prefix (any case), else as sent."""
    if message_id is not None and message_id[:9].lower() == _URN_UUID:
        return message_id[9:]
    return message_id


def fault_status(error: OcppError) -> int:
    """The HTTP status of a fault response: 400 for a Sender fault, 500 for a Receiver fault (the SOAP 1.2
    HTTP binding, SOAP 1.2 part 2), so HTTP-level tooling sees whose fault it was."""
    return 400 if error.code in SENDER_FAULTS else 500


# --- results and errors -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class SoapMessage:
    """One decoded envelope: a request, a response, or a fault (``fault`` set).

    ``version`` and ``spec`` are None only for a fault, whose body names no operation; the HTTP client
    knows which call it answers. Header values are stripped of surrounding whitespace; a missing or empty
    header is None.
    """

    version: OcppVersion | None
    """The OCPP version whose service namespace the body element is in."""
    spec: ActionSpec | None
    """The operation the body element belongs to."""
    is_response: bool
    """True for a response body element, and for a fault (a fault always answers a request)."""
    payload: dict[str, Any]
    """The body as an OCPP-J payload (wire names, JSON types), not yet validated; ``{}`` for a fault."""
    charge_box_identity: str | None = None
    """The ``chargeBoxIdentity`` header: the charge point this message is from or for."""
    message_id: str | None = None
    """WS-Addressing ``MessageID`` (requests); quote it as ``relates_to`` in the answer."""
    relates_to: str | None = None
    """WS-Addressing ``RelatesTo`` (responses and faults): the MessageID of the request answered."""
    action: str | None = None
    """The WS-Addressing ``Action`` header as sent (already checked against the body element)."""
    to: str | None = None
    """WS-Addressing ``To``: the endpoint the sender addressed."""
    from_address: str | None = None
    """WS-Addressing ``From/Address``: the sender's own endpoint (a charge point's remote action port)."""
    reply_to_address: str | None = None
    """WS-Addressing ``ReplyTo/Address``."""
    fault: OcppError | None = None
    """For a Fault body: the error it carries, as its :class:`OcppError` subclass with ``remote=True``."""

    def __repr__(self) -> str:
        # The dataclass repr would print the whole OcppVersion registry; this one fits a log line.
        if self.fault is not None:
            what = f"fault {self.fault.raw_code}: {self.fault.description!r}"
        elif self.spec is not None and self.version is not None:
            kind = "response" if self.is_response else "request"
            what = f"OCPP {self.version.version} {self.spec.name} {kind} {self.payload!r}"
        else:  # pragma: no cover - not produced by decode_message
            what = "?"
        headers = (
            "charge_box_identity",
            "message_id",
            "relates_to",
            "action",
            "to",
            "from_address",
            "reply_to_address",
        )
        extra = "".join(f", {name}={getattr(self, name)!r}" for name in headers if getattr(self, name) is not None)
        return f"SoapMessage({what}{extra})"

    @property
    def model(self) -> type[OcppModel] | None:
        """The model that validates :attr:`payload` (the spec's request or response model); None for a fault."""
        if self.spec is None:
            return None
        return self.spec.response if self.is_response else self.spec.request


class EnvelopeError(OcppError):
    """Bytes that are not a usable OCPP-S envelope; raised by :func:`decode_message` (and
    :func:`require_identity`) only.

    It is an :class:`OcppError` whose ``code`` is the one to answer with, so
    ``encode_fault(exc)`` builds the answer directly; the attributes say what could be read before the
    fault, so the answer can be addressed (they are None when not read).
    """

    message_id: str | None
    """The request's WS-Addressing MessageID."""
    namespace: str | None
    """The service namespace of the body element, when it is one of a known version."""
    charge_box_identity: str | None
    """The chargeBoxIdentity header."""
    version: OcppVersion | None
    """The OCPP version found from the body element."""
    spec: ActionSpec | None
    """The operation found from the body element."""

    def __init__(
        self,
        code: ErrorCode,
        description: str,
        *,
        message_id: str | None = None,
        namespace: str | None = None,
        charge_box_identity: str | None = None,
        version: OcppVersion | None = None,
        spec: ActionSpec | None = None,
    ) -> None:
        super().__init__(description, code=code)
        self.args = (code, description)
        self.message_id = message_id
        self.namespace = namespace
        self.charge_box_identity = charge_box_identity
        self.version = version
        self.spec = spec


def require_identity(message: SoapMessage) -> str:
    """The message's chargeBoxIdentity; :class:`EnvelopeError` (ProtocolError) when it has none.

    A central system cannot tell which charge point is calling without it, so it should call this on
    every request; a charge point answering its central system may not care, which is why
    :func:`decode_message` leaves the check to the caller.
    """
    if message.charge_box_identity is None:
        raise EnvelopeError(
            ErrorCode.PROTOCOL_ERROR,
            "no chargeBoxIdentity header",
            message_id=message.message_id,
            namespace=message.spec.namespace if message.spec else None,
            version=message.version,
            spec=message.spec,
        )
    return message.charge_box_identity


# --- scalar conversions -----------------------------------------------------------------------------------

_Enc = Callable[[Any], str]
_Dec = Callable[[str | None], Any]

_INT_RE = re.compile(r"[+-]?[0-9]+")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_BOOLS: Final = {"true": True, "1": True, "false": False, "0": False}


def _dec_str(text: str | None) -> str:
    return text or ""


def _dec_int(text: str | None) -> Any:
    if text is None:
        return ""
    if text.isascii() and text.isdigit():  # the common case, without a regex
        try:
            return int(text)
        except ValueError:  # longer than sys.get_int_max_str_digits()
            return text
    stripped = text.strip(_WS)
    if _INT_RE.fullmatch(stripped):
        try:
            return int(stripped)
        except ValueError:
            return text
    return text


def _dec_bool(text: str | None) -> Any:
    if text is None:
        return ""
    return _BOOLS.get(text.strip(_WS), text)


def _dec_datetime(text: str | None) -> str:
    return text.strip(_WS) if text else ""


def _dec_decimal(text: str | None) -> Any:
    if text is None:
        return ""
    value = _dec_int(text)
    if type(value) is int:
        return value
    stripped = text.strip(_WS)
    if _DECIMAL_RE.fullmatch(stripped):
        return float(stripped)
    return text


def _wrong(kind: str, value: Any) -> UsageError:
    return UsageError(f"cannot write {value!r} ({type(value).__name__}) as xs:{kind}")


def _enc_str(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, str):
        return str(value)
    raise _wrong("string", value)


def _enc_int(value: Any) -> str:
    if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
        return str(int(value))
    raise _wrong("int", value)


def _enc_bool(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise _wrong("boolean", value)


def _enc_datetime(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return format_datetime(value)
    raise _wrong("dateTime", value)


def _enc_decimal(value: Any) -> str:
    if isinstance(value, bool):
        raise _wrong("decimal", value)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _wrong("decimal", value)
        text = repr(value)
        # xs:decimal has no exponent: 1e-05 must be written 0.00001.
        return format(Decimal(text), "f") if "e" in text or "E" in text else text
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _wrong("decimal", value)
        return format(value, "f")
    if isinstance(value, str) and _DECIMAL_RE.fullmatch(value):
        return value
    raise _wrong("decimal", value)


_CONVERTERS: Final[dict[str, tuple[_Enc, _Dec]]] = {
    "str": (_enc_str, _dec_str),
    "int": (_enc_int, _dec_int),
    "bool": (_enc_bool, _dec_bool),
    "datetime": (_enc_datetime, _dec_datetime),
    "decimal": (_enc_decimal, _dec_decimal),
}


# --- per-model plans ---------------------------------------------------------------------------------------


def _local(name: str) -> str:
    """The local part of ``{ns}local``, ``prefix:local`` (an undeclared prefix, kept so by recover mode)
    or ``local``."""
    return name.rpartition("}")[2].rpartition(":")[2]


class _Plan:
    """The compiled XML facts of one model in one namespace; built once per (model, namespace).

    Output walks the tuples (schema order); input looks children up by tag, falling back to the local
    name for children in another namespace or none (see the module's tolerance rules).
    """

    __slots__ = ("attr_by_local", "attributes", "by_local", "by_tag", "elements", "model", "text")

    def __init__(self, model: type[OcppModel]) -> None:
        self.model = model
        # output: (json key, start tag, end tag, encoder, nested plan, repeated); tags use the "tns" prefix
        self.elements: tuple[tuple[str, str, str, _Enc, _Plan | None, bool], ...] = ()
        # output: (json key, ' name="', encoder)
        self.attributes: tuple[tuple[str, str, _Enc], ...] = ()
        # both ways: (json key, encoder, decoder) of the element's own text
        self.text: tuple[str, _Enc, _Dec] | None = None
        # input: tag or local name -> (json key, decoder, nested plan, repeated)
        self.by_tag: dict[object, tuple[str, _Dec, _Plan | None, bool]] = {}  # object: lxml tags may be str or bytes
        self.by_local: dict[str, tuple[str, _Dec, _Plan | None, bool]] = {}
        # input: attribute local name -> (json key, decoder)
        self.attr_by_local: dict[str, tuple[str, _Dec]] = {}


_PLANS: dict[tuple[type[OcppModel], str], _Plan] = {}


def _plan(model: type[OcppModel], namespace: str) -> _Plan:
    """The plan of ``model`` with its elements in ``namespace``, compiled on first use."""
    key = (model, namespace)
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    plan = _Plan(model)
    elements: list[tuple[str, str, str, _Enc, _Plan | None, bool]] = []
    attributes: list[tuple[str, str, _Enc]] = []
    fields = model.model_fields
    for child in model.__ocpp_xml__.children:
        json_key = fields[child.field].alias or child.field
        nested: _Plan | None = None
        if isinstance(child.value, str):
            enc, dec = _CONVERTERS[child.value]
        else:
            nested = _plan(child.value, namespace)
            enc, dec = _enc_str, _dec_str  # unused for nested models
        if child.kind == "attribute":
            attributes.append((json_key, f' {child.name}="', enc))
            plan.attr_by_local[child.name] = (json_key, dec)
        elif child.kind == "text":
            plan.text = (json_key, enc, dec)
        else:
            tag = f"{{{namespace}}}{child.name}"
            elements.append((json_key, f"<tns:{child.name}>", f"</tns:{child.name}>", enc, nested, child.repeated))
            plan.by_tag[tag] = plan.by_local[child.name] = (json_key, dec, nested, child.repeated)
    plan.elements = tuple(elements)
    plan.attributes = tuple(attributes)
    # Published only when complete: another thread must never see a half-built plan. Two threads building
    # the same plan at once is harmless (both are equal). OCPP types are not recursive, so no cycle guard.
    _PLANS[key] = plan
    return plan


# The actions of each version by (namespace, body element local name); keyed by id() because hashing an
# OcppVersion hashes all its ActionSpecs, which costs more than the rest of a small decode.
_Index = dict[str, dict[str, tuple[ActionSpec, bool]]]
_INDEXES: dict[int, tuple[OcppVersion, _Index, frozenset[int]]] = {}


def _index(version: OcppVersion) -> tuple[OcppVersion, _Index, frozenset[int]]:
    found = _INDEXES.get(id(version))
    if found is not None and found[0] is version:
        return found
    index: _Index = {}
    for spec in version.actions:
        by_name = index.setdefault(spec.namespace, {})
        by_name[spec.request_element] = (spec, False)
        by_name[spec.response_element] = (spec, True)
    found = (version, index, frozenset(id(spec) for spec in version.actions))
    _INDEXES[id(version)] = found
    return found


# --- encoding ----------------------------------------------------------------------------------------------
#
# Output is written as text from the plans rather than built as an lxml tree and serialised: every tag is
# a constant of the plan, every value goes through _escape_text / _escape_attr, which refuse characters
# XML cannot carry, so the result is well-formed by construction. It is about ten times faster than
# SubElement + tostring (a BootNotification request: ~3 µs against ~20 µs), and the tests parse and
# schema-validate the output of every message.

_S_ENVELOPE = f"{{{SOAP_NS}}}Envelope"
_S_FAULT = f"{{{SOAP_NS}}}Fault"
_S11_FAULT = f"{{{SOAP11_NS}}}Fault"
_S11_ENVELOPE = f"{{{SOAP11_NS}}}Envelope"

# One scan finds every character that needs more than copying: markup, whitespace that attribute values
# must escape, and characters XML 1.0 cannot carry at all (C0 controls, lone surrogates, U+FFFE/U+FFFF).
_SPECIAL = re.compile('[&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _refuse_non_xml(text: str) -> None:
    bad = _NOT_XML.search(text)
    if bad is not None:
        raise UsageError(f"character {bad.group()!r} cannot be carried in XML: {text!r}")


def _escape_text(text: str) -> str:
    """``text`` as element content. ``\\r`` is escaped too: a parser would turn a raw one into ``\\n``."""
    if _SPECIAL.search(text) is None:
        return text
    _refuse_non_xml(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _escape_attr(text: str) -> str:
    """``text`` as a double-quoted attribute value; tabs and newlines escaped so they survive normalisation."""
    if _SPECIAL.search(text) is None:
        return text
    _refuse_non_xml(text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return text.replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")


def _write(out: list[str], payload: Mapping[str, Any], plan: _Plan) -> None:
    """Append the content of an element holding ``payload`` (its text and children, in schema order).

    The element's own tags and attributes are written by the caller, which knows its name.
    """
    if plan.text is not None:
        key, enc, _ = plan.text
        value = payload.get(key)
        if value is not None:
            out.append(_escape_text(enc(value)))
    for key, open_tag, close_tag, enc, nested, repeated in plan.elements:
        value = payload.get(key)
        if value is None:
            continue
        if repeated:
            if not isinstance(value, list | tuple):
                raise UsageError(f"{key!r} repeats: expected a list, got {type(value).__name__}")
            items = cast("Sequence[Any]", value)
        else:
            items = (value,)
        for item in items:
            if nested is None:
                out += (open_tag, _escape_text(enc(item)), close_tag)
                continue
            if nested.attributes:
                out.append(open_tag[:-1])
                for attr_key, attr_open, attr_enc in nested.attributes:
                    attr_value = item.get(attr_key)
                    if attr_value is not None:
                        out += (attr_open, _escape_attr(attr_enc(attr_value)), '"')
                out.append(">")
            else:
                out.append(open_tag)
            _write(out, item, nested)
            out.append(close_tag)


_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'
_OPENINGS: dict[str | None, str] = {}


def _opening(namespace: str | None) -> str:
    """The declaration, the Envelope start tag declaring ``s``, ``a`` and ``tns`` (= ``namespace``), and the
    Header start tag; one string per namespace."""
    found = _OPENINGS.get(namespace)
    if found is None:
        tns = f' xmlns:tns="{_escape_attr(namespace)}"' if namespace else ""
        found = f'{_DECLARATION}<s:Envelope xmlns:s="{SOAP_NS}" xmlns:a="{WSA_NS}"{tns}><s:Header>'
        _OPENINGS[namespace] = found
    return found


def _header(out: list[str], tag: str, text: str) -> None:
    out += ("<", tag, ">", _escape_text(text), "</", tag, ">")


def _check_spec(version: OcppVersion, spec: ActionSpec) -> None:
    if id(spec) not in _index(version)[2]:
        raise UsageError(f"{spec.name} ({spec.namespace}) is not an action of OCPP {version.version}")


def _finish(
    out: list[str], spec: ActionSpec, model: type[OcppModel], element_name: str, payload: Mapping[str, Any]
) -> bytes:
    """Close the Header, write the Body with ``payload`` as ``element_name``, and encode it all."""
    if not isinstance(payload, Mapping):
        raise UsageError(f"payload must be a mapping, not {type(payload).__name__}")
    out += ("</s:Header><s:Body><tns:", element_name, ">")
    try:
        _write(out, payload, _plan(model, spec.namespace))
    except AttributeError as exc:  # a nested value that is not a mapping
        raise UsageError(f"cannot encode {spec.name}: {exc}") from exc
    out += ("</tns:", element_name, "></s:Body></s:Envelope>")
    return "".join(out).encode("utf-8")


def encode_request(
    version: OcppVersion,
    spec: ActionSpec,
    payload: Mapping[str, Any],
    *,
    charge_box_identity: str,
    message_id: str,
    to: str,
    from_: str | None = None,
    reply_to: str | None = None,
) -> bytes:
    """The request envelope of ``spec`` carrying ``payload`` (an OCPP-J payload, e.g. ``to_json_dict()``).

    Headers: ``chargeBoxIdentity``, ``Action`` (``/<Action>``), ``MessageID``, ``To`` (the URL posted
    to), and ``From`` / ``ReplyTo`` when given (a charge point names its own endpoint in ``From``, where
    the central system will call it). The payload is written as is, not validated: fields the model does
    not define are left out; values of the wrong JSON type, text with characters XML cannot carry, and a
    ``spec`` that is not one of ``version``'s actions raise :class:`UsageError`.
    """
    _check_spec(version, spec)
    out = _request_headers(spec.namespace, spec.name, charge_box_identity, message_id, to, from_, reply_to)
    return _finish(out, spec, spec.request, spec.request_element, payload)


def _request_headers(
    namespace: str,
    escaped_action: str,
    charge_box_identity: str,
    message_id: str,
    to: str,
    from_: str | None,
    reply_to: str | None,
) -> list[str]:
    """A request envelope up to the end of its headers (the Header still open), for both request writers."""
    out = [_opening(namespace)]
    _header(out, "tns:chargeBoxIdentity", charge_box_identity)
    out += ("<a:Action>/", escaped_action, "</a:Action>")
    _header(out, "a:MessageID", message_id)
    _header(out, "a:To", to)
    if from_ is not None:
        out += ("<a:From><a:Address>", _escape_text(from_), "</a:Address></a:From>")
    if reply_to is not None:
        out += ("<a:ReplyTo><a:Address>", _escape_text(reply_to), "</a:Address></a:ReplyTo>")
    return out


def encode_unchecked_request(
    version: OcppVersion,
    sender: Side,
    action: str,
    payload: Mapping[str, Any],
    *,
    charge_box_identity: str,
    message_id: str,
    to: str,
    from_: str | None = None,
    reply_to: str | None = None,
) -> bytes:
    """A request envelope for any ``action`` and ``payload``, unchecked, as a test tool sends it (``call_raw``).

    An action ``sender`` sends in ``version`` with only fields its model defines, of the right JSON
    types, is written as :func:`encode_request` writes it. Anything else is written plainly, in the
    namespace of the service that receives ``sender``'s requests, as ``<action>Request``: objects as
    child elements, lists as repeated elements, scalars as text. No model is consulted then, so an
    unknown action or field reaches the peer as sent, and its answer (a Fault) shows how it copes.
    Raises :class:`UsageError` only for a key that is no XML name or text XML cannot carry.
    """
    spec = version.initiated_by(sender).get(action)
    if spec is not None and isinstance(payload, Mapping) and payload.keys() <= _wire_names(spec.request):
        try:
            return encode_request(
                version,
                spec,
                payload,
                charge_box_identity=charge_box_identity,
                message_id=message_id,
                to=to,
                from_=from_,
                reply_to=reply_to,
            )
        except UsageError:  # a value of the wrong type: written plainly below, for the peer to judge
            pass
    namespace = version.namespace_of(sender.other)
    out = _request_headers(namespace, _escape_text(action), charge_box_identity, message_id, to, from_, reply_to)
    name = (action[:1].lower() + action[1:] or "unnamed") + "Request"
    try:
        element = etree.Element(f"{{{namespace}}}{name}", nsmap={"tns": namespace})
        _fill_plainly(element, namespace, payload)
        body = etree.tostring(element, encoding="unicode")
    except ValueError as exc:  # a key that is no XML name, text XML cannot carry
        raise UsageError(f"cannot write {action} as XML: {exc}") from None
    out += ("</s:Header><s:Body>", body, "</s:Body></s:Envelope>")
    return "".join(out).encode("utf-8")


def _wire_names(model: type[OcppModel]) -> frozenset[str]:
    names = _WIRE_NAMES.get(model)
    if names is None:
        names = _WIRE_NAMES[model] = frozenset(info.alias or name for name, info in model.model_fields.items())
    return names


_WIRE_NAMES: dict[type[OcppModel], frozenset[str]] = {}


def _fill_plainly(parent: etree._Element, namespace: str, value: Any) -> None:
    """JSON ``value`` as ``parent``'s content: objects as children, lists repeated, scalars as text."""
    if isinstance(value, Mapping):
        for key, item in cast("Mapping[str, object]", value).items():
            for one in cast("list[object]", item) if isinstance(item, list) else [item]:
                _fill_plainly(etree.SubElement(parent, f"{{{namespace}}}{key}"), namespace, one)
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    elif value is not None:
        parent.text = str(value)


def encode_response(
    version: OcppVersion,
    spec: ActionSpec,
    payload: Mapping[str, Any],
    *,
    charge_box_identity: str | None,
    relates_to: str | None,
    to: str | None = None,
) -> bytes:
    """The response envelope of ``spec`` carrying ``payload``.

    Headers: ``chargeBoxIdentity`` (the charge point the exchange is with; OCPP-S puts it on every
    message, both directions), ``Action`` (``/<Action>Response``), ``RelatesTo`` (the request's MessageID) and ``To``;
    each left out when None, since requests from real peers may lack a MessageID. Errors as
    :func:`encode_request`.
    """
    _check_spec(version, spec)
    out = [_opening(spec.namespace)]
    if charge_box_identity is not None:
        _header(out, "tns:chargeBoxIdentity", charge_box_identity)
    out += ("<a:Action>/", spec.name, "Response</a:Action>")
    if relates_to is not None:
        _header(out, "a:RelatesTo", relates_to)
    if to is not None:
        _header(out, "a:To", to)
    return _finish(out, spec, spec.response, spec.response_element, payload)


def encode_fault(
    error: OcppError,
    *,
    relates_to: str | None = None,
    namespace: str | None = None,
    charge_box_identity: str | None = None,
) -> bytes:
    """The SOAP 1.2 Fault envelope answering a request with ``error`` (see "Faults" above).

    ``namespace`` is the service namespace of the exchange: the subcode QName and the chargeBoxIdentity
    header are in it (the header is written only when both are known). For an :class:`EnvelopeError`,
    arguments left None are taken from what the error could read, so ``encode_fault(exc)`` answers a
    malformed request as well as can be. ``error.code`` is used, never ``raw_code``: a peer's unknown
    code re-raised by a handler goes out as GenericError. Characters XML cannot carry are dropped from
    the description (it may quote the peer's bad input), so a fault can always be written.
    """
    if isinstance(error, EnvelopeError):
        relates_to = relates_to if relates_to is not None else error.message_id
        namespace = namespace if namespace is not None else error.namespace
        if charge_box_identity is None:
            charge_box_identity = error.charge_box_identity
    code = OCPP_J_1.spell(error.code)  # a 2.x-only code a handler raised, as the 1.x code meaning the same
    out = [_opening(namespace)]
    if namespace and charge_box_identity is not None:
        _header(out, "tns:chargeBoxIdentity", charge_box_identity)
    out.append(f"<a:Action>{FAULT_ACTION}</a:Action>")
    if relates_to is not None:
        _header(out, "a:RelatesTo", relates_to)
    side = "s:Sender" if error.code in SENDER_FAULTS else "s:Receiver"
    subcode = f"tns:{code}" if namespace else code
    reason = _NOT_XML.sub("", error.description) or code
    out += (
        f"</s:Header><s:Body><s:Fault><s:Code><s:Value>{side}</s:Value>",
        f"<s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>",
        f'<s:Reason><s:Text xml:lang="en">{_escape_text(reason)}</s:Text></s:Reason>',
        "</s:Fault></s:Body></s:Envelope>",
    )
    return "".join(out).encode("utf-8")


# --- decoding ----------------------------------------------------------------------------------------------


_PARSER_OPTIONS: Final[dict[str, Any]] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
    "collect_ids": False,
}


class _Parsers(threading.local):
    """One strict and one recovering parser per thread: lxml parser objects must not be shared."""

    def __init__(self) -> None:
        self.strict = etree.XMLParser(**_PARSER_OPTIONS)
        self.lenient = etree.XMLParser(recover=True, **_PARSER_OPTIONS)


_PARSERS = _Parsers()
_NAMESPACE_DOMAIN: Final = etree.ErrorDomains.NAMESPACE
_ERROR_LEVEL: Final = etree.ErrorLevels.ERROR


def _parse(data: bytes) -> etree._Element:
    """Parse strictly; re-parse in recover mode only if namespace errors alone failed the document."""
    parsers = _PARSERS
    try:
        root = etree.fromstring(data, parsers.strict)
    except etree.XMLSyntaxError as exc:
        # The parser's own log: the exception's may also hold errors of other parsers of this thread (an
        # lxml feed parser that failed earlier leaves its errors in the thread's log).
        errors = [e for e in cast(Iterable[Any], parsers.strict.error_log) if e.level >= _ERROR_LEVEL]
        if not errors or any(e.domain != _NAMESPACE_DOMAIN for e in errors):
            raise EnvelopeError(_FV, f"not well-formed XML: {exc}") from None
        try:
            root = etree.fromstring(data, parsers.lenient)
        except etree.XMLSyntaxError as exc2:  # pragma: no cover - recover mode accepted what strict read
            raise EnvelopeError(_FV, f"not well-formed XML: {exc2}") from None
        if root is None:  # pragma: no cover - as above
            raise EnvelopeError(_FV, "not well-formed XML") from None
    if cast(Any, root.getroottree().docinfo).doctype:  # e.g. a DOCTYPE in UTF-16, which the byte scan cannot see
        raise EnvelopeError(_FV, "a DOCTYPE is not allowed in a SOAP message")
    return root


def _decode_element(element: etree._Element, plan: _Plan) -> dict[str, Any]:
    """The OCPP-J payload of ``element`` according to ``plan`` (see the module docstring for the rules)."""
    out: dict[str, Any] = {}
    if plan.attr_by_local:
        for name, value in cast("list[tuple[str, str]]", element.items()):  # lxml returns str, not bytes
            found = plan.attr_by_local.get(name)
            if found is None:
                found = plan.attr_by_local.get(_local(name))
                if found is None:
                    continue  # xsi:type and the like: not a field
            out[found[0]] = found[1](value)
    if plan.text is not None:
        out[plan.text[0]] = plan.text[2](element.text)
    by_tag = plan.by_tag
    doubled: set[str] | None = None  # keys of elements given more than once though they may occur once
    for child in element:
        tag = child.tag
        entry = by_tag.get(tag)
        if entry is None:
            if not isinstance(tag, str):
                continue  # entity references and the like; comments and PIs are removed by the parser
            local = _local(tag)
            entry = plan.by_local.get(local)
            if entry is None:
                # Unknown element: keep it so the model refuses it as an unknown field, as in OCPP-J.
                out.setdefault(local, child.text or "")
                continue
        key, dec, nested, repeated = entry
        item = _decode_element(child, nested) if nested is not None else dec(child.text)
        if repeated:
            items = out.get(key)
            if items is None:
                out[key] = [item]
            elif type(items) is list:
                cast("list[object]", items).append(item)
            else:  # the text of an unknown element that happens to have this key
                out[key] = [items, item]
        elif key in out:
            # Given twice though it may occur once: a list makes the model report a type fault. Each later
            # occurrence is appended to that list (in place: copying it each time made decoding quadratic).
            if doubled is None:
                doubled = set()
            if key in doubled:
                out[key].append(item)
            else:
                out[key] = [out[key], item]
                doubled.add(key)
        else:
            out[key] = item
    return out


def _header_text(element: etree._Element) -> str | None:
    text = element.text
    if text is None:
        return None
    return text.strip(_WS) or None


def _address(element: etree._Element) -> str | None:
    for child in element:
        if type(child.tag) is str and _local(child.tag) == "Address":
            return _header_text(child)
    return None


_CODE_CLASSES: Final[dict[str, type[OcppError]]] = {
    "Sender": ProtocolError,
    "Client": ProtocolError,
    "Receiver": InternalError,
    "Server": InternalError,
    "MustUnderstand": ProtocolError,
    "VersionMismatch": FormationViolation,
    "DataEncodingUnknown": FormationViolation,
}
_WSA_SUBCODES: Final[dict[str, type[OcppError]]] = {
    "ActionNotSupported": ActionNotImplemented,
    "ActionMismatch": ProtocolError,
    "InvalidAddressingHeader": ProtocolError,
    "MessageAddressingHeaderRequired": ProtocolError,
    "DestinationUnreachable": ProtocolError,
    "EndpointUnavailable": InternalError,
}
_OCPP_CODES: Final = frozenset(code.value for code in ErrorCode) | {"OccurrenceConstraintViolation"}


def _qname_local(text: str | None) -> str:
    """``soap:Sender`` → ``Sender``; whitespace around the QName is allowed."""
    text = (text or "").strip(_WS)
    return text.rpartition(":")[2]


def _read_fault(fault: etree._Element) -> OcppError:
    """The :class:`OcppError` a SOAP 1.2 or 1.1 Fault carries (rules in the module docstring)."""
    code: str | None = None
    subcodes: list[str] = []
    reason = ""
    for child in fault:
        if type(child.tag) is not str:
            continue
        local = _local(child.tag)
        if local == "Code":
            node: etree._Element | None = child
            first = True
            while node is not None:
                value: str | None = None
                deeper: etree._Element | None = None
                for part in node:
                    if type(part.tag) is not str:
                        continue
                    part_local = _local(part.tag)
                    if part_local == "Value" and value is None:
                        value = _qname_local(part.text)
                    elif part_local == "Subcode" and deeper is None:
                        deeper = part
                if first:
                    code = value
                elif value:
                    subcodes.append(value)
                first = False
                node = deeper
        elif local == "Reason":
            for text in child:
                if type(text.tag) is str and _local(text.tag) == "Text":
                    reason = (text.text or "").strip(_WS)
                    break
        elif local == "faultcode":  # SOAP 1.1: "soap:Client" or "soap:Client.Detail"
            parts = _qname_local(child.text).split(".")
            code = parts[0]
            subcodes.extend(p for p in parts[1:] if p)
        elif local == "faultstring":
            reason = (child.text or "").strip(_WS)
    for sub in subcodes:
        if sub in _OCPP_CODES:
            return OcppError.from_code(sub, reason, remote=True)
    for sub in subcodes:
        cls = _WSA_SUBCODES.get(sub)
        if cls is not None:
            return cls(reason, remote=True)
    return _CODE_CLASSES.get(code or "", GenericError)(reason, remote=True)


def _is_envelope_part(tag: str, local: str) -> bool:
    """Whether ``tag`` is the SOAP element ``local`` (Body, Fault) in the SOAP 1.2 or 1.1 namespace, or
    written with an undeclared prefix (``SOAP-ENV:Fault``, kept as a plain name by recover mode)."""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return name == local and namespace in (SOAP_NS, SOAP11_NS)
    prefix, colon, name = tag.rpartition(":")
    return bool(colon) and bool(prefix) and name == local


def _action_matches(header: str, spec: ActionSpec) -> bool:
    """Whether the Action header names ``spec``: ``/BootNotification``, ``BootNotification``, a URI ending
    in ``/BootNotification``, each optionally with ``Response`` (for either direction)."""
    name = header.rstrip("/").rpartition("/")[2]
    if name.endswith("Response") and name != spec.name:
        name = name[: -len("Response")]
    return name == spec.name


def decode_message(
    body: bytes | bytearray | memoryview,
    versions: Iterable[OcppVersion],
    *,
    max_size: int = DEFAULT_MAX_SIZE,
) -> SoapMessage:
    """Read one SOAP envelope (a request, response or fault) of any of ``versions``.

    The version and the action come from the body element (its namespace and local name), so a server
    can serve several versions at one URL; pass the versions it serves (or the one a client speaks).
    The payload is converted to JSON types but not validated: validate it with :attr:`SoapMessage.model`.
    Raises :class:`EnvelopeError`, and nothing else, for any malformed input (``UsageError`` if ``body``
    is not bytes); the module docstring has the classification and the tolerance rules.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise UsageError(f"decode_message() takes bytes, not {type(body).__name__}")
    size = len(body) if not isinstance(body, memoryview) else body.nbytes
    if size > max_size:
        raise EnvelopeError(_FV, f"envelope of {size} bytes exceeds the limit of {max_size} bytes")
    data = bytes(body)
    if b"<!DOCTYPE" in data:
        raise EnvelopeError(_FV, "a DOCTYPE is not allowed in a SOAP message")
    root = _parse(data)

    tag = root.tag
    if tag == _S_ENVELOPE:
        env_ns = SOAP_NS
    elif tag == _S11_ENVELOPE:
        env_ns = SOAP11_NS
    else:
        raise EnvelopeError(_FV, f"not a SOAP envelope: root element {tag!r}")
    header_tag = f"{{{env_ns}}}Header"
    body_tag = f"{{{env_ns}}}Body"
    header_el: etree._Element | None = None
    body_el: etree._Element | None = None
    for child in root:
        if child.tag == body_tag:
            if body_el is None:
                body_el = child
        elif child.tag == header_tag and header_el is None:
            header_el = child

    identity = message_id = relates_to = action = to = from_address = reply_to_address = None
    if header_el is not None:
        for item in header_el:
            if type(item.tag) is not str:
                continue
            local = _local(item.tag)
            if local == "chargeBoxIdentity":
                text = _header_text(item)
                if identity is not None and text is not None and text != identity:
                    raise EnvelopeError(
                        ErrorCode.PROTOCOL_ERROR,
                        f"two different chargeBoxIdentity headers: {identity!r} and {text!r}",
                        message_id=message_id,
                    )
                identity = identity or text
            elif local == "Action":
                action = action or _header_text(item)
            elif local == "MessageID":
                message_id = message_id or _header_text(item)
            elif local == "RelatesTo":
                relates_to = relates_to or _header_text(item)
            elif local == "To":
                to = to or _header_text(item)
            elif local == "From":
                from_address = from_address or _address(item)
            elif local == "ReplyTo":
                reply_to_address = reply_to_address or _address(item)

    def error(code: ErrorCode, description: str, **context: Any) -> EnvelopeError:
        return EnvelopeError(code, description, message_id=message_id, charge_box_identity=identity, **context)

    if body_el is None:
        raise error(_FV, "the envelope has no Body")
    element = None
    for child in body_el:
        if type(child.tag) is str:
            if element is not None:  # refused at the second: the rest of a long Body is not looked at
                raise error(_FV, "the Body holds more than one element, expected one")
            element = child
    if element is None:
        raise error(_FV, "the Body is empty")
    tag = element.tag
    assert isinstance(tag, str)
    if _is_envelope_part(tag, "Body"):
        # ocppjs nests a Body in the Body (``<soap:Body><SOAP-ENV:Body><SOAP-ENV:Fault>``): look inside, once
        inner, element = element, None
        for child in inner:
            if type(child.tag) is str:
                if element is not None:
                    raise error(_FV, "the inner Body holds more than one element, expected one")
                element = child
        if element is None:
            raise error(_FV, "the Body is empty")
        tag = element.tag
        assert isinstance(tag, str)

    if tag in (_S_FAULT, _S11_FAULT) or _is_envelope_part(tag, "Fault"):
        return SoapMessage(
            None,
            None,
            True,
            {},
            identity,
            message_id,
            relates_to,
            action,
            to,
            from_address,
            reply_to_address,
            _read_fault(element),
        )

    namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    for version in versions:
        by_name = _index(version)[1].get(namespace)
        if by_name is None:
            continue
        found = by_name.get(local)
        if found is None:
            raise error(
                ErrorCode.NOT_IMPLEMENTED,
                f"{local!r} is not an operation of OCPP {version.version} service {namespace}",
                namespace=namespace,
                version=version,
            )
        spec, is_response = found
        break
    else:
        raise error(ErrorCode.NOT_IMPLEMENTED, f"body element {tag!r} is not in the namespace of a served version")

    if action is not None and not _action_matches(action, spec):
        raise error(
            ErrorCode.PROTOCOL_ERROR,
            f"the Action header {action!r} contradicts the body element {local!r}",
            namespace=namespace,
            version=version,
            spec=spec,
        )
    model = spec.response if is_response else spec.request
    payload = _decode_element(element, _plan(model, namespace))
    return SoapMessage(
        version,
        spec,
        is_response,
        payload,
        identity,
        message_id,
        relates_to,
        action,
        to,
        from_address,
        reply_to_address,
    )


# --- the identity alone, before the body ------------------------------------------------------------------


HEADER_READ_LIMIT: Final = 64 * 1024
"""How far into an envelope :class:`IdentityReader` looks for the chargeBoxIdentity (64 KiB: a real
Header takes well under 2 KiB)."""


_SLICE: Final = 512


class IdentityReader:
    """The chargeBoxIdentity of an envelope arriving in pieces, read from its Header alone.

    For a server that checks credentials against the identity before it reads and decodes the rest of
    a body: :meth:`feed` it the body as it arrives until it returns True (or the body ends), then read
    :attr:`identity`. Parsing stops at the first non-empty chargeBoxIdentity of the first Header, at the
    end of that Header, at the start of the Body, or after ``limit`` bytes, whichever comes first; so an
    envelope costs no more than the part of it before its Body, and at most ``limit`` bytes. The parser
    is lxml's push parser with the options :func:`decode_message` uses (no DTD, no entities, no network),
    which, like decode_message's recover mode, reads an undeclared ``prefix:name`` as a plain name.
    What it finds is no verdict on the envelope: :func:`decode_message` reads the whole body afterwards,
    and the caller compares the two identities.

    :meth:`feed` raises :class:`EnvelopeError` (FormationViolation) when the bytes cannot start a SOAP
    envelope: not well-formed so far, a DOCTYPE, a root element other than a SOAP 1.1 / 1.2 Envelope.
    """

    __slots__ = ("_depth", "_header", "_limit", "_parser", "_seen", "_tail", "done", "identity")

    def __init__(self, limit: int = HEADER_READ_LIMIT) -> None:
        self._parser = etree.XMLPullParser(events=("start", "end"), **_PARSER_OPTIONS)
        self._limit = limit
        self._seen = 0
        self._depth = 0
        self._header: str | None = None  # the Header tag of the envelope's namespace, while inside it
        self._tail = b""  # the end of the previous piece, for a DOCTYPE cut in two
        self.done = False
        """True once feeding more cannot change :attr:`identity`."""
        self.identity: str | None = None
        """The chargeBoxIdentity found (stripped), or None."""

    def feed(self, data: bytes | bytearray | memoryview) -> bool:
        """Read the next piece of the body; True once done (more pieces are then ignored)."""
        if self.done:
            return True
        piece = bytes(data[: self._limit - self._seen])
        self._seen += len(piece)
        if self._seen >= self._limit:
            self.done = True
        scan = self._tail + piece
        if b"<!DOCTYPE" in scan:
            raise EnvelopeError(_FV, "a DOCTYPE is not allowed in a SOAP message")
        self._tail = scan[-8:]
        try:
            # In slices: the push parser parses all it is given before the events are looked at, and a
            # Header usually ends in the first few hundred bytes, so the rest of a piece is never parsed.
            for at in range(0, len(piece), _SLICE):
                self._parser.feed(piece[at : at + _SLICE])
                for event, element in self._parser.read_events():
                    if self._event(event, cast(etree._Element, element)):  # only start and end events are asked for
                        self.done = True
                        return True
        except etree.XMLSyntaxError as exc:
            self.done = True
            raise EnvelopeError(_FV, f"not well-formed XML: {exc}") from None
        return self.done

    def _event(self, event: str, element: etree._Element) -> bool:
        """Follow one parser event; True when the search is over."""
        tag = element.tag
        if event == "start":
            depth = self._depth
            self._depth = depth + 1
            if depth == 0:
                if tag == _S_ENVELOPE:
                    self._header = f"{{{SOAP_NS}}}Header"
                elif tag == _S11_ENVELOPE:
                    self._header = f"{{{SOAP11_NS}}}Header"
                else:
                    raise EnvelopeError(_FV, f"not a SOAP envelope: root element {tag!r}")
            elif depth == 1:
                # The first Header is searched; anything else (a Body) ends the search.
                return tag != self._header
            return False
        self._depth -= 1
        if self._depth == 1:
            return True  # the end of the Header
        if self._depth == 2 and type(tag) is str and _local(tag) == "chargeBoxIdentity":
            self.identity = _header_text(element)
            return self.identity is not None
        return False
