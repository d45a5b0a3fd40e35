"""Staff pages of invitations: the status list of an event, inviting one person, a CSV file
with its preview and confirmation, and resending or revoking one invitation."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import Permission, event_for
from nkhr_events.accounts.roles import require_staff
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.invitations import csvfile, services
from nkhr_events.invitations.forms import (
    ActionForm,
    ConfirmForm,
    InviteForm,
    UploadForm,
    category_choices,
)
from nkhr_events.invitations.models import (
    LISTED_STATUSES,
    Invitation,
    InvitationStatus,
    shown_hold_end,
)
from nkhr_events.registrations.categories import category_label
from nkhr_events.registrations.seats import moved_up_message
from nkhr_events.registrations.services import category_settings
from nkhr_events.validators import show_error
from nkhr_events.web import current_actor

bp = require_staff(Blueprint("invitations_manage", __name__, url_prefix="/manage"))
#: Inviting reserves seats and emails people on the event's behalf: the event's organizers.
PERMISSION = Permission.EDIT_EVENT


@bp.record_once
def _check_settings(state: BlueprintSetupState) -> None:
    services.check_settings(state.app.config)


def _hold(event: Event, form: InviteForm | UploadForm) -> datetime | None:
    """The reserved seats' end, when the box is ticked (the suggested day when none is given)."""
    if not form.reserve.data:
        return None
    day = form.hold_until.data or services.default_hold_day(event)
    return services.check_hold(event, day)


def _prepare(form: InviteForm | UploadForm, event: Event) -> None:
    if request.method == "GET" and form.hold_until.data is None:
        form.hold_until.data = services.default_hold_day(event)


@bp.get("/events/<int:event_id>/invitations")
def index(event_id: int) -> str:
    """Every invitation of the event with its status; filter by status; counts."""
    event = event_for(event_id, PERMISSION)
    try:
        status: InvitationStatus | None = InvitationStatus(request.args.get("status", ""))
    except ValueError:
        status = None
    now = utcnow()
    return render_template(
        "invitations/index.html",
        event=event,
        status=status,
        statuses=LISTED_STATUSES,
        counts=services.status_counts(event, now),
        now=now,
        invitations=services.invitations_of(event, status, now),
        reserved=services.reserved_count(event, now),
        category_label=category_label,
        action_form=ActionForm(),
        open_categories=services.invitation_categories(event),
    )


@bp.route("/events/<int:event_id>/invitations/new", methods=["GET", "POST"])
def new(event_id: int) -> Response | str:
    """Invite one person (optionally with a reserved seat); emailed in their language."""
    event = event_for(event_id, PERMISSION)
    form = InviteForm()
    form.category.choices = category_choices(services.invitation_categories(event))
    _prepare(form, event)
    if form.validate_on_submit():
        data = services.InvitationInput(
            form.name.data,
            form.email.data,
            form.language.data,
            form.category.data,
            form.organization.data or "",
        )
        try:
            services.invite(event, data, _hold(event, form), actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("The invitation is on its way to %(email)s.", email=data.email), "success")
            return redirect(url_for(".index", event_id=event.id), code=303)
    return render_template("invitations/new.html", event=event, form=form)


@bp.route("/events/<int:event_id>/invitations/upload", methods=["GET", "POST"])
def upload(event_id: int) -> str:
    """A CSV file: every row shown as ok or wrong with the reason; nothing is stored here."""
    event = event_for(event_id, PERMISSION)
    form = UploadForm()
    _prepare(form, event)
    preview = None
    if form.validate_on_submit():
        try:
            hold = _hold(event, form)
            raw = form.file.data.read() if form.file.data else b""
            preview = _checked(event, csvfile.parse(csvfile.decode(raw)))
        except DomainError as error:
            show_error(form, error)
            preview = None
        else:
            return _preview_page(event, form, preview, hold)
    return _preview_page(event, form, preview, None)


