"""Invitation rules: invite one or many, open, accept, decline, resend, revoke; reserved seats
and their release; reminders.

Every change that takes or frees a reserved seat, or that could make two open invitations for
one address, first takes the event's seat lock (registrations/seats.py), re-reads what it
changes, and flushes; the caller commits once. Emails are queued through the outbox in the
same transaction and carry the invitation's link, made when the worker sends them (only its
hash is stored, one token per email: a reminder never breaks the first link).

An invitation is a single-use link tied to one address: the registration it makes uses that
address (the form shows it, not as a field), so nobody can pass the link on to register someone
else. Staff who need another address revoke the invitation and invite that one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from nkhr_events.audit.services import SYSTEM, Actor, record, status_detail
from nkhr_events.config import bounded_setting
from nkhr_events.database import rowcount
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.extensions import db
from nkhr_events.invitations.models import (
    OPEN_STATUSES,
    Invitation,
    InvitationStatus,
    InvitationToken,
    ReleaseReason,
    SeatReservation,
)
from nkhr_events.outbox.models import SECRET_PLACEHOLDER
from nkhr_events.outbox.periodic import periodic_task
from nkhr_events.outbox.services import LateSecret, enqueue_email, secret_maker, withdraw_queued
from nkhr_events.registrations.categories import Category, category_name
from nkhr_events.registrations.models import ACTIVE_STATUSES, Registration
from nkhr_events.registrations.seats import fits, lock_event_seats, seats_taken
from nkhr_events.registrations.services import (
    Admission,
    CategorySettings,
    RegistrationInput,
    RegistrationResult,
    category_settings,
    email_key,
    refill_from_waitlist,
    register_attendee,
    release_lapsed_holds,
)
from nkhr_events.tokens import new_token, token_hash
from nkhr_events.validators import LANGUAGES

#: The invitation form's default: a reserved seat is held this many days.
DEFAULT_HOLD_DAYS = 14
#: A reminder is sent this many days before the deadline (NKHR_INVITATION_REMINDER_DAYS)
#: unless the setting says otherwise, and the bounds the setting must keep.
DEFAULT_REMINDER_DAYS = 3
REMINDER_DAYS_BOUNDS = (1, 60)
#: The private link every invitation email carries (outbox/services.py, `LateSecret`).
INVITATION_LINK = "invitation-link"


@dataclass
class InvitationInput:
    """Who is invited (from the staff form, a CSV row or a test)."""

    name: str
    email: str
    language: str
    category: str
    organization: str = ""


# --- dates ------------------------------------------------------------------------------------


def event_starts(event: Event) -> datetime:
    """The start of the event's first day on its own clock: no invitation works after it."""
    return datetime.combine(event.start_date, time.min, tzinfo=event.zone).astimezone(UTC)


