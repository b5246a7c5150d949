"""The simulator: central systems and charge points in one process, driven by ocppjs-style commands.

Commands (from the process command line and then stdin, one per line):

    start_cs <port> [-p protocols] [-u endpoint] [-i ping] [-t websocket|soap] [--host HOST]
             [--user NAME --password SECRET | --credentials FILE]
             [--cluster [nats://HOST:PORT]] [--workers N] [--node NAME]
    start_cp <url> <id> [-p protocol] [-i ping] [-t websocket|soap] [-f from-url] [-r remote-port]
             [--host HOST] [--user NAME] [--password SECRET]
    <action> [--id CP] [field=value ...]                 a charge point sends <action>, e.g. heartbeat
                                                         (2.1's notifyperiodiceventstream: unconfirmed)
    remote_<action> [--remote-id CP] [field=value ...]    the central system sends <action>, e.g. remote_reset
    send <Action> <json> / remote_send <Action> <json>    any action and payload in a valid frame, unchecked
    send_raw <text> / remote_send_raw <text>              any text as the frame (SOAP: as the HTTP body)
    list                                                  the charge points connected (cluster-wide in a cluster)
    set cs|cp websocket_ping_interval=N | print_xml=true|false
    websocket_ping_cs / websocket_ping_cp                 one WebSocket ping now
    plugins | load <name> | unload <name>
    help | quit

Every frame in and out is printed as ``[YYYY-MM-DD HH:MM:SS] cs: <<cp#CP1 [2,"…","Heartbeat",{}]`` (over
SOAP: ``cs: <<cp#CP1 /Heartbeat {}``, or the raw envelopes with ``print_xml``). The central system answers
every charge point action with a valid default response, and a charge point answers every remote action
likewise (see ``payloads``), unless a loaded plugin answers first.

Versions: ``-p ocpp2.0.1`` / ``-p ocpp2.1`` (or a list, in order of preference) on either side. A
WebSocket central system started without ``-p`` serves every version, 1.x first (``ocpp1.6, ocpp1.5,
ocpp1.2, ocpp2.1, ocpp2.0.1``): a charge point offering a 1.x protocol gets what it got before 2.x
existed, one offering only 2.x is served instead of refused. A SOAP one serves 1.6, 1.5 and 1.2: OCPP 2.x
has no SOAP binding, and ``-t soap`` with a 2.x ``-p`` is refused with a line that says so. A charge
point started without ``-p`` speaks 1.6.

Safe by default: every server of the simulator (a central system, a SOAP charge point's remote action
port) listens on 127.0.0.1 unless ``--host`` says otherwise. A central system given ``--user`` and
``--password``, or ``--credentials FILE``, demands HTTP Basic credentials of every charge point (see
``auth``); ``start_cp ... --password SECRET`` presents them (user name: ``--user``, else the charge point id).

In a cluster (:mod:`ocpprpc.cluster`): ``start_cs PORT --cluster nats://HOST:PORT`` makes the central
system a node of that NATS cluster (``--cluster`` alone: an embedded nats-server, whose URL it prints for
the others), named ``--node NAME`` (default ``cs-<port>``). ``--workers N`` serves PORT with N worker
processes sharing the cluster (``SO_REUSEPORT``; see ``workers``); the console stays here. Then
``remote_<action> --remote-id CP1`` reaches a charge point connected to any node (through the cluster,
its answer printed here; its frames are printed by the node holding it), and ``list`` shows every charge
point connected cluster-wide: id, node, transport, version, since when.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO, cast
from urllib.parse import urlsplit

from pydantic import ValidationError

from ocpprpc import (
    ALL_VERSIONS,
    DEFAULT_VERSIONS,
    CentralSystem,
    CentralSystemServer,
    ChargePoint,
    OcppError,
    OcppModel,
    OcppRequest,
    OcppRpcError,
    OcppVersion,
    RawAnswer,
    Role,
    Side,
    on,
)
from ocpprpc.messages import v12, v15, v16, v21, v201
from ocpprpc.roles import InboundResult
from ocpprpc.transports import soap, websocket

from . import payloads
from .auth import CREDENTIALS_HELP, central_system_auth, charge_point_credentials
from .commands import Command, CommandError, parse
from .plugin import Plugin, available, load_class
from .state import Counters, Memory, is_2x

if TYPE_CHECKING:  # the cluster extra is imported only when a command asks for a cluster
    from ocpprpc.cluster import ChargePointInfo, Cluster, ClusterClient, Workers

log = logging.getLogger("simulator")

SIM_VERSIONS: tuple[str, ...] = (*DEFAULT_VERSIONS, "2.1", "2.0.1")
"""What a WebSocket central system serves without ``-p``, in order of preference: 1.x first, so a charge
point offering a 1.x protocol is served as before 2.x existed; one offering only 2.x is served too."""

SOAP_VERSIONS: tuple[str, ...] = DEFAULT_VERSIONS
"""What a SOAP central system serves without ``-p``: OCPP 2.x has no SOAP binding."""

TWO_X_OVER_SOAP = "OCPP {} has no SOAP binding (OCPP 2.x is OCPP-J only): use -t websocket"

USAGE = {
    "start_cs": "start_cs <port> [-p ocpp1.6,ocpp1.5,ocpp1.2,ocpp2.1,ocpp2.0.1] [-u endpoint] [-i ping-seconds]"
    " [-t websocket|soap] [--host HOST, default 127.0.0.1] [--user NAME --password SECRET | --credentials FILE]"
    " [--cluster [nats://HOST:PORT], alone: an embedded NATS] [--workers N] [--node NAME]",
    "start_cp": "start_cp <url> <id> [-p ocpp1.6|ocpp2.0.1|ocpp2.1|...] [-i ping-seconds] [-t websocket|soap]"
    " [-f from-url] [-r port]"
    " [--host HOST (SOAP remote action port), default 127.0.0.1] [--user NAME (default: the id)] [--password SECRET]",
    "auth": "   " + CREDENTIALS_HELP,
    "action": '<action> [--id CP] [field=value ...]   e.g. bootnotification chargePointVendor="DBT"',
    "remote": 'remote_<action> [--remote-id CP] [field=value ...]   e.g. remote_reset type="Hard"',
    "send": "send [--id CP] <Action> <json-object>   /   remote_send [--remote-id CP] <Action> <json-object>",
    "send_raw": "send_raw [--id CP] <text>   /   remote_send_raw [--remote-id CP] <text>",
    "list": "list   (the charge points connected: id, node, transport, version, since)",
    "set": "set cs|cp websocket_ping_interval=<seconds, 0 disables> | print_xml=true|false",
    "ping": "websocket_ping_cs [--remote-id CP]   /   websocket_ping_cp [--id CP]",
    "plugins": "plugins   /   load <name>   /   unload <name>",
}


def _versions_from(protocols: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if not protocols:
        return default
    versions: list[str] = []
    for word in protocols.split(","):
        version = word.strip().removeprefix("ocpp")
        if version not in ALL_VERSIONS:
            known = ", ".join("ocpp" + v for v in ALL_VERSIONS)
            raise CommandError(f"unknown protocol {word!r}; use one of {known}")
        versions.append(version)
    return tuple(versions)


def _refuse_2x_over_soap(transport: str, versions: tuple[str, ...]) -> None:
    two_x = [version for version in versions if is_2x(version)]
    if transport == "soap" and two_x:
        raise CommandError(TWO_X_OVER_SOAP.format(" and ".join(two_x)))


def _seconds(text: str | None, default: float) -> float | None:
    try:
        value = float(text) if text is not None else default
    except ValueError:
        raise CommandError(f"not a number of seconds: {text!r}") from None
    return value if value > 0 else None


def _transport(command: Command) -> str:
    transport = command.options.get("t", "websocket")
    if transport not in ("websocket", "soap"):
        raise CommandError(f"unknown transport {transport!r}: use -t websocket or -t soap")
    return transport


async def _raised(answering: Awaitable[RawAnswer]) -> dict[str, Any]:
    """The payload of a ``call_raw`` answer; the error the peer answered with raised (``spawn`` prints it)."""
    return (await answering).result()


def _bool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    if str(text).lower() in ("true", "1", "yes", "on"):
        return True
    if str(text).lower() in ("false", "0", "no", "off"):
        return False
    raise CommandError(f"not true or false: {text!r}")


class SimRoleMixin:
    """What both simulated roles share: default answers, and plugins that may answer first."""

    simulator: Simulator
    side: Side

    if TYPE_CHECKING:  # Role's, declared for the type checker

        @property
        def ocpp_version(self) -> OcppVersion: ...

    async def handle_call(self, action: str, payload: dict[str, Any], message_id: str | None = None) -> InboundResult:
        assert isinstance(self, Role)
        result = await Role.handle_call(self, action, payload, message_id)
        plugins = self.simulator.plugins_for(self)
        if result.payload is None or not plugins:
            return result
        answer, before = result.payload, result.after

        async def after() -> None:
            if before is not None:
                await before()
            for plugin in plugins:
                try:
                    await plugin.answered(self, action, payload, answer)
                except Exception as error:  # a plugin's bug must not break the connection
                    self.simulator.say(f"plugin {plugin.name}: answered({action}) failed: {error!r}")

        return dataclasses.replace(result, after=after)

    async def on_unhandled(self, action: str, request: OcppModel) -> Any:
        assert isinstance(self, Role)
        sent = request.to_json_dict()
        memory = self.simulator.memory_for(self)
        memory.received(self.ocpp_version, action, sent)
        for plugin in self.simulator.plugins_for(self):
            answer = await plugin.answer(self, action, request)
            if answer is not None:
                return answer
        spec = self.ocpp_version.received_by(self.side)[action]
        return payloads.response(self.ocpp_version, spec.response, action, memory, sent)

    async def on_connect(self) -> None:
        assert isinstance(self, Role)
        await self.simulator.notify_plugins(self, connected=True)

    async def on_disconnect(self) -> None:
        assert isinstance(self, Role)
        await self.simulator.notify_plugins(self, connected=False)


class SimCentralSystem(SimRoleMixin, CentralSystem):
    """The simulated central system's side of one charge point connection (``start_cs`` narrows ``versions``)."""

    versions = ALL_VERSIONS

    @on("NotifyPeriodicEventStream")
    def periodic_event_stream(self, message: v21.NotifyPeriodicEventStream) -> None:
        """2.1's SEND: validated like any message, never answered (not even with an error)."""
        self.simulator.say(
            f"cs: cp#{self.id}: stream {message.id}: {len(message.data)} value(s), {message.pending} pending"
            " (unconfirmed: nothing is answered)"
        )


