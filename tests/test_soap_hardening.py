"""OCPP-S against hostile and broken peers, over real sockets on 127.0.0.1: what a deployment relies on.

Each test is named by the guarantee it proves. Attack loops are bounded in count and time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import logging
import re
import time
import weakref
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import pytest
from aiohttp import web

from ocpprpc import (
    CentralSystem,
    CentralSystemServer,
    ConnectionClosed,
    OcppError,
    PropertyConstraintViolation,
    ProtocolError,
    SecurityError,
    UnreadableAnswer,
    UsageError,
    on,
)
from ocpprpc.messages import v16
from ocpprpc.messages.examples import example
from ocpprpc.transports import soap
from ocpprpc.transports._soap_codec import encode_fault, encode_response
from ocpprpc.transports.soap import SoapChargePointClient, SoapServer

from .roles_for_tests import EchoCentralSystem, EchoChargePoint
from .tcp_proxy import TcpProxy

CS16 = "urn://Ocpp/Cs/2015/10/"
CP16 = "urn://Ocpp/Cp/2015/10/"


# -- raw HTTP on 127.0.0.1 ----------------------------------------------------------------------------------


def envelope(charge_point_id: str, body: str, *, header: str = "", namespace: str = CS16) -> bytes:
    """A request envelope written by hand: ``body`` in the Body, ``header`` after the identity."""
    return (
        f'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"'
        f' xmlns:tns="{namespace}"><s:Header><tns:chargeBoxIdentity>{charge_point_id}</tns:chargeBoxIdentity>'
        f"{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def from_header(address: str) -> str:
    return f"<a:From><a:Address>{address}</a:Address></a:From>"


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def http_head(content_length: int, *, path: str = "/", extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
        f"Content-Length: {content_length}\r\nConnection: close\r\n{extra}\r\n"
    ).encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one HTTP response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    return int(lines[0].split()[1]), headers, await reader.readexactly(length)


async def exchange(port: int, data: bytes, *, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` on a fresh connection and read one response."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        async with asyncio.timeout(timeout):
            return await read_response(reader)
    finally:
        writer.close()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def closed_by_peer(reader: asyncio.StreamReader) -> bool:
    """Whether the peer closed (EOF or reset); reads and drops what it sent before."""
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    return True


class Listener:
    """A TCP server that counts the connections it gets (to prove nothing was sent somewhere)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Listener:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()


class CannedHttp:
    """An HTTP server answering each request with the next canned bytes (the last one repeats).

    ``None`` resets the connection instead of answering. Each request is recorded.
    """

    def __init__(self, answers: list[bytes | None]) -> None:
        self.answers = answers
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    async def __aenter__(self) -> CannedHttp:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.requests.append(head + await reader.readexactly(length))
            answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
            if answer is None:
                writer.transport.abort()
                return
            writer.write(answer)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        writer.close()


def http_answer(status: str, body: bytes = b"", *, length: int | None = None, extra: str = "") -> bytes:
    size = len(body) if length is None else length
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: {size}\r\n"
        f"Connection: close\r\n{extra}\r\n"
    ).encode() + body


def heartbeat_response() -> bytes:
    spec = next(a for a in v16.VERSION.actions if a.name == "Heartbeat")
    payload = {"currentTime": "2026-01-01T00:00:00Z"}
    return encode_response(v16.VERSION, spec, payload, charge_box_identity="CP1", relates_to=None)


def boot_response() -> bytes:
    spec = next(a for a in v16.VERSION.actions if a.name == "BootNotification")
    payload = {"status": "Accepted", "currentTime": "2026-01-01T00:00:00Z", "interval": 300}
    return encode_response(v16.VERSION, spec, payload, charge_box_identity="CP1", relates_to=None)


def security_fault() -> bytes:
    return encode_fault(SecurityError("credentials not valid for CP1"), namespace=CS16)


Endpoint = SoapServer | SoapChargePointClient


@asynccontextmanager
async def endpoint_of(kind: str, **options: Any) -> AsyncGenerator[Endpoint, None]:
    """A central system's SOAP server, or a charge point's remote action port, with HTTP ``options``."""
    server = CentralSystemServer(EchoCentralSystem)
    if kind == "central system":
        async with soap.serve(server, **options) as endpoint:
            yield endpoint
    else:
        async with (
            soap.serve(server) as cs_endpoint,
            soap.connect(EchoChargePoint("CP1", "1.6"), cs_endpoint.url, **options) as client,
        ):
            yield client


ENDPOINTS = ["central system", "charge point"]


def soap_request_for(kind: str) -> bytes:
    """A valid request for the endpoint: a Heartbeat to a central system, a Reset to charge point CP1."""
    if kind == "central system":
        return envelope("CP1", "<tns:heartbeatRequest/>")
    return envelope("CP1", "<tns:resetRequest><tns:type>Soft</tns:type></tns:resetRequest>", namespace=CP16)


# -- 1. whole bodies ----------------------------------------------------------------------------------------


