"""Outgoing email as rows: written in the caller's transaction, delivered by a worker."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nkhr_events.dbtypes import UTCDateTime, utcnow
from nkhr_events.extensions import Model

#: What a late attachment's row holds; the worker makes the file each time it sends the message
#: and never keeps it (outbox/services.py).
LATE_ATTACHMENT_MARKER = b"nkhr-outbox-late-attachment:"

#: What a stored message holds where its private link goes. The worker makes the link when it
#: hands the message to the SMTP server and puts it in place of this; the row keeps this text,
#: so no working link is ever at rest (outbox/services.py, `LateSecret`).
SECRET_PLACEHOLDER = "PRIVATE-LINK-MADE-WHEN-SENT"


class OutboxStatus(StrEnum):
    QUEUED = "queued"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a worker until `locked_until`
    SENT = "sent"  # accepted by the SMTP server
    FAILED = "failed"  # refused for good, or out of attempts
    CANCELLED = "cancelled"  # withdrawn by staff before it was sent


class OutboxMessage(Model):
    """One email to one recipient, rendered when it was enqueued or, from its snapshot, when
    it is first sent.

    The Message-ID is fixed when the row is written, so a message sent twice (a worker that
    died after the server accepted it) is recognisable as the same message.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(
            "status in ('queued', 'sending', 'sent', 'failed', 'cancelled')", name="status"
        ),
        CheckConstraint("language in ('en', 'ko', 'ja')", name="language"),
        # The worker looks for due rows by status and time.
        Index("ix_outbox_message_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    sender: Mapped[str] = mapped_column(String(320))
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    reply_to: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(998))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    #: What a message written at delivery must say (services.Snapshot, as JSON); its bodies
    #: are empty until the worker writes them from it. Erased with the bodies.
    snapshot: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(8))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    partnership_id: Mapped[int | None] = mapped_column(
        ForeignKey("partnership.id", ondelete="SET NULL"), index=True
    )
    inquiry_id: Mapped[int | None] = mapped_column(
        ForeignKey("inquiry.id", ondelete="SET NULL"), index=True
    )
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration.id", ondelete="SET NULL"), index=True
    )
    #: The event the message is about when no registration or partnership says so (an
    #: invitation): its organizers see it on the outbox page.
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="SET NULL"), index=True
    )
    #: The maker of the private link this message carries (`SECRET_PLACEHOLDER` in the bodies),
    #: and the id of the record the link opens (a registration, a staff account).
    secret_maker: Mapped[str | None] = mapped_column(String(40))
    secret_subject_id: Mapped[int | None]
    #: About a staff account (password link, invitation): only admins see it.
    admin_only: Mapped[bool] = mapped_column(default=False, server_default=false())

    attachments: Mapped[list[OutboxAttachment]] = relationship(
        back_populates="message",
        order_by="OutboxAttachment.position",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.status} {self.template}>"


class OutboxAttachment(Model):
    """A file sent with a message (e.g. the calendar invitation)."""

    __tablename__ = "outbox_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_message.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[OutboxMessage] = relationship(back_populates="attachments")

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def made_at_delivery(self) -> bool:
        """Made by the worker each time it sends the message, never stored (see
        services.late_attachment)."""
        return bytes(self.data).startswith(LATE_ATTACHMENT_MARKER)


class MailRequest(Model):
    """A request for mail whose recipients depend on whom an address belongs to ("send my
    links again", "reset my password").

    The web request only writes this row, the same work for any address, so neither the answer
    nor its timing tells whether the address is known; the outbox worker resolves it (looks the
    address up and enqueues what is due, or nothing) and deletes it.
    """

    __tablename__ = "mail_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
