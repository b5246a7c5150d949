"""Shared fixtures: where the official WSDLs are, and a skip for tests that need them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .sim_driver import Sim

REPO = Path(__file__).resolve().parents[1]
WSDL_DIR = Path(os.environ.get("OCPP_WSDL_DIR", REPO.parent / "shared" / "ocpp-wsdl"))

needs_wsdl = pytest.mark.skipif(
    not (WSDL_DIR / "1.6").is_dir(),
    reason=f"the official OCPP WSDLs are not at {WSDL_DIR} (../shared/ocpp-wsdl beside the checkout)",
)


@pytest.fixture
def sims() -> Iterator[list[Sim]]:
    """Simulator subprocesses a test starts (append to it); each is stopped afterwards."""
    started: list[Sim] = []
    yield started
    for sim in started:
        sim.close()
