"""Browser-test support: the Chromium to drive, its flags, viewports and the guard that keeps
pages from reaching any host but the test server."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

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
