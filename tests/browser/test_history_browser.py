"""The public pages in a real browser: the history table, the language switch (with and without
JavaScript) and the promise that no page asks a third party for anything."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from playwright.sync_api import Page, expect

from nkhr_events import PROJECT_ROOT
from nkhr_events.events.history import import_history
from nkhr_events.extensions import db

from .browser_support import PHONE_VIEWPORT, RequestGuard

pytestmark = pytest.mark.browser

KOREAN_CATALOGUE = PROJECT_ROOT / "nkhr_events/translations/ko/LC_MESSAGES/messages.po"
HISTORY_YEARS = ["1999", "2000", "2002", "2003", "2004", "2005", "2006", "2008", "2009", "2010"]


@cache
def korean(msgid: str) -> str:
    """The Korean text a reader sees for `msgid`, read from the catalogue the app uses."""
    assert KOREAN_CATALOGUE.exists(), f"The Korean catalogue is missing: {KOREAN_CATALOGUE}"
    with KOREAN_CATALOGUE.open("rb") as po_file:
        message = read_po(po_file, locale="ko").get(msgid)
    assert message is not None and message.string, f"No Korean translation for {msgid!r}"
    return str(message.string)


@pytest.fixture
def history(app: Flask) -> None:
    with app.app_context():
        import_history()
        db.session.commit()


def _history_row(page: Page, year: str):
    return page.locator("table.history tbody tr").filter(
        has=page.locator("th[scope=row]", has_text=year)
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_history_lists_the_ten_past_conferences_and_switches_to_korean_for_good(
    history: None, page: Page, screenshot: Callable[[Page, str], Path | None]
) -> None:
    page.goto("/history")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    years = page.locator("table.history tbody th[scope=row]")
    expect(years).to_have_text(HISTORY_YEARS)
    row_2004 = _history_row(page, "2004")
    expect(row_2004).to_contain_text("Sun, Feb 29 – Tue, Mar 2, 2004")
    expect(row_2004).to_contain_text("Helsinki Foundation for Human Rights")
    screenshot(page, "history-en")

    page.get_by_role("button", name="한국어").click()

    page.wait_for_url("**/history")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("h1")).to_have_text(korean("History of the past conferences"))
    expect(page.locator("table.history tbody th[scope=row]")).to_have_text(HISTORY_YEARS)
    expect(_history_row(page, "2004")).to_contain_text("2004년 2월 29일 (일)~3월 2일 (화)")
    expect(page.get_by_role("button", name="한국어")).to_have_attribute("aria-pressed", "true")
    screenshot(page, "history-ko")

    page.locator("nav a[href='/participate']").click()

    page.wait_for_url("**/participate")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("h1")).to_have_text(korean("Who can take part"))

    page.get_by_role("button", name="English").click()

    page.wait_for_url("**/participate")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Who can take part")


def test_no_public_page_asks_another_host_for_anything(
    history: None, page: Page, request_guard: RequestGuard
) -> None:
    pages = {
        "/": "Conferences on North Korean human rights and refugees",
        "/history": "History of the past conferences",
        "/participate": "Who can take part",
        "/privacy": "Privacy notice",
        "/series/international-conference": "International Conference",
        "/events/icnkhr-2004-warsaw": "Warsaw 2004",
    }
    for path, heading in pages.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        expect(page.locator("h1")).to_contain_text(heading)
        page.wait_for_load_state("networkidle")

    hosts = {urlsplit(url).hostname for url in request_guard.requests}
    assert hosts == {"127.0.0.1"}
    assert request_guard.foreign == []
    # The stylesheet and the icon are loaded from the site itself.
    assert any(url.endswith("/static/css/site.css") for url in request_guard.requests)


def test_home_page_fits_a_phone_screen(
    history: None,
    open_page: Callable[..., Page],
    screenshot: Callable[[Page, str], Path | None],
) -> None:
    page = open_page(viewport=PHONE_VIEWPORT)
    page.goto("/")
    expect(page.locator("h1")).to_have_text(
        "Conferences on North Korean human rights and refugees"
    )
    # Nothing pushes the page sideways: the document is no wider than the screen.
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE_VIEWPORT["width"]
    screenshot(page, "home-phone")

    page.goto("/history")
    # The wide history table scrolls inside its own region instead of widening the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    screenshot(page, "history-phone")
