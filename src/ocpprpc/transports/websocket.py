"""OCPP-J over WebSocket: a central system server (:func:`serve`) and a charge point client (:func:`connect`).

    server = CentralSystemServer(MyCentralSystem)
    async with serve(server, "0.0.0.0", 9000, path="/ocpp", auth=check_password) as ws_server:
        ...                                    # charge points connect to ws://host:9000/ocpp/<id>
        await server.call("CP1", v16.ResetRequest(type="Soft"))

    cp = MyChargePoint("CP1")
    async with connect(cp, "ws://localhost:9000/ocpp/CP1") as client:
        await cp.call(v16.HeartbeatRequest())

Theory of operation
-------------------
This module only moves text between a socket and the RPC core. Everything OCPP-J (frames, ids, calls
in flight, bad input, the frame log) lives in :class:`~ocpprpc._ocppj.OcppJLink`, and the life of a
connection (role object, registration, replacement, hooks) in :class:`~ocpprpc.connection.Connection`;
a socket here is a :class:`_Socket` that adapts one ``websockets`` connection to the link's
:class:`~ocpprpc._ocppj.TextChannel` (text frame → ``str``, binary frame → ``bytes``, websockets'
``ConnectionClosed`` → ours) and sends its keep-alive pings.

*Server.* Each accepted TCP connection is first admitted by a
:class:`~ocpprpc._exposure.ConnectionGate` (``max_connections`` in all, ``max_connections_per_address``
per source address; by default the process's shared gate, below the open-file limit): one over a cap
is closed at once, before any handshake, so sockets a peer opens and never uses cannot exhaust the
process's descriptors. A connection that has not finished its (TLS and) WebSocket handshake within
``open_timeout`` is closed quietly. Everything else that can refuse a charge point is decided in
``process_request``, before the upgrade, so a refused peer gets a plain HTTP answer with a text body
and nothing is allocated for it: a path that is not ``<path>/<chargePointId>`` → 404 (the ocppjs
rule: no id, no connection); an id that is not UTF-8 once percent-decoded, or that ``check_id`` (by
default :func:`~ocpprpc._identity.check_charge_point_id`) refuses → 400, so ``..``, ``a%2Fb``, NUL,
CR/LF and 8 KB ids never become registry keys or log lines; with a certificate check (security
profile 3, or ``check_certificate``), a TLS client certificate that may not speak for the id → 403 (the
TLS handshake has verified it against the trusted CAs by then; see :mod:`ocpprpc.security`); with
``auth``, missing or wrong HTTP Basic credentials → 401 with ``WWW-Authenticate: Basic`` (the callback
gets the id from the path as well, so one charge point's password cannot open another's connection; with
a security profile, a user name other than the id is refused before the callback is asked); none of our
subprotocols offered → 400. The subprotocol picked is the first of *our* preference list that the
client offers. A server that listens beyond loopback without ``auth`` (or a certificate check) logs a
warning when it starts; with ``security_profile=`` the constructor refuses an ``ssl`` / ``auth``
configuration that does not meet that OCPP security profile. An oversize request head is answered by
websockets (414 / 431) before any of this. Then each accepted connection gets its
:class:`~ocpprpc.connection.Connection` from the :class:`~ocpprpc.server.CentralSystemServer` (a fresh
role object; opening it replaces and closes an older connection of the same charge point), its link
starts receiving, and only then is it opened: an ``on_connect`` hook that calls the charge point must
find a link that already reads the answers. When the socket ends, the connection ends.

*Client.* :class:`WebSocketClient` runs one background task (:class:`~ocpprpc._client.KeepConnected`,
shared with the SOAP client): connect, attach an OcppJLink to the charge point, run it until the socket
ends, detach, wait per its :class:`~ocpprpc.Backoff`, connect again. A refused handshake (401, 404, 400)
is retried like any other failure, since the server may be reconfigured or restarted;
:meth:`WebSocketClient.wait_connected` reports the last failure when it gives up. Transaction
messages a charge point sends while disconnected wait in its outbox (see
:class:`~ocpprpc.roles.ChargePoint`) and go out, in order, once a new link is attached.

*Keep-alive.* websockets' own keep-alive is switched off and replaced by a small loop per connection,
because the ping interval must be changeable while connected (the simulator's
``set cp websocket_ping_interval=N``): websockets reads its ``ping_interval`` only when a connection
opens. ``ping_interval`` None or 0 sends no pings; a pong missing for ``ping_timeout`` seconds closes
the connection with 1011, as websockets does. :meth:`WebSocketClient.ping` and
:meth:`WebSocketServer.ping` send one ping now and return the round-trip time.

Frames larger than ``max_message_size`` make websockets close the connection with 1009 (message too
big). What a peer sends is buffered at most ``max_queue`` (16) frames deep by websockets before it stops
reading the socket, and what we send at most ``write_limit`` (32 KiB) deep before a send waits: with
the link awaiting its sends, a peer that does not read is pushed back by TCP (see
:class:`~ocpprpc._ocppj.OcppJLink`). A text frame that is not UTF-8 makes websockets close with 1007,
as RFC 6455 requires. permessage-deflate is not offered: OCPP frames are small, and per-connection compression state
costs memory on a central system that holds thousands of charge points.

Connection events (connected, refused and why, closed with which code, reconnecting in how long) are
logged at INFO on the ``ocpprpc.websocket`` logger; frames at INFO on ``ocpprpc.frames``.
"""

