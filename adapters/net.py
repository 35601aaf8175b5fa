"""The listening socket the HTTP servers (ops, Slack's HTTP mode) start on."""

from __future__ import annotations

import socket


def listen(host: str, port: int, failure: type[Exception]) -> socket.socket:
    """A non-blocking listening socket; with port 0 the system picks a free port (tests).
    A port that is taken or not allowed raises ``failure`` with a message that says so."""
    try:
        listening = socket.create_server((host, port), reuse_port=False, backlog=512)
    except OSError as error:
        raise failure(f"cannot listen on {host}:{port} ({error.strerror})") from None
    listening.setblocking(False)
    return listening


# The most one read from a socket takes (asyncio's own is 256 KiB).
READ_BYTES = 16 * 1024


def read_in_small_pieces() -> None:
    """Every plain socket of this process (PostgreSQL without TLS, the requests Slack
    sends in HTTP mode behind a proxy that ends TLS, /metrics) is read at most
    ``READ_BYTES`` at a time. asyncio reads each chunk into a new buffer of its read
    size, then shrinks it to what came (a few hundred bytes, mostly); a TLS connection
    reads into a buffer of its own instead, and is not changed by this. Once glibc's
    ``malloc`` has raised its ``mmap`` threshold past 256 KiB (it does as large blocks
    are freed), each such buffer comes from its heap, and the small pieces left in use
    between them keep the heap from ever again holding a free 256 KiB block: the heap
    grows with the traffic while what it holds does not (bench/README.md, issue 16,
    goal 4: 8 MB over the simulated hour with 1.5 MB of it in use; python/cpython#85451
    reports the same read size's other pathology, a map and unmap per read). A 16 KiB
    buffer finds room in what was freed. asyncio keeps the size as a class attribute of
    its socket transports (``max_size``, not public); should a later Python drop it,
    reads stay as asyncio makes them (tests/test_net.py then fails)."""
    from asyncio import selector_events

    transport = getattr(selector_events, "_SelectorTransport", None)
    if isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = READ_BYTES  # type: ignore[union-attr]
