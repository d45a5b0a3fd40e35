"""Registrations already in an event before the rush: bulk-inserted so that the rush measures an
event that is full of people, not only an empty one.

    DATABASE_URL=... SECRET_KEY=... NKHR_ENCRYPTION_KEYS=... \\
        .venv/bin/python bench/rush/existing.py --slug rush-c8-e10000 --count 10000

Rows go in through SQLAlchemy Core on the application's own tables (the model's column types
encrypt what is encrypted), in chunks, with what the ORM would fill in by itself (the name's
search and sort keys) computed here: registrations with their days in a realistic mix of
categories, statuses, languages and names. They have no emails: the rush's checks count only
rows made after them. On PostgreSQL the tables are analysed afterwards, as autovacuum would
within minutes, so that the rush meets the plans a live database has.

It prints one JSON line: how many rows went in, by status, and the highest registration id
(the rush counts the rows above it).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[2]

#: (weight, category, status): most people confirmed; reviewed categories pending or decided;
#: some cancelled, some on the waitlist (capacity is never reached in the rush, so they do not
#: change where new registrations go: only seats held are counted).
MIX: tuple[tuple[int, str, str], ...] = (
    (52, "general_public", "confirmed"),
    (6, "academic", "confirmed"),
    (5, "expert", "confirmed"),
    (5, "human_rights_org", "confirmed"),
    (4, "activist", "confirmed"),
    (2, "artist", "confirmed"),
    (3, "journalist", "confirmed"),
    (2, "journalist", "pending"),
    (1, "government", "pending"),
    (1, "international_org", "pending"),
    (1, "journalist", "rejected"),
    (8, "general_public", "waitlisted"),
    (6, "general_public", "cancelled"),
    (2, "academic", "cancelled"),
    (2, "general_public", "confirmed"),  # below: with needs
)
#: A category's answers, as the form asks them (categories.QUESTIONS).
ANSWERS: dict[str, dict[str, str]] = {
    "journalist": {"media_outlet": "Daily News", "media_role": "reporter"},
    "government": {"ministry": "Ministry of Unification", "government_position": "Director",
                   "country_represented": "KR"},
    "international_org": {"international_organization": "UNHCR",
                          "organization_position": "Officer"},
    "academic": {"institution": "Yonsei University"},
    "expert": {"expert_affiliation": "NKDB", "expert_field": "Transitional justice"},
    "human_rights_org": {"rights_organization": "Citizens' Alliance"},
    "activist": {},
    "artist": {"discipline": "Film"},
    "general_public": {},
}
#: (given, family, language): names as people of each language write them.
NAMES: tuple[tuple[str, str, str], ...] = (
    ("민지", "박", "ko"), ("영희", "이", "ko"), ("서준", "김", "ko"), ("지우", "최", "ko"),
    ("花子", "山田", "ja"), ("健太", "佐藤", "ja"), ("美咲", "鈴木", "ja"),
    ("Ada", "Lovelace", "en"), ("Émile", "Durand", "en"), ("Jan", "Nowak", "en"),
    ("Ingrid", "Hansen", "en"), ("Sarah", "O'Brien", "en"), ("Tomáš", "Novák", "en"),
)


@cache
def name_keys(given: str, family: str) -> tuple[str, str, str]:
    """The badge name, search key and sort key the ORM's hooks would store for this name."""
    from nkhr_events import names

    return (names.full_name(given, family), names.name_search_key(given, family),
            names.name_sort_key(given, family))


def rows(
    event_id: int, days: list[date], count: int, start: int, now: datetime, seed: int
) -> tuple[list[dict[str, Any]], list[tuple[int, list[date]]]]:
    """`count` registration rows numbered from `start`, and the days each attends (by number)."""
    from nkhr_events.checkin.services import new_salt

    rng = random.Random(seed)
    weights = [w for w, _c, _s in MIX]
    choices = rng.choices(range(len(MIX)), weights=weights, k=count)
    registrations: list[dict[str, Any]] = []
    attending: list[tuple[int, list[date]]] = []
    for offset, pick in enumerate(choices):
        number = start + offset
        _weight, category, status = MIX[pick]
        given, family, language = NAMES[number % len(NAMES)]
        badge, search, sort = name_keys(given, family)
        address = f"existing-{number}@example.net"
        created = now - timedelta(days=30, seconds=-number * 37)
        needs = pick == len(MIX) - 1
        registrations.append({
            "event_id": event_id, "category": category, "status": status,
            "given_name": given, "family_name": family, "badge_name": badge,
            "email": address, "email_key": address, "organization": "", "position": "",
            "country": "KR" if language == "ko" else "JP" if language == "ja" else "",
            "language": language, "answers": ANSWERS[category], "interpretation": "none",
            "accessibility_needs": "Wheelchair access" if needs else "",
            "dietary_needs": "Vegetarian" if needs or number % 9 == 0 else "",
            "privacy_consent_at": created, "publish_name": number % 3 == 0,
            "photo_consent": number % 2 == 0, "sequence": 0,
            "created_at": created, "updated_at": created, "status_changed_at": created,
            "waitlisted_at": created if status == "waitlisted" else None,
            "checkin_salt": new_salt() if status == "confirmed" else None,
            "internal_notes": "", "name_search": search, "name_sort": sort,
            "do_not_publish": False, "protected": False, "real_name": "",
        })
        chosen = [d for d in days if rng.random() < 0.8] or days[:1]
        attending.append((number, chosen))
    return registrations, attending


def fill(slug: str, count: int, chunk: int = 2000, seed: int = 23) -> dict[str, Any]:
    """Insert `count` registrations into the event `slug`; what went in."""
    from sqlalchemy import Table, func, insert, select, text

    from nkhr_events import create_app
    from nkhr_events.dbtypes import utcnow
    from nkhr_events.events.models import Event, EventDay
    from nkhr_events.extensions import db
    from nkhr_events.registrations.models import Registration, RegistrationDay

    app = create_app()
    began = time.perf_counter()
    registration = cast(Table, Registration.__table__)
    registration_day = cast(Table, RegistrationDay.__table__)
    statuses: dict[str, int] = {}
    with app.app_context():
        event_id = db.session.scalar(select(Event.id).where(Event.slug == slug))
        if event_id is None:
            raise SystemExit(f"no event {slug!r}")
        days = list(db.session.scalars(
            select(EventDay.day).where(EventDay.event_id == event_id).order_by(EventDay.day)
        ))
        now = utcnow()
        for start in range(0, count, chunk):
            batch, attending = rows(event_id, days, min(chunk, count - start), start, now,
                                    seed + start)
            with db.engine.begin() as connection:
                connection.execute(insert(registration), batch)
                ids = dict(connection.execute(
                    select(registration.c.email_key, registration.c.id).where(
                        registration.c.event_id == event_id,
                        registration.c.email_key.in_([r["email_key"] for r in batch]),
                    )
                ).all())
                connection.execute(insert(registration_day), [
                    {"registration_id": ids[f"existing-{number}@example.net"], "day": day}
                    for number, chosen in attending for day in chosen
                ])
            for row in batch:
                statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        with db.engine.begin() as connection:
            highest = connection.scalar(
                select(func.max(registration.c.id)).where(registration.c.event_id == event_id)
            )
            if connection.dialect.name == "postgresql":
                connection.execute(text("ANALYZE registration, registration_day"))
        db.engine.dispose()
    return {"slug": slug, "inserted": count, "statuses": statuses, "max_id": highest or 0,
            "seconds": round(time.perf_counter() - began, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slug", required=True, help="the event to fill")
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    print(json.dumps(fill(args.slug, args.count)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
