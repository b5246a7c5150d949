"""OCPP security profiles 1-3 over real WebSockets on 127.0.0.1, with certificates made for the test.

Each profile lets the right charge point in and refuses the rest: a wrong password or user name (401),
no client certificate or one from a CA the server does not trust (refused in the TLS handshake), a
certificate whose subject CN is another charge point's (403), TLS 1.1. A configuration that does not
meet its profile is refused when the server or client is made.

Every test runs for each version in :data:`VERSIONS`.
"""

from __future__ import annotations

import logging
import re
import ssl
import warnings
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, cast

import pytest
from websockets.exceptions import InvalidMessage, InvalidStatus

from ocpprpc import CentralSystemServer, UnknownChargePoint, UsageError
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

VERSIONS = ["1.6", "2.0.1", "2.1"]
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
    settings: dict[str, Any] = {**FAST, "reconnect": False, **options}
    with pytest.raises(NotConnected) as not_connected:
        async with connect(charge_point(charge_point_id, version), url, **settings):
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
    if isinstance(error, ssl.SSLError | ConnectionError):  # an alert, or a reset after it
        return True
    return isinstance(error, InvalidMessage) and isinstance(error.__cause__, EOFError | ConnectionError | ssl.SSLError)


def server_refusals(caplog: pytest.LogCaptureFixture, status: str) -> list[str]:
    """The server's log lines refusing a charge point with ``status`` ("HTTP 401")."""
    lines = [record.getMessage() for record in caplog.records if record.name == "ocpprpc.websocket"]
    return [line for line in lines if line.startswith("cs: refused") and status in line]


@contextmanager
def no_traceback_logged(caplog: pytest.LogCaptureFixture) -> Generator[None, None, None]:
    caplog.set_level(logging.INFO)
    yield
    assert not [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR]


