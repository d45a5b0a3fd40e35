"""Public recognition of approved partners: an even grid of cards on the event page and in the
history of past conferences, every logo in a box of one size, each card a link to the
partner's page, good alt texts, nothing but our own assets, no inline style or script."""

from __future__ import annotations

import io

import pytest
from factories import make_event, make_series, past_days
from markup import Element, parse
from PIL import Image

from nkhr_events.audit.services import PARTNER
from nkhr_events.events.models import EventStatus
from nkhr_events.extensions import db
from nkhr_events.partners import services
from nkhr_events.partners.logos import clean_logo
from nkhr_events.partners.models import Partnership, PartnershipRole, PartnershipStatus
from nkhr_events.web import CONTENT_SECURITY_POLICY


def logo(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (0, 90, 160)).save(out, format="PNG")
    return out.getvalue()


def apply(event, name: str, role: str = "sponsor", size: tuple[int, int] | None = None,
          status: str = PartnershipStatus.APPROVED, order: int = 0) -> Partnership:
    partnership = services.submit_application(
        event,
        services.ApplicationInput(
            organization_name=name, organization_type="ngo", country="KR", website=None,
            contact_name="Contact", contact_role=None,
            contact_email=f"{services.partner_name_key(name)}{event.id}@example.org",
            contact_phone=None, role=role,
            sponsor_tier="principal" if role == "sponsor" else None, contribution=None,
            offers=["venue"] if role == "co_organizer" else [], language="en",
        ),
        clean_logo(logo(size)) if size else None,
        actor=PARTNER,
    )
    partnership.status = status
    partnership.display_order = order
    return partnership


@pytest.fixture
def event_page(app, client):
    """An event with two co-organizers (a wide logo, no logo), two principal sponsors (a tall
    logo, a tiny one) and a pending sponsor with a logo."""
    with app.app_context():
        event = make_event(title="Seoul Conference 2027")
        apply(event, "Citizens' Alliance", "co_organizer", (1600, 200), order=0)
        apply(event, "Seoul National University", "co_organizer", None, order=1)
        apply(event, "Hanwha Foundation", "sponsor", (200, 800), order=0)
        apply(event, "Tiny Press", "sponsor", (16, 16), order=1)
        apply(event, "Pending Corp", "sponsor", (300, 100), status=PartnershipStatus.APPLIED)
        db.session.commit()
        slug = event.slug
    response = client.get(f"/events/{slug}")
    assert response.status_code == 200
    return response


def partners_section(response) -> Element:
    page = parse(response.get_data(as_text=True))
    return page.one("section", class_="partners")


def cards(section: Element) -> list[Element]:
    return [li for ul in section.find_all("ul") for li in ul.find_all("li")]


def test_approved_partners_are_an_even_grid_of_linked_cards(app, event_page):
    section = partners_section(event_page)
    grids = section.find_all("ul")
    assert grids and all(ul.get("class") == "partner-grid" for ul in grids)
    names = []
    with app.app_context():
        partner_ids = {p.partner.name: p.partner_id
                       for p in db.session.scalars(db.select(Partnership))}
    for card in cards(section):
        assert card.get("class") == "partner-card"
        link = card.one("a")
        names.append(link.text)
        assert link.get("href") == f"/partners/{partner_ids[link.text]}"
    assert names == ["Citizens' Alliance", "Seoul National University", "Hanwha Foundation",
                     "Tiny Press"]
    assert "Pending Corp" not in section.text


def test_every_logo_sits_in_a_box_of_one_size_with_its_name_as_alt_text(app, event_page):
    section = partners_section(event_page)
    images = section.find_all("img")
    assert len(images) == 3
    sizes = []
    for img in images:
        box = img.parent
        assert box.tag == "span" and box.get("class") == "partner-logo-box"
        link = box.parent
        # The logo's alt text is the partner's name; the caption beside it is for the eye
        # only, so that the link's name is the partner's name, said once.
        caption = link.one("span", class_="partner-name")
        assert img.get("alt") == caption.text == link.text
        assert caption.get("aria-hidden") == "true"
        assert img.get("src", "").startswith("/partners/logos/")
        sizes.append((int(img.get("width")), int(img.get("height"))))
    # Each at its stored size (re-encoded within 800 px), scaled by the stylesheet.
    assert sizes == [(800, 100), (200, 800), (16, 16)]
    # A partner without a logo shows its name in the box instead.
    text_box = section.one("span", class_="partner-logo-box partner-logo-box-text")
    assert text_box.text == "Seoul National University"


