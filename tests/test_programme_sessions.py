"""Staff build an event's programme: sessions are added, changed and deleted through the staff
form; a refused rule comes back beside its field with everything typed kept; a clash (the same
room, or the same speaker, at the same time) is reported and not saved until staff tick "save
anyway"; an edit that changes nothing writes nothing; only the event's organizers and admins
reach these pages, and another event's sessions do not exist for them."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from conftest import AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from werkzeug.datastructures import MultiDict

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.programme import services
from nkhr_events.programme.models import (
    ProgrammeSession,
    SessionSignup,
    SessionSpeaker,
    Speaker,
)


def add_speaker(event_id: int, given: str, family: str, **extra: Any) -> int:
    values: dict[str, Any] = {"status": "confirmed", "appearance": "name"}
    values.update(extra)
    address = f"{given.lower()}@example.org"
    speaker = Speaker(event_id=event_id, given_name=given, family_name=family,
                      email=address, email_key=address, **values)
    db.session.add(speaker)
    db.session.flush()
    return speaker.id


@pytest.fixture
def world(app: Flask) -> dict[str, Any]:
    with app.app_context():
        event = make_event(title="Seoul Conference")
        other = make_event(title="Tokyo Conference")
        ids = {
            "event": event.id,
            "other": other.id,
            "days": [d.isoformat() for d in event.day_list],
            "kim": add_speaker(event.id, "Young-ho", "Kim"),
            "lee": add_speaker(event.id, "Seo-yeon", "Lee"),
            "tanaka": add_speaker(other.id, "Hiroshi", "Tanaka"),
        }
        foreign = services.create_session(other, services.SessionInput(
            day=other.day_list[0], starts_at=time(9), ends_at=time(10), kind="panel",
            texts={"title": "Tokyo opening"}), actor=SYSTEM)
        db.session.commit()
        ids["foreign_session"] = foreign.id
        return ids


def form(world: dict[str, Any], **values: Any) -> MultiDict[str, str]:
    """The session form as a browser sends it: defaults, then `values` (a list for several
    values of one name; None leaves a field out)."""
    data: dict[str, Any] = {
        "day": world["days"][0], "starts_at": "09:00", "ends_at": "10:30", "kind": "panel",
        "title": "Opening panel", "title_ko": "", "title_ja": "", "room": "Hall A",
        "room_ko": "", "room_ja": "", "description": "", "description_ko": "",
        "description_ja": "", "spoken_language": "ko", "channels": ["en"], "public": "y",
    }
    data.update(values)
    pairs: list[tuple[str, str]] = []
    for name, value in data.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, str(item)))
    return MultiDict(pairs)


def sessions(event_id: int) -> list[ProgrammeSession]:
    return list(db.session.scalars(
        db.select(ProgrammeSession).where(ProgrammeSession.event_id == event_id)
        .order_by(ProgrammeSession.id)))


def audit_actions(event_id: int) -> list[str]:
    return list(db.session.scalars(
        db.select(AuditEntry.action).where(AuditEntry.event_id == event_id,
                                           AuditEntry.action.like("programme_session.%"))
        .order_by(AuditEntry.id)))


def new_url(world: dict[str, Any]) -> str:
    return f"/manage/events/{world['event']}/programme/new"


def test_an_organizer_adds_a_session_with_speakers_and_it_is_listed_and_audited(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, Any]
) -> None:
    auth.member(world["event"], "organizer")
    page = client.get(new_url(world))
    assert page.status_code == 200
    doc = parse(page.get_data(as_text=True))
    # Speakers are offered by their real name, staff only; another event's are not.
    picker = doc.one(id="speakers").text
    assert "Young-ho Kim" in picker and "Seo-yeon Lee" in picker and "Tanaka" not in picker
    response = client.post(new_url(world), data=form(
        world, speakers=[world["kim"], world["lee"]], **{f"part-{world['lee']}": "moderator"},
        title_ko="개회 토론", signup=None))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/manage/events/{world['event']}/programme")
    with app.app_context():
        [made] = sessions(world["event"])
        assert (made.title, made.title_ko, made.room, made.spoken_language, made.channels) == (
            "Opening panel", "개회 토론", "Hall A", "ko", "en")
        assert made.starts_at == time(9) and made.ends_at == time(10, 30) and made.public
        # The moderator is printed first.
        assert [(s.speaker_id, s.part) for s in made.speakers] == [
            (world["lee"], "moderator"), (world["kim"], "speaker")]
        assert audit_actions(world["event"]) == ["programme_session.create"]
    listing = client.get(f"/manage/events/{world['event']}/programme").get_data(as_text=True)
    row = parse(listing).one(id=f"session-{made.id}").text
    assert "Opening panel" in row and "Hall A" in row and "Young-ho Kim" in row
    assert "Seo-yeon Lee (Moderator)" in row


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"ends_at": "08:00"}, "ends_at", "must end after it starts"),
        ({"title": "", "title_ko": "", "title_ja": ""}, "title", "title in at least one"),
        ({"title": "x" * 201}, "title", "200"),
        ({"room": "r" * 121}, "room", "120"),
        ({"description": "d" * 5001}, "description", "5000"),
        ({"signup": "y"}, "signup", "Only roundtables, side events and receptions"),
        ({"kind": "banquet"}, "kind", "Not a valid choice"),
        ({"day": "2001-01-01"}, "day", "Not a valid choice"),
        ({"starts_at": "9 o'clock"}, "starts_at", "time"),
        ({"kind": "roundtable", "signup": "y", "capacity": "-3"}, "capacity", "0 to 100000"),
        ({"speakers": ["999999"]}, "speakers", "Choose speakers of this event"),
        ({"channels": ["fr"]}, "channels", "Choose interpretation channels"),
        ({"speakers": ["KIM"], "part-KIM": "chair"}, "speakers", "Choose the part"),
    ],
)
def test_a_refused_session_comes_back_with_the_message_beside_the_field_and_values_kept(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, Any],
    values: dict[str, Any], field: str, message: str,
) -> None:
    auth.member(world["event"], "organizer")
    if values.get("speakers") == ["KIM"]:
        values = {"speakers": [world["kim"]], f"part-{world['kim']}": "chair"}
    data = form(world, description_ko="설명을 남겨 둡니다", **values)
    response = client.post(new_url(world), data=data)
    assert response.status_code == 200
    doc = parse(response.get_data(as_text=True))
    error = doc.one(id=f"{field}-error")
    assert message in error.text, error.text
    assert doc.one(id="error-summary") is not None
    # Everything typed is still there.
    assert doc.one("textarea", id="description_ko").text == "설명을 남겨 둡니다"
    if field != "room":
        assert doc.one("input", id="room").get("value") == "Hall A"
    with app.app_context():
        assert sessions(world["event"]) == []
        assert audit_actions(world["event"]) == []


def test_a_room_clash_is_refused_beside_the_room_then_saved_when_staff_say_they_know(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, Any]
) -> None:
    auth.member(world["event"], "organizer")
    assert client.post(new_url(world), data=form(world)).status_code == 303
    # The same room written another way, half an hour later: still the same room at once.
    clash = form(world, title="Second panel", room="  hall   A ", starts_at="10:00",
                 ends_at="11:00")
    response = client.post(new_url(world), data=clash)
    assert response.status_code == 200
    doc = parse(response.get_data(as_text=True))
    assert "already taken at that time by “Opening panel” (09:00–10:30)" in doc.one(
        id="room-error").text
    assert doc.one("input", id="title").get("value") == "Second panel"
    assert doc.one(id="clash-box") is not None
    with app.app_context():
        assert len(sessions(world["event"])) == 1
    # Back to back in the same room is no clash; another day is none either.
    assert client.post(new_url(world), data=form(
        world, title="Next", starts_at="10:30", ends_at="11:00")).status_code == 303
    assert client.post(new_url(world), data=form(
        world, title="Day two", day=world["days"][1])).status_code == 303
    # Ticked: saved, and the audit entry names what it clashes with.
    saved = client.post(new_url(world), data=form(world, title="Second panel",
                                                   room="hall a", starts_at="10:00",
                                                   ends_at="11:00", accept_clashes="y"))
    assert saved.status_code == 303
    with app.app_context():
        rows = sessions(world["event"])
        assert [s.title for s in rows] == ["Opening panel", "Next", "Day two", "Second panel"]
        entry = db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.object_id == rows[-1].id,
            AuditEntry.action == "programme_session.create")).one()
        assert entry.detail["clashes_accepted"] == sorted([rows[0].id, rows[1].id])
    listing = parse(client.get(f"/manage/events/{world['event']}/programme")
                    .get_data(as_text=True))
    assert "Clash" in listing.one(id=f"session-{rows[-1].id}").text
    assert "Clash" not in listing.one(id=f"session-{rows[2].id}").text
    assert listing.one(id="clash-notice") is not None


def test_a_speaker_clash_is_refused_beside_the_speakers_then_saved_with_the_box(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, Any]
) -> None:
    auth.member(world["event"], "organizer")
    assert client.post(new_url(world), data=form(
        world, speakers=[world["kim"]])).status_code == 303
    other_room = form(world, title="Parallel roundtable", kind="roundtable", room="Room 2",
                      starts_at="10:00", ends_at="11:00", speakers=[world["kim"], world["lee"]])
    response = client.post(new_url(world), data=other_room)
    assert response.status_code == 200
    doc = parse(response.get_data(as_text=True))
    error = doc.one(id="speakers-error").text
    assert "Young-ho Kim already speaks at that time in “Opening panel”" in error
    assert doc.find(id="room-error") is None
    # The ticks are kept.
    ticked = [i.get("value") for i in doc.find_all("input", name="speakers")
              if i.get("checked") is not None]
    assert ticked == [str(world["kim"]), str(world["lee"])]
    with app.app_context():
        assert len(sessions(world["event"])) == 1
    other_room.add("accept_clashes", "y")
    assert client.post(new_url(world), data=other_room).status_code == 303
    with app.app_context():
        assert len(sessions(world["event"])) == 2


def test_an_edit_changes_the_session_bumps_its_sequence_and_an_unchanged_one_writes_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, Any]
) -> None:
    auth.member(world["event"], "organizer")
    client.post(new_url(world), data=form(world, speakers=[world["kim"]],
                                          description="Long text\n\nin two paragraphs"))
    with app.app_context():
        [made] = sessions(world["event"])
        session_id, sequence = made.id, made.sequence
    url = f"/manage/events/{world['event']}/programme/{session_id}/edit"
    page = parse(client.get(url).get_data(as_text=True))
    assert page.one("input", id="title").get("value") == "Opening panel"
    assert page.one("input", id="speakers-0").get("checked") is not None
    # Submitted as the page shows it: nothing written.
    unchanged = client.post(url, data=form(world, speakers=[world["kim"]],
                                           description="Long text\n\nin two paragraphs"),
                            follow_redirects=True)
    assert "Nothing changed." in unchanged.get_data(as_text=True)
    with app.app_context():
        assert audit_actions(world["event"]) == ["programme_session.create"]
        assert db.session.get(ProgrammeSession, session_id).sequence == sequence
    changed = client.post(url, data=form(world, title="Opening plenary", speakers=[world["lee"]],
                                         description="Long text\n\nin two paragraphs"))
    assert changed.status_code == 303
    with app.app_context():
        session = db.session.get(ProgrammeSession, session_id)
        assert session.title == "Opening plenary" and session.sequence == sequence + 1
        assert [s.speaker_id for s in session.speakers] == [world["lee"]]
        assert db.session.scalar(db.select(db.func.count()).select_from(SessionSpeaker)) == 1
        entry = db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.action == "programme_session.update")).one()
        assert set(entry.detail["changed"]) == {"title", "speakers"}


def test_a_session_is_deleted_after_a_confirmation_page(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, Any]
) -> None:
    auth.member(world["event"], "organizer")
    client.post(new_url(world), data=form(world, speakers=[world["kim"]]))
    with app.app_context():
        session_id = sessions(world["event"])[0].id
    url = f"/manage/events/{world['event']}/programme/{session_id}/delete"
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Opening panel" in confirm.get_data(as_text=True)
    with app.app_context():
        assert len(sessions(world["event"])) == 1  # a GET deletes nothing
    assert client.post(url).status_code == 303
    with app.app_context():
        assert sessions(world["event"]) == []
        assert db.session.scalar(db.select(db.func.count()).select_from(SessionSpeaker)) == 0
        assert audit_actions(world["event"]) == ["programme_session.create",
                                                 "programme_session.delete"]


@pytest.mark.parametrize("role", ["reviewer", "door", "liaison"])
def test_other_roles_of_the_event_do_not_find_the_programme_pages(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, Any], role: str
) -> None:
    with app.app_context():
        event = db.session.get(Event, world["event"])
        session_id = services.create_session(event, services.SessionInput(
            day=event.day_list[0], starts_at=time(9), ends_at=time(10), kind="panel",
            texts={"title": "Kept"}), actor=SYSTEM).id
        db.session.commit()
    auth.member(world["event"], role)
    base = f"/manage/events/{world['event']}/programme"
    assert client.get(base).status_code == 404
    for url in (f"{base}/new", f"{base}/{session_id}/edit", f"{base}/{session_id}/delete"):
        assert client.get(url).status_code == 404, url
        assert client.post(url, data=form(world)).status_code == 404, url
    with app.app_context():
        assert [s.title for s in sessions(world["event"])] == ["Kept"]


def test_another_events_session_is_not_found_through_this_event(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, Any]
) -> None:
    auth.admin()
    base = f"/manage/events/{world['event']}/programme/{world['foreign_session']}"
    for url in (f"{base}/edit", f"{base}/delete"):
        assert client.get(url).status_code == 404
        assert client.post(url, data=form(world)).status_code == 404
    # An organizer of the other event alone does not reach this event's programme.
    auth.sign_out()
    auth.member(world["other"], "organizer", email="tokyo@example.org")
    assert client.get(f"/manage/events/{world['event']}/programme").status_code == 404
    with app.app_context():
        foreign = db.session.get(ProgrammeSession, world["foreign_session"])
        assert foreign is not None and foreign.title == "Tokyo opening"


def test_a_session_attendees_signed_up_for_is_not_deleted(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, Any]
) -> None:
    with app.app_context():
        event = db.session.get(Event, world["event"])
        made = services.create_session(event, services.SessionInput(
            day=event.day_list[0], starts_at=time(18), ends_at=time(20), kind="reception",
            texts={"title": "Welcome reception"}, signup=True, capacity=40), actor=SYSTEM)
        registration = make_registration(event=event)
        db.session.add(SessionSignup(session_id=made.id, registration_id=registration.id,
                                     status="confirmed"))
        db.session.commit()
        session_id = made.id
    auth.member(world["event"], "organizer")
    response = client.post(f"/manage/events/{world['event']}/programme/{session_id}/delete")
    assert response.status_code == 200
    assert "Cancel their sign-ups before deleting it" in parse(
        response.get_data(as_text=True)).one(id="error-summary").text
    with app.app_context():
        assert db.session.get(ProgrammeSession, session_id) is not None
        assert "programme_session.delete" not in audit_actions(world["event"])