# -- profiles 1 and 2: Basic authentication ----------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("profile", [1, 2])
@bounded(10)
async def test_profiles_1_and_2_let_in_the_charge_point_with_its_id_and_password_and_refuse_the_rest(
    profile: Literal[1, 2], version: str, pki: Pki, caplog: pytest.LogCaptureFixture
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


# -- profile 3: client certificates ------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@bounded(10)
async def test_profile_3_lets_in_the_certificate_whose_cn_is_the_id_and_refuses_the_rest(
    version: str, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    with no_traceback_logged(caplog):
        async with serve(
            central_system(version), ssl=server_tls(pki, client_certificates=True), security_profile=3
        ) as ws:
            certificate = await connected_and_answering(ws, "CP1", version, ssl=charge_point_tls(pki, "CP1"))
            assert certificate is not None and common_names(certificate) == ["CP1"]
            assert certificate["serialNumber"]
            assert any("connected from" in line and "certificate serial" in line for line in caplog.messages)

            # CP2's certificate, from the trusted CA, at CP1's URL: 403 before the upgrade, one log line.
            impostor = await refusal(ws.url, "CP1", version, ssl=charge_point_tls(pki, "CP2"))
            assert http_status(impostor) == (
                403,
                "CP1: the certificate's subject CN is 'CP2', not the charge point id\n",
            )
            assert len(server_refusals(caplog, "HTTP 403")) == 1
            # The same certificate at its own URL is fine.
            await connected_and_answering(ws, "CP2", version, ssl=charge_point_tls(pki, "CP2"))

            # No certificate, or one from a CA the server does not trust: refused by the TLS handshake,
            # whether the server judges the certificate during it (TLS 1.2) or after the client's end (1.3).
            for max_tls in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                for certificate_name in (None, "CP1 by another CA"):
                    cp_tls = charge_point_tls(pki, certificate_name, max_tls=max_tls)
                    error = await refusal(ws.url, "CP1", version, ssl=cp_tls)
                    assert refused_in_tls(error), (max_tls, certificate_name, error)
            assert len(ws.server) == 0
            assert len(server_refusals(caplog, "HTTP")) == 1  # only the impostor reached HTTP


@pytest.mark.parametrize("version", VERSIONS)
@bounded(10)
async def test_profile_3_with_basic_auth_too_needs_both(version: str, pki: Pki) -> None:
    book = PasswordBook()
    tls = server_tls(pki, client_certificates=True)
    async with serve(central_system(version), ssl=tls, security_profile=3, auth=book) as ws:
        right = ("CP1", PASSWORDS["CP1"])
        await connected_and_answering(ws, "CP1", version, ssl=charge_point_tls(pki, "CP1"), auth=right)
        wrong_password = await refusal(ws.url, "CP1", version, ssl=charge_point_tls(pki, "CP1"), auth=("CP1", "guess"))
        assert http_status(wrong_password)[0] == 401
        no_password = await refusal(ws.url, "CP1", version, ssl=charge_point_tls(pki, "CP1"))
        assert http_status(no_password)[0] == 401
        wrong_certificate = await refusal(ws.url, "CP1", version, ssl=charge_point_tls(pki, "CP2"), auth=right)
        assert http_status(wrong_certificate)[0] == 403
        assert book.asked == [("CP1", "CP1"), ("CP1", "CP1")]  # the certificate is judged first
        assert len(ws.server) == 0


@pytest.mark.parametrize("version", VERSIONS)
@bounded(10)
async def test_an_operator_with_another_cn_scheme_passes_its_own_certificate_check(version: str, pki: Pki) -> None:
    seen: list[tuple[str, str]] = []

    async def fleet_scheme(certificate: PeerCertificate, charge_point_id: str) -> str | None:
        """URL ids are ACME-<serial>; certificates name the serial alone."""
        seen.append((charge_point_id, certificate["serialNumber"]))
        if common_names(certificate) != [charge_point_id.removeprefix("ACME-")]:
            return f"the certificate is not ACME's {charge_point_id}"
        return None

    tls = server_tls(pki, client_certificates=True)
    async with serve(central_system(version), ssl=tls, security_profile=3, check_certificate=fleet_scheme) as ws:
        certificate = await connected_and_answering(ws, "ACME-CP1", version, ssl=charge_point_tls(pki, "CP1"))
        assert certificate is not None and seen == [("ACME-CP1", certificate["serialNumber"])]
        refused = await refusal(ws.url, "ACME-CP2", version, ssl=charge_point_tls(pki, "CP1"))
        assert http_status(refused) == (403, "ACME-CP2: the certificate is not ACME's ACME-CP2\n")
        assert http_status(await refusal(ws.url, "ACME-CP1", version, ssl=charge_point_tls(pki, "CP2")))[0] == 403


@pytest.mark.parametrize("version", VERSIONS)
@bounded(10)
async def test_the_server_tells_the_certificate_of_a_connected_charge_point(version: str, pki: Pki) -> None:
    tls = server_tls(pki, client_certificates=True)
    async with serve(central_system(version), ssl=tls, security_profile=3) as ws:
        cp = charge_point("CP1", version)
        async with connect(cp, ws.url, ssl=charge_point_tls(pki, "CP1"), security_profile=3, **FAST):
            certificate = ws.peer_certificate("CP1")
            assert certificate is not None
            assert dict(name for rdn in certificate["issuer"] for name in rdn)["commonName"] == "ca"
            with pytest.raises(UnknownChargePoint):
                ws.peer_certificate("CP2")
        with pytest.raises(UnknownChargePoint):
            ws.peer_certificate("CP1")


# -- TLS versions ------------------------------------------------------------------------------------------


def _tls_1_1_client(pki: Pki) -> ssl.SSLContext:
    """A client that speaks TLS 1.1 only (security level 0: OpenSSL 3 needs it for TLS below 1.2)."""
    context = ssl.create_default_context(cafile=pki.ca)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 is deprecated: that is the point
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def _tls_1_1_server(pki: Pki) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


@pytest.mark.parametrize("version", VERSIONS)
@bounded(10)
async def test_a_tls_1_1_charge_point_is_refused_by_a_profile_server(version: str, pki: Pki) -> None:
    auth = PasswordBook()
    right = ("CP1", PASSWORDS["CP1"])
    # First the control: a server without a profile, whose context allows TLS 1.1, lets this client in.
    try:
        async with serve(central_system(version), ssl=_tls_1_1_server(pki), auth=auth) as ws:
            await connected_and_answering(ws, "CP1", version, auth=right, ssl=_tls_1_1_client(pki))
    except (NotConnected, ssl.SSLError) as exc:
        pytest.skip(f"the local OpenSSL ({ssl.OPENSSL_VERSION}) cannot negotiate TLS 1.1 to test it: {exc}")
    with pytest.raises(UsageError, match="TLS versions below 1\\.2"):
        serve(central_system(version), ssl=_tls_1_1_server(pki), auth=auth, security_profile=2)
    async with serve(central_system(version), ssl=server_tls(pki), auth=auth, security_profile=2) as ws:
        error = await refusal(ws.url, "CP1", version, auth=right, ssl=_tls_1_1_client(pki))
        assert isinstance(error, ssl.SSLError | ConnectionError), error
        assert len(ws.server) == 0
        await connected_and_answering(ws, "CP1", version, auth=right, ssl=charge_point_tls(pki))


# -- configurations that do not meet their profile ---------------------------------------------------------


MINIMUM_SUPPORTED = ssl.TLSVersion.MINIMUM_SUPPORTED


def _tls_context_with(pki: Pki, **attributes: Any) -> ssl.SSLContext:
    context = server_tls(pki)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for name, value in attributes.items():
            setattr(context, name, value)
    return context


@pytest.mark.parametrize("version", VERSIONS)
def test_a_server_whose_configuration_does_not_meet_its_profile_is_refused_naming_the_fix(
    version: str, pki: Pki
) -> None:
    auth = PasswordBook()
    plain, certificates = server_tls(pki), server_tls(pki, client_certificates=True)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"security_profile": 1}, "needs HTTP Basic authentication: pass auth="),
        ({"security_profile": 1, "auth": auth, "ssl": plain}, "use security_profile=2"),
        ({"security_profile": 2, "auth": auth}, "needs TLS: pass ssl=ocpprpc.security.server_context"),
        ({"security_profile": 2, "ssl": plain}, "needs HTTP Basic authentication"),
        ({"security_profile": 3}, "needs TLS"),
        ({"security_profile": 3, "ssl": plain}, "requires client certificates"),
        ({"security_profile": 3, "ssl": _tls_context_with(pki, verify_mode=ssl.CERT_OPTIONAL)}, "CERT_REQUIRED"),
        (
            {"security_profile": 3, "ssl": _tls_context_with(pki, minimum_version=ssl.TLSVersion.TLSv1)},
            "minimum_version = ssl.TLSVersion.TLSv1_2",
        ),
        (
            {"security_profile": 2, "auth": auth, "ssl": _tls_context_with(pki, minimum_version=MINIMUM_SUPPORTED)},
            "minimum_version is MINIMUM_SUPPORTED",
        ),
        ({"security_profile": 2, "auth": auth, "ssl": client_context(pki.ca)}, "a client's"),
        ({"security_profile": 4, "auth": auth}, "security_profile is 1, 2 or 3"),
        ({"check_certificate": common_name_is_id, "ssl": plain}, "check_certificate needs an ssl context"),
    ]
    for options, fix in cases:
        with pytest.raises(UsageError, match=re.escape(fix)):
            serve(central_system(version), **options)
    # What meets each profile is accepted (also as SecurityProfile members).
    serve(central_system(version), security_profile=SecurityProfile.UNSECURED_BASIC_AUTH, auth=auth)
    serve(central_system(version), security_profile=2, auth=auth, ssl=plain)
    serve(central_system(version), security_profile=2, auth=auth, ssl=certificates)
    serve(central_system(version), security_profile=3, ssl=certificates)
    serve(central_system(version), security_profile=3, ssl=certificates, auth=auth)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_charge_point_whose_configuration_does_not_meet_its_profile_is_refused_naming_the_fix(
    version: str, pki: Pki
) -> None:
    cp = charge_point("CP1", version)
    ws, wss = "ws://127.0.0.1:9/", "wss://127.0.0.1:9/"
    right = ("CP1", PASSWORDS["CP1"])
    unverified = client_context(pki.ca)
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    old_tls = client_context(pki.ca)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old_tls.minimum_version = ssl.TLSVersion.TLSv1_1
    cases: list[tuple[str, dict[str, Any], str]] = [
        (ws, {"security_profile": 1}, "needs HTTP Basic credentials"),
        (ws, {"security_profile": 1, "auth": ("admin", "pw")}, "user name is the charge point id, 'CP1', not 'admin'"),
        (wss, {"security_profile": 1, "auth": right}, "use security_profile=2"),
        (ws, {"security_profile": 2, "auth": right}, "the URL must be wss://"),
        (wss, {"security_profile": 2}, "needs HTTP Basic credentials"),
        (wss, {"security_profile": 2, "auth": right, "ssl": unverified}, "does not verify the central system"),
        (wss, {"security_profile": 2, "auth": right, "ssl": old_tls}, "below 1.2"),
        (wss, {"security_profile": 2, "auth": right, "ssl": server_tls(pki)}, "a server's"),
        (ws, {"security_profile": 3}, "the URL must be wss://"),
        (wss, {"security_profile": 3}, "needs the charge point's certificate"),
        (wss, {"security_profile": 0}, "security_profile is 1, 2 or 3"),
    ]
    for url, options, fix in cases:
        with pytest.raises(UsageError, match=re.escape(fix)):
            connect(cp, url, **options)
    connect(cp, ws, security_profile=1, auth=right)
    connect(cp, wss, security_profile=2, auth=right)  # the system's trust store
    connect(cp, wss, security_profile=2, auth=right, ssl=client_context(pki.ca))
    connect(cp, wss, security_profile=3, ssl=charge_point_tls(pki, "CP1"))


