"""What every generated OCPP model stands on: the base model, scalar types, XML facts and the action registry.

The generated modules under ``ocpprpc.messages.v12`` / ``v15`` / ``v16`` (from the WSDLs) and ``v201`` /
``v21`` (from the official JSON schemas) are data: they declare fields, constraints and (1.x) XML facts,
and import everything with behaviour from here. Keeping the behaviour in one hand-written module means a
fix to, say, date-time output lands in every version at once and the generator stays a small template
engine.

Wire conventions encoded here:

* OCPP-J field names are the WSDL element names (camelCase); Python attributes are snake_case. Both
  are accepted on construction, aliases are emitted.
* ``xs:dateTime`` is an RFC 3339 string (the official JSON schemas' ``"format": "date-time"``) and must
  carry a timezone: ``2026-11-24T10:00:00Z``, ``2026-11-24T12:00:00.5+02:00``. Unix time (a JSON number
  or a digit string), a date alone or a space for the ``T`` are type faults. Emitted in UTC with ``Z``.
* ``xs:int`` and ``xs:boolean`` are strict: ``"connectorId": "1"`` is a type fault, as OCPP-J says.
* ``xs:decimal`` is a JSON number: ``"limit": "16.5"`` is a type fault. Emitted as a JSON number, not
  pydantic's default string.
* ``xs:anyURI`` is a string, described as ``"format": "uri"`` in the JSON schema (not checked, as by the
  official schemas' validators).
* OCPP 2.x says the same in JSON Schema terms: ``integer`` is :data:`Integer`, ``number`` is
  :data:`Decimal`, ``"format": "date-time"`` is :data:`DateTime`; ``minimum`` / ``maximum`` are
  ``ge`` / ``le`` on the integer, :class:`DecimalBounds` on the number.
* Every 2.x object refuses unknown keys, except ``CustomDataType``, the one open object (vendor
  extensions), generated on :class:`OcppOpenModel`: its other keys are kept and emitted again.

These checks run inside pydantic-core (no Python call per value): the codec stays as fast as with
pydantic's own lax types. ``ocpprpc._lenient`` repairs what they refuse for roles that are not strict.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal as _Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, Literal, TypeGuard, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    Strict,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from pydantic_core import core_schema as cs

__all__ = [
    "ActionSpec",
    "Boolean",
    "DateTime",
    "Decimal",
    "DecimalBounds",
    "DecimalPlaces",
    "Integer",
    "OcppLegacyListsModel",
    "OcppModel",
    "OcppOpenModel",
    "OcppRequest",
    "OcppVersion",
    "SendSpec",
    "Side",
    "Uri",
    "XmlChild",
    "XmlFacts",
    "format_datetime",
]


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, the form every OCPP implementation parses."""
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _decimal_to_json(value: _Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() and value.as_tuple().exponent == 0 else float(value)


RFC3339_DATE_TIME = r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)?$"
"""RFC 3339's ``date-time``; the offset is optional here so that its absence is reported as ``timezone_aware``."""

DATE_TIME_FORMAT_ERROR = "date_time_format"
"""The pydantic error type of a date-time that is not an RFC 3339 string (a number, ``"1732442400"``, ...)."""

NUMBER_TYPE_ERROR = "number_type"
"""The pydantic error type of a decimal that is not a JSON number (``"16.5"``, ``true``)."""


class _Rfc3339:
    """``xs:dateTime`` as OCPP-J has it: an RFC 3339 string (or, from Python, a ``datetime``).

    pydantic's own lax datetime also takes Unix time (``1732442400``, ``"1732442400"``), dates without a
    time and a space for the ``T``; the official JSON schemas do not. A union checked in pydantic-core
    lets through only a ``datetime`` or a string of the RFC 3339 shape, then pydantic's parser runs.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        shape = cs.union_schema(
            [cs.str_schema(strict=True, pattern=RFC3339_DATE_TIME), cs.is_instance_schema(datetime)],
            mode="left_to_right",
            custom_error_type=DATE_TIME_FORMAT_ERROR,
            custom_error_message="Input should be an RFC 3339 date-time string such as 2026-11-24T10:00:00Z",
        )
        return cs.chain_schema(
            [shape, handler(source)],
            serialization=cs.plain_serializer_function_ser_schema(format_datetime, when_used="json"),
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string", "format": "date-time"}


class _JsonNumber:
    """``xs:decimal`` as OCPP-J has it: a JSON number (or, from Python, a ``Decimal``), never a string.

    pydantic's lax decimal takes ``"16.5"``; the official JSON schemas say ``"type": "number"``. The type
    check runs in pydantic-core, then pydantic's decimal validator (with the places of a
    :class:`DecimalPlaces` after it).
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        number = cs.union_schema(
            [cs.int_schema(strict=True), cs.float_schema(strict=True), cs.is_instance_schema(_Decimal)],
            mode="left_to_right",
            custom_error_type=NUMBER_TYPE_ERROR,
            custom_error_message="Input should be a JSON number",
        )
        return cs.chain_schema(
            [number, cs.decimal_schema()],
            serialization=cs.plain_serializer_function_ser_schema(_decimal_to_json, when_used="json"),
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "number"}


