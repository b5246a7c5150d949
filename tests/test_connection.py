"""One connection seam: the same lifecycle, registry truth and client contract over every transport.

The tests below run one body over WebSocket, SOAP and memory: a charge point connects (and speaks once,
since a SOAP charge point is known from its first request), is in the server's registry and connected;
when the connection goes it leaves the registry and ``on_disconnect`` fires once, whoever ended it.
"""

from __future__ import annotations

import ast
import asyncio
import socket
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

import ocpprpc.transports
from ocpprpc import (
    Backoff,
    CentralSystem,
    CentralSystemServer,
    ChargePoint,
    ConnectionClosed,
    NotConnected,
    OcppRpcError,
    UnknownChargePoint,
    UsageError,
    after,
)
from ocpprpc._basic_auth import basic_authorization, parse_basic_authorization
from ocpprpc.connection import Connection, OcppJLink
from ocpprpc.messages import v15, v16
from ocpprpc.transports import memory, soap, websocket

from .roles_for_tests import EchoCentralSystem, EchoChargePoint
from .timing import FAST, bounded, eventually

TRANSPORTS = ["websocket", "soap", "memory"]
NETWORK = ["websocket", "soap"]
IDLE = 0.3
"""The SOAP idle timeout of these tests: a SOAP charge point's end is only known by its silence."""


