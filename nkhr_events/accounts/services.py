"""Staff accounts: creation, sign-in with a throttle, roles, passwords and reset links.

Every change is recorded on the audit trail in the caller's transaction. Sign-in attempts are
recorded with the address as typed, whether or not an account has it, and with the client's
address, which the caller passes in. The throttle (accounts/throttle.py) reads them: a client
that keeps failing with an address waits longer and longer before it may try that address
again, while every other client may still sign in with it, so nobody can lock a staff member
out. Known and unknown addresses get the same answers, the same audit entries and the same
waits. A successful sign-in starts a server-side session (accounts/sessions.py); a password
change ends the person's other sessions, a password reset and a deactivation end all of them.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask import current_app
from flask_babel import format_timedelta
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from nkhr_events.accounts import passkeys, sessions, throttle, twofactor
from nkhr_events.accounts.models import (
    PasswordResetToken,
    SessionEnd,
    StaffRole,
    StaffUser,
    TeamMember,
    TeamRole,
)
from nkhr_events.accounts.throttle import PASSWORD_RESET, SIGN_IN, SIGN_IN_FAILED
from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import Actor, record, status_detail
from nkhr_events.database import rowcount
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.outbox.models import SECRET_PLACEHOLDER
from nkhr_events.outbox.requests import resolver
from nkhr_events.outbox.services import LateSecret, enqueue_email, secret_maker
from nkhr_events.tokens import new_token, token_hash

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
RESET_LINK_LIFETIME = timedelta(hours=1)
INVITATION_LINK_LIFETIME = timedelta(hours=48)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")
# Checked when no account matches, so an unknown address costs as much time as a known one.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))

#: An attempt refused unchecked while its client must wait (not counted as a failure).
SIGN_IN_DELAYED = "auth.sign_in_delayed"
#: A correct password of an account that signs in with a second factor: not yet a sign-in (so
#: the throttle keeps counting failed codes until the second step succeeds).
PASSWORD_ACCEPTED = "auth.password_accepted"
#: The kind of mail request (outbox/requests.py) that a reset request becomes.
PASSWORD_RESET_REQUEST = "password_reset"
#: The private links (outbox/services.py, `LateSecret`) of password and invitation emails.
PASSWORD_LINK = "staff-password-link"
INVITATION_LINK = "staff-invitation-link"


class SignInRefused(DomainError):
    """Wrong address, wrong password or inactive account: one answer for all three."""


class SignInDelayed(DomainError):
    """Too many failures of this address from this client lately: the client must wait. The
    same for known and unknown addresses."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def staff_by_email(email: str) -> StaffUser | None:
    return db.session.scalar(
        select(StaffUser).where(StaffUser.email == normalize_email(email))
    )


