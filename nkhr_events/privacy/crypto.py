"""Encryption at rest of special-category data (needs, internal notes, category answers).

The columns hold Fernet tokens (AES-128-CBC with an HMAC-SHA256, cryptography's Fernet); the
models read and write plain values through `EncryptedText` and `EncryptedJSON`, so staff pages,
exports and the attendee's own download see them while the database file, a raw SELECT and
every backup see only tokens. An empty value stays empty, so "has needs" can be filtered
without decrypting.

Keys come from `NKHR_ENCRYPTION_KEYS`: a comma-separated list of Fernet keys, the first encrypts
and every one decrypts (MultiFernet), so a key is rotated by putting a new one first and running
`flask privacy rotate-key`, which re-encrypts every value with it. Outside development the app does
not start without that setting (create_app): a key derived from SECRET_KEY would sit on the same
host as the database, beside the secret it comes from. In development a key is generated once and
kept in instance/encryption_key, and the key derived from SECRET_KEY (HKDF, its own label), which
encrypted before that file existed, stays the last decryption key, so a development database
made earlier stays readable (`rotate-key` moves it to the new key).

`python -m nkhr_events.privacy.crypto` prints a new key without starting the app.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app
from sqlalchemy import JSON, Text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import column, select, table, update
from sqlalchemy.types import TypeDecorator

EXTENSION = "nkhr_crypto"
#: Every Fernet token starts with its version byte 0x80, which base64url-encodes to "gAAAAA".
TOKEN_PREFIX = "gAAAAA"
#: The encrypted text columns, by table: what `rotate-key` walks.
ENCRYPTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "registration": ("accessibility_needs", "dietary_needs", "internal_notes"),
}
#: The encrypted JSON columns, by table: a JSON string holding the token of the JSON text.
ENCRYPTED_JSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "registration": ("answers",),
}


class DecryptionError(RuntimeError):
    """A stored token that none of the configured keys opens."""


class KeyConfigurationError(ValueError):
    """NKHR_ENCRYPTION_KEYS holds something that is not a Fernet key."""


def new_key() -> str:
    """A fresh key in the form NKHR_ENCRYPTION_KEYS takes."""
    return Fernet.generate_key().decode("ascii")


def derived_key(secret_key: str | bytes) -> bytes:
    """The key that encrypted when no key was configured (development databases made before
    instance/encryption_key existed): HKDF of SECRET_KEY with its own label, so it is never the
    session-signing key itself."""
    secret = secret_key.encode("utf-8") if isinstance(secret_key, str) else secret_key
    material = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"nkhr_events field encryption",
        info=b"fernet key v1",
    ).derive(secret)
    return base64.urlsafe_b64encode(material)


def parse_keys(value: str | Iterable[str] | None) -> list[bytes]:
    """The configured keys, in order; raises KeyConfigurationError naming the bad entry."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    keys = []
    for position, item in enumerate((i.strip() for i in items), start=1):
        if not item:
            continue
        try:
            Fernet(item.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as error:
            raise KeyConfigurationError(
                f"NKHR_ENCRYPTION_KEYS entry {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; `flask privacy new-key` prints one)"
            ) from error
        keys.append(item.encode("ascii"))
    return keys


@dataclass(frozen=True)
class FieldCipher:
    """The keys of one application: `primary` encrypts, every key decrypts."""

    fernet: MultiFernet
    explicit: bool

    @classmethod
    def from_config(cls, configured: Any, secret_key: str | bytes | None = None) -> FieldCipher:
        """The configured keys; with `secret_key`, the key derived from it decrypts too (last),
        and encrypts when no key is configured."""
        keys = parse_keys(configured)
        explicit = bool(keys)
        if secret_key is not None and (fallback := derived_key(secret_key)) not in keys:
            keys.append(fallback)
        if not keys:
            raise KeyConfigurationError("NKHR_ENCRYPTION_KEYS is not set")
        return cls(MultiFernet([Fernet(k) for k in keys]), explicit)

    def encrypt(self, text: str) -> str:
        return self.fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self.fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError) as error:
            raise DecryptionError(
                "a stored value cannot be decrypted with the configured keys "
                "(check NKHR_ENCRYPTION_KEYS: the key that wrote it must be in the list)"
            ) from error

    def rotate(self, token: str) -> str:
        try:
            return self.fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError) as error:
            raise DecryptionError("a stored value cannot be decrypted for rotation") from error


