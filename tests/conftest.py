"""Shared fixtures: where the official WSDLs are, and a skip for tests that need them."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
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


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(serving, trusting) TLS contexts for a self-signed certificate of 127.0.0.1.

    Made by the openssl command (the ``cryptography`` package is not installed); skips without it.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl binary to make a test certificate (and the cryptography package is not installed)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    serving.load_cert_chain(cert, key)
    return serving, ssl.create_default_context(cafile=str(cert))
