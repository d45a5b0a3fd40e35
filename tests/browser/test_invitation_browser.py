"""A staff invitation in Chromium, on a phone (390 px): an event organizer invites a new person
by email as a reviewer of one event; the invitation reaches a real SMTP server; the person opens
its link in a browser of their own, chooses a password (a short one first: the message stands
beside the field and the link still works), enrols for two-factor sign-in from the key shown on
the page, keeps the recovery codes, signs out, signs in with the password and a code, and finds
only that event. The link, used again, no longer works."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from nkhr_events.accounts.models import StaffRole, StaffUser, TeamMember
from nkhr_events.accounts.services import create_staff
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from tests.browser.browser_support import PHONE_VIEWPORT, finish_sign_in
from tests.conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET
from tests.factories import make_event, make_registration
from tests.smtp import SMTPServer, smtp_settings

pytestmark = pytest.mark.browser

ORGANIZER = "lead@example.org"
INVITEE = "press@example.org"
NEW_PASSWORD = "a passphrase of my own 2031"

Shoot = Callable[[Page, str], Path | None]


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


@pytest.fixture
def events(app: Flask) -> dict[str, int]:
    """Two events with a journalist each; an organizer of the first one only, enrolled for
    two-factor sign-in with the tests' known secret."""
    with app.app_context():
        seoul = make_event(title="Seoul Forum")
        tokyo = make_event(title="Tokyo Forum")
        for event, family in ((seoul, "ReporterSeoul"), (tokyo, "ReporterTokyo")):
            make_registration(
                event=event, category="journalist", given_name="Mina", family_name=family
            )
        lead = create_staff(ORGANIZER, "Lead Organizer", STAFF_PASSWORD, StaffRole.STAFF)
        lead.totp_secret = STAFF_TOTP_SECRET
        lead.two_factor_enrolled_at = utcnow()
        db.session.flush()
        db.session.add(TeamMember(user_id=lead.id, event_id=seoul.id, role="organizer"))
        db.session.commit()
        return {"seoul": seoul.id, "tokyo": tokyo.id}


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"{page.url} is {width} px wide"


