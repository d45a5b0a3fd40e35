"""The attendee's visa letter pages, under their private link: ask for a letter, withdraw the
request, download the letter once approved (documents/visa.py holds the rules)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from nkhr_events.documents import services as documents
from nkhr_events.documents import visa
from nkhr_events.documents.models import IssuedDocument
from nkhr_events.documents.visa_forms import VisaRequestForm
from nkhr_events.documents.visa_models import VisaLetterRequest, VisaStatus
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db, limiter
from nkhr_events.invitations.forms import ActionForm
from nkhr_events.registrations import links
from nkhr_events.registrations.models import Registration
from nkhr_events.validators import show_error
from nkhr_events.web import attendee_actor

bp = Blueprint("visa", __name__)


def _registration_or_404(token: str) -> Registration:
    registration = links.registration_for_token(token)
    if registration is None:
        abort(404)
    return registration


@bp.app_template_global()
def visa_letter_offered(registration: Registration) -> bool:
    """Whether the private link's page offers the visa letter section: to an attendee who may
    ask for a letter, or who has asked for one."""
    return visa.may_request(registration) or bool(visa.requests_of(registration))


@bp.route("/registration/<token>/visa-letter", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def letter(token: str) -> Response | str:
    """The request form, or the request's state, with the letter to download once issued."""
    registration = _registration_or_404(token)
    requests = visa.requests_of(registration)
    current = next((r for r in requests if r.is_open), None)
    form = VisaRequestForm()
    if current is None and form.validate_on_submit():
        try:
            visa.request_letter(registration, form.data_input(), actor=attendee_actor())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Your request is sent. We email you when the organizers have decided."),
                  "success")
            return redirect(url_for(".letter", token=token), code=303)
    response = make_response(render_template(
        "documents/visa_letter.html",
        registration=registration,
        event=registration.event,
        token=token,
        form=form,
        current=current,
        last=requests[0] if requests else None,
        may_request=visa.may_request(registration),
        statuses=VisaStatus,
        masked=visa.masked_passport_number,
        purge_days=visa.purge_days(),
    ))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/registration/<token>/visa-letter/withdraw")
@limiter.limit("30 per minute")
def withdraw(token: str) -> Response:
    """Withdraw a request not yet decided; its passport data is deleted at once."""
    registration = _registration_or_404(token)
    current = visa.open_request(registration)
    if current is not None and ActionForm().validate_on_submit():
        try:
            visa.withdraw(current, actor=attendee_actor())
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Your request is withdrawn and its passport data deleted."), "success")
    return redirect(url_for(".letter", token=token), code=303)


@bp.get("/registration/<token>/visa-letter/<language>.pdf")
def download(token: str, language: str) -> Response:
    """The letter in one of its languages, made now from the request and the settings."""
    registration = _registration_or_404(token)
    current = visa.open_request(registration)
    if current is None or current.status != VisaStatus.APPROVED or current.purged_at:
        abort(404)
    document = _document(current, language)
    if document is None or document.is_revoked:
        abort(404)
    try:
        code = documents.document_code(document)
    except documents.CodeUnavailable:
        flash(_("This letter can no longer be downloaded. Please write to the organizers."),
              "error")
        return redirect(url_for(".letter", token=token), code=303)
    pdf = visa.letter_pdf(current, language, document.reference,
                          documents.verification_url(document.reference, code),
                          document.issued_at.astimezone(current.event.zone).date())
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="visa-letter-{document.reference}-{language}.pdf"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _document(visa_request: VisaLetterRequest, language: str) -> IssuedDocument | None:
    for document_id in (visa_request.document_id, visa_request.translation_document_id):
        document = db.session.get(IssuedDocument, document_id) if document_id else None
        if document is not None and document.language == language:
            return document
    return None
