"""Whole numbers that people type or buttons carry (page and milestone numbers, pause
lengths, ids in button values), read in one place.

``int()`` on what arrived is not enough: Python refuses strings of more than 4,300
digits (``sys.get_int_max_str_digits``) with a ValueError, ``isdecimal`` lets through
digits of other scripts, and a number past the database's integer range fails the
query (PostgreSQL: "integer out of range"; SQLite: OverflowError past 8 bytes) or,
like a page of 0, becomes a negative OFFSET.
"""

from __future__ import annotations

# The primary keys and integer columns of bot/storage/models.py are ``Integer``:
# PostgreSQL's 4-byte integer, -2147483648 to +2147483647
# (https://www.postgresql.org/docs/15/datatype-numeric.html#DATATYPE-INT).
DB_INT_MAX = 2**31 - 1
# Unix timestamps in button values: seconds, well within 12 digits until the year 33658.
TIMESTAMP_MAX = 10**12 - 1


def whole_number(text: str, *, low: int = 1, high: int = DB_INT_MAX) -> int | None:
    """``text`` as an int when it is ASCII digits only and within ``low..high``;
    otherwise None. Never converts more digits than ``high`` has."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(high)):
        return None
    number = int(digits)
    return number if low <= number <= high else None


def how_many(n: int, one: str, many: str) -> str:
    """``n`` and the words for one or for many: ``1 pair``, ``2 pairs``, ``0 pairs``."""
    return f"{n} {one if n == 1 else many}"
