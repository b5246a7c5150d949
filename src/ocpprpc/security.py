"""OCPP security profiles 1-3 for OCPP-J: TLS contexts that meet them, and the checks a server makes.

The OCPP 1.6 security whitepaper and OCPP 2.0.1 / 2.1 (part 2, "Security") define three profiles:

1. **Unsecured transport with Basic authentication**: ``ws://``; the charge point presents HTTP Basic
   credentials whose user name is its identity and whose password is its AuthorizationKey
   (``BasicAuthPassword`` in 2.x). Only for trusted networks (a VPN, a private APN).
2. **TLS with Basic authentication**: ``wss://``; the charge point verifies the central system's
   certificate and presents Basic credentials as in profile 1.
3. **TLS with client-side certificates**: ``wss://``; the charge point presents a certificate issued by
   a CA the central system trusts, whose subject Common Name is its identity.

Every profile uses TLS 1.2 or newer where it uses TLS, and none falls back to a lower one. A WebSocket
server or client given ``security_profile=`` refuses at construction (:class:`~ocpprpc.errors.UsageError`)
a configuration that does not meet it, so a mistake shows when the process starts, not when the first
charge point is refused. :func:`server_context` and :func:`client_context` make contexts that do.

On a profile 3 server the TLS handshake proves that the certificate comes from a trusted CA; which
charge point it speaks for is checked after it, before the WebSocket upgrade: a
:data:`CertificateCheck` (by default :func:`common_name_is_id`) gets the certificate and the id from the
URL, and a refusal is HTTP 403. Without that check any charge point of the fleet could speak as any other.
"""

from __future__ import annotations

import enum
import ssl
from collections.abc import Awaitable, Callable
from os import PathLike
from typing import Any, TypeAlias

from .errors import UsageError

__all__ = [
    "MINIMUM_TLS_VERSION",
    "OCPP_RSA_CIPHER_SUITES",
    "CertificateCheck",
    "PeerCertificate",
    "SecurityProfile",
    "as_security_profile",
    "check_client_configuration",
    "check_server_configuration",
    "client_context",
    "common_name_is_id",
    "common_names",
    "server_context",
]

MINIMUM_TLS_VERSION = ssl.TLSVersion.TLSv1_2
"""The lowest TLS version the security profiles allow (TLS 1.0 and 1.1 are forbidden)."""

OCPP_RSA_CIPHER_SUITES = ("AES128-GCM-SHA256", "AES256-GCM-SHA384")
"""TLS_RSA_WITH_AES_128_GCM_SHA256 and TLS_RSA_WITH_AES_256_GCM_SHA384 (OpenSSL's names), which
:func:`server_context` adds, last, to Python's default suites.

OCPP requires a central system to offer them beside the ECDHE-ECDSA AES-GCM suites (which Python's
defaults have), because a charge point may implement only these two; Python leaves them out (they lack
forward secrecy). The server prefers its own order, so a client offering better gets better. They need
an RSA server certificate."""

StrPath: TypeAlias = str | PathLike[str]

PeerCertificate: TypeAlias = dict[str, Any]
"""A peer's certificate as :meth:`ssl.SSLSocket.getpeercert` gives it: ``subject``, ``issuer`` (tuples of
relative distinguished names, each a tuple of ``(name, value)`` pairs), ``serialNumber`` (hex),
``notBefore``, ``notAfter``, ``subjectAltName``, ..."""

CertificateCheck: TypeAlias = Callable[[PeerCertificate, str], "str | Awaitable[str | None] | None"]
"""``check(certificate, charge_point_id)`` → why the certificate may not speak for ``charge_point_id``, or None.

Sync or async (to look a revoked serial number up, say).
Called on a server after the TLS handshake verified the certificate against the trusted CAs, before the
WebSocket upgrade; ``charge_point_id`` is the id from the URL. A refusal is HTTP 403."""


class SecurityProfile(enum.IntEnum):
    """An OCPP security profile; ``security_profile=`` takes the member or its number (1, 2, 3)."""

    UNSECURED_BASIC_AUTH = 1
    """``ws://`` with HTTP Basic authentication (user name: the charge point id)."""
    TLS_BASIC_AUTH = 2
    """``wss://`` (the charge point verifies the server's certificate) with HTTP Basic authentication."""
    TLS_CLIENT_CERTIFICATE = 3
    """``wss://``; the charge point authenticates with its certificate, whose subject CN is its id."""