async def test_a_request_body_arriving_in_two_segments_50_ms_apart_is_read_whole() -> None:
    body = envelope("CP1", "<tns:heartbeatRequest/>")
    head = http_head(len(body))
    server = CentralSystemServer(EchoCentralSystem)
    async with (
        asyncio.timeout(10),
        soap.serve(server) as endpoint,
        TcpProxy(endpoint.port, split_at=len(head) + len(body) // 2, delay=0.05) as link,
    ):
        status, _, answer = await exchange(link.port, head + body)
        assert status == 200 and b"heartbeatResponse" in answer
        assert [type(r) for r in server["CP1"].received] == [v16.HeartbeatRequest]


def big_meter_values(kib: int) -> v16.MeterValuesRequest:
    reading = {"value": "12345.678", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
    one = len(b"<tns:sampledValue><tns:value>12345.678</tns:value><tns:measurand>Energy.Active.Import.Register")
    count = kib * 1024 // (one + 80)
    return v16.MeterValuesRequest.model_validate(
        {"connectorId": 1, "meterValue": [{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [reading] * count}]}
    )


async def test_a_374_kib_meter_values_request_from_a_charge_point_is_served() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    request = big_meter_values(374)
    async with asyncio.timeout(15), soap.serve(server) as endpoint:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url):
            assert await cp.call(request) == v16.MeterValuesResponse()
        assert server["CP1"].received == [request]


class BigAnswerCentralSystem(EchoCentralSystem):
    @on("DataTransfer")
    def data_transfer(self, request: v16.DataTransferRequest) -> v16.DataTransferResponse:
        return v16.DataTransferResponse(status="Accepted", data="x" * 300_000)


async def test_an_answer_arriving_in_pieces_is_read_whole_by_the_caller_and_by_send_raw() -> None:
    server = CentralSystemServer(BigAnswerCentralSystem)
    async with (
        asyncio.timeout(20),
        soap.serve(server) as endpoint,
        TcpProxy(endpoint.port, piece=32 * 1024, delay=0.01) as link,
    ):
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, f"http://127.0.0.1:{link.port}/"):
            answer = await cp.call(v16.DataTransferRequest(vendor_id="v"))
            assert answer.data == "x" * 300_000
            raw = await cp.send_raw(envelope("CP1", "<tns:dataTransferRequest><tns:vendorId>v</tns:vendorId>"
                                                    "</tns:dataTransferRequest>").decode())  # fmt: skip
            assert raw is not None and raw.endswith("</s:Envelope>") and raw.count("x") >= 300_000


@pytest.mark.parametrize("kind", ENDPOINTS)
async def test_a_body_declared_over_max_size_is_refused_at_once_without_reading_it(kind: str) -> None:
    async with asyncio.timeout(5), endpoint_of(kind, max_message_size=4096) as endpoint:
        started = time.monotonic()
        # the head announces 1 MB and no byte of it follows: the answer cannot wait for the body
        status, _, answer = await exchange(endpoint.port, http_head(1_000_000))
        assert status == 400 and b"FormationViolation" in answer and b"exceeds the limit" in answer
        assert time.monotonic() - started < 1.0


async def test_a_chunked_body_over_max_size_is_refused_once_it_passes_the_limit() -> None:
    async with asyncio.timeout(5), endpoint_of("central system", max_message_size=4096) as endpoint:
        reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        writer.write(b"2000\r\n" + b"<" * 0x2000 + b"\r\n")  # 8 KiB, and no end: the limit is enough to refuse
        status, _, answer = await read_response(reader)
        writer.close()
        assert status == 400 and b"FormationViolation" in answer


@pytest.mark.parametrize("kind", ENDPOINTS)
async def test_a_body_that_stops_arriving_gets_408_after_the_body_timeout(kind: str) -> None:
    async with asyncio.timeout(5), endpoint_of(kind, body_timeout=0.3) as endpoint:
        body = soap_request_for(kind)
        started = time.monotonic()
        status, _, _ = await exchange(endpoint.port, http_head(len(body)) + body[:100])
        assert status == 408
        assert 0.25 < time.monotonic() - started < 2.0


# -- 2. transport failures are not OCPP answers ------------------------------------------------------------


def cut_off_answer() -> bytes:
    whole = heartbeat_response()
    return http_answer("200 OK", whole[:100], length=len(whole))


TRANSPORT_FAILURES: dict[str, bytes] = {
    "proxy 502 without a body": http_answer("502 Bad Gateway"),
    "empty 500": http_answer("500 Internal Server Error"),
    "HTML on 200": http_answer("200 OK", b"<html><body>maintenance</body></html>"),
    "not XML at all": http_answer("200 OK", b"\x00\x01 garbage"),
    "answer cut off": cut_off_answer(),
    "401 with a SecurityError Fault": http_answer("401 Unauthorized", security_fault()),
    "503 with a Fault": http_answer("503 Service Unavailable", security_fault()),
    "302 redirect": http_answer("302 Found", extra="Location: http://127.0.0.1:9/\r\n"),
    "response to another action": http_answer("200 OK", boot_response()),
    "response with HTTP 500": http_answer("500 Internal Server Error", heartbeat_response()),
    "answer over max_size": http_answer("200 OK", b"<" * 8000),
}


@pytest.mark.parametrize("answer", TRANSPORT_FAILURES.values(), ids=TRANSPORT_FAILURES.keys())
async def test_an_http_answer_that_is_no_ocpp_answer_raises_unreadable_answer_never_an_ocpp_error(
    answer: bytes,
) -> None:
    async with asyncio.timeout(10), CannedHttp([answer, http_answer("200 OK", heartbeat_response())]) as peer:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, peer.url, max_message_size=4096):
            with pytest.raises(UnreadableAnswer):
                await cp.call(v16.HeartbeatRequest())
            # the link stays: the next call goes out and gets its answer
            assert await cp.call(v16.HeartbeatRequest()) == v16.HeartbeatResponse(
                current_time=datetime(2026, 1, 1, tzinfo=UTC)
            )
            assert len(peer.requests) == 2


