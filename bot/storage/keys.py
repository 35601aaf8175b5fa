"""Work over a whole database's encrypted text: re-encrypting every value with the first
key (``mentorbot db rotate-key``) and checking on start that the configured keys read
what is stored. Here, not in ``bot.crypto``, because it needs a ``Database`` and the
database needs the cipher: the cipher stays below the storage layer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, bindparam, select, update

from bot.crypto import (
    NO_KEY,
    SETTING,
    EncryptedTextError,
    EncryptionKeyError,
    TextCipher,
    encrypted_columns,
    is_encrypted,
)
from bot.storage.database import Database


def _rewritten(cipher: TextCipher, stored: Any, is_json: bool) -> Any:
    """The new raw value, or None when it is already encrypted with the first key."""
    if stored is None:
        return None
    if is_json and not isinstance(stored, str):
        return cipher.encrypt(json.dumps(stored, ensure_ascii=False, separators=(",", ":")))
    return cipher.reencrypted(str(stored))


@dataclass(frozen=True, slots=True)
class RotationReport:
    values: int  # values (re-)encrypted with the first key
    rows: int


async def rotate_keys(
    database: Database, metadata: MetaData, *, batch_size: int = 500
) -> RotationReport:
    """Encrypt every stored free-text value with the first key: ciphertext under an older
    key and plain text written before encryption was on. One transaction per batch, so a
    large database is not locked for long; running it again changes nothing."""
    cipher = database.cipher
    if cipher is None:
        raise EncryptionKeyError(f"set {SETTING} first: rotate-key encrypts with its first key.")
    values = rows = 0
    for columns in encrypted_columns(metadata):
        raw = columns.raw
        last_id = 0
        while True:
            async with database.transaction() as session:
                query = select(raw).where(raw.c.id > last_id).order_by(raw.c.id).limit(batch_size)
                if not database.is_sqlite:
                    query = query.with_for_update()
                batch = (await session.execute(query)).mappings().all()
                if not batch:
                    break
                last_id = int(batch[-1]["id"])
                changes: list[dict[str, Any]] = []
                for row in batch:
                    new = {
                        name: _rewritten(cipher, row[name], name in columns.json_names)
                        for name in columns.names
                    }
                    changed = {name: value for name, value in new.items() if value is not None}
                    if changed:
                        values += len(changed)
                        kept = {name: row[name] for name in columns.names}
                        changes.append(
                            {"row_id": row["id"]}
                            | {f"new_{name}": value for name, value in (kept | changed).items()}
                        )
                if changes:
                    statement = (
                        update(raw)
                        .where(raw.c.id == bindparam("row_id"))
                        .values(
                            {
                                name: bindparam(f"new_{name}", type_=raw.c[name].type)
                                for name in columns.names
                            }
                        )
                    )
                    await session.execute(statement, changes)
                    rows += len(changes)
    return RotationReport(values, rows)


async def check_readable(database: Database, metadata: MetaData) -> None:
    """Fail at start-up, not mid-conversation, when the newest stored text of any table
    cannot be read with the configured keys (or none is configured)."""
    async with database.transaction() as session:
        for columns in encrypted_columns(metadata):
            raw = columns.raw
            for name in columns.names:
                query = select(raw.c[name]).order_by(raw.c.id.desc()).limit(1)
                if name not in columns.json_names:
                    query = query.where(raw.c[name].is_not(None))
                stored = (await session.execute(query)).scalar()
                if isinstance(stored, str) and is_encrypted(stored):
                    if database.cipher is None:
                        raise EncryptedTextError(NO_KEY)
                    database.cipher.decrypt(stored)
