"""Japanese as a third language: the interface follows the reader's choice or Accept-Language,
forms offer it, and an attendee or a visitor who chooses it gets their emails in Japanese."""

from __future__ import annotations

from typing import Any

import pytest
from factories import make_event
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from smtp import smtp_settings

from nkhr_events.extensions import db
from nkhr_events.inquiries.models import Inquiry
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.registrations.models import Registration


@pytest.fixture
def app_settings(smtp_server: Any) -> dict[str, object]:
    return smtp_settings(smtp_server)


def test_a_japanese_browser_gets_the_site_in_japanese(client: FlaskClient) -> None:
    page = parse(client.get("/", headers={"Accept-Language": "ja,en;q=0.5"}).get_data(
        as_text=True))
    assert page.one("html").get("lang") == "ja"
    assert "過去の会議" in page.one("nav").text
    switch = page.one("form", class_="language-switch")
    buttons = {b.get("value"): b for b in switch.find_all("button")}
    assert set(buttons) == {"en", "ko", "ja"}
    assert buttons["ja"].get("lang") == "ja" and buttons["ja"].text == "日本語"
    assert buttons["ja"].get("aria-pressed") == "true"


def test_the_language_switch_keeps_japanese(client: FlaskClient) -> None:
    answer = client.post("/language", data={"lang": "ja", "next": "/history"})
    assert answer.status_code in (302, 303)
    page = parse(client.get("/history").get_data(as_text=True))
    assert page.one("html").get("lang") == "ja"


def test_an_attendee_who_chooses_japanese_registers_and_is_answered_in_japanese(
    app: Flask, client: FlaskClient, smtp_server: Any
) -> None:
    with app.app_context():
        event = make_event(capacity=5)
        db.session.commit()
        slug, days = event.slug, [d.isoformat() for d in event.day_list]
    client.set_cookie("nkhr_lang", "ja")
    form = parse(client.get(f"/events/{slug}/register?category=general_public").get_data(
        as_text=True))
    languages = [i.get("value") for i in form.find_all("input", name="language")]
    assert languages == ["en", "ko", "ja"]
    names = [e.get("name") for e in form.iter()
             if e.tag == "input" and e.get("name") in ("given_name", "family_name")]
    assert names == ["family_name", "given_name"]  # the family name first
    answer = client.post(f"/events/{slug}/register?category=general_public", data={
        "family_name": "山田", "given_name": "花子", "email": "hanako@example.org",
        "language": "ja", "interpretation": "none", "privacy_consent": "y", "country": "JP",
        "days": days,
    })
    assert answer.status_code == 303
    result = parse(client.get(answer.location).get_data(as_text=True))
    assert result.one("h1").text == "メールをご確認ください"
    with app.app_context():
        assert db.session.scalar(db.select(Registration.language)) == "ja"
        deliver_due()
    [message] = smtp_server.messages
    text = message.get_body(("plain",)).get_content()
    assert text.splitlines()[0] == "山田花子様"
    assert "ご登録ありがとうございます。お席が確定しました。" in text
    html = message.get_body(("html",)).get_content()
    assert '<html lang="ja">' in html and "keep-all" in html


def test_the_contact_form_answers_in_japanese(
    app: Flask, client: FlaskClient, smtp_server: Any
) -> None:
    answer = client.post("/contact", data={
        "name": "山田花子", "email": "hanako@example.org", "subject": "ビザ",
        "message": "招へい状についてお尋ねします。", "language": "ja",
    })
    assert answer.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(Inquiry.language)) == "ja"
        deliver_due()
    ack = next(m for m in smtp_server.messages if m["To"] == "hanako@example.org")
    assert "<html lang=\"ja\">" in ack.get_body(("html",)).get_content()


@pytest.mark.parametrize(("language", "label"), [("ko", "언론인"), ("ja", "報道関係者")])
def test_an_email_says_the_category_in_the_recipients_language_whoever_acted(
    app: Flask, client: FlaskClient, auth: Any, smtp_server: Any, language: str, label: str
) -> None:
    from factories import make_registration

    with app.app_context():
        registration = make_registration(
            category="journalist", status="pending", language=language,
            given_name="영희", family_name="이",
        )
        db.session.commit()
        registration_id, address = registration.id, registration.email
        deliver_due()  # the "awaiting review" email
    auth.organizer()  # the organizer's pages are in English
    client.post(f"/manage/registrations/{registration_id}/decision", data={"action": "approve"})
    with app.app_context():
        deliver_due()
    pending, approval = [m for m in smtp_server.messages if m["To"] == address]
    text = approval.get_body(("plain",)).get_content()
    assert label in text and "Journalist" not in text


def test_the_decision_form_says_which_language_the_reason_goes_out_in(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    """A rejection's reason is sent as typed: the form says the person reads Japanese, in the
    organizer's own language, and ties the hint to the field."""
    from factories import make_registration
    from markup import parse

    with app.app_context():
        registration = make_registration(category="journalist", status="pending",
                                         language="ja", given_name="花子", family_name="山田")
        db.session.commit()
        registration_id = registration.id
    auth.organizer()
    for accept, said in (("en", "Their emails are in 日本語"),
                         ("ko", "이 사람에게 가는 이메일의 언어: 日本語")):
        page = parse(client.get(f"/manage/registrations/{registration_id}",
                                headers={"Accept-Language": accept}).get_data(as_text=True))
        hint = page.one("p", id="reason-hint")
        assert said in hint.text
        assert page.one("textarea", id="reason").get("aria-describedby") == "reason-hint"


def test_japanese_pages_punctuate_the_japanese_way(app: Flask, client: FlaskClient) -> None:
    """Names in a row take "、", a sentence after "。" starts without a space, and a link that
    ends a sentence after a colon takes no ASCII full stop; English keeps its own."""
    import re

    from factories import make_event

    with app.app_context():
        event = make_event(show_seat_counts=True, capacity=40)
        db.session.commit()
        slug = event.slug
    japanese = {"Accept-Language": "ja"}
    pages = {url: client.get(url, headers=japanese).get_data(as_text=True)
             for url in (f"/events/{slug}", "/contact", "/participate", "/privacy",
                         f"/events/{slug}/register/sent")}
    for url, page in pages.items():
        # In the page as written (text collapsed across elements would join paragraphs).
        # A space after "。" shows where the next text runs on: within a paragraph (text or an
        # inline element), not before a new block.
        runs_on = r".{0,20}。\s+(?:[^\s<]|<(?:span|a|strong|em)\b).{0,10}"
        ascii_stop = r".{0,20}[ぁ-んァ-ン一-龯ー」）](?:</a>)? ?\.(?:\s|<).{0,10}"
        assert re.findall(runs_on, page) == [], url
        assert re.findall(ascii_stop, page) == [], url
    outlooks = parse(pages[f"/events/{slug}"]).find_all("span", class_="outlook-who")
    assert outlooks and all("、" in o.text and ", " not in o.text for o in outlooks)

    english = parse(client.get(f"/events/{slug}", headers={"Accept-Language": "en"})
                    .get_data(as_text=True))
    assert any(", " in o.text for o in english.find_all("span", class_="outlook-who"))
    contact = parse(client.get("/contact", headers={"Accept-Language": "en"})
                    .get_data(as_text=True)).one("main").text
    assert "Read the privacy notice." in contact
