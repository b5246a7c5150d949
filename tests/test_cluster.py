"""ocpprpc.cluster: central system nodes on NATS, with real nats-server processes on 127.0.0.1.

Nodes run in this process (each a Cluster joined to a CentralSystemServer with a WebSocket listener),
but for the node-kill test, whose node is a subprocess killed with SIGKILL. Charge points connect to
the nodes directly or through a switchable TCP balancer (``tests/cluster_support.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nats.js.api import ConsumerConfig
from websockets.asyncio.client import connect as raw_connect

from ocpprpc import CentralSystemServer, UnknownChargePoint
from ocpprpc.cluster import (
    ChargePointInfo,
    Cluster,
    ClusterClient,
    ClusterUnavailable,
    EmbeddedNats,
    Event,
    decode_token,
    encode_token,
)
from ocpprpc.errors import CallTimeout, ConnectionClosed, FormationViolation, SecurityError, UsageError
from ocpprpc.messages import v16, v201
from ocpprpc.transports import soap, websocket

from .cluster_roles import Charger, Csms, Handled, Station, node_server
from .cluster_support import NodeProcess, jetstream, nats_client, nats_server_or_skip
from .tcp_proxy import TcpProxy
from .timing import FAST, bounded, eventually

QUICK: dict[str, Any] = {"heartbeat": 0.2, "node_ttl": 1.0}
"""Node liveness for the tests: a killed node counts as gone a second after its last heartbeat."""


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    nats_server_or_skip()
    async with EmbeddedNats() as server:
        yield server


@dataclass
class Node:
    cluster: Cluster
    server: CentralSystemServer[Csms]
    ws: websocket.WebSocketServer[Csms]

    @property
    def id(self) -> str:
        return self.cluster.node_id


async def start_node(
    stack: contextlib.AsyncExitStack,
    nats_url: str | list[str] | None,
    node_id: str,
    handled: Handled | None = None,
    **options: Any,
) -> Node:
    nats_server_or_skip()
    cluster = Cluster(nats_url, node_id=node_id, **{**QUICK, **options})
    server = node_server(cluster, handled)
    await stack.enter_async_context(cluster)
    ws = await stack.enter_async_context(websocket.serve(server, "127.0.0.1", 0))
    return Node(cluster, server, ws)


async def stop_transaction_losing_an_answer(
    stack: contextlib.AsyncExitStack, handled: Handled, balancer: TcpProxy, to_port: int, lose: Callable[[str], bool]
) -> v16.StopTransactionResponse:
    """CP1 connects through ``balancer`` and sends a StopTransaction. The first time ``lose`` says yes (asked
    with the handling node or worker), its connection breaks before the answer leaves, and the balancer
    points at ``to_port``. The charge point's outbox retries there; the answer it finally gets is returned."""

    async def lose_the_answer(handler: str) -> None:
        if lose(handler):
            balancer.target_port = to_port
            balancer.drop()
            await asyncio.sleep(0.05)

    handled.on_stop = lose_the_answer
    charger = Charger("CP1", "1.6")
    await stack.enter_async_context(websocket.connect(charger, balancer.url("CP1"), **FAST))
    stop = v16.StopTransactionRequest(transaction_id=7, meter_stop=12, timestamp=datetime.now(UTC))
    return await charger.call(stop)  # retried by the charge point's outbox


# -- names ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("charge_point_id", ["CP1", "CP.1", "*", "a>b", "Büro-7_x", "=41", "CP 1\t"])
def test_an_id_becomes_a_token_nats_takes_and_decodes_back(charge_point_id: str) -> None:
    token = encode_token(charge_point_id)
    assert re.fullmatch(r"[A-Za-z0-9_=-]+", token)  # a subject token and a key-value key part
    assert decode_token(token) == charge_point_id
    assert encode_token("CP1") == "CP1"  # the usual id reads as itself


@given(st.text(min_size=1, max_size=48))
def test_every_id_has_its_own_token(charge_point_id: str) -> None:
    token = encode_token(charge_point_id)
    assert re.fullmatch(r"[A-Za-z0-9_=-]+", token)
    assert decode_token(token) == charge_point_id


