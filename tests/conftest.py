"""Shared fixtures: where the official WSDLs are, and a skip for tests that need them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WSDL_DIR = Path(os.environ.get("OCPP_WSDL_DIR", REPO.parent / "shared" / "ocpp-wsdl"))

needs_wsdl = pytest.mark.skipif(
    not (WSDL_DIR / "1.6").is_dir(),
    reason=f"the official OCPP WSDLs are not at {WSDL_DIR} (../shared/ocpp-wsdl beside the checkout)",
)
