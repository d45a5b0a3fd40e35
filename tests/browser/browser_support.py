"""Browser-test support: the Chromium to drive, its flags, viewports and the guard that keeps
pages from reaching any host but the test server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import axe_playwright_python
from playwright.sync_api import BrowserContext, Request, Route

#: Playwright must never download a browser of its own: it drives the system's Chromium.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP_VIEWPORT = {"width": 1280, "height": 900}
PHONE_VIEWPORT = {"width": 390, "height": 844}
SCREENSHOT_DIR = Path("/tmp/nkhr_screens")

#: axe-core as the axe-playwright-python package bundles it, run on WCAG 2.0–2.2 A and AA.
AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN_AXE = r"""async (tags) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                           resultTypes: ['violations']});
  return results.violations.map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' '))
                                                         .join(', '));
}"""


class RequestGuard:
    """Records every request of a browser context; anything not for the test server is
    blocked before it leaves the machine and remembered so the test fails."""

    def __init__(self, base_url: str) -> None:
        self.origin = urlsplit(base_url).netloc
        self.requests: list[str] = []
        self.foreign: list[str] = []

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self._seen)
        context.route("**/*", self._route)

    def _is_foreign(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in {"data", "blob", "about"}:
            return False
        return parts.netloc != self.origin

    def _seen(self, request: Request) -> None:
        self.requests.append(request.url)
        if self._is_foreign(request.url) and request.url not in self.foreign:
            self.foreign.append(request.url)

    def _route(self, route: Route) -> None:
        if self._is_foreign(route.request.url):
            if route.request.url not in self.foreign:
                self.foreign.append(route.request.url)
            route.abort("blockedbyclient")
        else:
            route.continue_()


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM


def enrolled_organizer(email: str, name: str, password: str) -> None:
    """An organizer of every event, enrolled for two-factor sign-in with the tests' known
    secret (call inside an app context; the caller commits)."""
    from nkhr_events.accounts.services import create_staff
    from nkhr_events.dbtypes import utcnow
    from tests.conftest import STAFF_TOTP_SECRET

    user = create_staff(email, name, password, "organizer")
    user.totp_secret = STAFF_TOTP_SECRET
    user.two_factor_enrolled_at = utcnow()


def finish_sign_in(page: Any, app: Any, email: str) -> None:
    """After the password: type the authenticator's current code, as the person does, when the
    page asks for one."""
    from tests.conftest import next_code

    page.wait_for_load_state()
    if urlsplit(page.url).path != "/sign-in/code":
        return
    page.locator("#code").fill(next_code(app, email))
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
