"""Names as people write them (DESIGN.md invariant 8): Korean, Japanese and Chinese names family
name first without a space, Western names given name first, from one function on every surface;
searches find a person by the whole name in either order, with or without spaces."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from smtp import smtp_settings

from nkhr_events.extensions import db
from nkhr_events.names import fold, full_name, greeting_name, name_search_key
from nkhr_events.outbox.delivery import deliver_due

PEOPLE = {
    "korean": {"given_name": "영희", "family_name": "이", "language": "ko"},
    "japanese": {"given_name": "花子", "family_name": "山田", "language": "en"},
    "western": {"given_name": "Ada", "family_name": "Lovelace", "language": "en"},
}
WRITTEN = {"korean": "이영희", "japanese": "山田花子", "western": "Ada Lovelace"}
BACKWARDS = ["영희 이", "花子 山田", "Lovelace Ada", "이, 영희", "山田, 花子", "Lovelace, Ada"]


@pytest.mark.parametrize(
    ("given", "family", "written", "greeted"),
    [
        ("민지", "박", "박민지", "박민지"),
        ("花子", "山田", "山田花子", "山田花子"),
        ("伟", "王", "王伟", "王伟"),
        ("はなこ", "やまだ", "やまだはなこ", "やまだはなこ"),
        ("Min-ji", "Park", "Min-ji Park", "Min-ji"),
        ("Ada", "Lovelace", "Ada Lovelace", "Ada"),
        ("", "Madonna", "Madonna", "Madonna"),
    ],
)
def test_a_name_is_written_in_the_order_of_its_script(
    given: str, family: str, written: str, greeted: str
) -> None:
    assert full_name(given, family) == written
    assert greeting_name(given, family) == greeted


def test_the_search_key_holds_the_name_in_both_orders_folded() -> None:
    key = name_search_key("영희", "이")
    for typed in ("이영희", "이 영희", "영희 이", "영희이"):
        assert fold(typed) in key
    key = name_search_key("José", "Pérez-Núñez")
    for typed in ("jose perez", "PEREZ-NUNEZ JOSE", "José Pérez"):
        assert fold(typed) in key


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


@pytest.fixture
def site(app: Flask) -> dict[str, Any]:
    with app.app_context():
        event = make_event(participant_list="public")
        ids = {
            who: make_registration(event=event, publish_name=True, **person).id
            for who, person in PEOPLE.items()
        }
        db.session.commit()
        return {"event": event.id, "slug": event.slug, "ids": ids}


def assert_names_in_order(text: str, where: str) -> None:
    for who, written in WRITTEN.items():
        assert written in text, f"{where}: {who} not written as {written!r}"
    for wrong in BACKWARDS:
        assert wrong not in text, f"{where}: {wrong!r}"


def test_every_staff_and_public_surface_writes_each_name_in_its_order(
    app: Flask, client: FlaskClient, auth: Any, site: dict[str, Any], smtp_server: Any
) -> None:
    event_id, slug = site["event"], site["slug"]
    assert_names_in_order(
        client.get(f"/events/{slug}/participants").get_data(as_text=True), "public list"
    )
    auth.organizer()
    pages = {
        "roster": f"/manage/events/{event_id}/registrations",
        "badges": f"/manage/events/{event_id}/badges",
        "sign-in sheet": f"/manage/events/{event_id}/sign-in-sheet",
        "door": f"/manage/events/{event_id}/door?q=a",
    }
    for where, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, where
        text = parse(response.get_data(as_text=True)).text
        if where == "door":
            assert "Ada Lovelace" in text
            continue
        assert_names_in_order(text, where)
    for who, registration_id in site["ids"].items():
        page = parse(client.get(f"/manage/registrations/{registration_id}").get_data(
            as_text=True))
        assert page.one("h1").text == WRITTEN[who]
    export = client.get(f"/manage/events/{event_id}/registrations/export?format=csv")
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(r["Name"] for r in rows) == sorted(WRITTEN.values())
    with app.app_context():
        deliver_due()
    greetings = {m["To"]: m.get_body(("plain",)).get_content() for m in smtp_server.messages}
    korean = next(text for to, text in greetings.items() if "이영희" in text)
    assert korean.splitlines()[0].startswith("이영희 님")  # the whole name, family first
    western = next(text for text in greetings.values() if "Ada" in text)
    assert western.startswith("Hello Ada,")


@pytest.mark.parametrize("typed", ["이영희", "이 영희", "영희 이", "  이영희 "])
def test_roster_and_door_find_a_korean_name_typed_in_either_order(
    client: FlaskClient, auth: Any, site: dict[str, Any], typed: str
) -> None:
    auth.organizer()
    event_id = site["event"]
    roster = parse(client.get(f"/manage/events/{event_id}/registrations",
                              query_string={"q": typed}).get_data(as_text=True))
    names = [th.one("a").text for th in roster.find_all("th", scope="row")]
    assert names == ["이영희"], typed
    door = client.get(f"/manage/events/{event_id}/door", query_string={"q": typed})
    text = parse(door.get_data(as_text=True)).text
    assert "이영희" in text and "Ada Lovelace" not in text, typed


@pytest.mark.parametrize("typed", ["lovelace ada", "Ada  Lovelace", "ADALOVELACE"])
def test_a_western_name_is_found_in_either_order_any_case(
    client: FlaskClient, auth: Any, site: dict[str, Any], typed: str
) -> None:
    auth.organizer()
    roster = parse(client.get(f"/manage/events/{site['event']}/registrations",
                              query_string={"q": typed}).get_data(as_text=True))
    assert [th.one("a").text for th in roster.find_all("th", scope="row")] == ["Ada Lovelace"]


@pytest.mark.parametrize(("language", "first"), [("ko", "family_name"), ("en", "given_name")])
def test_the_form_asks_for_the_family_name_first_on_a_korean_page(
    client: FlaskClient, site: dict[str, Any], language: str, first: str
) -> None:
    client.set_cookie("nkhr_lang", language)
    page = parse(client.get(f"/events/{site['slug']}/register?category=general_public")
                 .get_data(as_text=True))
    order = [e.get("name") for e in page.iter()
             if e.tag == "input" and e.get("name") in ("given_name", "family_name")]
    assert order[0] == first


def test_korean_html_emails_never_break_inside_a_word(
    app: Flask, site: dict[str, Any], smtp_server: Any
) -> None:
    with app.app_context():
        deliver_due()
    korean = next(
        m for m in smtp_server.messages if "이영희" in m.get_body(("plain",)).get_content()
    )
    html = korean.get_body(("html",)).get_content()
    body = parse(html).one("body").get("style") or ""
    assert "word-break:keep-all" in body.replace(" ", "")
    western = next(m for m in smtp_server.messages if m["To"] != korean["To"]
                   and "Ada" in m.get_body(("plain",)).get_content())
    assert "keep-all" not in western.get_body(("html",)).get_content()
