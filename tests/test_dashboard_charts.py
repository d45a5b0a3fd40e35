"""The dashboard's charts and the series report: every chart's data table says what the
database holds (recounted here row by row, in the event's time zone), needs are counted only
for those who may read them, and each chart's SVG is a self-contained image (no script, no
address outside it, its own narrow Content-Security-Policy) labelled in the reader's language."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markup import Element, parse

from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.extensions import db
from nkhr_events.registrations import interpretation
from nkhr_events.registrations.models import ACTIVE_STATUSES, SEAT_STATUSES, Registration
from tests.factories import make_event, make_registration, make_series

ZONE = ZoneInfo("Asia/Seoul")
FIRST_DAY = date.today() + timedelta(days=60)
DAYS = [FIRST_DAY, FIRST_DAY + timedelta(days=1)]
#: (category, status, country, needs, dietary) of each registration.
PEOPLE = [
    ("general_public", "confirmed", "KR", "Step-free access", "Vegetarian"),
    ("general_public", "confirmed", "KR", "", "Halal"),
    ("general_public", "waitlisted", "US", "", ""),
    ("general_public", "cancelled", "JP", "Hearing loop", ""),
    ("academic", "confirmed", "GB", "", ""),
    ("government", "pending", "KR", "", "No nuts"),
    ("journalist", "pending", "DE", "Large print", ""),
    ("journalist", "rejected", "FR", "", ""),
    ("activist", "confirmed", "", "", ""),
]
#: When each registered, in UTC: 23:30 UTC is 08:30 the next morning in Seoul.
RECEIVED = [datetime(2030, 3, 1, 1, 0, tzinfo=UTC), datetime(2030, 3, 1, 23, 30, tzinfo=UTC),
            datetime(2030, 3, 2, 14, 59, tzinfo=UTC), datetime(2030, 3, 2, 15, 0, tzinfo=UTC),
            datetime(2030, 3, 4, 3, 0, tzinfo=UTC)]


@pytest.fixture
def world(app: Flask) -> dict[str, int]:
    return seed_world(app)


def seed_world(app: Flask) -> dict[str, int]:
    """A series of two editions: last year's with two confirmed registrations, this year's
    with PEOPLE received on RECEIVED, interpretation between English and Korean, and three
    check-ins."""
    with app.app_context():
        series = make_series(name="Seoul Forum", name_ko="서울 포럼")
        past = make_event(series=series, title="Seoul Forum 2029", title_ko="서울 포럼 2029")
        make_registration(event=past, country="KR")
        make_registration(event=past, country="US", category="academic")
        event = make_event(series=series, days=DAYS, title="Seoul Forum 2030",
                           title_ko="서울 포럼 2030", interpretation_pairs="en-ko")
        channels = interpretation.event_channels(event)
        ids = []
        for n, (category, status, country, needs, dietary) in enumerate(PEOPLE):
            registration = make_registration(
                event=event, category=category, status=None, country=country,
                accessibility_needs=needs, dietary_needs=dietary,
                interpretation=channels[n % 2] if n % 3 else "none",
                days=DAYS if n % 2 else DAYS[:1],
            )
            # The status as it is now, set as it stands (a free seat would move a waitlisted
            # registration up at once if it were reached through the services).
            registration.status = status
            registration.created_at = RECEIVED[n % len(RECEIVED)]
            ids.append(registration.id)
        confirmed = [i for i, p in zip(ids, PEOPLE, strict=True) if p[1] == "confirmed"]
        # 09:10 and 09:50 in Seoul on the first day, 13:05 on the second.
        morning = datetime.combine(DAYS[0], datetime.min.time(), UTC)
        db.session.add_all([
            RegistrationCheckin(registration_id=confirmed[0], day=DAYS[0],
                                checked_in_at=morning + timedelta(minutes=10)),
            RegistrationCheckin(registration_id=confirmed[1], day=DAYS[0],
                                checked_in_at=morning + timedelta(minutes=50)),
            RegistrationCheckin(registration_id=confirmed[1], day=DAYS[1],
                                checked_in_at=morning + timedelta(days=1, hours=4, minutes=5)),
        ])
        db.session.commit()
        return {"event": event.id, "past": past.id, "series": series.id}


def figure_table(page: Element, key: str) -> list[list[str]]:
    table = page.one("table", **{"data-figure": key})
    return [[c.text for c in tr.find_all() if c.tag in ("th", "td")]
            for tr in table.find_all("tr")]


def dashboard(client: FlaskClient, event_id: int) -> Element:
    response = client.get(f"/manage/events/{event_id}")
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))


def rows_of(app: Flask, event_id: int) -> list[Registration]:
    with app.app_context():
        rows = list(db.session.scalars(
            db.select(Registration).where(Registration.event_id == event_id)))
        db.session.expunge_all()
        return rows


def test_timeline_table_counts_each_day_in_the_event_zone_cumulatively(
    app: Flask, client: FlaskClient, auth, world: dict[str, int]
) -> None:
    auth.organizer()
    table = figure_table(dashboard(client, world["event"]), "timeline")
    rows = rows_of(app, world["event"])
    days = sorted({r.created_at.astimezone(ZONE).date() for r in rows})
    every_day = [days[0] + timedelta(days=n) for n in range((days[-1] - days[0]).days + 1)]
    assert len(table) == 1 + len(every_day)  # the header, then each day, gaps included
    statuses = ["Awaiting review", "Confirmed", "Waitlisted", "Cancelled", "Rejected"]
    assert table[0] == ["Day", *statuses, "Total"]
    keys = ["pending", "confirmed", "waitlisted", "cancelled", "rejected"]
    for row, day in zip(table[1:], every_day, strict=True):
        upto = Counter(r.status for r in rows if r.created_at.astimezone(ZONE).date() <= day)
        assert row[1:] == [str(upto[k]) for k in keys] + [str(sum(upto.values()))]
    # 23:30 UTC on 1 March is 2 March in Seoul, 14:59 UTC still 2 March; 15:00 UTC is 3 March.
    assert [row[-1] for row in table[1:4]] == ["2", "6", "8"]
    assert table[-1][-1] == str(len(PEOPLE))


def test_category_and_country_tables_match_the_database(
    app: Flask, client: FlaskClient, auth, world: dict[str, int]
) -> None:
    auth.organizer()
    page = dashboard(client, world["event"])
    rows = rows_of(app, world["event"])
    categories = figure_table(page, "categories")
    assert categories[0] == ["Category", "Awaiting review", "Confirmed", "Waitlisted",
                             "Cancelled", "Rejected", "Total"]
    general = Counter(r.status for r in rows if r.category == "general_public")
    assert ["General public", "0", str(general["confirmed"]), str(general["waitlisted"]),
            str(general["cancelled"]), "0", "4"] in categories
    assert ["Journalist", "1", "0", "0", "0", "1", "2"] in categories
    assert len(categories) == 1 + len({r.category for r in rows})

    countries = figure_table(page, "countries")
    active = Counter(r.country for r in rows if r.status in ACTIVE_STATUSES)
    assert countries[0] == ["Country", "Registrations"]
    shown = {label: int(count) for label, count in countries[1:]}
    assert shown == {"South Korea": active["KR"], "United States": active["US"],
                     "United Kingdom": active["GB"], "Germany": active["DE"],
                     "Not given": active[""]}
    assert countries[1] == ["South Korea", "3"]  # the most first


def test_checkins_by_hour_and_interpretation_tables_match_the_database(
    app: Flask, client: FlaskClient, auth, world: dict[str, int]
) -> None:
    auth.organizer()
    page = dashboard(client, world["event"])
    checkins = figure_table(page, "checkins")
    with app.app_context():
        found = db.session.scalars(db.select(RegistrationCheckin)).all()
        by_hour = Counter((c.day, c.checked_in_at.astimezone(ZONE).hour) for c in found)
    assert checkins[0][0] == "Hour" and len(checkins[0]) == 2 + len(DAYS)
    hours = [int(row[0][:2]) for row in checkins[1:]]
    assert hours == list(range(9, 14))  # 09:00 to 13:00, the hours between included
    for row in checkins[1:]:
        hour = int(row[0][:2])
        assert row[1:] == [str(by_hour[DAYS[0], hour]), str(by_hour[DAYS[1], hour]),
                           str(by_hour[DAYS[0], hour] + by_hour[DAYS[1], hour])]
    assert checkins[1][1] == "2"  # 09:10 and 09:50

    listeners = figure_table(page, "interpretation")
    rows = rows_of(app, world["event"])
    with app.app_context():
        from nkhr_events.registrations.models import RegistrationDay

        attending = {(d.registration_id, d.day) for d in db.session.scalars(
            db.select(RegistrationDay))}
    assert listeners[0] == ["Day", "English into Korean", "Korean into English", "Total"]
    channels = ["en_to_ko", "ko_to_en"]
    for row, day in zip(listeners[1:], DAYS, strict=True):
        expected = [sum(1 for r in rows if r.interpretation == c and r.status in SEAT_STATUSES
                        and (r.id, day) in attending) for c in channels]
        assert row[1:] == [str(n) for n in expected] + [str(sum(expected))]


def test_needs_counts_only_for_those_who_may_read_needs(
    app: Flask, client: FlaskClient, auth, world: dict[str, int]
) -> None:
    rows = rows_of(app, world["event"])
    holders = [r for r in rows if r.status in SEAT_STATUSES]
    auth.organizer()
    page = dashboard(client, world["event"])
    assert figure_table(page, "needs") == [
        ["Needs", "Registrations"],
        ["Accessibility needs", str(sum(1 for r in holders if r.accessibility_needs))],
        ["Dietary needs", str(sum(1 for r in holders if r.dietary_needs))],
    ]
    assert figure_table(page, "needs")[1][1] == "2" and figure_table(page, "needs")[2][1] == "3"
    html = client.get(f"/manage/events/{world['event']}").get_data(as_text=True)
    assert "Step-free access" not in html and "Vegetarian" not in html  # counts, never contents
    svg = client.get(f"/manage/events/{world['event']}/chart.svg?kind=needs")
    assert svg.status_code == 200 and "Step-free" not in svg.get_data(as_text=True)

    auth.sign_out()
    auth.member(world["event"], "reviewer")  # no grant to read needs
    page = dashboard(client, world["event"])
    assert page.find("table", **{"data-figure": "needs"}) is None
    assert "Stated accessibility and dietary needs" not in page.text
    assert client.get(f"/manage/events/{world['event']}/chart.svg?kind=needs").status_code == 404

    auth.sign_out()
    auth.member(world["event"], "reviewer", email="needs@example.org", sees_needs=True)
    page = dashboard(client, world["event"])
    assert figure_table(page, "needs")[1][1] == "2"


def test_a_reviewer_of_some_categories_sees_only_those_in_every_chart(
    client: FlaskClient, auth, world: dict[str, int]
) -> None:
    auth.member(world["event"], "reviewer", categories="journalist")
    page = dashboard(client, world["event"])
    # Only the statuses present are columns.
    assert figure_table(page, "categories") == [
        ["Category", "Awaiting review", "Rejected", "Total"], ["Journalist", "1", "1", "2"]]
    assert figure_table(page, "countries")[1:] == [["Germany", "1"]]
    assert figure_table(page, "timeline")[-1][-1] == "2"


SVG_KINDS = ["timeline", "categories", "countries", "checkins", "interpretation", "needs"]


@pytest.mark.parametrize("kind", SVG_KINDS)
def test_each_chart_is_a_self_contained_svg_with_its_own_policy(
    client: FlaskClient, auth, world: dict[str, int], kind: str
) -> None:
    auth.organizer()
    response = client.get(f"/manage/events/{world['event']}/chart.svg?kind={kind}")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and "<script" not in svg.lower()
    assert "javascript:" not in svg.lower() and "<!--" not in svg
    addresses = set(re.findall(r"https?://[^\s\"'<>)]+", svg))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert not re.search(r"(?:href|src)\s*=", svg.replace('xmlns:xlink="', ""))
    assert "@import" not in svg and "url(" not in svg
    assert "<title>" in svg


def test_the_dashboard_shows_each_chart_as_an_image_with_its_name(
    client: FlaskClient, auth, world: dict[str, int]
) -> None:
    auth.organizer()
    page = dashboard(client, world["event"])
    images = page.find_all("img", class_="chart-image")
    assert [img.get("src") for img in images] == [
        f"/manage/events/{world['event']}/chart.svg?kind={k}" for k in SVG_KINDS]
    assert all(img.get("alt") for img in images)
    for img in images:
        assert client.get(img.get("src")).status_code == 200


def test_charts_of_another_event_or_an_unknown_kind_answer_404(
    client: FlaskClient, auth, world: dict[str, int]
) -> None:
    auth.member(world["past"], "organizer")
    assert client.get(f"/manage/events/{world['event']}/chart.svg").status_code == 404
    assert client.get(f"/manage/events/{world['past']}/chart.svg?kind=nope").status_code == 404
    assert client.get(f"/manage/events/{world['past']}/chart.svg").status_code == 200
    auth.sign_out()
    assert client.get(f"/manage/events/{world['past']}/chart.svg").status_code == 302


def test_a_korean_reader_gets_korean_labels_in_tables_and_charts(
    client: FlaskClient, auth, world: dict[str, int]
) -> None:
    auth.organizer()
    client.set_cookie("lang", "ko")
    headers = {"Accept-Language": "ko"}
    page = parse(client.get(f"/manage/events/{world['event']}", headers=headers)
                 .get_data(as_text=True))
    categories = figure_table(page, "categories")
    assert "확정됨" in categories[0] and "일반 시민" in [row[0] for row in categories]
    assert figure_table(page, "countries")[1][0] == "대한민국"
    svg = client.get(f"/manage/events/{world['event']}/chart.svg?kind=categories",
                     headers=headers).get_data(as_text=True)
    assert "일반 시민" in svg and "확정됨" in svg and "General public" not in svg
    assert "Noto Sans KR" in svg and "sans-serif" in svg


def test_series_report_counts_each_edition(
    app: Flask, client: FlaskClient, auth, world: dict[str, int]
) -> None:
    auth.organizer()
    response = client.get(f"/manage/series/{world['series']}")
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    statuses = figure_table(page, "statuses")
    assert statuses[0] == ["Edition", "Awaiting review", "Confirmed", "Waitlisted", "Cancelled",
                           "Rejected", "Total"]
    assert statuses[1] == ["Seoul Forum 2029", "0", "2", "0", "0", "0", "2"]
    rows = rows_of(app, world["event"])
    now = Counter(r.status for r in rows)
    assert statuses[2] == ["Seoul Forum 2030", str(now["pending"]), str(now["confirmed"]),
                           str(now["waitlisted"]), str(now["cancelled"]),
                           str(now["rejected"]), str(len(rows))]
    categories = figure_table(page, "categories")
    assert categories[0] == ["Edition", "Academic", "Activist", "General public", "Total"]
    assert categories[2] == ["Seoul Forum 2030", "1", "1", "2", "4"]
    assert figure_table(page, "checkins")[1:] == [["Seoul Forum 2029", "0"],
                                                   ["Seoul Forum 2030", "2"]]
    assert figure_table(page, "countries")[1:] == [["Seoul Forum 2029", "2"],
                                                    ["Seoul Forum 2030", "2"]]
    for kind in ("statuses", "categories", "checkins", "countries"):
        svg = client.get(f"/manage/series/{world['series']}/chart.svg?kind={kind}")
        assert svg.mimetype == "image/svg+xml" and "<script" not in svg.get_data(as_text=True)


def test_series_report_is_for_admins_and_organizers_of_every_edition(
    client: FlaskClient, auth, world: dict[str, int]
) -> None:
    url = f"/manage/series/{world['series']}"
    auth.member(world["event"], "organizer")  # of one edition only
    assert client.get(url).status_code == 404
    assert client.get(f"{url}/chart.svg").status_code == 404
    page = dashboard(client, world["event"])
    assert not any(a.get("href") == url for a in page.find_all("a"))
    auth.sign_out()
    auth.admin()
    assert client.get(url).status_code == 200
    page = dashboard(client, world["event"])
    assert any(a.get("href") == url for a in page.find_all("a"))
    assert client.get("/manage/series/999999").status_code == 404


def test_days_follow_a_zone_that_changes_its_clock(app: Flask) -> None:
    """Prague moves from UTC+1 to UTC+2 at 01:00 UTC on 30 March 2031: 22:30 UTC is the same
    day before the change and the next day after it. Each registration's day is the one
    Python's zone database gives, on SQLite (told the offsets) as on PostgreSQL."""
    from nkhr_events.roster.figures import registrations_over_time

    prague = ZoneInfo("Europe/Prague")
    with app.app_context():
        event = make_event(timezone="Europe/Prague")
        received = [datetime(2031, 3, 28, 22, 30, tzinfo=UTC),  # 23:30 on the 28th
                    datetime(2031, 3, 29, 23, 30, tzinfo=UTC),  # 00:30 on the 30th (UTC+1)
                    datetime(2031, 3, 30, 21, 59, tzinfo=UTC),  # 23:59 on the 30th (UTC+2)
                    datetime(2031, 3, 30, 22, 0, tzinfo=UTC),  # 00:00 on the 31st
                    datetime(2031, 10, 25, 22, 30, tzinfo=UTC)]  # 00:30 on the 26th (UTC+2)
        for at in received:
            make_registration(event=event).created_at = at
        db.session.commit()
        timeline = registrations_over_time(event)
        per_day = Counter(at.astimezone(prague).date() for at in received)
        running = 0
        for day, total in zip(timeline.days, timeline.totals, strict=True):
            running += per_day[day]
            assert total == running, day
        assert timeline.days[0] == date(2031, 3, 28) and timeline.days[-1] == date(2031, 10, 26)
        assert timeline.totals[:4] == [1, 1, 3, 4]
