"""Codec: messages per second through decode + validate + encode, in one process, no I/O.

What is measured
----------------
For each message (BootNotification, MeterValues with 3 sampled values, StartTransaction, Heartbeat,
SetChargingProfile; OCPP 1.6, payloads from ``benchmarks._messages``), one *round trip*: the work a
receiver does to turn the bytes of a request into something a handler can use, plus the work a sender
does to turn that back into bytes. Each library does it its own way, through its public or documented
per-call path:

JSON (OCPP-J)
  * ocpprpc: ``_frames.decode(text)`` → the action's request model ``.model_validate(payload)`` →
    ``.to_json_dict()`` → ``_frames.encode(Call(...))``: what ``Role.handle_call`` and ``Role.call`` do.
  * mobilityhouse ``ocpp`` 2.x, mirroring its ``ChargePoint._handle_call`` and ``ChargePoint.call``:
    ``ocpp.messages.unpack(text)`` → ``_validate_payload`` (its JSON-schema check; ``validate_payload``
    runs this same function in the default thread pool, a cost left out here) → ``camel_to_snake_case``
    (the handler's keyword arguments); then the ``ocpp.v16.call`` dataclass of the same message (built from
    the same values as plain Python numbers, see ``mobilityhouse_json``) → ``serialize_as_dict`` →
    ``snake_to_camel_case`` → ``remove_nones`` → ``Call(...)`` → ``_validate_payload`` → ``.to_json()``.
  Unique ids are kept (neither side's id generator is timed).

SOAP (OCPP-S), when the official WSDLs are in ``../shared/ocpp-wsdl/1.6`` (skipped with a note otherwise)
  * ocpprpc: ``decode_message(envelope)`` → ``model_validate`` → ``to_json_dict`` → ``encode_request``
    with a fresh ``urn:uuid`` MessageID.
  * zeep 4 with the same WSDL (Central System service, Charge Point service for SetChargingProfile),
    its own client-side machinery: ``zeep.loader.parse_xml`` (its hardened parser) →
    ``operation.input.deserialize(envelope)`` (schema-driven parsing into zeep objects) →
    ``binding._create(operation, ..., client=client)`` (rendering, chargeBoxIdentity as a SOAP header and
    its own WS-Addressing headers with a fresh MessageID, as ``client.service.X(...)`` does) →
    ``etree_to_string``.
  Both read the same envelope, produced by ocpprpc and checked to parse in zeep.

Why it is fair
--------------
Every implementation is checked first: its output must carry the same payload as its input (compared
as JSON values, numbers by value), so nothing is timed that skips work. Loops are timeit-style: a
calibrated number of calls per repetition (at least ``--min-time`` seconds), several repetitions, and
the median with min-max is reported. The garbage collector stays on, as in a server.

ocpprpc's validation is stricter than what either competitor does (lengths, enumerations, date-times,
unknown fields), so the comparison does not favour it.
"""

from __future__ import annotations

import argparse
import decimal
import json
import math
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import _messages
from ._common import ROOT, fmt_num, fmt_spread, spread, table, verdict

WSDL_DIR = ROOT.parent / "shared" / "ocpp-wsdl" / "1.6"
TARGET_SOAP = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("codec")
    group.add_argument("--codec-repeat", type=int, default=5, help="repetitions per measurement (default 5)")
    group.add_argument("--min-time", type=float, default=0.2, help="seconds per repetition at least (default 0.2)")
    group.add_argument("--wsdl-dir", type=Path, default=WSDL_DIR, help="folder of the 1.6 WSDLs")


# -- the implementations ------------------------------------------------------------------------------------


def _frame(action: str, payload: dict[str, Any]) -> str:
    return json.dumps([2, "19223201-bench", action, payload], separators=(",", ":"))


def ocpprpc_json() -> Callable[[str], str]:
    from ocpprpc._frames import Call, decode, encode
    from ocpprpc.messages import v16
    from ocpprpc.messages._base import Side

    # The CSMS receives most of these; SetChargingProfile goes the other way.
    specs = {**v16.VERSION.received_by(Side.CHARGE_POINT), **v16.VERSION.received_by(Side.CENTRAL_SYSTEM)}

    def round_trip(text: str) -> str:
        frame = decode(text)
        assert isinstance(frame, Call)
        request = specs[frame.action].request.model_validate(frame.payload)
        return encode(Call(frame.unique_id, frame.action, request.to_json_dict()))

    return round_trip


