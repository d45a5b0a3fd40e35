"""Factories: build records with sensible defaults, override what a test cares about."""

from __future__ import annotations

import itertools
from dataclasses import fields
from datetime import date, datetime, timedelta
from typing import Any

from nkhr_events.audit.services import ATTENDEE, SYSTEM, Actor
from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import Event, EventDay, EventStatus, Series
from nkhr_events.extensions import db
from nkhr_events.registrations import services as registrations
from nkhr_events.registrations.categories import QUESTIONS, Category
from nkhr_events.registrations.models import SEAT_STATUSES, Registration, RegistrationStatus

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


#: What `make_registration` passes on to `register_attendee` as the attendee's input.
_INPUT_FIELDS = frozenset(f.name for f in fields(registrations.RegistrationInput))


def _required_answers(category: str) -> dict[str, str]:
    """An answer to each question the category must answer (none for an unknown category:
    the service refuses it)."""
    try:
        questions = QUESTIONS[Category(category)]
    except ValueError:
        return {}
    return {
        q.key: "KR" if q.kind == "country" else f"Test {q.key.replace('_', ' ')}"
        for q in questions
        if q.required
    }


def make_registration(
    *,
    event: Event | int | None = None,
    status: str | None = RegistrationStatus.CONFIRMED,
    now: datetime | None = None,
    actor: Actor = ATTENDEE,
    **overrides: Any,
) -> Registration:
    """A registration made the way an attendee's is: through `register_attendee`.

    So the row is exactly what the product makes: the address normalised and its duplicate key
    set, the badge name, the check-in salt of a confirmed registration, the confirmation
    deadline where the event asks for one, the audit entry and the queued emails; and it is made
    under the event's seat lock, so it never overbooks the event or a category.

    Defaults: a fresh event (`make_event`), category general_public, a unique address, given and
    family name, language en, privacy consent, every day of the event (the service's choice
    when none is given), an answer to each required question of the category. Any field of
    `RegistrationInput` can be overridden (`email=`, `days=`, `answers=`, ...); `event` may be
    an Event or its id; `now` is when the attendee registers (the event must be open then).

    `status` is the status to end in, reached by the product's own steps after the service
    has placed the registration: an organizer approves a pending one (confirmed), moves one
    holding a seat to the waitlist (waitlisted) or rejects it (rejected), or the attendee
    cancels (cancelled); the organizer's steps are recorded as the system's. A status those
    steps cannot reach is refused (ValueError): confirmed or pending when no seat is free,
    pending in a category the event does not review. `status=None` keeps whatever the service
    decided. The session is flushed, not committed.
    """
    unknown = set(overrides) - _INPUT_FIELDS
    if unknown:
        raise TypeError(f"make_registration() got unknown fields: {sorted(unknown)}")
    n = next(_counter)
    if event is None:
        event = make_event()
    event_id = event if isinstance(event, int) else event.id
    category = overrides.get("category", "general_public")
    values: dict[str, Any] = {
        "category": category,
        "given_name": f"Given{n}",
        "family_name": f"Family{n}",
        "email": f"registrant{n}@example.org",
        "language": "en",
        "privacy_consent": True,
        "answers": _required_answers(category),
    }
    values.update(overrides)
    result = registrations.register_attendee(
        event_id, registrations.RegistrationInput(**values), now, actor=actor
    )
    if not result.created:
        raise ValueError(f"{values['email']} already has an active registration for this event")
    registration = result.registration
    if status is not None and registration.status != status:
        _move_to(registration, RegistrationStatus(status), attendee=actor)
    return registration


def _move_to(registration: Registration, status: RegistrationStatus, *, attendee: Actor) -> None:
    placed = registration.status
    if status == RegistrationStatus.CANCELLED:
        registrations.cancel_registration(registration, actor=attendee)
    elif status == RegistrationStatus.REJECTED:
        registrations.reject_registration(registration, actor=SYSTEM)
    elif status == RegistrationStatus.CONFIRMED and placed == RegistrationStatus.PENDING:
        registrations.approve_registration(registration, actor=SYSTEM)
    elif status == RegistrationStatus.WAITLISTED and placed in SEAT_STATUSES:
        registrations.move_to_waitlist(registration, actor=SYSTEM)
    elif placed == RegistrationStatus.WAITLISTED:
        raise ValueError(f"no seat is free for a {status} {registration.category} registration: "
                         "the service waitlisted it (pass status='waitlisted' or None)")
    else:
        raise ValueError(f"the event does not review {registration.category} registrations: "
                         f"the service made it {placed}, not {status}")


def past_days(year: int, month: int, day: int, count: int = 1) -> list[date]:
    first = date(year, month, day)
    return [first + timedelta(days=i) for i in range(count)]
