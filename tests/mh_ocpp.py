"""The mobilityhouse ``ocpp`` package (2.1.0) as a peer of ocpprpc in tests: its messages, its roles, its sockets.

The package is unannotated, so its modules are loaded with :func:`pytest.importorskip` and used as ``Any``
(a module that imports this one is skipped when the package is absent). What this module knows of it, read
in its source:

* Messages are dataclasses named after the action (``ocpp.v201.call.BootNotification``, results in
  ``call_result``) with snake_case fields; nested types are dataclasses (``datatypes``) or dicts. ``call()``
  writes one as ``remove_nones(snake_to_camel_case(serialize_as_dict(obj)))``, checks it against its copy
  of the official JSON schemas (Draft 4, no format checks) unless told not to, and names the action after
  the class. Its case conversion is done by string rules, which mangle some OCPP 2.1 field names
  (``soc`` becomes ``SoC``, ``receiptUrl`` comes back as ``receiptURL``, ``limit_L2`` as ``limitL2``), so
  some 2.1 payloads cannot be written by it at all. Its 2.0.1 nested dataclasses have no ``custom_data``
  and 2.0.1's ``ClearVariableMonitoring`` result annotates its items as a status enum: such objects are
  passed as dicts, as its users must.
* A handler (``@on(action)``) gets the payload's fields as snake_case keyword arguments, nested objects as
  dicts, after its schema check of the request; it returns the result dataclass (checked before it is sent)
  or raises one of ``ocpp.exceptions``, which becomes a CALLERROR with that class's ``code``. Any other
  exception becomes InternalError. An action without a handler is answered NotImplemented (an unknown
  one NotSupported) in 2.0.1, and not answered at all in 2.1 (its lookup knows 1.6 and 2.0.1 only).
* A CALLERROR answering its call raises (with ``suppress=False``) the ``OCPPError`` subclass whose ``code``
  is the one received, or ``UnknownCallErrorCodeError`` for a code it has no class for (2.x's
  ``RpcFrameworkError`` and ``MessageTypeNotSupported``).
* It knows message types 2, 3 and 4 only: an OCPP 2.1 SEND (6) or CALLRESULTERROR (5) is logged as
  unparseable and dropped.
* Routes are found by the handler function's name, in a process-wide list (``ocpp.routing.routables``), so
  each generated handler has a name of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import importlib.metadata
import json
import types
import typing
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.connection import Connection as WsConnection
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.typing import Subprotocol

from ocpprpc import OcppModel, Side
from ocpprpc._versions import VERSIONS
from ocpprpc.messages._base import ActionSpec
from ocpprpc.messages.examples import example

mh_routing: Any = pytest.importorskip("ocpp.routing", reason="the mobilityhouse ocpp package is not installed")
mh_charge_point: Any = pytest.importorskip("ocpp.charge_point")
mh_messages: Any = pytest.importorskip("ocpp.messages")
mh_exceptions: Any = pytest.importorskip("ocpp.exceptions")

MH_RELEASE = importlib.metadata.version("ocpp")
"""The installed release of the mobilityhouse package (these tests were written against 2.1.0)."""

MH_VERSIONS: dict[str, Any] = {
    "1.6": pytest.importorskip("ocpp.v16"),
    "2.0.1": pytest.importorskip("ocpp.v201"),
    "2.1": pytest.importorskip("ocpp.v21"),
}
"""mobilityhouse's package per OCPP version: ``ChargePoint``, ``call``, ``call_result``."""

Kind = Literal["request", "response"]


# -- messages: our example as a mobilityhouse dataclass ---------------------------------------------------------


class CannotCarry(Exception):
    """mobilityhouse cannot write this payload (the message says why)."""