def test_the_grid_is_styled_by_our_own_stylesheet_without_inline_style_or_script(
    client, event_page
):
    assert event_page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "style-src 'self'" in CONTENT_SECURITY_POLICY
    section = partners_section(event_page)
    for element in section.iter():
        assert "style" not in element.attrs, element
        assert element.tag not in ("script", "style"), element
        assert not any(name.startswith("on") for name in element.attrs), element
        for attribute in ("src", "href"):
            value = element.get(attribute)
            assert value is None or value.startswith("/"), value
    stylesheet = section.one("link")
    assert stylesheet.get("rel") == "stylesheet"
    css = client.get(stylesheet.get("href"))
    assert css.status_code == 200 and css.mimetype == "text/css"
    text = css.get_data(as_text=True)
    css.close()
    rules = rule_map(text)
    assert rules[".partner-grid"]["list-style"] == "none"
    assert rules[".partner-grid"]["display"] == "grid"
    assert rules[".partner-logo-box"]["height"].endswith("rem")
    assert rules[".partner-logo-box img"]["object-fit"] == "contain"
    assert "url(" not in text and "@import" not in text


def rule_map(css: str) -> dict[str, dict[str, str]]:
    """Selector -> declarations of the top-level rules (the first rule of each selector)."""
    import re

    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", css)
    rules: dict[str, dict[str, str]] = {}
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = dict(
            (part.split(":", 1)[0].strip(), part.split(":", 1)[1].strip())
            for part in body.split(";") if ":" in part
        )
        rules.setdefault(" ".join(selector.split()), declarations)
    return rules


def test_a_partner_without_a_logo_this_time_shows_its_logo_from_another_approved_edition(
    app, client
):
    with app.app_context():
        series = make_series()
        earlier = make_event(series=series, title="Tokyo 2012", days=past_days(2012, 6, 10),
                             slug="tokyo-2012", status=EventStatus.ARCHIVED)
        later = make_event(series=series, title="Seoul 2027")
        first = apply(earlier, "NK Watch", "co_organizer", (300, 100))
        second = apply(later, "NK Watch", "co_organizer", None)
        # Another partner's pending logo stays hidden wherever the partner shows.
        approved = apply(earlier, "Quiet Partner", "co_organizer", None)
        apply(later, "Quiet Partner", "sponsor", (120, 60), status=PartnershipStatus.APPLIED)
        db.session.commit()
        assert first.partner_id == second.partner_id
        first_id, later_slug = first.id, later.slug
        quiet_partner = approved.partner_id
    section = partners_section(client.get(f"/events/{later_slug}"))
    (img,) = section.find_all("img")
    assert img.get("src") == f"/partners/logos/{first_id}.png"
    history = parse(client.get("/history").get_data(as_text=True))
    quiet = history.one("section", class_="partners").find(
        "a", href=f"/partners/{quiet_partner}")
    assert quiet is not None and quiet.find("img") is None


def test_the_history_lists_its_co_organizers_as_the_same_grid(app, client):
    with app.app_context():
        series = make_series()
        first = make_event(series=series, title="Seoul 2005", days=past_days(2005, 11, 1),
                           slug="seoul-2005", status=EventStatus.ARCHIVED)
        second = make_event(series=series, title="Tokyo 2012", days=past_days(2012, 6, 10),
                            slug="tokyo-2012", status=EventStatus.ARCHIVED)
        for name in ("Citizens' Alliance", "NK Watch"):
            partner = services.find_or_add_partner(name)
            services.ensure_approved_partnership(partner, first, PartnershipRole.CO_ORGANIZER)
        with_logo = apply(second, "Daily NK", "co_organizer", (400, 100))
        services.ensure_approved_partnership(
            services.find_or_add_partner("NK Watch"), second, PartnershipRole.CO_ORGANIZER
        )
        db.session.commit()
        logo_id, daily_nk = with_logo.id, with_logo.partner_id
    page = parse(client.get("/history").get_data(as_text=True))
    section = page.one("section", class_="partners")
    assert section.one("h2").text == "Co-organizers over the years"
    grid = section.one("ul", class_="partner-grid")
    links = [card.one("a") for card in grid.find_all("li")]
    # Each once, the latest conference's first.
    assert [a.text for a in links] == ["Daily NK", "NK Watch", "Citizens' Alliance"]
    assert all(a.get("href", "").startswith("/partners/") for a in links)
    img = links[0].one("img")
    assert (img.get("src"), img.get("alt")) == (f"/partners/logos/{logo_id}.png", "Daily NK")
    assert links[0].get("href") == f"/partners/{daily_nk}"
    assert links[2].find("img") is None
    assert not any("style" in e.attrs for e in section.iter())
    # The old bulleted list is gone.
    assert page.find("ul", class_="partner-list") is None
