"""The attendee's certificate of attendance, downloaded from their private registration page.

The first download issues the certificate (documents/certificates.py); every later one
renders the same document again. Rendering costs a fraction of a second of CPU, so downloads
are rate-limited per client.
"""

from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from nkhr_events.documents import certificates
from nkhr_events.documents.services import CodeUnavailable
from nkhr_events.extensions import db, limiter
from nkhr_events.registrations import links
from nkhr_events.registrations.models import Registration
from nkhr_events.web import attendee_actor

bp = Blueprint("certificates", __name__)


@bp.app_template_global("certificate_offered")
def certificate_offered(registration: Registration) -> bool:
    """Whether the registration page offers the certificate download."""
    return certificates.offered(registration)


def pdf_response(data: bytes, filename: str) -> Response:
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def refusal(text: str, code: int = 409) -> tuple[str, int]:
    """The page saying why there is no certificate (409: the registration exists, but its
    state allows none, e.g. before the event)."""
    page = render_template(
        "errors/error.html", code=code, title=_("No certificate of attendance"), text=text
    )
    return page, code


@bp.get("/registration/<token>/certificate.pdf")
@limiter.limit("20 per minute")
def download(token: str) -> Response | tuple[str, int]:
    registration = links.registration_for_token(token)
    if registration is None:
        abort(404)
    try:
        document = certificates.certificate_for(registration, actor=attendee_actor())
        db.session.commit()
        data = certificates.render(document)
    except certificates.CertificateUnavailable as error:
        db.session.rollback()
        return refusal(error.message)
    except CodeUnavailable:
        return refusal(_("This certificate cannot be made again. Please write to the organizers."))
    return pdf_response(data, certificates.filename(document))
