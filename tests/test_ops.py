"""Production serving: health checks, request ids and JSON logs, the reverse proxy setting, rate
limits shared through Redis, database pool settings, and gunicorn, the launcher and the outbox
worker stopping cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import TEST_ENCRYPTION_KEY, make_test_app
from flask import Flask, current_app, request
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from nkhr_events import PROJECT_ROOT, config, create_app
from nkhr_events.audit.models import AuditEntry
from nkhr_events.extensions import db, limiter
from nkhr_events.outbox.models import OutboxMessage, OutboxStatus
from nkhr_events.outbox.services import enqueue_email

#: Ports of this module's own servers (8200-8299); 8299 is never listened on.
REDIS_URI = "redis://127.0.0.1:6379/5"
TOKEN = "Zq8vN3kLr5TtY2wXb7Hc"


# --- helpers ----------------------------------------------------------------------------------


def log_lines(captured: str) -> list[dict[str, Any]]:
    """The JSON log lines among what was written to stderr."""
    lines = []
    for line in captured.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def add_probe(app: Flask) -> None:
    """A page under a secret-looking path that logs what the app knows about the request."""

    @app.get("/registration/<token>/probe")
    def probe(token: str) -> str:
        current_app.logger.warning(
            "probe %s from %s secure=%s", request.path, request.remote_addr, request.is_secure
        )
        return "probed"


def server_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a production process: ours, without the machine's app settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NKHR_", "MAIL_", "OUTBOX_", "RATELIMIT_", "WEB_", "GUNICORN_"))
        and key not in {"DATABASE_URL", "SECRET_KEY", "HOST", "PORT"}
    }
    env.update(
        SECRET_KEY="ops-test-secret-key",
        NKHR_ENV="production",
        NKHR_INSTANCE_PATH=str(tmp_path / "instance"),
        NKHR_ENCRYPTION_KEYS=TEST_ENCRYPTION_KEY,
        HOST="127.0.0.1",
    )
    env.update(extra)
    return env


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310  (loopback)
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def wait_for_health(port: int, process: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"nothing answered on port {port}")


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[float, str, str]:
    """Send `sig`; seconds until the process ended, and its output."""
    started = time.monotonic()
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return time.monotonic() - started, out, err


def free_port() -> int:
    """A loopback port nothing listens on now (the system picks it, so parallel runs of this
    suite never share one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


#: Ports of this run: a server of ours, the launcher, and one where nothing listens.
GUNICORN_PORT = free_port()
LAUNCHER_PORT = free_port()
CLOSED_PORT = free_port()
#: Rate-limit keys of this run only, so two runs sharing the Redis server never count together.
REDIS_PREFIX = f"nkhr-test-{os.getpid()}-{time.time_ns()}"


def port_is_free(port: int) -> bool:
    """Nothing listens on the port (a connection is refused)."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head by `flask db upgrade`, as a deployment does it."""
    folder = tmp_path_factory.mktemp("migrated")
    path = folder / "migrated.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=server_environment(folder, DATABASE_URL=f"sqlite:///{path}"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return path


def app_on(url: str, built: list[Flask], **settings: object) -> Flask:
    app = make_test_app(url, **settings)
    built.append(app)
    return app


# --- /healthz and /readyz ---------------------------------------------------------------------


def test_healthz_answers_without_a_database_and_readyz_says_why_not(
    tmp_path: Path, built: list[Flask]
) -> None:
    app = app_on(f"sqlite:///{tmp_path / 'no-such-folder' / 'db.sqlite3'}", built)
    client = app.test_client()

    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {"status": "ok"}
    assert health.headers["Cache-Control"] == "no-store"

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "unavailable", "reason": "database unreachable"}


def test_readyz_refuses_a_database_without_migrations(app: Flask, client: FlaskClient) -> None:
    # The test database is built from the models, not by migrations: no revision recorded.
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["reason"].startswith("database schema at revision none, expected ")