@dataclass(frozen=True, slots=True)
class DecimalPlaces:
    """``xs:fractionDigits`` of a :data:`Decimal`: ``Annotated[Decimal, DecimalPlaces(1)]``.

    Sets the places on the decimal step of the JSON-number check (``Field(decimal_places=...)`` after it
    would add a Python call per value); in the JSON schema, ``"multipleOf": 0.1``.
    """

    decimal_places: int

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return _on_decimal_step(handler(source), "DecimalPlaces", decimal_places=self.decimal_places)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {**handler(schema), "multipleOf": float(_Decimal(1).scaleb(-self.decimal_places))}


@dataclass(frozen=True, slots=True)
class DecimalBounds:
    """``minimum`` / ``maximum`` of a 2.x ``number``: ``Annotated[Decimal, DecimalBounds(le=0)]``.

    Like :class:`DecimalPlaces`, the bounds go on the decimal step of the JSON-number check, inside
    pydantic-core: ``Field(le=0)`` on ocpprpc's :data:`Decimal` would add a Python call per value. In the
    JSON schema, ``"minimum"`` / ``"maximum"``. (On an :data:`Integer`, ``Field(ge=..., le=...)`` is
    already checked in pydantic-core.)
    """

    ge: int | float | None = None
    le: int | float | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        bounds = {name: value for name, value in (("ge", self.ge), ("le", self.le)) if value is not None}
        return _on_decimal_step(handler(source), "DecimalBounds", **bounds)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        bounds = {name: value for name, value in (("minimum", self.ge), ("maximum", self.le)) if value is not None}
        return {**handler(schema), **bounds}


def _on_decimal_step(schema: CoreSchema, what: str, **settings: Any) -> CoreSchema:
    """``schema`` (ocpprpc's :data:`Decimal`) with ``settings`` added to its final decimal step."""
    if schema["type"] != "chain" or schema["steps"][-1]["type"] != "decimal":
        raise TypeError(f"{what} applies to ocpprpc's Decimal only")
    step: dict[str, Any] = {key: value for key, value in schema["steps"][-1].items() if key != "type"}
    return {**schema, "steps": [*schema["steps"][:-1], cs.decimal_schema(**step, **settings)]}


class _UriFormat:
    """Says ``"format": "uri"`` in the JSON schema of an ``xs:anyURI`` string."""

    json_format = "uri"

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {**handler(schema), "format": "uri"}


DateTime = Annotated[AwareDatetime, _Rfc3339()]
"""``xs:dateTime``: an RFC 3339 string with a timezone (or a timezone-aware ``datetime``); emitted in UTC with ``Z``."""

Integer = Annotated[int, Strict()]
"""``xs:int``: a JSON integer; strings and floats are type faults."""

Boolean = Annotated[bool, Strict()]
"""``xs:boolean``: a JSON boolean; ``"true"`` or ``1`` are type faults."""

Decimal = Annotated[_Decimal, _JsonNumber()]
"""``xs:decimal``: any JSON number in (a string is a type fault), a JSON number out."""

Uri = Annotated[str, _UriFormat()]
"""``xs:anyURI``: a string."""


XmlKind = Literal["element", "attribute", "text"]
XmlScalar = Literal["str", "int", "bool", "datetime", "decimal"]


@dataclass(frozen=True, slots=True)
class XmlChild:
    """How one model field appears in XML.

    ``kind`` says whether the field is a child element, an XML attribute, or the element's own text
    (``xs:simpleContent``). ``value`` is either a nested model class or the scalar kind the SOAP codec
    converts text to and from. ``repeated`` marks ``maxOccurs > 1``.
    """

    field: str
    name: str
    kind: XmlKind
    value: type[OcppModel] | XmlScalar
    repeated: bool = False
    required: bool = True


@dataclass(frozen=True, slots=True)
class XmlFacts:
    """The XML shape of a model: its XSD type name and its children in schema order."""

    type_name: str
    children: tuple[XmlChild, ...] = ()

    def __iter__(self) -> Iterator[XmlChild]:
        return iter(self.children)


