"""The gateway demo: an installed OCPP 1.5 SOAP charger runs a charging session on an OCPP-J 1.6 CSMS.

Three parties in one process: the charger (OCPP 1.5 over SOAP, as installed years ago), the gateway
(:class:`ocpprpc.gateway.Gateway`), and a central system that speaks only OCPP-J 1.6. The charger boots,
authorises, starts a transaction and sends meter values; the CSMS asks for its configuration, stops the
transaction remotely (a remote action going back down, translated to 1.5) and asks for something OCPP
1.5 cannot say (TriggerMessage), which the gateway refuses with NotSupported and the reason. Every
message is printed twice per hop, as its sender and its receiver log it: in SOAP form between charger
and gateway, as OCPP-J frames between gateway and CSMS; the first column says who logs the line.
Exits 0 when every exchange went as described, 1 otherwise.

    python examples/demo_gateway.py
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

from ocpprpc import ActionNotSupported, CentralSystem, CentralSystemServer, ChargePoint, OcppRpcError, after, on
from ocpprpc.gateway import Gateway
from ocpprpc.messages import v15, v16
from ocpprpc.transports import soap, websocket

log = logging.getLogger("demo")
CHARGER_ID = "CP15"
ID_TAG = "044943121F1D80"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Who(logging.Filter):
    """Names the party that logs each line: the frame log's side (``cs:`` / ``cp#..:``) and the message's
    form (SOAP ``/Action`` between charger and gateway, OCPP-J ``[...]`` between gateway and CSMS)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "ocpprpc.frames":
            text = record.getMessage()
            soap_form = " /" in text.split("{", 1)[0]
            if text.startswith("cs:"):
                record.who = "gateway" if soap_form else "CSMS"
            else:
                record.who = "charger" if soap_form else "gateway"
        elif record.name == "ocpprpc.gateway":
            record.who = "gateway"
        else:
            record.who = getattr(record, "who", "demo")
        return True