def hold_end(event: Event, day: date) -> datetime:
    """The end of `day` on the event's clock: a seat held "until `day`" is held that whole day."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=event.zone).astimezone(UTC)


def default_hold_day(event: Event, now: datetime | None = None) -> date:
    """The hold the invitation form suggests: DEFAULT_HOLD_DAYS ahead, but the day before the
    event at the latest."""
    now = now or utcnow()
    return min(
        now.astimezone(event.zone).date() + timedelta(days=DEFAULT_HOLD_DAYS),
        event.start_date - timedelta(days=1),
    )


def check_hold(event: Event, day: date | None, now: datetime | None = None) -> datetime | None:
    """The end of a hold staff chose, or DomainError ("hold_until") when it is past or not
    before the event."""
    if day is None:
        return None
    until = hold_end(event, day)
    if until > event_starts(event):
        raise DomainError(_("Hold the seat until a day before the event starts."), "hold_until")
    if until <= (now or utcnow()):
        raise DomainError(_("Choose a day that has not passed."), "hold_until")
    return until


def reminder_days(config: Mapping[str, Any]) -> int:
    """Days before the deadline that the reminder goes (NKHR_INVITATION_REMINDER_DAYS); raises
    ValueError, naming the setting, when it is not a whole number within REMINDER_DAYS_BOUNDS."""
    return bounded_setting(config, "NKHR_INVITATION_REMINDER_DAYS", DEFAULT_REMINDER_DAYS,
                           REMINDER_DAYS_BOUNDS)


def check_settings(config: Mapping[str, Any]) -> None:
    """Refuse to start with a reminder setting out of bounds (raises ValueError), rather than
    fail on the first invitation sent."""
    reminder_days(config)


def _reminder_days() -> int:
    return reminder_days(current_app.config)


def _remind_at(deadline: datetime, now: datetime) -> datetime | None:
    at = deadline - timedelta(days=_reminder_days())
    return at if at > now else None


# --- checking who is invited ------------------------------------------------------------------


def invitation_categories(event: Event) -> list[str]:
    """The categories an invitation may name: enabled and by invitation only."""
    return [c for c, s in category_settings(event).items() if s.enabled and s.by_invitation]


def _check_category(value: str, settings: dict[str, CategorySettings]) -> str:
    try:
        category = Category(value.strip().lower())
    except ValueError as error:
        raise DomainError(_("Unknown category."), "category") from error
    chosen = settings[category.value]
    if not chosen.enabled:
        raise DomainError(_("This category is not enabled for this event."), "category")
    if not chosen.by_invitation:
        raise DomainError(_("This category is not by invitation only."), "category")
    return category.value


@dataclass(frozen=True)
class KnownAddresses:
    """The address keys of a batch that are already invited (still able to answer) or
    registered, read in a few statements instead of two per row (`known_addresses`)."""

    invited: frozenset[str]
    registered: frozenset[str]


#: Keys per IN list when a batch's addresses are looked up.
_LOOKUP_CHUNK = 500


def known_addresses(event_id: int, keys: list[str], now: datetime) -> KnownAddresses:
    invited: set[str] = set()
    registered: set[str] = set()
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start:start + _LOOKUP_CHUNK]
        invited.update(db.session.scalars(
            select(Invitation.email_key).where(
                Invitation.event_id == event_id,
                Invitation.email_key.in_(chunk),
                Invitation.status.in_(OPEN_STATUSES),
                Invitation.expires_at > now,
            )
        ))
        registered.update(db.session.scalars(
            select(Registration.email_key).where(
                Registration.event_id == event_id,
                Registration.email_key.in_(chunk),
                Registration.status.in_(ACTIVE_STATUSES),
            )
        ))
    return KnownAddresses(frozenset(invited), frozenset(registered))


def checked_input(
    event: Event,
    data: InvitationInput,
    settings: dict[str, CategorySettings],
    now: datetime,
    known: KnownAddresses | None = None,
) -> InvitationInput:
    """The input cleaned (address normalised, category and language known), or DomainError
    beside the field at fault. Refuses an address already invited (and still able to answer)
    or already registered (looked up in `known` when a batch read them at once)."""
    name = data.name.strip()
    if not name:
        raise DomainError(_("Enter the name."), "name")
    if len(name) > 200:
        raise DomainError(_("Use at most %(n)d characters.", n=200), "name")
    if len(data.organization.strip()) > 200:
        raise DomainError(_("Use at most %(n)d characters.", n=200), "organization")
    address, key = email_key(data.email)
    language = data.language.strip().lower()
    if language not in LANGUAGES:
        raise DomainError(_("Unknown language: use en, ko or ja."), "language")
    category = _check_category(data.category, settings)
    known = known or known_addresses(event.id, [key], now)
    if key in known.invited:
        raise DomainError(_("This address is already invited."), "email")
    if key in known.registered:
        raise DomainError(_("This address is already registered for this event."), "email")
    return InvitationInput(name, address, language, category, data.organization.strip())


def check_event(event: Event, now: datetime) -> None:
    """Invitations go out for a published event that has not started."""
    if event.status != EventStatus.PUBLISHED or now >= event_starts(event):
        raise DomainError(
            _("Invitations can be sent only for a published event that has not started.")
        )


def check_places(event: Event, wanted: Counter[str], settings: dict[str, CategorySettings]) -> None:
    """Refuse (DomainError "reserve") unless every wanted place fits now (under the lock)."""
    taken = seats_taken(event.id)
    for category, count in sorted(wanted.items()):
        for _n in range(count):
            if not fits(event, settings[category], category, taken):
                raise DomainError(
                    _("There are not enough free seats to reserve %(n)d.", n=sum(wanted.values())),
                    "reserve",
                )
            taken[None] = taken.get(None, 0) + 1
            taken[category] = taken.get(category, 0) + 1


# --- inviting ---------------------------------------------------------------------------------


def _create(
    event: Event,
    data: InvitationInput,
    hold_until: datetime | None,
    now: datetime,
    *,
    actor: Actor,
) -> Invitation:
    reservation = None
    if hold_until is not None:
        reservation = SeatReservation(
            event_id=event.id,
            category=data.category,
            places=1,
            held_until=hold_until,
            created_at=now,
        )
        db.session.add(reservation)
    _address, key = email_key(data.email)
    invitation = Invitation(
        event=event,
        email=data.email,
        email_key=key,
        name=data.name,
        language=data.language,
        category=data.category,
        organization=data.organization,
        status=InvitationStatus.SENT,
        expires_at=event_starts(event),
        reservation=reservation,
        created_at=now,
        status_changed_at=now,
        sent_count=1,
    )
    invitation.remind_at = _remind_at(invitation.deadline, now)
    db.session.add(invitation)
    db.session.flush()
    record(
        "invitation.create",
        object_type="invitation",
        object_id=invitation.id,
        event_id=event.id,
        actor=actor,
        detail={
            "category": data.category,
            "language": data.language,
            "reserved_until": hold_until.isoformat() if hold_until else None,
        },
    )
    _send(invitation, "invitation")
    return invitation


def invite(
    event: Event,
    data: InvitationInput,
    hold_until: datetime | None = None,
    now: datetime | None = None,
    *,
    actor: Actor,
) -> Invitation:
    """Invite one person, with a seat reserved until `hold_until` if given; emailed in their
    language. Raises DomainError beside the field at fault (also "reserve" when no seat is
    free) or SeatsBusy."""
    now = now or utcnow()
    lock_event_seats(event.id)
    check_event(event, now)
    settings = category_settings(event)
    clean = checked_input(event, data, settings, now)
    if hold_until is not None:
        check_places(event, Counter({clean.category: 1}), settings)
    return _create(event, clean, hold_until, now, actor=actor)


class BatchRefused(DomainError):
    """A batch has rows at fault (`problems`: line number → reason) or not enough seats."""

    def __init__(self, message: str, problems: dict[int, str], field: str | None = None):
        super().__init__(message, field)
        self.problems = problems


def invite_many(
    event: Event,
    rows: list[tuple[int, InvitationInput]],
    hold_until: datetime | None = None,
    now: datetime | None = None,
    *,
    actor: Actor,
) -> list[Invitation]:
    """Invite every row, or nobody: each row is checked again under the seat lock (against
    invitations and registrations made since the preview, and against the other rows); with
    `hold_until` a seat is reserved for each, refused as a whole when they do not all fit.
    Raises BatchRefused (nothing added), DomainError or SeatsBusy."""
    now = now or utcnow()
    lock_event_seats(event.id)
    check_event(event, now)
    settings = category_settings(event)
    if hold_until is not None and hold_until <= now:
        # A preview confirmed days later: its hold may have passed since.
        raise DomainError(
            _("The day the seats were to be held until has passed. Upload the file again and "
              "choose another day."),
            "hold_until",
        )
    problems, clean = _checked_batch(event, rows, settings, now)
    if problems:
        raise BatchRefused(_("Some rows cannot be imported; nothing was imported."), problems)
    if hold_until is not None:
        check_places(event, Counter(c.category for c in clean), settings)
    invitations = [_create(event, c, hold_until, now, actor=actor) for c in clean]
    record(
        "invitation.batch",
        object_type="event",
        object_id=event.id,
        event_id=event.id,
        actor=actor,
        detail={"count": len(invitations), "reserved": hold_until is not None},
    )
    return invitations


def batch_problems(
    event: Event,
    rows: list[tuple[int, InvitationInput]],
    settings: dict[str, CategorySettings],
    now: datetime,
) -> dict[int, str]:
    """What is wrong with each row (by line number); rows not named are fine."""
    return _checked_batch(event, rows, settings, now)[0]


def _checked_batch(
    event: Event,
    rows: list[tuple[int, InvitationInput]],
    settings: dict[str, CategorySettings],
    now: datetime,
) -> tuple[dict[int, str], list[InvitationInput]]:
    """Each row checked once: what is wrong (by line number), and the rows as checked."""
    problems: dict[int, str] = {}
    clean: list[InvitationInput] = []
    seen: dict[str, int] = {}
    keys = []
    for _line, data in rows:
        try:
            keys.append(email_key(data.email)[1])
        except DomainError:
            continue  # said by checked_input below
    known = known_addresses(event.id, keys, now)
    for line, data in rows:
        try:
            checked = checked_input(event, data, settings, now, known)
        except DomainError as error:
            problems[line] = str(error)
            continue
        key = email_key(checked.email)[1]
        if key in seen:
            problems[line] = _("The same address is on line %(line)d.", line=seen[key])
        else:
            seen[key] = line
            clean.append(checked)
    return problems, clean


# --- emails -----------------------------------------------------------------------------------


def invitation_url(token: str) -> str:
    return f"{current_app.config['NKHR_BASE_URL'].rstrip('/')}/invitation/{token}"


@secret_maker(INVITATION_LINK)
def _invitation_token(invitation_id: int) -> str:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise ValueError("the invitation of this link no longer exists")
    token = new_token()
    db.session.add(InvitationToken(invitation_id=invitation.id, token_hash=token_hash(token)))
    return token


def _send(invitation: Invitation, template: str) -> None:
    reservation = invitation.reservation
    enqueue_email(
        to=invitation.email,
        template=template,
        language=invitation.language,
        context={
            "invitation": invitation,
            "event": invitation.event,
            "category": category_name(invitation.category),
            "held_until": reservation.shown_until
            if reservation is not None and reservation.holds_places(utcnow())
            else None,
            "link": invitation_url(SECRET_PLACEHOLDER),
            "decline_link": invitation_url(SECRET_PLACEHOLDER) + "/decline",
        },
        secret=LateSecret(INVITATION_LINK, invitation.id),
        event_id=invitation.event_id,
    )


# --- the invitee ------------------------------------------------------------------------------


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link opens (in any status: the page says what became of it), or None
    for an unknown token."""
    if not token or len(token) > 100:
        return None
    found = db.session.scalar(
        select(InvitationToken).where(InvitationToken.token_hash == token_hash(token))
    )
    return found.invitation if found is not None else None


