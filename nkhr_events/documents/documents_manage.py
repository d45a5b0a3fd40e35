"""Staff pages of the document engine: an event's issued documents (revoke, email all
certificates, a person's certificate) for its organizers and admins, and the document
settings (letterhead, signatory, signature, visa-letter purge period) for admins.

Every event page here needs `Permission.DOCUMENTS` (admins and the event's organizers);
anyone else gets 404. Every change is audited by the service it calls.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import Permission, event_for, registration_for
from nkhr_events.accounts.roles import admin_required, require_staff
from nkhr_events.documents import certificates, forms, services, settings
from nkhr_events.documents.certificate_views import pdf_response, refusal
from nkhr_events.documents.models import DEFAULT_PURGE_DAYS, IssuedDocument
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration
from nkhr_events.validators import show_error
from nkhr_events.web import current_actor, int_arg

bp = require_staff(Blueprint("documents_manage", __name__, url_prefix="/manage"))
PERMISSION = Permission.DOCUMENTS
PER_PAGE = 100
#: What the signature preview shows while none is set: one transparent pixel.
BLANK_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082"
)


def _document(event_id: int, document_id: int) -> IssuedDocument:
    document = db.session.get(IssuedDocument, document_id)
    if document is None or document.event_id != event_id:
        abort(404)
    return document


@bp.get("/events/<int:event_id>/documents")
def index(event_id: int) -> str:
    event = event_for(event_id, PERMISSION)
    page = db.paginate(
        services.documents_query(event.id),
        page=int_arg("page", 1),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "documents/manage_index.html",
        event=event,
        page=page,
        counts=services.counts(event.id),
        over=certificates.event_is_over(event),
        waiting=certificates.waiting_mailing(event.id),
        mailings=certificates.mailings(event.id),
        form=forms.ActionForm(),
    )


@bp.route("/events/<int:event_id>/documents/<int:document_id>/revoke", methods=["GET", "POST"])
def revoke(event_id: int, document_id: int) -> Response | str:
    event = event_for(event_id, PERMISSION)
    document = _document(event.id, document_id)
    form = forms.RevokeForm()
    if form.validate_on_submit():
        try:
            services.revoke(document, form.reason.data, actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Document %(reference)s is revoked.", reference=document.reference), "success")
            return redirect(url_for(".index", event_id=event.id), code=303)
    return render_template(
        "documents/manage_revoke.html", event=event, document=document, form=form
    )


@bp.post("/events/<int:event_id>/certificates/email")
def email_certificates(event_id: int) -> Response:
    """Queue the one job that emails every certificate (the outbox worker does it)."""
    event = event_for(event_id, PERMISSION)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    try:
        certificates.request_mailing(event, actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The certificates will be emailed in the next minutes."), "success")
    return redirect(url_for(".index", event_id=event.id), code=303)


@bp.get("/events/<int:event_id>/registrations/<int:registration_id>/certificate.pdf")
def certificate(event_id: int, registration_id: int) -> Response | tuple[str, int]:
    """A person's certificate, for those who get it through the staff (protected guests,
    people without an address); after a revocation this issues a new one."""
    event = event_for(event_id, PERMISSION)
    registration = registration_for(registration_id, PERMISSION)
    if registration.event_id != event.id:
        abort(404)
    try:
        document = certificates.certificate_for(registration, actor=current_actor(), reissue=True)
        db.session.commit()
        data = certificates.render(document)
    except DomainError as error:
        db.session.rollback()
        return refusal(error.message)
    return pdf_response(data, certificates.filename(document))


@bp.route("/documents/settings", methods=["GET", "POST"])
@admin_required
def document_settings() -> Response | str:
    current = settings.current_settings()
    form = forms.SettingsForm(obj=current)
    if form.validate_on_submit():
        change = settings.SettingsChange(
            organisation_name=(form.organisation_name.data or "").strip(),
            organisation_address=(form.organisation_address.data or "").strip(),
            signatory_name=(form.signatory_name.data or "").strip(),
            signatory_title=(form.signatory_title.data or "").strip(),
            visa_purge_days=form.visa_purge_days.data or DEFAULT_PURGE_DAYS,
            signature_png=form.new_signature,
            remove_signature=bool(form.remove_signature.data),
        )
        changed = settings.update_settings(change, actor=current_actor())
        db.session.commit()
        flash(
            _("The document settings are saved.") if changed else _("Nothing changed."),
            "success" if changed else "info",
        )
        return redirect(url_for(".document_settings"), code=303)
    return render_template("documents/manage_settings.html", form=form, settings=current)


@bp.get("/documents/settings/signature.png")
@admin_required
def signature_image() -> Response:
    image = settings.current_settings().signature_png or BLANK_PNG
    response = make_response(image)
    response.headers["Content-Type"] = "image/png"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global("certificate_available")
def certificate_available(registration: Registration) -> bool:
    """Whether a person's staff page offers their certificate (one is in force, or one can
    be issued)."""
    return (
        certificates.current_certificate(registration.id) is not None
        or certificates.unavailable_reason(registration) is None
    )
