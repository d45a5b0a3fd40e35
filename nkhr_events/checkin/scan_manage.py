"""The door's scanner: scanned codes sent from the door page (one at a time, or several queued
on the phone while the network was down), answered as JSON with what the door screen shows.
And that screen's words, one place for the page without JavaScript and for the scanner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import Blueprint, abort, jsonify, request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import Permission, can, event_for
from nkhr_events.accounts.roles import require_staff
from nkhr_events.checkin import door
from nkhr_events.checkin import services as checkin
from nkhr_events.events.models import Event
from nkhr_events.extensions import db, limiter
from nkhr_events.registrations.categories import CATEGORY_LABELS, Category
from nkhr_events.web import current_actor, local_time

bp = require_staff(Blueprint("checkin_scan", __name__, url_prefix="/manage"))

#: Scans one request may carry (a phone's queue is sent in batches of this many).
MAX_SCANS = 50
#: Per signed-in staff member, not per address: a venue's volunteers share one Wi-Fi.
SCAN_LIMIT = "120 per minute"

ICONS = {door.Colour.GREEN: "✓", door.Colour.AMBER: "!", door.Colour.RED: "✕"}


def _staff_key() -> str:
    return f"staff:{current_user.get_id()}"


def _headline(colour: door.Colour) -> str:
    return {
        door.Colour.GREEN: _("Checked in"),
        door.Colour.AMBER: _("Already checked in"),
        door.Colour.RED: _("Not checked in"),
    }[colour]


def _detail(outcome: door.DoorOutcome, event: Event) -> str:
    if outcome.colour == door.Colour.RED or outcome.day is None:
        return outcome.message
    day = format_date(outcome.day, "full")
    if outcome.colour == door.Colour.GREEN:
        return _("%(name)s is checked in for %(day)s.", name=outcome.name, day=day)
    time = local_time(outcome.checked_in_at, event.timezone)
    today = outcome.day == checkin.event_today(event)
    if outcome.staff_name and today:
        return _(
            "Already checked in today at %(time)s by %(staff)s.",
            time=time,
            staff=outcome.staff_name,
        )
    if outcome.staff_name:
        return _(
            "Already checked in for %(day)s at %(time)s by %(staff)s.",
            day=day,
            time=time,
            staff=outcome.staff_name,
        )
    if today:
        return _("Already checked in today at %(time)s.", time=time)
    return _(
        "%(name)s was already checked in for %(day)s at %(time)s.",
        name=outcome.name,
        day=day,
        time=time,
    )


def outcome_view(outcome: door.DoorOutcome, event: Event) -> dict[str, Any]:
    """What the door screen shows of `outcome`, in the reader's language (the page without
    JavaScript and the scanner show the same)."""
    return {
        "colour": str(outcome.colour),
        "outcome": str(outcome.outcome),
        "icon": ICONS[outcome.colour],
        "headline": _headline(outcome.colour),
        "name": outcome.name,
        "category": CATEGORY_LABELS[Category(outcome.category)] if outcome.category else "",
        "day": format_date(outcome.day, "full") if outcome.day else "",
        "day_iso": outcome.day.isoformat() if outcome.day else "",
        "detail": _detail(outcome, event),
        "registration_id": outcome.registration_id,
        "overridable": outcome.overridable and can(event, Permission.EDIT_EVENT),
    }


def _scanned_at(value: object, now: datetime) -> datetime | None:
    """The time a phone says it scanned (ISO 8601 with a zone; empty: now); None if unreadable."""
    if value in (None, ""):
        return now
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            return None
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # "0001-01-01T00:00+14:00" has no UTC time
        return None


@dataclass(frozen=True)
class _Scan:
    code: str
    day: date | None
    at: datetime


def _read(event: Event, scan: object, now: datetime) -> _Scan | None:
    """One scan of a batch ({code, scanned_at, day}), or None if it cannot be read."""
    if not isinstance(scan, dict) or not isinstance(scan.get("code"), str):
        return None
    at = _scanned_at(scan.get("scanned_at"), now)
    if at is None:
        return None
    day_value = scan.get("day")
    day = checkin.parse_day(event, day_value if isinstance(day_value, str) else None)
    return _Scan(scan["code"], day, at)


def _answer(event: Event, scan: _Scan | None, override: bool, now: datetime) -> dict[str, Any]:
    """The door's answer to one scan, as it would have been at the time the scan was made; an
    unreadable one is red (and the rest of the batch is answered all the same, so a phone's
    queue never sticks on one bad entry)."""
    if scan is None:
        outcome = door.DoorOutcome(door.Outcome.UNKNOWN_CODE, None, message=_(
            "This scan could not be read. Scan the code again."))
        return outcome_view(outcome, event)
    outcome = door.scan_at_door(
        event,
        scan.code,
        scan.day,
        staff_id=current_user.id,
        actor=current_actor(),
        at=scan.at,
        now=now,
        override=override and can(event, Permission.EDIT_EVENT),
    )
    db.session.commit()
    return outcome_view(outcome, event)


@bp.post("/events/<int:event_id>/door/scans")
@limiter.limit(SCAN_LIMIT, key_func=_staff_key)
def scans(event_id: int) -> Response:
    """Check in the scanned codes: `{"scans": [{"code", "scanned_at", "day"}], "override"}`,
    answered `{"results": [...]}` in the same order (each as `outcome_view`)."""
    event = event_for(event_id, Permission.CHECK_IN)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    batch = body.get("scans")
    if not isinstance(batch, list) or not 0 < len(batch) <= MAX_SCANS:
        abort(400)
    override = body.get("override") is True
    now = checkin.current_time()
    scans_read = [_read(event, scan, now) for scan in batch]
    return jsonify(results=[_answer(event, scan, override, now) for scan in scans_read])
