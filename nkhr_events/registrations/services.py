"""Registration rules: register, review, waitlist, cancel, change, and the private manage link.

One function per state change; each takes the event's seat lock first (see seats.py), changes
state, queues its emails through the outbox in the same transaction, and flushes. The caller
commits once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Literal

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from nkhr_events.audit.services import (
    SYSTEM,
    Actor,
    changed_since,
    column_values,
    record,
    status_detail,
)
from nkhr_events.checkin import services as checkin
from nkhr_events.database import in_written_values
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.events.services import RegistrationState, registration_state
from nkhr_events.events.texts import CONTENT_LANGUAGES, text_column
from nkhr_events.extensions import db
from nkhr_events.invitations.models import (
    OPEN_STATUSES,
    Invitation,
    InvitationStatus,
    ReleaseReason,
    SeatReservation,
)
from nkhr_events.names import full_name
from nkhr_events.outbox.requests import resolver
from nkhr_events.programme.signups import cancel_signups_of
from nkhr_events.registrations import interpretation as interpreting
from nkhr_events.registrations import notify
from nkhr_events.registrations.categories import (
    INVITATION_ONLY,
    QUESTIONS,
    REVIEWED_BY_DEFAULT,
    Category,
)
from nkhr_events.registrations.models import (
    ACTIVE_STATUSES,
    NO_EMAIL_PREFIX,
    EventCategory,
    Registration,
    RegistrationDay,
    RegistrationStatus,
)
from nkhr_events.registrations.seats import (
    fits,
    lock_event_seats,
    promote_from_waitlist,
    seats_taken,
    use_reserved_place,
)
from nkhr_events.tokens import new_token
from nkhr_events.validators import known_language

#: The event's own columns, re-read once the seat lock is held.
_EVENT_COLUMNS = [attribute.key for attribute in sa_inspect(Event).column_attrs]


class RegistrationClosed(DomainError):
    """The event is not taking registrations now (draft, archived, outside the window)."""


@dataclass
class RegistrationInput:
    """What an attendee submits (from the public form or a test)."""

    category: str
    given_name: str
    family_name: str
    email: str
    badge_name: str = ""
    organization: str = ""
    position: str = ""
    country: str = ""
    language: str = "en"
    answers: dict[str, str] = field(default_factory=dict)
    days: list[date] = field(default_factory=list)
    interpretation: str = "none"
    accessibility_needs: str = ""
    dietary_needs: str = ""
    privacy_consent: bool = False
    publish_name: bool = False
    photo_consent: bool = False
    do_not_publish: bool = False


@dataclass(frozen=True)
class Admission:
    """A way in other than the public form: an invitation (later also a partner's block or a
    delegation). It opens its category even where the category is by invitation only, until
    `until` (even when public registration has closed, never for an event that is not
    published), and may bring a reserved place (`reservation_id`, seats.py) that the
    registration takes instead of a free seat: then it is confirmed at once, even when the
    event is full or the category is reviewed (the organizers chose the person)."""

    until: datetime
    reservation_id: int | None = None
    #: The delegation or partner block the registration joins (invitations/models.py).
    group_id: int | None = None
    #: The person may have no email address (a group member, a protected guest): an empty
    #: address is then taken, with a unique placeholder key (`NO_EMAIL_PREFIX`).
    email_optional: bool = False
    #: Registered by staff, who chose the person: a reviewed category does not hold them for
    #: review (they still wait when no seat is free).
    by_staff: bool = False


@dataclass
class RegistrationResult:
    registration: Registration
    created: bool  # False: the address already had an active registration (it was emailed)


def email_key(address: str) -> tuple[str, str]:
    """The address as given (normalised) and the key compared for duplicates.

    Raises DomainError for an address that is not valid; no network lookup is made.
    """
    try:
        valid = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise DomainError(_("Enter a valid email address."), "email") from error
    return valid.normalized, valid.normalized.lower()


@dataclass
class CategoryDefaults:
    """A category's settings where the event has none saved: read like an `EventCategory`,
    but a plain object (every registration page reads all nine, and ORM objects cost more)."""

    event_id: int
    category: str
    enabled: bool = True
    seat_cap: int | None = None
    needs_review: bool = False
    extra_question: str | None = None
    extra_question_ko: str | None = None
    extra_question_ja: str | None = None
    by_invitation: bool = False
    id: None = None


#: A category's settings, saved or default.
CategorySettings = EventCategory | CategoryDefaults


def has_extra_question(settings: CategorySettings) -> bool:
    """Whether staff set an extra question for the category, in any language."""
    return any(
        (getattr(settings, text_column("extra_question", language)) or "").strip()
        for language in CONTENT_LANGUAGES
    )
#: What settings say, saved or default alike (the names both kinds share).
_SETTING_NAMES = tuple(f.name for f in fields(CategoryDefaults) if f.name not in ("id", "event_id"))


def setting_values(settings: CategorySettings) -> tuple[object, ...]:
    """The category's settings as plain values, to compare (a kept page's key)."""
    return tuple(getattr(settings, name) for name in _SETTING_NAMES)


def default_category_settings(event_id: int, category: Category) -> CategoryDefaults:
    return CategoryDefaults(
        event_id=event_id,
        category=category.value,
        enabled=category not in INVITATION_ONLY,
        needs_review=category in REVIEWED_BY_DEFAULT,
        by_invitation=category in INVITATION_ONLY,
    )


def category_settings(event: Event) -> dict[str, CategorySettings]:
    """Each category's settings for the event; defaults (not stored) where none are saved."""
    saved = {
        row.category: row
        for row in db.session.scalars(
            db.select(EventCategory).where(EventCategory.event_id == event.id)
        )
    }
    return {c.value: saved.get(c.value) or default_category_settings(event.id, c) for c in Category}


