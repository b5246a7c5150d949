"""``python -m ocpprpc.cluster``: serve a central system with N worker processes on one port.

    python -m ocpprpc.cluster myapp:MyCentralSystem --port 9000 --workers 4
    python -m ocpprpc.cluster myapp:MyCentralSystem --host 0.0.0.0 --port 9000 --workers 4 \\
        --nats nats://nats-1:4222,nats://nats-2:4222 --setup myapp:setup --events

The role class (or factory) and the setup function are ``module:attribute`` names, imported in every
worker (the current directory is importable, as with ``python -m``). Without ``--nats`` an embedded
nats-server is started. SIGINT / SIGTERM stop everything gracefully; see :func:`serve_workers`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..errors import UsageError
from ._processes import LOG_FORMAT, WorkerFailed, serve_workers


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m ocpprpc.cluster",
        description="Serve OCPP charge points with N central system processes on one port, sharing a NATS cluster.",
    )
    cli.add_argument("factory", help="the role class or factory, as module:attribute (e.g. myapp:MyCentralSystem)")
    cli.add_argument("--host", default="127.0.0.1", help="the interface to listen on (default 127.0.0.1)")
    cli.add_argument("--port", type=int, default=9000, help="the WebSocket port (default 9000; 0: a free one)")
    cli.add_argument("--soap-port", type=int, default=None, help="also serve OCPP 1.x over SOAP on this port")
    cli.add_argument("--path", default="/", help="the path before the charge point id (default /)")
    cli.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default: one per core)"
    )
    cli.add_argument("--nats", default=None, help="NATS URL(s), comma-separated (default: an embedded nats-server)")
    cli.add_argument("--versions", default=None, help="OCPP versions served, comma-separated (default: the role's)")
    cli.add_argument("--setup", default=None, help="module:function run in every worker as setup(server, cluster)")
    cli.add_argument("--events", action="store_true", help="publish every inbound call and answer to the stream")
    cli.add_argument("--prefix", default="ocpprpc", help="the cluster's subject / bucket prefix")
    cli.add_argument("--node-name", default=None, help="node ids are <name>-w<i>-<pid> (default: the host name)")
    cli.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return cli


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    logging.basicConfig(level=arguments.log_level.upper(), format=LOG_FORMAT)
    if "" not in sys.path and os.getcwd() not in sys.path:  # module:attribute from the current directory
        sys.path.insert(0, os.getcwd())
    try:
        serve_workers(
            arguments.factory,
            host=arguments.host,
            port=arguments.port,
            soap_port=arguments.soap_port,
            workers=arguments.workers,
            nats_url=arguments.nats,
            versions=arguments.versions.split(",") if arguments.versions else None,
            setup=arguments.setup,
            websocket_options={"path": arguments.path},
            soap_options={"path": arguments.path},
            cluster_options={"events": arguments.events, "prefix": arguments.prefix},
            node_name=arguments.node_name,
            log_level=arguments.log_level.upper(),
        )
    except (WorkerFailed, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