class Csms(CentralSystem):
    """An OCPP-J 1.6 central system: accepts the charger and the tag, hands out transaction ids."""

    versions = ("1.6",)
    transaction_ids = itertools.count(1001)
    received: list[str] = []
    configuration: asyncio.Future[dict[str, str | None]] | None = None

    def note(self, request: object) -> None:
        self.received.append(type(request).__name__.removesuffix("Request"))

    @on(v16.BootNotificationRequest)
    def boot(self, request: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
        self.note(request)
        return v16.BootNotificationResponse(status="Accepted", current_time=now(), interval=300)

    @after(v16.BootNotificationRequest)
    async def ask_configuration(self, request: v16.BootNotificationRequest, response: object) -> None:
        answer = await self.call(v16.GetConfigurationRequest(key=["HeartbeatInterval"]))
        keys = {key.key: key.value for key in answer.configuration_key or []}
        log.info("%s reports %s", self.id, keys, extra={"who": "CSMS"})
        if Csms.configuration is not None and not Csms.configuration.done():
            Csms.configuration.set_result(keys)

    @on(v16.StatusNotificationRequest)
    def status(self, request: v16.StatusNotificationRequest) -> v16.StatusNotificationResponse:
        self.note(request)
        return v16.StatusNotificationResponse()

    @on(v16.AuthorizeRequest)
    def authorize(self, request: v16.AuthorizeRequest) -> v16.AuthorizeResponse:
        self.note(request)
        return v16.AuthorizeResponse(id_tag_info={"status": "Accepted"})

    @on(v16.StartTransactionRequest)
    def start(self, request: v16.StartTransactionRequest) -> v16.StartTransactionResponse:
        self.note(request)
        return v16.StartTransactionResponse(
            transaction_id=next(self.transaction_ids), id_tag_info={"status": "Accepted"}
        )

    @on(v16.MeterValuesRequest)
    def meter_values(self, request: v16.MeterValuesRequest) -> v16.MeterValuesResponse:
        self.note(request)
        return v16.MeterValuesResponse()

    @on(v16.StopTransactionRequest)
    def stop(self, request: v16.StopTransactionRequest) -> v16.StopTransactionResponse:
        self.note(request)
        return v16.StopTransactionResponse(id_tag_info={"status": "Accepted"})


class Charger(ChargePoint):
    """An installed OCPP 1.5 charger: answers GetConfiguration, accepts a remote stop."""

    versions = ("1.5",)

    def __init__(self, id: str) -> None:
        super().__init__(id, "1.5")
        self.stop_requested = asyncio.Event()

    @on(v15.GetConfigurationRequest)
    def configuration(self, request: v15.GetConfigurationRequest) -> v15.GetConfigurationResponse:
        return v15.GetConfigurationResponse(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
        )

    @on(v15.RemoteStopTransactionRequest)
    def remote_stop(self, request: v15.RemoteStopTransactionRequest) -> v15.RemoteStopTransactionResponse:
        self.stop_requested.set()
        return v15.RemoteStopTransactionResponse(status="Accepted")


def status(connector_status: Literal["Available", "Occupied"]) -> v15.StatusNotificationRequest:
    return v15.StatusNotificationRequest(connector_id=1, error_code="NoError", status=connector_status)


async def session(charger: Charger, server: CentralSystemServer[Csms]) -> list[str]:
    """The charging session, the CSMS's remote stop in the middle of it; what did not go as expected."""
    problems: list[str] = []
    boot = await charger.call(v15.BootNotificationRequest(charge_point_vendor="ocpprpc", charge_point_model="legacy"))
    await charger.call(status("Available"))
    await charger.call(v15.AuthorizeRequest(id_tag=ID_TAG))
    started = await charger.call(
        v15.StartTransactionRequest(connector_id=1, id_tag=ID_TAG, meter_start=0, timestamp=now())
    )
    await charger.call(status("Occupied"))
    for wh in (1000, 2000, 3000):
        reading = v15.MeterValue(timestamp=now(), values=[v15.MeterValueValue(value=str(wh), unit="Wh")])
        await charger.call(
            v15.MeterValuesRequest(connector_id=1, transaction_id=started.transaction_id, values=[reading])
        )

    # the CSMS stops the transaction remotely: a 1.6 request, translated down to the 1.5 charger
    stop = await server.call(charger.id, v16.RemoteStopTransactionRequest(transaction_id=started.transaction_id))
    log.info("RemoteStopTransaction %s", stop.status.value, extra={"who": "CSMS"})
    await asyncio.wait_for(charger.stop_requested.wait(), 5)
    await charger.call(
        v15.StopTransactionRequest(transaction_id=started.transaction_id, meter_stop=3000, timestamp=now())
    )
    await charger.call(status("Available"))

    # something OCPP 1.5 cannot say: refused by the gateway, with the reason, instead of guessed
    try:
        await server.call(charger.id, v16.TriggerMessageRequest(requested_message="StatusNotification"))
        problems.append("TriggerMessage reached a 1.5 charger")
    except ActionNotSupported as refused:
        log.info("TriggerMessage refused: %s", refused, extra={"who": "CSMS"})

    if boot.heartbeat_interval != 300:
        problems.append(f"the 1.6 interval did not arrive as 1.5's heartbeatInterval: {boot.heartbeat_interval}")
    if started.transaction_id < 1001:
        problems.append(f"the transaction id is not the CSMS's: {started.transaction_id}")
    if stop.status.value != "Accepted":
        problems.append(f"the remote stop was not accepted: {stop.status.value}")
    return problems


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(Who())
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(who)-7s | %(message)s", datefmt="%H:%M:%S"))
    for name in ("ocpprpc.frames", "ocpprpc.gateway", "demo"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)


async def main() -> int:
    configure_logging()
    Csms.configuration = asyncio.get_running_loop().create_future()
    server = CentralSystemServer(Csms)
    charger = Charger(CHARGER_ID)
    try:
        async with (
            websocket.serve(server, "127.0.0.1", 0, path="/ocpp") as csms,
            Gateway(csms.url) as gateway,
            soap.serve(gateway.server, "127.0.0.1", 0) as downstream,
        ):
            log.info(
                "demo: charger %s (OCPP 1.5, SOAP) -> gateway %s -> CSMS %s (OCPP-J 1.6 only)",
                CHARGER_ID,
                downstream.url,
                csms.url,
            )
            async with soap.connect(charger, downstream.url), asyncio.timeout(30):
                problems = await session(charger, server)
                configuration = await Csms.configuration
                for row in gateway.status():
                    log.info("demo: gateway status: %s", row)
    except (OcppRpcError, OSError, TimeoutError) as error:
        log.error("demo: FAILED: %r", error)
        return 1
    expected = ["BootNotification", "StatusNotification", "Authorize", "StartTransaction", "StatusNotification"]
    expected += ["MeterValues"] * 3 + ["StopTransaction", "StatusNotification"]
    if Csms.received != expected:
        problems.append(f"the CSMS received {Csms.received}")
    if configuration != {"HeartbeatInterval": "300"}:
        problems.append(f"the configuration came back as {configuration}")
    if problems:
        for problem in problems:
            log.error("demo: FAILED: %s", problem)
        return 1
    log.info("demo: OK: an OCPP 1.5 SOAP charger ran a charging session on an OCPP-J 1.6 CSMS through the gateway")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
