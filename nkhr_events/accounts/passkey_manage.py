"""One's own passkeys on the two-factor page: add one (after a current code; JSON for the
page's script, which only a browser with passkeys shows) and remove one (a plain form)."""

from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from nkhr_events.accounts import passkeys
from nkhr_events.accounts.manage import bp
from nkhr_events.accounts.models import StaffUser
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db, limiter
from nkhr_events.web import current_actor


def _refused(message: str, field: str | None = None) -> Response:
    response = jsonify({"error": message, "field": field})
    response.status_code = 400
    return response


def _body() -> dict[str, object]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.post("/two-factor/passkeys/options")
@limiter.limit("10 per minute; 50 per hour")
def passkey_add_options() -> Response:
    """After a current one-time code: the options the browser needs to make a passkey."""
    user = db.session.get_one(StaffUser, current_user.id)
    try:
        options = passkeys.registration_options(
            user, str(_body().get("code") or "")[:40], actor=current_actor())
    except DomainError as refused:
        db.session.commit()  # a wrong code stays on the trail
        return _refused(refused.message, refused.field)
    db.session.commit()  # the code's step is used
    return Response(options, mimetype="application/json")


@bp.post("/two-factor/passkeys")
@limiter.limit("10 per minute; 50 per hour")
def passkey_add() -> Response:
    """Keep the passkey the browser made, if it verifies."""
    user = db.session.get_one(StaffUser, current_user.id)
    body = _body()
    try:
        key = passkeys.add_passkey(user, body.get("credential"), str(body.get("name") or ""),
                                   actor=current_actor())
    except DomainError as refused:
        db.session.commit()  # the failure stays on the trail
        return _refused(refused.message)
    db.session.commit()
    flash(_("Passkey “%(name)s” added. You can sign in with it or with a code.",
            name=key.name), "success")
    return jsonify({"redirect": url_for(".two_factor")})


@bp.post("/two-factor/passkeys/<int:passkey_id>/remove")
def passkey_remove(passkey_id: int) -> Response:
    """Remove one of one's own passkeys (codes keep working)."""
    user = db.session.get_one(StaffUser, current_user.id)
    if passkeys.remove_passkey(user, passkey_id, actor=current_actor()):
        db.session.commit()
        flash(_("The passkey is removed."), "success")
    else:
        flash(_("No such passkey on your account."), "error")
    return redirect(url_for(".two_factor"), code=303)