def check_new_password(password: str, field: str = "password") -> None:
    """Raises DomainError for a password that is too short or too long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(_("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(_("Use at most %(n)d characters.", n=MAX_PASSWORD_LENGTH), field)


class AccountKind(StrEnum):
    """What an admin chooses for an account: an admin; an organizer of every event (new ones
    included); or staff whose rights come only from the teams of single events."""

    ADMIN = "admin"
    ORGANIZER = "organizer"
    STAFF = "staff"


def account_kind(user: StaffUser) -> AccountKind:
    if user.is_admin:
        return AccountKind.ADMIN
    every = db.session.scalar(
        select(TeamMember.id).where(
            TeamMember.user_id == user.id, TeamMember.event_id.is_(None),
            TeamMember.role == TeamRole.ORGANIZER,
        )
    )
    return AccountKind.ORGANIZER if every is not None else AccountKind.STAFF


def _set_kind(user: StaffUser, kind: AccountKind) -> None:
    """Make the account `kind`: its global role, and its place on the team of every event."""
    user.role = StaffRole.ADMIN if kind == AccountKind.ADMIN else StaffRole.STAFF
    every = db.session.scalar(
        select(TeamMember).where(TeamMember.user_id == user.id, TeamMember.event_id.is_(None))
    )
    if kind == AccountKind.ORGANIZER:
        if every is None:
            db.session.add(TeamMember(user_id=user.id, event_id=None, role=TeamRole.ORGANIZER))
        else:
            every.role = TeamRole.ORGANIZER
    elif kind == AccountKind.STAFF and every is not None:
        db.session.delete(every)
    db.session.flush()


def create_staff(
    email: str, name: str, password: str, role: StaffRole | AccountKind | str
) -> StaffUser:
    """Add a staff account of a kind (`AccountKind`; `StaffRole.STAFF` is staff without a team);
    raises DomainError for a bad address, short password or duplicate."""
    email = normalize_email(email)
    if not _EMAIL.match(email):
        raise DomainError(_("Enter a valid email address."), "email")
    check_new_password(password)
    if staff_by_email(email) is not None:
        raise DomainError(_("A staff account with this address exists."), "email")
    user = StaffUser(email=email, name=name.strip() or email, role=StaffRole.STAFF)
    user.set_password(password)
    user.password_changed_at = utcnow()
    db.session.add(user)
    db.session.flush()
    _set_kind(user, AccountKind(str(role)))
    return user


def authenticate(email: str, password: str) -> StaffUser | None:
    """The active staff user with this email and password, else None (same cost either way).

    A bare credential check without the throttle or audit; sign-in pages use `sign_in`.
    """
    user = staff_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_sign_in_at = utcnow()
    return user


# --- sign-in with a throttle ------------------------------------------------------------------


def _record_about(
    action: str,
    user: StaffUser | None,
    actor: Actor,
    detail: dict[str, object] | None = None,
    proven: bool = False,
) -> AuditEntry:
    """An entry about `user` (if the address has an account) by `actor`, whoever typed an
    address; `proven` when they showed they are that user (password or reset link)."""
    if user is not None and proven:
        actor = Actor.staff(user, actor.ip)
    return record(
        action,
        actor=actor,
        object_type="staff_user" if user is not None else None,
        object_id=user.id if user is not None else None,
        detail=detail,
    )


def _record_attempt(
    action: str,
    user: StaffUser | None,
    address: str,
    client: str,
    now: datetime,
    detail: dict[str, object] | None = None,
    proven: bool = False,
) -> None:
    """A sign-in attempt's entry by whoever typed `address` from `client`, at the time the
    throttle counts by."""
    actor = Actor.typed(address, throttle.client_ip(client))
    _record_about(action, user, actor, detail, proven).at = now


def sign_in(email: str, password: str, client: str, now: datetime | None = None) -> StaffUser:
    """Check a sign-in attempt from `client` (its IP address) and record it; return the user,
    or raise. For a user who signs in with a second factor (`twofactor.second_step_needed`)
    this is only the first step: `sign_in_second_step` completes it.

    Raises SignInDelayed while this client must wait before it tries this address again (the
    password is not even checked) and on the failure that makes it wait; SignInRefused for any
    other failure. The caller commits in every case, so that failures are kept.
    """
    now = now or utcnow()
    address = normalize_email(email)[:254]
    user = staff_by_email(address)
    until = throttle.wait_until(address, client, now)
    if until is not None:
        check_password_hash(_DUMMY_HASH, password)
        _record_attempt(SIGN_IN_DELAYED, user, address, client, now)
        raise SignInDelayed(wait_message(until - now))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        reason = "unknown_address"
    elif not user.check_password(password):
        reason = "wrong_password"
    elif not user.active:
        reason = "inactive"
    elif twofactor.second_step_needed(user):
        _record_attempt(PASSWORD_ACCEPTED, user, address, client, now, proven=True)
        return user
    else:
        user.last_sign_in_at = now
        _record_attempt(SIGN_IN, user, address, client, now, proven=True)
        return user
    _record_attempt(SIGN_IN_FAILED, user, address, client, now, {"reason": reason})
    until = throttle.wait_until(address, client, now)
    if until is not None:
        raise SignInDelayed(wait_message(until - now))
    raise SignInRefused(_("The email address or password is not correct."))


def sign_in_second_step(
    user: StaffUser, code: str, client: str, now: datetime | None = None
) -> str:
    """Check the code (one-time or recovery) of a user whose password was just accepted, and
    record the attempt as `sign_in` does, so that the throttle counts failed codes with failed
    passwords. Returns how the step was made (`twofactor.BY_CODE`...); raises SignInDelayed
    while the client must wait, CodeRefused for a wrong code. The caller commits either way."""
    return _second_step(
        user, client, now or utcnow(),
        lambda actor, at: twofactor.verify(user, code, actor=actor, now=at),
        "wrong_code",
        _("The code is not correct. Type the current code from your app, or a recovery code."),
    )


def sign_in_with_passkey(
    user: StaffUser, answer: object, client: str, now: datetime | None = None
) -> str:
    """The second step made with a passkey instead of a code: the same throttle and record.
    Raises SignInDelayed or CodeRefused (a passkey that did not verify)."""
    return _second_step(
        user, client, now or utcnow(),
        lambda actor, at: (
            passkeys.BY_PASSKEY if passkeys.verify_passkey(user, answer, at) else None),
        "passkey_refused",
        _("The passkey was not accepted. Try again, or type a code from your app."),
    )


def _second_step(
    user: StaffUser,
    client: str,
    now: datetime,
    attempt: Callable[[Actor, datetime], str | None],
    reason: str,
    refused: str,
) -> str:
    until = throttle.wait_until(user.email, client, now)
    if until is not None:
        _record_attempt(SIGN_IN_DELAYED, user, user.email, client, now)
        raise SignInDelayed(wait_message(until - now))
    actor = Actor.staff(user, throttle.client_ip(client))
    by = attempt(actor, now) if user.active else None
    if by is None:
        _record_attempt(SIGN_IN_FAILED, user, user.email, client, now, {"reason": reason})
        until = throttle.wait_until(user.email, client, now)
        if until is not None:
            raise SignInDelayed(wait_message(until - now))
        raise twofactor.CodeRefused(refused, "code")
    complete_sign_in(user, client, now, by)
    return by


def complete_sign_in(user: StaffUser, client: str, now: datetime, by: str) -> None:
    """Record the sign-in of a user who has passed both steps (or just enrolled)."""
    user.last_sign_in_at = now
    _record_attempt(SIGN_IN, user, user.email, client, now, {"second_factor": by}, proven=True)


def wait_message(wait: timedelta) -> str:
    """Roughly how long to wait: whole minutes, rounded up (a wait of 30 s says 1 minute), so
    that the answer does not change from one second to the next."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return _(
        "Too many failed attempts. Try again %(when)s or reset your password.",
        when=format_timedelta(timedelta(minutes=minutes), add_direction=True),
    )


