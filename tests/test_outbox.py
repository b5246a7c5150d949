"""The transaction outbox: only a real OCPP answer takes a message out; a durable store survives kill -9.

A charge point's StartTransaction, MeterValues and StopTransaction are what the central system bills
from, so the outbox must never drop one because the wire failed. These tests drive the charge point
with a peer written by hand (frames read and written by the test) or a real central system over real
sockets, and check what reaches the central system, with which message id, and what stays stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ocpprpc import (
    CallTimeout,
    CentralSystemServer,
    ChargePoint,
    ConnectionClosed,
    InternalError,
    OcppModel,
    PropertyConstraintViolation,
)
from ocpprpc.messages import v15, v16
from ocpprpc.messages.examples import example
from ocpprpc.outbox import MemoryOutbox, OutboxError, OutboxStore, SqliteOutbox
from ocpprpc.transports import memory, soap

from .roles_for_tests import EchoCentralSystem, answer_next_call, hand_driven_peer

CP_PROCESS = Path(__file__).with_name("cp_process.py")
CS_PROCESS = Path(__file__).with_name("cs_process.py")


class QuickRetryChargePoint(ChargePoint):
    """Retries after 20 ms (not a second), so that a test sees several attempts quickly."""

    transaction_message_attempts = 2
    transaction_message_retry_interval = 0.02
    transaction_message_retry_max = 0.05


def meter(reading: str) -> v16.MeterValuesRequest:
    value = v16.MeterValue(timestamp=example(v16.MeterValue).timestamp, sampled_value=[{"value": reading}])
    return v16.MeterValuesRequest(connector_id=1, transaction_id=1, meter_value=[value])


def reading(frame: list[Any]) -> str:
    """The reading a MeterValues CALL frame carries."""
    return str(frame[3]["meterValue"][0]["sampledValue"][0]["value"])


def stored_rows(path: Path) -> list[tuple[str, str, str, str]]:
    """(charge point, action, version, message id) of each message in the outbox file, read independently."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT charge_point_id, action, version, message_id FROM ocpprpc_outbox ORDER BY key"
        ).fetchall()
    return [tuple(row) for row in rows]


# -- only a real OCPP answer completes a message ----------------------------------------------------------


async def test_a_garbled_answer_leaves_the_message_queued_and_it_is_sent_again_with_the_same_id() -> None:
    cp = QuickRetryChargePoint("CP1", "1.6")
    async with asyncio.timeout(5), hand_driven_peer(cp) as peer:
        call = asyncio.create_task(cp.call(meter("100")))
        first = json.loads(await peer.recv())
        await peer.send(json.dumps([3, first[1], "not a payload"]))  # its id is readable, its payload is not
        again = await answer_next_call(peer, {})
        assert again == first  # the same message, with the same id
        assert await call == v16.MeterValuesResponse()
        assert cp.pending_transaction_messages == 0


async def test_after_its_attempts_the_caller_gets_call_timeout_but_the_message_stays_first_and_is_delivered() -> None:
    cp = QuickRetryChargePoint("CP1", "1.6")  # two attempts
    async with asyncio.timeout(5), hand_driven_peer(cp) as peer:
        first = asyncio.create_task(cp.call(meter("100"), timeout=0.1))
        unanswered = [json.loads(await peer.recv()) for _ in range(2)]
        with pytest.raises(CallTimeout):
            await first
        later = asyncio.create_task(cp.call(meter("200")))
        third = await answer_next_call(peer, {})
        assert third == unanswered[0] == unanswered[1]  # still the first message, still its first id
        after = await answer_next_call(peer, {})
        assert reading(after) == "200" and after[1] != third[1]
        assert await later == v16.MeterValuesResponse()
        assert cp.pending_transaction_messages == 0


async def test_a_refusal_the_central_system_sends_completes_the_message_and_the_next_one_goes_out() -> None:
    cp = QuickRetryChargePoint("CP1", "1.6")
    async with asyncio.timeout(5), hand_driven_peer(cp) as peer:
        refused = asyncio.create_task(cp.call(meter("100")))
        frame = json.loads(await peer.recv())
        await peer.send(json.dumps([4, frame[1], "PropertyConstraintViolation", "unknown transaction", {}]))
        with pytest.raises(PropertyConstraintViolation) as error:
            await refused
        assert error.value.remote
        assert cp.pending_transaction_messages == 0  # the message itself is refused: sending it again is futile
        following = asyncio.create_task(cp.call(meter("200")))
        assert reading(await answer_next_call(peer, {})) == "200"
        await following


