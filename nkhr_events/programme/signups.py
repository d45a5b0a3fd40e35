"""Sign-up for sessions with limited places (roundtables, side events, receptions).

A session's places are counted exactly as an event's seats are (registrations/seats.py): every
change that takes or frees a place first takes the EVENT's seat lock (`lock_event_seats`), then
counts, so `pending + confirmed <= capacity` holds per session under any number of concurrent
requests, on SQLite and on PostgreSQL, and session places and event seats never wait for each
other in two orders. A freed place goes to the earliest waitlisted sign-up of the session in the
same transaction, and that person is emailed in their own language through the outbox.

Only a registration that holds a seat (pending or confirmed) signs up. When it loses its seat
(cancelled, rejected, released, moved to the waitlist, erased) `cancel_signups_of` frees its
places. Services add and flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from nkhr_events.audit.services import Actor, record, status_detail
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.models import SECRET_PLACEHOLDER
from nkhr_events.outbox.services import LateSecret, enqueue_email
from nkhr_events.programme.models import (
    SIGNUP_ACTIVE,
    SIGNUP_KINDS,
    SIGNUP_SEATED,
    ProgrammeSession,
    SessionSignup,
    SignupStatus,
)
from nkhr_events.registrations import notify
from nkhr_events.registrations.models import Registration
from nkhr_events.registrations.seats import lock_event_seats


class SignupRefused(DomainError):
    """The sign-up cannot be made or changed (no seat, session closed, already decided)."""


@dataclass(frozen=True)
class SessionCount:
    """A session's places now: taken (pending + confirmed) and people waiting."""

    taken: int = 0
    waiting: int = 0

    def places_left(self, capacity: int | None) -> int | None:
        return None if capacity is None else max(capacity - self.taken, 0)


def takes_signups(session: ProgrammeSession) -> bool:
    """Whether attendees sign up for the session (a kind that may, with sign-up on)."""
    return session.signup and session.kind in SIGNUP_KINDS


def signup_sessions(event_id: int) -> list[ProgrammeSession]:
    """The event's sessions with sign-up, in programme order (public or not)."""
    sessions = db.session.scalars(
        select(ProgrammeSession)
        .where(ProgrammeSession.event_id == event_id, ProgrammeSession.signup.is_(True))
        .order_by(ProgrammeSession.day, ProgrammeSession.starts_at, ProgrammeSession.id)
    )
    return [s for s in sessions if takes_signups(s)]


def counts(event_id: int) -> dict[int, SessionCount]:
    """Places taken and people waiting, per session of the event (one query)."""
    rows = db.session.execute(
        select(SessionSignup.session_id, SessionSignup.status, func.count(SessionSignup.id))
        .join(ProgrammeSession, ProgrammeSession.id == SessionSignup.session_id)
        .where(ProgrammeSession.event_id == event_id, SessionSignup.status.in_(SIGNUP_ACTIVE))
        .group_by(SessionSignup.session_id, SessionSignup.status)
    ).all()
    taken: dict[int, int] = {}
    waiting: dict[int, int] = {}
    for session_id, status, count in rows:
        target = waiting if status == SignupStatus.WAITLISTED else taken
        target[session_id] = target.get(session_id, 0) + int(count)
    return {
        session_id: SessionCount(taken.get(session_id, 0), waiting.get(session_id, 0))
        for session_id in taken.keys() | waiting.keys()
    }


def places_taken(session_id: int) -> int:
    return int(db.session.scalar(
        select(func.count(SessionSignup.id)).where(
            SessionSignup.session_id == session_id, SessionSignup.status.in_(SIGNUP_SEATED)
        )
    ) or 0)


def active_signup(session_id: int, registration_id: int) -> SessionSignup | None:
    """The registration's sign-up for the session that still counts (at most one: the
    partial unique index says so)."""
    return db.session.scalar(
        select(SessionSignup).where(
            SessionSignup.session_id == session_id,
            SessionSignup.registration_id == registration_id,
            SessionSignup.status.in_(SIGNUP_ACTIVE),
        )
    )


def signups_of(registration: Registration) -> list[SessionSignup]:
    """The registration's active sign-ups, in programme order."""
    return list(db.session.scalars(
        select(SessionSignup)
        .join(ProgrammeSession, ProgrammeSession.id == SessionSignup.session_id)
        .where(
            SessionSignup.registration_id == registration.id,
            SessionSignup.status.in_(SIGNUP_ACTIVE),
        )
        .order_by(ProgrammeSession.day, ProgrammeSession.starts_at, ProgrammeSession.id)
    ))


