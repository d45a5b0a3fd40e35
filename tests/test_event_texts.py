"""Event text in every language the event uses: staff write title, description, venue and city per
language (and each category's extra question); readers get their own language, or the event's
text in another of its languages marked with its `lang`; staff see what is missing; emails and
calendar files follow the recipient."""

from __future__ import annotations

from typing import Any

import pytest
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import parse, ticked
from smtp import smtp_settings

from nkhr_events.events.models import Event
from nkhr_events.events.texts import LocalText, local_text, missing_translations
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.registrations.models import EventCategory

TRILINGUAL = {
    "languages": "en ko ja",
    "title": "Conference on North Korean Human Rights, Tokyo",
    "title_ko": "북한인권 국제회의 도쿄",
    "title_ja": "北朝鮮人権国際会議 東京",
    "venue": "Tokyo International Forum",
    "venue_ko": "도쿄 국제 포럼",
    "venue_ja": "東京国際フォーラム",
    "city": "Tokyo",
    "city_ko": "도쿄",
    "city_ja": "東京",
    "country": "JP",
    "timezone": "Asia/Tokyo",
    "description": "Two days of testimony.",
    "description_ko": "이틀 동안의 증언.",
    "description_ja": "二日間の証言。",
}


@pytest.fixture
def app_settings(smtp_server: Any) -> dict[str, object]:
    return smtp_settings(smtp_server)


def event_page(client: FlaskClient, slug: str, language: str) -> Any:
    client.set_cookie("nkhr_lang", language)
    return parse(client.get(f"/events/{slug}").get_data(as_text=True))


def test_the_text_helper_falls_back_through_the_events_languages() -> None:
    event = Event(languages="ko ja", title="", title_ko="서울 회의", title_ja="ソウル会議",
                  description_ja="日本語だけ")
    assert local_text(event, "title", "ja") == LocalText("ソウル会議", "ja", False)
    # An English reader reads the first of the event's languages that has the text.
    assert local_text(event, "title", "en") == LocalText("서울 회의", "ko", True)
    assert local_text(event, "description", "ko") == LocalText("日本語だけ", "ja", True)
    assert local_text(event, "venue", "en") == LocalText("", "en", False)
    assert missing_translations(event) == {"ko": ["description"]}


@pytest.mark.parametrize(
    ("language", "title", "place", "description"),
    [
        ("en", TRILINGUAL["title"], "Tokyo International Forum, Tokyo", "Two days of testimony."),
        ("ko", TRILINGUAL["title_ko"], "일본 도쿄 도쿄 국제 포럼", "이틀 동안의 증언."),
        ("ja", TRILINGUAL["title_ja"], "日本、東京、東京国際フォーラム", "二日間の証言。"),
    ],
)
def test_each_reader_reads_the_event_in_their_language(
    app: Flask, client: FlaskClient, language: str, title: str, place: str, description: str
) -> None:
    with app.app_context():
        slug = make_event(**TRILINGUAL).slug
        db.session.commit()
    page = event_page(client, slug, language)
    assert page.one("h1").text == title
    assert page.one("h1").find("span") is None  # no fallback marker
    assert place in page.text
    assert page.one("div", class_="description").text == description
    assert page.one("div", class_="description").get("lang") is None
    assert page.one("title").text.startswith(title)