async def test_a_failure_to_process_is_retried_with_the_same_id_then_the_message_is_skipped_after_its_attempts() -> (
    None
):
    cp = QuickRetryChargePoint("CP1", "1.6")  # two attempts
    async with asyncio.timeout(5), hand_driven_peer(cp) as peer:
        # InternalError once, then answered: the caller sees only the answer
        first_call = asyncio.create_task(cp.call(meter("100")))
        first = json.loads(await peer.recv())
        await peer.send(json.dumps([4, first[1], "InternalError", "database down", {}]))
        again = await answer_next_call(peer, {})
        assert again == first  # the same message with the same id
        assert await first_call == v16.MeterValuesResponse()
        # InternalError on every attempt: skipped after two, as OCPP permits, and the next one goes out
        skipped = asyncio.create_task(cp.call(meter("200")))
        for _ in range(2):
            frame = json.loads(await peer.recv())
            assert reading(frame) == "200"
            await peer.send(json.dumps([4, frame[1], "InternalError", "database down", {}]))
        with pytest.raises(InternalError) as error:
            await skipped
        assert error.value.remote
        assert cp.pending_transaction_messages == 0
        following = asyncio.create_task(cp.call(meter("300")))
        assert reading(await answer_next_call(peer, {})) == "300"
        await following


async def test_a_connection_lost_mid_call_keeps_the_caller_waiting_and_the_message_goes_again_after_reconnecting() -> (
    None
):
    cp = QuickRetryChargePoint("CP1", "1.6")
    async with asyncio.timeout(5):
        async with hand_driven_peer(cp) as peer:
            call = asyncio.create_task(cp.call(meter("100")))
            first = json.loads(await peer.recv())
        await asyncio.sleep(0.1)
        assert not call.done()  # waiting across the outage, however many attempts that would be
        async with hand_driven_peer(cp) as peer:
            assert await answer_next_call(peer, {}) == first
            assert await call == v16.MeterValuesResponse()


class RefusingOnceCentralSystem(EchoCentralSystem):
    handled: ClassVar[list[OcppModel]] = []

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        RefusingOnceCentralSystem.handled.append(request)
        return await super().on_unhandled(action, request)


async def test_a_soap_charge_point_refused_with_http_401_keeps_its_message_and_delivers_it_once_accepted() -> None:
    """An HTTP 401 is the HTTP layer's refusal (e.g. credentials being rotated), not the central system's answer."""
    refusals = [True, True]  # the first two requests are refused

    def auth(charge_point_id: str, username: str, password: str) -> bool:
        return not (refusals and refusals.pop())

    class PatientChargePoint(QuickRetryChargePoint):
        transaction_message_attempts = 3

    RefusingOnceCentralSystem.handled = []
    server = CentralSystemServer(RefusingOnceCentralSystem)
    cp = PatientChargePoint("CP1", "1.6")
    async with (
        asyncio.timeout(5),
        soap.serve(server, auth=auth) as endpoint,
        soap.connect(cp, endpoint.url, auth=("CP1", "secret")),
    ):
        assert await cp.call(meter("100")) == v16.MeterValuesResponse()
    assert refusals == []
    assert [reading_of(request) for request in RefusingOnceCentralSystem.handled] == ["100"]


def reading_of(request: OcppModel) -> str:
    assert isinstance(request, v16.MeterValuesRequest)
    return request.meter_value[0].sampled_value[0].value


# -- the stores ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_store_gives_back_each_charge_points_remaining_messages_in_the_order_appended(
    kind: str, tmp_path: Path
) -> None:
    store: OutboxStore = MemoryOutbox() if kind == "memory" else SqliteOutbox(tmp_path / "outbox.sqlite")
    start = await store.append("CP1", "StartTransaction", "1.6", {"connectorId": 1}, "id-1")
    await store.append("CP2", "MeterValues", "1.5", {"connectorId": 2}, "id-2")
    middle = await store.append("CP1", "MeterValues", "1.6", {"connectorId": 1, "x": "é"}, "id-3")
    await store.append("CP1", "StopTransaction", "1.6", {"meterStop": 5}, "id-4")
    await store.remove(middle)
    await store.remove(middle)  # removing twice is harmless
    cp1 = await store.pending("CP1")
    assert [(m.action, m.version, m.payload, m.message_id) for m in cp1] == [
        ("StartTransaction", "1.6", {"connectorId": 1}, "id-1"),
        ("StopTransaction", "1.6", {"meterStop": 5}, "id-4"),
    ]
    assert cp1[0].key == start and cp1[0].key < cp1[1].key
    assert [m.message_id for m in await store.pending("CP2")] == ["id-2"]
    assert await store.pending("CP3") == []
    await store.close()


