"""Certificates of attendance: who gets one, what it states, and emailing them all.

After an event (its last day has passed on the event's own clock), everyone checked in on at
least one day may have a certificate naming the days they were checked in, in the language
of their registration. A registration has one certificate in force: the first download (or
the email to everyone) issues it, and every later download renders the same document, with
the same reference and code, from its stored statements.

"Email all certificates" adds one `CertificateMailing` row; the outbox worker's periodic task
takes it, issues the certificates still missing and queues one email per person, each with a
late attachment (the PDF is made as the email is sent, not in any request, and not kept).
A certificate emailed once is never emailed by a later run.

Protected guests and people registered without an address get theirs from staff (the
person's staff page): they have no email to send it to, and a protected guest's certificate
names them by their real name, which only admins and the event's organizers see.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from nkhr_events.audit.services import SYSTEM, Actor, record
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.database import rowcount
from nkhr_events.dbtypes import utcnow
from nkhr_events.documents import services
from nkhr_events.documents.models import CertificateMailing, DocumentKind, IssuedDocument
from nkhr_events.documents.pdf import DocumentBuilder
from nkhr_events.errors import DomainError
from nkhr_events.events.dates import format_days
from nkhr_events.events.models import Event
from nkhr_events.events.texts import local_text
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.outbox.periodic import periodic_task
from nkhr_events.outbox.services import attachment_maker, enqueue_email, late_attachment
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.web import place_text

CERTIFICATE = DocumentKind.CERTIFICATE
#: The late attachment (outbox/services.py) that is a registration's certificate.
CERTIFICATE_PDF = "documents-certificate-pdf"
#: A job taken by a worker that has not finished it in this long is taken by another.
MAILING_LEASE = timedelta(minutes=15)
LANGUAGES = ("en", "ko", "ja")


class CertificateUnavailable(DomainError):
    """No certificate for this registration (event not over, never checked in, erased, or its
    certificate was revoked); the message says which, for the staff."""


class MailingWaiting(DomainError):
    """The event already has an "email all certificates" job waiting."""


def last_day(event: Event) -> date:
    return max(event.day_list or [event.end_date])


def event_is_over(event: Event, now: datetime | None = None) -> bool:
    """Whether the event's last day has passed on the event's own clock."""
    today = (now or utcnow()).astimezone(event.zone).date()
    return today > last_day(event)


def _today(event: Event) -> date:
    return utcnow().astimezone(event.zone).date()


def attended_days(registration_id: int) -> list[date]:
    """The days the person was checked in at the door, in order."""
    return list(
        db.session.scalars(
            select(RegistrationCheckin.day)
            .where(RegistrationCheckin.registration_id == registration_id)
            .order_by(RegistrationCheckin.day)
        )
    )


def document_language(registration: Registration) -> str:
    return registration.language if registration.language in LANGUAGES else "en"


def current_certificate(registration_id: int) -> IssuedDocument | None:
    """The registration's certificate in force (not revoked), if one was issued."""
    return db.session.scalar(
        select(IssuedDocument).where(
            IssuedDocument.registration_id == registration_id,
            IssuedDocument.kind == CERTIFICATE,
            IssuedDocument.revoked_at.is_(None),
        )
    )


def _was_revoked(registration_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    IssuedDocument.registration_id == registration_id,
                    IssuedDocument.kind == CERTIFICATE,
                    IssuedDocument.revoked_at.is_not(None),
                )
            )
        )
    )


def unavailable_reason(registration: Registration, now: datetime | None = None) -> str | None:
    """Why no certificate can be issued to `registration` now, or None if one can."""
    if registration.anonymized_at is not None:
        return _("This registration was erased.")
    if not event_is_over(registration.event, now):
        return _("Certificates of attendance are available after the event.")
    if registration.status != RegistrationStatus.CONFIRMED or not attended_days(registration.id):
        return _("Only people checked in at the event receive a certificate of attendance.")
    return None


def offered(registration: Registration, now: datetime | None = None) -> bool:
    """Whether the attendee's own page offers a certificate: one is in force, or one can be
    issued and none was revoked (after a revocation only the staff issue a new one)."""
    if current_certificate(registration.id) is not None:
        return True
    return unavailable_reason(registration, now) is None and not _was_revoked(registration.id)


def holder_name(registration: Registration) -> str:
    """The name the certificate states: a protected guest's real name (their certificate
    reaches them only through the organizers), everyone else's name as they write it."""
    if registration.protected and registration.real_name.strip():
        return registration.real_name.strip()
    return registration.full_name


def statements(registration: Registration, language: str) -> list[tuple[str, str]]:
    """What a certificate states, label and value, in `language`."""
    event = registration.event
    days = attended_days(registration.id)
    with force_locale(language):
        place = str(place_text(event))  # in the language's order (web.place_text)
        return [
            (_("Name"), holder_name(registration)),
            (_("Event"), str(local_text(event, "title", language))),
            (_("Place"), place),
            (_("Days attended"), format_days(days, language, _("{days}, {year}"))),
            (_("Issued on"), format_date(_today(event), "long", locale=language)),
        ]


def certificate_for(
    registration: Registration,
    *,
    actor: Actor,
    reissue: bool = False,
    now: datetime | None = None,
) -> IssuedDocument:
    """The registration's certificate: the one in force, else a new one (audited). After a
    revocation a new one is issued only with `reissue` (staff). Raises CertificateUnavailable
    when none can be issued. Two requests at once get the same document: the database allows
    one certificate in force per registration, and the loser reads the winner's."""
    existing = current_certificate(registration.id)
    if existing is not None:
        return existing
    reason = unavailable_reason(registration, now)
    if reason is None and not reissue and _was_revoked(registration.id):
        reason = _("This certificate was withdrawn. Please write to the organizers.")
    if reason is not None:
        raise CertificateUnavailable(reason)
    language = document_language(registration)
    try:
        with db.session.begin_nested():
            document, _code = services.issue_document(
                registration,
                CERTIFICATE,
                language,
                statements(registration, language),
                actor=actor,
            )
    except IntegrityError:
        winner = current_certificate(registration.id)
        if winner is None:
            raise
        return winner
    return document