def sign_in_with_password(page: Page, email: str, password: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def the_invitation(app: Flask, server: SMTPServer) -> EmailMessage:
    """The one message the invitee received once the outbox worker sent what is due."""
    with app.app_context():
        deliver_due()
    received = [m for m in server.messages if m["To"] == INVITEE]
    assert len(received) == 1, [m["To"] for m in server.messages]
    return received[0]


def invite_with_a_mistake_first(page: Page, event_id: int, shoot: Shoot) -> None:
    """The organizer's side: a mistyped address is refused beside its field with everything
    else kept; corrected, the invitation is sent."""
    page.goto(f"/manage/events/{event_id}/team")
    expect(page.locator("h1")).to_have_text("Team of Seoul Forum")
    no_sideways_scroll(page)
    shoot(page, "invite-01-team-page")
    form = page.locator("form[aria-labelledby=invite-heading]")
    form.get_by_label("Email", exact=True).fill("press@")
    form.get_by_label("Name", exact=True).fill("Kim Press")
    form.get_by_label("Reviewer: sees and decides registrations of chosen categories").check()
    form.get_by_label("Journalist", exact=True).check()
    # Reading needs is a reason for a second factor: the invitee will have to enrol.
    form.get_by_label("May read needs and internal notes").check()
    form.get_by_role("radio", name="English", exact=True).check()
    form.get_by_role("button", name="Invite").click()

    form = page.locator("form[aria-labelledby=invite-heading]")
    email_field = form.locator(".field-error", has=page.locator("#email"))
    expect(email_field.locator(".error-message")).to_have_text("Enter a valid email address.")
    expect(form.locator("#email")).to_have_attribute("aria-invalid", "true")
    expect(form.locator("#email")).to_have_value("press@")
    expect(form.get_by_label("Name", exact=True)).to_have_value("Kim Press")
    expect(
        form.get_by_label("Reviewer: sees and decides registrations of chosen categories")
    ).to_be_checked()
    expect(form.get_by_label("Journalist", exact=True)).to_be_checked()
    expect(form.get_by_label("May read needs and internal notes")).to_be_checked()
    no_sideways_scroll(page)
    shoot(page, "invite-02-team-bad-email")

    form.locator("#email").fill(INVITEE)
    form.get_by_role("button", name="Invite").click()
    expect(page.locator("main")).to_contain_text(
        f"An invitation to choose a password is on its way to {INVITEE}."
    )
    row = page.locator(f"tr[data-member='{INVITEE}']")
    expect(row).to_contain_text("Kim Press")
    expect(row).to_contain_text("Journalist")
    no_sideways_scroll(page)
    shoot(page, "invite-03-team-invited")


def test_an_invited_reviewer_sets_a_password_enrols_and_sees_only_their_event(
    app: Flask,
    open_page: Callable[..., Page],
    smtp_server: SMTPServer,
    events: dict[str, int],
    screenshot: Shoot,
) -> None:
    lead = open_page(viewport=PHONE_VIEWPORT)
    sign_in_with_password(lead, ORGANIZER, STAFF_PASSWORD)
    finish_sign_in(lead, app, ORGANIZER)
    expect(lead.locator("h1")).to_have_text("Events")
    invite_with_a_mistake_first(lead, events["seoul"], screenshot)

    # The email, as the SMTP server received it: the event, and a link to choose a password.
    message = the_invitation(app, smtp_server)
    assert "Seoul Forum" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Kim Press" in text and "Seoul Forum" in text and "Journalist" in text
    assert "authenticator app" in text  # the role reads needs: a second factor comes next
    assert "Tokyo Forum" not in text + html
    link = re.search(r"https?://[^/\s]+(/reset-password/[A-Za-z0-9_-]+)", text)
    assert link is not None, text
    assert link[0] in html
    path = link[1]

    # The invitee, in a browser of their own.
    person = open_page(viewport=PHONE_VIEWPORT)
    person.goto(path)
    # A welcome, not a reset: whose account, which event and role, and the app it needs.
    expect(person.locator("h1")).to_have_text("Welcome — choose your password")
    expect(person.locator("#welcome-account")).to_have_text(
        f"This is the staff account of {INVITEE}."
    )
    expect(person.locator("#welcome-roles li")).to_have_text(["Seoul Forum: Reviewer (Journalist)"])
    expect(person.locator("#welcome-two-factor")).to_contain_text("authenticator app")
    expect(person.locator("main")).not_to_contain_text("signs you out everywhere else")
    password = person.locator("#password")
    expect(password).to_have_attribute("autocomplete", "new-password")
    no_sideways_scroll(person)
    screenshot(person, "invite-04-choose-password")

    # Too short: the message beside the field, the link still good for the next try.
    password.fill("short")
    person.locator("main form button[type=submit]").click()
    expect(person).to_have_url(re.compile(re.escape(path) + "$"))
    expect(person.locator("h1")).to_have_text("Welcome — choose your password")
    field = person.locator(".field-error", has=person.locator("#password"))
    expect(field.locator("#password-error")).to_have_text("Use at least 12 characters.")
    expect(person.locator("#password")).to_have_attribute("aria-invalid", "true")
    expect(person.locator("#error-summary")).to_contain_text("Use at least 12 characters.")
    no_sideways_scroll(person)
    screenshot(person, "invite-05-password-too-short")
    # Nothing typed: asked for, beside the field.
    person.locator("main form button[type=submit]").click()
    expect(person.locator("#password-error")).to_have_text("Choose a new password.")
    with app.app_context():
        invited = db.session.scalars(db.select(StaffUser).where(StaffUser.email == INVITEE)).one()
        assert not invited.check_password("short")

    person.locator("#password").fill(NEW_PASSWORD)
    person.locator("main form button[type=submit]").click()
    expect(person).to_have_url(re.compile(r"/sign-in$"))
    expect(person.locator("main")).to_contain_text("Your password is set. Sign in with it.")
    screenshot(person, "invite-06-password-set")

    # First sign-in: the password, then enrolment (the role reads needs).
    person.get_by_label("Email").fill(INVITEE)
    person.get_by_label("Password").fill(NEW_PASSWORD)
    person.get_by_role("button", name="Sign in").click()
    expect(person.locator("h1")).to_have_text("Set up two-factor sign-in")
    expect(person.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    no_sideways_scroll(person)
    screenshot(person, "invite-07-enrol")
    secret = (person.locator("#two-factor-secret").text_content() or "").replace(" ", "")
    totp = pyotp.TOTP(secret)
    person.get_by_label("Code").fill(totp.now())
    person.get_by_role("button", name="Turn on two-factor sign-in").click()

    expect(person.locator("h1")).to_have_text("Your recovery codes")
    expect(person.locator("#recovery-codes li")).to_have_count(10)
    no_sideways_scroll(person)
    screenshot(person, "invite-08-recovery-codes")
    person.get_by_role("link", name="I have kept my recovery codes").click()
    expect(person.locator("h1")).to_have_text("Events")
    person.get_by_role("button", name="Sign out").click()

    # A later sign-in: password and a code (the next step's: the enrolment's works only once).
    sign_in_with_password(person, INVITEE, NEW_PASSWORD)
    expect(person.locator("h1")).to_have_text("Two-factor sign-in")
    no_sideways_scroll(person)
    screenshot(person, "invite-09-code")
    person.get_by_label("Code").fill(totp.at(time.time() + totp.interval))
    person.get_by_role("button", name="Sign in").click()

    # The staff home lists the one event of their team, and nothing of the other.
    expect(person.locator("h1")).to_have_text("Events")
    main = person.locator("main")
    expect(main).to_contain_text("Seoul Forum")
    expect(main).not_to_contain_text("Tokyo Forum")
    no_sideways_scroll(person)
    screenshot(person, "invite-10-staff-home")
    other = person.goto(f"/manage/events/{events['tokyo']}/registrations")
    assert other is not None and other.status == 404
    assert "ReporterTokyo" not in person.content()

    # The link a second time: no longer valid, in any browser.
    for browser_page in (person, open_page(viewport=PHONE_VIEWPORT)):
        again = browser_page.goto(path)
        assert again is not None and again.status == 404
        expect(browser_page.locator("h1")).to_have_text("This link no longer works")
        expect(browser_page.locator("main")).to_contain_text(
            "This link has expired or was already used."
        )
        expect(browser_page.locator("#password")).to_have_count(0)
    screenshot(browser_page, "invite-11-link-used")

    with app.app_context():
        member = db.session.scalars(
            db.select(TeamMember).join(StaffUser).where(StaffUser.email == INVITEE)
        ).one()
        assert (member.event_id, member.role, member.categories, member.sees_needs) == (
            events["seoul"],
            "reviewer",
            "journalist",
            True,
        )
