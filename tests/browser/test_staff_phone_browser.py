"""The staff lists on a phone (360 and 390 px), in Chromium: the staff home, an event's team and
the staff accounts fit the screen, with nothing hidden in a sideways scroll (a role, a status, a
Remove button); removing a member asks first; a refused invitation comes back showing its form
and what to correct, not the top of the page."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from nkhr_events.accounts.models import StaffRole, TeamMember
from nkhr_events.accounts.services import create_staff
from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import EventStatus
from nkhr_events.extensions import db
from tests.browser.browser_support import PHONE_VIEWPORT, SCREENSHOT_DIR, finish_sign_in
from tests.browser.test_audit_pages import AXE_JS, AXE_OPTIONS, RUN_AXE
from tests.conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET
from tests.factories import make_event

pytestmark = pytest.mark.browser

ADMIN = "admin@example.org"
LONG_ADDRESS = "press.officer.for.international.media@long-organization-name.example.org"
NARROW = {"width": 360, "height": 740}

Shoot = Callable[[Page, str], Path | None]


@pytest.fixture
def world(app: Flask) -> dict[str, int]:
    """Two events (one published, over several days); an enrolled admin; a team for the first
    one with a long address among its members."""
    with app.app_context():
        seoul = make_event(
            title="International Conference on North Korean Human Rights and Refugees",
            status=EventStatus.PUBLISHED,
        )
        make_event(title="Tokyo Forum")
        admin = create_staff(ADMIN, "Administrator", STAFF_PASSWORD, StaffRole.ADMIN)
        admin.totp_secret = STAFF_TOTP_SECRET
        admin.two_factor_enrolled_at = utcnow()
        for email, role in ((LONG_ADDRESS, "reviewer"), ("door@example.org", "door")):
            user = create_staff(email, "Kim Min-ji", STAFF_PASSWORD, StaffRole.STAFF)
            db.session.add(TeamMember(user_id=user.id, event_id=seoul.id, role=role,
                                      categories="journalist" if role == "reviewer" else ""))
        db.session.commit()
        return {"seoul": seoul.id}


def sign_in(page: Page, app: Flask) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    finish_sign_in(page, app, ADMIN)
    expect(page.locator("h1")).to_have_text("Events")


def fits(page: Page, width: int) -> None:
    """Nothing wider than the screen: neither the page nor any table in its scroll box; and
    the page passes axe-core's WCAG 2.2 AA rules as laid out on the phone."""
    page.wait_for_load_state()  # the style sheet applied, not only the HTML arrived
    violations = page.evaluate(RUN_AXE, AXE_OPTIONS)
    assert violations == [], (page.url, violations)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url
    wide = page.evaluate(
        "[...document.querySelectorAll('.table-scroll')]"
        ".filter(box => box.scrollWidth > box.clientWidth).map(box => box.id || box.className)"
    )
    assert wide == [], f"{page.url}: {wide} scroll sideways"


def shoot_screen(page: Page, name: str) -> None:
    """What the phone shows right now (not the whole page), when NKHR_SCREENSHOTS is set."""
    if os.environ.get("NKHR_SCREENSHOTS"):
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"))


def on_screen(page: Page, selector: str, width: int) -> None:
    """Every element of `selector` lies within the screen's width."""
    for box in page.locator(selector).evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [r.left, r.right]; })"
    ):
        assert 0 <= box[0] and box[1] <= width, (selector, box)


@pytest.mark.parametrize("viewport", [PHONE_VIEWPORT, NARROW], ids=["390px", "360px"])
def test_staff_lists_fit_a_phone_and_removing_a_member_asks_first(
    app: Flask,
    open_page: Callable[..., Page],
    world: dict[str, int],
    screenshot: Shoot,
    viewport: dict[str, int],
) -> None:
    width = viewport["width"]
    page = open_page(viewport=viewport, bypass_csp=True)
    page.context.add_init_script(path=str(AXE_JS))
    sign_in(page, app)

    # The staff home: separate links; each event's status, date and Team link on screen.
    links = page.locator("#staff-links li")
    expect(links).to_have_text(
        ["New event", "Outbox", "Partner applications", "Staff accounts", "Audit trail",
         "Inquiries", "Document settings"]
    )
    fits(page, width)
    on_screen(page, "table.staff-list .status", width)
    on_screen(page, "table.staff-list a", width)
    date_cell = page.locator("table.staff-list tbody tr").first.locator("td").first
    assert date_cell.evaluate("e => e.getBoundingClientRect().height") < 60  # a line or two
    screenshot(page, f"staff-phone-{width}-01-home")

    page.get_by_role("link", name="Team").first.click()
    expect(page.locator("h1")).to_contain_text("Team of")
    fits(page, width)
    on_screen(page, "table.staff-list tbody th, table.staff-list tbody td", width)
    remove = page.get_by_role("link", name=f"Remove {LONG_ADDRESS} from the team")
    expect(remove).to_have_text("Remove")
    on_screen(page, ".staff-list-actions .button", width)
    screenshot(page, f"staff-phone-{width}-02-team")

    # Remove asks first; "No" keeps the member, "Yes, remove" removes them.
    remove.click()
    expect(page.locator("h1")).to_have_text(f"Remove {LONG_ADDRESS} from the team?")
    fits(page, width)
    screenshot(page, f"staff-phone-{width}-03-remove-confirm")
    page.get_by_role("link", name="No, keep them").click()
    expect(page.locator(f"tr[data-member='{LONG_ADDRESS}']")).to_have_count(1)
    page.get_by_role("link", name=f"Remove {LONG_ADDRESS} from the team").click()
    page.get_by_role("button", name="Yes, remove").click()
    expect(page.locator("main")).to_contain_text(
        f"{LONG_ADDRESS} is no longer on the team of this event."
    )
    expect(page.locator(f"tr[data-member='{LONG_ADDRESS}']")).to_have_count(0)

    # A refused invitation lands on the form, its summary of what to correct on screen.
    form = page.locator("form[aria-labelledby=invite-heading]")
    form.get_by_label("Email", exact=True).fill("press@")
    form.get_by_label("Door: checks people in").check()
    form.get_by_role("button", name="Invite").click()
    expect(page).to_have_url(re.compile(r"/team#invite$"))
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Enter a valid email address.")
    expect(summary).to_be_in_viewport()
    expect(page.locator("#invite-heading")).to_be_in_viewport()
    expect(form.locator("#email")).to_have_value("press@")
    fits(page, width)
    screenshot(page, f"staff-phone-{width}-04-invite-refused")
    shoot_screen(page, f"staff-phone-{width}-04-invite-refused-screen")

    # The staff accounts: two-factor state and roles readable; a refused new account shows
    # its summary on screen.
    page.goto("/manage/staff")
    fits(page, width)
    on_screen(page, "table.staff-list tbody td", width)
    expect(page.locator(f"tr[data-account='{ADMIN}'] .staff-two-factor")).to_have_text("on")
    expect(page.locator("tr[data-account='door@example.org'] .staff-roles")).to_contain_text(
        "Door"
    )
    screenshot(page, f"staff-phone-{width}-05-accounts")
    page.get_by_role("link", name="New account").click()
    page.get_by_label("Email").fill("not-an-address")
    page.get_by_role("button", name="Create the account and send the invitation").click()
    expect(page.locator("#error-summary")).to_contain_text("Enter a valid email address.")
    expect(page.locator("#error-summary")).to_be_in_viewport()
    fits(page, width)
    shoot_screen(page, f"staff-phone-{width}-06-new-account-refused-screen")