from __future__ import annotations

import asyncio
import http
import inspect
import logging
import ssl as ssl_module
import urllib.parse
from collections.abc import Sequence
from types import TracebackType
from typing import Any, ClassVar, Generic, Literal, TypeVar, cast

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.connection import Connection as WsConnection
from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.exceptions import InvalidHeader, InvalidStatus, InvalidURI
from websockets.headers import parse_subprotocol
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from .._basic_auth import AuthCallback, basic_authorization, check_basic_auth, www_authenticate
from .._client import Backoff, KeepConnected
from .._exposure import (
    DEFAULT_MAX_PER_ADDRESS,
    ConnectionGate,
    PeerName,
    peer_address,
    quiet_accept_errors,
    restore_accept_errors,
    shared_gate,
    warn_if_exposed,
)
from .._identity import IdCheck, check_charge_point_id, decode_url_segment, loggable
from .._link import DEFAULT_MAX_MESSAGE_SIZE, NotConnected
from .._ocppj import DEFAULT_MAX_BAD_MESSAGES, DEFAULT_MAX_QUEUED_CALLS, OcppJLink
from .._versions import by_subprotocol, resolve_version
from ..connection import Connection
from ..errors import ConnectionClosed, UsageError
from ..messages._base import OcppVersion
from ..roles import CentralSystem, ChargePoint
from ..security import (
    CertificateCheck,
    PeerCertificate,
    SecurityProfile,
    as_security_profile,
    check_client_configuration,
    check_server_configuration,
    common_name_is_id,
)
from ..server import CentralSystemServer, UnknownChargePoint

__all__ = [
    "DEFAULT_MAX_BAD_MESSAGES",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_MAX_QUEUED_CALLS",
    "DEFAULT_OPEN_TIMEOUT",
    "DEFAULT_PING_INTERVAL",
    "DEFAULT_PING_TIMEOUT",
    "AuthCallback",
    "Backoff",
    "NotConnected",
    "SecurityProfile",
    "WebSocketClient",
    "WebSocketServer",
    "connect",
    "serve",
]

CS = TypeVar("CS", bound=CentralSystem)

DEFAULT_PING_INTERVAL = 300.0
"""Seconds between keep-alive pings (the ocppjs default)."""

DEFAULT_PING_TIMEOUT = 20.0
"""Seconds to wait for a pong before the connection is deemed dead (the websockets default)."""

DEFAULT_OPEN_TIMEOUT = 10.0
"""Seconds from accepting a TCP connection to the end of the WebSocket (and TLS) handshake (websockets' default).

A socket that sends half a request and stops is closed after this, quietly."""

_log = logging.getLogger("ocpprpc.websocket")


# -- one connection ------------------------------------------------------------------------------------


class _Socket:
    """One open WebSocket as a :class:`~ocpprpc._ocppj.TextChannel`, with its keep-alive pings."""

    def __init__(self, ws: WsConnection, label: str, ping_interval: float | None, ping_timeout: float | None) -> None:
        self.ws = ws
        self.label = label
        self.peer_certificate = _peer_certificate(ws)
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._interval_changed = asyncio.Event()
        self._keepalive: asyncio.Task[None] | None = None

    # TextChannel

    async def send(self, text: str) -> None:
        try:
            data = text.encode()  # here, not in websockets, where a failure would abort the connection
        except UnicodeEncodeError as exc:
            raise UsageError(f"a WebSocket text frame must be UTF-8: {exc.reason} at {exc.start}") from None
        try:
            await self.ws.send(data, text=True)
        except WsConnectionClosed as exc:
            raise _closed(exc) from None

    async def recv(self) -> str | bytes:
        try:
            return await self.ws.recv()
        except WsConnectionClosed as exc:
            raise _closed(exc) from None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        # A close frame holds at most 123 bytes of reason; websockets refuses a longer one outright.
        await self.ws.close(code, reason.encode()[:123].decode(errors="ignore"))

    # keep-alive

    @property
    def ping_interval(self) -> float | None:
        return self._ping_interval

    @ping_interval.setter
    def ping_interval(self, value: float | None) -> None:
        self._ping_interval = value
        self._interval_changed.set()

    async def ping(self, timeout: float | None = None) -> float:
        """Send one ping and return the round-trip time in seconds."""
        timeout = self._ping_timeout if timeout is None else timeout
        try:
            pong = await self.ws.ping()
            async with asyncio.timeout(timeout):
                return await pong
        except WsConnectionClosed as exc:
            raise _closed(exc) from None

    def start_keepalive(self) -> None:
        if self._keepalive is None:
            self._keepalive = asyncio.create_task(self._keep_alive(), name=f"ocpprpc-keepalive-{self.label}")

    async def stop_keepalive(self) -> None:
        task, self._keepalive = self._keepalive, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _keep_alive(self) -> None:
        """Ping every ``ping_interval`` seconds; a change of the interval restarts the wait."""
        while True:
            self._interval_changed.clear()
            interval = self._ping_interval
            if not interval:
                await self._interval_changed.wait()
                continue
            try:
                async with asyncio.timeout(interval):
                    await self._interval_changed.wait()
                continue
            except TimeoutError:
                pass
            try:
                await self.ping()
            except ConnectionClosed:
                return
            except TimeoutError:
                _log.info("%s: no pong within %s s; closing", self.label, self._ping_timeout)
                await self.ws.close(1011, "keepalive ping timeout")
                return

    def describe_close(self) -> str:
        """How the connection ended, e.g. ``received 1000 (OK); then sent 1000 (OK)``."""
        if self.ws.state is State.CLOSED:
            return loggable(str(self.ws.protocol.close_exc))  # holds the peer's close reason
        return "closing"