async def test_a_connection_reset_instead_of_an_answer_raises_connection_closed() -> None:
    async with asyncio.timeout(10), CannedHttp([None]) as peer:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, peer.url):
            with pytest.raises(ConnectionClosed):
                await cp.call(v16.HeartbeatRequest())


async def test_a_fault_with_a_soap_status_is_the_peers_ocpp_answer() -> None:
    fault = encode_fault(ProtocolError("no such transaction"), namespace=CS16)
    async with asyncio.timeout(10), CannedHttp([http_answer("400 Bad Request", fault)]) as peer:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, peer.url):
            with pytest.raises(ProtocolError) as exc:
                await cp.call(v16.HeartbeatRequest())
            assert exc.value.remote and exc.value.description == "no such transaction"


class CountingCentralSystem(EchoCentralSystem):
    handled: ClassVar[list[str]] = []

    async def on_unhandled(self, action: str, request: Any) -> Any:
        CountingCentralSystem.handled.append(action)
        return await super().on_unhandled(action, request)


class QuickRetryChargePoint(EchoChargePoint):
    transaction_message_retry_interval = 0.05


@asynccontextmanager
async def sabotaging_proxy(target: str, sabotage: Callable[[], web.Response]) -> AsyncGenerator[str, None]:
    """An HTTP proxy to ``target`` that forwards every request, but answers the first StopTransaction's
    forwarded request with ``sabotage()`` instead of the central system's answer (which is thus lost)."""
    spoiled: list[bool] = []

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        async with (
            aiohttp.ClientSession() as http,
            http.post(target, data=body, headers={"Content-Type": request.content_type}) as answer,
        ):
            text = await answer.read()
            if b"stopTransactionRequest" in body and not spoiled:
                spoiled.append(True)
                return sabotage()
            return web.Response(body=text, status=answer.status, headers={"Content-Type": answer.content_type})

    app = web.Application()
    app.router.add_post("/", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/"  # type: ignore[union-attr]
    finally:
        await runner.cleanup()
    assert spoiled, "the proxy never saw the StopTransaction"


SABOTAGE: dict[str, Callable[[], web.Response]] = {
    "502 from a proxy": lambda: web.Response(status=502),
    "garbage on 200": lambda: web.Response(body=b"<<<garbage", content_type="text/plain"),
    "empty 500": lambda: web.Response(status=500),
}


@pytest.mark.parametrize("sabotage", SABOTAGE.values(), ids=SABOTAGE.keys())
async def test_a_stop_transaction_whose_answer_is_garbage_or_a_5xx_is_delivered_again_and_handled_once(
    sabotage: Callable[[], web.Response],
) -> None:
    CountingCentralSystem.handled = []
    server = CentralSystemServer(CountingCentralSystem)
    async with asyncio.timeout(10), soap.serve(server) as endpoint, sabotaging_proxy(endpoint.url, sabotage) as url:
        cp = QuickRetryChargePoint("CP1", "1.6")
        async with soap.connect(cp, url):
            answer = await cp.call(example(v16.StopTransactionRequest))
            assert answer == example(v16.StopTransactionResponse)
            assert cp.pending_transaction_messages == 0
    # the first attempt reached the handler, the retry (same MessageID) was answered from memory
    assert CountingCentralSystem.handled == ["StopTransaction"]


# -- 2b. wire details: message ids, what is logged, faults as ocppjs writes them -------------------------------


_MESSAGE_ID = re.compile(rb"<a:MessageID>([^<]*)</a:MessageID>")
_URN_UUID = re.compile(rb"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


async def test_every_message_id_is_a_urn_uuid_and_a_retried_message_keeps_its_own() -> None:
    async with asyncio.timeout(10), CannedHttp([http_answer("502 Bad Gateway")]) as peer:  # never an OCPP answer
        cp = QuickRetryChargePoint("CP1", "1.6")
        async with soap.connect(cp, peer.url):
            with pytest.raises(UnreadableAnswer):
                await cp.call(v16.HeartbeatRequest())
            with pytest.raises(UnreadableAnswer):
                await cp.call_raw("Heartbeat", {})
            await cp.enqueue(example(v16.StartTransactionRequest))  # the outbox sends it again and again
            await until(lambda: len(peer.requests) >= 4)
            (stored,) = await cp.outbox.pending(cp.id)
    ids: list[bytes] = []
    for request in peer.requests:
        found = _MESSAGE_ID.search(request)
        assert found is not None
        ids.append(found.group(1))
    assert all(_URN_UUID.fullmatch(ident) for ident in ids), ids
    assert len(set(ids[:3])) == 3 and ids[3] == ids[2]  # each message its own id; a retry its first one
    assert ids[2] == b"urn:uuid:" + stored.message_id.encode()  # the outbox keeps the id itself


async def test_a_retry_over_soap_reaches_the_handler_with_the_id_without_its_urn_uuid() -> None:
    seen: list[str | None] = []

    class Recording(EchoCentralSystem):
        async def handle_call(self, action: str, payload: dict[str, Any], message_id: str | None = None) -> Any:
            seen.append(message_id)
            return await super().handle_call(action, payload, message_id)

    async with asyncio.timeout(10), soap.serve(CentralSystemServer(Recording)) as endpoint:
        body = envelope("CP1", "<tns:heartbeatRequest/>", header="<a:MessageID>urn:uuid:1234-ab</a:MessageID>")
        status, _, answer = await exchange(endpoint.port, http_head(len(body)) + body)
        assert status == 200 and b"<a:RelatesTo>urn:uuid:1234-ab</a:RelatesTo>" in answer  # quoted as sent
        body = envelope("CP1", "<tns:heartbeatRequest/>", header="<a:MessageID>uuid:other</a:MessageID>")
        assert (await exchange(endpoint.port, http_head(len(body)) + body))[0] == 200
    assert seen == ["1234-ab", "uuid:other"]


async def test_an_unreadable_answer_is_logged_with_its_envelope_on_the_xml_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = http_answer("200 OK", b"<html><body>down for maintenance</body></html>")
    async with asyncio.timeout(10), CannedHttp([answer]) as peer:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, peer.url):
            with caplog.at_level(logging.DEBUG, logger="ocpprpc.soap.xml"), pytest.raises(UnreadableAnswer):
                await cp.call(v16.HeartbeatRequest())
    logged = [r.getMessage() for r in caplog.records if r.name == "ocpprpc.soap.xml" and r.levelno == logging.DEBUG]
    assert any("unreadable" in line and "down for maintenance" in line for line in logged), logged


OCPPJS_FAULT = (
    b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"'
    b' xmlns:tns="urn://Ocpp/Cs/2015/10/"><soap:Header><tns:chargeBoxIdentity soap:mustUnderstand="true">CP1'
    b"</tns:chargeBoxIdentity></soap:Header><soap:Body><SOAP-ENV:Body><SOAP-ENV:Fault><SOAP-ENV:Code>"
    b"<SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value><SOAP-ENV:Subcode><SOAP-ENV:Value>PropertyConstraintViolation"
    b'</SOAP-ENV:Value></SOAP-ENV:Subcode></SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">bad'
    b" value</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault></SOAP-ENV:Body></soap:Body></soap:Envelope>"
)
"""A Fault in the shape ocppjs writes: SOAP 1.1 envelope, an undeclared SOAP-ENV prefix, a Body in the Body."""


async def test_a_fault_in_the_shape_ocppjs_writes_is_the_peers_answer_with_its_subcode() -> None:
    async with asyncio.timeout(10), CannedHttp([http_answer("500 Internal Server Error", OCPPJS_FAULT)]) as peer:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, peer.url):
            with pytest.raises(PropertyConstraintViolation) as exc:
                await cp.call(v16.AuthorizeRequest(id_tag="A"))
            assert exc.value.remote and exc.value.description == "bad value"
            raw = await cp.call_raw("Authorize", {"idTag": "A"})
            assert raw.frame[2:4] == ["PropertyConstraintViolation", "bad value"]


