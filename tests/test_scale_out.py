"""Scale-out: two app servers and two delivery workers on one PostgreSQL database.

Two gunicorn processes (separate pools, separate memory, only the database and SECRET_KEY in
common) take a rush of registrations for the last seats through the real no-JavaScript form,
each browser loading the form from one server and posting it to the other. Exactly `capacity`
are confirmed, the rest waitlisted, nobody twice. Then two `flask outbox work` processes
deliver the outbox to a real SMTP server: every message exactly once, every row sent.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import ON_POSTGRES
from flask import Flask
from markup import parse
from smtp import SMTPServer

from nkhr_events import PROJECT_ROOT
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage, OutboxStatus
from nkhr_events.registrations.models import Registration
from tests.factories import make_event

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES,
    reason="needs PostgreSQL (TEST_DATABASE_URL): several processes share one database, "
    "which a per-test SQLite file is not meant for",
)

CAPACITY = 5
RACERS = 30
#: Racers who also post the same address to the other server at the same moment.
DOUBLE_SUBMITTERS = 5
PORTS = range(8400, 8500)
SECRET_KEY = "scale-out-test-key"


def free_port(taken: set[int]) -> int:
    for port in PORTS:
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError("no free port in 8400-8499")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self, tail: int = 4000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (exit {self.popen.poll()}) ---\n{text[-tail:]}"

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (the graceful stop), then SIGKILL if it does not end in time."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        return self.popen.returncode


class Launcher:
    """Starts processes with the app's environment; the fixture stops every one of them."""

    def __init__(self, app: Flask, smtp: SMTPServer, folder: Path) -> None:
        self.folder = folder
        self.processes: list[Process] = []
        self.ports: set[int] = set()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("NKHR_", "MAIL_", "DATABASE_URL", "SECRET_KEY", "OUTBOX_",
                                    "RATELIMIT_", "GUNICORN_", "WEB_CONCURRENCY"))}
        env.update(
            DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
            SECRET_KEY=SECRET_KEY,
            NKHR_ENV="production",
            NKHR_INSTANCE_PATH=str(folder / "instance"),
            NKHR_LOG_FORMAT="text",
            RATELIMIT_ENABLED="false",
            MAIL_SERVER=smtp.host,
            MAIL_PORT=str(smtp.port),
            NKHR_MAIL_CATCHER="false",
            OUTBOX_BATCH_SIZE="3",
        )
        if app.config.get("NKHR_ENCRYPTION_KEYS"):
            env["NKHR_ENCRYPTION_KEYS"] = str(app.config["NKHR_ENCRYPTION_KEYS"])
        self.env = env

    def start(self, name: str, command: list[str], **env: str) -> Process:
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env={**self.env, **env},
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def web(self, name: str) -> str:
        """A gunicorn server (the project's gunicorn.conf.py, one worker); its base URL."""
        port = free_port(self.ports)
        process = self.start(name, [
            sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4",
            "-b", f"127.0.0.1:{port}", "wsgi:app",
        ], NKHR_BASE_URL=f"http://127.0.0.1:{port}")
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(process, base)
        return base

    def outbox_worker(self, name: str) -> Process:
        """A `flask outbox work` process, returned once it is up: a worker stopped while it
        still loads the app has no handler for SIGTERM yet and ends by the signal, not by a
        graceful stop (on a busy machine the other worker may send everything before)."""
        process = self.start(name, [
            sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "work", "--poll", "0.2",
        ], PYTHONUNBUFFERED="1")
        deadline = time.monotonic() + 90
        while "Outbox worker started" not in process.log.read_text(errors="replace"):
            assert process.popen.poll() is None, process.output()
            assert time.monotonic() < deadline, process.output()
            time.sleep(0.1)
        return process

    def logs(self) -> str:
        return "\n".join(process.output() for process in self.processes)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.popen.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait(10)


