"""The invitee's pages: the invitation's link opens the registration form of its category,
filled in and in the invitee's language; declining takes one button (after a page that asks).

The page speaks the invitation's language unless the reader chose one on this site (the
language cookie), and the first visit marks the invitation "opened" — the page itself, never a
tracking pixel in the email.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import Busy, DomainError
from nkhr_events.extensions import db, limiter
from nkhr_events.invitations import services
from nkhr_events.invitations.forms import ActionForm
from nkhr_events.invitations.models import OPEN_STATUSES, Invitation, InvitationStatus, split_name
from nkhr_events.registrations import forms as registration_forms
from nkhr_events.registrations.categories import CATEGORY_LABELS, QUESTIONS, Category
from nkhr_events.registrations.services import (
    RegistrationClosed,
    RegistrationInput,
    category_settings,
)
from nkhr_events.validators import CountryField, show_error
from nkhr_events.web import (
    attendee_actor,
    country_choices,
    current_language,
    retry_later,
    speak_language_of,
)

bp = Blueprint("invitations", __name__)


def _invitation_or_404(token: str) -> Invitation:
    invitation = services.invitation_for_token(token)
    if invitation is None:
        abort(404)
    return invitation


def in_invitee_language(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run the view in the invitation's language, unless the reader chose one here."""

    @wraps(view)
    def wrapper(token: str) -> Any:
        invitation = _invitation_or_404(token)
        speak_language_of(invitation.language)
        return view(invitation, token)

    return wrapper


def _form(invitation: Invitation) -> registration_forms.RegistrationForm:
    """The category's registration form, without the address (the invitation's is used)."""
    event = invitation.event
    category = Category(invitation.category)
    settings = category_settings(event)[category.value]
    given, family = split_name(invitation.name, invitation.language)
    form = registration_forms.registration_form(
        event,
        category,
        settings,
        current_language(),
        data={
            "given_name": given,
            "family_name": family,
            "organization": invitation.organization,
            "language": invitation.language,
            "days": [d.isoformat() for d in event.day_list],
        },
    )
    del form.email
    choices = [("", _("Choose…")), *country_choices()]
    for field in form:
        if isinstance(field, CountryField):
            field.choices = choices
    return form


def _answer_page(invitation: Invitation, token: str) -> tuple[str, int]:
    """What a link that can no longer register says: used, declined, revoked or expired."""
    shown = invitation.shown_status()
    code = 200 if shown in (InvitationStatus.REGISTERED, InvitationStatus.DECLINED) else 410
    return render_template(
        "invitations/answered.html",
        invitation=invitation,
        event=invitation.event,
        shown=shown,
        statuses=InvitationStatus,
        token=token,
    ), code


def _accept_page(
    invitation: Invitation, token: str, form: registration_forms.RegistrationForm
) -> str:
    category = Category(invitation.category)
    reservation = invitation.reservation
    return render_template(
        "invitations/accept.html",
        invitation=invitation,
        event=invitation.event,
        form=form,
        token=token,
        category_label=CATEGORY_LABELS[category],
        question_names=[f"q_{q.key}" for q in QUESTIONS[category]],
        held_until=reservation.shown_until
        if reservation is not None and reservation.holds_places(utcnow())
        else None,
    )


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
@in_invitee_language
def accept(invitation: Invitation, token: str) -> Response | str | tuple[str, int] | Any:
    """The registration form, filled in; sending it registers through the invitation."""
    if invitation.shown_status() not in OPEN_STATUSES:
        return _answer_page(invitation, token)
    if services.mark_opened(invitation, actor=attendee_actor()):
        db.session.commit()
    form = _form(invitation)
    if not form.validate_on_submit() or form.homepage.data:
        return _accept_page(invitation, token, form)
    data = RegistrationInput(
        category=invitation.category,
        email=invitation.email,
        answers=registration_forms.answers(form),
        privacy_consent=bool(form.privacy_consent.data),
        **vars(registration_forms.details_input(form)),
    )
    try:
        services.accept(invitation, data, actor=attendee_actor())
    except (DomainError, RegistrationClosed) as error:
        db.session.rollback()
        show_error(form, error)
        if isinstance(error, Busy):
            return retry_later(_accept_page(invitation, token, form), error)
        db.session.refresh(invitation)
        if invitation.shown_status() not in OPEN_STATUSES:
            return _answer_page(invitation, token)
        return _accept_page(invitation, token, form)
    db.session.commit()
    return redirect(url_for(".accept", token=token), code=303)


@bp.route("/invitation/<token>/decline", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
@in_invitee_language
def decline(invitation: Invitation, token: str) -> Response | str | tuple[str, int]:
    """Ask once, then decline: the link stops working and a reserved seat is freed at once."""
    if invitation.shown_status() not in OPEN_STATUSES:
        return _answer_page(invitation, token)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            services.decline(invitation, actor=attendee_actor())
        except DomainError as error:
            db.session.rollback()
            if isinstance(error, Busy):
                raise
        else:
            db.session.commit()
        return redirect(url_for(".accept", token=token), code=303)
    return render_template(
        "invitations/decline.html",
        invitation=invitation,
        event=invitation.event,
        form=form,
        token=token,
        category_label=CATEGORY_LABELS[Category(invitation.category)],
    )
