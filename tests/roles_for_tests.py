"""Role classes shared by the transport tests: they answer every action with a valid example response."""

from __future__ import annotations

from typing import Any

from ocpprpc import CentralSystem, ChargePoint, OcppModel, Role
from ocpprpc.messages.examples import example


class EchoMixin:
    """Answers every request it has no handler for with the example response, and records the request."""

    def __init__(self, id: str, version: Any = None) -> None:
        super().__init__(id, version)  # type: ignore[call-arg]
        self.received: list[OcppModel] = []

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        assert isinstance(self, Role)
        self.received.append(request)
        return example(self.version.received_by(self.side)[action].response)


class EchoCentralSystem(EchoMixin, CentralSystem):
    """A central system answering every charge point action."""


class EchoChargePoint(EchoMixin, ChargePoint):
    """A charge point answering every central system action."""
