"""Staff check-in pages: the page a scanned QR code opens, and door mode with search, cards
and the full-screen result of each check-in. Everything works without JavaScript; the
scanner (scan_manage.py, static/js/door.js) is added on top."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import Permission, can, event_for
from nkhr_events.accounts.roles import require_staff
from nkhr_events.checkin import door as door_outcomes
from nkhr_events.checkin import services as checkin
from nkhr_events.checkin.scan_manage import outcome_view
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations.categories import CATEGORY_LABELS, Category
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.roster.exports import status_text as status_label
from nkhr_events.validators import whole_number
from nkhr_events.web import current_actor, permissions_policy

bp = require_staff(Blueprint("checkin_manage", __name__, url_prefix="/manage"))


@bp.after_request
def _camera_for_checkin(response: Response) -> Response:
    """The only pages where the camera is not denied (see web.permissions_policy)."""
    response.headers["Permissions-Policy"] = permissions_policy(camera=True)
    return response


def _day_label(day: date) -> str:
    return format_date(day, "full")


def _helpers(event: Event) -> dict[str, Any]:
    return {
        "day_label": _day_label,
        "status_label": status_label,
        "category_label": lambda value: CATEGORY_LABELS[Category(value)],
        "statuses": RegistrationStatus,
    }


def _registration_or_404(reference: str) -> Registration:
    """The registration of a check-in code, if the signed-in person checks people in at its
    event; else 404, as for a code that does not exist."""
    found = checkin.registration_for_reference(reference)
    if found is None or not can(found.event_id, Permission.CHECK_IN):
        abort(404)
    return found


#: Where the door page finds the result of the check-in it redirected from (shown once).
RESULT_KEY = "door_result"


def _check_in(registration: Registration, day: date | None) -> None:
    """Check in for one day, commit, and keep the door screen's result for the next page."""
    event = registration.event
    if day is None:
        flash(_("Choose a day of the event."), "error")
        return
    outcome = door_outcomes.check_in_at_door(
        event,
        registration,
        day,
        staff_id=current_user.id,
        actor=current_actor(),
        override=request.form.get("override") == "1" and can(event, Permission.EDIT_EVENT),
    )
    db.session.commit()
    session[RESULT_KEY] = outcome_view(outcome, event)


def _undo(registration: Registration, day: date | None) -> None:
    """Undo the check-in of one day, commit, and say what happened."""
    name = registration.badge_name or registration.full_name
    if day is None:
        flash(_("Choose a day of the event."), "error")
        return
    removed = checkin.undo_check_in(registration, day, actor=current_actor())
    db.session.commit()
    if removed:
        flash(
            _("Check-in of %(name)s for %(day)s undone.", name=name, day=_day_label(day)),
            "success",
        )
    else:
        flash(_("%(name)s was not checked in for that day.", name=name), "info")


def _apply(registration: Registration, action: str, day: date | None) -> None:
    if action == "checkin":
        _check_in(registration, day)
    elif action == "undo":
        _undo(registration, day)
    else:
        abort(400)


@bp.get("/checkin/<reference>")
def page(reference: str) -> str:
    """What a scanned QR code opens: who this is, their needs, and one button to check in."""
    registration = _registration_or_404(reference)
    event = registration.event
    today = checkin.checkin_day(event)
    return render_template(
        "checkin/page.html",
        registration=registration,
        event=event,
        reference=reference,
        today=today,
        checkins=checkin.checkins_of(registration),
        refusal=checkin.refusal(registration),
        **_helpers(event),
    )


@bp.post("/checkin/<reference>")
def act(reference: str) -> Response:
    """Check in (or undo) the scanned registration for the day in the form."""
    registration = _registration_or_404(reference)
    day = checkin.parse_day(registration.event, request.form.get("day"))
    action = request.form.get("action", "")
    _apply(registration, action, day)
    if action == "checkin" and day is not None:
        # The result fills the door screen; "Next person" goes on with the same day.
        return redirect(
            url_for(".door", event_id=registration.event_id, day=day.isoformat()), code=303
        )
    return redirect(url_for(".page", reference=reference), code=303)


def _door_day(event: Event, value: str | None) -> date | None:
    """The day door mode works on: the one asked for, else today, else the first day."""
    day = checkin.parse_day(event, value) or checkin.checkin_day(event)
    if day is None and event.day_list:
        day = event.day_list[0]
    return day


@bp.get("/events/<int:event_id>/door")
def door(event_id: int) -> str:
    """Door mode: find a person by name, organization or email and check them in."""
    event = event_for(event_id, Permission.CHECK_IN)
    day = _door_day(event, request.args.get("day"))
    term = request.args.get("q", "").strip()[:100]
    found = checkin.search_registrations(
        event, term, by_email=can(event.id, Permission.VIEW_ROSTER)
    )
    return render_template(
        "checkin/door.html",
        event=event,
        day=day,
        today=checkin.checkin_day(event),
        term=term,
        found=found,
        checked=checkin.checkins_on([r.id for r in found], day) if day else {},
        counts=checkin.counts_by_day(event),
        confirmed=checkin.confirmed_count(event),
        refusal=checkin.refusal,
        result=session.pop(RESULT_KEY, None),
        door_name=door_outcomes.door_name,
        waiting=_waiting_texts(),
        **_helpers(event),
    )


def _waiting_texts() -> dict[str, str]:
    """ "N check-ins waiting to send" in the reader's language, for the scanner to fill in the
    number ("{n}") itself while offline: the form for one, and for any other number."""
    return {
        count: ngettext(
            "%(count)s check-in waiting to send",
            "%(count)s check-ins waiting to send",
            n,
            count="{n}",
        )
        for count, n in (("one", 1), ("other", 2))
    }


@bp.post("/events/<int:event_id>/door")
def door_act(event_id: int) -> Response:
    """Check in or undo one person from the door list, then return to the same search."""
    event = event_for(event_id, Permission.CHECK_IN)
    registration_id = whole_number(request.form.get("registration_id"))
    registration = db.session.get(Registration, registration_id) if registration_id else None
    if registration is None or registration.event_id != event.id:
        abort(404)
    day = checkin.parse_day(event, request.form.get("day"))
    _apply(registration, request.form.get("action", ""), day)
    return redirect(
        url_for(
            ".door",
            event_id=event.id,
            day=day.isoformat() if day else None,
            q=request.form.get("q", "")[:100] or None,
        ),
        code=303,
    )
