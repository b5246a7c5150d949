"""Handlers in a worker pool (``Cluster(worker_pool=)`` and ``ClusterWorker``), and the test tools across nodes.

Real nats-server processes and real sockets on 127.0.0.1. Nodes run in this process (their role objects
are :class:`~tests.cluster_roles.Csms` noting their node's id, so a call handled on a node shows), workers
either in this process or, where one is killed or must be another process, ``tests/cluster_worker.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.msg import Msg
from websockets.asyncio.client import connect as raw_connect

from ocpprpc import UnknownChargePoint
from ocpprpc.cluster import Cluster, ClusterClient, ClusterWorker, EmbeddedNats, Event
from ocpprpc.errors import CallTimeout, SecurityError, UsageError
from ocpprpc.messages import v16
from ocpprpc.transports import websocket

from .cluster_roles import Charger, Csms, Handled
from .cluster_support import WorkerProcess, jetstream, nats_client, nats_server_or_skip
from .tcp_proxy import TcpProxy
from .test_cluster import start_node, stop_transaction_losing_an_answer
from .timing import bounded, eventually

TRANSACTIONS = {"StartTransaction", "StopTransaction", "MeterValues"}


@pytest.fixture
async def nats_server() -> AsyncIterator[EmbeddedNats]:
    nats_server_or_skip()
    async with EmbeddedNats() as server:
        yield server


async def start_worker(
    stack: contextlib.AsyncExitStack, nats_url: str, worker_id: str, handled: Handled, **options: Any
) -> ClusterWorker[Csms]:
    """A worker in this process running :class:`Csms`, its role objects noting ``worker_id``."""

    def factory(charge_point_id: str, version: str) -> Csms:
        return Csms(charge_point_id, version, node=worker_id, handled=handled)

    worker = ClusterWorker(factory, nats_url, worker_id=worker_id, versions=["1.6", "2.0.1"], **options)
    return await stack.enter_async_context(worker)


def boot() -> v16.BootNotificationRequest:
    return v16.BootNotificationRequest(charge_point_vendor="ACME", charge_point_model="X1")


def start_transaction() -> v16.StartTransactionRequest:
    return v16.StartTransactionRequest(connector_id=1, id_tag="T", meter_start=0, timestamp=datetime.now(UTC))


def meter_values_frame(message_id: str) -> str:
    value = {"timestamp": "2026-11-29T10:00:00Z", "sampledValue": [{"value": "12"}]}
    return json.dumps([2, message_id, "MeterValues", {"connectorId": 1, "transactionId": 7, "meterValue": [value]}])


# -- handled by workers ----------------------------------------------------------------------------------


@bounded(30)
async def test_a_worker_process_handles_the_calls_of_a_charge_point_connected_to_a_node(
    nats_server: EmbeddedNats,
) -> None:
    handled = Handled()
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a", handled, worker_pool=True)
        worker = WorkerProcess(nats_server.url, "w-process", transaction_id=4242)
        stack.push_async_callback(worker.close)
        await worker.start()
        charger = Charger("CP1", "1.6")
        await stack.enter_async_context(websocket.connect(charger, a.ws.url_for("CP1")))

        booted = await charger.call(boot())
        assert booted.status == v16.RegistrationStatus.ACCEPTED
        started = await charger.call(start_transaction())
        assert started.transaction_id == 4242  # the worker process's answer
        assert handled.messages == []  # nothing ran on node a
        assert "CP1" in a.server and a.server["CP1"].node == "a"  # the connection is the node's
        assert a.cluster.worker_pool is True


@bounded(30)
async def test_workers_share_the_calls(nats_server: EmbeddedNats) -> None:
    handled = Handled()
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a", worker_pool=True)
        one = await start_worker(stack, nats_server.url, "w1", handled)
        two = await start_worker(stack, nats_server.url, "w2", handled)
        chargers = [Charger(f"CP{i}", "1.6") for i in range(3)]
        for charger in chargers:
            await stack.enter_async_context(websocket.connect(charger, a.ws.url_for(charger.id)))

        await asyncio.gather(*(charger.call(v16.HeartbeatRequest()) for charger in chargers for _ in range(20)))
        assert one.handled + two.handled == 60
        assert one.handled > 0 and two.handled > 0  # the queue group spreads them


@bounded(30)
async def test_a_worker_bounds_its_handlers_and_refuses_what_it_cannot_queue(
    nats_server: EmbeddedNats, caplog: pytest.LogCaptureFixture
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a", worker_pool=True)
        chargers = [Charger(f"CP{i}", "1.6") for i in range(6)]
        for charger in chargers:
            await stack.enter_async_context(websocket.connect(charger, a.ws.url_for(charger.id)))
        caplog.set_level(logging.WARNING, "ocpprpc.cluster")

        # Two running, one waiting: the three others are refused as busy (the node tried the pool three times).
        gate = asyncio.Event()
        held = Handled(gate=gate)
        small = await start_worker(stack, nats_server.url, "small", held, max_concurrent=2, max_waiting=1)
        calls = [asyncio.ensure_future(charger.call_raw("Heartbeat", {})) for charger in chargers]
        await eventually(lambda: sum(call.done() for call in calls) == 3, timeout=5)
        for refused in [call.result() for call in calls if call.done()]:
            assert refused.error is not None and refused.error.raw_code == "InternalError"
        assert small.in_flight == 2 and held.running == 2
        assert len([r for r in caplog.records if "worker pool is busy" in r.getMessage()]) == 3
        gate.set()
        answers = await asyncio.gather(*calls)
        assert sum(answer.error is None for answer in answers) == 3
        assert small.handled == 3 and held.peak == 2
        await small.close()

        # With room to wait, every call is answered, two at a time.
        slow = Handled(delay=0.1)
        roomy = await start_worker(stack, nats_server.url, "roomy", slow, max_concurrent=2)
        answers = await asyncio.gather(*(charger.call_raw("Heartbeat", {}) for charger in chargers))
        assert all(answer.error is None for answer in answers)
        assert roomy.handled == 6 and slow.peak == 2


@bounded(30)
async def test_a_worker_handler_knows_its_charge_point_and_calls_it_back(nats_server: EmbeddedNats) -> None:
    handled = Handled()
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a", worker_pool=True)
        await start_node(stack, nats_server.url, "b")  # a node without a pool, holding nothing
        await start_worker(stack, nats_server.url, "w1", handled)
        charger = Charger("CP1", "1.6")
        await stack.enter_async_context(websocket.connect(charger, a.ws.url_for("CP1")))
        answer = await charger.call(v16.DataTransferRequest(vendor_id="ACME"))
        # The worker's role object: CP1's id and version; its GetConfiguration reached CP1 through node a.
        assert answer.data == "CP1 1.6 CP1 w1"


@bounded(30)
async def test_a_bad_request_is_answered_by_the_node_and_never_reaches_a_worker(
    nats_server: EmbeddedNats, caplog: pytest.LogCaptureFixture
) -> None:
    handled = Handled()
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a", worker_pool=True)
        worker = await start_worker(stack, nats_server.url, "w1", handled)
        charger = Charger("CP1", "1.6")
        await stack.enter_async_context(websocket.connect(charger, a.ws.url_for("CP1")))
        caplog.set_level(logging.WARNING)

        invalid = await charger.call_raw("StartTransaction", {"connectorId": "one", "idTag": "T"})
        assert invalid.error is not None and invalid.error.raw_code in {"FormationViolation", "TypeConstraintViolation"}
        unknown = await charger.call_raw("Teleport", {})
        assert unknown.error is not None and unknown.error.raw_code == "NotImplemented"
        wrong_way = await charger.call_raw("Reset", {"type": "Soft"})  # a central system does not take it
        assert wrong_way.error is not None and wrong_way.error.raw_code == "NotSupported"
        assert worker.handled == 0 and handled.messages == []
        assert [r for r in caplog.records if "refused StartTransaction" in r.getMessage()]  # the node said so

        valid = await charger.call(start_transaction())  # and the worker still serves the valid ones
        assert valid.transaction_id == 7 and worker.handled == 1


@bounded(30)
async def test_no_worker_means_internal_error_at_once_and_one_log_line(
    nats_server: EmbeddedNats, caplog: pytest.LogCaptureFixture
) -> None:
    handled = Handled()
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a", handled, worker_pool=TRANSACTIONS)
        charger = Charger("CP1", "1.6")
        await stack.enter_async_context(websocket.connect(charger, a.ws.url_for("CP1")))
        caplog.set_level(logging.WARNING, "ocpprpc.cluster")

        assert (await charger.call(boot())).status == v16.RegistrationStatus.ACCEPTED  # not for the pool: here
        started = time.monotonic()
        answer = await charger.call_raw("StartTransaction", start_transaction().to_json_dict())
        assert time.monotonic() - started < 1.5  # NATS's "no responders", not a timeout
        assert answer.error is not None and answer.error.raw_code == "InternalError"
        lines = [r for r in caplog.records if "no worker is available" in r.getMessage()]
        assert len(lines) == 1 and "StartTransaction" in lines[0].getMessage()
        assert handled.messages == []

        # A worker that serves only some actions: the others still find nobody.
        await start_worker(stack, nats_server.url, "w1", handled, actions={"StartTransaction"})
        assert (await charger.call(start_transaction())).transaction_id == 7
        meter = await charger.call_raw("MeterValues", json.loads(meter_values_frame("x"))[3])
        assert meter.error is not None and meter.error.raw_code == "InternalError"
        assert handled.messages == [("w1", "CP1", "StartTransaction")]


@bounded(40)
async def test_a_worker_killed_mid_call_fails_the_call_fast_and_a_retry_is_handled(
    nats_server: EmbeddedNats, caplog: pytest.LogCaptureFixture
) -> None:
    handled = Handled()
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a", worker_pool=True)
        doomed = WorkerProcess(nats_server.url, "doomed", delay=30.0)
        stack.push_async_callback(doomed.close)
        await doomed.start()
        caplog.set_level(logging.WARNING, "ocpprpc.cluster")
        peer = await stack.enter_async_context(raw_connect(a.ws.url_for("CP1"), subprotocols=["ocpp1.6"]))  # type: ignore[list-item]

        await peer.send(meter_values_frame("m-1"))
        await doomed.wait_for_line("HANDLING MeterValues")  # the worker is in its 30 s handler
        doomed.kill()
        killed_at = time.monotonic()
        async with asyncio.timeout(5):
            answer = json.loads(await peer.recv())
        assert answer[:3] == [4, "m-1", "InternalError"]
        assert time.monotonic() - killed_at < 3.0  # noticed (the node checks its worker every second)
        assert [r for r in caplog.records if "is gone" in r.getMessage()]

        # That answer was no handler's: the charge point's retry (same id) is handled, by the worker there now.
        await start_worker(stack, nats_server.url, "w1", handled)
        await peer.send(meter_values_frame("m-1"))
        async with asyncio.timeout(5):
            assert json.loads(await peer.recv()) == [3, "m-1", {}]
        assert handled.messages == [("w1", "CP1", "MeterValues")]


@bounded(30)
async def test_a_retry_on_another_node_is_answered_once_with_workers(nats_server: EmbeddedNats) -> None:
    handled = Handled()
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a", worker_pool=True)
        b = await start_node(stack, nats_server.url, "b", worker_pool=True)
        await start_worker(stack, nats_server.url, "w1", handled)
        await start_worker(stack, nats_server.url, "w2", handled)
        balancer = await stack.enter_async_context(TcpProxy(a.ws.port))
        # the first attempt (whichever worker handles it): the connection to a breaks; the retry goes to b
        answer = await stop_transaction_losing_an_answer(
            stack, handled, balancer, b.ws.port, lambda _worker: balancer.target_port == a.ws.port
        )
        assert answer.id_tag_info is not None and answer.id_tag_info.status == v16.AuthorizationStatus.ACCEPTED
        assert [(cp, action) for _, cp, action in handled.messages] == [("CP1", "StopTransaction")]
        await eventually(lambda: "CP1" in b.server)


# -- test tools across nodes -----------------------------------------------------------------------------


@bounded(30)
async def test_call_raw_and_send_raw_reach_a_charge_point_on_another_node(nats_server: EmbeddedNats) -> None:
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a")
        b = await start_node(stack, nats_server.url, "b")
        charger = Charger("CP1", "1.6")
        await stack.enter_async_context(websocket.connect(charger, a.ws.url_for("CP1")))
        await b.cluster.presence.wait_for("CP1", node="a", timeout=5)

        configuration = await b.server.call_raw("CP1", "GetConfiguration", {})
        assert configuration.error is None and configuration.payload is not None
        assert configuration.payload["configurationKey"][0]["value"] == "CP1"
        assert configuration.frame[0] == 3 and configuration.unique_id

        for payload in ({"type": "Hard"}, {"type": "Never"}):  # refused by the charger, or by its validation
            here, there = (
                await a.server.call_raw("CP1", "Reset", payload),
                await b.server.call_raw("CP1", "Reset", payload),
            )
            assert there.error is not None and here.error is not None
            assert (there.error.raw_code, there.error.description, there.error.remote) == (
                here.error.raw_code,
                here.error.description,
                True,
            )
        with pytest.raises(SecurityError):
            (await b.server.call_raw("CP1", "Reset", {"type": "Hard"})).result()

        charger.slow = 2.0
        with pytest.raises(CallTimeout):
            await b.server.call_raw("CP1", "GetConfiguration", {}, timeout=0.3)
        charger.slow = 0.0

        assert await b.server.send_raw("CP1", '[2,"raw-1","Reset",{"type":"Soft"}]') is None  # OCPP-J: no body
        await eventually(lambda: charger.resets[-1:] == ["Soft"])

        started = time.monotonic()
        with pytest.raises(UnknownChargePoint):
            await b.server.call_raw("NOBODY", "Reset", {"type": "Soft"})
        with pytest.raises(UnknownChargePoint):
            await b.server.send_raw("NOBODY", "[]")
        assert time.monotonic() - started < 1.5  # not a timeout

        async with ClusterClient(nats_server.url) as backend:  # a process holding no sockets
            answer = await backend.call_raw("CP1", "Reset", {"type": "Soft"})
            assert answer.payload == {"status": "Accepted"}
            with pytest.raises(UsageError):
                await backend.call_raw("CP1", "Reset", {"type": "Soft"}, timeout=0)


@bounded(30)
async def test_a_worker_in_any_language_speaks_the_json_contract(
    nats_server: EmbeddedNats, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker written against the documented JSON (plain NATS here): the node checks what it answers."""
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a", worker_pool={"Authorize"})
        client = await nats_client(nats_server.url)
        stack.push_async_callback(client.close)
        seen: list[dict[str, Any]] = []

        async def serve(message: Msg) -> None:
            request = json.loads(message.data)
            seen.append(request)
            replies: dict[str, dict[str, Any]] = {
                "good": {"payload": {"idTagInfo": {"status": "Accepted"}}},
                "bad": {"error": {"kind": "OcppError", "code": "SecurityError", "description": "not you"}},
                "odd": {"payload": {"idTagInfo": {"status": "Maybe"}}},
            }
            await client.publish(message.reply, json.dumps(replies[request["payload"]["idTag"]]).encode())

        await client.subscribe("ocpprpc.work.v16.Authorize", queue="workers", cb=serve)  # pyright: ignore[reportUnknownMemberType]

        async def echo(message: Msg) -> None:
            await client.publish(message.reply, b"")

        # A round trip after subscribing: the server has the subscription (nats-py's flush() does not prove it).
        await client.subscribe("probe", cb=echo)  # pyright: ignore[reportUnknownMemberType]
        await client.request("probe", b"", timeout=3)
        charger = Charger("CP1", "1.6")
        await stack.enter_async_context(websocket.connect(charger, a.ws.url_for("CP1")))
        caplog.set_level(logging.WARNING)

        good = await charger.call(v16.AuthorizeRequest(id_tag="good"))
        assert good.id_tag_info.status == v16.AuthorizationStatus.ACCEPTED
        assert seen[0] == {
            "charge_point_id": "CP1",
            "node": "a",
            "version": "1.6",
            "action": "Authorize",
            "message_id": seen[0]["message_id"],
            "payload": {"idTag": "good"},
        }
        assert isinstance(seen[0]["message_id"], str) and seen[0]["message_id"]
        with pytest.raises(SecurityError, match="not you"):  # the worker's OCPP error is the charge point's CALLERROR
            await charger.call(v16.AuthorizeRequest(id_tag="bad"))
        odd = await charger.call_raw("Authorize", {"idTag": "odd"})  # not a valid response: never sent on
        assert odd.error is not None and odd.error.raw_code == "InternalError"
        assert [r for r in caplog.records if "response for CP1 is invalid" in r.getMessage()]
        assert (await charger.call(boot())).status == v16.RegistrationStatus.ACCEPTED  # not for the pool
        assert len(seen) == 3


