"""The README's demo: one central system, two charge points, a full charging session each.

One charge point speaks OCPP 1.6 over WebSocket, the other OCPP 1.5 over SOAP; the central system is one
class serving both at once through one registry. Every frame is printed as it goes. Exits 0 when every
exchange succeeded, 1 otherwise.

    python examples/demo.py
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from ocpprpc import CentralSystem, CentralSystemServer, ChargePoint, OcppRpcError, after, on
from ocpprpc.messages import v15, v16
from ocpprpc.transports import soap, websocket

log = logging.getLogger("demo")
ID_TAG = "044943121F1D80"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class DemoCentralSystem(CentralSystem):
    """Accepts every charge point and tag, hands out transaction ids, asks for configuration after boot."""

    versions = ("1.6", "1.5")
    transaction_ids = itertools.count(1)
    completed: set[str] = set()

    @on("BootNotification")
    def boot(self, request: Any) -> Any:
        if self.version == "1.6":
            return v16.BootNotificationResponse(status="Accepted", current_time=now(), interval=300)
        return v15.BootNotificationResponse(status="Accepted", current_time=now(), heartbeat_interval=300)

    @after("BootNotification")
    async def ask_configuration(self, request: Any, response: Any) -> None:
        messages = v16 if self.version == "1.6" else v15
        answer = await self.call(messages.GetConfigurationRequest(key=["HeartbeatInterval"]))
        log.info("cs: %s reports %s", self.id, {k.key: k.value for k in answer.configuration_key or []})

    @on("StatusNotification")
    def status(self, request: Any) -> Any:
        return (v16 if self.version == "1.6" else v15).StatusNotificationResponse()

    @on("Authorize")
    def authorize(self, request: Any) -> Any:
        return (v16 if self.version == "1.6" else v15).AuthorizeResponse(id_tag_info={"status": "Accepted"})

    @on("StartTransaction")
    def start(self, request: Any) -> Any:
        messages = v16 if self.version == "1.6" else v15
        return messages.StartTransactionResponse(
            transaction_id=next(self.transaction_ids), id_tag_info={"status": "Accepted"}
        )

    @on("MeterValues")
    def meter_values(self, request: Any) -> Any:
        return (v16 if self.version == "1.6" else v15).MeterValuesResponse()

    @on("StopTransaction")
    def stop(self, request: Any) -> Any:
        self.completed.add(self.id)
        return (v16 if self.version == "1.6" else v15).StopTransactionResponse(id_tag_info={"status": "Accepted"})


class DemoChargePoint(ChargePoint):
    """Answers GetConfiguration; :func:`charging_session` drives it through one session."""

    @on("GetConfiguration")
    def configuration(self, request: Any) -> Any:
        messages = v16 if self.version == "1.6" else v15
        return messages.GetConfigurationResponse(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
        )


def meter_value(messages: ModuleType, wh: int) -> Any:
    if messages is v16:
        return {"timestamp": now(), "sampled_value": [{"value": str(wh), "unit": "Wh"}]}
    return {"timestamp": now(), "values": [{"value": str(wh), "unit": "Wh"}]}


async def charging_session(cp: DemoChargePoint, messages: ModuleType) -> None:
    """Boot, plug in, authorise, start, three meter readings, stop, unplug."""
    await cp.call(messages.BootNotificationRequest(charge_point_vendor="ocpprpc", charge_point_model="demo"))
    await cp.call(messages.StatusNotificationRequest(connector_id=1, error_code="NoError", status="Available"))
    await cp.call(messages.AuthorizeRequest(id_tag=ID_TAG))
    started = await cp.call(
        messages.StartTransactionRequest(connector_id=1, id_tag=ID_TAG, meter_start=0, timestamp=now())
    )
    status = "Charging" if messages is v16 else "Occupied"
    await cp.call(messages.StatusNotificationRequest(connector_id=1, error_code="NoError", status=status))
    for wh in (1000, 2000, 3000):
        readings: dict[str, Any] = {"meter_value" if messages is v16 else "values": [meter_value(messages, wh)]}
        await cp.call(messages.MeterValuesRequest(connector_id=1, transaction_id=started.transaction_id, **readings))
    await cp.call(
        messages.StopTransactionRequest(transaction_id=started.transaction_id, meter_stop=3000, timestamp=now())
    )
    await cp.call(messages.StatusNotificationRequest(connector_id=1, error_code="NoError", status="Available"))


async def main() -> int:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(message)s", datefmt="%Y-%m-%d %H:%M:%S"))
    for name in ("ocpprpc.frames", "demo"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)

    server = CentralSystemServer(DemoCentralSystem)
    ws_cp = DemoChargePoint("CP-WS", "1.6")
    soap_cp = DemoChargePoint("CP-SOAP", "1.5")
    try:
        async with (
            websocket.serve(server, "127.0.0.1", 0, path="/ocpp") as ws_server,
            soap.serve(server, "127.0.0.1", 0, path="/ocpp/soap") as soap_server,
        ):
            log.info("demo: central system on %s (OCPP-J) and %s (OCPP-S)", ws_server.url, soap_server.url)
            async with (
                websocket.connect(ws_cp, ws_server.url + ws_cp.id) as ws_client,
                soap.connect(soap_cp, soap_server.url),
            ):
                await ws_client.wait_connected(timeout=10)
                async with asyncio.timeout(30):
                    await asyncio.gather(charging_session(ws_cp, v16), charging_session(soap_cp, v15))
                    await asyncio.sleep(0.2)  # let the after-boot GetConfiguration exchanges finish printing
    except (OcppRpcError, OSError, TimeoutError) as error:
        log.error("demo: FAILED: %r", error)
        return 1
    done = sorted(DemoCentralSystem.completed)
    if done != ["CP-SOAP", "CP-WS"]:
        log.error("demo: FAILED: completed sessions %s", done)
        return 1
    log.info("demo: OK: a full charging session over WebSocket (OCPP 1.6) and over SOAP (OCPP 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