async def test_calling_a_soap_charge_point_that_gave_no_address_fails_at_once_saying_so() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with asyncio.timeout(10), soap.serve(server) as endpoint:
        body = envelope("CP1", "<tns:heartbeatRequest/>")  # neither From nor ReplyTo
        assert (await exchange(endpoint.port, http_head(len(body)) + body))[0] == 200
        assert "CP1" in server and server["CP1"].connected
        started = time.monotonic()
        with pytest.raises(ConnectionClosed, match=r"cannot be called: it announced no address \(From / ReplyTo\)"):
            await server.call("CP1", v16.ResetRequest(type="Soft"))
        assert time.monotonic() - started < 0.5


# -- 3. decoding cost, and credentials before the body ---------------------------------------------------


def _decode_seconds(data: bytes) -> float:
    from ocpprpc.transports._soap_codec import decode_message

    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        with contextlib.suppress(OcppError):
            decode_message(data, [v16.VERSION])
        best = min(best, time.perf_counter() - started)
    return best


def _fill(unit: str, before: str, after: str, size: int = 1 << 20) -> bytes:
    """An envelope of about ``size`` bytes: ``unit`` repeated between ``before`` and ``after``."""
    frame = envelope("CP1", before + after)
    count = (size - len(frame) - 64) // len(unit.encode())
    return envelope("CP1", before + unit * count + after)


REPEATS = {
    "idTag repeated in authorizeRequest": (
        "<tns:idTag>A</tns:idTag>",
        "<tns:authorizeRequest>",
        "</tns:authorizeRequest>",
    ),
    "idTagInfo repeated in a response": (
        "<tns:idTagInfo><tns:status>Accepted</tns:status></tns:idTagInfo>",
        "<tns:authorizeResponse>",
        "</tns:authorizeResponse>",
    ),
    "elements repeated in the Body": ("<tns:heartbeatRequest/>", "", ""),
    "identity repeated in the Header": ("", "", ""),
}


