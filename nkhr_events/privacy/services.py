"""Personal data: what an attendee can download, how a registration is erased, and the purge
that anonymizes what has been kept past an event's retention period.

Anonymization keeps the row (seat counts, statistics and the audit trail stay whole) and
replaces every personal field; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update

from nkhr_events.accounts.sessions import purge_sessions
from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import Actor, record
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.dbtypes import utcnow
from nkhr_events.documents.visa_models import forget_passport_data
from nkhr_events.events.models import Event
from nkhr_events.events.texts import local_text
from nkhr_events.extensions import db
from nkhr_events.inquiries.models import Inquiry
from nkhr_events.invitations.groups import GROUP_LINK, erase_group_contacts
from nkhr_events.invitations.models import Invitation, RegistrationGroup
from nkhr_events.invitations.services import INVITATION_LINK
from nkhr_events.outbox.models import (
    MailRequest,
    OutboxAttachment,
    OutboxMessage,
    OutboxStatus,
)
from nkhr_events.partners.models import Partnership
from nkhr_events.programme.signups import cancel_signups_of
from nkhr_events.programme.speakers import SPEAKER_LINK, anonymize_speakers
from nkhr_events.registrations.models import (
    ACTIVE_STATUSES,
    ManageToken,
    Registration,
)
from nkhr_events.registrations.services import cancel_registration

ERASED_NAME = "Erased"
ERASED_TEXT = "(erased)"
#: Inquiries are not tied to an event; they are kept this long after they were received.
INQUIRY_RETENTION = timedelta(days=180)
#: The audit trail keeps client IP addresses, and the address typed into a failed sign-in or a
#: reset request that matches no account, this long (the sign-in throttle reads a day of them).
AUDIT_PERSONAL_RETENTION = timedelta(days=90)
UNKNOWN_ADDRESS = "(unknown address)"
#: A lost-link or reset request the outbox worker has not answered in this time (no worker
#: running) is dropped with the address it holds.
MAIL_REQUEST_RETENTION = timedelta(days=1)
#: Audit actions whose actor is an address someone typed.
TYPED_ADDRESS_ACTIONS = ("auth.sign_in_failed", "auth.sign_in_delayed", "auth.sign_in_locked",
                         "auth.lockout", "account.password_reset_request")


def erased_address(kind: str, row_id: int) -> str:
    """A unique address that can never be delivered (`.invalid` is reserved, RFC 2606)."""
    return f"erased-{kind}-{row_id}@invalid"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def registration_data(registration: Registration) -> dict[str, Any]:
    """Everything stored about one registration, for the attendee to download."""
    checkins = db.session.scalars(
        select(RegistrationCheckin)
        .where(RegistrationCheckin.registration_id == registration.id)
        .order_by(RegistrationCheckin.day)
    )
    messages = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.registration_id == registration.id)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    event = registration.event
    return {
        "event": {
            "title": local_text(event, "title", registration.language).text,
            "start_date": _iso(event.start_date),
            "end_date": _iso(event.end_date),
        },
        "registration": {
            "category": registration.category,
            "status": registration.status,
            "given_name": registration.given_name,
            "family_name": registration.family_name,
            "badge_name": registration.badge_name,
            "email": registration.email,
            "organization": registration.organization,
            "position": registration.position,
            "country": registration.country,
            "language": registration.language,
            "interpretation": registration.interpretation,
            "accessibility_needs": registration.accessibility_needs,
            "dietary_needs": registration.dietary_needs,
            "do_not_publish": registration.do_not_publish,
            "decision_reason": registration.decision_reason,
            "created_at": _iso(registration.created_at),
            "updated_at": _iso(registration.updated_at),
            "status_changed_at": _iso(registration.status_changed_at),
            "waitlisted_at": _iso(registration.waitlisted_at),
            "confirm_email_by": _iso(registration.confirm_by),
            "email_confirmed_at": _iso(registration.email_confirmed_at),
            "cancel_reason": registration.cancel_reason,
        },
        "answers": dict(registration.answers or {}),
        "days": [_iso(d) for d in registration.day_list],
        "consents": {
            "privacy_consent_at": _iso(registration.privacy_consent_at),
            "publish_name": registration.publish_name,
            "photo_consent": registration.photo_consent,
        },
        "checkins": [
            {"day": _iso(c.day), "checked_in_at": _iso(c.checked_in_at)} for c in checkins
        ],
        "emails": [
            {"subject": m.subject, "date": _iso(m.sent_at or m.created_at), "status": m.status}
            for m in messages
        ],
    }


def _anonymize(registration: Registration, now: datetime) -> None:
    """Replace every personal field, close the private links and blank the emails sent."""
    original_email = registration.email
    registration.given_name = ERASED_NAME
    registration.family_name = ERASED_NAME
    registration.badge_name = ""
    registration.real_name = ""  # a protected guest's (the name fields held the pseudonym)
    registration.email = erased_address("registration", registration.id)
    registration.email_key = registration.email
    registration.organization = ""
    registration.position = ""
    registration.country = ""
    registration.answers = {}
    registration.accessibility_needs = ""
    registration.dietary_needs = ""
    registration.internal_notes = ""
    registration.decision_reason = None
    registration.publish_name = False
    registration.photo_consent = False
    registration.checkin_salt = None
    registration.anonymized_at = now
    db.session.execute(delete(ManageToken).where(ManageToken.registration_id == registration.id))
    _scrub_messages(
        OutboxMessage.registration_id == registration.id, original_email, registration.email
    )
    _forget_addresses(registration.id)
    _erase_invitations(Invitation.registration_id == registration.id)
    forget_passport_data(registration.id, now)
    db.session.flush()


def _erase_invitations(which: ColumnElement[bool]) -> None:
    """Blank the invitations (and the emails that carried them) of people whose data goes:
    an invitee may be someone at risk, kept no longer than those who registered."""
    for invitation in db.session.scalars(
        select(Invitation).where(which, Invitation.name != ERASED_NAME)
    ):
        replacement = erased_address("invitation", invitation.id)
        _scrub_messages(
            and_(OutboxMessage.secret_maker == INVITATION_LINK,
                 OutboxMessage.secret_subject_id == invitation.id),
            invitation.email,
            replacement,
        )
        invitation.name = ERASED_NAME
        invitation.email = replacement
        invitation.email_key = replacement
        invitation.organization = ""


def _forget_addresses(registration_id: int) -> None:
    """The client IP addresses the audit trail kept about this registration."""
    db.session.flush()
    db.session.execute(
        update(AuditEntry)
        .where(AuditEntry.object_type == "registration", AuditEntry.object_id == registration_id)
        .values(ip=None)
        .execution_options(synchronize_session=False)
    )


def _scrub_messages(about: ColumnElement[bool], person: str | None, replacement: str) -> None:
    """Blank the emails about an anonymized person: the rows stay, so the outbox's counts stay
    whole; what is not yet sent is cancelled. Mail to the person gets `replacement` as its
    recipient; mail about them to the team keeps the team's address."""
    messages = list(db.session.scalars(select(OutboxMessage).where(about)))
    for message in messages:
        if message.status in (OutboxStatus.QUEUED, OutboxStatus.SENDING):
            message.status = OutboxStatus.CANCELLED
        if person is None or message.recipient.lower() == person.lower():
            message.recipient = replacement
        message.reply_to = None
        message.subject = ERASED_TEXT
        message.text_body = ERASED_TEXT
        message.html_body = None
        message.snapshot = None
        message.last_error = None
    if messages:
        db.session.execute(
            delete(OutboxAttachment).where(
                OutboxAttachment.outbox_message_id.in_([m.id for m in messages])
            )
        )


