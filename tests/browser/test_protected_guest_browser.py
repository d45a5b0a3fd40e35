"""A protected guest in Chromium: an event organizer registers a person at risk under a
pseudonym from the invitations page (JavaScript off: the form needs none), lands on the handout
sheet in the guest's language (Korean here) with the check-in code, and prints it; then a door
volunteer on a phone (390 px) finds the guest by the pseudonym and checks them in. The real
name is on none of these pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from nkhr_events.accounts.models import StaffRole, TeamMember
from nkhr_events.accounts.services import create_staff
from nkhr_events.audit.services import SYSTEM
from nkhr_events.checkin import services as checkin
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.services import save_category_settings
from tests.browser.browser_support import DESKTOP_VIEWPORT, PHONE_VIEWPORT, finish_sign_in
from tests.conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET
from tests.factories import make_event

pytestmark = pytest.mark.browser

ORGANIZER = "lead@example.org"
DOOR = "door@example.org"
PSEUDONYM = "새벽별"
REAL = "Quillfeather Zyxwvu"
Shoot = Callable[[Page, str], Path | None]


@pytest.fixture
def event_id(app: Flask) -> int:
    """A two-day event held from today (its door open all day) whose organizers' guests are
    on; its organizer (two-factor enrolled) and a door volunteer."""
    with app.app_context():
        today = utcnow().astimezone(ZoneInfo("Asia/Seoul")).date()
        event = make_event(days=[today, today + timedelta(days=1)], door_opens_at=time(0),
                           title="Seoul Forum on North Korean Human Rights",
                           title_ko="북한인권 서울 포럼")
        save_category_settings(event, {"organizers_guest": {"enabled": True}}, actor=SYSTEM)
        lead = create_staff(ORGANIZER, "Protocol Officer", STAFF_PASSWORD, StaffRole.STAFF)
        lead.totp_secret = STAFF_TOTP_SECRET
        lead.two_factor_enrolled_at = utcnow()
        door = create_staff(DOOR, "Door Volunteer", STAFF_PASSWORD, StaffRole.STAFF)
        db.session.flush()
        db.session.add(TeamMember(user_id=lead.id, event_id=event.id, role="organizer"))
        db.session.add(TeamMember(user_id=door.id, event_id=event.id, role="door"))
        db.session.commit()
        return event.id


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size or DESKTOP_VIEWPORT
    assert width <= viewport["width"], f"{page.url} is {width} px wide at {viewport['width']}"


def shoot_both(page: Page, shoot: Shoot, name: str) -> None:
    no_sideways_scroll(page)
    shoot(page, f"{name}-1280")
    page.set_viewport_size(PHONE_VIEWPORT)
    no_sideways_scroll(page)
    shoot(page, f"{name}-390")
    page.set_viewport_size(DESKTOP_VIEWPORT)


def sign_in(page: Page, app: Flask, email: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    finish_sign_in(page, app, email)


def test_an_organizer_registers_a_protected_guest_who_is_checked_in_under_the_pseudonym(
    app: Flask, open_page: Callable[..., Page], event_id: int, screenshot: Shoot
) -> None:
    lead = open_page(javascript=False)
    sign_in(lead, app, ORGANIZER)
    lead.goto(f"/manage/events/{event_id}/invitations")
    lead.get_by_role("link", name="Register a protected guest").click()
    expect(lead.locator("h1")).to_have_text("Register a protected guest")
    # Nothing ticked for consent: refused beside the box, what was typed kept.
    lead.get_by_label("Pseudonym").fill(PSEUDONYM)
    lead.get_by_label("Real name").fill(REAL)
    lead.get_by_label("Category").select_option("organizers_guest")
    lead.get_by_label("한국어").check()
    shoot_both(lead, screenshot, "protected-01-form")
    lead.get_by_role("button", name="Register and print the handout").click()
    expect(lead.locator("#privacy_consent-error")).to_be_visible()
    expect(lead.get_by_label("Pseudonym")).to_have_value(PSEUDONYM)
    expect(lead.get_by_label("Real name")).to_have_value(REAL)
    shoot_both(lead, screenshot, "protected-02-refused")
    lead.get_by_label("agreed to it in person").check()
    lead.get_by_role("button", name="Register and print the handout").click()

    expect(lead.locator("h1")).to_have_text("Handout sheet")
    sheet = lead.locator("#handout")
    expect(sheet).to_have_attribute("lang", "ko")
    expect(sheet).to_contain_text("북한인권 서울 포럼")
    expect(sheet.locator(".handout-name")).to_have_text(PSEUDONYM)
    expect(sheet.locator("svg")).to_have_count(1)
    with app.app_context():
        guest = db.session.scalars(db.select(Registration)).one()
        assert guest.protected and guest.status == RegistrationStatus.CONFIRMED
        expect(sheet.locator("#handout-reference")).to_have_text(checkin.checkin_reference(guest))
        guest_id = guest.id
    assert REAL not in lead.content()
    shoot_both(lead, screenshot, "protected-03-handout")
    lead.emulate_media(media="print")
    expect(lead.locator(".handout-screen")).to_be_hidden()
    expect(lead.locator(".site-header")).to_be_hidden()
    screenshot(lead, "protected-04-handout-print")
    lead.emulate_media(media="screen")

    # The person's page says who this is, and shows the real name only on request.
    lead.goto(f"/manage/registrations/{guest_id}")
    expect(lead.locator("#protected-marker")).to_contain_text("Protected guest")
    assert REAL not in lead.content()
    lead.get_by_role("button", name="Show the real name").click()
    expect(lead.get_by_label("Real name")).to_have_value(REAL)

    door = open_page(javascript=False, viewport=PHONE_VIEWPORT)
    sign_in(door, app, DOOR)
    door.wait_for_url(f"**/manage/events/{event_id}/door**")
    door.get_by_label("Name or organization").fill(PSEUDONYM)
    door.get_by_role("button", name="Search").click()
    expect(door.locator("main")).to_contain_text(PSEUDONYM)
    assert REAL not in door.content()
    no_sideways_scroll(door)
    screenshot(door, "protected-05-door-found-390")
    door.get_by_role("button", name="Check in").first.click()
    expect(door.locator("#door-result h2")).to_have_text("Checked in")
    expect(door.locator("#door-result")).to_contain_text(PSEUDONYM)
    assert REAL not in door.content()
    screenshot(door, "protected-06-door-checked-in-390")
    with app.app_context():
        assert db.session.scalar(
            db.select(db.func.count(RegistrationCheckin.id)).where(
                RegistrationCheckin.registration_id == guest_id)
        ) == 1
    # By the real name, the door finds nobody.
    door.get_by_role("link", name="Next person").click()
    door.get_by_label("Name or organization").fill("Quillfeather")
    door.get_by_role("button", name="Search").click()
    assert PSEUDONYM not in door.locator("main").inner_text()
