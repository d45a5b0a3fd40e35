"""The attendee's side of check-in: the QR code image on their private manage page."""

from __future__ import annotations

from flask import Blueprint, abort, make_response
from werkzeug.wrappers import Response

from nkhr_events.checkin import services as checkin
from nkhr_events.extensions import db
from nkhr_events.registrations import links
from nkhr_events.registrations.models import RegistrationStatus

bp = Blueprint("checkin", __name__)


@bp.get("/registration/<token>/checkin.svg")
def qr_svg(token: str) -> Response:
    """The check-in QR code of a confirmed registration, drawn by this server (no third party)."""
    registration = links.registration_for_token(token)
    if registration is None or registration.status != RegistrationStatus.CONFIRMED:
        abort(404)
    image = checkin.qr_svg(registration)
    db.session.commit()  # the check-in salt, if this was its first use
    response = make_response(image)
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Content-Disposition"] = 'inline; filename="checkin.svg"'
    response.headers["Cache-Control"] = "no-store"
    # Opened on its own, the image may run nothing and load nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response
