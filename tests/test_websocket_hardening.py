"""Hostile peers over real sockets on 127.0.0.1: floods, bad frames and ids, connection caps, timeouts, slow links.

Every test is bounded in time (:func:`bounded`), every attack loop in count and time. Flooding peers run in
a subprocess (a raw ``websockets`` client), as they would on another machine: in this process they would
share, and so stall, the event loop whose fairness is under test.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import statistics
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from websockets.asyncio.client import connect as raw_connect
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as raw_serve
from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from ocpprpc import Backoff, CentralSystemServer, OcppError, UnreadableAnswer, UsageError, after, on
from ocpprpc._exposure import ConnectionGate, is_loopback, warn_if_exposed
from ocpprpc._ocppj import DEFAULT_MAX_BAD_MESSAGES, DEFAULT_MAX_QUEUED_CALLS, WARNINGS_PER_WINDOW, OcppJLink
from ocpprpc.messages import v16
from ocpprpc.transports.websocket import WebSocketServer, _Socket, connect, serve

from .roles_for_tests import EchoCentralSystem, EchoChargePoint
from .tcp_proxy import TcpProxy
from .timing import FAST, bounded, eventually

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)
OFFER = [Subprotocol("ocpp1.6")]


def server_link(ws_server: WebSocketServer[Any], charge_point_id: str) -> OcppJLink:
    """The central system's link to ``charge_point_id`` (to read its counters)."""
    link = ws_server.server[charge_point_id]._link
    assert isinstance(link, OcppJLink)
    return link


def server_transport(link: OcppJLink) -> asyncio.Transport:
    """The server's socket transport behind ``link``: whether it reads, and what it holds to send."""
    channel = link._channel
    assert isinstance(channel, _Socket)
    return channel.ws.transport


def boot() -> v16.BootNotificationRequest:
    return v16.BootNotificationRequest(charge_point_vendor="ACME", charge_point_model="X1")


async def answer(ws: Any, timeout: float = 1.0) -> Any:
    async with asyncio.timeout(timeout):
        return json.loads(await ws.recv())


async def no_answer(ws: Any, wait: float = 0.15) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(wait):
            await ws.recv()


async def closed_with(ws: Any, timeout: float = 2.0) -> int | None:
    """Read until the server closes the connection; the close code it sent."""
    with pytest.raises(WsConnectionClosed) as closed:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    return None if closed.value.rcvd is None else int(closed.value.rcvd.code)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records at WARNING or above that carry a traceback, or any ERROR record at all."""
    return [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.records
        if (record.levelno >= logging.WARNING and record.exc_info) or record.levelno >= logging.ERROR
    ]


async def http_exchange(port: int, head: bytes, timeout: float = 2.0) -> bytes:
    """Send ``head`` on a fresh TCP connection; everything the server sends until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        async with asyncio.timeout(timeout):
            return await reader.read()
    finally:
        writer.close()


def upgrade_request(path: str, extra: str = "") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: ocpp1.6\r\n{extra}\r\n"
    ).encode("latin-1")


@pytest.fixture
async def ws_server() -> AsyncIterator[WebSocketServer[EchoCentralSystem]]:
    async with serve(CentralSystemServer(EchoCentralSystem), path="/ocpp") as running:
        yield running


# -- one charge point cannot starve the others ------------------------------------------------------------

FLOODER = r"""
import json, os, socket, sys, threading, time
from websockets.client import ClientProtocol
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

url, seconds, reads = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "reads"
stats = {"sent": 0, "received_bytes": 0, "longest_send": 0.0, "closed": None}
sending_since = None
uri = parse_uri(url)
sock = socket.socket()
if not reads:  # small buffers (set before connecting): what the server sends piles up at once
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
sock.connect((uri.host, uri.port))
# The handshake with websockets' sans-I/O protocol, then frames straight onto the socket.
protocol = ClientProtocol(uri, subprotocols=[Subprotocol("ocpp1.6")])
protocol.send_request(protocol.connect())
sock.sendall(b"".join(protocol.data_to_send()))
while protocol.state is State.CONNECTING:
    protocol.receive_data(sock.recv(65536))
assert protocol.state is State.OPEN, protocol.handshake_exc


def report():
    if sending_since is not None:  # a send still blocked counts for as long as it has been
        stats["longest_send"] = max(stats["longest_send"], time.monotonic() - sending_since)
    print(json.dumps(stats), flush=True)
    os._exit(0)


def reader():  # reads (and drops) whatever comes: the answers
    while data := sock.recv(65536):
        stats["received_bytes"] += len(data)


threading.Timer(seconds, report).start()  # a send blocked by backpressure must not keep us past the deadline
if reads:
    threading.Thread(target=reader, daemon=True).start()
try:
    while True:
        protocol.send_text(b'[2,"f%d","Heartbeat",{}]' % stats["sent"])
        data = b"".join(protocol.data_to_send())
        sending_since = time.monotonic()
        sock.sendall(data)
        stats["longest_send"] = max(stats["longest_send"], time.monotonic() - sending_since)
        sending_since = None
        stats["sent"] += 1
except OSError as exc:
    stats["closed"] = type(exc).__name__
    time.sleep(seconds)
"""


