"""The partner form in Chromium, JavaScript off: a failed try keeps the logo and says so."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import expect

from nkhr_events.extensions import db
from nkhr_events.partners.models import PartnerLogo, Partnership
from tests.factories import make_event
from tests.smtp import smtp_settings

from .browser_support import DESKTOP_VIEWPORT, PHONE_VIEWPORT

pytestmark = pytest.mark.browser


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


@pytest.mark.parametrize("viewport", [PHONE_VIEWPORT, DESKTOP_VIEWPORT], ids=["390", "1280"])
def test_logo_kept(app: Flask, open_page, tmp_path: Path, viewport) -> None:
    with app.app_context():
        slug = make_event(title="Berlin Conference 2027").slug
        db.session.commit()
    logo = tmp_path / "Our logo.png"
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100), (20, 60, 160)).save(buffer, format="PNG")
    logo.write_bytes(buffer.getvalue())
    page = open_page(javascript=False, viewport=viewport)
    page.goto(f"/events/{slug}/partner")
    page.get_by_label("Organization name").fill("Hanwha Foundation")
    page.get_by_label("Type of organization").select_option("foundation")
    page.get_by_label("Website").fill("hanwha.example")
    page.get_by_label("Logo (optional)").set_input_files(str(logo))
    page.get_by_label("Contact person").fill("Lee Su-jin")
    page.get_by_label("Email", exact=True).fill("not-an-address")
    page.get_by_label("Sponsor", exact=True).check()
    page.get_by_label("Supporting sponsor").check()
    page.get_by_label("English").check()
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="Send application").click()
    expect(page.locator("#logo-kept")).to_contain_text("Our logo.png")
    expect(page.get_by_label("Website")).to_have_value("https://hanwha.example")
    Path("/tmp/nkhr_screens").mkdir(exist_ok=True)
    page.locator("fieldset.group").first.screenshot(
        path=f"/tmp/nkhr_screens/partners-form-kept-{viewport['width']}.png")
    page.get_by_label("Email", exact=True).fill("lee@hanwha.example")
    page.get_by_role("button", name="Send application").click()
    expect(page.locator("h1")).to_have_text("Thank you for your application")
    with app.app_context():
        assert db.session.scalars(db.select(PartnerLogo)).one() is not None
        assert db.session.scalars(db.select(Partnership)).one().website == "https://hanwha.example"
