"""Protected guests: registered by staff under a pseudonym, without an email address; the real
name encrypted at rest, shown only to admins and the event's organizers (each look audited),
never on any other surface, and in an export only when a staff member ticks it (audited); the
handout sheet in the guest's language; erasure and purge clear the real name."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from conftest import AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import parse, ticked
from openpyxl import load_workbook
from sqlalchemy import text
from test_invitations import fill

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.checkin import services as checkin
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.invitations import protected
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.privacy.services import anonymize_registration, purge
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.services import save_category_settings

REAL = "Zyxwvu Quillfeather"
PSEUDONYM = "Morning Star"


def guest_event(app: Flask, **overrides: object) -> int:
    """A published three-day event whose organizers' guests (by invitation only) are on."""
    with app.app_context():
        event = make_event(title_ko="북한인권 국제회의", **overrides)
        save_category_settings(event, {"organizers_guest": {"enabled": True}}, actor=SYSTEM)
        db.session.commit()
        return event.id


def register(app: Flask, event_id: int, **overrides: object) -> int:
    values: dict[str, object] = {
        "pseudonym": PSEUDONYM, "real_name": REAL, "category": "organizers_guest",
        "language": "en", "privacy_consent": True,
    }
    values.update(overrides)
    with app.app_context():
        event = db.session.get(Event, event_id)
        registration = protected.register_protected(
            event, protected.ProtectedInput(**values), actor=SYSTEM  # type: ignore[arg-type]
        )
        db.session.commit()
        return registration.id


def stored_real_name(app: Flask, registration_id: int) -> str:
    """The column as the database holds it (no decryption)."""
    with app.app_context():
        return db.session.execute(
            text("SELECT real_name FROM registration WHERE id = :id"), {"id": registration_id}
        ).scalar_one()


def audit_text(app: Flask) -> str:
    with app.app_context():
        return json.dumps(
            [(e.action, e.detail) for e in db.session.scalars(db.select(AuditEntry))],
            ensure_ascii=False,
        )


def actions(app: Flask, action: str) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == action)))


def form_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "pseudonym": PSEUDONYM, "real_name": REAL, "category": "organizers_guest",
        "language": "en", "interpretation": "none", "privacy_consent": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- the service -------------------------------------------------------------------------------


def test_a_protected_guest_is_confirmed_without_email_and_the_real_name_is_encrypted(
    app: Flask,
) -> None:
    event_id = guest_event(app)
    with app.app_context():
        before = db.session.scalar(db.select(db.func.count(OutboxMessage.id)))
    # Government representatives are reviewed: staff chose this person, so no review.
    registration_id = register(app, event_id, category="government")
    with app.app_context():
        r = db.session.get(Registration, registration_id)
        assert r.protected and r.do_not_publish and not r.has_email
        assert r.status == RegistrationStatus.CONFIRMED
        assert (r.given_name, r.family_name, r.badge_name) == (PSEUDONYM, "", PSEUDONYM)
        assert r.full_name == PSEUDONYM and r.real_name == REAL
        assert r.email_key.startswith("none:")
        # No email at all: not to the guest, not to anyone about them.
        assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == before
        assert not db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.registration_id == r.id)
        ).all()
    raw = stored_real_name(app, registration_id)
    assert raw and REAL not in raw and "Quillfeather" not in raw
    entry, = actions(app, "protected.register")
    assert entry.object_id == registration_id
    assert entry.detail == {"category": "government", "status": "confirmed"}
    assert "Quillfeather" not in audit_text(app)


