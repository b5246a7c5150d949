"""The gateway app (``examples/gateway.py``) as an operator runs it: a subprocess on loopback ports.

Our OCPP 1.5 charge points (SOAP and OCPP-J) talk to the app; our OCPP 1.6 central system, in the test
process, sees OCPP-J 1.6 charge points with the upstream ids and credentials of the app's files. The
status endpoint is read over HTTP; the app is stopped with SIGTERM, and what it queued is read back
from its SQLite store.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ocpprpc import (
    CentralSystem,
    CentralSystemServer,
    ChargePoint,
    InternalError,
    NotConnected,
    OcppModel,
    UnreadableAnswer,
    on,
)
from ocpprpc.messages import v15, v16
from ocpprpc.outbox import SqliteOutbox
from ocpprpc.security import server_context
from ocpprpc.transports import soap, websocket

from .conftest import Pki
from .timing import FAST, bounded

APP = Path(__file__).resolve().parents[1] / "examples" / "gateway.py"
UPSTREAM_PASSWORD = "up-s3cret:with colon"
DOWNSTREAM_PASSWORD = "down-s3cret"
TAG = "04A2B3C4D5"


class App:
    """The app in a subprocess: its log lines (standard error) read as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._new = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, *args: str) -> App:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(APP), *args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))
            self._new.set()
        self._new.set()

    async def expect(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """The first log line so far or to come that matches ``pattern``."""
        regex = re.compile(pattern)
        async with asyncio.timeout(timeout):
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    if found := regex.search(line):
                        return found
                seen = len(self.lines)
                if self._reader.done():
                    raise AssertionError(f"the app exited without {pattern!r}:\n" + "\n".join(self.lines))
                self._new.clear()
                await self._new.wait()

    async def stop(self) -> int:
        """SIGTERM, and the exit status."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            code = await self.proc.wait()
            await self._reader
        return code

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()


class Csms(CentralSystem):
    """An OCPP 1.6 central system recording what each charge point sent, and who it said it was."""

    versions = ("1.6",)
    received: list[tuple[str, OcppModel]] = []

    async def on_unhandled(self, action: str, request: OcppModel) -> Any:
        self.received.append((self.id, request))
        if isinstance(request, v16.BootNotificationRequest):
            return v16.BootNotificationResponse(status="Accepted", current_time=datetime.now(UTC), interval=120)
        if isinstance(request, v16.StartTransactionRequest):
            return v16.StartTransactionResponse(transaction_id=4242, id_tag_info={"status": "Accepted"})
        if isinstance(request, v16.AuthorizeRequest):
            return v16.AuthorizeResponse(id_tag_info={"status": "Accepted"})
        if isinstance(request, v16.StopTransactionRequest):
            return v16.StopTransactionResponse()
        if isinstance(request, v16.MeterValuesRequest):
            return v16.MeterValuesResponse()
        return await super().on_unhandled(action, request)


class Charger(ChargePoint):
    """An installed OCPP 1.5 charger: answers the central system's RemoteStartTransaction."""

    remote_starts: list[OcppModel] = []

    @on(v15.RemoteStartTransactionRequest)
    def remote_start(self, request: v15.RemoteStartTransactionRequest) -> v15.RemoteStartTransactionResponse:
        self.remote_starts.append(request)
        return v15.RemoteStartTransactionResponse(status="Accepted")


def write_json(path: Path, data: object) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(0o600)
    return str(path)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """The operator's files: upstream credentials, identities, charger credentials, the store's path."""
    return {
        "--credentials": write_json(
            tmp_path / "upstream.json", {"EVSE-0001": UPSTREAM_PASSWORD, "CP2": {"user": "CP2", "password": "two"}}
        ),
        "--identities": write_json(tmp_path / "identities.json", {"CP1": "EVSE-0001"}),
        "--downstream-credentials": write_json(
            tmp_path / "chargers.json", {"CP1": DOWNSTREAM_PASSWORD, "CP2": {"user": "cp-two", "password": "2"}}
        ),
        "--store": str(tmp_path / "outbox.sqlite"),
    }


class Upstream:
    """The central system's server and what its auth check saw (charge point id, user, password)."""

    def __init__(self) -> None:
        Csms.received = []
        self.server = CentralSystemServer(Csms)
        self.presented: list[tuple[str, str, str]] = []
        self.expected = {"EVSE-0001": ("EVSE-0001", UPSTREAM_PASSWORD), "CP2": ("CP2", "two")}

    def auth(self, charge_point_id: str, username: str, password: str) -> bool:
        self.presented.append((charge_point_id, username, password))
        return self.expected.get(charge_point_id) == (username, password)

    def serve(self, port: int = 0) -> websocket.WebSocketServer[Csms]:
        return websocket.serve(self.server, "127.0.0.1", port, path="/ocpp", auth=self.auth)

    def actions(self, charge_point_id: str) -> list[str]:
        return [type(request).__name__ for cp, request in Csms.received if cp == charge_point_id]


@pytest.fixture
async def apps() -> AsyncIterator[list[App]]:
    """Apps a test started (append to it); each is killed afterwards if still running."""
    started: list[App] = []
    yield started
    for app in started:
        await app.kill()


async def start_app(
    apps: list[App], upstream_url: str, files: dict[str, str], *more: str
) -> tuple[App, dict[str, str]]:
    args = ["--listen-soap", ":0", "--listen-ws", "127.0.0.1:0/ocpp", "--upstream", upstream_url, "--status", ":0"]
    for option, value in files.items():
        args += [option, value]
    app = await App.start(*args, *more)
    apps.append(app)
    urls = {
        "soap": (await app.expect(r"OCPP-S \(SOAP\) charge points: (\S+)"))[1],
        "ws": (await app.expect(r"OCPP-J \(WebSocket\) charge points: (\S+)<id>"))[1],
        "status": (await app.expect(r"status: (\S+)status,"))[1],
    }
    await app.expect(r"gateway: ready$")
    return app, urls


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def status_until(urls: dict[str, str], condition: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """The app's status once ``condition(status)`` holds (polled; TimeoutError after ``timeout`` s)."""
    async with asyncio.timeout(timeout):
        while not condition(status := await get_json(urls["status"] + "status")):
            await asyncio.sleep(0.02)
    return status


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def meter_values(transaction_id: int, wh: int) -> v15.MeterValuesRequest:
    return v15.MeterValuesRequest(
        connector_id=1, transaction_id=transaction_id, values=[{"timestamp": now(), "values": [{"value": str(wh)}]}]
    )


# -- the session -------------------------------------------------------------------------------------------


@bounded(40)
async def test_a_15_soap_charger_reaches_a_16_central_system_through_the_app(
    apps: list[App], files: dict[str, str]
) -> None:
    upstream = Upstream()
    async with upstream.serve() as cs:
        app, urls = await start_app(apps, cs.url, files)
        charger = Charger("CP1", "1.5")
        async with soap.connect(charger, urls["soap"], auth=("CP1", DOWNSTREAM_PASSWORD), **FAST):
            boot = await charger.call(v15.BootNotificationRequest(charge_point_vendor="ACME", charge_point_model="S1"))
            assert (boot.status.value, boot.heartbeat_interval) == ("Accepted", 120)  # 1.6's interval, in 1.5
            await charger.call(v15.AuthorizeRequest(id_tag=TAG))
            started = await charger.call(
                v15.StartTransactionRequest(connector_id=1, id_tag=TAG, meter_start=0, timestamp=now())
            )
            assert started.transaction_id == 4242  # the central system's id
            await charger.call(meter_values(started.transaction_id, 1500))
            await charger.call(v15.StopTransactionRequest(transaction_id=4242, meter_stop=3000, timestamp=now()))

            # the central system saw a 1.6 charge point, by its upstream id, with its upstream credentials
            assert upstream.actions("EVSE-0001") == [
                "BootNotificationRequest",
                "AuthorizeRequest",
                "StartTransactionRequest",
                "MeterValuesRequest",
                "StopTransactionRequest",
            ]
            assert all(getattr(v16, type(request).__name__) is type(request) for _, request in Csms.received)
            readings = next(r for _, r in Csms.received if isinstance(r, v16.MeterValuesRequest))
            assert readings.meter_value[0].sampled_value[0].value == "1500"
            assert {entry[0] for entry in upstream.presented} == {"EVSE-0001"}
            assert set(upstream.presented) == {("EVSE-0001", "EVSE-0001", UPSTREAM_PASSWORD)}
            await app.expect(r"ocpprpc\.gateway: gateway: CP1 StartTransaction forwarded \(OCPP 1\.5 → 1\.6\)")

            # a remote action comes back down, translated to 1.5
            remote = await cs.server.call("EVSE-0001", v16.RemoteStartTransactionRequest(id_tag=TAG, connector_id=1))
            assert remote.status.value == "Accepted"
            assert [type(r).__name__ for r in Charger.remote_starts] == ["RemoteStartTransactionRequest"]
            assert isinstance(Charger.remote_starts[0], v15.RemoteStartTransactionRequest)

            status = await get_json(urls["status"] + "status")
            assert status["charge_points"] == [
                {
                    "id": "CP1",
                    "upstream_id": "EVSE-0001",
                    "downstream_version": "1.5",
                    "downstream_connected": True,
                    "upstream_connected": True,
                    "upstream_error": None,
                    "queued": 0,
                }
            ]
            assert status["listening"] == {"soap": urls["soap"], "ws": urls["ws"]}
            assert await get_json(urls["status"] + "healthz") == {"status": "ok"}
        assert await app.stop() == 0
    await app.expect(r"gateway: stopped$")
    assert not [line for line in app.lines if "ocpprpc.frames" in line]  # at INFO: one line per exchange


@bounded(40)
async def test_an_ocpp_j_15_charger_and_the_chargers_credentials(apps: list[App], files: dict[str, str]) -> None:
    upstream = Upstream()
    async with upstream.serve() as cs:
        app, urls = await start_app(apps, cs.url, files, "--log-level", "DEBUG")
        charger = Charger("CP2", "1.5")
        async with websocket.connect(charger, urls["ws"] + "CP2", auth=("cp-two", "2"), **FAST):
            await charger.call(v15.BootNotificationRequest(charge_point_vendor="ACME", charge_point_model="J1"))
        assert upstream.actions("CP2") == ["BootNotificationRequest"]  # no identity mapping: the same id
        assert ("CP2", "CP2", "two") in upstream.presented
        # at DEBUG, both forms: the charger's 1.5 frame, the 1.6 request sent up and its answer
        await app.expect(r'ocpprpc\.frames: cs: <<cp#CP2 \[2,"[^"]+","BootNotification",')
        await app.expect(r'ocpprpc\.frames: cp#CP2: >>cs \[2,"[^"]+","BootNotification",')
        await app.expect(r"ocpprpc\.gateway: gateway: CP2 BootNotification up: \{")
        await app.expect(r"ocpprpc\.gateway: gateway: CP2 BootNotification answer: \{")

        # a charger with a wrong password, or another charger's, is not let in (either listener)
        intruder = Charger("CP1", "1.5")
        with pytest.raises(UnreadableAnswer, match="HTTP 401"):
            async with soap.connect(intruder, urls["soap"], auth=("CP1", "guess"), **FAST):
                await intruder.call(v15.HeartbeatRequest())
        impostor = Charger("CP1", "1.5")
        with pytest.raises(NotConnected, match="HTTP 401"):
            async with websocket.connect(impostor, urls["ws"] + "CP1", auth=("cp-two", "2"), reconnect=False):
                pass
        assert upstream.actions("EVSE-0001") == []
        assert await app.stop() == 0


@bounded(40)
async def test_a_wss_central_system_is_trusted_through_the_ca_file(apps: list[App], pki: Pki, tmp_path: Path) -> None:
    upstream = Upstream()
    context = server_context(pki.server_cert, pki.server_key)
    credentials = write_json(tmp_path / "up.json", {"CP2": "two"})
    async with websocket.serve(upstream.server, "127.0.0.1", 0, path="/ocpp", auth=upstream.auth, ssl=context) as cs:
        assert cs.url.startswith("wss://")
        app, urls = await start_app(apps, cs.url, {"--credentials": credentials, "--ca": str(pki.ca)})
        charger = Charger("CP2", "1.5")
        async with soap.connect(charger, urls["soap"], **FAST):
            await charger.call(v15.BootNotificationRequest(charge_point_vendor="ACME", charge_point_model="T1"))
        assert upstream.actions("CP2") == ["BootNotificationRequest"]
        assert await app.stop() == 0


# -- offline, SIGTERM, the store ----------------------------------------------------------------------------


@bounded(60)
async def test_offline_messages_wait_in_the_store_across_a_restart_of_the_app(
    apps: list[App], files: dict[str, str]
) -> None:
    upstream = Upstream()
    charger = Charger("CP1", "1.5")
    async with upstream.serve() as cs:
        app, urls = await start_app(apps, cs.url, files)
        client = soap.connect(charger, urls["soap"], auth=("CP1", DOWNSTREAM_PASSWORD), **FAST)
        await client.start()
        started = await charger.call(
            v15.StartTransactionRequest(connector_id=1, id_tag=TAG, meter_start=0, timestamp=now())
        )
    # the central system is gone: the app notices, and says so on its status endpoint
    row = (await status_until(urls, lambda s: s["charge_points"][0]["upstream_error"] is not None))["charge_points"][0]
    assert not row["upstream_connected"]
    assert row["downstream_connected"]

    # meter values and the stop are confirmed once stored; an authorisation is never invented
    await charger.call(meter_values(started.transaction_id, 2000))
    await charger.call(v15.StopTransactionRequest(transaction_id=4242, meter_stop=2500, timestamp=now()))
    with pytest.raises(InternalError):
        await charger.call(v15.AuthorizeRequest(id_tag=TAG))
    status = await get_json(urls["status"] + "status")
    assert status["queued"] == 2
    assert status["charge_points"][0]["queued"] == 2
    await client.close()

    assert await app.stop() == 0
    await app.expect(r"stopping; queued messages stay in .*outbox\.sqlite")
    store = SqliteOutbox(files["--store"])
    try:
        waiting = await store.pending("EVSE-0001")
    finally:
        await store.close()
    assert [(m.action, m.version) for m in waiting] == [("MeterValues", "1.6"), ("StopTransaction", "1.6")]
    assert waiting[0].payload["meterValue"][0]["sampledValue"][0]["value"] == "2000"

    # the central system is back; the app, restarted on the same store, delivers them without the charger
    Csms.received = []
    async with upstream.serve() as cs:
        app, urls = await start_app(apps, cs.url, files)
        await status_until(urls, lambda s: s["queued"] == 0 and len(upstream.actions("EVSE-0001")) == 2)
        assert upstream.actions("EVSE-0001") == ["MeterValuesRequest", "StopTransactionRequest"]
        assert await app.stop() == 0


# -- the command line ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--upstream", "ws://127.0.0.1:9/ocpp"], "at least one of --listen-soap and --listen-ws"),
        (["--listen-ws", ":0"], "required: --upstream"),
        (["--listen-ws", ":0", "--upstream", "http://127.0.0.1:9/ocpp"], "OCPP-J URL"),
        (["--listen-ws", ":0", "--upstream", "ws://user:pw@127.0.0.1:9/"], "--credentials FILE, not in the URL"),
        (["--listen-ws", "127.0.0.1:http", "--upstream", "ws://127.0.0.1:9/"], "not HOST:PORT"),
        (["--listen-soap", ":70000", "--upstream", "ws://127.0.0.1:9/"], "port from 0 to 65535"),
        (["--listen-ws", ":0", "--upstream", "ws://127.0.0.1:9/", "--ca", "ca.pem"], "--ca is for a wss:// upstream"),
        (["--listen-ws", ":0", "--upstream", "ws://127.0.0.1:9/", "--credentials", "missing.json"], "cannot read"),
        (["--listen-ws", ":0", "--upstream", "ws://127.0.0.1:9/", "--status", ":0/x"], "not HOST:PORT"),
        (["--listen-ws", ":0", "--upstream", "ws://127.0.0.1:9/", "--log-level", "LOUD"], "invalid choice"),
    ],
)
def test_bad_arguments_give_a_usage_error(args: list[str], why: str) -> None:
    result = subprocess.run([sys.executable, str(APP), *args], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: gateway.py")
    assert why in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("--credentials", "[1, 2]", "a JSON object is expected"),
        ("--credentials", "{not json", "not JSON"),
        ("--credentials", '{"CP1": 5}', "'CP1': give \"password\""),
        ("--credentials", '{"CP1": {"user": "a:b", "password": "x"}}', "holds no colon"),
        ("--downstream-credentials", "{}", "no charge point in it"),
        ("--identities", '{"CP1": "EVSE-1", "CP2": "EVSE-1"}', "'CP1' and 'CP2' both map to 'EVSE-1'"),
        ("--identities", '{"CP1": 7}', "'CP1' maps to 7, not an id"),
    ],
)
def test_bad_files_give_a_usage_error(tmp_path: Path, name: str, content: str, why: str) -> None:
    path = tmp_path / "file.json"
    path.write_text(content, encoding="utf-8")
    args = ["--listen-ws", ":0", "--upstream", "ws://127.0.0.1:9/", name, str(path)]
    result = subprocess.run([sys.executable, str(APP), *args], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2, result.stderr
    assert why in result.stderr


@bounded(20)
async def test_a_credentials_file_others_can_read_is_used_with_a_warning(apps: list[App], tmp_path: Path) -> None:
    path = tmp_path / "upstream.json"
    path.write_text('{"CP1": "pw"}', encoding="utf-8")
    os.chmod(path, 0o644)
    app = await App.start("--listen-ws", ":0", "--upstream", "ws://127.0.0.1:9/ocpp", "--credentials", str(path))
    apps.append(app)
    await app.expect(rf"WARNING gateway: --credentials {re.escape(str(path))} holds passwords .* chmod 600")
    await app.expect(r"WARNING gateway: no --store: .* lost if the gateway stops")
    await app.expect(r"gateway: ready$")
    assert await app.stop() == 0


@bounded(20)
async def test_a_port_in_use_is_reported_and_the_app_exits_1(apps: list[App]) -> None:
    taken = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    try:
        port = taken.sockets[0].getsockname()[1]
        app = await App.start("--listen-soap", f":{port}", "--upstream", "ws://127.0.0.1:9/ocpp")
        apps.append(app)
        await app.expect(r"ERROR gateway: cannot run: .*address already in use")
        async with asyncio.timeout(10):
            assert await app.proc.wait() == 1
    finally:
        taken.close()
