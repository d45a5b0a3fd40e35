"""A real SMTP server for tests: aiosmtpd on a free 127.0.0.1 port, in a background thread.

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
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One message as the server got it: envelope and raw bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.server.reply_for("RCPT", address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = self.server.reply_for("DATA")
        if reply:
            return reply
        self.server.keep(
            Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
        )
        return "250 Message accepted"


class SMTPServer:
    """Collects messages in `received`; `stop()`/`start()` keep the port."""

    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._reply: str | None = None
        self._stage = "DATA"
        self._only: frozenset[str] | None = None
        self._controller: Controller | None = None

    # --- control -------------------------------------------------------------------------
    def start(self) -> SMTPServer:
        if self._controller is None:
            controller = Controller(_Handler(self), hostname=self.host, port=self.port)
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

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
    def keep(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [r.message for r in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until `count` messages arrived (for deliveries from another process)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
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
