"""Certificates of attendance made by one outbox worker: time per document and peak memory.

An event that ended yesterday with N attendees, each checked in on one to three days, in
English, Korean and Japanese in turn (Latin, Hangul and Kanji names). Staff press "email all
certificates"; one worker then does what it does in production: the periodic task issues every
certificate and queues one email each (`send_certificate_mailings`), and delivery makes each
PDF as it sends its email (`deliver_due`, the late attachment) to the aiosmtpd mail catcher,
which runs in a process of its own on 127.0.0.1 and reports what it caught (the registration
emails, sent before the clock starts, and the certificates).

Reported: seconds per certificate for the issuing step and for the delivery step (PDF made and
sent), the PDFs' sizes, the worker's peak memory (`ru_maxrss`, the whole process) and the peak
of Python allocations during delivery (`tracemalloc`, traced in a second, shorter run since
tracing slows Python down).

    PYTHONPATH=. .venv/bin/python bench/documents/run.py              # SQLite file, 500
    PYTHONPATH=. .venv/bin/python bench/documents/run.py --attendees 100 --database-url ...

Give an empty, throwaway PostgreSQL database: the benchmark creates its tables and drops them.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from nkhr_events import create_app
from nkhr_events.audit.services import SYSTEM
from nkhr_events.checkin.services import check_in
from nkhr_events.config import database_url
from nkhr_events.documents import certificates
from nkhr_events.documents.models import CertificateMailing, IssuedDocument
from nkhr_events.encryption import new_key
from nkhr_events.events.models import Event, EventDay, EventStatus, Series
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxAttachment
from nkhr_events.outbox.services import attachment_data
from nkhr_events.registrations import services as registrations

SEOUL = ZoneInfo("Asia/Seoul")
NAMES = {
    "en": ("Ada", "Lovelace"),
    "ko": ("민지", "김"),
    "ja": ("花子", "山田"),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, datetime.min.time().replace(hour=hour), SEOUL)


def make_event(attendees: int) -> Event:
    """An event that ended yesterday (Seoul time), with `attendees` checked-in people."""
    last = datetime.now(SEOUL).date() - timedelta(days=1)
    days = [last - timedelta(days=2), last - timedelta(days=1), last]
    series = Series(slug="bench", name="Bench series")
    event = Event(
        series=series, title="International Conference on North Korean Human Rights",
        title_ko="북한인권 국제회의", title_ja="北朝鮮人権国際会議", slug="bench-conference",
        venue="Press Center", venue_ko="프레스센터", venue_ja="プレスセンター", city="Seoul",
        city_ko="서울", city_ja="ソウル", country="KR", start_date=days[0], end_date=days[-1],
        capacity=None, status=EventStatus.PUBLISHED,
        registration_opens_at=at(days[0] - timedelta(days=60)),
        registration_closes_at=at(days[0] - timedelta(days=1)),
        days=[EventDay(day=d) for d in days],
    )
    db.session.add(event)
    db.session.flush()
    for n in range(attendees):
        language = ("en", "ko", "ja")[n % 3]
        given, family = NAMES[language]
        result = registrations.register_attendee(
            event.id,
            registrations.RegistrationInput(
                category="general_public", given_name=f"{given}{n}", family_name=family,
                email=f"attendee{n}@example.org", language=language, privacy_consent=True,
            ),
            at(days[0] - timedelta(days=10)),
            actor=SYSTEM,
        )
        registration = result.registration
        for day in days[: 1 + n % 3]:
            check_in(registration, day, actor=SYSTEM, at=at(day), now=at(day))
        if n % 100 == 99:
            db.session.commit()
    db.session.commit()
    return event


def megabytes(kilobytes: int) -> float:
    return kilobytes / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attendees", type=int, default=500)
    parser.add_argument("--traced", type=int, default=60,
                        help="PDFs made again under tracemalloc for the allocation peak")
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
            "NKHR_BASE_URL": "https://conference.example.org",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": port,
            "MAIL_SUPPRESS_SEND": False,
        })
        try:
            with app.app_context():
                db.drop_all()
                db.create_all()
                event = make_event(args.attendees)
                deliver_due()  # the registration emails, before the clock starts
                certificates.request_mailing(event, actor=SYSTEM)
                db.session.commit()
                rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

                started = time.perf_counter()
                certificates.send_certificate_mailings()
                db.session.commit()
                issued_in = time.perf_counter() - started

                started = time.perf_counter()
                report = deliver_due()
                delivered_in = time.perf_counter() - started
                rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

                mailing = db.session.scalars(db.select(CertificateMailing)).one()
                documents = db.session.scalar(
                    db.select(db.func.count()).select_from(IssuedDocument)) or 0

                # The allocation peak of making PDFs, and their sizes, in a traced run.
                late = list(db.session.scalars(
                    db.select(OutboxAttachment)
                    .where(OutboxAttachment.content_type == "application/pdf")
                    .limit(args.traced)))
                tracemalloc.start()
                sizes = [len(attachment_data(attachment)) for attachment in late]
                _current, traced_peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()

            catcher.terminate()
            caught = catcher.communicate(timeout=30)[0].strip().splitlines()[-1]
            if (report.sent != args.attendees or mailing.queued != args.attendees
                    or documents != args.attendees
                    or caught != f"caught {2 * args.attendees} messages"):
                print(f"expected {args.attendees}: sent {report.sent}, queued "
                      f"{mailing.queued}, documents {documents}, {caught}")
                return 1
            database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            print(
                f"{database}, one worker, {args.attendees} certificates (en/ko/ja in turn):\n"
                f"  issued and queued in {issued_in:.2f} s "
                f"({1000 * issued_in / args.attendees:.1f} ms a certificate)\n"
                f"  PDFs made and sent in {delivered_in:.2f} s "
                f"({1000 * delivered_in / args.attendees:.0f} ms a certificate)\n"
                f"  PDF size: median {statistics.median(sizes) / 1024:.1f} KB, "
                f"largest {max(sizes) / 1024:.1f} KB\n"
                f"  worker peak RSS: {megabytes(rss_before):.0f} MB before the job, "
                f"{megabytes(rss_after):.0f} MB after it\n"
                f"  Python allocations while making {len(sizes)} PDFs: peak "
                f"{traced_peak / 1024 / 1024:.1f} MB (tracemalloc)"
            )
        finally:
            with app.app_context():
                db.session.remove()
                db.drop_all()
                db.engine.dispose()
            if catcher.poll() is None:
                catcher.terminate()
                catcher.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
