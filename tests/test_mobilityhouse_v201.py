"""Interoperability with the mobilityhouse ``ocpp`` package (2.1.0) over OCPP-J 2.0.1 and 2.1, real sockets.

Four pairings, one test per action of each version:

* a mobilityhouse charging station (``ocpp.v201.ChargePoint`` / ``ocpp.v21.ChargePoint``, a ``websockets``
  client) calls an ocpprpc CSMS served by :func:`websocket.serve` every action a charging station
  initiates; our handlers must receive exactly what it sent;
* that CSMS calls the mobilityhouse station every action a CSMS initiates (``server.call``), answered by
  mobilityhouse ``@on`` handlers; our typed response must be what they returned;
* an ocpprpc charging station (:func:`websocket.connect`) calls a mobilityhouse CSMS served with
  ``websockets.serve`` every charging station action;
* that mobilityhouse CSMS calls our station every CSMS action.

Each message is our example (every optional field filled) built as mobilityhouse's own dataclasses
(:mod:`tests.mh_ocpp`); where mobilityhouse cannot write it (its case conversion mangles some 2.1 field
names) the example of the required fields is used, and where it cannot write that either the test is
skipped with the reason. Then the errors each side answers the other with, and one ocpprpc server serving
a mobilityhouse 1.6 station and a mobilityhouse 2.0.1 station at once.
"""

from __future__ import annotations

from typing import Any

import pytest

from ocpprpc import CentralSystemServer, OcppModel, Side
from ocpprpc._versions import VERSIONS
from ocpprpc.messages.examples import example
from ocpprpc.transports import websocket

from .mh_ocpp import CannotCarry, MhMessage, mh_csms, mh_fields, mh_message, mh_station, snake_case, spec_of, within
from .roles_for_tests import EchoCentralSystem, EchoChargePoint
from .timing import FAST, bounded

VERSIONS_2X = ("2.0.1", "2.1")


class OurCsms201(EchoCentralSystem):
    """An ocpprpc OCPP 2.0.1 CSMS answering every action with its example response (and recording the request)."""

    versions = ("2.0.1",)


class OurCsms21(EchoCentralSystem):
    """The same in OCPP 2.1."""

    versions = ("2.1",)


OUR_CSMS: dict[str, type[EchoCentralSystem]] = {"2.0.1": OurCsms201, "2.1": OurCsms21}


class OurStation(EchoChargePoint):
    """An ocpprpc charging station of 2.0.1 or 2.1 answering every action with its example response."""

    versions = ("2.0.1", "2.1")


def actions_initiated_by(side: Side, *, sends: bool = False) -> list[Any]:
    """``(version, action)`` of every action ``side`` initiates in 2.0.1 and 2.1 (and its SEND messages)."""
    params: list[Any] = []
    for version in VERSIONS_2X:
        names = list(VERSIONS[version].initiated_by(side))
        if sends:
            names += list(VERSIONS[version].sent_by(side))
        params += [pytest.param(version, name, id=f"{version}-{name}") for name in names]
    return params


def mobilityhouse_writes(version: str, action: str, kind: Any) -> MhMessage:
    """:func:`mh_message`, or the test skipped with the reason mobilityhouse cannot write it."""
    if action in VERSIONS[version].sent_by(Side.CHARGE_POINT) or action in VERSIONS[version].sent_by(
        Side.CENTRAL_SYSTEM
    ):
        pytest.skip(
            f"{action} is an OCPP {version} SEND (message type 6): mobilityhouse ocpp 2.1.0 has no such frame "
            "type and no model for it"
        )
    try:
        return mh_message(version, action, kind)
    except CannotCarry as exc:
        pytest.skip(str(exc))


def expected(model: type[OcppModel], message: MhMessage) -> OcppModel:
    """The typed message mobilityhouse sent for ``message``; it holds every field of our example it was built from."""
    typed = model.model_validate(message.wire)
    assert within(message.payload, typed.to_json_dict())
    return typed


# -- every action: a mobilityhouse charging station and our CSMS ---------------------------------------------