class Recorder:
    """A server whose listeners write down every connect and disconnect, by role object."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int]] = []
        self.server = CentralSystemServer(EchoCentralSystem, on_connect=self.connected, on_disconnect=self.gone)

    def connected(self, role: CentralSystem) -> None:
        self.events.append(("+", role.id, id(role)))

    def gone(self, role: CentralSystem) -> None:
        self.events.append(("-", role.id, id(role)))

    def count(self, sign: str, role: CentralSystem) -> int:
        return self.events.count((sign, role.id, id(role)))


@asynccontextmanager
async def central_system(kind: str, server: CentralSystemServer[Any], **options: Any) -> AsyncGenerator[Any, None]:
    """The place a charge point connects to: a URL (WebSocket, SOAP), or the server itself (memory)."""
    if kind == "websocket":
        async with websocket.serve(server, **options) as ws_server:
            yield ws_server
    elif kind == "soap":
        settings: dict[str, Any] = {"idle_timeout": IDLE, **options}
        async with soap.serve(server, **settings) as soap_server:
            yield soap_server
    else:
        yield server


def charge_point_connection(kind: str, cp: ChargePoint, where: Any, **options: Any) -> AbstractAsyncContextManager[Any]:
    settings: dict[str, Any] = {**FAST, "reconnect": False, **options}
    if kind == "websocket":
        return websocket.connect(cp, where.url, **settings)
    if kind == "soap":
        return soap.connect(cp, where.url, **settings)
    return memory.connect(where, cp)


@pytest.mark.parametrize("kind", TRANSPORTS)
@bounded(10)
async def test_connect_register_disconnect_unregister_on_every_transport(kind: str) -> None:
    recorder = Recorder()
    server = recorder.server
    async with central_system(kind, server) as where:
        cp = EchoChargePoint("CP1", "1.6")
        async with charge_point_connection(kind, cp, where):
            await cp.call(v16.HeartbeatRequest())
            assert "CP1" in server and len(server) == 1 and cp.connected
            role = server["CP1"]
            assert role.connected and recorder.count("+", role) == 1
            assert isinstance(await server.call("CP1", v16.ResetRequest(type="Soft")), v16.ResetResponse)
        assert not cp.connected
        await eventually(lambda: "CP1" not in server, timeout=3)
        await asyncio.sleep(0.05)
        assert not role.connected and len(server) == 0
        assert recorder.count("-", role) == 1
        with pytest.raises(UnknownChargePoint):
            await server.call("CP1", v16.ResetRequest(type="Soft"))
    assert recorder.events == [("+", "CP1", id(role)), ("-", "CP1", id(role))]


@pytest.mark.parametrize("kind", TRANSPORTS)
@bounded(10)
async def test_a_charge_point_connecting_again_replaces_its_old_connection_on_every_transport(kind: str) -> None:
    recorder = Recorder()
    server = recorder.server
    async with central_system(kind, server) as where:
        first, second = EchoChargePoint("CP1", "1.6"), EchoChargePoint("CP1", "1.6")
        async with charge_point_connection(kind, first, where):
            await first.call(v16.HeartbeatRequest())
            old = server["CP1"]
            async with charge_point_connection(kind, second, where):
                await second.call(v16.HeartbeatRequest())
                new = server["CP1"]
                assert new is not old and new.connected and len(server) == 1
                await eventually(lambda: recorder.count("-", old) == 1)
                assert not old.connected
                await server.call("CP1", v16.ResetRequest(type="Soft"))  # calls go to the new connection
                assert [type(r) for r in second.received] == [v16.ResetRequest] and first.received == []
            await eventually(lambda: "CP1" not in server, timeout=3)
    await asyncio.sleep(0.05)
    assert recorder.events == [
        ("+", "CP1", id(old)),
        ("+", "CP1", id(new)),
        ("-", "CP1", id(old)),
        ("-", "CP1", id(new)),
    ]


@pytest.mark.parametrize("kind", TRANSPORTS)
@bounded(10)
async def test_a_connection_the_central_system_closes_ends_once_on_every_transport(kind: str) -> None:
    recorder = Recorder()
    server = recorder.server
    async with central_system(kind, server) as where:
        cp = EchoChargePoint("CP1", "1.6")
        async with charge_point_connection(kind, cp, where):
            await cp.call(v16.HeartbeatRequest())
            role = server["CP1"]
            await role.close("bye")
            await eventually(lambda: "CP1" not in server)
            await role.close("again")  # closing twice ends nothing twice
            await asyncio.sleep(0.05)
            assert recorder.count("-", role) == 1 and not role.connected
            with pytest.raises(ConnectionClosed):
                await role.call(v16.ResetRequest(type="Soft"))


@pytest.mark.parametrize("kind", NETWORK)
@bounded(10)
async def test_closing_a_server_ends_every_connection_once(kind: str) -> None:
    recorder = Recorder()
    server = recorder.server
    cps = [EchoChargePoint(f"CP{n}", "1.6") for n in range(3)]
    async with central_system(kind, server) as where:
        clients = [charge_point_connection(kind, cp, where) for cp in cps]
        for client in clients:
            await client.__aenter__()
        for cp in cps:
            await cp.call(v16.HeartbeatRequest())
        assert sorted(server) == ["CP0", "CP1", "CP2"]
        roles = [server[cp.id] for cp in cps]
    try:
        await eventually(lambda: len(server) == 0)
        await asyncio.sleep(0.05)
        assert [recorder.count("-", role) for role in roles] == [1, 1, 1]
    finally:
        for client in clients:
            await client.__aexit__(None, None, None)


@bounded(10)
async def test_a_soap_charge_point_whose_port_is_gone_leaves_at_a_failed_call_and_is_back_at_its_next_request() -> None:
    recorder = Recorder()
    server = recorder.server
    async with soap.serve(server) as endpoint:
        first = EchoChargePoint("CP1", "1.6")
        async with soap.connect(first, endpoint.url):
            await first.call(v16.HeartbeatRequest())
            old = server["CP1"]
        assert "CP1" in server  # nothing tells a SOAP central system that the port closed...
        with pytest.raises(ConnectionClosed):
            await server.call("CP1", v16.ResetRequest(type="Soft"))
        await eventually(lambda: "CP1" not in server)  # ...until a call to it gets no HTTP answer
        assert recorder.count("-", old) == 1
        again = EchoChargePoint("CP1", "1.6")
        async with soap.connect(again, endpoint.url):
            await again.call(v16.HeartbeatRequest())
            new = server["CP1"]
            assert new is not old and recorder.count("+", new) == 1
            await server.call("CP1", v16.ResetRequest(type="Soft"))


@bounded(10)
async def test_a_soap_charge_point_changing_version_is_a_new_connection() -> None:
    recorder = Recorder()
    server = recorder.server
    async with soap.serve(server) as endpoint:
        old_cp, new_cp = EchoChargePoint("CP1", "1.5"), EchoChargePoint("CP1", "1.6")
        async with soap.connect(old_cp, endpoint.url), soap.connect(new_cp, endpoint.url):
            await old_cp.call(v15.HeartbeatRequest())
            old = server["CP1"]
            await new_cp.call(v16.HeartbeatRequest())
            new = server["CP1"]
            assert (old.version, new.version) == ("1.5", "1.6")
            assert recorder.count("-", old) == 1 and new.connected and endpoint.registered == 1


# -- the client contract ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("kind", NETWORK)
@bounded(10)
async def test_async_with_a_client_waits_for_a_central_system_that_is_not_up_yet(kind: str) -> None:
    port = _free_port()
    server = CentralSystemServer(EchoCentralSystem)
    cp = EchoChargePoint("CP1", "1.6")
    url = f"ws://127.0.0.1:{port}/" if kind == "websocket" else f"http://127.0.0.1:{port}/"
    client = (websocket.connect if kind == "websocket" else soap.connect)(cp, url, **FAST)
    serving = websocket.serve(server, port=port) if kind == "websocket" else soap.serve(server, port=port)

    async def start_later() -> None:
        await asyncio.sleep(0.3)
        await serving.start()

    later = asyncio.create_task(start_later())
    try:
        async with client:  # the attempts fail while the central system is down, then one succeeds
            assert cp.connected and client.connected
            boot = await cp.call(v16.BootNotificationRequest(charge_point_vendor="V", charge_point_model="M"))
            assert boot.status is v16.RegistrationStatus.ACCEPTED
    finally:
        await later
        await serving.close()


@pytest.mark.parametrize("kind", NETWORK)
@bounded(10)
async def test_async_with_a_client_gives_up_after_the_open_timeout_with_the_last_error(kind: str) -> None:
    port = _free_port()
    cp = EchoChargePoint("CP1", "1.6")
    url = f"ws://127.0.0.1:{port}/" if kind == "websocket" else f"http://127.0.0.1:{port}/"
    connect = websocket.connect if kind == "websocket" else soap.connect
    with pytest.raises(NotConnected) as refused:
        async with connect(cp, url, backoff=Backoff(initial=0.05, max=0.1), open_timeout=0.5):
            pass
    assert isinstance(refused.value.last_error, OSError) and "not connected within 0.5 s" in str(refused.value)
    assert isinstance(refused.value, TimeoutError) and not cp.connected


@pytest.mark.parametrize("kind", NETWORK)
@bounded(10)
async def test_a_client_reconnects_by_itself_after_the_central_system_comes_back(kind: str) -> None:
    server = CentralSystemServer(EchoCentralSystem)
    serving = websocket.serve(server) if kind == "websocket" else soap.serve(server)
    await serving.start()
    cp = EchoChargePoint("CP1", "1.6")
    connect = websocket.connect if kind == "websocket" else soap.connect
    url = serving.url
    async with connect(cp, url, **FAST) as client:
        await cp.call(v16.HeartbeatRequest())
        await serving.close()
        if kind == "soap":  # nothing tells a SOAP client: its next request finds out
            with pytest.raises(ConnectionClosed):
                await cp.call(v16.HeartbeatRequest())
        await eventually(lambda: not cp.connected)
        again = (
            websocket.serve(server, port=serving.port) if kind == "websocket" else soap.serve(server, port=serving.port)
        )
        async with again:
            await client.wait_connected(3)
            await cp.call(v16.HeartbeatRequest())
            await eventually(lambda: "CP1" in server)


@pytest.mark.parametrize("kind", NETWORK)
def test_clients_and_servers_check_the_versions_of_their_roles_at_construction(kind: str) -> None:
    class Only16(ChargePoint):
        versions = ("1.6",)

    class Only16Cs(CentralSystem):
        versions = ("1.6",)

    connect = websocket.connect if kind == "websocket" else soap.connect
    serve = websocket.serve if kind == "websocket" else soap.serve
    url = "ws://127.0.0.1:9/" if kind == "websocket" else "http://127.0.0.1:9/"
    with pytest.raises(UsageError, match=r"1\.5"):
        connect(Only16("CP1", "1.5"), url)
    with pytest.raises(UsageError, match=r"1\.5"):
        serve(CentralSystemServer(Only16Cs), versions=["1.5"])
    with pytest.raises(UsageError):
        serve(CentralSystemServer(Only16Cs), versions=["2.0.1"])
    with pytest.raises(UsageError, match=r"1\.5"):
        CentralSystemServer(Only16Cs, versions=["1.5"])


# -- the server's factory, and what it raises ------------------------------------------------------------------


class ServiceCentralSystem(CentralSystem):
    versions = ("1.6",)

    def __init__(self, id: str, version: str, *, greetings: list[str]) -> None:
        super().__init__(id, version)
        self.greetings = greetings

    async def on_connect(self) -> None:
        self.greetings.append(f"hello {self.id} ({self.version})")


@bounded()
async def test_a_server_takes_any_factory_so_roles_get_the_applications_services() -> None:
    greetings: list[str] = []
    server = CentralSystemServer(
        lambda charge_point_id, version: ServiceCentralSystem(charge_point_id, version, greetings=greetings),
        versions=["1.6"],
    )
    assert server.versions == ("1.6",)
    async with memory.connect(server, EchoChargePoint("CP1", "1.6")):
        assert greetings == ["hello CP1 (1.6)"]
    with pytest.raises(UsageError):  # the server serves 1.6 only
        async with memory.connect(server, EchoChargePoint("CP2", "1.5")):
            pass
    wrong = CentralSystemServer(lambda charge_point_id, version: EchoCentralSystem("SOMEONE", version))
    with pytest.raises(UsageError, match="SOMEONE"):
        wrong.accept("CP1", "1.6")
    assert len(wrong) == 0


def test_unknown_charge_point_is_a_runtime_condition_and_a_key_error() -> None:
    error = UnknownChargePoint("no charge point 'CP9' is connected")
    assert isinstance(error, OcppRpcError) and isinstance(error, KeyError) and not isinstance(error, UsageError)
    assert str(error) == "no charge point 'CP9' is connected"
    with pytest.raises(KeyError):
        CentralSystemServer(EchoCentralSystem)["CP9"]


@bounded()
async def test_a_connection_opens_once_and_ends_once() -> None:
    cp = EchoChargePoint("CP1", "1.6")
    connection = Connection(cp)
    assert connection.version.version == "1.6" and not connection.ended
    ends: list[str] = []
    connection.on_end(lambda: ends.append("end"))
    _, cp_end = memory.channel_pair()
    link = OcppJLink(cp_end, cp)
    reading = asyncio.create_task(link.run())
    await connection.open(link)
    assert cp.connected
    with pytest.raises(UsageError):
        await connection.open(link)
    await asyncio.gather(connection.end(), connection.end(), connection.end())
    assert ends == ["end"] and connection.ended and link.closed and not cp.connected
    await reading
    with pytest.raises(UsageError, match=r"1\.2"):

        class Only16(ChargePoint):
            versions = ("1.6",)

        Connection(Only16("X", "1.6"), "1.2")


# -- HTTP Basic authentication, the same for both transports -------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (basic_authorization("CP1", "pass:word é"), ("CP1", "pass:word é")),
        ("basic   Q1AxOnNlY3JldA==", ("CP1", "secret")),  # the scheme is case-insensitive
        ("Basic Q1AxOnNlY3JldA", None),  # not valid base64
        ("Bearer abc", None),
        ("Basic " + "Q1Axc2VjcmV0", None),  # no colon
        ("Basic //79", None),  # not UTF-8
        ("", None),
    ],
)
def test_one_basic_auth_parser_reads_rfc_7617_credentials(header: str, expected: tuple[str, str] | None) -> None:
    assert parse_basic_authorization(header) == expected


def test_a_user_id_with_a_colon_cannot_be_sent() -> None:
    with pytest.raises(UsageError):
        basic_authorization("a:b", "c")


def test_backoff_waits_grow_to_the_maximum_and_are_only_ever_shortened_by_the_jitter() -> None:
    backoff = Backoff(initial=1.0, max=10.0, factor=2.0, jitter=0.5)
    assert [backoff.nominal(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.nominal(10_000) == 10.0
    for failures in range(8):
        for _ in range(50):
            assert backoff.nominal(failures) * 0.5 <= backoff.delay(failures) <= backoff.nominal(failures)
    assert Backoff(jitter=0).delay(3) == 8.0
    for wrong in ({"initial": 0}, {"max": 0.5}, {"factor": 0.9}, {"jitter": 1.5}):
        with pytest.raises(UsageError):
            Backoff(**wrong)


# -- after-hooks, and the import graph ----------------------------------------------------------------------


class AfterBootCentralSystem(EchoCentralSystem):
    """Asks the charge point for its configuration once the BootNotification's answer is on its way."""

    @after("BootNotification")
    async def configure(self, request: Any, response: Any) -> None:
        assert self.connected
        answer = await self.call(v16.GetConfigurationRequest())
        self.configured = answer