def _checked(event: Event, found: csvfile.CsvFile) -> csvfile.CsvFile:
    found.mark(services.batch_problems(event, found.numbered(), category_settings(event), utcnow()))
    return found


def _preview_page(
    event: Event, form: UploadForm, preview: csvfile.CsvFile | None, hold: datetime | None
) -> str:
    confirm = None
    if preview is not None and preview.ok:
        hold_text = hold.isoformat() if hold else ""
        confirm = ConfirmForm(
            formdata=None,
            data={
                "content": csvfile.carried(preview.text),
                "reserve": "1" if hold else "",
                "hold_until": hold_text,
                "signature": csvfile.sign(event.id, preview.text, hold is not None, hold_text),
            },
        )
    return render_template(
        "invitations/upload.html",
        event=event,
        form=form,
        preview=preview,
        confirm=confirm,
        hold=shown_hold_end(hold, event.zone) if hold else None,
        category_label=category_label,
        columns=csvfile.COLUMNS,
        max_rows=csvfile.MAX_ROWS,
    )


@bp.post("/events/<int:event_id>/invitations/upload/confirm")
def confirm(event_id: int) -> Response | str:
    """Import every previewed row, or none: checked again now (one transaction)."""
    event = event_for(event_id, PERMISSION)
    form = ConfirmForm()
    text = csvfile.uncarried(form.content.data or "")
    hold_text = form.hold_until.data or ""
    reserve = form.reserve.data == "1"
    upload_form = UploadForm(formdata=None)
    if text is None or not csvfile.signed(
        event.id, text, reserve, hold_text, form.signature.data or ""
    ):
        upload_form.file.errors = [_("The preview has expired. Upload the file again.")]
        return _preview_page(event, upload_form, None, None)
    try:
        found = csvfile.parse(text)
    except DomainError as error:
        upload_form.file.errors = [error.message]
        return _preview_page(event, upload_form, None, None)
    try:
        hold = datetime.fromisoformat(hold_text) if reserve and hold_text else None
        created = services.invite_many(event, found.numbered(), hold, actor=current_actor())
    except services.BatchRefused as error:
        db.session.rollback()
        found.mark(error.problems)
        upload_form.file.errors = [error.message]
        return _preview_page(event, upload_form, found, None)
    except (DomainError, ValueError) as error:
        db.session.rollback()
        upload_form.file.errors = [getattr(error, "message", _("Upload the file again."))]
        return _preview_page(event, upload_form, None, None)
    db.session.commit()
    flash(
        ngettext(
            "%(num)d invitation is on its way.",
            "%(num)d invitations are on their way.",
            len(created),
        ),
        "success",
    )
    return redirect(url_for(".index", event_id=event.id), code=303)


def _invitation(event: Event, invitation_id: int) -> Invitation:
    return db.first_or_404(
        db.select(Invitation).where(Invitation.id == invitation_id, Invitation.event_id == event.id)
    )


@bp.post("/events/<int:event_id>/invitations/<int:invitation_id>/resend")
def resend(event_id: int, invitation_id: int) -> Response:
    """Email the invitation again with a new link (the earlier ones keep working)."""
    event = event_for(event_id, PERMISSION)
    invitation = _invitation(event, invitation_id)
    if ActionForm().validate_on_submit():
        try:
            services.resend(invitation, actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(
                _("The invitation was sent again to %(email)s.", email=invitation.email), "success"
            )
    return redirect(url_for(".index", event_id=event.id), code=303)


@bp.post("/events/<int:event_id>/invitations/<int:invitation_id>/revoke")
def revoke(event_id: int, invitation_id: int) -> Response:
    """Withdraw an unanswered invitation; its reserved seat goes to the waitlist."""
    event = event_for(event_id, PERMISSION)
    invitation = _invitation(event, invitation_id)
    if ActionForm().validate_on_submit():
        try:
            moved = services.revoke(invitation, actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The invitation is revoked; its link no longer works."), "success")
            if moved:
                flash(moved_up_message(len(moved)), "info")
    return redirect(url_for(".index", event_id=event.id), code=303)
