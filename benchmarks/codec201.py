"""Codec, OCPP 2.0.1: decode + validate, serialise, and both, per second, in one process, no I/O.

What is measured
----------------
For each message (TransactionEvent eventType Updated with three sampled values, BootNotification; OCPP
2.0.1 requests, payloads from ``benchmarks._messages``), three stages, each through the library's own
per-call path, the way its connection handling does it:

decode + validate (what a receiver does before a handler can use the request)
  * ocpprpc: ``_frames.decode(text, OCPP_J_201)`` → the action's ``v201`` request model
    ``.model_validate(payload)``: what a 2.0.1 connection and ``Role`` do for a CALL.
  * mobilityhouse ``ocpp`` 2.x, mirroring its ``ChargePoint._handle_call``: ``ocpp.messages.unpack(text)``
    → ``_validate_payload(msg, "2.0.1")`` (its JSON-schema check; ``validate_payload`` runs this same
    function in the default thread pool, a cost left out here) → ``camel_to_snake_case`` (the handler's
    keyword arguments).

serialise (what a sender does to turn the application's message object into frame text)
  * ocpprpc: a ``v201`` request model (already built) → ``.to_json_dict()`` → ``_frames.encode(Call(...))``:
    what ``Role.call`` does. The model was validated when it was built, so nothing is checked again.
  * mobilityhouse, mirroring its ``ChargePoint.call``: an ``ocpp.v201.call`` dataclass (already built) →
    ``serialize_as_dict`` → ``snake_to_camel_case`` → ``remove_nones`` → ``Call(...)`` →
    ``_validate_payload`` (it validates what it sends by default) → ``.to_json()``.

round trip
  Decode + validate, then serialise the same message again; for the mobilityhouse package the dataclass
  is built from plain Python values inside the loop, as in the 1.6 codec part, so these figures compare
  with that part's JSON table.

Unique ids are kept (neither side's id generator is timed).

Why it is fair
--------------
Every implementation is checked first: the payload it produces must equal the input (compared as JSON
values, numbers by value), so nothing is timed that skips work. Loops, repetitions and the median with
min-max are those of :mod:`benchmarks.codec` (``--codec-repeat``, ``--min-time``). Both libraries
validate against the same OCPP 2.0.1 definitions (the official JSON schemas ship with the mobilityhouse
package; ocpprpc's models are generated from them); ocpprpc also parses date-times into ``datetime``
objects and checks their format, which the mobilityhouse package's schema check leaves unchecked.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from . import _messages
from ._common import fmt_num, fmt_spread, table
from .codec import check, geomean, measure

VERSION = "2.0.1"
UNIQUE_ID = "19223201-bench"
STAGES = ("decode + validate", "serialise", "round trip")


class Codec:
    """One library's three stages for one message: ``decode(text)``, ``serialise(obj)``, ``round_trip(text)``."""

    def __init__(
        self,
        decode: Callable[[str], Any],
        serialise: Callable[[Any], str],
        round_trip: Callable[[str], str],
        built: Callable[[str, dict[str, Any]], Any],
        payload_of: Callable[[Any], dict[str, Any]],
    ) -> None:
        self.decode = decode
        self.serialise = serialise
        self.round_trip = round_trip
        self.built = built
        """The application's message object for (action, wire payload): what ``serialise`` starts from."""
        self.payload_of = payload_of
        """The wire payload ``decode``'s result stands for, to check that it carries the input."""


def _frame(action: str, payload: dict[str, Any]) -> str:
    return json.dumps([2, UNIQUE_ID, action, payload], separators=(",", ":"))


def ocpprpc_codec() -> Codec:
    from ocpprpc._frames import OCPP_J_201, Call, decode, encode
    from ocpprpc.messages import v201
    from ocpprpc.messages._base import OcppModel, Side

    specs = v201.VERSION.received_by(Side.CENTRAL_SYSTEM)

    def decode_validate(text: str) -> OcppModel:
        frame = decode(text, OCPP_J_201)
        assert isinstance(frame, Call)
        return specs[frame.action].request.model_validate(frame.payload)

    def serialise(item: tuple[str, OcppModel]) -> str:
        action, request = item
        return encode(Call(UNIQUE_ID, action, request.to_json_dict()))

    def round_trip(text: str) -> str:
        frame = decode(text, OCPP_J_201)
        assert isinstance(frame, Call)
        request = specs[frame.action].request.model_validate(frame.payload)
        return encode(Call(frame.unique_id, frame.action, request.to_json_dict()))

    def built(action: str, payload: dict[str, Any]) -> tuple[str, OcppModel]:
        return action, specs[action].request.model_validate(payload)

    def payload_of(request: OcppModel) -> dict[str, Any]:
        return request.to_json_dict()

    return Codec(decode_validate, serialise, round_trip, built, payload_of)


