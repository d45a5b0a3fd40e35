"""A passkey in a real browser: Chromium's virtual authenticator (DevTools protocol) stands
in for the device. The organizer adds one on their two-factor page after a code, then signs
in with it instead of a code. Passkeys need a host name, so the pages are opened on
"localhost" (the same test server); without JavaScript the passkey parts stay hidden and the
code works."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from nkhr_events.accounts.models import StaffPasskey
from nkhr_events.extensions import db

from .browser_support import (
    PHONE_VIEWPORT,
    RequestGuard,
    enrolled_organizer,
    finish_sign_in,
)

EMAIL = "organizer@example.org"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def localhost(live_server: str) -> str:
    return f"http://localhost:{urlsplit(live_server).port}"


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        context.close()


@pytest.fixture
def open_localhost(
    browser: Browser, localhost: str, contexts: list[BrowserContext]
) -> Callable[..., tuple[Page, RequestGuard]]:
    def _open(javascript: bool = True) -> tuple[Page, RequestGuard]:
        context = browser.new_context(base_url=localhost, viewport=PHONE_VIEWPORT,
                                      locale="en-US", java_script_enabled=javascript,
                                      service_workers="block")
        context.set_default_timeout(10_000)
        guard = RequestGuard(localhost)
        guard.attach(context)
        contexts.append(context)
        return context.new_page(), guard

    return _open


def password_step(page: Page) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_add_a_passkey_then_sign_in_with_it(
    app: Flask, open_localhost: Callable[..., tuple[Page, RequestGuard]],
    screenshot: Callable[[Page, str], object],
) -> None:
    with app.app_context():
        enrolled_organizer(EMAIL, "Organizer", PASSWORD)
        db.session.commit()
    page, guard = open_localhost()
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})

    password_step(page)
    finish_sign_in(page, app, EMAIL)
    page.goto("/manage/two-factor")
    expect(page.get_by_text("You have no passkey.")).to_be_visible()
    expect(page.locator("[data-passkey-unsupported]")).to_be_hidden()
    page.get_by_label("Name for the passkey").fill("This phone")
    # A wrong code is refused next to its field; nothing is made.
    page.get_by_label("Code from your app").fill("000000")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("#passkey-code-error")).to_have_text(
        "The code is not correct. Type the current code from your app.")
    expect(page.get_by_label("Code from your app")).to_have_attribute("aria-invalid", "true")

    from tests.conftest import next_code

    page.get_by_label("Code from your app").fill(next_code(app, EMAIL))
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("Passkey “This phone” added.")).to_be_visible()
    expect(page.get_by_role("button", name="Remove This phone")).to_be_visible()
    screenshot(page, "passkey-added-390")
    with app.app_context():
        [key] = db.session.scalars(db.select(StaffPasskey)).all()
        assert key.name == "This phone"

    page.get_by_role("button", name="Sign out").click()
    password_step(page)
    expect(page.locator("h1")).to_have_text("Two-factor sign-in")
    screenshot(page, "passkey-sign-in-390")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator("h1")).to_have_text("Events")
    with app.app_context():
        key = db.session.scalars(db.select(StaffPasskey)).one()
        assert key.last_used_at is not None
    assert guard.foreign == []


def test_without_javascript_the_code_is_the_way_in(
    app: Flask, open_localhost: Callable[..., tuple[Page, RequestGuard]],
) -> None:
    with app.app_context():
        enrolled_organizer(EMAIL, "Organizer", PASSWORD)
        db.session.commit()
    # A passkey exists (added earlier in another browser).
    with app.app_context():
        user_id = db.session.scalar(db.text("SELECT id FROM staff_user"))
        db.session.add(StaffPasskey(user_id=user_id, credential_id="abc", public_key=b"x",
                                    sign_count=0, name="Old phone", transports=""))
        db.session.commit()
    page, _ = open_localhost(javascript=False)
    password_step(page)
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    finish_sign_in(page, app, EMAIL)
    expect(page.locator("h1")).to_have_text("Events")
    page.goto("/manage/two-factor")
    expect(page.get_by_text("Adding a passkey needs a browser with passkeys")).to_be_visible()
    expect(page.get_by_role("button", name="Add a passkey")).to_be_hidden()
    page.get_by_role("button", name="Remove Old phone").click()
    expect(page.get_by_text("The passkey is removed.")).to_be_visible()