def session_over(session: ProgrammeSession, event: Event, now: datetime | None = None) -> bool:
    """Whether the session's day has passed in the event's time zone."""
    today: date = (now or utcnow()).astimezone(event.zone).date()
    return session.day < today


def _check_open(registration: Registration, session: ProgrammeSession) -> None:
    if session.event_id != registration.event_id or not takes_signups(session):
        raise SignupRefused(_("This session does not take sign-ups."))
    if not registration.holds_seat:
        raise SignupRefused(
            _("Only registrations with a seat at the event can sign up for sessions.")
        )
    if session_over(session, registration.event):
        raise SignupRefused(_("This session is over."))


def _new_status(session: ProgrammeSession) -> SignupStatus:
    if session.capacity is not None and places_taken(session.id) >= session.capacity:
        return SignupStatus.WAITLISTED
    return SignupStatus.PENDING if session.needs_review else SignupStatus.CONFIRMED


def _set_status(signup: SessionSignup, status: SignupStatus, now: datetime | None = None) -> None:
    now = now or utcnow()
    signup.status = status
    signup.status_changed_at = now
    if status == SignupStatus.WAITLISTED:
        signup.waitlisted_at = now


def _locked(registration: Registration, session: ProgrammeSession) -> None:
    """Take the event's seat lock, then re-read what the rules look at."""
    lock_event_seats(session.event_id)
    db.session.refresh(registration, ["status"])
    db.session.refresh(session)


def sign_up(
    registration: Registration, session: ProgrammeSession, *, actor: Actor
) -> tuple[SessionSignup, bool]:
    """Sign the registration up for the session: confirmed, pending (the session is reviewed)
    or waitlisted (full) — never over the session's capacity. Returns the sign-up and whether
    it is new: a registration already signed up gets its sign-up back, and nothing is written
    or sent. Raises SignupRefused (no seat at the event, no sign-up, over) or SeatsBusy."""
    _locked(registration, session)
    _check_open(registration, session)
    existing = active_signup(session.id, registration.id)
    if existing is not None:
        return existing, False
    now = utcnow()
    status = _new_status(session)
    signup = SessionSignup(
        session_id=session.id,
        registration_id=registration.id,
        status=status,
        created_at=now,
        status_changed_at=now,
        waitlisted_at=now if status == SignupStatus.WAITLISTED else None,
    )
    db.session.add(signup)
    db.session.flush()
    record("session_signup.create", object_type="session_signup", object_id=signup.id,
           event_id=session.event_id, actor=actor,
           detail={"session": session.id, "registration": registration.id, "status": status.value})
    _email(signup, "session_signup_outcome")
    return signup, True


def sign_up_at_registration(
    registration: Registration, session_ids: Iterable[int], *, actor: Actor
) -> list[SessionSignup]:
    """The sessions chosen on the registration form, signed up for in the registration's own
    transaction, once it has its seat. A registration that got no seat (waitlisted) signs up
    for nothing: it chooses on its private page once it has a seat. Sessions that no longer
    take sign-ups are passed over."""
    if not registration.holds_seat:
        return []
    made: list[SessionSignup] = []
    for session_id in sorted(set(session_ids)):
        session = db.session.get(ProgrammeSession, session_id)
        if session is None or session.event_id != registration.event_id:
            continue
        try:
            signup, created = sign_up(registration, session, actor=actor)
        except SignupRefused:
            continue
        if created:
            made.append(signup)
    return made


def _signup_locked(signup: SessionSignup) -> SessionSignup:
    lock_event_seats(signup.session.event_id)
    db.session.refresh(signup)
    return signup


def _move(signup: SessionSignup, status: SignupStatus, action: str, actor: Actor) -> SignupStatus:
    """Give a locked sign-up its new status and audit the change; returns the status before."""
    before = SignupStatus(signup.status)
    _set_status(signup, status)
    db.session.flush()
    record(action, object_type="session_signup", object_id=signup.id,
           event_id=signup.session.event_id, actor=actor, detail=status_detail(before, status))
    return before


def cancel_signup(signup: SessionSignup, *, actor: Actor) -> list[SessionSignup]:
    """The attendee cancels a sign-up; a held place goes to the waitlist at once. Returns who
    moved up. Raises SignupRefused for a sign-up that is no longer active."""
    signup = _signup_locked(signup)
    if signup.status not in SIGNUP_ACTIVE:
        raise SignupRefused(_("This sign-up is already cancelled."))
    before = _move(signup, SignupStatus.CANCELLED, "session_signup.cancel", actor)
    _email(signup, "session_signup_ended")
    return promote(signup.session, actor=actor) if before in SIGNUP_SEATED else []


