"""The team page of an event: its members, inviting people with a role, removing them (after a
page that asks to confirm it).

Admins and the event's organizers open it (Permission.MANAGE_TEAM); for anyone else the event
answers 404, as an id that does not exist.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from nkhr_events.accounts import access, team_services
from nkhr_events.accounts.access import Permission
from nkhr_events.accounts.forms import TeamInviteForm
from nkhr_events.accounts.models import TeamRole
from nkhr_events.accounts.roles import require_staff
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations.categories import CATEGORY_LABELS
from nkhr_events.validators import known_language, show_error
from nkhr_events.web import current_actor, current_language

bp = require_staff(Blueprint("teams_manage", __name__, url_prefix="/manage/events"))


def _page(event: Event, form: TeamInviteForm) -> str:
    return render_template(
        "accounts/team.html", event=event, form=form,
        members=team_services.event_members(event),
        every_event=team_services.every_event_members(),
        admins=team_services.admins(),
        category_labels=CATEGORY_LABELS,
    )


def _invitation(form: TeamInviteForm) -> team_services.Invitation:
    return team_services.Invitation(
        email=form.email.data or "",
        name=form.name.data or "",
        role=TeamRole(form.role.data),
        categories=tuple(form.categories.data or ()),
        sees_needs=bool(form.sees_needs.data),
        can_export=bool(form.can_export.data),
        language=known_language(form.language.data),
    )


_DONE = {
    team_services.Outcome.CREATED: lambda email: _(
        "An invitation to choose a password is on its way to %(email)s.", email=email),
    team_services.Outcome.ADDED: lambda email: _(
        "%(email)s is on the team now and gets an email about it.", email=email),
    team_services.Outcome.CHANGED: lambda email: _(
        "The role of %(email)s is changed; they get an email about it.", email=email),
    team_services.Outcome.UNCHANGED: lambda email: _(
        "%(email)s already has this role.", email=email),
}


@bp.route("/<int:event_id>/team", methods=["GET", "POST"])
def team(event_id: int) -> Response | str:
    """The event's team; the form invites a person by email, or gives a member another
    role."""
    event = access.event_for(event_id, Permission.MANAGE_TEAM)
    form = TeamInviteForm(language=current_language())
    if form.validate_on_submit():
        try:
            done = team_services.invite(event, _invitation(form), actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_DONE[done.outcome](done.user.email), "success")
            return redirect(url_for(".team", event_id=event.id), code=303)
    return _page(event, form)


@bp.route("/<int:event_id>/team/<int:member_id>/remove", methods=["GET", "POST"])
def remove(event_id: int, member_id: int) -> Response | str:
    """Take a member off the event's team, after a page that asks to confirm it (a form sent
    without its "Yes, remove" shows that page again and removes nobody); their next request
    no longer reaches the event."""
    event = access.event_for(event_id, Permission.MANAGE_TEAM)
    member = team_services.member_of(event, member_id)
    if member is None:
        abort(404)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        return render_template("accounts/team_remove.html", event=event, member=member,
                               category_labels=CATEGORY_LABELS)
    email = member.user.email
    try:
        team_services.remove(event, member, actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("%(email)s is no longer on the team of this event.", email=email), "success")
    return redirect(url_for(".team", event_id=event.id), code=303)
