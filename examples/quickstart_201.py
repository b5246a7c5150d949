"""The README's OCPP 2.0.1 example, runnable: a CSMS and a charging station, a boot, a transaction event and a
remote start, with the same roles and transports as 1.6.

python examples/quickstart_201.py
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ocpprpc import CSMS, CentralSystemServer, ChargingStation, on
from ocpprpc.messages import v201
from ocpprpc.transports import websocket


class MyCsms(CSMS):
    versions = ("2.0.1", "1.6")  # one server for both fleets; a 2.0.1 station gets 2.0.1

    @on(v201.BootNotificationRequest)
    async def boot(self, request: v201.BootNotificationRequest) -> v201.BootNotificationResponse:
        print("csms: boot of", self.id, request.charging_station.model, request.reason.value)
        return v201.BootNotificationResponse(current_time=datetime.now(UTC), interval=300, status="Accepted")

    @on(v201.TransactionEventRequest)
    async def transaction(self, request: v201.TransactionEventRequest) -> v201.TransactionEventResponse:
        print("csms: transaction", request.transaction_info.transaction_id, request.event_type.value)
        return v201.TransactionEventResponse(id_token_info={"status": "Accepted"})


class MyStation(ChargingStation):
    versions = ("2.0.1",)

    @on(v201.RequestStartTransactionRequest)
    def remote_start(self, request: v201.RequestStartTransactionRequest) -> v201.RequestStartTransactionResponse:
        return v201.RequestStartTransactionResponse(status="Accepted")


async def main() -> None:
    server = CentralSystemServer(MyCsms)
    async with websocket.serve(server, "127.0.0.1", 0, path="/ocpp") as ws_server:
        station = MyStation("CS1", "2.0.1")
        async with websocket.connect(station, ws_server.url_for("CS1")):
            boot = v201.BootNotificationRequest(
                charging_station={"model": "X2", "vendor_name": "ACME"}, reason="PowerUp"
            )
            print("station: boot", (await station.call(boot)).status.value)
            started = v201.TransactionEventRequest(
                event_type="Started",
                timestamp=datetime.now(UTC),
                trigger_reason="Authorized",
                seq_no=0,
                transaction_info={"transaction_id": "T-1"},
                id_token={"id_token": "04A2B3C4", "type": "ISO14443"},
            )
            answer = await station.call(started)  # typed: TransactionEventResponse
            print("station: id token", answer.id_token_info.status.value if answer.id_token_info else None)
            start = v201.RequestStartTransactionRequest(
                id_token={"id_token": "RFID-7", "type": "Central"}, remote_start_id=1
            )
            print("csms: remote start", (await server.call("CS1", start)).status.value)


if __name__ == "__main__":
    asyncio.run(main())
