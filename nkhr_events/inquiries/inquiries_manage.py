"""The staff side of the contact form (admins only: inquiries belong to no event): the list,
one inquiry with its emails, a reply through the outbox, and the open/answered status."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from nkhr_events.accounts.roles import admin_required, require_staff
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.inquiries import services
from nkhr_events.inquiries.forms import ReplyForm
from nkhr_events.inquiries.models import Inquiry, InquiryStatus
from nkhr_events.validators import LANGUAGE_NAMES
from nkhr_events.web import current_actor, int_arg

bp = require_staff(Blueprint("inquiries_manage", __name__, url_prefix="/manage/inquiries"))


def _status_arg(value: str | None) -> InquiryStatus | None:
    try:
        return InquiryStatus(value or "")
    except ValueError:
        return None


@bp.get("/")
@admin_required
def index() -> str:
    """Inquiries newest first, open or answered or all, paged."""
    status = _status_arg(request.args.get("status"))
    page = db.paginate(
        services.inquiries_query(status),
        page=int_arg("page", 1),
        per_page=services.PAGE_SIZE,
        error_out=False,
    )
    return render_template(
        "inquiries/manage_list.html",
        page=page,
        status=status,
        counts=services.status_counts(),
        arguments={"status": status.value if status else None},
    )


def _render_one(inquiry: Inquiry, form: ReplyForm) -> str:
    return render_template(
        "inquiries/manage_one.html",
        inquiry=inquiry,
        reference=services.inquiry_reference(inquiry),
        emails=services.emails_about(inquiry),
        form=form,
        language_names=LANGUAGE_NAMES,
    )


@bp.get("/<int:inquiry_id>")
@admin_required
def inquiry(inquiry_id: int) -> str:
    """What the visitor wrote, the emails about it, its status and the reply form."""
    found = db.get_or_404(Inquiry, inquiry_id)
    form = ReplyForm(formdata=None, subject=services.reply_subject(found))
    return _render_one(found, form)


@bp.post("/<int:inquiry_id>/reply")
@admin_required
def reply(inquiry_id: int) -> Response | str:
    """Queue the reply through the outbox and mark the inquiry answered. Audited."""
    found = db.get_or_404(Inquiry, inquiry_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _render_one(found, form)
    try:
        services.reply_to_inquiry(
            found, form.subject.data or "", form.body.data or "", actor=current_actor()
        )
    except DomainError as error:
        db.session.rollback()
        form.body.errors = [*form.body.errors, error.message]
        return _render_one(found, form)
    db.session.commit()
    flash(_("The reply is queued and the inquiry is marked answered."), "success")
    return redirect(url_for(".inquiry", inquiry_id=found.id), code=303)


@bp.post("/<int:inquiry_id>/status")
@admin_required
def status(inquiry_id: int) -> Response:
    """Mark the inquiry open or answered (e.g. answered by telephone). Audited."""
    found = db.get_or_404(Inquiry, inquiry_id)
    wanted = _status_arg(request.form.get("status"))
    if wanted is None:
        abort(400)
    if services.change_status(found, wanted, actor=current_actor()):
        db.session.commit()
        flash(_("The inquiry is marked open.") if wanted == InquiryStatus.OPEN
              else _("The inquiry is marked answered."), "success")
    return redirect(url_for(".inquiry", inquiry_id=found.id), code=303)
