"""Sign-up for a roundtable in Chromium, on a phone (390 px), JavaScript off: an attendee opens
the programme from their private page and takes the last place; a second attendee finds the
roundtable full and joins its waitlist. The pages pass axe-core's WCAG 2.2 AA rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from nkhr_events.extensions import db
from nkhr_events.programme.models import ProgrammeSession
from nkhr_events.registrations import links
from tests.browser.browser_support import PHONE_VIEWPORT
from tests.browser.test_audit_pages import AXE_JS, AXE_OPTIONS, RUN_AXE
from tests.factories import make_event, make_registration

pytestmark = pytest.mark.browser

Shoot = Callable[[Page, str], Path | None]
TITLE = "Roundtable on family reunions"


@pytest.fixture
def world(app: Flask) -> tuple[str, str]:
    with app.app_context():
        event = make_event(title="Seoul Forum on North Korean Human Rights")
        db.session.add(ProgrammeSession(
            event_id=event.id, day=event.day_list[0], starts_at=time(14), ends_at=time(15, 30),
            kind="roundtable", title=TITLE, room="Room 3", signup=True, capacity=1,
        ))
        db.session.add(ProgrammeSession(
            event_id=event.id, day=event.day_list[0], starts_at=time(9), ends_at=time(10),
            kind="keynote", title="Opening keynote", room="Hall",
        ))
        first = links.issue_manage_token(make_registration(event=event))
        second = links.issue_manage_token(make_registration(event=event))
        db.session.commit()
        return first, second


def check_page(page: Page) -> None:
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]


def test_an_attendee_signs_up_and_the_next_is_waitlisted_when_full(
    open_page: Callable[..., Page], world: tuple[str, str], screenshot: Shoot
) -> None:
    first, second = world
    phone = open_page(javascript=False, viewport=PHONE_VIEWPORT)
    phone.goto(f"/registration/{first}")
    phone.locator("#programme").get_by_role(
        "link", name="See the programme and sign up for sessions").click()
    expect(phone.locator("h1")).to_have_text("Programme")
    roundtable = phone.locator(".signup-session", has_text=TITLE)
    expect(roundtable).to_contain_text("Places available")
    check_page(phone)
    screenshot(phone, "signup-01-programme-390")
    roundtable.get_by_role("button", name=f"Sign up for {TITLE}").click()
    expect(phone.locator(".flashes")).to_contain_text("your place is confirmed")
    expect(phone.locator(".signup-session", has_text=TITLE)).to_contain_text("You are signed up")
    phone.goto(f"/registration/{first}")
    expect(phone.locator("#programme")).to_contain_text(TITLE)
    screenshot(phone, "signup-02-manage-390")

    other = open_page(javascript=False, viewport=PHONE_VIEWPORT)
    other.goto(f"/registration/{second}/programme")
    full = other.locator(".signup-session", has_text=TITLE)
    expect(full).to_contain_text("Full: you join the waitlist")
    full.get_by_role("button", name=f"Sign up for {TITLE}").click()
    expect(other.locator(".flashes")).to_contain_text("you are on its waitlist")
    expect(other.locator(".signup-session", has_text=TITLE)).to_contain_text(
        "You are on the waitlist")
    check_page(other)
    screenshot(other, "signup-03-waitlisted-390")

    audited = open_page(javascript=True, viewport=PHONE_VIEWPORT)
    audited.context.add_init_script(path=str(AXE_JS))
    for url in (f"/registration/{second}/programme", f"/registration/{second}"):
        audited.goto(url)
        audited.wait_for_load_state()
        violations = audited.evaluate(RUN_AXE, AXE_OPTIONS)
        assert violations == [], (url, violations)


DOOR = "door@example.org"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def door_world(app: Flask) -> tuple[int, int]:
    from nkhr_events.accounts.models import StaffRole, TeamMember
    from nkhr_events.accounts.services import create_staff
    from nkhr_events.audit.services import ATTENDEE
    from nkhr_events.programme import signups

    with app.app_context():
        event = make_event(title="Seoul Forum")
        session = ProgrammeSession(
            event_id=event.id, day=event.day_list[0], starts_at=time(18), ends_at=time(20),
            kind="reception", title="Evening reception", signup=True, capacity=10,
        )
        db.session.add(session)
        person = make_registration(event=event, given_name="영희", family_name="이",
                                   email="younghee@example.org", organization="NK Watch",
                                   dietary_needs="Halal")
        signups.sign_up(person, session, actor=ATTENDEE)
        user = create_staff(DOOR, "Door Volunteer", PASSWORD, StaffRole.STAFF)
        db.session.add(TeamMember(user_id=user.id, event_id=event.id, role="door"))
        db.session.commit()
        return event.id, session.id


def test_the_door_of_a_session_checks_in_on_a_phone_without_javascript(
    open_page: Callable[..., Page], door_world: tuple[int, int], screenshot: Shoot
) -> None:
    event_id, session_id = door_world
    page = open_page(javascript=False, viewport=PHONE_VIEWPORT)
    page.goto("/sign-in")
    page.get_by_label("Email").fill(DOOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/manage/**")
    page.goto(f"/manage/events/{event_id}/door/sessions/{session_id}")
    page.get_by_label("Name or organization").fill("이영희")
    page.get_by_role("button", name="Search").click()
    cards = page.locator("#session-door")
    expect(cards).to_contain_text("이영희")
    expect(cards).to_contain_text("NK Watch")
    expect(cards).to_contain_text("No photos")
    assert "younghee@example.org" not in page.content() and "Halal" not in page.content()
    page.get_by_role("button", name="Check in 이영희").click()
    expect(page.locator(".flashes")).to_contain_text("이영희 is checked in")
    expect(page.locator("#session-present")).to_contain_text("1")
    check_page(page)
    screenshot(page, "signup-04-session-door-390")

    audited = open_page(javascript=True, viewport=PHONE_VIEWPORT)
    audited.context.add_init_script(path=str(AXE_JS))
    audited.goto("/sign-in")
    audited.get_by_label("Email").fill(DOOR)
    audited.get_by_label("Password").fill(PASSWORD)
    audited.get_by_role("button", name="Sign in").click()
    audited.wait_for_url("**/manage/**")
    audited.goto(f"/manage/events/{event_id}/door/sessions/{session_id}?q=NK")
    audited.wait_for_load_state()
    violations = audited.evaluate(RUN_AXE, AXE_OPTIONS)
    assert violations == [], violations
