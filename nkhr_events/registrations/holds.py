"""Email confirmation: a place is held until the attendee proves the address works.

An event may ask every new registration to confirm its address within some minutes
(`Event.email_confirmation_minutes`). The registration is made as always — confirmed, pending
or waitlisted, its seat counted under the seat lock — with a deadline (`confirm_by`). Pressing
"Confirm my email address" on the private manage page (`confirm_email`) keeps the place; only
that button confirms, not editing the details or opening the page. When the deadline passes
unconfirmed, `release_unconfirmed` cancels the registration (marked `CancelReason.
EMAIL_NOT_CONFIRMED`), gives a freed seat to the waitlist and tells the address.

A confirmation and a release of one registration may race (a person presses the button while
the outbox worker releases). Each is one conditional UPDATE whose condition the other makes
false, so exactly one of them changes the row, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select, update

from nkhr_events.audit.services import SYSTEM, Actor, record, status_detail
from nkhr_events.database import rowcount
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import (
    EMAIL_CONFIRMATION_MINUTES_MAX,
    EMAIL_CONFIRMATION_MINUTES_MIN,
    Event,
)
from nkhr_events.extensions import db
from nkhr_events.outbox.periodic import periodic_task
from nkhr_events.programme.signups import cancel_signups_of
from nkhr_events.registrations import notify
from nkhr_events.registrations.models import (
    ACTIVE_STATUSES,
    CancelReason,
    Registration,
    RegistrationStatus,
)
from nkhr_events.registrations.seats import lock_event_seats
from nkhr_events.registrations.services import refill_from_waitlist


class ConfirmOutcome(StrEnum):
    CONFIRMED = "confirmed"  # confirmed now
    ALREADY_CONFIRMED = "already_confirmed"
    NOT_ASKED = "not_asked"  # the registration has no hold to confirm
    NOT_ACTIVE = "not_active"  # released or cancelled before the button was pressed


@dataclass
class ReleaseReport:
    """What one `release_unconfirmed` run did."""

    released: int = 0
    promoted: int = 0

    def __str__(self) -> str:
        return f"{self.released} released, {self.promoted} moved up from the waitlist"


def _awaiting_confirmation() -> tuple[ColumnElement[bool], ...]:
    """In SQL, what `Registration.awaits_email_confirmation` says in Python."""
    return (
        Registration.confirm_by.is_not(None),
        Registration.email_confirmed_at.is_(None),
        Registration.status.in_(ACTIVE_STATUSES),
    )


def set_email_confirmation(event: Event, minutes: int | None, *, actor: Actor) -> None:
    """Ask (minutes) or stop asking (None) new registrations to confirm their address.

    Stopping lifts the holds still waiting, so nobody is released by a rule that no longer
    applies; a changed number of minutes applies to new registrations only (the deadline of a
    registration was already sent to it). Nothing is recorded when nothing changes. Raises
    DomainError (field "email_confirmation_minutes") outside the allowed range.
    """
    if minutes is not None and not (
        EMAIL_CONFIRMATION_MINUTES_MIN <= minutes <= EMAIL_CONFIRMATION_MINUTES_MAX
    ):
        raise DomainError(
            _(
                "Enter between %(min)d and %(max)d minutes, or leave it empty.",
                min=EMAIL_CONFIRMATION_MINUTES_MIN,
                max=EMAIL_CONFIRMATION_MINUTES_MAX,
            ),
            "email_confirmation_minutes",
        )
    before = event.email_confirmation_minutes
    if before == minutes:
        return
    event.email_confirmation_minutes = minutes
    lifted = 0
    if minutes is None:
        lifted = rowcount(db.session.execute(
            update(Registration)
            .where(
                Registration.event_id == event.id,
                *_awaiting_confirmation(),
            )
            .values(confirm_by=None)
            .execution_options(synchronize_session=False)
        ))
    record("event.email_confirmation", object_type="event", object_id=event.id,
           event_id=event.id, detail={"from": before, "to": minutes, "holds_lifted": lifted},
           actor=actor)
    db.session.flush()


def confirm_email(
    registration: Registration, now: datetime | None = None, *, actor: Actor
) -> ConfirmOutcome:
    """The attendee pressed "Confirm my email address": the place is kept.

    Accepted while the registration is active and unconfirmed, even a little after its
    deadline if it has not been released yet. Pressing again changes nothing.
    """
    now = now or utcnow()
    changed = rowcount(db.session.execute(
        update(Registration)
        .where(
            Registration.id == registration.id,
            *_awaiting_confirmation(),
        )
        .values(email_confirmed_at=now, confirm_by=None)
        .execution_options(synchronize_session=False)
    ))
    db.session.refresh(registration)
    if not changed:
        if registration.email_confirmed_at is not None:
            return ConfirmOutcome.ALREADY_CONFIRMED
        if registration.status not in ACTIVE_STATUSES:
            return ConfirmOutcome.NOT_ACTIVE
        return ConfirmOutcome.NOT_ASKED
    record("registration.email_confirm", object_type="registration", object_id=registration.id,
           event_id=registration.event_id, actor=actor,
           detail={"status": str(registration.status)})
    db.session.flush()
    return ConfirmOutcome.CONFIRMED


def cancel_if(
    registration: Registration, reason: CancelReason, *conditions: ColumnElement[bool]
) -> bool:
    """Cancel an active registration for `reason` if `conditions` still hold in the database
    (one conditional UPDATE); True if it was cancelled. The caller holds the seat lock, audits,
    emails and refills the waitlist."""
    changed = rowcount(db.session.execute(
        update(Registration)
        .where(
            Registration.id == registration.id,
            Registration.status.in_(ACTIVE_STATUSES),
            *conditions,
        )
        .values(
            status=RegistrationStatus.CANCELLED,
            cancel_reason=reason,
            status_changed_at=utcnow(),
            sequence=Registration.sequence + 1,
        )
        .execution_options(synchronize_session=False)
    ))
    db.session.refresh(registration)
    if changed:
        cancel_signups_of(registration, actor=SYSTEM)
    return bool(changed)


def _lapsed(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Active registrations whose time to confirm the address is over."""
    return (
        Registration.confirm_by <= now,
        Registration.email_confirmed_at.is_(None),
        Registration.status.in_(ACTIVE_STATUSES),
    )


