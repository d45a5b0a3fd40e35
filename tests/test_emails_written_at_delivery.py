"""Registration emails are queued as facts and written by the outbox worker when it sends them:
the request stores a snapshot in the outbox row (committed with the registration), the worker
renders the text, the HTML and the calendar file from it. What the person reads is what was
true when they acted, even after the event or the registration changed; the row keeps what
was sent, never a working link; staff see a queued message as it will read; erasure takes
the snapshot too."""

from __future__ import annotations

import json
from datetime import date

import pytest
from conftest import AuthActions
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from smtp import SMTPServer, smtp_settings
from sqlalchemy import select, update

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import SECRET_PLACEHOLDER, OutboxMessage, OutboxStatus
from nkhr_events.privacy.services import anonymize_registration
from nkhr_events.registrations.models import Registration
from tests.factories import make_event, make_registration

DAYS = [date(2027, 3, 2), date(2027, 3, 3), date(2027, 3, 5)]


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def queued(registration_id: int) -> OutboxMessage:
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.registration_id == registration_id)
        .order_by(OutboxMessage.id.desc())).first()


def test_the_email_says_what_was_true_when_the_person_registered(
    app: Flask, smtp_server: SMTPServer
) -> None:
    with app.app_context():
        event = make_event(days=DAYS, title_ko="북한인권 국제회의", venue_ko="서울 컨벤션홀")
        registration = make_registration(event=event, given_name="민지", family_name="박",
                                         email="minji@example.org", language="ko",
                                         days=DAYS[:2])
        db.session.commit()
        message = queued(registration.id)
        # Queued as facts: no body yet, the subject in Korean already (staff lists show it).
        assert message.status == OutboxStatus.QUEUED and message.text_body == ""
        assert "북한인권 국제회의" in message.subject
        facts = json.loads(message.snapshot)["values"]
        assert facts["registration"]["given_name"] == "민지"
        assert facts["event"]["days"] == [d.isoformat() for d in DAYS]
        registration_id, event_id = registration.id, event.id

        # Before the worker runs, the event is renamed and moved and the person renames.
        db.session.execute(update(Event).where(Event.id == event_id)
                           .values(title_ko="바뀐 제목", venue_ko="다른 곳"))
        db.session.execute(update(Registration).where(Registration.id == registration_id)
                           .values(given_name="서연"))
        db.session.commit()

        report = deliver_due()
        assert report.sent == 1
        row = db.session.get(OutboxMessage, message.id)
        assert row.status == OutboxStatus.SENT
        # The row keeps what was written, with the placeholder and never the link.
        assert "박민지" in row.text_body and SECRET_PLACEHOLDER in row.text_body
        assert "/registration/" not in row.text_body.replace(f"/registration/{SECRET_PLACEHOLDER}",
                                                             "")

    [sent] = smtp_server.messages
    text = sent.get_body(("plain",)).get_content()
    html = sent.get_body(("html",)).get_content()
    for body in (text, html):
        assert "박민지" in body and "서연" not in body
        assert "북한인권 국제회의" in body and "바뀐 제목" not in body
        assert SECRET_PLACEHOLDER not in body and "/registration/" in body
    assert "서울 컨벤션홀" in text
    files = {part.get_filename(): part.get_content() for part in sent.iter_attachments()}
    assert set(files) >= {"event.ics", "checkin.png"}
    calendar = Calendar.from_ical(files["event.ics"])
    events = [c for c in calendar.walk("VEVENT")]
    # The person's days (2 and 3 March of the event's 2, 3 and 5) as one entry, titled as
    # when the person registered.
    assert [str(e["summary"]) for e in events] == ["북한인권 국제회의"]
    assert [(e["dtstart"].dt, e["dtend"].dt) for e in events] == [(DAYS[0], date(2027, 3, 4))]
    assert str(events[0]["uid"]).startswith(f"registration-{registration_id}@")
    assert int(events[0]["sequence"]) == 0
    assert str(calendar["method"]) == "PUBLISH"