def test_a_text_left_out_is_shown_in_another_language_and_marked_as_such(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        slug = make_event(languages="ko ja", title="", title_ko="북한인권 국제회의 서울",
                          title_ja="北朝鮮人権国際会議 ソウル", city="", city_ko="서울",
                          city_ja="ソウル", venue="", venue_ko="프레스센터",
                          description_ko="한국어 설명만 있습니다.").slug
        db.session.commit()
    english = event_page(client, slug, "en")
    marker = english.one("h1").one("span")
    assert (marker.get("lang"), marker.text) == ("ko", "북한인권 국제회의 서울")
    described = english.one("div", class_="description")
    assert (described.get("lang"), described.text) == ("ko", "한국어 설명만 있습니다.")
    assert "<span" not in english.one("title").raw_text  # plain text in the window title

    japanese = event_page(client, slug, "ja")
    assert japanese.one("h1").text == "北朝鮮人権国際会議 ソウル"
    assert japanese.one("h1").find("span") is None
    assert japanese.one("div", class_="description").get("lang") == "ko"
    venue = next(s for s in japanese.find_all("span", lang="ko") if s.text == "프레스센터")
    assert venue is not None


def staff_form(client: FlaskClient, url: str) -> Any:
    return parse(client.get(url).get_data(as_text=True)).one("form", class_="form")


def test_staff_write_each_language_and_see_which_translations_are_missing(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    with app.app_context():
        event = make_event(languages="en ko", title_ko="서울 회의", description="English only.")
        db.session.commit()
        event_id = event.id
    auth.organizer()
    url = f"/manage/events/{event_id}/edit"
    page = parse(client.get(url).get_data(as_text=True))
    missing = page.one("section", class_="notice")
    assert "Missing translations" in missing.text
    assert "Korean: Venue, Description" in missing.text
    assert "Japanese" not in missing.text  # not one of the event's languages
    form = page.one("form", class_="form")
    assert ticked(form, "languages") == ["en", "ko"]
    assert form.one("input", name="title_ja").get("lang") == "ja"

    values = {e.get("name"): e.get("value") or "" for e in form.find_all("input")
              if e.get("type") not in ("checkbox", "radio", "submit")}
    values |= {t.get("name"): t.text for t in form.find_all("textarea")}
    values |= {s.get("name"): next((o.get("value") for o in s.find_all("option")
                                    if "selected" in o.attrs), "") for s in form.find_all("select")}
    values.update(title_ja="ソウル会議", description_ko="한국어 설명.",
                  description_ja="日本語の説明。", city_ja="ソウル", venue_ja="プレスセンター",
                  venue_ko="프레스센터")
    answer = client.post(url, data={**values, "languages": ["en", "ko", "ja"],
                                    "interpretation_pairs": ["en-ko", "ja-ko"]})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    with app.app_context():
        saved = db.session.get(Event, event_id)
        assert saved.languages == "en ko ja"
        assert saved.interpretation_pairs == "en-ko ja-ko"
        assert (saved.title_ja, saved.description_ko, saved.venue_ja) == (
            "ソウル会議", "한국어 설명.", "プレスセンター")
        assert missing_translations(saved) == {}
    assert parse(client.get(url).get_data(as_text=True)).find("section", class_="notice") is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"languages": []}, "languages", "Choose at least one language for the event."),
        ({"languages": ["ja"], "title_ja": ""}, "title_ja",
         "Give the event a title in at least one of its languages."),
        ({"languages": ["ja"], "title_ja": "会議", "city_ja": ""}, "city_ja",
         "Give the city in at least one of the event's languages."),
    ],
)
def test_an_event_needs_a_language_and_a_title_and_city_in_one_of_them(
    app: Flask, client: FlaskClient, auth: Any, changes: dict[str, Any], field: str,
    message: str,
) -> None:
    with app.app_context():
        event = make_event(title="Kept Title")
        db.session.commit()
        event_id, series_id = event.id, event.series_id
    auth.organizer()
    url = f"/manage/events/{event_id}/edit"
    form = staff_form(client, url)
    values = {e.get("name"): e.get("value") or "" for e in form.find_all("input")
              if e.get("type") not in ("checkbox", "radio", "submit")}
    values.update(series_id=str(series_id), country="KR", timezone="Asia/Seoul",
                  participant_list="off", **changes)
    answer = client.post(url, data=values)
    assert answer.status_code == 200
    page = parse(answer.get_data(as_text=True))
    assert message in page.one(id=f"{field}-error").text
    with app.app_context():
        assert db.session.get(Event, event_id).title == "Kept Title"


