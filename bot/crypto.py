"""Optional encryption at rest for free text (wins, answers, feedback, reviews, milestone
titles, and the queued messages and flow data that quote them).

``DATA_ENCRYPTION_KEY`` holds one or more Fernet keys, comma-separated: the first
encrypts, every one decrypts, so a key is rotated by putting the new one first, running
``mentorbot db rotate-key`` and then dropping the old one.

Stored ciphertext is marked with a prefix, so rows written before encryption was turned on
still read as plain text until ``rotate-key`` encrypts them. The cipher belongs to one
database: ``Database`` attaches it to its engine's dialect (each engine has its own), and
the column types below find it there, on every ORM and Core path alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr
from sqlalchemy import (
    JSON,
    Dialect,
    Integer,
    MetaData,
    Text,
    TypeDecorator,
    column,
    table,
)
from sqlalchemy.sql.expression import TableClause
from sqlalchemy.types import TypeEngine

from bot.errors import UserError
from bot.numbers import how_many

SETTING = "DATA_ENCRYPTION_KEY"
# Marks a stored value as ciphertext: "enc:v1:" then a Fernet token.
PREFIX = "enc:v1:"
MAKE_A_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
NO_KEY = f"this database holds encrypted text: set {SETTING} to the key it was written with."
WRONG_KEY = (
    f"this database holds text encrypted with a key that {SETTING} does not list: "
    "add the key it was written with (keys are comma-separated; the first one encrypts)."
)
# The attribute of an engine's dialect that holds that database's cipher.
_DIALECT_ATTRIBUTE = "mentorbot_text_cipher"


class EncryptionKeyError(ValueError):
    """``DATA_ENCRYPTION_KEY`` is not usable. The message never contains the key."""


class EncryptedTextError(UserError):
    """Stored ciphertext cannot be read with the configured keys (or with none)."""


class TextCipher:
    """Encrypts with the first key, decrypts with any of them."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise EncryptionKeyError(
                f"{SETTING} is set but holds no key. Make one with: {MAKE_A_KEY}"
            )
        fernets: list[Fernet] = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, TypeError, UnicodeEncodeError):
                # Fernet's own errors are safe, but say nothing that could echo the key.
                which = f"key {number} of {len(keys)}" if len(keys) > 1 else "the key"
                raise EncryptionKeyError(
                    f"{SETTING} is not valid: {which} is not a Fernet key "
                    f"(44 characters of url-safe base64). Make one with: {MAKE_A_KEY}"
                ) from None
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)
        self.key_count = len(fernets)

    @classmethod
    def from_setting(cls, value: str) -> TextCipher:
        """Keys as written in ``DATA_ENCRYPTION_KEY``: comma-separated, blanks ignored."""
        return cls([part.strip() for part in value.split(",") if part.strip()])

    def encrypt(self, text: str) -> str:
        return PREFIX + self._primary.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """Plain text as it was stored; ciphertext decrypted with whichever key fits."""
        if not is_encrypted(stored):
            return stored
        try:
            return self._all.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise EncryptedTextError(WRONG_KEY) from None

    def reencrypted(self, stored: str) -> str | None:
        """The value encrypted with the first key, or None when it already is."""
        if is_encrypted(stored):
            try:
                self._primary.decrypt(stored[len(PREFIX) :].encode("ascii"))
                return None
            except InvalidToken:
                pass
        return self.encrypt(self.decrypt(stored))


def cipher_from_setting(setting: SecretStr | str | None) -> TextCipher | None:
    """The cipher ``DATA_ENCRYPTION_KEY`` asks for; None when it is unset or blank."""
    value = setting.get_secret_value() if isinstance(setting, SecretStr) else setting
    if value is None or not value.strip():
        return None
    return TextCipher.from_setting(value)


def describe(cipher: TextCipher | None) -> str:
    """The start-up line saying how free text is stored (never the key)."""
    if cipher is None:
        return f"free text is stored in plain text (set {SETTING} to encrypt it)"
    return f"free text is encrypted at rest ({how_many(cipher.key_count, 'key', 'keys')})"


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


def attach_cipher(dialect: Dialect, cipher: TextCipher | None) -> None:
    setattr(dialect, _DIALECT_ATTRIBUTE, cipher)


def cipher_of(dialect: Dialect) -> TextCipher | None:
    cipher = getattr(dialect, _DIALECT_ATTRIBUTE, None)
    return cipher if isinstance(cipher, TextCipher) else None


def _unseal(stored: str, dialect: Dialect) -> str:
    if not is_encrypted(stored):
        return stored
    cipher = cipher_of(dialect)
    if cipher is None:
        raise EncryptedTextError(NO_KEY)
    return cipher.decrypt(stored)


class EncryptedText(TypeDecorator[str]):
    """Text, encrypted when the database has a cipher. Never compare or search it in SQL:
    the same words encrypt differently every time."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        cipher = cipher_of(dialect)
        if value is None or cipher is None:
            return value
        return cipher.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _unseal(value, dialect)


class EncryptedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object; with a cipher, stored as one JSON string holding the ciphertext of
    the object's JSON, so the column stays valid JSON on both backends."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> Any:
        cipher = cipher_of(dialect)
        if value is None or cipher is None:
            return value
        return cipher.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: Any, dialect: Dialect) -> dict[str, Any] | None:
        if isinstance(value, str) and is_encrypted(value):
            loaded: dict[str, Any] = json.loads(_unseal(value, dialect))
            return loaded
        return value  # type: ignore[no-any-return]


# --- the whole database: rotation and the start-up check ----------------------------------


@dataclass(frozen=True, slots=True)
class EncryptedColumns:
    """One table's encrypted columns, typed as stored (ciphertext or plain, untouched)."""

    name: str
    raw: TableClause  # the id and the raw columns
    names: tuple[str, ...]
    json_names: frozenset[str]


def encrypted_columns(metadata: MetaData) -> list[EncryptedColumns]:
    found: list[EncryptedColumns] = []
    for model_table in metadata.sorted_tables:
        columns = [
            c for c in model_table.columns if isinstance(c.type, EncryptedText | EncryptedJSON)
        ]
        if not columns:
            continue
        if [key.name for key in model_table.primary_key.columns] != ["id"]:
            raise TypeError(f"{model_table.name}: encrypted columns need an integer id key")
        raw_types: dict[str, TypeEngine[Any]] = {
            c.name: JSON() if isinstance(c.type, EncryptedJSON) else Text() for c in columns
        }
        raw = table(
            model_table.name,
            column("id", Integer()),
            *(column(name, kind) for name, kind in raw_types.items()),
        )
        found.append(
            EncryptedColumns(
                model_table.name,
                raw,
                tuple(raw_types),
                frozenset(c.name for c in columns if isinstance(c.type, EncryptedJSON)),
            )
        )
    return found
