"""Check-in at the door: the code in each confirmed registration's QR code, and the per-day
check-in records.

The check-in code is an HMAC of the registration id and a random salt under the secret key,
separate from the private manage link: whoever holds the QR code can show it at the door but
cannot open or change the registration with it, and a copy of the database alone cannot forge
one. Check-ins are per event day (dates in the event's own time zone); the unique constraint on
(registration, day) and an insert that skips an existing row make a double click, or two staff
scanning the same person at once, record one check-in and no error.

The day rule: a check-in for a day is accepted from the hour the door opens that day
(`Event.door_opens_at`, local time) until the end of that day, and only for the days the
person registered for; an event organizer may override it, explicitly. A scan queued on a
phone while the network was down keeps its original time, which must fall in that window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import cast

import segno
from babel.dates import format_time
from flask import current_app
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from sqlalchemy import Table, delete, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from nkhr_events import names
from nkhr_events.audit.services import Actor, record
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.database import rowcount
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.participants import name_order
from nkhr_events.validators import whole_number

#: Bytes of the HMAC kept in the code: 144 bits, 24 URL-safe characters without padding.
CODE_BYTES = 18
#: How many people a door-mode search lists at most.
SEARCH_LIMIT = 50
#: How far past the server's clock the time of a scan may be (a phone's clock runs ahead).
CLOCK_SKEW = timedelta(minutes=2)
#: How long a scan may wait on a phone without a network before it is sent (a phone offline
#: from one afternoon to the next morning still counts); an older time is refused, so nobody
#: back-dates check-ins into days gone by.
MAX_QUEUE_AGE = timedelta(hours=24)


class Refusal(StrEnum):
    """Why a check-in was refused: the person's status, or the day rule."""

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


#: The refusals an event organizer may override: the day rule, not the person's status.
OVERRIDABLE = frozenset({Refusal.NOT_REGISTERED_DAY, Refusal.DOOR_NOT_OPEN, Refusal.DAY_OVER})


class CheckinRefused(DomainError):
    """The registration cannot be checked in (not confirmed, not a day of the event or of the
    person's registration, outside the door's hours); `reason` says which."""

    def __init__(self, message: str, reason: Refusal) -> None:
        super().__init__(message)
        self.reason = reason

    @property
    def overridable(self) -> bool:
        return self.reason in OVERRIDABLE


def new_salt() -> str:
    """A check-in salt for a new registration (set at creation, so its QR code costs no writes
    later; registrations from before that get theirs from `_ensure_salt`)."""
    return secrets.token_hex(16)


def _ensure_salt(registration: Registration) -> str:
    """The registration's check-in salt, made on first use.

    The conditional UPDATE lets only the first of two racing requests set it; both then read
    the stored value, so no QR code ever carries a salt that lost the race.
    """
    if registration.checkin_salt:
        return registration.checkin_salt
    db.session.execute(
        update(Registration)
        .where(Registration.id == registration.id, Registration.checkin_salt.is_(None))
        .values(checkin_salt=new_salt())
        .execution_options(synchronize_session=False)
    )
    salt = db.session.scalar(
        select(Registration.checkin_salt).where(Registration.id == registration.id)
    )
    assert salt is not None
    # The row already holds it: set the attribute without marking the object changed.
    set_committed_value(registration, "checkin_salt", salt)
    return salt


