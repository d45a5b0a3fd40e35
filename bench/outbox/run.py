"""Outbox delivery throughput: messages per second from the outbox to a local SMTP sink.

Queues N messages (each with a text part, an HTML part and, with --ics, a calendar file), then
times the real delivery path — claim a batch, build the messages, send them over one SMTP
connection per batch, commit each outcome — into the aiosmtpd mail catcher, which runs in a
process of its own on 127.0.0.1 (as a real SMTP server would) and reports what it caught.

    .venv/bin/python bench/outbox/run.py                       # SQLite file, 2000 messages
    .venv/bin/python bench/outbox/run.py --workers 2 --ics
    .venv/bin/python bench/outbox/run.py --database-url postgresql://postgres@127.0.0.1/db

Give an empty, throwaway PostgreSQL database: the benchmark creates its tables and drops them.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from nkhr_events import create_app
from nkhr_events.config import database_url
from nkhr_events.encryption import new_key
from nkhr_events.events.calendar import calendar_attachment
from nkhr_events.events.models import Event, EventDay, Series
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import DeliveryReport, deliver_due
from nkhr_events.outbox.services import enqueue_email


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def queue_messages(count: int, with_ics: bool) -> None:
    attachments = []
    if with_ics:
        series = Series(slug="bench", name="Bench series")
        first = date(2030, 3, 1)
        days = [first, first + timedelta(days=1), first + timedelta(days=3)]
        event = Event(
            series=series, title="Bench conference", slug="bench-conference", city="Seoul",
            country="KR", start_date=days[0], end_date=days[-1],
            days=[EventDay(day=d) for d in days],
        )
        db.session.add(event)
        db.session.flush()
        attachments = [calendar_attachment(event, uid="registration-1@bench.example")]
    for n in range(count):
        enqueue_email(
            to=f"person{n}@example.org",
            template="inquiry_ack",
            language="ko" if n % 2 else "en",
            context={"reference": f"Q-{n:05d}"},
            attachments=attachments,
        )
        if n % 500 == 499:
            db.session.commit()
    db.session.commit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="worker threads, own sessions")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--ics", action="store_true", help="attach a calendar file to each")
    parser.add_argument("--database-url", default="", help="default: a new SQLite file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nkhr-bench-") as folder:
        url = database_url(args.database_url) if args.database_url else (
            f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        )
        port = free_port()
        catcher = subprocess.Popen(
            [sys.executable, "-m", "nkhr_events.outbox.catcher", "--port", str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert catcher.stdout is not None
        catcher.stdout.readline()  # "catching mail on ...": it is listening
        os.environ["NKHR_INSTANCE_PATH"] = folder
        app = create_app({
            "SECRET_KEY": "bench",
            "NKHR_ENCRYPTION_KEYS": new_key(),
            "SQLALCHEMY_DATABASE_URI": url,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "MAIL_SUPPRESS_SEND": False,
        })
        try:
            with app.app_context():
                db.drop_all()
                db.create_all()
                started = time.perf_counter()
                queue_messages(args.messages, args.ics)
                queued_in = time.perf_counter() - started

            reports: list[DeliveryReport] = []

            def work() -> None:
                with app.app_context():
                    reports.append(deliver_due(batch_size=args.batch_size))

            threads = [threading.Thread(target=work) for _ in range(args.workers)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            sent = sum(r.sent for r in reports)
            catcher.terminate()
            caught = catcher.communicate(timeout=30)[0].strip().splitlines()[-1]
            if sent != args.messages or caught != f"caught {args.messages} messages":
                print(f"expected {args.messages}, sent {sent}, {caught}")
                return 1
            database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            print(
                f"{database}, {args.workers} worker(s), batches of {args.batch_size}, "
                f"{'with' if args.ics else 'without'} .ics: {args.messages} messages queued in "
                f"{queued_in:.2f} s ({args.messages / queued_in:.0f}/s), delivered in "
                f"{elapsed:.2f} s = {args.messages / elapsed:.0f} messages/s"
            )
        finally:
            with app.app_context():
                db.session.remove()
                db.drop_all()
                db.engine.dispose()
            if catcher.poll() is None:
                catcher.kill()
                catcher.communicate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
