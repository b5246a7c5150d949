"""What NATS cannot carry: a message larger than the server's ``max_payload`` (1 MiB by default).

A charge point may send a frame up to the WebSocket limit (also 1 MiB by default), a charge point may
answer a test tool's raw call with a large payload, a handler may build a large response: wrapped in the
cluster's JSON (and its headers) any of them can be over NATS' limit. Each must end in a clear error, at
once, with one log line, never in a wait for a timeout, and never in the member's NATS connection being
closed by the server (which takes a message whose headers and body together exceed the limit as a
protocol violation). Real nats-server, real sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from websockets.asyncio.client import connect as raw_connect

from ocpprpc import CentralSystem, CentralSystemServer, ChargePoint, on
from ocpprpc._link import RawAnswer
from ocpprpc.cluster import Cluster, ClusterError, ClusterWorker, EmbeddedNats
from ocpprpc.cluster._wire import RawRequest, WorkRequest, encode_payload, encode_raw_answer
from ocpprpc.errors import ConnectionClosed
from ocpprpc.messages import v16
from ocpprpc.transports import websocket

from .cluster_support import jetstream, nats_client, nats_server_or_skip
from .timing import bounded

MAX_PAYLOAD = 1024 * 1024
"""nats-server's default ``max_payload``."""
QUICK: dict[str, Any] = {"heartbeat": 0.2, "node_ttl": 1.0}
SIZES = {"just under the limit, over it with the headers": -16, "well over the limit": 100_000}
"""How far the cluster's JSON body is from ``MAX_PAYLOAD``."""


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    nats_server_or_skip()
    async with EmbeddedNats() as server:
        yield server


def data_for(size: int, body: Any) -> str:
    """A ``data`` string that makes ``body(data)`` (bytes) exactly ``size`` bytes long."""
    overhead = len(body(""))
    assert size > overhead
    return "x" * (size - overhead)


class Central(CentralSystem):
    versions = ("1.6",)
    answer_size = 0
    """The size of the JSON reply a worker sends for DataTransfer (0: a short answer)."""

    @on(v16.HeartbeatRequest)
    def heartbeat(self, request: v16.HeartbeatRequest) -> v16.HeartbeatResponse:
        return v16.HeartbeatResponse(current_time=datetime.now(UTC))

    @on(v16.DataTransferRequest)
    def data_transfer(self, request: v16.DataTransferRequest) -> v16.DataTransferResponse:
        if not self.answer_size:
            return v16.DataTransferResponse(status="Accepted")

        def reply(data: str) -> bytes:
            return encode_payload(v16.DataTransferResponse(status="Accepted", data=data).to_json_dict())

        return v16.DataTransferResponse(status="Accepted", data=data_for(self.answer_size, reply))


class Talkative(ChargePoint):
    """Answers a DataTransfer with as much data as the test asks for."""

    versions = ("1.6",)
    answer_size = 0
    """The size of the node's JSON reply to a raw DataTransfer call."""

    @on(v16.DataTransferRequest)
    def data_transfer(self, request: v16.DataTransferRequest) -> v16.DataTransferResponse:
        def reply(data: str) -> bytes:
            payload = v16.DataTransferResponse(status="Accepted", data=data).to_json_dict()
            return encode_raw_answer(RawAnswer("0b5c7a9e-3f41-4d2b-9c55-2f1e8d7a6b30", payload))  # a UUID's length

        return v16.DataTransferResponse(status="Accepted", data=data_for(self.answer_size, reply))


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("ocpprpc")]


async def node(
    stack: contextlib.AsyncExitStack, nats_url: str, node_id: str, **options: Any
) -> tuple[Cluster, CentralSystemServer[Central], websocket.WebSocketServer[Central]]:
    cluster = Cluster(nats_url, node_id=node_id, **{**QUICK, **options})
    server = CentralSystemServer(Central, cluster=cluster)
    await stack.enter_async_context(cluster)
    ws = await stack.enter_async_context(websocket.serve(server, "127.0.0.1", 0, max_message_size=4 * MAX_PAYLOAD))
    return cluster, server, ws


# -- a charge point's large request handed to the pool --------------------------------------------------