@pytest.mark.parametrize("shape", REPEATS.values(), ids=REPEATS.keys())
def test_decoding_a_1_mib_body_of_repeats_costs_about_what_another_1_mib_body_costs(
    shape: tuple[str, str, str],
) -> None:
    unit, before, after = shape
    if unit:
        data = _fill(unit, before, after)
    else:  # the Header: a chargeBoxIdentity given over and over
        one = "<tns:chargeBoxIdentity>CP1</tns:chargeBoxIdentity>"
        data = envelope("CP1", "<tns:heartbeatRequest/>", header=one * ((1 << 20) // len(one) - 10))
    # the reference: as many elements, each of them a legitimate item of a list (sampledValue)
    reference = _fill(
        "<tns:sampledValue><tns:value>1</tns:value></tns:sampledValue>",
        "<tns:meterValuesRequest><tns:connectorId>1</tns:connectorId><tns:meterValue>"
        "<tns:timestamp>2026-01-01T00:00:00Z</tns:timestamp>",
        "</tns:meterValue></tns:meterValuesRequest>",
    )
    assert 0.9 * (1 << 20) < len(data) <= 1 << 20 and 0.9 * (1 << 20) < len(reference) <= 1 << 20
    repeats, normal = _decode_seconds(data), _decode_seconds(reference)
    # quadratic decoding took 3 s here for the idTag repeats, against 0.05 s for the reference
    assert repeats < 3 * normal + 0.02, (repeats, normal)
    assert repeats < 1.0


def _accept_cp1(charge_point_id: str, username: str, password: str) -> bool:
    return (charge_point_id, username, password) == ("CP1", "CP1", "secret")


@pytest.mark.parametrize("authorization", ["Basic Q1AxOndyb25n", None], ids=["wrong password", "no credentials"])
async def test_with_auth_a_client_without_valid_credentials_is_refused_before_its_body_is_read(
    authorization: str | None,
) -> None:
    server = CentralSystemServer(EchoCentralSystem)
    body = _fill("<tns:idTag>A</tns:idTag>", "<tns:authorizeRequest>", "</tns:authorizeRequest>")
    extra = f"Authorization: {authorization}\r\n" if authorization else ""
    async with asyncio.timeout(10), soap.serve(server, auth=_accept_cp1, body_timeout=5) as endpoint:
        reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
        # the head and the first 1,000 bytes of a 1 MiB body: the Header, and the Body just begun
        writer.write(http_head(len(body), extra=extra) + body[:1000])
        started = time.monotonic()
        status, headers, answer = await read_response(reader)
        writer.close()
        assert status == 401 and b"SecurityError" in answer and headers["www-authenticate"].startswith("Basic")
        assert time.monotonic() - started < 2.0  # not after the body timeout: the body was never waited for
        assert "CP1" not in server


async def test_with_auth_valid_credentials_let_the_body_be_read_and_decoded() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    body = envelope("CP1", "<tns:heartbeatRequest/>")
    extra = f"Authorization: {basic_auth('CP1', 'secret')}\r\n"
    async with asyncio.timeout(10), soap.serve(server, auth=_accept_cp1, body_timeout=0.3) as endpoint:
        # the same start of a body with the right password: the server waits for the rest (408 when it stops)
        status, _, _ = await exchange(endpoint.port, http_head(len(body), extra=extra) + body[:200])
        assert status == 408
        status, _, answer = await exchange(endpoint.port, http_head(len(body), extra=extra) + body)
        assert status == 200 and b"heartbeatResponse" in answer


async def test_with_auth_an_identity_that_is_not_in_the_header_before_the_body_is_refused() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    late = (
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tns="urn://Ocpp/Cs/2015/10/">'
        b"<s:Body><tns:heartbeatRequest/></s:Body><s:Header><tns:chargeBoxIdentity>CP1</tns:chargeBoxIdentity>"
        b"</s:Header></s:Envelope>"
    )
    extra = f"Authorization: {basic_auth('CP1', 'secret')}\r\n"
    async with asyncio.timeout(10), soap.serve(server, auth=_accept_cp1) as endpoint:
        status, _, answer = await exchange(endpoint.port, http_head(len(late), extra=extra) + late)
        assert status == 400 and b"ProtocolError" in answer and b"chargeBoxIdentity" in answer


# -- 4. call-back addresses --------------------------------------------------------------------------------


async def test_a_call_back_address_on_another_host_than_the_request_is_refused_and_never_called(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with asyncio.timeout(10), soap.serve(server) as endpoint, Listener("127.0.0.2") as elsewhere:
        cp = EchoChargePoint("CP1", "1.6")
        address = f"http://127.0.0.2:{elsewhere.port}/"
        with caplog.at_level(logging.WARNING, logger="ocpprpc"):
            async with soap.connect(cp, endpoint.url, from_url=address):
                await cp.call(v16.HeartbeatRequest())
                await cp.call(v16.HeartbeatRequest())
                assert "CP1" in server  # registered all the same
                with pytest.raises(ConnectionClosed, match="call-back policy refused its address"):
                    await server.call("CP1", v16.ResetRequest(type="Soft"))
    assert elsewhere.connections == 0
    refusals = [r for r in caplog.records if "cannot be called" in r.getMessage()]
    assert len(refusals) == 1  # once, not once per request


async def test_a_redirect_from_a_charge_points_address_is_not_followed() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with asyncio.timeout(10), soap.serve(server) as endpoint, Listener() as target:
        redirect = http_answer("307 Temporary Redirect", extra=f"Location: http://127.0.0.1:{target.port}/\r\n")
        async with CannedHttp([redirect]) as charge_point_port:
            cp = EchoChargePoint("CP1", "1.6")
            async with soap.connect(cp, endpoint.url, from_url=charge_point_port.url):
                await cp.call(v16.HeartbeatRequest())
                with pytest.raises(UnreadableAnswer, match="redirects are not followed"):
                    await server.call("CP1", v16.ResetRequest(type="Soft"))
            assert len(charge_point_port.requests) == 1
    assert target.connections == 0


async def test_an_address_with_user_info_is_refused_and_its_credentials_never_sent() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with asyncio.timeout(10), soap.serve(server) as endpoint, Listener() as listener:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url, from_url=f"http://admin:secret@127.0.0.1:{listener.port}/"):
            await cp.call(v16.HeartbeatRequest())
            with pytest.raises(ConnectionClosed, match="user info"):
                await server.call("CP1", v16.ResetRequest(type="Soft"))
    assert listener.connections == 0
    with pytest.raises(UsageError, match="user info"):
        soap.connect(EchoChargePoint("CP2", "1.6"), "http://cp2:secret@127.0.0.1:9/")


async def test_the_call_back_policy_can_be_replaced_by_the_application() -> None:
    seen: list[tuple[str, str, str | None]] = []
    real: dict[str, str] = {}

    def known_addresses(charge_point_id: str, address: str, request_host: str | None) -> str | None:
        seen.append((charge_point_id, address, request_host))
        return real.get(charge_point_id)

    server = CentralSystemServer(EchoCentralSystem)
    async with asyncio.timeout(10), soap.serve(server, callback_policy=known_addresses) as endpoint:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url, from_url="http://cp1.example:8080/") as client:
            real["CP1"] = f"http://127.0.0.1:{client.port}/"  # the application's table, not the peer's word
            await cp.call(v16.HeartbeatRequest())
            await server.call("CP1", v16.ResetRequest(type="Soft"))
            assert [type(r) for r in cp.received] == [v16.ResetRequest]
    assert seen == [("CP1", "http://cp1.example:8080/", "127.0.0.1")]


async def test_a_host_name_in_from_is_refused_by_the_default_policy() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with asyncio.timeout(10), soap.serve(server) as endpoint:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url, from_url="http://localhost.localdomain:8080/"):
            await cp.call(v16.HeartbeatRequest())
            with pytest.raises(ConnectionClosed, match="cannot be called"):
                await server.call("CP1", v16.ResetRequest(type="Soft"))


