"""What the gateway tests put on either side of a :class:`~ocpprpc.gateway.Gateway`, on 127.0.0.1 only.

* :class:`OurCsms`: an ocpprpc OCPP-J 1.6 central system that records every request it receives as it came
  off the wire (action, payload, message id, the charge point id it came as) and can be stopped and started
  again on the same port, as a central system restart looks to the gateway.
* :func:`mh_csms16`: a mobilityhouse ``ocpp.v16`` central system served with ``websockets.serve``
  (subprotocol ``ocpp1.6``), keeping every connection's recorded socket (a reconnect does not hide the
  frames of the connection before it).
* :func:`problems_16`: what the official OCPP 1.6 JSON schemas and our v16 models find wrong in a payload.
* :class:`Charger`: a 1.2 / 1.5 (or 1.6) charge point answering every central system request with our
  example response, retrying its transaction messages quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Literal

import jsonschema
import pytest
from pydantic import ValidationError
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.typing import Subprotocol

from ocpprpc import CentralSystemServer, OcppModel
from ocpprpc._basic_auth import AuthCallback
from ocpprpc.messages import v16
from ocpprpc.messages.examples import example
from ocpprpc.roles import InboundResult
from ocpprpc.transports import websocket

from .mh_ocpp import MhPeer, RecordingSocket, _run, mh_role, mh_role_class, spec_of
from .ocpp_json import is_rfc3339
from .roles_for_tests import EchoCentralSystem, EchoChargePoint

_ocpp: Any = pytest.importorskip("ocpp", reason="the mobilityhouse ocpp package (official 1.6 schemas) is absent")

Kind = Literal["request", "response"]

# -- the official 1.6 JSON schemas (shipped in the mobilityhouse package) ---------------------------------


OFFICIAL_16 = Path(_ocpp.__file__).parent / "v16" / "schemas"
"""The official OCPP-J 1.6 JSON schemas, as the mobilityhouse package ships them."""


_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("date-time")(is_rfc3339)


@cache
def _schema(action: str, kind: Kind) -> dict[str, Any] | None:
    path = OFFICIAL_16 / f"{action}{'Response' if kind == 'response' else ''}.json"
    if not path.is_file():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def problems_16(action: str, kind: Kind, payload: object) -> list[str]:
    """What is wrong with ``payload`` as a 1.6 ``kind`` of ``action``: against the official JSON schema
    (Draft 4, formats checked) and against our v16 model (strict). Empty when it is valid 1.6."""
    found: list[str] = []
    schema = _schema(action, kind)
    if schema is None:
        found.append(f"no official 1.6 schema for {action} {kind}")
    else:
        validator: Any = jsonschema.Draft4Validator(schema, format_checker=_FORMATS)  # payloads typed as objects
        found += [f"schema: {error.json_path}: {error.message}" for error in validator.iter_errors(payload)]
    spec = spec_of("1.6", action)
    model: type[OcppModel] = spec.request if kind == "request" else spec.response
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        found.append(f"model: {exc}")
    return found


# -- our central system ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request as the central system received it."""

    charge_point_id: str
    action: str
    payload: dict[str, Any]
    message_id: str | None


class RecordingCsms(EchoCentralSystem):
    """A 1.6 central system answering every request with our example response (StartTransaction with
    :attr:`TRANSACTION_ID`), recording each request's raw payload before it is validated; ``slow`` makes
    the next request of an action wait before it is handled."""

    versions = ("1.6",)
    TRANSACTION_ID: ClassVar[int] = 4242

    def __init__(self, id: str, version: Any = None, *, log: list[Received], slow: dict[str, float]) -> None:
        super().__init__(id, version)
        self._log = log
        self._slow = slow

    async def handle_call(self, action: str, payload: dict[str, Any], message_id: str | None = None) -> InboundResult:
        self._log.append(Received(self.id, action, payload, message_id))
        return await super().handle_call(action, payload, message_id)

    async def on_unhandled(self, action: str, request: OcppModel) -> OcppModel:
        delay = self._slow.pop(action, None)
        if delay is not None:
            await asyncio.sleep(delay)
        if action == "StartTransaction":
            self.received.append(request)
            return v16.StartTransactionResponse(transaction_id=self.TRANSACTION_ID, id_tag_info={"status": "Accepted"})
        return await super().on_unhandled(action, request)


