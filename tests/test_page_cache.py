"""Kept registration pages (pagecache.py): the same page as rendered, each visitor's own CSRF
token and address, never stale after an edit, never kept for staff."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from nkhr_events.audit.services import SYSTEM
from nkhr_events.events import services as event_services
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.pagecache import current_cache
from nkhr_events.partners.models import Partner, Partnership, PartnershipRole, PartnershipStatus
from nkhr_events.partners.services import find_or_add_partner
from nkhr_events.programme.models import ProgrammeSession
from nkhr_events.registrations import services as registrations
from nkhr_events.registrations.models import Registration
from tests.factories import make_event
from tests.markup import form_values, parse


def tokens(html: str) -> list[str]:
    return [i.get("value") or "" for i in parse(html).find_all("input", name="csrf_token")]


@pytest.fixture
def event(app: Flask) -> dict[str, object]:
    with app.app_context():
        found = make_event(capacity=10)
        db.session.commit()
        return {"id": found.id, "slug": found.slug}


def form_url(event: dict[str, object], category: str = "general_public") -> str:
    return f"/events/{event['slug']}/register?category={category}"


def without_tokens(html: str) -> str:
    for token in tokens(html):
        assert token
        html = html.replace(token, "TOKEN")
    return html


def cache_size(app: Flask) -> int:
    with app.app_context():
        return len(current_cache())


@pytest.mark.parametrize("app_settings", [{"WTF_CSRF_ENABLED": True}])
def test_a_kept_page_is_the_rendered_page_with_each_visitors_own_token(
    app: Flask, event: dict[str, object]
) -> None:
    first, second = app.test_client(), app.test_client()
    page_one = first.get(form_url(event)).get_data(as_text=True)
    page_two = second.get(form_url(event)).get_data(as_text=True)
    with app.app_context():
        assert current_cache().hits == 1 and current_cache().misses == 1
    # The same page, but each visitor's token is their own (the language switch's and the
    # form's are the same token).
    assert without_tokens(page_one) == without_tokens(page_two)
    tokens_one, tokens_two = set(tokens(page_one)), set(tokens(page_two))
    assert len(tokens_one) == 1 and len(tokens_two) == 1 and tokens_one != tokens_two
    assert "\x00" not in page_two

    # A page rendered with the cache off is the same page.
    app.config["NKHR_PAGE_CACHE_SIZE"] = 0
    with app.app_context():
        current_cache().size = 0
    fresh = app.test_client().get(form_url(event)).get_data(as_text=True)
    assert without_tokens(fresh) == without_tokens(page_two)

    # The kept page's token works for its visitor, and only for them.
    form = next(f for f in parse(page_two).find_all("form", method="post")
                if f.find("input", name="email") is not None)
    values = form_values(form)
    values.update(given_name="Ji-woo", family_name="Park", email="jiwoo@example.org",
                  language="en", interpretation="none", privacy_consent="y")
    values["days"] = [i.get("value") or "" for i in form.find_all("input", name="days")]
    stolen = dict(values, email="other@example.org")
    assert first.post(form_url(event), data=stolen).status_code == 400
    answer = second.post(form_url(event), data=values)
    assert answer.status_code == 303
    with app.app_context():
        people = db.session.scalars(db.select(Registration.email)).all()
    assert people == ["jiwoo@example.org"]


def test_the_choice_page_is_kept_too_and_differs_by_language(
    app: Flask, event: dict[str, object]
) -> None:
    client = app.test_client()
    url = f"/events/{event['slug']}/register"
    english = client.get(url).get_data(as_text=True)
    assert client.post("/language", data={"lang": "ko", "next": url}).status_code == 303
    korean = client.get(url).get_data(as_text=True)
    assert "Step 1 of 2" in english and "Step 1 of 2" not in korean
    assert 'lang="ko"' in korean
    assert cache_size(app) == 2
    again = app.test_client().get(url).get_data(as_text=True)
    assert without_tokens(again) == without_tokens(english)


def test_an_edit_of_the_event_is_never_served_stale(app: Flask, event: dict[str, object]) -> None:
    client = app.test_client()
    before = client.get(form_url(event)).get_data(as_text=True)
    assert "Test Conference" in before
    with app.app_context():
        found = db.session.get(Event, event["id"])
        found.title = "Renamed Conference"
        db.session.commit()
    after = client.get(form_url(event)).get_data(as_text=True)
    assert "Renamed Conference" in after and "Test Conference" not in after

    # The days alone, through the organizers' edit.
    with app.app_context():
        found = db.session.get(Event, event["id"])
        first = found.day_list[0]
        data = event_services.EventInput(
            series_id=found.series_id, title=found.title, slug=found.slug,
            days=[first, first + timedelta(days=2)], city=found.city, country=found.country,
            timezone=found.timezone, capacity=found.capacity,
            registration_opens_at=found.registration_opens_at,
            registration_closes_at=found.registration_closes_at,
        )
        event_services.update_event(found, data, registrations.change_capacity, actor=SYSTEM)
        db.session.commit()
        kept = [d.isoformat() for d in found.day_list]
    page = parse(client.get(form_url(event)).get_data(as_text=True))
    offered = [i.get("value") for i in page.find_all("input") if i.get("name") == "days"]
    assert offered == kept


def test_category_settings_are_never_served_stale(app: Flask, event: dict[str, object]) -> None:
    client = app.test_client()
    url = form_url(event, "academic")
    assert "Your question for academics?" not in client.get(url).get_data(as_text=True)
    with app.app_context():
        found = db.session.get(Event, event["id"])
        registrations.save_category_settings(
            found, {"academic": {"extra_question": "Your question for academics?",
                                 "needs_review": True}}, actor=SYSTEM
        )
        db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "Your question for academics?" in page
    assert "Reviewed by the organizers" in page

    with app.app_context():
        found = db.session.get(Event, event["id"])
        registrations.save_category_settings(found, {"academic": {"enabled": False}}, actor=SYSTEM)
        db.session.commit()
    choice = client.get(url).get_data(as_text=True)  # a closed category: back to the choice
    assert 'value="academic"' not in choice and "Step 1 of 2" in choice


def test_staff_and_visitors_with_a_message_get_a_page_of_their_own(
    app: Flask, client: FlaskClient, auth, event: dict[str, object]
) -> None:
    auth.organizer()
    staff_page = client.get(form_url(event)).get_data(as_text=True)
    assert "Signed in as organizer@example.org" in staff_page
    assert cache_size(app) == 0
    visitor = app.test_client().get(form_url(event)).get_data(as_text=True)
    assert "Signed in as" not in visitor and "Staff sign-in" in visitor
    assert cache_size(app) == 1
    staff_again = client.get(form_url(event)).get_data(as_text=True)
    assert "Signed in as organizer@example.org" in staff_again

    flashed = app.test_client()
    with flashed.session_transaction() as session:
        session["_flashes"] = [("info", "A message for this visitor only")]
    page = flashed.get(form_url(event)).get_data(as_text=True)
    assert "A message for this visitor only" in page
    assert "A message for this visitor only" not in app.test_client().get(
        form_url(event)
    ).get_data(as_text=True)


def test_the_result_page_names_each_visitors_own_address_escaped(
    app: Flask, event: dict[str, object]
) -> None:
    url = f"/events/{event['slug']}/register/sent"
    pages = {}
    for address in ("first@example.org", "a&b<i>@example.org", None):
        client = app.test_client()
        if address is not None:
            with client.session_transaction() as session:
                session["registration_sent_to"] = address
        pages[address] = client.get(url).get_data(as_text=True)
    assert "We are sending an email to first@example.org." in pages["first@example.org"]
    assert "a&amp;b&lt;i&gt;@example.org" in pages["a&b<i>@example.org"]
    assert "<i>" not in pages["a&b<i>@example.org"]
    assert "first@example.org" not in pages["a&b<i>@example.org"]
    assert "We are sending you an email." in pages[None]
    assert "first@example.org" not in pages[None]


def test_the_cache_is_bounded_and_can_be_turned_off(app: Flask, event: dict[str, object]) -> None:
    with app.app_context():
        current_cache().size = 5
    client = app.test_client()
    for n in range(20):
        assert client.get(f"{form_url(event)}&n={n}").status_code == 200
    assert cache_size(app) == 5

    with app.app_context():
        current_cache().clear()
        current_cache().size = 0
    page = client.get(form_url(event)).get_data(as_text=True)
    assert "Step 2 of 2" in page and cache_size(app) == 0


def test_a_country_not_on_the_list_is_refused_beside_the_field(
    app: Flask, client: FlaskClient, event: dict[str, object]
) -> None:
    data = {"given_name": "Min-ji", "family_name": "Kim", "email": "minji@example.org",
            "country": "XX", "language": "en", "interpretation": "none",
            "privacy_consent": "y", "days": []}
    page = parse(client.post(form_url(event), data=data).get_data(as_text=True))
    assert page.one("p", id="country-error").text.strip() == "Choose a country from the list."
    # The other values stay as typed; nothing is stored.
    assert page.one("input", name="given_name").get("value") == "Min-ji"
    data["country"] = "KR"
    data["days"] = []
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0
        days = [d.isoformat() for d in db.session.get(Event, event["id"]).day_list]
    assert client.post(form_url(event), data=dict(data, days=days)).status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(Registration.country)) == "KR"


def test_the_event_page_is_kept_and_never_stale_after_what_it_shows_changes(
    app: Flask, event: dict[str, object]
) -> None:
    """The event page, the most visited page of a rush, is kept like the registration pages;
    each thing it shows — the event and its series, partners and their sponsor tier, the
    programme link, the seats left — changes the page at once."""
    url = f"/events/{event['slug']}"
    visitor = app.test_client()

    def page() -> str:
        return parse(visitor.get(url).get_data(as_text=True)).text

    first = page()
    assert "Harmony Foundation" not in first and "Programme" not in first
    page()
    with app.app_context():
        assert current_cache().hits >= 1  # the second visit was answered from memory

    with app.app_context():
        alliance = find_or_add_partner("Harmony Foundation", country="KR")
        db.session.add(alliance)
        db.session.flush()
        db.session.add(Partnership(
            partner_id=alliance.id, event_id=event["id"], role=PartnershipRole.CO_ORGANIZER,
            status=PartnershipStatus.APPROVED, contact_name="Park Ji-hoon",
            contact_email="jihoon@alliance.example", language="en"))
        db.session.commit()
        partner_id = alliance.id
    assert "Harmony Foundation" in page()

    with app.app_context():
        db.session.get(Partner, partner_id).name = "Harmony Foundation for Refugees"
        db.session.commit()
    assert "Harmony Foundation for Refugees" in page()

    with app.app_context():
        found = db.session.get(Event, event["id"])
        db.session.add(ProgrammeSession(event_id=found.id, day=found.day_list[0],
                                        starts_at=time(9), ends_at=time(10), title="Opening"))
        found.series.name = "Renamed Series"
        db.session.commit()
    shown = page()
    assert "Programme" in shown and "Renamed Series" in shown

    with app.app_context():
        found = db.session.get(Event, event["id"])
        found.show_seat_counts = True
        db.session.commit()
    before = page()
    assert "10 seats left" in before
    with app.app_context():
        registrations.register_attendee(
            event["id"], registrations.RegistrationInput(
                category="general_public", given_name="Minji", family_name="Park",
                email="minji@example.org", privacy_consent=True, language="en"),
            actor=SYSTEM)
        db.session.commit()
    assert "9 seats left" in page()