def test_a_change_and_a_cancellation_carry_their_own_sequence_and_method(
    app: Flask, smtp_server: SMTPServer
) -> None:
    with app.app_context():
        registration = make_registration(email="ada@example.org", given_name="Ada",
                                         family_name="Lovelace", status="cancelled")
        assert registration.sequence == 1
        db.session.commit()
        deliver_due()
    methods = []
    for sent in smtp_server.messages:
        for part in sent.iter_attachments():
            if part.get_filename() in ("event.ics", "cancel.ics"):
                calendar = Calendar.from_ical(part.get_content())
                methods.append((str(calendar["method"]),
                                int(next(iter(calendar.walk("VEVENT")))["sequence"])))
    assert methods == [("PUBLISH", 0), ("CANCEL", 1)]
    texts = [m.get_body(("plain",)).get_content() for m in smtp_server.messages]
    assert "Hello Ada," in texts[0] and "Hello Ada," in texts[1]
    # The link offers what its page offers: change or cancel while the registration holds,
    # seeing it and erasing it once it is cancelled.
    assert "view, change or cancel your registration" in texts[0]
    assert "view, change or cancel" not in texts[1]
    assert "see your registration and the data we keep, or to have it erased" in texts[1]
    html = smtp_server.messages[1].get_body(("html",)).get_content()
    assert "See your registration" in html and "Manage your registration" not in html


def test_staff_see_a_queued_message_as_it_will_read(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        registration = make_registration(given_name="花子", family_name="山田",
                                         email="hanako@example.org", language="ja")
        db.session.commit()
        message_id = queued(registration.id).id
    auth.admin()
    page = client.get(f"/manage/outbox/{message_id}").get_data(as_text=True)
    assert "how it will read" in page
    assert "山田花子" in page and SECRET_PLACEHOLDER in page
    with app.app_context():
        # Looking did not write it: the worker writes what it sends.
        assert db.session.get(OutboxMessage, message_id).text_body == ""


def test_erasure_takes_the_snapshot_with_the_bodies(app: Flask) -> None:
    with app.app_context():
        registration = make_registration(given_name="Minji", family_name="Park",
                                         email="park@example.org")
        db.session.commit()
        anonymize_registration(registration, actor=SYSTEM)
        db.session.commit()
        rows = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.registration_id == registration.id)).all()
        assert rows and all(m.snapshot is None for m in rows)
        assert all("Minji" not in (m.text_body + m.subject) for m in rows)
        assert all(m.status != OutboxStatus.QUEUED for m in rows)


def test_staff_download_the_calendar_file_as_it_will_be_sent(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """The calendar file carries no secret: the outbox offers it, made from the queued facts
    (and audited), while the check-in QR code made at delivery is never offered."""
    with app.app_context():
        event = make_event(days=DAYS, title="Seoul Forum")
        registration = make_registration(event=event, email="ada@example.org",
                                         status="confirmed")
        db.session.commit()
        message = queued(registration.id)
        files = {a.filename: a.id for a in message.attachments}
        assert set(files) == {"event.ics", "checkin.png"}
        message_id = message.id
    auth.admin()
    page = client.get(f"/manage/outbox/{message_id}").get_data(as_text=True)
    assert f"/attachments/{files['event.ics']}" in page
    assert f"/attachments/{files['checkin.png']}" not in page
    response = client.get(f"/manage/outbox/{message_id}/attachments/{files['event.ics']}")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    calendar = Calendar.from_ical(response.get_data())
    # One entry per run of days (2-3 March, 5 March), each named for the event.
    vevents = calendar.walk("VEVENT")
    assert [v.decoded("dtstart") for v in vevents] == [DAYS[0], DAYS[2]]
    assert all("Seoul Forum" in str(v["summary"]) for v in vevents)
    assert client.get(
        f"/manage/outbox/{message_id}/attachments/{files['checkin.png']}").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(AuditEntry).where(
            AuditEntry.action == "outbox.attachment", AuditEntry.object_id == message_id))
