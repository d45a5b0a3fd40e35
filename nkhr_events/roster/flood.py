"""Cancelling a flood of registrations in one step: fake sign-ups that fill an event.

Staff choose the registrations by when they were made and a few filters, see how many and the
first of them, and confirm with that number. `cancel_flood` takes the seat lock, counts again
and refuses if the number changed, cancels each (marked `CancelReason.FLOOD`, audited), and
gives the freed seats to the waitlist afterwards — all in the caller's one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import ColumnElement, Select, func, or_, select

from nkhr_events.audit.services import Actor, record, status_detail
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations import notify
from nkhr_events.registrations.holds import cancel_if
from nkhr_events.registrations.models import (
    ACTIVE_STATUSES,
    CancelReason,
    Registration,
    RegistrationStatus,
)
from nkhr_events.registrations.seats import lock_event_seats
from nkhr_events.registrations.services import refill_from_waitlist

#: How many of the selected registrations the preview lists.
PREVIEW_ROWS = 20


class FloodChanged(DomainError):
    """The registrations the filters select are not the number the preview showed."""

    def __init__(self, message: str, count: int) -> None:
        super().__init__(message)
        self.count = count


@dataclass(frozen=True)
class FloodFilters:
    """Which active registrations of an event to cancel; values are already validated.

    `created_from` is included and `created_until` is not (both UTC); a status of "" in
    `statuses` is not allowed, and an empty tuple means any active status.
    """

    created_from: datetime | None = None
    created_until: datetime | None = None
    category: str = ""
    statuses: tuple[str, ...] = ()
    unconfirmed_only: bool = False
    email_domain: str = ""  # lower case, without "@"; its subdomains match too

    def check(self) -> None:
        """Raise DomainError unless the filters make a time window."""
        if self.created_from is None and self.created_until is None:
            raise DomainError(
                _("Give the start or the end of the time window, or both."), "created_from"
            )
        if (
            self.created_from is not None
            and self.created_until is not None
            and self.created_until <= self.created_from
        ):
            raise DomainError(_("The end of the time window must be after its start."),
                              "created_until")
        if not set(self.statuses) <= {str(s) for s in ACTIVE_STATUSES}:
            raise DomainError(_("Choose statuses from the list."), "statuses")

    def conditions(self) -> list[ColumnElement[bool]]:
        statuses = self.statuses or tuple(str(s) for s in ACTIVE_STATUSES)
        where: list[ColumnElement[bool]] = [Registration.status.in_(statuses)]
        if self.created_from is not None:
            where.append(Registration.created_at >= self.created_from)
        if self.created_until is not None:
            where.append(Registration.created_at < self.created_until)
        if self.category:
            where.append(Registration.category == self.category)
        if self.unconfirmed_only:
            where.append(Registration.email_confirmed_at.is_(None))
        if self.email_domain:
            domain = _escape_like(self.email_domain)
            where.append(
                or_(
                    Registration.email_key.like(f"%@{domain}", escape="\\"),
                    Registration.email_key.like(f"%@%.{domain}", escape="\\"),
                )
            )
        return where

    def audit(self) -> dict[str, Any]:
        """The filters as the audit trail keeps them (no person is named by them)."""
        kept: dict[str, Any] = {
            "created_from": self.created_from.isoformat() if self.created_from else None,
            "created_until": self.created_until.isoformat() if self.created_until else None,
            "category": self.category,
            "statuses": list(self.statuses),
            "unconfirmed_only": self.unconfirmed_only,
            "email_domain": self.email_domain,
        }
        return {name: value for name, value in kept.items() if value}


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class FloodRow:
    """One selected registration as the preview lists it."""

    id: int
    name: str
    email: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class FloodPreview:
    count: int
    first: list[FloodRow]


@dataclass(frozen=True)
class FloodResult:
    """What `cancel_flood` did."""

    cancelled: int
    promoted: int
    emailed: int


def flood_query(event: Event, filters: FloodFilters) -> Select[Registration]:
    """The registrations of `event` the filters select, oldest first."""
    return (
        select(Registration)
        .where(Registration.event_id == event.id, *filters.conditions())
        .order_by(Registration.created_at, Registration.id)
    )


def count_flood(event: Event, filters: FloodFilters) -> int:
    query = flood_query(event, filters).order_by(None)
    return db.session.scalar(db.select(func.count()).select_from(query.subquery())) or 0


def preview_flood(event: Event, filters: FloodFilters, *, actor: Actor) -> FloodPreview:
    """How many registrations the filters select, and the first of them; the look is audited
    like a look at the roster. Raises DomainError for filters without a time window."""
    filters.check()
    first = [
        FloodRow(r.id, r.full_name, r.email, r.status, r.created_at)
        for r in db.session.scalars(flood_query(event, filters).limit(PREVIEW_ROWS))
    ]
    count = count_flood(event, filters)
    record("roster.flood_preview", object_type="event", object_id=event.id, event_id=event.id,
           detail={"filters": filters.audit(), "count": count}, actor=actor)
    db.session.flush()
    return FloodPreview(count=count, first=first)


def cancel_flood(
    event: Event,
    filters: FloodFilters,
    expected_count: int,
    *,
    notify_people: bool = False,
    actor: Actor,
) -> FloodResult:
    """Cancel every registration the filters select, if they are still `expected_count`.

    Each is audited (by `actor`, the staff member) and, only with `notify_people`, emailed;
    freed seats then go to the waitlist, whose people are emailed as always. One summary entry
    records the filters and the outcome. Raises FloodChanged when the count differs (nothing
    is changed) and DomainError for filters without a time window.
    """
    filters.check()
    lock_event_seats(event.id)
    count = count_flood(event, filters)
    if count != expected_count:
        raise FloodChanged(
            ngettext(
                "The filters now select %(num)d registration, not the number you confirmed. "
                "Nothing was cancelled: check the new preview.",
                "The filters now select %(num)d registrations, not the number you confirmed. "
                "Nothing was cancelled: check the new preview.",
                count,
            ),
            count,
        )
    selected = db.session.scalars(
        flood_query(event, filters).execution_options(populate_existing=True)
    ).all()
    cancelled = emailed = 0
    freed = False
    for registration in selected:
        before = registration.status
        if not cancel_if(registration, CancelReason.FLOOD, *filters.conditions()):
            continue
        record("registration.flood_cancel", object_type="registration",
               object_id=registration.id, event_id=event.id, actor=actor,
               detail=status_detail(before, registration.status,
                                    reason=CancelReason.FLOOD.value))
        cancelled += 1
        freed = freed or before != RegistrationStatus.WAITLISTED
        if notify_people:
            notify.cancelled_by_staff(
                registration, send_calendar_cancel=before == RegistrationStatus.CONFIRMED
            )
            emailed += 1
    promoted = len(refill_from_waitlist(event, actor=actor)) if freed else 0
    record("roster.flood_cancel", object_type="event", object_id=event.id, event_id=event.id,
           actor=actor,
           detail={"filters": filters.audit(), "expected": expected_count,
                   "cancelled": cancelled, "promoted": promoted, "emailed": emailed})
    db.session.flush()
    return FloodResult(cancelled=cancelled, promoted=promoted, emailed=emailed)
