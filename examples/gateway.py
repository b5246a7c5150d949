"""The gateway app: installed OCPP 1.2 / 1.5 chargers (SOAP or WebSocket) on an OCPP-J 1.6 central system.

    python examples/gateway.py --listen-soap :9100 --upstream wss://csms.example.com/ocpp \\
        --credentials upstream.json --store /var/lib/ocpp-gateway/outbox.sqlite --status :9180

Chargers post SOAP to ``http://<host>:9100/`` (or connect over OCPP-J with ``--listen-ws``); each one
appears to the central system as an OCPP-J 1.6 charge point connected to ``<upstream>/<id>``, its
requests translated up and the central system's requests translated down (``ocpprpc.gateway``).
Transaction messages wait in the ``--store`` SQLite file while the central system is unreachable and
are delivered in order, once, when it is back (also after a restart of the gateway).

Logging goes to standard error: at INFO one line per forwarded exchange (from the library's
``ocpprpc.gateway`` logger), connections and warnings; at DEBUG also both forms of every message, every
frame and the raw SOAP envelopes. SIGINT / SIGTERM stop it cleanly (exit status 0); messages still
queued stay in the store. ``python examples/gateway.py --help`` lists every option.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gw.options import Options, parse

log = logging.getLogger("gateway")


def configure_logging(level: str) -> None:
    """Lines ``time LEVEL logger: message`` on standard error; the frame log only at DEBUG."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in ("gateway", "ocpprpc"):
        logging.getLogger(name).setLevel(level)
    if level != "DEBUG":
        logging.getLogger("ocpprpc.frames").setLevel(logging.WARNING)  # four lines per exchange: DEBUG only
    logging.getLogger("websockets").setLevel(logging.WARNING)  # ocpprpc.websocket says it, with the id


async def run(options: Options) -> int:
    """Serve until SIGINT / SIGTERM; 0 then, 1 when something could not start."""
    from gw.auth import ChargerAuth
    from gw.status import StatusServer

    from ocpprpc import OcppRpcError
    from ocpprpc.gateway import Gateway
    from ocpprpc.transports import soap, websocket

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    for note in options.notes:
        log.warning("%s", note)
    auth = ChargerAuth(options.downstream_credentials) if options.downstream_credentials is not None else None
    listening: dict[str, str] = {}
    try:
        async with contextlib.AsyncExitStack() as stack:
            gateway = await stack.enter_async_context(
                Gateway(options.upstream, credentials=options.credentials, identities=options.identities,
                        ssl=options.ssl, store=options.store)
            )  # fmt: skip
            if options.soap is not None:
                where = options.soap
                soap_server = await stack.enter_async_context(
                    soap.serve(gateway.server, where.host, where.port, path=where.path, auth=auth)
                )
                listening["soap"] = soap_server.url
                log.info("OCPP-S (SOAP) charge points: %s", soap_server.url)
            if options.ws is not None:
                where = options.ws
                ws_server = await stack.enter_async_context(
                    websocket.serve(gateway.server, where.host, where.port, path=where.path, auth=auth)
                )
                listening["ws"] = ws_server.url
                log.info("OCPP-J (WebSocket) charge points: %s<id>", ws_server.url)
            if options.status is not None:
                status = await stack.enter_async_context(
                    StatusServer(gateway, options.status.host, options.status.port, listening)
                )
                log.info("status: %sstatus, health: %shealthz", status.url, status.url)
            log.info(
                "upstream: %s/<id> (%s); store: %s",
                gateway.upstream_url,
                "Basic auth per charge point" if options.credentials else "no credentials",
                options.store or "memory",
            )
            log.info("ready")
            await stop.wait()
            queued = sum(row.queued for row in gateway.status())
            if options.store is not None:
                log.info("stopping; queued messages stay in %s (%d now)", options.store, queued)
            else:
                log.info("stopping; %d queued message(s) lost (no --store)", queued)
    except (OSError, OcppRpcError) as error:
        log.error("cannot run: %s", error)
        return 1
    log.info("stopped")
    return 0


def main(argv: list[str]) -> int:
    options = parse(argv)
    configure_logging(options.log_level)
    return asyncio.run(run(options))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
