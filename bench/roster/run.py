"""Roster latency and export memory: the staff pages of one event with 10,000 registrations.

Seeds one published three-day event with N registrations (bulk inserts, not the registration
service: seeding is not what is measured) across all nine categories and all five statuses —
English and Korean names, organizations, countries, days attended, check-ins — signs a staff
user in through the real sign-in form (CSRF token and all) with Flask's test client, then times
each request kind R times with `time.perf_counter`, reading every byte of each response:

    roster page 1, the roster filtered (status, category and a search), the roster's last page,
    a person's page, the CSV and XLSX exports of every row (default columns), the dashboard
    (its figures and the data table of each chart), and each chart's SVG image.

It reports p50 / p95 in milliseconds, the rows each export wrote, the SQL statements one request
of each kind runs (counted with a `before_cursor_execute` listener), the Python heap peak of each
export (tracemalloc, in a pass of its own so that tracing does not slow the timed runs), and the
process's maximum resident set size after seeding and at the end.

    .venv/bin/python bench/roster/run.py                            # SQLite file, 10,000 rows
    .venv/bin/python bench/roster/run.py --registrations 2500 --repetitions 10
    .venv/bin/python bench/roster/run.py --database-url postgresql://postgres@127.0.0.1/db

Give an empty, throwaway PostgreSQL database: the benchmark creates its tables and drops them.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import re
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import event as sa_event
from sqlalchemy import insert

from nkhr_events import create_app
from nkhr_events.accounts.models import StaffRole, TeamMember
from nkhr_events.accounts.services import create_staff
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.config import database_url
from nkhr_events.encryption import new_key
from nkhr_events.events.models import Event, EventDay, EventStatus, Series
from nkhr_events.extensions import db
from nkhr_events.names import full_name, name_search_key, name_sort_key
from nkhr_events.registrations.categories import QUESTIONS, Category
from nkhr_events.registrations.models import (
    EventCategory,
    Registration,
    RegistrationDay,
)
from nkhr_events.roster.charts import EVENT_FIGURES
from nkhr_events.roster.services import PAGE_SIZE

STAFF_EMAIL = "organizer@bench.example"
STAFF_PASSWORD = "correct horse battery staple"
STAFF_TOTP_SECRET = pyotp.random_base32()
DAYS = [date(2030, 9, 14), date(2030, 9, 15), date(2030, 9, 16)]
#: How often each status occurs (roughly what a popular conference sees).
STATUSES = {"confirmed": 70, "pending": 10, "waitlisted": 8, "cancelled": 7, "rejected": 5}
GIVEN = ["Ada", "James", "Sophie", "Daniel", "Maria", "Thomas", "Yuki", "Anna", "David", "Laura",
         "민수", "지영", "서연", "현우", "은지", "성호", "Min-ji", "Joon-ho", "Hye-jin", "Sung-min"]
FAMILY = ["Smith", "Müller", "Dubois", "Tanaka", "Johnson", "Rossi", "Novak", "García", "Brown",
          "김", "이", "박", "최", "정", "강", "조", "윤", "Kim", "Lee", "Park"]
ORGANIZATIONS = ["Seoul National University", "Human Rights Watch", "Amnesty International",
                 "통일연구원", "북한인권정보센터", "Korea Herald", "Yonhap News", "OHCHR Seoul",
                 "Ministry of Unification", "Freedom House", "Citizens' Alliance", "고려대학교",
                 "Independent", "", "Transitional Justice Working Group", "BBC Korean"]
CHART_KINDS = list(EVENT_FIGURES)
COUNTRIES = ["KR"] * 8 + ["US", "US", "GB", "JP", "DE", "FR", "CA", "AU", "CH", "NL", "SE", "TH"]


def percentile(samples: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (what `numpy.percentile` does)."""
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * fraction
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def answers_for(category: Category, n: int) -> dict[str, str]:
    return {q.key: f"{q.key.replace('_', ' ')} {n % 37}" for q in QUESTIONS[category]
            if q.required or n % 2}


