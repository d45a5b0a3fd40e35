"""The door on a phone (390 px), in Chromium: a search finds a person's card and one tap checks
them in (green on the whole screen), a second tap says amber, a person of another day is red;
the camera scanner checks a person in from a camera feed (Chromium's fake camera playing a
video of the QR code, made here); scans made while the network is down are kept on the phone
as codes and times only and sent when it comes back. Screenshots go to /tmp/door-shots/."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import segno
from flask import Flask
from playwright.sync_api import Browser, Page, Playwright, expect

from nkhr_events.accounts.models import StaffRole, TeamMember
from nkhr_events.accounts.services import create_staff
from nkhr_events.audit.services import SYSTEM
from nkhr_events.checkin import services as checkin
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration
from tests.browser.browser_support import (
    CHROMIUM_ARGS,
    PHONE_VIEWPORT,
    RequestGuard,
    chromium_path,
)
from tests.factories import make_event, make_registration

pytestmark = pytest.mark.browser

EMAIL = "door@example.org"
PASSWORD = "correct horse battery staple"
SHOTS = Path("/tmp/door-shots")


def seoul_today() -> date:
    return utcnow().astimezone(ZoneInfo("Asia/Seoul")).date()


@pytest.fixture
def door(app: Flask) -> dict[str, Any]:
    """An event held yesterday and today in Seoul, its door open all day (whatever the hour
    of the run), a door volunteer, and three people: Kim Min-jun (both days), Yamada Hanako
    (yesterday only) and Lee Young-hee (both days, for the scanner)."""
    with app.app_context():
        today = seoul_today()
        event = make_event(days=[today - timedelta(days=1), today], title="Seoul Conference",
                           door_opens_at=time(0))
        minjun = make_registration(event=event, given_name="민준", family_name="김",
                                   email="minjun@example.org", organization="북한인권시민연합")
        hanako = make_registration(event=event, given_name="花子", family_name="山田",
                                   email="hanako@example.org", organization="NK Watch Tokyo",
                                   days=[today - timedelta(days=1)])
        younghee = make_registration(event=event, given_name="영희", family_name="이",
                                     email="younghee@example.org", organization="Citizens")
        extra = make_registration(event=event, given_name="Sora", family_name="Park",
                                  email="sora@example.org", organization="Citizens")
        user = create_staff(EMAIL, "Door Volunteer", PASSWORD, StaffRole.STAFF)
        db.session.flush()
        db.session.add(TeamMember(user_id=user.id, event_id=event.id, role="door"))
        codes = {"younghee": checkin.checkin_url(younghee), "sora": checkin.checkin_url(extra)}
        db.session.commit()
        return {"event": event.id, "today": today, "codes": codes,
                "ids": {"minjun": minjun.id, "hanako": hanako.id, "younghee": younghee.id,
                        "sora": extra.id}}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def sign_in(page: Page, door: dict[str, Any]) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/manage/events/{door['event']}/door**")


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]


def checkins(app: Flask, registration_id: int) -> list[RegistrationCheckin]:
    with app.app_context():
        found = db.session.scalars(db.select(RegistrationCheckin).where(
            RegistrationCheckin.registration_id == registration_id)).all()
        for row in found:
            db.session.expunge(row)
        return list(found)


def test_search_card_green_amber_and_red_for_another_day_without_javascript(
    app: Flask, open_page: Callable[..., Page], door: dict[str, Any]
) -> None:
    page = open_page(javascript=False, viewport=PHONE_VIEWPORT)
    sign_in(page, door)
    today = door["today"].isoformat()
    expect(page.locator("#door-day")).to_have_value(today)
    expect(page.locator("#door-q")).to_be_focused()
    no_sideways_scroll(page)
    shot(page, "01-door-empty")

    # Korean written the other way round, with a space: the card, its button in reach.
    page.locator("#door-q").fill("민준 김")
    page.get_by_role("button", name="Search").click()
    card = page.locator("#door-results li")
    expect(card).to_have_count(1)
    expect(card.locator("h3")).to_have_text("김민준")
    button = card.get_by_role("button", name="Check in")
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    no_sideways_scroll(page)
    shot(page, "02-door-card")

    button.click()
    result = page.locator("#door-result")
    expect(result).to_be_visible()
    expect(result).to_have_class("door-result door-result-green")
    expect(result.locator("h2")).to_have_text("Checked in")
    expect(result).to_contain_text("김민준")
    expect(result).to_contain_text("General public")
    # It fills the screen.
    size = result.bounding_box()
    assert size is not None and size["width"] >= 389 and size["height"] >= 843
    no_sideways_scroll(page)
    shot(page, "03-door-green")
    assert [r.day.isoformat() for r in checkins(app, door["ids"]["minjun"])] == [today]

    # Next person: back to the search field, the same day.
    page.get_by_role("link", name="Next person").click()
    expect(page.locator("#door-result")).to_be_hidden()
    expect(page.locator("#door-day")).to_have_value(today)
    expect(page.locator("#door-q")).to_be_focused()

    # The same person again (the card of a second search, another volunteer's list): amber.
    page.locator("#door-q").fill("minjun")  # no match in Latin letters: nobody
    page.get_by_role("button", name="Search").click()
    expect(page.locator("main")).to_contain_text("Nobody found")
    page.goto(f"/manage/events/{door['event']}/door?day={today}&q=김민준")
    expect(page.locator("#door-results li")).to_contain_text("Checked in at")
    # A second check-in from the person's own page, as a scanned link opens it.
    with app.app_context():
        reference = checkin.checkin_reference(
            db.session.get(Registration, door["ids"]["minjun"]))
    page.goto(f"/manage/checkin/{reference}")
    expect(page.locator("#checkin-warning")).to_contain_text("Already checked in today at")

    # Hanako registered for yesterday only: red today, and it says why.
    page.goto(f"/manage/events/{door['event']}/door?day={today}")
    page.locator("#door-q").fill("山田")
    page.get_by_role("button", name="Search").click()
    # The card says so before the button is pressed, and names the day she comes on.
    hanako_card = page.locator("#door-results li")
    expect(hanako_card.locator(".door-card-days")).to_contain_text("Not registered for this day")
    expect(hanako_card.locator(".door-card-days")).to_contain_text("Registered for")
    no_sideways_scroll(page)
    shot(page, "04-door-card-other-day")
    hanako_card.get_by_role("button", name="Check in").click()
    result = page.locator("#door-result")
    expect(result).to_have_class("door-result door-result-red")
    expect(result.locator("h2")).to_have_text("Not checked in")
    expect(result).to_contain_text("Not registered for")
    expect(result).to_contain_text("山田花子")
    # A door volunteer is offered no override (organizers only).
    expect(result.get_by_role("button", name="Check in anyway (organizer)")).to_have_count(0)
    shot(page, "04-door-red")
    assert checkins(app, door["ids"]["hanako"]) == []


def test_amber_when_another_door_checked_the_person_in_a_moment_before(
    app: Flask, open_page: Callable[..., Page], door: dict[str, Any]
) -> None:
    page = open_page(javascript=False, viewport=PHONE_VIEWPORT)
    sign_in(page, door)
    page.locator("#door-q").fill("김민준")
    page.get_by_role("button", name="Search").click()
    button = page.locator("#door-results li").get_by_role("button", name="Check in")
    expect(button).to_be_visible()
    # Meanwhile the other door scans the same person.
    with app.app_context():
        other = create_staff("door2@example.org", "Second Door", PASSWORD, StaffRole.STAFF)
        db.session.flush()
        checkin.check_in(db.session.get(Registration, door["ids"]["minjun"]), door["today"],
                         other.id, actor=SYSTEM)
        db.session.commit()
    button.click()
    result = page.locator("#door-result")
    expect(result).to_have_class("door-result door-result-amber")
    expect(result.locator("h2")).to_have_text("Already checked in")
    expect(result).to_contain_text("Already checked in today at")
    expect(result).to_contain_text("by Second Door")
    no_sideways_scroll(page)
    shot(page, "05-door-amber")
    assert len(checkins(app, door["ids"]["minjun"])) == 1


# --- the scanner: Chromium with a camera that films a QR code --------------------------------


def write_y4m(path: Path, text: str, frames: int = 10) -> None:
    """A video of the QR code of `text`: raw YUV4MPEG2, 640x480, 4:2:0, a few equal frames
    (Chromium plays the file in a loop)."""
    width, height, scale, border = 640, 480, 8, 4
    matrix = segno.make_qr(text, error="m").matrix
    size = (len(matrix) + 2 * border) * scale
    assert size <= height, size
    luma = bytearray(b"\xff" * (width * height))
    left, top = (width - size) // 2, (height - size) // 2
    for row_index, row in enumerate(matrix):
        for column_index, dark in enumerate(row):
            if not dark:
                continue
            y0 = top + (row_index + border) * scale
            x0 = left + (column_index + border) * scale
            for y in range(y0, y0 + scale):
                luma[y * width + x0:y * width + x0 + scale] = b"\x10" * scale
    chroma = b"\x80" * ((width // 2) * (height // 2))
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            video.write(frame)


@pytest.fixture
def camera_browser(
    playwright: Playwright, tmp_path: Path
) -> Iterator[Callable[[str], Browser]]:
    """A Chromium of its own whose camera films the QR code of the text given."""
    launched: list[Browser] = []

    def _launch(text: str) -> Browser:
        video = tmp_path / f"qr-{len(launched)}.y4m"
        write_y4m(video, text)
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
                  "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={video}"],
        )
        launched.append(browser)
        return browser

    yield _launch
    for browser in launched:
        browser.close()


def phone_page(browser: Browser, live_server: str, guards: list[RequestGuard]) -> Page:
    context = browser.new_context(base_url=live_server, viewport=PHONE_VIEWPORT,
                                  locale="en-US", service_workers="block")
    context.grant_permissions(["camera"], origin=live_server)
    context.set_default_timeout(15_000)
    guard = RequestGuard(live_server)
    guard.attach(context)
    guards.append(guard)
    return context.new_page()


def test_the_scanner_checks_a_person_in_from_the_camera(
    app: Flask, live_server: str, camera_browser: Callable[[str], Browser],
    door: dict[str, Any],
) -> None:
    guards: list[RequestGuard] = []
    page = phone_page(camera_browser(door["codes"]["younghee"]), live_server, guards)
    sign_in(page, door)
    camera = page.get_by_role("button", name="Scan codes")
    expect(camera).to_be_visible()
    shot(page, "06-scanner-ready")

    camera.click()
    result = page.locator("#door-result")
    expect(result).to_be_visible(timeout=20_000)
    expect(result).to_have_class("door-result door-result-green")
    # Timed in the page (User Timing marks of door.js): from the code seen in a frame to the
    # green screen, and from the tap on the camera button (camera start included).
    timing = page.evaluate("""() => {
        const at = name => performance.getEntriesByName(name)[0].startTime;
        return {scan: at('door-result') - at('door-scan'),
                tap: at('door-result') - at('door-camera')};
    }""")
    expect(result).to_contain_text("이영희")
    expect(result.locator("h2")).to_have_text("Checked in")
    shot(page, "07-scanner-green")
    assert [r.day for r in checkins(app, door["ids"]["younghee"])] == [door["today"]]

    # What the round trip and the decoding of one frame take, measured in the page.
    round_trip = page.evaluate("""() => performance.getEntriesByType('resource')
        .filter(e => e.name.endsWith('/door/scans')).map(e => e.duration)[0]""")
    decode = page.evaluate("""() => {
        const video = document.getElementById('door-video');
        const canvas = document.createElement('canvas');
        canvas.width = video.videoWidth; canvas.height = video.videoHeight;
        const context = canvas.getContext('2d');
        context.drawImage(video, 0, 0);
        const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
        const runs = 10, started = performance.now();
        let found = null;
        for (let i = 0; i < runs; i++) {
            found = jsQR(pixels.data, canvas.width, canvas.height,
                         {inversionAttempts: 'dontInvert'});
        }
        return {ms: (performance.now() - started) / runs, found: !!found};
    }""")
    assert decode["found"]
    print(f"\nscan to green: {timing['scan']:.0f} ms (code seen to green screen); "
          f"camera button to green: {timing['tap']:.0f} ms (camera start included); "
          f"scan request round trip: {round_trip:.0f} ms; "
          f"jsQR decode of one 640x480 frame: {decode['ms']:.0f} ms")

    # It goes on scanning: the same code again after the pause is amber, one check-in only.
    expect(result).to_have_class("door-result door-result-amber", timeout=20_000)
    expect(result).to_contain_text("by Door Volunteer")
    shot(page, "08-scanner-amber")
    assert len(checkins(app, door["ids"]["younghee"])) == 1
    page.get_by_role("button", name="Stop scanning").click(force=True)
    assert not [url for guard in guards for url in guard.foreign]
    page.context.close()


def test_scans_made_offline_are_kept_as_codes_and_times_and_sent_when_back(
    app: Flask, live_server: str, camera_browser: Callable[[str], Browser],
    door: dict[str, Any],
) -> None:
    guards: list[RequestGuard] = []
    page = phone_page(camera_browser(door["codes"]["sora"]), live_server, guards)
    sign_in(page, door)
    page.wait_for_function("() => !!window.jsQR || 'BarcodeDetector' in window")
    page.context.set_offline(True)
    before = utcnow()
    page.get_by_role("button", name="Scan codes").click()
    queue = page.locator("#door-queue")
    expect(queue).to_have_text("1 check-in waiting to send", timeout=20_000)
    # On the phone: the code, the time and the day, nothing about the person.
    stored = page.evaluate("() => Object.entries(localStorage)")
    assert len(stored) == 1
    [[_key, value]] = stored
    [kept] = json.loads(value)
    assert set(kept) == {"code", "scanned_at", "day"}
    assert kept["code"] == door["codes"]["sora"] and kept["day"] == door["today"].isoformat()
    assert "Sora" not in value and "Park" not in value
    shot(page, "09-offline-waiting")
    assert checkins(app, door["ids"]["sora"]) == []

    page.get_by_role("button", name="Stop scanning").click()
    page.context.set_offline(False)
    expect(queue).to_be_hidden(timeout=20_000)
    sent = page.locator("#door-sent-list li")
    expect(sent).to_have_count(1)
    expect(sent).to_contain_text("Checked in")
    expect(sent).to_contain_text("Sora Park")
    shot(page, "10-offline-sent")
    assert page.evaluate("() => localStorage.length") == 0
    [row] = checkins(app, door["ids"]["sora"])
    # Checked in at the time of the scan, not of the sending.
    assert before - timedelta(seconds=5) <= row.checked_in_at <= before + timedelta(seconds=30)
    assert not [url for guard in guards for url in guard.foreign]
    page.context.close()


def test_the_door_pages_weight(
    open_page: Callable[..., Page], door: dict[str, Any], live_server: str
) -> None:
    """The bytes a phone loads for the door page (HTML, CSS, JavaScript; the decoder only
    where the browser has no barcode detector), printed for BENCHMARKS.md."""
    page = open_page(javascript=True, viewport=PHONE_VIEWPORT)
    sign_in(page, door)
    sizes: dict[str, int] = {}
    for path in (f"/manage/events/{door['event']}/door", "/static/css/site.css",
                 "/static/js/door.js", "/static/vendor/jsqr/jsQR.js"):
        response = page.request.get(path)
        assert response.ok, path
        sizes[path] = len(response.body())
    page_bytes = sum(v for k, v in sizes.items() if "jsqr" not in k)
    print(f"\ndoor page weight: {sizes}; HTML+CSS+JS {page_bytes} bytes, "
          f"+ decoder {sizes['/static/vendor/jsqr/jsQR.js']} bytes when needed")
    assert page_bytes < 60_000
