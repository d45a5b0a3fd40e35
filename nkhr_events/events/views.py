"""Public pages: home, series, events, the history of past conferences, participation, privacy."""

from __future__ import annotations

from dataclasses import astuple
from typing import Any

from flask import Blueprint, abort, render_template

from nkhr_events import pagecache
from nkhr_events.dbtypes import utcnow
from nkhr_events.events import services
from nkhr_events.partners.services import (
    co_organizers,
    partner_cards,
    sponsors,
    sponsors_by_tier,
)
from nkhr_events.partners.views import accepts_applications
from nkhr_events.programme.archive import has_content as archive_has_content
from nkhr_events.programme.services import has_sessions
from nkhr_events.registrations.categories import CATEGORY_LABELS, Category
from nkhr_events.registrations.outlook import outlooks, page_key
from nkhr_events.registrations.services import category_settings, setting_values

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
    """One edition: days, venue, partners and whether registration is open. 404 for drafts.

    The most visited page when registration opens: kept whole for anonymous visitors
    (pagecache.py), keyed by everything it shows — the event's and its series' rows, the
    category settings and outlooks, the partners' cards and tiers, whether a programme and an
    archive are linked, the registration state and the day — so an edit is never served stale.
    """
    found = services.public_event(slug)
    if found is None:
        abort(404)
    partnerships = services.partnerships_for([found])[found.id]
    state = services.registration_state(found)
    settings = category_settings(found)
    today = utcnow().date()
    found_outlooks = outlooks(found, settings) if state == services.RegistrationState.OPEN else {}
    co_cards = partner_cards(co_organizers(partnerships))
    sponsor_groups = [(str(tier), partner_cards(members))
                      for tier, members in sponsors_by_tier(found.id, sponsors(partnerships))]
    shown = {
        "has_programme": has_sessions(found, public_only=True),
        "has_archive": archive_has_content(found.id),
        "applications_open": accepts_applications(found),
    }
    key = (
        "events.event",
        _row(found), _row(found.series),
        tuple(setting_values(s) for s in settings.values()),
        page_key(found, found_outlooks),
        tuple(astuple(card) for card in co_cards),
        tuple((tier, tuple(astuple(card) for card in cards)) for tier, cards in sponsor_groups),
        tuple(sorted(shown.items())), state, today,
    )
    return pagecache.page(key, lambda: render_template(
        "events/event.html",
        event=found,
        outlooks=found_outlooks,
        open_categories=[Category(c) for c, s in settings.items()
                         if s.enabled and not s.by_invitation],
        category_labels=CATEGORY_LABELS,
        co_cards=co_cards,
        sponsor_groups=sponsor_groups,
        registration=state,
        states=services.RegistrationState,
        today=today,
        **shown,
    ))


def _row(record: Any) -> tuple[Any, ...]:
    """Every column of a record, as a kept page's key."""
    return tuple(getattr(record, column.key) for column in record.__table__.columns)


@bp.get("/participate")
def participate() -> str:
    return render_template("events/participate.html")


@bp.get("/privacy")
def privacy() -> str:
    return render_template("events/privacy.html")
