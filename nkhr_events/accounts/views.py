"""Staff sign-in and sign-out, password change and reset, staff accounts, the staff home."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
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
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from nkhr_events.accounts import services, sessions, throttle
from nkhr_events.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    NewStaffForm,
    ResetPasswordForm,
    RoleForm,
    SignInForm,
)
from nkhr_events.accounts.models import SessionEnd, StaffRole, StaffUser
from nkhr_events.accounts.roles import admin_required, require_staff
from nkhr_events.audit.services import record
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db, limiter, login
from nkhr_events.outbox.requests import request_mail
from nkhr_events.registrations.services import status_counts_by_event
from nkhr_events.web import current_language, safe_next

bp = Blueprint("accounts", __name__)
manage_bp = require_staff(Blueprint("manage", __name__, url_prefix="/manage"))

login.login_view = "accounts.sign_in"
login.login_message = _l("Please sign in to see this page.")
login.login_message_category = "info"
login.session_protection = "strong"

#: Session key holding the token of the signed-in user's server-side session (sessions.py).
SESSION_TOKEN_KEY = "_staff_session"


class StaffSessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure when NKHR_SECURE_COOKIES says so or the request came
    over HTTPS (behind a proxy, only if the proxy's headers are trusted)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


@bp.record_once
def _use_staff_sessions(state: BlueprintSetupState) -> None:
    state.app.session_interface = StaffSessionInterface()


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
    return found.user


@bp.before_app_request
def _check_the_staff_session() -> None:
    """Load the signed-in user before any view runs: a session marked as seen (every few
    minutes) is committed on its own, and a cookie whose session has ended forgets it."""
    if request.endpoint == "static" or SESSION_TOKEN_KEY not in session:
        return
    if not current_user.is_authenticated:
        _end_session_here()
    elif g.pop("staff_session_seen", False):
        db.session.commit()


def _start_session(user: StaffUser, token: str) -> None:
    session.clear()
    login_user(user)
    session[SESSION_TOKEN_KEY] = token


def _end_session_here() -> None:
    """Forget the session in this browser's cookie (its row is ended, or ends with the
    caller's commit)."""
    logout_user()
    session.pop(SESSION_TOKEN_KEY, None)


def _typed_email() -> str:
    email = request.form.get("email", "").strip().lower()[:254]
    return f"email:{email}" if email else get_remote_address()


def _put_error(form: FlaskForm, error: DomainError) -> None:
    field = getattr(form, error.field or "", None)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


# --- signing in and out -------------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def sign_in() -> Response | str:
    """Staff sign-in. Wrong address and wrong password get the same answer; so does a client
    that must wait before it tries an address again, known or not."""
    if current_user.is_authenticated:
        return redirect(url_for("manage.home"))
    form = SignInForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        try:
            user = services.sign_in(
                form.email.data or "", form.password.data or "", request.remote_addr or ""
            )
        except DomainError as refused:
            db.session.commit()  # keep the failure on the trail: the throttle counts it
            error = refused.message
        else:
            token = sessions.start_session(user)
            db.session.commit()
            _start_session(user, token)
            return redirect(safe_next(form.next.data, url_for("manage.home")), code=303)
    return render_template("accounts/sign_in.html", form=form, error=error)


@bp.post("/sign-out")
@login_required
def sign_out() -> Response:
    sessions.end_session(session.get(SESSION_TOKEN_KEY, ""), SessionEnd.SIGN_OUT)
    record("auth.sign_out", object_type="staff_user", object_id=current_user.id)
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
    """Choose a new password through an emailed link (single use, expiring)."""
    if services.user_for_reset_token(token) is None:
        # A link that opens nothing answers like any unknown address.
        return render_template("accounts/reset_invalid.html"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data or "")
            # Whoever was signed in here (the same person or not) signs in again too.
            sessions.end_session(session.get(SESSION_TOKEN_KEY, ""), SessionEnd.SIGN_OUT)
        except DomainError as error:
            db.session.rollback()
            _put_error(form, error)
        else:
            db.session.commit()
            _end_session_here()
            flash(_("Your new password is set. Sign in with it."), "success")
            return redirect(url_for(".sign_in"), code=303)
    return render_template("accounts/reset_password.html", form=form)


