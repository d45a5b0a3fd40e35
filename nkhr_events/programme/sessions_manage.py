"""Staff pages of an event's programme: the programme by day with its flags and clashes, and
the session form (new, edit) and its deletion.

Every page needs `Permission.EDIT_EVENT` (admins and the event's organizers); anyone else, and
another event's session ids, get 404. A clash is reported beside the field at fault and the
session is not saved until staff tick "save anyway". Every change is audited by the service.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from nkhr_events.accounts.access import Permission, event_for
from nkhr_events.accounts.roles import require_staff
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.programme import forms, services
from nkhr_events.programme.models import ProgrammeSession
from nkhr_events.validators import show_error
from nkhr_events.web import current_actor, event_days_text

bp = require_staff(Blueprint("programme_manage", __name__, url_prefix="/manage"))
PERMISSION = Permission.EDIT_EVENT


def _session(event: Event, session_id: int) -> ProgrammeSession:
    session = services.session_of(event, session_id)
    if session is None:
        abort(404)
    return session


def _form(event: Event, session: ProgrammeSession | None = None) -> forms.SessionForm:
    days = [SelectChoice(d.isoformat(), event_days_text([d])) for d in event.day_list]
    return forms.SessionForm(event=event, speakers=services.event_speakers(event), days=days,
                             session=session)


def _refused(form: forms.SessionForm, error: DomainError) -> bool:
    """Show the refusal beside its fields; True when it was a clash (the box is offered)."""
    db.session.rollback()
    for each in getattr(error, "errors", [error]):
        show_error(form, each)
    return isinstance(error, services.SessionClash)


@bp.get("/events/<int:event_id>/programme")
def programme(event_id: int) -> str:
    """The programme by day, every session with its flags and an edit link; clashes marked."""
    event = event_for(event_id, PERMISSION)
    sessions = services.event_sessions(event)
    return render_template(
        "programme/manage_programme.html",
        event=event,
        days=services.programme_days(event, public_only=False),
        clashing=services.clashing_ids(sessions),
        count=len(sessions),
        kinds=forms.KIND_LABELS,
        parts=forms.PART_LABELS,
    )


@bp.route("/events/<int:event_id>/programme/new", methods=["GET", "POST"])
def new(event_id: int) -> Response | str:
    event = event_for(event_id, PERMISSION)
    form = _form(event)
    clash = False
    if form.validate_on_submit():
        try:
            services.create_session(event, form.session_input(), actor=current_actor())
        except DomainError as error:
            clash = _refused(form, error)
        else:
            db.session.commit()
            flash(_("The session is added to the programme."), "success")
            return redirect(url_for(".programme", event_id=event.id), code=303)
    return _form_page(event, form, None, clash)


@bp.route("/events/<int:event_id>/programme/<int:session_id>/edit", methods=["GET", "POST"])
def edit(event_id: int, session_id: int) -> Response | str:
    event = event_for(event_id, PERMISSION)
    session = _session(event, session_id)
    form = _form(event, session)
    clash = False
    if form.validate_on_submit():
        try:
            changed = services.update_session(session, form.session_input(),
                                              actor=current_actor())
        except DomainError as error:
            clash = _refused(form, error)
        else:
            db.session.commit()
            flash(_("Your changes are saved.") if changed else _("Nothing changed."),
                  "success" if changed else "info")
            return redirect(url_for(".programme", event_id=event.id), code=303)
    return _form_page(event, form, session, clash)


def _form_page(event: Event, form: forms.SessionForm, session: ProgrammeSession | None,
               clash: bool) -> str:
    return render_template(
        "programme/session_form.html", event=event, form=form, session=session,
        clash=clash or bool(form.accept_clashes.data), parts=forms.PART_LABELS,
        language_labels=forms.LANGUAGE_LABELS, text_labels=forms.TEXT_LABELS,
    )


@bp.route("/events/<int:event_id>/programme/<int:session_id>/delete", methods=["GET", "POST"])
def delete(event_id: int, session_id: int) -> Response | str:
    """A confirmation page; the deletion itself is its POST."""
    event = event_for(event_id, PERMISSION)
    session = _session(event, session_id)
    form = forms.DeleteForm()
    if form.validate_on_submit():
        try:
            services.delete_session(session, actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("The session is deleted."), "success")
            return redirect(url_for(".programme", event_id=event.id), code=303)
    return render_template("programme/session_delete.html", event=event, session=session,
                           form=form, kinds=forms.KIND_LABELS)
