"""Staff sign-in and sign-out, forgotten passwords and their reset, and the server-side session
behind the cookie. The signed-in pages of accounts are in manage.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from flask import (
    Blueprint,
    Flask,
    flash,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from nkhr_events.accounts import services, sessions, team_services, twofactor
from nkhr_events.accounts.forms import (
    ForgotPasswordForm,
    ResetPasswordForm,
    SignInForm,
)
from nkhr_events.accounts.models import SessionEnd, StaffSession, StaffUser
from nkhr_events.audit.services import record
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db, limiter, login
from nkhr_events.outbox.requests import request_mail
from nkhr_events.registrations.categories import CATEGORY_LABELS
from nkhr_events.validators import show_error
from nkhr_events.web import client_address, current_actor, current_language, safe_next

bp = Blueprint("accounts", __name__)

login.login_view = "accounts.sign_in"
login.login_message = _l("Please sign in to see this page.")
login.login_message_category = "info"
# Not tied to the client's address and browser string: a door phone moving from Wi-Fi to
# mobile data stays signed in. A copied cookie is limited by rotation instead (sessions.py).
login.session_protection = None

#: Session key holding the token of the signed-in user's server-side session (sessions.py).
SESSION_TOKEN_KEY = "_staff_session"
#: Session key holding when that token was handed out (seconds since 1970; absent for the
#: sign-in's own token), for its rotation.
SESSION_ISSUED_KEY = "_staff_session_at"


class StaffSessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure when NKHR_SECURE_COOKIES says so or the request came
    over HTTPS (behind a proxy, only if the proxy's headers are trusted)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


@bp.record_once
def _use_staff_sessions(state: BlueprintSetupState) -> None:
    # Blueprints are registered on a Flask app (the setup state types it as the sansio App).
    cast(Flask, state.app).session_interface = StaffSessionInterface()
    sessions.check_settings(state.app.config)


@login.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """The signed-in user, while the server-side session named in the cookie is live."""
    token = session.get(SESSION_TOKEN_KEY)
    if not user_id.isdigit() or not isinstance(token, str):
        return None
    found = sessions.live_session(token, int(user_id))
    if found is None:
        return None
    g.staff_session_seen = sessions.mark_seen(found)
    g.staff_session = found
    return found.user


@bp.before_app_request
def _check_the_staff_session() -> None:
    """Load the signed-in user before any view runs: a session marked as seen (every minute
    or so) or given a new token is committed on its own, and a cookie whose session has ended
    forgets it."""
    if request.endpoint == "static" or SESSION_TOKEN_KEY not in session:
        return
    token = session.get(SESSION_TOKEN_KEY)
    if not current_user.is_authenticated:
        # A token replaced by rotation is left alone: it belongs to a request that raced the
        # one replacing it, whose answer brings this browser the new token.
        if not isinstance(token, str) or sessions.known_token(token):
            _end_session_here()
        return
    changed = g.pop("staff_session_seen", False)
    found = g.pop("staff_session", None)
    if found is not None and isinstance(token, str):
        changed = _rotate_token(found, token) or changed
    if changed:
        db.session.commit()


def _rotate_token(found: StaffSession, token: str) -> bool:
    """Give the browser a new token when its own has served ROTATE_INTERVAL; True when the
    row changed (the caller commits)."""
    now = utcnow()
    issued = session.get(SESSION_ISSUED_KEY)
    issued_at = datetime.fromtimestamp(issued, UTC) if isinstance(issued, int) else None
    if not sessions.rotation_due(found, issued_at, now):
        return False
    fresh = sessions.rotate(found, token)
    if fresh is None:
        return False
    session[SESSION_TOKEN_KEY] = fresh
    session[SESSION_ISSUED_KEY] = int(now.timestamp())
    return True


def _start_session(user: StaffUser, token: str) -> None:
    session.clear()
    login_user(user)
    session[SESSION_TOKEN_KEY] = token


def _end_session_here() -> None:
    """Forget the session in this browser's cookie (its row is ended, or ends with the
    caller's commit)."""
    logout_user()
    session.pop(SESSION_TOKEN_KEY, None)
    session.pop(SESSION_ISSUED_KEY, None)


def _typed_email() -> str:
    email = request.form.get("email", "").strip().lower()[:254]
    return f"email:{email}" if email else get_remote_address()


# --- signing in and out -------------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def sign_in() -> Response | str:
    """Staff sign-in. Wrong address and wrong password get the same answer; so does a client
    that must wait before it tries an address again, known or not."""
    if current_user.is_authenticated:
        return redirect(url_for("events_manage.home"))
    form = SignInForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        try:
            user = services.sign_in(
                form.email.data or "", form.password.data or "", client_address()
            )
        except DomainError as refused:
            db.session.commit()  # keep the failure on the trail: the throttle counts it
            error = refused.message
        else:
            next_url = safe_next(form.next.data, url_for("events_manage.home"))
            if twofactor.second_step_needed(user):
                db.session.commit()
                return twofactor_views.begin_second_step(user, next_url)
            token = sessions.start_session(user)
            db.session.commit()
            _start_session(user, token)
            return redirect(next_url, code=303)
    return render_template("accounts/sign_in.html", form=form, error=error)


@bp.post("/sign-out")
@login_required
def sign_out() -> Response:
    sessions.end_session(session.get(SESSION_TOKEN_KEY, ""), SessionEnd.SIGN_OUT)
    record("auth.sign_out", object_type="staff_user", object_id=current_user.id,
           actor=current_actor())
    db.session.commit()
    _end_session_here()
    flash(_("You are signed out."), "info")
    return redirect(url_for("events.home"), code=303)


# --- forgotten passwords ------------------------------------------------------------------------


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("5 per minute; 30 per hour", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_typed_email)
def forgot_password() -> Response | str:
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # Looked up by the outbox worker, so the answer costs the same for any address.
        request_mail(services.PASSWORD_RESET_REQUEST, form.email.data or "", current_language())
        db.session.commit()
        return redirect(url_for(".forgot_password_sent"), code=303)
    return render_template("accounts/forgot_password.html", form=form)


@bp.get("/forgot-password/sent")
def forgot_password_sent() -> str:
    return render_template("accounts/forgot_password_sent.html")


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    """Choose a new password through an emailed link (single use, expiring). Someone who has
    never signed in (an invitation, or a reset asked for before their first sign-in) is welcomed
    instead: their address, their events and roles, and the authenticator app their role needs."""
    user = services.user_for_reset_token(token)
    if user is None:
        # A link that opens nothing answers like any unknown address.
        return render_template("accounts/reset_invalid.html"), 404
    welcome = user.last_sign_in_at is None
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data or "", actor=current_actor())
            # Whoever was signed in here (the same person or not) signs in again too.
            sessions.end_session(session.get(SESSION_TOKEN_KEY, ""), SessionEnd.SIGN_OUT)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            _end_session_here()
            flash(_("Your password is set. Sign in with it.") if welcome
                  else _("Your new password is set. Sign in with it."), "success")
            return redirect(url_for(".sign_in"), code=303)
    if not welcome:
        return render_template("accounts/reset_password.html", form=form, welcome=False)
    return render_template(
        "accounts/reset_password.html", form=form, welcome=True, user=user,
        memberships=team_services.memberships_of(user),
        two_factor_next=twofactor.required(user) and not twofactor.enrolled(user),
        category_labels=CATEGORY_LABELS,
    )


# The second step of sign-in, by code or passkey (routes on `bp`; imported last, as they import
# this module).
from nkhr_events.accounts import passkey_views, twofactor_views  # noqa: E402, F401