def mobilityhouse_json() -> Callable[[str], str]:
    from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
    from ocpp.messages import Call, _validate_payload, unpack
    from ocpp.v16 import call as v16_call

    version = "1.6"
    # What an application hands to ChargePoint.call(): the dataclass built from plain Python values. It
    # cannot be the receiving side's kwargs as they are: for SetChargingProfile, _validate_payload turns
    # the received numbers into Decimals, which the package's own sending path then fails to serialise.
    outgoing = {
        action: camel_to_snake_case(json.loads(_frame(action, payload))[3])
        for action, payload in _messages.CODEC_MESSAGES.items()
    }

    def round_trip(text: str) -> str:
        msg = unpack(text)  # receiving side: ChargePoint.route_message / _handle_call
        _validate_payload(msg, version)
        camel_to_snake_case(msg.payload)  # what the @on handler is called with
        payload = getattr(v16_call, msg.action)(**outgoing[msg.action])  # sending side: ChargePoint.call(payload)
        camel = snake_to_camel_case(serialize_as_dict(payload))
        out = Call(unique_id=msg.unique_id, action=msg.action, payload=remove_nones(camel))
        _validate_payload(out, version)
        return str(out.to_json())

    return round_trip


def ocpprpc_soap() -> Callable[[bytes], bytes]:
    from ocpprpc.messages import v16
    from ocpprpc.transports._soap_codec import decode_message, encode_request

    versions = [v16.VERSION]

    def round_trip(body: bytes) -> bytes:
        message = decode_message(body, versions)
        model = message.model
        assert model is not None and message.version is not None and message.spec is not None
        request = model.model_validate(message.payload)
        return encode_request(
            message.version,
            message.spec,
            request.to_json_dict(),
            charge_box_identity=message.charge_box_identity or "",
            message_id=f"urn:uuid:{uuid.uuid4()}",
            to=message.to or "",
        )

    return round_trip


def zeep_soap(wsdl_dir: Path) -> Callable[[tuple[str, bytes]], bytes]:
    from zeep import Client
    from zeep.loader import parse_xml
    from zeep.wsdl.utils import etree_to_string

    clients = {
        "cs": Client(str(wsdl_dir / "OCPP_CentralSystemService_1.6.wsdl")),
        "cp": Client(str(wsdl_dir / "OCPP_ChargePointService_1.6.wsdl")),
    }
    by_action = {}
    for client in clients.values():
        binding = client.service._binding
        for name, operation in binding._operations.items():
            by_action[name] = (client, binding, operation)

    def round_trip(item: tuple[str, bytes]) -> bytes:
        action, body = item  # zeep has no server side that finds the operation from the body element
        client, binding, operation = by_action[action]
        envelope = parse_xml(body, client.transport, settings=client.settings)
        result = operation.input.deserialize(envelope)
        values = result.body
        kwargs = {key: values[key] for key in values} if values is not None else {}
        kwargs["_soapheaders"] = {"ChargeBoxIdentity": result.header.ChargeBoxIdentity}
        out, _ = binding._create(action, (), kwargs, client=client)
        return bytes(etree_to_string(out))

    return round_trip


# -- checks -------------------------------------------------------------------------------------------------


