"""Partner records: one organization, one row, whatever its spelling in an application."""

from __future__ import annotations

import unicodedata

from sqlalchemy.orm import contains_eager

from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.partners.models import (
    Partner,
    Partnership,
    PartnershipRole,
    PartnershipStatus,
)


def partner_name_key(name: str) -> str:
    """The name compared without case, spacing or punctuation ("Chosun Ilbo" = "chosun  ilbo")."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def find_or_add_partner(name: str, *, country: str | None = None) -> Partner:
    """The partner called `name` (by its key), added to the session if it is new."""
    key = partner_name_key(name)
    if not key:
        raise ValueError("an organization name needs at least one letter or digit")
    partner = db.session.scalar(db.select(Partner).where(Partner.name_key == key))
    if partner is None:
        partner = Partner(name=" ".join(name.split()), name_key=key, country=country)
        db.session.add(partner)
        db.session.flush()
    return partner


def approved_partnerships(event_ids: list[int]) -> dict[int, list[Partnership]]:
    """Approved partnerships of the given events, by event id, in display order."""
    by_event: dict[int, list[Partnership]] = {event_id: [] for event_id in event_ids}
    if not event_ids:
        return by_event
    rows = db.session.scalars(
        db.select(Partnership)
        .join(Partnership.partner)
        .where(
            Partnership.event_id.in_(event_ids),
            Partnership.status == PartnershipStatus.APPROVED,
        )
        .order_by(Partnership.display_order, Partnership.id)
        .options(contains_eager(Partnership.partner))
    )
    for partnership in rows:
        by_event[partnership.event_id].append(partnership)
    return by_event


def co_organizers(partnerships: list[Partnership]) -> list[Partnership]:
    return [p for p in partnerships if p.role == PartnershipRole.CO_ORGANIZER]


def sponsors(partnerships: list[Partnership]) -> list[Partnership]:
    return [p for p in partnerships if p.role == PartnershipRole.SPONSOR]


def ensure_approved_partnership(
    partner: Partner, event: Event, role: PartnershipRole, display_order: int = 0
) -> bool:
    """Record an approved partnership unless one exists; True when one was added."""
    existing = db.session.scalar(
        db.select(Partnership).where(
            Partnership.partner_id == partner.id,
            Partnership.event_id == event.id,
            Partnership.role == role,
        )
    )
    if existing is not None:
        return False
    db.session.add(
        Partnership(
            partner=partner,
            event=event,
            role=role,
            status=PartnershipStatus.APPROVED,
            display_order=display_order,
        )
    )
    return True
