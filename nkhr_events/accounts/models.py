"""Staff users (organizers and admins), their sessions and their password links. Attendees and
partners have no accounts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from nkhr_events.dbtypes import EncryptedText, UTCDateTime, utcnow
from nkhr_events.extensions import Model


class StaffRole(StrEnum):
    """An account's global standing: admins hold every right (accounts, settings, every event);
    staff hold what their teams give them (`TeamMember`)."""

    ADMIN = "admin"
    STAFF = "staff"


class TeamRole(StrEnum):
    """What a member of an event's team does there (accounts/access.py says what each may)."""

    ORGANIZER = "organizer"  # everything about the event
    REVIEWER = "reviewer"  # sees and decides registrations of chosen categories
    DOOR = "door"  # checks people in
    LIAISON = "liaison"  # partner applications and recognition


class StaffUser(UserMixin, Model):
    __table_args__ = (CheckConstraint("role in ('admin', 'staff')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default=StaffRole.STAFF)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The shared secret of one-time codes (accounts/twofactor.py), encrypted at rest; set when
    #: enrolment begins, in use once `two_factor_enrolled_at` is set.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    two_factor_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The time step of the last code accepted: no code of that step or an earlier one works.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    #: The roster export's columns as this person last chose them (space-separated keys of
    #: roster/exports.py); empty: the default columns.
    export_columns: Mapped[str | None] = mapped_column(String(1000))

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<StaffUser {self.id} {self.role}>"


class PasswordResetToken(Model):
    """A single-use, expiring link to set a new password; only a SHA-256 is stored."""

    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(Model):
    """A single-use code that stands in for a one-time code (a lost phone); only its SHA-256
    is stored. Ten are made at enrolment and shown once."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffPasskey(Model):
    """A passkey (WebAuthn credential) a staff member registered as a second factor beside
    their one-time codes. Only the public key is kept; the private key never leaves the
    person's device. The signature counter, where the device keeps one, shows a cloned key."""

    __tablename__ = "staff_passkey"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    #: The credential's id, base64url without padding (at most 1023 bytes as raw).
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(60))
    #: What the device said it can be reached by ("internal hybrid usb"), a hint for sign-in.
    transports: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SessionEnd(StrEnum):
    """Why a staff session was ended before it ran out (accounts/sessions.py)."""

    SIGN_OUT = "sign_out"
    PASSWORD_CHANGE = "password_change"  # every other session of the person
    PASSWORD_RESET = "password_reset"
    DEACTIVATION = "deactivation"
    TWO_FACTOR_RESET = "two_factor_reset"  # an admin reset the person's second factor


class StaffSession(Model):
    """One sign-in, from the sign-in form until it is ended or runs out.

    The browser keeps a random token in its signed session cookie; only its SHA-256 is stored,
    so the table alone signs nobody in.
    """

    __tablename__ = "staff_session"
    __table_args__ = (
        CheckConstraint(
            "ended_reason in (" + ", ".join(f"'{r.value}'" for r in SessionEnd) + ")",
            name="ended_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When a request last came with it, kept to within `sessions.SEEN_INTERVAL`.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(16))

    user: Mapped[StaffUser] = relationship(lazy="joined", innerjoin=True)

    def __repr__(self) -> str:
        return f"<StaffSession {self.id} of {self.user_id}>"


class TeamMember(Model):
    """A staff member's place on the team of one event, or of every event (`event_id` NULL: new
    events included), with one role there."""

    __tablename__ = "team_member"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        CheckConstraint(
            "role in (" + ", ".join(f"'{r.value}'" for r in TeamRole) + ")", name="role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    #: A reviewer's categories, space-separated ("journalist government"); "" for every one.
    categories: Mapped[str] = mapped_column(String(400), default="", server_default="")
    #: A reviewer who may also read needs (accessibility, diet) and internal notes.
    sees_needs: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: A reviewer who may also export lists and print badges and sign-in sheets.
    can_export: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[StaffUser] = relationship()

    @property
    def category_list(self) -> list[str]:
        return self.categories.split()

    def __repr__(self) -> str:
        return f"<TeamMember {self.user_id} {self.role} of {self.event_id or 'every event'}>"
