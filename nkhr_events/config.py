"""Settings: safe defaults, overridden from the environment.

Every setting the README documents is read here and nowhere else, so the table in the
README and this module can be compared line by line.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Environment variables read as they are (name -> setting name).
_PLAIN = {
    "SECRET_KEY": "SECRET_KEY",
    "NKHR_TWO_FACTOR": "NKHR_TWO_FACTOR",
    "NKHR_PASSKEY_RP_ID": "NKHR_PASSKEY_RP_ID",
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "MAIL_SERVER": "MAIL_SERVER",
    "MAIL_USERNAME": "MAIL_USERNAME",
    "MAIL_PASSWORD": "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER": "MAIL_DEFAULT_SENDER",
    "NKHR_TEAM_EMAIL": "NKHR_TEAM_EMAIL",
    "NKHR_ORG_NAME": "NKHR_ORG_NAME",
    "NKHR_BASE_URL": "NKHR_BASE_URL",
    "NKHR_TIMEZONE": "NKHR_TIMEZONE",
    "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "NKHR_ENV": "NKHR_ENV",
    "NKHR_REGISTRATION_LIMIT": "NKHR_REGISTRATION_LIMIT",
    "NKHR_REGISTRATION_EMAIL_LIMIT": "NKHR_REGISTRATION_EMAIL_LIMIT",
    "MAIL_CATCHER_DIRECTORY": "MAIL_CATCHER_DIRECTORY",
    "NKHR_LOG_FORMAT": "NKHR_LOG_FORMAT",
    "NKHR_ENCRYPTION_KEYS": "NKHR_ENCRYPTION_KEYS",
}
_INTEGER = {
    "MAIL_PORT": "MAIL_PORT",
    "NKHR_MAX_CONTENT_LENGTH": "MAX_CONTENT_LENGTH",
    "OUTBOX_BATCH_SIZE": "OUTBOX_BATCH_SIZE",
    "OUTBOX_LEASE_SECONDS": "OUTBOX_LEASE_SECONDS",
    "NKHR_TRUSTED_PROXIES": "NKHR_TRUSTED_PROXIES",
    "NKHR_PAGE_CACHE_SIZE": "NKHR_PAGE_CACHE_SIZE",
    "NKHR_SEAT_LOCK_TIMEOUT_MS": "NKHR_SEAT_LOCK_TIMEOUT_MS",
    "NKHR_STAFF_IDLE_MINUTES": "NKHR_STAFF_IDLE_MINUTES",
    "NKHR_STAFF_SESSION_HOURS": "NKHR_STAFF_SESSION_HOURS",
    "NKHR_INVITATION_REMINDER_DAYS": "NKHR_INVITATION_REMINDER_DAYS",
}
#: PostgreSQL connection pool, per process (name -> create_engine() argument).
_POOL = {
    "NKHR_DB_POOL_SIZE": "pool_size",
    "NKHR_DB_MAX_OVERFLOW": "max_overflow",
    "NKHR_DB_POOL_RECYCLE": "pool_recycle",
    "NKHR_DB_POOL_TIMEOUT": "pool_timeout",
}
#: Pool defaults: SQLAlchemy's sizes; connections older than 30 minutes are replaced, before
#: a firewall or PostgreSQL's idle timeouts cut them.
POOL_DEFAULTS = {"pool_size": 5, "max_overflow": 10, "pool_recycle": 1800, "pool_timeout": 30}
_FLOAT = {"OUTBOX_POLL_SECONDS": "OUTBOX_POLL_SECONDS", "MAIL_TIMEOUT": "MAIL_TIMEOUT"}
_BOOLEAN = {
    "MAIL_USE_TLS": "MAIL_USE_TLS",
    "MAIL_USE_SSL": "MAIL_USE_SSL",
    "NKHR_SECURE_COOKIES": "SESSION_COOKIE_SECURE",
    "RATELIMIT_ENABLED": "RATELIMIT_ENABLED",
    "NKHR_MAIL_CATCHER": "MAIL_CATCHER",
}

#: How long a request waits for an event's seat lock before it answers "busy, try again"
#: (registrations/seats.py); on SQLite, where the seat lock is the write lock, every write's
#: busy timeout. Long enough for a bulk decision or a flood cancel holding the lock.
SEAT_LOCK_TIMEOUT_MS = 10_000


def defaults(instance_path: str) -> dict[str, Any]:
    """Settings that hold unless the environment or a test says otherwise."""
    database = Path(instance_path) / "nkhr_events.sqlite3"
    return {
        "NKHR_ENV": "production",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        # hide_parameters: a failed statement is logged without its values (names, addresses).
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        # Forms are small; a larger body is refused with 413 before it is parsed.
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 500 * 1024,
        "MAX_FORM_PARTS": 200,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        "WTF_CSRF_TIME_LIMIT": 6 * 3600,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "LANGUAGES": ("en", "ko", "ja"),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 8025,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        # In development, `make run` catches mail on MAIL_SERVER:MAIL_PORT (see outbox/background).
        "MAIL_CATCHER": True,
        "MAIL_DEFAULT_SENDER": "NKHR Conferences <conference@localhost>",
        "NKHR_TEAM_EMAIL": "intl-campaign@localhost",
        "NKHR_ORG_NAME": "Citizens' Alliance for North Korean Human Rights",
        "NKHR_BASE_URL": "http://127.0.0.1:5000",
        # The organization's time zone: staff pages without an event show times in it.
        "NKHR_TIMEZONE": "Asia/Seoul",
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": False,
        "RATELIMIT_STRATEGY": "fixed-window",
        "RATELIMIT_KEY_PREFIX": "nkhr",
        # If Redis is unreachable, count in each process's memory (limits still hold, per
        # process) and look for Redis again now and then; never turn the outage into a 500.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # A Redis that stops answering costs a request at most this long, not a hung worker.
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        # How many reverse proxies in front set X-Forwarded-For/-Proto/-Host; 0 trusts none.
        "NKHR_TRUSTED_PROXIES": 0,
        # json or text; unset: text in development, json otherwise (see logs.py).
        "NKHR_LOG_FORMAT": None,
        # Registration and lost-link submissions per client address, and per email address.
        "NKHR_REGISTRATION_LIMIT": "20 per minute; 300 per hour",
        "NKHR_REGISTRATION_EMAIL_LIMIT": "5 per hour",
        # Rendered registration pages kept per process for anonymous visitors (pagecache.py);
        # 0 renders every page.
        "NKHR_PAGE_CACHE_SIZE": 256,
        "NKHR_SEAT_LOCK_TIMEOUT_MS": SEAT_LOCK_TIMEOUT_MS,
    }


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _integer(name: str, value: str) -> int:
    """`value` as a whole number; ValueError naming the variable when it is not one."""
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None


def bounded_setting(
    config: Mapping[str, Any], name: str, default: int, bounds: tuple[int, int]
) -> int:
    """A whole-number setting within `bounds` (default when unset); ValueError naming the
    setting when it is not a whole number or out of bounds."""
    value = config.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    low, high = bounds
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low} and {high}, not {number}")
    return number


def from_environment(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """The settings the environment sets, converted to their types."""
    settings: dict[str, Any] = {}
    for name, key in _PLAIN.items():
        if environ.get(name):
            settings[key] = environ[name]
    for name, key in _INTEGER.items():
        if environ.get(name):
            settings[key] = _integer(name, environ[name])
    for name, key in _FLOAT.items():
        if environ.get(name):
            settings[key] = float(environ[name])
    for name, key in _BOOLEAN.items():
        if environ.get(name):
            settings[key] = _truthy(environ[name])
    if ("MAIL_SERVER" in settings or "MAIL_PORT" in settings) and "MAIL_CATCHER" not in settings:
        # A mail server named in the environment is a real one: never stand in for it.
        settings["MAIL_CATCHER"] = False
    if "SQLALCHEMY_DATABASE_URI" in settings:
        settings["SQLALCHEMY_DATABASE_URI"] = database_url(settings["SQLALCHEMY_DATABASE_URI"])
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
            settings["SQLALCHEMY_DATABASE_URI"], environ
        )
    return settings


def engine_options(url: str, environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """create_engine() arguments: a pool sized from the environment for PostgreSQL.

    Each process (gunicorn worker, outbox worker) has a pool of its own; SQLite keeps
    SQLAlchemy's own pool, which these sizes do not fit, and is not pinged before use (a
    file has no server to drop a connection, and the ping cost a statement per request).
    """
    options: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("postgresql"):
        options["pool_pre_ping"] = True
        options.update(POOL_DEFAULTS)
        for name, key in _POOL.items():
            if environ.get(name):
                options[key] = int(environ[name])
    return options


def database_url(url: str) -> str:
    """A database URL SQLAlchemy can use with the drivers we install."""
    if url.startswith("postgres://"):
        # Heroku-style URLs name a scheme SQLAlchemy no longer accepts.
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we install.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


#: The instance folder (SQLite database, development keys, caught mail) and the files in it
#: are for the app's own user only.
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def make_private(path: Path, mode: int) -> None:
    """Take group and other access away from `path` if we own it and it has any (a folder or
    a database made before this rule, or by a looser umask); leave alone what is not ours."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        path.chmod(mode)


