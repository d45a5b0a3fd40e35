"""Key rotation: re-encrypt every value stored encrypted at rest with the primary key
(`flask privacy rotate-key`), or write them back in plain (only for downgrading the schema).

The keys and the cipher are nkhr_events/encryption.py; the column types that read and write
the values are `EncryptedText` and `EncryptedJSON` (dbtypes.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.engine import Connection
from sqlalchemy.sql import column, select, table, update

from nkhr_events.encryption import FieldCipher, is_token, json_text

#: The encrypted text columns, by table: what `rotate-key` walks.
ENCRYPTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "registration": ("accessibility_needs", "dietary_needs", "internal_notes", "real_name"),
    "staff_user": ("totp_secret",),
}
#: The encrypted JSON columns, by table: a JSON string holding the token of the JSON text.
ENCRYPTED_JSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "registration": ("answers",),
    "issued_document": ("statements",),
}


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
