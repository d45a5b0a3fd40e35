"""Recording to the audit trail. Entries are added in the caller's transaction, so a change
and its record commit together; nothing here edits or deletes an entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import Select, func, inspect

from nkhr_events.audit.models import AuditEntry
from nkhr_events.extensions import db

#: Who acted when no staff user is signed in.
ATTENDEE = "attendee"
PARTNER = "partner"
SYSTEM = "system"


def _current_staff() -> tuple[int | None, str | None]:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id, current_user.email
    return None, None


def record(
    action: str,
    *,
    object_type: str | None = None,
    object_id: int | None = None,
    event_id: int | None = None,
    detail: dict[str, Any] | None = None,
    actor: str | None = None,
    actor_id: int | None = None,
) -> AuditEntry:
    """Add an entry: `action` like "registration.approve"; `detail` holds no personal data.

    The actor is the signed-in staff user unless `actor` names another ("attendee", "system",
    or an address for a sign-in attempt).
    """
    staff_id, staff_email = _current_staff()
    entry = AuditEntry(
        action=action,
        object_type=object_type,
        object_id=object_id,
        event_id=event_id,
        detail=detail or {},
        actor_id=actor_id if actor_id is not None else (staff_id if actor is None else None),
        actor=(actor or staff_email or SYSTEM)[:254],
        ip=(request.remote_addr or "")[:45] if has_request_context() else None,
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
            db.select(AuditEntry)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    )


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


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def entries_query(filters: AuditFilters) -> Select[Any]:
    """Entries matching `filters`, newest first. `until` includes the whole day (UTC)."""
    query = db.select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
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
    return query


def object_types() -> list[str]:
    """The object types that appear in the trail, for the filter's choices."""
    return [
        t
        for t in db.session.scalars(
            db.select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)
        )
        if t
    ]
