"""The one NATS connection of a cluster member, typed: core publish / subscribe / request, JetStream, key-value.

nats-py does the protocol; this module is the only one that touches it, so the rest of the package reads
as typed Python and sees three kinds of failure (:class:`BusDown`, :class:`Conflict`, :class:`NoResponders`)
instead of nats-py's dozen (and :class:`TooLarge`, a :class:`BusDown` for a message NATS would not
take). The connection is made in the background and kept forever: nats-py retries
the first connection and every reconnection itself; :class:`Bus` tells its owner when the connection
comes up (first time and after each reconnection: time to re-establish what the server may have lost)
and when it goes down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType, StreamConfig
from nats.js.kv import KeyValue

from ..errors import OcppRpcError
from ._wire import json_object

__all__ = ["Bucket", "Bus", "BusDown", "Conflict", "KvEntry", "Msg", "NoResponders", "Subscription", "TooLarge"]

_log = logging.getLogger("ocpprpc.cluster")

Handler = Callable[[Msg], Awaitable[None]]


class BusDown(OcppRpcError):
    """NATS (or JetStream) did not do what was asked: not connected, no answer in time, not ready."""


class TooLarge(BusDown):
    """A message larger than the NATS server takes (its ``max_payload``, 1 MiB by default, headers included):
    not sent. Checked here, before nats-py sends it: a server given a message whose headers push it over the
    limit closes the sender's connection, which would cut a whole member off the cluster for one message."""


class Conflict(OcppRpcError):
    """A key-value write expecting a revision found another (someone wrote the key meanwhile)."""


class NoResponders(OcppRpcError):
    """A request found nobody subscribed to its subject (NATS's 503 "no responders")."""


@dataclass(frozen=True, slots=True)
class KvEntry:
    """One key-value entry as a watcher or a read sees it; ``value`` None for a deletion."""

    key: str
    value: bytes | None
    revision: int

    def json(self) -> dict[str, Any] | None:
        """The value as a JSON object; None for a deletion, or a value that is not one (someone else's key)."""
        return json_object(self.value)


_DOWN_ERRORS = (nats.errors.Error, asyncio.TimeoutError, OSError)
_HEADER_LINE = len(b"NATS/1.0\r\n") + len(b"\r\n")
_KV_HEADERS = {"Nats-Expected-Last-Subject-Sequence": "18446744073709551615"}
"""The largest header nats-py adds to a key-value write (a revision check)."""


def _check_size(client: Client, data: bytes, headers: Mapping[str, str] | None) -> None:
    """Raise :class:`TooLarge` for a message (``data`` and ``headers``) over the server's ``max_payload``."""
    size = len(data)
    if headers:
        size += _HEADER_LINE + sum(len(k.encode()) + len(v.encode()) + 4 for k, v in headers.items())
    if size > client.max_payload:
        raise TooLarge(f"a message of {size} bytes, over NATS' max_payload of {client.max_payload}")


