"""Staff pages of session sign-up: the roster of one session (the categories a reviewer's grant
reaches), decisions about a sign-up, and the door of one session (check-in: name, organization,
category and photo-consent marker only). Another event's ids answer 404."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import Permission, can, categories_of, event_for
from nkhr_events.accounts.roles import require_staff
from nkhr_events.checkin.door import door_name
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.programme import signups
from nkhr_events.programme.models import ProgrammeSession, SessionSignup
from nkhr_events.programme.signup_forms import DecisionForm, DoorForm
from nkhr_events.registrations.categories import CATEGORY_LABELS, Category
from nkhr_events.web import current_actor

bp = require_staff(Blueprint("signups_manage", __name__, url_prefix="/manage"))


def _session_of(event: Event, session_id: int) -> ProgrammeSession:
    found = db.session.get(ProgrammeSession, session_id)
    if found is None or found.event_id != event.id or not signups.takes_signups(found):
        abort(404)
    return found


def _signup_of(event: Event, session: ProgrammeSession, signup_id: int) -> SessionSignup:
    """The sign-up, if it is of this session and a category the signed-in person reaches."""
    found = db.session.get(SessionSignup, signup_id)
    reach = categories_of(event.id)
    if found is None or found.session_id != session.id:
        abort(404)
    if reach is not None and found.registration.category not in reach:
        abort(404)
    return found


def _category_label(value: str) -> str:
    return str(CATEGORY_LABELS[Category(value)])


@bp.get("/events/<int:event_id>/programme/<int:session_id>/signups")
def roster(event_id: int, session_id: int) -> str:
    """Who signed up for the session, in the order they came, with their status."""
    event = event_for(event_id, Permission.VIEW_ROSTER)
    session = _session_of(event, session_id)
    return render_template(
        "programme/signup_roster.html",
        event=event,
        session=session,
        people=signups.roster(session, categories_of(event.id)),
        count=signups.counts(event.id).get(session.id, signups.SessionCount()),
        may_decide=can(event, Permission.DECIDE),
        form=DecisionForm(),
        category_label=_category_label,
    )


@bp.post("/events/<int:event_id>/programme/<int:session_id>/signups/<int:signup_id>/decision")
def decision(event_id: int, session_id: int, signup_id: int) -> Response:
    """Approve, reject or waitlist one sign-up; freed places go to the waitlist at once."""
    event = event_for(event_id, Permission.DECIDE)
    session = _session_of(event, session_id)
    signup = _signup_of(event, session, signup_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        promoted = signups.decide(signup, form.decision.data, actor=current_actor())
    except signups.SignupRefused as refused:
        db.session.rollback()
        flash(refused.message, "error")
    else:
        db.session.commit()
        flash(_("The sign-up is updated."), "success")
        if promoted:
            flash(ngettext("%(num)d person moved up from the waitlist.",
                           "%(num)d people moved up from the waitlist.", len(promoted)), "info")
    return redirect(url_for(".roster", event_id=event.id, session_id=session.id), code=303)


@bp.route("/events/<int:event_id>/door/sessions/<int:session_id>", methods=["GET", "POST"])
def door(event_id: int, session_id: int) -> Response | str:
    """The door of one session: find a person by name or organization, check them in."""
    event = event_for(event_id, Permission.CHECK_IN)
    session = _session_of(event, session_id)
    form = DoorForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        signup = _signup_of(event, session, form.signup_id.data or 0)
        try:
            signups.check_in_signup(signup, actor=current_actor(),
                                    undo=form.action.data == "undo")
        except signups.SignupRefused as refused:
            db.session.rollback()
            flash(refused.message, "error")
        else:
            db.session.commit()
            name = door_name(signup.registration)
            flash(_("%(name)s is checked in.", name=name) if form.action.data == "checkin"
                  else _("Check-in of %(name)s undone.", name=name), "success")
        return redirect(url_for(".door", event_id=event.id, session_id=session.id,
                                q=form.q.data or None), code=303)
    term = request.args.get("q", "").strip()[:100]
    people = signups.door_list(session, term)
    return render_template(
        "programme/door_session.html",
        event=event,
        session=session,
        term=term,
        people=people,
        present=sum(1 for s in signups.door_list(session) if s.checked_in_at is not None),
        form=form,
        door_name=door_name,
        category_label=_category_label,
    )
