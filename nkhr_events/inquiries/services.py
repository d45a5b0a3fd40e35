"""Inquiries: store what a visitor wrote and queue the team's copy and the acknowledgement."""

from __future__ import annotations

from dataclasses import dataclass

from babel import Locale
from flask import current_app
from flask_babel import force_locale, format_datetime

from nkhr_events.extensions import db
from nkhr_events.inquiries.models import Inquiry
from nkhr_events.outbox.headers import single_line
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