# -- options ---------------------------------------------------------------------------------------------


def test_pool_options_are_checked_when_made() -> None:
    with pytest.raises(UsageError, match="Teleport"):
        Cluster("nats://127.0.0.1:4222", worker_pool={"StartTransaction", "Teleport"})
    with pytest.raises(UsageError, match="collection of action names"):
        Cluster("nats://127.0.0.1:4222", worker_pool="StartTransaction")  # (a str is a collection of str)
    assert Cluster("nats://127.0.0.1:4222", worker_pool={"Authorize"}).worker_pool == frozenset({"Authorize"})
    assert Cluster("nats://127.0.0.1:4222").worker_pool is False

    with pytest.raises(UsageError, match="Teleport"):
        ClusterWorker(Csms, "nats://127.0.0.1:4222", actions={"Teleport"})
    with pytest.raises(UsageError, match="Reset"):  # a central system sends Reset, it does not handle one
        ClusterWorker(Csms, "nats://127.0.0.1:4222", actions={"Reset"})
    with pytest.raises(UsageError, match="NATS URL"):
        ClusterWorker(Csms, None)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    with pytest.raises(UsageError, match="not a CentralSystem"):
        ClusterWorker(Charger, "nats://127.0.0.1:4222")  # type: ignore[type-var]  # pyright: ignore[reportArgumentType]
    with pytest.raises(UsageError, match="at least 1"):
        ClusterWorker(Csms, "nats://127.0.0.1:4222", max_concurrent=0)
    worker = ClusterWorker(Csms, "nats://127.0.0.1:4222", actions={"StartTransaction"}, versions=["1.6"])
    assert worker.subjects == ("ocpprpc.work.v16.StartTransaction",)
    both = ClusterWorker(Csms, "nats://127.0.0.1:4222", prefix="csms", actions={"BootNotification"})
    assert both.subjects == ("csms.work.v16.BootNotification", "csms.work.v201.BootNotification")


