"""Servers that misbehave below SMTP: one that never answers (a timeout) and one that hangs up
at once (a reset). Both are temporary failures: the message waits for its next attempt."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage, OutboxStatus
from nkhr_events.outbox.services import enqueue_email


class RawServer:
    """A TCP listener on 127.0.0.1 that never greets (`silent`) or hangs up at once (`hang-up`)."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.port = self.socket.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _address = self.socket.accept()
            except OSError:
                return
            if self.behaviour == "hang-up":
                connection.close()
            else:
                self.held.append(connection)

    def close(self) -> None:
        for connection in self.held:
            connection.close()
        self.socket.close()


@pytest.fixture(params=["silent", "hang-up"])
def raw_server(request) -> Iterator[RawServer]:
    server = RawServer(request.param)
    yield server
    server.close()


@pytest.fixture
def app_settings(raw_server):
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": raw_server.port,
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_TIMEOUT": 0.5,
    }


def test_a_server_that_times_out_or_hangs_up_means_retry_later(app, raw_server):
    expected = {"silent": "timed out", "hang-up": "Connection unexpectedly closed"}
    with app.app_context():
        enqueue_email("person@example.org", "inquiry_ack", "en", {"reference": "Q-1"})
        db.session.commit()
        report = deliver_due()
        row = db.session.scalars(db.select(OutboxMessage)).one()
    assert (report.retrying, report.failed) == (1, 0)
    assert row.status == OutboxStatus.QUEUED and row.attempts == 1
    assert expected[raw_server.behaviour] in row.last_error
