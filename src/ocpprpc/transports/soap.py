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
(``_soap_codec``) does all XML work; this module only moves bytes.

A SOAP charge point is "connected" from its first request until it has been silent for ``idle_timeout``
seconds or its central system server closes (or it connects again by WebSocket, which replaces it). On
the charge point's side, a failed POST (the central system unreachable) closes the link; the client then
re-attaches a fresh link after a back-off, which is what lets the charge point's transaction outbox
retry, in order, until the central system is back.

What is an answer
-----------------
Only a SOAP response, or a SOAP Fault (with HTTP 200, 400 or 500, as the SOAP 1.2 HTTP binding sends
them), is the peer's OCPP answer: a Fault raises its :class:`~ocpprpc.errors.OcppError` (``remote=True``).
Everything else the HTTP layer can produce is not, and raises something a charge point's outbox retries:

* no HTTP answer (connection refused or reset, TLS failure): :class:`~ocpprpc.errors.ConnectionClosed`,
  and the link is closed (the charge point re-links after its back-off);
* an HTTP answer that is no OCPP answer: :class:`~ocpprpc.errors.UnreadableAnswer` (the link stays):
  a body cut off, over ``max_size`` or not a SOAP envelope; a status without a Fault (a proxy's 502, an
  empty 500); 401 / 407 (the HTTP layer refusing credentials, e.g. while they are rotated, even when a
  Fault comes with it); any 3xx (redirects are never followed);
* no answer in time: :class:`~ocpprpc.errors.CallTimeout`.

Order of work on a request (hostile input first)
------------------------------------------------
Every accepted TCP connection is first admitted through a :class:`~ocpprpc._exposure.ConnectionGate`
(``max_connections``, ``max_connections_per_address``; over a cap it is closed at once, before any
TLS handshake, which must then finish within ``tls_handshake_timeout``). A request head must be
complete within ``head_timeout`` of the connection's opening or of the previous response (so it is also
the keep-alive idle timeout); a head line over 8190 bytes or over 128 header lines gets HTTP 400 and
one log line. The body is then read whole, as it arrives, within ``body_timeout`` (408 otherwise) and
never beyond ``max_size`` (a declared or actual larger body gets the FormationViolation Fault at once,
unread). On the central system, with ``auth`` configured, only the start of the body is read first:
the chargeBoxIdentity is taken from the Header by a push parser that stops at the Body (and after
64 KiB, :class:`~ocpprpc.transports._soap_codec.IdentityReader`), the identity is checked
(``check_id``), then the credentials (401); only then is the rest of the body read and the whole
envelope decoded, so an anonymous or wrong-password client costs a Header's parse, never a body's.
Without ``auth``, the envelope is decoded first and its identity checked after. A refused identity
gets a SecurityError Fault (HTTP 400). Then the charge point's call-back address is judged (below),
and the request goes to its role.

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
address. A refused address is logged once; the charge point stays connected but cannot be called:
calls fail at once with :class:`~ocpprpc.errors.ConnectionClosed` saying why. Calls out never follow
redirects.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import inspect
import ipaddress
import json
import logging
import random
import ssl as ssl_module
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import aiohttp
from aiohttp import web, web_protocol
from aiohttp.http_exceptions import HttpProcessingError
from lxml import etree
from yarl import URL

from .._exposure import (
    DEFAULT_MAX_PER_ADDRESS,
    ConnectionGate,
    peer_address,
    quiet_accept_errors,
    restore_accept_errors,
    shared_gate,
    warn_if_exposed,
)
from .._identity import IdCheck, check_charge_point_id, loggable
from .._ocppj import frame_labels, frame_logger
from .._versions import resolve_version
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
from ..messages._base import OcppModel, OcppVersion, Side
from ..roles import CentralSystem, ChargePoint, InboundResult, Role
from ..server import CentralSystemServer
from ._soap_codec import (
    DEFAULT_MAX_SIZE,
    FAULT_CONTENT_TYPE,
    SOAP_NS,
    WSA_NS,
    EnvelopeError,
    IdentityReader,
    SoapMessage,
    content_type,
    decode_message,
    encode_fault,
    encode_request,
    encode_response,
    fault_status,
    require_identity,
)

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEAD_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_CHARGE_POINTS",
    "DEFAULT_TLS_HANDSHAKE_TIMEOUT",
    "AuthCallback",
    "CallbackPolicy",
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

