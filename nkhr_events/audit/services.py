"""Recording to the audit trail. Entries are added in the caller's transaction, so a change
and its record commit together; nothing here edits or deletes an entry."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, inspect, select

from nkhr_events.audit.models import AuditEntry
from nkhr_events.extensions import db


@dataclass(frozen=True)
class Actor:
    """Who acted, as the trail keeps it: a staff user's address, "attendee", "partner",
    "system" or an address typed into a sign-in; the staff user's id only when they proved who
    they are; the client's IP address when the act came through the web.

    The web layer makes one per request (nkhr_events.web) and passes it down; services never
    read the request to find out who is acting.
    """

    name: str
    staff_id: int | None = None
    ip: str | None = None

    @classmethod
    def staff(cls, user: Any, ip: str | None = None) -> Actor:
        """A signed-in staff user (anything with `id` and `email`)."""
        return cls(user.email, user.id, ip)

    @classmethod
    def attendee(cls, ip: str | None = None) -> Actor:
        return cls(ATTENDEE.name, None, ip)

    @classmethod
    def partner(cls, ip: str | None = None) -> Actor:
        return cls(PARTNER.name, None, ip)

    @classmethod
    def typed(cls, address: str, ip: str | None = None) -> Actor:
        """Whoever typed `address` (a sign-in or reset request), not yet proven to own it."""
        return cls(address, None, ip)

    def as_system(self) -> Actor:
        """The system, acting as a consequence of this actor's act (e.g. a promotion from the
        waiting list after a cancellation); the client address stays."""
        return replace(SYSTEM, ip=self.ip)


ATTENDEE = Actor("attendee")
PARTNER = Actor("partner")
#: Command-line tasks, the outbox worker and its periodic tasks.
SYSTEM = Actor("system")


def record(
    action: str,
    *,
    actor: Actor,
    object_type: str | None = None,
    object_id: int | None = None,
    event_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry by `actor`: `action` like "registration.approve"; `detail` holds no
    personal data."""
    entry = AuditEntry(
        action=action,
        object_type=object_type,
        object_id=object_id,
        event_id=event_id,
        detail=detail or {},
        actor_id=actor.staff_id,
        actor=actor.name[:254],
        ip=actor.ip[:45] if actor.ip is not None else None,
    )
    db.session.add(entry)
    return entry


def column_values(obj: object) -> dict[str, Any]:
    """The record's column values now; keep them before an edit to name what it changed.
    Columns the database keeps up to date itself (e.g. `updated_at`) are left out."""
    return {
        attr.key: getattr(obj, attr.key)
        for attr in inspect(obj).mapper.column_attrs
        if all(getattr(c, "onupdate", None) is None for c in attr.columns)
    }


def changed_since(before: dict[str, Any], obj: object) -> list[str]:
    """Names of the columns whose values differ from `before` (see `column_values`).

    Only names, never values: an edit entry must not copy what an attendee wrote about their
    needs, and names are enough to see what was touched.
    """
    return sorted(key for key, value in column_values(obj).items() if before.get(key) != value)


def status_detail(before: str, after: str, **extra: Any) -> dict[str, Any]:
    """The detail of a status change: {"from": ..., "to": ...} plus anything non-personal."""
    return {"from": str(before), "to": str(after), **extra}


def history_for(object_type: str, object_id: int) -> list[AuditEntry]:
    """Every entry about one record, oldest first (e.g. a registration's status history)."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    )


#: The last part of the actions that only look (or take a copy): grouped and hidden on request.
VIEW_KINDS = frozenset({
    "view", "edit_view", "print", "export", "export_real_names", "export_protected",
    "data_download", "attachment", "flood_preview",
})


def is_page_view(action: str) -> bool:
    """Whether `action` is a look at a page or a copy of data, not a change."""
    return action.rpartition(".")[2] in VIEW_KINDS


def view_actions_like() -> list[str]:
    """SQL LIKE patterns that match the page-view actions (to leave them out in a query)."""
    return [f"%.{kind}" for kind in sorted(VIEW_KINDS)]


@dataclass(frozen=True)
class AuditFilters:
    """What the audit page narrows the trail to; empty values mean "any"."""

    action: str = ""
    actor: str = ""
    event_id: int | None = None
    object_type: str = ""
    object_id: int | None = None
    since: date | None = None
    until: date | None = None
    #: Leave out page views and exports (`VIEW_KINDS`).
    hide_views: bool = False


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def entries_query(filters: AuditFilters) -> Select[AuditEntry]:
    """Entries matching `filters`, newest first. `until` includes the whole day (UTC)."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if filters.action:
        query = query.where(AuditEntry.action.like(_like_prefix(filters.action), escape="\\"))
    if filters.actor:
        query = query.where(func.lower(AuditEntry.actor) == filters.actor.strip().lower())
    if filters.event_id is not None:
        query = query.where(AuditEntry.event_id == filters.event_id)
    if filters.object_type:
        query = query.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id is not None:
        query = query.where(AuditEntry.object_id == filters.object_id)
    if filters.since is not None:
        query = query.where(AuditEntry.at >= datetime.combine(filters.since, time.min, UTC))
    if filters.until is not None:
        next_day = datetime.combine(filters.until, time.min, UTC) + timedelta(days=1)
        query = query.where(AuditEntry.at < next_day)
    if filters.hide_views:
        query = query.where(*(AuditEntry.action.not_like(p) for p in view_actions_like()))
    return query


def object_types() -> list[str]:
    """The object types that appear in the trail, for the filter's choices."""
    return [
        t
        for t in db.session.scalars(
            select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)
        )
        if t
    ]
