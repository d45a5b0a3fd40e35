"""A delegation in Chromium, with JavaScript and without: an organizer gives a ministry's
protocol officer five places (asking for too many first: refused beside the field, what was
typed kept); the officer opens the link from their email on a phone (390 px), in Korean, and
registers the delegation of five one by one — four with their own address, one without — after
one form sent with the family name missing comes back with the message beside the field. The
page then has no place left; the member without an address has a check-in sheet the officer can
print, and that member's confirmation, with its QR code, arrives in the officer's mailbox. The
officer replaces one member; the organizer's page of the group lists the five."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from nkhr_events.accounts.models import StaffRole, TeamMember
from nkhr_events.accounts.services import create_staff
from nkhr_events.audit.services import SYSTEM
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.invitations.models import RegistrationGroup
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.seats import seats_taken
from nkhr_events.registrations.services import save_category_settings
from tests.browser.browser_support import DESKTOP_VIEWPORT, PHONE_VIEWPORT, finish_sign_in
from tests.conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET
from tests.factories import make_event
from tests.smtp import SMTPServer, smtp_settings

pytestmark = pytest.mark.browser

ORGANIZER = "lead@example.org"
FOCAL = "protocol@unification.example"
#: The delegation: family name, given name, address ("" for none), language.
DELEGATION = [
    ("김", "민지", "minji.kim@unification.example", "ko"),
    ("이", "서준", "seojun.lee@unification.example", "ko"),
    ("박", "지우", "", "ko"),
    ("Novák", "Jan", "jan.novak@mzv.example", "en"),
    ("山田", "花子", "hanako.yamada@mofa.example", "ja"),
]
NO_EMAIL = DELEGATION[2]

Shoot = Callable[[Page, str], Path | None]


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


@pytest.fixture
def event_id(app: Flask) -> int:
    """A published event for 30 that takes members of delegations; its organizer."""
    with app.app_context():
        event = make_event(title="Seoul Forum on North Korean Human Rights",
                           title_ko="북한인권 서울 포럼", capacity=30)
        save_category_settings(event, {"delegation": {"enabled": True}}, actor=SYSTEM)
        lead = create_staff(ORGANIZER, "Campaign Lead", STAFF_PASSWORD, StaffRole.STAFF)
        lead.totp_secret = STAFF_TOTP_SECRET
        lead.two_factor_enrolled_at = utcnow()
        db.session.flush()
        db.session.add(TeamMember(user_id=lead.id, event_id=event.id, role="organizer"))
        db.session.commit()
        return event.id


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size or DESKTOP_VIEWPORT
    assert width <= viewport["width"], f"{page.url} is {width} px wide at {viewport['width']}"


def delivered(app: Flask, smtp_server: SMTPServer) -> list[EmailMessage]:
    with app.app_context():
        deliver_due()
    return smtp_server.messages


def staff_give_places(page: Page, app: Flask, event_id: int, shoot: Shoot, js: str) -> None:
    page.goto(f"/manage/events/{event_id}/invitations")
    page.locator("#groups-link").click()
    expect(page.locator("#no-groups")).to_be_visible()
    page.locator("#new-delegation").click()
    page.locator("#name").fill("통일부 대표단")
    page.locator("#category").select_option("delegation")
    page.locator("#places").fill("50")
    expect(page.locator("#changes_until")).not_to_have_value("")
    page.locator("#contact_name").fill("최유나")
    page.locator("#contact_email").fill(FOCAL)
    page.locator("#contact_language-1").check()  # 한국어
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("#places-error")).to_contain_text("There are not enough free seats")
    expect(page.locator("#name")).to_have_value("통일부 대표단")
    expect(page.locator("#contact_email")).to_have_value(FOCAL)
    no_sideways_scroll(page)
    shoot(page, f"delegation-{js}-01-too-many")
    page.locator("#places").fill("5")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("#group-places")).to_have_text("5")
    shoot(page, f"delegation-{js}-02-group")
    with app.app_context():
        assert seats_taken(event_id)[None] == 5


def add_member(page: Page, family: str, given: str, email: str, language: str) -> None:
    page.locator("#family_name").fill(family)
    page.locator("#given_name").fill(given)
    page.locator("#email").fill(email)
    page.locator(f"#language input[value={language}]").check()
    page.locator("#privacy_consent").check()
    page.locator("#member-submit").click()
    page.wait_for_load_state()


def focal_point_registers_five(
    page: Page, app: Flask, event_id: int, path: str, shoot: Shoot, js: str
) -> None:
    page.goto(path)
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("h1")).to_have_text("통일부 대표단")
    no_sideways_scroll(page)
    shoot(page, f"delegation-{js}-03-contact-page")
    # One form with the family name missing: the message beside it, the rest kept.
    page.locator("#given_name").fill("민지")
    page.locator("#email").fill(DELEGATION[0][2])
    page.locator("#dietary_needs").fill("채식")
    page.locator("#member-submit").click()
    page.wait_for_load_state()
    expect(page.locator("#family_name-error")).to_be_visible()
    expect(page.locator("#privacy_consent-error")).to_be_visible()
    expect(page.locator("#given_name")).to_have_value("민지")
    expect(page.locator("#dietary_needs")).to_have_value("채식")
    no_sideways_scroll(page)
    shoot(page, f"delegation-{js}-04-missing-name")
    for family, given, email, language in DELEGATION:
        add_member(page, family, given, email, language)
        expect(page.locator("#member-list")).to_contain_text(given)
    expect(page.locator("#member-list tbody tr")).to_have_count(5)
    expect(page.locator("#no-places")).to_be_visible()
    no_sideways_scroll(page)
    shoot(page, f"delegation-{js}-05-five-registered")
    with app.app_context():
        members = db.session.scalars(db.select(Registration).where(
            Registration.group_id.is_not(None)).order_by(Registration.id)).all()
        assert [m.status for m in members] == [RegistrationStatus.CONFIRMED] * 5
        assert [m.email for m in members] == [d[2] for d in DELEGATION]
        assert [m.language for m in members] == [d[3] for d in DELEGATION]
        assert members[0].dietary_needs == "채식"
        assert seats_taken(event_id)[None] == 5


def the_sheet_and_the_mail_of_the_member_without_email(
    page: Page, app: Flask, smtp_server: SMTPServer, shoot: Shoot, js: str
) -> None:
    with app.app_context():
        member = db.session.scalars(db.select(Registration).where(
            Registration.email == "", Registration.group_id.is_not(None))).one()
        member_id, name = member.id, member.full_name
    row = page.locator(f"tr[data-member='{member_id}']")
    expect(row).to_contain_text(name)
    row.locator("a[href$='/sheet']").click()
    expect(page.locator("h1")).to_have_text(name)
    expect(page.locator("#checkin-qr")).to_be_visible()
    no_sideways_scroll(page)
    shoot(page, f"delegation-{js}-06-sheet")
    page.go_back()
    mails = [m for m in delivered(app, smtp_server) if m["To"] == FOCAL]
    confirmations = [m for m in mails if name in m.get_body(("plain",)).get_content()]
    assert len(confirmations) == 1
    assert "checkin.png" in [p.get_filename() for p in confirmations[0].iter_attachments()]


def focal_point_replaces_one(page: Page, app: Flask, shoot: Shoot, js: str) -> None:
    with app.app_context():
        replaced = db.session.scalars(db.select(Registration).where(
            Registration.email == DELEGATION[1][2])).one()
        replaced_id = replaced.id
    page.locator(f"tr[data-member='{replaced_id}'] a[href$='/replace']").click()
    add_member(page, "정", "하늘", "", "ko")
    expect(page.locator("#member-list tbody tr")).to_have_count(5)
    expect(page.locator("#member-list")).to_contain_text("정하늘")
    expect(page.locator("#member-list")).not_to_contain_text("이서준")
    shoot(page, f"delegation-{js}-07-replaced")
    with app.app_context():
        found = db.session.get(Registration, replaced_id)
        assert found is not None and found.status == RegistrationStatus.CANCELLED


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_focal_point_registers_a_delegation_of_five_one_without_email(
    app: Flask,
    open_page: Callable[..., Page],
    smtp_server: SMTPServer,
    event_id: int,
    javascript: bool,
    screenshot: Shoot,
) -> None:
    js = "js" if javascript else "nojs"
    lead = open_page(javascript=javascript)
    lead.goto("/sign-in")
    lead.get_by_label("Email").fill(ORGANIZER)
    lead.get_by_label("Password").fill(STAFF_PASSWORD)
    lead.get_by_role("button", name="Sign in").click()
    finish_sign_in(lead, app, ORGANIZER)
    staff_give_places(lead, app, event_id, screenshot, js)

    [mail] = [m for m in delivered(app, smtp_server) if m["To"] == FOCAL]
    found = re.search(r"https?://[^/\s]+(/group/[A-Za-z0-9_-]+)", mail.get_body(
        ("plain",)).get_content())
    assert found is not None
    focal = open_page(javascript=javascript, viewport=PHONE_VIEWPORT)
    focal_point_registers_five(focal, app, event_id, found.group(1), screenshot, js)
    the_sheet_and_the_mail_of_the_member_without_email(focal, app, smtp_server, screenshot, js)
    focal_point_replaces_one(focal, app, screenshot, js)

    with app.app_context():
        group_id = db.session.scalars(db.select(RegistrationGroup.id)).one()
    lead.goto(f"/manage/events/{event_id}/groups/{group_id}")
    expect(lead.locator("#member-list tbody tr")).to_have_count(5)
    expect(lead.locator("#group-left")).to_have_text("0")
    screenshot(lead, f"delegation-{js}-08-staff-group")
    lead.set_viewport_size(PHONE_VIEWPORT)
    lead.goto(f"/manage/events/{event_id}/groups")
    row = lead.locator(f"tr[data-group='{group_id}']")
    expect(row.locator("td[data-used]")).to_have_text("5")
    expect(row.locator("td[data-left]")).to_have_text("0")
    no_sideways_scroll(lead)
    screenshot(lead, f"delegation-{js}-09-staff-list-390")
