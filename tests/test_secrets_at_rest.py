"""No secret at rest: private links are made by the outbox worker when it sends the email.

A stored message holds a placeholder where its link goes, so neither a staff page nor a raw
copy of the database (the SQLite file, a `pg_dump`) holds a working manage, password or
invitation link; messages about staff accounts are for admins only; every look at a message or
at a person's decrypted data is on the audit trail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import ON_POSTGRES, STAFF_PASSWORD, TEST_DATABASE_URL, AuthActions
from factories import make_event
from flask import Flask
from flask.testing import FlaskClient
from smtp import SMTPServer, deliver_and_read, smtp_settings

from nkhr_events.accounts.models import PasswordResetToken, StaffRole
from nkhr_events.audit.models import AuditEntry
from nkhr_events.config import database_url
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.names import mixes_lookalike_scripts
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import SECRET_PLACEHOLDER, OutboxMessage
from nkhr_events.outbox.requests import resolve_requests
from nkhr_events.registrations.models import ManageToken, Registration

ADMIN = "admin@example.org"
LINK = re.compile(r"/(registration|reset-password)/([A-Za-z0-9_-]{20,})")


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


@pytest.fixture
def event(app: Flask) -> dict[str, object]:
    with app.app_context():
        found = make_event(capacity=10)
        db.session.commit()
        return {"slug": found.slug, "days": [d.isoformat() for d in found.day_list],
                "id": found.id}


def register(client: FlaskClient, event: dict[str, object], email: str,
             category: str = "general_public", **fields: str) -> None:
    data = {
        "given_name": "Min-ji", "family_name": "Kim", "email": email,
        "organization": "Seoul Citizens", "country": "KR", "language": "en",
        "interpretation": "none", "privacy_consent": "y", "days": event["days"], **fields,
    }
    response = client.post(f"/events/{event['slug']}/register?category={category}", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)


def links(texts: list[str], kind: str = "registration") -> list[str]:
    return [m[2] for text in texts for m in LINK.finditer(text) if m[1] == kind]


def raw_database(app: Flask) -> str:
    """Everything the database holds, read as an attacker with a copy would: the SQLite file
    (and its write-ahead log) byte for byte, or a `pg_dump` of the PostgreSQL database."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if ON_POSTGRES:
        pg_dump = shutil.which("pg_dump")
        assert pg_dump, "pg_dump is part of the PostgreSQL client the tests run against"
        url = database_url(TEST_DATABASE_URL).replace("postgresql+psycopg://", "postgresql://")
        return subprocess.run([pg_dump, "--data-only", url], check=True, capture_output=True,
                              text=True, timeout=120).stdout
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    files = [path, path.with_name(path.name + "-wal")]
    return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())


# --- the two defects -------------------------------------------------------------------------


def test_an_organizer_cannot_read_an_admins_reset_link_in_the_outbox(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.create(ADMIN, StaffRole.ADMIN)
    assert client.post("/forgot-password", data={"email": ADMIN}).status_code == 303
    with app.app_context():
        resolve_requests()  # the worker's lookup: the message is queued now
        message = db.session.scalars(db.select(OutboxMessage)).one()
        assert message.admin_only and message.recipient == ADMIN
        message_id = message.id
    auth.organizer()
    listing = client.get(f"/manage/outbox/?recipient={ADMIN}").get_data(as_text=True)
    assert f"/manage/outbox/{message_id}" not in listing and "reset-password" not in listing
    assert client.get(f"/manage/outbox/{message_id}").status_code == 404
    assert client.post(f"/manage/outbox/{message_id}/cancel").status_code == 404

    # The admin alone receives a working link, made as the message was sent.
    [body] = deliver_and_read(app, smtp_server, ADMIN)
    [token] = links([body], "reset-password")
    assert client.get(f"/reset-password/{token}").status_code == 200
    assert client.get(f"/manage/outbox/{message_id}").status_code == 404
    auth.sign_out()
    auth.admin()
    page = client.get(f"/manage/outbox/{message_id}").get_data(as_text=True)
    assert token not in page and f"/reset-password/{SECRET_PLACEHOLDER}" in page
    with app.app_context():
        viewed = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "outbox.view")
        ).all()
        assert [(e.actor, e.object_id) for e in viewed] == [(ADMIN, message_id)]