def mobilityhouse_codec() -> Codec:
    from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
    from ocpp.messages import Call, _validate_payload, unpack
    from ocpp.v201 import call as v201_call

    # What an application hands to ChargePoint.call(): the dataclass, built from plain Python values.
    outgoing = {
        action: camel_to_snake_case(json.loads(_frame(action, payload))[3])
        for action, payload in _messages.CODEC_MESSAGES_201.items()
    }

    def decode_validate(text: str) -> Any:
        msg = unpack(text)  # receiving side: ChargePoint.route_message / _handle_call
        _validate_payload(msg, VERSION)
        return camel_to_snake_case(msg.payload)  # what the @on handler is called with

    def serialise(payload: Any) -> str:
        camel = snake_to_camel_case(serialize_as_dict(payload))  # sending side: ChargePoint.call(payload)
        out = Call(unique_id=UNIQUE_ID, action=payload.__class__.__name__, payload=remove_nones(camel))
        _validate_payload(out, VERSION)
        return str(out.to_json())

    def round_trip(text: str) -> str:
        msg = unpack(text)
        _validate_payload(msg, VERSION)
        camel_to_snake_case(msg.payload)
        payload = getattr(v201_call, msg.action)(**outgoing[msg.action])
        camel = snake_to_camel_case(serialize_as_dict(payload))
        out = Call(unique_id=msg.unique_id, action=msg.action, payload=remove_nones(camel))
        _validate_payload(out, VERSION)
        return str(out.to_json())

    def built(action: str, payload: dict[str, Any]) -> Any:
        return getattr(v201_call, action)(**outgoing[action])

    def payload_of(kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = snake_to_camel_case(kwargs)
        return result

    return Codec(decode_validate, serialise, round_trip, built, payload_of)


def run(args: argparse.Namespace) -> dict[str, Any]:
    print(
        f"\n== Codec, OCPP {VERSION} JSON: decode + validate, serialise and round trips per second, one core, "
        f"{args.codec_repeat} repetitions of >= {args.min_time:g} s"
    )
    codecs = {"ocpprpc": ocpprpc_codec(), "mobilityhouse": mobilityhouse_codec()}
    problems: list[str] = []
    results: dict[str, Any] = {}
    rows: list[list[str]] = []
    ratios: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for action, payload in _messages.CODEC_MESSAGES_201.items():
        text = _frame(action, payload)
        label = _messages.CODEC_LABELS_201.get(action, action)
        work: dict[str, dict[str, tuple[Callable[[Any], Any], Any]]] = {}
        for name, codec in codecs.items():
            obj = codec.built(action, payload)
            outputs = {
                "decode + validate": codec.payload_of(codec.decode(text)),
                "serialise": json.loads(codec.serialise(obj))[3],
                "round trip": json.loads(codec.round_trip(text))[3],
            }
            for stage, produced in outputs.items():
                problem = check(f"{name} {stage}", action, payload, produced)
                if problem:
                    problems.append(problem)
            work[name] = {
                "decode + validate": (codec.decode, text),
                "serialise": (codec.serialise, obj),
                "round trip": (codec.round_trip, text),
            }
        results[action] = {"bytes": len(text)}
        for stage in STAGES:
            ours = measure(*work["ocpprpc"][stage], args.codec_repeat, args.min_time)
            theirs = measure(*work["mobilityhouse"][stage], args.codec_repeat, args.min_time)
            ratio = ours["median"] / theirs["median"]
            ratios[stage].append(ratio)
            results[action][stage] = {"ocpprpc": ours, "mobilityhouse": theirs, "ratio": ratio}
            rows.append([label, stage, str(len(text)), fmt_spread(ours), fmt_spread(theirs), f"{ratio:.2f}x"])
            print(f"   {label}, {stage}: {fmt_num(ours['median'])} vs {fmt_num(theirs['median'])}/s", flush=True)
    results["geomean_ratio"] = {stage: geomean(values) for stage, values in ratios.items()}
    for stage in STAGES:
        rows.append(["geometric mean", stage, "", "", "", f"{results['geomean_ratio'][stage]:.2f}x"])
    print()
    print(
        table(
            ["2.0.1 JSON message", "stage", "bytes", "ocpprpc msg/s", "mobilityhouse ocpp msg/s", "ratio"],
            rows,
            align="llrrrr",
        )
    )
    print("   median (min-max) of the repetitions, messages per second on one core")
    for problem in problems:
        print(f"   CHECK FAILED: {problem}")
    results["problems"] = problems
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No knobs of its own: the codec group's (``--codec-repeat``, ``--min-time``) apply."""
