"""Staff pages of visa letter requests: the event's queue, a request with its passport data,
approve (issues the letter) or decline with a note, and the CSV export.

Every page needs `Permission.VISA` (admins and the event's organizers); anyone else gets 404,
as for a record that does not exist. Opening a request's passport data is recorded, and so is
an export, with whether the passport data was ticked.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import Permission, event_for
from nkhr_events.accounts.roles import require_staff
from nkhr_events.documents import visa
from nkhr_events.documents.visa_forms import DecisionForm
from nkhr_events.documents.visa_models import VisaLetterRequest, VisaStatus
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.roster.exports import csv_chunks
from nkhr_events.validators import show_error
from nkhr_events.web import country_name, current_actor

bp = require_staff(Blueprint("visa_manage", __name__, url_prefix="/manage"))
PERMISSION = Permission.VISA


def _request_of(event: Event, request_id: int) -> VisaLetterRequest:
    found = db.session.get(VisaLetterRequest, request_id)
    if found is None or found.event_id != event.id:
        abort(404)
    return found


@bp.get("/events/<int:event_id>/visa-letters")
def index(event_id: int) -> str:
    """The event's requests, by status (requested first: the queue)."""
    event = event_for(event_id, PERMISSION)
    status = request.args.get("status", "")
    if status not in {s.value for s in VisaStatus}:
        status = ""
    return render_template(
        "documents/visa_queue.html",
        event=event,
        status=status,
        statuses=list(VisaStatus),
        counts=visa.status_counts(event),
        requests=visa.event_requests(event, status or None),
    )


@bp.get("/events/<int:event_id>/visa-letters/export.csv")
def export(event_id: int) -> Response:
    """The requests as CSV: names and statuses, and the passport data only when ticked.
    Recorded, with the tick."""
    event = event_for(event_id, PERMISSION)
    include = request.args.get("include_passport") == "1"
    visa.record_export(event, include, actor=current_actor())
    db.session.commit()
    rows = list(visa.export_rows(event, include))
    body = b"".join(csv_chunks(rows[0], rows[1:]))
    response = current_app.response_class(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{event.slug}-visa-letters.csv"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/events/<int:event_id>/visa-letters/<int:request_id>")
def one(event_id: int, request_id: int) -> str:
    """A request with its passport data and the decision forms. Opening it is recorded."""
    event = event_for(event_id, PERMISSION)
    visa_request = _request_of(event, request_id)
    if visa_request.purged_at is None:
        visa.record_view(visa_request, actor=current_actor())
        db.session.commit()
    return _page(event, visa_request, DecisionForm(formdata=None))


def _page(event: Event, visa_request: VisaLetterRequest, form: DecisionForm) -> str:
    return render_template(
        "documents/visa_request.html",
        event=event,
        visa_request=visa_request,
        form=form,
        statuses=VisaStatus,
        country_name=country_name,
    )


@bp.post("/events/<int:event_id>/visa-letters/<int:request_id>/approve")
def approve(event_id: int, request_id: int) -> Response | str:
    """Approve: the letter is issued in each language asked for and the attendee emailed."""
    return _decide(event_id, request_id, approve=True)


@bp.post("/events/<int:event_id>/visa-letters/<int:request_id>/decline")
def decline(event_id: int, request_id: int) -> Response | str:
    """Decline with a note (required); the attendee is emailed the note."""
    return _decide(event_id, request_id, approve=False)


def _decide(event_id: int, request_id: int, approve: bool) -> Response | str:
    event = event_for(event_id, PERMISSION)
    visa_request = _request_of(event, request_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            if approve:
                visa.approve(visa_request, form.note.data or "", actor=current_actor())
            else:
                visa.decline(visa_request, form.note.data or "", actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            if error.field is None:
                flash(error.message, "error")
                return redirect(url_for(".one", event_id=event.id, request_id=request_id),
                                code=303)
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("The letter is issued and the attendee emailed.") if approve
                  else _("The request is declined and the attendee emailed."), "success")
            return redirect(url_for(".one", event_id=event.id, request_id=request_id),
                            code=303)
    return _page(event, visa_request, form)