_MAX_URL_LENGTH = 2048


def _message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _log_message(label: str, action: str, payload: Any, body: bytes) -> None:
    if frame_logger.isEnabledFor(logging.INFO):
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        frame_logger.info("%s /%s %s", label, loggable(action), loggable(text, None))
    if xml_logger.isEnabledFor(logging.DEBUG):
        xml_logger.debug("%s %s", label, loggable(body.decode("utf-8", "replace"), None))


@functools.cache
def _wire_names(model: type[OcppModel]) -> frozenset[str]:
    return frozenset(info.alias or name for name, info in model.model_fields.items())


def _generic_request(
    namespace: str,
    action: str,
    payload: dict[str, Any],
    *,
    charge_box_identity: str,
    message_id: str,
    to: str,
    from_: str | None,
) -> bytes:
    """A request envelope for any action and payload, JSON mapped to elements plainly (for ``call_raw``).

    Objects become child elements, lists repeated elements, scalars text. No model is consulted, so an
    unknown action or field reaches the peer as sent, and the peer's answer (a Fault) shows how it copes.
    """
    soap_ns, wsa_ns = SOAP_NS, WSA_NS
    envelope = etree.Element(f"{{{soap_ns}}}Envelope", nsmap={"s": soap_ns, "a": wsa_ns, "tns": namespace})
    header = etree.SubElement(envelope, f"{{{soap_ns}}}Header")
    etree.SubElement(header, f"{{{namespace}}}chargeBoxIdentity").text = charge_box_identity
    etree.SubElement(header, f"{{{wsa_ns}}}Action").text = "/" + action
    etree.SubElement(header, f"{{{wsa_ns}}}MessageID").text = message_id
    etree.SubElement(header, f"{{{wsa_ns}}}To").text = to
    if from_ is not None:
        etree.SubElement(etree.SubElement(header, f"{{{wsa_ns}}}From"), f"{{{wsa_ns}}}Address").text = from_
    body = etree.SubElement(envelope, f"{{{soap_ns}}}Body")
    name = (action[:1].lower() + action[1:] or "unnamed") + "Request"

    def fill(parent: etree._Element, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                for one in item if isinstance(item, list) else [item]:
                    fill(etree.SubElement(parent, f"{{{namespace}}}{key}"), one)
        elif isinstance(value, bool):
            parent.text = "true" if value else "false"
        elif value is not None:
            parent.text = str(value)

    try:
        fill(etree.SubElement(body, f"{{{namespace}}}{name}"), payload)
    except ValueError as exc:  # a key that is no XML name
        raise UsageError(f"cannot write {action} as XML: {exc}") from None
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


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
    """The :class:`~ocpprpc.roles.Link` of one SOAP peer: each call is an HTTP POST to ``peer_url``.

    See "What is an answer" in the module docstring for what a call raises.
    """

    def __init__(
        self,
        role: Role,
        session: aiohttp.ClientSession,
        peer_url: str,
        *,
        own_url: str | None = None,
        max_calls_in_flight: int = 1,
        max_size: int = DEFAULT_MAX_SIZE,
        unreachable: str | None = None,
    ) -> None:
        self.role = role
        self.peer_url = peer_url
        """Where the peer's service is posted to (a charge point's address may change; see the server)."""
        self.unreachable = unreachable
        """Why the peer cannot be called (e.g. its announced address was refused), or None: calls then
        fail at once with :class:`ConnectionClosed` saying so, and the link stays open."""
        self.own_url = own_url
        self._session = session
        self._in_flight = asyncio.Semaphore(max_calls_in_flight)
        self._max_size = max_size
        self._closed = False
        self._out_label, self._in_label = frame_labels(role)

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_callable(self) -> None:
        if self._closed:
            raise ConnectionClosed(f"SOAP link to {loggable(self.role.id)} is closed")
        if self.unreachable is not None:
            raise ConnectionClosed(f"charge point {loggable(self.role.id)} cannot be called: {self.unreachable}")

    async def request(
        self, action: str, payload: dict[str, Any], timeout: float, message_id: str | None = None
    ) -> dict[str, Any]:
        self._check_callable()
        version = self.role.version
        spec = version.initiated_by(self.role.side).get(action)
        message_id = message_id or _message_id()
        body: bytes | None = None
        if spec is not None and payload.keys() <= _wire_names(spec.request):
            with contextlib.suppress(UsageError):  # a value of the wrong type: written plainly below
                body = encode_request(
                    version,
                    spec,
                    payload,
                    charge_box_identity=self.role.id,
                    message_id=message_id,
                    to=self.peer_url,
                    from_=self.own_url,
                    reply_to=self.own_url,
                )
        if body is None:  # a test tool's unchecked request (``call_raw``): written as is, for the peer to judge
            body = _generic_request(
                version.namespace_of(self.role.side.other),
                action,
                payload,
                charge_box_identity=self.role.id,
                message_id=message_id,
                to=self.peer_url,
                from_=self.own_url,
            )
        async with self._in_flight:
            self._check_callable()  # the address may have been refused while this call waited its turn
            _log_message(self._out_label, action, payload, body)
            status, answer = await self._post(body, action, content_type(action), timeout, message_id)
        return self._answer_of(action, version, status, answer)

    async def _post(
        self, body: bytes, action: str, content: str, timeout: float, message_id: str | None
    ) -> tuple[int, bytes | None]:
        """POST ``body``: the HTTP status and the whole answer (None: over ``max_size``)."""
        try:
            async with self._session.post(
                self.peer_url,
                data=body,
                headers={"Content-Type": content},
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
            ) as response:
                status = response.status
                try:
                    return status, await _read_answer(response, self._max_size)
                except aiohttp.ClientPayloadError as exc:
                    raise self._unreadable(action, f"HTTP {status}, the answer was cut off: {exc}") from None
        except TimeoutError:
            raise CallTimeout(action=action, unique_id=message_id, timeout=timeout) from None
        except aiohttp.ClientError as exc:
            self._closed = True
            _log.warning("POST of %s to %s failed: %s", action, loggable(self.peer_url), loggable(str(exc)))
            raise ConnectionClosed(f"POST to {loggable(self.peer_url)} failed: {loggable(str(exc))}") from None

    def _unreadable(self, action: str, reason: str) -> UnreadableAnswer:
        reason = loggable(reason)
        _log.warning("%s: the answer to %s from %s is no OCPP answer: %s", loggable(self.role.id), action,
                     loggable(self.peer_url), reason)  # fmt: skip
        return UnreadableAnswer(f"the answer to {action} from {loggable(self.peer_url)} is no OCPP answer: {reason}")

    def _answer_of(self, action: str, version: OcppVersion, status: int, answer: bytes | None) -> dict[str, Any]:
        """The response payload in ``answer``; the Fault it carries raised; anything else UnreadableAnswer."""
        if answer is None:
            raise self._unreadable(action, f"HTTP {status}, an answer over {self._max_size} bytes")
        if 300 <= status < 400:
            raise self._unreadable(action, f"HTTP {status}: redirects are not followed")
        try:
            message = decode_message(answer, [version], max_size=self._max_size)
        except EnvelopeError as exc:
            shown = "an empty body" if not answer.strip() else f"not a SOAP answer ({exc.description})"
            raise self._unreadable(action, f"HTTP {status}, {shown}") from None
        if message.fault is not None:
            if status in (401, 407):
                raise self._unreadable(
                    action, f"HTTP {status}: the HTTP layer refused the credentials ({message.fault})"
                )
            if status not in (200, 400, 500):
                raise self._unreadable(action, f"HTTP {status} is no status of a SOAP Fault ({message.fault})")
            _log_message(self._in_label, action + "Fault", {"fault": str(message.fault)}, answer)
            raise message.fault
        if status != 200:
            raise self._unreadable(action, f"HTTP {status} with a response envelope")
        if message.spec is None or message.spec.name != action or not message.is_response:
            raise self._unreadable(action, f"it is {message!r}")
        _log_message(self._in_label, action + "Response", message.payload, answer)
        return message.payload

    async def send_raw(self, text: str) -> str:
        """POST ``text`` as the body, unchecked; the whole HTTP response body (empty if over ``max_size``)."""
        self._check_callable()
        _log_message(self._out_label, "(raw)", text, text.encode())
        status, answer = await self._post(
            text.encode(), "(raw)", "application/soap+xml; charset=utf-8", self.role.call_timeout, None
        )
        text_answer = (answer or b"").decode("utf-8", "replace")
        if xml_logger.isEnabledFor(logging.DEBUG):
            xml_logger.debug("%s HTTP %d %s", self._in_label, status, loggable(text_answer, None))
        return text_answer

    async def close(self, reason: str = "") -> None:
        self._closed = True


# -- serving -------------------------------------------------------------------------------------------


async def _serve_request(role: Role, message: SoapMessage, body: bytes) -> tuple[web.Response, InboundResult | None]:
    """Answer one decoded request with ``role``; the response and the result (for its after-hook)."""
    assert message.spec is not None and message.version is not None
    spec, version = message.spec, message.version
    out_label, in_label = frame_labels(role)
    _log_message(in_label, spec.name, message.payload, body)
    result = await role.handle_call(spec.name, message.payload, message.message_id)
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


AuthCallback = Callable[[str, str, str], bool | Awaitable[bool]]
"""``auth(charge_point_id, username, password)`` → whether the request may be served (sync or async)."""


def _basic_authorization(username: str, password: str) -> str:
    """The ``Authorization`` header value of HTTP Basic authentication (RFC 7617, UTF-8)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, colon, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (username, password) if colon else None


async def _authorised(auth: AuthCallback, request: web.Request, charge_point_id: str) -> bool:
    credentials = _basic_credentials(request.headers.get("Authorization", ""))
    if credentials is None:
        return False
    verdict = auth(charge_point_id, *credentials)
    return bool(await verdict) if inspect.isawaitable(verdict) else bool(verdict)


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
    """A request body read as it arrives: whole, never past ``max_size``, by a deadline."""

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


def _spawn_after(result: InboundResult | None, tasks: set[asyncio.Task[None]]) -> None:
    if result is None or result.after is None:
        return
    task = asyncio.create_task(result.after())
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _send_then_after(
    request: web.Request, response: web.Response, result: InboundResult | None, tasks: set[asyncio.Task[None]]
) -> web.Response:
    """Send the response now, then start the after-hook: it runs once the answer is on the wire."""
    await response.prepare(request)
    await response.write_eof()
    _spawn_after(result, tasks)
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
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._host = host
        self._port = port
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
        self._server = await asyncio.get_running_loop().create_server(self._accept, self._host, self._port)

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
        max_size: int,
        *,
        ssl: ssl_module.SSLContext | None = None,
        client_ssl: ssl_module.SSLContext | None = None,
        client_auth: tuple[str, str] | None = None,
        head_timeout: float = DEFAULT_HEAD_TIMEOUT,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        tls_handshake_timeout: float = DEFAULT_TLS_HANDSHAKE_TIMEOUT,
        max_connections: int | None = None,
        max_connections_per_address: int | None = DEFAULT_MAX_PER_ADDRESS,
    ) -> None:
        self.host = host
        self._port = port
        self.max_size = max_size
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
        self._client_headers = {"Authorization": _basic_authorization(*client_auth)} if client_auth else None
        self._tasks: set[asyncio.Task[None]] = set()
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

    async def _start_http(
        self, routes: Sequence[tuple[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]]
    ) -> None:
        connector = aiohttp.TCPConnector(
            ssl=self._client_ssl if self._client_ssl is not None else True, keepalive_timeout=_CLIENT_KEEPALIVE
        )
        self._session = aiohttp.ClientSession(connector=connector, headers=self._client_headers)
        app = web.Application(client_max_size=self.max_size)
        for path, handler in routes:
            app.router.add_post(path, handler)
        self._runner = web.AppRunner(
            app, access_log=None, keepalive_timeout=self.head_timeout, lingering_time=_LINGERING_TIME
        )
        await self._runner.setup()
        site = _GuardedSite(
            self._runner,
            self.host,
            self._port,
            ssl_context=self._ssl,
            gate=self.gate,
            tls_handshake_timeout=self.tls_handshake_timeout,
        )
        await site.start()
        if site.sockets:
            self._port = int(site.sockets[0].getsockname()[1])
        self._quieted = asyncio.get_running_loop()
        quiet_accept_errors(self._quieted)

    async def _close_http(self) -> None:
        for task in list(self._tasks):
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


@dataclass(eq=False)
class _Registered:
    role: CentralSystem
    link: SoapLink
    version: OcppVersion
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
    ``await start()`` / ``await close()``). ``versions`` defaults to the role class's; the version of each
    request is read from its body's namespace, so one URL serves them all. ``max_size`` bounds a request
    body (and an answer to a call out); ``max_calls_in_flight`` the unanswered calls to one charge point.

    SOAP has no connection to lose, so a charge point counts as connected from its first request until
    ``idle_timeout`` seconds pass without one (:data:`DEFAULT_IDLE_TIMEOUT`, 15 minutes; None: until the
    server closes, which lets a server anyone can post to grow without bound); set it well above the
    heartbeat interval you hand out, e.g. 2.5 times it. Then it is unregistered, with ``on_disconnect``,
    and everything kept for it is released. ``max_charge_points`` (:data:`DEFAULT_MAX_CHARGE_POINTS`;
    None: no cap) bounds how many are registered at once: a new one over it gets HTTP 503 without a
    Fault, so it tries again later.

    ``auth(charge_point_id, username, password)`` (sync or async) checks HTTP Basic credentials of every
    request against the chargeBoxIdentity it carries, before the body is read further (see the module
    docstring): a missing or refused one gets HTTP 401 with ``WWW-Authenticate: Basic`` and a
    SecurityError Fault, so one charge point's password cannot speak for another. ``check_id(id)``
    returns why a chargeBoxIdentity is refused, or None (default :func:`~ocpprpc._identity.check_charge_point_id`:
    1 to 48 printable characters, no white space, ``/`` or ``\\``); a refused one gets a SecurityError
    Fault with HTTP 400. ``callback_policy`` judges the address each charge point announces (default
    :func:`same_host_callback`; see "Call-back addresses"). ``ssl`` serves https; ``client_ssl`` is the TLS
    context for calling charge points back at https addresses.

    HTTP limits (module docstring, "Order of work"): ``head_timeout``, ``body_timeout``,
    ``tls_handshake_timeout``; ``max_connections`` / ``max_connections_per_address`` cap the open
    connections (by default the process's shared :func:`~ocpprpc._exposure.shared_gate`, which every
    server of the process shares; passing either gives this server a gate of its own).
    """

    def __init__(
        self,
        server: CentralSystemServer[Any],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        path: str = "/",
        versions: Sequence[str] | None = None,
        max_size: int = DEFAULT_MAX_SIZE,
        max_calls_in_flight: int = 1,
        auth: AuthCallback | None = None,
        check_id: IdCheck = check_charge_point_id,
        callback_policy: CallbackPolicy = same_host_callback,
        ssl: ssl_module.SSLContext | None = None,
        client_ssl: ssl_module.SSLContext | None = None,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_charge_points: int | None = DEFAULT_MAX_CHARGE_POINTS,
        head_timeout: float = DEFAULT_HEAD_TIMEOUT,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        tls_handshake_timeout: float = DEFAULT_TLS_HANDSHAKE_TIMEOUT,
        max_connections: int | None = None,
        max_connections_per_address: int | None = DEFAULT_MAX_PER_ADDRESS,
    ) -> None:
        super().__init__(
            host,
            port,
            max_size,
            ssl=ssl,
            client_ssl=client_ssl,
            head_timeout=head_timeout,
            body_timeout=body_timeout,
            tls_handshake_timeout=tls_handshake_timeout,
            max_connections=max_connections,
            max_connections_per_address=max_connections_per_address,
        )
        self._auth = auth
        self.check_id = check_id
        self.callback_policy = callback_policy
        self.idle_timeout = idle_timeout
        self.max_charge_points = max_charge_points
        self._sweeper: asyncio.Task[None] | None = None
        self.server = server
        self.path = "/" + path.strip("/") if path.strip("/") else "/"
        self.versions = [resolve_version(v) for v in (versions or server.versions)]
        self.max_calls_in_flight = max_calls_in_flight
        self._links: dict[str, _Registered] = {}
        self._full_log = _RateLimitedLog()

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self.host}:{self.port}{self.path}"

    @property
    def registered(self) -> int:
        """How many SOAP charge points are registered now (for monitoring)."""
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
        """Unregister charge points silent for ``idle_timeout`` seconds (checked a few times per period)."""
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
                _log.info("charge point %s silent for %g s: unregistered", loggable(cp_id), idle_timeout)
                del self._links[cp_id]
                await registered.link.close()
                await self.server.detach(registered.role, registered.link)

    async def close(self) -> None:
        """Forget every SOAP charge point (each gets ``on_disconnect``) and stop serving."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for registered in list(self._links.values()):
            await registered.link.close()
            await self.server.detach(registered.role, registered.link)
        self._links.clear()
        await self._close_http()

    async def __aenter__(self) -> SoapServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            body = _RequestBody(request, self.max_size, self.body_timeout)
            verified = await self._authenticate(request, body) if self._auth is not None else None
            await body.read()
            data = body.data()
            message = decode_message(data, self.versions, max_size=self.max_size)
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
        return await _send_then_after(request, response, result, self._tasks)

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
            allowed = await _authorised(self._auth, request, cp_id)
        except Exception:
            _log.exception("the auth callback failed for %s", loggable(cp_id))
            raise _Refused(_plain_response(503, "credentials cannot be checked now", **{"Retry-After": "60"})) from None
        body.postpone(loop.time() - started)
        if not allowed:
            _log.warning("refused a SOAP message from %s: credentials not valid for %s", request.remote,
                         loggable(cp_id))  # fmt: skip
            refusal = _fault_response(SecurityError(f"credentials not valid for {cp_id}"))
            refusal.set_status(401)
            refusal.headers["WWW-Authenticate"] = 'Basic realm="ocpp", charset="UTF-8"'
            refusal.force_close()  # the rest of the body is not read
            raise _Refused(refusal)
        return cp_id

    async def _role_for(self, cp_id: str, message: SoapMessage, request_host: str | None) -> Role:
        """The registered role of ``cp_id``, created (or replaced, on a version change) as needed."""
        assert message.version is not None and self._session is not None
        address = message.from_address or message.reply_to_address
        registered = self._links.get(cp_id)
        current: Role | None = self.server.charge_points.get(cp_id)
        if registered is not None:
            registered.last_seen = asyncio.get_running_loop().time()
        if (
            registered is not None
            and registered.role is current
            and registered.version is message.version
            and not registered.link.closed  # a call to it failed: it is back now, with a fresh link
        ):
            if registered.announced != (address, request_host):
                registered.announced = (address, request_host)
                self._judge_address(cp_id, registered.link, address, request_host)
            return registered.role
        if registered is None and self.max_charge_points is not None and len(self._links) >= self.max_charge_points:
            self._full_log.warning(
                "refused charge point %s: %d SOAP charge points registered (max_charge_points)",
                loggable(cp_id),
                len(self._links),
            )
            raise _Refused(_plain_response(503, "too many charge points registered", **{"Retry-After": "300"}))
        if registered is not None:
            await self.server.detach(registered.role, registered.link)
        new_role: CentralSystem = self.server.create(cp_id, message.version)
        link = SoapLink(
            new_role, self._session, "", max_calls_in_flight=self.max_calls_in_flight, max_size=self.max_size
        )
        self._judge_address(cp_id, link, address, request_host)
        loop = asyncio.get_running_loop()
        self._links[cp_id] = _Registered(new_role, link, message.version, loop.time(), (address, request_host))
        await self.server.attach(new_role, link, message.version)
        return new_role

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


class SoapChargePointClient(_HttpEndpoint):
    """A charge point speaking SOAP to the central system at ``central_system_url``.

    ``connect(...)`` is this class: ``async with connect(cp, "http://cs:9100/"):``. It serves its
    ChargePointService on ``host:port`` (the remote action port) and announces ``from_url`` (default
    ``http://host:port/``) as its address in ``From`` / ``ReplyTo``; behind NAT or a proxy, pass the
    address the central system can reach (and see the central system's call-back policy). After a failed
    POST it re-links after a back-off growing from ``backoff_initial`` to ``backoff_max`` seconds (with
    ``jitter``), so queued transaction messages retry. ``auth=(username, password)`` sends HTTP Basic
    credentials with every request to the central system (never put them in the URL: a URL with user
    info is refused); ``ssl`` is the TLS context for an https central system, ``server_ssl`` serves the
    remote action port over https. The remote action port has the central system's HTTP limits
    (``head_timeout``, ``body_timeout``, ``tls_handshake_timeout``, ``max_connections``,
    ``max_connections_per_address``).
    """

    def __init__(
        self,
        charge_point: ChargePoint,
        central_system_url: str,
        *,
        from_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_size: int = DEFAULT_MAX_SIZE,
        max_calls_in_flight: int = 1,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        jitter: float = 0.5,
        auth: tuple[str, str] | None = None,
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
        super().__init__(
            host,
            port,
            max_size,
            ssl=server_ssl,
            client_ssl=ssl,
            client_auth=auth,
            head_timeout=head_timeout,
            body_timeout=body_timeout,
            tls_handshake_timeout=tls_handshake_timeout,
            max_connections=max_connections,
            max_connections_per_address=max_connections_per_address,
        )
        self.charge_point = charge_point
        self.central_system_url = central_system_url
        self._from_url = from_url
        self.max_calls_in_flight = max_calls_in_flight
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.jitter = jitter
        self._link: SoapLink | None = None
        self._watch: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def from_url(self) -> str:
        """The address the central system calls this charge point at (``From`` of every request)."""
        return self._from_url or f"{self._scheme}://{self.host}:{self.port}/"

    async def start(self) -> SoapChargePointClient:
        await self._start_http([("/{tail:.*}", self._handle)])
        _log.info("charge point %s: remote action port at %s", loggable(self.charge_point.id), self.from_url)
        await self._attach_new_link()
        self._watch = asyncio.create_task(self._keep_linked())
        return self

    async def close(self) -> None:
        self._closing = True
        if self._watch is not None:
            self._watch.cancel()
        if self._link is not None:
            await self._link.close()
            await self.charge_point.detach(self._link)
        await self._close_http()

    async def __aenter__(self) -> SoapChargePointClient:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _attach_new_link(self) -> None:
        assert self._session is not None
        self._link = SoapLink(
            self.charge_point,
            self._session,
            self.central_system_url,
            own_url=self.from_url,
            max_calls_in_flight=self.max_calls_in_flight,
            max_size=self.max_size,
        )
        await self.charge_point.attach(self._link)

    async def _keep_linked(self) -> None:
        """After a failed POST closed the link: back off, then attach a fresh one (the outbox retries)."""
        delay = self.backoff_initial
        while not self._closing:
            await asyncio.sleep(0.05)
            link = self._link
            if link is None or not link.closed:
                delay = self.backoff_initial
                continue
            await self.charge_point.detach(link)
            wait = delay * (1 + random.uniform(-self.jitter, self.jitter))
            _log.info(
                "charge point %s: central system unreachable; retrying in %.1f s", loggable(self.charge_point.id), wait
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, self.backoff_max)
            await self._attach_new_link()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        cp = self.charge_point
        try:
            body = _RequestBody(request, self.max_size, self.body_timeout)
            await body.read()
            data = body.data()
            message = decode_message(data, [cp.version], max_size=self.max_size)
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
        return await _send_then_after(request, response, result, self._tasks)


serve = SoapServer
"""Serve a central system over OCPP-S: ``async with serve(server, host, port, path="/ocpp") as soap_server:``."""

connect = SoapChargePointClient
"""Make a charge point speak OCPP-S: ``async with connect(cp, central_system_url, port=9101):``."""