def approve_signup(signup: SessionSignup, *, actor: Actor) -> None:
    """Staff approve a pending sign-up: its held place becomes confirmed."""
    signup = _signup_locked(signup)
    if signup.status != SignupStatus.PENDING:
        raise SignupRefused(_("Only sign-ups awaiting review can be approved."))
    _move(signup, SignupStatus.CONFIRMED, "session_signup.approve", actor)
    _email(signup, "session_signup_outcome", approved=True)


def reject_signup(signup: SessionSignup, *, actor: Actor) -> list[SessionSignup]:
    """Staff reject an active sign-up; a held place goes to the waitlist. Returns who moved
    up."""
    signup = _signup_locked(signup)
    if signup.status not in SIGNUP_ACTIVE:
        raise SignupRefused(_("This sign-up is no longer active."))
    before = _move(signup, SignupStatus.REJECTED, "session_signup.reject", actor)
    _email(signup, "session_signup_ended", rejected=True)
    return promote(signup.session, actor=actor) if before in SIGNUP_SEATED else []


def waitlist_signup(signup: SessionSignup, *, actor: Actor) -> list[SessionSignup]:
    """Staff move a pending or confirmed sign-up to the end of the session's waitlist; the
    place goes to whoever waited before. Returns who moved up."""
    signup = _signup_locked(signup)
    if signup.status not in SIGNUP_SEATED:
        raise SignupRefused(_("Only sign-ups holding a place can be moved to the waitlist."))
    _move(signup, SignupStatus.WAITLISTED, "session_signup.waitlist", actor)
    _email(signup, "session_signup_outcome", moved=True)
    return promote(signup.session, actor=actor, exclude=frozenset({signup.id}))


#: What staff may decide about a sign-up, and the service that does it.
DECISIONS = ("approve", "reject", "waitlist")


def decide(signup: SessionSignup, decision: str, *, actor: Actor) -> list[SessionSignup]:
    """One staff decision (DECISIONS); returns who moved up. Raises SignupRefused."""
    if decision == "approve":
        approve_signup(signup, actor=actor)
        return []
    if decision == "reject":
        return reject_signup(signup, actor=actor)
    if decision == "waitlist":
        return waitlist_signup(signup, actor=actor)
    raise SignupRefused(_("Choose a decision."))


def promote(
    session: ProgrammeSession, *, actor: Actor, exclude: frozenset[int] = frozenset()
) -> list[SessionSignup]:
    """Give the session's free places to its earliest waitlisted sign-ups (the caller holds the
    event's seat lock). Each becomes pending (the session is reviewed) or confirmed, is audited
    as the system acting on `actor`'s change, and is emailed in its person's language."""
    free = None if session.capacity is None else session.capacity - places_taken(session.id)
    if free is not None and free <= 0:
        return []
    waiting = db.session.scalars(
        select(SessionSignup)
        .join(Registration, Registration.id == SessionSignup.registration_id)
        .where(
            SessionSignup.session_id == session.id,
            SessionSignup.status == SignupStatus.WAITLISTED,
            SessionSignup.id.not_in(exclude),
        )
        .order_by(SessionSignup.waitlisted_at, SessionSignup.id)
        .execution_options(populate_existing=True)
    ).all()
    promoted: list[SessionSignup] = []
    for signup in waiting:
        if free is not None and len(promoted) >= free:
            break
        if not signup.registration.holds_seat:
            continue
        status = SignupStatus.PENDING if session.needs_review else SignupStatus.CONFIRMED
        _set_status(signup, status)
        promoted.append(signup)
    db.session.flush()
    for signup in promoted:
        record("session_signup.promote", object_type="session_signup", object_id=signup.id,
               event_id=session.event_id, actor=actor.as_system(),
               detail=status_detail(SignupStatus.WAITLISTED, signup.status))
        _email(signup, "session_signup_outcome", promoted=True)
    return promoted


