"""Seats: the lock that serializes seat changes of one event, counting, and the waitlist.

Every change that takes or frees a seat first calls `lock_event_seats`, then counts. The lock is
a no-op UPDATE of the event row: on PostgreSQL it takes that row's lock, on SQLite it takes the
database's write lock (pysqlite begins the transaction at the first write, so nothing read before
can be stale). Concurrent registrations for one event therefore run one after another, and the
count each one sees includes every seat committed before it — `confirmed + pending + reserved
<= capacity` holds under any number of racing requests, on both databases. Reserved places
(`SeatReservation`: an invitation's seat, later partner blocks and delegations) count as taken
seats everywhere the count is read: a new registration, a promotion, a change of capacity.

The lock is waited for at most NKHR_SEAT_LOCK_TIMEOUT_MS (PostgreSQL: `lock_timeout`, set for
that transaction only; SQLite: the busy timeout), then `SeatsBusy` says "try again" instead of a
request that hangs or fails with a server error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Select, func, or_, select, text, union_all, update
from sqlalchemy.exc import OperationalError

from nkhr_events.database import is_lock_timeout, rowcount
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import Busy
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.invitations.models import ReleaseReason, SeatReservation
from nkhr_events.registrations.models import (
    SEAT_STATUSES,
    EventSeatCount,
    Registration,
    RegistrationStatus,
)

logger = logging.getLogger(__name__)


class SeatsBusy(Busy):
    """The event's seat lock did not come free within NKHR_SEAT_LOCK_TIMEOUT_MS. The
    transaction is spoiled (PostgreSQL): the caller rolls back; nothing was changed."""

    def __init__(self) -> None:
        super().__init__(
            _("Many people are registering right now. Please try again in a moment.")
        )


def lock_event_seats(event_id: int) -> None:
    """Hold the event's seat lock until the transaction ends; raises SeatsBusy when others
    hold it for longer than NKHR_SEAT_LOCK_TIMEOUT_MS."""
    timeout = int(current_app.config["NKHR_SEAT_LOCK_TIMEOUT_MS"])
    if db.session.get_bind().dialect.name == "postgresql":
        # LOCAL: until this transaction ends; the connection's next ones keep their own.
        db.session.execute(text(f"SET LOCAL lock_timeout = {timeout}"))
    try:
        db.session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(status=Event.status, updated_at=Event.updated_at)
            .execution_options(synchronize_session=False)
        )
    except OperationalError as error:
        if not is_lock_timeout(error):
            raise
        logger.warning("The seat lock of event %d was not free within %d ms", event_id, timeout)
        raise SeatsBusy() from error


def seats_taken(event_id: int, now: datetime | None = None) -> dict[str | None, int]:
    """Seats held (confirmed + pending + reserved) by category, and in total under the key
    None. A reservation (invitations/models.py) holds its places until it is used, released or
    lapses; one past its deadline counts for nothing even before the release job marks it.

    Registrations are read from the event's seat counters (`EventSeatCount`, kept by the
    database), so the cost does not grow with the event; `counted_seats` counts the rows.
    Counters and reservations come in one statement."""
    rows: list[Any] = list(db.session.execute(union_all(
        select(EventSeatCount.category, EventSeatCount.held)
        .where(EventSeatCount.event_id == event_id, EventSeatCount.held != 0),
        _reserved_query(event_id, now or utcnow()),
    )))
    taken: dict[str | None, int] = {}
    for category, places in rows:
        taken[category] = taken.get(category, 0) + int(places or 0)
    taken[None] = sum(taken.values())
    return taken


def counted_seats(event_id: int) -> dict[str | None, int]:
    """`seats_taken` counted from the registrations themselves: what the counters must say."""
    rows = db.session.execute(
        select(Registration.category, func.count(Registration.id))
        .where(Registration.event_id == event_id, Registration.status.in_(SEAT_STATUSES))
        .group_by(Registration.category)
    ).all()
    return _with_reservations(event_id, {category: count for category, count in rows})


def _with_reservations(event_id: int, held: Mapping[str, int]) -> dict[str | None, int]:
    taken: dict[str | None, int] = {key: count for key, count in held.items()}
    for category, places in reserved_places(event_id).items():
        taken[category] = taken.get(category, 0) + places
    taken[None] = sum(count for key, count in taken.items() if key is not None)
    return taken


def _reserved_query(event_id: int, now: datetime) -> Select[str, int]:
    return (
        select(SeatReservation.category, func.sum(SeatReservation.places))
        .where(SeatReservation.event_id == event_id, SeatReservation.holding(now))
        .group_by(SeatReservation.category)
    )


def reserved_places(event_id: int, now: datetime | None = None) -> dict[str, int]:
    """Places held by reservations of the event now, by category."""
    rows = db.session.execute(_reserved_query(event_id, now or utcnow())).all()
    return {category: int(places or 0) for category, places in rows}


def use_reserved_place(reservation_id: int, category: str, now: datetime | None = None) -> bool:
    """Take one place off a reservation for a registration made now in `category` (the caller
    holds the seat lock and gives the registration a seat in the same transaction, so the
    count does not change). False when the reservation holds nothing any more (used, released
    or lapsed): the registration then follows the usual rules."""
    now = now or utcnow()
    changed = rowcount(db.session.execute(
        update(SeatReservation)
        .where(
            SeatReservation.id == reservation_id,
            SeatReservation.category == category,
            SeatReservation.holding(now),
        )
        .values(places=SeatReservation.places - 1)
        .execution_options(synchronize_session=False)
    ))
    if changed:
        db.session.execute(
            update(SeatReservation)
            .where(SeatReservation.id == reservation_id, SeatReservation.places == 0)
            .values(released_at=now, release_reason=ReleaseReason.USED)
            .execution_options(synchronize_session=False)
        )
    return bool(changed)


class SeatRules(Protocol):
    """What seats need of a category's settings (a stored `EventCategory` or its defaults)."""

    @property
    def seat_cap(self) -> int | None: ...

    @property
    def needs_review(self) -> bool: ...


