"""Role classes shared by the transport tests: they answer every action with a valid example response."""

from __future__ import annotations

from typing import Any

from ocpprpc import CentralSystem, ChargePoint, OcppModel
from ocpprpc.messages.examples import example


class EchoCentralSystem(CentralSystem):
    """Answers every charge point action with the example response and records what it received."""

    def __init__(self, id: str, version: Any = None) -> None:
        super().__init__(id, version)
        self.received: list[OcppModel] = []

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        self.received.append(request)
        return example(self.version.received_by(self.side)[action].response)


class EchoChargePoint(ChargePoint):
    """Answers every central system action with the example response and records what it received."""

    def __init__(self, id: str, version: Any = None) -> None:
        super().__init__(id, version)
        self.received: list[OcppModel] = []

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        self.received.append(request)
        return example(self.version.received_by(self.side)[action].response)
