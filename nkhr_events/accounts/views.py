"""Staff sign-in and sign-out, and the staff home page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from nkhr_events.accounts.forms import SignInForm
from nkhr_events.accounts.models import StaffUser
from nkhr_events.accounts.roles import admin_required, require_staff
from nkhr_events.accounts.services import authenticate
from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import db, limiter, login
from nkhr_events.registrations.services import status_counts_by_event
from nkhr_events.web import safe_next

bp = Blueprint("accounts", __name__)
manage_bp = require_staff(Blueprint("manage", __name__, url_prefix="/manage"))

login.login_view = "accounts.sign_in"
login.login_message = _l("Please sign in to see this page.")
login.login_message_category = "info"
login.session_protection = "strong"


@login.user_loader
def load_user(user_id: str) -> StaffUser | None:
    if not user_id.isdigit():
        return None
    user = db.session.get(StaffUser, int(user_id))
    return user if user is not None and user.active else None


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def sign_in() -> Response | str:
    """Staff sign-in. Wrong address and wrong password get the same answer."""
    if current_user.is_authenticated:
        return redirect(url_for("manage.home"))
    form = SignInForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            db.session.commit()
            login_user(user)
            return redirect(safe_next(form.next.data, url_for("manage.home")), code=303)
        error = _("The email address or password is not correct.")
    return render_template("accounts/sign_in.html", form=form, error=error)


@bp.post("/sign-out")
@login_required
def sign_out() -> Response:
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("events.home"), code=303)


@manage_bp.get("/")
def home() -> str:
    """The staff home: every event, drafts included, newest first."""
    events = db.session.scalars(db.select(Event).order_by(Event.start_date.desc())).all()
    counts = status_counts_by_event([e.id for e in events])
    return render_template(
        "manage/home.html", events=events, counts=counts, today=utcnow().date()
    )


@manage_bp.get("/staff")
@admin_required
def staff_list() -> str:
    """Staff accounts (admins only)."""
    users = db.session.scalars(db.select(StaffUser).order_by(StaffUser.email)).all()
    return render_template("manage/staff.html", users=users)