# -- calls -----------------------------------------------------------------------------------------------


@bounded(30)
async def test_a_call_from_any_node_or_a_client_reaches_the_charge_point_and_raises_as_locally(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, None, "a")  # the embedded nats-server: no setup
        b = await start_node(stack, a.cluster.nats_url, "b")
        c = await start_node(stack, a.cluster.nats_url, "c")
        charger, station = Charger("CP1", "1.6"), Station("CS2", "2.0.1")
        await stack.enter_async_context(websocket.connect(charger, a.ws.url_for("CP1")))
        await stack.enter_async_context(websocket.connect(station, b.ws.url_for("CS2")))
        await c.cluster.presence.wait_until(lambda p: {"CP1", "CS2"} <= set(p), timeout=5)

        reset = await c.server.call("CP1", v16.ResetRequest(type="Soft"))
        assert isinstance(reset, v16.ResetResponse) and reset.status == v16.ResetStatus.ACCEPTED

        with pytest.raises(SecurityError) as refused:
            await c.server.call("CP1", v16.ResetRequest(type="Hard"))
        assert refused.value.remote and refused.value.description == "no hard reset here"

        with pytest.raises(FormationViolation) as formation:  # 2.0.1 spells it FormatViolation: kept
            await c.server.call("CS2", v201.ResetRequest(type="Immediate"))
        assert formation.value.remote and formation.value.raw_code == "FormatViolation"

        with pytest.raises(UsageError, match=r"OCPP 2\.0\.1"):  # a 1.6 request to a 2.0.1 station
            await c.server.call("CS2", v16.ResetRequest(type="Soft"))

        charger.slow = 2.0
        started = time.monotonic()
        with pytest.raises(CallTimeout):
            await c.server.call("CP1", v16.GetConfigurationRequest(), timeout=0.3)
        assert time.monotonic() - started < 1.5
        charger.slow = 0.0

        started = time.monotonic()
        with pytest.raises(UnknownChargePoint):
            await c.server.call("NOBODY", v16.ResetRequest(type="Soft"))
        assert time.monotonic() - started < 1.0  # NATS's "no responders", not the call timeout

        async with ClusterClient(a.cluster.nats_url) as backend:  # a process holding no sockets
            configuration = await backend.call("CP1", v16.GetConfigurationRequest())
            assert configuration.configuration_key is not None
            assert configuration.configuration_key[0].value == "CP1"
            await backend.presence.wait_until(lambda p: len(p) == 2, timeout=3)
            assert backend.presence["CS2"].node == "b"

        # A request that is not one is answered with an error, logged once, and changes nothing.
        caplog.set_level(logging.WARNING, "ocpprpc.cluster")
        client = await nats_client(a.cluster.nats_url)
        try:
            for garbage in (b"not json", b'{"version": "1.6", "action": "Reset", "payload": {"type": "Never"}}'):
                reply = json.loads((await client.request("ocpprpc.call.CP1", garbage, timeout=2)).data)
                assert reply["error"]["kind"] == "UsageError"
        finally:
            await client.close()
        assert len([r for r in caplog.records if "malformed call" in r.getMessage()]) == 2
        assert (await b.server.call("CP1", v16.ResetRequest(type="Soft"))).status == v16.ResetStatus.ACCEPTED


# -- presence --------------------------------------------------------------------------------------------


