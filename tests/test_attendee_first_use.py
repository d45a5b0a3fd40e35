"""What attendees met on their first real use: forms that check everything in one round, pages
that say what will happen before people submit, and a result page that helps without telling
anyone whether an address was registered."""

from __future__ import annotations

import re

import pytest
from factories import make_event
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from smtp import smtp_settings

from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


@pytest.fixture
def event(app: Flask) -> dict[str, object]:
    with app.app_context():
        found = make_event(capacity=2)
        db.session.commit()
        return {"id": found.id, "slug": found.slug, "days": [d.isoformat() for d in found.day_list]}


def registrations(app: Flask) -> int:
    with app.app_context():
        return db.session.query(Registration).count()


@pytest.mark.parametrize("address", ["ada@", "ada kim@example.org", "@example.org", "ada@.org"])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_bad_address_is_reported_in_the_first_round_with_the_other_fields(
    app: Flask, client: FlaskClient, event: dict[str, object], address: str, language: str
) -> None:
    client.set_cookie("nkhr_lang", language)
    response = client.post(
        f"/events/{event['slug']}/register?category=general_public",
        data={"given_name": "", "family_name": "Kim", "email": address, "language": "en",
              "interpretation": "none", "days": []},
    )
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert page.find(id="email-error") is not None, address
    assert page.find(id="given_name-error") is not None
    assert page.find(id="privacy_consent-error") is not None
    assert page.one("input", name="email").get("value") == address
    assert registrations(app) == 0


def test_every_public_address_field_checks_the_address_in_the_first_round(
    client: FlaskClient, event: dict[str, object]
) -> None:
    lost = parse(client.post("/registration/lost-link", data={"email": "ada@"}).get_data(
        as_text=True))
    assert lost.find(id="email-error") is not None
    contact = parse(client.post("/contact", data={"email": "ada kim@example.org"}).get_data(
        as_text=True))
    assert contact.find(id="email-error") is not None and contact.find(id="name-error")


def person_form(address: str, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "given_name": "Min-ji", "family_name": "Kim", "email": address, "language": "en",
        "interpretation": "none", "privacy_consent": "y", "country": "KR",
        "q_ministry": "Ministry of Unification", "q_government_position": "Director",
        "q_country_represented": "KR",
    }
    data.update(overrides)
    return data