def test_a_japanese_only_event_is_created_with_no_english_text(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    with app.app_context():
        series_id = make_event().series_id
        db.session.commit()
    auth.organizer()
    answer = client.post("/manage/events/new", data={
        "series_id": str(series_id), "languages": ["ja"], "title_ja": "東京会議",
        "city_ja": "東京", "slug": "tokyo-only", "start_date": "2031-05-01", "country": "JP",
        "timezone": "Asia/Tokyo", "participant_list": "off", "retention_days": "180",
    })
    assert answer.status_code == 303, answer.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(db.select(Event).where(Event.slug == "tokyo-only"))
        assert (event.languages, event.title, event.title_ja, event.city) == (
            "ja", "", "東京会議", "")
        assert event.interpretation_pairs == ""  # nothing ticked: no interpretation


def test_staff_pages_show_the_title_in_the_staff_members_language(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    with app.app_context():
        event_id = make_event(**TRILINGUAL).id
        db.session.commit()
    auth.organizer()
    client.set_cookie("nkhr_lang", "ko")
    for url in (f"/manage/events/{event_id}/registrations",
                f"/manage/events/{event_id}", "/manage/"):
        text = parse(client.get(url).get_data(as_text=True)).text
        assert TRILINGUAL["title_ko"] in text, url
        assert TRILINGUAL["title"] not in text, url
    client.set_cookie("nkhr_lang", "ja")
    text = parse(client.get(f"/manage/events/{event_id}/door").get_data(as_text=True)).text
    assert TRILINGUAL["title_ja"] in text


def test_emails_and_calendar_files_follow_the_recipient(
    app: Flask, smtp_server: Any
) -> None:
    with app.app_context():
        event = make_event(**TRILINGUAL)
        make_registration(event=event, language="ja", family_name="山田", given_name="花子",
                          email="hanako@example.org")
        make_registration(event=event, language="ko", family_name="이", given_name="영희",
                          email="younghee@example.org")
        db.session.commit()
        deliver_due()
    by_address = {m["To"]: m for m in smtp_server.messages}
    japanese = by_address["hanako@example.org"]
    text = japanese.get_body(("plain",)).get_content()
    assert TRILINGUAL["title_ja"] in text and "東京国際フォーラム" in text
    assert TRILINGUAL["title"] not in text
    calendar = next(p for p in japanese.walk() if p.get_content_type() == "text/calendar")
    ics = calendar.get_content()
    ics = ics if isinstance(ics, str) else ics.decode()
    unfolded = ics.replace("\r\n ", "")
    assert f"SUMMARY:{TRILINGUAL['title_ja']}" in unfolded
    assert "LOCATION:日本、東京、東京国際フォーラム" in unfolded
    korean = by_address["younghee@example.org"].get_body(("html",)).get_content()
    assert TRILINGUAL["title_ko"] in korean and "도쿄 국제 포럼" in korean


def test_an_english_reader_of_a_korean_only_event_gets_the_korean_title_marked(
    app: Flask, smtp_server: Any
) -> None:
    with app.app_context():
        event = make_event(languages="ko", title="", title_ko="북한인권 국제회의", city="",
                           city_ko="서울")
        make_registration(event=event, language="en", email="ada@example.org")
        db.session.commit()
        deliver_due()
    [message] = smtp_server.messages
    assert "북한인권 국제회의" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    assert '<span lang="ko">북한인권 국제회의</span>' in html
    assert "북한인권 국제회의" in message.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    ("language", "label"),
    [("en", "Which panel?"), ("ko", "어느 패널입니까?"), ("ja", "どのパネルですか?")],
)
def test_the_extra_question_is_asked_in_the_readers_language(
    app: Flask, client: FlaskClient, language: str, label: str
) -> None:
    with app.app_context():
        event = make_event()
        db.session.add(EventCategory(event=event, category="journalist",
                                     extra_question="Which panel?",
                                     extra_question_ko="어느 패널입니까?",
                                     extra_question_ja="どのパネルですか?"))
        db.session.commit()
        slug = event.slug
    client.set_cookie("nkhr_lang", language)
    page = parse(client.get(f"/events/{slug}/register?category=journalist").get_data(
        as_text=True))
    assert page.one("label", for_="q_extra").text.startswith(label)


def test_a_japanese_extra_question_alone_is_asked_of_everyone(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        event = make_event(languages="ja")
        db.session.add(EventCategory(event=event, category="journalist",
                                     extra_question_ja="どのパネルですか?"))
        db.session.commit()
        slug = event.slug
    page = parse(client.get(f"/events/{slug}/register?category=journalist").get_data(
        as_text=True))
    assert page.one("label", for_="q_extra").text.startswith("どのパネルですか?")
