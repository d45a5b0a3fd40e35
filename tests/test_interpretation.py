"""Interpretation from the event's language pairs: the form offers the channels the event
interprets and asks nothing where it interprets nothing, a channel it does not offer is refused,
a registration keeps a channel the event has since dropped, every surface names a channel in
its reader's language, and the dashboard counts the receivers to hire per channel and day."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markup import Element, browser_submission, parse
from sqlalchemy import event as sqlalchemy_event
from werkzeug.datastructures import MultiDict

from nkhr_events.checkin.services import checkin_reference
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations import interpretation, links
from nkhr_events.registrations.models import Registration
from nkhr_events.roster.dashboard import interpretation_receivers
from nkhr_events.web import LANGUAGE_COOKIE
from tests.factories import make_event, make_registration

DAYS = [date(2099, 6, 1), date(2099, 6, 2), date(2099, 6, 3)]
NOT_OFFERED = "This event does not offer that interpretation. Choose one of the options shown."
#: The options of an event interpreting Japanese and Korean, as each reader reads them.
JA_KO_OPTIONS = {
    "en": ["No interpretation needed", "Japanese into Korean", "Korean into Japanese"],
    "ko": ["통역 필요 없음", "일본어를 한국어로", "한국어를 일본어로"],
    "ja": ["通訳不要", "日本語から韓国語へ", "韓国語から日本語へ"],
}


def new_event(app: Flask, pairs: str) -> dict[str, Any]:
    """A three-day event open for registration that interprets `pairs`."""
    with app.app_context():
        event = make_event(days=DAYS, interpretation_pairs=pairs)
        db.session.commit()
        return {"id": event.id, "slug": event.slug}


def form_url(event: dict[str, Any]) -> str:
    return f"/events/{event['slug']}/register?category=general_public"


def public_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "given_name": "Hanako",
        "family_name": "Yamada",
        "email": "hanako@example.org",
        "organization": "Tokyo Friends",
        "country": "JP",
        "language": "ja",
        "interpretation": "none",
        "privacy_consent": "y",
        "days": [d.isoformat() for d in DAYS],
    }
    data.update(overrides)
    return data


def options(page: Element) -> list[tuple[str, str]]:
    """The interpretation question's options: (value, label as shown)."""
    question = page.one("fieldset", id="interpretation")
    return [
        (radio.get("value") or "", page.one("label", for_=radio.get("id") or "").text)
        for radio in question.find_all("input", name="interpretation")
    ]


def chosen(page: Element) -> list[str]:
    return [
        radio.get("value") or ""
        for radio in page.find_all("input", name="interpretation")
        if "checked" in radio.attrs
    ]


def field_errors(page: Element) -> list[str]:
    return [p.text for p in page.one("fieldset", id="interpretation").find_all(
        "p", class_="error-message")]