@pytest.mark.parametrize(("version", "action"), actions_initiated_by(Side.CHARGE_POINT, sends=True))
@bounded(5)
async def test_a_mobilityhouse_station_calls_our_csms(version: str, action: str) -> None:
    message = mobilityhouse_writes(version, action, "request")
    spec = spec_of(version, action)
    async with (
        websocket.serve(CentralSystemServer(OUR_CSMS[version]), "127.0.0.1", 0, path="/ocpp") as ws_server,
        mh_station(ws_server.url_for("CS1"), "CS1", version) as station,
    ):
        ours = await ws_server.server.wait_for("CS1", timeout=2)
        assert ours.version == version and station.socket.ws.subprotocol == f"ocpp{version}"
        result = await station.role.call(message.obj, suppress=False)
    assert ours.received == [expected(spec.request, message)]
    answer = example(spec.response).to_json_dict()
    [call] = station.socket.frames("sent")
    assert call == [2, call[1], action, message.wire]
    assert station.socket.frames("received") == [[3, call[1], answer]]
    assert type(result).__name__ == action and mh_fields(result) == snake_case(answer)


@pytest.mark.parametrize(("version", "action"), actions_initiated_by(Side.CENTRAL_SYSTEM))
@bounded(5)
async def test_our_csms_calls_a_mobilityhouse_station(version: str, action: str) -> None:
    reply = mobilityhouse_writes(version, action, "response")
    spec = spec_of(version, action)
    request: Any = example(spec.request)
    async with (
        websocket.serve(CentralSystemServer(OUR_CSMS[version]), "127.0.0.1", 0, path="/ocpp") as ws_server,
        mh_station(ws_server.url_for("CS1"), "CS1", version, [action]) as station,
    ):
        await ws_server.server.wait_for("CS1", timeout=2)
        response: OcppModel = await ws_server.server.call("CS1", request)
    assert response == expected(spec.response, reply)
    [call] = station.socket.frames("received")
    assert call == [2, call[1], action, request.to_json_dict()]
    assert station.handled == [(action, snake_case(request.to_json_dict()))]
    assert station.socket.frames("sent") == [[3, call[1], reply.wire]]


# -- every action: our charging station and a mobilityhouse CSMS ---------------------------------------------


@pytest.mark.parametrize(("version", "action"), actions_initiated_by(Side.CHARGE_POINT))
@bounded(5)
async def test_our_station_calls_a_mobilityhouse_csms(version: str, action: str) -> None:
    reply = mobilityhouse_writes(version, action, "response")
    spec = spec_of(version, action)
    request: Any = example(spec.request)
    async with mh_csms(version, [action]) as csms:
        station = OurStation("CS1", version)
        async with websocket.connect(station, csms.url, **FAST) as client:
            assert client.version == version
            peer = await csms.peer("CS1")
            response: OcppModel = await station.call(request)
    assert response == expected(spec.response, reply)
    [call] = peer.socket.frames("received")
    assert call == [2, call[1], action, request.to_json_dict()]
    assert peer.handled == [(action, snake_case(request.to_json_dict()))]
    assert peer.socket.frames("sent") == [[3, call[1], reply.wire]]


@pytest.mark.parametrize(("version", "action"), actions_initiated_by(Side.CENTRAL_SYSTEM))
@bounded(5)
async def test_a_mobilityhouse_csms_calls_our_station(version: str, action: str) -> None:
    message = mobilityhouse_writes(version, action, "request")
    spec = spec_of(version, action)
    async with mh_csms(version) as csms:
        station = OurStation("CS1", version)
        async with websocket.connect(station, csms.url, **FAST):
            peer = await csms.peer("CS1")
            result = await peer.role.call(message.obj, suppress=False)
    assert station.received == [expected(spec.request, message)]
    answer = example(spec.response).to_json_dict()
    [call] = peer.socket.frames("sent")
    assert call == [2, call[1], action, message.wire]
    assert peer.socket.frames("received") == [[3, call[1], answer]]
    assert type(result).__name__ == action and mh_fields(result) == snake_case(answer)