# --- account management (admins) ----------------------------------------------------------------


def active_admin_count() -> int:
    return db.session.scalar(
        select(func.count(StaffUser.id)).where(
            StaffUser.role == StaffRole.ADMIN, StaffUser.active.is_(True)
        )
    ) or 0


@dataclass(frozen=True)
class NewStaff:
    email: str
    name: str
    role: AccountKind


def add_staff_account(data: NewStaff, language: str, *, actor: Actor) -> StaffUser:
    """Create an account and email the person a link to choose their own password: nobody
    types a password for someone else (the account's password is random and never shown)."""
    user = create_staff(data.email, data.name, secrets.token_urlsafe(32), data.role)
    record(
        "account.create",
        object_type="staff_user",
        object_id=user.id,
        detail={"email": user.email, "role": str(data.role), "invited": True},
        actor=actor,
    )
    send_invitation_link(user, language, context={"two_factor": twofactor.required(user)})
    return user


def send_invitation_link(
    user: StaffUser, language: str, template: str = "password_reset",
    context: Mapping[str, Any] | None = None,
) -> None:
    """Email a new account's person the link to choose their own password (single use, only
    its hash stored, valid INVITATION_LINK_LIFETIME); `template` may say more, e.g. which
    event's team they join."""
    _send_password_link(user, language, INVITATION_LINK_LIFETIME, invitation=True,
                        template=template, context=context)


def _refuse_removing_last_admin(user: StaffUser) -> None:
    if user.is_admin and user.active and active_admin_count() <= 1:
        raise DomainError(_("This is the last active admin; make another admin first."))


def change_role(user: StaffUser, role: AccountKind, *, actor: Actor) -> None:
    """Raises DomainError when an admin would demote themself or the last admin would go."""
    before = account_kind(user)
    if role == before:
        return
    if user.id == actor.staff_id:
        raise DomainError(_("You cannot change your own role; ask another admin."))
    if role != AccountKind.ADMIN:
        _refuse_removing_last_admin(user)
    _set_kind(user, role)
    record("account.role_change", object_type="staff_user", object_id=user.id,
           detail=status_detail(before, role), actor=actor)


def set_active(user: StaffUser, active: bool, *, actor: Actor) -> None:
    """Deactivate (ends every session of the person at once) or reactivate an account (the
    person signs in afresh)."""
    if user.active == active:
        return
    if not active:
        if user.id == actor.staff_id:
            raise DomainError(_("You cannot deactivate your own account."))
        _refuse_removing_last_admin(user)
        sessions.end_sessions(user, SessionEnd.DEACTIVATION)
    user.active = active
    db.session.flush()
    record("account.reactivate" if active else "account.deactivate",
           object_type="staff_user", object_id=user.id,
           detail=status_detail("inactive" if active else "active",
                                "active" if active else "inactive"), actor=actor)


# --- passwords ----------------------------------------------------------------------------------