def _peer_certificate(ws: WsConnection) -> PeerCertificate | None:
    """The certificate the peer presented in the TLS handshake (verified), or None: no TLS, or none presented."""
    try:
        ssl_object: ssl_module.SSLObject | None = ws.transport.get_extra_info("ssl_object")
    except Exception:  # no transport (yet)
        return None
    certificate = ssl_object.getpeercert() if ssl_object is not None else None
    return certificate or None  # {}: presented but not verified (CERT_NONE): not one to rely on


def _closed(exc: WsConnectionClosed) -> ConnectionClosed:
    close = exc.rcvd or exc.sent
    return ConnectionClosed(
        f"WebSocket closed: {exc}",
        code=1006 if close is None else int(close.code),
        reason="" if close is None else close.reason,
    )


def _versions(values: Sequence[str | OcppVersion], speaks: Sequence[str], who: str) -> tuple[OcppVersion, ...]:
    """``"1.6"`` / ``"ocpp1.6"`` / OcppVersion values as versions, in order, once each; UsageError for an
    unknown one, none at all, or one that ``who`` (speaking ``speaks``) does not speak."""
    result: list[OcppVersion] = []
    for value in values:
        version = resolve_version(value)
        if version not in result:
            result.append(version)
    if not result:
        raise UsageError("at least one version is needed")
    unspoken = [v.version for v in result if v.version not in speaks]
    if unspoken:
        raise UsageError(f"{who} speaks OCPP {', '.join(speaks)}; it cannot speak {', '.join(unspoken)}")
    return tuple(result)


def _interval(value: float | None) -> float | None:
    """A ping interval: None and 0 both mean no pings (ocppjs spells "off" as 0)."""
    if value is not None and value < 0:
        raise UsageError(f"a ping interval is a number of seconds >= 0 (0: no pings), not {value}")
    return value if value else None


# -- server ----------------------------------------------------------------------------------------------


