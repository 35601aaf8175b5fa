"""A TCP proxy on loopback that stands between the bot and PostgreSQL and can fail the
way a network does: ``pause`` holds every byte in both directions (a partition: the
connections stay open and nothing answers), ``resume`` lets the held bytes through, and
``drop`` cuts every open connection (a reset). New connections made while paused are
accepted and then hang, as they would behind a firewall that drops packets."""

from __future__ import annotations

import asyncio
import contextlib
import socket


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._open = asyncio.Event()
        self._open.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0
        self.connections = 0

    @property
    def host(self) -> str:
        return "127.0.0.1"

    async def start(self) -> None:
        listening = socket.create_server(("127.0.0.1", 0))
        listening.setblocking(False)
        self._server = await asyncio.start_server(self._accept, sock=listening)
        self.port = int(listening.getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)

    def pause(self) -> None:
        """Nothing passes in either direction until ``resume``."""
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    def drop(self) -> None:
        """Reset every open connection (the proxy keeps listening)."""
        for writer in list(self._writers):
            transport = writer.transport
            with contextlib.suppress(Exception):
                sock = transport.get_extra_info("socket")
                if sock is not None:  # RST rather than FIN, as a reset connection does
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
            transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        await self._open.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink, writer, up_writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        *ends: asyncio.StreamWriter,
    ) -> None:
        try:
            while data := await source.read(65536):
                await self._open.wait()
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for end in ends:
                self._writers.discard(end)
                end.transport.abort()
