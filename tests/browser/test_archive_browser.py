"""An edition's archive in Chromium (the pages use no script of their own; axe needs one):
an organizer opens the archive of the 2010 Toronto conference from its staff page, uploads the
final report (a PDF) and a photo whose people agreed to appear; a reader goes from the history
page to that archive on a desktop (1280 px) and on a phone (390 px), and downloads the report
as it was sent. Every page passes axe."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import Page, expect
from pypdf import PdfWriter

from nkhr_events.events.history import import_history
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.programme.models import ArchivePhoto
from tests.browser.browser_support import (
    DESKTOP_VIEWPORT,
    PHONE_VIEWPORT,
    enrolled_organizer,
    finish_sign_in,
)
from tests.browser.test_audit_pages import AXE_JS, AXE_OPTIONS, RUN_AXE
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser

ORGANIZER = "archivist@example.org"
SLUG = "icnkhr-2010-toronto"
Shoot = Callable[[Page, str], Path | None]


@pytest.fixture
def toronto(app: Flask) -> int:
    with app.app_context():
        import_history()
        enrolled_organizer(ORGANIZER, "Archivist", STAFF_PASSWORD)
        db.session.commit()
        return db.session.scalars(db.select(Event.id).where(Event.slug == SLUG)).one()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    report = tmp_path / "Toronto report 2010.pdf"
    with report.open("wb") as out:
        writer.write(out)
    photo = tmp_path / "opening.jpg"
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc"
    Image.new("RGB", (900, 600), (40, 110, 70)).save(photo, format="JPEG", exif=exif.tobytes())
    return report, photo


def axe_clean(page: Page) -> None:
    page.wait_for_load_state()
    violations = page.evaluate(RUN_AXE, AXE_OPTIONS)
    assert violations == [], (page.url, violations)


def fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size or DESKTOP_VIEWPORT
    assert width <= viewport["width"], f"{page.url} is {width} px wide at {viewport['width']}"


def test_an_organizer_fills_the_archive_and_readers_find_it_from_the_history(
    app: Flask,
    open_page: Callable[..., Page],
    toronto: int,
    files: tuple[Path, Path],
    screenshot: Shoot,
) -> None:
    report, photo = files
    staff = open_page(bypass_csp=True)
    staff.context.add_init_script(path=str(AXE_JS))
    staff.goto("/sign-in")
    staff.get_by_label("Email").fill(ORGANIZER)
    staff.get_by_label("Password").fill(STAFF_PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    finish_sign_in(staff, app, ORGANIZER)
    staff.goto(f"/manage/events/{toronto}/edit")
    staff.locator("#event-links").get_by_role("link", name="Edition archive").click()
    expect(staff.locator("h1")).to_have_text("Archive of this edition")
    axe_clean(staff)

    # A refused file first: the message is beside the field.
    staff.get_by_label("Kind of document").select_option("report")
    staff.get_by_label("Title in English").fill("Final report of the Toronto conference")
    staff.get_by_label("PDF file").set_input_files(str(photo))
    staff.get_by_role("button", name="Add the document").click()
    expect(staff.locator("#file-error")).to_contain_text("not a PDF document")
    expect(staff.get_by_label("Title in English")).to_have_value(
        "Final report of the Toronto conference")
    axe_clean(staff)
    staff.get_by_label("Title in Korean").fill("토론토 회의 최종 보고서")
    staff.get_by_label("PDF file").set_input_files(str(report))
    staff.get_by_role("button", name="Add the document").click()
    expect(staff.locator("#archive-documents")).to_contain_text(
        "Final report of the Toronto conference")

    staff.get_by_label("Caption in English").fill("The opening session in Toronto")
    staff.get_by_label("Photo", exact=True).set_input_files(str(photo))
    staff.get_by_label("Everyone recognisable in this photo agreed to appear").check()
    staff.get_by_role("button", name="Add the photo").click()
    expect(staff.locator("#archive-photos")).to_contain_text("Published")
    axe_clean(staff)
    screenshot(staff, "archive-01-manage-1280")
    with app.app_context():
        stored = db.session.scalars(db.select(ArchivePhoto)).one()
        assert stored.consent_confirmed_at is not None
        assert b"SpyCam" not in stored.data

    for name, viewport in (("1280", DESKTOP_VIEWPORT), ("390", PHONE_VIEWPORT)):
        reader = open_page(viewport=viewport, bypass_csp=True)
        reader.context.add_init_script(path=str(AXE_JS))
        reader.goto("/history")
        reader.locator("#history-archives").get_by_role(
            "link", name="Archive of 2010, Toronto").click()
        expect(reader.locator("h1")).to_contain_text("Archive")
        expect(reader.locator("#archive-documents")).to_contain_text(
            "Final report of the Toronto conference")
        figure = reader.locator("#archive-photos figure").first
        expect(figure).to_contain_text("The opening session in Toronto")
        figure.locator("img").scroll_into_view_if_needed()
        reader.wait_for_function(
            "document.querySelector('#archive-photos img').naturalWidth === 900")
        fits(reader)
        axe_clean(reader)
        screenshot(reader, f"archive-02-public-{name}")
        with reader.expect_download() as info:
            reader.locator("#archive-documents a").first.click()
        assert Path(info.value.path()).read_bytes() == report.read_bytes()
        assert info.value.suggested_filename == "Toronto-report-2010.pdf"

    # Another edition without anything yet says so.
    reader.goto("/history")
    reader.locator("#history-archives").get_by_role("link", name="Archive of 1999, Seoul").click()
    expect(reader.locator("#archive-empty")).to_have_text("Nothing in the archive yet.")
    axe_clean(reader)
    screenshot(reader, "archive-03-empty-390")
