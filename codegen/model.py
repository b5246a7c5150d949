"""From xmlschema components to a small, Python-shaped description of one OCPP version.

The description (:class:`VersionDef` and the ``*Def`` classes) is what the templates in ``render`` read;
the JSON Schema front end (``json_schema``) builds the same description for OCPP 2.0.1 and 2.1.

The walk merges the central system and charge point schemas of a version (their shared types are
identical; a difference is an error), and records for each type only what the templates need: enum
values, string/decimal facets, fields with occurrence bounds, XML kind and documentation.

Rules that are not plain XSD (each is a documented OCPP fact, not a guess):

* 1.5's ``MeterValue`` holds a repeated element with simple content (the reading as text, its context,
  unit etc. as XML attributes). ocppjs writes it in JSON under the plural key ``values``; earlier ocppjs
  used ``value`` / ``@value`` lists. The field is named after the JSON key, keeps the XML name, and the
  legacy form is accepted (see ``ocpprpc.messages._base.OcppModel._accept_legacy``).
* ``JSON_REQUIRED``: fields optional in the WSDL but required by the official OCPP-J JSON schema. The
  one known case is 1.6 MeterValues ``meterValue``; the model follows the JSON schema.
* ``ENUM_INPUT_ALIASES``: values the official OCPP-J JSON schema allows beside the WSDL's, accepted on
  input as the WSDL value they misspell (the enum's ``_missing_``) and never emitted. The one known case
  is 1.6 ``UnitOfMeasure``: the JSON schema lists ``Celcius`` as well as ``Celsius``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import xmlschema
from xmlschema.validators import (
    XsdAtomic,
    XsdAtomicBuiltin,
    XsdAttribute,
    XsdComplexType,
    XsdComponent,
    XsdElement,
    XsdFractionDigitsFacet,
    XsdGroup,
    XsdSimpleType,
)

from .wsdl import XSD_NS, Service

JSON_REQUIRED: frozenset[tuple[str, str, str]] = frozenset({("1.6", "MeterValuesRequest", "meterValue")})

ENUM_INPUT_ALIASES: dict[tuple[str, str], dict[str, str]] = {
    ("1.6", "UnitOfMeasure"): {"Celcius": "Celsius"},  # the official 1.6 JSON schema lists both spellings
}
"""(version, enum) → {accepted input value: the WSDL value it stands for}."""

Scalar = Literal["str", "int", "bool", "datetime", "decimal", "json"]

#: Builtins whose Python annotation is not named after their XML conversion (``_BUILTINS``).
_ANNOTATED_BUILTINS: dict[str, str] = {"anyURI": "uri"}

_BUILTINS: dict[str, Scalar] = {
    "string": "str",
    "anyURI": "str",
    "int": "int",
    "integer": "int",
    "boolean": "bool",
    "dateTime": "datetime",
    "decimal": "decimal",
}


@dataclass(frozen=True)
class EnumDef:
    name: str
    doc: str
    values: tuple[str, ...]
    input_aliases: tuple[tuple[str, str], ...] = ()  # (accepted on input, the value it stands for)


@dataclass(frozen=True)
class SimpleDef:
    """A named restriction of a builtin that is not an enumeration: becomes an ``Annotated`` alias."""

    name: str
    doc: str
    scalar: Scalar
    max_length: int | None = None
    fraction_digits: int | None = None


@dataclass(frozen=True)
class TypeRef:
    """What a field holds: a builtin scalar, a named simple type, an enum, or a model."""

    kind: Literal["scalar", "simple", "enum", "model"]
    name: str  # the scalar kind (or "uri" for xs:anyURI, a "str"), or the generated name
    scalar: Scalar  # the XML text conversion the SOAP codec needs (for models: unused, "str")
    max_length: int | None = None  # inline facets of anonymous simple types
    ge: int | float | None = None  # JSON Schema minimum / maximum (integers and numbers, 2.x only)
    le: int | float | None = None


@dataclass(frozen=True)
class FieldDef:
    xml_name: str
    json_name: str
    py_name: str
    kind: Literal["element", "attribute", "text"]
    type: TypeRef
    min_occurs: int
    max_occurs: int | None  # None: unbounded
    doc: str
    list_bounds: tuple[int, int | None] | None = None  # a JSON array's (minItems, maxItems): set only by 2.x

    @property
    def repeated(self) -> bool:
        return self.list_bounds is not None or self.max_occurs is None or self.max_occurs > 1

    @property
    def required(self) -> bool:
        return self.min_occurs > 0


@dataclass
class ModelDef:
    name: str
    doc: str
    fields: list[FieldDef] = field(default_factory=list)
    legacy_lists: list[tuple[str, str]] = field(default_factory=list)  # (json key, legacy key)
    signature: str = ""
    open: bool = False  # other keys allowed and kept (2.x CustomDataType): generated on OcppOpenModel

    def dependencies(self) -> list[str]:
        return [f.type.name for f in self.fields if f.type.kind == "model"]


@dataclass(frozen=True)
class ActionDef:
    name: str
    initiator: Literal["CHARGE_POINT", "CENTRAL_SYSTEM"]
    namespace: str
    request: str
    response: str
    request_element: str
    response_element: str
    doc: str


@dataclass(frozen=True)
class SendDef:
    """An unanswered message (OCPP 2.1 SEND, message type 6): its model is a plain model, not a request."""

    name: str
    initiator: Literal["CHARGE_POINT", "CENTRAL_SYSTEM"]
    message: str
    doc: str


@dataclass
class VersionDef:
    version: str
    module: str
    central_system_namespace: str
    charge_point_namespace: str
    sources: tuple[str, ...]
    enums: dict[str, EnumDef] = field(default_factory=dict)
    simples: dict[str, SimpleDef] = field(default_factory=dict)
    models: dict[str, ModelDef] = field(default_factory=dict)
    actions: list[ActionDef] = field(default_factory=list)
    sends: list[SendDef] = field(default_factory=list)
    xml: bool = True  # SOAP exists for the version: models carry XML facts (1.x); not for the JSON-only 2.x

    @property
    def message_names(self) -> set[str]:
        names = {a.request for a in self.actions} | {a.response for a in self.actions}
        return names | {s.message for s in self.sends}


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``chargePointVendor`` → ``charge_point_vendor``; ``EVCommunicationError`` → ``ev_communication_error``."""
    return _CAMEL_BOUNDARY.sub("_", name).replace("-", "_").replace(".", "_").lower()


