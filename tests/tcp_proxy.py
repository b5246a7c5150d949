"""A TCP proxy on 127.0.0.1 that behaves like a slow link: it cuts what passes into pieces and delays each.

    async with SlowLink(target_port, piece=100, delay=0.05) as link:
        ...  # connect to 127.0.0.1:link.port instead of the target

Both directions are cut (``piece`` bytes at most per write, ``delay`` seconds before each piece, so
TCP segments arrive apart) unless ``upstream_only`` is set. ``split_at`` cuts the first write of each
connection towards the target once at that offset instead (e.g. an HTTP head and its body 50 ms apart).
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class SlowLink:
    """Forward 127.0.0.1:<port> to 127.0.0.1:<target_port>, slowly."""

    def __init__(
        self,
        target_port: int,
        *,
        piece: int | None = None,
        delay: float = 0.05,
        split_at: int | None = None,
        upstream_only: bool = False,
    ) -> None:
        self.target_port = target_port
        self.piece = piece
        self.delay = delay
        self.split_at = split_at
        self.upstream_only = upstream_only
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> SlowLink:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            target_reader, target_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        up = asyncio.create_task(self._pump(client_reader, target_writer, self.split_at, slow=True))
        down = asyncio.create_task(self._pump(target_reader, client_writer, None, slow=not self.upstream_only))
        for task in (up, down):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await asyncio.gather(up, down, return_exceptions=True)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, split_at: int | None, *, slow: bool
    ) -> None:
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
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