# --- the signed-in user -------------------------------------------------------------------------


@manage_bp.route("/password", methods=["GET", "POST"])
def password() -> Response | str:
    """Change one's own password; other sessions of the same user end, this one goes on."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = db.session.get(StaffUser, current_user.id)
        try:
            services.change_password(
                user, form.current_password.data or "", form.new_password.data or "",
                session.get(SESSION_TOKEN_KEY, ""),
            )
        except DomainError as error:
            db.session.rollback()
            _put_error(form, error)
        else:
            db.session.commit()
            flash(_("Your password is changed."), "success")
            return redirect(url_for(".home"), code=303)
    return render_template("accounts/password.html", form=form)


@manage_bp.get("/")
def home() -> str:
    """The staff home: every event, drafts included, newest first."""
    events = db.session.scalars(db.select(Event).order_by(Event.start_date.desc())).all()
    counts = status_counts_by_event([e.id for e in events])
    return render_template(
        "manage/home.html", events=events, counts=counts, today=utcnow().date()
    )


# --- staff accounts (admins) --------------------------------------------------------------------


@manage_bp.get("/staff")
@admin_required
def staff_list() -> str:
    """Staff accounts (admins only)."""
    users = db.session.scalars(db.select(StaffUser).order_by(StaffUser.email)).all()
    return render_template("manage/staff.html", users=users)


@manage_bp.route("/staff/new", methods=["GET", "POST"])
@admin_required
def staff_new() -> Response | str:
    """Create an account with an initial password or an emailed set-password link."""
    form = NewStaffForm()
    if form.validate_on_submit():
        data = services.NewStaff(
            email=form.email.data or "",
            name=form.name.data or "",
            role=StaffRole(form.role.data),
            password=form.password.data or "",
        )
        try:
            user = services.add_staff_account(data, current_language())
        except DomainError as error:
            db.session.rollback()
            _put_error(form, error)
        else:
            db.session.commit()
            if data.password:
                flash(_("The account %(email)s is created.", email=user.email), "success")
            else:
                flash(_("The account %(email)s is created and a link to choose a password is "
                        "on its way.", email=user.email), "success")
            return redirect(url_for(".staff_account", user_id=user.id), code=303)
    return render_template("manage/staff_new.html", form=form)


@manage_bp.get("/staff/<int:user_id>")
@admin_required
def staff_account(user_id: int) -> str:
    """One account: its role, whether it is active, its sessions and failed sign-ins."""
    user = db.get_or_404(StaffUser, user_id)
    now = utcnow()
    return render_template(
        "manage/staff_account.html", user=user, role_form=RoleForm(role=user.role),
        failures=throttle.recent_failures(user.email, now),
        live_sessions=sessions.live_session_count(user, now), roles=StaffRole,
    )


def _staff_change(user_id: int, change: Any, message: str) -> Response:
    user = db.get_or_404(StaffUser, user_id)
    acting = db.session.get(StaffUser, current_user.id)
    try:
        change(user, acting)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for(".staff_account", user_id=user_id), code=303)


@manage_bp.post("/staff/<int:user_id>/role")
@admin_required
def staff_role(user_id: int) -> Response:
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    role = StaffRole(form.role.data)
    return _staff_change(
        user_id,
        lambda user, acting: services.change_role(user, role, acting),
        _("The role is saved."),
    )


@manage_bp.post("/staff/<int:user_id>/active")
@admin_required
def staff_active(user_id: int) -> Response:
    active = request.form.get("active")
    if active not in {"0", "1"}:
        abort(400)
    return _staff_change(
        user_id,
        lambda user, acting: services.set_active(user, active == "1", acting),
        _("The account is active again.") if active == "1"
        else _("The account is deactivated; its sessions have ended."),
    )
