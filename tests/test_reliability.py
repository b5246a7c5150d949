"""Reliability: hung handlers, fuzzed dispatch, abrupt closes, leaks, and a central system killed mid-session."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocpprpc import CentralSystemServer, ConnectionClosed, ErrorCode, InternalError, OcppModel, on
from ocpprpc._versions import VERSIONS
from ocpprpc.connection import OcppJLink
from ocpprpc.messages import v16
from ocpprpc.messages.examples import example
from ocpprpc.transports import websocket

from .roles_for_tests import EchoCentralSystem, EchoChargePoint
from .timing import FAST

CS_PROCESS = Path(__file__).with_name("cs_process.py")


class HangingCentralSystem(EchoCentralSystem):
    handler_timeout = 1.0

    @on("Authorize")
    async def hang(self, request: v16.AuthorizeRequest) -> v16.AuthorizeResponse:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_hung_handler_times_out_with_internal_error_without_blocking_other_connections() -> None:
    server = CentralSystemServer(HangingCentralSystem)
    async with asyncio.timeout(5), websocket.serve(server) as ws_server:
        slow, fast = EchoChargePoint("SLOW", "1.6"), EchoChargePoint("FAST", "1.6")
        async with websocket.connect(slow, ws_server.url, **FAST), websocket.connect(fast, ws_server.url, **FAST):
            hung = asyncio.create_task(slow.call(v16.AuthorizeRequest(id_tag="T")))
            await asyncio.sleep(0.05)
            for _ in range(5):
                await fast.call(v16.HeartbeatRequest())
            assert not hung.done()  # the other charge point was served while the handler hung
            # the central system's calls to the slow charge point are not blocked either
            await server.call("SLOW", v16.GetConfigurationRequest())
            assert not hung.done()
            started = time.monotonic()
            with pytest.raises(InternalError) as exc:
                await hung
            assert "took too long" in exc.value.description
            assert time.monotonic() - started < 1.5


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
ACTIONS = sorted({spec.name for version in VERSIONS.values() for spec in version.actions} | {"", "Foo"})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    version=st.sampled_from(sorted(VERSIONS)),
    action=st.sampled_from(ACTIONS),
    payload=st.dictionaries(st.sampled_from(["connectorId", "idTag", "status", "meterValue", "values", "x"]), JSON),
)
def test_the_dispatcher_answers_any_payload_with_a_response_or_a_classified_error(
    version: str, action: str, payload: dict[str, Any]
) -> None:
    role = EchoCentralSystem("FUZZ", version)
    result = asyncio.run(role.handle_call(action, payload))
    if result.error is not None:
        assert result.error.code in ErrorCode
        json.dumps([result.error.description, result.error.details])  # a valid CALLERROR can carry it
    else:
        spec = VERSIONS[version].received_by(role.side)[action]
        spec.response.model_validate(result.payload)


async def test_an_abrupt_socket_close_mid_call_gives_the_caller_connection_closed_at_once() -> None:
    class Stuck(EchoChargePoint):
        @on("Reset")
        async def reset(self, request: v16.ResetRequest) -> v16.ResetResponse:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    server = CentralSystemServer(EchoCentralSystem)
    async with asyncio.timeout(5), websocket.serve(server) as ws_server:
        cp = Stuck("CP1", "1.6")
        async with websocket.connect(cp, ws_server.url, reconnect=False, **FAST):
            pending = asyncio.create_task(server.call("CP1", v16.ResetRequest(type="Hard"), timeout=30))
            await asyncio.sleep(0.1)
            link = cp._link
            assert isinstance(link, OcppJLink)
            channel = link._channel
            assert isinstance(channel, websocket._Socket)
            channel.ws.transport.abort()  # no closing handshake: the TCP connection just dies
            started = time.monotonic()
            with pytest.raises(ConnectionClosed):
                await pending
            assert time.monotonic() - started < 2
            assert not cp.connected


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


async def test_1000_connect_disconnect_cycles_leave_no_leaked_tasks_or_file_descriptors() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with websocket.serve(server) as ws_server:

        async def cycle(index: int) -> None:
            cp = EchoChargePoint(f"CP{index % 10}", "1.6")
            async with websocket.connect(cp, ws_server.url, reconnect=False, **FAST):
                await cp.call(v16.HeartbeatRequest())

        for index in range(20):  # warm up: first connections allocate caches
            await cycle(index)
        await asyncio.sleep(0.1)
        tasks_before, fds_before = len(asyncio.all_tasks()), _open_fds()
        async with asyncio.timeout(120):
            for index in range(1000):
                await cycle(index)
        async with asyncio.timeout(5):
            while len(server) or len(asyncio.all_tasks()) > tasks_before:
                await asyncio.sleep(0.02)
        assert len(asyncio.all_tasks()) <= tasks_before
        assert _open_fds() <= fds_before + 2  # allow for the event loop's own lazily opened handles


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_cs(port: int, transaction_id: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(CS_PROCESS), str(port), str(transaction_id)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "READY"
    return process


async def test_a_central_system_killed_mid_transaction_gets_every_queued_message_once_in_order_after_restart() -> None:
    port = _free_port()
    first = _start_cs(port, 4711)
    cp = EchoChargePoint("CP1", "1.6")
    try:
        async with asyncio.timeout(20), websocket.connect(cp, f"ws://127.0.0.1:{port}", **FAST) as client:
            started = await cp.call(example(v16.StartTransactionRequest))
            assert started.transaction_id == 4711
            first.kill()
            first.wait()
            while client.connected:
                await asyncio.sleep(0.01)
            queued: list[asyncio.Task[OcppModel]] = []
            for wh in (100, 200, 300):
                meter = v16.MeterValuesRequest(
                    connector_id=1,
                    transaction_id=4711,
                    meter_value=[
                        {"timestamp": example(v16.MeterValue).timestamp, "sampled_value": [{"value": str(wh)}]}
                    ],
                )
                queued.append(asyncio.create_task(cp.call(meter)))
            queued.append(
                asyncio.create_task(
                    cp.call(v16.StopTransactionRequest(transaction_id=4711, meter_stop=300, timestamp=started_time()))
                )
            )
            await asyncio.sleep(0.2)
            assert cp.pending_transaction_messages == 4
            second = _start_cs(port, 4712)
            try:
                await asyncio.gather(*queued)
                await asyncio.sleep(0.1)
            finally:
                second.terminate()
                out, _ = second.communicate(timeout=5)
    finally:
        if first.poll() is None:
            first.kill()
    received = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [
        (r["action"], r["payload"].get("meterValue", [{}])[0].get("sampledValue", [{}])[0].get("value"))
        for r in received
    ] == [
        ("MeterValues", "100"),
        ("MeterValues", "200"),
        ("MeterValues", "300"),
        ("StopTransaction", None),
    ]


def started_time() -> Any:
    return example(v16.StopTransactionRequest).timestamp


class LosingCentralSystem(EchoCentralSystem):
    """Handles each MeterValues, but the connection dies before the first answer can be sent."""

    handled: ClassVar[list[str]] = []
    cut_once: ClassVar[bool] = True

    @on("MeterValues")
    async def meter_values(self, request: v16.MeterValuesRequest) -> v16.MeterValuesResponse:
        LosingCentralSystem.handled.append(request.meter_value[0].sampled_value[0].value)
        if LosingCentralSystem.cut_once:
            LosingCentralSystem.cut_once = False
            link = self._link
            assert isinstance(link, OcppJLink)
            channel = link._channel
            assert isinstance(channel, websocket._Socket)
            channel.ws.transport.abort()  # the answer is lost
            await asyncio.sleep(0.05)
        return v16.MeterValuesResponse()


async def test_a_transaction_message_whose_answer_was_lost_is_retried_and_handled_once() -> None:
    LosingCentralSystem.handled, LosingCentralSystem.cut_once = [], True
    server = CentralSystemServer(LosingCentralSystem)
    cp = EchoChargePoint("CP1", "1.6")

    def meter(value: str) -> v16.MeterValuesRequest:
        return v16.MeterValuesRequest(
            connector_id=1, meter_value=[{"timestamp": started_time(), "sampled_value": [{"value": value}]}]
        )

    async with (
        asyncio.timeout(10),
        websocket.serve(server) as ws_server,
        websocket.connect(cp, ws_server.url, **FAST),
    ):
        assert await cp.call(meter("100")) == v16.MeterValuesResponse()  # answered after the reconnect
        await cp.call(meter("200"))
    # the retry of "100" carried its first id and was answered from memory, not handled a second time
    assert LosingCentralSystem.handled == ["100", "200"]