@bounded(30)
async def test_events_come_from_the_node_and_only_for_calls_a_handler_answered(nats_server: EmbeddedNats) -> None:
    handled = Handled()
    async with contextlib.AsyncExitStack() as stack:
        a = await start_node(stack, nats_server.url, "a", worker_pool=True, events=True)
        peer = await stack.enter_async_context(raw_connect(a.ws.url_for("CP1"), subprotocols=["ocpp1.6"]))  # type: ignore[list-item]
        start = [2, "s-1", "StartTransaction", start_transaction().to_json_dict()]
        await peer.send(json.dumps(start, default=str))
        assert json.loads(await peer.recv())[:3] == [4, "s-1", "InternalError"]  # no worker yet
        await start_worker(stack, nats_server.url, "w1", handled)
        await peer.send(json.dumps(start, default=str))  # the charge point's retry
        assert json.loads(await peer.recv()) == [3, "s-1", {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}]

        client = await nats_client(nats_server.url)
        stack.push_async_callback(client.close)
        events = await jetstream(client).pull_subscribe("ocpprpc.events.>", "billing")
        received = [Event.from_json(message.data) for message in await events.fetch(10, timeout=2)]
        assert [(e.action, e.message_id, e.node, e.error) for e in received] == [("StartTransaction", "s-1", "a", None)]
        assert received[0].response == {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}