async def round_trips(cp: EchoChargePoint, until: float) -> list[float]:
    """BootNotification round trips, back to back, until the loop time ``until``; each in seconds."""
    loop = asyncio.get_running_loop()
    times: list[float] = []
    while loop.time() < until:
        started = loop.time()
        await cp.call(boot())
        times.append(loop.time() - started)
    return times


def p99(samples: list[float]) -> float:
    return sorted(samples)[min(len(samples) - 1, int(len(samples) * 0.99))]


async def flood(reads: bool, seconds: float = 3.0) -> dict[str, Any]:
    """A flooding peer next to a well-behaved one: figures of both, and the server's bounded counters."""
    async with serve(CentralSystemServer(EchoCentralSystem), path="/ocpp", max_bad_messages=None) as ws_server:
        good = EchoChargePoint("GOOD", "1.6")
        async with connect(good, ws_server.url, **FAST):
            loop = asyncio.get_running_loop()
            quiet = await round_trips(good, loop.time() + 0.5)
            tasks_quiet = len(asyncio.all_tasks())
            flooder = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                FLOODER,
                ws_server.url_for("FLOOD"),
                str(seconds),
                "reads" if reads else "ignores",
                stdout=subprocess.PIPE,
            )
            try:
                await ws_server.server.wait_for("FLOOD", timeout=5)
                link = server_link(ws_server, "FLOOD")
                await eventually(lambda: link.refused_calls > 0)
                most_tasks = most_buffered = 0
                paused_reading = False
                transport = server_transport(link)

                async def count_tasks() -> None:
                    nonlocal most_tasks, most_buffered, paused_reading
                    while True:
                        most_tasks = max(most_tasks, len(asyncio.all_tasks()))
                        most_buffered = max(most_buffered, transport.get_write_buffer_size())
                        paused_reading = paused_reading or not transport.is_reading()
                        await asyncio.sleep(0.005)

                counting = asyncio.create_task(count_tasks())
                loaded = await round_trips(good, loop.time() + seconds - 0.5)
                counting.cancel()
                refused_late = link.refused_calls
                await asyncio.sleep(0.3)
                refused_later = link.refused_calls
                out, _ = await flooder.communicate()
            finally:
                if flooder.returncode is None:
                    flooder.kill()
                    await flooder.wait()
            peer = json.loads(out.decode().strip().splitlines()[-1])
            figures = {
                "quiet_p50": statistics.median(quiet),
                "quiet_p99": p99(quiet),
                "flood_p50": statistics.median(loaded),
                "flood_p99": p99(loaded),
                "round_trips": len(loaded),
                "peak_calls": link.peak_calls,
                "refused_calls": link.refused_calls,
                "workers_now": link.workers,
                "tasks_quiet": tasks_quiet,
                "most_tasks": most_tasks,
                "refused_late": refused_late,
                "refused_later": refused_later,
                "paused_reading": paused_reading,
                "most_buffered": most_buffered,
                "peer": peer,
            }
            print(f"\nflood ({'reading' if reads else 'not reading'} answers): {figures}")
            return figures


@bounded(20)
async def test_a_peer_flooding_calls_and_reading_the_answers_neither_slows_another_charge_point_nor_grows() -> None:
    figures = await flood(reads=True)
    assert figures["refused_calls"] > 100  # it did flood: far more CALLs than one at a time
    assert figures["peer"]["received_bytes"] > 10_000  # and it was answered (refusals included)
    # The server holds at most one CALL being handled and max_queued_calls waiting for it, and runs a
    # few tasks for it, whatever it sends (before: one task per CALL, 85 → 1,534 MiB in 30 s).
    assert figures["peak_calls"] <= 1 + DEFAULT_MAX_QUEUED_CALLS
    assert figures["most_tasks"] <= figures["tasks_quiet"] + 15
    # The other charge point's BootNotification stays fast (before: 2-7 s).
    assert figures["flood_p99"] < max(0.5, figures["quiet_p99"] + 0.4)
    assert figures["round_trips"] >= 20