def enum_member(value: str) -> str:
    """An enum value as an UPPER_SNAKE identifier: ``Energy.Active.Import`` → ``ENERGY_ACTIVE_IMPORT``."""
    ident = re.sub(r"[^0-9A-Za-z]+", "_", _CAMEL_BOUNDARY.sub("_", value)).strip("_").upper()
    return ident if ident and not ident[0].isdigit() else "V_" + ident


def documentation(component: Any) -> str:
    """The ``xs:documentation`` text of a schema component, whitespace-folded."""
    annotation = getattr(component, "annotation", None)
    docs: list[Any] = getattr(annotation, "documentation", None) or []  # xs:documentation elements
    return " ".join(" ".join((doc.text or "").split()) for doc in docs).strip()


def _local_name(component: XsdComponent) -> str:
    """The local name of a named component (xmlschema types it as optional, for anonymous ones)."""
    name = component.local_name
    if name is None:
        raise ValueError(f"{component!r} has no name")
    return name


def _type_signature(component: Any) -> str:
    import xml.etree.ElementTree as ET

    return " ".join(ET.tostring(component.elem, encoding="unicode").split())


class _Walker:
    def __init__(self, version: VersionDef) -> None:
        self.v = version
        self.signatures: dict[str, str] = {}

    def _check_same(self, name: str, component: Any) -> bool:
        """True when ``name`` was already walked; raises if the new definition differs."""
        signature = _type_signature(component)
        seen = self.signatures.get(name)
        if seen is None:
            self.signatures[name] = signature
            return False
        if seen != signature:
            raise ValueError(f"OCPP {self.v.version}: type {name} differs between the two services")
        return True

    def simple(self, st: XsdSimpleType) -> TypeRef:
        if isinstance(st, XsdAtomicBuiltin):
            scalar = _BUILTINS[_local_name(st)]
            return TypeRef("scalar", _ANNOTATED_BUILTINS.get(_local_name(st), scalar), scalar)
        if not isinstance(st, XsdAtomic):
            raise ValueError(f"OCPP {self.v.version}: {st!r}: xs:list and xs:union are not supported")
        base = _local_name(st.primitive_type)
        scalar = _BUILTINS[base]
        fraction = st.get_facet(f"{{{XSD_NS}}}fractionDigits")
        fraction_digits = int(fraction.value) if isinstance(fraction, XsdFractionDigitsFacet) else None
        if st.name is None:  # anonymous restriction
            if st.enumeration:
                raise ValueError(f"OCPP {self.v.version}: anonymous enumeration not supported")
            return TypeRef("scalar", _ANNOTATED_BUILTINS.get(base, scalar), scalar, max_length=st.max_length)
        name = _local_name(st)
        if st.enumeration:
            if not self._check_same(name, st):
                values = tuple(str(x) for x in st.enumeration)
                aliases = ENUM_INPUT_ALIASES.get((self.v.version, name), {})
                for alias, value in aliases.items():
                    if value not in values or alias in values:
                        raise ValueError(f"OCPP {self.v.version} {name}: input alias {alias!r} → {value!r} is stale")
                self.v.enums[name] = EnumDef(name, documentation(st), values, tuple(sorted(aliases.items())))
            return TypeRef("enum", name, "str")
        if not self._check_same(name, st):
            self.v.simples[name] = SimpleDef(
                name, documentation(st), scalar, max_length=st.max_length, fraction_digits=fraction_digits
            )
        return TypeRef("simple", name, scalar)

    def complex(self, ct: XsdComplexType, name: str) -> TypeRef:
        if ct.name is not None and self._check_same(name, ct):
            return TypeRef("model", name, "str")
        model = ModelDef(name=name, doc=documentation(ct))
        self.v.models[name] = model
        content = ct.content
        if ct.has_simple_content():
            if not isinstance(content, XsdSimpleType):
                raise ValueError(f"OCPP {self.v.version}: {name}: simple content without a simple type")
            model.fields.append(
                FieldDef("value", "value", "value", "text", self.simple(content), 1, 1, "The element's text.")
            )
        elif isinstance(content, XsdGroup):
            for elem in content.iter_elements():
                if not isinstance(elem, XsdElement):
                    raise ValueError(f"OCPP {self.v.version}: {name}: xs:any is not supported")
                model.fields.append(self.element(elem, name))
        else:
            raise ValueError(f"OCPP {self.v.version}: {name}: empty simple content is not supported")
        for attr in ct.attributes.values():
            if not isinstance(attr, XsdAttribute):
                raise ValueError(f"OCPP {self.v.version}: {name}: xs:anyAttribute is not supported")
            ref = self.simple(attr.type)
            attr_name = _local_name(attr)
            model.fields.append(
                FieldDef(
                    attr_name,
                    attr_name,
                    snake_case(attr_name),
                    "attribute",
                    ref,
                    1 if attr.use == "required" else 0,
                    1,
                    documentation(attr),
                )
            )
        return TypeRef("model", name, "str")

    def element(self, elem: XsdElement, owner: str) -> FieldDef:
        xml_name = _local_name(elem)
        json_name = xml_name
        xsd_type = elem.type
        if isinstance(xsd_type, XsdComplexType):
            anonymous = xsd_type.name is None
            type_name = owner + xml_name[0].upper() + xml_name[1:] if anonymous else _local_name(xsd_type)
            ref = self.complex(xsd_type, type_name)
            repeated = elem.max_occurs is None or elem.max_occurs > 1
            if anonymous and xsd_type.has_simple_content() and repeated:
                json_name = xml_name + "s"
                self.v.models[owner].legacy_lists.append((json_name, xml_name))
        else:
            ref = self.simple(xsd_type)
        min_occurs = elem.min_occurs
        if (self.v.version, owner, xml_name) in JSON_REQUIRED:
            min_occurs = max(min_occurs, 1)
        return FieldDef(
            xml_name,
            json_name,
            snake_case(json_name),
            "element",
            ref,
            min_occurs,
            elem.max_occurs,
            documentation(elem),
        )


