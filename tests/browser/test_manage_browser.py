"""An attendee changes a multi-day registration through the private link, in Chromium, on a
phone and a desktop, in Korean and English: the days they attend are shown ticked and a change
elsewhere keeps them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from nkhr_events.audit.services import ATTENDEE
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.registrations import links, services
from nkhr_events.registrations.models import Registration
from nkhr_events.registrations.services import RegistrationInput
from tests.factories import make_event
from tests.smtp import smtp_settings

from .browser_support import DESKTOP_VIEWPORT, PHONE_VIEWPORT

pytestmark = pytest.mark.browser


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


@pytest.fixture
def registered(app) -> dict[str, object]:
    """A person attending the first and the last day of a three-day event."""
    with app.app_context():
        first = utcnow().date() + timedelta(days=30)
        event = make_event(days=[first + timedelta(days=i) for i in range(3)],
                           title="Seoul Conference", title_ko="서울 회의")
        days = [first, first + timedelta(days=2)]
        registration = services.register_attendee(event.id, RegistrationInput(
            category="general_public", given_name="지은", family_name="김",
            email="jieun@example.org", privacy_consent=True, organization="북한인권시민연합",
            country="KR", language="ko", days=days,
        ), actor=ATTENDEE).registration
        token = links.issue_manage_token(registration)
        db.session.commit()
        return {"id": registration.id, "token": token, "days": days}


@pytest.mark.parametrize(
    ("language", "viewport", "labels"),
    [
        ("ko", PHONE_VIEWPORT, ("소속 단체 또는 기관", "변경 사항 저장")),
        ("en", DESKTOP_VIEWPORT, ("Organization or affiliation", "Save changes")),
    ],
    ids=["ko-390px", "en-1280px"],
)
def test_a_multi_day_registration_is_edited_without_losing_its_days(
    app, open_page: Callable[..., Page], registered, screenshot, language, viewport, labels
):
    page = open_page(viewport=viewport)
    page.goto(f"/registration/{registered['token']}")
    # The link opens in the language the person chose (Korean); a reader may switch.
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    if language == "en":
        page.get_by_role("button", name="English").click()  # the reader's choice, kept
        expect(page.locator("html")).to_have_attribute("lang", "en")
    boxes = page.locator("input[name=days]")
    expect(boxes).to_have_count(3)
    ticked = [boxes.nth(i).is_checked() for i in range(3)]
    assert ticked == [True, False, True]
    organization, save = labels
    page.get_by_label(organization).fill("NKHR Citizens' Alliance")
    screenshot(page, f"manage-multi-day-{language}-{viewport['width']}")
    page.get_by_role("button", name=save).click()
    expect(page.locator(".flash-success")).to_be_visible()
    with app.app_context():
        found = db.session.get(Registration, registered["id"])
        assert found.organization == "NKHR Citizens' Alliance"
        assert found.day_list == registered["days"]
    # The page is usable at this width: nothing wider than the screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"]


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_long_email_address_does_not_widen_the_private_page_on_a_phone(
    app, open_page: Callable[..., Page], screenshot, language
):
    """The address is shown as text in the "About you" box: it wraps rather than making the
    page wider than the phone."""
    address = "hanako.yamada.international.relations@university-example.ac.jp"
    with app.app_context():
        event = make_event(title="Tokyo Conference", title_ja="東京会議")
        registration = services.register_attendee(event.id, RegistrationInput(
            category="general_public", given_name="花子", family_name="山田", email=address,
            privacy_consent=True, country="JP", language=language, days=event.day_list,
        ), actor=ATTENDEE).registration
        token = links.issue_manage_token(registration)
        db.session.commit()
    page = open_page(viewport=PHONE_VIEWPORT)
    page.goto(f"/registration/{token}")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_text(address)).to_be_visible()
    screenshot(page, f"manage-long-email-{language}-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
