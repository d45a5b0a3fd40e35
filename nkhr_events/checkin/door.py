"""What the door answers, one classification for every way in (a search, a scanned code, a scan
queued on a phone while the network was down): green (checked in), amber (already checked in
that day) or red (not checked in, and why).

The outcome carries what the door may show and nothing more: the name as the person writes it
(only the given name of someone who asked not to be published: the screen faces the queue),
the category, the day, and for amber when and by whom. A code of another event or no code at
all names nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import select

from nkhr_events.accounts.models import StaffUser
from nkhr_events.audit.services import Actor
from nkhr_events.checkin import services as checkin
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration

#: The longest scanned text looked at (a check-in URL is far shorter).
MAX_SCANNED_LENGTH = 300


class Colour(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class Outcome(StrEnum):
    """What happened at the door: checked in, already, or one reason for red."""

    CHECKED_IN = "checked_in"
    ALREADY = "already"
    ANOTHER_EVENT = "another_event"
    UNKNOWN_CODE = "unknown_code"
    PENDING = "pending"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    NOT_EVENT_DAY = "not_event_day"
    NOT_REGISTERED_DAY = "not_registered_day"
    DOOR_NOT_OPEN = "door_not_open"
    DAY_OVER = "day_over"
    FUTURE_SCAN = "future_scan"
    STALE_SCAN = "stale_scan"


@dataclass(frozen=True)
class DoorOutcome:
    """One answer of the door. `message` explains a red one; `overridable` says an event
    organizer may check the person in all the same."""

    outcome: Outcome
    day: date | None
    registration_id: int | None = None
    name: str = ""
    category: str = ""
    checked_in_at: datetime | None = None
    staff_name: str = ""
    message: str = ""
    overridable: bool = False

    @property
    def colour(self) -> Colour:
        if self.outcome == Outcome.CHECKED_IN:
            return Colour.GREEN
        if self.outcome == Outcome.ALREADY:
            return Colour.AMBER
        return Colour.RED


def door_name(registration: Registration) -> str:
    """The name the door screen shows: the badge name (the person's own, in their order and
    script), else the full name; only the given name of someone who asked not to be
    published."""
    if registration.do_not_publish:
        return registration.given_name
    return registration.badge_name or registration.full_name


def reference_in(scanned: str) -> str:
    """The `<id>-<code>` part of a scanned check-in URL (or of a reference typed as is)."""
    text = scanned.strip()[:MAX_SCANNED_LENGTH]
    try:
        path = urlsplit(text).path if "://" in text else text
    except ValueError:  # not a URL at all ("http://[x"): no code in it
        return ""
    return path.rstrip("/").rsplit("/", 1)[-1]


def _staff_name(staff_id: int | None) -> str:
    if staff_id is None:
        return ""
    return db.session.scalar(select(StaffUser.name).where(StaffUser.id == staff_id)) or ""


def check_in_at_door(
    event: Event,
    registration: Registration,
    day: date,
    *,
    staff_id: int | None,
    actor: Actor,
    at: datetime | None = None,
    now: datetime | None = None,
    override: bool = False,
) -> DoorOutcome:
    """Check `registration` in for `day` (checkin.check_in) and say what the door shows. A
    registration of another event is red and unnamed. The caller commits (a red outcome
    wrote nothing)."""
    if registration.event_id != event.id:
        return DoorOutcome(Outcome.ANOTHER_EVENT, day, message=_("This code is for another event."))
    name, category = door_name(registration), registration.category
    try:
        result = checkin.check_in(
            registration, day, staff_id, actor=actor, at=at, now=now, override=override
        )
    except checkin.CheckinRefused as refused:
        return DoorOutcome(
            Outcome(refused.reason.value),
            day,
            registration.id,
            name,
            category,
            message=refused.message,
            overridable=refused.overridable,
        )
    return DoorOutcome(
        Outcome.CHECKED_IN if result.created else Outcome.ALREADY,
        day,
        registration.id,
        name,
        category,
        checked_in_at=result.checkin.checked_in_at,
        staff_name=_staff_name(result.checkin.staff_id),
    )


def scan_at_door(
    event: Event,
    scanned: str,
    day: date | None,
    *,
    staff_id: int | None,
    actor: Actor,
    at: datetime | None = None,
    now: datetime | None = None,
    override: bool = False,
) -> DoorOutcome:
    """A scanned code at the door of `event` for `day`: the person's outcome, or red for a
    code that is no check-in code, a code of another event, or a day the event is not held."""
    registration = checkin.registration_for_reference(reference_in(scanned))
    if registration is None:
        return DoorOutcome(
            Outcome.UNKNOWN_CODE, day, message=_("This is not a check-in code of ours.")
        )
    if day is None:
        return DoorOutcome(
            Outcome.NOT_EVENT_DAY, day, message=_("The event is not held on that day.")
        )
    return check_in_at_door(
        event,
        registration,
        day,
        staff_id=staff_id,
        actor=actor,
        at=at,
        now=now,
        override=override,
    )
