"""The gateway's status endpoint: ``GET /status`` (JSON) and ``GET /healthz``, over plain HTTP.

It is for the operator's monitoring, so it answers from what the gateway already holds (no I/O, no
lock): every charge point with its downstream version and presence, its upstream link and its queued
messages (:meth:`ocpprpc.gateway.Gateway.status`), and the totals a dashboard or an alert reads first.
It has no authentication: it binds 127.0.0.1 unless told otherwise, and says so in the log when it
does not. It shows ids and link states, never credentials.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ocpprpc.gateway import Gateway

log = logging.getLogger("gateway")


def snapshot(gateway: Gateway, listening: dict[str, str], started: datetime) -> dict[str, Any]:
    """What ``GET /status`` answers."""
    rows = gateway.status()
    return {
        "upstream": gateway.upstream_url,
        "listening": listening,
        "started": started.isoformat(),
        "downstream_connected": sum(row.downstream_connected for row in rows),
        "upstream_connected": sum(row.upstream_connected for row in rows),
        "queued": sum(row.queued for row in rows),
        "charge_points": [dataclasses.asdict(row) for row in rows],
    }


class StatusServer:
    """``async with StatusServer(gateway, host, port, listening) as server:``; ``server.url`` once started."""

    def __init__(self, gateway: Gateway, host: str, port: int, listening: dict[str, str]) -> None:
        self.gateway = gateway
        self.host = host
        self.port = port
        self.listening = listening
        self.started = datetime.now(UTC)
        app = web.Application()
        app.router.add_get("/status", self._status)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def __aenter__(self) -> StatusServer:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        addresses: list[Any] = self._runner.addresses  # port 0 is resolved only by binding
        if addresses:
            self.port = int(addresses[0][1])
        if not _loopback(self.host):
            log.warning("the status endpoint on %s has no authentication: anyone who reaches it sees the ids", self.url)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._runner.cleanup()

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(snapshot(self.gateway, self.listening, self.started))

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
