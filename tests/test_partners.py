"""Partner applications: one record per organization whatever its spelling or website, a second
application for the same role changes nothing, emails in the applicant's language, and logos
that are decoded and re-encoded or refused with a reason beside the field."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import timedelta

import pytest
from factories import make_event
from markup import parse
from PIL import Image, ImageFile
from smtp import smtp_settings
from sqlalchemy import func
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from nkhr_events.audit.models import AuditEntry
from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import EventStatus
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.partners import services
from nkhr_events.partners.logos import LogoRefused, clean_logo
from nkhr_events.partners.models import Partner, PartnerLogo, Partnership

TEAM = "intl-campaign@localhost"


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


@pytest.fixture
def event_slug(app) -> str:
    with app.app_context():
        event = make_event(title="Seoul Conference 2027", title_ko="서울 회의 2027")
        db.session.commit()
        return event.slug


def sponsor(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "organization_name": "Chosun Ilbo",
        "organization_type": "media",
        "country": "KR",
        "website": "https://www.chosun.com/",
        "contact_name": "Park Ji-won",
        "contact_role": "Director of partnerships",
        "contact_email": "jiwon@chosun.example",
        "contact_phone": "",
        "role": "sponsor",
        "sponsor_tier": "supporting",
        "contribution": "Coverage and a printed programme",
        "message": "We would be glad to support the conference.",
        "language": "ko",
        "privacy_consent": "y",
        "homepage": "",
    }
    data.update(overrides)
    return data


def co_organizer(**overrides: object) -> dict[str, object]:
    data = sponsor(
        organization_name="Citizens' Alliance",
        organization_type="ngo",
        website="https://nkhr.example/",
        contact_email="alliance@nkhr.example",
        role="co_organizer",
        sponsor_tier="",
        contribution="",
        language="en",
    )
    data.update({"offers": ["venue", "speakers"], "offers_other": "Interpreters"})
    data.update(overrides)
    return data


def count(model) -> int:
    return db.session.scalar(db.select(func.count()).select_from(model))


def png_bytes(size: tuple[int, int] = (40, 20), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG", **save)
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width`×`height` (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def post(client, slug: str, data: dict[str, object], logo: tuple[bytes, str] | None = None):
    """Send the form as a browser does, as multipart/form-data (encoded in memory: the test
    client would otherwise spool a large body to a file it never closes)."""
    payload = MultiDict()
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            payload.add(key, item)
    if logo is not None:
        payload.add("logo", FileStorage(io.BytesIO(logo[0]), filename=logo[1]))
    boundary, body = encode_multipart(payload)
    return client.post(
        f"/events/{slug}/partner",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_name_key_and_website_domain_make_one_partner_of_spelling_variants(app):
    with app.app_context():
        assert services.partner_name_key("Chosun Ilbo") == services.partner_name_key(
            "chosun  ilbo"
        )
        assert services.website_domain("https://WWW.Chosun.com/en/") == "chosun.com"
        assert services.website_domain("chosun.com") == "chosun.com"
        assert services.website_domain("") is None


def test_spelling_variants_and_a_shared_website_domain_are_one_partner(
    app, client, event_slug
):
    assert post(client, event_slug, sponsor()).status_code == 303
    assert post(
        client, event_slug, sponsor(organization_name="chosun  ilbo", role="co_organizer",
                                    offers=["outreach"], website="")
    ).status_code == 303
    # Another name, the same website (without "www."): the same organization.
    assert post(
        client, event_slug,
        sponsor(organization_name="The Chosun Daily", website="http://chosun.com/about",
                role="sponsor", sponsor_tier="principal"),
    ).status_code == 200
    with app.app_context():
        partners = db.session.scalars(db.select(Partner)).all()
        assert [(p.name, p.website_domain) for p in partners] == [("Chosun Ilbo", "chosun.com")]
        roles = sorted(p.role for p in db.session.scalars(db.select(Partnership)))
        assert roles == ["co_organizer", "sponsor"]


def test_a_second_application_for_the_same_role_changes_nothing_and_says_so(
    app, client, event_slug
):
    post(client, event_slug, sponsor())
    with app.app_context():
        before = (count(Partnership), count(OutboxMessage), count(Partner), count(AuditEntry))
        first = db.session.scalars(db.select(Partnership)).one()
        first_values = (first.sponsor_tier, first.contribution, first.contact_email)

    response = post(
        client, event_slug,
        sponsor(organization_name="CHOSUN-ILBO", sponsor_tier="principal",
                contribution="Something else", contact_email="other@chosun.example"),
        logo=(png_bytes(), "logo.png"),
    )
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    notice = page.one("div", id="duplicate-application").text
    assert "Chosun Ilbo has already applied for this role at this event" in notice
    assert "changed nothing" in notice
    with app.app_context():
        after = (count(Partnership), count(OutboxMessage), count(Partner), count(AuditEntry))
        assert after == before
        assert count(PartnerLogo) == 0
        first = db.session.scalars(db.select(Partnership)).one()
        assert (first.sponsor_tier, first.contribution, first.contact_email) == first_values


def test_application_is_stored_with_acknowledgement_and_team_notice_in_the_right_languages(
    app, client, event_slug, smtp_server
):
    response = post(client, event_slug, sponsor())
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/events/{event_slug}/partner/sent")
    with app.app_context():
        partnership = db.session.scalars(db.select(Partnership)).one()
        assert (partnership.status, partnership.role, partnership.sponsor_tier) == (
            "applied", "sponsor", "supporting"
        )
        assert partnership.partner.organization_type == "media"
        assert partnership.language == "ko"
        messages = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(m.recipient, m.language, m.partnership_id) for m in messages] == [
            (TEAM, "en", partnership.id),
            ("jiwon@chosun.example", "ko", partnership.id),
        ]
        entry = db.session.scalars(db.select(AuditEntry)).one()
        assert (entry.action, entry.object_id, entry.actor) == (
            "partnership.apply", partnership.id, "partner"
        )
        assert deliver_due().sent == 2

    team, ack = (r.message for r in smtp_server.received)
    assert team["Subject"] == "Partner application P-00001: Chosun Ilbo"
    assert team["Reply-To"].addresses[0].addr_spec == "jiwon@chosun.example"
    team_text = team.get_body(("plain",)).get_content()
    assert "Sponsor (Supporting sponsor)" in team_text
    assert "We would be glad to support the conference." in team_text
    assert ack["To"] == "jiwon@chosun.example"
    assert "P-00001" in ack["Subject"]
    ack_text = ack.get_body(("plain",)).get_content()
    # Rendered in Korean: the event's Korean title, not its English one.
    assert "서울 회의 2027" in ack_text and "Seoul Conference 2027" not in ack_text
    assert "P-00001" in ack_text
    assert "Seoul Conference 2027" in team_text


def test_co_organizer_application_records_what_they_bring(app, client, event_slug):
    assert post(client, event_slug, co_organizer()).status_code == 303
    with app.app_context():
        partnership = db.session.scalars(db.select(Partnership)).one()
        assert partnership.offers == "venue,speakers"
        assert partnership.offers_other == "Interpreters"
        assert partnership.sponsor_tier is None
        assert partnership.language == "en"


def test_validation_errors_sit_beside_their_fields_and_keep_the_values(app, client, event_slug):
    response = post(
        client, event_slug,
        sponsor(contact_email="not-an-address", sponsor_tier="", privacy_consent="",
                organization_name="A" * 201, website="javascript://example.org/%0aalert(1)"),
    )
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert "Enter an email address like name@example.org." in page.one(
        "p", id="contact_email-error").text
    assert "Choose the tier you would like to sponsor at." in page.one(
        "p", id="sponsor_tier-error").text
    assert "Please accept the privacy notice to apply." in page.one(
        "p", id="privacy_consent-error").text
    assert page.one("p", id="organization_name-error") is not None
    assert page.one("p", id="website-error").text == (
        "Enter a web address like https://example.org."
    )
    assert page.one("input", id="contact_email").get("value") == "not-an-address"
    assert page.one("textarea", id="contribution").text.strip() == (
        "Coverage and a printed programme"
    )
    with app.app_context():
        assert count(Partnership) == 0 and count(OutboxMessage) == 0


def test_a_co_organizer_must_say_what_they_bring(app, client, event_slug):
    response = post(client, event_slug, co_organizer(offers=[], offers_other=""))
    page = parse(response.get_data(as_text=True))
    assert "Tell us what you would bring." in page.one("p", id="offers-error").text


def test_the_honeypot_answers_as_usual_and_keeps_nothing(app, client, event_slug):
    response = post(client, event_slug, sponsor(homepage="http://spam.example"))
    assert response.status_code == 303
    with app.app_context():
        assert count(Partnership) == 0 and count(Partner) == 0 and count(OutboxMessage) == 0


def test_applications_close_when_the_event_is_over_or_not_published(app, client):
    with app.app_context():
        past = make_event(days=[utcnow().date() - timedelta(days=3)])
        archived = make_event(status=EventStatus.ARCHIVED)
        draft = make_event(status=EventStatus.DRAFT)
        db.session.commit()
        slugs = past.slug, archived.slug, draft.slug
    assert client.get(f"/events/{slugs[0]}/partner").status_code == 409
    assert client.post(f"/events/{slugs[1]}/partner", data=sponsor()).status_code == 409
    assert client.get(f"/events/{slugs[2]}/partner").status_code == 404
    page = parse(client.get(f"/events/{slugs[0]}").get_data(as_text=True))
    assert "Become a co-organizer or sponsor" not in page.text


def test_event_page_links_to_the_form_while_it_is_open(client, event_slug):
    page = parse(client.get(f"/events/{event_slug}").get_data(as_text=True))
    link = page.find("a", href=f"/events/{event_slug}/partner")
    assert link is not None and link.text == "Become a co-organizer or sponsor"
    form = parse(client.get(link.get("href")).get_data(as_text=True)).one(
        "form", id="partner-form"
    )
    assert form.get("enctype") == "multipart/form-data"
    tiers = [i.get("value") for i in form.find_all("input", name="sponsor_tier")]
    assert tiers == ["principal", "supporting", "in_kind"]


# --- logos ---------------------------------------------------------------------------------------


def test_a_logo_is_re_encoded_as_png_downscaled_and_stripped_of_metadata(app, client, event_slug):
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "secret GPS note"
    Image.new("RGB", (1600, 400), (10, 90, 200)).save(out, format="JPEG", exif=exif.tobytes())
    response = post(client, event_slug, sponsor(), logo=(out.getvalue(), "logo.jpg"))
    assert response.status_code == 303
    with app.app_context():
        logo = db.session.scalars(db.select(PartnerLogo)).one()
        assert (logo.content_type, logo.width, logo.height) == ("image/png", 800, 200)
        stored = Image.open(io.BytesIO(logo.data))
        assert stored.format == "PNG"
        assert b"secret GPS note" not in logo.data
        assert not stored.getexif()


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"#!/bin/sh\necho pwned\n", "logo.png", "not a PNG, JPEG or WebP image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
         "logo.png", "not a PNG, JPEG or WebP image"),
        (png_bytes()[:60], "logo.png", "not a PNG, JPEG or WebP image"),
        (png_declaring(30000, 30000), "bomb.png", "The image is too large"),
        (png_bytes((300, 300)) + b"\0" * (1024 * 1024), "big.png", "larger than 1 MB"),
    ],
    ids=["script-renamed-png", "svg", "corrupt", "decompression-bomb", "oversized"],
)
def test_anything_but_a_readable_small_image_is_refused_beside_the_field(
    app, client, event_slug, content, filename, message
):
    response = post(client, event_slug, sponsor(), logo=(content, filename))
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert message in page.one("p", id="logo-error").text
    assert page.one("input", id="organization_name").get("value") == "Chosun Ilbo"
    with app.app_context():
        assert count(Partnership) == 0 and count(PartnerLogo) == 0 and count(Partner) == 0


def test_clean_logo_refuses_a_bomb_pillow_itself_would_only_warn_about(app):
    # 6 megapixels: above our limit but below twice it, where Pillow only warns.
    with pytest.raises(LogoRefused, match="too large"):
        clean_logo(png_declaring(3000, 2000))
    assert clean_logo(png_bytes((10, 10))).content_type == "image/png"


def twenty_megapixels() -> bytes:
    """A real 5000 × 4000 PNG of one colour: some 70 KB on disk, 80 MB once decoded (RGBA).
    Such a file took a worker from 131 MB to 363 MB."""
    out = io.BytesIO()
    Image.new("RGB", (5000, 4000), (255, 255, 255)).save(out, format="PNG")
    assert len(out.getvalue()) < 200_000
    return out.getvalue()


@pytest.mark.parametrize(
    "size", [(5000, 4000), (2001, 2000), (8001, 400), (1000, 10)],
    ids=["20-megapixels", "just-over-4-megapixels", "too-long-a-side", "a-strip"],
)
def test_a_logo_declaring_too_many_pixels_is_refused_before_any_pixel_is_decoded(
    app, monkeypatch, size
):
    data = twenty_megapixels() if size == (5000, 4000) else png_declaring(*size)
    decoded: list[object] = []
    real_load = ImageFile.ImageFile.load

    def load(image):  # type: ignore[no-untyped-def]
        decoded.append(image.size)
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    with pytest.raises(LogoRefused, match="at most 4 megapixels"):
        clean_logo(data)
    assert decoded == []
    assert Image.MAX_IMAGE_PIXELS <= 4_000_000  # Pillow's own refusal behind ours


def test_a_twenty_megapixel_logo_is_refused_beside_the_field_and_nothing_is_stored(
    app, client, event_slug
):
    response = post(client, event_slug, sponsor(), logo=(twenty_megapixels(), "logo.png"))
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert "The image is too large: at most 4 megapixels" in page.one("p", id="logo-error").text
    assert page.one("input", id="organization_name").get("value") == "Chosun Ilbo"
    assert page.one("input", id="contact_email").get("value") == "jiwon@chosun.example"
    with app.app_context():
        assert count(Partnership) == 0 and count(PartnerLogo) == 0 and count(Partner) == 0
        assert count(OutboxMessage) == 0
    # A logo within the limit (2000 × 2000, 4 megapixels exactly) goes through.
    response = post(client, event_slug, sponsor(), logo=(png_bytes((2000, 2000)), "logo.png"))
    assert response.status_code == 303
    with app.app_context():
        logo = db.session.scalars(db.select(PartnerLogo)).one()
        assert (logo.width, logo.height) == (800, 800)