def _stored(settings: CategorySettings) -> EventCategory:
    """The category's settings as a row to change: the saved one, or a new one (added to the
    session) holding the defaults."""
    if isinstance(settings, EventCategory):
        return settings
    row = EventCategory(**{k: v for k, v in asdict(settings).items() if k != "id"})
    db.session.add(row)
    return row


def save_category_settings(
    event: Event, values: dict[str, dict[str, object]], *, actor: Actor
) -> list[Registration]:
    """Store staff-edited settings; the seat caps through `change_capacity`, which refuses a cap
    that does not fit (DomainError beside it). Returns who moved up from the waitlist. Only
    what differs from the current settings is written and recorded; settings sent back
    unchanged write nothing."""
    lock_event_seats(event.id)
    current = category_settings(event)
    changes: dict[str, dict[str, object]] = {}
    for category, wanted in values.items():
        if category in INVITATION_ONLY:
            wanted = {**wanted, "by_invitation": True}
        differ = {
            name: value for name, value in wanted.items()
            if getattr(current[category], name) != value
        }
        if differ:
            changes[category] = differ
    if not changes:
        return []
    caps: dict[str, int | None] = {}
    for category, differ in changes.items():
        row = _stored(current[category])
        for name, value in differ.items():
            if name == "seat_cap":
                caps[category] = value  # type: ignore[assignment]
            else:
                setattr(row, name, value)
    db.session.flush()
    record("event.categories", object_type="event", object_id=event.id, event_id=event.id,
           detail={"categories": changes}, actor=actor)
    return change_capacity(event, KEEP, category_caps=caps, actor=actor)


def _check_input(event: Event, data: RegistrationInput, by_staff: bool = False) -> None:
    if not data.privacy_consent:
        raise DomainError(_("Please accept the privacy notice to register."), "privacy_consent")
    # Staff may register a one-word name (a protected guest's pseudonym).
    if not data.given_name.strip() or not (data.family_name.strip() or by_staff):
        raise DomainError(_("Enter your name."), "given_name")
    held = set(event.day_list)
    if not set(data.days) <= held:
        raise DomainError(_("Choose days on which the event is held."), "days")
    interpreting.check_choice(event, data.interpretation)
    for question in QUESTIONS[Category(data.category)]:
        # Staff registering someone (a protected guest) need not ask what would identify them.
        if question.required and not by_staff and not data.answers.get(question.key, "").strip():
            raise DomainError(_("This question needs an answer."), question.key)


def confirmation_deadline(event: Event, now: datetime) -> datetime | None:
    """Until when a registration made `now` keeps its place unconfirmed (holds.py); None when
    the event asks for no email confirmation."""
    minutes = event.email_confirmation_minutes
    return now + timedelta(minutes=minutes) if minutes else None


def _new_status(
    event: Event, settings: CategorySettings, category: str, admission: Admission | None = None
) -> RegistrationStatus:
    if admission is not None and admission.reservation_id is not None:
        if use_reserved_place(admission.reservation_id, category):
            return RegistrationStatus.CONFIRMED
    if not fits(event, settings, category, seats_taken(event.id)):
        return RegistrationStatus.WAITLISTED
    if admission is not None and admission.by_staff:
        return RegistrationStatus.CONFIRMED
    return RegistrationStatus.PENDING if settings.needs_review else RegistrationStatus.CONFIRMED