def fits(
    event: Event, settings: SeatRules | None, category: str, taken: dict[str | None, int]
) -> bool:
    """Whether one more seat in `category` keeps the event and the category within limits."""
    if event.capacity is not None and taken.get(None, 0) >= event.capacity:
        return False
    cap = settings.seat_cap if settings is not None else None
    return not (cap is not None and taken.get(category, 0) >= cap)


def take_seat(taken: dict[str | None, int], category: str) -> None:
    taken[None] = taken.get(None, 0) + 1
    taken[category] = taken.get(category, 0) + 1


def promote_from_waitlist(
    event: Event,
    settings: Mapping[str, SeatRules],
    on_promoted: Callable[[Registration], None],
    exclude: frozenset[int] = frozenset(),
) -> list[Registration]:
    """Give free seats to the earliest waitlisted registrations that fit, in order.

    The caller holds the seat lock. A registration whose category is full is passed over, not
    blocking those behind it in other categories. Each promoted registration becomes pending
    (its category needs review) or confirmed, and `on_promoted` is called for it (to email it).
    A registration whose time to confirm its address has run out is passed over: it is about
    to be released (holds.py), not given a seat.
    """
    taken = seats_taken(event.id)
    promoted: list[Registration] = []
    if event.capacity is not None and taken[None] >= event.capacity:
        return promoted
    waiting = db.session.scalars(
        select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.WAITLISTED,
            or_(Registration.confirm_by.is_(None), Registration.confirm_by > utcnow()),
        )
        .order_by(Registration.waitlisted_at, Registration.id)
    )
    for registration in waiting:
        if registration.id in exclude:
            continue
        category_settings = settings.get(registration.category)
        if not fits(event, category_settings, registration.category, taken):
            if event.capacity is not None and taken[None] >= event.capacity:
                break
            continue
        review = category_settings.needs_review if category_settings is not None else False
        registration.status = RegistrationStatus.PENDING if review else RegistrationStatus.CONFIRMED
        registration.status_changed_at = utcnow()
        take_seat(taken, registration.category)
        promoted.append(registration)
        on_promoted(registration)
    db.session.flush()
    return promoted


def moved_up_message(count: int) -> str:
    """What staff are told after a change gave `count` waitlisted people a seat."""
    return ngettext(
        "%(num)d person moved up from the waitlist.",
        "%(num)d people moved up from the waitlist.",
        count,
    )
