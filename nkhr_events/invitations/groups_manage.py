"""Staff pages of delegations and partner blocks: the event's groups, giving a delegation or an
approved partner places, a group's page with its members, resending the contact's link and
revoking a group. Giving places reserves seats and emails on the event's behalf: the event's
organizers (EDIT_EVENT), as for invitations."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import Permission, event_for
from nkhr_events.accounts.roles import require_staff
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.invitations import groups
from nkhr_events.invitations.forms import ActionForm, category_choices
from nkhr_events.invitations.group_forms import GroupForm
from nkhr_events.invitations.models import GroupKind, RegistrationGroup
from nkhr_events.invitations.services import default_hold_day
from nkhr_events.partners.models import Partnership
from nkhr_events.registrations.categories import category_label
from nkhr_events.registrations.seats import moved_up_message
from nkhr_events.roster.exports import status_text
from nkhr_events.validators import show_error
from nkhr_events.web import current_actor

bp = require_staff(Blueprint("groups_manage", __name__, url_prefix="/manage"))
PERMISSION = Permission.EDIT_EVENT


@bp.get("/events/<int:event_id>/groups")
def index(event_id: int) -> str:
    """The event's delegations and partner blocks: places, used, deadline, status."""
    event = event_for(event_id, PERMISSION)
    now = utcnow()
    return render_template(
        "invitations/group_index.html", event=event, groups=groups.groups_of(event),
        used=groups.member_counts(event), places_left=groups.places_left, now=now,
        category_label=category_label,
    )


def _give(event: Event, form: GroupForm, kind: GroupKind, partnership: Partnership | None
          ) -> Response | None:
    """Create the group from a valid form; None (errors on the form) when refused."""
    form.category.choices = category_choices(groups.group_categories(event))
    if request.method == "GET" and form.changes_until.data is None:
        form.changes_until.data = default_hold_day(event)
    if not form.validate_on_submit():
        return None
    data = groups.GroupInput(
        name=form.name.data or "", category=form.category.data or "",
        places=form.places.data or 0, changes_until=form.changes_until.data,
        contact_name=form.contact_name.data or "", contact_email=form.contact_email.data or "",
        contact_language=form.contact_language.data or "en", kind=kind,
        partnership_id=partnership.id if partnership is not None else None,
    )
    try:
        group = groups.create_group(event, data, actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        show_error(form, error)
        return None
    db.session.commit()
    flash(_("The link is on its way to %(email)s.", email=group.contact_email), "success")
    return redirect(url_for(".group", event_id=event.id, group_id=group.id), code=303)


@bp.route("/events/<int:event_id>/groups/new", methods=["GET", "POST"])
def new(event_id: int) -> Response | str:
    """Give a delegation's focal point places and a link to register its members."""
    event = event_for(event_id, PERMISSION)
    form = GroupForm()
    done = _give(event, form, GroupKind.DELEGATION, None)
    return done or render_template("invitations/group_new.html", event=event, form=form,
                                   partnership=None)


@bp.route("/partnerships/<int:partnership_id>/places", methods=["GET", "POST"])
def partner_places(partnership_id: int) -> Response | str:
    """Give an approved partner a block of places; the contact is the partnership's."""
    partnership = db.get_or_404(Partnership, partnership_id)
    event = event_for(partnership.event_id, PERMISSION)
    form = GroupForm(data={
        "name": partnership.partner.name, "contact_name": partnership.contact_name or "",
        "contact_email": partnership.contact_email or "",
        "contact_language": partnership.language or "en",
    })
    try:
        groups.partnership_for_places(partnership)
    except DomainError as error:
        form.form_errors.append(error.message)
        return render_template("invitations/group_new.html", event=event, form=form,
                               partnership=partnership, refused=True)
    done = _give(event, form, GroupKind.PARTNER, partnership)
    return done or render_template("invitations/group_new.html", event=event, form=form,
                                   partnership=partnership)


def _group(event: Event, group_id: int) -> RegistrationGroup:
    return db.first_or_404(db.select(RegistrationGroup).where(
        RegistrationGroup.id == group_id, RegistrationGroup.event_id == event.id))


@bp.get("/events/<int:event_id>/groups/<int:group_id>")
def group(event_id: int, group_id: int) -> str:
    """One group: its places, deadline, contact and members."""
    event = event_for(event_id, PERMISSION)
    found = _group(event, group_id)
    now = utcnow()
    return render_template(
        "invitations/group_one.html", event=event, group=found,
        members=groups.members_of(found), left=groups.places_left(found, now),
        open=found.open_for_changes(now), action_form=ActionForm(),
        category_label=category_label, status_label=status_text,
    )


@bp.post("/events/<int:event_id>/groups/<int:group_id>/resend")
def resend(event_id: int, group_id: int) -> Response:
    """Email the contact their link again (the earlier links keep working)."""
    event = event_for(event_id, PERMISSION)
    found = _group(event, group_id)
    if ActionForm().validate_on_submit():
        try:
            groups.resend_link(found, actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The link was sent again to %(email)s.", email=found.contact_email),
                  "success")
    return redirect(url_for(".group", event_id=event.id, group_id=found.id), code=303)


@bp.post("/events/<int:event_id>/groups/<int:group_id>/revoke")
def revoke(event_id: int, group_id: int) -> Response:
    """Close the group: its link stops working, unused places go to the waitlist."""
    event = event_for(event_id, PERMISSION)
    found = _group(event, group_id)
    if ActionForm().validate_on_submit():
        try:
            moved = groups.revoke_group(found, actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The group is revoked; its link no longer works. Its members stay "
                    "registered."), "success")
            if moved:
                flash(moved_up_message(len(moved)), "info")
    return redirect(url_for(".group", event_id=event.id, group_id=found.id), code=303)