def _accepting(event: Event | None, now: datetime, admission: Admission | None) -> bool:
    """Whether the event takes this registration now: through the public form while
    registration is open; through an admission while the event is published and the
    admission runs."""
    if event is None:
        return False
    if admission is not None:
        return event.status == EventStatus.PUBLISHED and now < admission.until
    return registration_state(event, now) == RegistrationState.OPEN


def active_registration(event_id: int, key: str) -> Registration | None:
    """The address's registration for the event that still counts (pending, confirmed or
    waitlisted): at most one, the database's partial unique index says so — and finds it,
    whatever the size of the event, because the statuses are written as the index writes them."""
    return db.session.scalar(
        select(Registration).where(
            Registration.event_id == event_id,
            Registration.email_key == key,
            in_written_values(Registration.status, ACTIVE_STATUSES),
        )
    )


def register_attendee(
    event_id: int,
    data: RegistrationInput,
    now: datetime | None = None,
    *,
    actor: Actor,
    admission: Admission | None = None,
) -> RegistrationResult:
    """Register for an event: confirmed, pending (review) or waitlisted — never overbooked.

    A second submission for an address that is already registered creates nothing; the address
    is emailed its existing registration instead, and the caller answers exactly as for a new
    one, so a stranger learns nothing. A category by invitation only takes registrations with
    an `admission` alone. Raises RegistrationClosed or DomainError.
    """
    now = now or utcnow()
    if admission is not None and admission.email_optional and not data.email.strip():
        address, key = "", NO_EMAIL_PREFIX + new_token()[:32]
    else:
        address, key = email_key(data.email)
    lock_event_seats(event_id)
    event = db.session.get(Event, event_id)
    if event is not None:
        # Read again under the lock: the row's columns only, so days already loaded stay.
        db.session.refresh(event, _EVENT_COLUMNS)
    if event is None or not _accepting(event, now, admission):
        raise RegistrationClosed(_("Registration for this event is not open."))
    try:
        category = Category(data.category)
    except ValueError as error:
        raise DomainError(_("Choose a category."), "category") from error
    settings = category_settings(event)[category.value]
    if not settings.enabled or (settings.by_invitation and admission is None):
        raise DomainError(_("This category is not open for this event."), "category")
    _check_input(event, data, admission is not None and admission.by_staff)

    existing = active_registration(event.id, key)
    if existing is not None:
        notify.already_registered(existing)
        return RegistrationResult(existing, created=False)

    invited = _open_invitations(event, key, now) if admission is None else []
    release_lapsed_holds(event, now, actor=SYSTEM)
    status = _new_status(event, settings, category.value, admission)
    days = sorted(set(data.days)) or event.day_list
    question_keys = {q.key for q in QUESTIONS[category]}
    if has_extra_question(settings):
        question_keys.add("extra")
    registration = Registration(
        event=event,
        category=category.value,
        status=status,
        given_name=data.given_name.strip(),
        family_name=data.family_name.strip(),
        badge_name=data.badge_name.strip() or full_name(data.given_name, data.family_name),
        email=address,
        email_key=key,
        organization=data.organization.strip(),
        position=data.position.strip(),
        country=data.country,
        language=known_language(data.language),
        answers={k: v.strip() for k, v in data.answers.items() if k in question_keys and v},
        days=[RegistrationDay(day=d) for d in days],
        interpretation=data.interpretation,
        accessibility_needs=data.accessibility_needs.strip(),
        dietary_needs=data.dietary_needs.strip(),
        privacy_consent_at=now,
        publish_name=data.publish_name,
        photo_consent=data.photo_consent,
        do_not_publish=data.do_not_publish,
        created_at=now,
        status_changed_at=now,
        waitlisted_at=now if status == RegistrationStatus.WAITLISTED else None,
        # A confirmed registration's email carries its check-in code: made here, not by a
        # later UPDATE (the others get theirs on first use, see checkin/services.py).
        checkin_salt=checkin.new_salt() if status == RegistrationStatus.CONFIRMED else None,
        # An invitation's link already proved the address: no confirmation to wait for.
        confirm_by=confirmation_deadline(event, now) if admission is None else None,
        email_confirmed_at=now if admission is not None and address else None,
        group_id=admission.group_id if admission is not None else None,
    )
    db.session.add(registration)
    db.session.flush()
    record("registration.create", object_type="registration", object_id=registration.id,
           event_id=event.id, actor=actor,
           detail={"status": str(status), "category": category.value})
    for invitation in invited:
        invitation.registration_id = registration.id
    notify.outcome(registration)
    if invited:
        # The person's own reserved place was freed before counting; what it left may go on.
        refill_from_waitlist(event, frozenset({registration.id}), actor=actor)
    return RegistrationResult(registration, created=True)


