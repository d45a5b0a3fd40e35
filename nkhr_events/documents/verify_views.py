"""The public verification page: a reader types (or scans) a document's reference and code and
sees what the document states and whether it is valid or revoked.

A wrong reference and a wrong code get the same answer (status, page and the same work), so
the page tells nothing about which references exist. Lookups are rate-limited per client,
both addresses counting together; a blank form costs nothing. A successful lookup is recorded
without the reader's address or anything the document states.
"""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, render_template, request
from werkzeug.wrappers import Response

from nkhr_events.audit.services import Actor, record
from nkhr_events.documents import forms, services
from nkhr_events.documents.models import IssuedDocument
from nkhr_events.extensions import db, limiter

bp = Blueprint("verify", __name__)

DEFAULT_LIMIT = "10 per minute;60 per hour"
#: Who a successful lookup is recorded as (never the reader's address).
VERIFIER = Actor("verification page")


def _limit() -> str:
    return str(current_app.config.get("NKHR_VERIFY_LIMIT", DEFAULT_LIMIT))


def _blank_form() -> bool:
    return request.endpoint == "verify.verify" and not (
        request.args.get("reference") or request.args.get("code")
    )


_verify_limit = limiter.shared_limit(_limit, scope="document-verification", exempt_when=_blank_form)


def _answer(form: forms.VerifyForm, document: IssuedDocument | None, looked: bool) -> Response:
    if document is not None:
        record(
            "documents.verified",
            actor=VERIFIER,
            object_type="issued_document",
            object_id=document.id,
            event_id=document.event_id,
        )
        db.session.commit()
    page = render_template("documents/verify.html", form=form, document=document, looked=looked)
    response = make_response(page, 404 if looked and document is None else 200)
    response.headers["Cache-Control"] = "no-store"
    # The address holds the code: no other site learns it from a link followed from here.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/verify")
@_verify_limit
def verify() -> Response:
    """The form (GET, so the page needs no session); with both fields, the answer."""
    if not (request.args.get("reference") or request.args.get("code")):
        return _answer(forms.VerifyForm(formdata=None), None, False)
    form = forms.VerifyForm(formdata=request.args)
    if not form.validate():
        return _answer(form, None, False)
    document = services.find_for_verification(form.reference.data, form.code.data)
    return _answer(form, document, True)


@bp.get("/verify/<reference>/<code>")
@_verify_limit
def verify_link(reference: str, code: str) -> Response:
    """The address printed on the document and in its QR code."""
    reference, code = reference[: services.REFERENCE_MAX * 2], code[: services.CODE_MAX * 2]
    form = forms.VerifyForm(formdata=None, data={"reference": reference, "code": code})
    document = services.find_for_verification(reference, code)
    return _answer(form, document, True)
