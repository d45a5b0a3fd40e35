"""Partner records: one organization, one row, whatever its spelling in an application."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from babel import Locale
from flask import current_app
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import contains_eager, selectinload

from nkhr_events.audit.services import Actor, record
from nkhr_events.database import rowcount
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.extensions import db
from nkhr_events.outbox.headers import single_line
from nkhr_events.outbox.services import enqueue_email
from nkhr_events.partners.logos import CleanLogo
from nkhr_events.partners.models import (
    Partner,
    PartnerLogo,
    Partnership,
    PartnershipRole,
    PartnershipStatus,
    PendingLogo,
    SponsorTier,
)
from nkhr_events.tokens import new_token, token_hash

ORGANIZATION_TYPES: dict[str, Any] = {
    "ngo": _l("NGO"),
    "academic": _l("Academic institution"),
    "foundation": _l("Foundation"),
    "media": _l("Media"),
    "government": _l("Government"),
    "international": _l("International organization"),
    "company": _l("Company"),
    "other": _l("Other"),
}
CO_ORGANIZER_OFFERS: dict[str, Any] = {
    "venue": _l("Venue"),
    "speakers": _l("Speakers"),
    "outreach": _l("Outreach"),
    "funding": _l("Funding"),
    "other": _l("Other"),
}
ROLE_LABELS: dict[str, Any] = {
    PartnershipRole.CO_ORGANIZER: _l("Co-organizer"),
    PartnershipRole.SPONSOR: _l("Sponsor"),
}
STATUS_LABELS: dict[str, Any] = {
    PartnershipStatus.APPLIED: _l("Applied"),
    PartnershipStatus.APPROVED: _l("Approved"),
    PartnershipStatus.DECLINED: _l("Declined"),
    PartnershipStatus.WITHDRAWN: _l("Withdrawn"),
}
#: Used by an event that has no tiers of its own.
DEFAULT_TIERS: dict[str, Any] = {
    "principal": _l("Principal sponsor"),
    "supporting": _l("Supporting sponsor"),
    "in_kind": _l("In-kind sponsor"),
}
PUBLIC_EVENT_STATUSES = (EventStatus.PUBLISHED, EventStatus.ARCHIVED)


#: Accepted applications one contact address may send: (window, how many). Only what was
#: stored counts; a form with mistakes, a duplicate or a refusal never does.
APPLICATIONS_PER_ADDRESS: tuple[tuple[timedelta, int], ...] = (
    (timedelta(hours=1), 6),
    (timedelta(days=1), 20),
)
#: How long a logo accepted on a form that failed otherwise is held for the corrected form.
HELD_LOGO_LIFETIME = timedelta(hours=1)


class DuplicateApplication(DomainError):
    """This organization already applied for this role at this event."""


class TooManyApplications(DomainError):
    """The contact address sent as many applications as it may for now; `retry_after` is the
    number of seconds until it may send the next."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def wait_text(seconds: float) -> str:
    """Roughly how long `seconds` is, rounded up, in the reader's language: "1 minute",
    "45 minutes", "3 hours" ("1분", "45분", "3시간")."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes > 60:
        amount = timedelta(hours=math.ceil(minutes / 60))
    else:
        amount = timedelta(minutes=minutes)
    return str(format_timedelta(amount, threshold=1, add_direction=False))


def application_wait(email: str, now: datetime | None = None) -> int:
    """Seconds until `email` may send another application (0: it may now). Counts the
    applications stored with this contact address, whatever the case it was typed in."""
    now = now or utcnow()
    address = email.strip().lower()
    longest = max(window for window, _allowed in APPLICATIONS_PER_ADDRESS)
    times = db.session.scalars(
        select(Partnership.created_at)
        .where(
            func.lower(Partnership.contact_email) == address,
            Partnership.created_at > now - longest,
        )
        .order_by(Partnership.created_at.desc())
    ).all()
    wait = 0.0
    for window, allowed in APPLICATIONS_PER_ADDRESS:
        inside = [t for t in times if t > now - window]
        if len(inside) >= allowed:
            # The next one may go once the `allowed`-th newest has left the window.
            wait = max(wait, (inside[allowed - 1] + window - now).total_seconds())
    return math.ceil(wait)


@dataclass(frozen=True)
class ApplicationInput:
    organization_name: str
    organization_type: str
    country: str | None
    website: str | None
    contact_name: str
    contact_role: str | None
    contact_email: str
    contact_phone: str | None
    role: str
    sponsor_tier: str | None
    contribution: str | None
    offers: list[str] = field(default_factory=list)
    offers_other: str | None = None
    message: str | None = None
    language: str = "en"


def partner_name_key(name: str) -> str:
    """The name compared without case, spacing or punctuation ("Chosun Ilbo" = "chosun  ilbo")."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def website_domain(url: str | None) -> str | None:
    """The host of `url`, lower case, without "www." ("https://www.Example.org/x" → example.org)."""
    if not url or not url.strip():
        return None
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        return None
    host = host.rstrip(".").lower()
    if host.startswith("www."):
        host = host[4:]
    return host or None


