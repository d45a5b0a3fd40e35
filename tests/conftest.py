"""Fixtures: an app with a fresh database per test (SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set), a client, a CLI runner, staff sign-in helpers, factories."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from smtp import smtp_server  # noqa: F401  (a real SMTP server on a free local port)
from sqlalchemy import text

from nkhr_events import PROJECT_ROOT, create_app
from nkhr_events.accounts.models import StaffRole, StaffUser
from nkhr_events.accounts.services import create_staff
from nkhr_events.config import database_url
from nkhr_events.extensions import db, limiter

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgresql", "postgres:"))
STAFF_PASSWORD = "correct horse battery staple"
TRANSLATIONS = PROJECT_ROOT / "nkhr_events" / "translations"


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations() -> None:
    """Compile each catalogue whose .mo is missing or older than its .po, so that a fresh
    clone's tests see the translations without `make`. Written aside, then renamed, so that
    two runs at once never read a half-written file."""
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        partial = mo_path.with_name(f"{mo_path.name}.{os.getpid()}.tmp")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(partial, mo_path)


def pytest_report_header(config: pytest.Config) -> str:
    where = f"PostgreSQL {TEST_DATABASE_URL}" if ON_POSTGRES else "SQLite (a file per test)"
    return f"database: {where}"


#: A fixed Fernet key, so that test apps built one after another read each other's rows.
TEST_ENCRYPTION_KEY = "dGVzdC1rZXktZm9yLWVuY3J5cHRlZC1maWVsZHMtMDE="


def make_test_app(url: str, **overrides: object) -> Flask:
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "NKHR_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "NKHR_BASE_URL": "http://localhost",
        "SERVER_NAME": None,
    }
    if url.startswith("postgresql"):
        # A lock left behind by a broken test errors out instead of hanging the run.
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            "connect_args": {"options": "-c lock_timeout=30000 -c statement_timeout=120000"},
        }
    settings.update(overrides)
    return create_app(settings)


@pytest.fixture(scope="session")
def _postgres_schema() -> Iterator[str | None]:
    """On PostgreSQL, build the schema once; tests empty the tables after themselves."""
    if not ON_POSTGRES:
        yield None
        return
    url = database_url(TEST_DATABASE_URL)
    app = make_test_app(url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    yield url
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def app_settings() -> dict[str, object]:
    """Override in a test module (or with `@pytest.mark.parametrize`) to change settings."""
    return {}


@pytest.fixture
def app(
    tmp_path: Path, _postgres_schema: str | None, app_settings: dict[str, object]
) -> Iterator[Flask]:
    url = _postgres_schema or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    application = make_test_app(url, **app_settings)
    with application.app_context():
        if not ON_POSTGRES:
            db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        if ON_POSTGRES:
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


class AuthActions:
    """Create staff accounts and sign in through the real sign-in form."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self._app = app
        self._client = client

    def create(
        self, email: str = "organizer@example.org", role: StaffRole = StaffRole.ORGANIZER
    ) -> StaffUser:
        with self._app.app_context():
            user = create_staff(email, "Test Staff", STAFF_PASSWORD, role)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    def sign_in(self, email: str = "organizer@example.org", role: StaffRole = StaffRole.ORGANIZER):
        with self._app.app_context():
            exists = db.session.scalar(db.select(StaffUser).where(StaffUser.email == email))
        if exists is None:
            self.create(email, role)
        response = self._client.post("/sign-in", data={"email": email, "password": STAFF_PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)
        return response

    def admin(self):
        return self.sign_in("admin@example.org", StaffRole.ADMIN)

    def organizer(self):
        return self.sign_in("organizer@example.org", StaffRole.ORGANIZER)

    def sign_out(self):
        return self._client.post("/sign-out")


@pytest.fixture
def auth(app: Flask, client: FlaskClient) -> AuthActions:
    return AuthActions(app, client)


@pytest.fixture
def built() -> Iterator[list[Flask]]:
    """Apps a test builds itself; their engines are closed and the limiter left healthy."""
    apps: list[Flask] = []
    yield apps
    for app in apps:
        with app.app_context():
            db.engine.dispose()
    # The limiter is one object for every app in this process: forget a Redis outage.
    limiter._storage_dead = False
