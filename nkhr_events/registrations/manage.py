"""Staff pages for registrations: the review list, decisions one by one and in bulk, and the
per-event category settings."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, or_
from werkzeug.wrappers import Response

from nkhr_events.accounts.roles import require_staff
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.registrations import services
from nkhr_events.registrations.categories import CATEGORY_LABELS, QUESTIONS, Category
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.seats import seats_taken

bp = require_staff(Blueprint("registrations_manage", __name__, url_prefix="/manage"))

PAGE_SIZE = 50


def status_label(status: str) -> str:
    labels = {
        "pending": _("Awaiting review"),
        "confirmed": _("Confirmed"),
        "waitlisted": _("Waitlisted"),
        "cancelled": _("Cancelled"),
        "rejected": _("Rejected"),
    }
    return labels.get(status, status)


@bp.get("/events/<int:event_id>/registrations")
def registrations(event_id: int) -> str:
    """Registrations of one event, filtered by status, category and a search term."""
    event = db.get_or_404(Event, event_id)
    status = request.args.get("status", "")
    category = request.args.get("category", "")
    term = request.args.get("q", "").strip()[:100]
    query = db.select(Registration).where(Registration.event_id == event.id)
    if status in {s.value for s in RegistrationStatus}:
        query = query.where(Registration.status == status)
    if category in {c.value for c in Category}:
        query = query.where(Registration.category == category)
    if term:
        like = f"%{term.lower()}%"
        query = query.where(
            or_(
                func.lower(Registration.given_name).like(like),
                func.lower(Registration.family_name).like(like),
                Registration.email_key.like(like),
                func.lower(Registration.organization).like(like),
            )
        )
    order = (
        (Registration.waitlisted_at, Registration.id)
        if status == RegistrationStatus.WAITLISTED
        else (Registration.created_at, Registration.id)
    )
    page = db.paginate(query.order_by(*order), per_page=PAGE_SIZE, error_out=False)
    counts = dict(
        db.session.execute(
            db.select(Registration.status, func.count(Registration.id))
            .where(Registration.event_id == event.id)
            .group_by(Registration.status)
        ).all()
    )
    return render_template(
        "registrations/manage_list.html",
        event=event,
        page=page,
        counts=counts,
        taken=seats_taken(event.id),
        status=status,
        category=category,
        term=term,
        statuses=RegistrationStatus,
        status_label=status_label,
        categories=Category,
        category_labels=CATEGORY_LABELS,
    )


@bp.get("/registrations/<int:registration_id>")
def registration(registration_id: int) -> str:
    found = db.get_or_404(Registration, registration_id)
    emails = db.session.scalars(
        db.select(OutboxMessage)
        .where(OutboxMessage.registration_id == found.id)
        .order_by(OutboxMessage.id)
    ).all()
    return render_template(
        "registrations/manage_one.html",
        registration=found,
        emails=emails,
        event=found.event,
        status_label=status_label,
        statuses=RegistrationStatus,
        category_label=CATEGORY_LABELS[Category(found.category)],
        questions=QUESTIONS[Category(found.category)],
    )


def _decide(registration: Registration, action: str, reason: str) -> list[Registration]:
    if action == "approve":
        services.approve_registration(registration)
        return []
    if action == "reject":
        return services.reject_registration(registration, reason)
    if action == "waitlist":
        return services.move_to_waitlist(registration)
    abort(400)


@bp.post("/registrations/<int:registration_id>/decision")
def decide(registration_id: int) -> Response:
    """Approve, reject (with an optional reason, sent to the person) or move to the waitlist."""
    found = db.get_or_404(Registration, registration_id)
    reason = request.form.get("reason", "")[:1000]
    try:
        promoted = _decide(found, request.form.get("action", ""), reason)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            _(
                "Saved: %(name)s is now %(status)s.",
                name=found.full_name,
                status=status_label(found.status),
            ),
            "success",
        )
        if promoted:
            flash(
                ngettext(
                    "%(num)d person moved up from the waitlist.",
                    "%(num)d people moved up from the waitlist.",
                    len(promoted),
                ),
                "info",
            )
    return redirect(url_for(".registration", registration_id=found.id), code=303)


@bp.post("/events/<int:event_id>/registrations/bulk")
def bulk(event_id: int) -> Response:
    """Apply one decision to the ticked registrations; each is decided on its own."""
    event = db.get_or_404(Event, event_id)
    action = request.form.get("action", "")
    if action not in {"approve", "reject", "waitlist"}:
        abort(400)
    reason = request.form.get("reason", "")[:1000]
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()][:500]
    done = skipped = promoted = 0
    for registration_id in ids:
        found = db.session.get(Registration, registration_id)
        if found is None or found.event_id != event.id:
            skipped += 1
            continue
        try:
            # Services check the status before they change anything, so a refusal leaves
            # nothing half-done and the rest of the batch goes on.
            promoted += len(_decide(found, action, reason))
        except DomainError:
            skipped += 1
        else:
            done += 1
    db.session.commit()
    flash(
        ngettext("%(num)d registration updated.", "%(num)d registrations updated.", done), "success"
    )
    if skipped:
        flash(
            ngettext(
                "%(num)d registration skipped (its status does not allow it).",
                "%(num)d registrations skipped (their status does not allow it).",
                skipped,
            ),
            "info",
        )
    if promoted:
        flash(
            ngettext(
                "%(num)d person moved up from the waitlist.",
                "%(num)d people moved up from the waitlist.",
                promoted,
            ),
            "info",
        )
    return redirect(
        url_for(".registrations", event_id=event.id, status=request.form.get("status", "")),
        code=303,
    )


@bp.route("/events/<int:event_id>/categories", methods=["GET", "POST"])
def categories(event_id: int) -> Response | str:
    """Which categories may register, their seat caps, review and an extra question."""
    event = db.get_or_404(Event, event_id)
    settings = services.category_settings(event)
    errors: dict[str, str] = {}
    values: dict[str, dict[str, object]] = {}
    if request.method == "POST":
        for category in Category:
            prefix = category.value
            raw_cap = request.form.get(f"{prefix}-seat_cap", "").strip()
            cap: int | None = None
            if raw_cap:
                if not raw_cap.isdigit() or len(raw_cap) > 6:
                    errors[f"{prefix}-seat_cap"] = _(
                        "Enter a whole number of seats, or leave it empty."
                    )
                else:
                    cap = int(raw_cap)
            question = request.form.get(f"{prefix}-extra_question", "").strip()
            question_ko = request.form.get(f"{prefix}-extra_question_ko", "").strip()
            if len(question) > 300 or len(question_ko) > 300:
                errors[f"{prefix}-extra_question"] = _("Use at most 300 characters.")
            values[prefix] = {
                "enabled": request.form.get(f"{prefix}-enabled") == "y",
                "seat_cap": cap,
                "needs_review": request.form.get(f"{prefix}-needs_review") == "y",
                "extra_question": question or None,
                "extra_question_ko": question_ko or None,
            }
        if not errors:
            try:
                services.save_category_settings(event, values)
            except DomainError as error:
                db.session.rollback()
                errors[error.field or ""] = error.message
            else:
                db.session.commit()
                flash(_("The category settings are saved."), "success")
                return redirect(url_for(".categories", event_id=event.id), code=303)
    return render_template(
        "registrations/manage_categories.html",
        event=event,
        settings=settings,
        values=values,
        errors=errors,
        categories=Category,
        category_labels=CATEGORY_LABELS,
    )
