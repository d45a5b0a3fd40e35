"""Two-factor sign-in: time-based one-time codes (RFC 6238) and single-use recovery codes.

Who must use it: admins, and anyone whose role anywhere reads needs and notes or exports
(`access.requires_two_factor`); everyone when NKHR_TWO_FACTOR is "all". Anyone else may enrol
on their own. Enrolment keeps a new secret on the account (encrypted at rest) and takes effect
when the person types a first code from it; ten recovery codes are then made, shown once and
kept only as SHA-256 hashes (they are long random strings, so a fast hash is enough).

A code is accepted for the current 30-second step and the one before or after it (clocks
drift), and never twice: the step of the last accepted code is claimed in the database, so no
code of that step or an earlier one works again, even from two requests at once.

Every enrolment, reset, recovery-code use and new set of recovery codes is on the audit trail;
failed codes are recorded by the sign-in (accounts/services.py), where the throttle counts them.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, update

from nkhr_events.accounts import access, sessions
from nkhr_events.accounts.models import RecoveryCode, SessionEnd, StaffPasskey, StaffUser
from nkhr_events.audit.services import Actor, record
from nkhr_events.database import rowcount
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.tokens import token_hash

#: How many recovery codes an enrolment makes.
RECOVERY_CODE_COUNT = 10
#: Recovery codes: 10 characters (50 bits) without look-alikes, shown as two groups of five.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10
#: Steps either side of the current one whose codes are accepted.
VALID_WINDOW = 1
ISSUER = "NKHR Events"

#: How an accepted second step was made (the detail of the sign-in's audit entry).
BY_CODE = "code"
BY_RECOVERY_CODE = "recovery_code"


class CodeRefused(DomainError):
    """A code that is wrong, expired or already used."""


def required(user: StaffUser) -> bool:
    """Whether `user` must sign in with a second factor."""
    if str(current_app.config.get("NKHR_TWO_FACTOR", "")).strip().lower() == "all":
        return True
    return access.requires_two_factor(user)


def enrolled(user: StaffUser) -> bool:
    return user.two_factor_enrolled_at is not None and bool(user.totp_secret)


def second_step_needed(user: StaffUser) -> bool:
    """After a correct password: a code (enrolled), or enrolment first (required)."""
    return enrolled(user) or required(user)


# --- codes --------------------------------------------------------------------------------------


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


def _digits(code: str) -> str:
    return "".join(code.split())


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The step within the window whose code is `code`, if any."""
    code = _digits(code)
    if not code.isdigit() or len(code) != 6:
        return None
    totp = _totp(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(user: StaffUser, step: int) -> bool:
    """Record `step` as the last one used, unless it (or a later one) already was."""
    claimed = rowcount(db.session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id,
               or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ))
    if claimed:
        user.totp_last_step = step
    return bool(claimed)


def check_code(user: StaffUser, code: str, now: datetime | None = None) -> bool:
    """Whether `code` is a one-time code of the user's secret not used before; uses it."""
    if not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code, now or utcnow())
    return step is not None and _claim_step(user, step)


def _normalized_recovery(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def use_recovery_code(user: StaffUser, code: str, now: datetime | None = None) -> bool:
    """Whether `code` is an unused recovery code of the user; uses it up."""
    normalized = _normalized_recovery(code)
    if len(normalized) != _RECOVERY_LENGTH:
        return False
    used = rowcount(db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id,
               RecoveryCode.code_hash == token_hash(normalized),
               RecoveryCode.used_at.is_(None))
        .values(used_at=now or utcnow())
        .execution_options(synchronize_session=False)
    ))
    return bool(used)