def init_app(app: Flask) -> None:
    """Build the cipher once per application; a malformed key stops the start. The key derived
    from SECRET_KEY takes part only in development (to read what it wrote there before
    instance/encryption_key existed) and in tests that configure no key at all; create_app has
    already refused to start anywhere else without NKHR_ENCRYPTION_KEYS."""
    configured = app.config.get("NKHR_ENCRYPTION_KEYS")
    with_derived = app.config.get("NKHR_ENV") == "development" or (app.testing and not configured)
    app.extensions[EXTENSION] = FieldCipher.from_config(
        configured, app.config["SECRET_KEY"] if with_derived else None
    )


def cipher() -> FieldCipher:
    return current_app.extensions[EXTENSION]


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


class EncryptedText(TypeDecorator[str]):
    """Text stored as a Fernet token; empty stays empty. Reads of a value that is not a token
    (written before encryption existed) return it as it is, and `rotate-key` encrypts it."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or value == "":
            return value
        return cipher().encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or value == "" or not is_token(value):
            return value
        return cipher().decrypt(value)


def json_text(value: Any) -> str:
    """The JSON text an `EncryptedJSON` value is encrypted as."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON value stored as a JSON string holding the Fernet token of its JSON text, so the
    column stays JSON (no schema change) and holds no readable answer. An empty value ({}, [],
    None) stays as it is; a value stored before encryption existed is read as it is, and
    `rotate-key` encrypts it."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if not value:
            return value
        return cipher().encrypt(json_text(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and is_token(value):
            return json.loads(cipher().decrypt(value))
        return value


@dataclass
class RotationReport:
    rotated: int = 0
    encrypted: int = 0

    def __str__(self) -> str:
        return f"{self.rotated} values re-encrypted, {self.encrypted} plain values encrypted"


def _rows(connection: Connection, target: Any) -> Iterator[Any]:
    last_id = 0
    while True:
        batch = connection.execute(
            select(target).where(target.c.id > last_id).order_by(target.c.id).limit(500)
        ).all()
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def _stored(
    connection: Connection,
    text_columns: dict[str, tuple[str, ...]] | None,
    json_columns: dict[str, tuple[str, ...]] | None,
) -> Iterator[tuple[Any, Any, dict[str, bool]]]:
    """Every row of each table with encrypted columns (every such column unless the caller
    names them; a migration names those of its revision): the table, the row, and its
    columns, each with whether it holds JSON. JSON columns are typed JSON, so each driver
    hands back the same Python values."""
    texts_by_table = ENCRYPTED_COLUMNS if text_columns is None else text_columns
    jsons_by_table = ENCRYPTED_JSON_COLUMNS if json_columns is None else json_columns
    for name in sorted(set(texts_by_table) | set(jsons_by_table)):
        texts, jsons = texts_by_table.get(name, ()), jsons_by_table.get(name, ())
        target = table(name, column("id"), *(column(c) for c in texts),
                       *(column(c, JSON) for c in jsons))
        columns = {**dict.fromkeys(texts, False), **dict.fromkeys(jsons, True)}
        for row in _rows(connection, target):
            yield target, row, columns


def rotate_all(
    connection: Connection,
    field_cipher: FieldCipher,
    text_columns: dict[str, tuple[str, ...]] | None = None,
    json_columns: dict[str, tuple[str, ...]] | None = None,
) -> RotationReport:
    """Re-encrypt every stored value with the primary key, and encrypt any plain value.

    Works on raw column values (no model), in batches; the caller owns the transaction, so a
    value no key opens aborts the whole run unchanged."""
    report = RotationReport()
    for target, row, columns in _stored(connection, text_columns, json_columns):
        values: dict[str, Any] = {}
        for name, holds_json in columns.items():
            value = getattr(row, name)
            if not value:
                continue
            if isinstance(value, str) and is_token(value):
                values[name] = field_cipher.rotate(value)
                report.rotated += 1
            else:
                values[name] = field_cipher.encrypt(json_text(value) if holds_json else value)
                report.encrypted += 1
        if values:
            connection.execute(update(target).where(target.c.id == row.id).values(**values))
    return report


def decrypt_all(
    connection: Connection,
    field_cipher: FieldCipher,
    text_columns: dict[str, tuple[str, ...]] | None = None,
    json_columns: dict[str, tuple[str, ...]] | None = None,
) -> int:
    """Write every encrypted value back in plain (only for downgrading the schema)."""
    count = 0
    for target, row, columns in _stored(connection, text_columns, json_columns):
        values: dict[str, Any] = {}
        for name, holds_json in columns.items():
            value = getattr(row, name)
            if isinstance(value, str) and value and is_token(value):
                plain = field_cipher.decrypt(value)
                values[name] = json.loads(plain) if holds_json else plain
        if values:
            connection.execute(update(target).where(target.c.id == row.id).values(**values))
            count += len(values)
    return count


if __name__ == "__main__":
    print(new_key())  # for NKHR_ENCRYPTION_KEYS, where the app cannot start without one yet