def _open_invitations(event: Event, key: str, now: datetime) -> list[Invitation]:
    """An invited person who registers through the public form instead: their open
    invitations of this event are answered (registered) and their reserved places freed
    before the seats are counted (the caller holds the seat lock), so that one person never
    holds two seats and gets no reminder for an invitation they have answered."""
    invited = list(db.session.scalars(
        db.select(Invitation).where(
            Invitation.event_id == event.id,
            Invitation.email_key == key,
            Invitation.status.in_(OPEN_STATUSES),
        )
    ))
    for invitation in invited:
        invitation.status = InvitationStatus.REGISTERED
        invitation.status_changed_at = now
        invitation.remind_at = None
        reservation = invitation.reservation
        if reservation is not None and reservation.released_at is None:
            reservation.released_at = now
            reservation.release_reason = ReleaseReason.USED
    if invited:
        db.session.flush()
    return invited


def _locked(registration: Registration) -> Registration:
    """Take the seat lock, then re-read the registration so its status is current."""
    lock_event_seats(registration.event_id)
    db.session.refresh(registration)
    return registration


def _set_status(registration: Registration, status: RegistrationStatus) -> None:
    registration.status = status
    registration.status_changed_at = utcnow()
    if status == RegistrationStatus.WAITLISTED:
        registration.waitlisted_at = utcnow()


def refill_from_waitlist(
    event: Event, exclude: frozenset[int] = frozenset(), *, actor: Actor
) -> list[Registration]:
    """Hand free seats to the waitlist (the caller holds the seat lock); audited as the system
    acting on `actor`'s change, emailed."""
    promoted = promote_from_waitlist(event, category_settings(event), notify.promoted, exclude)
    for moved in promoted:
        record("registration.promote", object_type="registration", object_id=moved.id,
               event_id=event.id, actor=actor.as_system(),
               detail=status_detail(RegistrationStatus.WAITLISTED, moved.status))
    return promoted


def release_lapsed_holds(event: Event, now: datetime, *, actor: Actor) -> tuple[int, int]:
    """Mark the event's reservations whose deadline passed as lapsed and hand their seats to
    the waitlist first (the caller holds the seat lock); returns how many reservations were
    released and how many people moved up.

    A lapsed reservation counts for nothing from its deadline on (seats.py), so the seat is
    free at once; releasing it here, before a registration counts, keeps the waitlist ahead
    of whoever registers between the deadline and the periodic release (invitations)."""
    lapsed = db.session.scalars(
        select(SeatReservation)
        .where(
            SeatReservation.event_id == event.id,
            SeatReservation.released_at.is_(None),
            SeatReservation.held_until <= now,
        )
        .order_by(SeatReservation.id)
        .execution_options(populate_existing=True)
    ).all()
    for reservation in lapsed:
        reservation.released_at = now
        reservation.release_reason = ReleaseReason.LAPSED
        record("reservation.lapse", object_type="seat_reservation", object_id=reservation.id,
               event_id=event.id, actor=actor,
               detail={"places": reservation.places, "category": reservation.category})
    if not lapsed:
        return 0, 0
    db.session.flush()
    return len(lapsed), len(refill_from_waitlist(event, actor=actor))


def cancel_registration(registration: Registration, *, actor: Actor) -> list[Registration]:
    """The attendee cancels; a held seat goes to the waitlist at once. Returns who moved up."""
    registration = _locked(registration)
    if registration.status not in ACTIVE_STATUSES:
        raise DomainError(_("This registration is already cancelled."))
    had_seat = registration.holds_seat
    was_confirmed = registration.status == RegistrationStatus.CONFIRMED
    record("registration.cancel", object_type="registration", object_id=registration.id,
           event_id=registration.event_id, actor=actor,
           detail=status_detail(registration.status, RegistrationStatus.CANCELLED))
    _set_status(registration, RegistrationStatus.CANCELLED)
    registration.sequence += 1
    db.session.flush()
    notify.cancelled(registration, send_calendar_cancel=was_confirmed)
    cancel_signups_of(registration, actor=actor)
    return refill_from_waitlist(registration.event, actor=actor) if had_seat else []