def verify(
    user: StaffUser, code: str, *, actor: Actor, now: datetime | None = None
) -> str | None:
    """The second step: a one-time code or a recovery code. Returns how it was made (BY_CODE,
    BY_RECOVERY_CODE) or None; a recovery code used is recorded on the audit trail."""
    if not enrolled(user):
        return None
    now = now or utcnow()
    if check_code(user, code, now):
        return BY_CODE
    if use_recovery_code(user, code, now):
        record("account.two_factor_recovery_code_used", object_type="staff_user",
               object_id=user.id, actor=actor,
               detail={"left": unused_recovery_codes(user)})
        return BY_RECOVERY_CODE
    return None


def unused_recovery_codes(user: StaffUser) -> int:
    return db.session.scalar(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ) or 0


def _new_recovery_codes(user: StaffUser, now: datetime) -> list[str]:
    """Replace the user's recovery codes with new ones; returns them as shown (once)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=token_hash(code), created_at=now)
        for code in codes
    )
    db.session.flush()
    half = _RECOVERY_LENGTH // 2
    return [f"{code[:half]}-{code[half:]}" for code in codes]


# --- enrolment ----------------------------------------------------------------------------------


def pending_secret(user: StaffUser) -> str:
    """The secret being enrolled: the one already offered (a reloaded page shows the same QR
    code), else a new one (160 bits). Refuses an account already enrolled."""
    if enrolled(user):
        raise DomainError(_("Two-factor sign-in is already set up for this account."))
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32(32)
        db.session.flush()
    return user.totp_secret


def provisioning_uri(user: StaffUser, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return _totp(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """A PNG of the QR code as a data: address (served with the page, no outside service)."""
    return str(segno.make_qr(uri, error="m").png_data_uri(scale=5, border=4))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(
    user: StaffUser, code: str, *, actor: Actor, now: datetime | None = None
) -> list[str]:
    """Turn the pending secret on with a first code from it; returns the new recovery codes.
    Raises CodeRefused for a wrong code."""
    now = now or utcnow()
    if enrolled(user) or not user.totp_secret:
        raise DomainError(_("Two-factor sign-in is already set up for this account."))
    if not check_code(user, code, now):
        raise CodeRefused(_("The code is not correct. Type the current code from your app."),
                          "code")
    user.two_factor_enrolled_at = now
    codes = _new_recovery_codes(user, now)
    record("account.two_factor_enrol", object_type="staff_user", object_id=user.id,
           actor=actor)
    return codes


def record_enrolment_failure(user: StaffUser, actor: Actor) -> None:
    record("account.two_factor_enrol_failed", object_type="staff_user", object_id=user.id,
           actor=actor)


def regenerate_recovery_codes(
    user: StaffUser, code: str, *, actor: Actor, now: datetime | None = None
) -> list[str]:
    """New recovery codes (the old ones stop working), for a current one-time code."""
    now = now or utcnow()
    if not enrolled(user) or not check_code(user, code, now):
        raise CodeRefused(_("The code is not correct. Type the current code from your app."),
                          "code")
    codes = _new_recovery_codes(user, now)
    record("account.two_factor_recovery_codes", object_type="staff_user", object_id=user.id,
           actor=actor)
    return codes


def reset(user: StaffUser, *, actor: Actor) -> None:
    """An admin turns off a person's second factor (a lost phone): the secret, recovery codes
    and passkeys go, every session of theirs ends, and they enrol again at their next sign-in."""
    if user.id == actor.staff_id:
        raise DomainError(_("You cannot reset your own two-factor sign-in; ask another admin."))
    was_enrolled = enrolled(user)
    user.totp_secret = None
    user.two_factor_enrolled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    removed = rowcount(db.session.execute(
        delete(StaffPasskey).where(StaffPasskey.user_id == user.id)
        .execution_options(synchronize_session=False)
    ))
    ended = sessions.end_sessions(user, SessionEnd.TWO_FACTOR_RESET)
    db.session.flush()
    detail: dict[str, object] = {"was_enrolled": was_enrolled, "sessions_ended": ended}
    if removed:
        detail["passkeys_removed"] = removed
    record("account.two_factor_reset", object_type="staff_user", object_id=user.id,
           actor=actor, detail=detail)