@dataclass(frozen=True)
class MhMessage:
    """A message built as mobilityhouse's dataclass from our example, and what mobilityhouse writes for it."""

    action: str
    obj: Any
    """The ``call`` / ``call_result`` dataclass instance."""
    wire: dict[str, Any]
    """The payload mobilityhouse sends for ``obj``."""
    payload: dict[str, Any]
    """The example ``obj`` was built from: our full example, or less when mobilityhouse cannot write all of it."""
    dropped: tuple[str, ...]
    """The optional top-level fields of our full example left out of ``payload`` (none: the full example)."""


def _normalised(name: str) -> str:
    return name.replace("_", "").lower()


def _unwrap(annotation: Any) -> Any:
    """``X`` of ``Optional[X]`` / ``X | None``; anything else as it is."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [member for member in typing.get_args(annotation) if member is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _convert(annotation: Any, value: Any, where: str) -> Any:
    """``value`` (decoded JSON) as mobilityhouse's field of type ``annotation`` holds it."""
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, typing.List) and isinstance(value, list):  # noqa: UP006 (the package's own annotations)
        (item,) = typing.get_args(annotation) or (Any,)
        elements = typing.cast(list[object], value)
        return [_convert(item, element, f"{where}[]") for element in elements]
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation) and isinstance(value, dict):
        try:
            return build(annotation, typing.cast(dict[str, Any], value), where)
        except CannotCarry:
            # 2.0.1's nested dataclasses lack customData: such an object goes as a dict, as users pass it
            return mh_charge_point.camel_to_snake_case(value)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum) and isinstance(value, str):
        try:
            return annotation(value)
        except ValueError:
            raise CannotCarry(f"{where}: {annotation.__name__} has no value {value!r}") from None
    if isinstance(value, dict):
        # a field typed Dict[str, Any] (customData in 2.0.1), or mistyped (2.0.1's ClearVariableMonitoring result
        # items are annotated as a status enum): a dict with snake_case keys, as its users write them
        return mh_charge_point.camel_to_snake_case(value)
    return value