def approve_registration(registration: Registration, *, actor: Actor) -> None:
    """An organizer approves a pending registration: its held seat becomes confirmed."""
    registration = _locked(registration)
    if registration.status != RegistrationStatus.PENDING:
        raise DomainError(_("Only registrations awaiting review can be approved."))
    record("registration.approve", object_type="registration", object_id=registration.id,
           event_id=registration.event_id, actor=actor,
           detail=status_detail(registration.status, RegistrationStatus.CONFIRMED))
    _set_status(registration, RegistrationStatus.CONFIRMED)
    registration.decision_reason = None
    db.session.flush()
    notify.approved(registration)


def reject_registration(
    registration: Registration, reason: str = "", *, actor: Actor
) -> list[Registration]:
    """An organizer rejects a pending, waitlisted or confirmed registration; seats refill."""
    registration = _locked(registration)
    if registration.status not in ACTIVE_STATUSES:
        raise DomainError(_("This registration is no longer active."))
    had_seat = registration.holds_seat
    was_confirmed = registration.status == RegistrationStatus.CONFIRMED
    record("registration.reject", object_type="registration", object_id=registration.id,
           event_id=registration.event_id, actor=actor,
           detail=status_detail(registration.status, RegistrationStatus.REJECTED))
    _set_status(registration, RegistrationStatus.REJECTED)
    registration.decision_reason = reason.strip() or None
    registration.sequence += 1
    db.session.flush()
    notify.rejected(registration, send_calendar_cancel=was_confirmed)
    cancel_signups_of(registration, actor=actor)
    return refill_from_waitlist(registration.event, actor=actor) if had_seat else []


def move_to_waitlist(registration: Registration, *, actor: Actor) -> list[Registration]:
    """An organizer moves a pending or confirmed registration to the end of the waitlist."""
    registration = _locked(registration)
    if not registration.holds_seat:
        raise DomainError(_("Only registrations holding a seat can be moved to the waitlist."))
    record("registration.waitlist", object_type="registration", object_id=registration.id,
           event_id=registration.event_id, actor=actor,
           detail=status_detail(registration.status, RegistrationStatus.WAITLISTED))
    _set_status(registration, RegistrationStatus.WAITLISTED)
    db.session.flush()
    notify.waitlisted_by_staff(registration)
    cancel_signups_of(registration, actor=actor)
    # The freed seat goes to whoever waited before; the moved registration waits its turn.
    return refill_from_waitlist(registration.event, exclude=frozenset({registration.id}),
                                actor=actor)


class _Keep(Enum):
    KEEP = "keep"


#: `change_capacity(event, KEEP, category_caps=...)`: the event's capacity stays as it is.
KEEP = _Keep.KEEP


def change_capacity(
    event: Event,
    capacity: int | None | Literal[_Keep.KEEP],
    category_caps: Mapping[str, int | None] | None = None,
    *,
    actor: Actor,
) -> list[Registration]:
    """The one place an event's capacity and its categories' seat caps change (None: no limit).

    Under the seat lock, counted afresh: refuses a new capacity below the seats taken, a new
    cap below its category's seats taken, and any cap given above the capacity (DomainError
    beside the field: "capacity", "<category>-seat_cap"); else writes them and gives the seats
    this frees to the waitlist at once, in the caller's transaction. Returns who moved up
    (audited and emailed by `refill_from_waitlist`); the caller records the edit itself
    (`event.update`, `event.categories`). Raises SeatsBusy when the lock is not free in time.
    """
    lock_event_seats(event.id)
    db.session.refresh(event, ["capacity"])
    taken = seats_taken(event.id)
    new_capacity = event.capacity if capacity is KEEP else capacity
    if new_capacity is not None and new_capacity != event.capacity and new_capacity < taken[None]:
        raise DomainError(
            _("%(n)d seats are already taken; the capacity cannot be lower.", n=taken[None]),
            "capacity",
        )
    current = category_settings(event)
    for category, cap in (category_caps or {}).items():
        if cap is None:
            continue
        if new_capacity is not None and cap > new_capacity:
            raise DomainError(
                _(
                    "A category's seats cannot exceed the event's capacity (%(n)d).",
                    n=new_capacity,
                ),
                f"{category}-seat_cap",
            )
        held = taken.get(category, 0)
        if cap != current[category].seat_cap and cap < held:
            raise DomainError(
                _(
                    "%(n)d seats in this category are already taken; the seat cap cannot be "
                    "lower.",
                    n=held,
                ),
                f"{category}-seat_cap",
            )
    event.capacity = new_capacity
    for category, cap in (category_caps or {}).items():
        if cap != current[category].seat_cap:
            _stored(current[category]).seat_cap = cap
    db.session.flush()
    return refill_from_waitlist(event, actor=actor)


