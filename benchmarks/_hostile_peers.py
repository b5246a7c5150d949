"""The peers of :mod:`benchmarks.hostile`: a legitimate charge point and three kinds of attacker, each its own process.

    python -m benchmarks._hostile_peers legit     --port WS [--calls 200 --rate 20 ...]
    python -m benchmarks._hostile_peers flood     --port WS [--no-read] [--duration S --max-frames N]
    python -m benchmarks._hostile_peers soap      --soap-port HTTP [--clients 3 --duration S --max-requests N]
    python -m benchmarks._hostile_peers half-open --port WS --soap-port HTTP [--sockets 1000 --sources 10]

Every peer speaks to 127.0.0.1 only. An attacker may bind its end of each connection to another loopback
source address (``--source`` / ``--sources``: 127.0.0.2 and up; Linux routes all of 127.0.0.0/8 to the
loopback interface), so a server that counts connections per source address sees the legitimate charge
point (127.0.0.1) apart from its attackers, as it would on a real network.

No OCPP library is used here: frames and envelopes are pre-built bytes, as in :mod:`benchmarks._loadgen`.

* ``legit``: a well-behaved OCPP-J 1.6 charge point (the :class:`benchmarks._loadgen.RawClient`). It
  connects and sends a few BootNotifications that are not measured, then says it is ready and waits for a
  line on stdin (the parent starts the attack meanwhile); then it sends ``--calls`` BootNotifications at a
  steady ``--rate`` per second, one in flight at a time (a call due while the previous one is unanswered
  goes out as soon as that one is answered), recording each round trip; a call unanswered after
  ``--timeout`` seconds, or lost with its connection, is a failure and the client reconnects. Meanwhile a
  probe opens a *fresh* connection every ``--probe-every`` seconds (id ``<id>-probe<n>``), sends one
  BootNotification and closes: what a charge point that connects during the attack sees.
* ``flood``: one OCPP-J connection (id ``FLOOD``) that sends Heartbeat CALLs back to back, each with a new
  unique id, without waiting for answers, as fast as the socket takes them. With ``--read`` (default) a
  second thread reads and discards what the server answers; with ``--no-read`` nothing is ever read, so
  the server's answers pile up wherever the server lets them. Frames are masked with the all-zero key
  (valid, and free). Reconnects (at most 5 a second) if the server closes the connection.
* ``soap``: ``--clients`` threads, each POSTing in a loop, one request at a time on a fresh connection,
  without credentials, alternately: a BootNotification envelope (1.6) with ``--repeat`` empty ``<imsi/>``
  elements (an element that may occur once), and a ~``--large-kib`` KiB BootNotification padded with
  small elements no schema knows. Both are under the servers' default body limit (1 MiB). The time to
  each answer and its HTTP status are recorded.
* ``half-open``: ``--sockets`` TCP connections, half to the WebSocket port and half to the SOAP port, from
  ``--sources`` source addresses, each sending the first lines of an HTTP request head and then nothing.
  A socket the server closes is opened again after a pause (``--reopen-delay``), so the count is held.

Protocol with the parent: an attacker prints one JSON line once its attack is under way (``ready``),
attacks until ``--duration`` seconds have passed, ``--max-*`` is reached, or a line arrives on stdin (or
stdin closes), then prints one JSON line with what it did and exits. ``legit`` prints ``ready`` once
connected and warmed up, starts on a line from stdin, and prints its result when its calls are done.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import socket
import sys
import threading
import time
from collections import Counter
from typing import Any

from ._common import percentile, raise_nofile_limit
from ._loadgen import RawClient

HOST = "127.0.0.1"
BOOT_PAYLOAD = (
    '{"chargePointVendor":"ACME","chargePointModel":"X1","chargePointSerialNumber":"SN-0001","firmwareVersion":"1.0.0"}'
)
SOAP_NS = "http://www.w3.org/2003/05/soap-envelope"
WSA_NS = "http://www.w3.org/2005/08/addressing"
CS_NS_16 = "urn://Ocpp/Cs/2015/10/"


def _ready(**data: Any) -> None:
    print(json.dumps({"ready": True, "pid": os.getpid(), **data}), flush=True)


def _stopper(duration: float) -> threading.Event:
    """An event set after ``duration`` seconds or when stdin has a line (or closes), whichever comes first."""
    stop = threading.Event()

    def read_stdin() -> None:
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    timer = threading.Timer(duration, stop.set)
    timer.daemon = True
    timer.start()
    return stop


def _basic(auth: str | None) -> str:
    if not auth:
        return ""
    return f"Authorization: Basic {base64.b64encode(auth.encode()).decode()}\r\n"


def _kind(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:100]


# -- the legitimate charge point -----------------------------------------------------------------------------


async def _open(port: int, path: str, headers: str, timeout: float) -> tuple[RawClient, float]:
    """A fresh OCPP-J connection and how long the TCP connect plus the handshake took."""
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    async with asyncio.timeout(timeout):
        _, client = await loop.create_connection(lambda: RawClient(HOST, port, path, headers), HOST, port)
        await client.handshake
    return client, time.perf_counter() - t0


async def _boot(client: RawClient, unique_id: str, timeout: float) -> float:
    """One BootNotification round trip, in seconds; raises on a wrong answer, a timeout or a lost connection."""
    text = f'[2,"{unique_id}","BootNotification",{BOOT_PAYLOAD}]'.encode()
    t0 = time.perf_counter()
    reply = await client.request(text, timeout)
    elapsed = time.perf_counter() - t0
    if not reply.startswith(f'[3,"{unique_id}",'.encode()):
        raise ConnectionError(f"unexpected answer {reply[:60]!r}")
    return elapsed


async def legit(args: argparse.Namespace) -> dict[str, Any]:
    headers = _basic(args.auth)
    path = f"/ocpp/{args.id}"
    failures: Counter[str] = Counter()
    latencies: list[float] = []
    connects: list[float] = []
    client: RawClient | None = None

    async def connection() -> RawClient:
        nonlocal client
        if client is None or client.lost.done():
            client, seconds = await _open(args.port, path, headers, args.timeout)
            connects.append(seconds)
        return client

    probes: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def probe() -> None:
        n = 0
        while not done.is_set():
            n += 1
            entry: dict[str, Any] = {}
            t0 = time.perf_counter()
            try:
                fresh, entry["connect"] = await _open(args.port, f"{path}-probe{n}", headers, args.timeout)
                try:
                    entry["boot"] = await _boot(fresh, f"p{n}", args.timeout)
                finally:
                    await fresh.close(1.0)
            except (OSError, TimeoutError) as exc:
                entry["failure"] = _kind(exc)
            entry["total"] = time.perf_counter() - t0
            probes.append(entry)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, args.probe_every - entry["total"])):
                    await done.wait()

    warm_up: dict[str, Any] = {}
    try:  # not measured: the connection and the first calls, before the attack; ends at the first failure
        for n in range(args.warmup_calls):
            await _boot(await connection(), f"w{n}", args.timeout)
    except (OSError, TimeoutError) as exc:
        warm_up["failure"] = _kind(exc)
        if client is not None and client.transport is not None:
            client.transport.abort()
    _ready(connect_seconds=connects[0] if connects else None, **warm_up)
    go = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if not go.strip():
        return {"aborted": True}
    t_start, cpu_start = time.perf_counter(), time.process_time()
    prober = asyncio.create_task(probe()) if args.probe_every > 0 else None
    interval = 1.0 / args.rate
    start = time.perf_counter()
    deadline = start + args.calls * interval + args.grace
    for n in range(args.calls):
        if time.perf_counter() > deadline:  # bounded in time, whatever the server does
            failures["not sent: out of time"] += args.calls - n
            latencies.extend([float("inf")] * (args.calls - n))
            break
        await asyncio.sleep(max(0.0, start + n * interval - time.perf_counter()))
        t0 = time.perf_counter()
        try:
            current = await connection()  # a reconnection counts into this call's time
            await _boot(current, f"c{n}", args.timeout)
            latencies.append(time.perf_counter() - t0)
        except (OSError, TimeoutError) as exc:
            failures[_kind(exc)] += 1
            latencies.append(float("inf"))
            if client is not None and client.transport is not None:
                client.transport.abort()
    measured = time.perf_counter() - start
    done.set()
    if prober is not None:  # a probe still under way is dropped, not waited for
        prober.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await prober
    if client is not None:
        await client.close(1.0)
    return {
        "latencies": latencies,
        "failures": dict(failures),
        "connects": connects,
        "probes": probes,
        "measured_seconds": measured,
        "seconds": time.perf_counter() - t_start,
        "cpu_seconds": time.process_time() - cpu_start,
    }


# -- flood ------------------------------------------------------------------------------------------------------


def _frame(text: bytes) -> bytes:
    """A masked client text frame; the all-zero masking key leaves the payload as it is."""
    n = len(text)
    if n < 126:
        return bytes((0x81, 0x80 | n)) + b"\0\0\0\0" + text
    if n < 65536:
        return bytes((0x81, 0xFE)) + n.to_bytes(2, "big") + b"\0\0\0\0" + text
    return bytes((0x81, 0xFF)) + n.to_bytes(8, "big") + b"\0\0\0\0" + text


def _ws_connect(port: int, path: str, source: str, timeout: float) -> socket.socket:
    """A blocking socket past the WebSocket handshake (subprotocol ocpp1.6)."""
    sock = socket.create_connection((HOST, port), timeout=timeout, source_address=(source, 0))
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        status = head.split(b"\r\n", 1)[0].decode("latin-1")
        if status.split(" ")[1:2] != ["101"]:
            raise ConnectionError(f"handshake refused: {status}")
    except BaseException:
        sock.close()
        raise
    return sock


def _send(sock: socket.socket, data: bytes, stop: threading.Event, lost: threading.Event) -> bool:
    """Send all of ``data`` unless stopped first; False when stopped. Raises OSError when the connection fails."""
    view = memoryview(data)
    while view:
        if stop.is_set() or lost.is_set():
            return False
        try:
            sent = sock.send(view)
        except TimeoutError:  # the socket's send buffer is full: the server does not read
            continue
        view = view[sent:]
    return True


def _drain(sock: socket.socket, stats: Counter[str], stop: threading.Event, lost: threading.Event) -> None:
    """Read and discard everything the server sends, counting answers and errors (the read variant)."""
    while not stop.is_set() and not lost.is_set():
        try:
            data = sock.recv(1 << 18)
        except TimeoutError:
            continue
        except OSError:
            break
        if not data:
            break
        stats["bytes_received"] += len(data)
        stats["answers"] += data.count(b'[3,"')
        stats["errors"] += data.count(b'[4,"')
    lost.set()


def flood(args: argparse.Namespace) -> dict[str, Any]:
    stop = _stopper(args.duration)
    stats: Counter[str] = Counter()
    closes: Counter[str] = Counter()
    announced = False
    n = 0
    batch = 256
    t0 = time.perf_counter()
    while not stop.is_set() and n < args.max_frames:
        try:
            sock = _ws_connect(args.port, "/ocpp/FLOOD", args.source, 5.0)
        except OSError as exc:
            closes[f"connect: {_kind(exc)}"] += 1
            if not announced:
                _ready(connected=False)
                announced = True
            stop.wait(0.2)
            continue
        stats["connections"] += 1
        if not announced:
            _ready(connected=True)
            announced = True
        sock.settimeout(0.2)
        lost = threading.Event()
        reader = None
        if args.read:
            reader = threading.Thread(target=_drain, args=(sock, stats, stop, lost), daemon=True)
            reader.start()
        opened = time.perf_counter()
        try:
            while not stop.is_set() and not lost.is_set() and n < args.max_frames:
                data = b"".join(_frame(b'[2,"f%d","Heartbeat",{}]' % i) for i in range(n, n + batch))
                if not _send(sock, data, stop, lost):
                    break
                n += batch
                stats["bytes_sent"] += len(data)
        except OSError as exc:
            closes[_kind(exc)] += 1
        else:
            if lost.is_set() and not stop.is_set():
                closes["closed by the server"] += 1
        finally:
            lost.set()
            sock.close()
            if reader is not None:
                reader.join()
        if not stop.is_set():
            stop.wait(max(0.0, 0.2 - (time.perf_counter() - opened)))  # at most 5 reconnects a second
    seconds = time.perf_counter() - t0
    return {
        "frames_sent": n,
        "frames_per_second": n / seconds if seconds else None,
        "seconds": seconds,
        "read": args.read,
        **stats,
        "closes": dict(closes),
        "cpu_seconds": time.process_time(),
    }


# -- expensive SOAP bodies ---------------------------------------------------------------------------------------


def _envelope(identity: str, inner: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP_NS}" xmlns:a="{WSA_NS}" xmlns:o="{CS_NS_16}"><s:Header>'
        f"<o:chargeBoxIdentity>{identity}</o:chargeBoxIdentity><a:Action>/BootNotification</a:Action>"
        f"<a:MessageID>urn:uuid:{os.urandom(16).hex()}</a:MessageID>"
        "<a:From><a:Address>http://127.0.0.1:9/</a:Address></a:From></s:Header>"
        f"<s:Body><o:bootNotificationRequest>{inner}</o:bootNotificationRequest></s:Body></s:Envelope>"
    ).encode()


def soap_bodies_for(identity: str, repeat: int, large_kib: int) -> dict[str, bytes]:
    """The two request bodies: many repeats of an element that may occur once, and a large padded one."""
    fields = "<o:chargePointVendor>ACME</o:chargePointVendor><o:chargePointModel>X1</o:chargePointModel>"
    padding = "<o:x>1</o:x>" * (large_kib * 1024 // 12)
    return {
        "repeated": _envelope(identity, fields + "<o:imsi/>" * repeat),
        "large": _envelope(identity, fields + padding),
    }


def _post(port: int, source: str, body: bytes, stop: threading.Event, timeout: float) -> str:
    """POST ``body`` on a fresh connection and read the answer; its HTTP status, or what went wrong."""
    head = (
        f"POST / HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((HOST, port), timeout=5.0, source_address=(source, 0)) as sock:
        sock.settimeout(0.5)
        lost = threading.Event()
        if not _send(sock, head + body, stop, lost):
            return "stopped"
        answer = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if stop.is_set():
                return "stopped"
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            answer += chunk
        else:
            return "no answer in time"
    status = answer.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    return status[1] if len(status) > 1 else "closed without an answer"


def soap_attack(args: argparse.Namespace) -> dict[str, Any]:
    stop = _stopper(args.duration)
    lock = threading.Lock()
    statuses: Counter[str] = Counter()
    seconds: dict[str, list[float]] = {"repeated": [], "large": []}
    count = [0]
    sizes: dict[str, int] = {}

    def client(index: int) -> None:
        bodies = soap_bodies_for(f"SOAPATTACK{index}", args.repeat, args.large_kib)
        sizes.update({kind: len(body) for kind, body in bodies.items()})
        order = list(bodies.items())[index % 2 :] + list(bodies.items())[: index % 2]
        n = 0
        while not stop.is_set():
            with lock:
                if count[0] >= args.max_requests:
                    return
                count[0] += 1
            kind, body = order[n % 2]
            n += 1
            t0 = time.perf_counter()
            try:
                status = _post(args.soap_port, args.source, body, stop, 60.0)
            except OSError as exc:
                status = _kind(exc)
                stop.wait(0.1)
            if status == "stopped":
                return
            with lock:
                statuses[f"{kind}: {status}"] += 1
                seconds[kind].append(time.perf_counter() - t0)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    _ready(clients=args.clients, body_bytes=sizes)
    for thread in threads:
        thread.join()
    return {
        "requests": sum(len(v) for v in seconds.values()),
        "statuses": dict(statuses),
        "answer_seconds": {
            kind: {"n": len(v), "p50": percentile(sorted(v), 0.5), "max": max(v, default=float("nan"))}
            for kind, v in seconds.items()
        },
        "body_bytes": sizes,
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time(),
    }


# -- half-open sockets ---------------------------------------------------------------------------------------------


async def half_open(args: argparse.Namespace) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    ended = _stopper(args.duration)
    threading.Thread(target=lambda: (ended.wait(), loop.call_soon_threadsafe(stop.set)), daemon=True).start()
    sources = [f"127.0.0.{10 + i}" for i in range(args.sources)] if args.sources > 0 else [HOST]
    heads = {
        "websocket": (
            args.port,
            f"GET /ocpp/HALF{{n}} HTTP/1.1\r\nHost: {HOST}:{args.port}\r\nUpgrade: websocket\r\n".encode(),
        ),
        "soap": (
            args.soap_port,
            f"POST / HTTP/1.1\r\nHost: {HOST}:{args.soap_port}\r\nContent-Type: application/soap+xml\r\n".encode(),
        ),
    }
    held = Counter[str]()
    stats: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    gate = asyncio.Semaphore(200)  # connects in flight

    async def hold(n: int) -> None:
        target = "websocket" if n % 2 == 0 else "soap"
        port, head = heads[target]
        source = sources[n % len(sources)]
        while not stop.is_set():
            try:
                async with gate:
                    async with asyncio.timeout(5.0):
                        reader, writer = await asyncio.open_connection(HOST, port, local_addr=(source, 0))
            except (OSError, TimeoutError) as exc:
                stats[f"connect failed: {_kind(exc)}"] += 1
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(args.reopen_delay * (0.5 + random.random())):
                        await stop.wait()
                continue
            stats["opened"] += 1
            held[target] += 1
            try:
                writer.write(head.replace(b"{n}", str(n).encode()))
                waiting = asyncio.create_task(reader.read(256))
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if waiting.done():
                    with contextlib.suppress(OSError):
                        first = waiting.result()
                        if first:
                            answers[first.split(b"\r\n", 1)[0].decode("latin-1")[:60]] += 1
                    stats[f"closed by the server ({target})"] += 1
                else:
                    waiting.cancel()
            except OSError:
                stats[f"closed by the server ({target})"] += 1
            finally:
                held[target] -= 1
                writer.transport.abort()
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(args.reopen_delay * (0.5 + random.random())):
                        await stop.wait()

    t0 = time.perf_counter()
    tasks = [asyncio.create_task(hold(n)) for n in range(args.sockets)]
    deadline = time.monotonic() + 15.0
    while sum(held.values()) < args.sockets and time.monotonic() < deadline and not stop.is_set():
        await asyncio.sleep(0.05)
    _ready(held=dict(held), seconds_to_open=time.perf_counter() - t0, sources=len(sources))
    lowest = sum(held.values())
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.1):
                await stop.wait()
        lowest = min(lowest, sum(held.values()))
    at_end = dict(held)
    await asyncio.gather(*tasks)
    return {
        "held_at_end": at_end,
        "held_lowest": lowest,
        "sockets": args.sockets,
        "sources": len(sources),
        **stats,
        "first_answer_lines": dict(answers),
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="peers of the hostile benchmark (see the module docstring)")
    sub = parser.add_subparsers(dest="peer", required=True)
    p = sub.add_parser("legit")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--id", default="LEGIT")
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--warmup-calls", type=int, default=5)
    p.add_argument("--timeout", type=float, default=3.0, help="seconds a call or a connection may take")
    p.add_argument("--grace", type=float, default=5.0, help="seconds beyond calls/rate before giving up")
    p.add_argument("--probe-every", type=float, default=1.0, help="seconds between fresh-connection probes (0: none)")
    p.add_argument("--auth", help="USER:PASSWORD for HTTP Basic")
    p = sub.add_parser("flood")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--no-read", dest="read", action="store_false")
    p.add_argument("--source", default="127.0.0.2")
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--max-frames", type=int, default=20_000_000)
    p = sub.add_parser("soap")
    p.add_argument("--soap-port", type=int, required=True)
    p.add_argument("--clients", type=int, default=3)
    p.add_argument("--repeat", type=int, default=40_000)
    p.add_argument("--large-kib", type=int, default=900)
    p.add_argument("--source", default="127.0.0.3")
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--max-requests", type=int, default=100_000)
    p = sub.add_parser("half-open")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--soap-port", type=int, required=True)
    p.add_argument("--sockets", type=int, default=1000)
    p.add_argument("--sources", type=int, default=10, help="source addresses 127.0.0.10 and up (0: 127.0.0.1)")
    p.add_argument("--reopen-delay", type=float, default=0.5)
    p.add_argument("--duration", type=float, default=30.0)
    args = parser.parse_args(argv)
    raise_nofile_limit()
    result: dict[str, Any]
    if args.peer == "legit":
        result = asyncio.run(legit(args))
    elif args.peer == "flood":
        result = flood(args)
    elif args.peer == "soap":
        result = soap_attack(args)
    else:
        result = asyncio.run(half_open(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
