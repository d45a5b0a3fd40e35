"""Visa invitation letters: a confirmed attendee asks through the private link (bad input
answered beside the field, what was typed kept); the passport data encrypted at rest, seen only
by admins and the event's organizers (each look audited), never in an audit entry or an email,
in an export only when ticked; approval issues the letter in English and Korean or Japanese
(the PDF's text checked), declining emails the note; the passport data blanked 30 days after the
event (raw reads of the database), and at once on withdrawal, decline or erasure."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta

import pytest
from conftest import AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from markup import parse
from pypdf import PdfReader
from smtp import SMTPServer, smtp_settings
from sqlalchemy import text
from test_invitations import fill

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.documents import visa
from nkhr_events.documents.models import IssuedDocument
from nkhr_events.documents.settings import SettingsChange, current_settings, update_settings
from nkhr_events.documents.visa_models import VisaLetterRequest, VisaStatus
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.privacy.services import anonymize_registration
from nkhr_events.registrations import links
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.web import event_days_text

NAME = "QUILLFEATHER ZYXWVU"
NUMBER = "M70689123"
PASSPORT_TEXTS = (NAME, "QUILLFEATHER", NUMBER, "Embassy of the Republic of Korea in Nairobi",
                  "1984-02-29", "2035-06-30")


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def attendee(app: Flask, language: str = "en", status: str | None = RegistrationStatus.CONFIRMED,
             category: str = "general_public", **event: object) -> tuple[int, int, str]:
    """An event with one attendee (an email address, a private link): (event, registration,
    token)."""
    with app.app_context():
        found = make_event(title_ko="북한인권 국제회의", title_ja="北朝鮮人権国際会議",
                           venue="Press Center", **event)
        registration = make_registration(event=found, status=status, language=language,
                                         category=category,
                                         email="traveller@example.org",
                                         organization="Citizens' Alliance")
        token = links.issue_manage_token(registration)
        db.session.commit()
        return found.id, registration.id, token


def passport(**overrides: object) -> visa.VisaInput:
    values: dict[str, object] = {
        "passport_name": NAME, "passport_number": NUMBER, "nationality": "KE",
        "birth_date": date(1984, 2, 29), "passport_expiry": date(2035, 6, 30),
        "consulate": "Embassy of the Republic of Korea in Nairobi, Kenya",
        "second_language": "ko",
    }
    values.update(overrides)
    return visa.VisaInput(**values)  # type: ignore[arg-type]


def ask(app: Flask, registration_id: int, **overrides: object) -> int:
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        found = visa.request_letter(registration, passport(**overrides), actor=SYSTEM)
        db.session.commit()
        return found.id


def form_values(**overrides: str) -> dict[str, str]:
    values = {
        "passport_name": NAME, "passport_number": NUMBER, "nationality": "KE",
        "birth_date": "1984-02-29", "passport_expiry": "2035-06-30",
        "consulate": "Embassy of the Republic of Korea in Nairobi, Kenya",
        "second_language": "ko",
    }
    values.update(overrides)
    return values


def raw_row(app: Flask, request_id: int) -> str:
    """Every column of the request as the database holds it (no decryption)."""
    with app.app_context():
        row = db.session.execute(
            text("SELECT * FROM visa_letter_request WHERE id = :id"), {"id": request_id}
        ).mappings().one()
        return json.dumps({k: str(v) for k, v in row.items()})


def audit_text(app: Flask) -> str:
    with app.app_context():
        return json.dumps([(e.action, e.detail) for e in db.session.scalars(
            db.select(AuditEntry))], ensure_ascii=False)


def actions(app: Flask, action: str) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == action)))


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    extracted = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return extracted.replace("\x00", "")  # pypdf reads the CJK fonts' two-byte codes so


# --- storage -----------------------------------------------------------------------------------


def test_the_passport_data_is_encrypted_at_rest(app: Flask) -> None:
    _event, registration_id, _token = attendee(app)
    request_id = ask(app, registration_id)
    raw = raw_row(app, request_id)
    for clear in PASSPORT_TEXTS:
        assert clear not in raw, clear
    assert '"nationality": "KE"' not in raw
    with app.app_context():
        found = db.session.get(VisaLetterRequest, request_id)
        assert (found.passport_name, found.passport_number, found.nationality) == (
            NAME, NUMBER, "KE")
        assert found.birth_date == date(1984, 2, 29)
        assert found.passport_expiry == date(2035, 6, 30)
        assert found.languages == ["en", "ko"]
    entry, = actions(app, "visa.request")
    assert entry.detail == {"registration": registration_id, "status": "requested",
                            "languages": ["en", "ko"]}
    assert not any(clear in audit_text(app) for clear in PASSPORT_TEXTS)


def test_only_one_request_is_open_at_a_time(app: Flask) -> None:
    _event, registration_id, _token = attendee(app)
    ask(app, registration_id)
    with app.app_context(), pytest.raises(DomainError):
        visa.request_letter(db.session.get(Registration, registration_id), passport(),
                            actor=SYSTEM)


def test_the_database_keeps_one_open_request_when_two_arrive_at_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both requests passed the check before either was written: the partial unique index
    refuses the second, which the attendee is told as a field-less message, not a 500."""
    _event, registration_id, _token = attendee(app)
    ask(app, registration_id)
    monkeypatch.setattr(visa, "open_request", lambda registration: None)
    with app.app_context():
        with pytest.raises(DomainError, match="already"):
            visa.request_letter(db.session.get(Registration, registration_id), passport(),
                                actor=SYSTEM)
        db.session.commit()  # the session is still usable
        assert db.session.scalar(db.select(db.func.count(VisaLetterRequest.id))) == 1


