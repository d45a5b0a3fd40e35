"""The calendar files a registration's emails carry, as delivered over SMTP: a published event
(no meeting request), updated on a change and withdrawn on a cancellation under one stable UID
with a rising SEQUENCE; read by icalendar and by a second, independent parser (vobject)."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest
import vobject
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from smtp import SMTPServer, smtp_settings

from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.registrations.models import Registration
from tests.factories import make_event

#: A three-day event in Bergen (Europe/Oslo): one all-day run, DTEND the day after the last.
DAYS = [date(2031, 9, 1), date(2031, 9, 2), date(2031, 9, 3)]


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


@pytest.fixture
def event(app: Flask) -> dict[str, object]:
    with app.app_context():
        found = make_event(days=DAYS, title="International Conference on NKHR",
                           title_ko="북한인권 국제회의", venue="Grieghallen", city="Bergen",
                           city_ko="베르겐", country="NO", timezone="Europe/Oslo")
        db.session.commit()
        return {"slug": found.slug, "days": [d.isoformat() for d in DAYS]}


def details(days: list[str], **overrides: str) -> dict[str, object]:
    data: dict[str, object] = {
        "given_name": "Solveig", "family_name": "Haugland", "organization": "Bergen Citizens",
        "country": "NO", "language": "en", "interpretation": "none", "days": days,
    }
    data.update(overrides)
    return data


def deliver(app: Flask) -> None:
    with app.app_context():
        deliver_due()


def last_mail(smtp_server: SMTPServer) -> EmailMessage:
    return smtp_server.messages[-1]


def calendar_part(mail: EmailMessage) -> tuple[str, bytes]:
    [part] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    return str(part.get_param("method")), part.get_payload(decode=True)


def manage_link(mail: EmailMessage) -> str:
    text = mail.get_body(("plain",)).get_content()
    return re.search(r"http://localhost(/registration/[A-Za-z0-9_-]+)", text).group(1)


def one_event(data: bytes) -> tuple[Calendar, object]:
    calendar = Calendar.from_ical(data)
    [vevent] = calendar.walk("VEVENT")
    return calendar, vevent


def test_the_confirmation_is_a_published_event_not_a_meeting_request(
    app: Flask, client: FlaskClient, event: dict[str, object], smtp_server: SMTPServer
) -> None:
    response = client.post(
        f"/events/{event['slug']}/register?category=general_public",
        data={**details(event["days"]), "email": "solveig@example.org", "privacy_consent": "y"},
    )
    assert response.status_code == 303
    deliver(app)
    mail = last_mail(smtp_server)
    method, data = calendar_part(mail)
    assert method == "PUBLISH"
    calendar, vevent = one_event(data)
    assert str(calendar["method"]) == "PUBLISH"
    assert str(vevent["status"]) == "CONFIRMED"
    assert vevent.decoded("sequence") == 0
    # Nothing a calendar would answer (accept / decline) to an organizer.
    for line in data.decode().splitlines():
        assert not line.startswith(("ORGANIZER", "ATTENDEE")), line
    assert (vevent.decoded("dtstart"), vevent.decoded("dtend")) == (DAYS[0], date(2031, 9, 4))


def test_a_change_updates_and_a_cancellation_withdraws_the_same_entry(
    app: Flask, client: FlaskClient, event: dict[str, object], smtp_server: SMTPServer
) -> None:
    client.post(
        f"/events/{event['slug']}/register?category=general_public",
        data={**details(event["days"]), "email": "solveig@example.org", "privacy_consent": "y"},
    )
    deliver(app)
    confirmation = last_mail(smtp_server)
    link = manage_link(confirmation)
    token = link.rsplit("/", 1)[1]
    _method, first_data = calendar_part(confirmation)
    _calendar, first = one_event(first_data)
    uid = str(first["uid"])

    time.sleep(1.1)  # DTSTAMP counts whole seconds
    # The attendee drops a day and switches to Korean: an updated file, same entry.
    response = client.post(link, data=details(event["days"][:2], language="ko"))
    assert response.status_code == 303
    deliver(app)
    changed = last_mail(smtp_server)
    method, data = calendar_part(changed)
    calendar, update = one_event(data)
    assert method == str(calendar["method"]) == "PUBLISH"
    assert str(update["uid"]) == uid
    assert update.decoded("sequence") > first.decoded("sequence")
    assert update.decoded("dtstamp") > first.decoded("dtstamp")
    assert str(update["summary"]) == "북한인권 국제회의"
    assert str(update["status"]) == "CONFIRMED"

    # The download on the manage page is the same entry, as it stands now.
    download = client.get(f"{link}/calendar.ics")
    assert download.status_code == 200
    _calendar, downloaded = one_event(download.data)
    assert str(downloaded["uid"]) == uid
    assert downloaded.decoded("sequence") == update.decoded("sequence")

    time.sleep(1.1)
    assert client.post(f"{link}/cancel").status_code == 303
    deliver(app)
    method, data = calendar_part(last_mail(smtp_server))
    calendar, cancel = one_event(data)
    assert method == str(calendar["method"]) == "CANCEL"
    assert str(cancel["status"]) == "CANCELLED"
    assert str(cancel["uid"]) == uid
    assert cancel.decoded("sequence") > update.decoded("sequence")
    assert cancel.decoded("dtstamp") > update.decoded("dtstamp")

    # The UID is stable and says nothing about the person or their private link.
    for secret in (token, "solveig", "Solveig", "Haugland"):
        assert secret not in uid
        for sent in (first_data, data, download.data):
            assert secret.encode() not in sent
    with app.app_context():
        registration = db.session.scalar(db.select(Registration))
        assert uid == f"registration-{registration.id}@localhost"


def test_the_file_holds_the_persons_days_and_a_change_withdraws_what_they_left(
    app: Flask, client: FlaskClient, event: dict[str, object], smtp_server: SMTPServer
) -> None:
    """Someone coming on the first and last of three days gets those two days in their
    calendar; adding the middle day makes one entry of the three and withdraws the one the
    last day had, so no stale entry stays beside the new one."""
    first_day, _second, third = event["days"]
    client.post(
        f"/events/{event['slug']}/register?category=general_public",
        data={**details([first_day, third]), "email": "solveig@example.org",
              "privacy_consent": "y"},
    )
    deliver(app)
    confirmation = last_mail(smtp_server)
    link = manage_link(confirmation)
    _method, data = calendar_part(confirmation)
    entries = Calendar.from_ical(data).walk("VEVENT")
    assert [(e.decoded("dtstart"), e.decoded("dtend")) for e in entries] == [
        (DAYS[0], DAYS[1]), (DAYS[2], DAYS[2] + timedelta(days=1))]
    base_uid, third_uid = (str(e["uid"]) for e in entries)
    assert third_uid == base_uid.replace("@", "-20310903@")

    response = client.post(link, data=details(event["days"]))
    assert response.status_code == 303
    deliver(app)
    method, data = calendar_part(last_mail(smtp_server))
    assert method == "PUBLISH"
    by_uid = {str(e["uid"]): e for e in Calendar.from_ical(data).walk("VEVENT")}
    assert set(by_uid) == {base_uid, third_uid}
    whole, gone = by_uid[base_uid], by_uid[third_uid]
    assert str(whole["status"]) == "CONFIRMED"
    assert (whole.decoded("dtstart"), whole.decoded("dtend")) == (DAYS[0], date(2031, 9, 4))
    assert str(gone["status"]) == "CANCELLED"
    assert gone.decoded("sequence") == whole.decoded("sequence") > 0
    # A second parser reads the same.
    parsed = vobject.readOne(data.decode())
    assert sorted(str(v.status.value) for v in parsed.vevent_list) == ["CANCELLED", "CONFIRMED"]

    # The download on the private page is the registration as it stands: one entry.
    download = client.get(f"{link}/calendar.ics")
    [entry] = Calendar.from_ical(download.data).walk("VEVENT")
    assert str(entry["uid"]) == base_uid and str(entry["status"]) == "CONFIRMED"
    assert (entry.decoded("dtstart"), entry.decoded("dtend")) == (DAYS[0], date(2031, 9, 4))


def test_a_second_parser_reads_method_status_uid_sequence_and_the_days(
    app: Flask, client: FlaskClient, event: dict[str, object], smtp_server: SMTPServer
) -> None:
    client.post(
        f"/events/{event['slug']}/register?category=general_public",
        data={**details(event["days"]), "email": "solveig@example.org", "privacy_consent": "y"},
    )
    deliver(app)
    link = manage_link(last_mail(smtp_server))
    _method, published = calendar_part(last_mail(smtp_server))
    client.post(f"{link}/cancel")
    deliver(app)
    _method, cancelled = calendar_part(last_mail(smtp_server))

    for data, method, status, sequence in ((published, "PUBLISH", "CONFIRMED", 0),
                                           (cancelled, "CANCEL", "CANCELLED", 1)):
        calendar = vobject.readOne(data.decode("utf-8"))
        assert calendar.method.value == method
        [vevent] = calendar.vevent_list
        assert vevent.status.value == status
        assert vevent.uid.value.startswith("registration-")
        assert int(vevent.sequence.value) == sequence
        assert not hasattr(vevent, "organizer") and not hasattr(vevent, "attendee")
        # All-day dates of the event's own days (held in Europe/Oslo): no clock time, so no
        # viewer's time zone can move them to another day. DTEND is exclusive.
        assert vevent.dtstart.value == DAYS[0] and type(vevent.dtstart.value) is date
        assert vevent.dtend.value == DAYS[-1] + timedelta(days=1)
        assert vevent.dtstart.params.get("VALUE") == ["DATE"]
        # The stamp is an instant in UTC.
        stamp = vevent.dtstamp.value
        assert isinstance(stamp, datetime) and stamp.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)
        assert vevent.location.value == "Grieghallen, Bergen, Norway"
