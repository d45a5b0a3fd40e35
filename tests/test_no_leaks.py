"""Logs and error pages never carry the secrets in URLs, passwords or personal fields."""

from __future__ import annotations

import logging
import re
import secrets
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from conftest import STAFF_PASSWORD, AuthActions
from flask import Flask
from flask.testing import FlaskClient
from smtp import SMTPServer, deliver_and_read, smtp_settings
from werkzeug.serving import BaseWSGIServer, make_server

from nkhr_events.checkin import services as checkin
from nkhr_events.extensions import db
from nkhr_events.logs import RedactingRequestHandler, redact
from nkhr_events.registrations.models import Registration
from tests.factories import make_event

GIVEN_NAME = "Seol-hwa"
FAMILY_NAME = "Yeonpyeongdo"
EMAIL = "seolhwa.private@example.org"
STAFF_EMAIL = "door.keeper@example.org"
NEW_PASSWORD = "a brand new passphrase for the door"


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def links_in(app: Flask, server: SMTPServer, recipient: str, pattern: str) -> list[str]:
    """The links in the mail `recipient` received, as the outbox worker sent it."""
    bodies = deliver_and_read(app, server, recipient)
    return [match for body in bodies for match in re.findall(pattern, body)]


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The development server's own request handler, on a free loopback port."""
    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=RedactingRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  (loopback)
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def test_redact_hides_every_secret_path_and_keeps_public_ones() -> None:
    assert redact("GET /registration/abc_DEF-123/cancel HTTP/1.1") == (
        "GET /registration/[redacted]/cancel HTTP/1.1"
    )
    assert redact("/registration/tok/calendar.ics?x=1") == (
        "/registration/[redacted]/calendar.ics?x=1"
    )
    assert redact("/manage/checkin/12-abcdef") == "/manage/checkin/[redacted]"
    # A group contact's link, a document's verification code (in the path or the query).
    assert redact("GET /group/g5Xy_token/members/3/sheet") == (
        "GET /group/[redacted]/members/3/sheet"
    )
    assert redact("/manage/events/1/groups/2") == "/manage/events/1/groups/2"
    assert redact("/verify/NKHR-2027-4F7K2Q/ABCD-EFGH-JKMN") == (
        "/verify/NKHR-2027-4F7K2Q/[redacted]"
    )
    assert redact("/verify?reference=NKHR-2027-4F7K2Q&code=ABCD-EFGH-JKMN") == (
        "/verify?reference=NKHR-2027-4F7K2Q&code=[redacted]"
    )
    assert redact('"POST /reset-password/s3cr3t HTTP/1.1" 303') == (
        '"POST /reset-password/[redacted] HTTP/1.1" 303'
    )
    assert redact("/sign-in?next=%2Fmanage%2Fcheckin%2F12-abc") == (
        "/sign-in?next=%2Fmanage%2Fcheckin%2F[redacted]"
    )
    assert redact("/registration/lost-link/sent") == "/registration/lost-link/sent"
    assert redact("/events/2025-seoul/register") == "/events/2025-seoul/register"


def test_a_full_flow_leaves_no_token_password_or_personal_field_in_the_logs(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    live_server: str,
    caplog: pytest.LogCaptureFixture,
    smtp_server: SMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    # The test's own SMTP server logs what it receives: the mailbox, not the application.
    monkeypatch.setattr(logging.getLogger("mail.log"), "level", logging.WARNING)
    with app.app_context():
        event = make_event(capacity=5)
        db.session.commit()
        slug, days = event.slug, [day.isoformat() for day in event.day_list]

    # The attendee registers, opens the private link, downloads the calendar file.
    response = client.post(
        f"/events/{slug}/register?category=general_public",
        data={
            "given_name": GIVEN_NAME,
            "family_name": FAMILY_NAME,
            "email": EMAIL,
            "organization": "Quiet Org",
            "country": "KR",
            "language": "en",
            "interpretation": "none",
            "privacy_consent": "y",
            "days": days,
        },
    )
    assert response.status_code == 303
    token = links_in(app, smtp_server, EMAIL, r"/registration/([A-Za-z0-9_-]+)")[0]
    page = client.get(f"/registration/{token}")
    assert page.status_code == 200 and GIVEN_NAME in page.get_data(as_text=True)
    assert client.get(f"/registration/{token}/calendar.ics").status_code == 200

    # Staff open the check-in page of the attendee's QR code.
    with app.app_context():
        registration = db.session.scalar(
            db.select(Registration).where(Registration.given_name == GIVEN_NAME)
        )
        assert registration is not None
        reference = checkin.checkin_reference(registration)
    auth.sign_in(STAFF_EMAIL)
    scanned = client.get(f"/manage/checkin/{reference}")
    assert scanned.status_code == 200 and FAMILY_NAME in scanned.get_data(as_text=True)
    auth.sign_out()

    # The attendee asks for the lost link and gets a second one.
    assert client.post("/registration/lost-link", data={"email": EMAIL}).status_code == 303
    tokens = set(links_in(app, smtp_server, EMAIL, r"/registration/([A-Za-z0-9_-]+)"))
    assert len(tokens) >= 2

    # A staff member resets a forgotten password through the emailed link.
    assert client.post("/forgot-password", data={"email": STAFF_EMAIL}).status_code == 303
    reset_token = links_in(app, smtp_server, STAFF_EMAIL, r"/reset-password/([A-Za-z0-9_-]+)")[-1]
    assert client.get(f"/reset-password/{reset_token}").status_code == 200

    # A guessed token is a 404 whose page does not repeat it.
    wrong = secrets.token_urlsafe(32)
    missing = client.get(f"/registration/{wrong}/cancel")
    assert missing.status_code == 404 and wrong not in missing.get_data(as_text=True)

    # The same secrets through the real server, so its access log is written.
    assert fetch(f"{live_server}/registration/{token}")[0] == 200
    assert fetch(f"{live_server}/registration/{token}/checkin.svg")[0] == 200
    assert fetch(f"{live_server}/manage/checkin/{reference}")[0] in (302, 303, 200)
    status, body = fetch(f"{live_server}/registration/{wrong}")
    assert status == 404 and wrong not in body
    assert fetch(f"{live_server}/reset-password/{reset_token}")[0] == 200

    # Then the password is set and the registration cancelled.
    reset = client.post(f"/reset-password/{reset_token}", data={"password": NEW_PASSWORD})
    assert reset.status_code == 303
    assert client.post(f"/registration/{token}/cancel").status_code == 303
    with app.app_context():
        assert db.session.get(Registration, registration.id).status == "cancelled"

    log = caplog.text
    # The access log was really written, with the secret parts masked.
    assert "/registration/[redacted]/checkin.svg" in log
    assert "/manage/checkin/[redacted]" in log
    assert "/reset-password/[redacted]" in log
    secrets_issued = {*tokens, reference, reference.partition("-")[2], reset_token, wrong}
    personal = {STAFF_PASSWORD, NEW_PASSWORD, EMAIL, GIVEN_NAME, FAMILY_NAME}
    for value in secrets_issued | personal:
        assert value not in log, value