@pytest.mark.parametrize("status", [RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED,
                                    RegistrationStatus.CANCELLED])
def test_only_a_confirmed_attendee_may_ask(app: Flask, client: FlaskClient, status: str) -> None:
    _event, registration_id, token = attendee(app, category="journalist", status=status) \
        if status == RegistrationStatus.PENDING else attendee(app, status=status)
    with app.app_context(), pytest.raises(DomainError):
        visa.request_letter(db.session.get(Registration, registration_id), passport(),
                            actor=SYSTEM)
    page = client.get(f"/registration/{token}/visa-letter").get_data(as_text=True)
    assert 'name="passport_number"' not in page and 'id="visa-not-offered"' in page
    response = client.post(f"/registration/{token}/visa-letter", data=form_values())
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(VisaLetterRequest.id))) == 0
    assert 'id="visa-letter"' not in client.get(f"/registration/{token}").get_data(as_text=True)


def test_no_request_once_the_event_is_over(app: Flask) -> None:
    _event, registration_id, _token = attendee(app)
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        after = visa.event_ends(registration.event) + timedelta(minutes=1)
        with pytest.raises(DomainError):
            visa.request_letter(registration, passport(), after, actor=SYSTEM)


# --- the attendee's pages ----------------------------------------------------------------------


def test_the_manage_page_offers_the_letter_and_the_form_explains_who_sees_the_data(
    client: FlaskClient, app: Flask
) -> None:
    _event, _registration, token = attendee(app)
    page = client.get(f"/registration/{token}").get_data(as_text=True)
    assert f'href="/registration/{token}/visa-letter"' in page
    page = client.get(f"/registration/{token}/visa-letter").get_data(as_text=True)
    notice = parse(page).find(id="visa-privacy").text
    assert "30 days after the event" in notice and "organizers" in notice
    assert "encrypted" in notice


@pytest.mark.parametrize(("field", "value", "message"), [
    ("passport_name", "", "exactly as your passport writes it"),
    ("passport_name", "A" * 201, "200 characters"),
    ("passport_number", "M7", "5 to 20 letters and digits"),
    ("passport_number", "M7068#9123", "5 to 20 letters and digits"),
    ("nationality", "ZZ", "Choose your nationality"),
    ("birth_date", "1984-02-30", "date"),
    ("birth_date", "2990-01-01", "real date of birth"),
    ("birth_date", "1850-01-01", "real date of birth"),
    ("passport_expiry", "", "expires"),
    ("passport_expiry", "2020-01-01", "valid after the event"),
    ("consulate", "", "consulate or embassy"),
    ("consulate", "x" * 201, "200 characters"),
    ("second_language", "zh", "Not a valid choice"),
])
def test_bad_input_is_answered_beside_the_field_and_what_was_typed_is_kept(
    client: FlaskClient, app: Flask, field: str, value: str, message: str
) -> None:
    _event, _registration, token = attendee(app)
    url = f"/registration/{token}/visa-letter"
    values = form_values(**{field: value})
    response = client.post(url, data=fill(client.get(url).get_data(as_text=True), **values))
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    error = page.find(id=f"{field}-error")
    assert error is not None and message.lower() in error.text.lower(), (field, error)
    for name, typed in values.items():
        if name in (field, "nationality", "second_language"):
            continue
        assert page.one("input", name=name).get("value") == typed, name
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(VisaLetterRequest.id))) == 0


