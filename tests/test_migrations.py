"""Migrations: empty database to head and back to base, in agreement with the models.

The `flask db` commands run as a user runs them, in a subprocess against a fresh database: a
new SQLite file, and (with TEST_DATABASE_URL) a throwaway PostgreSQL database made and dropped
here.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ON_POSTGRES, TEST_ENCRYPTION_KEY
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from nkhr_events import PROJECT_ROOT
from nkhr_events import models as _models  # noqa: F401  (every table on the metadata)
from nkhr_events.config import database_url
from nkhr_events.extensions import db


def run_flask(url: str, instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "SECRET_KEY", "NKHR_ENV", "NKHR_INSTANCE_PATH",
                       "NKHR_ENCRYPTION_KEYS"}
    }
    env.update(
        DATABASE_URL=url,
        SECRET_KEY="migration-test-key",
        NKHR_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEY,
        NKHR_ENV="production",
        NKHR_INSTANCE_PATH=str(instance),
    )
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    if not ON_POSTGRES:
        pytest.skip("set TEST_DATABASE_URL=postgresql://... to run migrations on PostgreSQL")
    return request.getfixturevalue("throwaway_postgres")


def triggers(engine: Engine, table: str) -> list[str]:
    """The triggers on `table` (the seat counters' on registration): a migration that rebuilds
    the table (SQLite's batch mode) would lose them without a word."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            query = "select name from sqlite_master where type = 'trigger' and tbl_name = :t"
        else:
            query = ("select tgname from pg_trigger where not tgisinternal"
                     " and tgrelid = cast(:t as regclass)")
        return sorted(connection.scalars(text(query), {"t": table}))


def describe_schema(engine: Engine) -> dict[str, Any]:
    """Tables, columns, keys, indexes, check constraints and triggers as the database reports
    them.

    Columns are compared by name, not position: a migration appends a column, where the model
    may declare it beside its kin (`title_ja` after `title_ko`)."""
    inspector = inspect(engine)
    schema: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        schema[table] = {
            "columns": sorted(
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ),
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted(
                (fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"],
                 tuple(fk["referred_columns"]), fk.get("options", {}).get("ondelete"))
                for fk in inspector.get_foreign_keys(table)
            ),
            "unique": sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            ),
            "checks": sorted(
                (c["name"], " ".join(str(c["sqltext"]).split()))
                for c in inspector.get_check_constraints(table)
            ),
            "triggers": triggers(engine, table),
        }
    return schema


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_migrations_upgrade_agree_with_the_models_and_downgrade_to_nothing(
    fresh_database: str, tmp_path: Path
) -> None:
    url = database_url(fresh_database)

    # `db check` is not vacuous: an empty database is reported as behind the models.
    behind = run_flask(url, tmp_path, "db", "check")
    assert behind.returncode != 0, behind.stdout + behind.stderr

    upgrade = run_flask(url, tmp_path, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    check = run_flask(url, tmp_path, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr

    # The migrated schema is one the application works with.
    imported = run_flask(url, tmp_path, "history", "import")
    assert imported.returncode == 0, imported.stderr
    assert "added 2 series, 10 events" in imported.stdout

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("select count(*) from event")) == 10
            assert connection.scalar(text("select version_num from alembic_version"))
        migrated = describe_schema(engine)
        assert set(migrated) == {t.name for t in db.metadata.sorted_tables}
        assert migrated["registration"]["triggers"], "the seat counters' triggers are missing"

        downgrade = run_flask(url, tmp_path, "db", "downgrade", "base")
        assert downgrade.returncode == 0, downgrade.stderr
        assert table_names(engine) == {"alembic_version"}
        with engine.connect() as connection:
            assert connection.scalar(text("select count(*) from alembic_version")) == 0

        # The same database built from the models directly has the very same shape, down to
        # the check constraints that `db check` does not compare.
        with engine.begin() as connection:
            connection.execute(text("drop table alembic_version"))
        db.metadata.create_all(engine)
        assert describe_schema(engine) == migrated
    finally:
        engine.dispose()



def test_the_secrets_migration_takes_every_stored_link_out_of_the_outbox(
    fresh_database: str, tmp_path: Path
) -> None:
    """Messages stored before links were made at delivery lose their links; those still to be
    sent get the maker of a fresh one, or are cancelled when nothing can make it."""
    url = database_url(fresh_database)
    assert run_flask(url, tmp_path, "db", "upgrade", "b8e4d21c6f5a").returncode == 0
    manage, reset, orphan = (secrets.token_urlsafe(32) for _ in range(3))
    now = datetime.now(UTC)
    message = {
        "sender": "conference@localhost", "subject": "s", "language": "en", "attempts": 1,
        "next_attempt_at": now, "created_at": now, "html_body": None,
    }
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "insert into staff_user (id, email, name, password_hash, role, active, "
                "created_at) values (1, 'a@example.org', 'A', 'x', 'admin', true, :now)"
            ), {"now": now})
            connection.execute(text(
                "insert into password_reset_token (user_id, token_hash, created_at, expires_at) "
                "values (1, :hash, :now, :later)"
            ), {"hash": hashlib.sha256(reset.encode()).hexdigest(), "now": now,
                "later": now + timedelta(hours=48)})
            rows = [
                (1, "sent", "registration_confirmed", f"http://h/registration/{manage}"),
                (2, "queued", "password_reset", f"http://h/reset-password/{reset}"),
                (3, "failed", "registration_link", f"http://h/registration/{orphan}"),
            ]
            for id_, status, template, link in rows:
                connection.execute(text(
                    "insert into outbox_message (id, status, sender, recipient, subject, "
                    "text_body, html_body, template, language, message_id, attempts, "
                    "next_attempt_at, created_at) values (:id, :status, :sender, 'p@example.org',"
                    " :subject, :text, :html, :template, :language, :mid, :attempts, "
                    ":next_attempt_at, :created_at)"
                ), {**message, "id": id_, "status": status, "template": template,
                    "text": f"Open {link} now", "html": f'<a href="{link}">{link}</a>',
                    "mid": f"<{id_}@h>"})
            connection.execute(text(
                "insert into outbox_attachment (outbox_message_id, position, filename, "
                "content_type, data) values (1, 0, 'checkin.png', 'image/png', :png)"
            ), {"png": b"\x89PNG the code"})

        upgraded = run_flask(url, tmp_path, "db", "upgrade", "c13a5ec7e701")
        assert upgraded.returncode == 0, upgraded.stderr
        with engine.connect() as connection:
            found = {
                row.id: row for row in connection.execute(text(
                    "select id, status, text_body, html_body, secret_maker, secret_subject_id, "
                    "admin_only from outbox_message"
                ))
            }
            png = connection.scalar(text("select data from outbox_attachment"))
        for row in found.values():
            for token in (manage, reset, orphan):
                assert token not in row.text_body and token not in row.html_body
            assert "PRIVATE-LINK-MADE-WHEN-SENT" in row.text_body
        assert (found[1].status, found[1].secret_maker) == ("sent", None)
        assert (found[2].status, found[2].secret_maker, found[2].secret_subject_id) == (
            "queued", "staff-invitation-link", 1)
        assert found[2].admin_only and not found[1].admin_only
        assert found[3].status == "cancelled"
        assert bytes(png) == b"nkhr-outbox-late-attachment:registration-checkin-qr"
    finally:
        engine.dispose()


