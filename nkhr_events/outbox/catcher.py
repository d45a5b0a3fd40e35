"""A local SMTP server that accepts every message and keeps it: the development mail catcher.

`make run` starts one on MAIL_SERVER:MAIL_PORT (127.0.0.1:8025 by default) beside the
development server, so the outbox worker delivers over real SMTP and nothing leaves the
machine. Each message is kept in memory (the latest `keep`) and, if a folder is given, written
there as an .eml file that any mail program opens. The benchmark uses it as its sink, and the
tests' SMTP server (tests/smtp.py) is one with a `reply` that can refuse.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class CaughtMessage:
    """One message as the server got it: envelope and raw bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


#: What the server answers at a stage ("RCPT" with the address, or "DATA" without): an SMTP
#: reply such as "550 5.1.1 No such user" refuses, None accepts.
ReplyPolicy = Callable[[str, str | None], str | None]


def accept_everything(stage: str, address: str | None) -> str | None:
    return None


class _Handler:
    def __init__(self, catcher: MailCatcher) -> None:
        self.catcher = catcher

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self.catcher.reply("RCPT", address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        refusal = self.catcher.reply("DATA", None)
        if refusal:
            return refusal
        self.catcher.keep_message(
            CaughtMessage(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
        )
        return "250 Message accepted"


class MailCatcher:
    """An aiosmtpd server in a background thread; `start()`, `stop()`, `messages`.

    It keeps the latest `keep` messages (every one with `keep=None`) and answers as `reply`
    says; it can be stopped and started again on the same port.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8025,
        directory: Path | None = None,
        keep: int | None = 500,
        reply: ReplyPolicy = accept_everything,
    ) -> None:
        self.host = host
        self.port = port
        self.directory = directory
        self.reply = reply
        self.messages: deque[CaughtMessage] = deque(maxlen=keep)
        self.count = 0
        self._numbers = itertools.count(1)
        # Messages arrive on the server's thread and are read on others.
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def keep_message(self, message: CaughtMessage) -> None:
        with self._lock:
            self.messages.append(message)
            self.count += 1
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            name = f"{stamp}-{next(self._numbers):05d}.eml"
            (self.directory / name).write_bytes(message.data)

    def caught(self) -> list[CaughtMessage]:
        """The messages kept so far, oldest first."""
        with self._lock:
            return list(self.messages)

    def start(self) -> MailCatcher:
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


def main() -> None:
    """`python -m nkhr_events.outbox.catcher`: a catcher on its own, until Ctrl+C or SIGTERM."""
    import argparse
    import signal
    import threading

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--directory", type=Path, default=None, help="keep .eml files here")
    args = parser.parse_args()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    catcher = MailCatcher(args.host, args.port, directory=args.directory, keep=10).start()
    print(f"catching mail on {args.host}:{args.port}", flush=True)
    stop.wait()
    catcher.stop()
    print(f"caught {catcher.count} messages", flush=True)


if __name__ == "__main__":
    main()
