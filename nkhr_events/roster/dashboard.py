"""The figures of one event's dashboard: seats, counts by status and category, reviews waiting,
check-ins per day, interpretation receivers per channel and day, and recent activity. A handful
of grouped queries, whatever the roster size. What it reads serves the charts below it too
(charts.Source): the counts (with countries and needs), the receivers and the check-ins per hour,
whose sums are the check-ins per day; no figure is read twice.

A reviewer's dashboard counts only the categories they review (`categories`); the seats taken
stay the event's, as its capacity is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from flask_babel import format_date
from sqlalchemy import func

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.sentences import Line, lines, view_actions_like
from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations import interpretation as interpreting
from nkhr_events.registrations.models import (
    SEAT_STATUSES,
    Registration,
    RegistrationDay,
    RegistrationStatus,
)
from nkhr_events.registrations.seats import seats_taken
from nkhr_events.roster.figures import CheckinHours, Tally, checkins_by_hour, tally
from nkhr_events.roster.services import Categories, in_categories

RECENT_ACTIVITY = 20


@dataclass(frozen=True)
class ChannelRow:
    """One interpretation channel: how many seat holders who chose it attend each day."""

    channel: str
    #: In the order of the event's days.
    per_day: list[int]


@dataclass(frozen=True)
class Receivers:
    """The receivers to hire: per channel (those offered, then any other one a seat holder
    still holds) and event day, the confirmed and pending registrations attending that day."""

    days: list[date]
    rows: list[ChannelRow]

    @property
    def totals(self) -> list[int]:
        """Receivers per day, every channel together."""
        return [sum(column) for column in zip(*(r.per_day for r in self.rows), strict=True)]


def interpretation_receivers(event: Event, categories: Categories = None) -> Receivers:
    """Count the seat holders (of `categories` when given) per channel and day they attend, in
    one grouped query. Waitlisted, cancelled and rejected registrations need no receiver; nor
    does a day the event no longer holds."""
    counted = db.session.execute(
        in_categories(
            db.select(
                Registration.interpretation, RegistrationDay.day, func.count(Registration.id)
            )
            .join(RegistrationDay, RegistrationDay.registration_id == Registration.id)
            .where(
                Registration.event_id == event.id,
                Registration.status.in_(SEAT_STATUSES),
                Registration.interpretation.not_in((interpreting.NO_INTERPRETATION, "")),
            )
            .group_by(Registration.interpretation, RegistrationDay.day),
            categories,
        )
    ).all()
    counts = {(channel, day): count for channel, day, count in counted}
    offered = interpreting.event_channels(event)
    others = sorted({channel for channel, _day, _count in counted} - set(offered))
    days = event.day_list
    return Receivers(
        days=days,
        rows=[
            ChannelRow(channel, [counts.get((channel, day), 0) for day in days])
            for channel in [*offered, *others]
        ],
    )


@dataclass(frozen=True)
class Dashboard:
    taken: int
    capacity: int | None
    #: Counts per category and status, per country, and of needs (the last two for the charts).
    tally: Tally
    status_totals: dict[str, int]
    #: Check-ins per event day (the table), the sums of `checkin_hours` (the chart).
    checkins: list[tuple[date, int]]
    activity: list[Line]
    interpretation: Receivers
    checkin_hours: CheckinHours

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """counts[category][status]; only categories with registrations appear."""
        return self.tally.counts

    @property
    def left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.taken, 0)

    @property
    def waitlisted(self) -> int:
        return self.status_totals.get(RegistrationStatus.WAITLISTED, 0)

    @property
    def pending(self) -> int:
        return self.status_totals.get(RegistrationStatus.PENDING, 0)

    @property
    def total(self) -> int:
        return sum(self.status_totals.values())


def _activity(
    event: Event, categories: Categories, show_views: bool = False, real_speaker_names: bool = False
) -> list[Line]:
    """The latest entries about the event as sentences with names; with `categories`, only those
    about its registrations of those categories (a reviewer sees nothing of the others). Page
    views are left out unless `show_views`, and then grouped per person, page and day."""
    query = db.select(AuditEntry).where(AuditEntry.event_id == event.id)
    if categories is not None:
        reached = in_categories(
            db.select(Registration.id).where(Registration.event_id == event.id), categories
        )
        query = query.where(
            AuditEntry.object_type == "registration", AuditEntry.object_id.in_(reached)
        )
    if not show_views:
        query = query.where(
            *(AuditEntry.action.not_like(pattern) for pattern in view_actions_like())
        )
    entries = list(
        db.session.scalars(
            query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(
                RECENT_ACTIVITY * 10 if show_views else RECENT_ACTIVITY
            )
        )
    )
    found = lines(
        entries,
        zone=event.timezone,
        today=utcnow().astimezone(ZoneInfo(event.timezone)).date(),
        format_day=lambda day: format_date(day, "medium"),
        real_speaker_names=real_speaker_names,
    )
    return found[:RECENT_ACTIVITY]


def event_dashboard(
    event: Event,
    categories: Categories = None,
    *,
    show_views: bool = False,
    real_speaker_names: bool = False,
) -> Dashboard:
    """The dashboard of `event`, counting only `categories` when given; page views in its
    activity only with `show_views`, speakers by real name only with `real_speaker_names`."""
    counted = tally(event, categories)
    totals: dict[str, int] = {}
    for row in counted.counts.values():
        for status, count in row.items():
            totals[status] = totals.get(status, 0) + count
    hours = checkins_by_hour(event, categories)
    activity = _activity(event, categories, show_views, real_speaker_names)
    return Dashboard(
        taken=seats_taken(event.id)[None],
        capacity=event.capacity,
        tally=counted,
        status_totals=totals,
        checkins=[(day, hours.on(day)) for day in event.day_list],
        activity=activity,
        interpretation=interpretation_receivers(event, categories),
        checkin_hours=hours,
    )
