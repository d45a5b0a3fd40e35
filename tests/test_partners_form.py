"""The partner form: a website typed without "https://" is taken and made whole, a bad logo is
reported in the first round with every other mistake, and an accepted logo is held on the
server for the corrected form (never sent again, never public, gone after an hour)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import make_event
from markup import parse
from smtp import smtp_settings
from test_partners import count, png_bytes, png_declaring, post, sponsor

from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.partners import services
from nkhr_events.partners.forms import with_scheme
from nkhr_events.partners.logos import clean_logo
from nkhr_events.partners.models import Partner, PartnerLogo, Partnership, PendingLogo
from nkhr_events.tokens import token_hash


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


@pytest.fixture
def event_slug(app) -> str:
    with app.app_context():
        event = make_event(title="Seoul Conference 2027")
        db.session.commit()
        return event.slug


def errors(response) -> dict[str, str]:
    """Field id -> its message, for every field with an error on the page."""
    page = parse(response.get_data(as_text=True))
    return {
        (p.get("id") or "").removesuffix("-error"): p.text
        for p in page.find_all("p", class_="error-message")
    }


def nothing_stored(app) -> None:
    with app.app_context():
        assert count(Partnership) == 0 and count(Partner) == 0
        assert count(PartnerLogo) == 0 and count(OutboxMessage) == 0


# --- the website -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("example.org", "https://example.org"),
        ("www.example.org/about", "https://www.example.org/about"),
        ("  chosun.com  ", "https://chosun.com"),
        ("http://example.org", "http://example.org"),
        ("HTTPS://Example.org/x", "HTTPS://Example.org/x"),
    ],
)
def test_a_website_without_its_scheme_is_taken_and_made_whole(
    app, client, event_slug, typed, stored
):
    assert post(client, event_slug, sponsor(website=typed)).status_code == 303
    with app.app_context():
        partnership = db.session.scalars(db.select(Partnership)).one()
        assert partnership.website == stored
        assert partnership.partner.website == stored


@pytest.mark.parametrize(
    "typed",
    ["javascript:alert(1)", "ftp://example.org", "not a website", "mailto:me@example.org",
     "localhost:8000", "https://"],
)
def test_what_is_not_a_web_address_is_still_refused(app, client, event_slug, typed):
    response = post(client, event_slug, sponsor(website=typed))
    assert response.status_code == 200
    assert errors(response)["website"] == "Enter a web address like https://example.org."
    # Shown again as it was typed, not as it would have been made whole.
    page = parse(response.get_data(as_text=True))
    assert page.one("input", id="website").get("value") == typed
    nothing_stored(app)


def test_the_form_shown_again_shows_the_address_made_whole(client, event_slug):
    response = post(client, event_slug, sponsor(website="example.org", contact_email="x"))
    page = parse(response.get_data(as_text=True))
    assert page.one("input", id="website").get("value") == "https://example.org"


def test_staff_edits_of_a_partner_website_are_made_whole_too(app, client, auth, event_slug):
    post(client, event_slug, sponsor())
    with app.app_context():
        partnership_id = db.session.scalars(db.select(Partnership.id)).one()
    auth.organizer()
    response = client.post(f"/manage/partners/{partnership_id}/partner",
                           data={"name": "Chosun Ilbo", "website": "www.chosun.com/en"})
    assert response.status_code == 303
    with app.app_context():
        partner = db.session.scalars(db.select(Partner)).one()
        assert (partner.website, partner.website_domain) == (
            "https://www.chosun.com/en", "chosun.com"
        )


def test_with_scheme():
    assert with_scheme(None) is None
    assert with_scheme("") == ""
    assert with_scheme("//example.org") == "https://example.org"
    assert with_scheme("javascript://x") == "javascript://x"


# --- the logo in the first round ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"GIF89a not really", "logo.gif", "not a PNG, JPEG or WebP image"),
        (png_bytes((300, 300)) + b"\0" * (1024 * 1024), "big.png", "larger than 1 MB"),
        (png_declaring(30000, 30000), "bomb.png", "The image is too large"),
        (png_bytes()[:60], "broken.png", "not a PNG, JPEG or WebP image"),
    ],
    ids=["wrong-type", "too-large", "too-many-pixels", "corrupt"],
)
def test_a_bad_logo_is_reported_with_every_other_mistake_in_the_first_round(
    app, client, event_slug, content, filename, message
):
    response = post(
        client, event_slug,
        sponsor(contact_email="not-an-address", organization_name="", sponsor_tier=""),
        logo=(content, filename),
    )
    assert response.status_code == 200
    found = errors(response)
    assert message in found["logo"]
    assert set(found) >= {"logo", "contact_email", "organization_name", "sponsor_tier"}
    page = parse(response.get_data(as_text=True))
    # The summary above the form names the logo too.
    assert message in page.one("div", id="error-summary").text
    assert page.find("p", id="logo-kept") is None
    nothing_stored(app)
    with app.app_context():
        assert count(PendingLogo) == 0


# --- the logo held between two tries -----------------------------------------------------------


def _held(response) -> tuple[str, str]:
    """(token in the hidden field, the text that says the logo is kept)."""
    page = parse(response.get_data(as_text=True))
    return page.one("input", id="logo_token").get("value") or "", page.one(
        "p", id="logo-kept").text


def test_an_accepted_logo_is_held_for_the_corrected_form_and_never_sent_again(
    app, client, event_slug
):
    logo = png_bytes((120, 60))
    response = post(client, event_slug, sponsor(contact_email="not-an-address"),
                    logo=(logo, "Our Logo.png"))
    assert response.status_code == 200
    token, kept = _held(response)
    assert "Our Logo.png" in kept and "choose another file" in kept
    assert len(token) >= 40
    page = parse(response.get_data(as_text=True))
    assert page.one("input", id="logo").get("type") == "file"
    assert page.one("input", id="logo_remove").get("type") == "checkbox"
    with app.app_context():
        held = db.session.scalars(db.select(PendingLogo)).one()
        # Only a hash of the token is stored; the row is for this event, for an hour.
        assert held.token_hash == token_hash(token) and token not in held.token_hash
        assert held.filename == "Our Logo.png"
        assert timedelta(minutes=59) < held.expires_at - utcnow() <= timedelta(hours=1)
        # Nothing from the failed try is public or stored as an application.
        assert count(PartnerLogo) == 0 and count(Partnership) == 0 and count(Partner) == 0
    assert client.get("/partners/logos/1.png").status_code == 404

    # A second failed try keeps holding it, without the file being sent again.
    response = post(client, event_slug,
                    sponsor(contact_email="still wrong", logo_token=token))
    again, kept = _held(response)
    assert again == token and "Our Logo.png" in kept

    response = post(client, event_slug, sponsor(logo_token=token))
    assert response.status_code == 303
    with app.app_context():
        stored = db.session.scalars(db.select(PartnerLogo)).one()
        assert (stored.width, stored.height) == (120, 60)
        assert count(PendingLogo) == 0


def test_a_new_file_replaces_the_held_logo(app, client, event_slug):
    response = post(client, event_slug, sponsor(contact_email="x"),
                    logo=(png_bytes((40, 20)), "old.png"))
    token, _kept = _held(response)
    response = post(client, event_slug, sponsor(contact_email="y", logo_token=token),
                    logo=(png_bytes((90, 30)), "new.png"))
    new_token, kept = _held(response)
    assert new_token != token and "new.png" in kept
    with app.app_context():
        assert [h.filename for h in db.session.scalars(db.select(PendingLogo))] == ["new.png"]
    assert post(client, event_slug, sponsor(logo_token=new_token)).status_code == 303
    with app.app_context():
        stored = db.session.scalars(db.select(PartnerLogo)).one()
        assert (stored.width, stored.height) == (90, 30)


def test_the_held_logo_can_be_left_out(app, client, event_slug):
    response = post(client, event_slug, sponsor(contact_email="x"),
                    logo=(png_bytes(), "logo.png"))
    token, _kept = _held(response)
    response = post(client, event_slug, sponsor(logo_token=token, logo_remove="y"))
    assert response.status_code == 303
    with app.app_context():
        assert count(PartnerLogo) == 0 and count(PendingLogo) == 0
        assert count(Partnership) == 1


def test_a_refused_replacement_leaves_the_held_logo_in_place(app, client, event_slug):
    response = post(client, event_slug, sponsor(contact_email="x"),
                    logo=(png_bytes(), "good.png"))
    token, _kept = _held(response)
    response = post(client, event_slug, sponsor(logo_token=token),
                    logo=(b"not an image", "bad.png"))
    assert "not a PNG, JPEG or WebP image" in errors(response)["logo"]
    again, kept = _held(response)
    assert again == token and "good.png" in kept
    nothing_stored(app)


def test_a_held_logo_expires_and_the_form_says_so(app, client, event_slug):
    response = post(client, event_slug, sponsor(contact_email="x"),
                    logo=(png_bytes(), "logo.png"))
    token, _kept = _held(response)
    with app.app_context():
        held = db.session.scalars(db.select(PendingLogo)).one()
        held.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = post(client, event_slug, sponsor(logo_token=token))
    assert response.status_code == 200
    assert "no longer kept" in errors(response)["logo"]
    page = parse(response.get_data(as_text=True))
    assert page.one("input", id="logo_token").get("value") in ("", None)
    nothing_stored(app)
    # Without a logo, the form goes through; holding another logo purges the expired one.
    with app.app_context():
        event_id = db.session.scalars(db.select(PendingLogo.event_id)).one()
        services.hold_logo(event_id, clean_logo(png_bytes()), "other.png")
        db.session.commit()
        assert [h.filename for h in db.session.scalars(db.select(PendingLogo))] == ["other.png"]
    assert post(client, event_slug, sponsor()).status_code == 303


def test_a_token_is_good_for_its_own_event_only(app, client, event_slug):
    response = post(client, event_slug, sponsor(contact_email="x"),
                    logo=(png_bytes(), "logo.png"))
    token, _kept = _held(response)
    with app.app_context():
        other = make_event(title="Another Conference")
        db.session.commit()
        other_slug = other.slug
    response = post(client, other_slug, sponsor(logo_token=token))
    assert response.status_code == 200
    assert "no longer kept" in errors(response)["logo"]
    with app.app_context():
        assert count(PartnerLogo) == 0 and count(Partnership) == 0


def test_the_honeypot_holds_nothing(app, client, event_slug):
    response = post(client, event_slug, sponsor(contact_email="x", homepage="http://spam"),
                    logo=(png_bytes(), "logo.png"))
    assert response.status_code == 200
    with app.app_context():
        assert count(PendingLogo) == 0
