"""Staff pages for the outbox: every message, its status and content; retry and cancel.

A stored message never holds a working private link (the worker makes it at delivery), and
messages about staff accounts (password and invitation links) are shown to admins only; every
look at one message is on the audit trail.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import Permission, can_somewhere, visible_event_ids
from nkhr_events.accounts.roles import require_staff
from nkhr_events.audit.services import record
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.outbox import services
from nkhr_events.outbox.models import SECRET_PLACEHOLDER, OutboxMessage, OutboxStatus
from nkhr_events.web import current_actor, int_arg

bp = require_staff(Blueprint("outbox_manage", __name__, url_prefix="/manage/outbox"))

PER_PAGE = 50


@bp.get("/")
def index() -> str:
    """Messages newest first, filtered by status and recipient, with counts by status; for a
    role that reads no event's emails (the door, a reviewer), nothing here (404)."""
    if not can_somewhere(Permission.OUTBOX):
        abort(404)
    status = request.args.get("status", "")
    if status not in {s.value for s in OutboxStatus}:
        status = ""
    recipient = request.args.get("recipient", "").strip()[:254]
    page = db.paginate(
        services.messages_query(status or None, recipient or None, admin=_admin(),
                                event_ids=visible_event_ids(Permission.OUTBOX)),
        page=int_arg("page", 1),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "outbox/index.html",
        page=page,
        counts=services.status_counts(admin=_admin(),
                                      event_ids=visible_event_ids(Permission.OUTBOX)),
        status=status,
        recipient=recipient,
        statuses=OutboxStatus,
    )


def _admin() -> bool:
    return bool(current_user.is_admin)


def _visible_or_404(message_id: int) -> OutboxMessage:
    found = services.visible_message(message_id, admin=_admin(),
                                     event_ids=visible_event_ids(Permission.OUTBOX))
    if found is None:
        abort(404)
    return found


@bp.get("/<int:message_id>")
def message(message_id: int) -> str:
    """One message: headers, delivery state, the text part, the HTML part as source. Audited."""
    found = _visible_or_404(message_id)
    record("outbox.view", object_type="outbox_message", object_id=found.id,
           detail={"template": found.template}, actor=current_actor())
    db.session.commit()
    # A message written at delivery shows as it will read, written now and not kept.
    preview = services.awaits_writing(found)
    try:
        text_body, html_body = services.write_body(found, keep=False)
    except ValueError:
        text_body, html_body = "", None
    return render_template("outbox/message.html", message=found, statuses=OutboxStatus,
                           placeholder=SECRET_PLACEHOLDER, preview=preview,
                           text_body=text_body, html_body=html_body,
                           downloadable={a.id for a in found.attachments
                                         if services.downloadable_by_staff(a)})


@bp.get("/<int:message_id>/attachments/<int:attachment_id>")
def attachment(message_id: int, attachment_id: int) -> Response:
    """Download an attachment (always as a download, never shown inline). Files made at
    delivery are made now, as they will be sent, unless they carry a secret (a check-in QR
    code): those are not offered. Audited."""
    found = next((a for a in _visible_or_404(message_id).attachments
                  if a.id == attachment_id and services.downloadable_by_staff(a)), None)
    if found is None:
        abort(404)
    try:
        data = services.attachment_data(found)
    except ValueError:
        abort(404)
    record("outbox.attachment", object_type="outbox_message", object_id=message_id,
           detail={"filename": found.filename}, actor=current_actor())
    db.session.commit()
    response = Response(data, mimetype=found.content_type.split(";")[0])
    response.headers.set("Content-Disposition", "attachment", filename=found.filename)
    return response


@bp.post("/<int:message_id>/retry")
def retry(message_id: int) -> Response:
    found = _visible_or_404(message_id)
    try:
        services.retry_message(found, actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The message is queued and will be sent again shortly."), "success")
    return redirect(url_for(".message", message_id=message_id), code=303)


@bp.post("/<int:message_id>/cancel")
def cancel(message_id: int) -> Response:
    found = _visible_or_404(message_id)
    try:
        services.cancel_message(found, actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The message is cancelled and will not be sent."), "success")
    return redirect(url_for(".message", message_id=message_id), code=303)
