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
