"""A certificate of attendance in Chromium, JavaScript off, on a phone (390 px): after the
event, an attendee checked in on two days downloads their certificate from their private link;
someone they show it to types its reference and code into the verification page (lower case,
as read off the paper) and sees what it states and that it is valid; a wrong code gets the
answer "no document matches"."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from nkhr_events.documents.models import IssuedDocument
from nkhr_events.extensions import db
from tests.browser.browser_support import DESKTOP_VIEWPORT, PHONE_VIEWPORT
from tests.test_documents import attendee, past_event

pytestmark = pytest.mark.browser

Shoot = Callable[[Page, str], Path | None]


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size or DESKTOP_VIEWPORT
    assert width <= viewport["width"], f"{page.url} is {width} px wide at {viewport['width']}"


def test_an_attendee_downloads_a_certificate_and_a_reader_verifies_it(
    app: Flask, open_page: Callable[..., Page], screenshot: Shoot
) -> None:
    event_id = past_event(app)
    registration_id, token = attendee(app, event_id, attended=(0, 2), given_name="Ada",
                                      family_name="Quillfeather", language="en")
    phone = open_page(javascript=False, viewport=PHONE_VIEWPORT)
    phone.goto(f"/registration/{token}")
    section = phone.locator("#certificate")
    expect(section.get_by_role("heading")).to_have_text("Certificate of attendance")
    no_sideways_scroll(phone)
    screenshot(phone, "certificate-01-manage-390")
    with phone.expect_download() as caught:
        section.get_by_role("link", name="Download my certificate (PDF)").click()
    download = caught.value
    data = Path(download.path()).read_bytes()
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    assert "Ada Quillfeather" in text
    with app.app_context():
        document = db.session.scalars(db.select(IssuedDocument).where(
            IssuedDocument.registration_id == registration_id)).one()
        reference = document.reference
    assert download.suggested_filename == f"certificate-{reference}.pdf"
    code = re.search(r"Verification code: ([0-9A-Z-]+)", text)
    assert code is not None, text

    reader = open_page(javascript=False, viewport=PHONE_VIEWPORT)
    reader.goto("/verify")
    reader.get_by_label("Reference").fill(reference.lower())
    reader.get_by_label("Verification code").fill("zzzz-zzzz-zzzz")
    reader.get_by_role("button", name="Verify").click()
    expect(reader.locator("#verify-answer")).to_contain_text("No document matches")
    expect(reader.get_by_label("Reference")).to_have_value(reference.lower())
    reader.get_by_label("Verification code").fill(code.group(1).lower())
    reader.get_by_role("button", name="Verify").click()
    expect(reader.locator("#verify-status")).to_have_text("Valid")
    expect(reader.locator("#verify-answer")).to_contain_text("Ada Quillfeather")
    no_sideways_scroll(reader)
    screenshot(reader, "certificate-02-verified-390")
