"""The figures behind the dashboard's charts and the series' report: registrations over time by
status, by country, check-ins per day and hour, counts of stated needs, and each edition of a
series. Each is counted in SQL, grouped, so that 10,000 registrations cost no more rows than 100:
timestamps are put on the event's clock in SQL (PostgreSQL knows the zones; SQLite is told the
zone's offsets, found in Python) and grouped by the event's days or hours there.

A reviewer's figures count only the categories they review (`categories`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Date, Integer, case, cast, func

from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations.models import (
    ACTIVE_STATUSES,
    SEAT_STATUSES,
    Registration,
    RegistrationStatus,
)
from nkhr_events.roster.services import Categories, in_categories


def _zone(event: Event) -> ZoneInfo:
    try:
        return ZoneInfo(event.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _offset(zone: ZoneInfo, moment: datetime) -> int:
    return int((moment.astimezone(zone).utcoffset() or timedelta()).total_seconds())


#: How often the zone's offset is looked at between two instants: no zone changes its offset
#: twice within six hours.
_LOOK = timedelta(hours=6)


def _offset_periods(
    zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime | None, int]]:
    """The zone's UTC offsets between `start` and `end`: (until when, offset in seconds), the
    last one open-ended (None). Each change is found to the second by halving."""
    periods: list[tuple[datetime | None, int]] = []
    current, at = _offset(zone, start), start
    while at < end:
        later = min(at + _LOOK, end)
        if _offset(zone, later) != current:
            low, high = at, later  # the offset is `current` at low and not at high
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if _offset(zone, middle) == current else (low, middle)
            periods.append((high, current))
            current = _offset(zone, high)
        at = later
    periods.append((None, current))
    return periods


def _knows_zones() -> bool:
    """Whether the database puts a timestamp on a zone's clock itself (PostgreSQL); SQLite
    must be told the offsets, for which the span of the timestamps is needed."""
    return db.session.get_bind().dialect.name == "postgresql"


def _local_clock(
    column: Any, zone: ZoneInfo, span: tuple[datetime, datetime] | None = None
) -> Any:
    """`column` (a UTC timestamp within `span`, its first and last instant) on the clock of
    `zone`, in SQL: PostgreSQL knows the zones (no span needed); SQLite is told the offsets
    that apply (a CASE over the instants where the zone changes its clock, when it does in that
    time). SQLite's answer is text ('YYYY-MM-DD HH:MM:SS'), PostgreSQL's a timestamp: read it
    with `_local_day` or `_local_hour`."""
    if _knows_zones():
        return func.timezone(zone.key, column)
    if span is None:
        raise ValueError("SQLite needs the span of the timestamps to know the zone's offsets")
    periods = _offset_periods(zone, *span)
    modifier: Any = f"{periods[-1][1]:+d} seconds"
    if len(periods) > 1:
        modifier = case(
            *((column < until, f"{offset:+d} seconds") for until, offset in periods[:-1]),
            else_=modifier,
        )
    return func.datetime(column, modifier)


def _local_day(clock: Any) -> Any:
    if _knows_zones():
        return cast(clock, Date)
    return func.date(clock)


def _local_hour(clock: Any) -> Any:
    if _knows_zones():
        return cast(func.extract("hour", clock), Integer)
    return cast(func.strftime("%H", clock), Integer)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _span(column: Any, query: Any) -> tuple[datetime, datetime] | None:
    """The first and last instant of `column` among the rows `query` selects (None: no row)."""
    first, last = db.session.execute(
        query.with_only_columns(func.min(column), func.max(column))
    ).one()
    if first is None or last is None:
        return None
    return _aware(first), _aware(last)


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite answers an aggregate of the column as its text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Timeline:
    """Registrations received up to the end of each day (in the event's zone), by the status
    each has now: a running total from the first day anyone registered to the last."""

    days: list[date]
    #: cumulative[status][i]: registrations of that status received up to days[i].
    cumulative: dict[str, list[int]]

    @property
    def totals(self) -> list[int]:
        return [sum(column) for column in zip(*self.cumulative.values(), strict=True)]


def registrations_over_time(event: Event, categories: Categories = None) -> Timeline:
    """The event's registrations (of `categories` when given) per day received, cumulative."""
    zone = _zone(event)
    chosen = in_categories(
        db.select(Registration.id).where(Registration.event_id == event.id), categories
    )
    # Only SQLite needs the first and last instant (one more statement) to place them.
    span = None
    if not _knows_zones():
        span = _span(Registration.created_at, chosen)
        if span is None:
            return Timeline([], {})
    day = _local_day(_local_clock(Registration.created_at, zone, span)).label("day")
    counted = db.session.execute(
        chosen.with_only_columns(day, Registration.status, func.count(Registration.id))
        .group_by(day, Registration.status)
    ).all()
    per_day: dict[tuple[date, str], int] = {
        (_as_date(received), status): count for received, status, count in counted
    }
    if not per_day:
        return Timeline([], {})
    first, last = min(d for d, _s in per_day), max(d for d, _s in per_day)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    cumulative: dict[str, list[int]] = {}
    for status in RegistrationStatus:
        running, column = 0, []
        for day in days:
            running += per_day.get((day, status.value), 0)
            column.append(running)
        if running:
            cumulative[status.value] = column
    return Timeline(days, cumulative)


#: The country group of registrations beyond the top ones, and of those that gave none.
OTHER_COUNTRIES = "*"
NO_COUNTRY = ""


@dataclass(frozen=True)
class Countries:
    """Active registrations (confirmed, awaiting review, waitlisted) per country: the `top`
    countries by count, then the others together (OTHER_COUNTRIES) and those who gave none
    (NO_COUNTRY), each only when not zero."""

    rows: list[tuple[str, int]]
    #: How many different countries, the others included.
    countries: int


def registrations_by_country(
    event: Event, categories: Categories = None, top: int = 8
) -> Countries:
    return tally(event, categories, top).countries


def _countries(counted: list[tuple[str, int]], top: int) -> Countries:
    known = sorted(
        ((code.upper(), count) for code, count in counted if code and count),
        key=lambda row: (-row[1], row[0]),
    )
    none_given = sum(count for code, count in counted if not code)
    rows = known[:top]
    other = sum(count for _code, count in known[top:])
    if other:
        rows.append((OTHER_COUNTRIES, other))
    if none_given:
        rows.append((NO_COUNTRY, none_given))
    return Countries(rows, len(known))


@dataclass(frozen=True)
class CheckinHours:
    """Check-ins per event day and hour of the day (in the event's zone), from the earliest
    hour anyone was checked in to the latest."""

    days: list[date]
    hours: list[int]
    #: per_day[day][i]: check-ins that day in hours[i].
    per_day: dict[date, list[int]]

    def on(self, day: date) -> int:
        """Check-ins on `day`, every hour together."""
        return sum(self.per_day.get(day, ()))


def checkins_by_hour(event: Event, categories: Categories = None) -> CheckinHours:
    """The event's check-ins (of `categories` when given) per day and hour, in one grouped
    statement: the dashboard's check-ins per day are its sums, not a statement of their own."""
    zone = _zone(event)
    chosen = in_categories(
        db.select(RegistrationCheckin.id)
        .join(Registration, Registration.id == RegistrationCheckin.registration_id)
        .where(Registration.event_id == event.id),
        categories,
    )
    # The door works on the event's days: the zone's offsets around them are the ones to
    # know (no query for the first and last check-in).
    held = event.day_list or [event.start_date]
    span = (datetime.combine(held[0], time(), UTC) - timedelta(days=2),
            datetime.combine(held[-1], time(), UTC) + timedelta(days=3))
    local_hour = _local_hour(
        _local_clock(RegistrationCheckin.checked_in_at, zone, span)
    ).label("hour")
    per_hour: dict[tuple[date, int], int] = {
        (day, int(at)): count
        for day, at, count in db.session.execute(
            chosen.with_only_columns(
                RegistrationCheckin.day, local_hour, func.count(RegistrationCheckin.id)
            ).group_by(RegistrationCheckin.day, local_hour)
        )
    }
    days = sorted(set(event.day_list) | {day for day, _hour in per_hour})
    if not per_hour:
        return CheckinHours(days, [], {day: [] for day in days})
    hours = list(range(min(h for _d, h in per_hour), max(h for _d, h in per_hour) + 1))
    return CheckinHours(
        days, hours, {day: [per_hour.get((day, hour), 0) for hour in hours] for day in days}
    )


@dataclass(frozen=True)
class NeedsCounts:
    """How many seat holders (confirmed, awaiting review) stated accessibility or dietary
    needs: counts only, never what they wrote."""

    seat_holders: int
    accessibility: int
    dietary: int


def needs_counts(event: Event, categories: Categories = None) -> NeedsCounts:
    return tally(event, categories).needs


@dataclass(frozen=True)
class Tally:
    """The event's registrations counted three ways: per category and status (the dashboard's
    table, the category chart), per country, and the needs stated."""

    #: counts[category][status]; only categories with registrations appear.
    counts: dict[str, dict[str, int]]
    countries: Countries
    needs: NeedsCounts


def tally(event: Event, categories: Categories = None, top: int = 8) -> Tally:
    """The event's registrations (of `categories` when given) per category and status, per
    country and the needs stated, in one pass over its rows grouped by category, status and
    country (a few hundred groups, whatever the roster size): none of the three has an index to
    read instead, so one scan serves them all. Needs are counted without decrypting anything:
    an empty answer is stored empty (not encrypted, see dbtypes.EncryptedText), any other as a
    token."""
    counted = db.session.execute(
        in_categories(
            db.select(
                Registration.category,
                Registration.status,
                Registration.country,
                func.count(Registration.id),
                func.count(case((Registration.accessibility_needs != "", 1))),
                func.count(case((Registration.dietary_needs != "", 1))),
            )
            .where(Registration.event_id == event.id)
            .group_by(Registration.category, Registration.status, Registration.country),
            categories,
        )
    ).all()
    counts: dict[str, dict[str, int]] = {}
    per_country: dict[str, int] = {}
    seat_holders = accessibility = dietary = 0
    for category, status, country, count, with_access, with_diet in counted:
        row = counts.setdefault(category, {})
        row[status] = row.get(status, 0) + count
        if status in ACTIVE_STATUSES:
            per_country[country] = per_country.get(country, 0) + count
        if status in SEAT_STATUSES:
            seat_holders += count
            accessibility += int(with_access)
            dietary += int(with_diet)
    return Tally(
        counts,
        _countries(list(per_country.items()), top),
        NeedsCounts(seat_holders, accessibility, dietary),
    )


@dataclass(frozen=True)
class Edition:
    """One event of a series, in figures for a report: registrations per status and, of the
    confirmed ones, per category; people checked in (on any day); countries of the confirmed."""

    event: Event
    statuses: dict[str, int]
    categories: dict[str, int]
    checked_in: int
    countries: int


def series_editions(events: list[Event]) -> list[Edition]:
    """The figures of each of `events` (a series' editions), in four grouped queries."""
    ids = [e.id for e in events]
    statuses: dict[int, dict[str, int]] = {i: {} for i in ids}
    for event_id, status, count in db.session.execute(
        db.select(Registration.event_id, Registration.status, func.count(Registration.id))
        .where(Registration.event_id.in_(ids))
        .group_by(Registration.event_id, Registration.status)
    ):
        statuses[event_id][status] = count
    confirmed = Registration.status == RegistrationStatus.CONFIRMED
    per_category: dict[int, dict[str, int]] = {i: {} for i in ids}
    for event_id, category, count in db.session.execute(
        db.select(Registration.event_id, Registration.category, func.count(Registration.id))
        .where(Registration.event_id.in_(ids), confirmed)
        .group_by(Registration.event_id, Registration.category)
    ):
        per_category[event_id][category] = count
    checked_in: dict[int, int] = dict(
        db.session.execute(
            db.select(
                Registration.event_id,
                func.count(func.distinct(RegistrationCheckin.registration_id)),
            )
            .join(Registration, Registration.id == RegistrationCheckin.registration_id)
            .where(Registration.event_id.in_(ids))
            .group_by(Registration.event_id)
        ).all()
    )
    countries: dict[int, int] = dict(
        db.session.execute(
            db.select(Registration.event_id, func.count(func.distinct(Registration.country)))
            .where(Registration.event_id.in_(ids), confirmed, Registration.country != "")
            .group_by(Registration.event_id)
        ).all()
    )
    return [
        Edition(e, statuses[e.id], per_category[e.id], checked_in.get(e.id, 0),
                countries.get(e.id, 0))
        for e in events
    ]


def counts_by_category(event: Event, categories: Categories = None) -> dict[str, dict[str, int]]:
    """counts[category][status] of the event's registrations; only categories with some."""
    counts: dict[str, dict[str, int]] = {}
    for category, status, count in db.session.execute(
        in_categories(
            db.select(Registration.category, Registration.status, func.count(Registration.id))
            .where(Registration.event_id == event.id)
            .group_by(Registration.category, Registration.status),
            categories,
        )
    ):
        counts.setdefault(category, {})[status] = count
    return counts
