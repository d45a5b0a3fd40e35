"""The public programme: by day and by room, in the reader's language, with speakers shown only
as they chose to appear; its calendar feed and per-session files; and the programme in the
confirmation email, in the recipient's language. Sessions that are not public, and drafts,
do not exist for the public."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
import vobject
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import parse

from nkhr_events.audit.services import SYSTEM
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.outbox.services import write_body
from nkhr_events.programme import services
from nkhr_events.programme.models import Speaker
from nkhr_events.web import LANGUAGE_COOKIE

REAL_NAME_OF_PSEUDONYMOUS = "Quillon Vexmarrow"


def speaker(event: Event, given: str, family: str, **values: Any) -> Speaker:
    row = Speaker(event_id=event.id, given_name=given, family_name=family,
                  email=f"{given.lower()}@example.org", email_key=f"{given.lower()}@example.org",
                  **values)
    db.session.add(row)
    db.session.flush()
    return row


def session(event: Event, day: int, start: int, end: int, title: str, room: str = "",
            speakers: list[tuple[int, str]] | None = None, **values: Any) -> int:
    texts = {"title": title, "room": room, **values.pop("texts", {})}
    made = services.create_session(event, services.SessionInput(
        day=event.day_list[day], starts_at=time(start), ends_at=time(end),
        kind=values.pop("kind", "panel"), texts=texts, speakers=speakers or [], **values,
    ), actor=SYSTEM)
    return made.id


@pytest.fixture
def world(app: Flask) -> dict[str, Any]:
    """A two-day programme in two rooms: a speaker by name, one under a pseudonym, one "to be
    announced" by choice and one who has not confirmed yet; a session that is not public."""
    with app.app_context():
        event = make_event(title="Seoul Conference", title_ko="서울 회의", timezone="Asia/Seoul")
        named = speaker(event, "Young-ho", "Kim", status="confirmed", appearance="name")
        hidden = speaker(event, "Quillon", "Vexmarrow", status="confirmed",
                         appearance="pseudonym", pseudonym="A witness from Hamgyong")
        tba = speaker(event, "Tobias", "Unnamed", status="confirmed", appearance="tba")
        invited = speaker(event, "Ina", "Waiting", status="invited", appearance="name")
        ids = {
            "slug": event.slug, "event": event.id, "named": named.id, "hidden": hidden.id,
            "tba": tba.id,
            "opening": session(event, 0, 9, 10, "Opening", "Hall A",
                               [(named.id, "moderator"), (hidden.id, "speaker")],
                               texts={"title_ko": "개회식", "room_ko": "A홀"},
                               spoken_language="ko", channels=["en", "ja"]),
            "testimony": session(event, 0, 10, 12, "Testimonies", "Room 2",
                                 [(tba.id, "speaker"), (invited.id, "discussant")],
                                 closed_door=True),
            "lunch": session(event, 0, 12, 13, "Lunch", "Hall A", kind="break"),
            "day_two": session(event, 1, 9, 11, "Accountability", "Hall A", [(named.id,
                                                                             "speaker")]),
            "closed": session(event, 1, 14, 15, "Donor briefing", "Room 9", public=False),
        }
        db.session.commit()
        return ids


