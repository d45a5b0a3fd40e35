"""A question sent to the Intl Campaign & Cooperation Team through the contact form."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nkhr_events.dbtypes import UTCDateTime, utcnow
from nkhr_events.extensions import Model


class Inquiry(Model):
    """What a visitor wrote; the outbox rows that mention it carry its id."""

    __table_args__ = (CheckConstraint("language in ('en', 'ko', 'ja')", name="language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Inquiry {self.id}>"
