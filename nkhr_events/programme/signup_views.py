"""The attendee's programme under their private link: every session of the event (those not
public too, for an active registration), with sign-up and cancel buttons for sessions with
limited places (programme/signups.py holds the rules). The manage page lists their sign-ups."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from nkhr_events.extensions import db, limiter
from nkhr_events.programme import display, signups
from nkhr_events.programme.models import ProgrammeSession, SessionKind, SessionSignup
from nkhr_events.programme.signup_forms import SignupForm, place_text
from nkhr_events.registrations import links
from nkhr_events.registrations.models import ACTIVE_STATUSES, Registration
from nkhr_events.web import attendee_actor

bp = Blueprint("signups", __name__)


def _registration_or_404(token: str) -> Registration:
    registration = links.registration_for_token(token)
    if registration is None:
        abort(404)
    return registration


def visible_sessions(registration: Registration) -> list[ProgrammeSession]:
    """The event's programme as this attendee may see it: sessions that are not public only
    while the registration is active."""
    query = (
        select(ProgrammeSession)
        .where(ProgrammeSession.event_id == registration.event_id)
        .order_by(ProgrammeSession.day, ProgrammeSession.starts_at, ProgrammeSession.id)
    )
    if registration.status not in ACTIVE_STATUSES:
        query = query.where(ProgrammeSession.public.is_(True))
    return list(db.session.scalars(query))


@bp.app_template_global("session_signups")
def session_signups(registration: Registration) -> list[SessionSignup]:
    """The attendee's active sign-ups, for the manage page."""
    return signups.signups_of(registration)


@bp.app_template_global("programme_offered")
def programme_offered(registration: Registration) -> bool:
    """Whether the manage page links to the attendee's programme: the event has one."""
    return bool(db.session.scalar(
        select(ProgrammeSession.id).where(ProgrammeSession.event_id == registration.event_id)
        .limit(1)
    ))


@bp.route("/registration/<token>/programme", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def programme(token: str) -> Response | str:
    """The programme with the attendee's sign-ups; a button signs up for a session or cancels
    a sign-up (then back here, 303)."""
    registration = _registration_or_404(token)
    form = SignupForm()
    if form.validate_on_submit():
        return _act(registration, form, token)
    sessions = visible_sessions(registration)
    mine = {s.session_id: s for s in signups.signups_of(registration)}
    response = make_response(render_template(
        "programme/signup_programme.html",
        registration=registration,
        event=registration.event,
        token=token,
        sessions=sessions,
        mine=mine,
        counts=signups.counts(registration.event_id),
        no_count=signups.SessionCount(),
        takes_signups=signups.takes_signups,
        place_text=place_text,
        public_name=display.public_name,
        kinds=SessionKind,
        seated=registration.holds_seat,
        active=registration.status in ACTIVE_STATUSES,
    ))
    response.headers["Cache-Control"] = "no-store"
    return response


def _act(registration: Registration, form: SignupForm, token: str) -> Response:
    session = db.session.get(ProgrammeSession, form.session_id.data)
    if session is None or session.event_id != registration.event_id:
        abort(404)
    if not session.public and registration.status not in ACTIVE_STATUSES:
        abort(404)
    actor = attendee_actor()
    try:
        if form.action.data == "sign_up":
            signup, _created = signups.sign_up(registration, session, actor=actor)
            message = _signed_up_text(signup)
        else:
            found = signups.active_signup(session.id, registration.id)
            if found is None:
                raise signups.SignupRefused(_("You are not signed up for this session."))
            signups.cancel_signup(found, actor=actor)
            message = _("Your sign-up is cancelled. We have emailed you a confirmation.")
    except signups.SignupRefused as refused:
        db.session.rollback()
        flash(refused.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for(".programme", token=token, _anchor=f"session-{session.id}"), code=303)


def _signed_up_text(signup: SessionSignup) -> str:
    if signup.status == "confirmed":
        return _("You are signed up: your place is confirmed.")
    if signup.status == "pending":
        return _("Your place is held while the organizers review sign-ups.")
    return _("This session is full: you are on its waitlist.")
