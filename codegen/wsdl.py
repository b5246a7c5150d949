"""Reading the official OCPP WSDLs: services, operations and the embedded XML schema.

xmlschema's own WSDL reader refuses the SOAP 1.2 bindings of the OCPP WSDLs, so the WSDL is read with
lxml here and only its ``xs:schema`` element is handed to xmlschema. The WSDL part that matters for code
generation is small: the target namespace, the port type's operations, and the body element each
operation's input and output message carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import xmlschema
from lxml import etree

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"

#: The versions the generator knows: folder under the WSDL directory → module name.
VERSIONS: dict[str, str] = {"1.2": "v12", "1.5": "v15", "1.6": "v16"}


@dataclass(frozen=True)
class Operation:
    """A WSDL operation: action name, its request and response body element names, documentation."""

    name: str
    input_element: str
    output_element: str
    documentation: str


@dataclass(frozen=True)
class Service:
    """One WSDL file: the central system service or the charge point service of a version."""

    path: Path
    name: str  # the port type name: "CentralSystemService" or "ChargePointService"
    namespace: str
    operations: tuple[Operation, ...]
    schema: xmlschema.XMLSchema


def _local(qname: str) -> str:
    return qname.rpartition(":")[2]


def _documentation(elem: etree._Element) -> str:
    doc = elem.find(f"{{{WSDL_NS}}}documentation")
    return " ".join((doc.text or "").split()) if doc is not None else ""


def read_service(path: Path) -> Service:
    """Parse one WSDL file (safely: no entities, no network) into a :class:`Service`."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    root = etree.parse(str(path), parser).getroot()
    namespace = root.get("targetNamespace") or ""
    schema_elem = root.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    if schema_elem is None:
        raise ValueError(f"{path}: no embedded xs:schema")
    schema = xmlschema.XMLSchema(etree.tostring(schema_elem, encoding="unicode"))

    messages: dict[str, str] = {}
    for message in root.iterfind(f"{{{WSDL_NS}}}message"):
        part = message.find(f"{{{WSDL_NS}}}part")
        if part is not None and part.get("element"):
            messages[message.get("name") or ""] = _local(part.get("element") or "")

    port_types = root.findall(f"{{{WSDL_NS}}}portType")
    if len(port_types) != 1:
        raise ValueError(f"{path}: expected one portType, found {len(port_types)}")
    port_type = port_types[0]
    operations: list[Operation] = []
    for op in port_type.iterfind(f"{{{WSDL_NS}}}operation"):
        in_msg = op.find(f"{{{WSDL_NS}}}input")
        out_msg = op.find(f"{{{WSDL_NS}}}output")
        assert in_msg is not None and out_msg is not None, op.get("name")
        operations.append(
            Operation(
                name=op.get("name") or "",
                input_element=messages[_local(in_msg.get("message") or "")],
                output_element=messages[_local(out_msg.get("message") or "")],
                documentation=_documentation(op),
            )
        )
    return Service(
        path=path,
        name=port_type.get("name") or "",
        namespace=namespace,
        operations=tuple(sorted(operations, key=lambda o: o.name)),
        schema=schema,
    )


def read_version(wsdl_dir: Path, version: str) -> tuple[Service, Service]:
    """The (central system service, charge point service) pair of one version's folder."""
    services = [read_service(p) for p in sorted((wsdl_dir / version).glob("*.wsdl"))]
    by_name = {s.name: s for s in services}
    try:
        return by_name["CentralSystemService"], by_name["ChargePointService"]
    except KeyError as exc:
        raise ValueError(f"{wsdl_dir / version}: missing service {exc}; found {sorted(by_name)}") from None
