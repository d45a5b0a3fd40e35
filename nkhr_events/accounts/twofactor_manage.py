"""Staff pages of two-factor sign-in: one's own (new recovery codes) and an admin's reset of
someone else's (a lost phone)."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from nkhr_events.accounts import passkeys, twofactor
from nkhr_events.accounts.forms import CodeForm
from nkhr_events.accounts.manage import _staff_change, bp
from nkhr_events.accounts.models import StaffUser
from nkhr_events.accounts.roles import admin_required
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db, limiter
from nkhr_events.web import current_actor


@bp.route("/two-factor", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def two_factor() -> str:
    """One's own second factor: whether it is set up, recovery codes left, new ones for a
    current code (the old ones stop working)."""
    user = db.session.get_one(StaffUser, current_user.id)  # signed in: the row exists
    form = CodeForm()
    if twofactor.enrolled(user) and form.validate_on_submit():
        try:
            codes = twofactor.regenerate_recovery_codes(
                user, form.code.data or "", actor=current_actor())
        except DomainError as refused:
            db.session.rollback()
            form.code.errors = [refused.message]
        else:
            db.session.commit()
            return render_template("accounts/two_factor_recovery_codes.html", codes=codes,
                                   next_url=url_for(".two_factor"), enrolled=False)
    return render_template(
        "accounts/two_factor.html", form=form, user=user, enrolled=twofactor.enrolled(user),
        required=twofactor.required(user), left=twofactor.unused_recovery_codes(user),
        passkeys=passkeys.passkeys_of(user), max_passkeys=passkeys.MAX_PASSKEYS,
    )


@bp.post("/staff/<int:user_id>/two-factor/reset")
@admin_required
def staff_two_factor_reset(user_id: int) -> Response:
    """Turn off someone's second factor; they sign in and enrol again."""
    return _staff_change(
        user_id,
        lambda user, actor: twofactor.reset(user, actor=actor),
        _("Two-factor sign-in is reset and the person's sessions have ended. They set it up "
          "again at their next sign-in."),
    )
