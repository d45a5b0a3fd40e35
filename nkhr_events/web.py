"""Site-wide request handling: language, security headers, error pages, template helpers."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, tzinfo
from functools import cache, lru_cache
from typing import Any, overload
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pycountry
from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format, get_timezone_location
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from nkhr_events.audit.services import SYSTEM, Actor
from nkhr_events.errors import Busy
from nkhr_events.events.dates import format_days
from nkhr_events.events.texts import local_text, place_in_order
from nkhr_events.extensions import db, limiter
from nkhr_events.names import collator
from nkhr_events.partners.services import wait_text
from nkhr_events.validators import INT_MAX, LANGUAGE_NAMES, whole_number

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
    """The language the reader chose (cookie), else the one they chose for the record a private
    link opens (`speak_language_of`), else the best of Accept-Language, else English."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # Command-line tasks (e.g. `flask staff create`) speak the default language.
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen is not None and chosen in languages:
        return chosen
    recorded = g.get("record_language")
    if recorded in languages:
        return str(recorded)
    return request.accept_languages.best_match(languages) or languages[0]


def speak_language_of(language: str | None) -> None:
    """A private link's page speaks the language its person chose (for their emails) unless
    the reader picked one with the language switch: the link opened from a Japanese email
    reads in Japanese whatever the browser says."""
    if language and language in current_app.config["LANGUAGES"]:
        g.record_language = language
        refresh()


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


def in_reading_order(fields: list[Any]) -> list[Any]:
    """Form fields (an error summary) in the order the page shows them to this reader: a Korean
    or Japanese reader is asked for the family name before the given name."""
    if current_language() not in ("ko", "ja"):
        return fields
    names = [getattr(f, "name", "") for f in fields]
    if "given_name" in names and "family_name" in names:
        given, family = names.index("given_name"), names.index("family_name")
        if given < family:
            fields = list(fields)
            fields[given], fields[family] = fields[family], fields[given]
    return fields


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
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    try:
        parts = urlsplit(target)
    except ValueError:  # "/[x" and the like: not an address at all
        return fallback
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
    """A text staff wrote per language (an event's title, a series' name), in the reader's
    language where it exists, else in the first of the object's languages that has it: plain
    text, for titles, attributes and text emails (see events.texts)."""
    return local_text(obj, field, current_language()).text


def localized_html(obj: Any, field: str) -> Markup:
    """`localized` for the body of an HTML page or email: a text in another language than the
    reader's is wrapped in a span that says which (`lang`), so that it is read and hyphenated
    as what it is."""
    text = local_text(obj, field, current_language())
    if text.fallback:
        return Markup('<span lang="{}">{}</span>').format(text.language, text.text)
    return escape(text.text)


def text_language(obj: Any, field: str) -> Markup:
    """For a block holding `localized(obj, field)`: ` lang="en"` where the text is in another
    language than the reader's, else nothing (`<div{{ text_language(event, 'description') }}>`)."""
    text = local_text(obj, field, current_language())
    return Markup(' lang="{}"').format(text.language) if text.fallback else Markup("")


def place_text(event: Any, html: bool = False, venue: bool = True) -> str | Markup:
    """Where the event is, written the way the reader's language writes a place: English from
    the smallest to the largest ("Venue, Seoul, South Korea"), Korean and Japanese from the
    largest to the smallest ("대한민국 서울 장소", "韓国、ソウル、会場"). With `html`, texts in
    another language than the reader's keep their `lang` (`localized_html`); without `venue`,
    the city and country alone."""
    def part(field: str) -> str | Markup:
        return localized_html(event, field) if html else localized(event, field)

    fields = ("venue", "city") if venue else ("city",)
    parts, separator = place_in_order(
        [p for p in (*(part(f) for f in fields), country_name(event.country)) if p],
        current_language(),
    )
    if html:
        return Markup(separator).join(escape(p) for p in parts)
    return separator.join(parts)


#: The organization's own time zone when the settings name none (NKHR_TIMEZONE): staff pages
#: that belong to no event (audit trail, outbox, staff accounts) show their times in it.
DEFAULT_TIMEZONE = "Asia/Seoul"


def collation_key(text: str) -> tuple[int, ...]:
    """A sort key that orders `text` as the Unicode Collation Algorithm does."""
    return tuple(collator().sort_key(text))