def change_password(
    user: StaffUser, current: str, new: str, session_token: str, *, actor: Actor
) -> None:
    """The signed-in user changes their password; every other session of theirs ends, the one
    of `session_token` goes on. Raises DomainError naming the field."""
    if not user.check_password(current):
        raise DomainError(_("Your current password is not correct."), "current_password")
    check_new_password(new, "new_password")
    if user.check_password(new):
        raise DomainError(_("Choose a password different from the current one."),
                          "new_password")
    _set_password(user, new)
    sessions.end_sessions(user, SessionEnd.PASSWORD_CHANGE, keep=session_token)
    record("account.password_change", object_type="staff_user", object_id=user.id, actor=actor)


def _set_password(user: StaffUser, password: str) -> None:
    user.set_password(password)
    user.password_changed_at = utcnow()
    db.session.flush()


def _password_token(user_id: int, lifetime: timedelta) -> str:
    """A new single-use password link token for the account; only its hash is stored.
    Raises ValueError when the account is gone or inactive."""
    user = db.session.get(StaffUser, user_id)
    if user is None or not user.active:
        raise ValueError("the staff account of this link no longer exists or is inactive")
    token = new_token()
    now = utcnow()
    db.session.add(PasswordResetToken(
        user_id=user.id, token_hash=token_hash(token), created_at=now, expires_at=now + lifetime
    ))
    db.session.flush()
    return token


@secret_maker(PASSWORD_LINK)
def _reset_token(user_id: int) -> str:
    return _password_token(user_id, RESET_LINK_LIFETIME)


@secret_maker(INVITATION_LINK)
def _invitation_token(user_id: int) -> str:
    return _password_token(user_id, INVITATION_LINK_LIFETIME)


def _send_password_link(
    user: StaffUser,
    language: str,
    lifetime: timedelta,
    invitation: bool = False,
    template: str = "password_reset",
    context: Mapping[str, Any] | None = None,
) -> None:
    """Queue the email (`template`, with `context` beside the link); the outbox worker makes
    the link when it sends it (never stored), and only admins see the message on the staff
    pages."""
    base_url = current_app.config["NKHR_BASE_URL"].rstrip("/")
    enqueue_email(
        to=user.email,
        template=template,
        language=language,
        context={
            **(context or {}),
            "name": user.name,
            "link": f"{base_url}/reset-password/{SECRET_PLACEHOLDER}",
            "hours": int(lifetime.total_seconds() // 3600),
            "invitation": invitation,
        },
        secret=LateSecret(INVITATION_LINK if invitation else PASSWORD_LINK, user.id),
        admin_only=True,
    )


@resolver(PASSWORD_RESET_REQUEST)
def request_password_reset(email: str, language: str) -> None:
    """Email a reset link to an active account with this address; for any other address do
    nothing visible. The caller answers the same either way."""
    address = normalize_email(email)[:254]
    user = staff_by_email(address)
    # Run by the outbox worker: no client is known.
    _record_about("account.password_reset_request", user, Actor.typed(address))
    if user is None or not user.active:
        return
    _send_password_link(user, language, RESET_LINK_LIFETIME)


def user_for_reset_token(token: str, now: datetime | None = None) -> StaffUser | None:
    """The active user an unused, unexpired link belongs to, else None."""
    if not token or len(token) > 100:
        return None
    found = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token))
    )
    if found is None or found.used_at is not None or found.expires_at <= (now or utcnow()):
        return None
    user = db.session.get(StaffUser, found.user_id)
    return user if user is not None and user.active else None


def reset_password(
    token: str, password: str, now: datetime | None = None, *, actor: Actor
) -> StaffUser:
    """Set a new password through a link; the link (and every other open link of the user)
    is used up; recorded as the link's user from `actor`'s client. Raises DomainError for a
    bad password or a link that no longer works."""
    now = now or utcnow()
    check_new_password(password)
    user = user_for_reset_token(token, now)
    if user is None:
        raise DomainError(_("This link has expired or was already used. Ask for a new one."))
    # Claimed in the database, so two uses of one link at the same time cannot both succeed.
    claimed = rowcount(db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.token_hash == token_hash(token),
               PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ))
    if not claimed:
        raise DomainError(_("This link has expired or was already used. Ask for a new one."))
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    _set_password(user, password)
    sessions.end_sessions(user, SessionEnd.PASSWORD_RESET, now=now)
    # Also what lets every client that had to wait try the address again.
    _record_about(PASSWORD_RESET, user, actor, proven=True).at = now
    return user


def has_admin() -> bool:
    return (
        db.session.scalar(
            select(StaffUser.id).where(StaffUser.role == StaffRole.ADMIN).limit(1)
        )
        is not None
    )


def generate_password() -> str:
    return secrets.token_urlsafe(15)