def build_version(version: str, module: str, cs: Service, cp: Service) -> VersionDef:
    """Walk both services of ``version`` into a :class:`VersionDef`."""
    vdef = VersionDef(
        version=version,
        module=module,
        central_system_namespace=cs.namespace,
        charge_point_namespace=cp.namespace,
        sources=(f"{version}/{cs.path.name}", f"{version}/{cp.path.name}"),
    )
    walker = _Walker(vdef)
    services: tuple[tuple[Service, Literal["CHARGE_POINT", "CENTRAL_SYSTEM"]], ...] = (
        (cs, "CHARGE_POINT"),
        (cp, "CENTRAL_SYSTEM"),
    )
    for service, initiator in services:
        schema: xmlschema.XMLSchema = service.schema
        # Every named type, in a stable order, so enums and types no message uses are generated too.
        for name in sorted(schema.types):
            component = schema.types[name]
            if isinstance(component, XsdComplexType):
                walker.complex(component, name)
            else:
                walker.simple(component)
        for op in service.operations:
            request = schema.elements[op.input_element].type
            response = schema.elements[op.output_element].type
            vdef.actions.append(
                ActionDef(
                    name=op.name,
                    initiator=initiator,
                    namespace=service.namespace,
                    request=_local_name(request),
                    response=_local_name(response),
                    request_element=op.input_element,
                    response_element=op.output_element,
                    doc=op.documentation or documentation(request),
                )
            )
    for name, model in vdef.models.items():
        for dep in model.dependencies():
            if dep not in vdef.models:
                raise ValueError(f"{name} refers to unknown type {dep}")
    return vdef
