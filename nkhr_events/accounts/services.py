"""Staff accounts: creation and authentication."""

from __future__ import annotations

import re
import secrets

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from nkhr_events.accounts.models import StaffRole, StaffUser
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db

MIN_PASSWORD_LENGTH = 12
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}$")
# Checked when no account matches, so an unknown address costs as much time as a known one.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


def normalize_email(email: str) -> str:
    return email.strip().lower()


def staff_by_email(email: str) -> StaffUser | None:
    return db.session.scalar(
        db.select(StaffUser).where(StaffUser.email == normalize_email(email))
    )


def create_staff(email: str, name: str, password: str, role: StaffRole) -> StaffUser:
    """Add a staff account; raises DomainError for a bad address, short password or duplicate."""
    email = normalize_email(email)
    if not _EMAIL.match(email):
        raise DomainError(_("Enter a valid email address."), "email")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH), "password"
        )
    if staff_by_email(email) is not None:
        raise DomainError(_("A staff account with this address exists."), "email")
    user = StaffUser(email=email, name=name.strip() or email, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> StaffUser | None:
    """The active staff user with this email and password, else None (same cost either way)."""
    user = staff_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_sign_in_at = utcnow()
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