class OcppModel(BaseModel):
    """Base of every generated OCPP model.

    Unknown fields are refused (``extra="forbid"``): OCPP-J answers them with
    PropertyConstraintViolation. Python names and wire names are both accepted on input.
    """

    model_config = ConfigDict(
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_attribute_docstrings=False,
    )

    __ocpp_xml__: ClassVar[XmlFacts] = XmlFacts(type_name="")
    """The XML facts of this model; set by the generated code."""

    def to_json_dict(self) -> dict[str, Any]:
        """This model as an OCPP-J payload: wire names, absent fields left out, JSON types only.

        ``model_dump(mode="json", by_alias=True, exclude_none=True)``, asked of the serializer directly:
        model_dump's own keyword handling costs as much as serialising a small model (a Heartbeat
        response: 29k instructions that way, 18k this way), and every answer goes through here.
        """
        payload: dict[str, Any] = self.__pydantic_serializer__.to_python(
            self, mode="json", by_alias=True, exclude_none=True
        )
        return payload


def _is_list(value: object) -> TypeGuard[list[Any]]:
    return isinstance(value, list)


def _is_mapping(value: object) -> TypeGuard[Mapping[Any, Any]]:
    return isinstance(value, Mapping)


def _is_dict(value: object) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict)


class OcppLegacyListsModel(OcppModel):
    """Base of the few models (1.5's MeterValue) whose JSON form has an older ocppjs spelling too.

    A separate base so that the Python-level validator below runs only for them, not for every model
    on the hot path.
    """

    __ocpp_legacy_lists__: ClassVar[tuple[tuple[str, str], ...]] = ()
    """(json key, legacy key) pairs for 1.5 repeated simple-content elements; see ``_accept_legacy``."""

    @model_validator(mode="before")
    @classmethod
    def _accept_legacy(cls, data: Any) -> Any:
        """Accept the pre-1.0.2 ocppjs form of 1.5's repeated ``value`` element.

        ocppjs 1.0.2 writes a MeterValue's readings as ``"values": [{"value": "0", "unit": "Wh"}]``; earlier
        versions wrote ``"value": ["0", "20"], "@value": [{}, {"unit": "Wh"}]``. The latter is rewritten to
        the former here so both validate; only the former is ever emitted.
        """
        if not cls.__ocpp_legacy_lists__ or not _is_mapping(data):
            return data
        fields = data
        for json_key, legacy_key in cls.__ocpp_legacy_lists__:
            texts = fields.get(legacy_key)
            if json_key in fields or not _is_list(texts):
                continue
            if not all(isinstance(text, str | int | float) for text in texts):
                continue
            attrs = fields.get("@" + legacy_key)
            attr_list = attrs if _is_list(attrs) else []
            merged: list[dict[Any, Any]] = []
            for index, text in enumerate(texts):
                extra = attr_list[index] if index < len(attr_list) else None
                merged.append({**(extra if _is_mapping(extra) else {}), "value": str(text)})
            fields = {k: v for k, v in fields.items() if k not in (legacy_key, "@" + legacy_key)} | {json_key: merged}
        return fields


