"""A charge point in its own process with an SQLite outbox, for the kill -9 tests.

    python tests/cp_process.py <central system url> <outbox file> [--soap] [--queue N]

With ``--queue N`` (N >= 2): queues one transaction of N messages (StartTransaction, N - 2 MeterValues
with the readings 1 to N - 2, StopTransaction) whether or not the central system is up, prints
``QUEUED N`` once all N are in the outbox file, and runs until killed.

Without it: connects (over OCPP-J, or OCPP-S with ``--soap``), delivers what the outbox file holds,
prints ``DELIVERED <how many were recovered>`` once the outbox is empty, and exits.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocpprpc import Backoff, ChargePoint, OcppRequest
from ocpprpc.messages import v16
from ocpprpc.messages.examples import example
from ocpprpc.transports import soap, websocket

ARGUMENTS = sys.argv[1:]
SOAP = "--soap" in ARGUMENTS
QUEUE = int(ARGUMENTS[ARGUMENTS.index("--queue") + 1]) if "--queue" in ARGUMENTS else 0
URL, OUTBOX = ARGUMENTS[0], ARGUMENTS[1]


class DurableChargePoint(ChargePoint):
    versions = ("1.6",)
    transaction_message_retry_interval = 0.05
    transaction_message_retry_max = 0.2


def transaction(count: int) -> list[OcppRequest[Any]]:
    start = example(v16.StartTransactionRequest)
    meters = [
        v16.MeterValuesRequest(
            connector_id=1,
            transaction_id=1,
            meter_value=[v16.MeterValue(timestamp=start.timestamp, sampled_value=[v16.SampledValue(value=str(wh))])],
        )
        for wh in range(1, count - 1)
    ]
    stop = v16.StopTransactionRequest(transaction_id=1, meter_stop=count - 2, timestamp=start.timestamp)
    return [start, *meters, stop]


def client(cp: ChargePoint) -> soap.SoapChargePointClient | websocket.WebSocketClient:
    if SOAP:
        return soap.connect(cp, URL, backoff=Backoff(initial=0.05, max=0.2), open_timeout=5.0)
    return websocket.connect(cp, URL, backoff=Backoff(initial=0.05, max=0.2), open_timeout=5.0)


async def queue_and_wait_for_the_kill(cp: ChargePoint) -> None:
    connection = client(cp)
    await connection.start()  # without waiting for a connection: the central system may be down
    for request in transaction(QUEUE):
        await cp.enqueue(request)
    print(f"QUEUED {QUEUE}", flush=True)
    await asyncio.Event().wait()
    await connection.close()  # never reached: the test kills the process


async def deliver() -> None:
    cp = DurableChargePoint("CP1", "1.6", outbox=OUTBOX)
    recovered = len(await cp.outbox.pending(cp.id))
    async with client(cp):
        while cp.pending_transaction_messages:
            await asyncio.sleep(0.01)
    await cp.close_outbox()
    print(f"DELIVERED {recovered}", flush=True)


async def main() -> None:
    if QUEUE:
        await queue_and_wait_for_the_kill(DurableChargePoint("CP1", "1.6", outbox=OUTBOX))
    else:
        await deliver()


if __name__ == "__main__":
    asyncio.run(main())