def test_two_protected_guests_never_collide_and_a_full_event_waitlists_them(app: Flask) -> None:
    event_id = guest_event(app, capacity=1)
    first = register(app, event_id)
    second = register(app, event_id, pseudonym="Evening Star", real_name="Another Person")
    with app.app_context():
        assert db.session.get(Registration, first).status == RegistrationStatus.CONFIRMED
        assert db.session.get(Registration, second).status == RegistrationStatus.WAITLISTED


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"pseudonym": "  "}, "pseudonym", "Enter the pseudonym."),
        ({"pseudonym": "x" * 101}, "pseudonym", "Use at most 100 characters."),
        ({"real_name": ""}, "real_name", "Enter the real name."),
        ({"real_name": "y" * 201}, "real_name", "Use at most 200 characters."),
        ({"real_name": "morning star"}, "pseudonym", "not the real name"),
        ({"category": "speaker"}, "category", "Choose a category enabled for this event."),
        ({"privacy_consent": False}, "privacy_consent", "agreed to the privacy notice"),
    ],
)
def test_the_service_refuses_bad_input_beside_the_field(
    app: Flask, overrides: dict[str, object], field: str, message: str
) -> None:
    event_id = guest_event(app)
    with pytest.raises(DomainError) as refused:
        register(app, event_id, **overrides)
    assert refused.value.field == field and message in refused.value.message
    with app.app_context():
        assert not db.session.scalars(db.select(Registration)).all()


# --- who may ----------------------------------------------------------------------------------


