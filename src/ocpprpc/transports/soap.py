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

A SOAP charge point is "connected" from its first request until its central system server closes (or it
connects again by WebSocket, which replaces it). On the charge point's side, a failed POST (the central
system unreachable) closes the link; the client then re-attaches a fresh link after a back-off, which is
what lets the charge point's transaction outbox retry, in order, until the central system is back.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import inspect
import json
import logging
import random
import ssl as ssl_module
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from lxml import etree

from .._ocppj import frame_labels, frame_logger
from .._versions import resolve_version
from ..errors import CallTimeout, ConnectionClosed, OcppError, ProtocolError, SecurityError, UsageError
from ..messages._base import OcppModel, OcppVersion, Side
from ..roles import CentralSystem, ChargePoint, InboundResult, Role
from ..server import CentralSystemServer
from ._soap_codec import (
    DEFAULT_MAX_SIZE,
    FAULT_CONTENT_TYPE,
    SOAP_NS,
    WSA_NS,
    EnvelopeError,
    SoapMessage,
    content_type,
    decode_message,
    encode_fault,
    encode_request,
    encode_response,
    fault_status,
    require_identity,
)

__all__ = ["AuthCallback", "SoapChargePointClient", "SoapLink", "SoapServer", "connect", "serve", "xml_logger"]

_log = logging.getLogger("ocpprpc.soap")
xml_logger = logging.getLogger("ocpprpc.soap.xml")
"""Raw envelopes in and out, at DEBUG (so an INFO frame log stays readable; the simulator's ``print_xml``)."""


def _message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def _log_message(label: str, action: str, payload: Any, body: bytes) -> None:
    if frame_logger.isEnabledFor(logging.INFO):
        frame_logger.info("%s /%s %s", label, action, json.dumps(payload, separators=(",", ":"), ensure_ascii=False))
    if xml_logger.isEnabledFor(logging.DEBUG):
        xml_logger.debug("%s %s", label, body.decode("utf-8", "replace"))


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


