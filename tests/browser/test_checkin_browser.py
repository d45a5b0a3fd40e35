"""At the door, in Chromium with JavaScript off: a scanned check-in URL sends the organizer to
sign in, brings them back to the person's check-in page, and one button checks them in. The
attendee's own page shows the QR code, drawn by our server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from nkhr_events.audit.services import ATTENDEE
from nkhr_events.checkin import services as checkin
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.registrations import services
from nkhr_events.registrations.links import issue_manage_token
from nkhr_events.registrations.services import RegistrationInput
from tests.browser.browser_support import enrolled_organizer, finish_sign_in
from tests.factories import make_event

pytestmark = pytest.mark.browser

ORGANIZER_EMAIL = "organizer@example.org"
ORGANIZER_PASSWORD = "correct horse battery staple"


@pytest.fixture
def scanned(app: Flask) -> dict[str, object]:
    """A confirmed attendee of an event held today in Seoul, and an organizer account."""
    with app.app_context():
        enrolled_organizer(ORGANIZER_EMAIL, "Organizer", ORGANIZER_PASSWORD)
        today = utcnow().astimezone(ZoneInfo("Asia/Seoul")).date()
        event = make_event(days=[today, today + timedelta(days=1)], title="Seoul Conference",
                           door_opens_at=time(0))  # open all day, whatever the hour
        registration = services.register_attendee(
            event.id,
            RegistrationInput(
                category="general_public",
                given_name="Min-ji",
                family_name="Kim",
                badge_name="Min-ji Kim",
                email="minji@example.org",
                organization="Citizens for Rights",
                dietary_needs="Vegetarian",
                privacy_consent=True,
            ), actor=ATTENDEE
        ).registration
        path = f"/manage/checkin/{checkin.checkin_reference(registration)}"
        token = issue_manage_token(registration)
        db.session.commit()
        return {"id": registration.id, "path": path, "token": token, "today": today}


def test_organizer_scans_a_code_signs_in_and_checks_the_person_in(
    app: Flask, open_page: Callable[..., Page], scanned: dict
) -> None:
    page = open_page(javascript=False)
    page.goto(scanned["path"])

    # Not signed in: the sign-in page, which returns to the scanned URL.
    expect(page.locator("h1")).to_have_text("Staff sign-in")
    page.get_by_label("Email").fill(ORGANIZER_EMAIL)
    page.get_by_label("Password").fill(ORGANIZER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    finish_sign_in(page, app, ORGANIZER_EMAIL)
    page.wait_for_url(f"**{scanned['path']}")

    expect(page.locator("h1")).to_have_text("Min-ji Kim")
    facts = page.locator("#checkin-facts")
    expect(facts).to_contain_text("General public")
    expect(facts).to_contain_text("Citizens for Rights")
    expect(facts).to_contain_text("Vegetarian")
    page.get_by_role("button", name="Check in", exact=True).click()

    # The result fills the door screen, green; the door goes on with the same day.
    expect(page.locator("#door-result")).to_be_visible()
    expect(page.locator("#door-result h2")).to_have_text("Checked in")
    expect(page.locator(".flash-success")).to_contain_text("Min-ji Kim is checked in for")
    page.get_by_role("link", name="Next person").click()
    expect(page.locator("#door-result")).to_be_hidden()
    expect(page.locator("#door-day")).to_have_value(scanned["today"].isoformat())
    page.goto(scanned["path"])
    expect(page.locator("#checkin-warning")).to_contain_text("Already checked in today at")
    expect(page.get_by_role("button", name="Check in", exact=True)).to_have_count(0)
    with app.app_context():
        rows = db.session.scalars(
            db.select(RegistrationCheckin).where(
                RegistrationCheckin.registration_id == scanned["id"]
            )
        ).all()
        assert [r.day for r in rows] == [scanned["today"]]


def test_attendee_page_shows_the_qr_code_image(
    open_page: Callable[..., Page], scanned: dict
) -> None:
    page = open_page()
    page.goto(f"/registration/{scanned['token']}")
    image = page.get_by_role("img", name="Your check-in QR code")
    expect(image).to_be_visible()
    # The browser loaded and drew it (a broken image has no natural width).
    assert image.evaluate("img => img.naturalWidth") > 0