def test_the_attendee_asks_sees_a_masked_number_and_withdraws(
    client: FlaskClient, app: Flask
) -> None:
    _event, registration_id, token = attendee(app)
    url = f"/registration/{token}/visa-letter"
    response = client.post(url, data=fill(client.get(url).get_data(as_text=True),
                                          **form_values(passport_number="m7068 9123")))
    assert response.status_code == 303
    page = client.get(url).get_data(as_text=True)
    box = parse(page).find(id="visa-requested").text
    assert NAME in box and "123" in box and NUMBER not in box
    with app.app_context():
        found = db.session.scalars(db.select(VisaLetterRequest)).one()
        assert found.passport_number == NUMBER  # spaces dropped, upper case
        request_id = found.id
    assert client.post(f"{url}/withdraw").status_code == 303
    with app.app_context():
        found = db.session.get(VisaLetterRequest, request_id)
        assert found.status == VisaStatus.WITHDRAWN and found.purged_at is not None
        assert found.passport_number == "" and found.passport_name == ""
    assert 'name="passport_number"' in client.get(url).get_data(as_text=True)  # may ask again
    assert [e.object_id for e in actions(app, "visa.withdraw")] == [request_id]
    assert registration_id


# --- staff -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["reviewer", "door", "liaison", "other_organizer"])
def test_other_roles_find_nothing(
    client: FlaskClient, app: Flask, auth: AuthActions, role: str
) -> None:
    event_id, registration_id, _token = attendee(app)
    request_id = ask(app, registration_id)
    if role == "other_organizer":
        with app.app_context():
            other = make_event().id
            db.session.commit()
        auth.member(other, "organizer")
    else:
        auth.member(event_id, role)
    base = f"/manage/events/{event_id}/visa-letters"
    for url in (base, f"{base}/{request_id}", f"{base}/export.csv?include_passport=1"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert NUMBER not in response.get_data(as_text=True)
    for action in ("approve", "decline"):
        assert client.post(f"{base}/{request_id}/{action}",
                           data={"note": "x"}).status_code == 404
    with app.app_context():
        assert db.session.get(VisaLetterRequest, request_id).status == VisaStatus.REQUESTED
    assert not actions(app, "visa.view") and not actions(app, "visa.export")


@pytest.mark.parametrize("role", ["organizer", "admin"])
def test_organizers_and_admins_see_the_passport_data_and_each_look_is_recorded(
    client: FlaskClient, app: Flask, auth: AuthActions, role: str
) -> None:
    event_id, registration_id, _token = attendee(app)
    request_id = ask(app, registration_id)
    if role == "admin":
        auth.admin()
    else:
        auth.member(event_id, "organizer")
    queue = client.get(f"/manage/events/{event_id}/visa-letters?status=requested")
    assert queue.status_code == 200
    body = queue.get_data(as_text=True)
    assert f'data-request="{request_id}"' in body and NUMBER not in body
    page = client.get(f"/manage/events/{event_id}/visa-letters/{request_id}")
    data = parse(page.get_data(as_text=True)).find(id="passport-data").text
    assert NAME in data and NUMBER in data and "Kenya" in data
    assert "Embassy of the Republic of Korea in Nairobi" in data
    entry, = actions(app, "visa.view")
    assert entry.object_id == request_id and entry.actor_id is not None
    assert not any(clear in audit_text(app) for clear in PASSPORT_TEXTS)


def test_a_decline_needs_a_note_emails_it_and_deletes_the_passport_data(
    client: FlaskClient, app: Flask, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    event_id, registration_id, token = attendee(app, language="ja")
    request_id = ask(app, registration_id)
    auth.member(event_id, "organizer")
    url = f"/manage/events/{event_id}/visa-letters/{request_id}"
    response = client.post(f"{url}/decline", data={"note": "  "})
    assert response.status_code == 200
    assert parse(response.get_data(as_text=True)).find(id="note-error") is not None
    note = "We cannot invite this person in this category."
    assert client.post(f"{url}/decline", data={"note": note}).status_code == 303
    with app.app_context():
        found = db.session.get(VisaLetterRequest, request_id)
        assert found.status == VisaStatus.DECLINED and found.decision_note == note
        assert found.passport_number == "" and found.purged_at is not None
        deliver_due()
    message = [m for m in smtp_server.messages if m["To"] == "traveller@example.org"][-1]
    body = message.get_body(("plain",)).get_content()
    assert note in body and NUMBER not in body and NAME not in body
    entry, = actions(app, "visa.decline")
    assert note not in json.dumps(entry.detail)
    page = client.get(f"/registration/{token}/visa-letter").get_data(as_text=True)
    assert note in parse(page).find(id="visa-declined").text
    # Decided: a second decision is refused, nothing changes.
    assert client.post(f"{url}/approve", data={"note": ""}).status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(IssuedDocument.id))) == 0


