"""The event dashboard's recent activity and the audit trail read as sentences with names, in
the reader's language: staff by their name, attendees by their name in its own order, protected
guests by their pseudonym, erased registrations as such; page views grouped with their count
and hidden on request; details as labelled fields, never a dictionary or "None". A reviewer
limited to some categories reads nothing about people outside them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from markup import parse
from sqlalchemy import event as sa_event

from nkhr_events.accounts.models import StaffUser
from nkhr_events.audit.sentences import SENTENCES, details_of, lines
from nkhr_events.audit.services import SYSTEM, Actor, record, status_detail
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.invitations.protected import ProtectedInput, register_protected

RAW_CODE = re.compile(r"\b[a-z_]+\.[a-z_]+\b")


def activity(client: FlaskClient, event_id: int, query: str = "") -> list[str]:
    page = parse(client.get(f"/manage/events/{event_id}?{query}").get_data(as_text=True))
    listed = page.find("ol", class_="activity")
    return [" ".join(li.text.split()) for li in listed.find_all("li")] if listed else []


def staff_named(app: Flask, email: str, name: str) -> int:
    """Give the signed-in staff member at `email` a name; returns their id."""
    with app.app_context():
        user = db.session.scalar(db.select(StaffUser).where(StaffUser.email == email))
        assert user is not None
        user.name = name
        db.session.commit()
        return user.id


@pytest.fixture
def journalist_and_public(app: Flask) -> dict[str, int]:
    """An event with a Korean journalist and an English member of the public."""
    with app.app_context():
        event = make_event(capacity=50)
        minji = make_registration(event=event, category="journalist", given_name="민지",
                                  family_name="박", language="ko",
                                  answers={"media_outlet": "Seoul Daily",
                                           "media_role": "reporter"})
        ada = make_registration(event=event, category="general_public", given_name="Ada",
                                family_name="Lovelace")
        db.session.commit()
        return {"event": event.id, "minji": minji.id, "ada": ada.id}


def test_a_decision_reads_as_a_sentence_with_both_names_in_english_and_korean(
    app: Flask, client: FlaskClient, auth: Any, journalist_and_public: dict[str, int]
) -> None:
    ids = journalist_and_public
    auth.organizer()
    organizer = staff_named(app, "organizer@example.org", "Jiwoo Han")
    with app.app_context():
        actor = Actor.staff(db.session.get(StaffUser, organizer))
        record("registration.approve", actor=actor, object_type="registration",
               object_id=ids["minji"], event_id=ids["event"],
               detail=status_detail("pending", "confirmed"))
        record("registration.cancel", actor=Actor.attendee(), object_type="registration",
               object_id=ids["ada"], event_id=ids["event"],
               detail=status_detail("confirmed", "cancelled"))
        record("registration.release", actor=SYSTEM, object_type="registration",
               object_id=ids["ada"], event_id=ids["event"])
        db.session.commit()
    english = activity(client, ids["event"])
    assert any("Jiwoo Han approved 박민지 (Journalist)" in line for line in english), english
    assert any("Ada Lovelace (General public) cancelled their registration" in line
               for line in english), english
    assert any(line.split(" · ", 1)[1].startswith("The system released the seat of Ada Lovelace")
               for line in english), english
    assert any("Status" in line and "Awaiting review → Confirmed" in line for line in english)
    for line in english:
        assert not RAW_CODE.search(line), line
        assert "{" not in line and "None" not in line

    client.set_cookie("nkhr_lang", "ko")
    korean = activity(client, ids["event"])
    # The names stay as written, the category is said in Korean.
    assert any("박민지 (언론인)" in line and "Jiwoo Han" in line for line in korean), korean


def test_every_action_in_use_has_a_sentence_and_an_unknown_one_still_reads(
    app: Flask, journalist_and_public: dict[str, int]
) -> None:
    ids = journalist_and_public
    with app.test_request_context():
        entries = []
        for action in [*SENTENCES, "brand_new.thing_done"]:
            entries.append(record(action, actor=Actor("kim@example.org"),
                                  object_type="registration", object_id=ids["minji"],
                                  event_id=ids["event"], detail={"day": None, "count": 3}))
        db.session.flush()
        for language in ("en", "ko"):
            with force_locale(language):
                shown = lines(list(reversed(entries)), zone="Asia/Seoul",
                              today=utcnow().date(), format_day=str, real_speaker_names=False)
            assert len(shown) == len(entries)
            for line in shown:
                assert line.text and "%(" not in line.text, line.text
                assert line.entry is not None and line.entry.action not in line.text
                assert "{" not in line.text and "None" not in line.text
                assert [(d.label, d.value) for d in line.details][-1][1] == "3"
        unknown = shown[0]
        assert "brand new" in unknown.text and "thing done" in unknown.text


def test_page_views_are_hidden_by_default_and_grouped_with_their_count(
    app: Flask, client: FlaskClient, auth: Any, journalist_and_public: dict[str, int]
) -> None:
    ids = journalist_and_public
    auth.organizer()
    staff_named(app, "organizer@example.org", "Jiwoo Han")
    for _ in range(3):
        assert client.get(f"/manage/events/{ids['event']}/registrations?status=confirmed"
                          ).status_code == 200
    client.get(f"/manage/registrations/{ids['minji']}")
    hidden = activity(client, ids["event"])
    assert not any("viewed" in line for line in hidden), hidden
    shown = activity(client, ids["event"], "views=1")
    assert any("Jiwoo Han viewed the roster 3 times today" in line for line in shown), shown
    assert any("Jiwoo Han viewed the page of 박민지 (Journalist) 1 time today" in line
               for line in shown), shown
    # The checkbox keeps its state and works without JavaScript (a GET form).
    page = parse(client.get(f"/manage/events/{ids['event']}?views=1").get_data(as_text=True))
    assert page.one(id="activity-views").get("checked") is not None
    assert page.one("label", for_="activity-views") is not None


def test_filters_are_labelled_fields_not_a_dictionary() -> None:
    details = details_of({"filters": {"status": "confirmed", "q": ""}, "day": None})
    assert [(d.label, d.value) for d in details] == [
        ("Filters", "Status = Confirmed"), ("Day", "none")]
    assert [(d.label, d.value) for d in details_of(status_detail("confirmed", "rejected"))] == [
        ("Status", "Confirmed → Rejected")]


def test_a_reviewer_of_journalists_reads_no_sentence_about_anyone_else(
    app: Flask, client: FlaskClient, auth: Any, journalist_and_public: dict[str, int]
) -> None:
    ids = journalist_and_public
    with app.app_context():
        for key in ("minji", "ada"):
            record("registration.notes", actor=SYSTEM, object_type="registration",
                   object_id=ids[key], event_id=ids["event"])
        db.session.commit()
    auth.member(ids["event"], "reviewer", categories="journalist")
    shown = activity(client, ids["event"], "views=1")
    assert any("박민지" in line for line in shown), shown
    assert not any("Lovelace" in line or "Ada" in line for line in shown), shown


def test_a_protected_guest_appears_by_pseudonym_and_an_erased_registration_as_such(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    with app.app_context():
        event = make_event(capacity=10)
        guest = register_protected(event, ProtectedInput(
            pseudonym="Guest Seven", real_name="Real Person", category="general_public",
            privacy_consent=True), actor=SYSTEM)
        gone = make_registration(event=event, given_name="Erin", family_name="Erased")
        record("registration.approve", actor=SYSTEM, object_type="registration",
               object_id=guest.id, event_id=event.id)
        record("registration.approve", actor=SYSTEM, object_type="registration",
               object_id=gone.id, event_id=event.id)
        gone.anonymized_at = utcnow()
        db.session.commit()
        event_id = event.id
    auth.organizer()
    shown = " ".join(activity(client, event_id))
    assert "Guest Seven" in shown and "Real Person" not in shown
    assert "an erased registration" in shown and "Erin" not in shown
    audit = client.get(f"/manage/audit/?event_id={event_id}")
    assert audit.status_code == 403  # the audit trail is for admins


def test_the_audit_page_shows_sentences_hides_views_on_request_in_few_queries(
    app: Flask, client: FlaskClient, auth: Any, journalist_and_public: dict[str, int]
) -> None:
    ids = journalist_and_public
    auth.admin()
    admin = staff_named(app, "admin@example.org", "Sora Admin")
    with app.app_context():
        actor = Actor.staff(db.session.get(StaffUser, admin))
        for n in range(30):
            entry = record("registration.reject", actor=actor, object_type="registration",
                           object_id=ids["minji" if n % 2 else "ada"], event_id=ids["event"],
                           detail=status_detail("confirmed", "rejected"))
            entry.at = utcnow() - timedelta(minutes=n)
        record("roster.view", actor=actor, object_type="event", object_id=ids["event"],
               event_id=ids["event"], detail={"filters": {"status": "confirmed"}})
        db.session.commit()
        engine = db.engine
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        body = client.get(f"/manage/audit/?event_id={ids['event']}").get_data(as_text=True)
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    lookups = [s for s in statements if "FROM registration" in s and "audit_entry" not in s]
    assert len(lookups) <= 2, lookups  # one batched lookup, not one per entry
    page = parse(body)
    rows = [r for r in page.find_all("tr") if r.get("data-action")]
    texts = [" ".join(r.text.split()) for r in rows]
    assert any("Sora Admin rejected 박민지 (Journalist)" in t for t in texts), texts[:3]
    assert any("Filters" in t and "Status = Confirmed" in t for t in texts)
    assert all("{" not in t and "None" not in t for t in texts)
    hidden = parse(client.get(f"/manage/audit/?event_id={ids['event']}&hide_views=1")
                   .get_data(as_text=True))
    actions = {r.get("data-action") for r in hidden.find_all("tr") if r.get("data-action")}
    assert "roster.view" not in actions and "registration.reject" in actions
    assert hidden.one(id="filter-hide-views").get("checked") is not None


def test_a_speaker_is_named_by_real_name_only_to_the_events_organizers(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    from nkhr_events.programme.speakers import SpeakerInput, invite_speaker

    with app.app_context():
        event = make_event(capacity=10)
        invite_speaker(event, SpeakerInput("Sam", "Hidden", "sam@example.org", "en"),
                       actor=SYSTEM)
        db.session.commit()
        event_id = event.id
    auth.member(event_id, "organizer")
    shown = " ".join(activity(client, event_id))
    assert "invited the speaker Sam Hidden" in shown, shown
    auth.sign_out()
    auth.member(event_id, "reviewer", email="reviewer@example.org")
    shown = " ".join(activity(client, event_id))
    assert "Hidden" not in shown
    assert "invited the speaker To be announced" in shown, shown


def test_a_team_change_names_the_member_even_after_they_left_the_team(
    app: Flask, client: FlaskClient, auth: Any, journalist_and_public: dict[str, int]
) -> None:
    ids = journalist_and_public
    auth.organizer()
    staff_named(app, "organizer@example.org", "Jiwoo Han")
    with app.app_context():
        record("team_member.remove", actor=SYSTEM, object_type="team_member", object_id=999,
               event_id=ids["event"], detail={"staff": "organizer@example.org", "role": "door"})
        db.session.commit()
    shown = activity(client, ids["event"])
    assert any("The system removed Jiwoo Han from the event team" in line for line in shown)
