"""Imports every domain's models so that metadata (migrations, create_all) sees them all."""

from nkhr_events.accounts.models import PasswordResetToken, StaffRole, StaffUser
from nkhr_events.audit.models import AuditEntry
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.documents.models import CertificateMailing, DocumentSettings, IssuedDocument
from nkhr_events.documents.visa_models import VisaLetterRequest
from nkhr_events.events.models import Event, EventDay, EventStatus, Series
from nkhr_events.inquiries.models import Inquiry
from nkhr_events.invitations.models import (
    Invitation,
    InvitationToken,
    RegistrationGroup,
    RegistrationGroupToken,
    SeatReservation,
)
from nkhr_events.outbox.models import OutboxAttachment, OutboxMessage, OutboxStatus
from nkhr_events.partners.models import (
    Partner,
    Partnership,
    PartnershipRole,
    PartnershipStatus,
)
from nkhr_events.programme.models import (
    ArchiveDocument,
    ArchivePhoto,
    ProgrammeSession,
    SessionSignup,
    SessionSpeaker,
    Speaker,
    SpeakerPhoto,
    SpeakerToken,
)
from nkhr_events.registrations.models import (
    EventCategory,
    ManageToken,
    Registration,
    RegistrationDay,
    RegistrationStatus,
)

__all__ = [
    "ArchiveDocument",
    "ArchivePhoto",
    "ProgrammeSession",
    "SessionSignup",
    "SessionSpeaker",
    "Speaker",
    "SpeakerPhoto",
    "SpeakerToken",
    "AuditEntry",
    "CertificateMailing",
    "DocumentSettings",
    "PasswordResetToken",
    "RegistrationCheckin",
    "Event",
    "EventCategory",
    "EventDay",
    "EventStatus",
    "Inquiry",
    "Invitation",
    "IssuedDocument",
    "InvitationToken",
    "ManageToken",
    "OutboxAttachment",
    "OutboxMessage",
    "OutboxStatus",
    "Partner",
    "Partnership",
    "PartnershipRole",
    "PartnershipStatus",
    "Registration",
    "RegistrationDay",
    "RegistrationGroup",
    "RegistrationGroupToken",
    "RegistrationStatus",
    "SeatReservation",
    "Series",
    "StaffRole",
    "StaffUser",
    "VisaLetterRequest",
]