def test_readyz_is_ready_at_head_and_not_behind_it(
    migrated_database: Path, tmp_path: Path, built: list[Flask]
) -> None:
    app = app_on(f"sqlite:///{migrated_database}", built)
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id))) == 0

    # The same database one migration behind, as after deploying code before migrating.
    behind = tmp_path / "behind.sqlite3"
    shutil.copy(migrated_database, behind)
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
    head = script.get_revision(script.get_current_head())
    engine = create_engine(f"sqlite:///{behind}")
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE alembic_version SET version_num = :old"), {"old": head.down_revision}
        )
    engine.dispose()
    stale = app_on(f"sqlite:///{behind}", built).test_client().get("/readyz")
    assert stale.status_code == 503
    assert stale.get_json()["reason"] == (
        f"database schema at revision {head.down_revision}, expected {head.revision} "
        "(run flask db upgrade)"
    )


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": True}])
def test_health_checks_set_no_cookie_are_never_rate_limited_and_leave_no_audit(
    app: Flask, client: FlaskClient
) -> None:
    client.set_cookie("nkhr_lang", "ko")
    for _ in range(150):
        assert client.get("/healthz").status_code == 200
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert "Set-Cookie" not in response.headers
        assert client.post(path).status_code == 405
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id))) == 0


# --- request ids and log lines ----------------------------------------------------------------


def test_each_request_gets_a_fresh_id_and_a_client_cannot_choose_it(client: FlaskClient) -> None:
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/").headers["X-Request-ID"]
    assert len({first, second}) == 2
    for value in (first, second):
        assert len(value) == 32 and all(c in "0123456789abcdef" for c in value)
    # No proxy is trusted by default: a client's own id is replaced.
    chosen = client.get("/healthz", headers={"X-Request-ID": "client-chosen-id-123"})
    assert chosen.headers["X-Request-ID"] != "client-chosen-id-123"


@pytest.mark.parametrize("app_settings", [{"NKHR_TRUSTED_PROXIES": 1}])
def test_a_trusted_proxys_request_id_is_kept_unless_malformed(client: FlaskClient) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "f3b1c2d4-proxy.id:42"})
    assert kept.headers["X-Request-ID"] == "f3b1c2d4-proxy.id:42"
    for bad in ("short", "x" * 200, 'spaces and "quotes"', "../../etc/passwd", "-leading-dash"):
        response = client.get("/healthz", headers={"X-Request-ID": bad})
        assert response.headers["X-Request-ID"] != bad
        assert len(response.headers["X-Request-ID"]) == 32