async def test_a_request_relayed_by_a_proxy_cannot_name_the_proxys_host_as_its_address() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with asyncio.timeout(10), soap.serve(server) as endpoint, Listener() as local_service:
        # from 127.0.0.1 (the proxy), naming a port of 127.0.0.1: the same host, but the origin is elsewhere
        body = envelope("CP1", "<tns:heartbeatRequest/>", header=from_header(f"http://127.0.0.1:{local_service.port}/"))
        relayed = http_head(len(body), extra="X-Forwarded-For: 203.0.113.9\r\n") + body
        assert (await exchange(endpoint.port, relayed))[0] == 200
        with pytest.raises(ConnectionClosed, match="unknown host"):
            await server.call("CP1", v16.ResetRequest(type="Soft"))
    assert local_service.connections == 0


async def test_with_auth_only_an_authenticated_request_changes_a_charge_points_address() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with asyncio.timeout(10), soap.serve(server, auth=_accept_cp1) as endpoint, Listener() as hijack:
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url, auth=("CP1", "secret")):
            await cp.call(v16.HeartbeatRequest())
            forged = envelope("CP1", "<tns:heartbeatRequest/>", header=from_header(f"http://127.0.0.1:{hijack.port}/"))
            wrong = f"Authorization: {basic_auth('CP1', 'guess')}\r\n"
            status, _, _ = await exchange(endpoint.port, http_head(len(forged), extra=wrong) + forged)
            assert status == 401
            await server.call("CP1", v16.ResetRequest(type="Soft"))
            assert [type(r) for r in cp.received] == [v16.ResetRequest]
    assert hijack.connections == 0


# -- 5. the registry is bounded ---------------------------------------------------------------------------------


def test_by_default_soap_charge_points_are_forgotten_after_a_finite_idle_timeout_and_their_number_is_capped() -> None:
    endpoint = soap.serve(CentralSystemServer(EchoCentralSystem))
    assert endpoint.idle_timeout == soap.DEFAULT_IDLE_TIMEOUT
    assert soap.DEFAULT_IDLE_TIMEOUT is not None and 300 < soap.DEFAULT_IDLE_TIMEOUT <= 3600
    assert endpoint.max_charge_points == soap.DEFAULT_MAX_CHARGE_POINTS is not None


async def test_idle_identities_are_released_and_the_registry_shrinks_back_to_zero() -> None:
    roles: weakref.WeakSet[CentralSystem] = weakref.WeakSet()
    server = CentralSystemServer(EchoCentralSystem, on_connect=roles.add)
    count = 300
    async with (
        asyncio.timeout(20),
        soap.serve(server, idle_timeout=2.0) as endpoint,  # all 300 register well within it, even on a busy machine
        aiohttp.ClientSession() as http,
    ):
        for start in range(0, count, 50):

            async def heartbeat(n: int) -> None:
                body = envelope(f"ID-{n}", "<tns:heartbeatRequest/>", header=from_header("http://127.0.0.1:9/"))
                async with http.post(endpoint.url, data=body) as response:
                    assert response.status == 200

            await asyncio.gather(*(heartbeat(n) for n in range(start, start + 50)))
        assert endpoint.registered == count and len(server) == count and len(roles) == count
        await until(lambda: endpoint.registered == 0, timeout=8)
        assert len(server) == 0
        gc.collect()
        assert len(roles) == 0  # nothing kept a role object alive