class OcppOpenModel(OcppModel):
    """Base of an open object: OCPP 2.x's ``CustomDataType``, where vendors add keys of their own.

    Its declared fields (``vendor_id``) are typed and checked as usual; any other key is kept as given
    (``extra="allow"``, read with ``model.model_extra``) and emitted again by :meth:`to_json_dict`, a
    ``null`` one included, so a vendor extension passes through unchanged. The only 2.x object without
    ``"additionalProperties": false`` in the official schemas.
    """

    model_config = ConfigDict(extra="allow")

    @model_serializer(mode="wrap")
    def _keep_extra_nulls(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        """Emit a vendor key whose value is ``null`` as well: ``exclude_none`` is meant for our absent fields."""
        data = handler(self)
        extra = self.__pydantic_extra__
        if info.exclude_none and extra and _is_dict(data):
            for key, value in extra.items():
                if value is None:
                    data.setdefault(key, None)
        return data


R_co = TypeVar("R_co", bound=OcppModel, covariant=True)

if TYPE_CHECKING:

    class OcppRequest(OcppModel, Generic[R_co]):
        """Base of every request model, generic in its response model for the type checker.

        ``class ResetRequest(OcppRequest[ResetResponse])`` lets ``await peer.call(ResetRequest(...))`` be
        typed as returning a ``ResetResponse``. Covariant, so that a request of one of several versions
        (``v16.ResetRequest | v15.ResetRequest``) is typed as returning one of their responses.
        """

else:

    class OcppRequest(OcppModel):
        """Base of every request model; ``OcppRequest[Response]`` is the type checker's view only.

        At run time the subscript returns the class itself, so no pydantic generic machinery (and none of
        its cost) is involved: the response model of a request is found through the action registry.
        """

        def __class_getitem__(cls, item: Any) -> Any:
            return cls


class Side(enum.StrEnum):
    """The two roles of OCPP. An action's ``initiator`` is the side that sends its request."""

    CHARGE_POINT = "ChargePoint"
    CENTRAL_SYSTEM = "CentralSystem"

    @property
    def other(self) -> Side:
        return Side.CENTRAL_SYSTEM if self is Side.CHARGE_POINT else Side.CHARGE_POINT


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One OCPP operation: its request and response models and where it lives on the wire.

    ``namespace`` is the namespace of the service that *receives* the request (the central system
    service for charge-point-initiated actions), which is the namespace of both SOAP body elements.
    """

    name: str
    request: type[OcppRequest[OcppModel]]
    response: type[OcppModel]
    initiator: Side
    namespace: str
    request_element: str
    response_element: str
    documentation: str = ""


@dataclass(frozen=True, slots=True)
class SendSpec:
    """One OCPP 2.1 SEND message (message type 6): sent by ``initiator``, never answered.

    Unlike an :class:`ActionSpec` there is no response, and ``message`` is a plain :class:`OcppModel`
    (not an :class:`OcppRequest`), so a type checker refuses it as the argument of ``call()``. The one
    2.1 case is NotifyPeriodicEventStream, sent by the Charging Station.
    """

    name: str
    message: type[OcppModel]
    initiator: Side
    documentation: str = ""


@dataclass(frozen=True)
class OcppVersion:
    """Everything the RPC core and the transports need to know about one OCPP version.

    ``actions`` are the request / response operations; ``sends`` the unanswered SEND messages (OCPP 2.1
    only; empty for every other version). The SOAP namespaces are empty strings for the JSON-only 2.x
    versions.
    """

    version: str
    subprotocol: str
    central_system_namespace: str
    charge_point_namespace: str
    actions: tuple[ActionSpec, ...]
    sends: tuple[SendSpec, ...] = ()
    _by_initiator: dict[Side, dict[str, ActionSpec]] = field(init=False, repr=False, compare=False)
    _by_request: dict[tuple[type[OcppModel], Side], ActionSpec] = field(init=False, repr=False, compare=False)
    _sends_by_initiator: dict[Side, dict[str, SendSpec]] = field(init=False, repr=False, compare=False)
    _sends_by_message: dict[type[OcppModel], SendSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_initiator: dict[Side, dict[str, ActionSpec]] = {Side.CHARGE_POINT: {}, Side.CENTRAL_SYSTEM: {}}
        for spec in self.actions:
            by_initiator[spec.initiator][spec.name] = spec
        object.__setattr__(self, "_by_initiator", by_initiator)
        object.__setattr__(self, "_by_request", {(spec.request, spec.initiator): spec for spec in self.actions})
        sends_by_initiator: dict[Side, dict[str, SendSpec]] = {Side.CHARGE_POINT: {}, Side.CENTRAL_SYSTEM: {}}
        for send in self.sends:
            sends_by_initiator[send.initiator][send.name] = send
        object.__setattr__(self, "_sends_by_initiator", sends_by_initiator)
        object.__setattr__(self, "_sends_by_message", {send.message: send for send in self.sends})

    def initiated_by(self, side: Side) -> Mapping[str, ActionSpec]:
        """The actions whose requests ``side`` sends, by action name."""
        return self._by_initiator[side]

    def received_by(self, side: Side) -> Mapping[str, ActionSpec]:
        """The actions whose requests ``side`` answers, by action name."""
        return self._by_initiator[side.other]

    def for_request(self, request: type[OcppModel], initiator: Side) -> ActionSpec:
        """The action ``initiator`` sends with request model ``request``; ``KeyError`` if there is none.

        The initiator is needed because DataTransfer has one request model and goes both ways.
        """
        return self._by_request[(request, initiator)]

    def sent_by(self, side: Side) -> Mapping[str, SendSpec]:
        """The SEND messages ``side`` sends (and the other side receives, unanswered), by name."""
        return self._sends_by_initiator[side]

    def for_message(self, message: type[OcppModel]) -> SendSpec:
        """The SEND message whose model is ``message``; ``KeyError`` if there is none."""
        return self._sends_by_message[message]

    def namespace_of(self, side: Side) -> str:
        """The service namespace of ``side`` (the namespace of the requests it receives)."""
        return self.central_system_namespace if side is Side.CENTRAL_SYSTEM else self.charge_point_namespace
