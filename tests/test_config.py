"""Configuration from the environment: the secret key rule, database URLs, typed settings."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEST_ENCRYPTION_KEY
from cryptography.fernet import Fernet, InvalidToken
from flask import Flask

from nkhr_events import PROJECT_ROOT, config, create_app, encryption
from nkhr_events.extensions import db

#: Every environment variable the settings read, cleared so the machine's own cannot leak in.
SETTINGS_VARIABLES = [*config._PLAIN, *config._INTEGER, *config._BOOLEAN]


@pytest.fixture
def instance(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty environment (but for the encryption key production needs) and an instance
    folder of this test's own."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NKHR_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
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


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "between 1 and 60"), ("61", "between 1 and 60"), ("soon", "a whole number")],
)
def test_the_invitation_reminder_days_come_from_the_environment_within_bounds(
    instance: Path, monkeypatch: pytest.MonkeyPatch, built: list[Flask], value: str,
    message: str,
) -> None:
    from nkhr_events.invitations import services as invitations

    monkeypatch.setenv("SECRET_KEY", "k")
    monkeypatch.setenv("NKHR_INVITATION_REMINDER_DAYS", "7")
    app = build(built)
    assert app.config["NKHR_INVITATION_REMINDER_DAYS"] == 7
    with app.app_context():
        assert invitations._reminder_days() == 7
    # Out of bounds, or not a number: the app does not start, and says which setting.
    monkeypatch.setenv("NKHR_INVITATION_REMINDER_DAYS", value)
    with pytest.raises(ValueError, match=f"NKHR_INVITATION_REMINDER_DAYS must be {message}"):
        build(built)
    monkeypatch.delenv("NKHR_INVITATION_REMINDER_DAYS")
    with pytest.raises(ValueError, match=f"NKHR_INVITATION_REMINDER_DAYS must be {message}"):
        build(built, NKHR_INVITATION_REMINDER_DAYS=value)


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
    assert app.config["LANGUAGES"] == ("en", "ko", "ja")


# --- encryption keys and private files ------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("environment", [None, "production", "staging"])
def test_outside_development_a_missing_encryption_key_stops_the_app(
    instance: Path, monkeypatch: pytest.MonkeyPatch, environment: str | None
) -> None:
    if environment:
        monkeypatch.setenv("NKHR_ENV", environment)
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.setenv("NKHR_ENCRYPTION_KEYS", "")  # set but empty counts as missing
    with pytest.raises(RuntimeError, match="NKHR_ENCRYPTION_KEYS is not set") as refused:
        create_app()
    assert "python -m nkhr_events.encryption" in str(refused.value)
    assert not (instance / "encryption_key").exists()


def test_in_production_only_the_configured_keys_encrypt_and_decrypt(
    instance: Path, monkeypatch: pytest.MonkeyPatch, built: list[Flask]
) -> None:
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    app = build(built)
    cipher = app.extensions[encryption.EXTENSION]
    assert cipher.explicit
    token = cipher.encrypt("wheelchair access")
    assert Fernet(TEST_ENCRYPTION_KEY.encode()).decrypt(token.encode()) == b"wheelchair access"
    # Nothing derived from SECRET_KEY opens anything: it sits on the same host.
    derived = Fernet(encryption.derived_key("a-production-secret"))
    with pytest.raises(encryption.DecryptionError):
        cipher.decrypt(derived.encrypt(b"written with the derived key").decode())
    with pytest.raises(InvalidToken):
        derived.decrypt(token.encode())
    assert not (instance / "encryption_key").exists()


def test_in_development_an_encryption_key_is_generated_once_and_the_derived_one_still_reads(
    instance: Path, monkeypatch: pytest.MonkeyPatch, built: list[Flask]
) -> None:
    """`make run` needs no setting, and a development database written before the key file
    existed (with the key derived from SECRET_KEY) stays readable."""
    monkeypatch.setenv("NKHR_ENV", "development")
    monkeypatch.delenv("NKHR_ENCRYPTION_KEYS")
    first = build(built)
    key_file = instance / "encryption_key"
    key = key_file.read_text().strip()
    assert mode(key_file) == 0o600
    assert encryption.parse_keys(key) == [key.encode()]
    assert first.config["NKHR_ENCRYPTION_KEYS"] == key
    cipher = first.extensions[encryption.EXTENSION]
    written = cipher.encrypt("vegetarian")
    assert Fernet(key.encode()).decrypt(written.encode()) == b"vegetarian"
    older = Fernet(encryption.derived_key(first.config["SECRET_KEY"])).encrypt(b"halal").decode()
    assert cipher.decrypt(older) == "halal"

    second = build(built)
    assert second.config["NKHR_ENCRYPTION_KEYS"] == key
    assert second.extensions[encryption.EXTENSION].decrypt(written) == "vegetarian"


@pytest.mark.parametrize("environment", ["development", "production"])
def test_the_instance_folder_and_the_sqlite_database_are_private_after_db_upgrade(
    instance: Path, tmp_path: Path, environment: str
) -> None:
    """Made by `flask db upgrade` on a fresh instance path under a umask that would leave them
    readable by everyone."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES},
        "NKHR_ENV": environment,
        "NKHR_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "" if environment == "development" else "a-production-secret",
        "NKHR_ENCRYPTION_KEYS": "" if environment == "development" else TEST_ENCRYPTION_KEY,
    }
    env.pop("FLASK_APP", None)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=240, umask=0o022,
    )
    assert result.returncode == 0, result.stderr
    database = instance / "nkhr_events.sqlite3"
    assert database.stat().st_size > 0
    assert mode(instance) == 0o700
    assert mode(database) == 0o600
    for name in ("nkhr_events.sqlite3-wal", "nkhr_events.sqlite3-shm"):
        if (instance / name).exists():
            assert mode(instance / name) == 0o600
    if environment == "development":
        assert mode(instance / "secret_key") == 0o600
        assert mode(instance / "encryption_key") == 0o600


def test_an_instance_folder_and_database_made_readable_before_are_tightened(
    instance: Path, monkeypatch: pytest.MonkeyPatch, built: list[Flask]
) -> None:
    monkeypatch.setenv("SECRET_KEY", "k")
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    database = instance / "nkhr_events.sqlite3"
    database.touch()
    database.chmod(0o644)
    build(built)
    assert mode(instance) == 0o700
    assert mode(database) == 0o600


def test_the_development_server_links_emails_to_where_it_answers(
    instance: Path, tmp_path: Path
) -> None:
    """`PORT=5101 make run` (or the server on its own) must not email links to port 5000."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **os.environ, "NKHR_ENV": "development", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite'}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "nkhr_events.devserver", "--host", "127.0.0.1", "--port",
         str(port)],
        cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        for line in server.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "links in emails point to" in line:
                break
        assert f"links in emails point to http://127.0.0.1:{port}" in "".join(lines)
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()  # type: ignore[union-attr]