@bounded(30)
async def test_presence_is_the_same_on_every_member_with_events(nats_server: EmbeddedNats) -> None:
    heard: dict[str, list[tuple[str, str, str]]] = {"a": [], "client": []}

    def listen(who: str, client_or_node: ClusterClient) -> None:
        client_or_node.presence.add_listener(
            lambda info: heard[who].append(("connect", info.charge_point_id, info.node)),
            lambda info: heard[who].append(("disconnect", info.charge_point_id, info.node)),
        )

    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a")
        b = await start_node(stack, nats_server.url, "b")
        endpoint = await stack.enter_async_context(soap.serve(b.server, idle_timeout=2.0))
        backend = await stack.enter_async_context(ClusterClient(nats_server.url))
        listen("a", a.cluster)
        listen("client", backend)
        before = datetime.now(UTC) - timedelta(seconds=1)

        await stack.enter_async_context(websocket.connect(Charger("CP1", "1.6"), a.ws.url_for("CP1")))
        soap_charger = Charger("CP2", "1.6")
        async with soap.connect(soap_charger, endpoint.url):
            # Over SOAP a charge point is registered by its first request.
            await soap_charger.call(v16.BootNotificationRequest(charge_point_vendor="ACME", charge_point_model="X1"))
            await backend.presence.wait_until(lambda p: len(p) == 2, timeout=5)
            for member in (a.cluster, b.cluster, backend):
                await member.presence.wait_until(lambda p: len(p) == 2, timeout=3)
                one, two = member.presence["CP1"], member.presence["CP2"]
                assert (one.node, one.transport, one.version) == ("a", "websocket", "1.6")
                assert (two.node, two.transport, two.version) == ("b", "soap", "1.6")
                assert before < one.since <= datetime.now(UTC)
                assert member.presence.count_by_node() == {"a": 1, "b": 1}
                assert set(member.presence.nodes) == {"a", "b"}
            assert isinstance(backend.presence.get("CP2"), ChargePointInfo)
            assert "CP2" not in a.server and "CP2" in b.server  # each server's registry stays its own
        for member in (a.cluster, b.cluster, backend):  # a silent SOAP charge point is gone after idle_timeout
            await member.presence.wait_until(lambda p: "CP2" not in p, timeout=8)
        with pytest.raises(UnknownChargePoint):
            backend.presence["CP2"]
        await eventually(lambda: len(heard["a"]) == 3 and len(heard["client"]) == 3)
        for events in heard.values():
            assert sorted(events) == sorted(
                [("connect", "CP1", "a"), ("connect", "CP2", "b"), ("disconnect", "CP2", "b")]
            )
            assert events.index(("connect", "CP2", "b")) < events.index(("disconnect", "CP2", "b"))


# -- one owner -------------------------------------------------------------------------------------------


@bounded(30)
async def test_a_charge_point_reconnecting_to_another_node_is_closed_on_the_first(nats_server: EmbeddedNats) -> None:
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a")
        b = await start_node(stack, nats_server.url, "b")
        # A half-dead connection on node a: open, but nobody behind it answers.
        stale = await stack.enter_async_context(raw_connect(a.ws.url_for("CP1"), subprotocols=["ocpp1.6"]))  # type: ignore[list-item]
        info = await b.cluster.presence.wait_for("CP1", node="a", timeout=3)
        waiting = asyncio.ensure_future(b.server.call("CP1", v16.GetConfigurationRequest(), timeout=20))
        await asyncio.sleep(0.1)  # a call from b waits for the half-dead connection on a
        charger = Charger("CP1", "1.6")
        await stack.enter_async_context(websocket.connect(charger, b.ws.url_for("CP1")))
        async with asyncio.timeout(3):
            await stale.wait_closed()  # node a closed its connection
            with pytest.raises(ConnectionClosed):  # as a local call to a closed connection
                await waiting
        await eventually(lambda: "CP1" not in a.server)
        assert "CP1" in b.server
        for member in (a.cluster, b.cluster):
            moved = await member.presence.wait_for("CP1", node="b", timeout=3)
            assert moved.connection != info.connection
        answer = await a.server.call("CP1", v16.GetConfigurationRequest(), timeout=2)  # routed to b
        assert answer.configuration_key is not None and answer.configuration_key[0].value == "CP1"
        await asyncio.sleep(0.3)  # nothing flips back
        assert "CP1" not in a.server and a.cluster.presence["CP1"].node == "b"


# -- events ----------------------------------------------------------------------------------------------