def as_security_profile(value: object) -> SecurityProfile:
    """``value`` as a :class:`SecurityProfile`; UsageError for anything but 1, 2 or 3."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"security_profile is 1, 2 or 3 (or a SecurityProfile), not {value!r}")
    try:
        return SecurityProfile(value)
    except ValueError:
        raise UsageError(f"security_profile is 1, 2 or 3, not {value}") from None


# -- contexts -------------------------------------------------------------------------------------------


def server_context(
    certfile: StrPath,
    keyfile: StrPath | None = None,
    *,
    client_ca: StrPath | None = None,
    password: str | None = None,
) -> ssl.SSLContext:
    """A central system's TLS context: its certificate (chain) and key, TLS 1.2 or newer.

    The cipher suites are Python's defaults plus :data:`OCPP_RSA_CIPHER_SUITES`, which OCPP requires.

    Args:
        certfile: the server's certificate in PEM, followed by any intermediate CA certificates.
        keyfile: its private key (PEM); None when ``certfile`` holds it too.
        client_ca: for profile 3, the CA certificate(s) (PEM) that issue the charge points'
            certificates; the context then requires a client certificate issued by one of them.
            Trust only your own CA here: any certificate it issued is let in (for the id in its CN).
        password: the key's passphrase, when it is encrypted.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = MINIMUM_TLS_VERSION
    tls_1_2_suites = [suite["name"] for suite in context.get_ciphers() if suite["protocol"] == "TLSv1.2"]
    context.set_ciphers(":".join([*tls_1_2_suites, *OCPP_RSA_CIPHER_SUITES]))
    context.load_cert_chain(certfile, keyfile, password)
    if client_ca is not None:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(
    ca: StrPath | None = None,
    *,
    certfile: StrPath | None = None,
    keyfile: StrPath | None = None,
    password: str | None = None,
) -> ssl.SSLContext:
    """A charge point's TLS context: the CA it trusts for the server's certificate, TLS 1.2 or newer.

    The server's certificate is verified and must name the host of the URL (a DNS name, or an IP
    address in its subjectAltName).

    Args:
        ca: the CA certificate(s) (PEM) that issued the central system's certificate; None: the
            system's trust store (a central system with a certificate from a public CA).
        certfile: for profile 3, the charge point's certificate (PEM, its subject CN the charge point
            id), followed by any intermediate CA certificates.
        keyfile: its private key (PEM); None when ``certfile`` holds it too.
        password: the key's passphrase, when it is encrypted.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    context.minimum_version = MINIMUM_TLS_VERSION
    if certfile is not None:
        context.load_cert_chain(certfile, keyfile, password)
    elif keyfile is not None:
        raise UsageError("a keyfile goes with a certfile: pass certfile= too")
    return context


# -- the identity in a certificate ----------------------------------------------------------------------


def common_names(certificate: PeerCertificate) -> list[str]:
    """The Common Name (CN) values of a certificate's subject, in order (usually one)."""
    names: list[str] = []
    subject: object = certificate.get("subject", ())
    if not isinstance(subject, tuple):
        return names
    for rdn in subject:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(rdn, tuple):
            continue
        for pair in rdn:  # pyright: ignore[reportUnknownVariableType]
            if isinstance(pair, tuple) and len(pair) == 2 and pair[0] == "commonName" and isinstance(pair[1], str):  # pyright: ignore[reportUnknownArgumentType]
                names.append(pair[1])
    return names


def common_name_is_id(certificate: PeerCertificate, charge_point_id: str) -> str | None:
    """The default :data:`CertificateCheck`: the subject's one Common Name must be the charge point id, exactly.

    A certificate with no CN, or with several, is refused: which one would name the charge point?
    """
    names = common_names(certificate)
    if len(names) != 1:
        return f"the certificate's subject has {len(names)} Common Names; one, the charge point id, is needed"
    if names[0] != charge_point_id:
        return f"the certificate's subject CN is {names[0]!r}, not the charge point id"
    return None


# -- what each profile needs ----------------------------------------------------------------------------


_PASS_AUTH = "pass auth=check, a function check(charge_point_id, username, password) -> bool"


def _tls_version_problem(context: ssl.SSLContext) -> str | None:
    minimum = context.minimum_version
    if minimum == ssl.TLSVersion.MINIMUM_SUPPORTED or (
        minimum != ssl.TLSVersion.MAXIMUM_SUPPORTED and minimum < MINIMUM_TLS_VERSION
    ):
        return (
            f"the ssl context allows TLS versions below 1.2 (minimum_version is {minimum.name}); set "
            "context.minimum_version = ssl.TLSVersion.TLSv1_2 (ocpprpc.security's contexts do)"
        )
    return None