class Bus:
    """A NATS connection made in the background and kept; ``on_up`` runs at each (re)connection, ``on_down``
    at each loss."""

    def __init__(
        self,
        servers: Sequence[str],
        *,
        name: str,
        on_up: Callable[[], Awaitable[None]],
        on_down: Callable[[], Awaitable[None]],
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.servers = list(servers)
        self._name = name
        self._on_up = on_up
        self._on_down = on_down
        self._options: dict[str, Any] = {
            "reconnect_time_wait": 0.5,
            "ping_interval": 5,
            "max_outstanding_pings": 2,
            "connect_timeout": 2,
        }
        self._options.update(options or {})
        self.nc = Client()
        self._js: JetStreamContext | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._up_events: asyncio.Queue[bool] = asyncio.Queue()
        self._watcher: asyncio.Task[None] | None = None
        self._closing = False
        self._reported_error = ""

    @property
    def up(self) -> bool:
        """True while connected to a NATS server."""
        return self.nc.is_connected

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            self._js = self.nc.jetstream(timeout=2.0)  # pyright: ignore[reportUnknownMemberType]
        return self._js

    @property
    def connected_url(self) -> str | None:
        url = self.nc.connected_url
        return None if url is None else f"{url.scheme}://{url.hostname}:{url.port}"

    def start(self) -> None:
        """Start connecting (in the background; nats-py retries for ever)."""
        if self._connecting is None:
            self._connecting = asyncio.create_task(self._connect(), name="ocpprpc-cluster-connect")
            self._watcher = asyncio.create_task(self._run_callbacks(), name="ocpprpc-cluster-bus")

    async def _connect(self) -> None:
        await self.nc.connect(  # pyright: ignore[reportUnknownMemberType]
            self.servers,
            name=self._name,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            error_cb=self._error,
            disconnected_cb=self._disconnected,
            reconnected_cb=self._reconnected,
            **self._options,
        )
        self._reported_error = ""
        self._up_events.put_nowait(True)

    def rejoin(self) -> None:
        """Run ``on_up`` again (the connection is up but what it set up broke)."""
        if self.up:
            self._up_events.put_nowait(True)

    async def _error(self, error: Exception) -> None:
        text = f"{type(error).__name__}: {error}"
        if text != self._reported_error:  # one line per new trouble, not one per retry
            self._reported_error = text
            _log.warning("cluster: NATS %s: %s", ",".join(self.servers), text or type(error).__name__)

    async def _disconnected(self) -> None:
        if not self._closing:
            self._up_events.put_nowait(False)

    async def _reconnected(self) -> None:
        self._reported_error = ""
        self._up_events.put_nowait(True)

    async def _run_callbacks(self) -> None:
        """Run ``on_up`` / ``on_down`` one at a time, in order (nats-py's callbacks must not block it)."""
        while True:
            up = await self._up_events.get()
            try:
                await (self._on_up() if up else self._on_down())
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("cluster: reacting to NATS going %s failed", "up" if up else "down")

    async def close(self) -> None:
        self._closing = True
        for task in (self._connecting, self._watcher):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        with contextlib.suppress(Exception):
            await self.nc.close()

    # -- core NATS ----------------------------------------------------------------------------------

    async def publish(
        self, subject: str, data: bytes, *, reply: str = "", headers: Mapping[str, str] | None = None
    ) -> None:
        """Send a message (at most once); raises :class:`BusDown` when not connected."""
        if not self.up:
            raise BusDown("not connected to NATS")
        _check_size(self.nc, data, headers)
        try:
            await self.nc.publish(subject, data, reply=reply, headers=dict(headers) if headers else None)
        except _DOWN_ERRORS as exc:
            raise BusDown(f"cannot publish: {exc or type(exc).__name__}") from exc

    async def subscribe(self, subject: str, handler: Handler, *, queue: str = "") -> Subscription:
        return await self.nc.subscribe(subject, queue=queue, cb=handler)  # pyright: ignore[reportUnknownMemberType]

    @staticmethod
    async def unsubscribe(subscription: Subscription) -> None:
        with contextlib.suppress(*_DOWN_ERRORS):
            await subscription.unsubscribe()

    async def request(
        self, subject: str, data: bytes, *, timeout: float, headers: Mapping[str, str] | None = None
    ) -> Msg:
        """One request, its first reply; :class:`NoResponders`, :class:`BusDown` (also on timeout)."""
        if not self.up:
            raise BusDown("not connected to NATS")
        _check_size(self.nc, data, headers)
        try:
            return await self.nc.request(subject, data, timeout=timeout, headers=dict(headers) if headers else None)
        except nats.errors.NoRespondersError:
            raise NoResponders(subject) from None
        except _DOWN_ERRORS as exc:
            raise BusDown(f"no reply on {subject}: {exc or type(exc).__name__}") from exc

    def new_inbox(self) -> str:
        return self.nc.new_inbox()

    # -- JetStream ------------------------------------------------------------------------------------

    async def ensure_stream(self, name: str, subjects: list[str], *, max_age: float, replicas: int) -> None:
        """Create the stream unless it exists (an existing one is used as it is)."""
        try:
            await self.js.stream_info(name)
            return
        except nats.js.errors.NotFoundError:
            pass
        except _DOWN_ERRORS as exc:
            raise BusDown(f"JetStream not ready: {exc or type(exc).__name__}") from exc
        config = StreamConfig(
            name=name,
            subjects=subjects,
            storage=StorageType.FILE,
            max_age=max_age,
            num_replicas=replicas,
            duplicate_window=120.0,
        )
        try:
            await self.js.add_stream(config)  # pyright: ignore[reportUnknownMemberType]
        except nats.js.errors.BadRequestError:
            await self.js.stream_info(name)  # created by another member meanwhile
        except _DOWN_ERRORS as exc:
            raise BusDown(f"cannot create the stream {name}: {exc or type(exc).__name__}") from exc

    async def js_publish(self, subject: str, data: bytes, *, headers: Mapping[str, str], timeout: float) -> int:
        """Store a message in JetStream; its stream sequence once stored. :class:`BusDown` when not acknowledged."""
        if not self.up:
            raise BusDown("not connected to NATS")
        _check_size(self.nc, data, headers)
        try:
            ack = await self.js.publish(subject, data, timeout=timeout, headers=dict(headers))
        except _DOWN_ERRORS as exc:
            raise BusDown(f"not stored: {exc or type(exc).__name__}") from exc
        return ack.seq

    async def bucket(self, name: str, *, ttl: float | None, replicas: int) -> Bucket:
        """The key-value bucket ``name``, created (one value per key, file storage) unless it exists."""
        try:
            try:
                kv = await self.js.key_value(name)
            except nats.js.errors.BucketNotFoundError:
                config = KeyValueConfig(bucket=name, history=1, ttl=ttl, replicas=replicas, storage=StorageType.FILE)
                try:
                    kv = await self.js.create_key_value(config)  # pyright: ignore[reportUnknownMemberType]
                except nats.js.errors.BadRequestError:
                    kv = await self.js.key_value(name)  # created by another member meanwhile
        except _DOWN_ERRORS as exc:
            raise BusDown(f"the bucket {name} is not ready: {exc or type(exc).__name__}") from exc
        return Bucket(kv, self)


class Bucket:
    """A key-value bucket with typed results and this package's three failures."""

    def __init__(self, kv: KeyValue, bus: Bus) -> None:
        self._kv = kv
        self._bus = bus

    async def get(self, key: str) -> KvEntry | None:
        """The current entry, None when there is none (or it was deleted)."""
        try:
            entry = await self._kv.get(key)
        except nats.js.errors.KeyNotFoundError:  # KeyDeletedError included
            return None
        except _DOWN_ERRORS as exc:
            raise BusDown(f"cannot read {key}: {exc or type(exc).__name__}") from exc
        return KvEntry(entry.key, entry.value, entry.revision or 0)

    async def put(self, key: str, value: bytes) -> int:
        """Write ``key`` whatever it holds; the new revision."""
        _check_size(self._bus.nc, value, _KV_HEADERS)
        try:
            return await self._kv.put(key, value)
        except _DOWN_ERRORS as exc:
            raise BusDown(f"cannot write {key}: {exc or type(exc).__name__}") from exc

    async def create(self, key: str, value: bytes) -> int:
        """Write ``key`` only if it holds nothing (or was deleted); :class:`Conflict` otherwise."""
        _check_size(self._bus.nc, value, _KV_HEADERS)
        try:
            return await self._kv.create(key, value)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise Conflict(key) from None
        except _DOWN_ERRORS as exc:
            raise BusDown(f"cannot create {key}: {exc or type(exc).__name__}") from exc

    async def update(self, key: str, value: bytes, last: int) -> int:
        """Write ``key`` only if its revision is still ``last``; :class:`Conflict` otherwise."""
        _check_size(self._bus.nc, value, _KV_HEADERS)
        try:
            return await self._kv.update(key, value, last=last)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise Conflict(key) from None
        except _DOWN_ERRORS as exc:
            raise BusDown(f"cannot update {key}: {exc or type(exc).__name__}") from exc

    async def delete(self, key: str, last: int | None = None) -> bool:
        """Delete ``key`` (only at revision ``last`` when given); False when it had moved on."""
        try:
            await self._kv.delete(key, last=last)
        except nats.js.errors.KeyWrongLastSequenceError:
            return False
        except _DOWN_ERRORS as exc:
            raise BusDown(f"cannot delete {key}: {exc or type(exc).__name__}") from exc
        return True

    async def watch(self) -> AsyncIterator[KvEntry | None]:
        """Every current entry, then None (the snapshot is complete), then every change, until cancelled.

        Deletions (and purges, and entries the bucket's TTL removed) come as entries whose value is None.
        """
        try:
            watcher = await self._kv.watchall()  # pyright: ignore[reportUnknownMemberType]
        except _DOWN_ERRORS as exc:
            raise BusDown(f"cannot watch the bucket: {exc or type(exc).__name__}") from exc
        try:
            async for entry in watcher:
                if entry is None:
                    yield None
                    continue
                deleted = entry.operation is not None  # KV-Operation DEL or PURGE, or a TTL marker
                yield KvEntry(entry.key, None if deleted else entry.value, entry.revision or 0)
        finally:
            with contextlib.suppress(*_DOWN_ERRORS, AttributeError):
                await watcher.stop()  # type: ignore[no-untyped-call]