def title(language: str) -> str:
    with force_locale(language):
        return _("Certificate of attendance")


def render(document: IssuedDocument) -> bytes:
    """The certificate's PDF, from its stored statements and the current document settings."""
    language = document.language
    code = services.document_code(document)
    with force_locale(language):
        intro = _(
            "This is to certify that the person named below attended the conference on the "
            "days listed."
        )
    builder = DocumentBuilder(language, title(language))
    builder.letterhead()
    builder.heading(title(language))
    builder.paragraph(intro)
    builder.facts([(label, value) for label, value in document.statements])
    builder.signature()
    builder.verification(services.verification_url(document.reference, code), document.reference)
    return builder.output()


def filename(document: IssuedDocument) -> str:
    return f"certificate-{document.reference}.pdf"


# --- email them all -------------------------------------------------------------------------


def request_mailing(
    event: Event, *, actor: Actor, now: datetime | None = None
) -> CertificateMailing:
    """Queue the job of emailing every certificate of `event` (audited). Raises
    CertificateUnavailable before the event is over and MailingWaiting while a job waits."""
    if not event_is_over(event, now):
        raise CertificateUnavailable(_("Certificates of attendance are available after the event."))
    if waiting_mailing(event.id) is not None:
        raise MailingWaiting(_("The certificates are already being sent."))
    mailing = CertificateMailing(event_id=event.id, requested_by_id=actor.staff_id)
    try:
        with db.session.begin_nested():
            db.session.add(mailing)
            db.session.flush()
    except IntegrityError as error:
        raise MailingWaiting(_("The certificates are already being sent.")) from error
    record(
        "documents.certificates_mail",
        actor=actor,
        object_type="certificate_mailing",
        object_id=mailing.id,
        event_id=event.id,
    )
    return mailing


def waiting_mailing(event_id: int) -> CertificateMailing | None:
    return db.session.scalar(
        select(CertificateMailing).where(
            CertificateMailing.event_id == event_id, CertificateMailing.finished_at.is_(None)
        )
    )


def mailings(event_id: int) -> Sequence[CertificateMailing]:
    return list(
        db.session.scalars(
            select(CertificateMailing)
            .where(CertificateMailing.event_id == event_id)
            .order_by(CertificateMailing.requested_at.desc())
            .limit(10)
        )
    )


def _recipients(event_id: int) -> list[Registration]:
    """Confirmed registrations of the event with an address, not protected, not erased,
    checked in at least once."""
    checked_in = exists().where(RegistrationCheckin.registration_id == Registration.id)
    return list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event_id,
                Registration.status == RegistrationStatus.CONFIRMED,
                Registration.protected.is_(False),
                Registration.anonymized_at.is_(None),
                Registration.email != "",
                checked_in,
            )
            .order_by(Registration.id)
        )
    )


def _take(mailing_id: int, now: datetime) -> bool:
    """Take the job for this worker: only one worker gets it while it is being done."""
    taken = db.session.execute(
        update(CertificateMailing)
        .where(
            CertificateMailing.id == mailing_id,
            CertificateMailing.finished_at.is_(None),
            or_(
                CertificateMailing.started_at.is_(None),
                CertificateMailing.started_at < now - MAILING_LEASE,
            ),
        )
        .values(started_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(taken) == 1


def run_mailing(mailing: CertificateMailing, now: datetime | None = None) -> int:
    """Issue the certificates still missing and queue one email each (in the attendee's
    language, the PDF made when the email is sent) for every recipient whose certificate was
    never emailed; returns how many were queued."""
    now = now or utcnow()
    queued = 0
    for registration in _recipients(mailing.event_id):
        try:
            document = certificate_for(registration, actor=SYSTEM, now=now)
        except CertificateUnavailable:
            continue
        if document.emailed_at is not None:
            continue
        language = document.language
        enqueue_email(
            to=registration.email,
            template="certificate",
            language=language,
            context={
                "registration": registration,
                "event": registration.event,
                "reference": document.reference,
            },
            attachments=[late_attachment(filename(document), "application/pdf", CERTIFICATE_PDF)],
            registration_id=registration.id,
        )
        document.emailed_at = now
        queued += 1
    mailing.finished_at = now
    mailing.queued = queued
    db.session.flush()
    return queued


@periodic_task("documents.certificate_mailings")
def send_certificate_mailings() -> None:
    """The outbox worker's task: do every waiting "email all certificates" job."""
    now = utcnow()
    waiting = list(
        db.session.scalars(
            select(CertificateMailing.id)
            .where(CertificateMailing.finished_at.is_(None))
            .order_by(CertificateMailing.id)
        )
    )
    for mailing_id in waiting:
        if not _take(mailing_id, now):
            continue
        mailing = db.session.get(CertificateMailing, mailing_id)
        if mailing is not None:
            db.session.refresh(mailing)
            run_mailing(mailing, now)


@attachment_maker(CERTIFICATE_PDF)
def _certificate_pdf(message: OutboxMessage) -> bytes:
    document = current_certificate(message.registration_id) if message.registration_id else None
    if document is None:
        raise ValueError("the certificate of this email was revoked or its registration erased")
    return render(document)
