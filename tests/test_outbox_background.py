"""`make run`'s delivery: a worker thread beside the server and, in development, a local mail
catcher that keeps every message as an .eml file."""

from __future__ import annotations

import time
from email import message_from_bytes, policy

import pytest
from smtp import free_port

from nkhr_events.extensions import db
from nkhr_events.outbox.background import start_background_delivery
from nkhr_events.outbox.models import OutboxMessage, OutboxStatus
from nkhr_events.outbox.services import enqueue_email


@pytest.fixture
def app_settings(tmp_path):
    return {
        "NKHR_ENV": "development",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": free_port(),
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_CATCHER_DIRECTORY": str(tmp_path / "mail"),
        "OUTBOX_POLL_SECONDS": 0.1,
    }


def test_development_delivery_catches_mail_locally_and_stops_cleanly(app, tmp_path):
    stop = start_background_delivery(app)
    try:
        with app.app_context():
            enqueue_email("person@example.org", "inquiry_ack", "en", {"reference": "Q-00005"})
            db.session.commit()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not list((tmp_path / "mail").glob("*.eml")):
            time.sleep(0.05)
    finally:
        stop()
    [kept] = list((tmp_path / "mail").glob("*.eml"))
    mail = message_from_bytes(kept.read_bytes(), policy=policy.default)
    assert mail["To"] == "person@example.org"
    assert "Q-00005" in mail["Subject"]
    with app.app_context():
        [row] = db.session.scalars(db.select(OutboxMessage)).all()
        assert row.status == OutboxStatus.SENT
