"""The central systems under test, each run alone in its own process: ``python -m benchmarks._servers KIND``.

* ``ocpprpc``: a :class:`ocpprpc.CentralSystem` subclass with ``@on`` handlers, served by
  ``ocpprpc.transports.websocket.serve`` with its defaults (the way the README shows it) but one: every
  load generator connects from 127.0.0.1, as every charge point would through a load balancer, so the
  cap on connections per source address is lifted (``max_connections_per_address=None``), as the
  README's "Deploying" section tells an operator behind a balancer to do.
* ``mobilityhouse``: the ``ocpp`` package's ``ocpp.v16.ChargePoint`` with ``@on`` handlers, one per
  connection, on a ``websockets`` server, the way that package's README and examples set it up (its
  defaults: JSON-schema validation of every request and response, run in the default thread pool).
* ``bare``: a ``websockets`` server whose handler only parses each frame with ``json.loads`` and answers a
  CALLRESULT built with ``json.dumps``: no validation, no models, no dispatch. The ceiling for any OCPP
  library on ``websockets``.
* ``dual`` (for :mod:`benchmarks.hostile`): one ocpprpc central system serving both transports at once,
  ``websocket.serve`` and ``soap.serve`` on one :class:`ocpprpc.CentralSystemServer`, each with its
  defaults (only the host, the port, the WebSocket path and, with ``--auth USER:PASSWORD``, an
  ``auth`` callback are given). It answers BootNotification (Accepted) and Heartbeat. It prints
  ``{"port": <websocket port>, "soap_port": ..., "pid": ...}``.

The first three listen on 127.0.0.1 at ``/ocpp/<chargePointId>``, offer the subprotocol ``ocpp1.6``, run
on the default asyncio event loop, and answer the same two actions with the same payloads (MeterValues →
``{}``, Heartbeat → ``{"currentTime": now}``). Handlers are ``async def`` in both libraries, as their
READMEs write them. permessage-deflate is not negotiated for any (the load generator does not offer it).

With ``--ocpp 2.0.1`` the same three speak OCPP 2.0.1 instead (subprotocol ``ocpp2.0.1``) and answer
TransactionEvent (→ ``{}``) and Heartbeat: ocpprpc's class opts into 2.0.1 (``versions = ("2.0.1",)``)
and its handlers take the ``v201`` models; the mobilityhouse server is its ``ocpp.v201.ChargePoint``,
validating every request and response against its 2.0.1 JSON schemas as it does by default.

The process prints one JSON line ``{"port": ..., "pid": ...}`` once it listens, and runs until SIGTERM.
On SIGUSR1 it prints one JSON line with the full (generation 2) garbage collections since the previous
SIGUSR1: how many and their longest and total pause. With thousands of connections a full collection
stops the event loop for a noticeable time, which shows up in tail latencies; this says when it did.
The line also counts, by level, the log records of WARNING and above since the previous SIGUSR1 (only
``dual`` configures logging: it formats each record, as a deployment's handler would, and counts it
instead of writing it, so an attack's warnings cost what they cost without flooding the terminal).
The first three log nothing (no logging configured: both libraries are then quiet at INFO).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Any

from ._common import raise_nofile_limit

KINDS = ("ocpprpc", "mobilityhouse", "bare", "dual")
OCPP_VERSIONS = ("1.6", "2.0.1")
"""What ``--ocpp`` accepts for the first three kinds (``dual`` speaks 1.6)."""


_gc_full = {"count": 0, "max_ms": 0.0, "total_ms": 0.0}
_gc_started = [0.0]


def _gc_callback(phase: str, info: dict[str, Any]) -> None:
    if info["generation"] != 2:
        return
    if phase == "start":
        _gc_started[0] = time.perf_counter()
        return
    pause = (time.perf_counter() - _gc_started[0]) * 1e3
    _gc_full["count"] += 1
    _gc_full["total_ms"] += pause
    _gc_full["max_ms"] = max(_gc_full["max_ms"], pause)


_log_lines: dict[str, int] = {}


class _CountingHandler(logging.Handler):
    """Formats every record, as a real deployment's handler would, then counts it instead of writing it."""

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)
        _log_lines[record.levelname] = _log_lines.get(record.levelname, 0) + 1


def _report_gc() -> None:
    print(json.dumps({"gc_full": dict(_gc_full), "log_lines": dict(_log_lines)}), flush=True)
    _gc_full.update(count=0, max_ms=0.0, total_ms=0.0)
    _log_lines.clear()


async def _until_terminated() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _report_gc)
    await stop.wait()


def _ready(port: int, **more: Any) -> None:
    print(json.dumps({"port": port, "pid": os.getpid(), **more}), flush=True)


def _cp_id(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2]


async def run_ocpprpc(host: str, port: int) -> None:
    from ocpprpc import CentralSystemServer
    from ocpprpc.transports import websocket

    from ._roles import BenchCentralSystem

    server = CentralSystemServer(BenchCentralSystem)
    async with websocket.serve(server, host, port, path="/ocpp", max_connections_per_address=None) as ws_server:
        _ready(ws_server.port)
        await _until_terminated()


