"""Factories: build records with sensible defaults, override what a test cares about."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import Event, EventDay, EventStatus, Series
from nkhr_events.extensions import db

_counter = itertools.count(1)


def make_series(**overrides: Any) -> Series:
    n = next(_counter)
    values: dict[str, Any] = {
        "slug": f"series-{n}",
        "name": f"Test Series {n}",
        "name_ko": f"시험 시리즈 {n}",
        "description": "A series for tests.",
    }
    values.update(overrides)
    series = Series(**values)
    db.session.add(series)
    db.session.flush()
    return series


def make_event(**overrides: Any) -> Event:
    """A published event 60 days ahead, three days long, registration open now."""
    n = next(_counter)
    days = overrides.pop("days", None)
    if days is None:
        first = utcnow().date() + timedelta(days=60)
        days = [first + timedelta(days=i) for i in range(3)]
    series = overrides.pop("series", None) or make_series()
    values: dict[str, Any] = {
        "series": series,
        "title": f"Test Conference {n}",
        "slug": f"test-conference-{n}",
        "city": "Seoul",
        "city_ko": "서울",
        "country": "KR",
        "timezone": "Asia/Seoul",
        "venue": "Press Center",
        "capacity": 100,
        "status": EventStatus.PUBLISHED,
        "registration_opens_at": utcnow() - timedelta(days=1),
        "registration_closes_at": utcnow() + timedelta(days=30),
    }
    values.update(overrides)
    days = sorted(days)
    event = Event(
        start_date=days[0], end_date=days[-1], days=[EventDay(day=d) for d in days], **values
    )
    db.session.add(event)
    db.session.flush()
    return event


def past_days(year: int, month: int, day: int, count: int = 1) -> list[date]:
    first = date(year, month, day)
    return [first + timedelta(days=i) for i in range(count)]