async def test_a_cap_on_registered_charge_points_answers_503_to_a_new_one_and_serves_the_others() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    async with asyncio.timeout(10), soap.serve(server, max_charge_points=2) as endpoint:
        for cp_id in ("A", "B"):
            body = envelope(cp_id, "<tns:heartbeatRequest/>")
            assert (await exchange(endpoint.port, http_head(len(body)) + body))[0] == 200
        body = envelope("C", "<tns:heartbeatRequest/>")
        status, headers, answer = await exchange(endpoint.port, http_head(len(body)) + body)
        assert status == 503 and b"Fault" not in answer and "retry-after" in headers
        body = envelope("A", "<tns:heartbeatRequest/>")
        assert (await exchange(endpoint.port, http_head(len(body)) + body))[0] == 200
        assert sorted(server) == ["A", "B"]


# -- 6. HTTP timeouts and connection caps --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ENDPOINTS)
async def test_unfinished_request_heads_are_closed_after_the_head_timeout(kind: str) -> None:
    async with asyncio.timeout(10), endpoint_of(kind, head_timeout=0.3, max_connections_per_address=100) as endpoint:
        connections = [await asyncio.open_connection("127.0.0.1", endpoint.port) for _ in range(40)]
        started = time.monotonic()

        async def dribble(writer: asyncio.StreamWriter) -> bool:
            """A slowloris: a head one header line at a time, never finished; True once the server cut it off."""
            writer.write(b"POST / HTTP/1.1\r\n")
            try:
                for n in range(100):
                    await asyncio.sleep(0.05)
                    writer.write(b"X-%d: y\r\n" % n)
                    await writer.drain()
            except ConnectionError:
                return True
            return False

        dribbling = [asyncio.create_task(dribble(w)) for _, w in connections[:20]]  # the others send nothing
        await until(lambda: endpoint.gate.open == 40, timeout=2)
        assert all(await asyncio.gather(*(closed_by_peer(r) for r, _ in connections)))
        assert 0.25 < time.monotonic() - started < 2.0  # each line of the dribble did not buy it more time
        assert all(await asyncio.gather(*dribbling))
        for _, writer in connections:
            writer.close()
        await until(lambda: endpoint.gate.open == 0, timeout=2)


@pytest.mark.parametrize("kind", ENDPOINTS)
async def test_the_per_address_cap_closes_the_connection_over_it_at_once_and_closed_ones_are_released(
    kind: str,
) -> None:
    async with asyncio.timeout(10), endpoint_of(kind, max_connections_per_address=3) as endpoint:
        held = [await asyncio.open_connection("127.0.0.1", endpoint.port) for _ in range(3)]
        await until(lambda: endpoint.gate.open == 3)
        reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
        async with asyncio.timeout(1):  # closed at once, not after any timeout
            assert await closed_by_peer(reader)
        writer.close()
        assert endpoint.gate.open == 3 and endpoint.gate.refused >= 1
        for _, w in held:
            w.close()
        await until(lambda: endpoint.gate.open == 0)
        body = soap_request_for(kind)
        status, _, _ = await exchange(endpoint.port, http_head(len(body)) + body)
        assert status == 200  # and the server goes on
        await until(lambda: endpoint.gate.open == 0)


async def test_a_tls_handshake_that_does_not_come_is_cut_after_the_tls_handshake_timeout(
    tls: tuple[Any, Any],
) -> None:
    serving, trusting = tls
    server = CentralSystemServer(EchoCentralSystem)
    options: dict[str, Any] = {"ssl": serving, "tls_handshake_timeout": 1.0, "max_connections_per_address": 2}
    async with asyncio.timeout(10), soap.serve(server, **options) as endpoint:
        silent = [await asyncio.open_connection("127.0.0.1", endpoint.port) for _ in range(2)]
        started = time.monotonic()
        await until(lambda: endpoint.gate.open == 2)
        # the cap counts connections before their handshake: a third is closed at once
        reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
        async with asyncio.timeout(0.5):  # well before the handshake timeout
            assert await closed_by_peer(reader)
        writer.close()
        assert all(await asyncio.gather(*(closed_by_peer(r) for r, _ in silent)))
        assert 0.9 < time.monotonic() - started < 3.0
        for _, w in silent:
            w.close()
        await until(lambda: endpoint.gate.open == 0)
        cp = EchoChargePoint("CP1", "1.6")
        async with soap.connect(cp, endpoint.url, ssl=trusting):  # a real client still gets through
            await cp.call(v16.HeartbeatRequest())


FILE_LIMITED_SERVER = """
import asyncio, logging, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
from ocpprpc import CentralSystemServer
from ocpprpc.transports import soap
from tests.roles_for_tests import EchoCentralSystem

async def main():
    async with soap.serve(CentralSystemServer(EchoCentralSystem), head_timeout=30) as endpoint:
        print(endpoint.port, endpoint.gate.max_connections, flush=True)
        await asyncio.sleep(30)

asyncio.run(main())
"""


async def test_a_server_at_its_file_limit_refuses_the_excess_logs_a_few_lines_and_serves_again() -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-c", FILE_LIMITED_SERVER],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        assert process.stdout is not None
        port, cap = map(int, (await asyncio.to_thread(process.stdout.readline)).split())
        assert cap < 256  # the default gate leaves room below the file limit
        async with asyncio.timeout(20):
            for _ in range(400):  # half-open sockets, no request, no credentials
                connections.append(await asyncio.open_connection("127.0.0.1", port))
            await asyncio.sleep(0.5)
            assert process.poll() is None  # still running
            for _, writer in connections:
                writer.close()
            await asyncio.sleep(0.5)
            body = envelope("CP1", "<tns:heartbeatRequest/>")
            status, _, _ = await exchange(port, http_head(len(body)) + body)
            assert status == 200
    finally:
        for _, writer in connections:
            writer.close()
        process.terminate()
        _, log = await asyncio.to_thread(process.communicate, timeout=10)
    assert "Traceback" not in log
    assert len(log.splitlines()) < 20, log  # a few lines, not one per refused socket