def cancel_signups_of(registration: Registration, *, actor: Actor) -> list[SessionSignup]:
    """The registration lost its seat (cancelled, rejected, released, moved to the waitlist,
    erased): its active sign-ups are cancelled and each place it held goes to the session's
    waitlist in the same transaction. Its person gets no email about them (the email about
    the registration says enough); those who move up do. Returns who moved up."""
    lock_event_seats(registration.event_id)
    active = db.session.scalars(
        select(SessionSignup)
        .where(
            SessionSignup.registration_id == registration.id,
            SessionSignup.status.in_(SIGNUP_ACTIVE),
        )
        .order_by(SessionSignup.id)
        .execution_options(populate_existing=True)
    ).all()
    freed: list[ProgrammeSession] = []
    for signup in active:
        before = SignupStatus(signup.status)
        _set_status(signup, SignupStatus.CANCELLED)
        record("session_signup.cancel", object_type="session_signup", object_id=signup.id,
               event_id=registration.event_id, actor=actor,
               detail=status_detail(before, signup.status, reason="registration"))
        if before in SIGNUP_SEATED:
            freed.append(signup.session)
    db.session.flush()
    promoted: list[SessionSignup] = []
    for session in freed:
        promoted += promote(session, actor=actor)
    return promoted


def check_session_places(
    session: ProgrammeSession, signup: bool, capacity: int | None
) -> None:
    """Refuse, under the event's seat lock, places that would not hold the sign-ups already
    made: a capacity below the places taken (DomainError beside "capacity"), or sign-up
    switched off while people are signed up (beside "signup"). The staff programme form
    calls this before it changes a session, then `promote` after (a larger capacity or no
    review any more frees places for the waitlist)."""
    lock_event_seats(session.event_id)
    taken = places_taken(session.id)
    active = counts(session.event_id).get(session.id, SessionCount())
    if not signup and active.taken + active.waiting:
        raise DomainError(
            _("People have signed up for this session: cancel their sign-ups first."), "signup"
        )
    if capacity is not None and capacity < taken:
        raise DomainError(
            _("%(n)d places are already taken; the number of places cannot be lower.", n=taken),
            "capacity",
        )


def check_in_signup(signup: SessionSignup, *, actor: Actor, undo: bool = False) -> bool:
    """Mark a confirmed sign-up as present at its session (or undo it). True when something
    changed; checking in twice changes nothing. Raises SignupRefused for a sign-up without a
    confirmed place."""
    if not undo and signup.status != SignupStatus.CONFIRMED:
        raise SignupRefused(_("Only confirmed sign-ups can be checked in."))
    if undo == (signup.checked_in_at is None):
        return False
    signup.checked_in_at = None if undo else utcnow()
    db.session.flush()
    record("session_signup.uncheck" if undo else "session_signup.checkin",
           object_type="session_signup", object_id=signup.id,
           event_id=signup.session.event_id, actor=actor)
    return True


def roster(session: ProgrammeSession, categories: frozenset[str] | None) -> list[SessionSignup]:
    """The session's sign-ups (every status) in the order they came, limited to the categories
    a reviewer's grant reaches (None: every category)."""
    query = (
        select(SessionSignup)
        .join(Registration, Registration.id == SessionSignup.registration_id)
        .where(SessionSignup.session_id == session.id)
        .order_by(SessionSignup.created_at, SessionSignup.id)
    )
    if categories is not None:
        query = query.where(Registration.category.in_(categories))
    return list(db.session.scalars(query))


def door_list(session: ProgrammeSession, term: str = "") -> list[SessionSignup]:
    """The session's pending and confirmed sign-ups whose name or organization contains
    `term` (folded), for the door of the session."""
    people = db.session.scalars(
        select(SessionSignup)
        .join(Registration, Registration.id == SessionSignup.registration_id)
        .where(SessionSignup.session_id == session.id, SessionSignup.status.in_(SIGNUP_SEATED))
        .order_by(Registration.family_name, Registration.given_name, SessionSignup.id)
    ).all()
    folded = term.strip().casefold()
    if not folded:
        return list(people)
    return [
        s for s in people
        if folded in " ".join((s.registration.full_name, s.registration.badge_name or "",
                               s.registration.given_name, s.registration.family_name,
                               s.registration.organization or "")).casefold()
    ]


def _email(signup: SessionSignup, template: str, **extra: Any) -> None:
    """Email the sign-up's person, in their language, with their private link (made when the
    message is sent, as for every registration email). People without an address of their
    own (a protected guest, a group member) get no email: staff tell them."""
    registration = signup.registration
    if not registration.has_email:
        return
    enqueue_email(
        to=registration.email,
        template=template,
        language=registration.language,
        context={
            "registration": registration,
            "event": registration.event,
            "session": signup.session,
            "signup": signup,
            "manage_url": notify.manage_url(SECRET_PLACEHOLDER),
            **extra,
        },
        registration_id=registration.id,
        secret=LateSecret(notify.MANAGE_LINK, registration.id),
    )
