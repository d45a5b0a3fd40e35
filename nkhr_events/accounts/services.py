"""Staff accounts: creation, authentication with a lockout, roles, passwords and reset links.

Every change is recorded on the audit trail in the caller's transaction. The lockout reads
that trail: failed sign-ins are kept per typed address, whether or not an account has it, in
the shared database, so every process and host sees the same count and a stranger cannot tell
a known address from an unknown one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, update
from werkzeug.security import check_password_hash, generate_password_hash

from nkhr_events.accounts.models import PasswordResetToken, StaffRole, StaffUser
from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import record, status_detail
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.outbox.requests import resolver
from nkhr_events.outbox.services import enqueue_email
from nkhr_events.tokens import new_token, token_hash

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
RESET_LINK_LIFETIME = timedelta(hours=1)
INVITATION_LINK_LIFETIME = timedelta(hours=48)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")
# Checked when no account matches, so an unknown address costs as much time as a known one.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))

# Audit actions the lockout reads.
SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
SIGN_IN_LOCKED = "auth.sign_in_locked"
LOCKOUT_STARTED = "auth.lockout"
PASSWORD_RESET = "account.password_reset"
#: The kind of mail request (outbox/requests.py) that a reset request becomes.
PASSWORD_RESET_REQUEST = "password_reset"
#: After one of these, earlier failures of the address no longer count.
_CLEARS_FAILURES = (SIGN_IN, LOCKOUT_STARTED, PASSWORD_RESET)


class SignInRefused(DomainError):
    """Wrong address, wrong password or inactive account: one answer for all three."""


class SignInLocked(DomainError):
    """Too many failures for this address lately; the same for known and unknown addresses."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def staff_by_email(email: str) -> StaffUser | None:
    return db.session.scalar(
        db.select(StaffUser).where(StaffUser.email == normalize_email(email))
    )


