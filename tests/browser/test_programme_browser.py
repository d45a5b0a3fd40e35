"""An organizer builds a two-day programme in Chromium with JavaScript off: a session in a room
that is taken, and one whose speaker is already speaking elsewhere, come back with the clash
beside the room and beside the speakers, everything typed kept; moved to a free room, and saved
anyway with the box for the speaker. Then the public programme is read at 1280 and at 390 px
without sideways scrolling, by day and by room, in English and Korean, and passes axe-core's
WCAG 2.2 AA rules; the new pages pass the Nu HTML checker."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from nkhr_events.accounts.models import StaffRole, TeamMember
from nkhr_events.accounts.services import create_staff
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.programme.models import ProgrammeSession, Speaker
from nkhr_events.web import LANGUAGE_COOKIE
from tests.browser.browser_support import DESKTOP_VIEWPORT, PHONE_VIEWPORT, finish_sign_in
from tests.browser.test_audit_pages import AXE_JS, AXE_OPTIONS, RUN_AXE, run_vnu
from tests.conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET
from tests.factories import make_event

pytestmark = pytest.mark.browser

ORGANIZER = "programme-lead@example.org"
Shoot = Callable[[Page, str], Path | None]


@pytest.fixture
def world(app: Flask) -> dict[str, Any]:
    with app.app_context():
        event = make_event(title="Seoul Conference on North Korean Human Rights",
                           title_ko="북한인권 서울 국제회의", venue="Press Center")
        speakers = {}
        for given, family, extra in (
            ("Young-ho", "Kim", {"appearance": "name"}),
            ("Seo-yeon", "Lee", {"appearance": "name"}),
            ("Quillon", "Vexmarrow", {"appearance": "pseudonym",
                                      "pseudonym": "A witness from Hamgyong"}),
        ):
            row = Speaker(event_id=event.id, given_name=given, family_name=family,
                          email=f"{family.lower()}@example.org",
                          email_key=f"{family.lower()}@example.org", status="confirmed",
                          **extra)
            db.session.add(row)
            db.session.flush()
            speakers[family] = row.id
        lead = create_staff(ORGANIZER, "Programme Lead", STAFF_PASSWORD, StaffRole.STAFF)
        lead.totp_secret = STAFF_TOTP_SECRET
        lead.two_factor_enrolled_at = utcnow()
        db.session.flush()
        db.session.add(TeamMember(user_id=lead.id, event_id=event.id, role="organizer"))
        db.session.commit()
        return {"event": event.id, "slug": event.slug, "speakers": speakers,
                "days": [d.isoformat() for d in event.day_list]}


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size or DESKTOP_VIEWPORT
    assert width <= viewport["width"], f"{page.url} is {width} px wide at {viewport['width']}"


def axe_violations(page: Page) -> list[str]:
    found = page.evaluate(RUN_AXE, AXE_OPTIONS)
    return [f"{page.url}: {v['id']} {n['target']} {n['summary']}" for v in found
            for n in v["nodes"]]


def fill_session(page: Page, day: str, start: str, end: str, title: str, room: str,
                 speakers: tuple[str, ...] = (), title_ko: str = "") -> None:
    page.get_by_label("Day").select_option(day)
    page.get_by_label("Starts at").fill(start)
    page.get_by_label("Ends at").fill(end)
    page.locator("#title").fill(title)
    page.locator("#room").fill(room)
    if title_ko:
        page.locator("#title_ko").fill(title_ko)
    for name in speakers:
        page.get_by_label(name, exact=False).first.check()


def test_an_organizer_builds_a_two_day_programme_with_clashes_reported(
    app: Flask, open_page: Callable[..., Page], live_server: str, world: dict[str, Any],
    screenshot: Shoot,
) -> None:
    day_one, day_two = world["days"][0], world["days"][1]
    lead = open_page(javascript=False)
    lead.goto("/sign-in")
    lead.get_by_label("Email").fill(ORGANIZER)
    lead.get_by_label("Password").fill(STAFF_PASSWORD)
    lead.get_by_role("button", name="Sign in").click()
    finish_sign_in(lead, app, ORGANIZER)
    lead.goto(f"/manage/events/{world['event']}/edit")
    lead.locator("#event-links").get_by_role("link", name="Programme").click()
    expect(lead.locator("h1")).to_have_text("Programme")
    lead.locator("#new-session").click()
    fill_session(lead, day_one, "09:00", "10:30", "Opening panel", "Hall A",
                 ("Young-ho Kim",), title_ko="개회 토론")
    lead.locator("#part-{}".format(world["speakers"]["Kim"])).select_option("moderator")
    lead.get_by_role("button", name="Add the session").click()
    expect(lead.locator(".flash-success")).to_contain_text("added to the programme")

    # The same room, overlapping: refused beside the room, values kept.
    lead.locator("#new-session").click()
    fill_session(lead, day_one, "10:00", "11:00", "Testimonies", "hall a",
                 ("Seo-yeon Lee",))
    lead.get_by_role("button", name="Add the session").click()
    expect(lead.locator("#room-error")).to_contain_text("already taken")
    expect(lead.locator("#room")).to_have_attribute("aria-describedby", "room-error")
    expect(lead.locator("#title")).to_have_value("Testimonies")
    expect(lead.get_by_label("Seo-yeon Lee", exact=False).first).to_be_checked()
    screenshot(lead, "programme-01-room-clash-1280")
    # Another room, but the speaker of the opening: refused beside the speakers.
    lead.locator("#room").fill("Room 2")
    lead.get_by_label("Young-ho Kim", exact=False).first.check()
    lead.get_by_role("button", name="Add the session").click()
    expect(lead.locator("#speakers-error")).to_contain_text(
        "Young-ho Kim already speaks at that time")
    expect(lead.locator("#room-error")).to_have_count(0)
    expect(lead.locator("#room")).to_have_value("Room 2")
    screenshot(lead, "programme-02-speaker-clash-1280")
    lead.get_by_label("Save anyway: I know about the clash").check()
    lead.get_by_role("button", name="Add the session").click()
    expect(lead.locator(".flash-success")).to_contain_text("added to the programme")
    expect(lead.locator("#clash-notice")).to_be_visible()

    lead.locator("#new-session").click()
    fill_session(lead, day_two, "09:30", "11:00", "Accountability", "Hall A",
                 ("A witness from Hamgyong",))
    lead.get_by_role("button", name="Add the session").click()
    expect(lead.locator(".flash-success")).to_be_visible()
    expect(lead.locator("section.programme-day")).to_have_count(2)
    no_sideways_scroll(lead)
    screenshot(lead, "programme-03-staff-1280")
    with app.app_context():
        titles = db.session.scalars(db.select(ProgrammeSession.title)
                                    .order_by(ProgrammeSession.id)).all()
    assert titles == ["Opening panel", "Testimonies", "Accountability"]

    # The public programme at two widths, in English and Korean, by day and by room.
    for width, viewport in (("1280", DESKTOP_VIEWPORT), ("390", PHONE_VIEWPORT)):
        for language in ("en", "ko"):
            reader = open_page(javascript=True, viewport=viewport, bypass_csp=True)
            reader.context.add_cookies([{"name": LANGUAGE_COOKIE, "value": language,
                                         "url": live_server}])
            reader.context.add_init_script(path=str(AXE_JS))
            for query in ("", "?by=room"):
                reader.goto(f"/events/{world['slug']}/programme{query}")
                expect(reader.locator("section.programme-day")).to_have_count(2)
                text = reader.locator("main").inner_text()
                assert "Vexmarrow" not in text and "A witness from Hamgyong" in text
                if language == "ko":
                    assert "개회 토론" in text
                else:
                    assert "Opening panel" in text
                no_sideways_scroll(reader)
                assert not axe_violations(reader), axe_violations(reader)
                name = "room" if query else "day"
                screenshot(reader, f"programme-04-public-{name}-{language}-{width}")


def test_the_programme_pages_are_valid_html(
    app: Flask, world: dict[str, Any], tmp_path: Path,
) -> None:
    if shutil.which("java") is None:
        pytest.skip("java is not on PATH; the Nu HTML checker needs it")
    from tests.conftest import post_sign_in

    client = app.test_client()
    response = post_sign_in(app, client, {"email": ORGANIZER, "password": STAFF_PASSWORD})
    assert response.status_code in (302, 303), response.status_code
    base = f"/manage/events/{world['event']}/programme"
    kim = world["speakers"]["Kim"]
    made = client.post(f"{base}/new", data={
        "day": world["days"][0], "starts_at": "09:00", "ends_at": "10:00", "kind": "panel",
        "title": "Opening", "room": "Hall A", "speakers": str(kim), "public": "y",
        "spoken_language": "ko", "channels": "en"})
    assert made.status_code == 303
    with app.app_context():
        session_id = db.session.scalars(db.select(ProgrammeSession.id)).one()
    pages: dict[str, Any] = {
        "staff-programme": client.get(base),
        "staff-new": client.get(f"{base}/new"),
        "staff-edit": client.get(f"{base}/{session_id}/edit"),
        "staff-delete": client.get(f"{base}/{session_id}/delete"),
        "staff-clash": client.post(f"{base}/new", data={
            "day": world["days"][0], "starts_at": "09:30", "ends_at": "10:30",
            "kind": "panel", "title": "Clash", "room": "hall a", "speakers": str(kim),
            "public": "y"}),
    }
    for language in ("en", "ko", "ja"):
        reader = app.test_client()
        reader.set_cookie(LANGUAGE_COOKIE, language)
        pages[f"public-{language}"] = reader.get(f"/events/{world['slug']}/programme")
        pages[f"public-room-{language}"] = reader.get(
            f"/events/{world['slug']}/programme?by=room")
    for name, response in pages.items():
        assert response.status_code == 200, (name, response.status_code)
        (tmp_path / f"{name}.html").write_text(response.get_data(as_text=True), "utf-8")
    errors = run_vnu(tmp_path)
    assert not errors, "\n".join(
        f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m.get('message')}"
        for m in errors)