class SimChargePoint(SimRoleMixin, ChargePoint):
    """A simulated charge point, of whichever version ``start_cp -p`` says."""

    versions = ALL_VERSIONS

    def __init__(self, id: str, version: str | OcppVersion | None = None) -> None:
        super().__init__(id, version)
        self.memory = Memory()


@dataclass
class StartedCs:
    server: CentralSystemServer[SimCentralSystem]
    transport: str
    endpoint: websocket.WebSocketServer[SimCentralSystem] | soap.SoapServer
    cluster: Cluster | None = None


@dataclass
class StartedCp:
    cp: SimChargePoint
    transport: str
    client: websocket.WebSocketClient | soap.SoapChargePointClient


class Simulator:
    """Holds the started central systems and charge points and runs commands against them."""

    def __init__(self, out: TextIO = sys.stdout, host: str = "127.0.0.1") -> None:
        self.out = out
        self.host = host
        self.cs_counters = Counters()
        self.cs_memory: dict[str, Memory] = {}
        """What the central system remembers about each charge point (by id), across reconnections."""
        self.central_systems: list[StartedCs] = []
        self.charge_points: dict[str, StartedCp] = {}
        self.current_cp: str | None = None
        self.plugins: dict[str, Plugin] = {}
        self.settings: dict[str, dict[str, Any]] = {
            "cs": {"websocket_ping_interval": 300.0, "print_xml": False},
            "cp": {"websocket_ping_interval": 300.0, "print_xml": False},
        }
        self.cluster: ClusterClient | None = None
        """The cluster member that remote commands and ``list`` go through (the first node or client)."""
        self.workers: list[Workers] = []
        self._clients: list[ClusterClient] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._commands: dict[str, Callable[[Command], Awaitable[None]]] = {
            "start_cs": self.start_cs,
            "list": self.list_charge_points,
            "start_cp": self.start_cp,
            "send": self.send,
            "remote_send": self.remote_send,
            "send_raw": self.send_raw,
            "remote_send_raw": self.remote_send_raw,
            "set": self.set,
            "websocket_ping_cs": self.ping_cs,
            "websocket_ping_cp": self.ping_cp,
            "plugins": self.list_plugins,
            "load": self.load,
            "unload": self.unload,
        }

    # -- command dispatch -------------------------------------------------------------------------

    async def execute(self, line: str) -> bool:
        """Run one command line. False when the simulator should stop. Never raises for bad input."""
        try:
            command = parse(line)
            if command is None:
                return True
            if command.name in ("quit", "exit"):
                return False
            if command.name == "help":
                self.print_help()
            elif command.name in self._commands:
                await self._commands[command.name](command)
            elif plugin_command := self._plugin_command(command.name):
                await plugin_command(command)
            elif command.name.startswith("remote_"):
                self.remote_action(command)
            else:
                self.cp_action(command)
        except CommandError as error:
            self.say(f"error: {error}")
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}"
                for e in error.errors(include_url=False)
            )
            self.say(f"error: invalid {error.title}: {problems}")
        except (OcppRpcError, OSError, ValueError, LookupError) as error:
            self.say(f"error: {error}")
        except Exception as error:  # a plugin's bug, say: report it, keep the simulator running
            self.say(f"error: {line.strip()} failed: {error!r}")
        return True

    def say(self, text: str) -> None:
        log.info("%s", text)

    def print_help(self) -> None:
        lines = ["commands:", *(f"  {usage}" for usage in USAGE.values()), "  help", "  quit"]
        cp_actions: set[str] = set()
        cs_actions: set[str] = set()
        for version in _all_versions():
            cp_actions.update(a.lower() for a in version.initiated_by(Side.CHARGE_POINT))
            cp_actions.update(a.lower() for a in version.sent_by(Side.CHARGE_POINT))
            cs_actions.update("remote_" + _remote_name(a) for a in version.initiated_by(Side.CENTRAL_SYSTEM))
        lines.append("charge point actions: " + " ".join(sorted(cp_actions)))
        lines.append("central system actions: " + " ".join(sorted(cs_actions)))
        for plugin in self.plugins.values():
            if plugin.commands:
                lines.append(f"plugin {plugin.name}: " + " ".join(sorted(plugin.commands)))
        print("\n".join(lines), file=self.out, flush=True)

    # -- start ------------------------------------------------------------------------------------

    async def start_cs(self, command: Command) -> None:
        if len(command.args) != 1 or not command.args[0].isdigit():
            raise CommandError("usage: " + USAGE["start_cs"])
        port = int(command.args[0])
        transport = _transport(command)
        versions = _versions_from(command.options.get("p"), SOAP_VERSIONS if transport == "soap" else SIM_VERSIONS)
        _refuse_2x_over_soap(transport, versions)
        host = command.options.get("host", self.host)
        auth = central_system_auth(command)
        if "workers" in command.options:
            await self._start_workers(command, port, transport, versions, host)
            return
        role_class = type("SimCentralSystem", (SimCentralSystem,), {"simulator": self, "versions": versions})
        cluster = self._node(command, port)
        server: CentralSystemServer[SimCentralSystem] = CentralSystemServer(role_class, cluster=cluster)
        endpoint_path = command.options.get("u", "")
        endpoint: websocket.WebSocketServer[SimCentralSystem] | soap.SoapServer
        if transport == "soap":
            endpoint = soap.serve(server, host, port, path=endpoint_path or "/", auth=auth)
        else:
            interval = _seconds(command.options.get("i"), self.settings["cs"]["websocket_ping_interval"] or 0)
            endpoint = websocket.serve(server, host, port, path=endpoint_path or "/", ping_interval=interval, auth=auth)
        if cluster is not None:
            await cluster.start()
            self.cluster = self.cluster or cluster
            self.say(f"cs: node {cluster.node_id} joined the cluster at {cluster.nats_url}")
            if cluster.embedded is not None:
                self.say(
                    f"cs: embedded nats-server at {cluster.nats_url} (others join with --cluster {cluster.nats_url})"
                )
        try:
            await endpoint.start()
        except BaseException:
            if cluster is not None:
                await cluster.close()
            raise
        self.central_systems.append(StartedCs(server, transport, endpoint, cluster))
        if transport == "soap":  # the WebSocket server announces itself (ocpprpc.websocket at INFO)
            protocols = ",".join("ocpp" + v for v in versions)
            self.say(f"cs: listening on {endpoint.url} (soap, {protocols})")
        if auth is not None:
            self.say(f"cs: charge points must present HTTP Basic credentials ({auth.describe()})")

    def _node(self, command: Command, port: int) -> Cluster | None:
        """The cluster node ``--cluster [URL]`` asks for (None without it)."""
        if "cluster" not in command.options:
            if "node" in command.options:
                raise CommandError("--node names a cluster node: give --cluster too")
            return None
        _need_cluster_extra()
        from ocpprpc.cluster import Cluster

        node = command.options.get("node") or (f"cs-{port}" if port else f"cs-{os.getpid()}")
        return Cluster(command.options["cluster"] or None, node_id=node)

    async def _start_workers(
        self, command: Command, port: int, transport: str, versions: tuple[str, ...], host: str
    ) -> None:
        """``start_cs PORT --workers N``: N worker processes on PORT, joined to the cluster; a client here."""
        count = command.options["workers"]
        if not count.isdigit() or int(count) < 1:
            raise CommandError(f"--workers takes a number of processes, not {count!r}")
        if "node" in command.options:
            raise CommandError("worker nodes are named <node>-w<i>-<pid>: --node does not apply to --workers")
        _need_cluster_extra()
        from ocpprpc.cluster import ClusterClient, Workers, WorkerSpec

        auth = central_system_auth(command)
        path = command.options.get("u", "") or "/"
        interval = _seconds(command.options.get("i"), self.settings["cs"]["websocket_ping_interval"] or 0)
        spec = WorkerSpec(
            "sim.workers:WorkerCentralSystem",
            host=host,
            port=None if transport == "soap" else port,
            soap_port=port if transport == "soap" else None,
            versions=versions,
            nats_url=command.options.get("cluster") or None,
            setup="sim.workers:setup_worker",
            websocket_options={"path": path, "ping_interval": interval, "auth": auth},
            soap_options={"path": path, "auth": auth},
            node_name="sim",
        )
        workers = Workers(spec, int(count))
        await workers.start()
        self.workers.append(workers)
        client = ClusterClient(workers.nats_url)
        self._clients.append(client)
        await client.start()
        self.cluster = self.cluster or client
        scheme = "http" if transport == "soap" else "ws"
        listening = f"{scheme}://{host}:{workers.soap_port if transport == 'soap' else workers.port}{path}"
        nodes = ", ".join(workers.nodes.values())
        self.say(f"cs: {count} workers listening on {listening} (nodes {nodes}), cluster {workers.nats_url}")

    async def start_cp(self, command: Command) -> None:
        if len(command.args) != 2:
            raise CommandError("usage: " + USAGE["start_cp"])
        url, cp_id = command.args
        if cp_id in self.charge_points:
            raise CommandError(f"charge point {cp_id} is already started")
        transport = _transport(command)
        version = _versions_from(command.options.get("p"), ("1.6",))[0]
        _refuse_2x_over_soap(transport, (version,))
        cp_class = type("SimChargePoint", (SimChargePoint,), {"simulator": self})
        credentials = charge_point_credentials(command, cp_id)
        cp = cp_class(cp_id, version)
        client: websocket.WebSocketClient | soap.SoapChargePointClient
        if transport == "soap":
            from_url = command.options.get("f")
            port = int(command.options.get("r") or (urlsplit(from_url).port if from_url else 0) or 0)
            host = command.options.get("host", self.host)
            client = soap.connect(cp, url, from_url=from_url, host=host, port=port, auth=credentials)
        else:
            interval = _seconds(command.options.get("i"), self.settings["cp"]["websocket_ping_interval"] or 0)
            client = websocket.connect(cp, url, ping_interval=interval, auth=credentials)
        await client.start()
        where = f" (remote actions at {client.from_url})" if isinstance(client, soap.SoapChargePointClient) else ""
        # Commands typed next expect a connection; a slow one is reported by the client itself.
        with contextlib.suppress(OcppRpcError):
            await client.wait_connected(timeout=5)
        self.charge_points[cp_id] = StartedCp(cp, transport, client)
        self.current_cp = cp_id
        self.say(f"cp#{cp_id}: connecting to {url} ({transport}, ocpp{version}){where}")

    # -- finding roles ------------------------------------------------------------------------------

    def started_cp(self, cp_id: str | None) -> StartedCp:
        cp_id = cp_id or self.current_cp
        if cp_id is None or cp_id not in self.charge_points:
            started = f"no charge point {cp_id} started" if cp_id else "no charge point started"
            raise CommandError(started + "; use start_cp first")
        return self.charge_points[cp_id]

    def connected_charge_points(self) -> list[SimCentralSystem]:
        """The central system's side of every charge point connection, oldest first."""
        return [role for started in self.central_systems for role in started.server.charge_points.values()]

    def remote_target(self, cp_id: str | None) -> SimCentralSystem:
        target = self.remote_target_anywhere(cp_id)
        if not isinstance(target, SimCentralSystem):
            raise CommandError(
                f"charge point {target.charge_point_id} is connected to node {target.node}: this command reaches"
                " only charge points connected to this simulator (the cluster carries typed calls)"
            )
        return target

    def remote_target_anywhere(self, cp_id: str | None) -> SimCentralSystem | ChargePointInfo:
        """A charge point connected here (its role), else one connected to another node of the cluster
        (its presence entry); without an id the latest connected, here first."""
        connected = self.connected_charge_points()
        if cp_id is not None:
            connected = [role for role in connected if role.id == cp_id]
        if connected:
            return connected[-1]
        if self.cluster is not None:
            presence = self.cluster.presence
            if cp_id is not None and cp_id in presence:
                return presence[cp_id]
            if cp_id is None and len(presence):
                return max(presence.values(), key=lambda info: info.since)
        raise CommandError(f"no charge point {cp_id} connected" if cp_id else "no charge point connected")

    def memory_for(self, role: Role) -> Memory:
        """What ``role``'s side remembers of its connection: a charge point's own, or the central system's."""
        if isinstance(role, SimChargePoint):
            return role.memory
        return self.cs_memory_of(role.id)

    def cs_memory_of(self, charge_point_id: str) -> Memory:
        """What the central system remembers of ``charge_point_id``, connected here or to another node."""
        return self.cs_memory.setdefault(charge_point_id, Memory(self.cs_counters))

    # -- actions ----------------------------------------------------------------------------------

    def cp_action(self, command: Command) -> None:
        cp = self.started_cp(command.options.get("id")).cp
        version = cp.ocpp_version
        actions = {name.lower(): spec for name, spec in version.initiated_by(Side.CHARGE_POINT).items()}
        unconfirmed = {name.lower(): send for name, send in version.sent_by(Side.CHARGE_POINT).items()}
        if command.name in unconfirmed:  # 2.1's SEND: nothing comes back
            send = unconfirmed[command.name]
            payload = payloads.request(version, send.message, send.name, cp.memory, command.fields)
            message = send.message.model_validate(payload | command.fields)
            cp.memory.sent(version, send.name, message.to_json_dict())
            self.spawn(f"cp#{cp.id}", send.name, cp.send(message))
            return
        spec = actions.get(command.name)
        if spec is None:
            raise CommandError(f"unknown command {command.name!r}; type help for the list")
        payload = payloads.request(version, spec.request, spec.name, cp.memory, command.fields)
        request = spec.request.model_validate(payload | command.fields)
        cp.memory.sent(version, spec.name, request.to_json_dict())

        async def run() -> None:
            response: OcppModel = await cp.call(request)
            cp.memory.answered(version, spec.name, response.to_json_dict())

        self.spawn(f"cp#{cp.id}", spec.name, run())

    def remote_action(self, command: Command) -> None:
        name = command.name.removeprefix("remote_")
        target = self.remote_target_anywhere(command.options.get("remote-id"))
        version = target.ocpp_version if isinstance(target, Role) else _version(target.version)
        cp_id = target.id if isinstance(target, Role) else target.charge_point_id
        actions = version.initiated_by(Side.CENTRAL_SYSTEM)
        # remote_starttransaction: RemoteStartTransaction in 1.x, RequestStartTransaction in 2.x
        spec = next((s for a, s in actions.items() if a.lower() in (name, "remote" + name, "request" + name)), None)
        if spec is None:
            raise CommandError(f"unknown command {command.name!r}; type help for the list")
        memory = self.cs_memory_of(cp_id)
        payload = payloads.request(version, spec.request, spec.name, memory, command.fields)
        request = spec.request.model_validate(payload | command.fields)
        memory.sent(version, spec.name, request.to_json_dict())
        if isinstance(target, Role):
            self.spawn("cs", spec.name, target.call(request))
        else:
            self.spawn("cs", spec.name, self._through_cluster(target, spec.name, request))

    async def _through_cluster(self, info: ChargePointInfo, action: str, request: OcppModel) -> None:
        """Call a charge point held by another node; its frames are printed there, its answer here."""
        assert self.cluster is not None
        who = f"cs: cp#{info.charge_point_id} (node {info.node})"
        self.say(f"{who}: {action} {_compact(request)} sent through the cluster")
        response = await self.cluster.call(info.charge_point_id, cast("OcppRequest[OcppModel]", request))
        memory = self.cs_memory_of(info.charge_point_id)
        memory.answered(_version(info.version), action, response.to_json_dict())
        self.say(f"{who}: {action} answered {_compact(response)}")

    async def list_charge_points(self, command: Command) -> None:
        """``list``: every charge point connected (cluster-wide in a cluster), oldest connection first."""
        entries: list[tuple[str, str, str, str, datetime | None]]
        if self.cluster is None:
            entries = [
                (role.id, "-", _transport_of(self, role), role.ocpp_version.version, None)
                for role in self.connected_charge_points()
            ]
            where = "to this simulator"
        else:
            presence = self.cluster.presence
            ordered = sorted(presence.values(), key=lambda info: (info.since, info.charge_point_id))
            entries = [(i.charge_point_id, i.node, i.transport, i.version, i.since) for i in ordered]
            where = f"cluster-wide (nodes: {', '.join(sorted(presence.nodes)) or 'none'})"
        self.say(f"cs: {len(entries)} charge point(s) connected {where}")
        width = max((len(entry[0]) for entry in entries), default=0)
        nodes = max((len(entry[1]) for entry in entries), default=0)
        for cp_id, node, transport, version, since in entries:
            when = f"  since {since.strftime('%Y-%m-%d %H:%M:%S')}Z" if since is not None else ""
            self.say(f"cs:   {cp_id:<{width}}  node={node:<{nodes}}  {transport:<9}  ocpp{version:<5}{when}")

    def _raw_call(self, command: Command) -> tuple[str, dict[str, Any]]:
        if len(command.args) < 1:
            raise CommandError("usage: " + USAGE["send"])
        action = command.args[0]
        text = " ".join(command.args[1:]) or "{}"
        try:
            payload: dict[str, Any] | list[Any] | str | float | None = json.loads(text)  # int and bool are floats
        except ValueError:
            raise CommandError(f"not JSON: {text}") from None
        if not isinstance(payload, dict):
            raise CommandError("the payload must be a JSON object (use send_raw for anything else)")
        return action, payload

    async def send(self, command: Command) -> None:
        cp = self.started_cp(command.options.get("id")).cp
        action, payload = self._raw_call(command)
        self.spawn(f"cp#{cp.id}", action, _raised(cp.call_raw(action, payload)))

    async def remote_send(self, command: Command) -> None:
        target = self.remote_target_anywhere(command.options.get("remote-id"))
        action, payload = self._raw_call(command)
        if isinstance(target, Role):
            self.spawn("cs", action, _raised(target.call_raw(action, payload)))
            return
        # Another node's charge point: the cluster carries typed calls, so the payload must be valid
        spec = _version(target.version).initiated_by(Side.CENTRAL_SYSTEM).get(action)
        if spec is None:
            raise CommandError(f"{action} is not an action a central system sends in OCPP {target.version}")
        self.spawn("cs", action, self._through_cluster(target, action, spec.request.model_validate(payload)))

    def _raw_text(self, command: Command) -> str:
        """The text after the command name and its ``--id`` / ``--remote-id`` option, exactly as typed."""
        text = command.raw
        parts = text.split(None, 2)
        if parts and parts[0] in ("--id", "--remote-id"):
            text = parts[2] if len(parts) > 2 else ""
        if not text:
            raise CommandError("usage: " + USAGE["send_raw"])
        return text

    async def send_raw(self, command: Command) -> None:
        cp = self.started_cp(command.options.get("id")).cp
        text = self._raw_text(command)
        self.spawn(f"cp#{cp.id}", "send_raw", self._print_answer(f"cp#{cp.id}", cp.send_raw(text)))

    async def remote_send_raw(self, command: Command) -> None:
        role = self.remote_target(command.options.get("remote-id"))
        text = self._raw_text(command)
        self.spawn("cs", "remote_send_raw", self._print_answer(f"cs: cp#{role.id}", role.send_raw(text)))

    async def _print_answer(self, who: str, sending: Awaitable[str | None]) -> None:
        answer = await sending
        if answer is not None:  # SOAP answers the POST itself; OCPP-J answers show up in the frame log
            self.say(f"{who}: answer: {answer}")

    # -- settings and pings -------------------------------------------------------------------------

    async def set(self, command: Command) -> None:
        if len(command.args) != 1 or command.args[0] not in ("cs", "cp") or not command.fields:
            raise CommandError("usage: " + USAGE["set"])
        side = command.args[0]
        for key, value in command.fields.items():
            if key == "websocket_ping_interval":
                interval = _seconds(str(value), 0)
                self.settings[side][key] = interval
                for endpoint in self._websocket_endpoints(side):
                    endpoint.ping_interval = interval
            elif key == "print_xml":
                self.settings[side][key] = _bool(value)
                any_on = self.settings["cs"]["print_xml"] or self.settings["cp"]["print_xml"]
                soap.xml_logger.setLevel(logging.DEBUG if any_on else logging.WARNING)
                if not any(isinstance(f, _SideFilter) for f in soap.xml_logger.filters):
                    soap.xml_logger.addFilter(_SideFilter(self.settings))
            else:
                raise CommandError(f"unknown setting {key!r}; " + USAGE["set"])
            shown = self.settings[side][key]
            self.say(f"{side}: {key} = {'0 (off)' if shown is None else shown}")

    def _websocket_endpoints(self, side: str) -> list[Any]:
        if side == "cs":
            return [s.endpoint for s in self.central_systems if s.transport == "websocket"]
        return [s.client for s in self.charge_points.values() if s.transport == "websocket"]

    async def ping_cs(self, command: Command) -> None:
        role = self.remote_target(command.options.get("remote-id"))
        for started in self.central_systems:
            if started.transport == "websocket" and role.id in started.server.charge_points:
                endpoint = started.endpoint
                assert isinstance(endpoint, websocket.WebSocketServer)
                self.spawn("cs", "ping", self._print_ping(f"cs: cp#{role.id}", endpoint.ping(role.id)))
                return
        raise CommandError(f"charge point {role.id} is not connected by WebSocket")

    async def ping_cp(self, command: Command) -> None:
        started = self.started_cp(command.options.get("id"))
        if not isinstance(started.client, websocket.WebSocketClient):
            raise CommandError(f"charge point {started.cp.id} does not use WebSocket")
        self.spawn(f"cp#{started.cp.id}", "ping", self._print_ping(f"cp#{started.cp.id}", started.client.ping()))

    async def _print_ping(self, who: str, ping: Awaitable[float]) -> None:
        self.say(f"{who}: pong in {await ping * 1000:.1f} ms")

    # -- plugins ------------------------------------------------------------------------------------

    async def list_plugins(self, command: Command) -> None:
        for name, _path in available().items():
            try:
                plugin_class = load_class(name)
            except Exception as error:  # a broken plugin file must not break the listing
                self.say(f"plugin {name}: cannot be loaded: {error}")
                continue
            state = "loaded" if name in self.plugins else "available"
            version = plugin_class.version or "any version"
            self.say(f"plugin {name} [{state}] ({plugin_class.side}, {version}): {plugin_class.description}")

    async def load(self, command: Command) -> None:
        if len(command.args) != 1:
            raise CommandError("usage: load <name>")
        name = command.args[0]
        if name in self.plugins:
            raise CommandError(f"plugin {name} is already loaded")
        plugin = load_class(name)(self)
        self.plugins[name] = plugin
        await plugin.on_load()
        self.say(f"plugin {name} loaded")
        for role in self._roles_of(plugin):
            await plugin.on_connect(role)

    async def unload(self, command: Command) -> None:
        if len(command.args) != 1 or command.args[0] not in self.plugins:
            raise CommandError(f"usage: unload <name>; loaded: {', '.join(self.plugins) or 'none'}")
        plugin = self.plugins.pop(command.args[0])
        await self._unload(plugin)
        self.say(f"plugin {plugin.name or command.args[0]} unloaded")

    def _roles_of(self, plugin: Plugin) -> list[Role]:
        roles: list[Role] = [*self.connected_charge_points(), *(s.cp for s in self.charge_points.values())]
        return [role for role in roles if role.connected and plugin.applies_to(role)]

    def _plugin_command(self, name: str) -> Callable[[Command], Awaitable[None]] | None:
        for plugin in self.plugins.values():
            if name in plugin.commands:
                return plugin.commands[name]
        return None

    def plugins_for(self, role: Role) -> list[Plugin]:
        return [plugin for plugin in self.plugins.values() if plugin.applies_to(role)]

    async def notify_plugins(self, role: Role, *, connected: bool) -> None:
        for plugin in self.plugins_for(role):
            try:
                await (plugin.on_connect(role) if connected else plugin.on_disconnect(role))
            except Exception as error:  # a plugin's bug must not break the connection
                self.say(f"plugin {plugin.name}: {'on_connect' if connected else 'on_disconnect'} failed: {error!r}")

    # -- tasks and shutdown -------------------------------------------------------------------------

    def spawn(self, who: str, action: str, call: Awaitable[Any]) -> None:
        """Run a call in the background, reporting its failure as a line (the command prompt stays free)."""

        async def run() -> None:
            try:
                await call
            except OcppError as error:
                self.say(f"{who}: {action} answered with {error.code.value}: {error.description}")
            except OcppRpcError as error:
                self.say(f"{who}: {action} failed: {error}")
            except Exception as error:
                self.say(f"{who}: {action} failed: {error!r}")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _unload(self, plugin: Plugin) -> None:
        try:
            await plugin.on_unload()
        except Exception as error:  # a plugin's bug must not stop the simulator from stopping
            self.say(f"plugin {plugin.name}: on_unload failed: {error!r}")

    async def close(self) -> None:
        for plugin in list(self.plugins.values()):
            await self._unload(plugin)
        self.plugins.clear()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        for started_cp in self.charge_points.values():
            await started_cp.client.close()
        for started_cs in self.central_systems:
            await started_cs.endpoint.close()
        for client in self._clients:
            await client.close()
        for workers in self.workers:
            await workers.close()
        for started_cs in reversed(self.central_systems):  # the node that embeds NATS (the first) last
            if started_cs.cluster is not None:
                await started_cs.cluster.close()


