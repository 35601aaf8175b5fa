"""adapters/net.py: what ``mentorbot run`` sets for the process's sockets."""

from __future__ import annotations

import asyncio
from asyncio import selector_events
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.net import READ_BYTES, read_in_small_pieces


class _Reader(asyncio.Protocol):
    def __init__(self, everything: int) -> None:
        self.chunks: list[int] = []
        self.everything = everything
        self.done = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.chunks.append(len(data))
        if sum(self.chunks) >= self.everything and not self.done.done():
            self.done.set_result(None)


async def _chunks_read(size: int) -> list[int]:
    """What a real connection over loopback hands its protocol, ``size`` bytes sent
    at once with the reader paused, so the whole of it waits in the socket."""
    sent = asyncio.get_running_loop().create_future()

    async def send(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"x" * size)
        await writer.drain()
        sent.set_result(None)
        await asyncio.sleep(1)
        writer.close()

    server = await asyncio.start_server(send, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        loop = asyncio.get_running_loop()
        transport, reader = await loop.create_connection(lambda: _Reader(size), "127.0.0.1", port)
        transport.pause_reading()
        await asyncio.wait_for(sent, 5)  # all of it in the sockets' buffers
        transport.resume_reading()
        await asyncio.wait_for(reader.done, 5)
        transport.close()
        return reader.chunks
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def as_asyncio_ships_it() -> Iterator[None]:
    """asyncio's own read size for the test (another test may have run ``mentorbot
    run``'s setup in this process), and back as it was after."""
    transport: Any = getattr(selector_events, "_SelectorTransport")  # noqa: B009
    kept = transport.max_size
    transport.max_size = 256 * 1024
    yield
    transport.max_size = kept


@pytest.mark.usefixtures("as_asyncio_ships_it")
async def test_a_socket_is_read_in_pieces_of_at_most_16_kib() -> None:
    size = 200 * 1024
    before = await _chunks_read(size)
    assert max(before) > READ_BYTES  # asyncio's own: up to 256 KiB a read
    read_in_small_pieces()
    after = await _chunks_read(size)
    assert sum(after) == size  # all of it arrives
    assert max(after) <= READ_BYTES and len(after) >= size // READ_BYTES
