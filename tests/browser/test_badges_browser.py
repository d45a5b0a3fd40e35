"""Badges printed from Chromium on A4: twelve people make three A6 sheets or two sheets of
90 x 55 mm cards, each badge the size its layout says, where the sheet's cards are; the layout is
chosen on the page without JavaScript.

With NKHR_SCREENSHOTS set, the screen views, the PDFs and (where poppler's pdftoppm is
installed) an image of each PDF's first page are kept in /tmp/nkhr_screens for a person to look
at."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from nkhr_events.extensions import db
from tests.browser.browser_support import SCREENSHOT_DIR, enrolled_organizer, finish_sign_in
from tests.factories import make_event, make_registration

pytestmark = pytest.mark.browser

ORGANIZER_EMAIL = "organizer@example.org"
ORGANIZER_PASSWORD = "correct horse battery staple"
#: Millimetres in CSS pixels (96 per inch).
MM = 96 / 25.4

#: Twelve people as they write their names, in three scripts and four categories.
NAMES = [
    ("민준", "김"),
    ("서연", "이"),
    ("지호", "박"),
    ("하은", "최"),
    ("太郎", "山田"),
    ("花子", "佐藤"),
    ("翔", "鈴木"),
    ("Ada", "Lovelace"),
    ("Grace", "Hopper"),
    ("Alan", "Turing"),
    ("Hedy", "Lamarr"),
    ("Katherine", "Johnson"),
]
CATEGORIES = ["academic", "journalist", "expert", "general_public"]


def shots() -> Path | None:
    """Where to keep what a person may want to look at; None when no one asked."""
    if not os.environ.get("NKHR_SCREENSHOTS"):
        return None
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


def pdf_pages(pdf: bytes) -> int:
    """The number of pages of a PDF Chromium wrote (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


@pytest.fixture
def twelve(app: Flask) -> int:
    with app.app_context():
        enrolled_organizer(ORGANIZER_EMAIL, "Organizer", ORGANIZER_PASSWORD)
        event = make_event(title="Seoul Forum on North Korean Human Rights")
        for n, (given, family) in enumerate(NAMES):
            make_registration(
                event=event,
                given_name=given,
                family_name=family,
                category=CATEGORIES[n % len(CATEGORIES)],
                organization="Citizens' Alliance" if n % 3 else "",
                photo_consent=n % 4 != 1,
            )
        db.session.commit()
        return event.id


def signed_in(app: Flask, open_page: Callable[..., Page], path: str) -> Page:
    page = open_page(javascript=False)
    page.goto(path)
    page.get_by_label("Email").fill(ORGANIZER_EMAIL)
    page.get_by_label("Password").fill(ORGANIZER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    finish_sign_in(page, app, ORGANIZER_EMAIL)
    page.wait_for_url(f"**{path}")
    return page


@pytest.mark.parametrize(
    ("layout", "label", "pages", "size_mm"),
    [
        ("a6", "A6 (105 × 148 mm), 4 per A4 sheet", 3, (105, 148)),
        ("90x55", "90 × 55 mm, 10 per A4 sheet (2 × 5)", 2, (90, 55)),
    ],
)
def test_badges_print_on_a4_sheets_of_their_layout(
    app: Flask,
    open_page: Callable[..., Page],
    twelve: int,
    layout: str,
    label: str,
    pages: int,
    size_mm: tuple[int, int],
) -> None:
    path = f"/manage/events/{twelve}/badges"
    page = signed_in(app, open_page, path)

    # Chosen on the page, without JavaScript.
    page.get_by_label("Badge size").select_option(label=label)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**{path}?*layout={layout}")
    badges = page.locator("li.badge")
    expect(badges).to_have_count(12)
    expect(page.locator("#badge-sheets")).to_contain_text(f"{pages} A4 sheets.")
    folder = shots()
    if folder:
        page.screenshot(path=str(folder / f"badges-{layout}-screen.png"), full_page=True)

    # On screen as on paper: each badge its size, the code at least 25 mm inside its quiet zone.
    width, height = size_mm
    for i in range(12):
        box = badges.nth(i).bounding_box()
        assert box is not None
        assert abs(box["width"] - width * MM) < 1 and abs(box["height"] - height * MM) < 1
        code = badges.nth(i).locator("svg.badge-qr").bounding_box()
        assert code is not None and code["width"] * 37 / 45 >= 25 * MM
    # Marked: those who declined photos (every fourth from the second).
    marked = badges.filter(has=page.locator(".badge-no-photos"))
    expect(marked).to_have_count(3)
    expect(marked.first.locator(".badge-no-photos")).to_have_text("No photos")

    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf_pages(pdf) == pages
    if folder:
        target = folder / f"badges-{layout}.pdf"
        target.write_bytes(pdf)
        if shutil.which("pdftoppm"):
            subprocess.run(
                [
                    "pdftoppm",
                    "-png",
                    "-r",
                    "60",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    str(target),
                    str(folder / f"badges-{layout}-page"),
                ],
                check=True,
            )


def test_the_default_cards_print_without_a_page_of_their_own(
    app: Flask, open_page: Callable[..., Page], twelve: int
) -> None:
    page = signed_in(app, open_page, f"/manage/events/{twelve}/badges")
    expect(page.locator("ul.badges-cards li.badge")).to_have_count(12)
    expect(page.locator("#badge-sheets")).to_have_count(0)
    folder = shots()
    if folder:
        page.screenshot(path=str(folder / "badges-cards-screen.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf_pages(pdf) >= 2  # cards of 90 x 55 mm flow onto as many pages as they need
    if folder:
        (folder / "badges-cards.pdf").write_bytes(pdf)