async def run_ocpprpc_201(host: str, port: int) -> None:
    from ocpprpc import CSMS, CentralSystemServer, on
    from ocpprpc.messages import v201
    from ocpprpc.transports import websocket

    class BenchCSMS(CSMS):
        versions = ("2.0.1",)

        @on("TransactionEvent")
        async def transaction_event(self, request: v201.TransactionEventRequest) -> v201.TransactionEventResponse:
            return v201.TransactionEventResponse()

        @on("Heartbeat")
        async def heartbeat(self, request: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
            return v201.HeartbeatResponse(current_time=datetime.now(UTC))

    server = CentralSystemServer(BenchCSMS)
    async with websocket.serve(server, host, port, path="/ocpp", max_connections_per_address=None) as ws_server:
        _ready(ws_server.port)
        await _until_terminated()


async def run_mobilityhouse(host: str, port: int) -> None:
    import websockets
    from ocpp.routing import on
    from ocpp.v16 import ChargePoint, call_result
    from ocpp.v16.enums import Action
    from websockets.typing import Subprotocol

    class BenchChargePoint(ChargePoint):
        @on(Action.meter_values)
        async def on_meter_values(self, connector_id: int, meter_value: list[Any], **kwargs: Any) -> Any:
            return call_result.MeterValues()

        @on(Action.heartbeat)
        async def on_heartbeat(self, **kwargs: Any) -> Any:
            return call_result.Heartbeat(current_time=datetime.now(UTC).isoformat())

    async def handler(ws: Any) -> None:
        charge_point = BenchChargePoint(_cp_id(ws.request.path), ws)
        with contextlib.suppress(websockets.ConnectionClosed):
            await charge_point.start()

    async with websockets.serve(handler, host, port, subprotocols=[Subprotocol("ocpp1.6")]) as server:
        _ready(server.sockets[0].getsockname()[1])
        await _until_terminated()


async def run_mobilityhouse_201(host: str, port: int) -> None:
    import websockets
    from ocpp.routing import on
    from ocpp.v201 import ChargePoint, call_result
    from ocpp.v201.enums import Action
    from websockets.typing import Subprotocol

    class BenchChargePoint(ChargePoint):
        @on(Action.transaction_event)
        async def on_transaction_event(
            self,
            event_type: str,
            timestamp: str,
            trigger_reason: str,
            seq_no: int,
            transaction_info: dict[str, Any],
            **kwargs: Any,
        ) -> Any:
            return call_result.TransactionEvent()

        @on(Action.heartbeat)
        async def on_heartbeat(self, **kwargs: Any) -> Any:
            return call_result.Heartbeat(current_time=datetime.now(UTC).isoformat())

    async def handler(ws: Any) -> None:
        charge_point = BenchChargePoint(_cp_id(ws.request.path), ws)
        with contextlib.suppress(websockets.ConnectionClosed):
            await charge_point.start()

    async with websockets.serve(handler, host, port, subprotocols=[Subprotocol("ocpp2.0.1")]) as server:
        _ready(server.sockets[0].getsockname()[1])
        await _until_terminated()


async def run_bare(host: str, port: int, subprotocol: str = "ocpp1.6") -> None:
    import websockets
    from websockets.typing import Subprotocol

    loads = json.loads
    dumps = json.JSONEncoder(separators=(",", ":")).encode

    async def handler(ws: Any) -> None:
        try:
            async for message in ws:
                frame = loads(message)
                payload = {"currentTime": datetime.now(UTC).isoformat()} if frame[2] == "Heartbeat" else {}
                await ws.send(dumps([3, frame[1], payload]))
        except websockets.ConnectionClosed:
            pass

    async with websockets.serve(handler, host, port, subprotocols=[Subprotocol(subprotocol)]) as server:
        _ready(server.sockets[0].getsockname()[1])
        await _until_terminated()


async def run_dual(host: str, port: int, auth: str | None = None) -> None:
    import hmac

    from ocpprpc import CentralSystem, CentralSystemServer, on
    from ocpprpc.messages import v16
    from ocpprpc.transports import soap, websocket

    class HostileBenchCentralSystem(CentralSystem):
        versions = ("1.6",)

        @on("BootNotification")
        async def boot(self, request: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
            return v16.BootNotificationResponse(status="Accepted", current_time=datetime.now(UTC), interval=300)

        @on("Heartbeat")
        async def heartbeat(self, request: v16.HeartbeatRequest) -> v16.HeartbeatResponse:
            return v16.HeartbeatResponse(current_time=datetime.now(UTC))

    # Warnings (a refused message, a bad frame) are logged as a deployment would log them, and counted.
    handler = _CountingHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    options: dict[str, Any] = {}
    if auth is not None:
        user, _, password = auth.partition(":")

        def check(charge_point_id: str, username: str, secret: str) -> bool:
            return hmac.compare_digest(username.encode(), user.encode()) & hmac.compare_digest(
                secret.encode(), password.encode()
            )

        options["auth"] = check
    server = CentralSystemServer(HostileBenchCentralSystem)
    async with (
        websocket.serve(server, host, port, path="/ocpp", **options) as ws_server,
        soap.serve(server, host, 0, **options) as soap_server,
    ):
        _ready(ws_server.port, soap_port=soap_server.port)
        await _until_terminated()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--auth", help="dual only: USER:PASSWORD every charge point must present (HTTP Basic)")
    parser.add_argument("--ocpp", choices=OCPP_VERSIONS, default="1.6", help="the OCPP version served (not dual)")
    args = parser.parse_args(argv)
    raise_nofile_limit()
    gc.callbacks.append(_gc_callback)
    if args.kind == "dual":
        asyncio.run(run_dual(args.host, args.port, args.auth))
    elif args.kind == "bare":
        asyncio.run(run_bare(args.host, args.port, "ocpp" + args.ocpp))
    else:
        runners = {
            ("ocpprpc", "1.6"): run_ocpprpc,
            ("mobilityhouse", "1.6"): run_mobilityhouse,
            ("ocpprpc", "2.0.1"): run_ocpprpc_201,
            ("mobilityhouse", "2.0.1"): run_mobilityhouse_201,
        }
        asyncio.run(runners[args.kind, args.ocpp](args.host, args.port))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
