"""The pages of a group's contact (a delegation's focal point, a partner's contact), opened by
their emailed link: the group with its members, the form that adds one, replacing or removing a
member until the deadline, and each member's check-in code sheet to print or forward.

The pages speak the contact's language unless the reader chose one on this site. After the
deadline, or once staff revoked the group, the page is read-only and says why; the sheets of
confirmed members stay available."""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from nkhr_events.checkin import services as checkin
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import Busy, DomainError
from nkhr_events.extensions import db, limiter
from nkhr_events.invitations import groups
from nkhr_events.invitations.forms import ActionForm
from nkhr_events.invitations.group_forms import MemberForm, member_form
from nkhr_events.invitations.models import GroupStatus, RegistrationGroup
from nkhr_events.names import full_name
from nkhr_events.registrations import forms as registration_forms
from nkhr_events.registrations.categories import CATEGORY_LABELS, QUESTIONS, Category
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.services import (
    RegistrationClosed,
    RegistrationInput,
    category_settings,
)
from nkhr_events.roster.exports import status_text
from nkhr_events.validators import CountryField, show_error
from nkhr_events.web import (
    attendee_actor,
    country_choices,
    current_language,
    retry_later,
    speak_language_of,
)

bp = Blueprint("groups", __name__)
LIMIT = "30 per minute"


def in_contact_language(view: Callable[..., Any]) -> Callable[..., Any]:
    """Find the group of the link (404 when unknown) and run the view in the contact's
    language, unless the reader chose one here."""

    @wraps(view)
    def wrapper(token: str, **kwargs: Any) -> Any:
        group = groups.group_for_token(token)
        if group is None:
            abort(404)
        speak_language_of(group.contact_language)
        return view(group, token, **kwargs)

    return wrapper


def _form(group: RegistrationGroup, **kwargs: Any) -> MemberForm:
    event = group.event
    category = Category(group.category)
    kwargs.setdefault("data", {"language": group.contact_language,
                               "days": [d.isoformat() for d in event.day_list]})
    form = member_form(event, category, category_settings(event)[category.value],
                       current_language(), **kwargs)
    choices = [("", _("Choose…")), *country_choices()]
    for field in form:
        if isinstance(field, CountryField):
            field.choices = choices
    return form


def _closed_reason(group: RegistrationGroup) -> str | None:
    if group.status == GroupStatus.REVOKED:
        return _("The organizers have closed this group's link: no more changes can be made. "
                 "The members below stay registered.")
    if utcnow() >= group.changes_until:
        return _("The deadline for changes has passed: no more changes can be made. "
                 "The members below stay registered.")
    return None


def _page(group: RegistrationGroup, token: str, form: MemberForm) -> str:
    return render_template(
        "invitations/group_contact.html", group=group, event=group.event, token=token,
        form=form, members=groups.members_of(group), left=groups.places_left(group),
        closed=_closed_reason(group), held_until=group.reservation.shown_until
        if group.reservation is not None else group.changes_until,
        category_label=CATEGORY_LABELS[Category(group.category)], status_label=status_text,
        question_names=[f"q_{q.key}" for q in QUESTIONS[Category(group.category)]],
    )


def _input(group: RegistrationGroup, form: MemberForm) -> RegistrationInput:
    return RegistrationInput(
        category=group.category,
        email=(form.email.data or "").strip(),
        answers=registration_forms.answers(form),
        privacy_consent=bool(form.privacy_consent.data),
        **vars(registration_forms.details_input(form)),
    )


def _apply(form: MemberForm, page: Callable[[], str], change: Callable[[], Any]) -> Any:
    """Run a change of the form's data: commit, or roll back and show the page again with
    the message beside the field at fault (503 when the seat lock was busy)."""
    try:
        change()
    except (DomainError, RegistrationClosed) as error:
        db.session.rollback()
        show_error(form, error)
        return retry_later(page(), error) if isinstance(error, Busy) else page()
    db.session.commit()
    return None


@bp.route("/group/<token>", methods=["GET", "POST"])
@limiter.limit(LIMIT, methods=["POST"])
@in_contact_language
def contact(group: RegistrationGroup, token: str) -> Any:
    """The group and its members; the form adds one member into one of its places."""
    form = _form(group)
    if _closed_reason(group) or not form.validate_on_submit() or form.homepage.data:
        return _page(group, token, form)
    data = _input(group, form)
    failed = _apply(form, lambda: _page(group, token, form),
                    lambda: groups.add_member(group, data, actor=attendee_actor()))
    if failed is not None:
        return failed
    flash(_("%(name)s is registered.", name=full_name(data.given_name, data.family_name)),
          "success")
    return redirect(url_for(".contact", token=token) + "#members", code=303)


def _member_or_404(group: RegistrationGroup, registration_id: int) -> Registration:
    member = groups.member_of(group, registration_id)
    if member is None:
        abort(404)
    return member


@bp.route("/group/<token>/members/<int:registration_id>/replace", methods=["GET", "POST"])
@limiter.limit(LIMIT, methods=["POST"])
@in_contact_language
def replace(group: RegistrationGroup, token: str, registration_id: int) -> Any:
    """Another person in a member's place (until the deadline)."""
    member = _member_or_404(group, registration_id)
    if _closed_reason(group):
        return redirect(url_for(".contact", token=token), code=303)
    form = _form(group)

    def page() -> str:
        return render_template(
            "invitations/group_replace.html", group=group, event=group.event, token=token,
            form=form, member=member,
            question_names=[f"q_{q.key}" for q in QUESTIONS[Category(group.category)]],
        )

    if not form.validate_on_submit() or form.homepage.data:
        return page()
    data = _input(group, form)
    failed = _apply(form, page, lambda: groups.replace_member(
        group, member.id, data, actor=attendee_actor()))
    if failed is not None:
        return failed
    flash(_("%(name)s is registered.", name=full_name(data.given_name, data.family_name)),
          "success")
    return redirect(url_for(".contact", token=token) + "#members", code=303)


@bp.route("/group/<token>/members/<int:registration_id>/remove", methods=["GET", "POST"])
@limiter.limit(LIMIT, methods=["POST"])
@in_contact_language
def remove(group: RegistrationGroup, token: str, registration_id: int) -> Response | str:
    """Ask once, then cancel the member; the place goes back to the group."""
    member = _member_or_404(group, registration_id)
    if _closed_reason(group):
        return redirect(url_for(".contact", token=token), code=303)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            groups.remove_member(group, member.id, actor=attendee_actor())
        except DomainError as error:
            db.session.rollback()
            if isinstance(error, Busy):
                raise
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The registration is cancelled; the place is free for another member."),
                  "success")
        return redirect(url_for(".contact", token=token) + "#members", code=303)
    return render_template("invitations/group_remove.html", group=group, event=group.event,
                           token=token, form=form, member=member)


@bp.get("/group/<token>/members/<int:registration_id>/sheet")
@in_contact_language
def sheet(
    group: RegistrationGroup, token: str, registration_id: int
) -> tuple[str, int, dict[str, str]]:
    """A confirmed member's check-in code on a page of its own, to print or pass on."""
    member = _member_or_404(group, registration_id)
    if member.status != RegistrationStatus.CONFIRMED:
        abort(404)
    image = base64.b64encode(checkin.qr_png(member)).decode("ascii")
    db.session.commit()  # the check-in salt, if this was its first use
    page = render_template("invitations/group_sheet.html", group=group, event=group.event,
                           token=token, member=member, qr=image)
    return page, 200, {"Cache-Control": "no-store"}
