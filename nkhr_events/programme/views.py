"""The public programme of an event: by day or by room, printable, in the reader's language;
its calendar feed and a calendar file per session. Only public sessions of published or
archived events; drafts and sessions that are not public do not exist here (404).
"""

from __future__ import annotations

from datetime import date, time

from babel.dates import format_date, format_time
from flask import Blueprint, abort, current_app, make_response, render_template, request, url_for
from flask_babel import get_locale
from werkzeug.wrappers import Response

from nkhr_events.events import services as event_services
from nkhr_events.events.models import Event
from nkhr_events.programme import calendar, display, forms, services
from nkhr_events.programme.models import Speaker
from nkhr_events.web import current_language

bp = Blueprint("programme", __name__)

#: The speaker pages' endpoint; the programme links a speaker to it only once announced.
SPEAKER_ENDPOINT = "speakers.speaker"


def _event(slug: str) -> Event:
    found = event_services.public_event(slug)
    if found is None:
        abort(404)
    return found


def _host() -> str:
    base = current_app.config["NKHR_BASE_URL"]
    return str(base).split("//", 1)[-1].split("/", 1)[0].split(":")[0]


def _absolute(path: str) -> str:
    return str(current_app.config["NKHR_BASE_URL"]).rstrip("/") + path


@bp.get("/events/<slug>/programme")
def programme(slug: str) -> str:
    """The programme day by day, or per room on each day (`?by=room`)."""
    event = _event(slug)
    by_room = request.args.get("by") == "room"
    days = services.programme_days(event, public_only=True)
    return render_template(
        "programme/programme.html",
        event=event,
        days=days,
        rooms={d.day: services.by_room(d) for d in days} if by_room else {},
        by_room=by_room,
        kinds=forms.KIND_LABELS,
        parts=forms.PART_LABELS,
        language_labels=forms.LANGUAGE_LABELS,
    )


def _ics(data: bytes, filename: str) -> Response:
    response = make_response(data)
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/events/<slug>/programme.ics")
def feed(slug: str) -> Response:
    """Every public session as one calendar."""
    event = _event(slug)
    data = calendar.programme_calendar(
        event, services.event_sessions(event, public_only=True), host=_host(),
        language=current_language(),
        url=_absolute(url_for(".programme", slug=event.slug)),
    )
    return _ics(data, f"{event.slug}-programme.ics")


@bp.get("/events/<slug>/programme/<int:session_id>.ics")
def session_file(slug: str, session_id: int) -> Response:
    """One public session as a calendar file."""
    event = _event(slug)
    session = services.session_of(event, session_id)
    if session is None or not session.public:
        abort(404)
    data = calendar.session_calendar(
        session, event, host=_host(), language=current_language(),
        url=_absolute(url_for(".programme", slug=event.slug) + f"#session-{session.id}"),
    )
    return _ics(data, f"{event.slug}-session-{session.id}.ics")


# --- template helpers (also used by the confirmation email) -------------------------------------


@bp.app_template_global("programme_day")
def programme_day(day: date) -> str:
    """A programme day as the reader writes it, with the weekday: "Friday, March 5, 2027",
    "2027년 3월 5일 금요일"."""
    return format_date(day, "full", locale=get_locale() or current_language())


@bp.app_template_global("session_time")
def session_time(value: time) -> str:
    """A session's clock time (in the event's zone, as printed) the reader's way."""
    text = format_time(value, "short", locale=get_locale() or current_language())
    return text.replace("\u202f", " ").replace("\u2009", " ")


@bp.app_template_global("speaker_public_name")
def speaker_public_name(speaker: Speaker) -> str:
    return display.public_name(speaker)


@bp.app_template_global("speaker_page_url")
def speaker_page_url(event: Event, speaker: Speaker) -> str | None:
    """The speaker's public page, for an announced speaker, once speaker pages exist."""
    if not display.is_announced(speaker):
        return None
    if SPEAKER_ENDPOINT not in current_app.view_functions:
        return None
    return url_for(SPEAKER_ENDPOINT, slug=event.slug, speaker_id=speaker.id)


@bp.app_template_global("event_has_programme")
def event_has_programme(event: Event) -> bool:
    """Whether the event's public page links to a programme."""
    return services.has_sessions(event, public_only=True)


@bp.app_template_global("public_programme")
def public_programme(event: Event) -> list[services.ProgrammeDay]:
    """The public programme, for the confirmation email."""
    return services.programme_days(event, public_only=True)
