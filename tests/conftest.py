"""Shared fixtures: where the official WSDLs are, and a skip for tests that need them; TLS certificates."""

from __future__ import annotations

import dataclasses
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


_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
_RSA_KEY = ["-newkey", "rsa:2048", "-nodes"]


def _openssl() -> str:
    """The openssl command (the ``cryptography`` package is not installed); skips the test without it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl binary to make a test certificate (and the cryptography package is not installed)")
    return openssl


def _run_openssl(*arguments: str) -> None:
    subprocess.run([_openssl(), *arguments], check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(serving, trusting) TLS contexts for a self-signed certificate of 127.0.0.1.

    Made by the openssl command (the ``cryptography`` package is not installed); skips without it.
    """
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    _run_openssl(
        "req", "-x509", *_EC_KEY, "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1",
    )  # fmt: skip
    serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    serving.load_cert_chain(cert, key)
    return serving, ssl.create_default_context(cafile=str(cert))


@dataclasses.dataclass(frozen=True)
class Pki:
    """A test PKI in a folder: a CA, a server certificate for 127.0.0.1, charge point certificates.

    Every path is a PEM file; keys are EC (P-256) but ``server_rsa``'s (RSA 2048, for the cipher suites
    that need one). ``client[name]`` is ``(certificate, key)``: ``"CP1"`` and ``"CP2"`` are
    issued by ``ca`` with that subject CN; ``"CP1 by another CA"`` has CN=CP1 but is issued by a CA
    nobody trusts. Certificates carry the extensions strict verifiers (Python 3.13's default
    ``VERIFY_X509_STRICT``) demand: key identifiers, a critical basicConstraints, key usages.
    """

    ca: Path
    server_cert: Path
    server_key: Path
    server_rsa: tuple[Path, Path]
    client: dict[str, tuple[Path, Path]]


def _make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    _run_openssl(
        "req", "-x509", *_EC_KEY, "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/O=Test/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
    )  # fmt: skip
    return cert, key


def _issue(
    folder: Path, name: str, subject: str, ca: tuple[Path, Path], extensions: list[str], key_type: list[str] = _EC_KEY
) -> tuple[Path, Path]:
    cert, key, csr, ext = (folder / f"{name}{suffix}" for suffix in (".pem", ".key", ".csr", ".ext"))
    usage = "digitalSignature,keyEncipherment" if key_type is _RSA_KEY else "digitalSignature"  # RSA key exchange
    ext.write_text(
        "\n".join([
            "basicConstraints=critical,CA:FALSE", f"keyUsage=critical,{usage}",
            "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid,issuer", *extensions,
        ]) + "\n"
    )  # fmt: skip
    _run_openssl("req", "-new", *key_type, "-keyout", str(key), "-out", str(csr), "-subj", subject)
    _run_openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial", "-days", "1",
        "-out", str(cert), "-extfile", str(ext),
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """The test :class:`Pki` (made once per session with the openssl command; skips without it)."""
    folder = tmp_path_factory.mktemp("pki")
    ca, other_ca = _make_ca(folder, "ca"), _make_ca(folder, "other-ca")
    server_extensions = ["extendedKeyUsage=serverAuth", "subjectAltName=IP:127.0.0.1"]
    server = _issue(folder, "server", "/CN=127.0.0.1", ca, server_extensions)
    server_rsa = _issue(folder, "server-rsa", "/CN=127.0.0.1", ca, server_extensions, _RSA_KEY)
    client = {
        "CP1": _issue(folder, "cp1", "/O=Test/CN=CP1", ca, ["extendedKeyUsage=clientAuth"]),
        "CP2": _issue(folder, "cp2", "/O=Test/CN=CP2", ca, ["extendedKeyUsage=clientAuth"]),
        "CP1 by another CA": _issue(folder, "cp1-other", "/O=Test/CN=CP1", other_ca, ["extendedKeyUsage=clientAuth"]),
    }
    return Pki(ca=ca[0], server_cert=server[0], server_key=server[1], server_rsa=server_rsa, client=client)
