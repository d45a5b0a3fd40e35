"""Fixtures: an app with a fresh database per test (SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set), a client, a CLI runner, staff sign-in helpers, factories.

Every test starts from the same environment, whatever the caller's shell sets: the variables
the app reads are removed before the first test (see `pytest_configure`)."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pyotp
import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from smtp import smtp_server  # noqa: F401  (a real SMTP server on a free local port)
from sqlalchemy import text
from sqlalchemy.engine import make_url
from werkzeug.test import TestResponse

from nkhr_events import PROJECT_ROOT, create_app
from nkhr_events import config as app_config
from nkhr_events.accounts.models import StaffRole, StaffUser, TeamMember
from nkhr_events.accounts.services import create_staff
from nkhr_events.config import database_url
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db, limiter

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgresql", "postgres:"))
STAFF_PASSWORD = "correct horse battery staple"
#: The one-time code secret every account made by `AuthActions.create` is enrolled with.
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
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


#: The variables that change the app under test, by name: every one config.py reads, and what
#: gunicorn.conf.py reads for `serve`...
APP_VARIABLES = frozenset(
    {
        *app_config._PLAIN,
        *app_config._INTEGER,
        *app_config._FLOAT,
        *app_config._BOOLEAN,
        *app_config._POOL,
        "HOST",
        "PORT",
        "WEB_CONCURRENCY",
    }
)
#: ...and by prefix: the app's own, the outbox worker's, the limiter's, gunicorn's and Flask's
#: (FLASK_DEBUG turns on debug in every app).
APP_PREFIXES = ("NKHR_", "MAIL_", "OUTBOX_", "RATELIMIT_", "SQLALCHEMY_", "GUNICORN_", "FLASK_")
#: Named like the app's, but they steer the test run (tests/browser/conftest.py): kept.
HARNESS_VARIABLES = frozenset({"NKHR_REQUIRE_BROWSER", "NKHR_SCREENSHOTS"})

_cleared_environment = pytest.MonkeyPatch()


def app_variables(environ: Mapping[str, str]) -> list[str]:
    """The names in `environ` that would change the app under test."""
    return sorted(
        name
        for name in environ
        if (name in APP_VARIABLES or name.startswith(APP_PREFIXES))
        and name not in HARNESS_VARIABLES
    )


def pytest_configure(config: pytest.Config) -> None:
    """Remove the app's variables before any test, fixture or subprocess reads them: a test
    then passes or fails the same whatever the caller's shell sets (TEST_DATABASE_URL, PATH
    and the harness's own stay). Subprocesses inherit the cleared environment and set what
    they need on top of it."""
    for name in app_variables(os.environ):
        _cleared_environment.delenv(name)


def pytest_unconfigure(config: pytest.Config) -> None:
    _cleared_environment.undo()


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
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL database of its own on the TEST_DATABASE_URL server, dropped afterwards."""
    server = make_url(database_url(TEST_DATABASE_URL))
    name = f"nkhr_a_test_{uuid.uuid4().hex[:12]}"
    admin = server.set(drivername="postgresql", database="postgres")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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


def next_code(app: Flask, email: str) -> str:
    """A one-time code of the account's secret that it has not used yet: the current step, or
    the next one when the current was used, waiting for a new step when both were (a code
    works only once). Never the step before now: the clock may pass into the next step before
    the server checks it, and then that code has run out."""
    with app.app_context():
        user = db.session.scalar(db.select(StaffUser).where(StaffUser.email == email))
        assert user is not None and user.totp_secret, f"{email} has no two-factor secret"
        secret, last = user.totp_secret, user.totp_last_step
    totp = pyotp.TOTP(secret)
    while True:
        current = totp.timecode(utcnow())
        step = current if last is None else max(current, last + 1)
        if step <= current + 1:
            return totp.generate_otp(step)
        time.sleep(totp.interval - time.time() % totp.interval + 0.05)