def register(client: FlaskClient, slug: object, category: str, address: str, days=()) -> str:
    answer = client.post(
        f"/events/{slug}/register?category={category}",
        data={**person_form(address), "days": list(days)},
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return client.get(answer.location).get_data(as_text=True)


def outlook_of(page: str, category: str) -> str:
    return parse(page).one(id=f"category-{category}-outlook").text


def status_of(app: Flask, address: str) -> str:
    with app.app_context():
        return db.session.scalar(
            db.select(Registration.status).where(Registration.email == address)
        )


def test_each_page_says_what_a_new_registration_gets_and_it_is_what_happens(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        found = make_event(capacity=2)
        db.session.commit()
        slug, days = found.slug, [d.isoformat() for d in found.day_list]
    event_page = parse(client.get(f"/events/{slug}").get_data(as_text=True))
    lines = [li.text for li in event_page.iter() if li.tag == "li" and li.has_class("outlook")]
    assert len(lines) == 2  # one line per outcome, naming its categories
    [seat] = [line for line in lines if line.startswith("Seats are available")]
    [review] = [line for line in lines if line.startswith("Reviewed by the organizers: your seat")]
    assert "General public" in seat and "Government representative" in review
    assert "seat left" not in str(lines)  # counts are off unless staff show them

    choose = client.get(f"/events/{slug}/register").get_data(as_text=True)
    assert "Reviewed by the organizers" in outlook_of(choose, "government")
    form = parse(client.get(f"/events/{slug}/register?category=government")
                 .get_data(as_text=True))
    assert "your seat is held while they review it" in form.one(id="outlook").text

    register(client, slug, "general_public", "first@example.org", days)
    register(client, slug, "general_public", "second@example.org", days)
    choose = client.get(f"/events/{slug}/register").get_data(as_text=True)
    assert outlook_of(choose, "government").startswith("Full: you will join")
    assert outlook_of(choose, "general_public").startswith("Full: you will join")
    form = parse(client.get(f"/events/{slug}/register?category=government")
                 .get_data(as_text=True))
    assert "Full: you will join the waiting list" in form.one(id="outlook").text
    assert "held while they review" not in form.text

    register(client, slug, "government", "official@example.org", days)
    assert status_of(app, "official@example.org") == "waitlisted"


def test_staff_may_show_seats_left_and_people_waiting(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        found = make_event(capacity=2, show_seat_counts=True)
        db.session.commit()
        slug, days = found.slug, [d.isoformat() for d in found.day_list]
    choose = client.get(f"/events/{slug}/register").get_data(as_text=True)
    assert outlook_of(choose, "general_public").endswith("2 seats left.")
    register(client, slug, "general_public", "first@example.org", days)
    choose = client.get(f"/events/{slug}/register").get_data(as_text=True)
    assert outlook_of(choose, "general_public").endswith("1 seat left.")
    register(client, slug, "general_public", "second@example.org", days)
    register(client, slug, "general_public", "third@example.org", days)
    choose = client.get(f"/events/{slug}/register").get_data(as_text=True)
    assert outlook_of(choose, "general_public").endswith("1 person is waiting.")


def test_the_result_page_is_the_same_for_every_outcome_and_a_repeated_address(
    app: Flask, client: FlaskClient, smtp_server
) -> None:
    with app.app_context():
        found = make_event(capacity=1)
        db.session.commit()
        slug, days = found.slug, [d.isoformat() for d in found.day_list]
    seat = register(client, slug, "general_public", "ab1@example.org", days)
    again = register(client, slug, "general_public", "ab1@example.org", days)
    waiting = register(client, slug, "general_public", "ab2@example.org", days)
    assert status_of(app, "ab1@example.org") == "confirmed"
    assert status_of(app, "ab2@example.org") == "waitlisted"
    def without_token(page: str) -> str:  # a fresh CSRF token on every page, as always
        return re.sub(r'name="csrf_token" value="[^"]+"', "", page)

    assert without_token(seat) == without_token(again) == without_token(waiting)
    page = parse(seat)
    lead = page.one("p", class_="lead").text
    assert "ab•••@ex•••.org" in lead and "ab1@example.org" not in seat
    assert "within a few minutes" in lead
    # Nothing about the seats now: the person who took the last one would read "Full" as
    # their own answer.
    assert page.find(id="outlook") is None and "Full" not in page.text
    assert page.find("a", href="/registration/lost-link") is not None
    assert "already registered for this event" in page.text


def test_the_confirmation_shows_the_check_in_code_in_its_body_and_attaches_it(
    app: Flask, client: FlaskClient, smtp_server
) -> None:
    from nkhr_events.outbox.delivery import deliver_due

    with app.app_context():
        found = make_event(capacity=5)
        db.session.commit()
        slug, days = found.slug, [d.isoformat() for d in found.day_list]
    register(client, slug, "general_public", "qr@example.org", days)
    with app.app_context():
        deliver_due()
    message = next(m for m in smtp_server.messages if m["To"] == "qr@example.org")
    assert message.get_content_type() == "multipart/mixed"
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    html = related.get_body(("html",)).get_content()
    assert 'src="cid:checkin.png"' in html and "check-in QR code" in html
    image = next(p for p in related.iter_parts() if p["Content-ID"] == "<checkin.png>")
    assert image.get_content_type() == "image/png"
    assert image.get_content().startswith(b"\x89PNG")
    attached = [p for p in message.iter_attachments() if p.get_filename() == "checkin.png"]
    assert len(attached) == 1 and attached[0].get_content() == image.get_content()
    text = message.get_body(("plain",)).get_content()
    assert "QR code (checkin.png) is your check-in code" in text


@pytest.mark.parametrize("language", ["en", "ko"])
def test_your_data_is_a_readable_printable_page_as_well_as_the_file(
    app: Flask, client: FlaskClient, language: str
) -> None:
    from nkhr_events.audit.services import ATTENDEE
    from nkhr_events.registrations import links, services
    from nkhr_events.registrations.services import RegistrationInput

    with app.app_context():
        found = make_event(capacity=5)
        registration = services.register_attendee(found.id, RegistrationInput(
            category="journalist", given_name="지은", family_name="김",
            email="jieun@example.org", privacy_consent=True, organization="Daily NK",
            country="KR", language="ko", dietary_needs="Vegetarian",
            days=found.day_list[:2],
            # An answer with a capital T is text, not a timestamp to format.
            answers={"media_outlet": "Daily NK", "media_role": "The Times' Seoul desk"},
        ), actor=ATTENDEE).registration
        token = links.issue_manage_token(registration)
        db.session.commit()
    client.set_cookie("nkhr_lang", language)
    manage = parse(client.get(f"/registration/{token}").get_data(as_text=True))
    assert manage.find("a", href=f"/registration/{token}/data") is not None
    assert manage.find("a", href=f"/registration/{token}/data.json") is not None
    response = client.get(f"/registration/{token}/data")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = parse(response.get_data(as_text=True))
    facts = {dt.text: dd.text for dl in page.find_all("dl") for dt, dd in
             zip(dl.find_all("dt"), dl.find_all("dd"), strict=True)}
    assert facts["Given name" if language == "en" else "이름"] == "지은"
    assert "Vegetarian" in facts.values() and "Daily NK" in facts.values()
    media = "Media outlet" if language == "en" else "소속 언론사"
    assert facts[media] == "Daily NK"
    assert "The Times' Seoul desk" in facts.values()
    assert not any(re.search(r"\d\d:\d\d:\d\d|T\d\d:", v) for v in facts.values())
    assert page.find("a", href=f"/registration/{token}/data.json") is not None
    assert response.get_data(as_text=True).count("<table") == 1


@pytest.mark.parametrize(
    "app_settings",
    [{"RATELIMIT_ENABLED": True, "NKHR_REGISTRATION_EMAIL_LIMIT": "2 per hour",
      "NKHR_REGISTRATION_LIMIT": "100 per minute"}],
)
def test_only_accepted_registrations_count_and_a_refusal_keeps_the_form_and_says_the_wait(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        found = make_event(capacity=5)
        db.session.commit()
        slug, days = found.slug, [d.isoformat() for d in found.day_list]
    url = f"/events/{slug}/register?category=general_public"
    mistake = {**person_form("limit@example.org"), "days": days, "privacy_consent": ""}
    for _ in range(3):  # forms with mistakes cost nothing
        assert client.post(url, data=mistake).status_code == 200
    good = {**person_form("limit@example.org"), "days": days}
    assert client.post(url, data=good).status_code == 303
    assert client.post(url, data=good).status_code == 303  # already registered: same answer
    refused = client.post(url, data={**good, "organization": "Typed before the refusal"})
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 3000 < wait <= 3601
    page = parse(refused.get_data(as_text=True))
    assert "Please try again in about 1 hour" in page.one(id="error-summary").text
    assert page.one("input", name="organization").get("value") == "Typed before the refusal"
    assert page.one("input", name="email").get("value") == "limit@example.org"


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": True}])
def test_the_contact_form_counts_accepted_messages_and_keeps_the_form_when_refused(
    client: FlaskClient, smtp_server
) -> None:
    message = {"name": "Ada", "email": "ada@example.org", "subject": "Visa",
               "message": "May I ask about a letter?", "language": "en"}
    # A mistake costs nothing against the address (the client's own limit counts every try).
    assert client.post("/contact", data={**message, "message": ""}).status_code == 200
    for _ in range(3):
        assert client.post("/contact", data=message).status_code == 303
    refused = client.post("/contact", data={**message, "subject": "Kept"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 60
    page = parse(refused.get_data(as_text=True))
    assert page.one("input", name="subject").get("value") == "Kept"
    assert "Please try again in about" in page.one(id="error-summary").text
