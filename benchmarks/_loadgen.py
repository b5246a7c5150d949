"""The load generator: many charge points on raw WebSocket connections, speaking OCPP-J frames directly.

Run as its own process (``python -m benchmarks._loadgen ...``) by ``benchmarks.throughput`` and
``benchmarks.scale``; it is the same code whichever server it loads, so differences come from the server.

Why a hand-written client
-------------------------
No OCPP library is involved on this side: frames are pre-built text (only the unique id changes per call)
and a reply is checked by its prefix ``[3,"<id>"``, so the generator does not measure any library's client
code, and it costs the same against every server. The WebSocket layer is a minimal RFC 6455 client
(:class:`RawClient`, an ``asyncio.Protocol``): it sends the upgrade request offering the subprotocol
``ocpp1.6`` (``ocpp2.0.1`` with ``--ocpp 2.0.1``) and no extensions, checks the ``101`` answer, masks
every frame it sends with a fresh random key (websockets' C ``apply_mask``), reads the server's unmasked
frames, answers pings and closes cleanly. It does a few microseconds of work per call, several times less
than the ``websockets`` asyncio client, which matters on a small machine where the generator shares the
CPUs with the server under test: the generator's own CPU use is measured and reported next to the
server's, so a saturated generator is visible. ``--client websockets`` uses the ``websockets`` asyncio
client instead, to cross-check.

Protocol between this process and its parent
---------------------------------------------
1. Connect all charge points (at most ``--connect-concurrency`` handshakes at a time), then print one JSON
   line: how many connected, how long it took, handshake latencies.
2. Read one line from stdin: the start time (``time.time()`` seconds). Several generators given the same
   start time measure the same windows.
3. ``calls`` mode: every connection sends its calls back to back (one in flight at a time, as OCPP-J
   requires): MeterValues with 5 sampled values four times, then a Heartbeat, over and over (with
   ``--ocpp 2.0.1``: TransactionEvent Updated with 5 sampled values four times, then a Heartbeat). ``heartbeat``
   mode: every connection sends a Heartbeat every ``--interval`` seconds, at a random phase.
   The first ``--warmup`` seconds are not measured; then ``--windows`` windows of ``--window`` seconds each
   count completed calls, errors and latencies (send → matching reply), and the CPU seconds used by this
   process and, with ``--server-pid``, by the server.
4. Close every connection (close handshake), print one JSON line with the results, exit. Latencies go to
   binary files (``array('d')``) in ``--out-dir``: too many for a JSON line.

Every wait is bounded: a call without an answer after ``--call-timeout`` seconds counts as a timeout and
that connection stops; the run ends at its fixed time whatever happens.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from websockets.speedups import apply_mask

from . import _messages
from ._common import cpu_seconds, machine_busy_seconds, percentile, raise_nofile_limit

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class CallFailed(Exception):
    pass


class RawClient(asyncio.Protocol):
    """One minimal RFC 6455 client connection with a single request in flight."""

    def __init__(self, host: str, port: int, path: str, headers: str = "", subprotocol: str = "ocpp1.6") -> None:
        """``headers``: extra request header lines, each ending in CRLF (e.g. ``Authorization: ...``)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        key = base64.b64encode(os.urandom(16))
        self._accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {subprotocol}\r\n{headers}\r\n"
        ).encode()
        self._subprotocol = subprotocol
        self._buffer = bytearray()
        self._open = False
        self.handshake: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self._waiter: asyncio.Future[bytes] | None = None
        self._closing = False
        self.transport: asyncio.Transport | None = None
        self.unexpected = 0

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        error = ConnectionError(f"connection lost: {exc}")
        for future in (self.handshake, self._waiter):
            if future is not None and not future.done():
                future.set_exception(error)
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if not self._open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
            del buffer[: end + 4]
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
            problem = None
            if head[0].split(" ")[1:2] != ["101"]:
                problem = f"handshake refused: {head[0]}"
            elif headers.get("sec-websocket-accept", "").encode() != self._accept:
                problem = "bad Sec-WebSocket-Accept"
            elif headers.get("sec-websocket-protocol") != self._subprotocol:
                problem = f"subprotocol {headers.get('sec-websocket-protocol')!r}, not {self._subprotocol}"
            if problem is not None:
                if not self.handshake.done():
                    self.handshake.set_exception(ConnectionError(problem))
                assert self.transport is not None
                self.transport.abort()
                return
            self._open = True
            if not self.handshake.done():
                self.handshake.set_result(None)
        while len(buffer) >= 2:
            b0, b1 = buffer[0], buffer[1]
            length = b1 & 0x7F
            start = 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length = int.from_bytes(buffer[2:4], "big")
                start = 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length = int.from_bytes(buffer[2:10], "big")
                start = 10
            if b1 & 0x80:  # servers must not mask
                self.unexpected += 1
                assert self.transport is not None
                self.transport.abort()
                return
            end = start + length
            if len(buffer) < end:
                return
            payload = bytes(buffer[start:end])
            del buffer[:end]
            opcode = b0 & 0x0F
            if opcode == 1 and b0 & 0x80:
                waiter = self._waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(payload)
                else:
                    self.unexpected += 1
            elif opcode == 9:
                self._send_frame(0x8A, payload)
            elif opcode == 8:
                if not self._closing:
                    self._closing = True
                    self._send_frame(0x88, payload[:2])
                assert self.transport is not None
                self.transport.close()
            elif opcode != 10:
                self.unexpected += 1

    # sending

    def _send_frame(self, first: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            header = bytes((first, 0x80 | n))
        elif n < 65536:
            header = bytes((first, 0xFE)) + n.to_bytes(2, "big")
        else:
            header = bytes((first, 0xFF)) + n.to_bytes(8, "big")
        mask = os.urandom(4)
        assert self.transport is not None
        self.transport.write(header + mask + apply_mask(payload, mask))

    async def request(self, text: bytes, timeout: float) -> bytes:
        waiter: asyncio.Future[bytes] = self._loop.create_future()
        self._waiter = waiter
        self._send_frame(0x81, text)
        async with asyncio.timeout(timeout):
            return await waiter

    async def close(self, timeout: float = 5.0) -> None:
        if self.transport is None or self.lost.done():
            return
        if not self._closing:
            self._closing = True
            self._send_frame(0x88, (1000).to_bytes(2, "big"))
        try:
            async with asyncio.timeout(timeout):
                await self.lost
        except TimeoutError:
            self.transport.abort()


class WebsocketsClient:
    """The same interface on the ``websockets`` asyncio client (``--client websockets``)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.unexpected = 0

    async def request(self, text: bytes, timeout: float) -> bytes:
        async with asyncio.timeout(timeout):
            await self.ws.send(text.decode())
            reply = await self.ws.recv()
        return reply.encode() if isinstance(reply, str) else reply

    async def close(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(timeout):
                await self.ws.close()


async def _connect(
    kind: str, host: str, port: int, path: str, timeout: float, subprotocol: str = "ocpp1.6"
) -> RawClient | WebsocketsClient:
    async with asyncio.timeout(timeout):
        if kind == "websockets":
            from websockets.asyncio.client import connect

            ws = await connect(
                f"ws://{host}:{port}{path}",
                subprotocols=[subprotocol],  # type: ignore[list-item]
                compression=None,
                ping_interval=None,
                open_timeout=None,
            )
            return WebsocketsClient(ws)
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(
            lambda: RawClient(host, port, path, subprotocol=subprotocol), host, port
        )
        await protocol.handshake
        return protocol


class Recorder:
    """Completed calls, errors and latencies per measurement window."""

    def __init__(self, measure_start: float, window: float, windows: int) -> None:
        self.measure_start = measure_start
        self.window = window
        self.windows = windows
        self.end = measure_start + window * windows
        self.latencies = [array.array("d") for _ in range(windows)]
        self.errors = [0] * windows
        self.error_kinds: dict[str, int] = {}
        self.served: set[int] = set()

    def ok(self, index: int, sent: float, done: float) -> None:
        self.served.add(index)
        if done >= self.measure_start:
            k = int((done - self.measure_start) / self.window)
            if k < self.windows:
                self.latencies[k].append(done - sent)

    def error(self, done: float, kind: str) -> None:
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
        if done >= self.measure_start:
            k = int((done - self.measure_start) / self.window)
            if k < self.windows:
                self.errors[k] += 1


def _classify(reply: bytes) -> str:
    try:
        frame = json.loads(reply)
        if isinstance(frame, list) and frame and frame[0] == 4:
            return f"CALLERROR {frame[2]}"
        return "unexpected reply"
    except ValueError:
        return "reply not JSON"


async def _calls_loop(
    client: RawClient | WebsocketsClient, index: int, rec: Recorder, start: float, timeout: float, version: str = "1.6"
) -> None:
    clock = time.perf_counter
    actions = _messages.CYCLES[version]
    bodies = {action: (action, _messages.compact(_messages.load_payload(version, action))) for action in set(actions)}
    cycle = [bodies[action] for action in actions]
    await asyncio.sleep(max(0.0, start - clock()))
    n = 0
    end = rec.end
    while clock() < end:
        action, payload = cycle[n % len(cycle)]
        if not await _one_call(client, index, f"{index}.{n}", action, payload, rec, timeout):
            return
        n += 1


async def _one_call(
    client: RawClient | WebsocketsClient,
    index: int,
    unique_id: str,
    action: str,
    payload: str,
    rec: Recorder,
    timeout: float,
) -> bool:
    """Send one CALL and record its answer; False when the connection is unusable (timeout, closed)."""
    clock = time.perf_counter
    text = f'[2,"{unique_id}","{action}",{payload}]'.encode()
    expected = f'[3,"{unique_id}",'.encode()
    sent = clock()
    try:
        reply = await client.request(text, timeout)
    except TimeoutError:
        rec.error(clock(), "timeout")
        return False
    except ConnectionError as exc:
        rec.error(clock(), f"connection: {exc}")
        return False
    done = clock()
    if reply.startswith(expected):
        rec.ok(index, sent, done)
    else:
        rec.error(done, _classify(reply))
    return True


async def _heartbeat_loop(
    client: RawClient | WebsocketsClient, index: int, rec: Recorder, start: float, interval: float, timeout: float
) -> None:
    clock = time.perf_counter
    phase = random.random() * interval
    n = 0
    while True:
        due = start + phase + n * interval
        if due >= rec.end:
            return
        await asyncio.sleep(max(0.0, due - clock()))
        if not await _one_call(client, index, f"{index}.{n}", "Heartbeat", "{}", rec, timeout):
            return
        n += 1


async def _sample_cpu(rec: Recorder, server_pid: int | None) -> list[dict[str, Any]]:
    """CPU seconds of this process, of the server and of the whole machine at each window boundary."""
    clock = time.perf_counter
    samples: list[tuple[float, float, float | None, float | None]] = []
    for k in range(rec.windows + 1):
        await asyncio.sleep(max(0.0, rec.measure_start + k * rec.window - clock()))
        samples.append(
            (
                clock(),
                time.process_time(),
                cpu_seconds(server_pid) if server_pid else None,
                machine_busy_seconds() if server_pid else None,
            )
        )
    windows = []
    for (t0, own0, srv0, all0), (t1, own1, srv1, all1) in itertools.pairwise(samples):
        windows.append(
            {
                "wall": t1 - t0,
                "generator_cpu": own1 - own0,
                "server_cpu": None if srv0 is None or srv1 is None else srv1 - srv0,
                "machine_cpu": None if all0 is None or all1 is None else all1 - all0,
            }
        )
    return windows


async def run(args: argparse.Namespace) -> dict[str, Any]:
    host, _, rest = args.url.removeprefix("ws://").partition(":")
    port_text, _, base_path = rest.partition("/")
    port = int(port_text)
    base_path = "/" + base_path.rstrip("/")
    ids = [f"{args.id_prefix}{i}" for i in range(args.first, args.first + args.count)]

    # 1. connect
    clients: list[RawClient | WebsocketsClient | None] = [None] * len(ids)
    handshake_times = array.array("d")
    failures: dict[str, int] = {}
    gate = asyncio.Semaphore(args.connect_concurrency)
    clock = time.perf_counter

    async def connect_one(i: int, cp_id: str) -> None:
        async with gate:
            t0 = clock()
            try:
                clients[i] = await _connect(
                    args.client,
                    host,
                    port,
                    f"{base_path}/{cp_id}",
                    args.call_timeout,
                    _messages.SUBPROTOCOLS[args.ocpp],
                )
            except (OSError, TimeoutError) as exc:
                key = f"{type(exc).__name__}: {exc}"[:100]
                failures[key] = failures.get(key, 0) + 1
                return
            handshake_times.append(clock() - t0)

    t_connect = clock()
    await asyncio.gather(*(connect_one(i, cp_id) for i, cp_id in enumerate(ids)))
    connect_seconds = clock() - t_connect
    times = sorted(handshake_times)
    ready = {
        "connected": len(times),
        "failed": sum(failures.values()),
        "failures": failures,
        "connect_seconds": connect_seconds,
        "handshake_p50": percentile(times, 0.5),
        "handshake_p99": percentile(times, 0.99),
        "handshake_max": times[-1] if times else float("nan"),
        "pid": os.getpid(),
    }
    print(json.dumps(ready), flush=True)

    # 2. wait for the start time
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if not line.strip():
        return {"aborted": True}
    start_wall = float(line)
    start = clock() + (start_wall - time.time())
    rec = Recorder(start + args.warmup, args.window, args.windows)

    # 3. load
    live = [(i, c) for i, c in enumerate(clients) if c is not None]
    sampler = asyncio.create_task(_sample_cpu(rec, args.server_pid))
    if args.mode == "calls":
        loops = [_calls_loop(c, args.first + i, rec, start, args.call_timeout, args.ocpp) for i, c in live]
    else:
        loops = [_heartbeat_loop(c, args.first + i, rec, start, args.interval, args.call_timeout) for i, c in live]
    await asyncio.gather(*loops)
    cpu_windows = await sampler

    # 4. close and report
    t_close = clock()
    await asyncio.gather(*(c.close() for _, c in live))
    close_seconds = clock() - t_close
    out_dir = Path(args.out_dir)
    files = []
    for k, lat in enumerate(rec.latencies):
        path = out_dir / f"lat-{os.getpid()}-{k}.bin"
        with path.open("wb") as f:
            lat.tofile(f)
        files.append(str(path))
    windows = [
        {**cpu, "calls": len(lat), "errors": err, "latency_file": path}
        for cpu, lat, err, path in zip(cpu_windows, rec.latencies, rec.errors, files, strict=True)
    ]
    return {
        "windows": windows,
        "error_kinds": rec.error_kinds,
        "unexpected_frames": sum(c.unexpected for _, c in live),
        "connections_served": len(rec.served),
        "close_seconds": close_seconds,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OCPP-J load generator (see the module docstring)")
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT/ocpp (the id is appended)")
    parser.add_argument("--id-prefix", default="CP")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--mode", choices=("calls", "heartbeat"), default="calls")
    parser.add_argument("--client", choices=("raw", "websockets"), default="raw")
    parser.add_argument("--ocpp", choices=tuple(_messages.CYCLES), default="1.6", help="version spoken")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--windows", type=int, default=1)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--connect-concurrency", type=int, default=100)
    parser.add_argument("--call-timeout", type=float, default=30.0)
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("--out-dir", default=".")
    args = parser.parse_args(argv)
    raise_nofile_limit()
    result = asyncio.run(run(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
