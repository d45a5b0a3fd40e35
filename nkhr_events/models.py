"""Imports every domain's models so that metadata (migrations, create_all) sees them all."""

from nkhr_events.accounts.models import StaffRole, StaffUser
from nkhr_events.events.models import Event, EventDay, EventStatus, Series
from nkhr_events.partners.models import (
    Partner,
    Partnership,
    PartnershipRole,
    PartnershipStatus,
)

__all__ = [
    "Event",
    "EventDay",
    "EventStatus",
    "Partner",
    "Partnership",
    "PartnershipRole",
    "PartnershipStatus",
    "Series",
    "StaffRole",
    "StaffUser",
]