def check_server_configuration(
    profile: SecurityProfile,
    *,
    ssl_context: ssl.SSLContext | None,
    auth: bool,
) -> None:
    """Raise UsageError, naming the fix, when a server's ``ssl`` and ``auth`` do not meet ``profile``.

    Profile 1: ``auth`` and no TLS; profile 2: ``auth`` and TLS; profile 3: TLS requiring a client
    certificate (``auth`` optional: when given, both must pass). TLS at 1.2 or newer.
    """
    name = f"security_profile={profile.value}"
    if profile is SecurityProfile.UNSECURED_BASIC_AUTH:
        if ssl_context is not None:
            raise UsageError(f"{name} is unsecured ws://; with an ssl context, use security_profile=2 (or 3)")
        if not auth:
            raise UsageError(f"{name} needs HTTP Basic authentication: {_PASS_AUTH}")
        return
    if ssl_context is None:
        raise UsageError(f"{name} needs TLS: pass ssl=ocpprpc.security.server_context(certfile, keyfile)")
    if ssl_context.protocol == ssl.PROTOCOL_TLS_CLIENT:
        raise UsageError(f"{name}: the ssl context is a client's; make it with ocpprpc.security.server_context(...)")
    problem = _tls_version_problem(ssl_context)
    if problem is not None:
        raise UsageError(f"{name}: {problem}")
    if profile is SecurityProfile.TLS_BASIC_AUTH and not auth:
        raise UsageError(f"{name} needs HTTP Basic authentication: {_PASS_AUTH}")
    if profile is SecurityProfile.TLS_CLIENT_CERTIFICATE and ssl_context.verify_mode != ssl.CERT_REQUIRED:
        raise UsageError(
            f"{name} needs an ssl context that requires client certificates (verify_mode CERT_REQUIRED and the "
            "charge points' CA loaded): ocpprpc.security.server_context(certfile, keyfile, client_ca=...)"
        )


def check_client_configuration(
    profile: SecurityProfile,
    *,
    charge_point_id: str,
    secure_url: bool,
    ssl_context: ssl.SSLContext | None,
    auth: tuple[str, str] | None,
) -> None:
    """Raise UsageError, naming the fix, when a charge point's URL, ``ssl`` and ``auth`` do not meet ``profile``.

    Profile 1: ``ws://`` and ``auth``; profile 2: ``wss://`` and ``auth``, the server's certificate
    verified; profile 3: ``wss://`` and an ssl context of its own (holding its certificate). Basic
    credentials, in any profile, have the charge point id as their user name. TLS at 1.2 or newer.
    """
    name = f"security_profile={profile.value}"
    if auth is not None and auth[0] != charge_point_id:
        raise UsageError(
            f"{name}: the HTTP Basic user name is the charge point id, {charge_point_id!r}, not {auth[0]!r}"
        )
    if profile is SecurityProfile.UNSECURED_BASIC_AUTH:
        if secure_url:
            raise UsageError(f"{name} is unsecured ws://; for a wss:// URL use security_profile=2 (or 3)")
        if auth is None:
            raise UsageError(f"{name} needs HTTP Basic credentials: pass auth=(charge_point_id, authorization_key)")
        return
    if not secure_url:
        raise UsageError(f"{name} needs TLS: the URL must be wss://, never ws:// (no fallback to profile 1)")
    if profile is SecurityProfile.TLS_BASIC_AUTH and auth is None:
        raise UsageError(f"{name} needs HTTP Basic credentials: pass auth=(charge_point_id, authorization_key)")
    if ssl_context is None:
        if profile is SecurityProfile.TLS_CLIENT_CERTIFICATE:
            raise UsageError(
                f"{name} needs the charge point's certificate: pass "
                "ssl=ocpprpc.security.client_context(ca, certfile=..., keyfile=...)"
            )
        return  # websockets' default context: the system's trust store, TLS 1.2 or newer, verified
    if ssl_context.protocol == ssl.PROTOCOL_TLS_SERVER:
        raise UsageError(f"{name}: the ssl context is a server's; make it with ocpprpc.security.client_context(...)")
    if ssl_context.verify_mode != ssl.CERT_REQUIRED or not ssl_context.check_hostname:
        raise UsageError(
            f"{name}: the ssl context does not verify the central system's certificate and host name; "
            "make it with ocpprpc.security.client_context(ca)"
        )
    problem = _tls_version_problem(ssl_context)
    if problem is not None:
        raise UsageError(f"{name}: {problem}")
