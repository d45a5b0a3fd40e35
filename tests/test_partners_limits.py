"""Rate limits on the partner form: only stored applications count against a contact address,
a refusal states the real wait (Retry-After and words) and gives the form back with what was
typed, and the per-client limit on POSTs does the same."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import make_event
from flask_babel import force_locale
from markup import parse
from smtp import smtp_settings
from test_partners import count, png_bytes, post, sponsor

from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.partners import services
from nkhr_events.partners.models import PartnerLogo, Partnership, PendingLogo

ADDRESS = "jiwon@chosun.example"
PER_HOUR = dict((window, allowed) for window, allowed in services.APPLICATIONS_PER_ADDRESS)[
    timedelta(hours=1)
]


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


@pytest.fixture
def event_slug(app) -> str:
    with app.app_context():
        event = make_event(title="Seoul Conference 2027")
        db.session.commit()
        return event.slug


def organization(n: int, **overrides: object) -> dict[str, object]:
    return sponsor(organization_name=f"Organization {n}", website="", **overrides)


def age_applications(app, minutes: float) -> None:
    """Move every stored application `minutes` into the past."""
    with app.app_context():
        for partnership in db.session.scalars(db.select(Partnership)):
            partnership.created_at = partnership.created_at - timedelta(minutes=minutes)
        db.session.commit()


def test_only_accepted_applications_count_and_the_refusal_states_the_real_wait(
    app, client, event_slug
):
    # Forms with mistakes never count, however many.
    for n in range(PER_HOUR + 2):
        response = post(client, event_slug, organization(100 + n, privacy_consent=""))
        assert response.status_code == 200
    for n in range(PER_HOUR - 1):
        assert post(client, event_slug, organization(n)).status_code == 303
    # Nor does a duplicate application.
    duplicate = post(client, event_slug, organization(0))
    assert duplicate.status_code == 200
    assert parse(duplicate.get_data(as_text=True)).one("div", id="duplicate-application")
    assert post(client, event_slug, organization(PER_HOUR)).status_code == 303
    with app.app_context():
        assert count(Partnership) == PER_HOUR

    typed = organization(99, contact_email=ADDRESS.upper(), message="Kept while we wait.")
    response = post(client, event_slug, typed, logo=(png_bytes(), "our-logo.png"))
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 3590 <= wait <= 3600
    page = parse(response.get_data(as_text=True))
    notice = page.one("div", id="try-later").text
    assert "Please try again in about 1 hour." in notice
    assert "minute" not in notice
    # The form comes back with what was typed, the logo held.
    assert page.one("input", id="organization_name").get("value") == "Organization 99"
    assert page.one("input", id="contact_email").get("value") == ADDRESS.upper()
    assert page.one("textarea", id="message").text.strip() == "Kept while we wait."
    assert "our-logo.png" in page.one("p", id="logo-kept").text
    with app.app_context():
        assert count(Partnership) == PER_HOUR
        assert count(OutboxMessage) == 2 * PER_HOUR
        assert count(PartnerLogo) == 0 and count(PendingLogo) == 1

    # 59 minutes on, the wait is about a minute: the words and the header say so.
    age_applications(app, 59)
    response = post(client, event_slug, typed)
    assert response.status_code == 429
    assert 50 <= int(response.headers["Retry-After"]) <= 60
    assert "Please try again in about 1 minute." in parse(
        response.get_data(as_text=True)).one("div", id="try-later").text

    # Once the hour is over, the same form goes through, with the logo held for it.
    age_applications(app, 1.5)
    token = page.one("input", id="logo_token").get("value")
    response = post(client, event_slug, {**typed, "logo_token": token})
    assert response.status_code == 303
    with app.app_context():
        assert count(Partnership) == PER_HOUR + 1
        assert count(PartnerLogo) == 1 and count(PendingLogo) == 0


def test_another_address_is_not_held_up(app, client, event_slug):
    for n in range(PER_HOUR):
        assert post(client, event_slug, organization(n)).status_code == 303
    assert post(client, event_slug, organization(50)).status_code == 429
    other = organization(51, contact_email="someone-else@example.org")
    assert post(client, event_slug, other).status_code == 303


def test_the_daily_limit_states_its_own_wait(app, client, event_slug):
    per_day = dict(services.APPLICATIONS_PER_ADDRESS)[timedelta(days=1)]
    # Spread over the day, never more than the hourly number in an hour.
    for n in range(per_day):
        assert post(client, event_slug, organization(n)).status_code == 303
        age_applications(app, 65)
    # The oldest of them is now some 21 hours old... the day ends for it in about 3.
    with app.app_context():
        oldest = db.session.scalar(db.select(db.func.min(Partnership.created_at)))
        expected = (oldest + timedelta(days=1) - services.utcnow()).total_seconds()
    response = post(client, event_slug, organization(per_day))
    assert response.status_code == 429
    assert abs(int(response.headers["Retry-After"]) - expected) < 5
    hours = -(-int(expected) // 3600)
    assert f"Please try again in about {hours} hours." in parse(
        response.get_data(as_text=True)).one("div", id="try-later").text


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": True}])
def test_the_per_client_limit_keeps_the_form_and_states_the_wait(app, client, event_slug):
    # POSTs count here whatever their outcome: three with mistakes, two accepted.
    first = post(client, event_slug, organization(0, privacy_consent=""),
                 logo=(png_bytes(), "held.png"))
    token = parse(first.get_data(as_text=True)).one("input", id="logo_token").get("value")
    for n in range(1, 3):
        assert post(client, event_slug, organization(n, privacy_consent="")).status_code == 200
    for n in range(2):
        assert post(client, event_slug, organization(10 + n,
                    contact_email=f"p{n}@example.org")).status_code == 303

    typed = organization(20, contact_email="late@example.org", message="Please keep this.",
                         logo_token=token)
    response = post(client, event_slug, typed)
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 61
    page = parse(response.get_data(as_text=True))
    notice = page.one("div", id="try-later").text
    assert "Too many tries from your connection." in notice
    assert "Please try again in about 1 minute." in notice
    assert page.one("input", id="organization_name").get("value") == "Organization 20"
    assert page.one("textarea", id="message").text.strip() == "Please keep this."
    assert page.one("form", id="partner-form") is not None
    # The logo held from the first try is still held, and the form says so.
    assert page.one("input", id="logo_token").get("value") == token
    assert "held.png" in page.one("p", id="logo-kept").text
    with app.app_context():
        assert count(Partnership) == 2
        assert count(OutboxMessage) == 4
    # Reading the form is not limited.
    assert client.get(f"/events/{event_slug}/partner").status_code == 200


@pytest.mark.parametrize(
    ("seconds", "english", "korean"),
    [(5, "1 minute", "1분"), (65, "2 minutes", "2분"), (2700, "45 minutes", "45분"),
     (3600, "1 hour", "1시간"), (3601, "2 hours", "2시간"), (86_400, "1 day", "1일")],
)
def test_the_wait_is_said_rounded_up_in_the_readers_language(app, seconds, english, korean):
    with app.test_request_context():
        with force_locale("en"):
            assert services.wait_text(seconds) == english
        with force_locale("ko"):
            assert services.wait_text(seconds) == korean
