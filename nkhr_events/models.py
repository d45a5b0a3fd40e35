"""Imports every domain's models so that metadata (migrations, create_all) sees them all."""

from nkhr_events.accounts.models import StaffRole, StaffUser
from nkhr_events.events.models import Event, EventDay, EventStatus, Series
from nkhr_events.inquiries.models import Inquiry
from nkhr_events.outbox.models import OutboxAttachment, OutboxMessage, OutboxStatus
from nkhr_events.partners.models import (
    Partner,
    Partnership,
    PartnershipRole,
    PartnershipStatus,
)
from nkhr_events.registrations.models import (
    EventCategory,
    ManageToken,
    Registration,
    RegistrationDay,
    RegistrationStatus,
)

__all__ = [
    "Event",
    "EventCategory",
    "EventDay",
    "EventStatus",
    "Inquiry",
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
    "RegistrationStatus",
    "Series",
    "StaffRole",
    "StaffUser",
]
