"""Delivery workers: racing workers send every message exactly once, and the worker command
stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter

import pytest
from conftest import ON_POSTGRES
from smtp import smtp_settings
from sqlalchemy import text

from nkhr_events import PROJECT_ROOT
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import DeliveryReport, claim_due, deliver_due
from nkhr_events.outbox.models import OutboxMessage, OutboxStatus
from nkhr_events.outbox.services import enqueue_email


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


def queue(count: int) -> list[str]:
    """`count` messages, committed; their Message-IDs."""
    ids = [
        enqueue_email(f"person{n}@example.org", "inquiry_ack", "en", {"reference": f"Q-{n}"})
        for n in range(count)
    ]
    db.session.commit()
    return [m.message_id for m in ids]


def test_two_workers_racing_deliver_every_message_exactly_once(app, smtp_server):
    with app.app_context():
        expected = queue(80)
    start = threading.Barrier(2)
    reports: dict[str, DeliveryReport] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            # Each thread has its own app context, so its own session and connection.
            with app.app_context():
                start.wait(timeout=10)
                reports[name] = deliver_due(batch_size=2)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    sent = Counter(r.message["Message-ID"] for r in smtp_server.received)
    assert sorted(sent) == sorted(expected)
    assert set(sent.values()) == {1}
    assert reports["a"].sent + reports["b"].sent == 80
    assert reports["a"].sent > 0 and reports["b"].sent > 0, reports
    with app.app_context():
        statuses = db.session.scalars(db.select(OutboxMessage.status)).all()
    assert set(statuses) == {OutboxStatus.SENT}


@pytest.mark.skipif(not ON_POSTGRES, reason="SKIP LOCKED is PostgreSQL's")
def test_rows_locked_by_another_worker_are_skipped_not_waited_for(app):
    with app.app_context():
        queue(2)
        first, second = db.session.scalars(
            db.select(OutboxMessage.id).order_by(OutboxMessage.id)
        ).all()
        with db.engine.connect() as other_worker:
            other_worker.execute(
                text("SELECT id FROM outbox_message WHERE id = :id FOR UPDATE"), {"id": first}
            )
            # Without SKIP LOCKED the claim would wait for the lock (and fail on this timeout).
            db.session.execute(text("SET lock_timeout = '2s'"))
            assert claim_due(utcnow(), 10) == [second]
            other_worker.rollback()
        assert claim_due(utcnow(), 10) == [first]
        db.session.execute(text("RESET lock_timeout"))


def worker_environment(app, smtp_server, tmp_path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NKHR_", "MAIL_", "DATABASE_URL", "SECRET_KEY"))
    }
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY="worker-test-key",
        NKHR_ENCRYPTION_KEYS=str(app.config["NKHR_ENCRYPTION_KEYS"]),
        NKHR_ENV="production",
        NKHR_INSTANCE_PATH=str(tmp_path / "instance"),
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_server.port),
    )
    return env


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_worker_command_delivers_then_stops_cleanly_on_a_signal(
    app, smtp_server, tmp_path, stop_signal
):
    with app.app_context():
        queue(3)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "work", "--poll", "0.2"],
        cwd=PROJECT_ROOT,
        env=worker_environment(app, smtp_server, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        smtp_server.wait_for(3, timeout=30)
        worker.send_signal(stop_signal)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err
    assert "Outbox worker stopped: 3 sent, 0 to retry later, 0 failed." in out
    with app.app_context():
        statuses = db.session.scalars(db.select(OutboxMessage.status)).all()
    assert statuses == [OutboxStatus.SENT] * 3
