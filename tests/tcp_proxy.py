"""A TCP proxy on 127.0.0.1 between a test's peer and a server: slow, switchable, or cut at will.

    async with TcpProxy(target_port) as link:
        ...  # connect to 127.0.0.1:link.port (or link.url("CP1")) instead of the target

What passes can be slowed like a slow link: ``piece`` bytes at most per write and ``delay`` seconds before
each piece, so TCP segments arrive apart, in both directions unless ``upstream_only`` is set;
``split_at`` cuts the first write of each connection towards the target once at that offset instead
(e.g. an HTTP head and its body 50 ms apart). ``target_port`` may be changed at any time: new
connections go to the current one, like a load balancer's. :meth:`drop` resets every connection carried
now (both sides see the TCP connection reset); :meth:`cut` also resets each new one as soon as it is
accepted, so the server behind is unreachable without being stopped, until :meth:`mend`.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class TcpProxy:
    """Forward 127.0.0.1:<port> to 127.0.0.1:<target_port>."""

    def __init__(
        self,
        target_port: int,
        *,
        piece: int | None = None,
        delay: float = 0.0,
        split_at: int | None = None,
        upstream_only: bool = False,
    ) -> None:
        self.target_port = target_port
        self.piece = piece
        self.delay = delay
        self.split_at = split_at
        self.upstream_only = upstream_only
        self.port = 0
        self.is_cut = False
        self.accepted = 0
        """Connections accepted so far (also those refused while cut)."""
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def url(self, charge_point_id: str) -> str:
        """The WebSocket URL of a charge point connecting through the proxy."""
        return f"ws://127.0.0.1:{self.port}/{charge_point_id}"

    async def __aenter__(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        self.drop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def drop(self) -> None:
        """Reset every connection carried now."""
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    def cut(self) -> None:
        """Reset every connection now and each new one until :meth:`mend`."""
        self.is_cut = True
        self.drop()

    def mend(self) -> None:
        self.is_cut = False

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.is_cut:
            client_writer.transport.abort()
            return
        try:
            target_reader, target_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, target_writer}
        pumps = [
            asyncio.create_task(self._pump(client_reader, target_writer, self.split_at, slow=True)),
            asyncio.create_task(self._pump(target_reader, client_writer, None, slow=not self.upstream_only)),
        ]
        for task in pumps:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await asyncio.gather(*pumps, return_exceptions=True)
        self._writers -= {client_writer, target_writer}

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, split_at: int | None, *, slow: bool
    ) -> None:
        slow = slow and (self.delay > 0 or self.piece is not None)
        try:
            while data := await reader.read(65536):
                if split_at is not None:
                    pieces = [data[:split_at], data[split_at:]]
                    split_at = None
                elif slow and self.piece:
                    pieces = [data[i : i + self.piece] for i in range(0, len(data), self.piece)]
                else:
                    pieces = [data]
                for piece in pieces:
                    if not piece:
                        continue
                    if slow:
                        await asyncio.sleep(self.delay)
                    writer.write(piece)
                    await writer.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
