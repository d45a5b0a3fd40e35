"""Visa invitation letter requests: the table, and the blanking of its passport data.

A confirmed attendee asks for a letter through their private link (documents/visa.py holds the
rules). The passport data they give is special-category data: every field of it is encrypted at
rest (`EncryptedText`, Fernet under the application's key ring), read only by admins and the
event's organizers (`Permission.VISA`), and blanked `purge_days` after the event's last day,
earlier than the rest of the registration (`purged_at` says when). The letters issued for a
request are documents of the document engine (`document_id`, `translation_document_id`); they
stay verifiable after the purge, since the engine keeps their statements (which hold only the
last characters of the passport number).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nkhr_events.dbtypes import EncryptedText, UTCDateTime, utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import Model, db
from nkhr_events.registrations.models import Registration


class VisaStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


#: A request in these statuses is the registration's open one: at most one at a time.
OPEN_STATUSES = (VisaStatus.REQUESTED, VisaStatus.APPROVED)
#: The letter's second language, besides English (always), where the attendee asks for one.
SECOND_LANGUAGES = ("ko", "ja")


class VisaLetterRequest(Model):
    """One attendee's request for a visa invitation letter, with the passport data the letter
    states."""

    __tablename__ = "visa_letter_request"
    __table_args__ = (
        CheckConstraint(
            "status in ('requested', 'approved', 'declined', 'withdrawn')", name="status"
        ),
        CheckConstraint("second_language in ('', 'ko', 'ja')", name="second_language"),
        # One open request per registration, enforced by the database too (a partial unique
        # index; SQLite and PostgreSQL both have them).
        Index(
            "uq_visa_letter_request_open",
            "registration_id",
            unique=True,
            sqlite_where=text("status in ('requested', 'approved')"),
            postgresql_where=text("status in ('requested', 'approved')"),
        ),
        Index("ix_visa_letter_request_event_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=VisaStatus.REQUESTED)
    # The passport data, each field encrypted at rest; blank after the purge.
    passport_name: Mapped[str] = mapped_column(EncryptedText, default="")
    passport_number: Mapped[str] = mapped_column(EncryptedText, default="")
    #: ISO 3166-1 alpha-2 code of the nationality the passport states.
    nationality: Mapped[str] = mapped_column(EncryptedText, default="")
    #: ISO date text (YYYY-MM-DD): a date column could not be encrypted.
    birth_date_text: Mapped[str] = mapped_column(EncryptedText, default="")
    passport_expiry_text: Mapped[str] = mapped_column(EncryptedText, default="")
    #: The consulate or embassy that will read the letter (city and country, as typed).
    consulate: Mapped[str] = mapped_column(EncryptedText, default="")
    #: "" for English only, else the letter's second language ("ko" or "ja").
    second_language: Mapped[str] = mapped_column(String(2), default="")
    #: The staff's note with the decision (required for a decline; emailed to the attendee).
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    #: The English letter, and the letter in the second language (each its own document).
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("issued_document.id", ondelete="SET NULL")
    )
    translation_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("issued_document.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    registration: Mapped[Registration] = relationship()
    event: Mapped[Event] = relationship()

    @property
    def birth_date(self) -> date | None:
        return date.fromisoformat(self.birth_date_text) if self.birth_date_text else None

    @property
    def passport_expiry(self) -> date | None:
        return date.fromisoformat(self.passport_expiry_text) if self.passport_expiry_text else None

    @property
    def languages(self) -> list[str]:
        """The letter's languages: English, and the second one if asked."""
        return ["en", *([self.second_language] if self.second_language else [])]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


#: The passport fields and what a blanked one holds.
PASSPORT_FIELDS = (
    "passport_name",
    "passport_number",
    "nationality",
    "birth_date_text",
    "passport_expiry_text",
    "consulate",
)


def forget_passport_data(registration_id: int, now: datetime | None = None) -> None:
    """Blank the passport data of every request of a registration whose data goes (the
    attendee erases it, or the event's data is purged): the letters stay verifiable through
    their documents' statements, which never held the full passport number."""
    db.session.execute(
        update(VisaLetterRequest)
        .where(
            VisaLetterRequest.registration_id == registration_id,
            VisaLetterRequest.purged_at.is_(None),
        )
        .values(**dict.fromkeys(PASSPORT_FIELDS, ""), purged_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    )
