"""Delegations and partner blocks: a block of places of one category that one contact fills.

Staff give a group N places (a delegation's focal point, or an approved partnership's contact).
Under the event's seat lock the N places must fit the event's capacity and the category's cap;
a `SeatReservation` of N places then holds them until the group's "changes until" deadline, and
the contact is emailed a private link (a token per email, only its hash stored, made when the
outbox sends it, as for invitations).

Through the link the contact registers members, one place each: each member is an ordinary
registration (`register_attendee` with the group's admission) with their own details,
language, needs and check-in code, and an email address of their own or none (their emails then
go to the contact, notify.py). Until the deadline the contact may replace a member (one
transaction: the old member is cancelled, their place goes back to the group and the new member
takes it) or remove one (cancelled, the place goes back to the group, not to the public). At
the deadline the places nobody used lapse and go to the waitlist (`release_lapsed`). Staff may
revoke a group: the link stops working, unused places go to the waitlist at once, members
already registered stay.

Every change takes the seat lock first and re-reads the group and its reservation, so group
members, invitations and the public never take more seats than there are.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from nkhr_events.audit.services import Actor, record
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.extensions import db
from nkhr_events.invitations.models import (
    GroupKind,
    GroupStatus,
    RegistrationGroup,
    RegistrationGroupToken,
    ReleaseReason,
    SeatReservation,
)
from nkhr_events.invitations.services import check_places, event_starts, hold_end
from nkhr_events.outbox.models import SECRET_PLACEHOLDER
from nkhr_events.outbox.services import LateSecret, enqueue_email, secret_maker, withdraw_queued
from nkhr_events.partners.models import Partnership, PartnershipStatus
from nkhr_events.registrations.categories import category_name
from nkhr_events.registrations.models import (
    ACTIVE_STATUSES,
    SEAT_STATUSES,
    Registration,
)
from nkhr_events.registrations.seats import lock_event_seats
from nkhr_events.registrations.services import (
    Admission,
    RegistrationInput,
    active_registration,
    cancel_registration,
    category_settings,
    email_key,
    refill_from_waitlist,
    register_attendee,
)
from nkhr_events.tokens import new_token, token_hash
from nkhr_events.validators import LANGUAGES

#: The contact's private link in the group's emails (outbox/services.py, `LateSecret`).
GROUP_LINK = "group-link"
#: The most places one group may be given (a larger block is several groups).
MAX_PLACES = 500


@dataclass
class GroupInput:
    """A group as staff describe it (from the staff form or a test)."""

    name: str
    category: str
    places: int
    changes_until: date
    contact_name: str
    contact_email: str
    contact_language: str
    kind: GroupKind = GroupKind.DELEGATION
    partnership_id: int | None = None


# --- checking ---------------------------------------------------------------------------------


def group_categories(event: Event) -> list[str]:
    """The categories a group may register into: every enabled one, by invitation only or
    not (the group's link is an admission of its own)."""
    return [c for c, s in category_settings(event).items() if s.enabled]


def check_changes_until(event: Event, day: date, now: datetime | None = None) -> datetime:
    """The end of the group's deadline day on the event's clock, or DomainError
    ("changes_until") when it is past or not before the event."""
    until = hold_end(event, day)
    if until > event_starts(event):
        raise DomainError(_("Choose a day before the event starts."), "changes_until")
    if until <= (now or utcnow()):
        raise DomainError(_("Choose a day that has not passed."), "changes_until")
    return until


def _checked(event: Event, data: GroupInput, now: datetime) -> tuple[GroupInput, datetime]:
    name = data.name.strip()
    if not name:
        raise DomainError(_("Enter the group's name."), "name")
    if len(name) > 200:
        raise DomainError(_("Use at most %(n)d characters.", n=200), "name")
    contact = data.contact_name.strip()
    if not contact:
        raise DomainError(_("Enter the name."), "contact_name")
    if len(contact) > 200:
        raise DomainError(_("Use at most %(n)d characters.", n=200), "contact_name")
    try:
        address, _key = email_key(data.contact_email)
    except DomainError as error:
        raise DomainError(error.message, "contact_email") from error
    language = data.contact_language.strip().lower()
    if language not in LANGUAGES:
        raise DomainError(_("Unknown language: use en, ko or ja."), "contact_language")
    if data.category not in group_categories(event):
        raise DomainError(_("This category is not enabled for this event."), "category")
    if not 1 <= data.places <= MAX_PLACES:
        raise DomainError(
            _("Give between %(low)d and %(high)d places.", low=1, high=MAX_PLACES), "places"
        )
    until = check_changes_until(event, data.changes_until, now)
    clean = replace(data, name=name, contact_name=contact, contact_email=address,
                    contact_language=language)
    return clean, until


def partnership_for_places(partnership: Partnership) -> None:
    """Only an approved partnership is given places (DomainError otherwise)."""
    if partnership.status != PartnershipStatus.APPROVED:
        raise DomainError(_("Only an approved partner can be given places."))


# --- creating ---------------------------------------------------------------------------------


def create_group(
    event: Event, data: GroupInput, now: datetime | None = None, *, actor: Actor
) -> RegistrationGroup:
    """Give a delegation or a partner `data.places` places: reserved at once, under the seat
    lock, until the deadline day; the contact is emailed their link in their language. Raises
    DomainError beside the field at fault ("places" when they do not fit the event or the
    category's cap) or SeatsBusy."""
    now = now or utcnow()
    lock_event_seats(event.id)
    db.session.refresh(event)
    if event.status != EventStatus.PUBLISHED or now >= event_starts(event):
        raise DomainError(
            _("Places can be given only for a published event that has not started.")
        )
    clean, until = _checked(event, data, now)
    if clean.partnership_id is not None:
        partnership = db.session.get(Partnership, clean.partnership_id)
        if partnership is None or partnership.event_id != event.id:
            raise DomainError(_("Only an approved partner can be given places."))
        partnership_for_places(partnership)
    try:
        check_places(event, Counter({clean.category: clean.places}), category_settings(event))
    except DomainError as error:
        raise DomainError(error.message, "places") from error
    reservation = SeatReservation(
        event_id=event.id, category=clean.category, places=clean.places, held_until=until,
        created_at=now,
    )
    db.session.add(reservation)
    group = RegistrationGroup(
        event=event,
        kind=clean.kind,
        name=clean.name,
        partnership_id=clean.partnership_id,
        category=clean.category,
        places=clean.places,
        reservation=reservation,
        contact_name=clean.contact_name,
        contact_email=clean.contact_email,
        contact_email_key=email_key(clean.contact_email)[1],
        contact_language=clean.contact_language,
        changes_until=until,
        status=GroupStatus.OPEN,
        created_at=now,
    )
    db.session.add(group)
    db.session.flush()
    record(
        "group.create",
        object_type="registration_group",
        object_id=group.id,
        event_id=event.id,
        actor=actor,
        detail={
            "kind": str(clean.kind),
            "category": clean.category,
            "places": clean.places,
            "changes_until": until.isoformat(),
            "partnership": clean.partnership_id,
        },
    )
    _send_link(group)
    return group


# --- reading ----------------------------------------------------------------------------------


def groups_of(event: Event) -> list[RegistrationGroup]:
    """The event's groups, newest first."""
    return list(db.session.scalars(
        select(RegistrationGroup)
        .where(RegistrationGroup.event_id == event.id)
        .order_by(RegistrationGroup.id.desc())
    ))


def member_counts(event: Event) -> dict[int, int]:
    """Members holding a seat (confirmed or pending), by group."""
    rows = db.session.execute(
        select(Registration.group_id, func.count(Registration.id))
        .where(Registration.event_id == event.id, Registration.group_id.is_not(None),
               Registration.status.in_(SEAT_STATUSES))
        .group_by(Registration.group_id)
    ).all()
    return {int(group_id or 0): int(count) for group_id, count in rows}


def members_of(group: RegistrationGroup) -> list[Registration]:
    """The group's active members (pending, confirmed, waitlisted), in the order added."""
    return list(db.session.scalars(
        select(Registration)
        .where(Registration.group_id == group.id, Registration.status.in_(ACTIVE_STATUSES))
        .order_by(Registration.id)
    ))


def places_left(group: RegistrationGroup, now: datetime | None = None) -> int:
    """Places the contact may still fill: what the group's reservation holds now."""
    reservation = group.reservation
    if group.status != GroupStatus.OPEN or reservation is None:
        return 0
    return reservation.places if reservation.holds_places(now or utcnow()) else 0


def group_for_token(token: str) -> RegistrationGroup | None:
    """The group a contact's link opens (revoked or past its deadline too: the page says so),
    or None for an unknown token or a group whose contact was erased."""
    if not token or len(token) > 100:
        return None
    found = db.session.scalar(
        select(RegistrationGroupToken).where(RegistrationGroupToken.token_hash == token_hash(token))
    )
    if found is None or found.group.contact_anonymized_at is not None:
        return None
    return found.group


def member_of(group: RegistrationGroup, registration_id: int) -> Registration | None:
    """One of the group's active members, or None."""
    return db.session.scalar(
        select(Registration).where(
            Registration.id == registration_id,
            Registration.group_id == group.id,
            Registration.status.in_(ACTIVE_STATUSES),
        )
    )


# --- the contact's changes ----------------------------------------------------------------------


def _locked(group: RegistrationGroup) -> RegistrationGroup:
    lock_event_seats(group.event_id)
    db.session.refresh(group)
    if group.reservation is not None:
        db.session.refresh(group.reservation)
    return group


def _check_open(group: RegistrationGroup, now: datetime) -> None:
    if group.status != GroupStatus.OPEN:
        raise DomainError(_("The organizers have closed this group's link."))
    if now >= group.changes_until:
        raise DomainError(_("The deadline for changes to this group has passed."))


def _check_address(group: RegistrationGroup, data: RegistrationInput) -> None:
    """A member with an address must not be registered already: the group would hold a
    second seat for one person."""
    if not data.email.strip():
        return
    if active_registration(group.event_id, email_key(data.email)[1]) is not None:
        raise DomainError(
            _("Someone with this email address is already registered for this event."), "email"
        )


def _admission(group: RegistrationGroup) -> Admission:
    return Admission(
        until=group.changes_until,
        reservation_id=group.reservation_id,
        group_id=group.id,
        email_optional=True,
    )


def _register(
    group: RegistrationGroup, data: RegistrationInput, now: datetime, actor: Actor
) -> Registration:
    if places_left(group, now) < 1:
        raise DomainError(_("Every place of this group is taken."))
    _check_address(group, data)
    result = register_attendee(
        group.event_id, replace(data, category=group.category), now,
        actor=actor, admission=_admission(group),
    )
    return result.registration


def add_member(
    group: RegistrationGroup, data: RegistrationInput, now: datetime | None = None, *,
    actor: Actor,
) -> Registration:
    """Register one member into one of the group's places (confirmed at once). Raises
    DomainError (closed, no place left, address registered already, a field at fault),
    RegistrationClosed or SeatsBusy."""
    now = now or utcnow()
    group = _locked(group)
    _check_open(group, now)
    member = _register(group, data, now, actor)
    record("group.add", object_type="registration_group", object_id=group.id,
           event_id=group.event_id, actor=actor, detail={"registration": member.id})
    return member


def _give_back(group: RegistrationGroup, member: Registration, now: datetime, actor: Actor) -> None:
    """Cancel `member` and return their place to the group's reservation (re-opened if it was
    released as used). The place goes back before the cancellation frees the seat, so the
    count never drops and the waitlist does not take it."""
    reservation = group.reservation
    if member.holds_seat and reservation is not None and reservation.held_until > now:
        reservation.places += 1
        if reservation.release_reason == ReleaseReason.USED:
            reservation.released_at = None
            reservation.release_reason = None
        db.session.flush()
    cancel_registration(member, actor=actor)


def _member(group: RegistrationGroup, registration_id: int) -> Registration:
    member = member_of(group, registration_id)
    if member is None:
        raise DomainError(_("This person is not a member of the group any more."))
    return member


def remove_member(
    group: RegistrationGroup, registration_id: int, now: datetime | None = None, *,
    actor: Actor,
) -> None:
    """Cancel a member (they are emailed); their place goes back to the group."""
    now = now or utcnow()
    group = _locked(group)
    _check_open(group, now)
    member = _member(group, registration_id)
    _give_back(group, member, now, actor)
    record("group.remove", object_type="registration_group", object_id=group.id,
           event_id=group.event_id, actor=actor, detail={"registration": member.id})


def replace_member(
    group: RegistrationGroup, registration_id: int, data: RegistrationInput,
    now: datetime | None = None, *, actor: Actor,
) -> Registration:
    """Put another person in a member's place, in one transaction under the seat lock: the
    old member is cancelled, the place returns to the group and the new member takes it.
    Audited with both registration ids (no names). Raises as `add_member`; on any error the
    caller rolls back and nothing changed."""
    now = now or utcnow()
    group = _locked(group)
    _check_open(group, now)
    old = _member(group, registration_id)
    _give_back(group, old, now, actor)
    new = _register(group, data, now, actor)
    record("group.replace", object_type="registration_group", object_id=group.id,
           event_id=group.event_id, actor=actor,
           detail={"cancelled": old.id, "registration": new.id})
    return new


# --- staff actions ------------------------------------------------------------------------------


def _withdraw_links(group: RegistrationGroup) -> int:
    return withdraw_queued(GROUP_LINK, group.id)


def revoke_group(
    group: RegistrationGroup, now: datetime | None = None, *, actor: Actor
) -> list[Registration]:
    """Staff close a group: its link stops working, its unused places go to the waitlist at
    once; members already registered stay. Returns who moved up."""
    now = now or utcnow()
    group = _locked(group)
    if group.status == GroupStatus.REVOKED:
        raise DomainError(_("This group is already revoked."))
    group.status = GroupStatus.REVOKED
    group.revoked_at = now
    reservation = group.reservation
    released = 0
    if reservation is not None and reservation.released_at is None:
        released = reservation.places if reservation.held_until > now else 0
        reservation.released_at = now
        reservation.release_reason = ReleaseReason.REVOKED
    withdrawn = _withdraw_links(group)
    db.session.flush()
    record("group.revoke", object_type="registration_group", object_id=group.id,
           event_id=group.event_id, actor=actor,
           detail={"places_released": released,
                   **({"emails_withdrawn": withdrawn} if withdrawn else {})})
    return refill_from_waitlist(group.event, actor=actor) if released else []


def resend_link(group: RegistrationGroup, now: datetime | None = None, *, actor: Actor) -> None:
    """Email the contact their link again (a new token; the earlier links keep working)."""
    db.session.refresh(group)
    if group.status != GroupStatus.OPEN or group.contact_anonymized_at is not None:
        raise DomainError(_("The organizers have closed this group's link."))
    record("group.resend", object_type="registration_group", object_id=group.id,
           event_id=group.event_id, actor=actor)
    _send_link(group)


# --- privacy ------------------------------------------------------------------------------------


def erase_group_contacts(event_id: int, now: datetime | None = None, *, actor: Actor) -> int:
    """Blank the contact details of the event's groups (the retention purge): name, address
    and its key; their links stop working (tokens deleted) and members without an address get
    no more email. The groups and their members stay. Returns how many groups were erased."""
    now = now or utcnow()
    groups = list(db.session.scalars(
        select(RegistrationGroup).where(
            RegistrationGroup.event_id == event_id,
            RegistrationGroup.contact_anonymized_at.is_(None),
        )
    ))
    for group in groups:
        group.contact_name = ""
        group.contact_email = ""
        group.contact_email_key = ""
        group.contact_anonymized_at = now
        _withdraw_links(group)
        db.session.execute(
            delete(RegistrationGroupToken).where(RegistrationGroupToken.group_id == group.id)
        )
    db.session.flush()
    if groups:
        record("group.erase_contacts", object_type="event", object_id=event_id,
               event_id=event_id, actor=actor, detail={"groups": len(groups)})
    return len(groups)


# --- emails -------------------------------------------------------------------------------------


def group_url(token: str) -> str:
    return f"{current_app.config['NKHR_BASE_URL'].rstrip('/')}/group/{token}"


@secret_maker(GROUP_LINK)
def _group_token(group_id: int) -> str:
    group = db.session.get(RegistrationGroup, group_id)
    if group is None or group.contact_anonymized_at is not None:
        raise ValueError("the group of this link no longer exists")
    token = new_token()
    db.session.add(RegistrationGroupToken(group_id=group.id, token_hash=token_hash(token)))
    return token


def _send_link(group: RegistrationGroup) -> None:
    enqueue_email(
        to=group.contact_email,
        template="group_link",
        language=group.contact_language,
        context={
            "group": group,
            "event": group.event,
            "category": category_name(group.category),
            "places": group.places,
            "changes_until": group.reservation.shown_until
            if group.reservation is not None else group.changes_until,
            "link": group_url(SECRET_PLACEHOLDER),
        },
        secret=LateSecret(GROUP_LINK, group.id),
        event_id=group.event_id,
    )