@pytest.mark.parametrize(("language", "second"), [("en", "ko"), ("ja", "ja")])
def test_approval_issues_letters_the_attendee_is_emailed_and_downloads_them(
    client: FlaskClient, app: Flask, auth: AuthActions, smtp_server: SMTPServer,
    language: str, second: str,
) -> None:
    event_id, registration_id, _token = attendee(app, language=language)
    request_id = ask(app, registration_id, second_language=second)
    auth.member(event_id, "organizer")
    url = f"/manage/events/{event_id}/visa-letters/{request_id}"
    assert client.post(f"{url}/approve", data={"note": "Bring it to the embassy."}
                       ).status_code == 303
    with app.app_context():
        found = db.session.get(VisaLetterRequest, request_id)
        assert found.status == VisaStatus.APPROVED and found.decided_by_id is not None
        documents = [db.session.get(IssuedDocument, found.document_id),
                     db.session.get(IssuedDocument, found.translation_document_id)]
        references = {d.language: d.reference for d in documents}
        assert set(references) == {"en", second}
        assert len(set(references.values())) == 2  # each letter its own reference
        statements = json.dumps([d.statements for d in documents], ensure_ascii=False)
        assert NAME in statements and "••••••123" in statements and NUMBER not in statements
        event = db.session.get(Event, event_id)
        days = {}
        for code in ("en", second):
            with force_locale(code):
                days[code] = event_days_text(event.day_list)
        deliver_due()
    entry, = actions(app, "visa.approve")
    assert sorted(entry.detail["references"]) == sorted(references.values())
    assert not any(clear in audit_text(app) for clear in PASSPORT_TEXTS)
    message = [m for m in smtp_server.messages if m["To"] == "traveller@example.org"][-1]
    body = message.get_body(("plain",)).get_content()
    assert "Bring it to the embassy." in body and NUMBER not in body
    found_link = re.search(r"http://localhost(/registration/[A-Za-z0-9_-]+/visa-letter)\s", body)
    assert found_link is not None, body
    auth.sign_out()
    page = client.get(found_link.group(1)).get_data(as_text=True)
    assert parse(page).find(id="visa-approved") is not None
    for code, reference in references.items():
        response = client.get(f"{found_link.group(1)}/{code}.pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Cache-Control"] == "no-store"
        extracted = pdf_text(response.data)
        flat = re.sub(r"\s+", "", extracted)
        for expected in (NAME, NUMBER, reference, days[code], "Citizens' Alliance"):
            assert re.sub(r"\s+", "", expected) in flat, (code, expected, extracted)
        if code == "ko":
            assert "북한인권국제회의" in flat  # the event's own Korean title
        if code == "ja":
            assert "北朝鮮人権国際会議" in flat
    assert client.get(f"{found_link.group(1)}/zh.pdf").status_code == 404


