"""A visa letter in Chromium, JavaScript off: a confirmed attendee on a phone (390 px) opens
the visa letter page from their private link, sends a passport that expires before the event
(refused beside the field, everything typed kept), corrects it and sends; the event's organizer
opens the queue from the roster, reads the request and approves it; the attendee downloads the
English and the Korean letter from the same page."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from nkhr_events.accounts.models import StaffRole, TeamMember
from nkhr_events.accounts.services import create_staff
from nkhr_events.dbtypes import utcnow
from nkhr_events.documents.visa_models import VisaLetterRequest, VisaStatus
from nkhr_events.extensions import db
from nkhr_events.registrations import links
from tests.browser.browser_support import DESKTOP_VIEWPORT, PHONE_VIEWPORT, finish_sign_in
from tests.conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET
from tests.factories import make_event, make_registration

pytestmark = pytest.mark.browser

ORGANIZER = "lead@example.org"
NAME = "QUILLFEATHER ZYXWVU"
NUMBER = "M70689123"
Shoot = Callable[[Page, str], Path | None]


@pytest.fixture
def world(app: Flask) -> tuple[int, str]:
    """An event with a confirmed attendee (their private link) and its organizer."""
    with app.app_context():
        event = make_event(title="Seoul Forum on North Korean Human Rights",
                           title_ko="북한인권 서울 포럼")
        registration = make_registration(event=event, email="traveller@example.org")
        token = links.issue_manage_token(registration)
        lead = create_staff(ORGANIZER, "Protocol Officer", STAFF_PASSWORD, StaffRole.STAFF)
        lead.totp_secret = STAFF_TOTP_SECRET
        lead.two_factor_enrolled_at = utcnow()
        db.session.flush()
        db.session.add(TeamMember(user_id=lead.id, event_id=event.id, role="organizer"))
        db.session.commit()
        return event.id, token


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size or DESKTOP_VIEWPORT
    assert width <= viewport["width"], f"{page.url} is {width} px wide at {viewport['width']}"


def test_an_attendee_asks_the_organizer_approves_and_the_letter_is_downloaded(
    app: Flask, open_page: Callable[..., Page], world: tuple[int, str], screenshot: Shoot
) -> None:
    event_id, token = world
    phone = open_page(javascript=False, viewport=PHONE_VIEWPORT)
    phone.goto(f"/registration/{token}")
    phone.locator("#visa-letter").get_by_role("link", name="Visa invitation letter").click()
    expect(phone.locator("h1")).to_have_text("Visa invitation letter")
    expect(phone.locator("#visa-privacy")).to_contain_text("30 days after the event")
    phone.get_by_label("Name as in your passport").fill(NAME)
    phone.get_by_label("Passport number").fill(NUMBER)
    phone.get_by_label("Nationality").select_option("KE")
    phone.get_by_label("Date of birth").fill("1984-02-29")
    phone.get_by_label("Passport valid until").fill("2020-01-01")
    phone.get_by_label("Consulate or embassy").fill("Embassy of the Republic of Korea, Nairobi")
    phone.get_by_label("English and 한국어").check()
    no_sideways_scroll(phone)
    screenshot(phone, "visa-01-form-390")
    phone.get_by_role("button", name="Send my request").click()
    expect(phone.locator("#passport_expiry-error")).to_contain_text("valid after the event")
    expect(phone.get_by_label("Name as in your passport")).to_have_value(NAME)
    expect(phone.get_by_label("Passport number")).to_have_value(NUMBER)
    expect(phone.get_by_label("Nationality")).to_have_value("KE")
    expect(phone.get_by_label("English and 한국어")).to_be_checked()
    no_sideways_scroll(phone)
    screenshot(phone, "visa-02-refused-390")
    phone.get_by_label("Passport valid until").fill("2035-06-30")
    phone.get_by_role("button", name="Send my request").click()
    expect(phone.locator("#visa-requested")).to_contain_text("with the organizers")
    assert NUMBER not in phone.content()  # masked on the attendee's page too

    lead = open_page(javascript=False)
    lead.goto("/sign-in")
    lead.get_by_label("Email").fill(ORGANIZER)
    lead.get_by_label("Password").fill(STAFF_PASSWORD)
    lead.get_by_role("button", name="Sign in").click()
    finish_sign_in(lead, app, ORGANIZER)
    lead.goto(f"/manage/events/{event_id}/registrations")
    lead.locator("#visa-letters-link").click()
    expect(lead.locator("h1")).to_have_text("Visa letter requests")
    lead.get_by_role("link", name="Requested: 1").click()
    lead.locator("#visa-requests tbody a").first.click()
    expect(lead.locator("#passport-data")).to_contain_text(NUMBER)
    screenshot(lead, "visa-03-request-1280")
    lead.get_by_label("Note to the attendee").fill("Bring it with your application.")
    lead.get_by_role("button", name="Approve and issue the letter").click()
    expect(lead.locator("#visa-request-status")).to_have_attribute("data-status", "approved")

    phone.reload()
    expect(phone.locator("#visa-approved")).to_contain_text("Bring it with your application.")
    no_sideways_scroll(phone)
    screenshot(phone, "visa-04-ready-390")
    for name, title in (("English", "Seoul Forum on North Korean Human Rights"),
                        ("Korean", "북한인권 서울 포럼")):
        with phone.expect_download() as info:
            phone.get_by_role("link", name=f"Download the letter in {name} (PDF)").click()
        data = Path(info.value.path()).read_bytes()
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        text = text.replace("\x00", "").replace(" ", "").replace("\n", "")
        assert NAME.replace(" ", "") in text and NUMBER in text and title.replace(" ", "") in text
    with app.app_context():
        found = db.session.scalars(db.select(VisaLetterRequest)).one()
        assert found.status == VisaStatus.APPROVED and found.translation_document_id