class SoapLink:
    """The :class:`~ocpprpc.roles.Link` of one SOAP peer: each call is an HTTP POST to ``peer_url``."""

    def __init__(
        self,
        role: Role,
        session: aiohttp.ClientSession,
        peer_url: str,
        *,
        own_url: str | None = None,
        max_calls_in_flight: int = 1,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        self.role = role
        self.peer_url = peer_url
        """Where the peer's service is posted to (a charge point's address may change; see the server)."""
        self.own_url = own_url
        self._session = session
        self._in_flight = asyncio.Semaphore(max_calls_in_flight)
        self._max_size = max_size
        self._closed = False
        self._out_label, self._in_label = frame_labels(role)

    @property
    def closed(self) -> bool:
        return self._closed

    async def request(
        self, action: str, payload: dict[str, Any], timeout: float, message_id: str | None = None
    ) -> dict[str, Any]:
        if self._closed:
            raise ConnectionClosed(f"SOAP link to {self.role.id} is closed")
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
            _log_message(self._out_label, action, payload, body)
            try:
                async with self._session.post(
                    self.peer_url,
                    data=body,
                    headers={"Content-Type": content_type(action)},
                    timeout=aiohttp.ClientTimeout(total=timeout),
                ) as response:
                    answer = await response.content.read(self._max_size + 1)
            except TimeoutError:
                raise CallTimeout(action=action, unique_id=message_id, timeout=timeout) from None
            except aiohttp.ClientError as exc:
                self._closed = True
                raise ConnectionClosed(f"POST to {self.peer_url} failed: {exc}") from None
        try:
            message = decode_message(answer, [version], max_size=self._max_size)
        except EnvelopeError as exc:
            _log.warning("%s: unreadable answer to %s (HTTP %d): %s", self.role.id, action, response.status, exc)
            raise OcppError.from_code(exc.code.value, f"unreadable SOAP answer: {exc.description}") from None
        if message.fault is not None:
            _log_message(self._in_label, action + "Fault", {"fault": str(message.fault)}, answer)
            raise message.fault
        _log_message(self._in_label, action + "Response", message.payload, answer)
        if message.spec is None or message.spec.name != action or not message.is_response:
            raise ProtocolError(f"the answer to {action} was {message!r}", remote=True)
        return message.payload

    async def send_raw(self, text: str) -> str:
        """POST ``text`` as the body, unchecked, and return the HTTP response body."""
        _log_message(self._out_label, "(raw)", text, text.encode())
        try:
            async with self._session.post(
                self.peer_url, data=text.encode(), headers={"Content-Type": "application/soap+xml; charset=utf-8"}
            ) as response:
                answer = await response.content.read(self._max_size + 1)
        except aiohttp.ClientError as exc:
            raise ConnectionClosed(f"POST to {self.peer_url} failed: {exc}") from None
        text_answer = answer.decode("utf-8", "replace")
        if xml_logger.isEnabledFor(logging.DEBUG):
            xml_logger.debug("%s HTTP %d %s", self._in_label, response.status, text_answer)
        return text_answer

    async def close(self, reason: str = "") -> None:
        self._closed = True


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


async def _read_body(request: web.Request, max_size: int) -> bytes:
    """At most ``max_size + 1`` bytes: enough for the codec to tell an oversize body, never more."""
    return await request.content.read(max_size + 1)


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


class _HttpEndpoint:
    """What both SOAP endpoints share: an aiohttp server, a client session for calling out, background tasks."""

    def __init__(
        self,
        host: str,
        port: int,
        max_size: int,
        *,
        ssl: ssl_module.SSLContext | None = None,
        client_ssl: ssl_module.SSLContext | None = None,
        client_auth: tuple[str, str] | None = None,
    ) -> None:
        self.host = host
        self._port = port
        self.max_size = max_size
        self._ssl = ssl
        self._client_ssl = client_ssl
        self._client_headers = {"Authorization": _basic_authorization(*client_auth)} if client_auth else None
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

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
        connector = aiohttp.TCPConnector(ssl=self._client_ssl) if self._client_ssl is not None else None
        self._session = aiohttp.ClientSession(connector=connector, headers=self._client_headers)
        app = web.Application(client_max_size=self.max_size)
        for path, handler in routes:
            app.router.add_post(path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port, ssl_context=self._ssl)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            self._port = int(sockets[0].getsockname()[1])

    async def _close_http(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None


# -- central system ----------------------------------------------------------------------------------


@dataclass
class _Registered:
    role: CentralSystem
    link: SoapLink
    version: OcppVersion
    last_seen: float
    """Event-loop time of the charge point's last request."""


class SoapServer(_HttpEndpoint):
    """The central system's SOAP endpoint: the CentralSystemService of ``server`` at ``http://host:port/path``.

    ``serve(...)`` is this class: ``async with serve(server, "0.0.0.0", 9100) as soap_server:`` (or
    ``await start()`` / ``await close()``). ``versions`` defaults to the role class's; the version of each
    request is read from its body's namespace, so one URL serves them all. ``max_size`` bounds a request
    body; ``max_calls_in_flight`` the unanswered calls to one charge point.

    SOAP has no connection to lose, so a charge point counts as connected from its first request until
    ``idle_timeout`` seconds pass without one (None: until the server closes); set it above the heartbeat
    interval you hand out, e.g. 2.5 times it. Then it is unregistered, with ``on_disconnect``.

    ``auth(charge_point_id, username, password)`` (sync or async) checks HTTP Basic credentials of every
    request against the chargeBoxIdentity it carries: a missing or refused one gets HTTP 401 with
    ``WWW-Authenticate: Basic`` and a SecurityError Fault, so one charge point's password cannot speak
    for another. ``ssl`` serves https; ``client_ssl`` is the TLS context for calling charge points back
    at https addresses.
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
        ssl: ssl_module.SSLContext | None = None,
        client_ssl: ssl_module.SSLContext | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        super().__init__(host, port, max_size, ssl=ssl, client_ssl=client_ssl)
        self._auth = auth
        self.idle_timeout = idle_timeout
        self._sweeper: asyncio.Task[None] | None = None
        self.server = server
        self.path = "/" + path.strip("/") if path.strip("/") else "/"
        self.versions = [resolve_version(v) for v in (versions or server.versions)]
        self.max_calls_in_flight = max_calls_in_flight
        self._links: dict[str, _Registered] = {}

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self.host}:{self.port}{self.path}"

    async def start(self) -> SoapServer:
        routes = [(self.path, self._handle)]
        if self.path != "/":
            routes.append((self.path.rstrip("/") + "/", self._handle))
        await self._start_http(routes)
        if self.idle_timeout is not None:
            self._sweeper = asyncio.create_task(self._forget_idle(self.idle_timeout))
        _log.info("SOAP central system listening on %s", self.url)
        return self

    async def _forget_idle(self, idle_timeout: float) -> None:
        """Unregister charge points silent for ``idle_timeout`` seconds (checked a few times per period)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(idle_timeout / 4, 0.01))
            for cp_id, registered in list(self._links.items()):
                if loop.time() - registered.last_seen > idle_timeout and self._links.get(cp_id) is registered:
                    _log.info("charge point %s silent for %s s: unregistered", cp_id, idle_timeout)
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
        body = await _read_body(request, self.max_size)
        try:
            message = decode_message(body, self.versions, max_size=self.max_size)
            if message.is_response or message.spec is None or message.version is None:
                raise EnvelopeError(
                    ProtocolError.default_code, "a central system takes requests, not responses or faults"
                )
            cp_id = require_identity(message)
        except EnvelopeError as exc:
            _log.warning("refused SOAP message from %s: %s", request.remote, exc)
            return _fault_response(exc)
        spec = message.spec
        if self._auth is not None and not await _authorised(self._auth, request, cp_id):
            _log.warning("refused SOAP message from %s: credentials not valid for %s", request.remote, cp_id)
            refusal = _fault_response(
                SecurityError(f"credentials not valid for {cp_id}"),
                relates_to=message.message_id,
                namespace=spec.namespace,
            )
            refusal.set_status(401)
            refusal.headers["WWW-Authenticate"] = 'Basic realm="ocpp", charset="UTF-8"'
            return refusal
        if spec.initiator is not Side.CHARGE_POINT:
            error = ProtocolError(f"{spec.name} is sent by a central system, not to one")
            return _fault_response(error, relates_to=message.message_id, namespace=spec.namespace)
        role = await self._role_for(cp_id, message)
        response, result = await _serve_request(role, message, body)
        return await _send_then_after(request, response, result, self._tasks)

    async def _role_for(self, cp_id: str, message: SoapMessage) -> Role:
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
            if address and address != registered.link.peer_url:
                _log.info("charge point %s now at %s", cp_id, address)
                registered.link.peer_url = address
            return registered.role
        if registered is not None:
            await self.server.detach(registered.role, registered.link)
        new_role: CentralSystem = self.server.create(cp_id, message.version)
        link = SoapLink(
            new_role, self._session, address or "", max_calls_in_flight=self.max_calls_in_flight, max_size=self.max_size
        )
        if not address:
            _log.warning("charge point %s sent no From / ReplyTo address: it cannot be called", cp_id)
        self._links[cp_id] = _Registered(new_role, link, message.version, asyncio.get_running_loop().time())
        await self.server.attach(new_role, link, message.version)
        return new_role


# -- charge point ----------------------------------------------------------------------------------------


class SoapChargePointClient(_HttpEndpoint):
    """A charge point speaking SOAP to the central system at ``central_system_url``.

    ``connect(...)`` is this class: ``async with connect(cp, "http://cs:9100/"):``. It serves its
    ChargePointService on ``host:port`` (the remote action port) and announces ``from_url`` (default
    ``http://host:port/``) as its address in ``From`` / ``ReplyTo``; behind NAT or a proxy, pass the
    address the central system can reach. After a failed POST it re-links after a back-off growing from
    ``backoff_initial`` to ``backoff_max`` seconds (with ``jitter``), so queued transaction messages retry.
    ``auth=(username, password)`` sends HTTP Basic credentials with every request to the central system;
    ``ssl`` is the TLS context for an https central system, ``server_ssl`` serves the remote action port
    over https.
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
    ) -> None:
        super().__init__(host, port, max_size, ssl=server_ssl, client_ssl=ssl, client_auth=auth)
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
        _log.info("charge point %s: remote action port at %s", self.charge_point.id, self.from_url)
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
            _log.info("charge point %s: central system unreachable; retrying in %.1f s", self.charge_point.id, wait)
            await asyncio.sleep(wait)
            delay = min(delay * 2, self.backoff_max)
            await self._attach_new_link()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await _read_body(request, self.max_size)
        cp = self.charge_point
        try:
            message = decode_message(body, [cp.version], max_size=self.max_size)
            if message.is_response or message.spec is None:
                raise EnvelopeError(ProtocolError.default_code, "a charge point takes requests here")
        except EnvelopeError as exc:
            _log.warning("charge point %s refused a SOAP message: %s", cp.id, exc)
            return _fault_response(exc)
        spec = message.spec
        identity = message.charge_box_identity
        if spec.initiator is not Side.CENTRAL_SYSTEM or (identity is not None and identity != cp.id):
            reason = (
                f"{spec.name} is not sent to a charge point"
                if spec.initiator is not Side.CENTRAL_SYSTEM
                else f"this is charge point {cp.id}, not {identity}"
            )
            return _fault_response(ProtocolError(reason), relates_to=message.message_id, namespace=spec.namespace)
        response, result = await _serve_request(cp, message, body)
        return await _send_then_after(request, response, result, self._tasks)


serve = SoapServer
"""Serve a central system over OCPP-S: ``async with serve(server, host, port, path="/ocpp") as soap_server:``."""

connect = SoapChargePointClient
"""Make a charge point speak OCPP-S: ``async with connect(cp, central_system_url, port=9101):``."""
