"""The shipped conference history: its import and the public "History of the past conferences"."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from markup import form_values, parse, ticked

from nkhr_events.events.history import import_history
from nkhr_events.events.models import Event, EventStatus, Series
from nkhr_events.extensions import db
from nkhr_events.partners.models import (
    Partner,
    Partnership,
    PartnershipRole,
    PartnershipStatus,
)
from nkhr_events.partners.services import find_or_add_partner, partner_name_key


def _days(first: str, count: int = 1) -> list[date]:
    start = date.fromisoformat(first)
    return [start + timedelta(days=n) for n in range(count)]


# The source page's table, written out independently of the data file the import reads.
# (year, days, city, Korean city, ISO country, co-organizers in the source's order)
HISTORY: list[tuple[int, list[date], str, str, str, list[str]]] = [
    (1999, _days("1999-12-01", 3), "Seoul", "서울", "KR", ["Chosun Ilbo"]),
    (2000, _days("2000-12-08"), "Seoul", "서울", "KR", ["Ewha Legal Science Institute"]),
    (2002, _days("2002-02-09", 2), "Tokyo", "도쿄", "JP", ["Working Committee in Japan"]),
    (2003, _days("2003-03-02"), "Prague", "프라하", "CZ", ["People in Need Foundation"]),
    (2004, _days("2004-02-29", 3), "Warsaw", "바르샤바", "PL",
     ["Helsinki Foundation for Human Rights"]),
    (2005, _days("2005-02-14", 3), "Seoul", "서울", "KR", [
        "Korean Society for Human Rights Law",
        "Yonsei GSIS",
        "Handong International Law School",
        "Sogang GSIS",
        "Korea GSIS",
        "Ewha GSIS",
        "Sookmyung GSIS",
    ]),
    (2006, _days("2006-05-09", 3), "Bergen", "베르겐", "NO", ["Norway Rafto Human Rights House"]),
    (2008, _days("2008-01-22", 2), "London", "런던", "GB", ["Chatham House"]),
    (2009, _days("2009-03-20", 2), "Melbourne", "멜버른", "AU",
     ["The Australian Committee for Human Rights in North Korea"]),
    (2010, _days("2010-08-19", 4), "Toronto", "토론토", "CA", ["HanVoice"]),
]

DAYS_EN = {
    1999: "Wed, Dec 1 – Fri, Dec 3, 1999",
    2000: "Fri, December 8, 2000",
    2002: "Sat, Feb 9 – Sun, Feb 10, 2002",
    2003: "Sun, March 2, 2003",
    2004: "Sun, Feb 29 – Tue, Mar 2, 2004",
    2005: "Mon, Feb 14 – Wed, Feb 16, 2005",
    2006: "Tue, May 9 – Thu, May 11, 2006",
    2008: "Tue, Jan 22 – Wed, Jan 23, 2008",
    2009: "Fri, Mar 20 – Sat, Mar 21, 2009",
    2010: "Thu, Aug 19 – Sun, Aug 22, 2010",
}
DAYS_KO = {
    1999: "1999년 12월 1일 (수)~3일 (금)",
    2000: "2000년 12월 8일 (금)",
    2002: "2002년 2월 9일 (토)~10일 (일)",
    2003: "2003년 3월 2일 (일)",
    2004: "2004년 2월 29일 (일)~3월 2일 (화)",
    2005: "2005년 2월 14일 (월)~16일 (수)",
    2006: "2006년 5월 9일 (화)~11일 (목)",
    2008: "2008년 1월 22일 (화)~23일 (수)",
    2009: "2009년 3월 20일 (금)~21일 (토)",
    2010: "2010년 8월 19일 (목)~22일 (일)",
}
COUNTRY_EN = {"KR": "South Korea", "JP": "Japan", "CZ": "Czechia", "PL": "Poland",
              "NO": "Norway", "GB": "United Kingdom", "AU": "Australia", "CA": "Canada"}
COUNTRY_KO = {"KR": "대한민국", "JP": "일본", "CZ": "체코", "PL": "폴란드",
              "NO": "노르웨이", "GB": "영국", "AU": "오스트레일리아", "CA": "캐나다"}

DISTINCT_CO_ORGANIZERS = {name for *_, names in HISTORY for name in names}


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order: equal snapshots mean nothing changed."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for table in db.metadata.sorted_tables:
        query = table.select().order_by(*table.primary_key.columns)
        tables[table.name] = [tuple(row) for row in db.session.execute(query)]
    return tables


def event_of_year(year: int) -> Event:
    return db.session.scalars(
        db.select(Event).where(Event.start_date >= date(year, 1, 1),
                               Event.start_date < date(year + 1, 1, 1))
    ).one()


def co_organizer_names(event: Event) -> list[str]:
    return list(
        db.session.scalars(
            db.select(Partner.name)
            .join(Partnership.partner)
            .where(
                Partnership.event_id == event.id,
                Partnership.role == PartnershipRole.CO_ORGANIZER,
                Partnership.status == PartnershipStatus.APPROVED,
            )
            .order_by(Partnership.display_order, Partnership.id)
        )
    )


@pytest.fixture
def imported(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["history", "import"])
    assert result.exit_code == 0, result.output


def test_cli_import_reports_what_it_added(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["history", "import"])
    assert result.exit_code == 0, result.output
    partners = len(DISTINCT_CO_ORGANIZERS)
    assert (
        f"added 2 series, 10 events, {partners} partners, {partners} partnerships" in result.output
    )


@pytest.mark.parametrize(
    ("year", "days", "city", "city_ko", "country", "co_organizers"),
    HISTORY,
    ids=[str(row[0]) for row in HISTORY],
)
def test_cli_import_loads_each_past_conference_as_the_source_gives_it(
    app: Flask,
    imported: None,
    year: int,
    days: list[date],
    city: str,
    city_ko: str,
    country: str,
    co_organizers: list[str],
) -> None:
    with app.app_context():
        event = event_of_year(year)
        assert event.day_list == days
        assert (event.start_date, event.end_date) == (days[0], days[-1])
        assert (event.city, event.city_ko, event.country) == (city, city_ko, country)
        assert event.status == EventStatus.ARCHIVED
        assert event.series.slug == "international-conference"
        assert co_organizer_names(event) == co_organizers


def test_import_adds_ten_archived_events_in_two_series(app: Flask, imported: None) -> None:
    with app.app_context():
        events = db.session.scalars(db.select(Event).order_by(Event.start_date)).all()
        assert [e.start_date.year for e in events] == [row[0] for row in HISTORY]
        assert {e.status for e in events} == {EventStatus.ARCHIVED}
        series = db.session.scalars(db.select(Series).order_by(Series.position)).all()
        assert [(s.slug, s.name) for s in series] == [
            ("international-conference",
             "International Conference on North Korean Human Rights and Refugees"),
            ("new-approaches", "New Approaches: North Korea"),
        ]
        assert all(s.name_ko and s.description and s.description_ko for s in series)


def test_each_2005_co_organizer_is_its_own_partner_with_an_approved_partnership(
    app: Flask, imported: None
) -> None:
    with app.app_context():
        event = event_of_year(2005)
        partnerships = db.session.scalars(
            db.select(Partnership).where(Partnership.event_id == event.id)
        ).all()
        assert len(partnerships) == 7
        assert len({p.partner_id for p in partnerships}) == 7
        assert {(p.role, p.status) for p in partnerships} == {
            (PartnershipRole.CO_ORGANIZER, PartnershipStatus.APPROVED)
        }
        assert db.session.scalar(db.select(db.func.count(Partner.id))) == len(
            DISTINCT_CO_ORGANIZERS
        )


def test_service_import_twice_adds_nothing_and_changes_no_row(app: Flask) -> None:
    with app.app_context():
        first = import_history()
        db.session.commit()
        assert (first.series, first.events) == (2, 10)
        before = snapshot()
        second = import_history()
        db.session.commit()
        assert (second.series, second.events, second.partners, second.partnerships) == (0, 0, 0, 0)
        assert snapshot() == before


def test_cli_import_twice_changes_nothing(app: Flask, runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["history", "import"]).exit_code == 0
    with app.app_context():
        before = snapshot()
    again = runner.invoke(args=["history", "import"])
    assert again.exit_code == 0, again.output
    assert "added 0 series, 0 events, 0 partners, 0 partnerships" in again.output
    with app.app_context():
        assert snapshot() == before


def test_an_organizers_edit_of_an_imported_event_survives_a_reimport(
    app: Flask, client: FlaskClient, auth: Any, imported: None
) -> None:
    with app.app_context():
        event_id = event_of_year(2010).id
    auth.organizer()
    page = parse(client.get(f"/manage/events/{event_id}/edit").get_data(as_text=True))
    values: dict[str, object] = dict(form_values(page.one("form", class_="form")))
    values["languages"] = ticked(page.one("form", class_="form"), "languages")
    assert values["languages"] == ["en", "ko"]
    assert (values["start_date"], values["end_date"]) == ("2010-08-19", "2010-08-22")
    values.update(
        title="4th International Conference, Toronto",
        venue="University of Toronto",
        skipped_days="2010-08-21",
    )
    response = client.post(f"/manage/events/{event_id}/edit", data=values)
    assert response.status_code == 303, response.get_data(as_text=True)
    # Signed out before the snapshot: signing out leaves an entry on the audit trail.
    assert client.post("/sign-out").status_code == 303
    with app.app_context():
        # The organizer also declines one of the imported co-organizers.
        declined = db.session.scalars(
            db.select(Partnership).where(Partnership.event_id == event_of_year(2008).id)
        ).one()
        declined.status = PartnershipStatus.DECLINED
        db.session.commit()
        before = snapshot()

    with app.app_context():
        report = import_history()
        db.session.commit()
        assert report.events == 0 and report.partnerships == 0
        assert snapshot() == before
        event = db.session.get(Event, event_id)
        assert event.title == "4th International Conference, Toronto"
        assert event.venue == "University of Toronto"
        assert event.day_list == [date(2010, 8, 19), date(2010, 8, 20), date(2010, 8, 22)]
        assert co_organizer_names(event_of_year(2008)) == []


@pytest.mark.parametrize("spelling", ["Chosun Ilbo", "chosun  ilbo", "CHOSUN-ILBO",
                                      " Chosun\tIlbo. "])
def test_partner_names_that_differ_only_in_case_spacing_or_punctuation_are_one_partner(
    app: Flask, spelling: str
) -> None:
    assert partner_name_key(spelling) == partner_name_key("Chosun Ilbo")
    with app.app_context():
        first = find_or_add_partner("Chosun Ilbo")
        assert find_or_add_partner(spelling).id == first.id
        db.session.commit()
        assert db.session.scalars(db.select(Partner.name)).all() == ["Chosun Ilbo"]


def test_import_reuses_a_partner_already_recorded_under_another_spelling(app: Flask) -> None:
    with app.app_context():
        existing = find_or_add_partner("CHOSUN-ILBO")
        db.session.commit()
        report = import_history()
        db.session.commit()
        assert report.partners == len(DISTINCT_CO_ORGANIZERS) - 1
        partnership = db.session.scalars(
            db.select(Partnership).where(Partnership.event_id == event_of_year(1999).id)
        ).one()
        assert partnership.partner_id == existing.id


# --- the public page -------------------------------------------------------------------------


def history_rows(html: str) -> list[list[str]]:
    table = parse(html).one("table", class_="history")
    body = table.one("tbody")
    return [[cell.text for cell in row.find_all() if cell.tag in ("th", "td")]
            for row in body.find_all("tr")]


def expected_rows(language: str) -> list[list[str]]:
    rows = []
    for year, _, city, city_ko, country, names in HISTORY:
        if language == "ko":
            rows.append([str(year), DAYS_KO[year], f"{COUNTRY_KO[country]} {city_ko}",
                         ", ".join(names)])
        else:
            rows.append([str(year), DAYS_EN[year], f"{city}, {COUNTRY_EN[country]}",
                         ", ".join(names)])
    return rows


def test_history_page_in_english_shows_every_row(client: FlaskClient, imported: None) -> None:
    response = client.get("/history", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert parse(html).one("html").get("lang") == "en"
    assert history_rows(html) == expected_rows("en")


def test_history_page_follows_accept_language_korean(client: FlaskClient, imported: None) -> None:
    response = client.get("/history", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"})
    html = response.get_data(as_text=True)
    assert parse(html).one("html").get("lang") == "ko"
    assert history_rows(html) == expected_rows("ko")


JAPANESE_CITIES = {"Seoul": "ソウル", "Tokyo": "東京", "Prague": "プラハ", "Warsaw": "ワルシャワ",
                   "Bergen": "ベルゲン", "London": "ロンドン", "Melbourne": "メルボルン",
                   "Toronto": "トロント"}


def test_history_page_in_japanese_names_the_series_and_cities_in_japanese(
    client: FlaskClient, imported: None
) -> None:
    html = client.get("/history", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert parse(html).one("html").get("lang") == "ja"
    for english, japanese in JAPANESE_CITIES.items():
        assert japanese in html, english
    rows = " ".join(" ".join(row) for row in history_rows(html))
    assert not any(english in rows for english in JAPANESE_CITIES), rows
    home = client.get("/", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    # The glossary keeps "New Approaches: North Korea" in Japanese; its text is Japanese.
    assert "北朝鮮人権・難民問題国際会議" in home and "2006年に始まった" in home
    assert "International Conference on North Korean Human Rights" not in home


def test_a_reimport_gives_an_older_history_its_japanese_texts(app: Flask, imported: None) -> None:
    with app.app_context():
        for series in db.session.scalars(db.select(Series)):
            series.name_ja = series.description_ja = None
        tokyo = db.session.scalar(db.select(Event).where(Event.slug == "icnkhr-2002-tokyo"))
        tokyo.city_ja = tokyo.title_ja = None
        db.session.commit()
        import_history()
        db.session.commit()
        assert tokyo.city_ja == "東京"
        assert tokyo.title_ja == "北朝鮮人権・難民問題国際会議（東京、2002年）"
        assert all(s.description_ja for s in db.session.scalars(db.select(Series)))


def test_language_chosen_with_the_switch_is_remembered_over_accept_language(
    client: FlaskClient, imported: None
) -> None:
    response = client.post("/language", data={"lang": "ko", "next": "/history"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/history"
    html = client.get("/history", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert parse(html).one("html").get("lang") == "ko"
    assert history_rows(html) == expected_rows("ko")

    client.post("/language", data={"lang": "en", "next": "/history"})
    html = client.get("/history", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert history_rows(html) == expected_rows("en")


def test_history_year_links_to_each_event_page(client: FlaskClient, imported: None) -> None:
    table = parse(client.get("/history").get_data(as_text=True)).one("table", class_="history")
    links = [a.get("href") for a in table.find_all("a")]
    assert len(links) == 10
    event_page = client.get(links[4])
    assert event_page.status_code == 200
    html = event_page.get_data(as_text=True)
    assert "Sun, Feb 29 – Tue, Mar 2, 2004" in html
    assert "Helsinki Foundation for Human Rights" in html


def test_history_lists_only_approved_co_organizers(
    app: Flask, client: FlaskClient, imported: None
) -> None:
    with app.app_context():
        london = event_of_year(2008)
        for order, (name, role, status) in enumerate(
            [
                ("Applied Foundation", PartnershipRole.CO_ORGANIZER, PartnershipStatus.APPLIED),
                ("Declined Institute", PartnershipRole.CO_ORGANIZER, PartnershipStatus.DECLINED),
                ("Withdrawn Society", PartnershipRole.CO_ORGANIZER, PartnershipStatus.WITHDRAWN),
                ("Approved Sponsor Ltd", PartnershipRole.SPONSOR, PartnershipStatus.APPROVED),
                ("Second Host University", PartnershipRole.CO_ORGANIZER,
                 PartnershipStatus.APPROVED),
            ],
            start=1,
        ):
            db.session.add(
                Partnership(partner=find_or_add_partner(name), event=london, role=role,
                            status=status, display_order=order)
            )
        db.session.commit()
    rows = {row[0]: row for row in history_rows(client.get("/history").get_data(as_text=True))}
    assert rows["2008"][3] == "Chatham House, Second Host University"
    page = client.get("/history").get_data(as_text=True)
    for hidden in ("Applied Foundation", "Declined Institute", "Withdrawn Society",
                   "Approved Sponsor Ltd"):
        assert hidden not in page
