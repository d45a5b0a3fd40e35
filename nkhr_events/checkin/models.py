"""Check-ins at the door: one row per registration and event day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nkhr_events.dbtypes import UTCDateTime, utcnow
from nkhr_events.extensions import Model
from nkhr_events.registrations.models import Registration


class RegistrationCheckin(Model):
    """A confirmed registrant checked in at the door on one day of the event."""

    __tablename__ = "registration_checkin"
    __table_args__ = (UniqueConstraint("registration_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date]
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))

    registration: Mapped[Registration] = relationship()