class WebSocketServer(Generic[CS]):
    """An OCPP-J central system listening for charge points at ``ws[s]://host:port<path>/<chargePointId>``.

    ``serve(...)`` is this class: ``async with serve(server, "0.0.0.0", 9000, auth=check) as ws_server:``.

    Use it as an async context manager, or ``await start()`` / ``await close()``. Closing stops
    listening and closes every connection with 1001 (going away); each ends (``on_disconnect``).

    Args:
        server: the registry; each connection is accepted by it (``server.accept``: a fresh role object).
        host: the interface to bind; port: the port (0: any free one, see ``ws_server.port``). A host
            other than loopback without ``auth`` logs a warning when the server starts.
        path: the path before the id (``"/ocpp"``, ``"/a/b"``; default ``"/"``). Any other path → HTTP 404.
        versions: the OCPP versions served, in order of preference (``"1.6"``, or the subprotocol
            ``"ocpp1.6"``); default: the server's ``versions``. The first of these that the client
            offers as a subprotocol is picked; a client offering none of them → HTTP 400. A version the
            server's role objects do not speak is a :class:`UsageError`.
        auth: ``auth(charge_point_id, username, password)``, sync or async, checks HTTP Basic
            credentials before the upgrade; a missing or refused one → HTTP 401.
        check_id: ``check_id(charge_point_id)`` → why the id is refused, or None; default
            :func:`~ocpprpc._identity.check_charge_point_id` (1-48 printable characters, no white
            space, ``/``, ``\\``, not ``.`` / ``..``). A refused id, or one that is not UTF-8 once
            percent-decoded, → HTTP 400 before anything else (auth included) is done for it.
        ssl: a server-side TLS context, for ``wss://``
            (:func:`ocpprpc.security.server_context` makes one that meets the security profiles).
        security_profile: the OCPP security profile served, 1, 2 or 3 (see :mod:`ocpprpc.security`);
            None (the default): none is enforced. With a profile, a configuration that does not meet it
            is a :class:`UsageError` here (1: ``auth`` and no ``ssl``; 2: ``auth`` and ``ssl``; 3: an
            ``ssl`` context requiring client certificates; TLS 1.2 or newer), and a Basic user name
            other than the charge point id → HTTP 401. Profile 3 checks each client certificate
            against the id in the URL with ``check_certificate``; ``auth`` there is optional, and when
            given both must pass.
        check_certificate: ``check_certificate(certificate, charge_point_id)``, sync or async, → why
            the charge point's TLS certificate (the dict of ``SSLSocket.getpeercert()``) may not speak
            for that id, or None; a refusal, or no certificate, → HTTP 403 before the upgrade (and
            before ``auth``). Default: with ``security_profile=3``,
            :func:`~ocpprpc.security.common_name_is_id` (the subject CN must be the id), else none.
        open_timeout: seconds a new connection has to finish its TLS and WebSocket handshakes; a
            socket that sends half a request and stops is closed after this, quietly.
        ping_interval: seconds between keep-alive pings; None or 0: none. Changeable while running.
        ping_timeout: seconds without a pong before the connection is closed (1011); None: wait forever.
        max_message_size: largest frame accepted (bytes; default 1 MiB); a larger one closes the
            connection with 1009.
        max_calls_in_flight: unanswered CALLs to one charge point at a time (OCPP-J: 1).
        max_queued_calls: a charge point's CALLs that may wait while one of its CALLs is handled
            (they are handled one at a time); more are refused with a GenericError CALLERROR.
        max_bad_messages: close a connection (1008) after this many bad frames, stray answers and
            refused CALLs in a row (see :class:`~ocpprpc._ocppj.OcppJLink`); None: never.
        max_connections: connections at once, over every server sharing the gate; None: below the
            process's open-file limit (:func:`~ocpprpc._exposure.default_max_connections`).
        max_connections_per_address: connections at once from one source address; None: no cap. Behind
            a reverse proxy every connection has the proxy's address: raise it or pass None.
        reuse_port: bind with ``SO_REUSEPORT``, so several processes listen on one port and the kernel
            spreads connections over them (:func:`ocpprpc.cluster.serve_workers` uses it).
        gate: the :class:`~ocpprpc._exposure.ConnectionGate` admitting connections, to share one
            explicitly. By default the process's shared gate (:func:`~ocpprpc._exposure.shared_gate`),
            or a gate of this server's own when ``max_connections`` / ``max_connections_per_address``
            are given. A connection over a cap is closed as soon as it is accepted, before the
            handshake (with TLS: once the TLS handshake is done), without an answer.
    """

    def __init__(
        self,
        server: CentralSystemServer[CS],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        path: str = "/",
        versions: Sequence[str | OcppVersion] | None = None,
        auth: AuthCallback | None = None,
        check_id: IdCheck = check_charge_point_id,
        ssl: ssl_module.SSLContext | None = None,
        security_profile: SecurityProfile | Literal[1, 2, 3] | None = None,
        check_certificate: CertificateCheck | None = None,
        open_timeout: float = DEFAULT_OPEN_TIMEOUT,
        ping_interval: float | None = DEFAULT_PING_INTERVAL,
        ping_timeout: float | None = DEFAULT_PING_TIMEOUT,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_calls_in_flight: int = 1,
        max_queued_calls: int = DEFAULT_MAX_QUEUED_CALLS,
        max_bad_messages: int | None = DEFAULT_MAX_BAD_MESSAGES,
        max_connections: int | None = None,
        max_connections_per_address: int | None = DEFAULT_MAX_PER_ADDRESS,
        gate: ConnectionGate | None = None,
        reuse_port: bool = False,
    ) -> None:
        self.server = server
        """The registry of connected charge points, shared with any other transport."""
        self.reuse_port = reuse_port
        self.host = host
        self._requested_port = port
        self._path = tuple(segment for segment in path.split("/") if segment)
        self._versions = _versions(versions if versions is not None else server.versions, server.versions, server.name)
        self._subprotocols = tuple(version.subprotocol for version in self._versions)
        if open_timeout <= 0 or max_queued_calls < 0 or max_calls_in_flight < 1:
            raise UsageError("need open_timeout > 0, max_queued_calls >= 0 and max_calls_in_flight >= 1")
        if max_bad_messages is not None and max_bad_messages < 1:
            raise UsageError(f"max_bad_messages is a number >= 1 or None, not {max_bad_messages}")
        caps_given = max_connections is not None or max_connections_per_address != DEFAULT_MAX_PER_ADDRESS
        if gate is not None and caps_given:
            raise UsageError("pass either a gate or max_connections / max_connections_per_address, not both")
        if gate is None:
            gate = ConnectionGate(max_connections, max_connections_per_address) if caps_given else shared_gate()
        self.gate = gate
        """The gate admitting this server's connections (counts them; see ``gate.open``, ``gate.refused``)."""
        self.security_profile = None if security_profile is None else as_security_profile(security_profile)
        """The OCPP security profile enforced, or None."""
        if self.security_profile is not None:
            check_server_configuration(self.security_profile, ssl_context=ssl, auth=auth is not None)
            if check_certificate is None and self.security_profile is SecurityProfile.TLS_CLIENT_CERTIFICATE:
                check_certificate = common_name_is_id
        if check_certificate is not None and (ssl is None or ssl.verify_mode == ssl_module.CERT_NONE):
            raise UsageError(
                "check_certificate needs an ssl context that requests client certificates: "
                "ocpprpc.security.server_context(certfile, keyfile, client_ca=...)"
            )
        self._auth = auth
        self._check_certificate = check_certificate
        self._check_id = check_id
        self._ssl = ssl
        self.open_timeout = open_timeout
        self._ping_interval = _interval(ping_interval)
        self._ping_timeout = ping_timeout
        self._max_message_size = max_message_size
        self._max_calls_in_flight = max_calls_in_flight
        self._max_queued_calls = max_queued_calls
        self._max_bad_messages = max_bad_messages
        self._ws_server: Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._port = port
        self._sockets: dict[str, _Socket] = {}

    async def __aenter__(self) -> WebSocketServer[CS]:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def path(self) -> str:
        """The path before the charge point id: ``"/ocpp"``, or ``"/"``."""
        return "/" + "/".join(self._path)

    @property
    def versions(self) -> tuple[str, ...]:
        """The versions served, in order of preference (``"1.6"``, ...)."""
        return tuple(version.version for version in self._versions)

    @property
    def port(self) -> int:
        """The port listened on: the one actually bound once started (also after close, for a restart)."""
        return self._port

    @property
    def url(self) -> str:
        """Where charge points connect, up to the id: ``ws://127.0.0.1:9000/ocpp/``."""
        scheme = "wss" if self._ssl is not None else "ws"
        host = f"[{self.host}]" if ":" in self.host else self.host
        path = f"{self.path}/" if self._path else "/"
        return f"{scheme}://{host}:{self.port}{path}"

    def url_for(self, charge_point_id: str) -> str:
        """The URL of charge point ``charge_point_id`` (the id percent-encoded)."""
        return self.url + urllib.parse.quote(charge_point_id, safe="")

    @property
    def ping_interval(self) -> float | None:
        """Seconds between keep-alive pings (None: none); setting it applies to open connections too."""
        return self._ping_interval

    @ping_interval.setter
    def ping_interval(self, value: float | None) -> None:
        self._ping_interval = _interval(value)
        for socket in self._sockets.values():
            socket.ping_interval = self._ping_interval

    async def start(self) -> WebSocketServer[CS]:
        """Start listening."""
        if self._ws_server is not None:
            raise UsageError("the server is already started")
        authenticated = self._auth is not None or self._check_certificate is not None
        warn_if_exposed("WebSocket central system", self.host, authenticated)
        tls: dict[str, Any] = {} if self._ssl is None else {"ssl_handshake_timeout": self.open_timeout}
        loop = asyncio.get_running_loop()
        quiet_accept_errors(loop)
        try:
            self._ws_server = await ws_serve(
                self._handle,
                self.host,
                self._requested_port,
                subprotocols=[Subprotocol(value) for value in self._subprotocols],
                process_request=self._process_request,
                create_connection=_gated_connection_class(self.gate),
                compression=None,
                open_timeout=self.open_timeout,
                ping_interval=None,  # our own keep-alive: see _Socket
                max_size=self._max_message_size,
                ssl=self._ssl,
                reuse_port=self.reuse_port or None,
                **tls,  # forwarded to loop.create_server
            )
        except BaseException:
            restore_accept_errors(loop)
            raise
        self._loop = loop
        self._port = int(self._ws_server.sockets[0].getsockname()[1])
        _log.info("cs: listening on %s (%s)", self.url, ", ".join(self._subprotocols))
        return self

    async def close(self) -> None:
        """Stop listening and close every connection (1001, going away). Idempotent."""
        ws_server, self._ws_server = self._ws_server, None
        if ws_server is None:
            return
        try:
            ws_server.close()
            await ws_server.wait_closed()
        finally:
            loop, self._loop = self._loop, None
            if loop is not None:
                restore_accept_errors(loop)
        _log.info("cs: stopped listening on %s", self.url)

    async def ping(self, charge_point_id: str, timeout: float | None = None) -> float:
        """Send one WebSocket ping to a charge point now; the round-trip time in seconds.

        Raises :class:`~ocpprpc.server.UnknownChargePoint` when it is not connected to this server,
        ``TimeoutError`` when no pong comes within ``timeout`` (default: the ping timeout).
        """
        socket = self._sockets.get(charge_point_id)
        if socket is None:
            raise UnknownChargePoint(f"no charge point {charge_point_id!r} is connected to {self.url}")
        return await socket.ping(timeout)

    def peer_certificate(self, charge_point_id: str) -> PeerCertificate | None:
        """The TLS certificate a connected charge point presented, as ``SSLSocket.getpeercert()`` gives it.

        ``subject``, ``issuer``, ``serialNumber``, ``notAfter``, ...; None when it presented none (no
        TLS, or a server context that does not ask for one). Raises
        :class:`~ocpprpc.server.UnknownChargePoint` when it is not connected to this server. Handlers
        that log or check a certificate's serial number read it here, e.g. in ``on_connect``.
        """
        socket = self._sockets.get(charge_point_id)
        if socket is None:
            raise UnknownChargePoint(f"no charge point {charge_point_id!r} is connected to {self.url}")
        return socket.peer_certificate

    # -- handshake ------------------------------------------------------------------------------------

    def _charge_point_id(self, path: str) -> str | None:
        """The id segment in ``<path>/<id>`` (one trailing slash tolerated), still percent-encoded;
        None when the path is not that (→ 404)."""
        # Not urlsplit: it raises for a path like "//[x/CP1" (a peer's choice), and the query is all there is.
        segments = path.split("?", 1)[0].split("/")[1:]
        if segments and segments[-1] == "":
            segments.pop()
        if len(segments) != len(self._path) + 1 or not segments[-1]:
            return None
        if tuple(decode_url_segment(segment) for segment in segments[:-1]) != self._path:
            return None
        return segments[-1]

    def _id_problem(self, segment: str) -> tuple[str | None, str | None]:
        """(the charge point id, None) or (None, why it is refused) for a path's last segment (→ 400)."""
        charge_point_id = decode_url_segment(segment)
        if charge_point_id is None:
            return None, f"the charge point id {loggable(segment, 60)} is not UTF-8 once percent-decoded"
        problem = self._check_id(charge_point_id)
        if problem is not None:
            return None, problem
        return charge_point_id, None

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        segment = self._charge_point_id(request.path)
        if segment is None:
            expected = f"{self.path}/<chargePointId>" if self._path else "/<chargePointId>"
            return _refuse(connection, http.HTTPStatus.NOT_FOUND, f"{loggable(request.path, 80)} is not {expected}")
        charge_point_id, problem = self._id_problem(segment)
        if charge_point_id is None:
            return _refuse(connection, http.HTTPStatus.BAD_REQUEST, loggable(problem or "bad charge point id"))
        who = loggable(charge_point_id)
        if self._check_certificate is not None:
            refused = await self._check_client_certificate(connection, charge_point_id)
            if refused is not None:
                return refused
        if self._auth is not None:
            refused = await self._authenticate(connection, request, charge_point_id)
            if refused is not None:
                return refused
        offered: list[str] = []
        try:
            for header in request.headers.get_all("Sec-WebSocket-Protocol"):
                offered.extend(parse_subprotocol(header))
        except InvalidHeader as exc:
            return _refuse(connection, http.HTTPStatus.BAD_REQUEST, f"{who}: {loggable(str(exc))}")
        if not any(subprotocol in offered for subprotocol in self._subprotocols):
            what = loggable(", ".join(offered)) if offered else "no subprotocol"
            return _refuse(
                connection,
                http.HTTPStatus.BAD_REQUEST,
                f"{who} offered {what}; this central system speaks {', '.join(self._subprotocols)}",
            )
        return None

    async def _authenticate(
        self, connection: ServerConnection, request: Request, charge_point_id: str
    ) -> Response | None:
        assert self._auth is not None
        # get_all: .get() raises when a peer sends two, which check_basic_auth refuses
        refused = await check_basic_auth(
            self._auth,
            charge_point_id,
            request.headers.get_all("Authorization"),
            username_is_id=self.security_profile is not None,
        )
        if refused is not None:
            return _unauthorized(connection, f"{loggable(charge_point_id)}: {refused}")
        return None

    async def _check_client_certificate(self, connection: ServerConnection, charge_point_id: str) -> Response | None:
        """403 unless the certificate of the (finished) TLS handshake may speak for ``charge_point_id``."""
        assert self._check_certificate is not None
        certificate = _peer_certificate(connection)
        why: str | None = "no client certificate"
        if certificate is not None:
            verdict = self._check_certificate(certificate, charge_point_id)
            why = await verdict if inspect.isawaitable(verdict) else verdict
        if why is not None:
            return _refuse(connection, http.HTTPStatus.FORBIDDEN, f"{loggable(charge_point_id)}: {loggable(str(why))}")
        return None

    # -- one connection ---------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        segment = self._charge_point_id(ws.request.path if ws.request is not None else "")
        charge_point_id = None if segment is None else self._id_problem(segment)[0]
        version = by_subprotocol(ws.subprotocol or "")
        if charge_point_id is None or version is None:  # process_request made sure of both
            await ws.close(1011, "handshake state lost")
            return
        who = loggable(charge_point_id)
        try:
            connection = self.server.accept(charge_point_id, version)
        except Exception:
            _log.exception("cs: cannot serve charge point %s", who)
            await ws.close(1011, "the central system cannot serve this charge point")
            return
        socket = _Socket(ws, f"cs: cp#{who}", self._ping_interval, self._ping_timeout)
        link = OcppJLink(
            socket,
            connection.role,
            max_calls_in_flight=self._max_calls_in_flight,
            max_bad_messages=self._max_bad_messages,
            max_queued_calls=self._max_queued_calls,
        )
        _log.info(
            "cs: charge point %s connected from %s (%s%s)",
            who,
            _address(ws),
            version.subprotocol,
            _certificate_note(socket.peer_certificate),
        )
        self._sockets[charge_point_id] = socket
        # Receive before opening: an on_connect hook that calls the charge point needs its answer read.
        receiving = asyncio.create_task(link.run(), name=f"ocpprpc-cs-{charge_point_id}")
        try:
            await connection.open(link)
            socket.start_keepalive()
            await receiving
        finally:
            if not receiving.done():
                await link.close("central system failed")
                await asyncio.gather(receiving, return_exceptions=True)
            await socket.stop_keepalive()
            if self._sockets.get(charge_point_id) is socket:
                del self._sockets[charge_point_id]
            await connection.end()
            _log.info("cs: charge point %s disconnected: %s", who, socket.describe_close())


