"""Staff charts: each chart of an event's dashboard as an SVG image of its own, and a series'
report across its editions (a page of charts and tables, and its SVG images).

An SVG is its own response so that the pages keep their strict Content-Security-Policy (no
inline style): the image's policy allows its own <style> and nothing else, no script, no
request of any kind."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import Permission, can, categories_of, event_for, grant
from nkhr_events.accounts.roles import require_staff
from nkhr_events.events.models import Event, Series
from nkhr_events.extensions import db
from nkhr_events.roster import charts

bp = require_staff(Blueprint("charts_manage", __name__, url_prefix="/manage"))

#: An SVG image may style itself and do nothing else.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def svg_response(figure: charts.Figure) -> Response:
    response = Response(charts.render_svg(figure), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    return response


def _full_grant(event_id: int) -> bool:
    found = grant(event_id)
    return found is not None and found.categories is None and all(
        found.allows(p) for p in Permission
    )


def may_see_series(series_id: int) -> bool:
    """Admins, and organizers of every event of the series, see its report."""
    if getattr(current_user, "is_admin", False):
        return True
    ids = list(db.session.scalars(db.select(Event.id).where(Event.series_id == series_id)))
    return bool(ids) and all(_full_grant(i) for i in ids)


def _series_for(series_id: int) -> Series:
    """The series if the signed-in person may see its report; else 404."""
    if not may_see_series(series_id):
        abort(404)
    return db.get_or_404(Series, series_id)


@bp.app_template_global("event_figures")
def event_figures(event: Event, board: Any = None) -> list[charts.Figure]:
    """The dashboard's figures for the signed-in reader (templates/roster/_charts.html), made
    with what the dashboard (`board`) has already read."""
    source = charts.Source(event, categories_of(event.id), board)
    return charts.event_figures(source, can(event, Permission.READ_NEEDS))


bp.add_app_template_global(may_see_series, "may_see_series")


@bp.get("/events/<int:event_id>/chart.svg")
def event_chart(event_id: int) -> Response:
    """One chart of the event's dashboard (`kind`, default the timeline) as an SVG image."""
    event = event_for(event_id, Permission.VIEW_ROSTER)
    figure = charts.event_figure(
        event,
        request.args.get("kind", "timeline"),
        categories_of(event.id),
        can(event, Permission.READ_NEEDS),
    )
    if figure is None:
        abort(404)
    return svg_response(figure)


@bp.get("/series/<int:series_id>")
def series(series_id: int) -> str:
    """A series' editions in figures, for reports: charts and their tables."""
    found = _series_for(series_id)
    return render_template(
        "roster/series.html", series=found, figures=charts.series_figures(list(found.events))
    )


@bp.get("/series/<int:series_id>/chart.svg")
def series_chart(series_id: int) -> Response:
    """One chart of the series' report (`kind`, default registrations by status)."""
    found = _series_for(series_id)
    figure = charts.series_figure(list(found.events), request.args.get("kind", "statuses"))
    if figure is None:
        abort(404)
    return svg_response(figure)
