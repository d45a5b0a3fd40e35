"""Browser fixtures: the test app served on a loopback port, Debian's Chromium driven by
Playwright, a fresh browser context per test, and a guard that fails a test whose pages ask
any host but the test server for anything (the product promises no third-party requests)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from werkzeug.serving import make_server

from .browser_support import (
    CHROMIUM_ARGS,
    DESKTOP_VIEWPORT,
    SCREENSHOT_DIR,
    RequestGuard,
    chromium_path,
)

_GUARDS = pytest.StashKey[list[RequestGuard]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """After the test body, fail the test (not its teardown) if a page reached out."""
    result = yield
    foreign = [url for guard in item.stash.get(_GUARDS, []) for url in guard.foreign]
    if foreign:
        pytest.fail("The page made requests to other hosts: " + ", ".join(foreign))
    return result


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    path = chromium_path()
    if not os.access(path, os.X_OK):
        message = f"Chromium not found at {path}; install Debian's chromium"
        if os.environ.get("NKHR_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (NKHR_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(message)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One Chromium for the session; each test gets its own context (cookies, storage)."""
    chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test app on a free loopback port, served from a background thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def javascript() -> bool:
    """Whether pages run JavaScript; `@pytest.mark.parametrize("javascript", [True, False])`
    runs a test both ways."""
    return True


@pytest.fixture
def open_page(
    browser: Browser, live_server: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh context: `open_page(javascript=False, viewport=PHONE_VIEWPORT)`.
    Every context is guarded and closed before the server stops."""
    contexts: list[BrowserContext] = []
    guards = request.node.stash.setdefault(_GUARDS, [])

    def _open(
        javascript: bool = True, viewport: dict[str, int] | None = None, **options: Any
    ) -> Page:
        context = browser.new_context(
            base_url=live_server,
            java_script_enabled=javascript,
            viewport=viewport or DESKTOP_VIEWPORT,
            locale="en-US",
            service_workers="block",
            **options,
        )
        context.set_default_timeout(10_000)
        guard = RequestGuard(live_server)
        guard.attach(context)
        guards.append(guard)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Page], javascript: bool) -> Page:
    """A page in a fresh desktop context, JavaScript on or off as `javascript` says."""
    return open_page(javascript=javascript)


@pytest.fixture
def request_guard(page: Page, request: pytest.FixtureRequest) -> RequestGuard:
    """The guard of `page`'s context, for tests that look at the requests themselves."""
    return request.node.stash[_GUARDS][0]


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path | None]:
    """Save a full-page screenshot to /tmp/nkhr_screens/<name>.png when NKHR_SCREENSHOTS is set
    (for a person to look at; never written into the checkout)."""

    def _take(page: Page, name: str) -> Path | None:
        if not os.environ.get("NKHR_SCREENSHOTS"):
            return None
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _take
