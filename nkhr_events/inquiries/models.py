"""A question sent to the Intl Campaign & Cooperation Team through the contact form."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nkhr_events.dbtypes import UTCDateTime, utcnow
from nkhr_events.extensions import Model


class InquiryStatus(StrEnum):
    OPEN = "open"  # nobody has answered yet
    ANSWERED = "answered"  # staff replied (through the outbox) or marked it answered


class Inquiry(Model):
    """What a visitor wrote; the outbox rows that mention it carry its id."""

    __table_args__ = (
        CheckConstraint("language in ('en', 'ko', 'ja')", name="language"),
        CheckConstraint("status in ('open', 'answered')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(
        String(16), default=InquiryStatus.OPEN, server_default="open", index=True
    )
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )

    def __repr__(self) -> str:
        return f"<Inquiry {self.id}>"