@bounded(30)
async def test_events_reach_a_durable_consumer_that_crashes_and_restarts(nats_server: EmbeddedNats) -> None:
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a", events=True)
        charger = Charger("CP1", "1.6")
        await stack.enter_async_context(websocket.connect(charger, a.ws.url_for("CP1")))
        now = datetime.now(UTC)
        await charger.call(v16.BootNotificationRequest(charge_point_vendor="ACME", charge_point_model="X1"))
        await charger.call(v16.StartTransactionRequest(connector_id=1, id_tag="T", meter_start=0, timestamp=now))
        value = v16.MeterValue(timestamp=now, sampled_value=[v16.SampledValue(value="12")])
        await charger.call(v16.MeterValuesRequest(connector_id=1, transaction_id=7, meter_value=[value]))
        await charger.call(v16.StopTransactionRequest(transaction_id=7, meter_stop=12, timestamp=now))

        seen: dict[str, Event] = {}
        consumer = ConsumerConfig(durable_name="billing", ack_wait=0.5)
        client = await nats_client(nats_server.url)
        subscription = await jetstream(client).pull_subscribe("ocpprpc.events.>", "billing", config=consumer)
        first, second = await subscription.fetch(2, timeout=3)
        await first.ack()
        seen[first.subject] = Event.from_json(first.data)
        await client.close()  # the consumer crashes: the second was received, never acknowledged

        client = await nats_client(nats_server.url)
        try:
            subscription = await jetstream(client).pull_subscribe("ocpprpc.events.>", "billing", config=consumer)
            while len(seen) < 4:
                for message in await subscription.fetch(4, timeout=3):
                    event = Event.from_json(message.data)
                    assert message.headers is not None
                    assert message.headers["Nats-Msg-Id"] == f"CP1.{encode_token(event.message_id or '')}"
                    seen[message.subject] = event
                    await message.ack()
        finally:
            await client.close()
        assert second.subject in seen
        prefix = "ocpprpc.events.v16"
        assert set(seen) == {
            f"{prefix}.{action}.CP1"
            for action in ("BootNotification", "StartTransaction", "MeterValues", "StopTransaction")
        }
        start = seen[f"{prefix}.StartTransaction.CP1"]
        assert (start.charge_point_id, start.node, start.version, start.error) == ("CP1", "a", "1.6", None)
        assert start.request["idTag"] == "T" and start.response == {
            "transactionId": 7,
            "idTagInfo": {"status": "Accepted"},
        }
        assert len({event.message_id for event in seen.values()}) == 4


# -- exactly once ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exactly_once", "handled_on"),
    [(True, ["a"]), ({"StopTransaction"}, ["a"]), ({"StartTransaction"}, ["a", "b"])],
    ids=["all", "this-one", "another-one"],
)
@bounded(30)
async def test_a_retry_reaching_another_node_is_answered_from_memory(
    nats_server: EmbeddedNats, exactly_once: bool | set[str], handled_on: list[str]
) -> None:
    """A StopTransaction handled on node a whose answer was lost is retried on node b: answered from the
    answers bucket, unless the nodes' ``exactly_once`` leaves StopTransaction out (then b handles it)."""
    handled = Handled()
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a", handled, exactly_once=exactly_once)
        b = await start_node(stack, nats_server.url, "b", handled, exactly_once=exactly_once)
        balancer = await stack.enter_async_context(TcpProxy(a.ws.port))
        # node a handles it, then its connection breaks before the answer leaves; the retry goes to b
        answer = await stop_transaction_losing_an_answer(stack, handled, balancer, b.ws.port, lambda n: n == "a")
        assert handled.messages == [(node, "CP1", "StopTransaction") for node in handled_on]
        answered_by = handled_on[-1]  # node a answers Blocked, node b Accepted
        assert answer.id_tag_info is not None
        assert answer.id_tag_info.status == ("Blocked" if answered_by == "a" else "Accepted")
        assert "CP1" in b.server