@pytest.mark.parametrize("kind", TRANSPORTS)
@bounded(10)
async def test_an_after_hook_runs_once_the_answer_is_sent_and_may_call_the_peer_on_every_transport(kind: str) -> None:
    server = CentralSystemServer(AfterBootCentralSystem)
    async with central_system(kind, server) as where:
        cp = EchoChargePoint("CP1", "1.6")
        async with charge_point_connection(kind, cp, where):
            boot = await cp.call(v16.BootNotificationRequest(charge_point_vendor="V", charge_point_model="M"))
            assert boot.status is v16.RegistrationStatus.ACCEPTED  # answered before the hook's call came back
            await eventually(lambda: hasattr(server["CP1"], "configured"))
            assert [type(r) for r in cp.received] == [v16.GetConfigurationRequest]


def test_no_transport_imports_another_and_soap_knows_no_model_fields() -> None:
    folder = Path(ocpprpc.transports.__file__).parent
    transports = {"websocket", "soap", "memory"}
    for name in transports:
        tree = ast.parse((folder / f"{name}.py").read_text(encoding="utf-8"))
        imported = {
            (node.module or "").rpartition(".")[2]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level >= 1
        } | {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
        assert not (imported & (transports - {name})), (name, imported & transports)
    soap_source = (folder / "soap.py").read_text(encoding="utf-8")
    assert "model_fields" not in soap_source and "lxml" not in soap_source and ".role." not in soap_source
