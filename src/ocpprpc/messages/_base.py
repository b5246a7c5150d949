"""What every generated OCPP model stands on: the base model, scalar types, XML facts and the action registry.

The generated modules under ``ocpprpc.messages.v12`` / ``v15`` / ``v16`` are data: they declare fields,
constraints and XML facts, and import everything with behaviour from here. Keeping the behaviour in one
hand-written module means a fix to, say, date-time output lands in all three versions at once and the
generator stays a small template engine.

Wire conventions encoded here:

* OCPP-J field names are the WSDL element names (camelCase); Python attributes are snake_case. Both
  are accepted on construction, aliases are emitted.
* ``xs:dateTime`` must carry a timezone and is emitted in UTC as ``2026-11-24T10:00:00Z``.
* ``xs:int`` and ``xs:boolean`` are strict: ``"connectorId": "1"`` is a type fault, as OCPP-J says.
* ``xs:decimal`` is emitted as a JSON number, not pydantic's default string.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal as _Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, PlainSerializer, Strict, model_validator

__all__ = [
    "ActionSpec",
    "Boolean",
    "DateTime",
    "Decimal",
    "Integer",
    "OcppLegacyListsModel",
    "OcppModel",
    "OcppRequest",
    "OcppVersion",
    "Side",
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


DateTime = Annotated[AwareDatetime, PlainSerializer(format_datetime, return_type=str, when_used="json")]
"""``xs:dateTime``: timezone-aware; emitted in UTC with ``Z``."""

Integer = Annotated[int, Strict()]
"""``xs:int``: a JSON integer; strings and floats are type faults."""

Boolean = Annotated[bool, Strict()]
"""``xs:boolean``: a JSON boolean; ``"true"`` or ``1`` are type faults."""

Decimal = Annotated[_Decimal, PlainSerializer(_decimal_to_json, return_type=float, when_used="json")]
"""``xs:decimal``: any JSON number in, a JSON number out."""


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
        """This model as an OCPP-J payload: wire names, absent fields left out, JSON types only."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


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
        if not cls.__ocpp_legacy_lists__ or not isinstance(data, Mapping):
            return data
        for json_key, legacy_key in cls.__ocpp_legacy_lists__:
            texts = data.get(legacy_key)
            if json_key in data or not isinstance(texts, list):
                continue
            if not all(isinstance(text, str | int | float) for text in texts):
                continue
            attrs = data.get("@" + legacy_key)
            attr_list: list[Any] = attrs if isinstance(attrs, list) else []
            merged = []
            for index, text in enumerate(texts):
                extra = attr_list[index] if index < len(attr_list) and isinstance(attr_list[index], Mapping) else {}
                merged.append({**extra, "value": str(text)})
            data = {k: v for k, v in data.items() if k not in (legacy_key, "@" + legacy_key)}
            data[json_key] = merged
        return data


R = TypeVar("R", bound=OcppModel)

if TYPE_CHECKING:

    class OcppRequest(OcppModel, Generic[R]):
        """Base of every request model, generic in its response model for the type checker.

        ``class ResetRequest(OcppRequest[ResetResponse])`` lets ``await peer.call(ResetRequest(...))`` be
        typed as returning a ``ResetResponse``.
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
    request: type[OcppModel]
    response: type[OcppModel]
    initiator: Side
    namespace: str
    request_element: str
    response_element: str
    documentation: str = ""


@dataclass(frozen=True)
class OcppVersion:
    """Everything the RPC core and the transports need to know about one OCPP version."""

    version: str
    subprotocol: str
    central_system_namespace: str
    charge_point_namespace: str
    actions: tuple[ActionSpec, ...]
    _by_initiator: dict[Side, dict[str, ActionSpec]] = field(init=False, repr=False, compare=False)
    _by_request: dict[tuple[type[OcppModel], Side], ActionSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_initiator: dict[Side, dict[str, ActionSpec]] = {Side.CHARGE_POINT: {}, Side.CENTRAL_SYSTEM: {}}
        for spec in self.actions:
            by_initiator[spec.initiator][spec.name] = spec
        object.__setattr__(self, "_by_initiator", by_initiator)
        object.__setattr__(self, "_by_request", {(spec.request, spec.initiator): spec for spec in self.actions})

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

    def namespace_of(self, side: Side) -> str:
        """The service namespace of ``side`` (the namespace of the requests it receives)."""
        return self.central_system_namespace if side is Side.CENTRAL_SYSTEM else self.charge_point_namespace
