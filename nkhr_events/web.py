"""Site-wide request handling: language, security headers, error pages, template helpers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, overload
from urllib.parse import urlsplit

from babel import Locale
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    has_request_context,
    redirect,
    render_template,
    request,
)
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from nkhr_events.audit.services import SYSTEM, Actor
from nkhr_events.errors import Busy
from nkhr_events.events.dates import format_days
from nkhr_events.extensions import db, limiter
from nkhr_events.validators import INT_MAX, whole_number

LANGUAGE_COOKIE = "nkhr_lang"

bp = Blueprint("site", __name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def select_locale() -> str:
    """The language the reader chose (cookie), else the best of Accept-Language, else English."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # Command-line tasks (e.g. `flask staff create`) speak the default language.
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` on this site (create_app puts it in place of werkzeug's): ASCII digits
    only, from 1 to the largest PostgreSQL integer, else the rule does not match (404). Every
    id is such an integer; a larger one was a database error on PostgreSQL and an overflow
    on SQLite, and werkzeug's own `\\d+` also matches digits of other scripts."""

    regex = r"[0-9]{1,10}"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = 1,
        max: int | None = INT_MAX,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


@overload
def int_arg(name: str, default: int, minimum: int = 1, maximum: int = INT_MAX) -> int: ...


@overload
def int_arg(
    name: str, default: None = None, minimum: int = 1, maximum: int = INT_MAX
) -> int | None: ...


def int_arg(
    name: str, default: int | None = None, minimum: int = 1, maximum: int = INT_MAX
) -> int | None:
    """The query parameter `name` as a whole number from `minimum` to `maximum`; `default` when
    it is absent, empty, not written in ASCII digits or out of bounds. Every integer read from
    a query string (ids, page numbers) goes through here."""
    value = whole_number(request.args.get(name), minimum, maximum)
    return default if value is None else value


def current_language() -> str:
    return str(get_locale() or "en")


def client_address() -> str:
    """The client's IP address as the audit trail keeps it ("" when the server has none)."""
    return request.remote_addr or ""


def current_actor() -> Actor:
    """Who acts in this request, for the audit trail: the signed-in staff user, else the
    system on this client's behalf."""
    if current_user and current_user.is_authenticated:
        return Actor.staff(current_user, client_address())
    return Actor(SYSTEM.name, None, client_address())


def attendee_actor() -> Actor:
    """An attendee acting through a registration link or form, from this client."""
    return Actor.attendee(client_address())


def partner_actor() -> Actor:
    """A partner acting through their link or form, from this client."""
    return Actor.partner(client_address())


def safe_next(target: str | None, fallback: str = "/") -> str:
    """A path on this site to return to; anything pointing elsewhere becomes `fallback`."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return fallback
    return target


@bp.post("/language")
@limiter.limit("60 per minute")
def set_language() -> Response:
    """Remember the reader's language in a cookie and go back to the page they were on."""
    lang = request.form.get("lang", "")
    response = redirect(safe_next(request.form.get("next")), code=303)
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def localized(obj: Any, field: str) -> str:
    """obj.<field>_ko for Korean readers where it is set, else obj.<field>."""
    if current_language() == "ko":
        value = getattr(obj, f"{field}_ko", None)
        if value:
            return value
    return getattr(obj, field) or ""


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return Locale.parse(current_language()).territories.get(code.upper(), code)


def country_choices() -> list[tuple[str, str]]:
    """ISO 3166 country codes with names in the reader's language, sorted by name."""
    territories = Locale.parse(current_language()).territories
    codes = Locale.parse("en").territories
    return sorted(
        ((code, territories.get(code, name)) for code, name in codes.items()
         if len(code) == 2 and code.isalpha() and code not in {"ZZ", "EU", "EZ", "UN", "QO"}),
        key=lambda item: item[1],
    )


def event_days_text(days: list[date]) -> str:
    return format_days(days, current_language(), _("{days}, {year}"))


def local_datetime(value: datetime | None, zone: str) -> str:
    """A timestamp shown in the event's own time zone, formatted for the reader."""
    if value is None:
        return ""
    from zoneinfo import ZoneInfo

    return format_datetime(value.astimezone(ZoneInfo(zone)).replace(tzinfo=None), "medium") + (
        f" ({zone})"
    )


def permissions_policy(camera: bool = False) -> str:
    """Powerful features are denied; only the check-in pages may use this site's camera (a
    scanner at the door)."""
    return ", ".join(
        ["camera=(self)" if camera else "camera=()", "microphone=()", "geolocation=()",
         "payment=()", "usb=()"]
    )


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", permissions_policy())
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.path.startswith("/manage") or request.path.startswith("/sign-in"):
        headers["Cache-Control"] = "no-store"
    # The page depends on the language cookie and header.
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")
    return response


def _error_page(error: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
    code = error.code or 500
    if code >= 500:
        # The failed request may have left the transaction aborted (PostgreSQL); the page
        # itself reads the signed-in user, so start clean.
        db.session.rollback()
    # Keep the headers the error carries (e.g. Allow on 405).
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    titles = {
        400: _("The request could not be understood"),
        403: _("You do not have access to this page"),
        404: _("Page not found"),
        405: _("This action is not allowed here"),
        413: _("What you sent is too large"),
        429: _("Too many attempts"),
        500: _("Something went wrong on our side"),
    }
    texts = {
        400: _("Please go back, reload the page and try again."),
        403: _("If you think you should have access, ask an administrator."),
        404: _("The page you asked for does not exist or is not public."),
        405: _("Please go back and use the page's own buttons."),
        413: _("Please send less data (for example a smaller file) and try again."),
        429: _("Please wait a minute before you try again."),
        500: _("The error has been logged. Please try again in a few minutes."),
    }
    return (
        render_template(
            "errors/error.html",
            code=code,
            title=titles.get(code, _("Error")),
            text=texts.get(code, ""),
        ),
        code,
        headers,
    )


def retry_later(page: str, error: Busy) -> tuple[str, int, dict[str, str]]:
    """`page` (a form with the message and what was typed) answered "busy, try again": 503
    with `Retry-After`, a refusal for now, neither the visitor's mistake nor a lasting fault."""
    return page, 503, {"Retry-After": str(error.retry_after)}


def _busy_page(error: Busy) -> tuple[str, int, dict[str, str]]:
    """A lock did not come free where the view has no form to show the message on."""
    db.session.rollback()
    page = render_template(
        "errors/error.html", code=503, title=_("Busy right now"), text=error.message
    )
    return retry_later(page, error)


def _refuse_null_characters() -> None:
    """A NUL character in the path or the query string is never meaningful, and PostgreSQL
    refuses it in text; answer 400 before any view looks it up. (Form fields get a message
    beside the field instead: validators.Form.)"""
    if "\x00" in request.path or any("\x00" in k + v for k, v in request.args.items(multi=True)):
        abort(400)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_refuse_null_characters)
    app.after_request(_security_headers)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return (
            render_template(
                "errors/error.html",
                code=400,
                title=_("This form has expired"),
                text=_("For your security, forms expire. Go back, reload the page and send it "
                       "again."),
            ),
            400,
        )

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(Busy, _busy_page)

    app.jinja_env.globals.update(
        current_language=current_language,
        localized=localized,
        country_name=country_name,
        event_days_text=event_days_text,
        local_datetime=local_datetime,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
