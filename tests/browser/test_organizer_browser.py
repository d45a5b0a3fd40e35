"""A day in the organizer's life, in Chromium: sign in, filter the roster, approve a pending
journalist (the approval reaches a real SMTP server), check them in through their check-in
URL, and see the dashboard's counts change."""

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
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.registrations import services
from nkhr_events.registrations.models import Registration
from nkhr_events.registrations.services import RegistrationInput
from tests.browser.browser_support import enrolled_organizer, finish_sign_in
from tests.factories import make_event
from tests.smtp import smtp_settings

pytestmark = pytest.mark.browser

EMAIL = "organizer@example.org"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


@pytest.fixture
def conference(app: Flask) -> dict[str, object]:
    """An event held today in Seoul with a pending journalist and a confirmed member of the
    public."""
    with app.app_context():
        enrolled_organizer(EMAIL, "Organizer", PASSWORD)
        today = utcnow().astimezone(ZoneInfo("Asia/Seoul")).date()
        event = make_event(days=[today, today + timedelta(days=1)], capacity=10,
                           door_opens_at=time(0))  # open all day, whatever the hour
        journalist = services.register_attendee(
            event.id,
            RegistrationInput(
                category="journalist", given_name="Hana", family_name="Lee",
                email="hana@example.org", privacy_consent=True,
                answers={"media_outlet": "Daily Herald", "media_role": "Reporter"},
            ), actor=ATTENDEE
        ).registration
        services.register_attendee(
            event.id,
            RegistrationInput(
                category="general_public", given_name="Min-ji", family_name="Kim",
                email="minji@example.org", privacy_consent=True,
            ), actor=ATTENDEE
        )
        db.session.commit()
        return {"event": event.id, "journalist": journalist.id}


@pytest.mark.parametrize("javascript", [True, False])
def test_organizer_filters_approves_checks_in_and_sees_the_dashboard_change(
    app: Flask, open_page: Callable[..., Page], conference: dict, smtp_server, javascript: bool
) -> None:
    page = open_page(javascript=javascript)
    event_id, journalist_id = conference["event"], conference["journalist"]

    page.goto("/sign-in")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    finish_sign_in(page, app, EMAIL)
    expect(page.locator("h1")).to_have_text("Events")

    dashboard = f"/manage/events/{event_id}"
    page.goto(dashboard)
    expect(page.get_by_text("1 registration to review")).to_be_visible()
    checkins = page.locator("table.checkins tbody tr").first.locator("td")
    expect(checkins).to_have_text("0")

    page.goto(f"/manage/events/{event_id}/registrations")
    page.locator("#filter-category").select_option("journalist")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Hana Lee")
    rows.first.get_by_role("link", name="Hana Lee").click()

    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash-success")).to_contain_text("Hana Lee")
    with app.app_context():
        assert db.session.get(Registration, journalist_id).status == "confirmed"
        deliver_due()
        reference = checkin.checkin_reference(db.session.get(Registration, journalist_id))
        db.session.commit()
    approval = [m for m in smtp_server.messages if m["To"] == "hana@example.org"][-1]
    assert "confirmed" in approval["Subject"]
    assert "approved" in approval.get_body(("plain",)).get_content()

    page.goto(f"/manage/checkin/{reference}")
    expect(page.locator("h1")).to_have_text("Hana Lee")
    page.get_by_role("button", name="Check in", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("checked in")
    with app.app_context():
        assert db.session.scalar(
            db.select(db.func.count(RegistrationCheckin.id)).where(
                RegistrationCheckin.registration_id == journalist_id
            )
        ) == 1

    page.goto(dashboard)
    expect(page.get_by_text("0 registrations to review")).to_be_visible()
    expect(page.locator("table.checkins tbody tr").first.locator("td")).to_have_text("1")
