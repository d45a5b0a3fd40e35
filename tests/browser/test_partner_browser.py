"""A sponsor applies with a logo in Chromium, an organizer approves it, and the event page shows
the sponsor under its tier with the logo served by our own server; the acknowledgement and the
decision reach a real SMTP server."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import Page, expect

from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.partners.models import Partnership
from tests.browser.browser_support import enrolled_organizer, finish_sign_in
from tests.factories import make_event
from tests.smtp import smtp_settings

pytestmark = pytest.mark.browser

EMAIL = "organizer@example.org"
PASSWORD = "correct horse battery staple"
APPLICANT = "partnerships@hanwha.example"


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


@pytest.fixture
def event_slug(app: Flask) -> str:
    with app.app_context():
        enrolled_organizer(EMAIL, "Organizer", PASSWORD)
        event = make_event(title="Berlin Conference 2027")
        db.session.commit()
        return event.slug


@pytest.mark.parametrize("javascript", [True, False])
def test_sponsor_applies_with_a_logo_is_approved_and_shows_under_its_tier(
    app: Flask,
    open_page: Callable[..., Page],
    event_slug: str,
    smtp_server,
    tmp_path: Path,
    javascript: bool,
) -> None:
    logo = tmp_path / "logo.png"
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100), (20, 60, 160)).save(buffer, format="PNG")
    logo.write_bytes(buffer.getvalue())

    page = open_page(javascript=javascript)
    page.goto(f"/events/{event_slug}")
    page.get_by_role("link", name="Become a co-organizer or sponsor").click()
    page.get_by_label("Organization name").fill("Hanwha Foundation")
    page.get_by_label("Type of organization").select_option("foundation")
    page.get_by_label("Country").select_option("KR")
    page.get_by_label("Website").fill("https://www.hanwha.example")
    page.get_by_label("Logo (optional)").set_input_files(str(logo))
    page.get_by_label("Contact person").fill("Lee Su-jin")
    page.get_by_label("Email", exact=True).fill(APPLICANT)
    page.get_by_label("Sponsor", exact=True).check()
    page.get_by_label("Supporting sponsor").check()
    page.get_by_label("Contribution (sponsors only)").fill("Travel grants for speakers")
    page.get_by_label("English").check()
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="Send application").click()
    expect(page.locator("h1")).to_have_text("Thank you for your application")

    with app.app_context():
        partnership = db.session.scalars(db.select(Partnership)).one()
        assert partnership.logo is not None
        partnership_id = partnership.id
        assert deliver_due().sent == 2
    ack = [m for m in smtp_server.messages if m["To"] == APPLICANT]
    assert len(ack) == 1 and "We received your application" in ack[0]["Subject"]

    staff = open_page(javascript=javascript)
    staff.goto("/sign-in")
    staff.get_by_label("Email").fill(EMAIL)
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    finish_sign_in(staff, app, EMAIL)
    expect(staff.locator("h1")).to_have_text("Events")
    staff.get_by_role("link", name="Partner applications").click()
    staff.get_by_role("link", name="Hanwha Foundation").click()
    staff.get_by_label("Note to the applicant").fill("Thank you for supporting the speakers.")
    staff.get_by_role("button", name="Approve").click()
    expect(staff.locator(".flash-success")).to_contain_text("Approved")

    with app.app_context():
        assert db.session.get(Partnership, partnership_id).status == "approved"
        assert deliver_due().sent == 1
    decision = [m for m in smtp_server.messages if m["To"] == APPLICANT][-1]
    assert "approved" in decision["Subject"]
    assert "Thank you for supporting the speakers." in decision.get_body(
        ("plain",)
    ).get_content()

    page.goto(f"/events/{event_slug}")
    tier = page.locator("section.sponsor-tier")
    expect(tier.locator("h4")).to_have_text("Supporting sponsor")
    expect(tier.get_by_role("link", name="Hanwha Foundation")).to_be_visible()
    image = tier.locator("img")
    expect(image).to_have_attribute("src", f"/partners/logos/{partnership_id}.png")
    page.wait_for_function(
        "() => document.querySelector('section.sponsor-tier img').naturalWidth > 0"
    )
    assert image.evaluate("img => img.naturalWidth") == 200
