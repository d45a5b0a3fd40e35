"""Business rules for series and events. No request, no flash: views call these and commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Protocol

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from nkhr_events.audit.services import (
    Actor,
    changed_since,
    column_values,
    record,
    status_detail,
)
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import DEFAULT_DOOR_OPENS_AT, Event, EventDay, EventStatus, Series
from nkhr_events.events.texts import (
    CONTENT_LANGUAGES,
    EVENT_TEXT_FIELDS,
    canonical_languages,
    canonical_pairs,
    text_column,
)
from nkhr_events.extensions import db
from nkhr_events.partners.models import Partnership
from nkhr_events.partners.services import approved_partnerships

#: Longest span an event may cover, first day to last.
MAX_EVENT_SPAN_DAYS = 31


class RegistrationState(StrEnum):
    NOT_OFFERED = "not_offered"
    NOT_YET_OPEN = "not_yet_open"
    OPEN = "open"
    CLOSED = "closed"


#: Days after an event's last day that its personal data is kept (see privacy.services.purge).
DEFAULT_RETENTION_DAYS = 180


@dataclass
class EventInput:
    """What an organizer sets on an event (from the staff form or a test)."""

    series_id: int
    title: str
    slug: str
    days: list[date]
    city: str
    country: str
    timezone: str
    title_ko: str | None = None
    title_ja: str | None = None
    venue: str = ""
    venue_ko: str | None = None
    venue_ja: str | None = None
    city_ko: str | None = None
    city_ja: str | None = None
    description: str = ""
    description_ko: str | None = None
    description_ja: str | None = None
    #: The event's languages ("en", "ko", "ja"; at least one) and interpreted pairs ("en-ko").
    languages: Sequence[str] = ("en", "ko")
    interpretation_pairs: Sequence[str] = ("en-ko",)
    capacity: int | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    participant_list: str = "off"
    participant_list_by_category: bool = False
    show_seat_counts: bool = False
    #: When the door opens on each day, local time.
    door_opens_at: time = DEFAULT_DOOR_OPENS_AT


#: Who may see an event's participant list.
PARTICIPANT_LIST_CHOICES = ("off", "public", "participants")

#: Sets an event's capacity under its seat lock, refusing one below the seats taken, and returns
#: who moved up from the waitlist: `registrations.services.change_capacity`, the column's one
#: owner. The caller hands it in, since seats are counted in the registrations package, which
#: builds on this one.
class ChangeCapacity(Protocol):
    def __call__(
        self, event: Event, capacity: int | None, /, *, actor: Actor
    ) -> Sequence[object]: ...


def all_series() -> list[Series]:
    return list(db.session.scalars(select(Series).order_by(Series.position, Series.name)))


def series_by_slug(slug: str) -> Series | None:
    return db.session.scalar(select(Series).where(Series.slug == slug))


def public_events_query() -> Select[Event]:
    return (
        select(Event)
        .where(Event.status.in_([EventStatus.PUBLISHED, EventStatus.ARCHIVED]))
        .options(selectinload(Event.days), selectinload(Event.series))
    )


def public_event(slug: str) -> Event | None:
    """A published or archived event; drafts do not exist for the public."""
    return db.session.scalar(public_events_query().where(Event.slug == slug))


def upcoming_events(today: date) -> list[Event]:
    """Published events that have not ended, soonest first."""
    return list(
        db.session.scalars(
            public_events_query()
            .where(Event.status == EventStatus.PUBLISHED, Event.end_date >= today)
            .order_by(Event.start_date)
        )
    )


def past_events(today: date, series: Series | None = None) -> list[Event]:
    """Public events that have ended, oldest first (the order of the history table)."""
    query = public_events_query().where(Event.end_date < today).order_by(Event.start_date)
    if series is not None:
        query = query.where(Event.series_id == series.id)
    return list(db.session.scalars(query))


def series_editions(series: Series) -> list[Event]:
    return list(
        db.session.scalars(
            public_events_query().where(Event.series_id == series.id).order_by(Event.start_date)
        )
    )


def partnerships_for(events: list[Event]) -> dict[int, list[Partnership]]:
    return approved_partnerships([e.id for e in events])


def registration_state(event: Event, now: datetime | None = None) -> RegistrationState:
    now = now or utcnow()
    if event.status != EventStatus.PUBLISHED or event.registration_opens_at is None:
        return RegistrationState.NOT_OFFERED
    if now < event.registration_opens_at:
        return RegistrationState.NOT_YET_OPEN
    if event.registration_closes_at is not None and now >= event.registration_closes_at:
        return RegistrationState.CLOSED
    return RegistrationState.OPEN


def _check_texts(data: EventInput) -> None:
    """At least one language, and the title and city in at least one of them."""
    languages = canonical_languages(data.languages).split()
    if not languages:
        raise DomainError(_("Choose at least one language for the event."), "languages")
    for field, message in (
        ("title", _("Give the event a title in at least one of its languages.")),
        ("city", _("Give the city in at least one of the event's languages.")),
    ):
        if not any((getattr(data, text_column(field, code)) or "").strip() for code in languages):
            raise DomainError(message, text_column(field, languages[0]))


def _check(data: EventInput, event_id: int | None) -> None:
    _check_texts(data)
    if not data.days:
        raise DomainError(_("Give at least one day."), "start_date")
    days = sorted(set(data.days))
    if (days[-1] - days[0]).days >= MAX_EVENT_SPAN_DAYS:
        raise DomainError(
            _("An event can span at most %(n)d days.", n=MAX_EVENT_SPAN_DAYS), "end_date"
        )
    if db.session.get(Series, data.series_id) is None:
        raise DomainError(_("Choose a series."), "series_id")
    clash = db.session.scalar(
        select(Event.id).where(Event.slug == data.slug, Event.id != (event_id or 0))
    )
    if clash is not None:
        raise DomainError(_("Another event already uses this web address."), "slug")
    opens, closes = data.registration_opens_at, data.registration_closes_at
    if closes is not None and opens is None:
        raise DomainError(_("Set when registration opens, too."), "registration_opens_at")
    if opens is not None and closes is not None and closes <= opens:
        raise DomainError(
            _("Registration must close after it opens."), "registration_closes_at"
        )


def _apply(event: Event, data: EventInput) -> None:
    days = sorted(set(data.days))
    event.series_id = data.series_id
    for field in EVENT_TEXT_FIELDS:
        for language in CONTENT_LANGUAGES:
            column = text_column(field, language)
            value = (getattr(data, column) or "").strip()
            # English is the plain, required column: "" where the event has no English text.
            setattr(event, column, value if language == "en" else value or None)
    event.languages = canonical_languages(data.languages)
    event.interpretation_pairs = canonical_pairs(data.interpretation_pairs)
    event.slug = data.slug
    event.country = data.country
    event.timezone = data.timezone
    event.retention_days = data.retention_days
    event.registration_opens_at = data.registration_opens_at
    event.registration_closes_at = data.registration_closes_at
    event.participant_list = (
        data.participant_list if data.participant_list in PARTICIPANT_LIST_CHOICES else "off"
    )
    event.participant_list_by_category = data.participant_list_by_category
    event.show_seat_counts = data.show_seat_counts
    event.door_opens_at = data.door_opens_at
    event.start_date, event.end_date = days[0], days[-1]
    if days != event.day_list:
        kept = {d.day: d for d in event.days}
        event.days = [kept.get(day) or EventDay(day=day) for day in days]


def create_event(data: EventInput, change_capacity: ChangeCapacity, *, actor: Actor) -> Event:
    """Add a draft event; raises DomainError when a rule refuses it."""
    _check(data, None)
    event = Event(status=EventStatus.DRAFT)
    _apply(event, data)
    db.session.add(event)
    db.session.flush()
    change_capacity(event, data.capacity, actor=actor)
    record("event.create", object_type="event", object_id=event.id, event_id=event.id,
           detail={"slug": event.slug, "status": str(event.status)}, actor=actor)
    return event


def update_event(
    event: Event, data: EventInput, change_capacity: ChangeCapacity, *, actor: Actor
) -> Sequence[object]:
    """Change an event, its capacity through `change_capacity`; returns who moved up from the
    waitlist. Raises DomainError (the caller rolls back) when a rule refuses the change."""
    _check(data, event.id)
    before = column_values(event)
    days_before = event.day_list
    # First, so that the seat lock is taken before anything writes the event's row: a lock
    # held too long elsewhere is then SeatsBusy, not a wait without a limit.
    moved_up = change_capacity(event, data.capacity, actor=actor)
    _apply(event, data)
    changed = changed_since(before, event) + (["days"] if event.day_list != days_before else [])
    if not changed:
        return moved_up  # sent back unchanged: nothing written or recorded
    # Set even when only the days changed: kept registration pages are keyed by the row.
    event.updated_at = utcnow()
    record("event.update", object_type="event", object_id=event.id, event_id=event.id,
           detail={"fields": changed}, actor=actor)
    db.session.flush()
    return moved_up


_TRANSITIONS = {
    EventStatus.DRAFT: {EventStatus.PUBLISHED},
    EventStatus.PUBLISHED: {EventStatus.DRAFT, EventStatus.ARCHIVED},
    EventStatus.ARCHIVED: {EventStatus.PUBLISHED},
}


def change_event_status(event: Event, status: EventStatus, *, actor: Actor) -> None:
    """The one place an event's status changes; raises DomainError for a move not allowed."""
    current = EventStatus(event.status)
    if status not in _TRANSITIONS[current]:
        raise DomainError(_("This event cannot move from %(a)s to %(b)s.", a=current, b=status))
    actions = {EventStatus.PUBLISHED: "event.publish", EventStatus.ARCHIVED: "event.archive",
               EventStatus.DRAFT: "event.unpublish"}
    record(actions[status], object_type="event", object_id=event.id, event_id=event.id,
           detail=status_detail(current, status), actor=actor)
    event.status = status
    db.session.flush()
