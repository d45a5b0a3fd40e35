"""The audit trail page (admins only). Read-only: no route here changes an entry."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request

from nkhr_events.accounts.roles import admin_required, require_staff
from nkhr_events.audit import sentences, services
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.web import home_timezone, int_arg, local_date

bp = require_staff(Blueprint("audit_manage", __name__, url_prefix="/manage/audit"))

PER_PAGE = 50


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def _record_type_choices() -> list[tuple[str, str]]:
    """The record types in the trail as (value, label), in the order of their labels: the
    filter sends the code, the reader sees words."""
    choices = [(kind, sentences.record_type(kind)) for kind in services.object_types()]
    return sorted(choices, key=lambda choice: choice[1])


@bp.get("/")
@admin_required
def index() -> str:
    """Entries newest first, filtered by action prefix, actor, event, object and dates."""
    filters = services.AuditFilters(
        action=request.args.get("action", "").strip()[:64],
        actor=request.args.get("actor", "").strip()[:254],
        event_id=int_arg("event_id"),
        object_type=request.args.get("object_type", "").strip()[:32],
        object_id=int_arg("object_id"),
        since=_date_arg("since"),
        until=_date_arg("until"),
        hide_views=request.args.get("hide_views") == "1",
    )
    page = db.paginate(
        services.entries_query(filters),
        page=int_arg("page", 1),
        per_page=PER_PAGE,
        error_out=False,
    )
    arguments = {
        "action": filters.action or None,
        "actor": filters.actor or None,
        "event_id": filters.event_id,
        "object_type": filters.object_type or None,
        "object_id": filters.object_id,
        "since": filters.since.isoformat() if filters.since else None,
        "until": filters.until.isoformat() if filters.until else None,
        "hide_views": "1" if filters.hide_views else None,
    }
    return render_template(
        "audit/index.html",
        page=page,
        lines=sentences.lines(
            page.items,
            zone=home_timezone(),
            today=utcnow().astimezone(ZoneInfo(home_timezone())).date(),
            format_day=local_date,
            real_speaker_names=True,
            group_views=False,
        ),
        filters=filters,
        arguments=arguments,
        object_types=_record_type_choices(),
        record_type=sentences.record_type,
    )