class _GatedConnection(ServerConnection):
    """A server connection admitted through a :class:`ConnectionGate` as soon as TCP accepts it."""

    gate: ClassVar[ConnectionGate]
    _admitted: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        address = peer_address(transport)
        if not self.gate.admit(address):  # the gate logs refusals, rate-limited
            # Nothing set up: no handshake, no task; the descriptor is freed at once.
            cast(asyncio.Transport, transport).abort()
            return
        self._admitted = address
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        address, self._admitted = self._admitted, None
        if address is None:
            return  # refused in connection_made
        try:
            super().connection_lost(exc)
        finally:
            self.gate.release(address)


def _gated_connection_class(gate: ConnectionGate) -> type[ServerConnection]:
    """websockets' ``create_connection``: a :class:`_GatedConnection` bound to ``gate``."""
    return type("GatedConnection", (_GatedConnection,), {"gate": gate})


def _refuse(connection: ServerConnection, status: http.HTTPStatus, reason: str) -> Response:
    _log.info("cs: refused %s: HTTP %d %s", _address(connection), status.value, reason)
    return connection.respond(status, f"{reason}\n")


def _unauthorized(connection: ServerConnection, reason: str) -> Response:
    response = _refuse(connection, http.HTTPStatus.UNAUTHORIZED, reason)
    response.headers["WWW-Authenticate"] = www_authenticate()
    return response


