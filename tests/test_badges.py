"""Badges that help the door: each confirmed person's badge carries the QR code of their own
check-in URL, their name as they write it, their category in words and, for those who declined
photos, a small marker with words; never their email or needs. The layout is chosen on the page
and sets the sheet's class and @page; reviewers see the badges of their categories only."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import segno
from flask import Flask
from flask.testing import FlaskClient
from markup import Element, parse

from nkhr_events.checkin import services as checkin
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration
from tests.factories import make_event, make_registration

DAYS = [date(2099, 5, 3), date(2099, 5, 4)]
PRINT_CSS = Path(__file__).resolve().parents[1] / "static" / "css" / "print.css"

#: Given name, family name, what their badge must show, and the rest of their registration.
PEOPLE: dict[str, tuple[str, str, str, dict[str, object]]] = {
    "minjun": (
        "민준",
        "김",
        "김민준",
        {
            "category": "academic",
            "photo_consent": True,
            "organization": "서울대학교",
            "language": "ko",
        },
    ),
    "taro": (
        "太郎",
        "山田",
        "山田太郎",
        {
            "category": "journalist",
            "photo_consent": False,
            "organization": "朝日新聞",
            "language": "ja",
            "days": DAYS[1:],
        },
    ),
    "ada": (
        "Ada",
        "Lovelace",
        "Ada Lovelace",
        {
            "category": "expert",
            "photo_consent": True,
            "organization": "Analytical Engines",
            "days": DAYS[:1],
        },
    ),
    "hidden": (
        "Sun-hee",
        "Choi",
        "Sun-hee",
        {
            "category": "human_rights_org",
            "photo_consent": True,
            "do_not_publish": True,
            "organization": "Secret Shelter",
        },
    ),
}


@pytest.fixture
def people(app: Flask) -> dict[str, int]:
    """Four confirmed people of one two-day event (a fifth, pending, gets no badge); everyone
    has needs and an address, which no badge may show."""
    with app.app_context():
        event = make_event(days=DAYS, title="Seoul Forum", title_ko="서울 포럼")
        ids = {"event": event.id}
        for key, (given, family, _written, extra) in PEOPLE.items():
            values: dict[str, object] = {"days": DAYS, **extra}
            ids[key] = make_registration(
                event=event,
                given_name=given,
                family_name=family,
                email=f"{key}@example.org",
                accessibility_needs=f"Step-free access for {key}",
                dietary_needs="Vegan",
                **values,
            ).id
        ids["pending"] = make_registration(
            event=event,
            given_name="Pending",
            family_name="Person",
            category="journalist",
            status="pending",
        ).id
        db.session.commit()
        return ids


def badges_page(client: FlaskClient, event_id: int, **query: str) -> tuple[int, Element, str]:
    response = client.get(f"/manage/events/{event_id}/badges", query_string=query)
    body = response.get_data(as_text=True)
    return response.status_code, parse(body), body


def badge_of(page: Element, name: str) -> Element:
    found = [
        li
        for li in page.find_all("li")
        if li.has_class("badge") and li.one("p", class_="badge-name").text == name
    ]
    assert len(found) == 1, f"one badge of {name}, found {len(found)}"
    return found[0]


def expected_qr_modules(app: Flask, registration_id: int) -> tuple[str, str]:
    """The check-in URL of the registration and the path of its QR code's dark modules, drawn
    anew from that URL."""
    with app.test_request_context():
        registration = db.session.get(Registration, registration_id)
        url = checkin.checkin_url(registration)
    buffer = io.BytesIO()
    segno.make_qr(url, error="m").save(buffer, kind="svg", border=4, nl=False)
    (modules,) = re.findall(r' d="([^"]+)"', buffer.getvalue().decode())
    return url, modules


def test_each_confirmed_person_gets_a_badge_with_the_qr_code_of_their_own_check_in_url(
    app: Flask, client: FlaskClient, auth, people: dict[str, int]
) -> None:
    auth.organizer()
    status, page, _body = badges_page(client, people["event"])
    assert status == 200
    badges = [li for li in page.find_all("li") if li.has_class("badge")]
    assert len(badges) == 4  # the pending person has none
    for key, (_given, _family, written, _extra) in PEOPLE.items():
        svg = badge_of(page, written).one("svg", class_="badge-qr")
        url, modules = expected_qr_modules(app, people[key])
        assert re.fullmatch(rf"http://[^/]+/manage/checkin/{people[key]}-[\w-]{{24}}", url)
        assert [p.get("d") for p in svg.find_all("path") if p.get("stroke")] == [modules], key
        assert svg.one("title").text == "Check-in code"
        # Drawn with attributes only: the page's policy allows no inline style.
        assert "style" not in svg.raw_text and all("style" not in e.attrs for e in svg.iter())


def test_the_code_on_a_badge_opens_the_persons_check_in_page(
    app: Flask, client: FlaskClient, auth, people: dict[str, int]
) -> None:
    auth.organizer()
    badges_page(client, people["event"])
    url, _modules = expected_qr_modules(app, people["minjun"])
    page = client.get(urlsplit(url).path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<h1>김민준</h1>" in text and "Academic" in text


def test_names_are_printed_in_their_own_order_and_script(
    client: FlaskClient, auth, people: dict[str, int]
) -> None:
    auth.organizer()
    _status, page, _body = badges_page(client, people["event"])
    names = sorted(p.text for p in page.find_all("p", class_="badge-name"))
    assert names == sorted(["김민준", "山田太郎", "Ada Lovelace", "Sun-hee"])
    taro = badge_of(page, "山田太郎")
    assert taro.one("p", class_="badge-organization").text == "朝日新聞"
    assert taro.one("p", class_="badge-category").text == "Journalist"
    assert badge_of(page, "김민준").has_class("badge-academic")


def test_the_category_and_title_follow_the_readers_language(
    client: FlaskClient, auth, people: dict[str, int]
) -> None:
    auth.organizer()
    client.set_cookie("nkhr_lang", "ko")
    _status, page, _body = badges_page(client, people["event"])
    minjun = badge_of(page, "김민준")
    assert minjun.one("p", class_="badge-event").text == "서울 포럼"
    assert minjun.one("p", class_="badge-category").text == "학계 인사"


def test_only_people_who_declined_photos_or_publication_carry_the_no_photos_marker(
    client: FlaskClient, auth, people: dict[str, int]
) -> None:
    auth.organizer()
    _status, page, _body = badges_page(client, people["event"])
    marked = {
        b.one("p", class_="badge-name").text
        for b in page.find_all("li")
        if b.has_class("badge") and b.find("p", class_="badge-no-photos") is not None
    }
    assert marked == {"山田太郎", "Sun-hee"}
    marker = badge_of(page, "山田太郎").one("p", class_="badge-no-photos")
    assert marker.text == "No photos"  # words beside the symbol, not colour alone
    assert marker.one("svg").get("aria-hidden") == "true"
    legend = page.one("dl", id="badge-legend")
    assert "No photos" in legend.text and "declined photos" in legend.text
    assert legend.parent is not None and legend.parent.has_class("screen-only")


def test_people_not_to_publish_show_their_given_name_only_and_no_organization(
    client: FlaskClient, auth, people: dict[str, int]
) -> None:
    auth.organizer()
    _status, page, body = badges_page(client, people["event"], layout="90x55")
    hidden = badge_of(page, "Sun-hee")
    assert hidden.find("p", class_="badge-organization") is None
    assert "Choi" not in body and "Secret Shelter" not in body


def test_badges_never_print_an_email_address_or_needs(
    client: FlaskClient, auth, people: dict[str, int]
) -> None:
    auth.organizer()
    for layout in ("cards", "a6", "90x55"):
        _status, page, _body = badges_page(client, people["event"], layout=layout)
        printed = " ".join(ul.text for ul in page.one("main").find_all("ul"))
        assert "@" not in printed and "Step-free" not in printed and "Vegan" not in printed


@pytest.mark.parametrize(
    ("layout", "sheet_class", "page_name", "sheets"),
    [
        ("a6", "badges badges-a6 sheet", "badges-a6", 1),
        ("90x55", "badges badges-90x55 sheet", "badges-90x55", 1),
        ("cards", "badges badges-cards", None, None),
    ],
)
def test_the_chosen_layout_sets_the_sheet_and_its_page(
    client: FlaskClient,
    auth,
    people: dict[str, int],
    layout: str,
    sheet_class: str,
    page_name: str | None,
    sheets: int | None,
) -> None:
    auth.organizer()
    _status, page, _body = badges_page(client, people["event"], layout=layout)
    assert [ul.get("class") for ul in page.one("main").find_all("ul")] == [sheet_class]
    assert page.one("body").has_class(f"badges-page-{layout}")
    chosen = [
        o.get("value")
        for o in page.one("select", id="layout").find_all("option")
        if "selected" in o.attrs
    ]
    assert chosen == [layout]
    if sheets is not None:
        assert page.one("p", id="badge-sheets").text.startswith(f"{sheets} A4 sheet.")
    else:
        assert page.find("p", id="badge-sheets") is None
    if page_name is not None:
        css = PRINT_CSS.read_text()
        assert f".badges-{layout}.sheet {{ page: {page_name};" in css
        assert re.search(rf"@page {page_name} {{ size: A4 portrait; margin: [^}}]+}}", css)


def test_a_sheet_holds_as_many_badges_as_its_layout_says(
    app: Flask, client: FlaskClient, auth
) -> None:
    with app.app_context():
        event = make_event()
        for n in range(12):
            make_registration(event=event, given_name=f"Person{n:02}", family_name="Test")
        db.session.commit()
        event_id = event.id
    auth.organizer()
    for layout, per_sheet in (("a6", [4, 4, 4]), ("90x55", [10, 2]), ("cards", [12])):
        _status, page, _body = badges_page(client, event_id, layout=layout)
        sheets = page.one("main").find_all("ul")
        assert [len(ul.find_all("li")) for ul in sheets] == per_sheet, layout


@pytest.mark.parametrize("bad", ["poster", "", "A6", "<script>", "a6 ", "x" * 3000])
def test_an_unknown_layout_falls_back_to_the_default_without_an_error(
    client: FlaskClient, auth, people: dict[str, int], bad: str
) -> None:
    auth.organizer()
    status, page, body = badges_page(client, people["event"], layout=bad)
    assert status == 200
    assert [ul.get("class") for ul in page.one("main").find_all("ul")] == ["badges badges-cards"]
    assert len([li for li in page.find_all("li") if li.has_class("badge")]) == 4
    assert "<script>" not in body


def test_the_day_filter_keeps_working_with_a_layout(
    client: FlaskClient, auth, people: dict[str, int]
) -> None:
    auth.organizer()
    _status, page, _body = badges_page(client, people["event"], day="2099-05-04", layout="a6")
    names = sorted(p.text for p in page.find_all("p", class_="badge-name"))
    assert names == sorted(["김민준", "山田太郎", "Sun-hee"])  # Ada comes on day one only
    # One form keeps both choices.
    form = page.one("form")
    assert (
        form.one("select", id="day").find("option", value="2099-05-04").attrs.get("selected")
        is not None
    )
    assert (
        form.one("select", id="layout").find("option", value="a6").attrs.get("selected") is not None
    )


def test_a_reviewer_prints_badges_of_their_categories_only(
    client: FlaskClient, auth, people: dict[str, int]
) -> None:
    auth.member(people["event"], "reviewer", categories="journalist", can_export=True)
    status, page, body = badges_page(client, people["event"], layout="90x55")
    assert status == 200
    assert [p.text for p in page.find_all("p", class_="badge-name")] == ["山田太郎"]
    assert "김민준" not in body and "Ada Lovelace" not in body


def test_a_reviewer_without_exports_gets_no_badges(
    client: FlaskClient, auth, people: dict[str, int]
) -> None:
    auth.member(people["event"], "reviewer", categories="journalist")
    assert client.get(f"/manage/events/{people['event']}/badges?layout=a6").status_code == 404


def test_the_sign_in_sheet_keeps_its_own_form_and_page(
    client: FlaskClient, auth, people: dict[str, int]
) -> None:
    auth.organizer()
    page = parse(
        client.get(f"/manage/events/{people['event']}/sign-in-sheet?layout=a6").get_data(
            as_text=True
        )
    )
    assert page.find("select", id="layout") is None
    assert page.one("form").find("select", id="day") is not None
    assert page.one("body").get("class") == "printable"
    assert len(page.one("table", class_="sign-in-sheet").find_all("th", scope="row")) == 4
