"""Platform ids (people, channels, workspaces) as they arrive, checked against the
columns that store them: one rule for both databases. SQLite does not enforce a
VARCHAR's length and would store an 80-character id; PostgreSQL refuses it ("value too
long for type character varying(64)") in the middle of a transaction.

The limit is read from the columns in bot/storage/models.py, so it follows them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String

from bot.storage.models import Member, OutboxMessage, Workspace


def _length(column: ColumnElement[Any]) -> int:
    assert isinstance(column.type, String) and column.type.length is not None
    return column.type.length


# Every column an id from a platform is stored in; an id must fit the narrowest.
ID_COLUMNS = (
    Workspace.__table__.c.external_id,
    Workspace.__table__.c.shoutout_channel_id,
    Member.__table__.c.external_id,
    OutboxMessage.__table__.c.target_id,
)
ID_MAX_CHARS = min(_length(column) for column in ID_COLUMNS)
# Display names are shown, never matched: a longer one is cut to the column.
NAME_MAX_CHARS = _length(Member.__table__.c.display_name)


def fits_id(value: str) -> bool:
    """Whether ``value`` can be stored as an id on either database."""
    return 0 < len(value) <= ID_MAX_CHARS
