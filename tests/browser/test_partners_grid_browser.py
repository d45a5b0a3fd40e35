"""The partner grid in Chromium, JavaScript off, on a phone and a desktop: even boxes, every
logo inside its box, no bullets, nothing wider than the screen."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image, ImageDraw
from playwright.sync_api import Page

from nkhr_events.audit.services import PARTNER
from nkhr_events.events.history import import_history
from nkhr_events.extensions import db
from nkhr_events.partners import services
from nkhr_events.partners.logos import clean_logo
from tests.factories import make_event

from .browser_support import DESKTOP_VIEWPORT, PHONE_VIEWPORT

pytestmark = pytest.mark.browser


def logo(size, colour, text):
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).text((4, 4), text, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return clean_logo(out.getvalue())


@pytest.fixture
def slug(app: Flask) -> str:
    with app.app_context():
        import_history()
        event = make_event(title="Seoul Conference 2027")
        entries = [
            ("Citizens' Alliance for North Korean Human Rights", "co_organizer", (1600, 200),
             (20, 60, 160)),
            ("Seoul National University", "co_organizer", None, None),
            ("Hanwha Foundation", "sponsor", (200, 800), (160, 30, 30)),
            ("Tiny Press", "sponsor", (16, 16), (30, 120, 60)),
            ("Daily NK", "sponsor", (600, 600), (90, 90, 90)),
        ]
        for n, (name, role, size, colour) in enumerate(entries):
            p = services.submit_application(
                event,
                services.ApplicationInput(
                    organization_name=name, organization_type="ngo", country="KR", website=None,
                    contact_name="C", contact_role=None, contact_email=f"c{n}@example.org",
                    contact_phone=None, role=role,
                    sponsor_tier="principal" if role == "sponsor" else None, contribution=None,
                    offers=["venue"] if role == "co_organizer" else [], language="en",
                ),
                logo(size, colour, name) if size else None, actor=PARTNER,
            )
            p.status = "approved"
            p.display_order = n
        db.session.commit()
        return event.slug


@pytest.mark.parametrize("viewport", [PHONE_VIEWPORT, DESKTOP_VIEWPORT], ids=["390", "1280"])
def test_partner_grid(open_page: Callable[..., Page], slug: str, viewport, screenshot) -> None:
    page = open_page(javascript=False, viewport=viewport)
    page.goto(f"/events/{slug}")
    page.wait_for_load_state("networkidle")
    grids = page.locator(".partner-grid").evaluate_all(
        "gs => gs.map(g => [...g.querySelectorAll('.partner-card a')].map(e => "
        "[e.getBoundingClientRect().width, e.getBoundingClientRect().height]))")
    assert sum(len(g) for g in grids) == 5
    for boxes in grids:
        assert len({round(h) for _w, h in boxes}) == 1, boxes
    assert len({round(w) for g in grids for w, _h in g}) == 1, grids
    logo_boxes = page.locator(".partner-logo-box:not(.partner-logo-box-text)").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)")
    assert len(set(round(h) for h in logo_boxes)) == 1
    inside = page.locator(".partner-logo-box img").evaluate_all(
        """els => els.map(img => { const b = img.parentElement.getBoundingClientRect();
             const r = img.getBoundingClientRect();
             return r.left >= b.left - 0.5 && r.right <= b.right + 0.5 && r.top >= b.top - 0.5
                    && r.bottom <= b.bottom + 0.5 && img.complete && img.naturalWidth > 0; })""")
    assert inside == [True] * 4
    assert page.locator(".partner-grid").first.evaluate(
        "e => getComputedStyle(e).listStyleType") == "none"
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.locator("#partners-heading").scroll_into_view_if_needed()
    name = f"partners-event-{viewport['width']}"
    path = Path("/tmp/nkhr_screens") / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.locator("section.partners").screenshot(path=str(path))
    page.goto("/history")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.locator("section.partners").screenshot(
        path=str(Path("/tmp/nkhr_screens") / f"partners-history-{viewport['width']}.png"))