def test_json_log_lines_carry_the_request_id_and_never_the_token(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    add_probe(app)
    capsys.readouterr()
    response = app.test_client().get(f"/registration/{TOKEN}/probe")
    assert response.get_data(as_text=True) == "probed"
    captured = capsys.readouterr().err
    assert TOKEN not in captured
    [line] = [entry for entry in log_lines(captured) if entry["message"].startswith("probe ")]
    assert line["message"] == "probe /registration/[redacted]/probe from 127.0.0.1 secure=False"
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["level"] == "WARNING"
    assert line["logger"] == "nkhr_events"

    # Outside a request a line has no request id.
    with app.app_context():
        current_app.logger.warning("outside %s", f"/reset-password/{TOKEN}")
    [outside] = log_lines(capsys.readouterr().err)
    assert outside["message"] == "outside /reset-password/[redacted]"
    assert "request_id" not in outside


def test_an_exception_in_a_log_line_is_redacted_too(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    with app.test_request_context("/"):
        try:
            raise ValueError(f"bad link /manage/checkin/{TOKEN}")
        except ValueError:
            current_app.logger.exception("failed")
    [line] = log_lines(capsys.readouterr().err)
    assert TOKEN not in json.dumps(line)
    assert "/manage/checkin/[redacted]" in line["exception"]
    assert len(line["request_id"]) == 32


@pytest.mark.parametrize("app_settings", [{"NKHR_LOG_FORMAT": "text"}])
def test_text_log_lines_for_development(app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    add_probe(app)
    capsys.readouterr()
    response = app.test_client().get(f"/registration/{TOKEN}/probe")
    err = capsys.readouterr().err
    [line] = [x for x in err.splitlines() if "probe /registration" in x]
    assert f"WARNING nkhr_events [{response.headers['X-Request-ID']}] probe " in line
    assert "/registration/[redacted]/probe" in line and TOKEN not in err


def test_log_format_defaults_by_environment_and_refuses_unknown_names(
    tmp_path: Path, built: list[Flask]
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    assert app_on(url, built).config["NKHR_LOG_FORMAT"] == "json"
    assert app_on(url, built, NKHR_ENV="development").config["NKHR_LOG_FORMAT"] == "text"
    with pytest.raises(RuntimeError, match="NKHR_LOG_FORMAT must be json or text"):
        make_test_app(url, NKHR_LOG_FORMAT="xml")
    assert config.from_environment({"NKHR_LOG_FORMAT": "text"})["NKHR_LOG_FORMAT"] == "text"


# --- behind a reverse proxy -------------------------------------------------------------------

FORWARDED = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}


def test_forwarded_headers_are_ignored_unless_proxies_are_trusted(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    add_probe(app)
    capsys.readouterr()
    response = app.test_client().get(f"/registration/{TOKEN}/probe", headers=FORWARDED)
    [line] = [e for e in log_lines(capsys.readouterr().err) if e["message"].startswith("probe")]
    assert line["message"].endswith("from 127.0.0.1 secure=False")
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("app_settings", [{"NKHR_TRUSTED_PROXIES": 1}])
def test_one_trusted_proxy_gives_the_client_address_and_https(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    add_probe(app)
    capsys.readouterr()
    # The client put an address of its own first; the proxy appended the one it saw.
    headers = {**FORWARDED, "X-Forwarded-For": "10.9.9.9, 198.51.100.7"}
    response = app.test_client().get(f"/registration/{TOKEN}/probe", headers=headers)
    [line] = [e for e in log_lines(capsys.readouterr().err) if e["message"].startswith("probe")]
    assert line["message"].endswith("from 198.51.100.7 secure=True")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def sign_in_attempts(client: FlaskClient, count: int, address: str | None = None) -> list[int]:
    headers = {"X-Forwarded-For": address} if address else {}
    return [
        client.post(
            "/sign-in",
            data={"email": "nobody@example.org", "password": "wrong"},
            headers=headers,
        ).status_code
        for _ in range(count)
    ]


@pytest.mark.parametrize(
    ("app_settings", "separate"),
    [({"RATELIMIT_ENABLED": True}, False),
     ({"RATELIMIT_ENABLED": True, "NKHR_TRUSTED_PROXIES": 1}, True)],
    ids=["no-proxy", "one-proxy"],
)
def test_rate_limits_count_by_the_real_client_address(
    app: Flask, client: FlaskClient, separate: bool
) -> None:
    # Sign-in allows 10 attempts a minute per address.
    assert sign_in_attempts(client, 10, "203.0.113.1") == [200] * 10
    assert sign_in_attempts(client, 1, "203.0.113.1") == [429]
    # Another forwarded address is another client only when the proxy is trusted; otherwise
    # a client could escape the limit by making one up.
    assert sign_in_attempts(client, 1, "203.0.113.2") == ([200] if separate else [429])


# --- Redis -------------------------------------------------------------------------------------


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    """Redis database 5, this module's: the keys the tests made are deleted afterwards."""
    connection = redis.Redis.from_url(REDIS_URI)
    before = set(connection.keys("*"))
    yield connection
    created = set(connection.keys("*")) - before
    if created:
        connection.delete(*created)
    connection.close()


SIGN_IN_ELSEWHERE = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, "tests")
    from conftest import make_test_app
    app = make_test_app(os.environ["OPS_DB"], RATELIMIT_ENABLED=True,
                        RATELIMIT_STORAGE_URI=os.environ["OPS_REDIS"],
                        RATELIMIT_KEY_PREFIX=os.environ["OPS_PREFIX"])
    client = app.test_client()
    codes = [client.post("/sign-in", data={"email": "x@example.org", "password": "no"}).status_code
             for _ in range(10)]
    print(codes)
    """
)


def test_rate_limits_in_redis_are_shared_between_processes(
    app: Flask, redis_db: redis.Redis, built: list[Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limiter is one object per process and keeps the first app's key prefix; this
    # test's keys get a prefix of their own (see REDIS_PREFIX).
    monkeypatch.setattr(limiter, "_key_prefix", REDIS_PREFIX)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    env = {**os.environ, "OPS_DB": url, "OPS_REDIS": REDIS_URI, "OPS_PREFIX": REDIS_PREFIX}
    # Another process, another app instance, spends the limit...
    elsewhere = subprocess.run(
        [sys.executable, "-c", SIGN_IN_ELSEWHERE],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert elsewhere.stdout.strip() == str([200] * 10)
    assert any(b"sign_in" in key for key in redis_db.keys(f"*{REDIS_PREFIX}*"))
    # ...and this one sees it spent.
    here = app_on(url, built, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URI)
    assert sign_in_attempts(here.test_client(), 1) == [429]
    # Counted in memory instead, the other process's attempts would not count here.
    alone = app_on(url, built, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    assert sign_in_attempts(alone.test_client(), 1) == [200]


def test_with_redis_down_the_site_answers_and_limits_still_hold(
    app: Flask, built: list[Flask]
) -> None:
    down = app_on(
        app.config["SQLALCHEMY_DATABASE_URI"], built,
        RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{CLOSED_PORT}/0",
    )
    client = down.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/healthz").status_code == 200
    # Each process counts in its own memory meanwhile: no 500, and no unlimited guessing.
    assert sign_in_attempts(client, 11) == [200] * 10 + [429]


# --- database pool ----------------------------------------------------------------------------


def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [*config._PLAIN, *config._INTEGER, *config._BOOLEAN, *config._POOL]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "pool-test-key")
    monkeypatch.setenv("NKHR_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
    monkeypatch.setenv("NKHR_INSTANCE_PATH", str(tmp_path / "instance"))


def test_postgres_pool_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, built: list[Flask]
) -> None:
    clean_environment(monkeypatch, tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"postgres://nkhr@127.0.0.1:{CLOSED_PORT}/nkhr")
    monkeypatch.setenv("NKHR_DB_POOL_SIZE", "3")
    monkeypatch.setenv("NKHR_DB_MAX_OVERFLOW", "2")
    monkeypatch.setenv("NKHR_DB_POOL_RECYCLE", "600")
    app = create_app()
    built.append(app)
    with app.app_context():
        engine = db.engine
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.pool.size() == 3
        assert engine.pool._max_overflow == 2  # type: ignore[attr-defined]
        assert engine.pool._recycle == 600  # type: ignore[attr-defined]
        assert engine.pool._timeout == 30  # type: ignore[attr-defined]
        assert engine.pool._pre_ping is True  # type: ignore[attr-defined]
        assert engine.hide_parameters is True


def test_sqlite_keeps_its_own_pool_and_hides_parameters_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, built: list[Flask]
) -> None:
    clean_environment(monkeypatch, tmp_path)
    monkeypatch.setenv("NKHR_DB_POOL_SIZE", "3")
    default = create_app()
    built.append(default)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'named.sqlite3'}")
    named = create_app()
    built.append(named)
    for app in (default, named):
        # No ping before each use: a file has no server to drop the connection.
        assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"hide_parameters": True}
        with app.app_context():
            assert db.engine.hide_parameters is True


# --- gunicorn, the launcher, the outbox worker ------------------------------------------------


def test_gunicorn_serves_with_our_config_logs_json_and_stops_on_sigterm(
    migrated_database: Path, tmp_path: Path
) -> None:
    assert port_is_free(GUNICORN_PORT)
    env = server_environment(
        tmp_path, DATABASE_URL=f"sqlite:///{migrated_database}", PORT=str(GUNICORN_PORT),
        WEB_CONCURRENCY="2",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for_health(GUNICORN_PORT, server)
        status, headers, body = get(f"http://127.0.0.1:{GUNICORN_PORT}/readyz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        missing = get(f"http://127.0.0.1:{GUNICORN_PORT}/registration/{TOKEN}/probe?x={TOKEN}")
        assert missing[0] == 404
    finally:
        seconds, out, err = stop(server)
    assert server.returncode == 0, err
    assert seconds < 15
    assert TOKEN not in out + err
    access = [e for e in log_lines(out) if e["logger"] == "gunicorn.access"]
    ready = next(e for e in access if e["path"] == "/readyz")
    assert ready["request_id"] == headers["X-Request-ID"]
    assert (ready["method"], ready["status"]) == ("GET", 200)
    assert isinstance(ready["duration_ms"], float)
    assert any(e["path"] == "/registration/[redacted]/probe" and e["status"] == 404
               for e in access)
    errors = log_lines(err)
    assert any(e["message"] == "Handling signal: term" for e in errors)
    assert port_is_free(GUNICORN_PORT)


def test_the_launcher_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = server_environment(tmp_path, SECRET_KEY="")
    result = subprocess.run(
        [sys.executable, "-m", "nkhr_events.serve"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "serve: cannot start: SECRET_KEY is not set" in result.stderr


def test_the_launcher_refuses_to_start_without_encryption_keys(tmp_path: Path) -> None:
    env = server_environment(tmp_path, NKHR_ENCRYPTION_KEYS="")
    result = subprocess.run(
        [sys.executable, "-m", "nkhr_events.serve"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "serve: cannot start: NKHR_ENCRYPTION_KEYS is not set" in result.stderr
    assert "python -m nkhr_events.encryption" in result.stderr


def test_the_launcher_runs_gunicorn_and_a_worker_and_stops_both_on_sigterm(
    migrated_database: Path, tmp_path: Path
) -> None:
    assert port_is_free(LAUNCHER_PORT)
    database = tmp_path / "launcher.sqlite3"
    shutil.copy(migrated_database, database)
    env = server_environment(
        tmp_path, DATABASE_URL=f"sqlite:///{database}", PORT=str(LAUNCHER_PORT),
        WEB_CONCURRENCY="1", OUTBOX_WORKERS="1", OUTBOX_POLL_SECONDS="30",
    )
    output = tmp_path / "launcher.out"
    with output.open("w") as stdout:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "nkhr_events.serve"],
            cwd=PROJECT_ROOT, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True,
        )
    try:
        wait_for_health(LAUNCHER_PORT, launcher)
        # gunicorn can answer before the worker is up on a busy machine: wait for both.
        deadline = time.monotonic() + 90
        while "Outbox worker started" not in output.read_text():
            assert time.monotonic() < deadline, "the outbox worker did not start"
            assert launcher.poll() is None, launcher.communicate()
            time.sleep(0.2)
    finally:
        seconds, _, err = stop(launcher)
    out = output.read_text()
    assert launcher.returncode == 0, err
    assert seconds < 20
    # The worker was idle in a 30-second wait and still stopped at once, after saying so.
    assert "Outbox worker stopped: 0 sent, 0 to retry later, 0 failed." in out
    assert any(e["message"] == "Handling signal: term" for e in log_lines(err))
    assert port_is_free(LAUNCHER_PORT)


def test_the_outbox_worker_finishes_and_releases_its_rows_on_sigterm(
    app: Flask, smtp_server: Any, tmp_path: Path
) -> None:
    with app.app_context():
        for n in range(3):
            enqueue_email(f"person{n}@example.org", "inquiry_ack", "en", {"reference": f"Q-{n}"})
        db.session.commit()
    env = server_environment(
        tmp_path, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_server.port),
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "work", "--poll", "60"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        smtp_server.wait_for(3, timeout=60)
        time.sleep(0.5)  # now waiting out its 60-second poll
    finally:
        seconds, out, err = stop(worker)
    assert worker.returncode == 0, err
    assert seconds < 5
    assert "Outbox worker stopped: 3 sent, 0 to retry later, 0 failed." in out
    with app.app_context():
        rows = db.session.scalars(db.select(OutboxMessage)).all()
        assert [(r.status, r.locked_until) for r in rows] == [(OutboxStatus.SENT, None)] * 3