def csms_answer(action: str) -> OcppModel:
    """What :class:`RecordingCsms` answers ``action`` with."""
    if action == "StartTransaction":
        return v16.StartTransactionResponse(
            transaction_id=RecordingCsms.TRANSACTION_ID, id_tag_info={"status": "Accepted"}
        )
    return example(spec_of("1.6", action).response)


class OurCsms:
    """:class:`RecordingCsms` served by ``websocket.serve`` on 127.0.0.1; :meth:`stop` and :meth:`start` again
    keep the port, the registry and the record (as a restarted central system with a database)."""

    def __init__(self, **serve_options: Any) -> None:
        self.received: list[Received] = []
        self.slow: dict[str, float] = {}
        """Seconds the next request of an action takes to handle (once)."""
        self.server = CentralSystemServer[RecordingCsms](
            lambda charge_point_id, version: RecordingCsms(charge_point_id, version, log=self.received, slow=self.slow),
            versions=["1.6"],
        )
        self._options = serve_options
        self._ws: websocket.WebSocketServer[RecordingCsms] | None = None
        self.port = 0
        self.url = ""

    async def start(self) -> None:
        self._ws = await websocket.serve(self.server, "127.0.0.1", self.port, path="/ocpp", **self._options).start()
        self.port = self._ws.port
        scheme = "wss" if self._options.get("ssl") is not None else "ws"
        self.url = f"{scheme}://127.0.0.1:{self.port}/ocpp"

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def __aenter__(self) -> OurCsms:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def of(self, action: str) -> list[Received]:
        """The requests of ``action`` received, in order."""
        return [received for received in self.received if received.action == action]


def auth_table(passwords: dict[str, str]) -> AuthCallback:
    """A central system's Basic auth check: the user name is the charge point id, the password its own."""

    def check(charge_point_id: str, username: str, password: str) -> bool:
        return username == charge_point_id and passwords.get(charge_point_id) == password

    return check


# -- a mobilityhouse 1.6 central system --------------------------------------------------------------------------


@dataclass
class MhCsms16:
    """A mobilityhouse ``ocpp.v16`` central system; every connection of every charge point, in order."""

    url: str = ""
    connections: list[tuple[str, MhPeer]] = field(default_factory=list[tuple[str, MhPeer]])

    async def peer(self, charge_point_id: str, timeout: float = 3.0) -> MhPeer:
        """The latest connection of ``charge_point_id``, once it has connected."""
        async with asyncio.timeout(timeout):
            while not any(name == charge_point_id for name, _ in self.connections):
                await asyncio.sleep(0.005)
        return [peer for name, peer in self.connections if name == charge_point_id][-1]

    def frames(self, charge_point_id: str, direction: Literal["received", "sent"]) -> list[list[object]]:
        """The frames of every connection of ``charge_point_id`` in one direction, in order."""
        return [
            frame
            for name, peer in self.connections
            if name == charge_point_id
            for frame in peer.socket.frames(direction)
        ]

    def calls(self, charge_point_id: str) -> list[list[object]]:
        """The CALL frames it received from ``charge_point_id``."""
        return [frame for frame in self.frames(charge_point_id, "received") if frame[0] == 2]


@contextlib.asynccontextmanager
async def mh_csms16(actions: Iterable[str]) -> AsyncGenerator[MhCsms16]:
    """A mobilityhouse 1.6 central system answering ``actions`` with our example responses (as its dataclasses),
    at ``ws://127.0.0.1:<port>/ocpp``; charge points connect at ``<url>/<id>``."""
    actions = list(actions)
    cls = mh_role_class("1.6", actions)
    csms = MhCsms16()

    async def serve_one(ws: ServerConnection) -> None:
        charge_point_id = ws.request.path.rstrip("/").rsplit("/", 1)[-1] if ws.request is not None else "?"
        socket = RecordingSocket(ws)
        peer = MhPeer(mh_role(cls, charge_point_id, socket, "1.6", actions), socket)
        csms.connections.append((charge_point_id, peer))
        await _run(peer.role)

    async with ws_serve(serve_one, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp1.6")]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        csms.url = f"ws://127.0.0.1:{port}/ocpp"
        yield csms


# -- a charger -----------------------------------------------------------------------------------------------------


class Charger(EchoChargePoint):
    """A charge point answering every request with our example response; its transaction messages are
    retried within a tenth of a second and their callers keep waiting (the message stays first anyway)."""

    transaction_message_attempts = 1000
    transaction_message_retry_interval = 0.02
    transaction_message_retry_max = 0.1