def test_the_export_holds_passport_data_only_when_ticked_and_is_recorded(
    client: FlaskClient, app: Flask, auth: AuthActions
) -> None:
    event_id, registration_id, _token = attendee(app)
    ask(app, registration_id, consulate="=HYPERLINK(\"http://x\")")
    auth.member(event_id, "organizer")
    base = f"/manage/events/{event_id}/visa-letters/export.csv"
    plain = client.get(base).get_data(as_text=True)
    assert NUMBER not in plain and NAME not in plain and "requested" in plain
    ticked = client.get(base, query_string={"include_passport": "1"}).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(ticked.lstrip("\ufeff"))))
    assert NUMBER in rows[1] and NAME in rows[1]
    assert "'=HYPERLINK(\"http://x\")" in rows[1]
    assert [e.detail for e in actions(app, "visa.export")] == [
        {"passport_data": False}, {"passport_data": True}]


# --- deletion ----------------------------------------------------------------------------------


def test_the_passport_data_is_purged_30_days_after_the_event_and_the_letter_stays_verifiable(
    client: FlaskClient, app: Flask, auth: AuthActions
) -> None:
    event_id, registration_id, _token = attendee(app)
    request_id = ask(app, registration_id)
    with app.app_context():
        found = db.session.get(VisaLetterRequest, request_id)
        visa.approve(found, actor=SYSTEM)
        db.session.commit()
        document_id = found.document_id
        ends = visa.event_ends(db.session.get(Event, event_id))
        assert current_settings().visa_purge_days == 30
        assert visa.purge_passport_data(ends + timedelta(days=30) - timedelta(minutes=1)) == 0
        db.session.commit()
    assert NUMBER not in raw_row(app, request_id)  # encrypted
    with app.app_context():
        assert db.session.get(VisaLetterRequest, request_id).passport_number == NUMBER
        assert visa.purge_passport_data(ends + timedelta(days=30)) == 1
        db.session.commit()
        assert visa.purge_passport_data(ends + timedelta(days=31)) == 0  # once
        db.session.commit()
        row = db.session.execute(text(
            "SELECT passport_name, passport_number, nationality, birth_date_text, "
            "passport_expiry_text, consulate, purged_at, status FROM visa_letter_request "
            "WHERE id = :id"), {"id": request_id}).one()
        assert list(row[:6]) == [""] * 6 and row[6] is not None and row[7] == "approved"
        document = db.session.get(IssuedDocument, document_id)
        assert document is not None and document.revoked_at is None
        assert NAME in json.dumps(document.statements)
        # The registration itself is kept until the event's own purge.
        assert db.session.get(Registration, registration_id).given_name != ""
    entry, = actions(app, "visa.purge")
    assert entry.detail == {"requests": 1, "days": 30} and entry.object_id == event_id
    auth.member(event_id, "organizer")
    page = client.get(f"/manage/events/{event_id}/visa-letters/{request_id}")
    assert parse(page.get_data(as_text=True)).find(id="visa-purged") is not None
    assert not actions(app, "visa.view")  # nothing left to look at


def test_the_purge_follows_the_admins_setting(app: Flask) -> None:
    event_id, registration_id, _token = attendee(app)
    request_id = ask(app, registration_id)
    with app.app_context():
        assert update_settings(SettingsChange("Citizens' Alliance", "Seoul", "Kim", "Director",
                                              7), actor=SYSTEM)
        db.session.commit()
        ends = visa.event_ends(db.session.get(Event, event_id))
        assert visa.purge_passport_data(ends + timedelta(days=7)) == 1
        db.session.commit()
        assert db.session.get(VisaLetterRequest, request_id).purged_at is not None


def test_erasing_the_registration_deletes_the_passport_data(app: Flask) -> None:
    _event, registration_id, _token = attendee(app)
    request_id = ask(app, registration_id)
    with app.app_context():
        anonymize_registration(db.session.get(Registration, registration_id), actor=SYSTEM)
        db.session.commit()
        row = db.session.execute(text(
            "SELECT passport_number, passport_name, purged_at FROM visa_letter_request "
            "WHERE id = :id"), {"id": request_id}).one()
        assert row[0] == "" and row[1] == "" and row[2] is not None


def test_no_email_carries_passport_data(app: Flask) -> None:
    _event, registration_id, _token = attendee(app)
    request_id = ask(app, registration_id)
    with app.app_context():
        visa.approve(db.session.get(VisaLetterRequest, request_id), "ok", actor=SYSTEM)
        db.session.commit()
        stored = json.dumps([(m.subject, m.text_body, m.html_body) for m in db.session.scalars(
            db.select(OutboxMessage))], ensure_ascii=False)
    assert not any(clear in stored for clear in PASSPORT_TEXTS)