def _certificate_note(certificate: PeerCertificate | None) -> str:
    """``, certificate serial 1A2B`` for the connect log line; empty without a client certificate."""
    if certificate is None:
        return ""
    return f", certificate serial {loggable(str(certificate.get('serialNumber', '?')), 80)}"


def _address(ws: WsConnection) -> str:
    try:
        address: PeerName = ws.remote_address
    except Exception:  # no transport (yet)
        return "?"
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


# -- client -------------------------------------------------------------------------------------------


class WebSocketClient(KeepConnected[ClientConnection]):
    """A charge point's OCPP-J connection to a central system at ``url``, that keeps itself connected.

    ``connect(...)`` is this class: ``async with connect(cp, "ws://host:9000/ocpp/CP1") as client:``.

    ``async with`` starts it and waits until the first connection is attached (up to ``open_timeout``;
    failed attempts meanwhile are retried per ``backoff``), else raises :class:`NotConnected` with the
    last failure; :meth:`start` only starts it. :meth:`close` stops reconnecting and closes the socket;
    transaction messages still queued in the charge point's outbox stay there.

    Args:
        charge_point: the role object; it is attached to each new connection in turn.
        url: ``ws[s]://host:port<path>/<chargePointId>``. When its last path segment is not the
            charge point's id, ``/<id>`` is appended (so the central system's base URL works too).
        versions: the versions offered, in order of preference (``"1.6"`` or ``"ocpp1.6"``);
            default: the charge point's own version only. The connection speaks the one the server
            picks. A version the charge point's class does not speak is a :class:`UsageError`.
        auth: ``(username, password)`` for HTTP Basic authentication.
        ssl: a client TLS context for ``wss://`` (e.g. one trusting a private CA, or holding the
            charge point's certificate: :func:`ocpprpc.security.client_context`); by default
            websockets uses the system's trust store for ``wss://`` URLs.
        security_profile: the OCPP security profile the charge point uses, 1, 2 or 3; None (the
            default): none is checked. With a profile, a configuration that does not meet it is a
            :class:`UsageError` here (1: a ``ws://`` URL and ``auth``; 2: ``wss://`` and ``auth``; 3:
            ``wss://`` and an ``ssl`` context with the charge point's certificate; the user name of
            ``auth`` is the charge point id; an ``ssl`` context verifies the server, at TLS 1.2 or newer).
        ping_interval / ping_timeout / max_message_size: as for :class:`WebSocketServer`.
        open_timeout: seconds one connection attempt may take; also how long ``async with`` waits for
            the first connection.
        reconnect: connect again when the connection is lost or an attempt fails, until closed.
        backoff: the waits between attempts (:class:`~ocpprpc.Backoff`: 1 s doubling up to 60 s,
            shortened by up to half at random, by default).
        max_calls_in_flight / max_queued_calls / max_bad_messages: as for :class:`WebSocketServer`.
        check_id: ``check_id(charge_point_id)`` → why the id is refused, or None. The charge point's
            id is checked with it at once: an id the default rule
            (:func:`~ocpprpc._identity.check_charge_point_id`) refuses is a :class:`UsageError`, since
            a central system with that rule would refuse it with HTTP 400 at every attempt; pass
            ``check_id=`` to connect to a central system with another rule.
    """

    _transport = "websocket"

    def __init__(
        self,
        charge_point: ChargePoint,
        url: str,
        *,
        versions: Sequence[str | OcppVersion] | None = None,
        auth: tuple[str, str] | None = None,
        ssl: ssl_module.SSLContext | None = None,
        security_profile: SecurityProfile | Literal[1, 2, 3] | None = None,
        ping_interval: float | None = DEFAULT_PING_INTERVAL,
        ping_timeout: float | None = DEFAULT_PING_TIMEOUT,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        open_timeout: float = DEFAULT_OPEN_TIMEOUT,
        reconnect: bool = True,
        backoff: Backoff = Backoff(),  # noqa: B008 (immutable)
        max_calls_in_flight: int = 1,
        max_queued_calls: int = DEFAULT_MAX_QUEUED_CALLS,
        max_bad_messages: int | None = DEFAULT_MAX_BAD_MESSAGES,
        check_id: IdCheck = check_charge_point_id,
    ) -> None:
        problem = check_id(charge_point.id)
        if problem is not None:
            raise UsageError(f"{problem} (pass check_id= to connect with an id the default rule refuses)")
        if max_queued_calls < 0 or max_calls_in_flight < 1 or (max_bad_messages is not None and max_bad_messages < 1):
            raise UsageError("need max_queued_calls >= 0, max_calls_in_flight >= 1, max_bad_messages >= 1 or None")
        full_url = _charge_point_url(url, charge_point.id)
        label = f"cp#{loggable(charge_point.id)}"
        super().__init__(
            charge_point,
            label=label,
            target=full_url,
            open_timeout=open_timeout,
            reconnect=reconnect,
            backoff=backoff,
        )
        self.url = full_url
        """The URL connected to, ending with the charge point's (percent-encoded) id."""
        try:
            secure = parse_uri(self.url).secure
        except InvalidURI as exc:
            raise UsageError(f"not a WebSocket URL: {url!r} ({exc})") from None
        if ssl is not None and not secure:
            raise UsageError(f"an ssl context needs a wss:// URL, not {url!r}")
        self.security_profile = None if security_profile is None else as_security_profile(security_profile)
        """The OCPP security profile checked at construction, or None."""
        if self.security_profile is not None:
            check_client_configuration(
                self.security_profile, charge_point_id=charge_point.id, secure_url=secure, ssl_context=ssl, auth=auth
            )
        self._versions = _versions(
            versions if versions is not None else [charge_point.version],
            type(charge_point).versions,
            type(charge_point).__name__,
        )
        self._headers = {"Authorization": basic_authorization(*auth)} if auth is not None else {}
        self._ssl = ssl
        self._ping_interval = _interval(ping_interval)
        self._ping_timeout = ping_timeout
        self._max_message_size = max_message_size
        self._max_calls_in_flight = max_calls_in_flight
        self._max_queued_calls = max_queued_calls
        self._max_bad_messages = max_bad_messages
        self._socket: _Socket | None = None
        self._link: OcppJLink | None = None
        self._version: OcppVersion | None = None

    @property
    def versions(self) -> tuple[str, ...]:
        """The versions offered, in order of preference (``"1.6"``, ...)."""
        return tuple(version.version for version in self._versions)

    @property
    def version(self) -> str | None:
        """The OCPP version negotiated on the current (or last) connection; None before the first."""
        return self._version.version if self._version is not None else None

    @property
    def ping_interval(self) -> float | None:
        """Seconds between keep-alive pings (None: none); setting it applies to the open connection too."""
        return self._ping_interval

    @ping_interval.setter
    def ping_interval(self, value: float | None) -> None:
        self._ping_interval = _interval(value)
        if self._socket is not None:
            self._socket.ping_interval = self._ping_interval

    async def ping(self, timeout: float | None = None) -> float:
        """Send one WebSocket ping now; the round-trip time in seconds.

        Raises :class:`~ocpprpc.errors.ConnectionClosed` when not connected, ``TimeoutError`` when no
        pong comes within ``timeout`` (default: the ping timeout).
        """
        socket = self._socket
        if socket is None:
            raise ConnectionClosed(f"{self._label} is not connected")
        return await socket.ping(timeout)

    # -- KeepConnected ------------------------------------------------------------------------------

    async def _open(self) -> ClientConnection:
        return await ws_connect(
            self.url,
            subprotocols=[Subprotocol(version.subprotocol) for version in self._versions],
            additional_headers=self._headers,
            compression=None,
            open_timeout=self.open_timeout,
            ping_interval=None,  # our own keep-alive: see _Socket
            max_size=self._max_message_size,
            ssl=self._ssl,
        )

    async def _serve(self, ws: ClientConnection) -> None:
        """Serve one open connection until it ends."""
        version = by_subprotocol(ws.subprotocol or "")
        if version is None:
            # A server that ignores subprotocols: speak the one we prefer, as the peer did not object.
            version = self._versions[0]
            _log.warning("%s: the server chose no subprotocol; speaking %s", self._label, version.subprotocol)
        self._version = version
        connection = Connection(self.charge_point, version)
        socket = _Socket(ws, self._label, self._ping_interval, self._ping_timeout)
        link = OcppJLink(
            socket,
            self.charge_point,
            max_calls_in_flight=self._max_calls_in_flight,
            max_bad_messages=self._max_bad_messages,
            max_queued_calls=self._max_queued_calls,
        )
        _log.info("%s: connected to %s (%s)", self._label, self.url, version.subprotocol)
        self._socket, self._link = socket, link
        receiving = asyncio.create_task(link.run(), name=f"ocpprpc-{self._label}")
        try:
            if self._closing:
                return
            await connection.open(link)
            self._attached()
            socket.start_keepalive()
            await receiving
        finally:
            if not receiving.done():
                await link.close("charge point closing")
                await asyncio.gather(receiving, return_exceptions=True)
            await socket.stop_keepalive()
            self._socket = self._link = None
            await connection.end()
            _log.info("%s: disconnected: %s", self._label, socket.describe_close())

    async def _disconnect(self) -> bool:
        link = self._link
        if link is None or link.closed:
            return False
        await link.close("charge point closing")
        return True

    def _describe_error(self, exc: BaseException) -> str:
        return _describe_error(exc)


def _charge_point_url(url: str, charge_point_id: str) -> str:
    """``url`` if its last path segment is already the id, else ``url`` + ``/<id>`` (percent-encoded)."""
    parts = urllib.parse.urlsplit(url)
    last = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if urllib.parse.unquote(last) == charge_point_id and not parts.path.endswith("/"):
        return url
    path = parts.path.rstrip("/") + "/" + urllib.parse.quote(charge_point_id, safe="")
    return urllib.parse.urlunsplit(parts._replace(path=path))


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, InvalidStatus):
        body = loggable((exc.response.body or b"").decode("utf-8", "replace").strip())
        text = f"refused with HTTP {exc.response.status_code}"
        return f"{text}: {body}" if body else text
    return f"{type(exc).__name__}: {loggable(str(exc))}" if str(exc) else type(exc).__name__


serve = WebSocketServer
"""Serve a central system to charge points over OCPP-J: ``async with serve(server, host, port) as ws_server:``."""

connect = WebSocketClient
"""Connect a charge point over OCPP-J and keep it connected: ``async with connect(cp, url) as client:``."""
