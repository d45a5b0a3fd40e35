"""Public pages: home, series, events, the history of past conferences, participation, privacy."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from nkhr_events.dbtypes import utcnow
from nkhr_events.events import services
from nkhr_events.partners.services import co_organizers, sponsors
from nkhr_events.registrations.categories import CATEGORY_LABELS, Category
from nkhr_events.registrations.outlook import outlooks
from nkhr_events.registrations.services import category_settings

bp = Blueprint("events", __name__)


@bp.get("/")
def home() -> str:
    """Upcoming events, the series and the history in brief."""
    today = utcnow().date()
    upcoming = services.upcoming_events(today)
    past = services.past_events(today)
    return render_template(
        "events/home.html",
        upcoming=upcoming,
        series_list=services.all_series(),
        past=past[-3:][::-1],
        past_count=len(past),
    )


@bp.get("/history")
def history() -> str:
    """The source's "History of the Past Conferences" table, rebuilt from the database."""
    past = services.past_events(utcnow().date())
    partnerships = services.partnerships_for(past)
    rows = [(event, co_organizers(partnerships[event.id])) for event in past]
    return render_template("events/history.html", rows=rows)


@bp.get("/series/<slug>")
def series(slug: str) -> str:
    found = services.series_by_slug(slug)
    if found is None:
        abort(404)
    editions = services.series_editions(found)
    return render_template(
        "events/series.html", series=found, editions=editions, today=utcnow().date()
    )


@bp.get("/events/<slug>")
def event(slug: str) -> str:
    """One edition: days, venue, partners and whether registration is open. 404 for drafts."""
    found = services.public_event(slug)
    if found is None:
        abort(404)
    partnerships = services.partnerships_for([found])[found.id]
    state = services.registration_state(found)
    settings = category_settings(found)
    return render_template(
        "events/event.html",
        event=found,
        outlooks=outlooks(found, settings) if state == services.RegistrationState.OPEN else {},
        open_categories=[Category(c) for c, s in settings.items()
                         if s.enabled and not s.by_invitation],
        category_labels=CATEGORY_LABELS,
        co_organizers=co_organizers(partnerships),
        sponsors=sponsors(partnerships),
        registration=state,
        states=services.RegistrationState,
        today=utcnow().date(),
    )


@bp.get("/participate")
def participate() -> str:
    return render_template("events/participate.html")


@bp.get("/privacy")
def privacy() -> str:
    return render_template("events/privacy.html")
