"""Import of the conference history that ships with the package (nkhr_events/data/history.json).

The import adds what is missing and leaves what exists alone, so running it again (as
`make run` does at every start) changes nothing and never overwrites an organizer's edit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

from sqlalchemy import func, select

from nkhr_events.events.models import Event, EventDay, EventStatus, Series
from nkhr_events.extensions import db
from nkhr_events.partners.models import Partner, PartnershipRole
from nkhr_events.partners.services import ensure_approved_partnership, find_or_add_partner


@dataclass
class ImportReport:
    series: int = 0
    events: int = 0
    partners: int = 0
    partnerships: int = 0

    def __str__(self) -> str:
        return (
            f"added {self.series} series, {self.events} events, {self.partners} partners, "
            f"{self.partnerships} partnerships"
        )


def load_history_data() -> dict[str, Any]:
    text = resources.files("nkhr_events").joinpath("data/history.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def event_slug(series_slug: str, year: int, city: str) -> str:
    prefix = {"international-conference": "icnkhr", "new-approaches": "new-approaches"}
    return f"{prefix.get(series_slug, series_slug)}-{year}-{city.lower()}"


def japanese_title(series_name: str, city: str, year: int) -> str:
    """"北朝鮮人権・難民問題国際会議（東京、2005年）"."""
    return f"{series_name}（{city}、{year}年）"


def import_history(data: dict[str, Any] | None = None) -> ImportReport:
    """Add the shipped series, past conferences and co-organizers that are not there yet."""
    data = data or load_history_data()
    report = ImportReport()
    partners_before = db.session.execute(select(func.count(Partner.id))).scalar_one()
    series_by_slug: dict[str, Series] = {}
    for item in data["series"]:
        series = db.session.scalar(select(Series).where(Series.slug == item["slug"]))
        if series is None:
            series = Series(
                slug=item["slug"],
                name=item["name"],
                name_ko=item.get("name_ko"),
                description=item.get("description", ""),
                description_ko=item.get("description_ko"),
                position=item.get("position", 0),
            )
            db.session.add(series)
            report.series += 1
        # Japanese texts came later: a series imported before gets them where it has none.
        series.name_ja = series.name_ja or item.get("name_ja")
        series.description_ja = series.description_ja or item.get("description_ja")
        series_by_slug[series.slug] = series
    db.session.flush()

    for item in data["events"]:
        series = series_by_slug[item["series"]]
        slug = event_slug(series.slug, item["year"], item["city"])
        event = db.session.scalar(select(Event).where(Event.slug == slug))
        if event is None:
            days = sorted(date.fromisoformat(d) for d in item["days"])
            city_ko = item.get("city_ko")
            event = Event(
                series=series,
                slug=slug,
                title=f"{series.name}, {item['city']} {item['year']}",
                title_ko=f"{series.name_ko}, {city_ko} {item['year']}" if city_ko else None,
                start_date=days[0],
                end_date=days[-1],
                days=[EventDay(day=d) for d in days],
                city=item["city"],
                city_ko=city_ko,
                city_ja=item.get("city_ja"),
                country=item["country"],
                timezone=item["timezone"],
                status=EventStatus.ARCHIVED,
            )
            db.session.add(event)
            db.session.flush()
            report.events += 1
        if event.status == EventStatus.ARCHIVED and item.get("city_ja") and series.name_ja:
            # Japanese texts came later: a past conference imported before gets them too.
            event.city_ja = event.city_ja or item["city_ja"]
            event.title_ja = event.title_ja or japanese_title(series.name_ja, item["city_ja"],
                                                              item["year"])
        for position, name in enumerate(item["co_organizers"]):
            partner = find_or_add_partner(name, country=item["country"])
            if ensure_approved_partnership(
                partner, event, PartnershipRole.CO_ORGANIZER, display_order=position
            ):
                report.partnerships += 1
        db.session.flush()
    partners_after = db.session.execute(select(func.count(Partner.id))).scalar_one()
    report.partners = partners_after - partners_before
    return report

