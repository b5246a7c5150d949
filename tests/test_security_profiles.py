"""OCPP security profiles 1-3 over real WebSockets on 127.0.0.1, with certificates made for the test.

Each profile lets the right charge point in and refuses the rest: a wrong password or user name (401),
no client certificate or one from a CA the server does not trust (refused in the TLS handshake), a
certificate whose subject CN is another charge point's (403), TLS 1.1. A configuration that does not
meet its profile is refused when the server or client is made.

Every test runs for each version in :data:`VERSIONS`.
"""

from __future__ import annotations

import logging
import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from websockets.exceptions import InvalidMessage, InvalidStatus

from ocpprpc import CentralSystemServer, ChargePoint, UnknownChargePoint, UsageError
from ocpprpc.security import (
    PeerCertificate,
    SecurityProfile,
    as_security_profile,
    client_context,
    common_name_is_id,
    common_names,
    server_context,
)
from ocpprpc.transports.websocket import NotConnected, WebSocketServer, connect, serve

from .conftest import Pki
from .roles_for_tests import EchoCentralSystem, EchoChargePoint
from .timing import FAST, bounded

VERSIONS = ["1.6"]
"""The OCPP versions every test runs for; a version registered later is tested by adding it here."""

PASSWORDS = {"CP1": "CP1's authorization key", "CP2": "CP2's authorization key"}


# -- helpers ----------------------------------------------------------------------------------------------


def central_system(version: str) -> CentralSystemServer[EchoCentralSystem]:
    role = cast(type[EchoCentralSystem], type("ProfileCentralSystem", (EchoCentralSystem,), {"versions": (version,)}))
    return CentralSystemServer(role)


def charge_point(charge_point_id: str, version: str) -> EchoChargePoint:
    role = cast(type[EchoChargePoint], type("ProfileChargePoint", (EchoChargePoint,), {"versions": (version,)}))
    return role(charge_point_id, version)


class PasswordBook:
    """An ``auth`` callback that checks the password only, and records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def __call__(self, charge_point_id: str, username: str, password: str) -> bool:
        self.asked.append((charge_point_id, username))
        return PASSWORDS.get(charge_point_id) == password


def server_tls(pki: Pki, *, client_certificates: bool = False) -> ssl.SSLContext:
    return server_context(pki.server_cert, pki.server_key, client_ca=pki.ca if client_certificates else None)


def charge_point_tls(
    pki: Pki, certificate: str | None = None, *, max_tls: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    cert, key = pki.client[certificate] if certificate is not None else (None, None)
    context = client_context(pki.ca, certfile=cert, keyfile=key)
    if max_tls is not None:
        context.maximum_version = max_tls
    return context


async def connected_and_answering(
    ws_server: WebSocketServer[EchoCentralSystem], charge_point_id: str, version: str, **options: Any
) -> PeerCertificate | None:
    """Connect ``charge_point_id``, send a Heartbeat both ways round; the certificate the server saw."""
    cp = charge_point(charge_point_id, version)
    async with connect(cp, ws_server.url, **{**FAST, **options}):
        assert charge_point_id in ws_server.server
        answer = await cp.call_raw("Heartbeat", {})
        assert "currentTime" in answer.result()
        return ws_server.peer_certificate(charge_point_id)


async def refusal(url: str, charge_point_id: str, version: str, **options: Any) -> BaseException:
    """Why ``charge_point_id`` cannot connect to ``url`` (the last error of its one attempt)."""
    with pytest.raises(NotConnected) as not_connected:
        async with connect(charge_point(charge_point_id, version), url, **{**FAST, "reconnect": False, **options}):
            pass
    assert not_connected.value.last_error is not None
    return not_connected.value.last_error


def http_status(error: BaseException) -> tuple[int, str]:
    """The HTTP status and body of a refused upgrade."""
    assert isinstance(error, InvalidStatus), f"not refused over HTTP: {error!r}"
    return error.response.status_code, (error.response.body or b"").decode()


def refused_in_tls(error: BaseException) -> bool:
    """Whether the TLS handshake refused the client: an alert during it (TLS 1.2), or, with TLS 1.3, where the
    server judges the client's certificate once the client has finished, the connection closed before any HTTP
    answer."""
    if isinstance(error, ssl.SSLError):
        return True
    return isinstance(error, InvalidMessage) and isinstance(error.__cause__, EOFError | ConnectionError | ssl.SSLError)


def server_refusals(caplog: pytest.LogCaptureFixture, status: str) -> list[str]:
    """The server's log lines refusing a charge point with ``status`` ("HTTP 401")."""
    lines = [record.getMessage() for record in caplog.records if record.name == "ocpprpc.websocket"]
    return [line for line in lines if line.startswith("cs: refused") and status in line]


@contextmanager
def no_traceback_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    assert not [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR]


# -- profiles 1 and 2: Basic authentication ----------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("profile", [1, 2])
@bounded(10)
async def test_profiles_1_and_2_let_in_the_charge_point_with_its_id_and_password_and_refuse_the_rest(
    profile: int, version: str, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    book = PasswordBook()
    tls: dict[str, Any] = {"ssl": server_tls(pki)} if profile == 2 else {}
    cp_tls: dict[str, Any] = {"ssl": charge_point_tls(pki)} if profile == 2 else {}
    with no_traceback_logged(caplog):
        async with serve(central_system(version), security_profile=profile, auth=book, **tls) as ws_server:
            assert ws_server.url.startswith("wss://" if profile == 2 else "ws://")
            right = ("CP1", PASSWORDS["CP1"])
            certificate = await connected_and_answering(
                ws_server, "CP1", version, auth=right, security_profile=profile, **cp_tls
            )
            assert certificate is None  # none presented
            assert book.asked == [("CP1", "CP1")]

            wrong_password = await refusal(ws_server.url, "CP1", version, auth=("CP1", "guess"), **cp_tls)
            assert http_status(wrong_password)[0] == 401
            missing = await refusal(ws_server.url, "CP1", version, **cp_tls)
            assert http_status(missing) == (401, "CP1: credentials missing\n")
            # CP1's own password under another user name (a client without security_profile sends it):
            # refused before the callback is asked.
            wrong_user = await refusal(ws_server.url, "CP1", version, auth=("admin", PASSWORDS["CP1"]), **cp_tls)
            assert http_status(wrong_user) == (401, "CP1: the user name 'admin' is not the charge point id\n")
            assert book.asked == [("CP1", "CP1"), ("CP1", "CP1")]  # the wrong password only
            assert len(ws_server.server) == 0
            if profile == 2:  # a charge point that does not trust the server's CA does not get in
                untrusting = await refusal(ws_server.url, "CP1", version, auth=right, ssl=client_context())
                assert isinstance(untrusting, ssl.SSLCertVerificationError)
    assert len(server_refusals(caplog, "HTTP 401")) == 3  # one line each