def check_new_password(password: str, field: str = "password") -> None:
    """Raises DomainError for a password that is too short or too long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(_("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(_("Use at most %(n)d characters.", n=MAX_PASSWORD_LENGTH), field)


def create_staff(email: str, name: str, password: str, role: StaffRole) -> StaffUser:
    """Add a staff account; raises DomainError for a bad address, short password or duplicate."""
    email = normalize_email(email)
    if not _EMAIL.match(email):
        raise DomainError(_("Enter a valid email address."), "email")
    check_new_password(password)
    if staff_by_email(email) is not None:
        raise DomainError(_("A staff account with this address exists."), "email")
    user = StaffUser(email=email, name=name.strip() or email, role=role)
    user.set_password(password)
    user.password_changed_at = utcnow()
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> StaffUser | None:
    """The active staff user with this email and password, else None (same cost either way).

    A bare credential check without lockout or audit; sign-in pages use `sign_in`.
    """
    user = staff_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_sign_in_at = utcnow()
    return user


# --- sign-in with lockout ---------------------------------------------------------------------


def _record_about(
    action: str,
    user: StaffUser | None,
    actor: str,
    detail: dict[str, object] | None = None,
    proven: bool = False,
) -> None:
    """An entry about `user` (if the address has an account) by `actor`, e.g. a typed address;
    `proven` when the actor showed they are that user (password or reset link)."""
    record(
        action,
        actor=actor,
        actor_id=user.id if user is not None and proven else None,
        object_type="staff_user" if user is not None else None,
        object_id=user.id if user is not None else None,
        detail=detail,
    )


def locked_until(address: str, now: datetime | None = None) -> datetime | None:
    """When the lockout of this (normalised) address ends, or None if it is not locked."""
    now = now or utcnow()
    started = db.session.scalar(
        db.select(func.max(AuditEntry.at)).where(
            AuditEntry.action == LOCKOUT_STARTED,
            AuditEntry.actor == address,
            AuditEntry.at > now - LOCKOUT,
        )
    )
    if started is None:
        return None
    cleared = db.session.scalar(
        db.select(func.max(AuditEntry.at)).where(
            AuditEntry.action == PASSWORD_RESET, AuditEntry.actor == address
        )
    )
    if cleared is not None and cleared >= started:
        return None  # a completed password reset lifts the lock
    return started + LOCKOUT


def recent_failures(address: str, now: datetime | None = None) -> int:
    """Failed sign-ins for the address in the last LOCKOUT, since it last signed in,
    was locked or had its password reset."""
    now = now or utcnow()
    db.session.flush()
    cleared = db.session.scalar(
        db.select(func.max(AuditEntry.at)).where(
            AuditEntry.action.in_(_CLEARS_FAILURES), AuditEntry.actor == address
        )
    )
    since = max(now - LOCKOUT, cleared) if cleared is not None else now - LOCKOUT
    return db.session.scalar(
        db.select(func.count(AuditEntry.id)).where(
            AuditEntry.action == SIGN_IN_FAILED,
            AuditEntry.actor == address,
            AuditEntry.at > since,
        )
    ) or 0


def sign_in(email: str, password: str) -> StaffUser:
    """Check a sign-in attempt and record it; return the user, or raise.

    Raises SignInLocked while the address is locked (the password is not even checked) and
    on the failure that reaches MAX_FAILED_SIGN_INS; SignInRefused for any other failure. The
    caller commits in every case, so that failures are kept.
    """
    now = utcnow()
    address = normalize_email(email)[:254]
    user = staff_by_email(address)
    if locked_until(address, now) is not None:
        check_password_hash(_DUMMY_HASH, password)
        _record_about(SIGN_IN_LOCKED, user, address)
        raise SignInLocked(locked_message())
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        reason = "unknown_address"
    elif not user.check_password(password):
        reason = "wrong_password"
    elif not user.active:
        reason = "inactive"
    else:
        user.last_sign_in_at = now
        user.failed_sign_ins = 0
        user.locked_until = None
        _record_about(SIGN_IN, user, user.email, proven=True)
        return user
    _record_about(SIGN_IN_FAILED, user, address, {"reason": reason})
    failures = recent_failures(address, now)
    if user is not None:
        user.failed_sign_ins = failures
    if failures >= MAX_FAILED_SIGN_INS:
        minutes = int(LOCKOUT.total_seconds() // 60)
        _record_about(LOCKOUT_STARTED, user, address, {"failures": failures, "minutes": minutes})
        if user is not None:
            user.locked_until = now + LOCKOUT
        raise SignInLocked(locked_message())
    raise SignInRefused(_("The email address or password is not correct."))


def locked_message() -> str:
    return _(
        "Too many failed attempts; try again in %(minutes)d minutes or reset your password.",
        minutes=int(LOCKOUT.total_seconds() // 60),
    )


def session_fingerprint(user: StaffUser) -> str:
    """A short value kept in the session that changes with the password, so that a new
    password signs out every other session of the user. Keyed, so it reveals nothing."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, user.password_hash.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def sessions_ended_at(user: StaffUser) -> datetime | None:
    """When the account was last deactivated: sessions begun before then stay ended, even
    after a reactivation."""
    return db.session.scalar(
        db.select(func.max(AuditEntry.at)).where(
            AuditEntry.object_type == "staff_user",
            AuditEntry.object_id == user.id,
            AuditEntry.action == "account.deactivate",
        )
    )


# --- account management (admins) ----------------------------------------------------------------


def active_admin_count() -> int:
    return db.session.scalar(
        db.select(func.count(StaffUser.id)).where(
            StaffUser.role == StaffRole.ADMIN, StaffUser.active.is_(True)
        )
    ) or 0


@dataclass(frozen=True)
class NewStaff:
    email: str
    name: str
    role: StaffRole
    #: Empty: the person is emailed a link to choose their own password.
    password: str = ""


def add_staff_account(data: NewStaff, language: str) -> StaffUser:
    """Create an account with the given password, or email a set-password link."""
    invited = not data.password
    password = data.password or secrets.token_urlsafe(32)
    user = create_staff(data.email, data.name, password, data.role)
    record(
        "account.create",
        object_type="staff_user",
        object_id=user.id,
        detail={"email": user.email, "role": str(user.role), "invited": invited},
    )
    if invited:
        _send_password_link(user, language, INVITATION_LINK_LIFETIME, invitation=True)
    return user


def _refuse_removing_last_admin(user: StaffUser) -> None:
    if user.is_admin and user.active and active_admin_count() <= 1:
        raise DomainError(_("This is the last active admin; make another admin first."))


