"""Organizations (deduplicated) and their role in each event."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nkhr_events.dbtypes import UTCDateTime, utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import Model


class PartnershipRole(StrEnum):
    CO_ORGANIZER = "co_organizer"
    SPONSOR = "sponsor"


class PartnershipStatus(StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Partner(Model):
    """An organization; `name_key` makes "Chosun Ilbo" and "chosun  ilbo" one record."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    website: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The website's host without "www.": a second name with the same domain is this partner.
    website_domain: Mapped[str | None] = mapped_column(String(253), unique=True, index=True)
    organization_type: Mapped[str | None] = mapped_column(String(32))

    partnerships: Mapped[list[Partnership]] = relationship(back_populates="partner")

    def __repr__(self) -> str:
        return f"<Partner {self.name!r}>"


class Partnership(Model):
    """A partner's role in one event, with its application and decision."""

    __table_args__ = (
        UniqueConstraint("partner_id", "event_id", "role"),
        CheckConstraint("role in ('co_organizer', 'sponsor')", name="role"),
        CheckConstraint(
            "status in ('applied', 'approved', 'declined', 'withdrawn')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=PartnershipStatus.APPLIED)
    sponsor_tier: Mapped[str | None] = mapped_column(String(40))
    contribution: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(Text)
    decision_note: Mapped[str | None] = mapped_column(Text)
    display_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact_role: Mapped[str | None] = mapped_column(String(200))
    #: What a co-organizer brings: keys of `CO_ORGANIZER_OFFERS`, comma-separated.
    offers: Mapped[str | None] = mapped_column(String(200))
    offers_other: Mapped[str | None] = mapped_column(String(500))
    #: As the applicant typed them; the partner's public record changes only through staff.
    organization_name: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(2), default="en", server_default="en")
    contact_anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partner: Mapped[Partner] = relationship(back_populates="partnerships")
    event: Mapped[Event] = relationship()
    logo: Mapped[PartnerLogo | None] = relationship(
        back_populates="partnership", cascade="all, delete-orphan"
    )


class PartnerLogo(Model):
    """A logo sent with an application, already re-encoded; public once the partnership is
    approved. Kept in the database so that every application host serves the same file."""

    partnership_id: Mapped[int] = mapped_column(
        ForeignKey("partnership.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partnership: Mapped[Partnership] = relationship(back_populates="logo")


class SponsorTier(Model):
    """A sponsor tier of one event, in display order; an event without rows uses the defaults."""

    __table_args__ = (UniqueConstraint("event_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)


class PendingLogo(Model):
    """A logo that passed every check on a form that did not: kept, already re-encoded, so
    that the corrected form need not send the file again. Found by the SHA-256 of a random
    token that only the form holds (a hidden field), for one event; never served, never
    public, and purged once `expires_at` is past (services.purge_held_logos)."""

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    #: The name of the file as the applicant chose it, shown on the form ("logo.png is kept").
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
