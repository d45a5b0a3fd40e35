"""The second step of staff sign-in made with a passkey (JSON for the page's script). The code
form on the same page is the way in without JavaScript, and stays there."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from nkhr_events.accounts import passkeys, services, sessions, twofactor
from nkhr_events.accounts.models import StaffUser
from nkhr_events.accounts.twofactor_views import _next_url, _pending_user
from nkhr_events.accounts.views import _start_session, bp
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db, limiter
from nkhr_events.web import client_address


def _refused(message: str, status: int = 400) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _signing_in() -> StaffUser | None:
    """The person whose password was just accepted and who has codes (so may have passkeys)."""
    user = None if current_user.is_authenticated else _pending_user()
    return user if user is not None and twofactor.enrolled(user) else None


def _answer() -> Any:
    body = request.get_json(silent=True)
    return body.get("credential") if isinstance(body, dict) else None


@bp.post("/sign-in/passkey/options")
@limiter.limit("10 per minute; 50 per hour")
def passkey_sign_in_options() -> Response:
    """A challenge for one of the passkeys of the person whose password was just accepted."""
    user = _signing_in()
    if user is None:
        return _refused(_("The time for this step has run out. Sign in again."), 409)
    try:
        options = passkeys.authentication_options(user)
    except DomainError as refused:
        return _refused(refused.message)
    return Response(options, mimetype="application/json")


@bp.post("/sign-in/passkey")
@limiter.limit("10 per minute; 50 per hour")
def passkey_sign_in() -> Response:
    """Check the device's answer; on success the staff session starts, as after a code."""
    user = _signing_in()
    if user is None:
        return _refused(_("The time for this step has run out. Sign in again."), 409)
    try:
        services.sign_in_with_passkey(user, _answer(), client_address())
    except DomainError as refused:
        db.session.commit()  # the failure stays on the trail, where the throttle counts it
        return _refused(refused.message)
    next_url = _next_url()
    token = sessions.start_session(user)
    db.session.commit()
    _start_session(user, token)
    return jsonify({"redirect": next_url})