@cache
def country_codes() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes assigned to countries and territories (the standard's
    table as pycountry ships it). CLDR also names codes that are no country: pseudo-locales
    (XA, XB), user-assigned (XK), groupings (EU, UN) and reserved ones (AC, IC, TA...)."""
    return frozenset(country.alpha_2 for country in pycountry.countries)


def _territories(language: str | None) -> Mapping[str, str]:
    return Locale.parse(language or current_language()).territories


def country_name(code: str | None, language: str | None = None) -> str:
    """The country `code` names, in the reader's language (or `language`), from CLDR; a stored
    code that is no longer offered keeps its name, an unknown one shows as itself."""
    if not code:
        return ""
    return _territories(language).get(code.upper(), code)


@lru_cache(maxsize=16)
def _country_choices(language: str) -> tuple[tuple[str, str], ...]:
    names = _territories(language)
    return tuple(
        sorted(
            ((code, names.get(code, code)) for code in country_codes()),
            key=lambda choice: collation_key(choice[1]),
        )
    )


def country_choices(language: str | None = None) -> list[tuple[str, str]]:
    """(ISO code, name) of every country and territory, named in the reader's language and
    collated (not sorted by code point). Made once per language."""
    return list(_country_choices(language or current_language()))


def countries_by_name(codes: Iterable[str]) -> list[str]:
    """`codes` ordered by their names in the reader's language, as `country_choices` orders."""
    return sorted(codes, key=lambda code: collation_key(country_name(code)))


def list_text(items: Iterable[object]) -> str:
    """Names written one after another the reader's way: "A, B" in English and Korean,
    "A、B" in Japanese."""
    separator = "、" if current_language() == "ja" else ", "
    return separator.join(str(item) for item in items)


def sentence_gap() -> str:
    """What stands between two sentences written one after the other: a space, except in
    Japanese, whose full stop (。) ends a sentence without one."""
    return "" if current_language() == "ja" else " "


def sentence_end(japanese: str = "") -> str:
    """The full stop after a link that ends a sentence ("Read the <privacy notice>."): in
    Japanese `japanese`, by default none, as the sentences before such a link end in a colon
    there ("次をご覧ください:"); "。" where the link's own text ends the sentence."""
    return japanese if current_language() == "ja" else "."


def event_days_text(days: list[date]) -> str:
    return format_days(days, current_language(), _("{days}, {year}"))


# --- times and dates: one set of helpers, also Jinja globals and filters -----------------------


def home_timezone() -> str:
    """The organization's time zone (NKHR_TIMEZONE), for times that belong to no event."""
    return str(current_app.config.get("NKHR_TIMEZONE") or DEFAULT_TIMEZONE)


def _zone(zone: str | tzinfo | None) -> tzinfo:
    if zone is None or zone == "":
        return ZoneInfo(home_timezone())
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def _zone_name(zone: str | tzinfo | None) -> str:
    """The time zone as the reader names it: "South Korea Time", "대한민국 시간", "日本時間"
    (CLDR's name for the zone's place; UTC stays "UTC")."""
    name = str(zone) if zone else home_timezone()
    if name in ("UTC", "Etc/UTC"):
        return "UTC"
    try:
        return str(get_timezone_location(name, locale=_reader_locale()))
    except LookupError:
        return name


def _plain_spaces(text: str) -> str:
    """CLDR puts narrow and thin no-break spaces in times ("9:07 AM"); plain spaces search
    and copy like any other text (as events/dates.py does for days)."""
    return text.replace("\u202f", " ").replace("\u2009", " ")


def _reader_locale() -> Locale:
    """The reader's locale (a command-line task or worker outside `force_locale`: English)."""
    return get_locale() or Locale.parse(current_language())