def enrol(browser: FlaskClient, **kwargs: Any) -> TestResponse:
    """Set up two-factor sign-in on the enrolment page as a person does: read the key shown
    for typing by hand, answer with the app's current code. The page of recovery codes."""
    page = browser.get("/sign-in/two-factor", **kwargs).get_data(as_text=True)
    found = re.search(r'<code id="two-factor-secret"[^>]*>([A-Z2-7 ]+)</code>', page)
    assert found is not None, page
    code = pyotp.TOTP(found.group(1).replace(" ", "")).now()
    response = browser.post("/sign-in/two-factor", data={"code": code}, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def post_sign_in(
    app: Flask, browser: FlaskClient, data: dict[str, str], **kwargs: Any
) -> TestResponse:
    """Sign in through the form as a browser does: the password, then (for an account that
    asks for one) the current one-time code. The answer of the last step."""
    response = browser.post("/sign-in", data=data, **kwargs)
    location = urlsplit(response.headers.get("Location", ""))
    if response.status_code == 303 and location.path == "/sign-in/two-factor":
        return enrol(browser, **kwargs)
    if response.status_code != 303 or location.path != "/sign-in/code":
        return response
    second = {"code": next_code(app, data["email"].strip().lower())}
    if "csrf_token" in data:
        page = browser.get("/sign-in/code", **kwargs).get_data(as_text=True)
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert found is not None, page
        second["csrf_token"] = found.group(1)
    return browser.post("/sign-in/code", data=second, **kwargs)


#: A team membership that makes an organizer of every event, new ones included.
EVERY_EVENT: dict[str, Any] = {"event_id": None, "role": "organizer"}


class AuthActions:
    """Create staff accounts and sign in through the real sign-in form."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self._app = app
        self._client = client

    def create(
        self, email: str = "organizer@example.org", role: StaffRole = StaffRole.STAFF,
        teams: tuple[dict[str, Any], ...] | None = None, two_factor: bool = True,
    ) -> StaffUser:
        """A staff account; `teams` are its memberships, each the columns of a TeamMember;
        by default a staff account is an organizer of every event (`EVERY_EVENT`). Unless
        `two_factor` is False, it is enrolled for two-factor sign-in with STAFF_TOTP_SECRET."""
        if teams is None:
            teams = (EVERY_EVENT,) if role == StaffRole.STAFF else ()
        with self._app.app_context():
            user = create_staff(email, "Test Staff", STAFF_PASSWORD, role)
            if two_factor:
                user.totp_secret = STAFF_TOTP_SECRET
                user.two_factor_enrolled_at = utcnow()
            db.session.flush()
            for team in teams:
                db.session.add(TeamMember(user_id=user.id, **team))
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    def sign_in(
        self, email: str = "organizer@example.org", role: StaffRole = StaffRole.STAFF,
        teams: tuple[dict[str, Any], ...] | None = None,
    ):
        with self._app.app_context():
            exists = db.session.scalar(db.select(StaffUser).where(StaffUser.email == email))
        if exists is None:
            self.create(email, role, teams)
        response = self.post_sign_in({"email": email, "password": STAFF_PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)
        return response

    def post_sign_in(
        self, data: dict[str, str], browser: FlaskClient | None = None, **kwargs: Any
    ) -> TestResponse:
        """`post_sign_in` with this app (and this client unless `browser` is given)."""
        return post_sign_in(self._app, browser or self._client, data, **kwargs)

    def admin(self):
        return self.sign_in("admin@example.org", StaffRole.ADMIN)

    def organizer(self):
        """An organizer of every event (as every organizer was before event teams)."""
        return self.sign_in("organizer@example.org", StaffRole.STAFF, (EVERY_EVENT,))

    def member(self, event_id: int | None, role: str, email: str = "", **grants: Any):
        """A staff member with one role on one event's team (`grants`: categories, sees_needs,
        can_export)."""
        address = email or f"{role}-{event_id}@example.org"
        return self.sign_in(address, StaffRole.STAFF,
                            ({"event_id": event_id, "role": role, **grants},))

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
