"""A speaker under a pseudonym, and one "to be announced", never appear by real name on any
surface others see: the programme page and its calendar files, the speaker pages, the event
page, the participant list, badges, roster exports read by a reviewer, the recording crew's
sheet and the emails sent to other attendees. The crew sheet says who may not be recorded.

Every surface is rendered for real; a named speaker on the same session proves each surface
does show speakers (so that the absence of the others is not an empty page's)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import time
from typing import Any

import pytest
from conftest import AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from openpyxl import load_workbook
from smtp import SMTPServer, deliver_and_read, smtp_settings

from nkhr_events.audit.services import SYSTEM
from nkhr_events.extensions import db
from nkhr_events.programme import speakers
from nkhr_events.programme.models import ProgrammeSession, SessionSpeaker, Speaker

#: The real names of the speaker under a pseudonym ("Witness A") in both scripts (the speaker
#: record in Hangul, their own registration in Latin letters), and of the speaker "to be
#: announced" (Park Min-ji) and the one who has not answered (Lee Young-hee).
REAL_NAMES = (
    "철수", "김철수", "Cheol-su", "Cheolsu",
    "민지", "박민지", "Min-ji",
    "영희", "이영희", "Young-hee",
)
PSEUDONYM = "Witness A"
NAMED = "Ada Lovelace"


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def _speaker(event: Any, given: str, family: str, email: str, **choices: Any) -> Speaker:
    found = speakers.invite_speaker(
        event, speakers.SpeakerInput(given, family, email, "ko"), actor=SYSTEM
    )
    if choices:
        speakers.answer(found, True, actor=SYSTEM)
        speakers.update_profile(found, speakers.ProfileInput(
            language="en",
            affiliation=choices.get("affiliation", ""),
            bio=choices.get("bio", ""),
            appearance=choices["appearance"],
            pseudonym=choices.get("pseudonym", ""),
            show_photo=False,
            recording_allowed=choices.get("recording_allowed", False),
            needs="",
        ), actor=SYSTEM)
    return found


@pytest.fixture
def world(app: Flask) -> dict[str, Any]:
    """An event whose public session has a named speaker, "Witness A" (Kim Cheol-su, whose own
    registration is linked and who may not be recorded), a speaker "to be announced" and one
    who has not answered; a closed-door session; then another attendee registers (their
    confirmation carries the programme)."""
    with app.app_context():
        event = make_event(participant_list="public")
        own = make_registration(event=event, given_name="Cheol-su", family_name="Kim",
                                email="cheolsu@example.org", photo_consent=True,
                                organization="Unification Research Institute")
        witness = _speaker(event, "철수", "김", "cheolsu@example.org", appearance="pseudonym",
                           pseudonym=PSEUDONYM, affiliation="Unification Research Institute",
                           bio="Escaped in 2009 from Hoeryong")
        hidden = _speaker(event, "민지", "박", "minji@example.org", appearance="tba",
                          bio="Former official")
        silent = _speaker(event, "영희", "이", "younghee@example.org")
        named = _speaker(event, "Ada", "Lovelace", "ada@example.org", appearance="name",
                         recording_allowed=True, affiliation="Analytical Society")
        panel = ProgrammeSession(event_id=event.id, day=event.start_date, starts_at=time(10),
                                 ends_at=time(11, 30), kind="panel", title="Testimonies",
                                 room="Hall A", public=True)
        closed = ProgrammeSession(event_id=event.id, day=event.start_date, starts_at=time(14),
                                  ends_at=time(15), kind="roundtable", title="Closed talks",
                                  room="Room 2", public=True, closed_door=True)
        db.session.add_all([panel, closed])
        for position, who in enumerate([named, witness, hidden, silent]):
            panel.speakers.append(SessionSpeaker(speaker=who, position=position))
        closed.speakers.append(SessionSpeaker(speaker=named, position=0))
        other = make_registration(event=event, given_name="Bo", family_name="Other",
                                  email="bo@example.org", publish_name=True)
        db.session.commit()
        assert witness.registration_id == own.id
        from nkhr_events.registrations import links

        other_token = links.issue_manage_token(other)
        db.session.commit()
        return {
            "event_id": event.id, "slug": event.slug, "panel": panel.id, "closed": closed.id,
            "witness": witness.id, "hidden": hidden.id, "silent": silent.id, "named": named.id,
            "other_token": other_token,
        }


def _text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.get_data(as_text=True))


def _xlsx_text(response: Any) -> str:
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    cells = [str(v) for row in book.worksheets[0].iter_rows(values_only=True) for v in row]
    book.close()
    return " ".join(cells)


# Each surface: (what it renders as text, whether the named speaker must appear on it).
Surface = Callable[[Flask, FlaskClient, AuthActions, SMTPServer, dict[str, Any]], str]


def programme_page(app, client, auth, smtp, w) -> str:
    return _text(client.get(f"/events/{w['slug']}/programme"))


def programme_by_room(app, client, auth, smtp, w) -> str:
    return _text(client.get(f"/events/{w['slug']}/programme?by=room"))


def programme_ics(app, client, auth, smtp, w) -> str:
    return _text(client.get(f"/events/{w['slug']}/programme.ics"))


def session_ics(app, client, auth, smtp, w) -> str:
    return _text(client.get(f"/events/{w['slug']}/programme/{w['panel']}.ics"))


def speaker_index(app, client, auth, smtp, w) -> str:
    return _text(client.get(f"/events/{w['slug']}/speakers"))


def speaker_pages(app, client, auth, smtp, w) -> str:
    """Every speaker's page: the announced ones open, the others answer 404."""
    texts = []
    for key in ("named", "witness"):
        texts.append(_text(client.get(f"/events/{w['slug']}/speakers/{w[key]}")))
    for key in ("hidden", "silent"):
        assert client.get(f"/events/{w['slug']}/speakers/{w[key]}").status_code == 404
    for key in ("witness", "hidden", "silent"):
        assert client.get(
            f"/events/{w['slug']}/speakers/{w[key]}/photo.png").status_code == 404
    return "\n".join(texts)


