"""A speaker in Chromium, on a phone (390 px), JavaScript off: Kim Cheol-su opens the private
link of his invitation (in Korean, the language he was invited in), accepts, chooses a
pseudonym but forgets to write it (refused beside the field, what he typed kept, the photo
asked for again), then sends it all with a photo. The public pages show the pseudonym only.
The pages pass axe-core's WCAG 2.2 AA rules and never scroll sideways."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from playwright.sync_api import Page, expect

from nkhr_events.audit.services import SYSTEM
from nkhr_events.extensions import db
from nkhr_events.programme import speakers
from nkhr_events.programme.models import ProgrammeSession, SessionSpeaker, Speaker
from nkhr_events.web import LANGUAGE_COOKIE
from tests.browser.browser_support import PHONE_VIEWPORT, enrolled_organizer, finish_sign_in
from tests.browser.test_audit_pages import AXE_JS, AXE_OPTIONS, RUN_AXE, run_vnu
from tests.conftest import STAFF_PASSWORD, AuthActions
from tests.factories import make_event

pytestmark = pytest.mark.browser

Shoot = Callable[[Page, str], Path | None]
BIO = "1990년대 말 탈북 후 인권 단체에서 활동하고 있습니다."
PSEUDONYM = "증인 A"


@pytest.fixture
def world(app: Flask) -> tuple[str, str, int]:
    """An event, and the private link of a speaker invited in Korean."""
    with app.app_context():
        event = make_event(title="Seoul Forum on North Korean Human Rights",
                           title_ko="북한인권 서울 포럼")
        speaker = speakers.invite_speaker(
            event, speakers.SpeakerInput("철수", "김", "cheolsu@example.org", "ko"), actor=SYSTEM
        )
        db.session.flush()
        token = speakers._speaker_token(speaker.id)  # what the outbox makes when it sends
        db.session.commit()
        return token, event.slug, speaker.id


def photo_file() -> dict[str, object]:
    out = io.BytesIO()
    Image.new("RGB", (300, 400), (40, 90, 160)).save(out, format="JPEG")
    return {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def check_page(page: Page) -> None:
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"], (
        page.url)


def test_a_speaker_accepts_in_korean_chooses_a_pseudonym_and_sends_a_photo(
    app: Flask, open_page: Callable[..., Page], world: tuple[str, str, int], screenshot: Shoot
) -> None:
    token, slug, speaker_id = world
    phone = open_page(javascript=False, viewport=PHONE_VIEWPORT)
    phone.goto(f"/speaker/{token}")
    expect(phone.locator("html")).to_have_attribute("lang", "ko")
    expect(phone.locator("main")).to_contain_text("김철수")
    check_page(phone)
    screenshot(phone, "speaker-01-invited-390")

    phone.locator("#answer-0").check()  # I will speak
    phone.locator("#appearance-1").check()  # under a pseudonym... left empty
    phone.locator("#bio").fill(BIO)
    phone.locator("#needs").fill("휠체어 이용")
    phone.locator("#photo").set_input_files(photo_file())
    phone.locator("form.form button[type=submit]").click()
    expect(phone.locator("#pseudonym-error")).to_be_visible()
    expect(phone.locator("#photo-error")).to_be_visible()  # not saved: choose it again
    expect(phone.locator("#bio")).to_have_value(BIO)
    expect(phone.locator("#needs")).to_have_value("휠체어 이용")
    expect(phone.locator("#answer-0")).to_be_checked()
    expect(phone.locator("#appearance-1")).to_be_checked()
    check_page(phone)
    screenshot(phone, "speaker-02-refused-390")

    phone.locator("#pseudonym").fill(PSEUDONYM)
    phone.locator("#photo").set_input_files(photo_file())
    phone.locator("form.form button[type=submit]").click()
    expect(phone.locator(".flashes")).to_be_visible()
    expect(phone.locator("#public-name")).to_have_text(PSEUDONYM)
    expect(phone.locator(".speaker-own-photo img")).to_be_visible()
    check_page(phone)
    screenshot(phone, "speaker-03-saved-390")
    with app.app_context():
        found = db.session.get(Speaker, speaker_id)
        assert found is not None and found.status == "confirmed"
        assert found.pseudonym == PSEUDONYM and found.bio_ko == BIO
        assert found.photo is not None and found.photo.data.startswith(b"\x89PNG")

    public = open_page(javascript=False, viewport=PHONE_VIEWPORT)
    public.goto(f"/events/{slug}/speakers")
    expect(public.locator("#speakers")).to_contain_text(PSEUDONYM)
    public.get_by_role("link", name=PSEUDONYM).click()
    expect(public.locator("#speaker-name")).to_have_text(PSEUDONYM)
    assert "철수" not in public.content() and BIO not in public.content()
    check_page(public)
    screenshot(public, "speaker-04-public-390")

    audited = open_page(javascript=True, viewport=PHONE_VIEWPORT)
    audited.context.add_init_script(path=str(AXE_JS))
    for url in (f"/speaker/{token}", f"/events/{slug}/speakers",
                f"/events/{slug}/speakers/{speaker_id}"):
        audited.goto(url)
        audited.wait_for_load_state()
        violations = audited.evaluate(RUN_AXE, AXE_OPTIONS)
        assert violations == [], (url, violations)


# --- every speaker page, in every language: axe-core and the Nu HTML checker ------------------

ORGANIZER = "lead@example.org"


@pytest.fixture
def staged(app: Flask) -> dict[str, Any]:
    """A speaker by name with a photo, one under a pseudonym, both on a session; an organizer."""
    with app.app_context():
        event = make_event(title="Seoul Forum", title_ko="서울 포럼", title_ja="ソウル・フォーラム")
        named = speakers.invite_speaker(
            event, speakers.SpeakerInput("Ada", "Lovelace", "ada@example.org", "en"),
            actor=SYSTEM)
        witness = speakers.invite_speaker(
            event, speakers.SpeakerInput("철수", "김", "cheolsu@example.org", "ko"),
            actor=SYSTEM)
        for who, appearance in ((named, "name"), (witness, "pseudonym")):
            speakers.answer(who, True, actor=SYSTEM)
            speakers.update_profile(who, speakers.ProfileInput(
                "en", "Analytical Society", "Wrote the first program.\nLived in London.",
                appearance, PSEUDONYM, True, appearance == "name", "Step-free access"),
                actor=SYSTEM)
        out = io.BytesIO()
        Image.new("RGB", (120, 160), (10, 120, 90)).save(out, format="PNG")
        speakers.set_photo(named, speakers.clean_photo(out.getvalue()), actor=SYSTEM)
        session = ProgrammeSession(event_id=event.id, day=event.start_date, starts_at=time(9),
                                   ends_at=time(10), kind="panel", title="Testimonies",
                                   room="Hall A", closed_door=True)
        session.speakers.extend([SessionSpeaker(speaker=named, position=0),
                                 SessionSpeaker(speaker=witness, position=1)])
        db.session.add(session)
        enrolled_organizer(ORGANIZER, "Lead", STAFF_PASSWORD)
        db.session.flush()
        token = speakers._speaker_token(witness.id)
        db.session.commit()
        return {"event_id": event.id, "slug": event.slug, "named": named.id,
                "witness": witness.id, "token": token}


def public_urls(w: dict[str, Any]) -> list[str]:
    return [f"/events/{w['slug']}/speakers", f"/events/{w['slug']}/speakers/{w['named']}",
            f"/events/{w['slug']}/speakers/{w['witness']}", f"/speaker/{w['token']}"]


def staff_urls(w: dict[str, Any]) -> list[str]:
    base = f"/manage/events/{w['event_id']}"
    return [f"{base}/speakers", f"{base}/speakers/new", f"{base}/speakers/{w['witness']}",
            f"{base}/programme/crew"]


def test_every_speaker_page_passes_axe_in_every_language(
    app: Flask, open_page: Callable[..., Page], staged: dict[str, Any]
) -> None:
    page = open_page(javascript=True)
    page.context.add_init_script(path=str(AXE_JS))
    page.goto("/sign-in")
    page.get_by_label("Email").fill(ORGANIZER)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    finish_sign_in(page, app, ORGANIZER)
    problems = []
    for language in ("en", "ko", "ja"):
        page.context.add_cookies([{"name": LANGUAGE_COOKIE, "value": language,
                                   "url": page.url}])
        for url in [*public_urls(staged), *staff_urls(staged)]:
            page.goto(url)
            page.wait_for_load_state()
            violations = page.evaluate(RUN_AXE, AXE_OPTIONS)
            if violations:
                problems.append((language, url, violations))
        # The speaker's form with its errors shown.
        page.goto(f"/speaker/{staged['token']}")
        page.locator("#appearance-1").check()
        page.locator("#pseudonym").fill("")
        page.locator("form.form button[type=submit]").click()
        page.wait_for_load_state()
        violations = page.evaluate(RUN_AXE, AXE_OPTIONS)
        if violations:
            problems.append((language, "speaker form with errors", violations))
    assert not problems, problems


def test_every_speaker_page_is_valid_html_in_every_language(
    app: Flask, auth: AuthActions, client: FlaskClient, staged: dict[str, Any],
    tmp_path: Path,
) -> None:
    if shutil.which("java") is None:
        pytest.skip("java is not on PATH; the Nu HTML checker needs it")
    auth.sign_in(ORGANIZER)
    for language in ("en", "ko", "ja"):
        client.set_cookie(LANGUAGE_COOKIE, language)
        for n, url in enumerate([*public_urls(staged), *staff_urls(staged)]):
            response = client.get(url)
            assert response.status_code == 200, url
            (tmp_path / f"{language}-{n}.html").write_bytes(response.data)
        refused = client.post(f"/speaker/{staged['token']}",
                              data={"answer": "confirmed", "appearance": "pseudonym"})
        assert refused.status_code == 200
        (tmp_path / f"{language}-refused.html").write_bytes(refused.data)
    errors = run_vnu(tmp_path)
    assert not errors, [(Path(m.get("url", "")).name, m.get("message"), m.get("extract"))
                        for m in errors]
