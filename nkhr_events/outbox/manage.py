"""Staff pages for the outbox: every message, its status and content; retry and cancel."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from nkhr_events.accounts.roles import require_staff
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.outbox import services
from nkhr_events.outbox.models import OutboxAttachment, OutboxMessage, OutboxStatus

bp = require_staff(Blueprint("outbox_manage", __name__, url_prefix="/manage/outbox"))

PER_PAGE = 50


@bp.get("/")
def index() -> str:
    """Messages newest first, filtered by status and recipient, with counts by status."""
    status = request.args.get("status", "")
    if status not in {s.value for s in OutboxStatus}:
        status = ""
    recipient = request.args.get("recipient", "").strip()[:254]
    page = db.paginate(
        services.messages_query(status or None, recipient or None),
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "outbox/index.html",
        page=page,
        counts=services.status_counts(),
        status=status,
        recipient=recipient,
        statuses=OutboxStatus,
    )


@bp.get("/<int:message_id>")
def message(message_id: int) -> str:
    """One message: headers, delivery state, the text part, the HTML part as source."""
    found = db.get_or_404(OutboxMessage, message_id)
    return render_template("outbox/message.html", message=found, statuses=OutboxStatus)


@bp.get("/<int:message_id>/attachments/<int:attachment_id>")
def attachment(message_id: int, attachment_id: int) -> Response:
    """Download an attachment (always as a download, never shown inline)."""
    found = db.get_or_404(OutboxAttachment, attachment_id)
    if found.outbox_message_id != message_id:
        abort(404)
    try:
        # A file made at delivery (a QR code) is made now if the message is still queued.
        data = services.attachment_data(found)
    except ValueError:
        abort(404)
    response = Response(data, mimetype=found.content_type.split(";")[0])
    response.headers.set("Content-Disposition", "attachment", filename=found.filename)
    return response


@bp.post("/<int:message_id>/retry")
def retry(message_id: int) -> Response:
    found = db.get_or_404(OutboxMessage, message_id)
    try:
        services.retry_message(found)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The message is queued and will be sent again shortly."), "success")
    return redirect(url_for(".message", message_id=message_id), code=303)


@bp.post("/<int:message_id>/cancel")
def cancel(message_id: int) -> Response:
    found = db.get_or_404(OutboxMessage, message_id)
    try:
        services.cancel_message(found)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The message is cancelled and will not be sent."), "success")
    return redirect(url_for(".message", message_id=message_id), code=303)
