"""The organizer's tables on a phone (390 px) in Korean and Japanese: a table too wide for the
screen scrolls sideways as it does in English, instead of squeezing its columns until headers
and status badges stand a character a line ("참/가/분/야", "審/査/待/ち"); and an email's
detail page (long Message-ID, sender) stays within the screen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page

from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.registrations.models import RegistrationStatus
from nkhr_events.web import LANGUAGE_COOKIE
from tests.browser.browser_support import PHONE_VIEWPORT, enrolled_organizer, finish_sign_in
from tests.conftest import STAFF_PASSWORD
from tests.factories import make_event, make_registration

pytestmark = pytest.mark.browser

ORGANIZER = "jiwoo@example.org"

#: Column headers, status badges and tags: what must never stand a character a line.
WHOLE = "thead th, .status, .tag"


@pytest.fixture
def world(app: Flask) -> dict[str, int]:
    with app.app_context():
        event = make_event(capacity=3, title="Seoul Forum", title_ko="서울 포럼",
                           title_ja="ソウル・フォーラム")
        people = [
            ("journalist", "민준", "김", "ko"), ("academic", "花子", "山田", "ja"),
            ("general_public", "Jane", "Smith", "en"), ("expert", "영희", "이", "ko"),
            ("activist", "太郎", "佐藤", "ja"),
        ]
        for n, (category, given, family, language) in enumerate(people):
            registration = make_registration(
                event=event, category=category, given_name=given, family_name=family,
                language=language, email=f"person{n}.with.a.long.address@example.org",
                organization="북한인권시민연합" if n % 2 else "NK Watch Tokyo",
            )
            registration.status = [RegistrationStatus.PENDING, RegistrationStatus.CONFIRMED,
                                   RegistrationStatus.WAITLISTED, RegistrationStatus.CANCELLED,
                                   RegistrationStatus.REJECTED][n]
        enrolled_organizer(ORGANIZER, "Jiwoo Han", STAFF_PASSWORD)
        db.session.commit()
        message = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).first()
        return {"event": event.id, "message": message.id if message else 0}


def sign_in(page: Page, app: Flask, language: str, base_url: str) -> None:
    page.context.add_cookies([{"name": LANGUAGE_COOKIE, "value": language, "url": base_url}])
    page.goto("/sign-in")
    page.locator("#email").fill(ORGANIZER)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("main form button[type=submit]").click()
    finish_sign_in(page, app, ORGANIZER)


#: For each element of WHOLE with text: its text and how many lines it takes (its height over
#: its line height).
LINES = """(selector) => [...document.querySelectorAll(selector)]
  .filter((el) => el.offsetParent !== null && el.textContent.trim())
  .map((el) => {
    const style = getComputedStyle(el);
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
    const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    const height = el.getBoundingClientRect().height - padding;
    return [el.textContent.trim(), Math.round(height / line)];
  })"""


@pytest.mark.parametrize("language", ["ko", "ja"])
def test_staff_tables_scroll_instead_of_stacking_characters_on_a_phone(
    app: Flask, world: dict[str, int], open_page: Callable[..., Page], live_server: str,
    language: str, screenshot: Callable[[Page, str], Path | None],
) -> None:
    page = open_page(viewport=PHONE_VIEWPORT)
    sign_in(page, app, language, live_server)
    pages = {
        "dashboard": f"/manage/events/{world['event']}",
        "roster": f"/manage/events/{world['event']}/registrations",
        "outbox": "/manage/outbox/",
    }
    for name, url in pages.items():
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == language
        stacked = [(text, lines) for text, lines in page.evaluate(LINES, WHOLE)
                   # A header of several words may wrap at a space; none may wrap inside a word.
                   if lines > 1 and " " not in text]
        assert stacked == [], f"{name} ({language}): {stacked}"
        # The page itself never scrolls sideways: wide tables scroll in their own box.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
        screenshot(page, f"staff-table-{name}-{language}-390")

    if world["message"]:
        page.goto(f"/manage/outbox/{world['message']}")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
        screenshot(page, f"staff-outbox-message-{language}-390")