def _erase_group_contacts(event_ids: list[int], now: datetime, actor: Actor) -> None:
    """The contacts of the events' delegations and partner blocks: the emails to them (their
    links, and the mail of members without an address of their own) are blanked and
    readdressed, then their names and addresses erased (invitations/groups.py)."""
    groups = db.session.scalars(
        select(RegistrationGroup).where(
            RegistrationGroup.event_id.in_(event_ids),
            RegistrationGroup.contact_anonymized_at.is_(None),
        )
    ).all()
    for group in groups:
        members = select(Registration.id).where(Registration.group_id == group.id)
        _scrub_messages(
            or_(
                and_(OutboxMessage.secret_maker == GROUP_LINK,
                     OutboxMessage.secret_subject_id == group.id),
                and_(OutboxMessage.registration_id.in_(members),
                     func.lower(OutboxMessage.recipient) == group.contact_email.lower()),
            ),
            group.contact_email,
            erased_address("group-contact", group.id),
        )
    for event_id in sorted({group.event_id for group in groups}):
        erase_group_contacts(event_id, now, actor=actor)


def anonymize_registration(
    registration: Registration, now: datetime | None = None, *, actor: Actor
) -> None:
    """The attendee erases their registration.

    An active registration is cancelled first, so its seat goes to the waitlist in the same
    transaction; then the personal fields are replaced. The audit entry names only the row.
    """
    now = now or utcnow()
    if registration.status in ACTIVE_STATUSES:
        cancel_registration(registration, actor=actor)
    cancel_signups_of(registration, actor=actor)
    _anonymize(registration, now)
    record("registration.erase", object_type="registration", object_id=registration.id,
           event_id=registration.event_id, actor=actor)
    _forget_addresses(registration.id)