def private_folder(path: str | Path) -> Path:
    """`path` as a folder only its owner can enter, made if missing (mode 0700 whatever the
    umask: mkdir applies it, the chmod after does not)."""
    folder = Path(path)
    if not folder.is_dir():
        folder.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
        folder.chmod(PRIVATE_FOLDER)
    make_private(folder, PRIVATE_FOLDER)
    return folder


def private_file(path: str | Path) -> Path:
    """`path` as a file only its owner can read, created empty (0600 from the first moment,
    never readable by others in between) if missing."""
    file = Path(path)
    try:
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass
    make_private(file, PRIVATE_FILE)
    return file


def _kept_secret(path: Path, make: Any) -> str:
    """The secret stored in `path`, or a new one from `make()` stored there (mode 0600)."""
    if path.exists() and path.read_text().strip():
        make_private(path, PRIVATE_FILE)
        return path.read_text().strip()
    private_folder(path.parent)
    value = str(make())
    private_file(path).write_text(value)
    return value


def development_secret_key(instance_path: str) -> str:
    """A key kept under instance/ so that sign-ins survive a restart of `make run`."""
    return _kept_secret(Path(instance_path) / "secret_key", lambda: secrets.token_urlsafe(48))


def development_encryption_key(instance_path: str) -> str:
    """An encryption key kept under instance/ so that `make run` encrypts needs and notes
    without any setting, with a key that is not derived from SECRET_KEY either."""
    from cryptography.fernet import Fernet

    return _kept_secret(
        Path(instance_path) / "encryption_key", lambda: Fernet.generate_key().decode("ascii")
    )