# -- without a profile, nothing changes --------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@bounded(10)
async def test_without_a_profile_neither_the_cn_nor_the_user_name_is_checked(version: str, pki: Pki) -> None:
    book = PasswordBook()
    tls = server_tls(pki, client_certificates=True)
    async with serve(central_system(version), ssl=tls, auth=book) as ws:
        # CP2's certificate at CP1's URL, under a user name that is not CP1: the application decides.
        certificate = await connected_and_answering(
            ws, "CP1", version, ssl=charge_point_tls(pki, "CP2"), auth=("admin", PASSWORDS["CP1"])
        )
        assert certificate is not None and common_names(certificate) == ["CP2"]
        assert book.asked == [("CP1", "admin")]


# -- the helpers of ocpprpc.security -----------------------------------------------------------------------


def test_the_contexts_need_tls_1_2_and_the_cn_check_needs_exactly_one_cn(pki: Pki) -> None:
    server, client = server_tls(pki, client_certificates=True), client_context(pki.ca)
    assert server.minimum_version == client.minimum_version == ssl.TLSVersion.TLSv1_2
    assert server.verify_mode == ssl.CERT_REQUIRED and server_tls(pki).verify_mode == ssl.CERT_NONE
    assert client.verify_mode == ssl.CERT_REQUIRED and client.check_hostname
    with pytest.raises(UsageError, match="certfile"):
        client_context(pki.ca, keyfile=Path(pki.client["CP1"][1]))
    one: PeerCertificate = {"subject": ((("organizationName", "Test"),), (("commonName", "CP1"),))}
    assert common_name_is_id(one, "CP1") is None
    assert common_name_is_id(one, "cp1") == "the certificate's subject CN is 'CP1', not the charge point id"
    none: PeerCertificate = {"subject": ((("organizationName", "Test"),),)}
    two: PeerCertificate = {"subject": ((("commonName", "CP1"),), (("commonName", "CP2"),))}
    for certificate in (none, two, {}):
        assert "one, the charge point id, is needed" in (common_name_is_id(certificate, "CP1") or "")
    assert as_security_profile(3) is SecurityProfile.TLS_CLIENT_CERTIFICATE
    for wrong in (True, "3", 3.0):
        with pytest.raises(UsageError):
            as_security_profile(wrong)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("suite", "rsa"),
    [
        ("ECDHE-ECDSA-AES128-GCM-SHA256", False),  # TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        ("ECDHE-ECDSA-AES256-GCM-SHA384", False),  # TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        ("AES128-GCM-SHA256", True),  # TLS_RSA_WITH_AES_128_GCM_SHA256
        ("AES256-GCM-SHA384", True),  # TLS_RSA_WITH_AES_256_GCM_SHA384
    ],
)
@bounded(10)
async def test_a_tls_1_2_charge_point_with_only_one_of_the_cipher_suites_ocpp_requires_gets_in(
    suite: str, rsa: bool, version: str, pki: Pki
) -> None:
    cert, key = pki.server_rsa if rsa else (pki.server_cert, pki.server_key)
    tls = server_context(cert, key)
    cp_tls = charge_point_tls(pki, max_tls=ssl.TLSVersion.TLSv1_2)
    cp_tls.set_ciphers(suite)
    async with serve(central_system(version), ssl=tls, security_profile=2, auth=PasswordBook()) as ws:
        cp = charge_point("CP1", version)
        async with connect(
            cp, ws.url, ssl=cp_tls, auth=("CP1", PASSWORDS["CP1"]), security_profile=2, **FAST
        ) as client:
            assert client._socket is not None
            ssl_object = client._socket.ws.transport.get_extra_info("ssl_object")
            assert isinstance(ssl_object, ssl.SSLObject)
            cipher = ssl_object.cipher()
            assert cipher is not None and cipher[0] == suite
