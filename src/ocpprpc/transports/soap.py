"""OCPP-S: SOAP 1.2 over HTTP, for the same role classes as OCPP-J.

Theory of operation
-------------------
SOAP has no connection: each request is an HTTP POST whose HTTP response carries the answer. So both
sides run an HTTP server and an HTTP client:

* the central system serves the CentralSystemService at ``http://host:port/<path>`` (:func:`serve`),
  learns each charge point's own endpoint from the ``From`` / ``ReplyTo`` header of its requests, and
  calls it there;
* a charge point serves the ChargePointService (its "remote action port", :func:`connect`) and calls
  the central system's URL.

Above that, everything is the RPC core's: a :class:`SoapLink` is the :class:`~ocpprpc.roles.Link` a role
calls out through (one HTTP POST per call, the answer parsed from the HTTP response), and inbound
requests go to :meth:`~ocpprpc.roles.Role.handle_call` exactly as OCPP-J CALLs do. The envelope codec
(``_soap_codec``) does all XML work, the core's :class:`~ocpprpc.connection.Connection` the
registration; this module only moves bytes.

Connections
-----------
SOAP has no connection to lose, so each side decides what "connected" means, and the core's
:class:`~ocpprpc.connection.Connection` records it as for any transport:

* on the central system, a charge point is connected from its first request (it is then in the
  server's registry, with ``on_connect``) until it has been silent for ``idle_timeout`` seconds, a call
  to it got no HTTP answer at all (its remote action port is gone: connection refused or reset), the
  server closes, or it connects again (by WebSocket, or by SOAP in another OCPP version or announcing
  another address), which replaces it. Then it is unregistered, with ``on_disconnect``; its next
  request connects it again;
* on the charge point, the client (:class:`SoapChargePointClient`, which keeps itself connected as the
  WebSocket client does) is connected once the central system's HTTP endpoint could be reached (a TCP,
  and TLS, connection to it opened), until a request to it gets no HTTP answer at all. Then the link is
  closed and the client tries again per its :class:`~ocpprpc.Backoff`, which is what lets the charge
  point's transaction outbox retry, in order, until the central system is back. ``async with
  soap.connect(...)`` has the contract of ``websocket.connect``: it waits until the first link is
  attached (retrying per the back-off meanwhile) or raises :class:`~ocpprpc.connection.NotConnected`
  after ``open_timeout``.

What is an answer
-----------------
Only a SOAP response, or a SOAP Fault (with HTTP 200, 400 or 500, as the SOAP 1.2 HTTP binding sends
them), is the peer's OCPP answer: a Fault raises its :class:`~ocpprpc.errors.OcppError` (``remote=True``).
Everything else the HTTP layer can produce is not, and raises something a charge point's outbox retries:

* no HTTP answer (connection refused or reset, TLS failure): :class:`~ocpprpc.errors.ConnectionClosed`,
  and the link is closed, so the connection ends (see above);
* an HTTP answer that is no OCPP answer: :class:`~ocpprpc.errors.UnreadableAnswer` (the link stays),
  logged with its envelope at DEBUG on ``ocpprpc.soap.xml``: a body cut off, over ``max_message_size``
  or not a SOAP envelope; a status without a Fault (a proxy's 502, an empty 500); 401 / 407 (the HTTP
  layer refusing credentials, e.g. while they are rotated, even when a Fault comes with it); any 3xx
  (redirects are never followed);
* no answer in time: :class:`~ocpprpc.errors.CallTimeout`.

Message ids: the core's unique ids are UUIDs; a ``MessageID`` is written as the absolute IRI
``urn:uuid:<id>``, and a request's ``urn:uuid:`` is taken off before its id reaches the role (so a
transaction message retried by a charge point's outbox keeps its id on both transports, and the
central system recognises the retry). The answer's ``RelatesTo`` quotes the ``MessageID`` as sent.

After-hooks run in the task that served the request, once its HTTP response is sent, as over OCPP-J.

Order of work on a request (hostile input first)
------------------------------------------------
Every accepted TCP connection is first admitted through a :class:`~ocpprpc._exposure.ConnectionGate`
(``max_connections``, ``max_connections_per_address``; over a cap it is closed at once, before any
TLS handshake, which must then finish within ``tls_handshake_timeout``). A request head must be
complete within ``head_timeout`` of the connection's opening or of the previous response (so it is also
the keep-alive idle timeout); a head line over 8190 bytes or over 128 header lines gets HTTP 400 and
one log line. The body is then read whole, as it arrives, within ``body_timeout`` (408 otherwise) and
never beyond ``max_message_size`` (a declared or actual larger body gets the FormationViolation Fault at once,
unread). On the central system, with ``auth`` configured, only the start of the body is read first:
the chargeBoxIdentity is taken from the Header by a push parser that stops at the Body (and after
64 KiB, :class:`~ocpprpc.transports._soap_codec.IdentityReader`), the identity is checked
(``check_id``), then the credentials (401); only then is the rest of the body read and the whole
envelope decoded, so an anonymous or wrong-password client costs a Header's parse, never a body's.
Without ``auth``, the envelope is decoded first and its identity checked after. A refused identity
gets a SecurityError Fault (HTTP 400). Then the charge point's call-back address is judged (below),
and the request goes to its role. A charge point's remote action port checks ``server_auth`` (if given)
against the charge point's own id before it reads the body at all.

Call-back addresses
-------------------
The central system calls a charge point at the address its requests announce (``From``, else
``ReplyTo``). Posting to whatever a peer names would make the central system a tool against any host
it can reach, so every announced address must be an http or https URL without user info (credentials
in a URL are never sent), and the ``callback_policy`` decides the rest: ``policy(charge_point_id,
address, request_host)`` returns the URL to call the charge point at, or None to refuse. The default,
:func:`same_host_callback`, accepts an address whose host is the IP address the request came from,
literally (``http://10.0.0.7:8080/`` from 10.0.0.7); a host name is refused, as resolving it could
lead anywhere. A request relayed by a proxy (``Forwarded`` / ``X-Forwarded-For``) has no known origin,
and the default refuses its address. Behind a NAT that rewrites addresses, or a reverse proxy, replace
it, e.g. with a table of known charge points' addresses (a proxy that adds neither header hides itself:
every request then seems to come from the proxy's host, and any port of that host could be named).
Only a request that passed authentication (when ``auth`` is configured) registers or changes an
address. A refused address, or none (a charge point that sent neither From nor ReplyTo), is logged
once; the charge point stays connected but cannot be called: calls fail at once with
:class:`~ocpprpc.errors.ConnectionClosed` saying why. Calls out never follow redirects. When a charge
point's remote action port demands credentials, the central system presents ``client_auth``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import ssl as ssl_module
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import aiohttp
from aiohttp import web, web_protocol
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from .._basic_auth import AuthCallback, basic_authorization, check_basic_auth, www_authenticate
from .._client import Backoff, KeepConnected
from .._exposure import (
    DEFAULT_MAX_PER_ADDRESS,
    ConnectionGate,
    peer_address,
    quiet_accept_errors,
    restore_accept_errors,
    shared_gate,
    warn_if_exposed,
)
from .._framelog import frame_labels, frame_logger
from .._frames import new_unique_id
from .._identity import IdCheck, check_charge_point_id, loggable
from .._link import DEFAULT_MAX_MESSAGE_SIZE, NotConnected, RawAnswer
from .._versions import JSON_ONLY_VERSIONS, resolve_version
from ..connection import Connection
from ..errors import (
    CallTimeout,
    ConnectionClosed,
    ErrorCode,
    OcppError,
    ProtocolError,
    SecurityError,
    UnreadableAnswer,
    UsageError,
)
from ..messages._base import ActionSpec, OcppVersion, Side
from ..roles import DEFAULT_CALL_TIMEOUT, CentralSystem, ChargePoint, InboundResult, Role
from ..server import CentralSystemServer
from ._soap_codec import (
    FAULT_CONTENT_TYPE,
    EnvelopeError,
    IdentityReader,
    SoapMessage,
    content_type,
    decode_message,
    encode_fault,
    encode_request,
    encode_response,
    encode_unchecked_request,
    fault_status,
    message_id_iri,
    require_identity,
    unique_id_of,
)

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEAD_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_CHARGE_POINTS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_OPEN_TIMEOUT",
    "DEFAULT_TLS_HANDSHAKE_TIMEOUT",
    "AuthCallback",
    "Backoff",
    "CallbackPolicy",
    "ClientAuth",
    "NotConnected",
    "SoapChargePointClient",
    "SoapLink",
    "SoapServer",
    "connect",
    "same_host_callback",
    "serve",
    "xml_logger",
]

_log = logging.getLogger("ocpprpc.soap")
xml_logger = logging.getLogger("ocpprpc.soap.xml")
"""Raw envelopes in and out, at DEBUG (so an INFO frame log stays readable; the simulator's ``print_xml``)."""

DEFAULT_IDLE_TIMEOUT = 900.0
"""Seconds without a request after which a SOAP charge point is unregistered (15 minutes).

Three heartbeats at the 300 s interval central systems commonly hand out (ocppjs's too), so one or two
lost heartbeats do not unregister a charge point, while the registry of a server that anyone can post
to does not grow forever. A central system handing out a longer heartbeat interval must raise it (to
about 2.5 times the interval or more)."""

DEFAULT_MAX_CHARGE_POINTS = 50_000
"""SOAP charge points registered at once, by default.

Each costs about 3 KiB (its role object and link); a server without authentication registers any
identity that posts to it, at thousands per second, so without a cap ``idle_timeout`` alone would let a
peer fill gigabytes within it. 50,000 is about 150 MiB: raise it for a larger network of SOAP charge
points (a refused one gets HTTP 503 and tries again; the refusals are logged)."""

DEFAULT_HEAD_TIMEOUT = 10.0
"""Seconds a connection may take to deliver a complete request head, counted from its opening or from
the end of the previous response (so it is also the keep-alive idle timeout). A real client sends its
head in one segment; a slowloris peer is cut off."""

DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds a request body may take to arrive once its head has (408 otherwise): 1 MiB at 35 KB/s; OCPP
bodies are a few KiB."""

DEFAULT_TLS_HANDSHAKE_TIMEOUT = 10.0
"""Seconds a TLS handshake may take on an https endpoint (asyncio's default is 60)."""

_CLIENT_KEEPALIVE = 5.0
"""Seconds an idle outbound connection is kept for reuse: well below the peer's idle timeout (ours is
``head_timeout``), so a request is never sent on a connection the peer is closing."""

_LINGERING_TIME = 1.0
"""Seconds a body left unread by a refusal (oversize, 401) is still read and dropped before the connection
closes, so that the client receives the refusal rather than a reset (aiohttp's default is 10, and its
shutdown waits that long for such a connection even after the client has gone)."""

_SHUTDOWN_TIMEOUT = 5.0
"""Seconds the requests still being handled get to answer when an endpoint closes (aiohttp's default is 60)."""

_MAX_URL_LENGTH = 2048


DEFAULT_OPEN_TIMEOUT = 10.0
"""Seconds a charge point's attempt to reach its central system may take (as ``websocket.DEFAULT_OPEN_TIMEOUT``);
also how long ``async with soap.connect(...)`` waits for the first link."""

ClientAuth = tuple[str, str] | Callable[[str], "tuple[str, str] | None"]
"""The credentials a central system presents when it calls a charge point back: one ``(username,
password)`` for all, or ``credentials(charge_point_id)`` → the pair for that charge point (None: none)."""


def _log_message(label: str, action: str, payload: Any, body: bytes) -> None:
    if frame_logger.isEnabledFor(logging.INFO):
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        frame_logger.info("%s /%s %s", label, loggable(action), loggable(text, None))
    if xml_logger.isEnabledFor(logging.DEBUG):
        xml_logger.debug("%s %s", label, loggable(body.decode("utf-8", "replace"), None))


# -- call-back addresses ------------------------------------------------------------------------------------

CallbackPolicy = Callable[[str, str, "str | None"], "str | None"]
"""``policy(charge_point_id, address, request_host)`` → the URL to call the charge point at, or None to
refuse: ``address`` is what its request announced (From, else ReplyTo; already checked to be an http or
https URL without user info), ``request_host`` the IP address the request came from (None if unknown,
as for a request relayed by a proxy, which carries ``Forwarded`` or ``X-Forwarded-For``). See
"Call-back addresses" in the module docstring."""


def _url_problem(address: str) -> str | None:
    """Why ``address`` cannot be posted to (not an http / https URL with a host, or with user info), or None."""
    if len(address) > _MAX_URL_LENGTH:
        return f"an address of over {_MAX_URL_LENGTH} characters"
    try:
        url = URL(address)
    except (ValueError, TypeError) as exc:
        return f"not a URL ({exc})"
    if url.scheme not in ("http", "https"):
        return "not an http or https URL"
    if url.user is not None or url.password is not None:
        return "a URL with user info (credentials in a URL are never sent)"
    if not url.host:
        return "a URL without a host"
    return None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return address


def same_host_callback(charge_point_id: str, address: str, request_host: str | None) -> str | None:
    """The default call-back policy: ``address`` when its host is literally the IP address the request came from.

    ``http://10.0.0.7:8080/`` announced by a request from 10.0.0.7 is accepted (any port and path of the
    peer's own host: it could post there itself); a host name, or another address, is refused.
    """
    if request_host is None:
        return None
    try:
        host = URL(address).host
        same = host is not None and _ip(host) == _ip(request_host)
    except ValueError:
        return None
    return address if same else None


def _request_host(request: web.Request) -> str | None:
    """The IP address a request came from, for the call-back policy; None when unknown.

    A request carrying ``Forwarded`` or ``X-Forwarded-For`` was relayed by a proxy: its peer address is the
    proxy's, so it says nothing about where the charge point is (and naming the proxy's host must not
    pass the default policy). The headers themselves are not trusted: a policy replacing the default may
    read them, knowing its proxy.
    """
    if "Forwarded" in request.headers or "X-Forwarded-For" in request.headers:
        return None
    return request.remote


# -- calling out ----------------------------------------------------------------------------------------


async def _read_answer(response: aiohttp.ClientResponse, max_size: int) -> bytes | None:
    """The whole body of ``response``; None when it is longer than ``max_size`` (reading stops there)."""
    if response.content_length is not None and response.content_length > max_size:
        return None
    chunks: list[bytes] = []
    size = 0
    while chunk := await response.content.readany():
        size += len(chunk)
        if size > max_size:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class SoapLink:
    """The :class:`~ocpprpc.connection.Link` of one SOAP peer: each call is an HTTP POST to ``peer_url``.

    ``side`` is the side calling out through it and ``charge_point_id`` the charge point the exchange is
    about (its chargeBoxIdentity); ``version`` the OCPP version spoken. ``on_close()`` is called once
    when the link closes, by :meth:`close` or because a request got no HTTP answer at all (then it must
    not block: the transport ends the connection from there). It is a
    :class:`~ocpprpc.connection.RawLink` too, for test tools. See "What is an answer" in the module
    docstring for what a call raises.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        peer_url: str,
        *,
        charge_point_id: str,
        version: OcppVersion,
        side: Side,
        own_url: str | None = None,
        authorization: str | None = None,
        max_calls_in_flight: int = 1,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        unreachable: str | None = None,
        on_close: Callable[[], object] | None = None,
    ) -> None:
        self.peer_url = peer_url
        """Where the peer's service is posted to (a charge point's address may change; see the server)."""
        self.unreachable = unreachable
        """Why the peer cannot be called (e.g. its announced address was refused), or None: calls then
        fail at once with :class:`ConnectionClosed` saying so, and the link stays open."""
        self.own_url = own_url
        self.charge_point_id = charge_point_id
        self.version = version
        self.side = side
        self._session = session
        self._headers = {"Authorization": authorization} if authorization is not None else {}
        self._in_flight = asyncio.Semaphore(max_calls_in_flight)
        self._max_message_size = max_message_size
        self._closed = False
        self._on_close = on_close
        self._out_label, self._in_label = frame_labels(side, charge_point_id)

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_callable(self) -> None:
        if self._closed:
            raise ConnectionClosed(f"SOAP link to {loggable(self.charge_point_id)} is closed")
        if self.unreachable is not None:
            raise ConnectionClosed(
                f"charge point {loggable(self.charge_point_id)} cannot be called: {self.unreachable}"
            )

    async def request(
        self, spec: ActionSpec, payload: dict[str, Any], timeout: float, message_id: str | None = None
    ) -> dict[str, Any]:
        self._check_callable()
        unique_id = message_id or new_unique_id()
        body = encode_request(
            self.version,
            spec,
            payload,
            charge_box_identity=self.charge_point_id,
            message_id=message_id_iri(unique_id),
            to=self.peer_url,
            from_=self.own_url,
            reply_to=self.own_url,
        )
        return await self._exchange(spec.name, payload, body, timeout, unique_id)

    async def call_raw(self, action: str, payload: dict[str, Any], timeout: float) -> RawAnswer:
        """POST any action with any payload, unchecked (see the codec's ``encode_unchecked_request``); the
        answer, a Fault as data."""
        self._check_callable()
        unique_id = new_unique_id()
        body = encode_unchecked_request(
            self.version,
            self.side,
            action,
            payload,
            charge_box_identity=self.charge_point_id,
            message_id=message_id_iri(unique_id),
            to=self.peer_url,
            from_=self.own_url,
            reply_to=self.own_url,
        )
        try:
            answer = await self._exchange(action, payload, body, timeout, unique_id)
        except OcppError as error:
            if not error.remote:
                raise
            return RawAnswer(unique_id, None, error)
        return RawAnswer(unique_id, answer)

    async def send_raw(self, text: str) -> str:
        """POST ``text`` as the body, unchecked; the whole HTTP response body (empty if over the size limit)."""
        self._check_callable()
        _log_message(self._out_label, "(raw)", text, text.encode())
        status, answer = await self._post(
            text.encode(), "(raw)", "application/soap+xml; charset=utf-8", DEFAULT_CALL_TIMEOUT, None
        )
        text_answer = (answer or b"").decode("utf-8", "replace")
        if xml_logger.isEnabledFor(logging.DEBUG):
            xml_logger.debug("%s HTTP %d %s", self._in_label, status, loggable(text_answer, None))
        return text_answer

    async def close(self, reason: str = "") -> None:
        self._lost()

    def _lost(self) -> None:
        if not self._closed:
            self._closed = True
            if self._on_close is not None:
                self._on_close()

    async def _exchange(
        self, action: str, payload: dict[str, Any], body: bytes, timeout: float, unique_id: str
    ) -> dict[str, Any]:
        async with self._in_flight:
            self._check_callable()  # the address may have been refused while this call waited its turn
            _log_message(self._out_label, action, payload, body)
            status, answer = await self._post(body, action, content_type(action), timeout, unique_id)
        return self._answer_of(action, status, answer)

    async def _post(
        self, body: bytes, action: str, content: str, timeout: float, unique_id: str | None
    ) -> tuple[int, bytes | None]:
        """POST ``body``: the HTTP status and the whole answer (None: over the size limit)."""
        try:
            async with self._session.post(
                self.peer_url,
                data=body,
                headers={"Content-Type": content, **self._headers},
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
            ) as response:
                status = response.status
                try:
                    return status, await _read_answer(response, self._max_message_size)
                except aiohttp.ClientPayloadError as exc:
                    raise self._unreadable(action, f"HTTP {status}, the answer was cut off: {exc}", None) from None
        except TimeoutError:
            raise CallTimeout(action=action, unique_id=unique_id, timeout=timeout) from None
        except aiohttp.ClientError as exc:
            _log.warning("POST of %s to %s failed: %s", action, loggable(self.peer_url), loggable(str(exc)))
            self._lost()
            raise ConnectionClosed(f"POST to {loggable(self.peer_url)} failed: {loggable(str(exc))}") from None

    def _unreadable(self, action: str, reason: str, answer: bytes | None) -> UnreadableAnswer:
        reason = loggable(reason)
        who, url = loggable(self.charge_point_id), loggable(self.peer_url)
        _log.warning("%s: the answer to %s from %s is no OCPP answer: %s", who, action, url, reason)
        if answer is not None and xml_logger.isEnabledFor(logging.DEBUG):
            xml_logger.debug("%s unreadable %s", self._in_label, loggable(answer.decode("utf-8", "replace"), None))
        return UnreadableAnswer(f"the answer to {action} from {url} is no OCPP answer: {reason}")

    def _answer_of(self, action: str, status: int, answer: bytes | None) -> dict[str, Any]:
        """The response payload in ``answer``; the Fault it carries raised; anything else UnreadableAnswer."""
        if answer is None:
            raise self._unreadable(action, f"HTTP {status}, an answer over {self._max_message_size} bytes", None)
        if 300 <= status < 400:
            raise self._unreadable(action, f"HTTP {status}: redirects are not followed", answer)
        try:
            message = decode_message(answer, [self.version], max_size=self._max_message_size)
        except EnvelopeError as exc:
            shown = "an empty body" if not answer.strip() else f"not a SOAP answer ({exc.description})"
            raise self._unreadable(action, f"HTTP {status}, {shown}", answer) from None
        if message.fault is not None:
            if status in (401, 407):
                raise self._unreadable(
                    action, f"HTTP {status}: the HTTP layer refused the credentials ({message.fault})", answer
                )
            if status not in (200, 400, 500):
                raise self._unreadable(action, f"HTTP {status} is no status of a SOAP Fault ({message.fault})", answer)
            _log_message(self._in_label, action + "Fault", {"fault": str(message.fault)}, answer)
            raise message.fault
        if status != 200:
            raise self._unreadable(action, f"HTTP {status} with a response envelope", answer)
        if message.spec is None or message.spec.name != action or not message.is_response:
            raise self._unreadable(action, f"it is {message!r}", answer)
        _log_message(self._in_label, action + "Response", message.payload, answer)
        return message.payload


# -- serving -------------------------------------------------------------------------------------------


async def _serve_request(role: Role, message: SoapMessage, body: bytes) -> tuple[web.Response, InboundResult | None]:
    """Answer one decoded request with ``role``; the response and the result (for its after-hook)."""
    assert message.spec is not None and message.version is not None
    spec, version = message.spec, message.version
    out_label, in_label = frame_labels(role.side, role.id)
    _log_message(in_label, spec.name, message.payload, body)
    result = await role.handle_call(spec.name, message.payload, unique_id_of(message.message_id))
    if result.error is not None:
        answer = encode_fault(
            result.error, relates_to=message.message_id, namespace=spec.namespace, charge_box_identity=role.id
        )
        _log_message(out_label, spec.name + "Fault", {"code": result.error.code.value}, answer)
        return _fault_bytes(answer, result.error), None
    assert result.payload is not None
    answer = encode_response(
        version, spec, result.payload, charge_box_identity=role.id, relates_to=message.message_id, to=None
    )
    _log_message(out_label, spec.name + "Response", result.payload, answer)
    response = web.Response(body=answer, headers={"Content-Type": content_type(spec.name, response=True)})
    return response, result


def _unauthorized(charge_point_id: str) -> web.Response:
    """The 401 refusing a request's credentials: a SecurityError Fault, the connection closed (the rest of
    the body is not read)."""
    refusal = _fault_response(SecurityError(f"credentials not valid for {charge_point_id}"))
    refusal.set_status(401)
    refusal.headers["WWW-Authenticate"] = www_authenticate()
    refusal.force_close()
    return refusal


def _fault_bytes(body: bytes, error: OcppError) -> web.Response:
    return web.Response(body=body, status=fault_status(error), headers={"Content-Type": FAULT_CONTENT_TYPE})


def _fault_response(error: OcppError, **context: Any) -> web.Response:
    return _fault_bytes(encode_fault(error, **context), error)


def _plain_response(status: int, text: str, **headers: str) -> web.Response:
    """A plain-text HTTP answer that closes the connection (for refusals below the SOAP layer)."""
    response = web.Response(status=status, text=text, headers=headers)
    response.force_close()
    return response


class _Refused(Exception):
    """Raised on the way through a request: answer it with ``response`` (already logged)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


class _RequestBody:
    """A request body read as it arrives: whole, never past ``max_size`` bytes, by a deadline."""

    def __init__(self, request: web.Request, max_size: int, timeout: float) -> None:
        self._request = request
        self._max_size = max_size
        self._timeout = timeout
        self._deadline = asyncio.get_running_loop().time() + timeout
        self._chunks: list[bytes] = []
        self._size = 0
        self.complete = False
        declared = request.content_length
        if declared is not None and declared > max_size:
            raise self._oversize(declared)

    def _oversize(self, size: int) -> _Refused:
        error = EnvelopeError(
            ErrorCode.FORMATION_VIOLATION, f"envelope of {size} bytes exceeds the limit of {self._max_size} bytes"
        )
        _log.warning("refused a SOAP message from %s: %s", self._request.remote, error.description)
        response = _fault_response(error)
        response.force_close()
        return _Refused(response)

    def postpone(self, seconds: float) -> None:
        """Move the deadline (the time spent checking credentials is not the client's)."""
        self._deadline += seconds

    async def read(self, until: Callable[[bytes], bool] | None = None) -> None:
        """Read to the end of the body, or only until ``until(piece)`` returns True."""
        try:
            async with asyncio.timeout_at(self._deadline):
                while not self.complete:
                    piece = await self._request.content.readany()
                    if not piece:
                        self.complete = True
                        return
                    self._size += len(piece)
                    if self._size > self._max_size:
                        raise self._oversize(self._size)
                    self._chunks.append(piece)
                    if until is not None and until(piece):
                        return
        except TimeoutError:
            _log.warning("refused a SOAP message from %s: body not complete within %g s", self._request.remote,
                         self._timeout)  # fmt: skip
            raise _Refused(
                _plain_response(408, f"the request body did not arrive within {self._timeout:g} s")
            ) from None
        except (ConnectionError, web_protocol.RequestPayloadError, HttpProcessingError) as exc:
            _log.info("SOAP request from %s: body unreadable: %s", self._request.remote, loggable(str(exc)))
            raise _Refused(_plain_response(400, "the request body could not be read")) from None

    def data(self) -> bytes:
        return b"".join(self._chunks)


async def _send_then_after(
    request: web.Request, response: web.Response, result: InboundResult | None, running: set[asyncio.Task[Any]]
) -> web.Response:
    """Send the response now, then run the after-hook in this task: it runs once the answer is on the wire.

    The task is in ``running`` meanwhile, so that closing the endpoint can cancel the hook. A peer that
    stopped waiting (it closed the connection) costs one INFO line, and its after-hook does not run: the
    answer never reached it, as over OCPP-J."""
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionResetError:  # aiohttp's ClientConnectionResetError: the peer has gone
        _log.info("the answer to %s could not be sent: the peer closed the connection", request.remote)
        return response
    if result is not None and result.after is not None:
        task = asyncio.current_task()
        assert task is not None
        running.add(task)
        try:
            await result.after()
        finally:
            running.discard(task)
    return response


class _GuardedHandler(web_protocol.RequestHandler):
    """aiohttp's HTTP connection, admitted through a gate first, and quiet about a client's malformed HTTP."""

    def __init__(self, manager: web.Server, *, gate: ConnectionGate, admitted: str | None = None, **kwargs: Any):
        super().__init__(manager, **kwargs)
        self._gate = gate
        self._admitted = admitted
        """The address the gate counted this connection under (released when it is lost)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._admitted is None:
            address = peer_address(transport)
            if not self._gate.admit(address):
                cast(asyncio.Transport, transport).abort()
                return
            self._admitted = address
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._admitted is None:
            return  # refused by the gate: aiohttp never saw it
        self._gate.release(self._admitted)
        self._admitted = None
        super().connection_lost(exc)

    def handle_error(
        self, request: Any, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError) or not 400 <= status < 500:
            return super().handle_error(request, status, exc, message)  # our own failure: logged with its traceback
        # A client's malformed HTTP (a head line over the limit, too many headers, not HTTP at all): one line.
        lines = [line.strip() for line in str(exc.message or exc).splitlines() if line.strip()]
        reason = lines[0] if lines else type(exc).__name__
        _log.warning("refused malformed HTTP from %s: %s", request.remote, loggable(reason))
        if request.writer.output_size > 0:
            raise ConnectionError("the response has begun: no error response can be sent")
        return _plain_response(status, f"{status} {type(exc).__name__}: {loggable(reason)}")


class _TlsAccept(asyncio.Protocol):
    """An accepted TCP connection to an https endpoint: admitted through the gate, then its TLS handshake."""

    def __init__(self, site: _GuardedSite) -> None:
        self._site = site

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        site = self._site
        address = peer_address(transport)
        if not site.gate.admit(address):
            cast(asyncio.Transport, transport).abort()
            return
        assert isinstance(transport, asyncio.Transport)
        task = asyncio.get_running_loop().create_task(site.handshake(transport, address))
        site.handshakes.add(task)
        task.add_done_callback(site.handshakes.discard)


class _GuardedSite(web.BaseSite):
    """aiohttp's TCPSite, but every connection admitted through a gate and TLS handshakes bounded in time."""

    def __init__(
        self,
        runner: web.AppRunner,
        host: str | None,
        port: int,
        *,
        ssl_context: ssl_module.SSLContext | None,
        gate: ConnectionGate,
        tls_handshake_timeout: float,
        reuse_port: bool = False,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._host = host
        self._port = port
        self._reuse_port = reuse_port
        self.gate = gate
        self._tls_handshake_timeout = tls_handshake_timeout
        self.handshakes: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return f"{'https' if self._ssl_context else 'http'}://{self._host}:{self._port}"

    @property
    def sockets(self) -> Sequence[Any]:
        return getattr(self._server, "sockets", None) or ()

    def _handler(self, admitted: str | None = None) -> _GuardedHandler:
        server = self._runner.server
        assert server is not None
        return _GuardedHandler(
            server, gate=self.gate, admitted=admitted, loop=asyncio.get_running_loop(), **server._kwargs
        )

    def _accept(self) -> asyncio.Protocol:
        return self._handler() if self._ssl_context is None else _TlsAccept(self)

    async def handshake(self, transport: asyncio.Transport, address: str) -> None:
        """Complete the TLS handshake of an admitted connection and hand it to aiohttp."""
        assert self._ssl_context is not None
        handler = self._handler(admitted=address)
        try:
            tls = await asyncio.get_running_loop().start_tls(
                transport,
                handler,
                self._ssl_context,
                server_side=True,
                ssl_handshake_timeout=self._tls_handshake_timeout,
            )
        except BaseException as exc:
            transport.abort()
            self.gate.release(address)
            if not isinstance(exc, Exception):
                raise
            _log.debug("TLS handshake with %s failed: %s", address, exc)
            return
        if tls is None:  # pragma: no cover - the transport closed during the handshake
            self.gate.release(address)
            return
        handler.connection_made(tls)

    async def start(self) -> None:
        await super().start()
        self._server = await asyncio.get_running_loop().create_server(
            self._accept, self._host, self._port, reuse_port=self._reuse_port or None
        )

    async def stop(self) -> None:
        for task in list(self.handshakes):
            task.cancel()
        await asyncio.gather(*self.handshakes, return_exceptions=True)
        await super().stop()


class _HttpEndpoint:
    """What both SOAP endpoints share: a guarded aiohttp server, a client session for calling out, tasks."""

    def __init__(
        self,
        host: str,
        port: int,
        max_message_size: int,
        *,
        ssl: ssl_module.SSLContext | None = None,
        client_ssl: ssl_module.SSLContext | None = None,
        head_timeout: float = DEFAULT_HEAD_TIMEOUT,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        tls_handshake_timeout: float = DEFAULT_TLS_HANDSHAKE_TIMEOUT,
        max_connections: int | None = None,
        max_connections_per_address: int | None = DEFAULT_MAX_PER_ADDRESS,
        reuse_port: bool = False,
    ) -> None:
        if max_message_size < 1:
            raise UsageError(f"max_message_size is a number of bytes >= 1, not {max_message_size}")
        self.host = host
        self._port = port
        self.max_message_size = max_message_size
        """The largest request body accepted, and the largest answer read, in bytes."""
        self.head_timeout = head_timeout
        self.body_timeout = body_timeout
        self.tls_handshake_timeout = tls_handshake_timeout
        self.gate = (
            shared_gate()
            if max_connections is None and max_connections_per_address == DEFAULT_MAX_PER_ADDRESS
            else ConnectionGate(max_connections, max_connections_per_address)
        )
        """The gate every accepted connection passes (the process's shared one unless a cap was given)."""
        self._ssl = ssl
        self._client_ssl = client_ssl
        self.reuse_port = reuse_port
        """Listen with ``SO_REUSEPORT`` (several processes on one port, the kernel spreading connections)."""
        self._running: set[asyncio.Task[Any]] = set()  # requests running their after-hooks
        self._ending: set[asyncio.Task[None]] = set()  # connections ending (from a link that closed)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._quieted: asyncio.AbstractEventLoop | None = None

    @property
    def port(self) -> int:
        """The bound port (kept after closing, so a test can start again on it)."""
        return self._port

    @property
    def _scheme(self) -> str:
        return "https" if self._ssl is not None else "http"

    def _end_soon(self, connection: Connection[Any]) -> None:
        """End ``connection`` in a task of its own (from a link's ``on_close``, which must not block)."""
        task = asyncio.ensure_future(connection.end())
        self._ending.add(task)
        task.add_done_callback(self._ending.discard)

    async def _start_http(
        self, routes: Sequence[tuple[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]]
    ) -> None:
        connector = aiohttp.TCPConnector(
            ssl=self._client_ssl if self._client_ssl is not None else True, keepalive_timeout=_CLIENT_KEEPALIVE
        )
        self._session = aiohttp.ClientSession(connector=connector)
        app = web.Application(client_max_size=self.max_message_size)
        for path, handler in routes:
            app.router.add_post(path, handler)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            keepalive_timeout=self.head_timeout,
            lingering_time=_LINGERING_TIME,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await self._runner.setup()
        site = _GuardedSite(
            self._runner,
            self.host,
            self._port,
            ssl_context=self._ssl,
            gate=self.gate,
            tls_handshake_timeout=self.tls_handshake_timeout,
            reuse_port=self.reuse_port,
        )
        await site.start()
        if site.sockets:
            self._port = int(site.sockets[0].getsockname()[1])
        self._quieted = asyncio.get_running_loop()
        quiet_accept_errors(self._quieted)

    async def _close_http(self) -> None:
        if self._ending:
            await asyncio.gather(*self._ending, return_exceptions=True)
        for task in list(self._running):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._quieted is not None:
            restore_accept_errors(self._quieted)
            self._quieted = None


# -- central system ----------------------------------------------------------------------------------


def _served_versions(
    values: Sequence[str | OcppVersion] | None, server: CentralSystemServer[Any]
) -> tuple[OcppVersion, ...]:
    """The versions a SOAP server serves: those asked for, else the server's that have a SOAP binding."""
    if values is None:
        values = [v for v in server.versions if v not in JSON_ONLY_VERSIONS]
        if not values:
            raise UsageError(
                f"{server.name} serves OCPP {', '.join(server.versions)}, which have no SOAP binding "
                "(OCPP 2.x is OCPP-J only): serve it over WebSocket"
            )
    versions = tuple(dict.fromkeys(resolve_version(value) for value in values))
    json_only = [v.version for v in versions if v.version in JSON_ONLY_VERSIONS]
    if json_only:
        raise UsageError(f"OCPP {', '.join(json_only)} has no SOAP binding (OCPP-J only): serve it over WebSocket")
    unspoken = [v.version for v in versions if v.version not in server.versions]
    if not versions or unspoken:
        raise UsageError(
            f"{server.name} serves OCPP {', '.join(server.versions)}; it cannot serve {', '.join(unspoken)}"
        )
    return versions


@dataclass(eq=False)
class _Registered:
    """A SOAP charge point connected to this server: its connection (the core's record) and link."""

    connection: Connection[CentralSystem]
    link: SoapLink
    last_seen: float
    """Event-loop time of the charge point's last request."""
    announced: tuple[str | None, str | None] = (None, None)
    """The (address, request host) the call-back address was last judged for."""


class _RateLimitedLog:
    """One warning line per ``interval`` seconds for a refusal that an attacker can repeat at will."""

    def __init__(self, interval: float = 10.0) -> None:
        self._interval = interval
        self._last = -interval
        self._unlogged = 0

    def warning(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            self._unlogged += 1
            return
        more = f" ({self._unlogged} more since the last such line)" if self._unlogged else ""
        _log.warning(message + "%s", *args, more)
        self._last, self._unlogged = now, 0


class SoapServer(_HttpEndpoint):
    """The central system's SOAP endpoint: the CentralSystemService of ``server`` at ``http://host:port/path``.

    ``serve(...)`` is this class: ``async with serve(server, "0.0.0.0", 9100) as soap_server:`` (or
    ``await start()`` / ``await close()``). ``versions`` defaults to the server's that have a SOAP
    binding (1.x: OCPP 2.x is OCPP-J only; a version its role objects do not speak, or a 2.x one, is a
    :class:`UsageError`); the version of each request is read from its body's
    namespace, so one URL serves them all. ``max_message_size`` bounds a request body (and an answer to
    a call out); ``max_calls_in_flight`` the unanswered calls to one charge point.

    A charge point is connected from its first request until ``idle_timeout`` seconds pass without one
    (:data:`DEFAULT_IDLE_TIMEOUT`, 15 minutes; None: no limit, which lets a server anyone can post to
    grow without bound; set it well above the heartbeat interval you hand out, e.g. 2.5 times it), a
    call to it gets no HTTP answer, or the server closes (see "Connections" in the module docstring).
    Then it is unregistered, with ``on_disconnect``, and everything kept for it is released.
    ``max_charge_points`` (:data:`DEFAULT_MAX_CHARGE_POINTS`; None: no cap) bounds how many are
    connected at once: a new one over it gets HTTP 503 without a Fault, so it tries again later.

    ``auth(charge_point_id, username, password)`` (sync or async) checks HTTP Basic credentials of every
    request against the chargeBoxIdentity it carries, before the body is read further (see the module
    docstring): a missing or refused one gets HTTP 401 with ``WWW-Authenticate: Basic`` and a
    SecurityError Fault, so one charge point's password cannot speak for another. ``check_id(id)``
    returns why a chargeBoxIdentity is refused, or None (default :func:`~ocpprpc._identity.check_charge_point_id`:
    1 to 48 printable characters, no white space, ``/`` or ``\\``); a refused one gets a SecurityError
    Fault with HTTP 400. ``callback_policy`` judges the address each charge point announces (default
    :func:`same_host_callback`; see "Call-back addresses"). ``ssl`` serves https; ``client_ssl`` is the TLS
    context and ``client_auth`` (:data:`ClientAuth`) the credentials for calling charge points back.

    HTTP limits (module docstring, "Order of work"): ``head_timeout``, ``body_timeout``,
    ``tls_handshake_timeout``; ``max_connections`` / ``max_connections_per_address`` cap the open
    connections (by default the process's shared :func:`~ocpprpc._exposure.shared_gate`, which every
    server of the process shares; passing either gives this server a gate of its own). ``reuse_port``
    binds with ``SO_REUSEPORT``, so several processes serve one port (the kernel spreads connections).
    """

    def __init__(
        self,
        server: CentralSystemServer[Any],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        path: str = "/",
        versions: Sequence[str | OcppVersion] | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_calls_in_flight: int = 1,
        auth: AuthCallback | None = None,
        check_id: IdCheck = check_charge_point_id,
        callback_policy: CallbackPolicy = same_host_callback,
        ssl: ssl_module.SSLContext | None = None,
        client_ssl: ssl_module.SSLContext | None = None,
        client_auth: ClientAuth | None = None,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_charge_points: int | None = DEFAULT_MAX_CHARGE_POINTS,
        head_timeout: float = DEFAULT_HEAD_TIMEOUT,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        tls_handshake_timeout: float = DEFAULT_TLS_HANDSHAKE_TIMEOUT,
        max_connections: int | None = None,
        max_connections_per_address: int | None = DEFAULT_MAX_PER_ADDRESS,
        reuse_port: bool = False,
    ) -> None:
        super().__init__(
            host,
            port,
            max_message_size,
            reuse_port=reuse_port,
            ssl=ssl,
            client_ssl=client_ssl,
            head_timeout=head_timeout,
            body_timeout=body_timeout,
            tls_handshake_timeout=tls_handshake_timeout,
            max_connections=max_connections,
            max_connections_per_address=max_connections_per_address,
        )
        if max_calls_in_flight < 1:
            raise UsageError(f"max_calls_in_flight is a number >= 1, not {max_calls_in_flight}")
        self._auth = auth
        self.check_id = check_id
        self.callback_policy = callback_policy
        self.client_auth = client_auth
        self.idle_timeout = idle_timeout
        self.max_charge_points = max_charge_points
        self._sweeper: asyncio.Task[None] | None = None
        self.server = server
        self.path = "/" + path.strip("/") if path.strip("/") else "/"
        self._versions = _served_versions(versions, server)
        self.max_calls_in_flight = max_calls_in_flight
        self._links: dict[str, _Registered] = {}
        self._full_log = _RateLimitedLog()

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self.host}:{self.port}{self.path}"

    @property
    def versions(self) -> tuple[str, ...]:
        """The versions served (``"1.6"``, ...)."""
        return tuple(version.version for version in self._versions)

    @property
    def registered(self) -> int:
        """How many SOAP charge points are connected to this server now (for monitoring)."""
        return len(self._links)

    async def start(self) -> SoapServer:
        routes = [(self.path, self._handle)]
        if self.path != "/":
            routes.append((self.path.rstrip("/") + "/", self._handle))
        await self._start_http(routes)
        if self.idle_timeout is not None:
            self._sweeper = asyncio.create_task(self._forget_idle(self.idle_timeout))
        _log.info("SOAP central system listening on %s", self.url)
        warn_if_exposed("SOAP central system", self.host, self._auth is not None)
        return self

    async def _forget_idle(self, idle_timeout: float) -> None:
        """Disconnect charge points silent for ``idle_timeout`` seconds (checked a few times per period)."""
        while True:
            await asyncio.sleep(max(idle_timeout / 4, 0.01))
            await self._sweep(idle_timeout)

    async def _sweep(self, idle_timeout: float) -> None:
        """One pass of :meth:`_forget_idle` (a method of its own: nothing of it stays referenced between passes)."""
        loop = asyncio.get_running_loop()
        silent = [(cp_id, r) for cp_id, r in self._links.items() if loop.time() - r.last_seen > idle_timeout]
        for cp_id, registered in silent:
            # still registered and still silent (a request may have come while an earlier one was let go)
            if self._links.get(cp_id) is registered and loop.time() - registered.last_seen > idle_timeout:
                _log.info("charge point %s silent for %g s: disconnected", loggable(cp_id), idle_timeout)
                await registered.connection.end("silent for too long")

    async def close(self) -> None:
        """Disconnect every SOAP charge point (each gets ``on_disconnect``) and stop serving."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for registered in list(self._links.values()):
            await registered.connection.end("central system closing")
        self._links.clear()
        await self._close_http()

    async def __aenter__(self) -> SoapServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            body = _RequestBody(request, self.max_message_size, self.body_timeout)
            verified = await self._authenticate(request, body) if self._auth is not None else None
            await body.read()
            data = body.data()
            message = decode_message(data, self._versions, max_size=self.max_message_size)
            if message.is_response or message.spec is None or message.version is None:
                raise EnvelopeError(
                    ProtocolError.default_code, "a central system takes requests, not responses or faults"
                )
            cp_id = require_identity(message)
            if verified is None:
                self._check_id(request, cp_id)
            elif cp_id != verified:
                raise EnvelopeError(
                    ProtocolError.default_code,
                    f"the chargeBoxIdentity {cp_id!r} is not the {verified!r} the credentials were checked for",
                )
            spec = message.spec
            if spec.initiator is not Side.CHARGE_POINT:
                error = ProtocolError(f"{spec.name} is sent by a central system, not to one")
                return _fault_response(error, relates_to=message.message_id, namespace=spec.namespace)
            role = await self._role_for(cp_id, message, _request_host(request))
        except EnvelopeError as exc:
            _log.warning("refused a SOAP message from %s: %s", request.remote, loggable(str(exc)))
            return _fault_response(exc)
        except _Refused as refused:
            return refused.response
        response, result = await _serve_request(role, message, data)
        return await _send_then_after(request, response, result, self._running)

    def _check_id(self, request: web.Request, cp_id: str) -> None:
        reason = self.check_id(cp_id)
        if reason is not None:
            _log.warning("refused a SOAP message from %s: chargeBoxIdentity refused: %s", request.remote,
                         loggable(reason))  # fmt: skip
            raise _Refused(_fault_response(SecurityError(f"chargeBoxIdentity refused: {reason}")))

    async def _authenticate(self, request: web.Request, body: _RequestBody) -> str:
        """Read the body only as far as its chargeBoxIdentity and check the credentials against it."""
        assert self._auth is not None
        reader = IdentityReader()
        await body.read(until=reader.feed)
        cp_id = reader.identity
        if cp_id is None:
            raise EnvelopeError(
                ErrorCode.PROTOCOL_ERROR, "no chargeBoxIdentity header (it must be in the Header, before the Body)"
            )
        self._check_id(request, cp_id)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            refused = await check_basic_auth(self._auth, cp_id, request.headers.getall("Authorization", []))
        except Exception:
            _log.exception("the auth callback failed for %s", loggable(cp_id))
            raise _Refused(_plain_response(503, "credentials cannot be checked now", **{"Retry-After": "60"})) from None
        body.postpone(loop.time() - started)
        if refused is not None:
            _log.warning("refused a SOAP message from %s for %s: %s", request.remote, loggable(cp_id), refused)
            raise _Refused(_unauthorized(cp_id))
        return cp_id

    async def _role_for(self, cp_id: str, message: SoapMessage, request_host: str | None) -> Role:
        """The role of ``cp_id``'s connection: the current one, or a new one (connecting it)."""
        assert message.version is not None and self._session is not None
        address = message.from_address or message.reply_to_address
        registered = self._links.get(cp_id)
        loop = asyncio.get_running_loop()
        again = None
        if registered is not None and not registered.connection.ended:
            # Another version, or another address: the charge point connected again (restarted elsewhere,
            # on another port). A new connection replaces the old one, as over WebSocket. A request naming
            # no address leaves the one it has.
            if registered.connection.version is not message.version:
                again = f"now speaks OCPP {message.version.version}"
            elif address and registered.announced[0] and address != registered.announced[0]:
                again = f"now announces {loggable(address)}"
            else:
                registered.last_seen = loop.time()
                announced = (address or registered.announced[0], request_host)
                if registered.announced != announced:
                    registered.announced = announced
                    self._judge_address(cp_id, registered.link, announced[0], request_host)
                return registered.connection.role
            _log.info("charge point %s %s: a new connection replaces the old one", loggable(cp_id), again)
        elif self.max_charge_points is not None and len(self._links) >= self.max_charge_points:
            self._full_log.warning(
                "refused charge point %s: %d SOAP charge points registered (max_charge_points)",
                loggable(cp_id),
                len(self._links),
            )
            raise _Refused(_plain_response(503, "too many charge points registered", **{"Retry-After": "300"}))
        connection: Connection[CentralSystem] = self.server.accept(cp_id, message.version)
        link = SoapLink(
            self._session,
            "",
            charge_point_id=cp_id,
            version=message.version,
            side=Side.CENTRAL_SYSTEM,
            authorization=self._authorization_for(cp_id),
            max_calls_in_flight=self.max_calls_in_flight,
            max_message_size=self.max_message_size,
            on_close=lambda: self._end_soon(connection),
        )
        self._judge_address(cp_id, link, address, request_host)
        registered = _Registered(connection, link, loop.time(), (address, request_host))
        self._links[cp_id] = registered
        connection.on_end(lambda: self._forget(cp_id, registered))
        await connection.open(link)
        return connection.role

    def _forget(self, cp_id: str, registered: _Registered) -> None:
        if self._links.get(cp_id) is registered:
            del self._links[cp_id]

    def _authorization_for(self, cp_id: str) -> str | None:
        credentials = self.client_auth(cp_id) if callable(self.client_auth) else self.client_auth
        return basic_authorization(*credentials) if credentials is not None else None

    def _judge_address(self, cp_id: str, link: SoapLink, address: str | None, request_host: str | None) -> None:
        """Point ``link`` at the URL the call-back policy makes of ``address``, or make it say why it cannot."""
        url: str | None = None
        problem: str | None
        if not address:
            problem = "it announced no address (From / ReplyTo)"
        else:
            problem = _url_problem(address)
            if problem is None:
                try:
                    url = self.callback_policy(cp_id, address, request_host)
                except Exception:
                    _log.exception("the call-back policy failed for %s", loggable(cp_id))
                    url = None
                if url is None:
                    origin = request_host or "an unknown host (relayed by a proxy?)"
                    problem = f"the call-back policy refused its address {address} (request from {origin})"
                else:
                    problem = _url_problem(url)
            else:
                problem = f"its address {address} is {problem}"
        if problem is not None or url is None:
            link.peer_url, link.unreachable = "", loggable(problem or "no address")
            _log.warning("charge point %s cannot be called: %s", loggable(cp_id), link.unreachable)
            return
        if link.peer_url and url != link.peer_url:
            _log.info("charge point %s now at %s", loggable(cp_id), loggable(url))
        link.peer_url, link.unreachable = url, None


# -- charge point ----------------------------------------------------------------------------------------


class SoapChargePointClient(KeepConnected[None], _HttpEndpoint):
    """A charge point speaking SOAP to the central system at ``central_system_url``, keeping itself connected.

    ``connect(...)`` is this class: ``async with connect(cp, "http://cs:9100/"):``. It serves its
    ChargePointService on ``host:port`` (the remote action port) and announces ``from_url`` (default
    ``http://host:port/``) as its address in ``From`` / ``ReplyTo``; behind NAT or a proxy, pass the
    address the central system can reach (and see the central system's call-back policy).

    It has the contract of :class:`~ocpprpc.transports.websocket.WebSocketClient` ("Connections" in the
    module docstring): ``async with`` starts the remote action port and waits until the first link is
    attached, that is until the central system's endpoint could be reached (up to ``open_timeout``,
    retrying per ``backoff``), else raises :class:`NotConnected`; :meth:`start` only starts it. A
    request that gets no HTTP answer closes the link; the client reaches out again per ``backoff``
    (:class:`~ocpprpc.Backoff`), and ``reconnect=False`` stops it instead. :meth:`close` stops the port
    and the reconnecting; queued transaction messages stay in the outbox.

    ``auth=(username, password)`` sends HTTP Basic credentials with every request to the central
    system (never put them in the URL: a URL with user info is refused); ``server_auth(charge_point_id,
    username, password)`` checks the credentials of every request to the remote action port (the id is
    this charge point's own), before its body is read: without it anyone who reaches the port can send
    it Reset. ``ssl`` is the TLS context for an https central system, ``server_ssl`` serves the remote
    action port over https. The remote action port has the central system's HTTP limits
    (``max_message_size``, ``head_timeout``, ``body_timeout``, ``tls_handshake_timeout``,
    ``max_connections``, ``max_connections_per_address``).
    """

    _transport = "soap"

    def __init__(
        self,
        charge_point: ChargePoint,
        central_system_url: str,
        *,
        from_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_calls_in_flight: int = 1,
        open_timeout: float = DEFAULT_OPEN_TIMEOUT,
        reconnect: bool = True,
        backoff: Backoff = Backoff(),  # noqa: B008 (immutable)
        auth: tuple[str, str] | None = None,
        server_auth: AuthCallback | None = None,
        ssl: ssl_module.SSLContext | None = None,
        server_ssl: ssl_module.SSLContext | None = None,
        head_timeout: float = DEFAULT_HEAD_TIMEOUT,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        tls_handshake_timeout: float = DEFAULT_TLS_HANDSHAKE_TIMEOUT,
        max_connections: int | None = None,
        max_connections_per_address: int | None = DEFAULT_MAX_PER_ADDRESS,
    ) -> None:
        problem = _url_problem(central_system_url)
        if problem is not None:
            raise UsageError(f"cannot post to {central_system_url!r}: {problem}")
        if charge_point.version in JSON_ONLY_VERSIONS:
            raise UsageError(f"OCPP {charge_point.version} has no SOAP binding (OCPP-J only): connect over WebSocket")
        if max_calls_in_flight < 1:
            raise UsageError(f"max_calls_in_flight is a number >= 1, not {max_calls_in_flight}")
        super().__init__(  # KeepConnected's; _HttpEndpoint's below
            charge_point,
            label=f"cp#{loggable(charge_point.id)}",
            target=loggable(central_system_url),
            open_timeout=open_timeout,
            reconnect=reconnect,
            backoff=backoff,
        )
        _HttpEndpoint.__init__(
            self,
            host,
            port,
            max_message_size,
            ssl=server_ssl,
            client_ssl=ssl,
            head_timeout=head_timeout,
            body_timeout=body_timeout,
            tls_handshake_timeout=tls_handshake_timeout,
            max_connections=max_connections,
            max_connections_per_address=max_connections_per_address,
        )
        self.central_system_url = central_system_url
        self._from_url = from_url
        self._authorization = basic_authorization(*auth) if auth is not None else None
        self._server_auth = server_auth
        self.max_calls_in_flight = max_calls_in_flight
        self._link: SoapLink | None = None

    @property
    def from_url(self) -> str:
        """The address the central system calls this charge point at (``From`` of every request)."""
        return self._from_url or f"{self._scheme}://{self.host}:{self.port}/"

    # -- KeepConnected ------------------------------------------------------------------------------

    async def _prepare(self) -> None:
        await self._start_http([("/{tail:.*}", self._handle)])
        _log.info("charge point %s: remote action port at %s", loggable(self.charge_point.id), self.from_url)
        warn_if_exposed("SOAP charge point's remote action port", self.host, self._server_auth is not None)

    async def _finish(self) -> None:
        await self._close_http()

    async def _open(self) -> None:
        """Reach the central system's endpoint: open (and close) a TCP connection, with TLS for https."""
        url = URL(self.central_system_url)
        tls: ssl_module.SSLContext | bool | None = None
        if url.scheme == "https":
            tls = self._client_ssl if self._client_ssl is not None else True
        try:
            async with asyncio.timeout(self.open_timeout):
                _, writer = await asyncio.open_connection(url.host, url.port, ssl=tls)
        except TimeoutError:
            raise TimeoutError(f"the central system was not reached within {self.open_timeout:g} s") from None
        writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()

    async def _serve(self, opened: None) -> None:
        assert self._session is not None
        cp = self.charge_point
        connection = Connection(cp, cp.ocpp_version)
        lost = asyncio.Event()
        link = SoapLink(
            self._session,
            self.central_system_url,
            charge_point_id=cp.id,
            version=cp.ocpp_version,
            side=Side.CHARGE_POINT,
            own_url=self.from_url,
            authorization=self._authorization,
            max_calls_in_flight=self.max_calls_in_flight,
            max_message_size=self.max_message_size,
            on_close=lost.set,
        )
        self._link = link
        try:
            if self._closing:
                return
            await connection.open(link)
            _log.info("%s: connected to %s (OCPP %s)", self._label, loggable(self.central_system_url), cp.version)
            self._attached()
            await lost.wait()
        finally:
            self._link = None
            await connection.end()
            if not self._closing:
                _log.info("%s: the central system is unreachable", self._label)

    async def _disconnect(self) -> bool:
        link = self._link
        if link is None or link.closed:
            return False
        await link.close("charge point closing")
        return True

    # -- the remote action port -------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        cp = self.charge_point
        try:
            if self._server_auth is not None:
                await self._authenticate(request)
            body = _RequestBody(request, self.max_message_size, self.body_timeout)
            await body.read()
            data = body.data()
            message = decode_message(data, [cp.ocpp_version], max_size=self.max_message_size)
            if message.is_response or message.spec is None:
                raise EnvelopeError(ProtocolError.default_code, "a charge point takes requests here")
        except EnvelopeError as exc:
            _log.warning("charge point %s refused a SOAP message from %s: %s", loggable(cp.id), request.remote,
                         loggable(str(exc)))  # fmt: skip
            return _fault_response(exc)
        except _Refused as refused:
            return refused.response
        spec = message.spec
        identity = message.charge_box_identity
        if spec.initiator is not Side.CENTRAL_SYSTEM or (identity is not None and identity != cp.id):
            reason = (
                f"{spec.name} is not sent to a charge point"
                if spec.initiator is not Side.CENTRAL_SYSTEM
                else f"this is charge point {cp.id}, not {identity}"
            )
            _log.warning("charge point %s refused a SOAP message from %s: %s", loggable(cp.id), request.remote,
                         loggable(reason))  # fmt: skip
            return _fault_response(ProtocolError(reason), relates_to=message.message_id, namespace=spec.namespace)
        response, result = await _serve_request(cp, message, data)
        return await _send_then_after(request, response, result, self._running)

    async def _authenticate(self, request: web.Request) -> None:
        """Check the credentials of a request to the remote action port against this charge point's id."""
        assert self._server_auth is not None
        cp_id = self.charge_point.id
        try:
            refused = await check_basic_auth(self._server_auth, cp_id, request.headers.getall("Authorization", []))
        except Exception:
            _log.exception("the server_auth callback failed for %s", loggable(cp_id))
            raise _Refused(_plain_response(503, "credentials cannot be checked now", **{"Retry-After": "60"})) from None
        if refused is not None:
            _log.warning("charge point %s refused a SOAP message from %s: %s", loggable(cp_id), request.remote,
                         refused)  # fmt: skip
            raise _Refused(_unauthorized(cp_id))


serve = SoapServer
"""Serve a central system over OCPP-S: ``async with serve(server, host, port, path="/ocpp") as soap_server:``."""

connect = SoapChargePointClient
"""Make a charge point speak OCPP-S, kept connected: ``async with connect(cp, central_system_url, port=9101):``."""