def change_role(user: StaffUser, role: StaffRole, acting: StaffUser) -> None:
    """Raises DomainError when an admin would demote themself or the last admin would go."""
    if role == user.role:
        return
    if user.id == acting.id:
        raise DomainError(_("You cannot change your own role; ask another admin."))
    if role != StaffRole.ADMIN:
        _refuse_removing_last_admin(user)
    before = user.role
    user.role = role
    db.session.flush()
    record("account.role_change", object_type="staff_user", object_id=user.id,
           detail=status_detail(before, role))


def set_active(user: StaffUser, active: bool, acting: StaffUser) -> None:
    """Deactivate (signs the person out at once) or reactivate an account."""
    if user.active == active:
        return
    if not active:
        if user.id == acting.id:
            raise DomainError(_("You cannot deactivate your own account."))
        _refuse_removing_last_admin(user)
    user.active = active
    db.session.flush()
    record("account.reactivate" if active else "account.deactivate",
           object_type="staff_user", object_id=user.id,
           detail=status_detail("inactive" if active else "active",
                                "active" if active else "inactive"))


# --- passwords ----------------------------------------------------------------------------------


def change_password(user: StaffUser, current: str, new: str) -> None:
    """The signed-in user changes their password; raises DomainError naming the field."""
    if not user.check_password(current):
        raise DomainError(_("Your current password is not correct."), "current_password")
    check_new_password(new, "new_password")
    if user.check_password(new):
        raise DomainError(_("Choose a password different from the current one."),
                          "new_password")
    _set_password(user, new)
    record("account.password_change", object_type="staff_user", object_id=user.id)


def _set_password(user: StaffUser, password: str) -> None:
    user.set_password(password)
    user.password_changed_at = utcnow()
    user.failed_sign_ins = 0
    user.locked_until = None
    db.session.flush()


def _send_password_link(
    user: StaffUser, language: str, lifetime: timedelta, invitation: bool = False
) -> None:
    token = new_token()
    now = utcnow()
    db.session.add(PasswordResetToken(
        user_id=user.id, token_hash=token_hash(token), created_at=now, expires_at=now + lifetime
    ))
    db.session.flush()
    base_url = current_app.config["NKHR_BASE_URL"].rstrip("/")
    enqueue_email(
        to=user.email,
        template="password_reset",
        language=language,
        context={
            "name": user.name,
            "link": f"{base_url}/reset-password/{token}",
            "hours": int(lifetime.total_seconds() // 3600),
            "invitation": invitation,
        },
    )


@resolver(PASSWORD_RESET_REQUEST)
def request_password_reset(email: str, language: str) -> None:
    """Email a reset link to an active account with this address; for any other address do
    nothing visible. The caller answers the same either way."""
    address = normalize_email(email)[:254]
    user = staff_by_email(address)
    _record_about("account.password_reset_request", user, address)
    if user is None or not user.active:
        return
    _send_password_link(user, language, RESET_LINK_LIFETIME)


def user_for_reset_token(token: str, now: datetime | None = None) -> StaffUser | None:
    """The active user an unused, unexpired link belongs to, else None."""
    if not token or len(token) > 100:
        return None
    found = db.session.scalar(
        db.select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token))
    )
    if found is None or found.used_at is not None or found.expires_at <= (now or utcnow()):
        return None
    user = db.session.get(StaffUser, found.user_id)
    return user if user is not None and user.active else None


def reset_password(token: str, password: str, now: datetime | None = None) -> StaffUser:
    """Set a new password through a link; the link (and every other open link of the user)
    is used up. Raises DomainError for a bad password or a link that no longer works."""
    now = now or utcnow()
    check_new_password(password)
    user = user_for_reset_token(token, now)
    if user is None:
        raise DomainError(_("This link has expired or was already used. Ask for a new one."))
    # Claimed in the database, so two uses of one link at the same time cannot both succeed.
    claimed = db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.token_hash == token_hash(token),
               PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise DomainError(_("This link has expired or was already used. Ask for a new one."))
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    _set_password(user, password)
    _record_about(PASSWORD_RESET, user, user.email, proven=True)
    return user


def has_admin() -> bool:
    return (
        db.session.scalar(
            db.select(StaffUser.id).where(StaffUser.role == StaffRole.ADMIN).limit(1)
        )
        is not None
    )


def generate_password() -> str:
    return secrets.token_urlsafe(15)