@pytest.mark.parametrize("offset", SIZES.values(), ids=SIZES.keys())
@bounded(20)
async def test_a_request_too_large_for_the_pool_is_answered_internal_error_and_the_node_stays_joined(
    nats_server: EmbeddedNats, caplog: pytest.LogCaptureFixture, offset: int
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        cluster, _, ws = await node(stack, nats_server.url, "a", worker_pool=True)
        worker = await stack.enter_async_context(ClusterWorker(Central, nats_server.url, worker_id="w1"))
        caplog.set_level(logging.WARNING, "ocpprpc")

        def body(data: str) -> bytes:
            payload = {"vendorId": "ACME", "data": data}
            return WorkRequest("CP1", "a", "1.6", "DataTransfer", "big", payload).encode()

        data = data_for(MAX_PAYLOAD + offset, body)
        async with raw_connect(ws.url_for("CP1"), subprotocols=["ocpp1.6"], max_size=None) as connection:  # type: ignore[list-item]
            await connection.send(json.dumps([2, "big", "DataTransfer", {"vendorId": "ACME", "data": data}]))
            async with asyncio.timeout(3):
                answer = json.loads(await connection.recv())
            assert answer[:3] == [4, "big", "InternalError"]
            await connection.send(json.dumps([2, "small", "Heartbeat", {}]))
            async with asyncio.timeout(3):
                assert json.loads(await connection.recv())[:2] == [3, "small"]  # the pool still works

        assert worker.handled == 1  # the Heartbeat only
        assert cluster.connected
        lines = problems(caplog)
        assert len(lines) == 1, lines  # one line, and no lost NATS connection
        assert "DataTransfer" in lines[0] and "max_payload" in lines[0]


# -- a worker's large answer ------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", SIZES.values(), ids=SIZES.keys())
@bounded(20)
async def test_a_worker_answer_too_large_for_nats_is_an_internal_error_at_once(
    nats_server: EmbeddedNats, caplog: pytest.LogCaptureFixture, offset: int
) -> None:
    class Large(Central):
        answer_size = MAX_PAYLOAD + offset

    async with contextlib.AsyncExitStack() as stack:
        cluster, _, ws = await node(stack, nats_server.url, "a", worker_pool={"DataTransfer"})
        worker = await stack.enter_async_context(ClusterWorker(Large, nats_server.url, worker_id="w1"))
        caplog.set_level(logging.WARNING, "ocpprpc")
        async with raw_connect(ws.url_for("CP1"), subprotocols=["ocpp1.6"]) as connection:  # type: ignore[list-item]
            await connection.send(json.dumps([2, "m1", "DataTransfer", {"vendorId": "ACME"}]))
            async with asyncio.timeout(3):  # not after the handler timeout (30 s)
                answer = json.loads(await connection.recv())
            assert answer[:3] == [4, "m1", "InternalError"]

        assert cluster.connected
        await asyncio.sleep(0.3)  # a lost connection would show in the log by now
        lines = problems(caplog)
        assert len([line for line in lines if "DataTransfer" in line and "answered InternalError" in line]) == 1, lines
        assert not [line for line in lines if "NATS" in line and "Violation" in line], lines
        assert worker.handled == 1


# -- a charge point's large answer to a call from another node ------------------------------------------


@pytest.mark.parametrize("offset", SIZES.values(), ids=SIZES.keys())
@bounded(20)
async def test_an_answer_too_large_for_nats_fails_the_remote_call_at_once(
    nats_server: EmbeddedNats, caplog: pytest.LogCaptureFixture, offset: int
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        a, _, ws = await node(stack, nats_server.url, "a")
        b, server_b, _ = await node(stack, nats_server.url, "b")
        charger = Talkative("CP1", "1.6")
        charger.answer_size = MAX_PAYLOAD + offset
        await stack.enter_async_context(websocket.connect(charger, ws.url_for("CP1"), max_message_size=None))
        await b.presence.wait_for("CP1", timeout=5)
        caplog.set_level(logging.WARNING, "ocpprpc")

        with pytest.raises(ClusterError, match="max_payload"):
            async with asyncio.timeout(3):  # not after the call timeout (30 s)
                await server_b.call_raw("CP1", "DataTransfer", {"vendorId": "ACME"})
        await asyncio.sleep(0.3)  # a lost connection would show in the log by now
        assert a.connected and b.connected
        lines = problems(caplog)
        assert len(lines) == 1 and "DataTransfer" in lines[0] and "max_payload" in lines[0], lines


@pytest.mark.parametrize("offset", SIZES.values(), ids=SIZES.keys())
@bounded(20)
async def test_a_request_too_large_for_nats_is_refused_before_it_leaves(nats_server: EmbeddedNats, offset: int) -> None:
    async with contextlib.AsyncExitStack() as stack:
        a, _, ws = await node(stack, nats_server.url, "a")
        b, server_b, _ = await node(stack, nats_server.url, "b")
        charger = Talkative("CP1", "1.6")
        await stack.enter_async_context(websocket.connect(charger, ws.url_for("CP1")))
        await b.presence.wait_for("CP1", timeout=5)

        def body(data: str) -> bytes:
            return RawRequest("call", "DataTransfer", {"vendorId": "ACME", "data": data}, None).encode()

        data = data_for(MAX_PAYLOAD + offset, body)
        with pytest.raises(ClusterError, match="max_payload") as raised:
            async with asyncio.timeout(3):
                await server_b.call_raw("CP1", "DataTransfer", {"vendorId": "ACME", "data": data})
        assert not isinstance(raised.value, ConnectionClosed)  # not "NATS is unreachable": it is the message
        assert a.connected and b.connected


# -- events ---------------------------------------------------------------------------------------------


@bounded(20)
async def test_an_event_too_large_for_nats_does_not_hold_up_the_events_after_it(
    nats_server: EmbeddedNats, caplog: pytest.LogCaptureFixture
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        cluster, _, ws = await node(stack, nats_server.url, "a", events=True)
        caplog.set_level(logging.WARNING, "ocpprpc")
        data = "x" * (MAX_PAYLOAD - 200)  # the frame fits the WebSocket limit, its event does not fit NATS'
        async with raw_connect(ws.url_for("CP1"), subprotocols=["ocpp1.6"]) as connection:  # type: ignore[list-item]
            await connection.send(json.dumps([2, "big", "DataTransfer", {"vendorId": "ACME", "data": data}]))
            assert json.loads(await connection.recv())[:2] == [3, "big"]
            await connection.send(json.dumps([2, "small", "Heartbeat", {}]))
            assert json.loads(await connection.recv())[:2] == [3, "small"]

        client = await nats_client(nats_server.url)
        stack.push_async_callback(client.close)
        subscription = await jetstream(client).pull_subscribe("ocpprpc.events.*.Heartbeat.>", "billing")
        (message,) = await subscription.fetch(1, timeout=3)
        assert json.loads(message.data)["message_id"] == "small"
        events = cluster.events
        assert events is not None and events.backlog == 0 and events.dropped == 1
        lines = problems(caplog)
        assert len(lines) == 1 and "DataTransfer" in lines[0] and "max_payload" in lines[0], lines
