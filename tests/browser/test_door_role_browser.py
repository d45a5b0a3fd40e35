"""A door volunteer on a phone (390 px wide, JavaScript off): signs in with the password alone
(the door role reads no personal data beyond the door's), lands on the door page of today's
event, checks a person in, and finds nothing else: no needs, no address, no roster, no other
event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from nkhr_events.accounts.models import StaffRole
from nkhr_events.accounts.services import create_staff
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from tests.factories import make_event, make_registration

pytestmark = pytest.mark.browser

EMAIL = "door@example.org"
PASSWORD = "correct horse battery staple"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def door(app: Flask) -> dict[str, object]:
    with app.app_context():
        today = utcnow().astimezone(ZoneInfo("Asia/Seoul")).date()
        event = make_event(days=[today, today + timedelta(days=1)], title="Seoul Conference",
                           door_opens_at=time(0))  # open all day, whatever the hour
        other = make_event(title="Tokyo Conference")
        person = make_registration(event=event, given_name="영희", family_name="이",
                                   email="younghee@example.org", organization="NK Watch",
                                   dietary_needs="Halal", accessibility_needs="Wheelchair")
        make_registration(event=other, given_name="Taro", family_name="Yamada",
                          email="taro@example.org")
        user = create_staff(EMAIL, "Door Volunteer", PASSWORD, StaffRole.STAFF)
        from nkhr_events.accounts.models import TeamMember

        db.session.add(TeamMember(user_id=user.id, event_id=event.id, role="door"))
        db.session.commit()
        return {"event": event.id, "other": other.id, "person": person.id}


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_door_volunteer_on_a_phone_checks_in_and_sees_nothing_else(
    app: Flask, open_page: Callable[..., Page], door: dict[str, object]
) -> None:
    page = open_page(javascript=False, viewport=PHONE)
    page.goto("/sign-in")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # No second step for the door, and straight to today's door page.
    page.wait_for_url(f"**/manage/events/{door['event']}/door**")
    no_sideways_scroll(page)

    page.get_by_label("Name or organization").fill("이영희")
    page.get_by_role("button", name="Search").click()
    result = page.locator("main")
    expect(result).to_contain_text("이영희")
    expect(result).to_contain_text("NK Watch")
    html = page.content()
    for private in ("younghee@example.org", "Halal", "Wheelchair"):
        assert private not in html, private
    no_sideways_scroll(page)
    page.get_by_role("button", name="Check in").first.click()
    expect(page.locator("main")).to_contain_text("이영희")
    # The result fills the screen; "Next person" goes back to the search.
    expect(page.locator("#door-result h2")).to_have_text("Checked in")
    page.get_by_role("link", name="Next person").click()
    with app.app_context():
        assert db.session.scalar(
            db.select(db.func.count(RegistrationCheckin.id)).where(
                RegistrationCheckin.registration_id == door["person"])
        ) == 1

    # Searching by address finds nobody: the door is no way to learn who registered.
    page.get_by_label("Name or organization").fill("younghee@example.org")
    page.get_by_role("button", name="Search").click()
    assert "이영희" not in page.locator("main").inner_text()

    for path in (f"/manage/events/{door['event']}/registrations",
                 f"/manage/registrations/{door['person']}",
                 f"/manage/events/{door['event']}/registrations/export?format=csv",
                 f"/manage/events/{door['other']}/door", "/manage/outbox/", "/manage/staff"):
        response = page.goto(path)
        assert response is not None and response.status in (403, 404), path
        assert "Taro" not in page.content()