def status_counts_by_event(event_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many registrations each event has in each status (one query)."""
    counts: dict[int, dict[str, int]] = {event_id: {} for event_id in event_ids}
    if not event_ids:
        return counts
    rows = db.session.execute(
        db.select(Registration.event_id, Registration.status, db.func.count(Registration.id))
        .where(Registration.event_id.in_(event_ids))
        .group_by(Registration.event_id, Registration.status)
    )
    for event_id, status, count in rows:
        counts[event_id][status] = count
    return counts


#: The kind of mail request (outbox/requests.py) that "send my links again" becomes.
LOST_LINK = "lost_link"


@resolver(LOST_LINK)
def _resolve_lost_link(email: str, _language: str) -> None:
    send_lost_links(email)


def send_lost_links(address: str) -> int:
    """Email fresh links for every active registration of an address in events not yet over.

    Returns how many were sent; callers must not show it (the answer is the same either way).
    """
    try:
        _normalized, key = email_key(address)
    except DomainError:
        return 0
    registrations = db.session.scalars(
        db.select(Registration)
        .join(Registration.event)
        .where(
            Registration.email_key == key,
            Registration.status.in_(ACTIVE_STATUSES),
            Event.end_date >= utcnow().date() - timedelta(days=1),
        )
    ).all()
    for registration in registrations:
        notify.lost_link(registration)
    return len(registrations)


@dataclass
class DetailsInput:
    """What an attendee may change without a new review."""

    given_name: str
    family_name: str
    badge_name: str
    organization: str
    position: str
    country: str
    language: str
    days: list[date]
    interpretation: str
    accessibility_needs: str
    dietary_needs: str
    publish_name: bool
    photo_consent: bool
    do_not_publish: bool = False


def update_details(
    registration: Registration, data: DetailsInput, *, actor: Actor, by_staff: bool = False
) -> list[str]:
    """Change the details that need no new review; raises DomainError on bad values. Returns
    the names of what changed ("day_list" for the days attended).

    When something changed, the attendee is emailed a summary and an attendee's own edit is
    recorded (a staff edit is recorded by the caller). When nothing changed, nothing is
    written, recorded or sent.
    """
    if registration.status not in ACTIVE_STATUSES:
        raise DomainError(_("A cancelled registration cannot be changed."))
    held = set(registration.event.day_list)
    if not set(data.days) <= held:
        raise DomainError(_("Choose days on which the event is held."), "days")
    # A channel the event has stopped offering stays valid for whoever already chose it.
    interpreting.check_choice(
        registration.event, data.interpretation, kept=registration.interpretation
    )
    before = column_values(registration)
    days_before = registration.day_list
    registration.given_name = data.given_name.strip()
    registration.family_name = data.family_name.strip()
    registration.badge_name = data.badge_name.strip() or registration.full_name
    registration.organization = data.organization.strip()
    registration.position = data.position.strip()
    registration.country = data.country
    registration.language = known_language(data.language)
    days = sorted(set(data.days)) or registration.event.day_list
    if days != days_before:
        kept = {d.day: d for d in registration.days}
        registration.days = [kept.get(d) or RegistrationDay(day=d) for d in days]
    registration.interpretation = data.interpretation
    registration.accessibility_needs = data.accessibility_needs.strip()
    registration.dietary_needs = data.dietary_needs.strip()
    registration.publish_name = data.publish_name
    registration.photo_consent = data.photo_consent
    registration.do_not_publish = data.do_not_publish
    changed = changed_since(before, registration) + (["day_list"] if days != days_before else [])
    if not changed:
        return []
    if not by_staff:
        record("registration.update", object_type="registration", object_id=registration.id,
               event_id=registration.event_id, actor=actor, detail={"fields": changed})
    db.session.flush()
    notify.details_changed(
        registration, by_staff=by_staff, days_before=days_before if days != days_before else None
    )
    return changed