def test_event_text_per_language_keeps_the_english_and_korean_text_both_ways(
    fresh_database: str, tmp_path: Path
) -> None:
    """The existing text becomes the English and Korean version; an event with no Korean text
    is an English-only event; every event interprets Korean and English as before; going back
    keeps the English and Korean title, city and extra question."""
    url = database_url(fresh_database)
    assert run_flask(url, tmp_path, "db", "upgrade", "c16b0d2f0002").returncode == 0
    now = datetime.now(UTC)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "insert into series (id, slug, name, description, position) "
                "values (1, 's', 'Series', '', 0)"))
            for id_, title_ko, city_ko in ((1, "서울 회의", "서울"), (2, None, None)):
                connection.execute(text(
                    "insert into event (id, series_id, title, title_ko, slug, start_date, "
                    "end_date, venue, city, city_ko, country, timezone, description, status, "
                    "created_at, updated_at, retention_days, participant_list, "
                    "participant_list_by_category, show_seat_counts) values (:id, 1, :title, "
                    ":title_ko, :slug, :day, :day, 'Hall', 'Seoul', :city_ko, 'KR', 'Asia/Seoul', "
                    "'About it.', 'published', :now, :now, 180, 'off', false, false)"
                ), {"id": id_, "title": f"Event {id_}", "title_ko": title_ko, "slug": f"e{id_}",
                    "day": now.date(), "city_ko": city_ko, "now": now})
            connection.execute(text(
                "insert into event_category (event_id, category, enabled, needs_review, "
                "extra_question, extra_question_ko) values (1, 'journalist', true, false, "
                "'Which outlet?', '어느 매체입니까?')"))

        upgraded = run_flask(url, tmp_path, "db", "upgrade", "c16c0e3a0003")
        assert upgraded.returncode == 0, upgraded.stderr
        with engine.connect() as connection:
            events = {row.id: row for row in connection.execute(text(
                "select id, languages, interpretation_pairs, title, title_ko, title_ja, "
                "description, description_ko, venue, city, city_ko from event"))}
            question = connection.execute(text(
                "select extra_question, extra_question_ko, extra_question_ja "
                "from event_category")).one()
        assert (events[1].languages, events[2].languages) == ("en ko", "en")
        assert {row.interpretation_pairs for row in events.values()} == {"en-ko"}
        assert (events[1].title, events[1].title_ko, events[1].title_ja) == (
            "Event 1", "서울 회의", None)
        assert (events[1].description, events[1].description_ko) == ("About it.", None)
        assert (events[1].venue, events[1].city, events[1].city_ko) == ("Hall", "Seoul", "서울")
        assert tuple(question) == ("Which outlet?", "어느 매체입니까?", None)

        with engine.begin() as connection:
            connection.execute(text("update event set title_ja = '東京' where id = 1"))
        downgraded = run_flask(url, tmp_path, "db", "downgrade", "c16b0d2f0002")
        assert downgraded.returncode == 0, downgraded.stderr
        with engine.connect() as connection:
            kept = connection.execute(text(
                "select title, title_ko, city, city_ko from event where id = 1")).one()
            question = connection.execute(text(
                "select extra_question, extra_question_ko from event_category")).one()
        assert tuple(kept) == ("Event 1", "서울 회의", "Seoul", "서울")
        assert tuple(question) == ("Which outlet?", "어느 매체입니까?")
    finally:
        engine.dispose()


def test_no_migration_imports_the_application() -> None:
    """Migrations carry frozen copies of what they need: a later change to the application
    must not change what an old migration does (or break it)."""
    import ast

    offenders = []
    for path in sorted((PROJECT_ROOT / "migrations").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "nkhr_events"]
    mako = (PROJECT_ROOT / "migrations" / "script.py.mako").read_text(encoding="utf-8")
    assert offenders == [] and "nkhr_events" not in mako
