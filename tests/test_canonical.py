"""Handlers written once: a role with ``canonical = "1.6"`` serves 1.2, 1.5 and 1.6 peers over both transports.

The central system below has no version branch: every handler takes and returns 1.6 models. Charge points
of each version, over WebSocket and over SOAP, send their own version's messages and get their own
version's answers; the central system's calls (1.6 models) reach each in its version, and a call the
peer's version cannot express is refused at once.
"""

# pyright: reportUnusedClass=false
# (classes defined only to be refused)

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from ocpprpc import CentralSystem, CentralSystemServer, ChargePoint, OcppModel, UsageError, on
from ocpprpc.messages import v12, v15, v16
from ocpprpc.messages.examples import example
from ocpprpc.transports import memory, soap, websocket

from .timing import FAST, bounded

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


class WrittenFor16(CentralSystem):
    """A 1.6 central system: no isinstance, no version check anywhere."""

    versions = ("1.6", "1.5", "1.2")
    canonical = "1.6"
    seen: ClassVar[list[tuple[str, str, OcppModel]]] = []

    @on("BootNotification")
    def boot(self, request: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
        self.seen.append((self.id, self.version, request))
        return v16.BootNotificationResponse(status="Accepted", current_time=NOW, interval=300)

    @on("Authorize")
    def authorize(self, request: v16.AuthorizeRequest) -> v16.AuthorizeResponse:
        self.seen.append((self.id, self.version, request))
        return v16.AuthorizeResponse(id_tag_info={"status": "Accepted"})

    @on("StartTransaction")
    def start(self, request: v16.StartTransactionRequest) -> v16.StartTransactionResponse:
        self.seen.append((self.id, self.version, request))
        return v16.StartTransactionResponse(transaction_id=42, id_tag_info={"status": "Accepted"})

    @on("StatusNotification")
    def status(self, request: v16.StatusNotificationRequest) -> v16.StatusNotificationResponse:
        self.seen.append((self.id, self.version, request))
        return v16.StatusNotificationResponse()

    @on("StopTransaction")
    def stop(self, request: v16.StopTransactionRequest) -> v16.StopTransactionResponse:
        self.seen.append((self.id, self.version, request))
        return v16.StopTransactionResponse()


class AnyChargePoint(ChargePoint):
    """Answers the central system's requests with examples of its own version; records them."""

    def __init__(self, id: str, version: Any = None) -> None:
        super().__init__(id, version)
        self.received: list[OcppModel] = []

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        self.received.append(request)
        return example(self.ocpp_version.received_by(self.side)[action].response)


async def charging_session(cp: AnyChargePoint) -> None:
    """Boot, authorize, start, status, stop — each in the charge point's own version's models."""
    ocpp = {"1.2": v12, "1.5": v15, "1.6": v16}[cp.version]
    modules: Any = ocpp
    boot = await cp.call(example(modules.BootNotificationRequest))
    assert type(boot) is modules.BootNotificationResponse and boot.status.value == "Accepted"
    assert (boot.interval if cp.version == "1.6" else boot.heartbeat_interval) == 300
    auth = await cp.call(example(modules.AuthorizeRequest))
    assert type(auth) is modules.AuthorizeResponse and auth.id_tag_info.status.value == "Accepted"
    started = await cp.call(example(modules.StartTransactionRequest))
    assert type(started) is modules.StartTransactionResponse and started.transaction_id == 42
    await cp.call(example(modules.StatusNotificationRequest))
    stopped = await cp.call(example(modules.StopTransactionRequest))
    assert type(stopped) is modules.StopTransactionResponse


@bounded(15)
async def test_one_16_central_system_serves_12_15_and_16_over_both_transports() -> None:
    role: type[WrittenFor16] = type("Fresh", (WrittenFor16,), {"seen": []})
    server = CentralSystemServer[WrittenFor16](role)
    async with (
        websocket.serve(server, "127.0.0.1", 0, path="/ocpp") as ws_server,
        soap.serve(server, "127.0.0.1", 0) as soap_server,
    ):
        ws12, ws15, ws16 = AnyChargePoint("WS12", "1.2"), AnyChargePoint("WS15", "1.5"), AnyChargePoint("WS16", "1.6")
        soap12, soap15 = AnyChargePoint("SOAP12", "1.2"), AnyChargePoint("SOAP15", "1.5")
        async with (
            websocket.connect(ws12, ws_server.url_for("WS12"), versions=["1.2"], **FAST),
            websocket.connect(ws15, ws_server.url_for("WS15"), versions=["1.5"], **FAST),
            websocket.connect(ws16, ws_server.url_for("WS16"), versions=["1.6"], **FAST),
            soap.connect(soap12, soap_server.url),
            soap.connect(soap15, soap_server.url),
        ):
            everyone = (ws12, ws15, ws16, soap12, soap15)
            for cp in everyone:
                await charging_session(cp)
                assert server[cp.id].version == cp.version
            # the central system saw 1.6 models only, from every version
            assert {type(request).__module__ for _, _, request in role.seen} == {v16.BootNotificationRequest.__module__}
            assert {version for _, version, _ in role.seen} == {"1.2", "1.5", "1.6"}
            assert len(role.seen) == 5 * len(everyone)
            # and its 1.6 calls reach each charge point in its own version, typed 1.6 on return
            for cp in everyone:
                reset = await server.call(cp.id, v16.ResetRequest(type="Soft"))
                assert type(reset) is v16.ResetResponse
                assert type(cp.received[-1]).__module__.startswith(f"ocpprpc.messages.v{cp.version.replace('.', '')}")
                assert cp.received[-1].to_json_dict() == {"type": "Soft"}


@bounded()
async def test_a_call_the_peers_version_cannot_express_is_refused_at_once() -> None:
    server = CentralSystemServer(WrittenFor16)
    cp = AnyChargePoint("CP15", "1.5")
    async with memory.connect(server, cp) as cs:
        with pytest.raises(UsageError, match="TriggerMessage"):
            await cs.call(v16.TriggerMessageRequest(requested_message="Heartbeat"))
        assert cp.received == []  # nothing was sent
        answer = await cs.call(v16.GetConfigurationRequest())  # 1.5 has it: translated both ways
        assert type(answer) is v16.GetConfigurationResponse


@bounded()
async def test_a_model_of_the_connections_own_version_is_sent_as_it_is() -> None:
    server = CentralSystemServer(WrittenFor16)
    cp = AnyChargePoint("CP15", "1.5")
    async with memory.connect(server, cp) as cs:
        answer = await cs.call(v15.ResetRequest(type="Hard"))
        assert type(answer) is v15.ResetResponse


def test_a_canonical_class_registers_handlers_for_its_canonical_version_only() -> None:
    with pytest.raises(UsageError, match=r"1\.5"):

        class Wrong(CentralSystem):
            versions = ("1.6", "1.5")
            canonical = "1.6"

            @on(v15.BootNotificationRequest)
            def boot(self, request: v15.BootNotificationRequest) -> Any: ...

    with pytest.raises(UsageError, match=r"translation covers OCPP 1\.2, 1\.5 and 1\.6"):

        class TooFar(CentralSystem):
            versions = ("2.0.1", "1.6")
            canonical = "1.6"
