"""The document engine's tables: the settings an admin sets, and every document issued.

Both kinds of document (visa letters and certificates of attendance) are rows of
`IssuedDocument`. A document keeps exactly what it states (`statements`, encrypted at rest),
so it can be rendered again and checked on the public verification page long after the
registration behind it was purged. Its secret code is never stored: it is derived from the
reference under the application's secret key (documents/services.py), and only its SHA-256 is
kept, so a lookup compares hashes and a copy of the database verifies nothing by itself.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nkhr_events.dbtypes import EncryptedJSON, UTCDateTime, utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import Model
from nkhr_events.registrations.models import Registration


class DocumentKind(StrEnum):
    VISA_LETTER = "visa_letter"
    CERTIFICATE = "certificate"


#: Limits of the settings' fields (forms and the table alike).
ORGANISATION_NAME_MAX = 200
ORGANISATION_ADDRESS_MAX = 500
SIGNATORY_NAME_MAX = 120
SIGNATORY_TITLE_MAX = 200
PURGE_DAYS_MIN = 1
PURGE_DAYS_MAX = 365
DEFAULT_PURGE_DAYS = 30
#: The settings table has one row, with this id.
SETTINGS_ID = 1


class DocumentSettings(Model):
    """The letterhead, the signatory and the visa-letter purge period (one row, id 1).

    The organisation name falls back to NKHR_ORG_NAME while an admin has not set one. The
    signature is our own PNG re-encoding of the uploaded image (documents/signature.py), never
    the upload itself.
    """

    __tablename__ = "document_settings"
    __table_args__ = (
        CheckConstraint(
            f"visa_purge_days between {PURGE_DAYS_MIN} and {PURGE_DAYS_MAX}",
            name="visa_purge_days_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_name: Mapped[str] = mapped_column(String(ORGANISATION_NAME_MAX), default="")
    organisation_address: Mapped[str] = mapped_column(Text, default="")
    signatory_name: Mapped[str] = mapped_column(String(SIGNATORY_NAME_MAX), default="")
    signatory_title: Mapped[str] = mapped_column(String(SIGNATORY_TITLE_MAX), default="")
    signature_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    visa_purge_days: Mapped[int] = mapped_column(default=DEFAULT_PURGE_DAYS)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )


class IssuedDocument(Model):
    """One document given to a person: a visa letter or a certificate of attendance.

    `reference` is printed on the document and typed on the verification page; it is random
    (not a sequence), so one reference says nothing about the others. `statements` holds the
    label/value pairs the document states, in its language, exactly as the verification page
    shows them.
    """

    __tablename__ = "issued_document"
    __table_args__ = (
        CheckConstraint("kind in ('visa_letter', 'certificate')", name="kind"),
        CheckConstraint("language in ('en', 'ko', 'ja')", name="language"),
        Index("ix_issued_document_event_kind", "event_id", "kind"),
        Index("ix_issued_document_registration_kind", "registration_id", "kind"),
        # A registration has one certificate in force: every download, and the email to
        # everyone, give the same document (a revoked one may be followed by a new one).
        Index(
            "uq_issued_document_certificate",
            "registration_id",
            unique=True,
            sqlite_where=text("kind = 'certificate' and revoked_at is null"),
            postgresql_where=text("kind = 'certificate' and revoked_at is null"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    #: SHA-256 (hex) of the secret code printed on the document.
    code_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(5))
    #: [[label, value], ...] in the document's language.
    statements: Mapped[list[list[str]]] = mapped_column(EncryptedJSON, default=list)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str] = mapped_column(Text, default="")
    #: When the document was queued to be emailed to its holder (certificates: by "email all
    #: certificates"); a second run leaves it alone.
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    registration: Mapped[Registration | None] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class CertificateMailing(Model):
    """One staff request to email every certificate of an event: the job the outbox worker
    does (documents/certificates.py, `send_certificate_mailings`). At most one per event waits
    at a time; `finished_at` says when the worker queued the emails, `queued` how many."""

    __tablename__ = "certificate_mailing"
    __table_args__ = (
        Index(
            "uq_certificate_mailing_waiting",
            "event_id",
            unique=True,
            sqlite_where=text("finished_at is null"),
            postgresql_where=text("finished_at is null"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    #: Set by the worker that took the job (another worker leaves a job taken recently).
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    queued: Mapped[int] = mapped_column(default=0)