def page(client: FlaskClient, world: dict[str, Any], query: str = "") -> str:
    response = client.get(f"/events/{world['slug']}/programme{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_programme_by_day_lists_public_sessions_in_time_order(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    doc = parse(page(client, world))
    days = doc.find_all("section", class_="programme-day")
    assert len(days) == 2
    first = [li.get("id") for li in days[0].find_all("li", class_="session session-panel")]
    titles = [h.text for h in days[0].find_all("h3")]
    assert titles == ["Opening", "Testimonies", "Lunch"]
    assert first == [f"session-{world['opening']}", f"session-{world['testimony']}"]
    assert [h.text for h in days[1].find_all("h3")] == ["Accountability"]
    opening = doc.one(id=f"session-{world['opening']}").text
    assert "9:00 AM – 10:00 AM" in opening and "Hall A" in opening and "Panel" in opening
    assert "In Korean" in opening and "Interpretation: English, Japanese" in opening
    testimony = doc.one(id=f"session-{world['testimony']}")
    assert "closed to press, not recorded" in testimony.one(class_="closed-door").text
    assert doc.find(class_="closed-door") is testimony.find(class_="closed-door")


def test_the_programme_by_room_groups_each_day_per_room(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    doc = parse(page(client, world, "?by=room"))
    first_day = doc.find_all("section", class_="programme-day")[0]
    rooms = first_day.find_all("section", class_="programme-room")
    assert [r.find("h3").text for r in rooms] == ["Hall A", "Room 2"]
    assert [h.text for h in rooms[0].find_all("h4")] == ["Opening", "Lunch"]
    assert [h.text for h in rooms[1].find_all("h4")] == ["Testimonies"]
    assert doc.one("a", href=f"/events/{world['slug']}/programme?by=room").get(
        "aria-current") == "page"


def test_a_session_that_is_not_public_is_on_no_public_page_or_feed(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    assert "Donor briefing" not in page(client, world)
    assert "Donor briefing" not in page(client, world, "?by=room")
    feed = client.get(f"/events/{world['slug']}/programme.ics").get_data(as_text=True)
    assert "Donor briefing" not in feed and "Accountability" in feed
    assert client.get(
        f"/events/{world['slug']}/programme/{world['closed']}.ics").status_code == 404


def test_a_draft_events_programme_does_not_exist(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    with app.app_context():
        db.session.get(Event, world["event"]).status = EventStatus.DRAFT
        db.session.commit()
    slug = world["slug"]
    for path in (f"/events/{slug}/programme", f"/events/{slug}/programme?by=room",
                 f"/events/{slug}/programme.ics",
                 f"/events/{slug}/programme/{world['opening']}.ics"):
        assert client.get(path).status_code == 404, path


def test_another_events_session_file_is_not_found_under_this_event(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    with app.app_context():
        other = make_event()
        foreign = session(other, 0, 9, 10, "Elsewhere")
        db.session.commit()
    assert client.get(f"/events/{world['slug']}/programme/{foreign}.ics").status_code == 404


def test_a_korean_reader_reads_korean_titles_and_dates_with_fallbacks_marked(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    client.set_cookie(LANGUAGE_COOKIE, "ko")
    doc = parse(page(client, world))
    opening = doc.one(id=f"session-{world['opening']}")
    assert opening.find("h3").text == "개회식"
    assert "A홀" in opening.text
    assert "오전 9:00" in opening.text
    heading = doc.find_all("section", class_="programme-day")[0].find("h2").text
    assert heading.startswith("2") and "년" in heading and "요일" in heading
    # No Korean title: the English one, marked as English.
    testimony = doc.one(id=f"session-{world['testimony']}").find("h3")
    assert testimony.one("span", lang="en").text == "Testimonies"


def test_speakers_appear_only_as_they_chose(
    client: FlaskClient, world: dict[str, Any]
) -> None:
    html = page(client, world)
    doc = parse(html)
    opening = doc.one(id=f"session-{world['opening']}").one(class_="session-speakers")
    assert "Young-ho Kim" in opening.text and "(Moderator)" in opening.text
    assert "A witness from Hamgyong" in opening.text
    testimony = doc.one(id=f"session-{world['testimony']}").one(class_="session-speakers")
    assert testimony.text.count("To be announced") == 2
    for text in (html, page(client, world, "?by=room"),
                 client.get(f"/events/{world['slug']}/programme.ics").get_data(as_text=True)):
        for hidden in ("Vexmarrow", "Quillon", "Tobias", "Unnamed", "Ina Waiting"):
            assert hidden not in text
    # Only an announced speaker is linked to a speaker page.
    links = [a.get("href") for a in doc.find_all("a")
             if "/speakers/" in (a.get("href") or "")]
    for href in links:
        assert href.rsplit("/", 1)[-1] in (str(world["named"]), str(world["hidden"]))


def test_the_feed_and_a_session_file_parse_with_stable_uids_and_utc_times(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    response = client.get(f"/events/{world['slug']}/programme.ics")
    assert response.headers["Content-Type"].startswith("text/calendar")
    calendar = vobject.readOne(response.get_data(as_text=True))
    events = calendar.vevent_list
    assert [e.summary.value for e in events] == ["Opening", "Testimonies", "Lunch",
                                                 "Accountability"]
    opening = events[0]
    with app.app_context():
        day = db.session.get(Event, world["event"]).day_list[0]
    # 09:00 in Seoul is midnight UTC.
    assert opening.dtstart.value == datetime(day.year, day.month, day.day, 0, 0, tzinfo=UTC)
    assert opening.uid.value == f"programme-session-{world['opening']}@localhost"
    assert opening.sequence.value == "0"
    assert "A witness from Hamgyong" in opening.description.value
    assert "Hall A" in opening.location.value
    one = client.get(f"/events/{world['slug']}/programme/{world['opening']}.ics")
    single = vobject.readOne(one.get_data(as_text=True))
    assert [e.uid.value for e in single.vevent_list] == [opening.uid.value]
    # A change raises SEQUENCE under the same UID.
    with app.app_context():
        from nkhr_events.programme.models import ProgrammeSession

        row = db.session.get(ProgrammeSession, world["opening"])
        changed = services.update_session(row, services.SessionInput(
            day=row.day, starts_at=time(9, 30), ends_at=row.ends_at, kind=row.kind,
            texts={"title": "Opening", "title_ko": "개회식", "room": "Hall A",
                   "room_ko": "A홀"},
            spoken_language="ko", channels=["en", "ja"],
            speakers=[(world["named"], "moderator"), (world["hidden"], "speaker")],
        ), actor=SYSTEM)
        db.session.commit()
        assert changed
    again = vobject.readOne(client.get(
        f"/events/{world['slug']}/programme/{world['opening']}.ics").get_data(as_text=True))
    assert again.vevent.uid.value == opening.uid.value and again.vevent.sequence.value == "1"
    # In Korean, the same UID with the Korean title.
    client.set_cookie(LANGUAGE_COOKIE, "ko")
    korean = vobject.readOne(client.get(
        f"/events/{world['slug']}/programme/{world['opening']}.ics").get_data(as_text=True))
    assert korean.vevent.summary.value == "개회식"
    assert korean.vevent.uid.value == opening.uid.value


def test_the_event_page_links_to_the_programme_once_it_has_a_public_session(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    doc = parse(client.get(f"/events/{world['slug']}").get_data(as_text=True))
    assert doc.one(id="programme-link").find("a").get("href") == (
        f"/events/{world['slug']}/programme")
    with app.app_context():
        bare = make_event()
        session(bare, 0, 9, 10, "Only for attendees", public=False)
        db.session.commit()
        slug = bare.slug
    assert parse(client.get(f"/events/{slug}").get_data(as_text=True)).find(
        id="programme-link") is None


@pytest.mark.parametrize(
    ("language", "title", "date_mark", "other_title"),
    [("ko", "개회식", "년", "Accountability"), ("en", "Opening", "2", "Accountability")],
)
def test_the_confirmation_email_carries_the_programme_in_the_recipients_language(
    app: Flask, world: dict[str, Any], language: str, title: str, date_mark: str,
    other_title: str,
) -> None:
    with app.app_context():
        registration = make_registration(event=world["event"], language=language,
                                         email=f"reader-{language}@example.org")
        db.session.commit()
        message = db.session.scalars(db.select(OutboxMessage).where(
            OutboxMessage.registration_id == registration.id,
            OutboxMessage.template == "registration_confirmed")).one()
        text, html = write_body(message, keep=False)
        html = html or ""
        day = db.session.get(Event, world["event"]).day_list[0]
    for body in (text, html):
        assert title in body and other_title in body
        assert "A witness from Hamgyong" in body
        assert "Donor briefing" not in body
        for hidden in ("Vexmarrow", "Tobias", "Ina Waiting"):
            assert hidden not in body
    if language == "ko":
        assert f"{day.year}년 {day.month}월 {day.day}일" in text
        assert "오전 9:00" in text
    else:
        assert f"{day.strftime('%B')} {day.day}, {day.year}" in text
        assert "9:00 AM" in text
    assert f"/events/{world['slug']}/programme" in text
