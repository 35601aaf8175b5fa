"""Files handed to the person who acted (an export, a chart): the plain words every
adapter uses for their size, for a file too big for the platform, and for one that
could not be sent. Pure; the adapters do the sending."""

from __future__ import annotations

from collections.abc import Sequence

from bot.effects import Attachment

KIB = 1024
MIB = 1024 * KIB


def size_text(size: int) -> str:
    """``512 bytes``, ``12.5 KB``, ``10 MB`` (binary units, as file managers show them)."""
    if size < KIB:
        return "1 byte" if size == 1 else f"{size} bytes"
    value, unit = (size / KIB, "KB") if size < MIB else (size / MIB, "MB")
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


def names(files: Sequence[Attachment]) -> str:
    """``export.json``, ``export.json and brag.md``, ``a, b and c``."""
    listed = [f.filename for f in files]
    if len(listed) <= 1:
        return "".join(listed)
    return ", ".join(listed[:-1]) + f" and {listed[-1]}"


def within_limit(
    files: Sequence[Attachment], limit: int, platform: str
) -> tuple[tuple[Attachment, ...], tuple[str, ...]]:
    """The files small enough for ``platform`` and, for each one that is not, a sentence
    saying so (those are not tried at all: the platform would only refuse them)."""
    fitting = tuple(f for f in files if len(f.data) <= limit)
    refused = tuple(
        f"{f.filename} is {_over(len(f.data), limit)}, and {platform} takes files of at most "
        f"{size_text(limit)} from me, so I didn't send it."
        for f in files
        if len(f.data) > limit
    )
    return fitting, refused


def _over(size: int, limit: int) -> str:
    shown = size_text(size)
    return f"just over {shown}" if shown == size_text(limit) else shown


def not_sent(files: Sequence[Attachment], reason: str) -> str:
    """What the person is told when the platform refused the upload."""
    what = "the file" if len(files) == 1 else "the files"
    return f"I couldn't upload {what} ({names(files)}): {reason}"