async def test_an_sqlite_outbox_reopened_gives_back_what_was_stored_and_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    store = SqliteOutbox(path)
    await store.append("CP1", "StartTransaction", "1.6", {"connectorId": 1}, "id-1")
    await store.close()
    await store.close()  # idempotent
    reopened = SqliteOutbox(path, synchronous="NORMAL")
    assert [m.message_id for m in await reopened.pending("CP1")] == ["id-1"]
    await reopened.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_outbox_file_that_cannot_be_opened_fails_at_construction_not_at_the_first_transaction(
    tmp_path: Path,
) -> None:
    with pytest.raises(OutboxError, match="cannot open"):
        ChargePoint("CP1", "1.6", outbox=tmp_path / "no such folder" / "outbox.sqlite")


# -- a durable outbox ---------------------------------------------------------------------------------------


async def test_a_message_is_in_the_outbox_file_before_it_is_sent_and_leaves_it_once_answered(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    cp = QuickRetryChargePoint("CP1", "1.6", outbox=path)
    async with asyncio.timeout(5), hand_driven_peer(cp) as peer:
        call = asyncio.create_task(cp.call(meter("100")))
        frame = json.loads(await peer.recv())
        assert stored_rows(path) == [("CP1", "MeterValues", "1.6", frame[1])]  # committed: another reader sees it
        await peer.send(json.dumps([3, frame[1], {}]))
        await call
        assert stored_rows(path) == []
    await cp.close_outbox()


async def test_a_charge_point_restarted_on_its_outbox_file_sends_what_was_left_first_in_order_with_the_original_ids(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite"
    before = QuickRetryChargePoint("CP1", "1.6", outbox=path)
    for wh in ("100", "200", "300"):
        await before.enqueue(meter(wh))  # offline: stored, not sent
    left = [message_id for *_, message_id in stored_rows(path)]
    await before.close_outbox()  # the process ends

    after = QuickRetryChargePoint("CP1", "1.6", outbox=path)
    with caplog.at_level(logging.INFO, logger="ocpprpc"):
        async with asyncio.timeout(5), hand_driven_peer(after) as peer:
            new = asyncio.create_task(after.call(meter("400")))
            frames = [await answer_next_call(peer, {}) for _ in range(4)]
            await new
    assert [reading(frame) for frame in frames] == ["100", "200", "300", "400"]
    assert [frame[1] for frame in frames[:3]] == left
    assert "3 transaction message(s) of CP1 recovered from the outbox" in caplog.text
    assert stored_rows(path) == []
    await after.close_outbox()


async def test_a_stored_message_of_another_version_waits_for_a_connection_speaking_it_without_holding_back_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "outbox.sqlite"
    old = ChargePoint("CP1", "1.5", outbox=path)
    await old.enqueue(example(v15.MeterValuesRequest))
    await old.close_outbox()

    cp = QuickRetryChargePoint("CP1", "1.6", outbox=path)
    server = CentralSystemServer(EchoCentralSystem)
    async with asyncio.timeout(5):
        async with memory.connect(server, cp, version="1.6") as cs16:
            await cp.call(meter("200"))
            assert [type(r) for r in cs16.received] == [v16.MeterValuesRequest]
            assert cp.pending_transaction_messages == 1
        assert "is OCPP 1.5; kept until a connection speaks it" in caplog.text
        async with memory.connect(server, cp, version="1.5") as cs15:
            while cp.pending_transaction_messages:
                await asyncio.sleep(0.01)
            assert cs15.received == [example(v15.MeterValuesRequest)]
    assert stored_rows(path) == []
    await cp.close_outbox()


async def test_abandoning_the_outbox_drops_its_messages_from_the_file_too(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    before = ChargePoint("CP1", "1.6", outbox=path)
    waiting = await before.enqueue(meter("100"))
    await before.close_outbox()
    assert waiting.done()  # its caller is told the outbox closed; the message stays in the file
    after = ChargePoint("CP1", "1.6", outbox=path)
    assert await after.abandon_outbox() == 1
    assert stored_rows(path) == []
    await after.close_outbox()


class GatedRemovalOutbox(MemoryOutbox):
    """A store whose removals wait for the test to open the gate (a slow disk, a busy database)."""

    def __init__(self) -> None:
        super().__init__()
        self.removing = asyncio.Event()
        self.gate = asyncio.Event()

    async def remove(self, key: int) -> None:
        self.removing.set()
        await self.gate.wait()
        await super().remove(key)


async def test_a_message_counts_as_pending_until_it_left_the_store_and_closing_then_still_removes_it() -> None:
    store = GatedRemovalOutbox()
    cp = QuickRetryChargePoint("CP1", "1.6", outbox=store)
    async with asyncio.timeout(5):
        async with hand_driven_peer(cp) as peer:
            call = asyncio.create_task(cp.call(meter("100")))
            await answer_next_call(peer, {})
            await store.removing.wait()
            assert cp.pending_transaction_messages == 1  # answered, but still in the store
            closing = asyncio.create_task(cp.close_outbox())  # a shutdown right after the last answer
            await asyncio.sleep(0.01)
            assert not closing.done()  # it waits for the removal in progress
            store.gate.set()
            await closing
            assert await call == v16.MeterValuesResponse()  # its caller gets the answer, not ConnectionClosed
    assert await store.pending("CP1") == []  # not sent a second time after a restart
    assert cp.pending_transaction_messages == 0


async def test_a_reconnect_while_the_outbox_closes_sends_nothing_and_the_unanswered_message_stays_stored() -> None:
    store = GatedRemovalOutbox()
    cp = QuickRetryChargePoint("CP1", "1.6", outbox=store)
    async with asyncio.timeout(5), hand_driven_peer(cp) as old_peer:
        await cp.enqueue(meter("100"))
        second = await cp.enqueue(meter("200"))
        await answer_next_call(old_peer, {})
        await store.removing.wait()  # the first is answered; its removal is slow
        closing = asyncio.create_task(cp.close_outbox())  # the application shuts down
        await asyncio.sleep(0.01)
        async with hand_driven_peer(cp) as new_peer:  # and the charge point reconnects meanwhile
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    await new_peer.recv()  # nothing is sent once close_outbox began
            store.gate.set()
            await closing
    with pytest.raises(ConnectionClosed):
        await second
    assert [m.payload["meterValue"][0]["sampledValue"][0]["value"] for m in await store.pending("CP1")] == ["200"]


# -- kill -9 --------------------------------------------------------------------------------------------------


def _reserved_port() -> socket.socket:
    """A loopback port bound but not listening: connections to it are refused, and nobody else takes it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def _start(script: Path, *arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(script), *arguments], stdout=subprocess.PIPE, text=True)


def _first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return process.stdout.readline().strip()


@pytest.mark.parametrize("transport", ["websocket", "soap"])
def test_a_charge_point_killed_with_100_queued_messages_delivers_each_once_in_order_with_its_id_after_restart(
    transport: str, tmp_path: Path
) -> None:
    reserved, path = _reserved_port(), tmp_path / "outbox.sqlite"
    port = int(reserved.getsockname()[1])
    options = ["--soap"] if transport == "soap" else []
    url = f"http://127.0.0.1:{port}/" if transport == "soap" else f"ws://127.0.0.1:{port}"
    processes: list[subprocess.Popen[str]] = []
    try:
        # The central system is down: the charge point queues a whole transaction, then is killed.
        queueing = _start(CP_PROCESS, url, str(path), "--queue", "100", *options)
        processes.append(queueing)
        assert _first_line(queueing) == "QUEUED 100"
        queueing.send_signal(signal.SIGKILL)
        queueing.wait(timeout=5)
        left = stored_rows(path)
        assert [action for _, action, _, _ in left] == ["StartTransaction"] + ["MeterValues"] * 98 + ["StopTransaction"]

        reserved.close()  # for the central system, which binds it now
        central_system = _start(CS_PROCESS, str(port), *options)
        processes.append(central_system)
        assert _first_line(central_system) == "READY"
        restarted = _start(CP_PROCESS, url, str(path), *options)
        processes.append(restarted)
        out, _ = restarted.communicate(timeout=15)
        assert out.strip() == "DELIVERED 100"
        central_system.terminate()
        log, _ = central_system.communicate(timeout=5)
    finally:
        reserved.close()
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    arrived = [json.loads(line.removeprefix("ARRIVED ")) for line in log.splitlines() if line.startswith("ARRIVED ")]
    handled = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    expected = [(action, message_id) for _, action, _, message_id in left]
    assert [(m["action"], m["id"]) for m in arrived] == expected  # each once, in order, with its original id
    assert [(m["action"], m["id"]) for m in handled] == expected  # and handled once
    assert [m["payload"]["meterValue"][0]["sampledValue"][0]["value"] for m in handled[1:-1]] == [
        str(wh) for wh in range(1, 99)
    ]
    assert stored_rows(path) == []
