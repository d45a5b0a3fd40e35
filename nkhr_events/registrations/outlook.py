"""What a new registration gets now, per category: a seat, a seat held while the organizers
review it, or a place on the waiting list.

The event page, the category step, the form and the result page all say it from here, with the
same rule the registration itself follows (`seats.fits`, then the category's review setting),
so that what people are told before they submit is what happens. The number of seats left and
of people waiting is shown only where the organizers allow it (`Event.show_seat_counts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.seats import SeatRules, fits, seats_taken


class Outlook(StrEnum):
    SEAT = "seat"
    REVIEW = "review"
    WAITLIST = "waitlist"


@dataclass(frozen=True)
class CategoryOutlook:
    outlook: Outlook
    seats_left: int | None  # None: no limit
    waiting: int

    def text(self) -> str:
        """What a registration in this category gets now, in the reader's language."""
        if self.outlook is Outlook.SEAT:
            return _("Seats are available: you get a seat at once.")
        if self.outlook is Outlook.REVIEW:
            return _("Reviewed by the organizers: your seat is held while they review it.")
        return _("Full: you will join the waiting list and get an email if a seat is free.")

    def counts_text(self) -> str:
        """Seats left and people waiting (only shown where staff allow)."""
        if self.outlook is Outlook.WAITLIST:
            if not self.waiting:
                return ""
            return ngettext(
                "%(num)d person is waiting.", "%(num)d people are waiting.", self.waiting
            )
        if self.seats_left is None:
            return ""
        return ngettext("%(num)d seat left.", "%(num)d seats left.", self.seats_left)

    def key(self, with_counts: bool) -> tuple[object, ...]:
        """What a kept page shows of this (pagecache.py)."""
        return (self.outlook, self.seats_left, self.waiting) if with_counts else (self.outlook,)


def waiting_by_category(event_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Registration.category, func.count(Registration.id))
        .where(
            Registration.event_id == event_id,
            Registration.status == RegistrationStatus.WAITLISTED,
        )
        .group_by(Registration.category)
    )
    return {category: count for category, count in rows}


def _seats_left(
    event: Event, rules: SeatRules, category: str, taken: dict[str | None, int]
) -> int | None:
    limits = []
    if event.capacity is not None:
        limits.append(event.capacity - taken.get(None, 0))
    if rules.seat_cap is not None:
        limits.append(rules.seat_cap - taken.get(category, 0))
    return max(0, min(limits)) if limits else None


def outlooks(event: Event, settings: Mapping[str, SeatRules]) -> dict[str, CategoryOutlook]:
    """Each category's outlook now (every category in `settings`, open or not). The people
    waiting are counted only where the event shows the counts (one query less per page)."""
    taken = seats_taken(event.id)
    waiting = waiting_by_category(event.id) if event.show_seat_counts else {}
    found: dict[str, CategoryOutlook] = {}
    for category, rules in settings.items():
        if not fits(event, rules, category, taken):
            outlook = Outlook.WAITLIST
        elif rules.needs_review:
            outlook = Outlook.REVIEW
        else:
            outlook = Outlook.SEAT
        found[category] = CategoryOutlook(
            outlook, _seats_left(event, rules, category, taken), waiting.get(category, 0)
        )
    return found


def page_key(event: Event, found: Mapping[str, CategoryOutlook]) -> tuple[object, ...]:
    """What the registration pages show of the outlooks: part of a kept page's key."""
    return tuple(
        (category, *outlook.key(bool(event.show_seat_counts)))
        for category, outlook in sorted(found.items())
    )
