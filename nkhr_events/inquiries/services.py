"""Inquiries: store what a visitor wrote and queue the team's copy and the acknowledgement;
for staff, the list, a reply through the outbox and the open/answered status."""

from __future__ import annotations

from dataclasses import dataclass

from babel import Locale
from flask import current_app
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from nkhr_events.audit.services import Actor, record, status_detail
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.inquiries.models import Inquiry, InquiryStatus
from nkhr_events.outbox.headers import single_line
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.outbox.services import enqueue_email


@dataclass(frozen=True)
class InquiryInput:
    name: str
    email: str
    subject: str
    message: str
    language: str


def inquiry_reference(inquiry: Inquiry) -> str:
    return f"Q-{inquiry.id:05d}"


def submit_inquiry(data: InquiryInput) -> Inquiry:
    """Add the inquiry and its two emails to the session (the caller commits all three at once).

    The team gets everything, in the team's language, with Reply-To set to the sender. The
    sender gets an acknowledgement in the language they chose that quotes nothing they typed,
    so the form cannot be used to send someone else a text of one's choosing.
    """
    inquiry = Inquiry(
        name=single_line(data.name),
        email=data.email.strip(),
        subject=single_line(data.subject),
        message=data.message.replace("\r\n", "\n").strip(),
        language=data.language,
    )
    db.session.add(inquiry)
    db.session.flush()
    reference = inquiry_reference(inquiry)
    team_language = current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(team_language):
        received = format_datetime(inquiry.created_at, "yyyy-MM-dd HH:mm zzz")
    enqueue_email(
        to=current_app.config["NKHR_TEAM_EMAIL"],
        template="inquiry_received",
        language=team_language,
        context={
            "reference": reference,
            "name": inquiry.name,
            "email": inquiry.email,
            "subject": inquiry.subject,
            "message": inquiry.message,
            "language_name": Locale.parse(inquiry.language).get_display_name(team_language),
            "received": received,
        },
        reply_to=(inquiry.name, inquiry.email),
        inquiry_id=inquiry.id,
    )
    enqueue_email(
        to=inquiry.email,
        template="inquiry_ack",
        language=inquiry.language,
        context={"reference": reference},
        inquiry_id=inquiry.id,
    )
    return inquiry


# The staff side: the list, one inquiry with its emails, a reply, the status.

PAGE_SIZE = 25


def inquiries_query(status: str | None = None) -> Select[Inquiry]:
    """Inquiries newest first, of one status (`InquiryStatus`) when given."""
    query = select(Inquiry).order_by(Inquiry.created_at.desc(), Inquiry.id.desc())
    if status:
        query = query.where(Inquiry.status == status)
    return query


def status_counts() -> dict[str, int]:
    """How many inquiries are open and how many answered."""
    counts: dict[str, int] = {status.value: 0 for status in InquiryStatus}
    for status, count in db.session.execute(
        select(Inquiry.status, func.count(Inquiry.id)).group_by(Inquiry.status)
    ):
        counts[status] = count
    return counts


def emails_about(inquiry: Inquiry) -> list[OutboxMessage]:
    """Every email about the inquiry (the team's copy, the acknowledgement, replies), oldest
    first."""
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.inquiry_id == inquiry.id)
            .order_by(OutboxMessage.id)
        )
    )


def reply_subject(inquiry: Inquiry) -> str:
    """The subject a reply starts with: "Re: <their subject>"."""
    subject = inquiry.subject
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"[:200]


def _set_status(inquiry: Inquiry, status: InquiryStatus, staff_id: int | None) -> None:
    inquiry.status = status
    if status == InquiryStatus.ANSWERED:
        inquiry.answered_at = utcnow()
        inquiry.answered_by_id = staff_id
    else:
        inquiry.answered_at = None
        inquiry.answered_by_id = None


def reply_to_inquiry(inquiry: Inquiry, subject: str, body: str, *, actor: Actor) -> None:
    """Queue the reply to the inquirer (the frame in the language they chose) and mark the
    inquiry answered. Audited. Raises DomainError for an erased inquiry: it has no address."""
    if inquiry.anonymized_at is not None:
        raise DomainError(_("This inquiry was erased; there is no one to answer."))
    before = inquiry.status
    enqueue_email(
        to=inquiry.email,
        template="inquiry_reply",
        language=inquiry.language,
        context={
            "reference": inquiry_reference(inquiry),
            "subject": single_line(subject),
            "body": body.replace("\r\n", "\n").strip(),
        },
        inquiry_id=inquiry.id,
    )
    _set_status(inquiry, InquiryStatus.ANSWERED, actor.staff_id)
    record(
        "inquiry.reply",
        actor=actor,
        object_type="inquiry",
        object_id=inquiry.id,
        detail=status_detail(before, InquiryStatus.ANSWERED),
    )
    db.session.flush()


def change_status(inquiry: Inquiry, status: InquiryStatus, *, actor: Actor) -> bool:
    """Mark the inquiry open or answered; unchanged, nothing is written. Audited."""
    if inquiry.status == status:
        return False
    before = inquiry.status
    _set_status(inquiry, status, actor.staff_id)
    record(
        "inquiry.status",
        actor=actor,
        object_type="inquiry",
        object_id=inquiry.id,
        detail=status_detail(before, status),
    )
    db.session.flush()
    return True
