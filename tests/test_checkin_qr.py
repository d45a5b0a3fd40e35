"""The check-in QR code: drawn by this server as SVG on the attendee's page, attached as PNG to
the confirmation email, and carrying the check-in URL (never the private manage link)."""

from __future__ import annotations

import io

import pytest
import segno
from factories import make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from smtp import smtp_settings

from nkhr_events.checkin import services as checkin
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxAttachment, OutboxMessage
from nkhr_events.registrations.links import issue_manage_token
from nkhr_events.registrations.models import Registration


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


def register(app: Flask, category: str = "general_public", n: int = 1) -> dict[str, object]:
    """A registration as the service places it (a journalist's awaits review)."""
    with app.app_context():
        answers = {"media_outlet": "Paper", "media_role": "Reporter"}
        registration = make_registration(
            category=category,
            status=None,
            given_name="Min-ji",
            family_name="Kim",
            email=f"minji{n}@example.org",
            answers=answers if category == "journalist" else {},
        )
        token = issue_manage_token(registration)
        db.session.commit()
        return {"id": registration.id, "token": token}


def expected_url(app: Flask, registration_id: int) -> str:
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        url = checkin.checkin_url(registration)
        db.session.commit()
        return url


def svg_of(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make_qr(url, error="m").save(
        buffer, kind="svg", scale=6, border=4, light="#fff", title="Check-in code", nl=False
    )
    return buffer.getvalue()


def png_of(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make_qr(url, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def test_manage_page_of_a_confirmed_registration_shows_the_qr_code_from_our_server(
    app: Flask, client: FlaskClient
) -> None:
    found = register(app)
    page = parse(client.get(f"/registration/{found['token']}").get_data(as_text=True))
    image = page.one("img", alt="Your check-in QR code")
    assert image.get("src") == f"/registration/{found['token']}/checkin.svg"
    assert "registration desk" in page.one("figcaption").text

    response = client.get(image.get("src"))
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    body = response.get_data()
    text = body.decode("utf-8")
    assert "<svg" in text and "<path" in text
    for forbidden in ("<script", "onload", "href", "<image", "<foreignObject", "url("):
        assert forbidden not in text
    # Nothing external: the only URL in it is the SVG namespace.
    assert text.count("http") == 1 and 'xmlns="http://www.w3.org/2000/svg"' in text
    # The code draws exactly the check-in URL of this registration, not the manage link.
    url = expected_url(app, found["id"])
    assert body == svg_of(url)
    assert found["token"] not in url


def test_no_qr_code_for_a_registration_that_is_not_confirmed(
    app: Flask, client: FlaskClient
) -> None:
    found = register(app, category="journalist")  # awaiting review
    page = parse(client.get(f"/registration/{found['token']}").get_data(as_text=True))
    assert page.find("img", alt="Your check-in QR code") is None
    assert client.get(f"/registration/{found['token']}/checkin.svg").status_code == 404
    assert client.get("/registration/not-a-token/checkin.svg").status_code == 404
    with app.app_context():
        assert db.session.get(Registration, found["id"]).checkin_salt is None


def test_confirmation_email_carries_the_checkin_qr_code_as_png(
    app: Flask, smtp_server
) -> None:
    found = register(app)
    with app.app_context():
        deliver_due()
    message = next(m for m in smtp_server.messages if m["To"] == "minji1@example.org")
    assert "confirmed" in message["Subject"]
    pngs = [p for p in message.iter_attachments() if p.get_content_type() == "image/png"]
    assert len(pngs) == 1
    assert pngs[0].get_filename() == "checkin.png"
    data = pngs[0].get_content()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    # The picture is the QR code of the check-in URL (the salt was made with the email).
    assert data == png_of(expected_url(app, found["id"]))
    assert "QR code (checkin.png)" in message.get_body(("plain",)).get_content()
    assert "QR code (checkin.png)" in message.get_body(("html",)).get_content()
    # The calendar file still comes along.
    assert any(p.get_content_type() == "text/calendar" for p in message.iter_attachments())


def test_the_email_and_the_page_show_the_same_code(app: Flask, client: FlaskClient) -> None:
    found = register(app)
    with app.app_context():
        salt = db.session.get(Registration, found["id"]).checkin_salt
    assert salt
    client.get(f"/registration/{found['token']}/checkin.svg")
    with app.app_context():
        assert db.session.get(Registration, found["id"]).checkin_salt == salt


def test_an_approved_registration_gets_the_qr_code_in_its_approval_email(
    app: Flask, client: FlaskClient, auth, smtp_server
) -> None:
    found = register(app, category="journalist", n=2)
    auth.organizer()
    client.post(f"/manage/registrations/{found['id']}/decision", data={"action": "approve"})
    with app.app_context():
        deliver_due()
    approved = [m for m in smtp_server.messages if m["To"] == "minji2@example.org"][-1]
    assert "approved" in approved.get_body(("plain",)).get_content()
    pngs = [p for p in approved.iter_attachments() if p.get_content_type() == "image/png"]
    assert [p.get_content() for p in pngs] == [png_of(expected_url(app, found["id"]))]


def test_the_qr_code_is_made_at_each_delivery_and_never_kept_or_offered_to_staff(
    app: Flask, client: FlaskClient, auth, smtp_server
) -> None:
    """The PNG carries the check-in code: it is drawn when the email is sent, and neither the
    stored message nor the outbox page holds or offers it."""
    found = register(app)
    with app.app_context():
        attachment = db.session.scalar(
            db.select(OutboxAttachment)
            .join(OutboxMessage)
            .where(OutboxMessage.registration_id == found["id"],
                   OutboxAttachment.filename == "checkin.png")
        )
        assert attachment.message.status == "queued" and attachment.made_at_delivery
        message_id, attachment_id = attachment.outbox_message_id, attachment.id
        assert deliver_due().sent == 1
    [email] = smtp_server.messages
    [png] = [p for p in email.iter_attachments() if p.get_filename() == "checkin.png"]
    assert png.get_content() == png_of(expected_url(app, found["id"]))
    with app.app_context():
        kept = db.session.get(OutboxAttachment, attachment_id)
        assert kept.made_at_delivery and b"PNG" not in bytes(kept.data)
    auth.organizer()
    page = client.get(f"/manage/outbox/{message_id}").get_data(as_text=True)
    assert "made when the message is sent" in page
    assert f"/attachments/{attachment_id}" not in page
    assert client.get(f"/manage/outbox/{message_id}/attachments/{attachment_id}").status_code \
        == 404
