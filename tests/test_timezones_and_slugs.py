"""The event form's time zones (common ones first, canonical names only, labelled in the reader's
language, an older stored name kept) and the web address suggested from the title in any
script, unique, shown back in the form."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markup import browser_submission, form_values, parse
from test_staff import event_form_input, series_id  # noqa: F401  (a fixture)
from werkzeug.datastructures import MultiDict

from nkhr_events.events.forms import COMMON_ZONES, canonical_zones
from nkhr_events.events.models import Event
from nkhr_events.events.slugs import romanize_kana, romanize_korean, slugify, suggest_slug
from nkhr_events.extensions import db
from tests.factories import make_event, make_series

LEGACY = ("US/Eastern", "Japan", "ROK", "Etc/GMT+9", "Asia/Calcutta", "Europe/Kiev", "GB")


def zone_options(client: FlaskClient, url: str = "/manage/events/new", lang: str = "en"):
    response = client.get(url, headers={"Accept-Language": lang})
    assert response.status_code == 200
    select = parse(response.get_data(as_text=True)).one("select", id="timezone")
    groups = select.find_all("optgroup")
    return [(g.get("label"), [(o.get("value"), o.text) for o in g.find_all("option")])
            for g in groups]


def test_common_zones_come_first_then_every_canonical_zone_once(
    client: FlaskClient, auth
) -> None:
    auth.organizer()
    (common_label, common), (all_label, rest) = zone_options(client)
    assert common_label == "Common time zones" and all_label == "All time zones"
    assert [value for value, _ in common] == list(COMMON_ZONES)
    assert common[0] == ("Asia/Seoul", "Seoul (Korean Time) – Asia/Seoul")
    assert ("Europe/Oslo", "Oslo (Central European Time) – Europe/Oslo") in common
    values = [value for value, _ in common + rest]
    assert len(values) == len(set(values)) == len(canonical_zones())
    assert 380 < len(values) < 460  # not the ~600 names with every legacy link
    assert not set(LEGACY) & set(values)
    assert "America/Argentina/Buenos_Aires" in values and "Asia/Kolkata" in values
    labels = [label for _, label in rest]
    assert labels == sorted(labels, key=str.casefold)


def test_zones_are_labelled_in_the_readers_language(client: FlaskClient, auth) -> None:
    auth.organizer()
    (_, common), _rest = zone_options(client, lang="ko")
    assert common[0] == ("Asia/Seoul", "서울 (한국 시간) – Asia/Seoul")
    (_, common), _rest = zone_options(client, lang="ja")
    assert common[1][1].startswith("東京")


def test_an_event_with_an_older_zone_name_keeps_it_selected_and_saves(
    app: Flask, client: FlaskClient, auth
) -> None:
    with app.app_context():
        event_id = make_event(timezone="Asia/Calcutta", status="draft").id
        db.session.commit()
    auth.organizer()
    url = f"/manage/events/{event_id}/edit"
    (_, common), _rest = zone_options(client, url)
    assert common[0] == ("Asia/Calcutta", "Asia/Calcutta (older name)")
    page = parse(client.get(url).get_data(as_text=True))
    form = page.one("form", class_="form")
    assert form_values(form)["timezone"] == "Asia/Calcutta"
    sent = MultiDict(browser_submission(form))
    sent["venue"] = "Somewhere new"
    response = client.post(url, data=sent)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert (event.timezone, event.venue) == ("Asia/Calcutta", "Somewhere new")
    # A new event cannot choose the older name.
    (_, common), _rest = zone_options(client)
    assert "Asia/Calcutta" not in [v for v, _ in common]


# --- transliteration -----------------------------------------------------------------------------


@pytest.mark.parametrize(("title", "slug"), [
    ("International Conference Seoul 2031", "international-conference-seoul-2031"),
    ("International Conference, Seoul 2031", "international-conference-seoul-2031"),
    ("Konferencja w Warszawie – Łódź, Tromsø", "konferencja-w-warszawie-lodz-tromso"),
    ("Příští konference v Praze", "pristi-konference-v-praze"),
    ("북한인권 국제회의", "bukhaningwon-gukjehoeui"),
    ("북한인권·난민문제 국제회의, 서울 2031", "bukhaningwon-nanminmunje-gukjehoeui-seoul-2031"),
    ("2031년 서울", "2031nyeon-seoul"),
    ("シンポジウム・トウキョウ", "shinpojiumu-toukyou"),
    ("ソウル会議", None),  # kanji: no transliteration here
    ("Конференция", None),
])
def test_titles_in_any_script_become_slugs_or_none(title: str, slug: str | None) -> None:
    assert slugify(title) == slug


@pytest.mark.parametrize(("word", "roman"), [
    ("서울", "seoul"), ("한국", "hanguk"), ("한국어", "hangugeo"), ("부산", "busan"),
    ("북한", "bukhan"), ("좋아", "joa"), ("별래", "byeollae"), ("광주", "gwangju"),
    ("대한민국", "daehanminguk"), ("Seoul", None),
])
def test_korean_is_romanized_syllable_by_syllable(word: str, roman: str | None) -> None:
    assert romanize_korean(word) == roman


@pytest.mark.parametrize(("word", "roman"), [
    ("ソウル", "souru"), ("とうきょう", "toukyou"), ("きょうと", "kyouto"), ("がっこう", "gakkou"),
    ("マッチ", "matchi"), ("しゃしん", "shashin"), ("コーヒー", "kohi"), ("会議", None),
])
def test_kana_is_romanized_after_hepburn(word: str, roman: str | None) -> None:
    assert romanize_kana(word) == roman


def test_an_untransliterable_title_gives_series_year_and_city_made_unique(app: Flask) -> None:
    with app.app_context():
        series = make_series(slug="icnkhr")
        make_event(series=series, slug="icnkhr-2031-tokyo")
        make_event(series=series, slug="icnkhr-2031-tokyo-2")
        make_event(series=series, slug="seoul-2031")
        db.session.commit()
        assert suggest_slug(["", "", "ソウル会議"], "icnkhr", 2031, ["", "", "東京"]) \
            == "icnkhr-2031"
        assert suggest_slug(["", "", "ソウル会議"], "icnkhr", 2031, ["Tokyo", "도쿄", "東京"]) \
            == "icnkhr-2031-tokyo-3"
        # Korean title when there is no English one; English first when there is.
        assert suggest_slug(["", "서울 2031", ""], "icnkhr", 2031, []) == "seoul-2031-2"
        assert suggest_slug(["Seoul Forum", "서울 2031", ""], "icnkhr", 2031, []) == "seoul-forum"


# --- the form -------------------------------------------------------------------------------


def test_a_new_event_without_a_web_address_is_saved_with_one_from_the_title(
    app: Flask, client: FlaskClient, auth, series_id: int  # noqa: F811
) -> None:
    auth.organizer()
    response = client.post("/manage/events/new", data=event_form_input(series_id, slug=""))
    assert response.status_code == 303
    with app.app_context():
        event = db.session.scalar(db.select(Event).order_by(Event.id.desc()))
        assert event.slug == "international-conference-seoul-2031"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Its web address international-conference-seoul-2031 was suggested from the title" \
        in page
    # The same title again: the next free address.
    again = client.post("/manage/events/new", data=event_form_input(series_id, slug=""))
    assert again.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(Event.slug).order_by(Event.id.desc())) \
            == "international-conference-seoul-2031-2"


def test_a_korean_only_title_is_suggested_in_the_field_and_every_value_kept_on_error(
    app: Flask, client: FlaskClient, auth, series_id: int  # noqa: F811
) -> None:
    auth.organizer()
    typed = event_form_input(series_id, slug="", title="", title_ko="북한인권 국제회의",
                             end_date="2031-07-01")  # before the first day: an error
    response = client.post("/manage/events/new", data=typed)
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    form = page.one("form", class_="form")
    values = form_values(form)
    assert values["slug"] == "bukhaningwon-gukjehoeui"
    assert page.one(id="slug-hint").text == "Suggested from the title: change it if you like."
    assert values["title_ko"] == "북한인권 국제회의" and values["end_date"] == "2031-07-01"
    assert page.one(id="end_date-error").text == "The last day cannot be before the first."
    # The staff member changes the suggestion; theirs is kept.
    response = client.post("/manage/events/new", data={
        **typed, "end_date": "2031-07-13", "slug": "nkhr-seoul-2031"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(Event.slug).order_by(Event.id.desc())) \
            == "nkhr-seoul-2031"


def test_a_kanji_title_falls_back_to_series_year_and_city(
    app: Flask, client: FlaskClient, auth, series_id: int  # noqa: F811
) -> None:
    with app.app_context():
        series_slug = db.session.get(Event, 1).series.slug
    auth.organizer()
    typed = event_form_input(series_id, slug="", title="", title_ko="", title_ja="ソウル会議",
                             languages=["ja"], city="Seoul", city_ja="ソウル")
    response = client.post("/manage/events/new", data=typed)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(db.select(Event).order_by(Event.id.desc()))
        assert event.slug == f"{series_slug}-2031-seoul"
        assert event.start_date == date(2031, 7, 10)


def test_the_new_event_form_says_the_address_may_be_left_empty(
    client: FlaskClient, auth
) -> None:
    auth.organizer()
    page = parse(client.get("/manage/events/new").get_data(as_text=True))
    assert page.one(id="slug-hint").text == (
        "Lower-case letters, digits and hyphens. Leave it empty to get one suggested from the "
        "title.")
    assert "required" not in page.one("input", id="slug").attrs


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "All of its days are in the past"), ("ko", "모든 날짜가 이미 지났습니다"),
     ("ja", "すべての日程が過去の日付です")],
)
def test_an_event_entered_in_the_past_is_saved_and_said_so(
    app: Flask, client: FlaskClient, auth, series_id: int, language: str, said: str  # noqa: F811
) -> None:
    """A past conference may be entered for the record; a mistyped year is noticed at once.
    An event in the future gets no such notice, on creation or on a later edit."""
    auth.organizer()
    headers = {"Accept-Language": language}
    past = event_form_input(series_id, slug="icnkhr-2019-seoul", start_date="2019-07-10",
                            end_date="2019-07-13", skipped_days="",
                            registration_opens_at="2019-01-15T09:00",
                            registration_closes_at="2019-06-30T18:00")
    response = client.post("/manage/events/new", data=past, headers=headers)
    assert response.status_code == 303
    with app.app_context():
        event = db.session.scalar(db.select(Event).where(Event.slug == "icnkhr-2019-seoul"))
        assert event is not None and event.end_date == date(2019, 7, 13)
    page = client.get(response.headers["Location"], headers=headers).get_data(as_text=True)
    assert said in page and "flash-warning" in page

    future = client.post("/manage/events/new", data=event_form_input(series_id),
                         headers=headers)
    assert future.status_code == 303
    page = client.get(future.headers["Location"], headers=headers).get_data(as_text=True)
    assert said not in page


def test_a_suggested_address_follows_a_corrected_title(
    app: Flask, client: FlaskClient, auth, series_id: int  # noqa: F811
) -> None:
    """A title refused (too long) got an address suggested from it; once the title is
    corrected and the form sent back with the suggestion untouched, the address follows the
    new title. An address the organizer typed is kept as typed."""
    auth.organizer()
    refused = event_form_input(series_id, slug="", title="x" * 201)
    page = parse(client.post("/manage/events/new", data=refused).get_data(as_text=True))
    kept = form_values(page.one("form", class_="form"))
    assert kept["slug"].startswith("xxxx") and kept["slug_suggested"] == kept["slug"]

    corrected = {**refused, "title": "Seoul Forum 2031", "slug": kept["slug"],
                 "slug_suggested": kept["slug_suggested"]}
    response = client.post("/manage/events/new", data=corrected)
    assert response.status_code == 303
    with app.app_context():
        event = db.session.scalar(db.select(Event).order_by(Event.id.desc()))
        assert event.slug == "seoul-forum-2031"

    typed = {**refused, "title": "Seoul Forum 2031", "slug": "my-own-address",
             "slug_suggested": kept["slug_suggested"]}
    assert client.post("/manage/events/new", data=typed).status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(Event.slug).order_by(Event.id.desc())) \
            == "my-own-address"