def _normal(value: Any) -> Any:
    """JSON values compared by value: 16 == 16.0 == Decimal("16.0")."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | decimal.Decimal):
        return float(value)
    return value


def _soap_payload(body: bytes) -> dict[str, Any]:
    from ocpprpc.messages import v16
    from ocpprpc.transports._soap_codec import decode_message

    message = decode_message(body, [v16.VERSION])
    assert message.model is not None
    return message.model.model_validate(message.payload).to_json_dict()


def check(name: str, action: str, original: dict[str, Any], produced: dict[str, Any]) -> str | None:
    if _normal(json.loads(json.dumps(produced, default=str))) != _normal(original):
        return f"{name} {action}: output payload differs from input: {produced!r}"
    return None


# -- timing -------------------------------------------------------------------------------------------------


def measure(fn: Callable[[Any], Any], arg: Any, repeat: int, min_time: float) -> dict[str, float]:
    """Calls per second: median (min-max) over ``repeat`` repetitions of a calibrated number of calls."""
    clock = time.perf_counter
    number = 1
    while True:
        t0 = clock()
        for _ in range(number):
            fn(arg)
        elapsed = clock() - t0
        if elapsed >= min_time / 4:
            break
        number *= 4
    number = max(1, math.ceil(number * min_time / max(elapsed, 1e-9)))
    rates = []
    for _ in range(repeat):
        t0 = clock()
        for _ in range(number):
            fn(arg)
        rates.append(number / (clock() - t0))
    result = spread(rates)
    result["calls_per_repetition"] = number
    return result


def geomean(values: list[float]) -> float:
    """The geometric mean (the mean of ratios that treats 2x and 0.5x symmetrically); NaN for none."""
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def run(args: argparse.Namespace) -> dict[str, Any]:
    print(
        f"\n== Codec: decode + validate + encode round trips per second, one core, {args.codec_repeat} repetitions "
        f"of >= {args.min_time:g} s"
    )
    from ocpprpc.messages import v16
    from ocpprpc.transports._soap_codec import encode_request

    specs = {spec.name: spec for spec in v16.VERSION.actions}
    problems: list[str] = []
    results: dict[str, Any] = {"json": {}, "soap": {}}

    # JSON
    ours, theirs = ocpprpc_json(), mobilityhouse_json()
    rows = []
    ratios = []
    for action, payload in _messages.CODEC_MESSAGES.items():
        text = _frame(action, payload)
        for name, fn in (("ocpprpc", ours), ("mobilityhouse", theirs)):
            produced = json.loads(fn(text))
            problem = check(name, action, payload, produced[3])
            if problem:
                problems.append(problem)
        a = measure(ours, text, args.codec_repeat, args.min_time)
        b = measure(theirs, text, args.codec_repeat, args.min_time)
        ratio = a["median"] / b["median"]
        ratios.append(ratio)
        label = _messages.CODEC_LABELS.get(action, action)
        results["json"][action] = {"ocpprpc": a, "mobilityhouse": b, "ratio": ratio, "bytes": len(text)}
        rows.append([label, str(len(text)), fmt_spread(a), fmt_spread(b), f"{ratio:.2f}x"])
        print(f"   json {label}: {fmt_num(a['median'])} vs {fmt_num(b['median'])}/s", flush=True)
    results["json_geomean_ratio"] = geomean(ratios)
    rows.append(["geometric mean", "", "", "", f"{results['json_geomean_ratio']:.2f}x"])
    print()
    print(table(["JSON message", "bytes", "ocpprpc msg/s", "mobilityhouse ocpp msg/s", "ratio"], rows))

    # SOAP
    wsdl_dir: Path = args.wsdl_dir
    if not (wsdl_dir / "OCPP_CentralSystemService_1.6.wsdl").is_file():
        note = f"SOAP skipped: the official 1.6 WSDLs are not in {wsdl_dir} (../shared/ocpp-wsdl beside the checkout)"
        print(f"\n   {note}")
        results["soap"] = {"skipped": note}
        results["targets"] = {"soap_vs_zeep": {"met": None, "note": note}}
    else:
        ours_soap, zeep_rt = ocpprpc_soap(), zeep_soap(wsdl_dir)
        rows = []
        ratios = []
        for action, payload in _messages.CODEC_MESSAGES.items():
            spec = specs[action]
            body = encode_request(
                v16.VERSION,
                spec,
                payload,
                charge_box_identity="CP-0001",
                message_id="urn:uuid:8c8a4a44-6b5e-4fb4-9d2c-1f9f0f1f2a3b",
                to="http://127.0.0.1:9100/ocpp",
            )
            for name, out in (("ocpprpc", ours_soap(body)), ("zeep", zeep_rt((action, body)))):
                problem = check(name + " soap", action, payload, _soap_payload(out))
                if problem:
                    problems.append(problem)
            a = measure(ours_soap, body, args.codec_repeat, args.min_time)
            b = measure(zeep_rt, (action, body), args.codec_repeat, args.min_time)
            ratio = a["median"] / b["median"]
            ratios.append(ratio)
            label = _messages.CODEC_LABELS.get(action, action)
            results["soap"][action] = {"ocpprpc": a, "zeep": b, "ratio": ratio, "bytes": len(body)}
            rows.append(
                [label, str(len(body)), fmt_spread(a), fmt_spread(b), f"{ratio:.2f}x", verdict(ratio >= TARGET_SOAP)]
            )
            print(f"   soap {label}: {fmt_num(a['median'])} vs {fmt_num(b['median'])}/s", flush=True)
        soap_geomean = geomean(ratios)
        results["soap_geomean_ratio"] = soap_geomean
        rows.append(["geometric mean", "", "", "", f"{soap_geomean:.2f}x", verdict(soap_geomean >= TARGET_SOAP)])
        print()
        print(
            table(
                ["SOAP message", "bytes", "ocpprpc msg/s", "zeep msg/s", "ratio", f"target >= {TARGET_SOAP:g}x"],
                rows,
            )
        )
        results["targets"] = {
            "soap_vs_zeep": {
                "geomean_ratio": soap_geomean,
                "min_ratio": min(ratios),
                "target": TARGET_SOAP,
                "met": min(ratios) >= TARGET_SOAP,
            }
        }
    print("   median (min-max) of the repetitions, round trips per second on one core")
    for problem in problems:
        print(f"   CHECK FAILED: {problem}")
    results["problems"] = problems
    return results
