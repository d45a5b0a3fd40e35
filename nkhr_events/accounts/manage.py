"""Staff pages of accounts: changing one's own password, one's own sessions, and the staff
accounts (admins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from nkhr_events.accounts import services, sessions, team_services, throttle, twofactor
from nkhr_events.accounts.forms import ChangePasswordForm, NewStaffForm, RoleForm
from nkhr_events.accounts.models import SessionEnd, StaffUser
from nkhr_events.accounts.roles import admin_required, require_staff
from nkhr_events.accounts.views import SESSION_TOKEN_KEY
from nkhr_events.audit.services import record
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.registrations.categories import CATEGORY_LABELS
from nkhr_events.tokens import token_hash
from nkhr_events.validators import known_language, show_error
from nkhr_events.web import Confirmation, confirmed, current_actor, current_language

bp = require_staff(Blueprint("accounts_manage", __name__, url_prefix="/manage"))


# --- the signed-in user -------------------------------------------------------------------------


@bp.route("/password", methods=["GET", "POST"])
def password() -> Response | str:
    """Change one's own password; other sessions of the same user end, this one goes on."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = db.session.get_one(StaffUser, current_user.id)  # signed in: the row exists
        try:
            services.change_password(
                user, form.current_password.data or "", form.new_password.data or "",
                session.get(SESSION_TOKEN_KEY, ""), actor=current_actor(),
            )
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Your password is changed."), "success")
            return redirect(url_for("events_manage.home"), code=303)
    return render_template("accounts/password.html", form=form)


@bp.get("/sessions")
def my_sessions() -> str:
    """One's own live sessions, this browser's marked, each with a button that ends it."""
    user = db.session.get_one(StaffUser, current_user.id)
    here = token_hash(session.get(SESSION_TOKEN_KEY, ""))
    return render_template("accounts/sessions.html", here=here,
                           live=sessions.live_sessions(user, utcnow()))


@bp.post("/sessions/<int:session_id>/end")
def end_my_session(session_id: int) -> Response:
    """End one of one's own sessions (this browser's too: that signs it out)."""
    user = db.session.get_one(StaffUser, current_user.id)
    here = session.get(SESSION_TOKEN_KEY, "")
    ended_here = any(s.id == session_id and s.token_hash == token_hash(here)
                     for s in sessions.live_sessions(user))
    if not sessions.end_session_of(user, session_id, SessionEnd.SIGN_OUT):
        abort(404)  # not theirs, or over already
    record("auth.session_end", object_type="staff_user", object_id=user.id,
           actor=current_actor(), detail={"session": session_id})
    db.session.commit()
    if ended_here:
        flash(_("You are signed out."), "info")
        return redirect(url_for("accounts.sign_in"), code=303)
    flash(_("The session is ended."), "success")
    return redirect(url_for(".my_sessions"), code=303)


@bp.post("/sessions/end-others")
def end_my_other_sessions() -> Response:
    """End every session of one's own but this browser's."""
    user = db.session.get_one(StaffUser, current_user.id)
    here = session.get(SESSION_TOKEN_KEY, "")
    ended = sessions.end_sessions(user, SessionEnd.SIGN_OUT, keep=here)
    record("auth.session_end_others", object_type="staff_user", object_id=user.id,
           actor=current_actor(), detail={"ended": ended})
    db.session.commit()
    flash(ngettext("%(num)d other session is ended.", "%(num)d other sessions are ended.",
                   ended), "success")
    return redirect(url_for(".my_sessions"), code=303)


# --- staff accounts (admins) --------------------------------------------------------------------


@bp.get("/staff")
@admin_required
def staff_list() -> str:
    """Staff accounts (admins only)."""
    users = db.session.scalars(db.select(StaffUser).order_by(StaffUser.email)).all()
    return render_template(
        "accounts/staff.html", users=users,
        kinds={user.id: services.account_kind(user) for user in users},
        teams=team_services.memberships_by_user(),
        # "on"; "due": their role needs it and they set it up at their next sign-in; or "off".
        two_factor={
            user.id: "on" if twofactor.enrolled(user)
            else "due" if twofactor.required(user) else "off"
            for user in users
        },
    )


@bp.route("/staff/new", methods=["GET", "POST"])
@admin_required
def staff_new() -> Response | str:
    """Create an account; the person is emailed a link to choose their own password."""
    form = NewStaffForm(language=current_language())
    if form.validate_on_submit():
        data = services.NewStaff(
            email=form.email.data or "",
            name=form.name.data or "",
            role=services.AccountKind(form.role.data),
        )
        try:
            user = services.add_staff_account(
                data, known_language(form.language.data), actor=current_actor()
            )
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("The account %(email)s is created and a link to choose a password is "
                    "on its way.", email=user.email), "success")
            return redirect(url_for(".staff_account", user_id=user.id), code=303)
    return render_template("accounts/staff_new.html", form=form)


@bp.get("/staff/<int:user_id>")
@admin_required
def staff_account(user_id: int) -> str:
    """One account: its role, whether it is active, its sessions and failed sign-ins."""
    user = db.get_or_404(StaffUser, user_id)
    now = utcnow()
    return render_template(
        "accounts/staff_account.html", user=user,
        memberships=team_services.memberships_of(user), category_labels=CATEGORY_LABELS,
        role_form=RoleForm(role=services.account_kind(user)),
        failures=throttle.recent_failures(user.email, now),
        live_sessions=sessions.live_session_count(user, now), roles=services.AccountKind,
        kind=services.account_kind(user),
    )


def _staff_change(user_id: int, change: Any, message: str) -> Response:
    user = db.get_or_404(StaffUser, user_id)
    try:
        change(user, current_actor())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for(".staff_account", user_id=user_id), code=303)


@bp.post("/staff/<int:user_id>/role")
@admin_required
def staff_role(user_id: int) -> Response:
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    role = services.AccountKind(form.role.data)
    return _staff_change(
        user_id,
        lambda user, actor: services.change_role(user, role, actor=actor),
        _("The role is saved."),
    )


def _deactivation_confirmation(user: StaffUser) -> str:
    now = utcnow()
    teams = len(team_services.memberships_of(user))
    lines = [
        ngettext("%(num)d signed-in session ends at once.",
                 "%(num)d signed-in sessions end at once.",
                 sessions.live_session_count(user, now)),
        _("%(name)s can no longer sign in until an admin reactivates the account.",
          name=user.name or user.email),
        ngettext("Their place on %(num)d event team is kept and works again on reactivation.",
                 "Their places on %(num)d event teams are kept and work again on reactivation.",
                 teams),
        _("Their entries in the audit trail stay."),
    ]
    return Confirmation(
        _("Deactivate %(name)s?", name=user.name or user.email), lines, _("Deactivate"),
        [("active", "0")], back_url=url_for(".staff_account", user_id=user.id),
        back_label=user.name or user.email,
    ).render()


@bp.post("/staff/<int:user_id>/active")
@admin_required
def staff_active(user_id: int) -> Response | str:
    active = request.form.get("active")
    if active not in {"0", "1"}:
        abort(400)
    if active == "0" and user_id != current_user.id and not confirmed():
        return _deactivation_confirmation(db.get_or_404(StaffUser, user_id))
    return _staff_change(
        user_id,
        lambda user, actor: services.set_active(user, active == "1", actor=actor),
        _("The account is active again.") if active == "1"
        else _("The account is deactivated; its sessions have ended."),
    )


# The two-factor pages (their routes are on `bp`; imported last, as they import this module).
from nkhr_events.accounts import passkey_manage, twofactor_manage  # noqa: E402, F401
