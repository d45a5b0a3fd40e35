"""Engine settings that depend on the database in use."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, event, literal
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.exc import DBAPIError

from nkhr_events.config import PRIVATE_FILE, SEAT_LOCK_TIMEOUT_MS, make_private, private_file

#: PostgreSQL's SQLSTATE for a lock not granted within `lock_timeout` (lock_not_available).
LOCK_NOT_AVAILABLE = "55P03"


def configure_engine(engine: Engine, busy_timeout_ms: int = SEAT_LOCK_TIMEOUT_MS) -> None:
    """SQLite: a database file only its owner can read, and WAL, enforced foreign keys and a
    busy timeout on every new connection.

    SQLite has one write lock, which is also the seat lock (registrations/seats.py): a write
    waits `busy_timeout_ms` for it (NKHR_SEAT_LOCK_TIMEOUT_MS), then fails "database is locked".
    """
    if engine.dialect.name != "sqlite":
        return
    _make_database_file_private(engine.url.database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()


def _make_database_file_private(database: str | None) -> None:
    """Create the database file with mode 0600 before SQLite does (SQLite would use 0644 less
    the umask), or take group and other access away from one we own. SQLite gives its -wal
    and -shm files the database file's mode; those left by an earlier run are tightened too."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite says what is wrong when it connects
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        make_private(path.with_name(path.name + suffix), PRIVATE_FILE)


def is_lock_timeout(error: DBAPIError) -> bool:
    """Whether `error` says a lock was not granted in time: PostgreSQL's `lock_timeout` ran out,
    or SQLite's busy timeout did ("database is locked")."""
    if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
        return True
    return getattr(error.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


def rowcount(result: Result[Any]) -> int:
    """How many rows the UPDATE or DELETE (without RETURNING) that gave `result` matched.

    `Session.execute` returns a CursorResult for such a statement, which has the count, but is
    typed to return any Result (SQLAlchemy's advice since 2.0.44 is this cast)."""
    return cast("CursorResult[Any]", result).rowcount


def in_written_values(column: Any, values: Any) -> ColumnElement[bool]:
    """`column IN (...)` with the values written into the statement rather than bound: a
    partial index whose condition is that IN (the one-active-registration index) is used only
    when the planner sees the values (SQLite always; PostgreSQL with generic plans)."""
    return cast(ColumnElement[bool], column.in_(
        [literal(str(value), literal_execute=True) for value in values]
    ))
