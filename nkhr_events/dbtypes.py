"""Column types shared by the domain models: timestamps in UTC, and text and JSON encrypted
at rest.

The encrypted columns hold Fernet tokens made with the application's key ring (encryption.py);
the models read and write plain values through `EncryptedText` and `EncryptedJSON`, so staff
pages, exports and the attendee's own download see them while the database file, a raw SELECT
and every backup see only tokens. An empty value stays empty, so "has needs" can be filtered
without decrypting.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from nkhr_events.encryption import cipher, is_token, json_text


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC when read back.

    PostgreSQL keeps the offset (`timestamptz`); SQLite keeps text without one, so values are
    normalised to UTC on the way in and marked as UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


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