def test_no_working_link_is_at_rest_after_registrations_resets_and_invitations(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer,
    event: dict[str, object],
) -> None:
    register(client, event, "one@example.org")
    register(client, event, "two@example.org", category="journalist",
             q_media_outlet="Daily Paper", q_media_role="Reporter")
    register(client, event, "one@example.org")  # again: "you are registered" with a link
    client.post("/registration/lost-link", data={"email": "two@example.org"})
    auth.create("organizer@example.org")
    client.post("/forgot-password", data={"email": "organizer@example.org"})
    auth.admin()
    client.post("/manage/staff/new", data={"name": "Lee", "email": "lee@example.org",
                                           "role": "organizer"})
    auth.sign_out()
    received = deliver_and_read(app, smtp_server)
    emailed = links(received) + links(received, "reset-password")
    assert len(links(received)) == 4 and len(links(received, "reset-password")) == 2
    for token in links(received):
        assert client.get(f"/registration/{token}").status_code == 200

    dump = raw_database(app)
    assert "one@example.org" in dump  # the copy is real
    assert not [token for token in emailed if token in dump]
    found = list(LINK.finditer(dump))
    assert found, "the stored messages keep their placeholders"
    for match in found:
        assert match[2] == SECRET_PLACEHOLDER
        assert client.get(match[0]).status_code == 404


def test_a_retry_makes_a_new_link_and_the_stored_message_keeps_its_placeholder(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer, event: dict[str, object]
) -> None:
    register(client, event, "one@example.org")
    smtp_server.answer("451 4.3.0 Try again later")
    with app.app_context():
        assert deliver_due().retrying == 1
        assert db.session.scalar(db.select(db.func.count(ManageToken.id))) == 1
    smtp_server.answer(None)
    with app.app_context():
        assert deliver_due(now=utcnow() + timedelta(hours=1)).sent == 1
        assert db.session.scalar(db.select(db.func.count(ManageToken.id))) == 2
        stored = db.session.scalars(db.select(OutboxMessage)).one()
        assert f"/registration/{SECRET_PLACEHOLDER}" in stored.text_body
        assert f"/registration/{SECRET_PLACEHOLDER}" in (stored.html_body or "")
    [token] = links([m.get_body(("plain",)).get_content() for m in smtp_server.messages])
    assert token in smtp_server.messages[0].get_body(("html",)).get_content()
    assert client.get(f"/registration/{token}").status_code == 200


def test_a_message_whose_registration_is_gone_fails_instead_of_sending_a_placeholder(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer, event: dict[str, object]
) -> None:
    register(client, event, "one@example.org")
    with app.app_context():
        registration = db.session.scalars(db.select(Registration)).one()
        message = db.session.scalars(db.select(OutboxMessage)).one()
        message.secret_subject_id = registration.id + 1000  # a record that does not exist
        db.session.commit()
        report = deliver_due()
        assert (report.sent, report.failed) == (0, 1)
        assert "no longer exists" in db.session.scalars(db.select(OutboxMessage)).one().last_error
    assert smtp_server.messages == []


