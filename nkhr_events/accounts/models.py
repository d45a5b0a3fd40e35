"""Staff users (organizers and admins), their sessions and their password links. Attendees and
partners have no accounts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from nkhr_events.dbtypes import UTCDateTime, utcnow
from nkhr_events.extensions import Model


class StaffRole(StrEnum):
    ADMIN = "admin"
    ORGANIZER = "organizer"


class StaffUser(UserMixin, Model):
    __table_args__ = (CheckConstraint("role in ('admin', 'organizer')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default=StaffRole.ORGANIZER)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

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


class SessionEnd(StrEnum):
    """Why a staff session was ended before it ran out (accounts/sessions.py)."""

    SIGN_OUT = "sign_out"
    PASSWORD_CHANGE = "password_change"  # every other session of the person
    PASSWORD_RESET = "password_reset"
    DEACTIVATION = "deactivation"


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