def _code(registration_id: int, salt: str) -> str:
    key = current_app.config["SECRET_KEY"]
    key_bytes = key.encode() if isinstance(key, str) else bytes(key)
    digest = hmac.new(key_bytes, f"{registration_id}:{salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:CODE_BYTES]).decode("ascii").rstrip("=")


def checkin_code(registration: Registration) -> str:
    """The secret part of the check-in URL (the salt is created on first use)."""
    return _code(registration.id, _ensure_salt(registration))


def checkin_reference(registration: Registration) -> str:
    """`<id>-<code>`: the last part of the check-in URL."""
    return f"{registration.id}-{checkin_code(registration)}"


def checkin_url(registration: Registration) -> str:
    base = current_app.config["NKHR_BASE_URL"].rstrip("/")
    return f"{base}/manage/checkin/{checkin_reference(registration)}"


def registration_for_reference(reference: str) -> Registration | None:
    """The registration a scanned `<id>-<code>` belongs to, or None if the code is wrong."""
    number, _sep, code = reference.partition("-")
    registration_id = whole_number(number)
    if registration_id is None or not code or len(code) > 64:
        return None
    registration = db.session.get(Registration, registration_id)
    if registration is None or not registration.checkin_salt:
        return None
    expected = _code(registration.id, registration.checkin_salt)
    if not hmac.compare_digest(expected.encode("ascii"), code.encode("ascii", "replace")):
        return None
    return registration


def qr_code(registration: Registration) -> segno.QRCode:
    return segno.make_qr(checkin_url(registration), error="m")


def qr_svg(registration: Registration) -> bytes:
    """The QR code as a standalone SVG document (paths only, no script, no external reference)."""
    buffer = io.BytesIO()
    qr_code(registration).save(
        buffer, kind="svg", scale=6, border=4, light="#fff", title=_("Check-in code"), nl=False
    )
    return buffer.getvalue()


def qr_png(registration: Registration) -> bytes:
    """The QR code as a PNG, large enough to scan from a phone screen or a printout."""
    buffer = io.BytesIO()
    qr_code(registration).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


# --- days ---------------------------------------------------------------------------------------


def current_time() -> datetime:
    """Now, for the door's rules (one clock for the pages and the scanner)."""
    return utcnow()


def event_today(event: Event, now: datetime | None = None) -> date:
    """Today's date where the event is held."""
    return (now or utcnow()).astimezone(event.zone).date()


def checkin_day(event: Event, now: datetime | None = None) -> date | None:
    """Today if today (in the event's time zone) is one of its days, else None."""
    today = event_today(event, now)
    return today if today in event.day_list else None


def _clock(moment: datetime, event: Event) -> str:
    """The clock time of `moment` where the event is held, the reader's way ("6:00 AM")."""
    local = moment.astimezone(event.zone)
    text = format_time(local, "short", tzinfo=event.zone, locale=get_locale() or "en")
    return text.replace("\u202f", " ").replace("\u2009", " ")


def door_window(event: Event, day: date) -> tuple[datetime, datetime]:
    """When check-in for `day` is accepted (UTC): from the hour the door opens on that day,
    in the event's time zone, until the end of that day."""
    zone = event.zone
    opens = datetime.combine(day, event.door_opens_at, tzinfo=zone)
    ends = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return opens.astimezone(UTC), ends.astimezone(UTC)


def day_rule(
    registration: Registration, day: date, at: datetime, now: datetime | None = None
) -> CheckinRefused | None:
    """Why checking `registration` in for `day` at the moment `at` breaks the day rule, or
    None if it does not (the person's status is `refusal`'s)."""
    event = registration.event
    label = format_date(day, "full")
    if day not in event.day_list:
        return CheckinRefused(_("The event is not held on that day."), Refusal.NOT_EVENT_DAY)
    now = now or utcnow()
    if at > now + CLOCK_SKEW:
        return CheckinRefused(
            _("The time of this scan is in the future: check the phone's clock."),
            Refusal.FUTURE_SCAN,
        )
    if at < now - MAX_QUEUE_AGE:
        return CheckinRefused(
            _("This scan waited on the phone for more than a day and is not counted. "
              "Check the person in again if they are here."),
            Refusal.STALE_SCAN,
        )
    registered = registration.day_list
    if registered and day not in registered:
        return CheckinRefused(
            _("Not registered for %(day)s.", day=label), Refusal.NOT_REGISTERED_DAY
        )
    opens, ends = door_window(event, day)
    if at < opens:
        return CheckinRefused(
            _(
                "Check-in for %(day)s opens at %(time)s that day.",
                day=label,
                time=_clock(opens, event),
            ),
            Refusal.DOOR_NOT_OPEN,
        )
    if at >= ends:
        return CheckinRefused(
            _("Check-in for %(day)s closed at the end of that day.", day=label),
            Refusal.DAY_OVER,
        )
    return None


def parse_day(event: Event, value: str | None) -> date | None:
    """A day of `event` from a form or query value (YYYY-MM-DD), or None."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if day in event.day_list else None


# --- checking in ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckinResult:
    checkin: RegistrationCheckin
    created: bool  # False: the person was already checked in that day


def refusal(registration: Registration) -> str | None:
    """Why `registration` cannot be checked in, or None if it can."""
    reasons = {
        RegistrationStatus.PENDING: _(
            "This registration is awaiting review: the person has no confirmed seat yet."
        ),
        RegistrationStatus.WAITLISTED: _(
            "This person is on the waitlist: they have no seat at the event."
        ),
        RegistrationStatus.CANCELLED: _("The person cancelled this registration."),
        RegistrationStatus.REJECTED: _("The organizers did not accept this registration."),
    }
    if registration.status == RegistrationStatus.CONFIRMED:
        return None
    return reasons.get(RegistrationStatus(registration.status), _("Not confirmed."))


def status_refusal(registration: Registration) -> CheckinRefused | None:
    """The refusal for a registration that is not confirmed, or None for a confirmed one."""
    message = refusal(registration)
    if message is None:
        return None
    return CheckinRefused(message, Refusal(registration.status))


def checkins_of(registration: Registration) -> dict[date, RegistrationCheckin]:
    rows = db.session.scalars(
        select(RegistrationCheckin)
        .where(RegistrationCheckin.registration_id == registration.id)
        .order_by(RegistrationCheckin.day)
    )
    return {row.day: row for row in rows}


def check_in(
    registration: Registration,
    day: date,
    staff_id: int | None = None,
    *,
    actor: Actor,
    at: datetime | None = None,
    now: datetime | None = None,
    override: bool = False,
) -> CheckinResult:
    """Check a confirmed registration in for one day of its event; idempotent and race-safe.

    `at` is when the person was scanned (a scan queued on a phone keeps its own time; default
    now). Raises CheckinRefused for a registration that is not confirmed, a day the event is
    not held, and a check-in that breaks the day rule (`day_rule`) unless `override` (which
    the caller offers to event organizers only) and the rule allows it. Writes an audit entry
    only when a check-in was actually recorded.
    """
    now = now or utcnow()
    at = at or now
    refused = status_refusal(registration) or day_rule(registration, day, at, now)
    if refused is not None and not (override and refused.overridable):
        raise refused
    if refused is not None:
        at = now  # an override is a decision taken now, whatever time the phone gave
    values = {
        "registration_id": registration.id,
        "day": day,
        "checked_in_at": at,
        "staff_id": staff_id,
    }
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # A Table: the model has a __tablename__ (declarative types `__table__` as any FromClause).
    table = cast(Table, RegistrationCheckin.__table__)
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["registration_id", "day"])
        .returning(table.c.id)
    )
    # A skipped insert returns no row: the person was already checked in that day.
    created = db.session.execute(statement).first() is not None
    row = db.session.scalar(
        select(RegistrationCheckin)
        .where(
            RegistrationCheckin.registration_id == registration.id,
            RegistrationCheckin.day == day,
        )
        .execution_options(populate_existing=True)
    )
    assert row is not None
    if created:
        record(
            "registration.checkin",
            object_type="registration",
            object_id=registration.id,
            event_id=registration.event_id,
            detail={
                "day": day.isoformat(),
                **({"override": str(refused.reason)} if refused else {}),
                **({"scanned_at": at.isoformat()} if abs(now - at) > CLOCK_SKEW else {}),
            },
            actor=actor,
        )
    return CheckinResult(row, created)


def undo_check_in(registration: Registration, day: date, *, actor: Actor) -> bool:
    """Remove the check-in of one day (a mistake at the door). False if there was none."""
    removed = rowcount(
        db.session.execute(
            delete(RegistrationCheckin)
            .where(
                RegistrationCheckin.registration_id == registration.id,
                RegistrationCheckin.day == day,
            )
            .execution_options(synchronize_session=False)
        )
    )
    if removed:
        record(
            "registration.checkin_undo",
            object_type="registration",
            object_id=registration.id,
            event_id=registration.event_id,
            detail={"day": day.isoformat()},
            actor=actor,
        )
    return bool(removed)


# --- door mode ------------------------------------------------------------------------------------


def search_registrations(
    event: Event, term: str, language: str | None = None, by_email: bool = True
) -> list[Registration]:
    """Registrations of `event` whose name (in either order, with or without spaces, any case
    or accents: names.name_search_key), badge name, organization or (with `by_email`) email
    contains `term`; by family name in the collation of a reader of `language` (by default the
    current reader). A door volunteer searches without `by_email`: the door must not become a
    way to learn whether an address is registered."""
    term = term.strip()[:100]
    if not term:
        return []
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = f"%{escaped}%"
    folded = names.fold(term)
    return list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                or_(
                    Registration.name_search.contains(folded) if folded else false(),
                    func.lower(Registration.badge_name).like(like, escape="\\"),
                    func.lower(Registration.organization).like(like, escape="\\"),
                    Registration.email_key.like(like, escape="\\") if by_email else false(),
                ),
            )
            .order_by(*name_order(language), Registration.id)
            .limit(SEARCH_LIMIT)
            # Each card says the days the person comes on, where not every day.
            .options(selectinload(Registration.days))
        )
    )


def checkins_on(registration_ids: list[int], day: date) -> dict[int, RegistrationCheckin]:
    """The check-ins of these registrations on `day`, by registration id."""
    if not registration_ids:
        return {}
    rows = db.session.scalars(
        select(RegistrationCheckin).where(
            RegistrationCheckin.registration_id.in_(registration_ids),
            RegistrationCheckin.day == day,
        )
    )
    return {row.registration_id: row for row in rows}


def counts_by_day(event: Event) -> dict[date, int]:
    """How many people were checked in on each day of the event (confirmed registrations)."""
    rows = db.session.execute(
        select(RegistrationCheckin.day, func.count(RegistrationCheckin.id))
        .join(Registration, Registration.id == RegistrationCheckin.registration_id)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
        )
        .group_by(RegistrationCheckin.day)
    ).all()
    found = {day: count for day, count in rows}
    return {day: found.get(day, 0) for day in event.day_list}


def confirmed_count(event: Event) -> int:
    return (
        db.session.scalar(
            select(func.count(Registration.id)).where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.CONFIRMED,
            )
        )
        or 0
    )
