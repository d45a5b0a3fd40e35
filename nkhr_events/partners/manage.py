"""Staff review of partner applications: the list by event, status and role; decisions;
a sponsor's tier and display order; the partner's public name and website; an event's tiers."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import Permission, can_somewhere, event_for, visible_event_ids
from nkhr_events.accounts.roles import require_staff
from nkhr_events.audit.services import history_for
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.services import messages_about
from nkhr_events.partners import forms, services
from nkhr_events.partners.models import (
    PartnerLogo,
    Partnership,
    PartnershipRole,
    PartnershipStatus,
    SponsorTier,
)
from nkhr_events.web import current_actor, int_arg

bp = require_staff(Blueprint("partners_manage", __name__, url_prefix="/manage"))


@bp.get("/partners")
def applications() -> str:
    """Applications, newest first, filtered by event, status and role; for a role that handles
    no event's partners, nothing here (404)."""
    if not can_somewhere(Permission.PARTNERS):
        abort(404)
    event_id = int_arg("event_id")
    status = request.args.get("status", "")
    status = status if status in services.STATUS_LABELS else ""
    role = request.args.get("role", "")
    role = role if role in services.ROLE_LABELS else ""
    visible = visible_event_ids(Permission.PARTNERS)
    query = services.applications_query(event_id, status or None, role or None)
    events_query = db.select(Event).order_by(Event.start_date.desc())
    if visible is not None:
        query = query.where(Partnership.event_id.in_(visible))
        events_query = events_query.where(Event.id.in_(visible))
    rows = db.session.scalars(query.limit(500)).all()
    events = db.session.scalars(events_query).all()
    return render_template(
        "partners/manage_list.html",
        rows=rows,
        events=events,
        event_id=event_id,
        status=status,
        role=role,
        status_labels=services.STATUS_LABELS,
        role_labels=services.ROLE_LABELS,
    )


def _partnership(partnership_id: int) -> Partnership:
    """The application, if the signed-in person handles its event's partners; else 404."""
    found = db.get_or_404(Partnership, partnership_id)
    event_for(found.event_id, Permission.PARTNERS)
    return found


def _render_one(
    partnership: Partnership,
    decision: forms.DecisionForm | None = None,
    placement: forms.PlacementForm | None = None,
    partner_form: forms.PartnerForm | None = None,
) -> str:
    tiers = services.event_tiers(partnership.event_id)
    if placement is None:
        placement = forms.PlacementForm(
            formdata=None,
            sponsor_tier=partnership.sponsor_tier,
            display_order=partnership.display_order,
        )
    placement.sponsor_tier.choices = forms.choices(tiers)
    if partner_form is None:
        partner_form = forms.PartnerForm(
            formdata=None, name=partnership.partner.name, website=partnership.partner.website
        )
    history = history_for("partnership", partnership.id)
    emails = messages_about(partnership_id=partnership.id)
    return render_template(
        "partners/manage_one.html",
        p=partnership,
        decision=decision or forms.DecisionForm(formdata=None),
        placement=placement,
        partner_form=partner_form,
        history=history,
        emails=emails,
        has_logo=services.has_logo(partnership),
        tier_name=services.tier_name(partnership),
        offers=[
            services.CO_ORGANIZER_OFFERS[o]
            for o in (partnership.offers or "").split(",")
            if o in services.CO_ORGANIZER_OFFERS
        ],
        status_labels=services.STATUS_LABELS,
        role_labels=services.ROLE_LABELS,
        type_labels=services.ORGANIZATION_TYPES,
        roles=PartnershipRole,
        statuses=PartnershipStatus,
    )


@bp.get("/partners/<int:partnership_id>")
def application(partnership_id: int) -> str:
    return _render_one(_partnership(partnership_id))


@bp.post("/partners/<int:partnership_id>/decide")
def decide(partnership_id: int) -> Response | str:
    """Approve, decline (with a note) or mark withdrawn; the button pressed says which."""
    partnership = _partnership(partnership_id)
    form = forms.DecisionForm()
    action = request.form.get("action", "")
    if action not in ("approve", "decline", "withdraw"):
        abort(400)
    if not form.validate_on_submit():
        return _render_one(partnership, decision=form)
    if action == "decline" and not (form.note.data or "").strip():
        form.note.errors = [_("Tell the applicant why, in a short note.")]
        return _render_one(partnership, decision=form)
    decisions = {
        "approve": (services.approve, _("Approved. The applicant is emailed the decision.")),
        "decline": (services.decline, _("Declined. The applicant is emailed the decision.")),
        "withdraw": (services.withdraw, _("Marked as withdrawn.")),
    }
    decide_with, done = decisions[action]
    decide_with(partnership, form.note.data, actor=current_actor())
    db.session.commit()
    flash(done, "success")
    return redirect(url_for(".application", partnership_id=partnership.id), code=303)


@bp.post("/partners/<int:partnership_id>/placement")
def placement(partnership_id: int) -> Response | str:
    partnership = _partnership(partnership_id)
    form = forms.PlacementForm()
    form.sponsor_tier.choices = forms.choices(services.event_tiers(partnership.event_id))
    if form.validate_on_submit():
        try:
            services.set_placement(
                partnership, form.sponsor_tier.data, form.display_order.data or 0,
                actor=current_actor(),
            )
        except DomainError as error:
            db.session.rollback()
            form.sponsor_tier.errors = [error.message]
        else:
            db.session.commit()
            flash(_("The placement is saved."), "success")
            return redirect(url_for(".application", partnership_id=partnership.id), code=303)
    return _render_one(partnership, placement=form)


@bp.post("/partners/<int:partnership_id>/partner")
def edit_partner(partnership_id: int) -> Response | str:
    """The partner's public name and website (shared by all its partnerships)."""
    partnership = _partnership(partnership_id)
    form = forms.PartnerForm()
    if form.validate_on_submit():
        try:
            services.edit_partner(partnership.partner, form.name.data or "", form.website.data,
                                  actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            getattr(form, error.field or "name").errors = [error.message]
        else:
            db.session.commit()
            flash(_("The partner's public details are saved."), "success")
            return redirect(url_for(".application", partnership_id=partnership.id), code=303)
    return _render_one(_partnership(partnership_id), partner_form=form)


@bp.get("/partners/<int:partnership_id>/logo")
def logo(partnership_id: int) -> Response:
    """The logo sent with an application, for review before it is public."""
    _partnership(partnership_id)  # 404 unless the signed-in person handles its event
    found = db.session.get(PartnerLogo, partnership_id)
    if found is None:
        abort(404)
    response = make_response(found.data)
    response.headers["Content-Type"] = found.content_type
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/events/<int:event_id>/sponsor-tiers", methods=["GET", "POST"])
def tiers(event_id: int) -> Response | str:
    """The event's sponsor tiers, one per line; none means the default tiers."""
    event = event_for(event_id, Permission.PARTNERS)
    form = forms.TiersForm()
    if request.method == "GET":
        custom = db.session.scalar(
            db.select(db.func.count()).select_from(SponsorTier).where(
                SponsorTier.event_id == event.id
            )
        )
        if custom:
            form.tiers.data = "\n".join(label for _key, label in services.event_tiers(event.id))
    if form.validate_on_submit():
        services.set_event_tiers(event, (form.tiers.data or "").splitlines(),
                                 actor=current_actor())
        db.session.commit()
        flash(_("The sponsor tiers are saved."), "success")
        return redirect(url_for(".tiers", event_id=event.id), code=303)
    return render_template(
        "partners/manage_tiers.html", event=event, form=form, tiers=services.event_tiers(event.id)
    )