def event_page(app, client, auth, smtp, w) -> str:
    return _text(client.get(f"/events/{w['slug']}"))


def participant_list(app, client, auth, smtp, w) -> str:
    return _text(client.get(f"/events/{w['slug']}/participants"))


def attendee_programme(app, client, auth, smtp, w) -> str:
    """Another attendee's programme, through their manage link."""
    return _text(client.get(f"/registration/{w['other_token']}/programme"))


def attendee_page(app, client, auth, smtp, w) -> str:
    return _text(client.get(f"/registration/{w['other_token']}"))


def badges(app, client, auth, smtp, w) -> str:
    auth.organizer()
    return _text(client.get(f"/manage/events/{w['event_id']}/badges"))


def export_csv(app, client, auth, smtp, w) -> str:
    auth.member(w["event_id"], "reviewer", can_export=True)
    url = f"/manage/events/{w['event_id']}/registrations/export?format=csv"
    return _text(client.get(url + "&columns=name&columns=badge_name&columns=organization"))


def export_xlsx(app, client, auth, smtp, w) -> str:
    auth.member(w["event_id"], "reviewer", can_export=True)
    url = f"/manage/events/{w['event_id']}/registrations/export?format=xlsx"
    return _xlsx_text(client.get(url + "&columns=name&columns=badge_name"))


def crew_sheet(app, client, auth, smtp, w) -> str:
    auth.organizer()
    return _text(client.get(f"/manage/events/{w['event_id']}/programme/crew"))


def emails_to_others(app, client, auth, smtp, w) -> str:
    """Every email that went to anyone but the speakers themselves (the other attendee's
    confirmation carries the programme)."""
    deliver_and_read(app, smtp)
    own = {"cheolsu@example.org", "minji@example.org", "younghee@example.org",
           "ada@example.org"}
    bodies = []
    for message in smtp.messages:
        if message["To"] in own:
            continue
        bodies.append(str(message["Subject"]))
        for part in message.walk():
            if part.get_content_maintype() == "text":
                bodies.append(part.get_content())
    assert bodies, "no email to another attendee"
    return "\n".join(bodies)


#: Surfaces that show the announced speakers (the named one must be on them).
SHOWS_SPEAKERS = {
    "programme_page", "programme_by_room", "programme_ics", "session_ics", "speaker_index",
    "speaker_pages", "attendee_programme", "crew_sheet", "emails_to_others",
}
SURFACES = [
    programme_page, programme_by_room, programme_ics, session_ics, speaker_index,
    speaker_pages, event_page, participant_list, attendee_programme, attendee_page, badges,
    export_csv, export_xlsx, crew_sheet, emails_to_others,
]


#: Staff exports of registrations (read here by a reviewer with export rights): the speaker's
#: own registration is listed, but as "do not publish" (speakers.keep_off_lists): to a reviewer
#: it reads "(protected)", never the name they registered with, and never with the pseudonym
#: beside it (which would tie the two together).
REGISTRATION_LISTS = {"export_csv", "export_xlsx"}


@pytest.mark.parametrize("surface", SURFACES, ids=[s.__name__ for s in SURFACES])
def test_no_real_name_of_a_protected_speaker_on_any_surface(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer,
    world: dict[str, Any], surface: Surface,
) -> None:
    shown = surface(app, client, auth, smtp_server, world)
    listed_registration = surface.__name__ in REGISTRATION_LISTS
    for name in REAL_NAMES:
        assert name not in shown, f"{name!r} on {surface.__name__}"
    # Nor what only the speakers wrote about themselves.
    assert "Hoeryong" not in shown and "Former official" not in shown
    if listed_registration:
        assert "(protected)" in shown  # the registration itself is listed, unnamed...
        assert PSEUDONYM not in shown and "To be announced" not in shown  # ...never linked
    if surface.__name__ in SHOWS_SPEAKERS:
        assert NAMED in shown, f"{surface.__name__} shows no speaker at all"
        assert PSEUDONYM in shown, f"{surface.__name__} lacks the pseudonym"


def test_the_badge_of_the_speakers_registration_carries_the_pseudonym_and_no_photo_marker(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, Any]
) -> None:
    auth.organizer()
    page = parse(_text(client.get(f"/manage/events/{world['event_id']}/badges")))
    names = [p.text for p in page.find_all("p", class_="badge-name")]
    assert PSEUDONYM in names and "Bo Other" in names
    badge = next(li for li in page.find_all("li") if li.has_class("badge")
                 and PSEUDONYM in li.text)
    assert "Unification Research Institute" not in badge.text
    assert badge.find("svg", class_="no-photos-icon") is not None


def test_no_recording_reaches_the_crew_sheet(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, Any]
) -> None:
    auth.organizer()
    page = parse(_text(client.get(f"/manage/events/{world['event_id']}/programme/crew")))
    panel = page.one("p", class_="crew-do-not-record", data_session=str(world["panel"]))
    assert PSEUDONYM in panel.text and "To be announced" in panel.text
    assert NAMED not in panel.text  # she agreed to be recorded
    closed = page.one("p", class_="crew-do-not-record", data_session=str(world["closed"]))
    assert NAMED in closed.text  # a closed-door session records nobody
    assert page.one("section", id=f"crew-session-{world['closed']}").find(
        "p", data_closed="1") is not None