@bounded(20)
async def test_a_peer_flooding_calls_without_reading_is_pushed_back_by_tcp_and_slows_nobody() -> None:
    # 5 s: on a loaded machine the flooder fills the buffers later, and its blocked sends need time to show
    figures = await flood(reads=False, seconds=5.0)
    assert figures["refused_calls"] > 0
    # Backpressure: once its unread answers fill the socket, the server stops reading it, and what the
    # server holds to send it stays within write_limit (32 KiB) instead of growing with each refusal.
    # The kernel's buffers take the rest: how much, and so when the flooder's sends block and the
    # refusals stop, depends on how far the kernel grows them (tcp_rmem / tcp_wmem maxima of 32 and 4 MiB
    # here), so those figures are printed, not asserted.
    assert figures["paused_reading"]
    assert figures["most_buffered"] <= 2**15 + 1024
    assert figures["peak_calls"] <= 1 + DEFAULT_MAX_QUEUED_CALLS
    assert figures["most_tasks"] <= figures["tasks_quiet"] + 15
    assert figures["flood_p99"] < max(0.5, figures["quiet_p99"] + 0.4)
    assert figures["round_trips"] >= 20


@bounded(15)
async def test_a_flooding_peer_is_disconnected_by_default_and_the_others_go_on(
    ws_server: WebSocketServer[EchoCentralSystem], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ocpprpc.connection")
    good = EchoChargePoint("GOOD", "1.6")
    async with connect(good, ws_server.url, **FAST):
        async with raw_connect(ws_server.url_for("FLOOD"), subprotocols=OFFER) as ws:
            for n in range(200):  # a burst, all in the server's receive buffer at once
                await ws.send(f'[2,"f{n}","Heartbeat",{{}}]')
            assert await closed_with(ws, 5) == 1008
        await good.call(boot())
    refusals = [r for r in caplog.records if " refused: " in r.getMessage()]
    assert 0 < len(refusals) <= DEFAULT_MAX_BAD_MESSAGES
    assert len([r for r in caplog.records if r.name == "ocpprpc.connection"]) <= WARNINGS_PER_WINDOW + 2


class GatedCentralSystem(EchoCentralSystem):
    """Authorize handlers wait for ``release``; each records when it starts and ends."""

    release: asyncio.Event
    events: list[str] = []

    @on("Authorize")
    async def authorize(self, request: v16.AuthorizeRequest) -> v16.AuthorizeResponse:
        self.events.append(f"start {request.id_tag}")
        await self.release.wait()
        self.events.append(f"end {request.id_tag}")
        return v16.AuthorizeResponse(id_tag_info={"status": "Accepted"})


@bounded(8)
async def test_calls_are_handled_one_at_a_time_in_order_and_those_beyond_the_queue_get_generic_error() -> None:
    GatedCentralSystem.release, GatedCentralSystem.events = asyncio.Event(), []
    server = CentralSystemServer(GatedCentralSystem)
    async with (
        serve(server, path="/ocpp", max_queued_calls=3) as ws_server,
        raw_connect(ws_server.url_for("PIPE"), subprotocols=OFFER) as ws,
    ):
        for n in range(6):
            await ws.send(json.dumps([2, f"a{n}", "Authorize", {"idTag": f"T{n}"}]))
        # one handled, three waiting: the fifth and sixth are refused at once
        refusals = [await answer(ws), await answer(ws)]
        assert [frame[:3] for frame in refusals] == [[4, "a4", "GenericError"], [4, "a5", "GenericError"]]
        assert "too many calls at once" in refusals[0][3]
        assert GatedCentralSystem.events == ["start T0"]
        GatedCentralSystem.release.set()
        answers = [await answer(ws) for _ in range(4)]
        assert [frame[:2] for frame in answers] == [[3, "a0"], [3, "a1"], [3, "a2"], [3, "a3"]]
        assert GatedCentralSystem.events == [f"{what} T{n}" for n in range(4) for what in ("start", "end")]
        # the session goes on: the queue is free again
        await ws.send('[2,"h","Heartbeat",{}]')
        assert (await answer(ws))[:2] == [3, "h"]
        assert server_link(ws_server, "PIPE").peak_calls == 4


class AskingCentralSystem(EchoCentralSystem):
    """After answering a BootNotification, asks the charge point for its configuration (an after-hook)."""

    asked: list[str] = []

    @on("BootNotification")
    def boot(self, request: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
        return v16.BootNotificationResponse(status="Accepted", current_time=NOW, interval=300)

    @after("BootNotification")
    async def configure(self, request: v16.BootNotificationRequest, response: v16.BootNotificationResponse) -> None:
        await self.call(v16.GetConfigurationRequest())
        self.asked.append("configured")


class AskingChargePoint(EchoChargePoint):
    """GetConfiguration sends a Heartbeat to the central system before answering."""

    @on(v16.GetConfigurationRequest)
    async def configuration(self, request: v16.GetConfigurationRequest) -> v16.GetConfigurationResponse:
        await self.call(v16.HeartbeatRequest())
        return v16.GetConfigurationResponse(configuration_key=[])


@bounded(8)
async def test_handlers_that_call_each_other_across_the_connection_do_not_deadlock() -> None:
    """CS after-hook → CP handler → CS again: the hook, waiting for the charge point, lends its turn.

    The central system handles a charge point's CALLs one at a time, and a BootNotification's
    after-hook still holds that turn; the Heartbeat the charge point sends while answering the hook's
    GetConfiguration must be handled all the same, or both wait for their call timeouts.
    """
    AskingCentralSystem.asked = []
    async with serve(CentralSystemServer(AskingCentralSystem), path="/ocpp") as ws_server:
        cp = AskingChargePoint("CP1", "1.6")
        async with connect(cp, ws_server.url, **FAST):
            assert (await cp.call(boot())).status == "Accepted"
            await eventually(lambda: AskingCentralSystem.asked == ["configured"], timeout=3)
            assert [type(request).__name__ for request in ws_server.server["CP1"].received] == ["HeartbeatRequest"]
            assert server_link(ws_server, "CP1").peak_calls <= 2


# -- frames and ids ---------------------------------------------------------------------------------------


@bounded()
async def test_a_lone_surrogate_in_an_id_or_a_payload_is_refused_and_the_session_goes_on(
    ws_server: WebSocketServer[EchoCentralSystem], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with raw_connect(ws_server.url_for("SURROGATE"), subprotocols=OFFER) as ws:
        await ws.send(r'[2,"\ud800","Heartbeat",{}]')  # the id cannot be sent back: not answered
        await no_answer(ws)
        await ws.send(r'[2,"id1","DataTransfer",{"vendorId":"\udc00"}]')  # the id can: FormationViolation
        assert (await answer(ws))[:3] == [4, "id1", "FormationViolation"]
        await ws.send(r'[2,"id2","DataTransfer",{"vendorId":"\ud83d\ude00"}]')  # a valid pair is fine
        assert (await answer(ws))[:2] == [3, "id2"]
        await ws.send('[2,"id3","Heartbeat",{}]')
        assert (await answer(ws))[:2] == [3, "id3"]
    assert "lone surrogate" in caplog.text
    assert tracebacks(caplog) == []


class EchoingCentralSystem(EchoCentralSystem):
    """DataTransfer answers with its vendorId as data (a lone surrogate in it cannot be sent)."""

    @on("DataTransfer")
    def data_transfer(self, request: v16.DataTransferRequest) -> v16.DataTransferResponse:
        return v16.DataTransferResponse.model_construct(
            status=v16.DataTransferStatus.ACCEPTED, data=request.vendor_id + "\ud800"
        )


@bounded()
async def test_an_answer_that_cannot_be_encoded_becomes_internal_error_and_nothing_else_breaks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    async with (
        serve(CentralSystemServer(EchoingCentralSystem), path="/ocpp") as ws_server,
        raw_connect(ws_server.url_for("ECHO"), subprotocols=OFFER) as ws,
    ):
        await ws.send('[2,"d1","DataTransfer",{"vendorId":"ACME"}]')
        assert (await answer(ws))[:3] == [4, "d1", "InternalError"]
        await ws.send('[2,"h1","Heartbeat",{}]')
        assert (await answer(ws))[:2] == [3, "h1"]
        # our own raw send of such text fails for the caller only, the connection stays up
        role = ws_server.server["ECHO"]
        with pytest.raises(UsageError):
            await role.send_raw('[2,"x","Reset",{"type":"\ud800"}]')
        await ws.send('[2,"h2","Heartbeat",{}]')
        assert (await answer(ws))[:2] == [3, "h2"]
    assert not any("unexpected internal error" in r.getMessage() for r in caplog.records)


@bounded()
async def test_binary_frames_count_as_bad_messages() -> None:
    async with (
        serve(CentralSystemServer(EchoCentralSystem), path="/ocpp", max_bad_messages=3) as ws_server,
        raw_connect(ws_server.url_for("BIN"), subprotocols=OFFER) as ws,
    ):
        for _ in range(3):
            await ws.send(b"\x00\x01binary")
        assert await closed_with(ws) == 1008


@bounded(8)
async def test_max_bad_messages_is_20_by_default_on_both_sides(ws_server: WebSocketServer[EchoCentralSystem]) -> None:
    assert DEFAULT_MAX_BAD_MESSAGES == 20
    async with raw_connect(ws_server.url_for("BAD"), subprotocols=OFFER) as ws:
        for _ in range(19):
            await ws.send("garbage")
        await ws.send('[2,"ok","Heartbeat",{}]')  # answered: the 19 strikes did not close it
        assert (await answer(ws))[:2] == [3, "ok"]
    async with raw_connect(ws_server.url_for("BAD"), subprotocols=OFFER) as ws:
        for _ in range(20):
            await ws.send("garbage")
        assert await closed_with(ws) == 1008

    # a charge point hangs up on a central system that sends garbage, too
    seen: list[int | None] = []

    async def hostile(connection: ServerConnection) -> None:
        try:
            for _ in range(30):
                await connection.send("garbage")
            await connection.wait_closed()
        finally:
            seen.append(None if connection.close_code is None else int(connection.close_code))

    async with raw_serve(hostile, "127.0.0.1", 0, subprotocols=OFFER) as hostile_server:
        port = hostile_server.sockets[0].getsockname()[1]
        cp = EchoChargePoint("CP1", "1.6")
        client = connect(cp, f"ws://127.0.0.1:{port}/ocpp", reconnect=False, **FAST)
        await client.start()
        try:
            await eventually(lambda: bool(seen))
        finally:
            await client.close()
    assert seen == [1008]


@bounded(8)
async def test_warnings_about_bad_frames_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ocpprpc.connection")
    async with (
        serve(CentralSystemServer(EchoCentralSystem), path="/ocpp", max_bad_messages=None) as ws_server,
        raw_connect(ws_server.url_for("NOISY"), subprotocols=OFFER) as ws,
    ):
        for n in range(500):
            await ws.send("garbage" if n % 2 else '[3,"nobody-asked",{}]')
        await ws.send('[2,"ok","Heartbeat",{}]')
        assert (await answer(ws))[:2] == [3, "ok"]
    lines = [r.getMessage() for r in caplog.records if r.name == "ocpprpc.connection"]
    assert WARNINGS_PER_WINDOW <= len(lines) <= WARNINGS_PER_WINDOW + 1
    assert "480 more warnings about this connection were not logged" in lines[-1]


@bounded()
async def test_a_garbled_answer_fails_the_call_with_unreadable_answer_and_a_callerror_stays_remote(
    ws_server: WebSocketServer[EchoCentralSystem],
) -> None:
    async with raw_connect(ws_server.url_for("CP1"), subprotocols=OFFER) as ws:
        await ws_server.server.wait_for("CP1", timeout=1)
        call = asyncio.create_task(ws_server.server.call("CP1", v16.ResetRequest(type="Soft"), timeout=3))
        frame = await answer(ws)
        await ws.send(json.dumps([3, frame[1], ["not", "an", "object"]]))
        with pytest.raises(UnreadableAnswer) as unreadable:
            await call
        assert frame[1] in str(unreadable.value)

        call = asyncio.create_task(ws_server.server.call("CP1", v16.ResetRequest(type="Soft"), timeout=3))
        frame = await answer(ws)
        await ws.send(json.dumps([4, frame[1], "SecurityError", "no", {}]))
        with pytest.raises(OcppError) as remote:
            await call
        assert remote.value.remote and remote.value.code.value == "SecurityError"


@bounded()
async def test_peer_chosen_text_cannot_forge_log_lines(
    ws_server: WebSocketServer[EchoCentralSystem], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    hostile = [
        '[2,"id\\n2026-11-24 INFO forged","Heartbeat",{}]',
        '[2,"a","Foo\\r\\nBar\\u001b[31m",{}]',
        '[2,"b","Heartbeat",{}]\n2026-11-24 INFO forged',  # JSON may not, but a frame may hold a newline
        '[3,"\\u2028forged",{}]',
        '[2,"c","DataTransfer",{"vendorId":"\\u001b]0;title\\u0007"}]',
    ]
    async with raw_connect(ws_server.url_for("INJECT"), subprotocols=OFFER) as ws:
        for frame in hostile:
            await ws.send(frame)
        await ws.send('[2,"last","Heartbeat",{}]')
        async with asyncio.timeout(2):
            while (await answer(ws))[1] != "last":
                pass
    messages = [record.getMessage() for record in caplog.records if record.name.startswith("ocpprpc")]
    assert any("forged" in message for message in messages)  # logged, escaped
    for message in messages:
        assert message.isprintable(), repr(message)


BAD_IDS = [
    ("..", "is not a charge point id"),
    ("a%2Fb", "printable"),
    ("a%5Cb", "printable"),
    ("CP%00", "printable"),
    ("CP%0D%0AINFO%20forged", "printable"),
    ("CP%201", "printable"),
    ("x" * 8000, "at most 48"),
    ("%FF", "not UTF-8"),
    ("%C3", "not UTF-8"),
    ("%ED%A0%80", "not UTF-8"),  # a surrogate spelled in UTF-8
]


@pytest.mark.parametrize(("segment", "why"), BAD_IDS, ids=[segment[:12] for segment, _ in BAD_IDS])
@bounded()
async def test_a_bad_charge_point_id_is_refused_with_400_before_the_upgrade(
    ws_server: WebSocketServer[EchoCentralSystem], caplog: pytest.LogCaptureFixture, segment: str, why: str
) -> None:
    caplog.set_level(logging.INFO, logger="ocpprpc.websocket")
    reply = await http_exchange(ws_server.port, upgrade_request(f"/ocpp/{segment}"))
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head
    assert why.encode() in body
    assert len(ws_server.server) == 0
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].isprintable() and len(refusals[0]) < 400


@bounded()
async def test_two_byte_strings_never_collapse_into_one_id(ws_server: WebSocketServer[EchoCentralSystem]) -> None:
    """Before, %FF and %FE both became U+FFFD: two charge points could share a session."""
    for segment in ("CP%FF", "CP%FE"):
        with pytest.raises(InvalidStatus) as refused:
            await raw_connect(ws_server.url + segment, subprotocols=OFFER)
        assert refused.value.response.status_code == 400
    async with raw_connect(ws_server.url + "CP%C3%BF", subprotocols=OFFER):  # ÿ, properly encoded
        await ws_server.server.wait_for("CPÿ", timeout=1)


@bounded()
async def test_odd_request_heads_get_a_plain_http_answer_and_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    server = CentralSystemServer(EchoCentralSystem)
    async with serve(server, path="/ocpp", auth=lambda cp, user, password: password == "pw") as ws_server:
        port = ws_server.port
        two = "Authorization: Basic Q1AxOnB3\r\nAuthorization: Basic Q1AxOnB3\r\n"  # CP1:pw, twice
        for head, status in [
            (upgrade_request("//[x/CP1"), b"404"),  # urlsplit would raise: "Invalid IPv6 URL"
            (upgrade_request("/ocpp/CP1?x=[&y=%FF"), b"401"),  # the query is not the id's business
            (upgrade_request("/ocpp/CP1", two), b"401"),  # headers.get() would raise
            (upgrade_request("/ocpp/CP1", "Authorization: Basic %%%\r\n"), b"401"),
        ]:
            reply = await http_exchange(port, head)
            assert reply.startswith(b"HTTP/1.1 " + status), (head, reply[:60])
        assert len(server) == 0
    assert tracebacks(caplog) == []


# -- connection caps and timeouts -------------------------------------------------------------------------


async def heartbeat(url: str, **options: Any) -> None:
    async with raw_connect(url, subprotocols=OFFER, **options) as ws:
        await ws.send('[2,"h","Heartbeat",{}]')
        assert (await answer(ws))[:2] == [3, "h"]


@bounded(8)
async def test_connections_over_the_per_address_cap_are_refused_while_other_addresses_get_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    server = CentralSystemServer(EchoCentralSystem)
    async with serve(server, path="/ocpp", max_connections_per_address=2) as ws_server:
        gate = ws_server.gate
        async with (
            raw_connect(ws_server.url_for("A1"), subprotocols=OFFER),
            raw_connect(ws_server.url_for("A2"), subprotocols=OFFER),
        ):
            assert gate.count("127.0.0.1") == 2
            with pytest.raises(Exception) as refused:  # closed before any answer: no handshake at all
                await raw_connect(ws_server.url_for("A3"), subprotocols=OFFER, open_timeout=2)
            assert not isinstance(refused.value, TimeoutError)
            assert gate.refused == 1 and "A3" not in server
            try:  # another source address (all of 127/8 is this machine's) is not capped by 127.0.0.1's count
                await heartbeat(ws_server.url_for("B1"), local_addr=("127.0.0.2", 0))
            except OSError as exc:
                pytest.skip(f"cannot bind 127.0.0.2 here: {exc}")
        await eventually(lambda: gate.open == 0)
        await heartbeat(ws_server.url_for("A3"))  # room again
        await eventually(lambda: gate.open == 0)
    assert tracebacks(caplog) == []
    assert "refused a connection from 127.0.0.1" in caplog.text


@bounded(8)
async def test_connections_over_max_connections_are_refused_and_the_count_returns_to_zero(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with serve(CentralSystemServer(EchoCentralSystem), path="/ocpp", max_connections=3) as ws_server:
        gate = ws_server.gate
        cps = [EchoChargePoint(f"CP{n}", "1.6") for n in range(3)]
        clients = [connect(cp, ws_server.url, **FAST) for cp in cps]
        for client in clients:
            await client.__aenter__()
        try:
            assert gate.open == 3
            with pytest.raises(Exception) as refused:
                await raw_connect(ws_server.url_for("CP9"), subprotocols=OFFER, open_timeout=2)
            assert not isinstance(refused.value, TimeoutError)
            for cp in cps:  # the admitted ones are served as before
                await cp.call(v16.HeartbeatRequest())
        finally:
            for client in clients:
                await client.close()
        await eventually(lambda: gate.open == 0)
        assert gate.refused == 1
    assert tracebacks(caplog) == []


def test_the_gate_options_pick_the_shared_gate_an_own_gate_or_the_given_one() -> None:
    server = CentralSystemServer(EchoCentralSystem)
    first, second = serve(server), serve(server)
    assert first.gate is second.gate  # the process's shared gate: servers share the file limit
    own = serve(server, max_connections=10, max_connections_per_address=None)
    assert own.gate is not first.gate
    assert (own.gate.max_connections, own.gate.max_per_address) == (10, None)
    given = ConnectionGate(5, 1)
    assert serve(server, gate=given).gate is given
    with pytest.raises(UsageError):
        serve(server, gate=given, max_connections=4)


@bounded(6)
async def test_half_open_sockets_are_closed_after_the_open_timeout_quietly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    gate = ConnectionGate(100, 100)
    async with serve(CentralSystemServer(EchoCentralSystem), path="/ocpp", open_timeout=0.3, gate=gate) as s:
        loop = asyncio.get_running_loop()
        opened = loop.time()
        sockets = [await asyncio.open_connection("127.0.0.1", s.port) for _ in range(20)]
        for n, (_reader, writer) in enumerate(sockets):
            writer.write(b"GET /ocpp/CP1 HTTP/1.1\r\nHost: x\r\n" if n % 2 else b"")  # half a head, or nothing
        await eventually(lambda: gate.open == 20)
        for reader, _writer in sockets:
            async with asyncio.timeout(2):
                assert await reader.read() == b""  # closed by the server, without an answer
        assert 0.28 < loop.time() - opened < 2.0  # not before the open timeout, and soon after it
        await eventually(lambda: gate.open == 0)
        for _reader, writer in sockets:
            writer.close()
        await heartbeat(s.url_for("CP1"))  # the server is fine
    assert tracebacks(caplog) == []


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /ocpp/CP1 HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n", b"431"),
        (b"GET /ocpp/CP1 HTTP/1.1\r\n" + b"".join(b"X-%d: a\r\n" % n for n in range(200)) + b"\r\n", b"431"),
        (b"GET /ocpp/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"414"),
    ],
    ids=["long-header-line", "too-many-headers", "long-request-line"],
)
@bounded()
async def test_an_oversize_request_head_is_answered_without_a_traceback(
    ws_server: WebSocketServer[EchoCentralSystem], caplog: pytest.LogCaptureFixture, head: bytes, status: bytes
) -> None:
    caplog.set_level(logging.INFO)
    reply = await http_exchange(ws_server.port, head)
    assert reply.startswith(b"HTTP/1.1 " + status), reply[:80]
    await heartbeat(ws_server.url_for("CP1"))
    assert tracebacks(caplog) == []


FILE_LIMITED_SERVER = r"""
import asyncio, logging, resource, sys
from datetime import UTC, datetime
from ocpprpc import CentralSystem, CentralSystemServer, on
from ocpprpc.messages import v16
from ocpprpc.transports import websocket

limit, max_connections = int(sys.argv[1]), sys.argv[2]
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")

class Cs(CentralSystem):
    versions = ("1.6",)

    @on("Heartbeat")
    def heartbeat(self, request):
        return v16.HeartbeatResponse(current_time=datetime.now(UTC))

async def main():
    options = {} if max_connections == "default" else {"max_connections": int(max_connections)}
    async with websocket.serve(CentralSystemServer(Cs), "127.0.0.1", 0, open_timeout=2.0, **options) as server:
        print(server.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


@pytest.mark.parametrize("max_connections", ["default", "1000"], ids=["default-cap", "cap-above-the-file-limit"])
@bounded(25)
async def test_a_server_at_its_file_limit_survives_a_crowd_of_half_open_sockets(max_connections: str) -> None:
    """At ulimit -n 256, 400 sockets that never finish their head: no traceback, served again afterwards.

    With the default cap the gate refuses the excess before the process runs out of descriptors; with a
    cap above the limit, accept() fails with EMFILE and that is logged as one line, not a traceback a second.
    """
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 1024:
        pytest.skip("this process needs room for 400 sockets of its own")
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        FILE_LIMITED_SERVER,
        "256",
        max_connections,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert server.stdout is not None and server.stdin is not None
    writers: list[asyncio.StreamWriter] = []
    try:
        port = int(await server.stdout.readline())

        async def half_open() -> None:
            try:
                async with asyncio.timeout(3):
                    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except (OSError, TimeoutError):
                return  # the backlog is full: that is the server's business, not a failure
            writer.write(b"GET /CP1 HTTP/1.1\r\nHost: x\r\n")
            writers.append(writer)

        await asyncio.gather(*(half_open() for _ in range(400)))
        assert len(writers) > 256  # more than the server could hold at once
        # open_timeout 2 s (more than a SYN retry, so the crowd is all in at once): then the half-open ones are
        # gone and the listener accepts again
        await asyncio.sleep(3.5)
        for attempt in range(20):
            try:
                await heartbeat(f"ws://127.0.0.1:{port}/CP{attempt}", open_timeout=2)
                break
            except (OSError, TimeoutError, WsConnectionClosed, InvalidStatus):
                await asyncio.sleep(0.25)
        else:
            raise AssertionError("the server did not serve a charge point after the crowd left")
    finally:
        for writer in writers:
            writer.close()
        server.stdin.close()
        try:
            async with asyncio.timeout(5):
                _, errors = await server.communicate()
        finally:
            if server.returncode is None:
                server.kill()
    log = errors.decode()
    assert "Traceback" not in log, log
    assert len(log.splitlines()) <= 6, log  # a few rate-limited lines, not one per refused socket
    if max_connections == "default":
        assert "refused a connection from 127.0.0.1" in log, log  # the gate turned the crowd away
    else:
        assert "cannot accept connections" in log, log  # EMFILE, said once


def test_the_exposure_warning_is_for_servers_beyond_loopback_without_auth(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ocpprpc.exposure")
    for host in ("127.0.0.1", "::1", "localhost", "127.1.2.3"):
        assert is_loopback(host)
        warn_if_exposed("WebSocket central system", host, False)
    assert caplog.records == []
    warn_if_exposed("WebSocket central system", "0.0.0.0", True)  # authenticated: fine
    assert caplog.records == []
    for host in ("0.0.0.0", "", "192.0.2.1", "example.com"):
        warn_if_exposed("WebSocket central system", host, False)
    assert len(caplog.records) == 4
    assert "WebSocket central system listens on all interfaces without authentication" in caplog.text


@bounded()
async def test_a_loopback_server_without_auth_logs_no_exposure_warning_and_quiets_accept_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    loop = asyncio.get_running_loop()
    before = loop.get_exception_handler()
    async with serve(CentralSystemServer(EchoCentralSystem)) as ws_server:
        assert loop.get_exception_handler() is not before  # failed accepts: one line per 10 s
        await heartbeat(ws_server.url_for("CP1"))
    assert loop.get_exception_handler() is before
    assert not [r for r in caplog.records if r.name == "ocpprpc.exposure"]


# -- slow links -------------------------------------------------------------------------------------------


@bounded(40)
async def test_a_whole_session_works_through_a_link_that_cuts_everything_into_7_byte_pieces(
    ws_server: WebSocketServer[EchoCentralSystem],
) -> None:
    async with TcpProxy(ws_server.port, piece=7, delay=0.01) as link:
        cp = EchoChargePoint("SLOW", "1.6")
        url = f"ws://127.0.0.1:{link.port}/ocpp/SLOW"
        async with connect(cp, url, backoff=Backoff(initial=0.05), open_timeout=15) as client:
            cs = ws_server.server["SLOW"]
            assert (await cp.call(boot())).status == "Accepted"
            start = v16.StartTransactionRequest(connector_id=1, id_tag="TAG", timestamp=NOW, meter_start=0)
            started = await cp.call(start)
            reading = v16.MeterValue(timestamp=NOW, sampled_value=[v16.SampledValue(value="1234")])
            await cp.call(
                v16.MeterValuesRequest(connector_id=1, transaction_id=started.transaction_id, meter_value=[reading])
            )
            stop = v16.StopTransactionRequest(transaction_id=started.transaction_id, timestamp=NOW, meter_stop=1234)
            await cp.call(stop)
            await ws_server.server.call("SLOW", v16.ResetRequest(type="Soft"))  # and the other way
            assert client.connected
    assert [type(request).__name__ for request in cs.received] == [
        "BootNotificationRequest",
        "StartTransactionRequest",
        "MeterValuesRequest",
        "StopTransactionRequest",
    ]
    assert [type(request).__name__ for request in cp.received] == ["ResetRequest"]