def test_organizer_and_admin_may_register_others_may_not(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = guest_event(app)
    registration_id = register(app, event_id)
    urls = (f"/manage/events/{event_id}/protected-guests/new",
            f"/manage/events/{event_id}/registrations/{registration_id}/handout")
    for role in ("reviewer", "door", "liaison"):
        auth.member(event_id, role)
        for url in urls:
            assert client.get(url).status_code == 404, (role, url)
        assert client.post(f"/manage/registrations/{registration_id}/real-name"
                           ).status_code == 404, role
        assert client.post(f"/manage/registrations/{registration_id}/protected-names",
                           data={"pseudonym": "x", "real_name": "y"}).status_code == 404
        assert client.post(urls[0], data=form_data(pseudonym="Intruder")).status_code == 404
        auth.sign_out()
    # An organizer of another event reaches nothing of this one.
    other = guest_event(app)
    auth.member(other, "organizer")
    assert client.get(urls[0]).status_code == 404
    auth.sign_out()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 1
        assert REAL == db.session.get(Registration, registration_id).real_name
    assert not actions(app, "protected.reveal")
    for sign_in in (lambda: auth.member(event_id, "organizer"), auth.admin):
        sign_in()
        assert client.get(urls[0]).status_code == 200
        response = client.post(f"/manage/registrations/{registration_id}/real-name")
        assert response.status_code == 200 and REAL in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"  # never kept by the browser
        auth.sign_out()
    assert len(actions(app, "protected.reveal")) == 2


def test_the_person_page_marks_the_guest_for_every_role_and_offers_the_real_name_to_organizers(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = guest_event(app)
    registration_id = register(app, event_id)
    url = f"/manage/registrations/{registration_id}"
    auth.member(event_id, "reviewer", email="r@example.org",
                categories="organizers_guest", sees_needs=True, can_export=True)
    page = client.get(url).get_data(as_text=True)
    assert 'id="protected-marker"' in page and PSEUDONYM in page
    assert "Show the real name" not in page and REAL not in page
    auth.sign_out()
    auth.member(event_id, "organizer")
    page = client.get(url).get_data(as_text=True)
    assert 'id="protected-marker"' in page and "Show the real name" in page
    assert REAL not in page
    # Details can be edited (days, needs); no email is promised.
    assert "Edit details" in page
    assert "No email is ever sent to a protected guest." in page
    assert not actions(app, "protected.reveal")


# --- the staff pages ----------------------------------------------------------------------------


def test_bad_input_on_the_page_keeps_what_was_typed_with_messages_beside_fields(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = guest_event(app)
    auth.member(event_id, "organizer")
    url = f"/manage/events/{event_id}/protected-guests/new"
    with app.app_context():
        days = [d.isoformat() for d in db.session.get(Event, event_id).day_list]
    # Every day is ticked when the form opens.
    assert ticked(parse(client.get(url).get_data(as_text=True)), "days") == days
    response = client.post(url, data=form_data(real_name="", privacy_consent=None, days=[],
                                                accessibility_needs="Wheelchair access"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="real_name-error"' in page and "Enter the real name." in page
    assert 'id="privacy_consent-error"' in page and 'id="days-error"' in page
    assert f'value="{PSEUDONYM}"' in page and "Wheelchair access" in page
    response = client.post(url, data=form_data(real_name="z" * 201, days=days))
    assert "Use at most 200 characters (this has 201)." in response.get_data(as_text=True)
    # A rule of the service, beside its field.
    response = client.post(url, data=form_data(pseudonym=REAL.upper(), days=days))
    page = response.get_data(as_text=True)
    assert 'id="pseudonym-error"' in page and "not the real name" in page
    assert f'value="{REAL}"' in page
    with app.app_context():
        assert not db.session.scalars(db.select(Registration)).all()


def test_a_korean_guest_on_two_of_three_days_gets_a_korean_handout(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = guest_event(app)
    with app.app_context():
        days = db.session.get(Event, event_id).day_list
    auth.member(event_id, "organizer")
    response = client.post(
        f"/manage/events/{event_id}/protected-guests/new",
        data=form_data(pseudonym="새벽별", real_name="김철수", language="ko",
                       days=[days[0].isoformat(), days[2].isoformat()]),
    )
    assert response.status_code == 303
    with app.app_context():
        r = db.session.scalars(db.select(Registration)).one()
        assert (r.given_name, r.real_name, r.language) == ("새벽별", "김철수", "ko")
        assert r.day_list == [days[0], days[2]]
        reference = checkin.checkin_reference(r)
        registration_id = r.id
        db.session.commit()
    assert response.headers["Location"].endswith(
        f"/manage/events/{event_id}/registrations/{registration_id}/handout")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'lang="ko"' in page and "북한인권 국제회의" in page and "새벽별" in page
    assert reference in page and "<svg" in page and "김철수" not in page
    assert 'id="handout"' in page
    entry, = actions(app, "protected.handout")
    assert entry.object_id == registration_id and entry.detail == {}
    # On a one-day event there is no day to choose; what the event has is taken.
    one_day = guest_event(app, days=[utcnow().date() + timedelta(days=9)])
    page = client.get(f"/manage/events/{one_day}/protected-guests/new").get_data(as_text=True)
    assert 'name="days"' not in page


def test_changing_the_names_is_audited_without_names_and_unchanged_records_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = guest_event(app)
    registration_id = register(app, event_id)
    auth.member(event_id, "organizer")
    url = f"/manage/registrations/{registration_id}/protected-names"
    response = client.post(url, data={"pseudonym": PSEUDONYM, "real_name": REAL})
    assert response.status_code == 303 and not actions(app, "protected.change")
    response = client.post(url, data={"pseudonym": "", "real_name": "Q" * 201})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="pseudonym-error"' in page
    assert "Q" * 201 in page
    response = client.post(url, data={"pseudonym": "North Wind", "real_name": "Yotta Brightwater"})
    assert response.status_code == 303
    entry, = actions(app, "protected.change")
    assert entry.detail == {"fields": ["pseudonym", "real_name"]}
    with app.app_context():
        r = db.session.get(Registration, registration_id)
        assert (r.full_name, r.badge_name, r.real_name) == (
            "North Wind", "North Wind", "Yotta Brightwater")
        event = db.session.get(Event, event_id)
        assert [x.id for x in checkin.search_registrations(event, "north wind")] == [r.id]
    assert "Brightwater" not in audit_text(app) and "Quillfeather" not in audit_text(app)


# --- every surface -----------------------------------------------------------------------------


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def xlsx_text(response) -> str:
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    return json.dumps([list(row) for row in workbook.active.iter_rows(values_only=True)],
                      default=str, ensure_ascii=False)


ALL_COLUMNS = ("name", "given_name", "family_name", "badge_name", "email", "organization",
               "position", "country", "language", "category", "status", "days",
               "interpretation", "answers", "publish_name", "photo_consent", "registered",
               "checked_in", "accessibility_needs", "dietary_needs")


def test_the_real_name_is_on_no_surface_and_in_an_export_only_when_ticked(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    today = utcnow().date()
    event_id = guest_event(app, days=[today, today + timedelta(days=1)])
    registration_id = register(app, event_id)
    with app.app_context():
        make_registration(event=event_id, given_name="Ada", family_name="Lovelace")
        reference = checkin.checkin_reference(db.session.get(Registration, registration_id))
        db.session.commit()
    e = f"/manage/events/{event_id}"
    columns = "&".join(f"columns={c}" for c in ALL_COLUMNS)
    auth.admin()
    pages = [
        f"{e}", f"{e}/registrations", f"{e}/registrations?q=Morning",
        f"/manage/registrations/{registration_id}", f"{e}/door", f"{e}/door?q=Morning",
        f"/manage/checkin/{reference}", f"{e}/badges", f"{e}/sign-in-sheet",
        f"{e}/invitations", "/manage/outbox/", "/manage/outbox/?status=sent",
        f"{e}/registrations/{registration_id}/handout", "/manage/audit/",
        "/manage/audit/?object_type=registration",
        f"/manage/registrations/{registration_id}/data.json",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert "Quillfeather" not in body and "Zyxwvu" not in body, url
    # Searching by the real name finds nobody (the page repeats only what was typed).
    for url in (f"{e}/registrations?q=Quillfeather", f"{e}/door?q=Quillfeather",
                f"{e}/registrations?q=zyxwvu+quill"):
        body = client.get(url).get_data(as_text=True)
        assert PSEUDONYM not in body and f"/manage/registrations/{registration_id}" not in body
    # The pseudonym is what the roster, the door and badges show.
    for url in (f"{e}/registrations?q=Morning", f"{e}/door?q=Morning", f"{e}/badges",
                f"{e}/sign-in-sheet"):
        assert "Morning Star" in client.get(url).get_data(as_text=True), url
    # Exports without the tick: the pseudonym, no real name, in each format.
    rows = csv_rows(client.get(f"{e}/registrations/export?format=csv&{columns}"))
    assert "Real name (protected guest)" not in rows[0]
    guest = next(row for row in rows if PSEUDONYM in row)
    assert guest[rows[0].index("Name")] == PSEUDONYM
    assert "Quillfeather" not in json.dumps(rows)
    assert "Quillfeather" not in xlsx_text(
        client.get(f"{e}/registrations/export?format=xlsx&{columns}"))
    # A tick of the old kind (do-not-publish people) does not bring real names either.
    rows = csv_rows(client.get(f"{e}/registrations/export?format=csv&include_protected=1"))
    assert "Quillfeather" not in json.dumps(rows)
    assert not actions(app, "roster.export_real_names")
    assert "Quillfeather" not in audit_text(app)

    # With the tick: a column with the real name of the protected guest only, audited.
    rows = csv_rows(client.get(f"{e}/registrations/export?format=csv&include_real_names=1"))
    column = rows[0].index("Real name (protected guest)")
    by_name = {row[0]: row[column] for row in rows[1:]}
    assert by_name == {PSEUDONYM: REAL, "Ada Lovelace": ""}
    assert REAL in xlsx_text(
        client.get(f"{e}/registrations/export?format=xlsx&include_real_names=1"))
    entries = actions(app, "roster.export_real_names")
    assert [x.detail["format"] for x in entries] == ["csv", "xlsx"]
    exported = [x for x in actions(app, "roster.export") if x.detail.get("real_names")]
    assert len(exported) == 2 and all("real_name" in x.detail["columns"] for x in exported)
    assert "Quillfeather" not in audit_text(app)
    # The export page explains the tick.
    page = client.get(f"{e}/registrations").get_data(as_text=True)
    assert 'name="include_real_names"' in page and 'id="include-real-names-hint"' in page


def test_the_door_volunteer_finds_the_pseudonym_never_the_real_name(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    today = utcnow().date()
    event_id = guest_event(app, days=[today, today + timedelta(days=1)])
    registration_id = register(app, event_id)
    auth.member(event_id, "door")
    found = client.get(f"/manage/events/{event_id}/door?q=morning").get_data(as_text=True)
    assert PSEUDONYM in found and f'value="{registration_id}"' in found
    assert "Quillfeather" not in found
    missed = client.get(f"/manage/events/{event_id}/door?q=Quillfeather").get_data(as_text=True)
    assert f'value="{registration_id}"' not in missed and PSEUDONYM not in missed


def test_a_reviewer_who_exports_never_gets_real_names(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = guest_event(app)
    register(app, event_id)
    auth.member(event_id, "reviewer", categories="organizers_guest", can_export=True)
    page = client.get(f"/manage/events/{event_id}/registrations").get_data(as_text=True)
    assert "include_real_names" not in page
    rows = csv_rows(client.get(
        f"/manage/events/{event_id}/registrations/export?format=csv&include_real_names=1"))
    assert "Real name (protected guest)" not in rows[0] and "Quillfeather" not in json.dumps(rows)
    assert not actions(app, "roster.export_real_names")


def test_a_real_name_that_looks_like_a_formula_is_exported_as_text(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = guest_event(app)
    register(app, event_id, real_name='=HYPERLINK("http://evil.example","x")')
    auth.member(event_id, "organizer")
    rows = csv_rows(client.get(
        f"/manage/events/{event_id}/registrations/export?format=csv&include_real_names=1"))
    column = rows[0].index("Real name (protected guest)")
    assert rows[1][column] == '\'=HYPERLINK("http://evil.example","x")'


# --- privacy -----------------------------------------------------------------------------------


def test_erasure_and_purge_clear_the_real_name(app: Flask) -> None:
    event_id = guest_event(app)
    erased = register(app, event_id)
    purged = register(app, event_id, pseudonym="Evening Star", real_name="Another Person")
    assert stored_real_name(app, erased) not in ("", REAL)
    with app.app_context():
        anonymize_registration(db.session.get(Registration, erased), actor=SYSTEM)
        db.session.commit()
    assert stored_real_name(app, erased) == ""
    assert stored_real_name(app, purged) != ""
    with app.app_context():
        purge(utcnow() + timedelta(days=5000), actor=SYSTEM)
        db.session.commit()
        r = db.session.get(Registration, purged)
        assert r.anonymized_at is not None and r.real_name == ""
    assert stored_real_name(app, purged) == ""


def test_staff_edit_a_protected_guests_days_and_needs_without_a_family_name_or_an_email(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """A multi-day guest's days and needs change on the usual edit page; the one-word
    pseudonym needs no family name, and nothing is emailed."""
    event_id = guest_event(app)
    registration_id = register(app, event_id, pseudonym="Sparrow")
    with app.app_context():
        days = db.session.get(Event, event_id).day_list
        before = db.session.scalar(db.select(db.func.count(OutboxMessage.id)))
    auth.member(event_id, "organizer")
    url = f"/manage/registrations/{registration_id}/edit"
    page = client.get(url).get_data(as_text=True)
    data = fill(page, days=days[1].isoformat(), dietary_needs="No pork")
    response = client.post(url, data=data, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "The changes are saved." in body and "emailed" not in body
    with app.app_context():
        guest = db.session.get(Registration, registration_id)
        assert guest.day_list == [days[1]]
        assert guest.dietary_needs == "No pork"
        assert (guest.given_name, guest.family_name) == ("Sparrow", "")
        assert guest.real_name == REAL
        assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == before