def test_a_reset_link_made_at_delivery_works_once_for_an_hour(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.create("organizer@example.org")
    client.post("/forgot-password", data={"email": "organizer@example.org"})
    [token] = links(deliver_and_read(app, smtp_server), "reset-password")
    with app.app_context():
        stored = db.session.scalars(db.select(PasswordResetToken)).one()
        assert timedelta(minutes=59) < stored.expires_at - stored.created_at <= timedelta(hours=1)
    new_password = "a new passphrase for the team"
    assert client.post(f"/reset-password/{token}",
                       data={"password": new_password}).status_code == 303
    assert client.get(f"/reset-password/{token}").status_code == 404
    assert STAFF_PASSWORD != new_password


# --- audited looks -----------------------------------------------------------------------------


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_every_look_at_a_persons_decrypted_data_is_audited(
    app: Flask, client: FlaskClient, auth: AuthActions, event: dict[str, object]
) -> None:
    register(client, event, "one@example.org", accessibility_needs="Wheelchair access")
    with app.app_context():
        registration_id = db.session.scalars(db.select(Registration.id)).one()
    auth.organizer()
    before = len(audit_actions(app))
    page = client.get(f"/manage/registrations/{registration_id}").get_data(as_text=True)
    assert "Wheelchair access" in page
    edit = client.get(f"/manage/registrations/{registration_id}/edit")
    assert "Wheelchair access" in edit.get_data(as_text=True)
    download = client.get(f"/manage/registrations/{registration_id}/data.json")
    assert download.status_code == 200 and download.json["registration"]["email"] == \
        "one@example.org"
    assert "attachment" in download.headers["Content-Disposition"]
    assert audit_actions(app)[before:] == [
        "registration.view", "registration.edit_view", "registration.data_download",
    ]
    with app.app_context():
        entries = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action.like("registration.%"))
            .order_by(AuditEntry.id)
        ).all()[-3:]
        assert {(e.actor, e.object_id, e.event_id) for e in entries} == {
            ("organizer@example.org", registration_id, event["id"])
        }
        assert all("Wheelchair" not in str(e.detail) for e in entries)


# --- what official emails quote ----------------------------------------------------------------


def test_emails_to_an_unproven_address_quote_no_free_form_field_but_the_name(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer, event: dict[str, object]
) -> None:
    lure = "Your account is suspended call +1 555 0100"
    register(client, event, "victim@example.org", category="journalist",
             organization=lure, position="Visit evil.example now",
             q_media_outlet="Urgent evil.example/pay", q_media_role="Reporter",
             dietary_needs="Pay at evil.example")
    deliver_and_read(app, smtp_server)
    [email] = smtp_server.messages
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert "Min-ji" in text
    for typed in (lure, "evil.example", "Reporter"):
        assert typed not in text and typed not in html


# --- look-alike names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "marked"),
    [
        ("Park Min-ji", False),
        ("P\u0430rk Min-ji", True),  # a Cyrillic "а" in a Latin word
        ("\u041f\u0430\u0440\u043a", False),  # all Cyrillic
        ("\u0395\u03bb\u03ad\u03bd\u03b7 Smith", False),  # Greek and Latin side by side
        ("Sm\u03b9th", True),  # a Greek iota in a Latin word
        ("김민지", False),
        ("Kim 김민지", False),
        ("山田 たろう", False),
        ("ＡＢＣ", False),
        ("", False),
    ],
)
def test_names_mixing_look_alike_scripts_within_a_word_are_marked(name: str, marked: bool):
    assert mixes_lookalike_scripts(name) is marked


def test_a_look_alike_name_is_marked_for_staff_on_the_roster_and_the_persons_page(
    app: Flask, client: FlaskClient, auth: AuthActions, event: dict[str, object]
) -> None:
    register(client, event, "fake@example.org", family_name="P\u0430rk")
    register(client, event, "real@example.org", family_name="Park")
    with app.app_context():
        ids = dict(db.session.execute(db.select(Registration.email, Registration.id)).all())
    auth.organizer()
    roster = client.get(f"/manage/events/{event['id']}/registrations").get_data(as_text=True)
    assert roster.count("check name") == 1
    fake = client.get(f"/manage/registrations/{ids['fake@example.org']}").get_data(as_text=True)
    real = client.get(f"/manage/registrations/{ids['real@example.org']}").get_data(as_text=True)
    assert 'id="lookalike-notice"' in fake and 'id="lookalike-notice"' not in real