def test_exactly_once_takes_transaction_messages_only() -> None:
    nats_server_or_skip()
    for wrong in ("StopTransaction", {"Heartbeat"}, ["StopTransaction", "BootNotification"]):
        with pytest.raises(UsageError, match="transaction messages"):
            Cluster("nats://127.0.0.1:4222", exactly_once=wrong)


# -- failures --------------------------------------------------------------------------------------------


@bounded(40)
async def test_a_killed_node_fails_calls_in_flight_and_its_charge_points_move(nats_server: EmbeddedNats) -> None:
    async with contextlib.AsyncExitStack() as stack:
        b = await start_node(stack, nats_server.url, "b")
        killed = NodeProcess(nats_server.url, "a", heartbeat=QUICK["heartbeat"], node_ttl=QUICK["node_ttl"])
        stack.push_async_callback(killed.close)
        await killed.start()
        balancer = await stack.enter_async_context(TcpProxy(killed.port))
        charger = Charger("CP1", "1.6")
        charger.slow = 30.0  # so that a call waits for it
        await stack.enter_async_context(websocket.connect(charger, balancer.url("CP1"), **FAST))
        await b.cluster.presence.wait_for("CP1", node="a", timeout=5)

        in_flight = asyncio.ensure_future(b.server.call("CP1", v16.GetConfigurationRequest(), timeout=20))
        await asyncio.wait_for(charger.configuring.wait(), 5)  # node a has it in hand
        charger.slow = 0.0
        balancer.target_port = b.ws.port
        killed.kill()
        killed_at = time.monotonic()
        with pytest.raises(ConnectionClosed):
            await in_flight
        assert time.monotonic() - killed_at < 3.0  # not the call's 20 s

        # The charge point reconnects (through the balancer) to b; node a leaves presence.
        info = await b.cluster.presence.wait_for("CP1", node="b", timeout=5)
        assert info.node == "b"
        await b.cluster.presence.wait_until(lambda p: "a" not in p.nodes, timeout=QUICK["node_ttl"] + 2)
        assert time.monotonic() - killed_at < QUICK["node_ttl"] + 2.5
        answer = await b.server.call("CP1", v16.GetConfigurationRequest(), timeout=3)
        assert answer.configuration_key is not None


@bounded(40)
async def test_a_node_late_with_its_heartbeats_but_connected_stays_and_one_silent_too_long_is_dropped(
    nats_server: EmbeddedNats,
) -> None:
    """A node's heartbeats can come late while it is alive (its event loop busy with thousands of
    connections at once, its beats queued behind a burst of presence updates): a stopped process keeps its
    NATS connection open, like such a node, and must not lose its charge points for a pause of a few ttls;
    one that stays silent past three ttls (a machine gone without closing its sockets) is dropped."""
    async with contextlib.AsyncExitStack() as stack:
        b = await start_node(stack, nats_server.url, "b")
        stalled = NodeProcess(nats_server.url, "a", heartbeat=QUICK["heartbeat"], node_ttl=QUICK["node_ttl"])
        stack.push_async_callback(stalled.close)
        stack.callback(stalled.resume)  # never leave a stopped process behind
        await stalled.start()
        charger = Charger("CP1", "1.6")
        await stack.enter_async_context(websocket.connect(charger, f"ws://127.0.0.1:{stalled.port}/CP1", **FAST))
        await b.cluster.presence.wait_for("CP1", node="a", timeout=5)
        gone: list[str] = []
        b.cluster.presence.add_listener(on_disconnect=lambda info: gone.append(info.charge_point_id))

        stalled.pause()  # twice its ttl without a heartbeat, connected to NATS all along
        await asyncio.sleep(2 * QUICK["node_ttl"])
        stalled.resume()
        await asyncio.sleep(QUICK["node_ttl"])  # its heartbeats resume
        assert gone == [] and "a" in b.cluster.presence.nodes and "CP1" in b.cluster.presence
        answer = await b.server.call("CP1", v16.GetConfigurationRequest(), timeout=5)
        assert answer.configuration_key is not None

        stalled.pause()  # now for good: dropped after three ttls, not before
        paused_at = time.monotonic()
        await b.cluster.presence.wait_until(lambda p: "a" not in p.nodes, timeout=3 * QUICK["node_ttl"] + 3)
        # its last beat heard may be a beat (and a scheduling delay) older than the pause
        assert time.monotonic() - paused_at > 3 * QUICK["node_ttl"] - QUICK["heartbeat"] - 0.3
        await eventually(lambda: gone == ["CP1"])  # its charge point left the view, heard once
        assert "CP1" not in b.cluster.presence