def release_unconfirmed(now: datetime | None = None, *, actor: Actor) -> ReleaseReport:
    """Cancel every registration whose deadline passed unconfirmed, in every event.

    Per event, under its seat lock: each is cancelled (`CancelReason.EMAIL_NOT_CONFIRMED`),
    audited and emailed; then the freed seats go to the waitlist. Safe to run in several
    workers at once. Adds and flushes; the caller commits.
    """
    now = now or utcnow()
    report = ReleaseReport()
    event_ids = sorted(
        db.session.scalars(select(Registration.event_id).where(*_lapsed(now)).distinct())
    )
    for event_id in event_ids:
        lock_event_seats(event_id)
        lapsed = db.session.scalars(
            select(Registration)
            .where(Registration.event_id == event_id, *_lapsed(now))
            .order_by(Registration.id)
            .execution_options(populate_existing=True)
        ).all()
        freed = False
        for registration in lapsed:
            before = registration.status
            if not cancel_if(registration, CancelReason.EMAIL_NOT_CONFIRMED, *_lapsed(now)):
                continue  # confirmed in the meantime
            record("registration.release", object_type="registration",
                   object_id=registration.id, event_id=event_id, actor=actor,
                   detail=status_detail(before, registration.status,
                                        reason=CancelReason.EMAIL_NOT_CONFIRMED.value))
            notify.released(
                registration, send_calendar_cancel=before == RegistrationStatus.CONFIRMED
            )
            report.released += 1
            freed = freed or before != RegistrationStatus.WAITLISTED
        if freed:
            event = db.session.get(Event, event_id)
            if event is not None:
                report.promoted += len(refill_from_waitlist(event, actor=actor))
    db.session.flush()
    return report


@periodic_task("registrations.release_unconfirmed")
def _release_task() -> ReleaseReport:
    return release_unconfirmed(actor=SYSTEM)