def _in_zone(value: datetime, zone: str | tzinfo | None) -> datetime:
    """`value` (an aware instant; a naive one is taken as UTC) on the clock of `zone`."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_zone(zone))


def local_date(value: datetime | date | None, zone: str | tzinfo | None = None) -> str:
    """The day of `value` in `zone` (a time zone name; default the organization's), written
    the reader's way: "Mar 5, 2031", "2031. 3. 5.". A plain date is written as it is."""
    if value is None:
        return ""
    day = _in_zone(value, zone).date() if isinstance(value, datetime) else value
    return _plain_spaces(format_date(day, "medium", locale=_reader_locale()))


def local_time(value: datetime | None, zone: str | tzinfo | None = None) -> str:
    """The clock time of `value` in `zone`, without seconds, the reader's way: "9:07 AM",
    "오전 9:07"."""
    if value is None:
        return ""
    moment = _in_zone(value, zone)
    text = format_time(moment, "short", tzinfo=moment.tzinfo, locale=_reader_locale())
    return _plain_spaces(text)


def local_datetime(
    value: datetime | None, zone: str | tzinfo | None = None, with_zone: bool = True
) -> str:
    """Day and clock time of `value` in `zone` (an event's own time zone; default the
    organization's), without seconds, in the reader's locale format, followed by the zone's
    name unless `with_zone` is false (a page that says the zone once):
    "Mar 5, 2031, 9:07 AM (Asia/Seoul)", "2031. 3. 5. 오전 9:07 (Asia/Seoul)"."""
    if value is None:
        return ""
    moment = _in_zone(value, zone)
    locale = _reader_locale()
    text = (
        str(get_datetime_format("medium", locale=locale))
        .replace("'", "")
        .replace("{0}", format_time(moment, "short", tzinfo=moment.tzinfo, locale=locale))
        .replace("{1}", format_date(moment.date(), "medium", locale=locale))
    )
    if with_zone:
        text = f"{text} ({_zone_name(zone)})"
    return _plain_spaces(text)


#: What templates call, as globals and as filters:
#: `{{ row.created_at|local_datetime(event.timezone, with_zone=False) }}`.
DATE_HELPERS = {
    "local_date": local_date,
    "local_time": local_time,
    "local_datetime": local_datetime,
}


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


def limit_wait() -> int:
    """Seconds until the rate limits this request broke allow another try (at least 1): the
    end of the longest broken window, as `Retry-After` says it."""
    now = time.time()
    breached = [limit for limit in limiter.current_limits if limit.breached]
    # window[0]: when the limit's window ends (`reset_at` adds a second to it).
    return max(1, max([math.ceil(limit.window[0] - now) for limit in breached] or [60]))


def accepted(response: Response) -> bool:
    """A form submission that was taken (answered with a redirect): what a per-address
    limit counts (`deduct_when`), so that a form sent back with mistakes costs nothing."""
    return response.status_code in (302, 303)


def too_many_text(wait: int) -> str:
    return _("Too many tries. Please try again in about %(wait)s.", wait=wait_text(wait))


def limit_refusal() -> tuple[str, dict[str, str]]:
    """What a page refused by a rate limit says, and the `Retry-After` header it carries."""
    wait = limit_wait()
    return too_many_text(wait), {"Retry-After": str(wait)}


def _error_page(error: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
    code = error.code or 500
    if code >= 500:
        # The failed request may have left the transaction aborted (PostgreSQL); the page
        # itself reads the signed-in user, so start clean.
        db.session.rollback()
    # Keep the headers the error carries (e.g. Allow on 405).
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    wait = limit_wait() if code == 429 else 0
    if wait and not any(k.lower() == "retry-after" for k, _v in headers):
        headers.append(("Retry-After", str(wait)))
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
        429: too_many_text(wait) if wait else "",
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
    def csrf_error(error: CSRFError) -> tuple[str | Response, int]:
        if request.is_json:  # a page's script: its page has to be loaded again
            return jsonify(error=_("This page has expired. Reload it and try again."),
                           reason="expired"), 400
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
        language_names=LANGUAGE_NAMES,
        localized=localized,
        localized_html=localized_html,
        zone_name=_zone_name,
        text_language=text_language,
        country_name=country_name,
        place_text=place_text,
        countries_by_name=countries_by_name,
        event_days_text=event_days_text,
        home_timezone=home_timezone,
        **DATE_HELPERS,
    )
    app.jinja_env.filters.update(DATE_HELPERS)
    app.jinja_env.filters["in_reading_order"] = in_reading_order
    app.jinja_env.filters["list_text"] = list_text
    app.jinja_env.globals["sentence_gap"] = sentence_gap
    app.jinja_env.globals["sentence_end"] = sentence_end
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


class Confirmation:
    """The confirmation step of an action that hurts people or hides things (templates/
    confirm.html): a view that is posted without `confirmed` renders this instead of acting,
    stating the consequences; the page posts the same fields again with `confirmed=1`."""

    def __init__(
        self,
        title: str,
        consequences: list[str],
        button: str,
        fields: Iterable[tuple[str, object]],
        back_url: str = "",
        back_label: str = "",
        danger: bool = True,
    ) -> None:
        self.title = title
        self.consequences = consequences
        self.button = button
        self.fields = [(name, "" if value is None else str(value)) for name, value in fields]
        self.back_url = back_url
        self.back_label = back_label
        self.danger = danger
        self.action = request.path

    def render(self) -> str:
        return render_template("confirm.html", confirm=self)


def confirmed() -> bool:
    """Whether the request comes from a confirmation page (see `Confirmation`)."""
    return request.form.get("confirmed") == "1"