def mark_opened(invitation: Invitation, now: datetime | None = None, *, actor: Actor) -> bool:
    """The link was visited: "sent" becomes "opened" (once; audited). True if it changed."""
    now = now or utcnow()
    changed = rowcount(
        db.session.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation.id,
                Invitation.status == InvitationStatus.SENT,
                Invitation.expires_at > now,
            )
            .values(status=InvitationStatus.OPENED, opened_at=now, status_changed_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if changed:
        db.session.refresh(invitation)
        record(
            "invitation.open",
            object_type="invitation",
            object_id=invitation.id,
            event_id=invitation.event_id,
            actor=actor,
            detail=status_detail(InvitationStatus.SENT, InvitationStatus.OPENED),
        )
    return bool(changed)


def _locked(invitation: Invitation) -> Invitation:
    lock_event_seats(invitation.event_id)
    db.session.refresh(invitation)
    if invitation.reservation is not None:
        db.session.refresh(invitation.reservation)
    return invitation


def _usable(invitation: Invitation, now: datetime) -> None:
    shown = invitation.shown_status(now)
    if shown not in OPEN_STATUSES:
        raise DomainError(_("This invitation can no longer be used."))


def _release(reservation: SeatReservation | None, reason: ReleaseReason, now: datetime) -> bool:
    """Stop a reservation holding places (the caller holds the seat lock); True if it held
    some, so that the waitlist may move up."""
    if reservation is None or reservation.released_at is not None:
        return False
    # Lapsed or not: a reservation not yet released was counted until its deadline, and no
    # release job has moved the waitlist up for it yet.
    held = reservation.places > 0
    reservation.released_at = now
    reservation.release_reason = reason
    db.session.flush()
    return held


def accept(
    invitation: Invitation,
    data: RegistrationInput,
    now: datetime | None = None,
    *,
    actor: Actor,
) -> RegistrationResult:
    """Register through the invitation: its address and category, its reserved seat if it
    still holds one (confirmed even when the event is full); otherwise the usual rules (review,
    waitlist). An address that was registered already keeps that registration (it is emailed
    again, as the public form does) and the reserved seat goes to the waitlist. Raises
    DomainError (used, declined, revoked, expired), RegistrationClosed or SeatsBusy."""
    now = now or utcnow()
    invitation = _locked(invitation)
    _usable(invitation, now)
    reservation = invitation.reservation
    holding = reservation is not None and reservation.holds_places(now)
    result = register_attendee(
        invitation.event_id,
        replace(data, email=invitation.email, category=invitation.category),
        now,
        actor=actor,
        admission=Admission(
            until=invitation.expires_at,
            reservation_id=reservation.id if reservation is not None and holding else None,
        ),
    )
    before = invitation.status
    invitation.status = InvitationStatus.REGISTERED
    invitation.status_changed_at = now
    invitation.registration_id = result.registration.id
    invitation.remind_at = None
    if not result.created and _release(reservation, ReleaseReason.USED, now):
        refill_from_waitlist(invitation.event, actor=actor)
    db.session.flush()
    record(
        "invitation.accept",
        object_type="invitation",
        object_id=invitation.id,
        event_id=invitation.event_id,
        actor=actor,
        detail=status_detail(
            before,
            InvitationStatus.REGISTERED,
            registration=result.registration.id,
            reserved_seat_used=holding and result.created,
        ),
    )
    return result


def _close(
    invitation: Invitation,
    status: InvitationStatus,
    reason: ReleaseReason,
    action: str,
    now: datetime,
    *,
    actor: Actor,
) -> list[Registration]:
    before = invitation.status
    invitation.status = status
    invitation.status_changed_at = now
    invitation.remind_at = None
    freed = _release(invitation.reservation, reason, now)
    # Its emails still waiting are withdrawn: a revoked invitation must not arrive after all.
    withdrawn = withdraw_queued(INVITATION_LINK, invitation.id)
    record(
        action,
        object_type="invitation",
        object_id=invitation.id,
        event_id=invitation.event_id,
        actor=actor,
        detail=status_detail(before, status, seat_released=freed,
                             **({"emails_withdrawn": withdrawn} if withdrawn else {})),
    )
    db.session.flush()
    return refill_from_waitlist(invitation.event, actor=actor) if freed else []


def decline(
    invitation: Invitation, now: datetime | None = None, *, actor: Actor
) -> list[Registration]:
    """The invitee declines: the link stops working and a reserved seat goes to the waitlist at
    once. Returns who moved up. Raises DomainError when the invitation can no longer be used."""
    now = now or utcnow()
    invitation = _locked(invitation)
    _usable(invitation, now)
    return _close(
        invitation,
        InvitationStatus.DECLINED,
        ReleaseReason.DECLINED,
        "invitation.decline",
        now,
        actor=actor,
    )


def revoke(
    invitation: Invitation, now: datetime | None = None, *, actor: Actor
) -> list[Registration]:
    """Staff withdraw an invitation that was not answered (expired ones too): its link stops
    working and a reserved seat goes to the waitlist. Returns who moved up."""
    now = now or utcnow()
    invitation = _locked(invitation)
    if invitation.status not in OPEN_STATUSES:
        raise DomainError(_("Only an invitation that was not answered can be revoked."))
    return _close(
        invitation,
        InvitationStatus.REVOKED,
        ReleaseReason.REVOKED,
        "invitation.revoke",
        now,
        actor=actor,
    )


def resend(invitation: Invitation, now: datetime | None = None, *, actor: Actor) -> None:
    """Email the invitation again (a new link; the earlier ones keep working)."""
    now = now or utcnow()
    db.session.refresh(invitation)
    _usable(invitation, now)
    invitation.sent_count += 1
    db.session.flush()
    record(
        "invitation.resend",
        object_type="invitation",
        object_id=invitation.id,
        event_id=invitation.event_id,
        actor=actor,
        detail={"sent": invitation.sent_count},
    )
    _send(invitation, "invitation")


# --- the status list ----------------------------------------------------------------------------


def status_counts(event: Event, now: datetime | None = None) -> dict[InvitationStatus, int]:
    """How many of the event's invitations are shown in each status (zero included)."""
    now = now or utcnow()
    counts = dict.fromkeys(InvitationStatus, 0)
    for invitation in db.session.scalars(select(Invitation).where(Invitation.event_id == event.id)):
        counts[invitation.shown_status(now)] += 1
    return counts


def invitations_of(
    event: Event, status: InvitationStatus | None = None, now: datetime | None = None
) -> list[Invitation]:
    """The event's invitations, newest first, optionally in one shown status."""
    query = select(Invitation).where(Invitation.event_id == event.id)
    if status is not None:
        query = query.where(Invitation.shown_as(status, now or utcnow()))
    return list(db.session.scalars(query.order_by(Invitation.id.desc())))


def reserved_count(event: Event, now: datetime | None = None) -> int:
    """Seats reserved for the event's invitations right now."""
    now = now or utcnow()
    return int(
        db.session.scalar(
            select(db.func.coalesce(db.func.sum(SeatReservation.places), 0)).where(
                SeatReservation.event_id == event.id, SeatReservation.holding(now)
            )
        )
        or 0
    )


# --- periodic jobs ------------------------------------------------------------------------------


@dataclass
class LapseReport:
    released: int = 0
    promoted: int = 0


def release_lapsed(now: datetime | None = None, *, actor: Actor) -> LapseReport:
    """Mark every reservation whose deadline passed as lapsed and give the seats to the
    waitlist, per event under its seat lock (audited, the promoted emailed). A lapsed seat was
    already free to anyone registering; this moves the waitlist up (a registration does the
    same for its event before it counts, `release_lapsed_holds`). Safe in several workers."""
    now = now or utcnow()
    report = LapseReport()
    event_ids = sorted(
        db.session.scalars(
            select(SeatReservation.event_id)
            .where(SeatReservation.released_at.is_(None), SeatReservation.held_until <= now)
            .distinct()
        )
    )
    for event_id in event_ids:
        lock_event_seats(event_id)
        event = db.session.get(Event, event_id)
        if event is None:
            continue
        released, promoted = release_lapsed_holds(event, now, actor=actor)
        report.released += released
        report.promoted += promoted
    return report


def send_reminders(now: datetime | None = None) -> int:
    """Queue the reminder of every open invitation whose time has come (once each: the row is
    claimed by a conditional UPDATE, so two workers never both send it)."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.status.in_(OPEN_STATUSES),
            Invitation.remind_at <= now,
            Invitation.reminded_at.is_(None),
            Invitation.expires_at > now,
        )
        .order_by(Invitation.id)
    ).all()
    sent = 0
    for invitation in due:
        claimed = rowcount(
            db.session.execute(
                update(Invitation)
                .where(
                    Invitation.id == invitation.id,
                    Invitation.reminded_at.is_(None),
                    Invitation.status.in_(OPEN_STATUSES),
                )
                .values(reminded_at=now, remind_at=None)
                .execution_options(synchronize_session=False)
            )
        )
        if not claimed:
            continue
        db.session.refresh(invitation)
        record(
            "invitation.remind",
            object_type="invitation",
            object_id=invitation.id,
            event_id=invitation.event_id,
            actor=SYSTEM,
        )
        _send(invitation, "invitation_reminder")
        sent += 1
    return sent


@periodic_task("invitations.release_lapsed")
def _release_task() -> LapseReport:
    return release_lapsed(actor=SYSTEM)


@periodic_task("invitations.send_reminders")
def _remind_task() -> int:
    return send_reminders()
