"""The central system's memory of answered transaction messages: long enough to catch retries, bounded.

A server remembers each charge point's last answers so that a message retried after a reconnect is not
handled twice. A server open to the internet also meets charge points that never come back, and peers
that invent a new id per connection: that memory must be forgotten in time and capped in size, and
nothing else may be kept for an id once its connection is gone.
"""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
import weakref
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from ocpprpc import CentralSystem, CentralSystemServer, on
from ocpprpc.connection import OcppJLink
from ocpprpc.messages import v16
from ocpprpc.messages.examples import example
from ocpprpc.transports import memory
from ocpprpc.transports.memory import MemoryChannel

from .roles_for_tests import EchoChargePoint


class CountingCentralSystem(CentralSystem):
    """Records the reading of every MeterValues it handles (a retry answered from memory is not handled)."""

    handled: ClassVar[list[str]] = []

    @on("MeterValues")
    def meter_values(self, request: v16.MeterValuesRequest) -> v16.MeterValuesResponse:
        CountingCentralSystem.handled.append(request.meter_value[0].sampled_value[0].value)
        return v16.MeterValuesResponse()


def counting_server(**options: Any) -> CentralSystemServer[CountingCentralSystem]:
    CountingCentralSystem.handled = []
    return CentralSystemServer(CountingCentralSystem, **options)


@asynccontextmanager
async def charge_point_by_hand(
    server: CentralSystemServer[Any], charge_point_id: str
) -> AsyncGenerator[MemoryChannel, None]:
    """A connection of ``charge_point_id`` to ``server``, in memory, whose frames the test writes by hand."""
    cs_end, cp_end = memory.channel_pair()
    connection = server.accept(charge_point_id, "1.6")
    link = OcppJLink(cs_end, connection.role)
    runner = asyncio.create_task(link.run())
    await connection.open(link)
    try:
        yield cp_end
    finally:
        await link.close()
        await runner
        await connection.end()


async def send_meter_values(cp_end: MemoryChannel, message_id: str, reading: str) -> list[Any]:
    """Send a MeterValues CALL with ``message_id``; the central system's answer frame."""
    value = {"timestamp": "2026-11-24T10:00:00Z", "sampledValue": [{"value": reading}]}
    await cp_end.send(json.dumps([2, message_id, "MeterValues", {"connectorId": 1, "meterValue": [value]}]))
    answer: list[Any] = json.loads(await cp_end.recv())
    return answer


async def test_a_retry_within_the_ttl_is_answered_from_memory_after_a_reconnect_without_being_handled_again() -> None:
    server = counting_server(replay_memory_ttl=60)
    async with asyncio.timeout(5):
        async with charge_point_by_hand(server, "CP1") as cp_end:
            first = await send_meter_values(cp_end, "m-1", "100")
        async with charge_point_by_hand(server, "CP2"):  # another charge point comes and goes meanwhile
            pass
        async with charge_point_by_hand(server, "CP1") as cp_end:
            again = await send_meter_values(cp_end, "m-1", "100")
    assert first == again == [3, "m-1", {}]
    assert CountingCentralSystem.handled == ["100"]


async def test_a_retry_after_the_ttl_is_handled_again_and_a_charge_point_gone_longer_is_forgotten() -> None:
    server = counting_server(replay_memory_ttl=0.05)
    async with asyncio.timeout(5):
        async with charge_point_by_hand(server, "CP1") as cp_end:
            await send_meter_values(cp_end, "m-1", "100")
            await asyncio.sleep(0.1)
            await send_meter_values(cp_end, "m-1", "100")  # on the same connection, past the TTL
        assert CountingCentralSystem.handled == ["100", "100"]
        assert server.remembered_charge_points == 1  # CP1, disconnected for less than the TTL
        await asyncio.sleep(0.1)
        async with charge_point_by_hand(server, "CP2"):
            assert server.remembered_charge_points == 1  # CP2 only: CP1 was forgotten
        async with charge_point_by_hand(server, "CP1") as cp_end:
            await send_meter_values(cp_end, "m-1", "100")
    assert CountingCentralSystem.handled == ["100", "100", "100"]


async def test_many_charge_points_coming_and_going_leave_a_bounded_memory_keeping_the_latest() -> None:
    """Distinct ids each send a transaction message and leave: memory plateaus at the bound, oldest forgotten."""
    server = counting_server(replay_memory_ttl=3600, max_remembered_charge_points=100)

    async def cycle(index: int) -> None:
        async with charge_point_by_hand(server, f"CP{index}") as cp_end:
            await send_meter_values(cp_end, f"m-{index}", "1")  # one shared string: the record costs 8 bytes

    async with asyncio.timeout(30):
        for index in range(300):  # warm up: the bound is reached, caches are filled
            await cycle(index)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            largest = 0
            for index in range(300, 2300):
                await cycle(index)
                largest = max(largest, server.remembered_charge_points)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert largest <= 101  # the bound, plus the one connected
        assert server.remembered_charge_points == 100
        # Measured: about 90 KB (the test's own record, allocator slack); unbounded, 2,000 more charge
        # points with one answer each kept 1.6 MB.
        assert grown < 400_000, f"{grown} bytes kept by 2,000 charge points that left"

        handled = len(CountingCentralSystem.handled)
        async with charge_point_by_hand(server, "CP2299") as cp_end:  # the latest: remembered
            await send_meter_values(cp_end, "m-2299", "2299")
        assert len(CountingCentralSystem.handled) == handled
        async with charge_point_by_hand(server, "CP2000") as cp_end:  # 300 ago: forgotten
            await send_meter_values(cp_end, "m-2000", "2000")
        assert CountingCentralSystem.handled[handled:] == ["2000"]


async def test_nothing_of_a_disconnected_charge_point_is_kept_but_its_memory_of_answers() -> None:
    server = counting_server(replay_memory_ttl=0.01)
    roles: list[weakref.ref[CountingCentralSystem]] = []
    server.add_listener(on_connect=lambda role: roles.append(weakref.ref(role)))
    async with asyncio.timeout(10):
        for index in range(50):
            cp = EchoChargePoint(f"CP{index}", "1.6")
            async with memory.connect(server, cp):
                await cp.call(example(v16.MeterValuesRequest))
        await asyncio.sleep(0.02)
        async with charge_point_by_hand(server, "LAST"):  # any connection forgets what is past the TTL
            pass
    gc.collect()
    assert len(roles) == 51
    assert [ref for ref in roles if ref() is not None] == []  # every role object, with what it held, is freed
    assert len(server) == 0
    assert server.remembered_charge_points == 1  # LAST, gone less than the TTL ago
