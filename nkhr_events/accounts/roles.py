"""Access rules for staff pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from nkhr_events.extensions import login

F = TypeVar("F", bound=Callable[..., Any])


def require_staff(bp: Blueprint) -> Blueprint:
    """Every view of `bp` needs a signed-in, active staff user (anonymous visitors sign in)."""

    @bp.before_request
    def _signed_in() -> Any:
        if not current_user.is_authenticated:
            if request.is_json:  # a page's script: say so, rather than send the sign-in page
                return jsonify(error=_("You are signed out. Sign in again; what is not sent "
                                       "is kept."), reason="signed_out"), 401
            return login.unauthorized()
        return None

    return bp


def admin_required(view: F) -> F:
    """Refuse (403) anyone but an admin; use inside a `require_staff` blueprint."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login.unauthorized()
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