@bounded(40)
async def test_nats_down_keeps_local_charge_points_served_and_nodes_rejoin(nats_server: EmbeddedNats) -> None:
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a")
        b = await start_node(stack, nats_server.url, "b")
        charger = Charger("CP1", "1.6")
        await stack.enter_async_context(websocket.connect(charger, a.ws.url_for("CP1")))
        await b.cluster.presence.wait_for("CP1", timeout=3)
        assert (await b.server.call("CP1", v16.ResetRequest(type="Soft"))).status == v16.ResetStatus.ACCEPTED

        nats_server.kill()
        await eventually(lambda: not a.cluster.connected and not b.cluster.connected)
        # Local charge points keep working, both ways.
        assert (await a.server.call("CP1", v16.ResetRequest(type="Soft"))).status == v16.ResetStatus.ACCEPTED
        await charger.call(v16.HeartbeatRequest())
        # A remote call fails at once, clearly.
        started = time.monotonic()
        with pytest.raises(ClusterUnavailable, match="unreachable"):
            await b.server.call("CP1", v16.ResetRequest(type="Soft"))
        assert time.monotonic() - started < 0.2
        # A node starting meanwhile does not wait for NATS forever, and joins when it is back.
        late = await start_node(stack, nats_server.url, "late", join_timeout=0.2)
        assert not late.cluster.connected

        await nats_server.start()
        for node in (a, b, late):
            await node.cluster.wait_joined(timeout=10)
        await late.cluster.presence.wait_for("CP1", node="a", timeout=3)
        assert (await late.server.call("CP1", v16.ResetRequest(type="Soft"))).status == v16.ResetStatus.ACCEPTED


@bounded(60)
async def test_three_nats_servers_with_routes_and_three_nodes() -> None:
    nats_server_or_skip()
    servers = EmbeddedNats.group(3)
    async with contextlib.AsyncExitStack() as stack:
        await asyncio.gather(*(server.start() for server in servers))
        for server in servers:
            stack.push_async_callback(server.stop)
        urls = [server.url for server in servers]
        options: dict[str, Any] = {"replicas": 3, "nats_options": {"dont_randomize": True}}
        # Each node connects to its own NATS server first; the others are there for failover.
        a, b, c = [await start_node(stack, urls[i:] + urls[:i], node_id, **options) for i, node_id in enumerate("abc")]
        await stack.enter_async_context(websocket.connect(Charger("CP1", "1.6"), a.ws.url_for("CP1")))
        await stack.enter_async_context(websocket.connect(Charger("CP3", "1.6"), c.ws.url_for("CP3"), **FAST))
        for node in (a, b, c):
            await node.cluster.presence.wait_until(lambda p: {"CP1", "CP3"} <= set(p), timeout=10)
        for target in ("CP1", "CP3"):
            answer = await b.server.call(target, v16.GetConfigurationRequest(), timeout=5)
            assert answer.configuration_key is not None and answer.configuration_key[0].value == target

        assert a.cluster.connected_url == urls[0]
        servers[0].kill()  # node a's NATS server: a fails over to another one and rejoins
        await eventually(lambda: a.cluster.connected and a.cluster.connected_url != urls[0], timeout=15)
        await eventually(lambda: "CP1" in b.cluster.presence, timeout=5)
        answer = await b.server.call("CP1", v16.GetConfigurationRequest(), timeout=5)
        assert answer.configuration_key is not None and answer.configuration_key[0].value == "CP1"
        assert (await a.server.call("CP3", v16.ResetRequest(type="Soft"))).status == v16.ResetStatus.ACCEPTED
