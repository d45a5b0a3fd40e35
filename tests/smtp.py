"""A real SMTP server for tests: the development mail catcher (nkhr_events/outbox/catcher.py)
on a free 127.0.0.1 port, in a background thread.

It keeps every message it accepts, can be stopped and started again on the same port (to
play an outage), and can be told to answer with an error (`answer("550 ...")`) at RCPT or at
DATA. Use the `smtp_server` fixture and point the app at it with `smtp_settings(server)`,
e.g. by overriding the `app_settings` fixture in a test module.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest

from nkhr_events.outbox.catcher import CaughtMessage, MailCatcher

#: One message as the server got it: envelope, raw bytes and `.message`, parsed.
Received = CaughtMessage


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SMTPServer:
    """Collects messages in `received`; `stop()`/`start()` keep the port."""

    def __init__(self, port: int | None = None) -> None:
        self._catcher = MailCatcher(
            "127.0.0.1", port or free_port(), keep=None, reply=self.reply_for
        )
        self.host, self.port = self._catcher.host, self._catcher.port
        self._lock = threading.Lock()
        self._reply: str | None = None
        self._stage = "DATA"
        self._only: frozenset[str] | None = None

    # --- control -------------------------------------------------------------------------
    def start(self) -> SMTPServer:
        self._catcher.start()
        return self

    def stop(self) -> None:
        self._catcher.stop()

    @property
    def running(self) -> bool:
        return self._catcher.running

    def answer(
        self, reply: str | None, stage: str = "DATA", only: set[str] | None = None
    ) -> None:
        """Answer with `reply` (e.g. "550 5.1.1 No such user") at RCPT or DATA, for every
        message or (at RCPT) `only` for these recipients; `None` accepts again."""
        assert stage in {"RCPT", "DATA"} and (only is None or stage == "RCPT")
        with self._lock:
            self._reply, self._stage = reply, stage
            self._only = frozenset(only) if only is not None else None

    def reply_for(self, stage: str, address: str | None = None) -> str | None:
        with self._lock:
            if self._stage != stage or (self._only is not None and address not in self._only):
                return None
            return self._reply

    # --- what arrived ----------------------------------------------------------------------
    @property
    def received(self) -> list[Received]:
        return self._catcher.caught()

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until `count` messages arrived (for deliveries from another process)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = self.received
            if len(received) >= count:
                return received
            time.sleep(0.05)
        raise AssertionError(f"{count} messages expected, {len(self.received)} arrived")


def smtp_settings(server: SMTPServer) -> dict[str, object]:
    """App settings that deliver to `server` (Flask-Mail suppresses sending under TESTING)."""
    return {
        "MAIL_SERVER": server.host,
        "MAIL_PORT": server.port,
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_TIMEOUT": 5.0,
    }


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


def deliver_and_read(app: Any, server: SMTPServer, recipient: str | None = None) -> list[str]:
    """Let the outbox worker send what is due (it makes the private links then) and return
    the text parts the server received so far, for `recipient` or for everyone."""
    from nkhr_events.outbox.delivery import deliver_due

    with app.app_context():
        deliver_due()
    return [
        message.get_body(("plain",)).get_content()
        for message in server.messages
        if recipient is None or message["To"] == recipient
    ]
