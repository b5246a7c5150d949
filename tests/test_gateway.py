"""The gateway as an operator relies on it: OCPP 1.2 / 1.5 chargers (SOAP or OCPP-J) on an OCPP-J 1.6 central system.

Every test runs real sockets on 127.0.0.1: the chargers (ours, or zeep loaded with the official 1.5 WSDL)
connect to the gateway's downstream servers, and the gateway to a central system upstream, either ours
(:class:`~tests.gw_peers.OurCsms`, which records every request as it came off the wire) or the
mobilityhouse ``ocpp.v16`` one. What the central system receives is checked against the official 1.6 JSON
schemas and our v16 models (mobilityhouse also checks it itself), and against the translation of what the
charger sent; what the charger gets back is the translation of the central system's answer.

Then what happens when things go wrong: the central system unreachable with a transaction in progress
(stopped, or its link cut), the gateway restarted on its SQLite store, wrong credentials, a charger
reconnecting, garbage from a charger, requests a 1.5 charger cannot express.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.typing import Subprotocol

from ocpprpc import ActionNotSupported, ChargePoint, InternalError, OcppModel, Role, Side, UsageError
from ocpprpc._versions import VERSIONS
from ocpprpc.gateway import Gateway, OfflinePolicy
from ocpprpc.messages import v12, v15, v16
from ocpprpc.messages.examples import example
from ocpprpc.security import client_context, server_context
from ocpprpc.translation import NotTranslatable, translate
from ocpprpc.transports import soap, websocket

from .conftest import Pki
from .gw_peers import (
    Charger,
    MhCsms16,
    OurCsms,
    RecordingCsms,
    auth_table,
    csms_answer,
    mh_csms16,
    problems_16,
)
from .mh_ocpp import MH_VERSIONS, build, mh_exceptions, mh_fields, mh_message, snake_case
from .tcp_proxy import TcpProxy
from .timing import FAST, bounded, eventually

V16 = VERSIONS["1.6"]
CP_ACTIONS_16 = sorted(V16.initiated_by(Side.CHARGE_POINT))
CS_ACTIONS_16 = sorted(V16.initiated_by(Side.CENTRAL_SYSTEM))

CsmsKind = Literal["ours", "mobilityhouse"]
CSMS_KINDS: list[CsmsKind] = ["ours", "mobilityhouse"]


# -- the central system upstream, either kind, seen the same way ----------------------------------------------------


@dataclass
class Upstream:
    """The central system behind the gateway, ours or mobilityhouse's: what it received, and its calls."""

    kind: CsmsKind
    url: str
    ours: OurCsms | None = None
    mh: MhCsms16 | None = None

    def calls(self, charge_point_id: str) -> list[tuple[str, dict[str, Any], str]]:
        """(action, payload, message id) of every request received from ``charge_point_id``, in order."""
        if self.ours is not None:
            return [
                (r.action, r.payload, r.message_id or "")
                for r in self.ours.received
                if r.charge_point_id == charge_point_id
            ]
        assert self.mh is not None
        return [(str(f[2]), _payload(f[3]), str(f[1])) for f in self.mh.calls(charge_point_id)]

    def answer(self, action: str) -> dict[str, Any]:
        """What it answers ``action`` with (1.6 payload)."""
        if self.kind == "ours":
            return csms_answer(action).to_json_dict()
        return mh_message("1.6", action, "response").wire

    async def call(
        self, charge_point_id: str, action: str, payload: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Call the charge point through the gateway: the payload as sent (mobilityhouse adds its defaults) and
        the 1.6 answer payload, unvalidated; raises the error answered as :class:`OcppError` (ours) or as
        mobilityhouse's exception class."""
        if self.ours is not None:
            raw = await self.ours.server.call_raw(charge_point_id, action, payload)
            return payload, raw.result()
        assert self.mh is not None
        peer = await self.mh.peer(charge_point_id)
        request = build(getattr(MH_VERSIONS["1.6"].call, action), payload)
        result = await peer.role.call(request, suppress=False)
        [*_, sent] = [frame for frame in peer.socket.frames("sent") if frame[0] == 2]
        assert sent[2] == action
        fields: dict[str, Any] = mh_fields(result)
        return _payload(sent[3]), fields


def _payload(value: object) -> dict[str, Any]:
    assert isinstance(value, dict)
    return value  # pyright: ignore[reportUnknownVariableType]


@asynccontextmanager
async def upstream(kind: CsmsKind) -> AsyncGenerator[Upstream]:
    if kind == "ours":
        async with OurCsms() as ours:
            yield Upstream(kind, ours.url, ours=ours)
    else:
        async with mh_csms16(CP_ACTIONS_16) as mh:
            yield Upstream(kind, mh.url, mh=mh)


# -- chargers downstream --------------------------------------------------------------------------------------------

Transport = Literal["soap", "websocket"]


@asynccontextmanager
async def gateway_serving(gateway: Gateway) -> AsyncGenerator[tuple[str, str]]:
    """The gateway's downstream servers: (SOAP URL, WebSocket URL)."""
    async with (
        soap.serve(gateway.server, "127.0.0.1", 0) as soap_server,
        websocket.serve(gateway.server, "127.0.0.1", 0, path="/ocpp") as ws_server,
    ):
        yield soap_server.url, ws_server.url


def charger_connection(cp: Charger, transport: Transport, urls: tuple[str, str]) -> AbstractAsyncContextManager[Any]:
    """``cp`` connected to the gateway by ``transport`` (quick reconnection)."""
    if transport == "soap":
        return soap.connect(cp, urls[0], **FAST)
    return websocket.connect(cp, urls[1], versions=[cp.version], **FAST)


def modules_action(version: str, side: Side) -> list[str]:
    return sorted(VERSIONS[version].initiated_by(side))


# -- 1. every action, both ways -------------------------------------------------------------------------------------

DOWNSTREAMS = [
    pytest.param("1.5", "soap", id="1.5-soap"),
    pytest.param("1.2", "websocket", id="1.2-ocppj"),
    pytest.param("1.5", "websocket", id="1.5-ocppj"),
    pytest.param("1.2", "soap", id="1.2-soap"),
]


async def _check_charge_point_action(up: Upstream, cp: Charger, upstream_id: str, action: str, optional: bool) -> None:
    """``cp`` sends ``action``: the central system gets its 1.6 translation, valid; ``cp`` gets the answer's."""
    spec = VERSIONS[cp.version].initiated_by(Side.CHARGE_POINT)[action]
    request = example(spec.request, optional=optional)
    before = len(up.calls(upstream_id))
    answer = await cp.call(request)
    calls = up.calls(upstream_id)
    if action == "MeterValues" and not request.to_json_dict().get("values"):
        # 1.6 requires a reading: one without any says nothing and is answered by the gateway
        assert calls[before:] == [] and answer == spec.response(), answer
        return
    assert len(calls) == before + 1, f"{action}: the central system got {calls[before:]}"
    got_action, payload, _ = calls[-1]
    assert got_action == action
    assert problems_16(action, "request", payload) == [], action
    assert payload == translate(request, "1.6").to_json_dict(), action
    expected = translate(spec_16(action).response.model_validate(up.answer(action)), cp.version)
    assert answer == expected, action


def _xml_like(model: OcppModel) -> object:
    """``model``'s payload with empty lists left out: SOAP writes an empty list as no element at all."""

    def strip(value: object) -> object:
        if isinstance(value, dict):
            items = cast(dict[str, object], value)
            return {key: strip(item) for key, item in items.items() if item != []}
        if isinstance(value, list):
            elements = cast(list[object], value)
            return [strip(item) for item in elements]
        return value

    return strip(model.to_json_dict())


def spec_16(action: str) -> Any:
    return V16.initiated_by(Side.CHARGE_POINT).get(action) or V16.initiated_by(Side.CENTRAL_SYSTEM)[action]


async def _check_central_system_action(
    up: Upstream, cp: Charger, upstream_id: str, action: str, optional: bool
) -> None:
    """The central system calls ``action`` (1.6): the charger gets it in its version and the answer comes back
    in 1.6, valid; or, when the charger's version cannot say it, NotSupported with the reason."""
    spec = spec_16(action)
    request = example(spec.request, optional=optional)
    payload = request.to_json_dict()
    received = len(cp.received)
    try:
        down = translate(request, cp.version)
    except NotTranslatable as refused:
        if up.kind == "ours":
            with pytest.raises(ActionNotSupported) as error:
                await up.call(upstream_id, action, payload)
            description = error.value.description
        else:
            with pytest.raises(mh_exceptions.NotSupportedError) as mh_error:
                await up.call(upstream_id, action, payload)
            description = str(mh_error.value.description)
        assert refused.reason in description and f"OCPP {cp.version}" in description, description
        assert len(cp.received) == received, f"{action} reached the charger"
        return
    sent, answer = await up.call(upstream_id, action, payload)
    if sent != payload:  # mobilityhouse writes its own defaults (an empty localAuthorizationList)
        down = translate(spec.request.model_validate(sent), cp.version)
    assert [_xml_like(m) for m in cp.received[received:]] == [_xml_like(down)], action
    charger_answer = example(VERSIONS[cp.version].initiated_by(Side.CENTRAL_SYSTEM)[action].response)
    expected = translate(charger_answer, "1.6").to_json_dict()
    if up.kind == "ours":
        assert problems_16(action, "response", answer) == [], action
        assert answer == expected, action
    else:
        assert answer == snake_case(expected), action


@pytest.mark.parametrize("kind", CSMS_KINDS)
@pytest.mark.parametrize(("version", "transport"), DOWNSTREAMS)
@bounded(20)
async def test_every_action_crosses_the_gateway_both_ways_as_valid_16(
    version: str, transport: Transport, kind: CsmsKind
) -> None:
    async with upstream(kind) as up, Gateway(up.url, **FAST) as gateway, gateway_serving(gateway) as urls:
        cp = Charger(f"CP{version.replace('.', '')}-{transport}", version)
        async with charger_connection(cp, transport, urls):
            for optional in (True, False):
                for action in modules_action(version, Side.CHARGE_POINT):
                    await _check_charge_point_action(up, cp, cp.id, action, optional)
            for optional in (True, False):
                for action in CS_ACTIONS_16:
                    await _check_central_system_action(up, cp, cp.id, action, optional)
            [row] = gateway.status()
            assert (row.id, row.downstream_version, row.downstream_connected, row.upstream_connected) == (
                cp.id,
                version,
                True,
                True,
            )
            assert row.queued == 0 and row.upstream_error is None


@pytest.mark.parametrize("kind", CSMS_KINDS)
@bounded(30)
async def test_zeep_with_the_official_15_wsdl_reaches_the_16_central_system_through_the_gateway(kind: CsmsKind) -> None:
    """A 1.5 SOAP charge point that is not ours: zeep, loaded with the official 1.5 CentralSystemService WSDL,
    sends every 1.5 charge point action (every field, then required ones only) to the gateway."""
    from .conftest import WSDL_DIR

    if not (WSDL_DIR / "1.5").is_dir():
        pytest.skip(f"the official OCPP WSDLs are not at {WSDL_DIR} (../shared/ocpp-wsdl beside the checkout)")
    from .test_zeep_interop import call_with_zeep, load  # zeep and its helpers (skips without zeep)

    peer = await load("1.5", Side.CENTRAL_SYSTEM)
    identity = "ZEEP-15"
    async with upstream(kind) as up, Gateway(up.url, **FAST) as gateway, gateway_serving(gateway) as urls:
        service = peer.service(urls[0])
        for optional in (True, False):
            for action, spec in sorted(VERSIONS["1.5"].initiated_by(Side.CHARGE_POINT).items()):
                request = example(spec.request, optional=optional)
                before = len(up.calls(identity))
                answer = await asyncio.to_thread(call_with_zeep, peer, service, spec, request, identity)
                calls = up.calls(identity)
                if action == "MeterValues" and not optional:  # no reading: answered by the gateway
                    assert calls[before:] == [] and answer == spec.response()
                    continue
                [(got_action, payload, _)] = calls[before:]
                assert got_action == action
                assert problems_16(action, "request", payload) == [], action
                assert payload == translate(request, "1.6").to_json_dict(), action
                assert answer == translate(spec_16(action).response.model_validate(up.answer(action)), "1.5"), action
        [row] = gateway.status()
        assert (row.id, row.downstream_version, row.upstream_connected, row.queued) == (identity, "1.5", True, 0)


# -- 2. the central system unreachable, transactions in progress ----------------------------------------------------


def reading_15(value: int) -> v15.MeterValuesRequest:
    return v15.MeterValuesRequest(
        connector_id=1,
        transaction_id=RecordingCsms.TRANSACTION_ID,
        values=[
            v15.MeterValue(timestamp=datetime(2026, 11, 24, 10, value, tzinfo=UTC), values=[{"value": str(value)}])
        ],
    )


STOP_15 = v15.StopTransactionRequest(
    transaction_id=RecordingCsms.TRANSACTION_ID,
    id_tag="TAG1",
    timestamp=datetime(2026, 11, 24, 11, tzinfo=UTC),
    meter_stop=9,
)
START_15 = v15.StartTransactionRequest(
    connector_id=1, id_tag="TAG1", timestamp=datetime(2026, 11, 24, 10, tzinfo=UTC), meter_start=0
)


@bounded(20)
async def test_central_system_down_meter_values_and_stop_confirmed_once_stored_then_delivered_once_in_order() -> None:
    async with OurCsms() as csms, Gateway(csms.url, **FAST) as gateway, gateway_serving(gateway) as urls:
        cp = Charger("CP-OFF", "1.5")
        async with soap.connect(cp, urls[0], **FAST):
            await cp.call(example(v15.BootNotificationRequest))
            started = await cp.call(START_15)
            assert started.transaction_id == RecordingCsms.TRANSACTION_ID
            await csms.stop()
            await eventually(lambda: not gateway.status()[0].upstream_connected)
            online = len(csms.received)
            # confirmed as soon as stored, each within a fraction of a second
            for value in (1, 2, 3):
                async with asyncio.timeout(1):
                    assert await cp.call(reading_15(value)) == v15.MeterValuesResponse()
            async with asyncio.timeout(1):
                assert await cp.call(STOP_15) == v15.StopTransactionResponse()
            # a heartbeat is answered with the gateway's time; nothing the central system decides is invented
            heartbeat = await cp.call(v15.HeartbeatRequest())
            assert abs((heartbeat.current_time - datetime.now(UTC)).total_seconds()) < 5
            for refused in (v15.AuthorizeRequest(id_tag="TAG2"), example(v15.BootNotificationRequest)):
                with pytest.raises(InternalError, match="unreachable") as error:
                    await cp.call(refused)
                assert error.value.remote
            [row] = gateway.status()
            assert (row.queued, row.upstream_connected, row.downstream_connected) == (4, False, True)
            assert row.upstream_error is not None
            assert len(csms.received) == online  # nothing reached it meanwhile
            await csms.start()  # the same port: the gateway reconnects by itself
            await eventually(lambda: gateway.status()[0].queued == 0, timeout=5)
            delivered = csms.received[online:]
            assert [r.action for r in delivered] == ["MeterValues"] * 3 + ["StopTransaction"]
            assert [r.payload for r in delivered] == [
                translate(message, "1.6").to_json_dict() for message in (*map(reading_15, (1, 2, 3)), STOP_15)
            ]
            assert all(problems_16(r.action, "request", r.payload) == [] for r in delivered)
            assert len({r.message_id for r in delivered}) == 4
            await cp.call(v15.HeartbeatRequest())  # a round trip: nothing more was on its way
            assert [r.action for r in csms.received[online + 4 :]] == ["Heartbeat"]
            [row] = gateway.status()
            assert (row.queued, row.upstream_connected, row.upstream_error) == (0, True, None)


@bounded(15)
async def test_a_stricter_offline_policy_confirms_only_what_it_names() -> None:
    with pytest.raises(UsageError, match="transaction messages only"):
        OfflinePolicy(confirm_when_stored=frozenset({"Heartbeat"}))
    policy = OfflinePolicy(confirm_when_stored=frozenset({"MeterValues"}), local_heartbeat=False)
    async with (
        OurCsms() as csms,
        Gateway(csms.url, policy=policy, **FAST) as gateway,
        gateway_serving(gateway) as urls,
    ):
        cp = Charger("CP-STRICT", "1.5")
        async with soap.connect(cp, urls[0], **FAST):
            await cp.call(START_15)
            await csms.stop()
            await eventually(lambda: not gateway.status()[0].upstream_connected)
            with pytest.raises(InternalError, match="unreachable"):
                await cp.call(v15.HeartbeatRequest())
            async with asyncio.timeout(1):
                await cp.call(reading_15(1))  # confirmed once stored
            stop = asyncio.create_task(cp.call(STOP_15))
            await eventually(lambda: gateway.status()[0].queued == 2)
            await asyncio.sleep(0.1)
            assert not stop.done()  # stored, but not confirmed: it waits for the central system
            await csms.start()
            assert await stop == translate(csms_answer("StopTransaction"), "1.5")
            assert [r.action for r in csms.received[-2:]] == ["MeterValues", "StopTransaction"]


class ImpatientCharger(Charger):
    """Gives up waiting for an answer after 0.3 s and sends the message again, with its first id."""

    call_timeout = 0.3


@bounded(20)
async def test_a_start_transaction_waits_for_the_central_system_and_its_retries_are_not_queued_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ocpprpc.CentralSystem")
    async with OurCsms() as csms, Gateway(csms.url, **FAST) as gateway, gateway_serving(gateway) as urls:
        cp = ImpatientCharger("CP-START", "1.5")
        async with soap.connect(cp, urls[0], **FAST):
            await cp.call(example(v15.BootNotificationRequest))
            await csms.stop()
            await eventually(lambda: not gateway.status()[0].upstream_connected)
            start = asyncio.create_task(cp.call(START_15))
            await eventually(lambda: caplog.text.count("is a retry: answered as before") >= 3, timeout=5)
            assert not start.done()  # no transaction id is invented
            [row] = gateway.status()
            assert row.queued == 1  # the first attempt only
            assert csms.of("StartTransaction") == []
            await csms.start()
            started = await start
            assert started.transaction_id == RecordingCsms.TRANSACTION_ID
            [delivered] = csms.of("StartTransaction")
            assert delivered.payload == translate(START_15, "1.6").to_json_dict()
            assert gateway.status()[0].queued == 0


@bounded(20)
async def test_a_start_transaction_waits_longer_than_any_handler_may_take(monkeypatch: pytest.MonkeyPatch) -> None:
    """Handlers are cut after ``handler_timeout`` (30 s by default; 0.3 s here): the gateway's wait for the
    central system's StartTransaction answer is not, or the charger would hear InternalError for a
    transaction the central system gets later, and never learn its id."""
    monkeypatch.setattr(Role, "handler_timeout", 0.3)
    async with OurCsms() as csms, Gateway(csms.url, **FAST) as gateway, gateway_serving(gateway) as urls:
        cp = ImpatientCharger("CP-LONG", "1.5")
        async with soap.connect(cp, urls[0], **FAST):
            await cp.call(example(v15.BootNotificationRequest))
            await csms.stop()
            await eventually(lambda: not gateway.status()[0].upstream_connected)
            start = asyncio.create_task(cp.call(START_15))
            await asyncio.sleep(1)  # over three handler timeouts
            assert not start.done()
            await csms.start()
            assert (await start).transaction_id == RecordingCsms.TRANSACTION_ID
            assert len(csms.of("StartTransaction")) == 1


@bounded(20)
async def test_a_mobilityhouse_central_system_cut_off_gets_every_queued_message_once_in_order() -> None:
    """The link to a mobilityhouse central system is cut (connections dropped, new ones closed at once) while a
    1.2 charger over OCPP-J goes on charging; mended, the central system gets each message once, in order."""
    async with mh_csms16(CP_ACTIONS_16) as mh, TcpProxy(int(mh.url.split(":")[2].split("/")[0])) as link:
        url = f"ws://127.0.0.1:{link.port}/ocpp"
        async with Gateway(url, **FAST) as gateway, gateway_serving(gateway) as urls:
            cp = Charger("CP12-CUT", "1.2")
            async with websocket.connect(cp, urls[1], versions=["1.2"], **FAST):
                await cp.call(example(v12.BootNotificationRequest))
                started = await cp.call(example(v12.StartTransactionRequest))
                link.cut()
                await eventually(lambda: not gateway.status()[0].upstream_connected)
                sent: list[OcppModel] = [example(v12.MeterValuesRequest), example(v12.StopTransactionRequest)]
                async with asyncio.timeout(1):  # each confirmed once stored
                    await cp.call(example(v12.MeterValuesRequest))
                    await cp.call(example(v12.StopTransactionRequest))
                assert gateway.status()[0].queued == 2
                link.mend()
                await eventually(lambda: gateway.status()[0].queued == 0, timeout=5)
                await cp.call(v12.HeartbeatRequest())
    calls = mh.calls(cp.id)
    assert [call[2] for call in calls] == [
        "BootNotification",
        "StartTransaction",
        "MeterValues",
        "StopTransaction",
        "Heartbeat",
    ]
    assert [call[3] for call in calls[2:4]] == [translate(message, "1.6").to_json_dict() for message in sent]
    assert all(problems_16(str(call[2]), "request", call[3]) == [] for call in calls)
    assert len({call[1] for call in calls}) == len(calls)
    assert started.transaction_id == mh_message("1.6", "StartTransaction", "response").wire["transactionId"]
    answered = [frame for frame in mh.frames(cp.id, "sent") if frame[0] == 3]
    assert [frame[1] for frame in answered] == [call[1] for call in calls]  # mobilityhouse answered each, valid


# -- 3. the gateway restarted on its store --------------------------------------------------------------------------


def stored(path: Path) -> list[tuple[str, str, str]]:
    """(charge point, action, message id) of each message in the gateway's store, read independently."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT charge_point_id, action, message_id FROM ocpprpc_outbox ORDER BY key").fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


@bounded(20)
async def test_a_gateway_restarted_on_its_store_delivers_what_it_stored_without_the_charger(tmp_path: Path) -> None:
    store = tmp_path / "gateway.sqlite"
    async with OurCsms() as csms:
        async with Gateway(csms.url, store=store, **FAST) as gateway, gateway_serving(gateway) as urls:
            cp = Charger("CP-RESTART", "1.5")
            async with soap.connect(cp, urls[0], **FAST):
                await cp.call(START_15)
                await csms.stop()
                await eventually(lambda: not gateway.status()[0].upstream_connected)
                for message in (reading_15(1), reading_15(2), STOP_15):
                    await cp.call(message)  # confirmed once stored (in SQLite, fsynced)
                assert gateway.status()[0].queued == 3
        # the charger and the gateway are gone; the messages are in the file
        rows = stored(store)
        assert [(cp_id, action) for cp_id, action, _ in rows] == [
            ("CP-RESTART", "MeterValues"),
            ("CP-RESTART", "MeterValues"),
            ("CP-RESTART", "StopTransaction"),
        ]
        online = len(csms.received)
        async with Gateway(csms.url, store=store, **FAST) as gateway:  # no downstream server, no charger
            [row] = gateway.status()  # known at start, the central system still down
            assert (row.id, row.downstream_version, row.downstream_connected, row.queued) == (
                "CP-RESTART",
                None,
                False,
                3,
            )
            await eventually(lambda: gateway.status()[0].upstream_error is not None)
            assert not gateway.status()[0].upstream_connected
            await csms.start()
            await eventually(lambda: len(csms.received) == online + 3, timeout=5)
            await eventually(lambda: gateway.status() == [], timeout=2)  # its connection ends once delivered
        delivered = csms.received[online:]
        assert [(r.charge_point_id, r.action, r.message_id) for r in delivered] == rows  # their ids kept
        assert [r.payload for r in delivered] == [
            translate(message, "1.6").to_json_dict() for message in (reading_15(1), reading_15(2), STOP_15)
        ]
        assert stored(store) == []
        await eventually(lambda: "CP-RESTART" not in csms.server)


# -- 4. identities, credentials, TLS --------------------------------------------------------------------------------


@bounded(15)
async def test_each_charger_reaches_the_central_system_under_its_mapped_id_with_its_own_credentials() -> None:
    passwords = {"UP-A": "secret-a", "UP-B": "secret-b", "UP-C": "secret-c"}
    identities = {"SOAP-A": "UP-A", "WS-B": "UP-B", "WS-C": "UP-C"}
    credentials = {"UP-A": ("UP-A", "secret-a"), "UP-B": ("UP-B", "secret-b"), "UP-C": ("UP-C", "an old password")}
    async with (
        OurCsms(auth=auth_table(passwords)) as csms,
        Gateway(csms.url, identities=identities, credentials=credentials, **FAST) as gateway,
        gateway_serving(gateway) as urls,
    ):
        a, b, c = Charger("SOAP-A", "1.5"), Charger("WS-B", "1.2"), Charger("WS-C", "1.5")
        async with (
            soap.connect(a, urls[0], **FAST),
            websocket.connect(b, urls[1], versions=["1.2"], **FAST),
            websocket.connect(c, urls[1], versions=["1.5"], **FAST),
        ):
            assert (await a.call(example(v15.BootNotificationRequest))).status.value == "Accepted"
            assert (await b.call(example(v12.BootNotificationRequest))).status.value == "Accepted"
            with pytest.raises(InternalError, match="unreachable"):  # refused upstream: never an invented answer
                await c.call(example(v15.BootNotificationRequest))
            assert sorted({r.charge_point_id for r in csms.received}) == ["UP-A", "UP-B"]
            assert sorted(csms.server) == ["UP-A", "UP-B"]
            # the central system calls them by the ids it knows
            for upstream_id, cp in (("UP-A", a), ("UP-B", b)):
                reset = await csms.server.call(upstream_id, v16.ResetRequest(type="Hard"))
                assert reset.status.value == "Accepted" and cp.received[-1].to_json_dict() == {"type": "Hard"}
            rows = {row.id: row for row in gateway.status()}
            assert [(r.id, r.upstream_id, r.upstream_connected) for r in rows.values()] == [
                ("SOAP-A", "UP-A", True),
                ("WS-B", "UP-B", True),
                ("WS-C", "UP-C", False),
            ]
            error = rows["WS-C"].upstream_error
            assert error is not None and "401" in error and "an old password" not in error


@pytest.mark.parametrize("profile", [2, 3])
@bounded(15)
async def test_a_wss_central_system_with_a_security_profile(profile: Literal[2, 3], pki: Pki) -> None:
    """Profile 2: TLS and per-charge-point Basic auth (identities and credentials given as functions);
    profile 3: the gateway's client certificate (CN=CP1), which names the one upstream id it may use."""
    if profile == 2:
        serving = server_context(pki.server_cert, pki.server_key)
        csms_options: dict[str, Any] = {"ssl": serving, "auth": auth_table({"GW-SOAP-1": "pw-GW-SOAP-1"})}
        client_tls = client_context(pki.ca)
        options: dict[str, Any] = {
            "identities": lambda down: f"GW-{down}",  # pyright: ignore[reportUnknownLambdaType]
            "credentials": lambda up: (up, f"pw-{up}"),  # pyright: ignore[reportUnknownLambdaType]
        }
        upstream_id = "GW-SOAP-1"
    else:
        serving = server_context(pki.server_cert, pki.server_key, client_ca=pki.ca)
        csms_options = {"ssl": serving}
        cert, key = pki.client["CP1"]
        client_tls = client_context(pki.ca, certfile=cert, keyfile=key)
        options = {"identities": {"SOAP-1": "CP1"}}
        upstream_id = "CP1"
    async with (
        OurCsms(security_profile=profile, **csms_options) as csms,
        Gateway(csms.url, ssl=client_tls, upstream_options={"security_profile": profile}, **options, **FAST) as gateway,
        gateway_serving(gateway) as urls,
    ):
        assert csms.url.startswith("wss://")
        cp = Charger("SOAP-1", "1.5")
        async with soap.connect(cp, urls[0], **FAST):
            assert (await cp.call(example(v15.BootNotificationRequest))).status.value == "Accepted"
            assert [r.charge_point_id for r in csms.received] == [upstream_id]
            answer = await csms.server.call(upstream_id, v16.GetConfigurationRequest(key=["HeartbeatInterval"]))
            assert type(answer) is v16.GetConfigurationResponse and cp.received[-1] == v15.GetConfigurationRequest(
                key=["HeartbeatInterval"]
            )
            [row] = gateway.status()
            assert (row.upstream_id, row.upstream_connected, row.upstream_error) == (upstream_id, True, None)


# -- 5. status, through a charger's comings and goings --------------------------------------------------------------


@bounded(15)
async def test_status_follows_a_charger_reconnecting_leaving_and_leaving_messages_behind() -> None:
    async with OurCsms() as csms, Gateway(csms.url, **FAST) as gateway, gateway_serving(gateway) as urls:
        connects: list[str] = []
        csms.server.add_listener(on_connect=lambda role: connects.append(role.id))
        first, second = Charger("WS-1", "1.2"), Charger("WS-1", "1.2")
        async with websocket.connect(first, urls[1], versions=["1.2"], reconnect=False, **FAST):
            await first.call(example(v12.BootNotificationRequest))
            [row] = gateway.status()
            assert (row.id, row.downstream_version, row.downstream_connected, row.upstream_connected, row.queued) == (
                "WS-1",
                "1.2",
                True,
                True,
                0,
            )
            # the charger connects again before its old connection is gone: the new one replaces it
            async with websocket.connect(second, urls[1], versions=["1.2"], **FAST):
                await eventually(lambda: not first.connected)
                await asyncio.sleep(0.1)  # time for a wrongly closed upstream connection to show
                assert gateway.status()[0].upstream_connected and connects == ["WS-1"]
                await csms.server.call("WS-1", v16.ClearCacheRequest())  # reaches the new connection
                assert second.received == [v12.ClearCacheRequest()] and first.received == []
        # gone, nothing queued: its upstream connection ends
        await eventually(lambda: gateway.status() == [] and "WS-1" not in csms.server)
        # gone with a message the central system has not had yet: kept until delivered
        await csms.stop()
        third = Charger("WS-1", "1.2")
        async with websocket.connect(third, urls[1], versions=["1.2"], **FAST):
            await third.call(example(v12.MeterValuesRequest))  # confirmed once stored
            [row] = gateway.status()
            assert (row.downstream_connected, row.upstream_connected, row.queued) == (True, False, 1)
            assert row.upstream_error is not None and "Connect" in row.upstream_error
        await eventually(lambda: not gateway.status()[0].downstream_connected)
        [row] = gateway.status()
        assert (row.downstream_version, row.upstream_connected, row.queued) == (None, False, 1)
        await csms.start()
        await eventually(lambda: [r.action for r in csms.received][-1:] == ["MeterValues"], timeout=5)
        await eventually(lambda: gateway.status() == [] and "WS-1" not in csms.server)


@pytest.mark.parametrize("central_system_back", ["before the gateway", "after the gateway"])
@bounded(20)
async def test_a_start_transaction_pending_across_a_gateway_restart_reaches_the_central_system_once(
    central_system_back: str, tmp_path: Path
) -> None:
    """The charger got no answer before the gateway stopped, so it sends its StartTransaction again (same
    message id) to the restarted gateway: that joins the copy stored by the first run, delivered at start."""
    store = tmp_path / "gateway.sqlite"
    async with OurCsms() as csms:
        cp = ImpatientCharger("CP-PENDING", "1.5")
        gateway = Gateway(csms.url, store=store, **FAST)
        await gateway.start()
        listener = await soap.serve(gateway.server, "127.0.0.1", 0).start()
        port = listener.port
        async with soap.connect(cp, listener.url, **FAST):
            await cp.call(v15.HeartbeatRequest())
            await csms.stop()
            await eventually(lambda: not gateway.status()[0].upstream_connected)
            start = asyncio.create_task(cp.call(START_15))
            await eventually(lambda: stored(store) != [])
            async with asyncio.timeout(2):  # as the app stops: the listeners, then the gateway; promptly
                await listener.close()
                await gateway.close()
            assert not start.done()  # no answer was invented for it: the charger sends it again
            if central_system_back == "before the gateway":
                await csms.start()
            async with (
                Gateway(csms.url, store=store, **FAST) as gateway,
                soap.serve(gateway.server, "127.0.0.1", port),
            ):
                if central_system_back == "after the gateway":
                    await asyncio.sleep(0.3)  # the charger's retries reach the restarted gateway meanwhile
                    await csms.start()
                started = await start
                assert started.transaction_id == RecordingCsms.TRANSACTION_ID
                [delivered] = csms.of("StartTransaction")
                assert delivered.payload == translate(START_15, "1.6").to_json_dict()
                assert stored(store) == []


# -- 6. hostile input, both sides --------------------------------------------------------------------------------------


async def _next_frame(ws: Any) -> list[Any]:
    async with asyncio.timeout(2):
        frame: list[Any] = json.loads(await ws.recv())
    return frame


@bounded(15)
async def test_garbage_from_a_charger_gets_its_error_and_leaves_the_upstream_link_alone() -> None:
    async with OurCsms() as csms, Gateway(csms.url, **FAST) as gateway, gateway_serving(gateway) as urls:
        connects: list[str] = []
        csms.server.add_listener(on_connect=lambda role: connects.append(role.id))
        # an OCPP-J 1.2 charger writing frames by hand
        async with ws_connect(
            urls[1].rstrip("/") + "/RAW-12", subprotocols=[Subprotocol("ocpp1.2")], open_timeout=2
        ) as ws:
            await ws.send('[2,"h1","Heartbeat",{}]')
            assert (await _next_frame(ws))[:2] == [3, "h1"]
            await ws.send("this is not JSON")  # a bad frame: logged, not answered
            expectations = [
                ('[2,"b1","Frobnicate",{}]', "NotImplemented"),
                ('[2,"b2","BootNotification",{"chargePointVendor":"ACME"}]', "OccurenceConstraintViolation"),
                ('[2,"b3","Reset",{"type":"Hard"}]', "NotSupported"),  # a central system's action
                ('[2,"b4","MeterValues",{"connectorId":"one"}]', "TypeConstraintViolation"),
                (
                    '[2,"b5","StatusNotification",{"connectorId":1,"status":"Sleeping","errorCode":"NoError"}]',
                    "TypeConstraintViolation",
                ),
                ('[2,"b6","Heartbeat",{"colour":"blue"}]', "PropertyConstraintViolation"),
            ]
            for frame, code in expectations:
                await ws.send(frame)
                answer = await _next_frame(ws)
                assert answer[:3] == [4, json.loads(frame)[1], code], frame
            await ws.send('[2,"h2","Heartbeat",{}]')
            assert (await _next_frame(ws))[:2] == [3, "h2"]
            # a SOAP charger posting garbage, then an envelope missing a required field
            cp = Charger("SOAP-15", "1.5")
            async with soap.connect(cp, urls[0], **FAST):
                fault = await cp.send_raw("<<<not XML at all")
                assert fault is not None and "FormationViolation" in fault
                refused = await cp.call_raw("BootNotification", {"chargePointVendor": "ACME"})
                assert refused.error is not None and refused.error.code.value == "OccurenceConstraintViolation"
                assert (await cp.call(v15.HeartbeatRequest())).current_time is not None
            # only the good requests went up, on connections that stayed up
            assert [(r.charge_point_id, r.action) for r in csms.received] == [
                ("RAW-12", "Heartbeat"),
                ("RAW-12", "Heartbeat"),
                ("SOAP-15", "Heartbeat"),
            ]
            assert connects == ["RAW-12", "SOAP-15"]
            assert all(row.upstream_connected and row.upstream_error is None for row in gateway.status())


@bounded(15)
async def test_what_a_central_system_sends_wrong_is_answered_and_the_charger_is_spared() -> None:
    async with OurCsms() as csms, Gateway(csms.url, **FAST) as gateway, gateway_serving(gateway) as urls:
        cp = Charger("CP15", "1.5")
        async with soap.connect(cp, urls[0], **FAST):
            await cp.call(v15.HeartbeatRequest())
            wrong: list[tuple[str, dict[str, Any], str | None]] = [
                ("Reset", {"type": "Sideways"}, "TypeConstraintViolation"),
                ("Reset", {}, "OccurenceConstraintViolation"),
                ("Frobnicate", {}, "NotImplemented"),
                ("Heartbeat", {}, "NotSupported"),  # a charge point's action
                ("TriggerMessage", {"requestedMessage": "StatusNotification"}, "NotSupported"),  # 1.5 has none
                ("SetChargingProfile", example(v16.SetChargingProfileRequest).to_json_dict(), "NotSupported"),
                ("UnlockConnector", {"connectorId": 1}, None),  # a good one at the end
            ]
            for action, payload, code in wrong:
                answer = await csms.server.call_raw("CP15", action, payload)
                if code is None:
                    assert answer.error is None and answer.payload == {"status": "Unlocked"}
                else:
                    assert answer.error is not None and answer.error.code.value == code, (action, answer.frame)
            assert cp.received == [v15.UnlockConnectorRequest(connector_id=1)]
            assert gateway.status()[0].upstream_connected
        # the charger's remote action port gone (SOAP: still registered): a call is refused at once, not hung
        assert "CP15" in gateway.server and "CP15" in csms.server
        async with asyncio.timeout(2):
            gone = await csms.server.call_raw("CP15", "Reset", {"type": "Soft"})
        assert gone.error is not None and gone.error.code.value == "InternalError", gone.frame
        # that ended the charger's registration, so its upstream connection too
        await eventually(lambda: gateway.status() == [] and "CP15" not in csms.server)


@bounded(15)
async def test_a_soap_charger_that_stopped_waiting_costs_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """A charger's request that outlives its HTTP timeout is answered into a closed connection once the
    central system is back: that is routine for a gateway (the charger sends it again), not an error."""
    caplog.set_level(logging.INFO)
    async with OurCsms() as csms, Gateway(csms.url, **FAST) as gateway, gateway_serving(gateway) as urls:
        cp = ImpatientCharger("CP-GONE", "1.5")
        async with soap.connect(cp, urls[0], **FAST):
            await cp.call(v15.HeartbeatRequest())
            await csms.stop()
            await eventually(lambda: not gateway.status()[0].upstream_connected)
            start = asyncio.create_task(cp.call(START_15))
            await asyncio.sleep(0.4)  # its first request timed out: the gateway still holds it
            await csms.start()
            assert (await start).transaction_id == RecordingCsms.TRANSACTION_ID
            await asyncio.sleep(0.1)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not any(r.exc_info for r in caplog.records)


@bounded(15)
async def test_a_central_system_slow_to_answer_a_start_transaction_still_answers_the_charger_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gateway's upstream attempts time out (0.2 s here) three times while the central system works on
    the StartTransaction (1 s): its outbox stops waiting, the gateway does not; the message is sent again
    with its first id (which our central system recognises), and the charger gets the one answer."""
    monkeypatch.setattr(Role, "call_timeout", 0.2)
    monkeypatch.setattr(ChargePoint, "transaction_message_retry_interval", 0.05)
    async with OurCsms() as csms, Gateway(csms.url, **FAST) as gateway, gateway_serving(gateway) as urls:
        cp = Charger("CP-SLOW", "1.5")
        async with soap.connect(cp, urls[0], **FAST):
            await cp.call(v15.HeartbeatRequest())
            csms.slow["StartTransaction"] = 1.0
            started = await cp.call(START_15, timeout=5)
            assert started.transaction_id == RecordingCsms.TRANSACTION_ID
            attempts = csms.of("StartTransaction")
            assert len(attempts) >= 3 and len({a.message_id for a in attempts}) == 1  # one message, sent again
            assert len(csms.server["CP-SLOW"].received) == 2  # handled once (with the Heartbeat)
            assert gateway.status()[0].queued == 0