@dataclass(frozen=True)
class PurgeReport:
    registrations: int
    inquiries: int
    partner_contacts: int
    audit_entries: int = 0
    mail_requests: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "registrations": self.registrations,
            "inquiries": self.inquiries,
            "partner_contacts": self.partner_contacts,
            "audit_entries": self.audit_entries,
            "mail_requests": self.mail_requests,
        }

    def __str__(self) -> str:
        return (
            f"{self.registrations} registrations, {self.inquiries} inquiries, "
            f"{self.partner_contacts} partner contacts, {self.audit_entries} audit entries, "
            f"{self.mail_requests} unanswered mail requests"
        )


def _stale_audit_addresses(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Audit entries past AUDIT_PERSONAL_RETENTION that still hold (a) a client IP address,
    (b) a typed address that matches no account."""
    old = AuditEntry.at < now - AUDIT_PERSONAL_RETENTION
    with_ip = and_(old, AuditEntry.ip.is_not(None))
    typed = and_(
        old,
        AuditEntry.action.in_(TYPED_ADDRESS_ACTIONS),
        AuditEntry.object_id.is_(None),
        AuditEntry.actor != UNKNOWN_ADDRESS,
    )
    return with_ip, typed


def _purge_audit_personal_data(now: datetime) -> None:
    with_ip, typed = _stale_audit_addresses(now)
    for condition, values in ((with_ip, {"ip": None}), (typed, {"actor": UNKNOWN_ADDRESS})):
        db.session.execute(
            update(AuditEntry).where(condition).values(**values)
            .execution_options(synchronize_session=False)
        )


def expired_event_ids(now: datetime) -> list[int]:
    """Events whose last day plus their retention period is past."""
    events = db.session.execute(select(Event.id, Event.end_date, Event.retention_days))
    return [
        event_id
        for event_id, end_date, retention_days in events
        if datetime.combine(end_date, time.max, tzinfo=UTC) + timedelta(days=retention_days)
        < now
    ]


def purge(now: datetime | None = None, dry_run: bool = False, *, actor: Actor) -> PurgeReport:
    """Anonymize everything kept past its retention period; running it again changes nothing.

    Registrations are anonymized without any email or status change (the event is over).
    With `dry_run`, only counts what would be anonymized.
    """
    now = now or utcnow()
    event_ids = expired_event_ids(now)
    registrations = list(
        db.session.scalars(
            select(Registration)
            .where(Registration.event_id.in_(event_ids), Registration.anonymized_at.is_(None))
            .order_by(Registration.id)
        )
    ) if event_ids else []
    inquiries = list(
        db.session.scalars(
            select(Inquiry)
            .where(Inquiry.created_at < now - INQUIRY_RETENTION, Inquiry.anonymized_at.is_(None))
            .order_by(Inquiry.id)
        )
    )
    partnerships = list(
        db.session.scalars(
            select(Partnership)
            .where(
                Partnership.event_id.in_(event_ids), Partnership.contact_anonymized_at.is_(None)
            )
            .order_by(Partnership.id)
        )
    ) if event_ids else []
    audit_entries = db.session.execute(
        select(func.count(AuditEntry.id)).where(or_(*_stale_audit_addresses(now)))
    ).scalar_one()
    stale_requests = MailRequest.created_at < now - MAIL_REQUEST_RETENTION
    mail_requests = db.session.execute(
        select(func.count(MailRequest.id)).where(stale_requests)
    ).scalar_one()
    report = PurgeReport(
        len(registrations), len(inquiries), len(partnerships), audit_entries, mail_requests
    )
    if dry_run:
        return report
    for registration in registrations:
        _anonymize(registration, now)
    if event_ids:
        _erase_invitations(Invitation.event_id.in_(event_ids))
        _erase_group_contacts(event_ids, now, actor)
        for speaker_id, address in anonymize_speakers(event_ids, now):
            _scrub_messages(
                and_(OutboxMessage.secret_maker == SPEAKER_LINK,
                     OutboxMessage.secret_subject_id == speaker_id),
                address,
                erased_address("speaker", speaker_id),
            )
    for inquiry in inquiries:
        _scrub_messages(
            OutboxMessage.inquiry_id == inquiry.id,
            inquiry.email,
            erased_address("inquiry", inquiry.id),
        )
        inquiry.name = ERASED_NAME
        inquiry.email = erased_address("inquiry", inquiry.id)
        inquiry.subject = ERASED_TEXT
        inquiry.message = ERASED_TEXT
        inquiry.anonymized_at = now
    for partnership in partnerships:
        _scrub_messages(
            OutboxMessage.partnership_id == partnership.id,
            partnership.contact_email,
            erased_address("partner-contact", partnership.id),
        )
        partnership.contact_name = None
        partnership.contact_email = None
        partnership.contact_phone = None
        partnership.message = None
        partnership.contact_anonymized_at = now
    _purge_audit_personal_data(now)
    purge_sessions(now)
    db.session.execute(delete(MailRequest).where(stale_requests))
    db.session.flush()
    record("privacy.purge", actor=actor, detail=report.as_dict())
    return report
