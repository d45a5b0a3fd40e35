"""An attendee registers in Chromium: a member of the public (confirmed, calendar by email),
a journalist (awaiting review), and a form sent with a mistake (message beside the field,
everything typed kept). Mail goes to a real SMTP server on a local port."""

from __future__ import annotations

import re

import pytest
from icalendar import Calendar
from playwright.sync_api import Page, expect

from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.registrations.models import Registration
from tests.factories import make_event
from tests.smtp import smtp_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


@pytest.fixture
def event_slug(app):
    with app.app_context():
        event = make_event(capacity=50, title="Seoul Conference 2027")
        db.session.commit()
        return event.slug


def fill_person(page: Page, given: str, family: str, email: str) -> None:
    page.get_by_label("Given name").fill(given)
    page.get_by_label("Family name").fill(family)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Organization or affiliation").fill("Citizens for Rights")
    page.get_by_label("Country", exact=True).select_option("KR")
    page.get_by_role("radio", name="English", exact=True).check()
    for box in page.get_by_role("group", name="Days you attend").get_by_role("checkbox").all():
        box.check()
    page.get_by_label("I have read the privacy notice").check()


def choose_category(page: Page, slug: str, label: str) -> None:
    page.goto(f"/events/{slug}")
    page.get_by_role("link", name="Register", exact=True).click()
    page.get_by_label(label).check()
    page.get_by_role("button", name="Continue").click()


@pytest.mark.parametrize("javascript", [True, False])
def test_member_of_the_public_registers_and_receives_the_calendar(
    app, page: Page, event_slug, smtp_server, live_server
):
    choose_category(page, event_slug, "General public")
    expect(page.get_by_role("heading", level=1)).to_contain_text("General public")
    fill_person(page, "Min-ji", "Kim", "minji@example.org")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(page.locator("main")).to_contain_text("mi•••@ex•••.org")
    with app.app_context():
        assert db.session.scalar(db.select(Registration.status)) == "confirmed"
        assert deliver_due().sent == 1
    [message] = smtp_server.messages
    assert message["To"] == "minji@example.org"
    [ics] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(ics.get_payload(decode=True))
    assert str(calendar["METHOD"]) == "PUBLISH"
    link = re.search(r"/registration/[A-Za-z0-9_-]+", message.get_body(("plain",)).get_content())
    page.goto(live_server + link.group(0))
    expect(page.locator(".status-box")).to_contain_text("Confirmed")


def test_journalist_registration_awaits_review(app, page: Page, event_slug, smtp_server):
    choose_category(page, event_slug, "Journalist")
    fill_person(page, "Hana", "Lee", "hana@example.org")
    page.get_by_label("Media outlet").fill("Daily Herald")
    page.get_by_label("Your role").fill("Reporter")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    with app.app_context():
        assert db.session.scalar(db.select(Registration.status)) == "pending"
        deliver_due()
    assert "awaiting review" in smtp_server.messages[0]["Subject"]


@pytest.mark.parametrize("javascript", [True, False])
def test_mistake_is_shown_beside_its_field_and_the_rest_is_kept(app, page: Page, event_slug):
    choose_category(page, event_slug, "Academic")
    fill_person(page, "Jun", "Park", "not-an-address")
    page.get_by_label("Institution").fill("Yonsei University")
    page.get_by_label("Dietary needs").fill("Vegetarian")
    page.get_by_role("button", name="Register").click()
    email = page.get_by_label("Email", exact=True)
    expect(email).to_have_attribute("aria-invalid", "true")
    error_id = email.get_attribute("aria-describedby").split()[-1]
    expect(page.locator(f"#{error_id}")).to_contain_text("valid email address")
    expect(email).to_have_value("not-an-address")
    expect(page.get_by_label("Given name")).to_have_value("Jun")
    expect(page.get_by_label("Institution")).to_have_value("Yonsei University")
    expect(page.get_by_label("Dietary needs")).to_have_value("Vegetarian")
    expect(page.get_by_label("I have read the privacy notice")).to_be_checked()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0
