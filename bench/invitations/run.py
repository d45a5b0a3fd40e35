"""How long a CSV batch of invitations holds the event's seat lock.

Confirming a previewed file checks every row again and creates every invitation (its reserved
seat, its audit entry, its queued email) in one transaction under the event's seat lock, so
registrations of that event wait for it. This times `invite_many` for N rows with a seat held
for each, and counts the statements it runs, after the event already has M registrations and
M invitations (the look-ups must not grow with them).

    .venv/bin/python bench/invitations/run.py                      # SQLite file, 1000 rows
    .venv/bin/python bench/invitations/run.py --rows 200 --existing 5000
    .venv/bin/python bench/invitations/run.py --database-url postgresql://postgres@127.0.0.1/db

Give an empty, throwaway PostgreSQL database: the benchmark creates its tables and drops them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import event as sa_event

from nkhr_events import create_app
from nkhr_events.audit.services import SYSTEM
from nkhr_events.config import database_url
from nkhr_events.dbtypes import utcnow
from nkhr_events.encryption import new_key
from nkhr_events.events.models import Event, EventDay, EventStatus, Series
from nkhr_events.extensions import db
from nkhr_events.invitations import services
from nkhr_events.registrations import services as registrations


def make_event(existing: int) -> Event:
    series = Series(slug="bench", name="Bench series")
    first = date.today() + timedelta(days=90)
    days = [first, first + timedelta(days=1)]
    event = Event(
        series=series, title="Bench conference", slug="bench-conference", city="Seoul",
        country="KR", start_date=days[0], end_date=days[-1], capacity=None,
        status=EventStatus.PUBLISHED, registration_opens_at=utcnow() - timedelta(days=1),
        registration_closes_at=utcnow() + timedelta(days=60),
        days=[EventDay(day=d) for d in days],
    )
    db.session.add(event)
    db.session.flush()
    registrations.save_category_settings(
        event, {"government": {"by_invitation": True}}, actor=SYSTEM
    )
    for n in range(existing):
        registrations.register_attendee(
            event.id,
            registrations.RegistrationInput(
                category="general_public", given_name=f"Given{n}", family_name="Family",
                email=f"registered{n}@example.org", privacy_consent=True,
            ),
            actor=SYSTEM,
        )
    if existing:
        services.invite_many(
            event,
            [(n + 2, services.InvitationInput(f"Invited {n}", f"invited{n}@example.org", "en",
                                              "government")) for n in range(existing)],
            None,
            actor=SYSTEM,
        )
    db.session.commit()
    return event


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--existing", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nkhr-bench-") as folder:
        url = database_url(args.database_url) if args.database_url else (
            f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        )
        os.environ["NKHR_INSTANCE_PATH"] = folder
        app = create_app({
            "SECRET_KEY": "bench",
            "NKHR_ENCRYPTION_KEYS": new_key(),
            "SQLALCHEMY_DATABASE_URI": url,
            "MAIL_SUPPRESS_SEND": True,
        })
        with app.app_context():
            db.drop_all()
            db.create_all()
            event = make_event(args.existing)
            statements = 0

            def count(*_args: object) -> None:
                nonlocal statements
                statements += 1

            timings = []
            for attempt in range(args.repeat):
                rows = [
                    (n + 2, services.InvitationInput(
                        f"Guest {attempt}-{n}", f"guest{attempt}-{n}@example.org",
                        ("en", "ko", "ja")[n % 3], "government", "Ministry"))
                    for n in range(args.rows)
                ]
                statements = 0
                sa_event.listen(db.engine, "before_cursor_execute", count)
                started = time.perf_counter()
                services.invite_many(event, rows, utcnow() + timedelta(days=10), actor=SYSTEM)
                db.session.commit()
                timings.append(time.perf_counter() - started)
                sa_event.remove(db.engine, "before_cursor_execute", count)
            db.drop_all()
        database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(
            f"{database}: {args.rows} rows with a seat each, after {args.existing} registrations "
            f"and {args.existing} invitations: median {statistics.median(timings):.2f} s "
            f"(runs: {', '.join(f'{t:.2f}' for t in timings)}), "
            f"{statements} statements ({statements / args.rows:.1f} a row)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
