"""Recording to the audit trail. Entries are added in the caller's transaction, so a change
and its record commit together; nothing here edits or deletes an entry."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

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
