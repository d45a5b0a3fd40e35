"""The public programme page of a large edition: 80 sessions over three days in five rooms and
150 speakers (by name, under a pseudonym, "to be announced", not yet confirmed), two to six
speakers a session, some sessions not public, texts in English and Korean.

Seeds the event through the programme's own service (`create_session`: the rules, clash check
and audit entry each session gets in production; clashes are accepted, as staff may), then
times each page R times with Flask's test client (`time.perf_counter`, every byte read), in
English and in Korean, by day and by room, plus the calendar feed, and counts the SQL
statements one request of each kind runs:

    .venv/bin/python bench/programme/run.py                       # SQLite file
    .venv/bin/python bench/programme/run.py --repetitions 50
    .venv/bin/python bench/programme/run.py --database-url postgresql://postgres@127.0.0.1/db

Give an empty, throwaway PostgreSQL database: the benchmark creates its tables and drops them.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from datetime import time as clock
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event

from nkhr_events import create_app
from nkhr_events.audit.services import SYSTEM
from nkhr_events.config import database_url
from nkhr_events.encryption import new_key
from nkhr_events.events.models import Event, EventDay, EventStatus, Series
from nkhr_events.extensions import db
from nkhr_events.programme import services
from nkhr_events.programme.models import Speaker
from nkhr_events.web import LANGUAGE_COOKIE

DAYS = [date(2030, 9, 14), date(2030, 9, 15), date(2030, 9, 16)]
ROOMS = [("Grand Hall", "대강당"), ("Room A", "A회의실"), ("Room B", "B회의실"),
         ("Room C", "C회의실"), ("Press Room", "기자실")]
KINDS = ["keynote", "panel", "panel", "panel", "roundtable", "side_event", "reception", "break"]
GIVEN = ["Young-ho", "Seo-yeon", "Min-ji", "Joon-ho", "Hye-jin", "Sophie", "David", "Laura",
         "Yuki", "Thomas", "민수", "지영", "서연", "현우", "은지"]
FAMILY = ["Kim", "Lee", "Park", "Choi", "Tanaka", "Smith", "Müller", "Dubois", "김", "이", "박"]
SESSIONS = 80
SPEAKERS = 150


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * fraction
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def seed(rng: random.Random) -> str:
    series = Series(slug="bench", name="Bench series")
    event = Event(
        series=series, title="International Conference on NKHR (bench)", slug="bench-2030",
        title_ko="북한인권 국제회의 (벤치)", city="Seoul", city_ko="서울", country="KR",
        venue="Press Center", start_date=DAYS[0], end_date=DAYS[-1],
        status=EventStatus.PUBLISHED, capacity=1000, days=[EventDay(day=d) for d in DAYS],
    )
    db.session.add(event)
    db.session.flush()
    speakers: list[int] = []
    for n in range(SPEAKERS):
        shape = n % 10
        values: dict[str, Any] = {"status": "confirmed", "appearance": "name"}
        if shape == 7:
            values.update(appearance="pseudonym", pseudonym=f"Witness {n}")
        elif shape == 8:
            values.update(appearance="tba")
        elif shape == 9:
            values.update(status="invited")
        row = Speaker(event_id=event.id, given_name=rng.choice(GIVEN),
                      family_name=rng.choice(FAMILY), email=f"speaker{n}@example.org",
                      email_key=f"speaker{n}@example.org", affiliation="Bench University",
                      **values)
        db.session.add(row)
        db.session.flush()
        speakers.append(row.id)
    for n in range(SESSIONS):
        day = DAYS[n % len(DAYS)]
        slot = n // len(DAYS)
        room, room_ko = ROOMS[slot % len(ROOMS)]
        start = 8 * 60 + (slot // len(ROOMS)) * 75
        kind = KINDS[n % len(KINDS)]
        chosen = rng.sample(speakers, rng.randint(2, 6)) if kind != "break" else []
        services.create_session(event, services.SessionInput(
            day=day, starts_at=clock(start // 60, start % 60),
            ends_at=clock((start + 60) // 60, (start + 60) % 60), kind=kind,
            texts={"title": f"Session {n}: accountability and the right to truth",
                   "title_ko": f"세션 {n}: 책임 규명과 진실에 대한 권리", "room": room,
                   "room_ko": room_ko,
                   "description": "Testimonies and policy responses. " * 6},
            spoken_language=rng.choice(["en", "ko"]), channels=["en", "ko"],
            closed_door=n % 9 == 0, public=n % 13 != 0,
            speakers=[(s, "moderator" if i == 0 else "speaker") for i, s in enumerate(chosen)],
            accept_clashes=True,
        ), actor=SYSTEM)
    db.session.commit()
    return event.slug


def fetch(client: FlaskClient, url: str) -> tuple[int, int]:
    response = client.get(url, buffered=False)
    size = 0
    try:
        for piece in response.iter_encoded():
            size += len(piece)
    finally:
        response.close()
    return response.status_code, size


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=30)
    parser.add_argument("--database-url", default="", help="default: a new SQLite file (WAL)")
    args = parser.parse_args()
    rng = random.Random(21)
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
                slug = seed(rng)
                print(f"{database}: seeded {SESSIONS} sessions, {SPEAKERS} speakers in "
                      f"{time.perf_counter() - started:.1f} s")
                db.session.remove()
            kinds = {
                "programme by day (en)": ("en", f"/events/{slug}/programme"),
                "programme by room (en)": ("en", f"/events/{slug}/programme?by=room"),
                "programme by day (ko)": ("ko", f"/events/{slug}/programme"),
                "calendar feed (en)": ("en", f"/events/{slug}/programme.ics"),
            }
            clients = {}
            for language in ("en", "ko"):
                clients[language] = app.test_client()
                clients[language].set_cookie(LANGUAGE_COOKIE, language)
            queries: dict[str, int] = {}
            sizes: dict[str, int] = {}
            for name, (language, path) in kinds.items():
                with counting_statements(app) as statements:
                    status, size = fetch(clients[language], path)
                if status != 200:
                    raise SystemExit(f"{name}: HTTP {status}")
                queries[name], sizes[name] = len(statements), size
            timings: dict[str, list[float]] = {name: [] for name in kinds}
            for _ in range(args.repetitions):
                for name, (language, path) in kinds.items():
                    started = time.perf_counter()
                    fetch(clients[language], path)
                    timings[name].append((time.perf_counter() - started) * 1000)
            print(f"{args.repetitions} repetitions each, milliseconds:")
            print(f"  {'request':<26} {'p50':>7} {'p95':>7} {'max':>7} {'SQL':>4} {'KB':>6}")
            for name, samples in timings.items():
                print(f"  {name:<26} {statistics.median(samples):7.1f} "
                      f"{percentile(samples, 0.95):7.1f} {max(samples):7.1f} "
                      f"{queries[name]:4d} {sizes[name] / 1024:6.0f}")
        finally:
            with app.app_context():
                db.drop_all()
                db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