def seed(count: int, rng: random.Random) -> tuple[int, int]:
    """One published event with `count` registrations; returns (event id, a person's id)."""
    staff = create_staff(STAFF_EMAIL, "Bench Organizer", STAFF_PASSWORD, StaffRole.STAFF)
    db.session.flush()
    # An organizer of every event (event teams give nothing to a staff account without one).
    db.session.add(TeamMember(user_id=staff.id, event_id=None, role="organizer"))
    # An organizer reads needs and exports: such a role signs in with a second factor.
    staff.totp_secret = STAFF_TOTP_SECRET
    staff.two_factor_enrolled_at = datetime.now(UTC)
    series = Series(slug="bench", name="Bench series")
    event = Event(
        series=series, title="International Conference on NKHR (bench)", slug="bench-2030",
        city="Seoul", country="KR", start_date=DAYS[0], end_date=DAYS[-1],
        status=EventStatus.PUBLISHED, capacity=count, days=[EventDay(day=d) for d in DAYS],
        interpretation_pairs="en-ko",
    )
    db.session.add(event)
    db.session.flush()
    db.session.add_all(EventCategory(event_id=event.id, category=c.value) for c in Category)
    db.session.commit()

    categories = list(Category)
    statuses = [s for s, weight in STATUSES.items() for _ in range(weight)]
    opened = datetime(2030, 6, 1, tzinfo=UTC)
    # The few names the bench combines, collated once each rather than once a row.
    sort_keys = {(g, f): name_sort_key(g, f) for g in GIVEN for f in FAMILY}
    rows: list[dict[str, Any]] = []
    for n in range(count):
        category = categories[n % len(categories)]
        status = statuses[rng.randrange(len(statuses))]
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        created = opened + timedelta(seconds=n * 450 + rng.randrange(400))
        rows.append({
            "event_id": event.id,
            "category": category.value,
            "status": status,
            "given_name": given,
            "family_name": family,
            "badge_name": full_name(given, family),  # as register_attendee sets it
            # A bulk insert skips the ORM listener that keeps the search and sort keys.
            "name_search": name_search_key(given, family),
            "name_sort": sort_keys[given, family],
            "email": f"person{n}@example.org",
            "email_key": f"person{n}@example.org",
            "organization": rng.choice(ORGANIZATIONS),
            "position": rng.choice(["Researcher", "Reporter", "Director", "Student", ""]),
            "country": rng.choice(COUNTRIES),
            "language": "ko" if rng.random() < 0.4 else "en",
            "answers": answers_for(category, n),
            "interpretation": rng.choice(["none", "none", "en_to_ko", "ko_to_en"]),
            "accessibility_needs": "Step-free access" if n % 50 == 0 else "",
            "dietary_needs": "Vegetarian" if n % 12 == 0 else "",
            "privacy_consent_at": created,
            "publish_name": rng.random() < 0.5,
            "photo_consent": rng.random() < 0.6,
            "created_at": created,
            "updated_at": created,
            "status_changed_at": created,
            "waitlisted_at": created if status == "waitlisted" else None,
        })
    for start in range(0, count, 2000):
        db.session.execute(insert(Registration), rows[start:start + 2000])
    db.session.commit()

    registered = db.session.execute(
        db.select(Registration.id, Registration.status)
        .where(Registration.event_id == event.id)
        .order_by(Registration.id)
    ).all()
    days: list[dict[str, Any]] = []
    checkins: list[dict[str, Any]] = []
    for registration_id, status in registered:
        attends = [d for d in DAYS if rng.random() < 0.7] or [DAYS[0]]
        days.extend({"registration_id": registration_id, "day": d} for d in attends)
        if status == "confirmed":
            for d in attends[:2]:
                if rng.random() < 0.5:
                    checkins.append({
                        "registration_id": registration_id,
                        "day": d,
                        # 08:00 to 16:00 in Seoul, most of them in the first hours.
                        "checked_in_at": datetime.combine(d, datetime.min.time(), UTC)
                        - timedelta(hours=1) + timedelta(minutes=int(rng.expovariate(1 / 90))
                                                         % 480),
                    })
    for start in range(0, len(days), 5000):
        db.session.execute(insert(RegistrationDay), days[start:start + 5000])
    if checkins:
        db.session.execute(insert(RegistrationCheckin), checkins)
    db.session.commit()
    confirmed = [rid for rid, status in registered if status == "confirmed"]
    return event.id, confirmed[len(confirmed) // 2]


def sign_in(client: FlaskClient) -> None:
    """Through the real form: read the CSRF token off the page, post the credentials."""
    page = client.get("/sign-in").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', page
    )
    if match is None:
        raise SystemExit("no CSRF token on the sign-in page")
    response = client.post(
        "/sign-in",
        data={"csrf_token": match.group(1), "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
    )
    if response.status_code != 303:
        raise SystemExit(f"sign-in refused: {response.status_code}")
    if response.headers.get("Location", "").endswith("/sign-in/code"):
        page = client.get("/sign-in/code").get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if match is None:
            raise SystemExit("no CSRF token on the code page")
        code = pyotp.TOTP(STAFF_TOTP_SECRET).now()
        response = client.post("/sign-in/code", data={"csrf_token": match.group(1),
                                                      "code": code})
        if response.status_code != 303:
            raise SystemExit(f"one-time code refused: {response.status_code}")


@dataclass
class Fetched:
    status: int
    size: int
    body: bytes | None


def fetch(client: FlaskClient, url: str, keep: bool = False) -> Fetched:
    """GET `url` and read the whole body, piece by piece as a server would send it (the pieces
    are not kept unless asked, so that they do not count towards the export's memory)."""
    response = client.get(url, buffered=False)
    kept = io.BytesIO() if keep else None
    size = 0
    try:
        for piece in response.iter_encoded():
            size += len(piece)
            if kept is not None:
                kept.write(piece)
    finally:
        response.close()
    return Fetched(response.status_code, size, kept.getvalue() if kept is not None else None)


@contextmanager
def counting_statements(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)


def exported_rows(kind: str, body: bytes) -> int:
    if kind == "csv":
        return body.decode("utf-8-sig").count("\r\n") - 1
    workbook = load_workbook(io.BytesIO(body), read_only=True)
    total = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True)) - 1
    workbook.close()
    return total


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrations", type=int, default=10_000)
    parser.add_argument("--repetitions", type=int, default=30)
    parser.add_argument("--database-url", default="", help="default: a new SQLite file (WAL)")
    args = parser.parse_args()
    rng = random.Random(5)

    with tempfile.TemporaryDirectory(prefix="nkhr-bench-") as folder:
        url = database_url(args.database_url) if args.database_url else (
            f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        )
        os.environ["NKHR_INSTANCE_PATH"] = folder
        app = create_app({"SECRET_KEY": "bench", "NKHR_ENCRYPTION_KEYS": new_key(),
                          "SQLALCHEMY_DATABASE_URI": url})
        database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        try:
            with app.app_context():
                db.drop_all()
                db.create_all()
                started = time.perf_counter()
                event_id, person_id = seed(args.registrations, rng)
                seeded_in = time.perf_counter() - started
                total = db.session.scalar(
                    db.select(db.func.count(Registration.id))
                    .where(Registration.event_id == event_id)
                ) or 0
                checked_in = db.session.scalar(db.select(db.func.count(RegistrationCheckin.id)))
                db.session.remove()
            rss_after_seed = max_rss_mib()
            print(f"{database}: seeded {total} registrations ({checked_in} check-ins) "
                  f"in {seeded_in:.1f} s")

            client = app.test_client()
            sign_in(client)
            roster = f"/manage/events/{event_id}/registrations"
            last_page = max(1, math.ceil(total / PAGE_SIZE))
            kinds: dict[str, str] = {
                "roster, page 1": roster,
                "roster, filtered": f"{roster}?status=confirmed&category=journalist&q=kim",
                f"roster, last page ({last_page})": f"{roster}?page={last_page}",
                "person page": f"/manage/registrations/{person_id}",
                "CSV export, all rows": f"{roster}/export?format=csv",
                "XLSX export, all rows": f"{roster}/export?format=xlsx",
                "dashboard": f"/manage/events/{event_id}",
                **{
                    f"chart: {kind}": f"/manage/events/{event_id}/chart.svg?kind={kind}"
                    for kind in CHART_KINDS
                },
            }

            # One request of each kind, untimed: it warms the caches and counts statements.
            queries: dict[str, int] = {}
            rows: dict[str, int] = {}
            for name, path in kinds.items():
                with counting_statements(app) as statements:
                    fetched = fetch(client, path, keep="export" in name)
                if fetched.status != 200:
                    raise SystemExit(f"{name}: HTTP {fetched.status}")
                queries[name] = len(statements)
                if fetched.body is not None:
                    rows[name] = exported_rows(path.rsplit("=", 1)[-1], fetched.body)

            timings: dict[str, list[float]] = {name: [] for name in kinds}
            for _ in range(args.repetitions):
                for name, path in kinds.items():
                    started = time.perf_counter()
                    fetch(client, path)
                    timings[name].append((time.perf_counter() - started) * 1000)

            # The heap peak of each export, traced on its own, for all rows and for about a
            # ninth of them (one category): a flat export has about the same peak for both.
            peaks: dict[str, tuple[int, int]] = {}
            for kind in ("csv", "xlsx"):
                for scope, extra in (("all", ""), ("journalist", "&category=journalist")):
                    path = f"{roster}/export?format={kind}{extra}"
                    fetch(client, path)  # warm (imports, compiled statements) before tracing
                    tracemalloc.start()
                    fetched = fetch(client, path)
                    peak = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
                    peaks[f"{kind.upper()} {scope}"] = (peak, fetched.size)

            print(f"{args.repetitions} repetitions each, milliseconds:")
            print(f"  {'request':<28} {'p50':>8} {'p95':>8} {'max':>8} {'SQL':>5}")
            for name, samples in timings.items():
                print(f"  {name:<28} {statistics.median(samples):8.1f} "
                      f"{percentile(samples, 0.95):8.1f} {max(samples):8.1f} {queries[name]:5d}")
            for name, count in rows.items():
                print(f"  {name}: {count} rows")
            print("Python heap peak while exporting (tracemalloc):")
            for name, (peak, size) in peaks.items():
                print(f"  {name:<16} {peak / 2**20:7.1f} MiB peak, {size / 2**20:6.2f} MiB sent")
            print(f"max RSS: {rss_after_seed:.0f} MiB after seeding, {max_rss_mib():.0f} MiB "
                  f"at the end")
        finally:
            with app.app_context():
                db.session.remove()
                db.drop_all()
                db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
