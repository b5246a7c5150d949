"""The README's first example, runnable: a central system and a charge point in ~40 lines.

python examples/quickstart.py
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ocpprpc import CentralSystem, CentralSystemServer, ChargePoint, after, on
from ocpprpc.messages import v16
from ocpprpc.transports import soap, websocket


class MyCentralSystem(CentralSystem):
    versions = ("1.6",)

    @on("BootNotification")
    async def boot(self, request: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
        return v16.BootNotificationResponse(status="Accepted", current_time=datetime.now(UTC), interval=300)

    @after("BootNotification")  # runs once the response is on its way
    async def configure(self, request: v16.BootNotificationRequest, response: v16.BootNotificationResponse) -> None:
        config = await self.call(v16.GetConfigurationRequest())  # typed: GetConfigurationResponse
        print("central system: configuration of", self.id, config.configuration_key)


class MyChargePoint(ChargePoint):
    versions = ("1.6",)

    @on(v16.ResetRequest)
    def reset(self, request: v16.ResetRequest) -> v16.ResetResponse:
        return v16.ResetResponse(status="Accepted")

    @on(v16.GetConfigurationRequest)
    def configuration(self, request: v16.GetConfigurationRequest) -> v16.GetConfigurationResponse:
        return v16.GetConfigurationResponse(configuration_key=[{"key": "HeartbeatInterval", "readonly": False}])


async def main() -> None:
    server = CentralSystemServer(MyCentralSystem)
    async with (
        websocket.serve(server, "127.0.0.1", 0, path="/ocpp") as ws_server,
        soap.serve(server, "127.0.0.1", 0),  # charge points may connect by either transport
    ):
        cp = MyChargePoint("CP1", "1.6")
        async with websocket.connect(cp, ws_server.url_for("CP1")):
            answer = await cp.call(v16.BootNotificationRequest(charge_point_vendor="ACME", charge_point_model="X1"))
            print("charge point: boot", answer.status.value)
            reset = await server.call("CP1", v16.ResetRequest(type="Soft"))  # whichever way CP1 is connected
            print("central system: reset", reset.status.value)
            await asyncio.sleep(0.1)  # let the after-hook's GetConfiguration finish


if __name__ == "__main__":
    asyncio.run(main())