class _SideFilter(logging.Filter):
    """Let raw envelopes through only for the side (cs / cp) whose ``print_xml`` is on.

    The SOAP transport labels each envelope with who logs it: ``cs: ...`` or ``cp#ID: ...``.
    """

    def __init__(self, settings: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        self.settings = settings

    def filter(self, record: logging.LogRecord) -> bool:
        label = str(record.args[0]) if isinstance(record.args, tuple) and record.args else ""
        side = "cs" if label.startswith("cs:") else "cp"
        return bool(self.settings[side]["print_xml"])


def _all_versions() -> list[OcppVersion]:
    return [v21.VERSION, v201.VERSION, v16.VERSION, v15.VERSION, v12.VERSION]


def _need_cluster_extra() -> None:
    """A CommandError saying which extra is missing when ``ocpprpc.cluster`` cannot be imported."""
    try:
        importlib.import_module("ocpprpc.cluster")
    except ImportError as error:
        raise CommandError(f"{error} (--cluster and --workers need it)") from None


def _version(name: str) -> OcppVersion:
    """The OCPP version named in a presence entry (``"1.6"``)."""
    for version in _all_versions():
        if version.version == name:
            return version
    raise CommandError(f"the cluster names an OCPP version this simulator does not know: {name!r}")


def _compact(model: OcppModel) -> str:
    return json.dumps(model.to_json_dict(), separators=(",", ":"), ensure_ascii=False)


def _transport_of(simulator: Simulator, role: SimCentralSystem) -> str:
    for started in simulator.central_systems:
        if started.server.charge_points.get(role.id) is role:
            return started.transport
    return "?"


def _remote_name(action: str) -> str:
    lower = action.lower()
    return lower.removeprefix("remote") if lower.startswith("remote") else lower


def configure_logging(out: TextIO) -> None:
    """Frames and simulator messages on ``out`` as ``[YYYY-MM-DD HH:MM:SS] text``; library warnings too."""
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(message)s", datefmt="%Y-%m-%d %H:%M:%S"))
    for name, level in (("ocpprpc.frames", logging.INFO), ("simulator", logging.INFO), ("ocpprpc", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(handler)
        logger.propagate = False
    logging.getLogger("ocpprpc.websocket").setLevel(logging.INFO)
    soap.xml_logger.setLevel(logging.WARNING)