def registrations(app: Flask) -> list[Registration]:
    with app.app_context():
        rows = list(db.session.scalars(db.select(Registration).order_by(Registration.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def details_form(page: Element) -> Element:
    return next(
        f for f in page.find_all("form")
        if (f.get("method") or "").lower() == "post" and f.find(name="given_name") is not None
    )


def table_rows(page: Element, caption: str) -> list[list[str]]:
    table = next(t for t in page.find_all("table") if caption in t.one("caption").text)
    return [[c.text for c in tr.iter() if c.tag in ("th", "td")] for tr in table.find_all("tr")]


# --- the channels and their names -------------------------------------------------------------


def test_each_pair_offers_both_directions_in_the_event_order() -> None:
    def channels(pairs: str) -> list[str]:
        return interpretation.event_channels(Event(interpretation_pairs=pairs))

    assert channels("en-ko") == ["en_to_ko", "ko_to_en"]
    assert channels("ja-ko en-ko") == ["ja_to_ko", "ko_to_ja", "en_to_ko", "ko_to_en"]
    assert channels("en-ko ko-en") == ["en_to_ko", "ko_to_en"]
    assert channels("") == []
    # Not a pair of two languages: nothing to offer.
    assert channels("ko ko-ko") == []


def test_every_channel_between_the_three_languages_has_a_name_of_its_own(app: Flask) -> None:
    codes = [interpretation.channel(a, b) for a in ("en", "ko", "ja") for b in ("en", "ko", "ja")
             if a != b]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        names = {code: interpretation.label(code) for code in codes}
        assert names["ja_to_ko"] == "Japanese into Korean"
        assert names["en_to_ja"] == "English into Japanese"
        assert len(set(names.values())) == 6
        assert interpretation.label("none") == "No interpretation needed"
        # Stored codes this site has no name for still read sensibly.
        assert interpretation.label("zh_to_ko") == "zh → ko"
        assert interpretation.label("ko") == "ko"


# --- the registration form ----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ko", "ja"])
def test_an_event_interpreting_japanese_and_korean_offers_exactly_those_two_channels(
    app: Flask, client: FlaskClient, language: str
) -> None:
    event = new_event(app, "ja-ko")
    client.set_cookie(LANGUAGE_COOKIE, language)
    page = parse(client.get(form_url(event)).get_data(as_text=True))
    assert options(page) == list(
        zip(["none", "ja_to_ko", "ko_to_ja"], JA_KO_OPTIONS[language], strict=True)
    )
    assert chosen(page) == ["none"]


def test_a_channel_the_event_does_not_offer_is_refused_beside_the_question_keeping_the_form(
    app: Flask, client: FlaskClient
) -> None:
    event = new_event(app, "ja-ko")
    response = client.post(form_url(event), data=public_form(interpretation="ko_to_en"))
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert field_errors(page) == [NOT_OFFERED]
    assert page.one("input", name="given_name").get("value") == "Hanako"
    assert page.one("input", name="email").get("value") == "hanako@example.org"
    assert page.one("input", name="organization").get("value") == "Tokyo Friends"
    assert registrations(app) == []


def test_the_service_takes_only_a_channel_the_event_offers(app: Flask) -> None:
    with app.app_context():
        event = make_event(days=DAYS, interpretation_pairs="ja-ko")
        with pytest.raises(DomainError) as refused:
            make_registration(event=event, interpretation="ko_to_en")
        assert (refused.value.field, refused.value.message) == ("interpretation", NOT_OFFERED)
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0
        taken = make_registration(event=event, interpretation="ko_to_ja")
        assert taken.interpretation == "ko_to_ja"


def test_an_event_that_interprets_nothing_asks_nothing_and_registers_none(
    app: Flask, client: FlaskClient
) -> None:
    event = new_event(app, "")
    page = parse(client.get(form_url(event)).get_data(as_text=True))
    assert page.find(id="interpretation") is None
    assert page.find("input", name="interpretation") is None
    # A choice sent all the same (a page from before the pairs were removed) is not kept.
    response = client.post(form_url(event), data=public_form(interpretation="ko_to_en"))
    assert response.status_code == 303
    [registration] = registrations(app)
    assert registration.interpretation == "none"

    # The attendee's own page asks nothing either, and saves a change of name.
    with app.app_context():
        token = links.issue_manage_token(db.session.get(Registration, registration.id))
        db.session.commit()
    url = f"/registration/{token}"
    page = parse(client.get(url).get_data(as_text=True))
    assert page.find("input", name="interpretation") is None
    sent = MultiDict(browser_submission(details_form(page)))
    sent["given_name"] = "Hana"
    assert client.post(url, data=sent).status_code == 303
    [registration] = registrations(app)
    assert (registration.given_name, registration.interpretation) == ("Hana", "none")


# --- a channel the event has dropped ------------------------------------------------------------


def test_a_registration_keeps_a_channel_the_event_dropped_when_it_changes_its_name(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        event = make_event(days=DAYS, interpretation_pairs="en-ko")
        registration = make_registration(
            event=event, given_name="Min-ji", family_name="Kim", interpretation="ko_to_en"
        )
        token = links.issue_manage_token(registration)
        event.interpretation_pairs = "ja-ko"
        db.session.commit()
    url = f"/registration/{token}"
    page = parse(client.get(url).get_data(as_text=True))
    assert options(page) == [
        ("none", "No interpretation needed"),
        ("ja_to_ko", "Japanese into Korean"),
        ("ko_to_ja", "Korean into Japanese"),
        ("ko_to_en", "Korean into English"),
    ]
    assert chosen(page) == ["ko_to_en"]

    sent = MultiDict(browser_submission(details_form(page)))
    sent["given_name"] = "Minji"
    assert client.post(url, data=sent).status_code == 303
    [saved] = registrations(app)
    assert (saved.given_name, saved.interpretation) == ("Minji", "ko_to_en")

    # A new choice must be one the event offers: refused beside the question, nothing saved.
    sent["interpretation"] = "en_to_ko"
    sent["given_name"] = "Min"
    response = client.post(url, data=sent)
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert field_errors(page) == [NOT_OFFERED]
    assert page.one("input", name="given_name").get("value") == "Min"
    [saved] = registrations(app)
    assert (saved.given_name, saved.interpretation) == ("Minji", "ko_to_en")


def test_staff_pages_and_the_attendees_data_name_the_channel_in_the_readers_language(
    app: Flask, client: FlaskClient, auth
) -> None:
    with app.app_context():
        event = make_event(days=DAYS, interpretation_pairs="ja-ko en-ko")
        registration = make_registration(event=event, interpretation="ja_to_ko")
        dropped = make_registration(event=event, interpretation="ko_to_en")
        token = links.issue_manage_token(registration)
        reference = checkin_reference(registration)
        event.interpretation_pairs = "ja-ko"
        db.session.commit()
        ids = (registration.id, dropped.id)
    client.set_cookie(LANGUAGE_COOKIE, "ja")
    data = client.get(f"/registration/{token}/data").get_data(as_text=True)
    assert "日本語から韓国語へ" in parse(data).text
    auth.organizer()
    person = parse(client.get(f"/manage/registrations/{ids[0]}").get_data(as_text=True))
    assert "日本語から韓国語へ" in person.text
    assert "韓国語から英語へ" in parse(
        client.get(f"/manage/registrations/{ids[1]}").get_data(as_text=True)
    ).text
    door = parse(client.get(f"/manage/checkin/{reference}").get_data(as_text=True))
    assert "日本語から韓国語へ" in door.one("dl", id="checkin-facts").text


# --- exports ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "names"),
    [
        ("en", ["Japanese into Korean", "No interpretation needed", "English into Japanese"]),
        ("ko", ["일본어를 한국어로", "통역 필요 없음", "영어를 일본어로"]),
    ],
)
def test_the_export_names_each_channel_in_the_exporting_staff_members_language(
    app: Flask, client: FlaskClient, auth, language: str, names: list[str]
) -> None:
    with app.app_context():
        event = make_event(days=DAYS, interpretation_pairs="ja-ko en-ja")
        for given, channel in (("Ai", "ja_to_ko"), ("Bo", "none"), ("Cy", "en_to_ja")):
            make_registration(event=event, given_name=given, interpretation=channel)
        # English and Japanese are no longer interpreted: Cy's channel is named all the same.
        event.interpretation_pairs = "ja-ko"
        db.session.commit()
        event_id = event.id
    client.set_cookie(LANGUAGE_COOKIE, language)
    auth.organizer()
    response = client.get(
        f"/manage/events/{event_id}/registrations/export"
        "?format=csv&sort=registered&columns=given_name&columns=interpretation"
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert [row[1] for row in rows[1:]] == names
    assert [row[0] for row in rows[1:]] == ["Ai", "Bo", "Cy"]


# --- the dashboard ------------------------------------------------------------------------------


def test_the_dashboard_counts_receivers_per_channel_and_day_of_seat_holders_only(
    app: Flask, client: FlaskClient, auth
) -> None:
    with app.app_context():
        event = make_event(days=DAYS, interpretation_pairs="en-ko ja-ko en-ja")
        people: list[tuple[str, str, list[date], dict[str, Any]]] = [
            ("confirmed", "ja_to_ko", DAYS[:2], {}),
            ("pending", "ja_to_ko", [DAYS[1]], {"category": "journalist"}),
            ("confirmed", "ko_to_en", [DAYS[2]], {}),
            ("confirmed", "en_to_ja", [DAYS[0]], {}),
            ("confirmed", "none", DAYS, {}),
            ("cancelled", "ko_to_en", DAYS, {}),
            ("rejected", "ko_to_en", DAYS, {}),
            # Last: a seat freed after it would move it up.
            ("waitlisted", "ja_to_ko", DAYS, {}),
        ]
        for status, channel, days, more in people:
            make_registration(event=event, status=status, interpretation=channel, days=days,
                              **more)
        # English and Japanese are no longer interpreted; the one who chose it still counts.
        event.interpretation_pairs = "en-ko ja-ko"
        db.session.commit()
        event_id = event.id
    auth.organizer()
    page = parse(client.get(f"/manage/events/{event_id}").get_data(as_text=True))
    rows = table_rows(page, "Interpretation receivers")
    assert rows[0][0] == "Channel" and len(rows[0]) == 1 + len(DAYS)
    assert rows[1:] == [
        ["English into Korean", "0", "0", "0"],
        ["Korean into English", "0", "0", "1"],
        ["Japanese into Korean", "1", "2", "0"],
        ["Korean into Japanese", "0", "0", "0"],
        ["English into Japanese", "1", "0", "0"],
        ["Total", "2", "2", "1"],
    ]
    table = next(t for t in page.find_all("table") if "receivers" in t.one("caption").text)
    assert all(th.get("scope") in ("col", "row") for th in table.find_all("th"))


def test_the_dashboard_has_no_receivers_table_where_nothing_is_interpreted(
    app: Flask, client: FlaskClient, auth
) -> None:
    with app.app_context():
        silent = make_event(days=DAYS, interpretation_pairs="")
        make_registration(event=silent)
        offered = make_event(days=DAYS, interpretation_pairs="ja-ko")
        db.session.commit()
        ids = (silent.id, offered.id)
    auth.organizer()
    silent_page = client.get(f"/manage/events/{ids[0]}").get_data(as_text=True)
    assert "Interpretation receivers" not in silent_page
    # An event that interprets shows its channels before anyone chose one.
    offered_page = parse(client.get(f"/manage/events/{ids[1]}").get_data(as_text=True))
    assert table_rows(offered_page, "Interpretation receivers")[1:] == [
        ["Japanese into Korean", "0", "0", "0"],
        ["Korean into Japanese", "0", "0", "0"],
        ["Total", "0", "0", "0"],
    ]


def test_receivers_are_counted_in_one_grouped_query(app: Flask) -> None:
    with app.app_context():
        event = make_event(days=DAYS, interpretation_pairs="en-ko ja-ko")
        for n, channel in enumerate(["en_to_ko", "ko_to_en", "ja_to_ko", "ko_to_ja"] * 3):
            make_registration(event=event, interpretation=channel, days=DAYS[: 1 + n % 3])
        db.session.commit()
        assert event.day_list == DAYS  # loaded before counting
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        sqlalchemy_event.listen(db.engine, "before_cursor_execute", count)
        try:
            receivers = interpretation_receivers(event)
        finally:
            sqlalchemy_event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1 and "GROUP BY" in statements[0].upper()
    assert [row.per_day for row in receivers.rows] == [[3, 2, 1]] * 4
    assert receivers.totals == [12, 8, 4]