def find_partner(name: str, website: str | None = None) -> Partner | None:
    """The partner with this name (by its key) or, failing that, this website's domain."""
    partner = db.session.scalar(
        select(Partner).where(Partner.name_key == partner_name_key(name))
    )
    domain = website_domain(website)
    if partner is None and domain:
        partner = db.session.scalar(select(Partner).where(Partner.website_domain == domain))
    return partner


def find_or_add_partner(name: str, *, country: str | None = None) -> Partner:
    """The partner called `name` (by its key), added to the session if it is new."""
    key = partner_name_key(name)
    if not key:
        raise ValueError("an organization name needs at least one letter or digit")
    partner = db.session.scalar(select(Partner).where(Partner.name_key == key))
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
        select(Partnership)
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
        select(Partnership).where(
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


# --- sponsor tiers -----------------------------------------------------------------------------


def event_tiers(event_id: int) -> list[tuple[str, Any]]:
    """(key, label) of the event's sponsor tiers in display order; the defaults if it has none
    (their labels lazy, so that an email shows them in its own language)."""
    rows = db.session.scalars(
        select(SponsorTier)
        .where(SponsorTier.event_id == event_id)
        .order_by(SponsorTier.position, SponsorTier.id)
    ).all()
    if not rows:
        return list(DEFAULT_TIERS.items())
    return [(row.key, row.name) for row in rows]


def tier_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", partner_name_key(name) or "").strip("_")[:40] or "tier"


def set_event_tiers(event: Event, names: list[str], *, actor: Actor) -> None:
    """Replace the event's tiers by `names` in that order (an empty list means the defaults).
    The same tiers sent back unchanged write and record nothing."""
    wanted: list[tuple[str, str, int]] = []
    seen: set[str] = set()
    for position, name in enumerate(n for n in (single_line(x, 80) for x in names) if n):
        key = tier_key(name)
        if key in seen:
            continue
        seen.add(key)
        wanted.append((key, name, position))
    stored = [
        (t.key, t.name, t.position)
        for t in db.session.scalars(
            select(SponsorTier)
            .where(SponsorTier.event_id == event.id)
            .order_by(SponsorTier.position)
        )
    ]
    if wanted == stored:
        return
    before = [key for key, _label in event_tiers(event.id)]
    db.session.execute(delete(SponsorTier).where(SponsorTier.event_id == event.id))
    for key, name, position in wanted:
        db.session.add(SponsorTier(event_id=event.id, key=key, name=name, position=position))
    db.session.flush()
    record(
        "partnership.tiers",
        object_type="event",
        object_id=event.id,
        event_id=event.id,
        detail={"before": before, "after": [key for key, _label in event_tiers(event.id)]},
        actor=actor,
    )


# --- applications ------------------------------------------------------------------------------


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = text.replace("\r\n", "\n").strip()
    return cleaned or None


def submit_application(
    event: Event, data: ApplicationInput, logo: CleanLogo | None = None, *, actor: Actor
) -> Partnership:
    """Store an application and queue the acknowledgement and the team's notice.

    The organization is matched to an existing partner by name key or website domain; its
    public record is not changed by an application. Raises DuplicateApplication when it
    already applied for this role at this event, and TooManyApplications when the contact
    address has sent as many as `APPLICATIONS_PER_ADDRESS` allows (nothing is added then).
    """
    wait = application_wait(data.contact_email)
    if wait:
        raise TooManyApplications(
            _(
                "This email address has sent as many applications as we take in a short "
                "time. Please try again in about %(wait)s.",
                wait=wait_text(wait),
            ),
            retry_after=wait,
        )
    name = single_line(data.organization_name, 200)
    partner = find_partner(name, data.website)
    if partner is not None:
        existing = db.session.scalar(
            select(Partnership).where(
                Partnership.partner_id == partner.id,
                Partnership.event_id == event.id,
                Partnership.role == data.role,
            )
        )
        if existing is not None:
            raise DuplicateApplication(
                _(
                    "%(name)s has already applied for this role at this event. We have changed "
                    "nothing; the team will answer the first application.",
                    name=partner.name,
                )
            )
    else:
        domain = website_domain(data.website)
        partner = Partner(
            name=name,
            name_key=partner_name_key(name),
            website=_clean(data.website),
            website_domain=domain,
            country=data.country or None,
            organization_type=data.organization_type,
        )
        db.session.add(partner)
        db.session.flush()
    is_sponsor = data.role == PartnershipRole.SPONSOR
    partnership = Partnership(
        partner=partner,
        event=event,
        role=data.role,
        status=PartnershipStatus.APPLIED,
        organization_name=name,
        website=_clean(data.website),
        sponsor_tier=data.sponsor_tier if is_sponsor else None,
        contribution=_clean(data.contribution),
        offers=",".join(o for o in data.offers if o in CO_ORGANIZER_OFFERS) or None,
        offers_other=_clean(data.offers_other),
        contact_name=single_line(data.contact_name, 200),
        contact_role=_clean(data.contact_role),
        contact_email=data.contact_email.strip(),
        contact_phone=_clean(data.contact_phone),
        message=_clean(data.message),
        language=data.language,
    )
    db.session.add(partnership)
    db.session.flush()
    if logo is not None:
        db.session.add(
            PartnerLogo(
                partnership_id=partnership.id,
                content_type=logo.content_type,
                data=logo.data,
                width=logo.width,
                height=logo.height,
            )
        )
    record(
        "partnership.apply",
        object_type="partnership",
        object_id=partnership.id,
        event_id=event.id,
        detail={"role": data.role, "partner_id": partner.id, "logo": logo is not None},
        actor=actor,
    )
    _send_received(partnership)
    return partnership


# --- logos held between two tries of the form ----------------------------------------------


def purge_held_logos(now: datetime | None = None) -> int:
    """Delete the held logos whose time is past; how many."""
    result = db.session.execute(
        delete(PendingLogo).where(PendingLogo.expires_at <= (now or utcnow()))
    )
    return rowcount(result)


def hold_logo(event_id: int, logo: CleanLogo, filename: str) -> tuple[PendingLogo, str]:
    """Hold an accepted logo for `HELD_LOGO_LIFETIME`; the row and the token that finds it
    (only its SHA-256 is stored). Purges the held logos whose time is past."""
    purge_held_logos()
    token = new_token()
    name = single_line(PurePosixPath(filename.replace("\\", "/")).name, 200) or "logo"
    now = utcnow()
    held = PendingLogo(
        token_hash=token_hash(token),
        event_id=event_id,
        filename=name,
        content_type=logo.content_type,
        data=logo.data,
        width=logo.width,
        height=logo.height,
        created_at=now,
        expires_at=now + HELD_LOGO_LIFETIME,
    )
    db.session.add(held)
    db.session.flush()
    return held, token


def held_logo(event_id: int, token: str) -> PendingLogo | None:
    """The logo held for this event's form under `token`, unless its time is past."""
    if not token:
        return None
    held: PendingLogo | None = db.session.scalar(
        select(PendingLogo).where(
            PendingLogo.token_hash == token_hash(token),
            PendingLogo.event_id == event_id,
            PendingLogo.expires_at > utcnow(),
        )
    )
    return held


def held_logo_image(held: PendingLogo) -> CleanLogo:
    return CleanLogo(held.data, held.content_type, held.width, held.height)


def extend_held_logo(held: PendingLogo) -> None:
    """Another failed try: hold the logo for `HELD_LOGO_LIFETIME` from now."""
    held.expires_at = utcnow() + HELD_LOGO_LIFETIME


def drop_held_logo(token: str) -> None:
    if token:
        db.session.execute(
            delete(PendingLogo).where(PendingLogo.token_hash == token_hash(token))
        )


def partnership_reference(partnership: Partnership) -> str:
    return f"P-{partnership.id:05d}"


def _email_context(partnership: Partnership) -> dict[str, Any]:
    return {
        "reference": partnership_reference(partnership),
        "partnership": partnership,
        "organization": partnership.organization_name or partnership.partner.name,
        #: The greeting names the contact person as they wrote their name.
        "contact_name": partnership.contact_name,
        "event": partnership.event,
        "role": partnership.role,
        "tier_name": tier_name(partnership),
    }


def tier_name(partnership: Partnership) -> Any:
    if not partnership.sponsor_tier:
        return None
    return dict(event_tiers(partnership.event_id)).get(
        partnership.sponsor_tier, partnership.sponsor_tier
    )


def _send_received(partnership: Partnership) -> None:
    team_language = current_app.config["BABEL_DEFAULT_LOCALE"]
    context = _email_context(partnership)
    enqueue_email(
        to=current_app.config["NKHR_TEAM_EMAIL"],
        template="partner_received",
        language=team_language,
        context={
            **context,
            "language_name": Locale.parse(partnership.language).get_display_name(team_language),
            "offers": [CO_ORGANIZER_OFFERS[o] for o in (partnership.offers or "").split(",") if o],
        },
        reply_to=(partnership.contact_name or "", partnership.contact_email or ""),
        partnership_id=partnership.id,
    )
    enqueue_email(
        to=partnership.contact_email or "",
        template="partner_ack",
        language=partnership.language,
        context=context,
        partnership_id=partnership.id,
    )


# --- review ------------------------------------------------------------------------------------


def applications_query(
    event_id: int | None = None, status: str | None = None, role: str | None = None
) -> Select[Any]:
    query = (
        select(Partnership)
        .join(Partnership.partner)
        .options(contains_eager(Partnership.partner), selectinload(Partnership.event))
        .order_by(Partnership.created_at.desc(), Partnership.id.desc())
    )
    if event_id is not None:
        query = query.where(Partnership.event_id == event_id)
    if status:
        query = query.where(Partnership.status == status)
    if role:
        query = query.where(Partnership.role == role)
    return query


def _decide(
    partnership: Partnership, status: PartnershipStatus, note: str | None, action: str,
    actor: Actor,
) -> None:
    before = partnership.status
    partnership.status = status
    partnership.decision_note = _clean(note)
    partnership.decided_at = utcnow()
    record(
        f"partnership.{action}",
        object_type="partnership",
        object_id=partnership.id,
        event_id=partnership.event_id,
        detail={"from": before, "to": str(status)},
        actor=actor,
    )


def approve(partnership: Partnership, note: str | None = None, *, actor: Actor) -> None:
    """Approve: the partner becomes public, and the applicant hears so in their language.

    A partner without a website takes the application's, unless another partner has it.
    """
    _decide(partnership, PartnershipStatus.APPROVED, note, "approve", actor)
    partner = partnership.partner
    domain = website_domain(partnership.website)
    if not partner.website and domain:
        taken = db.session.scalar(
            select(Partner.id).where(Partner.website_domain == domain, Partner.id != partner.id)
        )
        if taken is None:
            partner.website = partnership.website
            partner.website_domain = domain
    _send_decision(partnership)


def decline(partnership: Partnership, note: str | None = None, *, actor: Actor) -> None:
    _decide(partnership, PartnershipStatus.DECLINED, note, "decline", actor)
    _send_decision(partnership)


def withdraw(partnership: Partnership, note: str | None = None, *, actor: Actor) -> None:
    """Marked at the organization's request; no email (they asked for it)."""
    _decide(partnership, PartnershipStatus.WITHDRAWN, note, "withdraw", actor)


def _send_decision(partnership: Partnership) -> None:
    if not partnership.contact_email:
        return
    enqueue_email(
        to=partnership.contact_email,
        template="partner_decision",
        language=partnership.language,
        context={
            **_email_context(partnership),
            "approved": partnership.status == PartnershipStatus.APPROVED,
            "note": partnership.decision_note,
        },
        partnership_id=partnership.id,
    )


def set_placement(
    partnership: Partnership, tier: str | None, display_order: int, *, actor: Actor
) -> None:
    """A sponsor's tier (one of the event's) and the order partners are listed in."""
    keys = [key for key, _label in event_tiers(partnership.event_id)]
    if partnership.role == PartnershipRole.SPONSOR and tier not in keys:
        raise DomainError(_("Choose one of this event's tiers."), field="sponsor_tier")
    before = {"tier": partnership.sponsor_tier, "order": partnership.display_order}
    if partnership.role == PartnershipRole.SPONSOR:
        partnership.sponsor_tier = tier
    partnership.display_order = display_order
    after = {"tier": partnership.sponsor_tier, "order": partnership.display_order}
    if after == before:
        return  # sent back unchanged: nothing recorded
    record(
        "partnership.placement",
        object_type="partnership",
        object_id=partnership.id,
        event_id=partnership.event_id,
        detail={"before": before, "after": after},
        actor=actor,
    )


def edit_partner(partner: Partner, name: str, website: str | None, *, actor: Actor) -> None:
    """The public name and website. Raises DomainError when another partner has either."""
    name = single_line(name, 200)
    key = partner_name_key(name)
    if not key:
        raise DomainError(_("Enter the organization's name."), field="name")
    domain = website_domain(website)
    if db.session.scalar(
        select(Partner.id).where(Partner.name_key == key, Partner.id != partner.id)
    ):
        raise DomainError(_("Another partner already has this name."), field="name")
    if domain and db.session.scalar(
        select(Partner.id).where(Partner.website_domain == domain, Partner.id != partner.id)
    ):
        raise DomainError(_("Another partner already has this website."), field="website")
    before = {"name": partner.name, "website": partner.website}
    if before == {"name": name, "website": _clean(website)}:
        return  # sent back unchanged: nothing recorded
    partner.name = name
    partner.name_key = key
    partner.website = _clean(website)
    partner.website_domain = domain
    record(
        "partner.edit",
        object_type="partner",
        object_id=partner.id,
        detail={"before": before, "after": {"name": partner.name, "website": partner.website}},
        actor=actor,
    )


# --- public recognition ------------------------------------------------------------------------


def _public_approved() -> Select[Any]:
    return (
        select(Partnership)
        .join(Partnership.event)
        .where(
            Partnership.status == PartnershipStatus.APPROVED,
            Event.status.in_(PUBLIC_EVENT_STATUSES),
        )
    )


def public_partner(partner_id: int) -> Partner | None:
    """A partner with at least one approved partnership in a public event; others stay hidden."""
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        return None
    found = db.session.scalar(
        _public_approved().where(Partnership.partner_id == partner_id).limit(1)
    )
    return partner if found is not None else None


def partner_editions(partner: Partner) -> list[Partnership]:
    """The partner's approved partnerships in public events, latest edition first."""
    return list(
        db.session.scalars(
            _public_approved()
            .where(Partnership.partner_id == partner.id)
            .options(contains_eager(Partnership.event))
            .order_by(Event.start_date.desc(), Partnership.role)
        )
    )


def public_logo(partnership_id: int) -> PartnerLogo | None:
    """The logo of an approved partnership in a public event; None for anything else."""
    return db.session.scalar(
        select(PartnerLogo)
        .join(PartnerLogo.partnership)
        .join(Partnership.event)
        .where(
            PartnerLogo.partnership_id == partnership_id,
            Partnership.status == PartnershipStatus.APPROVED,
            Event.status.in_(PUBLIC_EVENT_STATUSES),
        )
    )


def has_logo(partnership: Partnership) -> bool:
    return partnership.logo is not None


@dataclass(frozen=True)
class PartnerCard:
    """One partner as public pages show it: name, page and, when it has one, a logo (the
    logo of an approved partnership in a public event) with its stored size."""

    partner_id: int
    name: str
    logo_partnership_id: int | None = None
    width: int = 0
    height: int = 0


def partner_cards(partnerships: list[Partnership]) -> list[PartnerCard]:
    """A card per partner of `partnerships`, in their order, each partner once. A partner's
    logo is the one sent with that partnership, else its latest edition's (one query)."""
    partner_ids = list(dict.fromkeys(p.partner_id for p in partnerships))
    if not partner_ids:
        return []
    wanted = {p.id for p in partnerships}
    rows = db.session.execute(
        _public_approved()
        .with_only_columns(
            Partnership.partner_id, PartnerLogo.partnership_id, PartnerLogo.width,
            PartnerLogo.height,
        )
        .join(PartnerLogo, PartnerLogo.partnership_id == Partnership.id)
        .where(Partnership.partner_id.in_(partner_ids))
        .order_by(Event.start_date.desc(), Partnership.id.desc())
    ).all()
    logos: dict[int, tuple[int, int, int]] = {}
    for partner_id, partnership_id, width, height in rows:  # latest edition first
        found = logos.get(partner_id)
        if found is None or (partnership_id in wanted and found[0] not in wanted):
            logos[partner_id] = (partnership_id, width, height)
    cards: list[PartnerCard] = []
    seen: set[int] = set()
    for partnership in partnerships:
        if partnership.partner_id in seen:
            continue
        seen.add(partnership.partner_id)
        logo = logos.get(partnership.partner_id)
        cards.append(
            PartnerCard(
                partner_id=partnership.partner_id,
                name=partnership.partner.name,
                logo_partnership_id=logo[0] if logo else None,
                width=logo[1] if logo else 0,
                height=logo[2] if logo else 0,
            )
        )
    return cards


def sponsors_by_tier(
    event_id: int, sponsor_list: list[Partnership]
) -> list[tuple[Any, list[Partnership]]]:
    """(tier label, sponsors) in the event's tier order; sponsors of no known tier come last."""
    tiers = event_tiers(event_id)
    groups: dict[str, list[Partnership]] = {key: [] for key, _label in tiers}
    rest: list[Partnership] = []
    for sponsor in sponsor_list:
        groups.get(sponsor.sponsor_tier or "", rest).append(sponsor)
    result = [(label, groups[key]) for key, label in tiers if groups[key]]
    if rest:
        result.append((_("Sponsors"), rest))
    return result
