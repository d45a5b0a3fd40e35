"""The second step of staff sign-in: a one-time code (or a recovery code), or enrolment first.

After a correct password (views.py) the browser's signed session cookie holds only the user's
id, what to open next, and until when the step may be taken (never the password); the staff
session starts when the step succeeds. Someone who must use two-factor sign-in and has not set
it up enrols right away; a signed-in person in that state (their role changed, or the
requirement came in while they were signed in) reaches nothing but the enrolment page.
"""

from __future__ import annotations

import time
from typing import Any

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from nkhr_events.accounts import passkeys, services, sessions, twofactor
from nkhr_events.accounts.forms import CodeForm
from nkhr_events.accounts.models import StaffUser
from nkhr_events.accounts.views import _start_session, bp
from nkhr_events.audit.services import Actor
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db, limiter
from nkhr_events.web import client_address

#: Session key of a sign-in waiting for its second step.
PENDING_KEY = "_two_factor_pending"
#: How long the code may follow the password; enrolment (installing an app) takes longer.
CODE_STEP_LIFETIME = 5 * 60
ENROL_STEP_LIFETIME = 15 * 60
#: What a signed-in person who must enrol first may still open.
_OPEN_WHILE_ENROLLING = frozenset({
    "static", "accounts.two_factor_enrol", "accounts.sign_out", "accounts.sign_in",
    "accounts.two_factor_code",
})


def begin_second_step(user: StaffUser, next_url: str) -> Response:
    """After a correct password: ask for the code, or for enrolment (the caller commits)."""
    enrol = not twofactor.enrolled(user)
    lifetime = ENROL_STEP_LIFETIME if enrol else CODE_STEP_LIFETIME
    session.clear()
    session[PENDING_KEY] = {"user": user.id, "next": next_url, "enrol": enrol,
                            "until": int(time.time()) + lifetime}
    target = ".two_factor_enrol" if enrol else ".two_factor_code"
    return redirect(url_for(target), code=303)


def _pending() -> dict[str, Any] | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or int(pending.get("until", 0)) < time.time():
        return None
    return pending


def _pending_user() -> StaffUser | None:
    pending = _pending()
    if pending is None:
        return None
    user = db.session.get(StaffUser, int(pending.get("user", 0)))
    return user if user is not None and user.active else None


def _start_over() -> Response:
    session.pop(PENDING_KEY, None)
    flash(_("The time for this step has run out. Sign in again."), "info")
    return redirect(url_for(".sign_in"), code=303)


def _next_url() -> str:
    pending = _pending() or {}
    return str(pending.get("next") or url_for("events_manage.home"))


@bp.before_app_request
def _enrol_first() -> Response | None:
    """A signed-in person who must use a second factor and has none reaches only enrolment."""
    if request.endpoint in _OPEN_WHILE_ENROLLING or not current_user.is_authenticated:
        return None
    user = current_user._get_current_object()
    if twofactor.enrolled(user) or not twofactor.required(user):
        return None
    return redirect(url_for("accounts.two_factor_enrol"), code=303)


@bp.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def two_factor_code() -> Response | str:
    """The code after the password; failures are counted with failed passwords (throttle)."""
    if current_user.is_authenticated:
        return redirect(url_for("events_manage.home"))
    user = _pending_user()
    if user is None or not twofactor.enrolled(user):
        return _start_over()
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        try:
            by = services.sign_in_second_step(user, form.code.data or "", client_address())
        except DomainError as refused:
            db.session.commit()  # the failure stays on the trail, where the throttle counts it
            error = refused.message
        else:
            next_url = _next_url()
            token = sessions.start_session(user)
            db.session.commit()
            _start_session(user, token)
            if by == twofactor.BY_RECOVERY_CODE:
                left = twofactor.unused_recovery_codes(user)
                flash(ngettext("You signed in with a recovery code; %(num)d is left. Make new "
                               "ones on your two-factor page.",
                               "You signed in with a recovery code; %(num)d are left. Make "
                               "new ones on your two-factor page.", left), "info")
            return redirect(next_url, code=303)
    return render_template("accounts/two_factor_code.html", form=form, error=error,
                           passkey=passkeys.has_passkeys(user))


def _enrolling() -> tuple[StaffUser | None, bool]:
    """Who is enrolling: the signed-in person, or the one whose password was just accepted
    (True)."""
    if current_user.is_authenticated:
        return current_user._get_current_object(), False
    pending = _pending()
    if pending is None or not pending.get("enrol"):
        return None, False
    return _pending_user(), True


@bp.route("/sign-in/two-factor", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def two_factor_enrol() -> Response | str:
    """Set up a second factor: scan the QR code (or type the secret), confirm with a first
    code, then see the recovery codes, once. Works without JavaScript."""
    user, pending = _enrolling()
    if user is None:
        return _start_over()
    if twofactor.enrolled(user):
        return redirect(url_for("events_manage.home"))
    secret = twofactor.pending_secret(user)
    db.session.commit()  # the same secret (and QR code) if the page is opened again
    form = CodeForm()
    if form.validate_on_submit():
        client = client_address()
        try:
            codes = twofactor.confirm_enrolment(
                user, form.code.data or "", actor=Actor.staff(user, client))
        except DomainError as refused:
            twofactor.record_enrolment_failure(user, Actor.staff(user, client))
            db.session.commit()
            form.code.errors = [refused.message]
        else:
            next_url = _next_url() if pending else url_for("events_manage.home")
            if pending:
                services.complete_sign_in(user, client, utcnow(), "enrolment")
                token = sessions.start_session(user)
                db.session.commit()
                _start_session(user, token)
            else:
                db.session.commit()
            return render_template("accounts/two_factor_recovery_codes.html", codes=codes,
                                   next_url=next_url, enrolled=True)
    uri = twofactor.provisioning_uri(user, secret)
    return render_template(
        "accounts/two_factor_enrol.html", form=form, qr=twofactor.qr_data_uri(uri),
        secret=twofactor.grouped(secret), required=twofactor.required(user),
    )