async def test_accept_errors_are_quieted_while_a_soap_endpoint_runs_and_restored_after() -> None:
    loop = asyncio.get_running_loop()
    before = loop.get_exception_handler()
    async with endpoint_of("charge point"):  # a central system's server and a charge point's port
        quiet = loop.get_exception_handler()
        assert quiet is not before and type(quiet).__name__ == "_QuietAcceptErrors"
    assert loop.get_exception_handler() is before


# -- 7. malformed HTTP: one line, no traceback ----------------------------------------------------------------


MALFORMED_HTTP = {
    "header line over 8 KiB": b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
    "request line over 8 KiB": b"POST /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "200 header lines": b"POST / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n",
    "not HTTP": b"\x16\x03\x01\x02\x00 hello\r\n\r\n",
    "bad content length": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
}


@pytest.mark.parametrize("kind", ENDPOINTS)
@pytest.mark.parametrize("data", MALFORMED_HTTP.values(), ids=MALFORMED_HTTP.keys())
async def test_malformed_http_gets_400_and_one_log_line_without_a_traceback(
    kind: str, data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with asyncio.timeout(10), endpoint_of(kind) as endpoint:
        with caplog.at_level(logging.DEBUG):
            caplog.clear()
            status, _, _ = await exchange(endpoint.port, data)
            await asyncio.sleep(0.05)
        records = [r for r in caplog.records if not r.name.startswith("asyncio")]
        assert status == 400
        assert not [r for r in records if r.exc_info or r.levelno >= logging.ERROR]
        assert len([r for r in records if r.name == "ocpprpc.soap" and r.levelno == logging.WARNING]) == 1
        body = soap_request_for(kind)
        assert (await exchange(endpoint.port, http_head(len(body)) + body))[0] == 200  # and it goes on


# -- 8. charge point ids ---------------------------------------------------------------------------------------


BAD_IDS = {
    "49 characters": "C" * 49,
    "a space": "CP 1",
    "a line separator": "CP\u20281",
    "a right-to-left override": "CP\u202e1",
    "a slash": "CP/1",
    "a path": "..",
}


@pytest.mark.parametrize("with_auth", [False, True], ids=["open", "auth"])
@pytest.mark.parametrize("cp_id", BAD_IDS.values(), ids=BAD_IDS.keys())
async def test_a_charge_box_identity_breaking_the_id_rule_gets_a_security_error_fault_and_one_escaped_log_line(
    cp_id: str, with_auth: bool, caplog: pytest.LogCaptureFixture
) -> None:
    asked: list[str] = []

    def auth(charge_point_id: str, username: str, password: str) -> bool:
        asked.append(charge_point_id)
        return True

    server = CentralSystemServer(EchoCentralSystem)
    options: dict[str, Any] = {"auth": auth} if with_auth else {}
    extra = f"Authorization: {basic_auth('u', 'p')}\r\n"
    async with asyncio.timeout(10), soap.serve(server, **options) as endpoint:
        body = envelope(cp_id, "<tns:heartbeatRequest/>")
        with caplog.at_level(logging.WARNING, logger="ocpprpc"):
            caplog.clear()
            status, _, answer = await exchange(endpoint.port, http_head(len(body), extra=extra) + body)
        assert status == 400 and b"SecurityError" in answer
        assert len(server) == 0 and asked == []  # refused before any registration, and before the auth callback
        lines = [r.getMessage() for r in caplog.records if r.name.startswith("ocpprpc")]
        assert len(lines) == 1 and "refused" in lines[0]
        assert lines[0].isprintable()  # escaped: no forged line, no terminal trick


async def test_the_id_rule_can_be_replaced_with_check_id() -> None:
    def only_ours(charge_point_id: str) -> str | None:
        return None if charge_point_id.startswith("ACME-") else "not one of our charge points"

    server = CentralSystemServer(EchoCentralSystem)
    async with asyncio.timeout(10), soap.serve(server, check_id=only_ours) as endpoint:
        for cp_id, expected in (("ACME-1", 200), ("OTHER-1", 400)):
            body = envelope(cp_id, "<tns:heartbeatRequest/>")
            status, _, answer = await exchange(endpoint.port, http_head(len(body)) + body)
            assert status == expected
        assert b"not one of our charge points" in answer
        assert list(server) == ["ACME-1"]


# -- 9. secure by default -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_auth", [False, True], ids=["without auth", "with auth"])
async def test_a_central_system_listening_beyond_loopback_without_auth_warns_at_start(
    with_auth: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # "127.1" is 127.0.0.1 to the resolver but not provably loopback to the check (a host name could resolve
    # to anything): the warning shows without opening a port beyond loopback.
    options: dict[str, Any] = {"auth": _accept_cp1} if with_auth else {}
    with caplog.at_level(logging.WARNING, logger="ocpprpc"):
        async with soap.serve(CentralSystemServer(EchoCentralSystem), "127.1", **options):
            pass
        async with soap.serve(CentralSystemServer(EchoCentralSystem), "127.0.0.1"):
            pass
    warnings = [r.getMessage() for r in caplog.records if "without authentication" in r.getMessage()]
    assert warnings == ([] if with_auth else [warnings[0]])
    if not with_auth:
        assert "SOAP central system" in warnings[0] and "127.1" in warnings[0]
