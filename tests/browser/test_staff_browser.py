"""An organizer sets up an event through the real staff pages in a browser, with and without
JavaScript: sign in, a refused form that keeps what was typed, save, publish, public page."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from nkhr_events.events.models import Event, EventStatus, Series
from nkhr_events.extensions import db
from tests.browser.browser_support import enrolled_organizer, finish_sign_in

pytestmark = pytest.mark.browser

ORGANIZER_EMAIL = "organizer@example.org"
ORGANIZER_PASSWORD = "correct horse battery staple"
TITLE = "Bergen Conference on North Korean Refugees"


@pytest.fixture
def organizer(app: Flask) -> None:
    with app.app_context():
        enrolled_organizer(ORGANIZER_EMAIL, "Organizer", ORGANIZER_PASSWORD)
        db.session.add(
            Series(
                slug="international-conference",
                name="International Conference on North Korean Human Rights and Refugees",
                description="The conference series held since 1999.",
            )
        )
        db.session.commit()


def _sign_in(page: Page, app: Flask) -> None:
    page.goto("/manage/")
    expect(page.locator("h1")).to_have_text("Staff sign-in")
    page.get_by_label("Email").fill(ORGANIZER_EMAIL)
    page.get_by_label("Password").fill(ORGANIZER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    finish_sign_in(page, app, ORGANIZER_EMAIL)
    page.wait_for_url("**/manage/")
    expect(page.locator("h1")).to_have_text("Events")


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
def test_organizer_fixes_a_refused_event_form_then_publishes_the_event(
    app: Flask, organizer: None, page: Page
) -> None:
    _sign_in(page, app)
    page.get_by_role("link", name="New event").click()
    expect(page.locator("h1")).to_have_text("New event")

    page.get_by_label("Series").select_option(
        label="International Conference on North Korean Human Rights and Refugees"
    )
    page.get_by_label("Title in English", exact=True).fill(TITLE)
    page.get_by_label("Web address").fill("icnkhr-2030-bergen")
    page.get_by_label("First day").fill("2030-11-06")
    page.get_by_label("Last day").fill("2030-11-04")
    page.get_by_label("City in English", exact=True).fill("Bergen")
    page.get_by_label("Country").select_option("NO")
    page.get_by_label("Time zone").select_option("Europe/Oslo")
    page.get_by_role("button", name="Create draft").click()

    # Refused: the message sits beside the field at fault and nothing typed is lost.
    end_field = page.locator(".field", has=page.locator("#end_date"))
    expect(end_field.locator(".error-message")).to_have_text(
        "The last day cannot be before the first."
    )
    expect(page.locator("#end_date")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#error-summary")).to_contain_text(
        "The last day cannot be before the first."
    )
    expect(page.get_by_label("Title in English", exact=True)).to_have_value(TITLE)
    expect(page.get_by_label("Web address")).to_have_value("icnkhr-2030-bergen")
    expect(page.get_by_label("City in English", exact=True)).to_have_value("Bergen")
    expect(page.get_by_label("Country")).to_have_value("NO")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Oslo")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Event.id))) == 0

    page.get_by_label("Last day").fill("2030-11-08")
    page.get_by_role("button", name="Create draft").click()

    expect(page.locator("h1")).to_have_text("Edit event")
    expect(page.locator(".flash-success")).to_have_text(
        "The event was created as a draft. Publish it when it is ready."
    )
    expect(page.locator("#status-heading")).to_contain_text("Draft")
    page.get_by_role("button", name="Publish").click()

    expect(page.locator(".flash-success")).to_have_text("The event is published.")
    expect(page.locator("#status-heading")).to_contain_text("Published")
    with app.app_context():
        event = db.session.scalar(db.select(Event).where(Event.slug == "icnkhr-2030-bergen"))
        assert event is not None
        assert event.status == EventStatus.PUBLISHED
        assert event.title == TITLE
        assert [d.isoformat() for d in event.day_list] == [
            "2030-11-06",
            "2030-11-07",
            "2030-11-08",
        ]
        assert (event.city, event.country, event.timezone) == ("Bergen", "NO", "Europe/Oslo")

    page.get_by_role("link", name="View the public page").click()

    page.wait_for_url("**/events/icnkhr-2030-bergen")
    expect(page.locator("h1")).to_have_text(TITLE)
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("Wed, Nov 6 – Fri, Nov 8, 2030")
    expect(facts).to_contain_text("Bergen, Norway")