def wait_until_ready(process: Process, base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            pytest.fail(f"{process.name} exited while starting\n{process.output()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
    pytest.fail(f"{process.name} did not answer on {base} within {timeout} s\n{process.output()}")


@pytest.fixture
def launcher(app: Flask, smtp_server: SMTPServer, tmp_path: Path) -> Iterator[Launcher]:
    """Every process started through it is stopped after the test, whatever happened; their
    output is printed, so that a failure report shows it."""
    started = Launcher(app, smtp_server, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()
        print(started.logs())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A browser without JavaScript: cookies kept, redirects reported rather than followed."""

    def __init__(self) -> None:
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
        )

    def request(self, url: str, data: bytes | None = None) -> tuple[int, str, dict[str, str]]:
        try:
            with self.opener.open(url, data=data, timeout=120) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as answer:
            return answer.code, answer.read().decode(errors="replace"), dict(answer.headers)


@dataclass
class Outcome:
    email: str
    form_status: int = 0
    status: int = 0
    location: str = ""
    error: str = ""


def register_across(
    form_base: str, post_base: str, path: str, email: str, days: list[str],
    barrier: threading.Barrier, outcome: Outcome,
) -> None:
    """Load the form from one server, wait for everyone, post it to the other."""
    try:
        browser = Browser()
        outcome.form_status, page, _ = browser.request(form_base + path)
        form = next(f for f in parse(page).find_all("form", method="post")
                    if "language-switch" not in (f.get("class") or ""))
        token = form.one("input", name="csrf_token").get("value") or ""
        fields = [("csrf_token", token), ("given_name", "Racer"),
                  ("family_name", email.split("@")[0]), ("email", email), ("language", "en"),
                  ("interpretation", "none"), ("privacy_consent", "y"),
                  *(("days", day) for day in days)]
        barrier.wait(timeout=120)
        outcome.status, _, headers = browser.request(
            post_base + path, urlencode(fields).encode()
        )
        outcome.location = headers.get("Location", "")
    except Exception as error:  # noqa: BLE001 - reported by the test
        outcome.error = repr(error)


def test_two_servers_and_two_workers_share_one_database_without_overbooking_or_double_mail(
    app: Flask, launcher: Launcher, smtp_server: SMTPServer
) -> None:
    with app.app_context():
        event = make_event(capacity=CAPACITY)
        db.session.commit()
        event_id, slug, days = event.id, event.slug, [d.isoformat() for d in event.day_list]
        db.session.remove()

    servers = [launcher.web("web-a"), launcher.web("web-b")]
    path = f"/events/{slug}/register?category=general_public"

    # The rush: every browser posts to the server it did not load the form from.
    emails = [f"racer{n}@example.org" for n in range(RACERS)]
    jobs = [(n % 2, email) for n, email in enumerate(emails)]
    jobs += [((n + 1) % 2, emails[n]) for n in range(DOUBLE_SUBMITTERS)]
    barrier = threading.Barrier(len(jobs))
    outcomes = [Outcome(email) for _, email in jobs]
    threads = [
        threading.Thread(target=register_across, args=(
            servers[side], servers[1 - side], path, email, days, barrier, outcome))
        for (side, email), outcome in zip(jobs, outcomes, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    failed = [o for o in outcomes if o.error or o.status != 303 or o.form_status != 200]
    assert not failed, f"{failed}\n{launcher.logs()}"
    assert {o.location.split("?")[0] for o in outcomes} == {f"/events/{slug}/register/sent"}

    with app.app_context():
        rows = db.session.execute(
            db.select(Registration.email, Registration.status).where(
                Registration.event_id == event_id)
        ).all()
        queued = db.session.scalars(db.select(OutboxMessage)).all()
        expected = Counter((m.message_id, m.recipient) for m in queued)
        db.session.remove()
    assert Counter(email for email, _ in rows) == Counter(emails), "someone is missing or twice"
    assert Counter(status for _, status in rows) == {
        "confirmed": CAPACITY, "waitlisted": RACERS - CAPACITY
    }
    # Each racer was told once; a double submitter once more (the existing registration).
    assert Counter(recipient for _, recipient in expected) == Counter(
        emails + emails[:DOUBLE_SUBMITTERS])

    # Two delivery workers, racing over one outbox.
    workers = [launcher.outbox_worker("outbox-a"), launcher.outbox_worker("outbox-b")]
    try:
        smtp_server.wait_for(len(expected), timeout=120)
    except AssertionError as error:
        pytest.fail(f"{error}\n{launcher.logs()}")
    with app.app_context():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            statuses = Counter(db.session.scalars(db.select(OutboxMessage.status)))
            db.session.rollback()
            if statuses == {OutboxStatus.SENT: len(expected)}:
                break
            time.sleep(0.2)
        db.session.remove()
    assert statuses == {OutboxStatus.SENT: len(expected)}, launcher.logs()
    assert [worker.stop() for worker in workers] == [0, 0], launcher.logs()

    time.sleep(0.5)  # nothing more may arrive once every row is sent
    delivered = Counter(
        (r.message["Message-ID"], r.rcpt_tos) for r in smtp_server.received
    )
    assert delivered == Counter({(mid, (to,)): 1 for mid, to in expected}), "not exactly once"
    sent_by = [
        int(m.group(1))
        for worker in workers
        for m in re.finditer(r"Outbox worker stopped: (\d+) sent", worker.log.read_text())
    ]
    assert sum(sent_by) == len(expected), launcher.logs()