def build(cls: type[Any], payload: Mapping[str, Any], where: str = "") -> Any:
    """An instance of mobilityhouse's dataclass ``cls`` holding the OCPP-J ``payload``, nested types built too.

    Each camelCase key goes to the field with the same letters (``iso15118SchemaVersion`` to
    ``iso_15118_schema_version``); :class:`CannotCarry` when ``cls`` has no such field.
    """
    hints = typing.get_type_hints(cls)
    names = {_normalised(f.name): f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in payload.items():
        name = names.get(_normalised(key))
        if name is None:
            raise CannotCarry(f"{where or cls.__name__}: mobilityhouse's {cls.__name__} has no field for {key!r}")
        values[name] = _convert(hints[name], value, f"{where or cls.__name__}.{key}")
    return cls(**values)


def written(obj: Any) -> dict[str, Any]:
    """The payload mobilityhouse sends for the dataclass ``obj`` (what its ``call`` and its handlers write)."""
    payload: dict[str, Any] = mh_charge_point.remove_nones(
        mh_charge_point.snake_to_camel_case(mh_charge_point.serialize_as_dict(obj))
    )
    return payload


def within(expected: Any, actual: Any) -> bool:
    """Whether every field of ``expected`` is in ``actual`` with the same value (``actual`` may hold more)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        wanted = typing.cast(dict[str, Any], expected)
        got = typing.cast(dict[str, Any], actual)
        return all(key in got and within(value, got[key]) for key, value in wanted.items())
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return False
        wanted_items = typing.cast(list[object], expected)
        got_items = typing.cast(list[object], actual)
        return len(wanted_items) == len(got_items) and all(map(within, wanted_items, got_items))
    return bool(expected == actual)


def _paths(value: Any, at: str = "") -> set[str]:
    """The key paths of decoded JSON (``batteryData[].soC``), to name the fields two payloads differ in."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in typing.cast(dict[str, Any], value).items():
            path = f"{at}.{key}" if at else key
            found |= {path} | _paths(item, path)
    elif isinstance(value, list):
        for item in typing.cast(list[object], value):
            found |= _paths(item, f"{at}[]")
    return found


def _outermost(paths: set[str]) -> str:
    """The paths not inside another of ``paths``, listed."""

    def parent(path: str) -> str:
        return path.rpartition(".")[0].removesuffix("[]")

    return ", ".join(sorted(path for path in paths if parent(path) not in paths))


def checked_by_mobilityhouse(version: str, action: str, kind: Kind, payload: dict[str, Any]) -> str | None:
    """None when mobilityhouse's schema check accepts ``payload``, else its complaint."""
    message: Any = (
        mh_messages.Call("1", action, payload)
        if kind == "request"
        else mh_messages.CallResult("1", json.loads(json.dumps(payload)), action)
    )
    try:
        mh_messages._validate_payload(message, version)
    except mh_exceptions.OCPPError as exc:
        return f"{type(exc).__name__}: {exc.details.get('cause', exc.description)}"
    return None


def spec_of(version: str, action: str) -> ActionSpec:
    """Our spec of ``action`` in ``version`` (DataTransfer, which goes both ways, has one models pair)."""
    ocpp = VERSIONS[version]
    found = ocpp.initiated_by(Side.CHARGE_POINT).get(action) or ocpp.initiated_by(Side.CENTRAL_SYSTEM).get(action)
    assert found is not None, f"no {action} in OCPP {version}"
    return found


def _attempt(version: str, action: str, kind: Kind, cls: Any, payload: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """mobilityhouse's dataclass for ``payload`` and what it writes for it; :class:`CannotCarry` when that
    is not ``payload`` field for field (it may add fields of its own defaults, such as ``tbc: false``) or its
    own schema check refuses it."""
    obj = build(cls, payload)
    wire = written(obj)
    if not within(payload, wire):
        ours, theirs = _paths(payload), _paths(wire)
        raise CannotCarry(
            f"its case conversion writes {_outermost(theirs - ours) or 'other values'} "
            f"for {_outermost(ours - theirs) or 'ours'}"
        )
    complaint = checked_by_mobilityhouse(version, action, kind, wire)
    if complaint is not None:
        raise CannotCarry(f"its own schema check refuses what it writes: {complaint[:200]}")
    return obj, wire


def mh_message(version: str, action: str, kind: Kind) -> MhMessage:
    """Our example ``kind`` of ``action`` as mobilityhouse's dataclass, and what mobilityhouse writes for it.

    Our full example when mobilityhouse can write it (see :func:`_attempt`); else without the optional
    top-level fields it cannot write; else the example of the required fields only. :class:`CannotCarry`
    says why none of them can be written.
    """
    spec = spec_of(version, action)
    model: type[OcppModel] = spec.request if kind == "request" else spec.response
    module = MH_VERSIONS[version].call if kind == "request" else MH_VERSIONS[version].call_result
    cls: Any = getattr(module, action, None)
    if cls is None:
        raise CannotCarry(f"mobilityhouse ocpp has no {action} {kind} for OCPP {version}")
    full = example(model).to_json_dict()
    optional = {info.alias or name for name, info in model.model_fields.items() if not info.is_required()}
    try:
        obj, wire = _attempt(version, action, kind, cls, full)
        return MhMessage(action, obj, wire, full, ())
    except CannotCarry as exc:
        problems = [str(exc)]
    mangled: list[str] = []
    for key in optional & set(full):
        try:
            _attempt(version, action, kind, cls, {**example(model, optional=False).to_json_dict(), key: full[key]})
        except CannotCarry:
            mangled.append(key)
    candidates = [{key: value for key, value in full.items() if key not in mangled}] if mangled else []
    candidates.append(example(model, optional=False).to_json_dict())
    for payload in candidates:
        try:
            obj, wire = _attempt(version, action, kind, cls, payload)
        except CannotCarry as exc:
            problems.append(str(exc))
            continue
        return MhMessage(action, obj, wire, payload, tuple(sorted(set(full) - set(payload))))
    raise CannotCarry(
        f"mobilityhouse ocpp cannot write our {action} {kind} ({version}), with or without its optional fields: "
        + "; ".join(dict.fromkeys(problems))
    )


# -- the socket, recorded --------------------------------------------------------------------------------------


class RecordingSocket:
    """A websockets connection as mobilityhouse's ``ChargePoint`` uses it (``recv`` / ``send``), every frame kept."""

    def __init__(self, ws: WsConnection) -> None:
        self.ws = ws
        self.received: list[str] = []
        self.sent: list[str] = []

    async def recv(self) -> str | bytes:
        text = await self.ws.recv()
        self.received.append(text if isinstance(text, str) else repr(text))
        return text

    async def send(self, text: str) -> None:
        self.sent.append(text)
        await self.ws.send(text)

    def frames(self, direction: Literal["received", "sent"]) -> list[list[object]]:
        """The frames of one direction that are JSON arrays, decoded."""
        decoded: list[list[object]] = []
        for text in self.received if direction == "received" else self.sent:
            with contextlib.suppress(ValueError):
                frame = json.loads(text)
                if isinstance(frame, list):
                    decoded.append(typing.cast(list[object], frame))
        return decoded


# -- mobilityhouse roles ---------------------------------------------------------------------------------------

Answer = Callable[[dict[str, Any]], Any]
"""What a mobilityhouse handler does with the request's snake_case fields: return the result dataclass, or raise."""


def _handler(action: str, skip_schema_validation: bool) -> Any:
    def handle(self: Any, **fields: Any) -> Any:
        self.handled.append((action, fields))
        answer: Answer = self.answers[action]
        return answer(fields)

    handle.__name__ = handle.__qualname__ = f"on_{action}_unchecked" if skip_schema_validation else f"on_{action}"
    return mh_routing.on(action, skip_schema_validation=skip_schema_validation)(handle)


def _example_answer(message: MhMessage) -> Answer:
    return lambda fields: message.obj


def _cannot_answer(reason: str) -> Answer:
    def refuse(fields: dict[str, Any]) -> Any:
        raise mh_exceptions.InternalError(reason)

    return refuse


def mh_role_class(version: str, actions: Iterable[str], unchecked: Iterable[str] = ()) -> type[Any]:
    """A subclass of mobilityhouse's ``ChargePoint`` of ``version`` with an ``@on`` handler per action.

    Each handler records ``(action, fields)`` in ``handled`` and runs ``answers[action]`` (by default our
    example response as mobilityhouse's result dataclass). Handlers of ``unchecked`` actions skip
    mobilityhouse's schema checks of the request and of the response.
    """
    unchecked = set(unchecked)
    namespace: dict[str, Any] = {}
    for action in actions:
        handler = _handler(action, action in unchecked)
        namespace[handler.__name__] = handler
    base: type[Any] = MH_VERSIONS[version].ChargePoint
    return types.new_class(f"MhPeer{version.replace('.', '')}", (base,), exec_body=lambda ns: ns.update(namespace))


def default_answers(version: str, actions: Iterable[str]) -> dict[str, Answer]:
    """Per action, a handler answering with our example response written by mobilityhouse (or InternalError)."""
    answers: dict[str, Answer] = {}
    for action in actions:
        try:
            answers[action] = _example_answer(mh_message(version, action, "response"))
        except CannotCarry as exc:
            answers[action] = _cannot_answer(str(exc))
    return answers


@dataclass
class MhPeer:
    """One mobilityhouse role on one connection, with its recorded socket."""

    role: Any
    socket: RecordingSocket
    task: asyncio.Task[None] | None = None

    @property
    def handled(self) -> list[tuple[str, dict[str, Any]]]:
        """``(action, snake_case fields)`` of every request its handlers got, in order."""
        handled: list[tuple[str, dict[str, Any]]] = self.role.handled
        return handled


def mh_role(cls: type[Any], charge_point_id: str, socket: RecordingSocket, version: str, actions: Iterable[str]) -> Any:
    role = cls(charge_point_id, socket, response_timeout=5)
    role.handled = []
    role.answers = default_answers(version, actions)
    return role


async def _run(role: Any) -> None:
    """mobilityhouse's receive loop until the connection closes."""
    with contextlib.suppress(WsConnectionClosed):
        await role.start()


@contextlib.asynccontextmanager
async def mh_station(
    url: str, charge_point_id: str, version: str, actions: Iterable[str] = (), unchecked: Iterable[str] = ()
) -> AsyncGenerator[MhPeer]:
    """A mobilityhouse charging station ``charge_point_id`` of ``version`` connected to ``url`` (its own URL).

    It answers ``actions`` (our example responses; see :func:`mh_role_class` for ``unchecked``); its receive
    loop runs in a task until the block ends.
    """
    actions = list(actions)
    async with ws_connect(url, subprotocols=[Subprotocol(f"ocpp{version}")], open_timeout=2) as ws:
        socket = RecordingSocket(ws)
        cls = mh_role_class(version, actions, unchecked)
        peer = MhPeer(mh_role(cls, charge_point_id, socket, version, actions), socket)
        peer.task = asyncio.create_task(_run(peer.role))
        try:
            yield peer
        finally:
            peer.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await peer.task


@dataclass
class MhCsms:
    """A mobilityhouse central system listening on 127.0.0.1; its peers by charge point id as they connect."""

    url: str
    peers: dict[str, MhPeer] = field(default_factory=dict[str, MhPeer])

    async def peer(self, charge_point_id: str, timeout: float = 3.0) -> MhPeer:
        """The mobilityhouse role serving ``charge_point_id``, once it has connected."""
        async with asyncio.timeout(timeout):
            while charge_point_id not in self.peers:
                await asyncio.sleep(0.005)
        return self.peers[charge_point_id]


@contextlib.asynccontextmanager
async def mh_csms(version: str, actions: Iterable[str] = (), unchecked: Iterable[str] = ()) -> AsyncGenerator[MhCsms]:
    """A mobilityhouse CSMS of ``version`` served with ``websockets.serve`` (subprotocol ``ocpp<version>``).

    Charge points connect at ``<url>/<id>``; each gets a role answering ``actions`` with our example responses.
    """
    actions = list(actions)
    cls = mh_role_class(version, actions, unchecked)
    csms = MhCsms("")

    async def serve_one(ws: ServerConnection) -> None:
        charge_point_id = ws.request.path.rstrip("/").rsplit("/", 1)[-1] if ws.request is not None else "?"
        socket = RecordingSocket(ws)
        peer = MhPeer(mh_role(cls, charge_point_id, socket, version, actions), socket)
        csms.peers[charge_point_id] = peer
        await _run(peer.role)

    async with ws_serve(serve_one, "127.0.0.1", 0, subprotocols=[Subprotocol(f"ocpp{version}")]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        csms.url = f"ws://127.0.0.1:{port}/ocpp"
        yield csms


def mh_fields(obj: Any) -> dict[str, Any]:
    """The fields of mobilityhouse's dataclass ``obj`` that are set, as snake_case dicts all the way down."""
    fields: dict[str, Any] = mh_charge_point.remove_nones(mh_charge_point.serialize_as_dict(obj))
    return fields


def snake_case(payload: dict[str, Any]) -> dict[str, Any]:
    """An OCPP-J payload with mobilityhouse's snake_case keys, as its handlers receive it."""
    converted: dict[str, Any] = mh_charge_point.camel_to_snake_case(payload)
    return converted


def error_class(name: str) -> type[Exception]:
    """mobilityhouse's exception class ``name`` (``ocpp.exceptions``)."""
    cls: type[Exception] = getattr(mh_exceptions, name)
    return cls
