"""Configuration from the environment: the secret key rule, database URLs, typed settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from flask import Flask

from nkhr_events import config, create_app
from nkhr_events.extensions import db

#: Every environment variable the settings read, cleared so the machine's own cannot leak in.
SETTINGS_VARIABLES = [*config._PLAIN, *config._INTEGER, *config._BOOLEAN]


@pytest.fixture
def instance(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty environment and an instance folder of this test's own."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "instance"
    monkeypatch.setenv("NKHR_INSTANCE_PATH", str(folder))
    return folder


def build(apps: list[Flask], **settings: object) -> Flask:
    app = create_app(settings or None)
    apps.append(app)
    return app


@pytest.mark.parametrize("environment", [None, "production", "staging"])
def test_outside_development_a_missing_secret_key_stops_the_app(
    instance: Path, monkeypatch: pytest.MonkeyPatch, environment: str | None
) -> None:
    if environment:
        monkeypatch.setenv("NKHR_ENV", environment)
    monkeypatch.setenv("SECRET_KEY", "")  # set but empty counts as missing
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app()
    assert not (instance / "secret_key").exists()


def test_in_production_the_secret_key_comes_from_the_environment(
    instance: Path, monkeypatch: pytest.MonkeyPatch, built: list[Flask]
) -> None:
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    app = build(built)
    assert app.config["SECRET_KEY"] == "a-production-secret"
    assert app.config["NKHR_ENV"] == "production"
    assert not (instance / "secret_key").exists()


def test_in_development_a_key_is_generated_once_and_kept_in_the_instance_folder(
    instance: Path, monkeypatch: pytest.MonkeyPatch, built: list[Flask]
) -> None:
    monkeypatch.setenv("NKHR_ENV", "development")
    first = build(built)
    key = first.config["SECRET_KEY"]
    assert len(key) >= 32
    key_file = instance / "secret_key"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # A restart reads the same key, so a signed-in session survives it.
    second = build(built)
    assert second.config["SECRET_KEY"] == key
    cookie = first.session_interface.get_signing_serializer(first).dumps({"_user_id": "1"})
    assert second.session_interface.get_signing_serializer(second).loads(cookie) == {
        "_user_id": "1"
    }


def test_by_default_the_database_is_a_sqlite_file_in_the_instance_folder(
    instance: Path, monkeypatch: pytest.MonkeyPatch, built: list[Flask]
) -> None:
    monkeypatch.setenv("SECRET_KEY", "k")
    app = build(built)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'nkhr_events.sqlite3'}"
    assert instance.is_dir()


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://nkhr:secret@db.example:5432/nkhr",
         "postgresql+psycopg://nkhr:secret@db.example:5432/nkhr"),
        ("postgresql://nkhr:secret@db.example/nkhr",
         "postgresql+psycopg://nkhr:secret@db.example/nkhr"),
        ("postgresql+psycopg://nkhr@db.example/nkhr", "postgresql+psycopg://nkhr@db.example/nkhr"),
        ("sqlite:////srv/nkhr/events.sqlite3", "sqlite:////srv/nkhr/events.sqlite3"),
    ],
)
def test_database_url_names_the_installed_postgresql_driver(given: str, used: str) -> None:
    assert config.database_url(given) == used


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_database_url_from_the_environment_reaches_the_engine(
    instance: Path, monkeypatch: pytest.MonkeyPatch, built: list[Flask], scheme: str
) -> None:
    monkeypatch.setenv("SECRET_KEY", "k")
    monkeypatch.setenv("DATABASE_URL", f"{scheme}://nkhr:secret@127.0.0.1:5432/nkhr_prod")
    app = build(built)
    assert (app.config["SQLALCHEMY_DATABASE_URI"]
            == "postgresql+psycopg://nkhr:secret@127.0.0.1:5432/nkhr_prod")
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.engine.dialect.driver == "psycopg"


def test_typed_settings_are_converted_from_the_environment(
    instance: Path, monkeypatch: pytest.MonkeyPatch, built: list[Flask]
) -> None:
    for name, value in {
        "SECRET_KEY": "k",
        "MAIL_SERVER": "smtp.example.org",
        "MAIL_PORT": "2525",
        "MAIL_USE_TLS": "yes",
        "RATELIMIT_ENABLED": "false",
        "NKHR_SECURE_COOKIES": "1",
        "NKHR_MAX_CONTENT_LENGTH": "65536",
        "NKHR_TEAM_EMAIL": "team@example.org",
    }.items():
        monkeypatch.setenv(name, value)
    app = build(built)
    assert app.config["MAIL_SERVER"] == "smtp.example.org"
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["MAIL_USE_TLS"] is True
    assert app.config["RATELIMIT_ENABLED"] is False
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["MAX_CONTENT_LENGTH"] == 65536
    assert app.config["NKHR_TEAM_EMAIL"] == "team@example.org"


def test_settings_given_to_create_app_win_over_the_environment(
    instance: Path, monkeypatch: pytest.MonkeyPatch, built: list[Flask], tmp_path: Path
) -> None:
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("MAIL_PORT", "2525")
    app = build(built, SECRET_KEY="given", MAIL_PORT=1025,
                SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'given.sqlite3'}")
    assert (app.config["SECRET_KEY"], app.config["MAIL_PORT"]) == ("given", 1025)


def test_safe_defaults_hold_without_any_environment(
    instance: Path, monkeypatch: pytest.MonkeyPatch, built: list[Flask]
) -> None:
    monkeypatch.setenv("SECRET_KEY", "k")
    app = build(built)
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["RATELIMIT_ENABLED"] is True
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    assert app.config["DEBUG"] is False and app.config["TESTING"] is False
    assert app.config["LANGUAGES"] == ("en", "ko")
