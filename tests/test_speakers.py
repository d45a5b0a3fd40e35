"""Speakers: invited by a private link emailed in their language, they accept or decline, write
their texts, send a photo (re-encoded on the server), state needs (stored encrypted) and choose
how they appear. Staff pages are the organizers' alone; needs need READ_NEEDS."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from conftest import AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from markup import parse
from PIL import Image, PngImagePlugin
from smtp import SMTPServer, deliver_and_read, smtp_settings
from sqlalchemy import text

from nkhr_events.accounts import access
from nkhr_events.accounts.access import Permission
from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.privacy.services import purge
from nkhr_events.programme import display, speakers
from nkhr_events.programme.models import Appearance, Speaker, SpeakerStatus


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def new_event(app: Flask, **overrides: object) -> int:
    with app.app_context():
        event_id = make_event(**overrides).id
        db.session.commit()
        return event_id


def invite(
    app: Flask,
    event_id: int,
    email: str = "cheolsu@example.org",
    language: str = "ko",
    given: str = "철수",
    family: str = "김",
) -> int:
    with app.app_context():
        event = db.session.get(speakers.Event, event_id)
        speaker = speakers.invite_speaker(
            event, speakers.SpeakerInput(given, family, email, language), actor=SYSTEM
        )
        db.session.commit()
        return speaker.id


def link_for(app: Flask, server: SMTPServer, address: str) -> str:
    """The path of the private link in the latest email to `address`."""
    bodies = deliver_and_read(app, server, address)
    assert bodies, f"no email to {address}"
    found = re.search(r"http://localhost(/speaker/[A-Za-z0-9_-]+)", bodies[-1])
    assert found is not None, bodies[-1]
    return found.group(1)


def speaker_row(app: Flask, speaker_id: int) -> Speaker:
    with app.app_context():
        found = db.session.get(Speaker, speaker_id)
        assert found is not None
        _ = found.photo
        db.session.expunge_all()
        return found


def audit_count(app: Flask, speaker_id: int) -> int:
    with app.app_context():
        return len(list(db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.object_type == "speaker", AuditEntry.object_id == speaker_id))))


def answers(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "answer": "confirmed",
        "appearance": "name",
        "pseudonym": "",
        "affiliation": "",
        "bio": "",
        "needs": "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def png_with_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Secret Photographer")
    info.add_text("Comment", "GPS 37.5665N 126.9780E")
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


# --- the invitation ---------------------------------------------------------------------------


def test_staff_invite_emails_the_link_in_the_speakers_language_and_it_opens_their_page(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    auth.organizer()
    response = client.post(f"/manage/events/{event_id}/speakers/new", data={
        "given_name": "철수", "family_name": "김", "email": "cheolsu@example.org",
        "language": "ko", "affiliation": "통일연구원",
    })
    assert response.status_code == 303
    auth.sign_out()
    with app.app_context():
        speaker = db.session.scalar(db.select(Speaker))
        assert speaker is not None
        assert (speaker.status, speaker.appearance, speaker.full_name) == (
            "invited", "tba", "김철수")
    bodies = deliver_and_read(app, smtp_server, "cheolsu@example.org")
    assert len(bodies) == 1
    with app.test_request_context(), force_locale("ko"):
        hello, date = gettext("Hello %(name)s,", name="김철수"), gettext("Date")
    assert hello != "Hello 김철수," and hello in bodies[0]  # greeted in Korean, family name first
    assert f"{date}:" in bodies[0]
    path = link_for(app, smtp_server, "cheolsu@example.org")
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'lang="ko"' in html
    assert "김철수" in html  # the speaker sees their own name


def test_the_invitation_email_is_in_english_for_an_english_speaker(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    invite(app, event_id, "ada@example.org", "en", "Ada", "Lovelace")
    bodies = deliver_and_read(app, smtp_server, "ada@example.org")
    assert "Hello Ada," in bodies[0]
    assert "invite you to speak" in bodies[0]
    assert smtp_server.messages[-1]["Subject"].startswith("Invitation to speak")


def test_resend_sends_a_new_link_and_the_first_keeps_working(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    speaker_id = invite(app, event_id)
    first = link_for(app, smtp_server, "cheolsu@example.org")
    auth.organizer()
    response = client.post(f"/manage/events/{event_id}/speakers/{speaker_id}/resend")
    assert response.status_code == 303
    auth.sign_out()
    second = link_for(app, smtp_server, "cheolsu@example.org")
    assert first != second
    assert client.get(first).status_code == 200
    assert client.get(second).status_code == 200


def test_inviting_the_same_address_twice_is_refused_beside_the_email_field(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = new_event(app)
    invite(app, event_id)
    auth.organizer()
    response = client.post(f"/manage/events/{event_id}/speakers/new", data={
        "given_name": "Other", "family_name": "", "email": "CHEOLSU@example.org",
        "language": "en",
    })
    assert response.status_code == 200
    error = parse(response.get_data(as_text=True)).one(id="email-error")
    assert "already invited" in error.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Speaker.id))) == 1


def test_an_unknown_or_expired_link_says_so_without_telling_anything(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    invite(app, event_id)
    path = link_for(app, smtp_server, "cheolsu@example.org")
    unknown = client.get("/speaker/" + "x" * 43)
    assert unknown.status_code == 404
    assert "This link does not work" in unknown.get_data(as_text=True)
    assert client.post("/speaker/" + "x" * 43, data=answers()).status_code == 404
    with app.app_context():
        db.session.execute(text("UPDATE speaker_token SET expires_at = '2000-01-01 00:00:00'"))
        db.session.commit()
    expired = client.get(path)
    assert expired.status_code == 404
    assert expired.get_data(as_text=True) == unknown.get_data(as_text=True)


# --- answers ----------------------------------------------------------------------------------


def test_accepting_links_the_registration_with_the_same_address_and_declining_is_recorded(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    with app.app_context():
        registration_id = make_registration(event=event_id, email="Cheolsu@Example.org").id
        db.session.commit()
    speaker_id = invite(app, event_id)
    path = link_for(app, smtp_server, "cheolsu@example.org")
    response = client.post(path, data=answers(answer="confirmed"))
    assert response.status_code == 303
    row = speaker_row(app, speaker_id)
    assert row.status == SpeakerStatus.CONFIRMED
    assert row.registration_id == registration_id
    assert row.answered_at is not None
    client.post(path, data=answers(answer="declined"))
    assert speaker_row(app, speaker_id).status == SpeakerStatus.DECLINED
    with app.app_context():
        actions = list(db.session.scalars(db.select(AuditEntry.action).where(
            AuditEntry.object_type == "speaker").order_by(AuditEntry.id)))
        actors = set(db.session.scalars(db.select(AuditEntry.actor).where(
            AuditEntry.action.in_(["speaker.accept", "speaker.decline"]))))
    assert actions[:1] == ["speaker.invite"]
    assert "speaker.accept" in actions and "speaker.decline" in actions
    assert actors == {"attendee"}


def test_an_unchanged_submission_changes_nothing_and_writes_no_audit_entry(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    speaker_id = invite(app, event_id)
    path = link_for(app, smtp_server, "cheolsu@example.org")
    data = answers(appearance="pseudonym", pseudonym="Witness A", bio="연구자", needs="휠체어")
    assert client.post(path, data=data).status_code == 303
    before = audit_count(app, speaker_id)
    updated = speaker_row(app, speaker_id).updated_at
    response = client.post(path, data=data, follow_redirects=True)
    with app.test_request_context(), force_locale("ko"):
        nothing = gettext("Nothing changed.")
    assert nothing in response.get_data(as_text=True)
    assert audit_count(app, speaker_id) == before
    assert speaker_row(app, speaker_id).updated_at == updated


def test_appearance_choices_decide_the_public_name(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    speaker_id = invite(app, event_id)
    path = link_for(app, smtp_server, "cheolsu@example.org")
    with app.app_context(), app.test_request_context():
        assert display.public_name(db.session.get(Speaker, speaker_id)) == "To be announced"
    client.post(path, data=answers(appearance="pseudonym", pseudonym="Witness A"))
    with app.app_context(), app.test_request_context():
        assert display.public_name(db.session.get(Speaker, speaker_id)) == "Witness A"
    client.post(path, data=answers(appearance="name"))
    with app.app_context(), app.test_request_context():
        found = db.session.get(Speaker, speaker_id)
        assert display.public_name(found) == "김철수"
        assert found.pseudonym == "Witness A"  # kept, never shown
    client.post(path, data=answers(appearance="tba"))
    with app.app_context(), app.test_request_context():
        assert display.public_name(db.session.get(Speaker, speaker_id)) == "To be announced"


def test_a_pseudonym_chosen_without_the_name_is_refused_beside_the_field_with_values_kept(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    speaker_id = invite(app, event_id, language="en")
    path = link_for(app, smtp_server, "cheolsu@example.org")
    response = client.post(path, data=answers(appearance="pseudonym", bio="Researcher of camps"))
    assert response.status_code == 200
    doc = parse(response.get_data(as_text=True))
    assert "Enter the name you appear under" in doc.one(id="pseudonym-error").text
    assert "Researcher of camps" in doc.one(id="bio").text
    assert speaker_row(app, speaker_id).status == SpeakerStatus.INVITED


def test_needs_are_stored_encrypted(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    speaker_id = invite(app, event_id)
    path = link_for(app, smtp_server, "cheolsu@example.org")
    client.post(path, data=answers(needs="Wheelchair; escort from the airport"))
    assert speaker_row(app, speaker_id).needs == "Wheelchair; escort from the airport"
    with app.app_context():
        raw = db.session.execute(
            text("SELECT needs FROM speaker WHERE id = :id"), {"id": speaker_id}
        ).scalar_one()
    assert "Wheelchair" not in str(raw)


# --- the photo --------------------------------------------------------------------------------


def test_a_photo_is_re_encoded_without_its_metadata_and_shown_only_where_chosen(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    speaker_id = invite(app, event_id, language="en", given="Ada", family="Lovelace")
    path = link_for(app, smtp_server, "cheolsu@example.org")
    sent = png_with_metadata()
    response = client.post(path, data={
        **answers(appearance="name", show_photo="y"),
        "photo": (io.BytesIO(sent), "me.png"),
    }, content_type="multipart/form-data")
    assert response.status_code == 303
    row = speaker_row(app, speaker_id)
    with app.app_context():
        stored = db.session.get(Speaker, speaker_id).photo.data
    assert stored != sent
    assert b"Secret Photographer" not in stored and b"GPS" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.format == "PNG" and image.size == (40, 30)
    assert not {k for k in image.info if k not in ("dpi",)} - {"transparency"}
    assert row.photo is not None
    with app.app_context():
        slug = db.session.get(speakers.Event, event_id).slug
    public = client.get(f"/events/{slug}/speakers/{speaker_id}/photo.png")
    assert public.status_code == 200 and public.data == stored
    # Under a pseudonym the photo is not public, even if chosen.
    client.post(path, data=answers(appearance="pseudonym", pseudonym="Witness A", show_photo="y"))
    assert client.get(f"/events/{slug}/speakers/{speaker_id}/photo.png").status_code == 404
    # The speaker still sees it on their own page.
    assert client.get(path + "/photo.png").data == stored


def test_a_file_that_is_not_an_image_is_refused_beside_the_field(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    speaker_id = invite(app, event_id, language="en")
    path = link_for(app, smtp_server, "cheolsu@example.org")
    response = client.post(path, data={
        **answers(bio="Kept text"),
        "photo": (io.BytesIO(b"%PDF-1.4 not an image"), "cv.pdf"),
    }, content_type="multipart/form-data")
    assert response.status_code == 200
    doc = parse(response.get_data(as_text=True))
    assert "not a PNG, JPEG or WebP" in doc.one(id="photo-error").text
    assert "Kept text" in doc.one(id="bio").text
    row = speaker_row(app, speaker_id)
    assert row.photo is None and row.status == SpeakerStatus.INVITED


def test_a_good_photo_with_another_mistake_is_not_saved_and_the_page_says_so(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    speaker_id = invite(app, event_id, language="en")
    path = link_for(app, smtp_server, "cheolsu@example.org")
    response = client.post(path, data={
        **answers(appearance="pseudonym", pseudonym=""),
        "photo": (io.BytesIO(png_with_metadata()), "me.png"),
    }, content_type="multipart/form-data")
    assert response.status_code == 200
    doc = parse(response.get_data(as_text=True))
    assert "choose it again" in doc.one(id="photo-error").text
    assert speaker_row(app, speaker_id).photo is None


# --- staff pages ------------------------------------------------------------------------------


def test_reviewers_and_door_staff_get_404_on_every_speaker_page(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = new_event(app)
    speaker_id = invite(app, event_id)
    pages = [
        f"/manage/events/{event_id}/speakers",
        f"/manage/events/{event_id}/speakers/new",
        f"/manage/events/{event_id}/speakers/{speaker_id}",
        f"/manage/events/{event_id}/programme/crew",
    ]
    for role in ("reviewer", "door", "liaison"):
        auth.member(event_id, role)
        for page in pages:
            assert client.get(page).status_code == 404, (role, page)
        assert client.post(
            f"/manage/events/{event_id}/speakers/{speaker_id}/resend").status_code == 404
        auth.sign_out()


def test_another_events_speaker_answers_404(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = new_event(app)
    other_id = new_event(app)
    speaker_id = invite(app, other_id)
    auth.member(event_id, "organizer")
    assert client.get(f"/manage/events/{event_id}/speakers/{speaker_id}").status_code == 404
    assert client.get(f"/manage/events/{other_id}/speakers").status_code == 404


def test_needs_are_shown_only_with_read_needs(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event_id = new_event(app)
    speaker_id = invite(app, event_id)
    path = link_for(app, smtp_server, "cheolsu@example.org")
    client.post(path, data=answers(needs="Escort from the airport"))
    auth.member(event_id, "organizer")
    page = client.get(f"/manage/events/{event_id}/speakers/{speaker_id}")
    assert page.status_code == 200
    assert "Escort from the airport" in page.get_data(as_text=True)
    assert "김철수" in page.get_data(as_text=True)
    with app.app_context():
        looked = db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.action == "speaker.view")).one()
        assert looked.object_id == speaker_id and looked.detail == {"needs": True}
        assert looked.actor == f"organizer-{event_id}@example.org"
    auth.sign_out()
    # No role today edits an event without reading needs; one that did would not see them.
    monkeypatch.setitem(access.ROLE_PERMISSIONS, "reviewer",
                        frozenset({Permission.VIEW_ROSTER, Permission.EDIT_EVENT}))
    auth.member(event_id, "reviewer", "editor@example.org")
    page = client.get(f"/manage/events/{event_id}/speakers/{speaker_id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "김철수" in body
    assert "Escort from the airport" not in body
    assert parse(body).find(id="speaker-needs") is None


def test_the_list_shows_real_names_status_and_choices_to_organizers(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    speaker_id = invite(app, event_id)
    path = link_for(app, smtp_server, "cheolsu@example.org")
    client.post(path, data=answers(appearance="pseudonym", pseudonym="Witness A"))
    auth.organizer()
    page = client.get(f"/manage/events/{event_id}/speakers")
    row = parse(page.get_data(as_text=True)).one("tr", data_speaker=str(speaker_id))
    assert "김철수" in row.text and "Witness A" in row.text
    assert row.find(data_record="no") is not None


def test_the_retention_purge_anonymizes_the_events_speakers_and_their_emails(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    speaker_id = invite(app, event_id)
    path = link_for(app, smtp_server, "cheolsu@example.org")
    client.post(path, data={
        **answers(appearance="name", show_photo="y", bio="Bio text", needs="Needs text"),
        "photo": (io.BytesIO(png_with_metadata()), "me.png"),
    }, content_type="multipart/form-data")
    with app.app_context():
        event = db.session.get(speakers.Event, event_id)
        later = datetime.combine(event.end_date, time.max, tzinfo=UTC) + timedelta(
            days=event.retention_days + 1)
        purge(later, actor=SYSTEM)
        db.session.commit()
        mail = list(db.session.scalars(db.select(OutboxMessage).where(
            OutboxMessage.template == "speaker_invitation")))
        assert mail and all("cheolsu" not in m.recipient and "철수" not in m.text_body
                            for m in mail)
    row = speaker_row(app, speaker_id)
    assert row.anonymized_at is not None
    assert "철수" not in row.full_name and "cheolsu" not in row.email
    assert (row.bio, row.needs, row.photo, row.pseudonym) == ("", "", None, "")
    assert row.appearance == Appearance.TBA
    assert client.get(path).status_code == 404



def test_a_pseudonymous_speakers_registration_is_kept_off_lists_and_the_door(
    app: Flask, client: FlaskClient
) -> None:
    """The registration with the speaker's real name cannot be matched to the pseudonym: once
    the speaker appears under a pseudonym it is "do not publish" (off the participant list; the
    door shows the given name only)."""
    from nkhr_events.checkin.door import door_name
    from nkhr_events.events.models import Event
    from nkhr_events.registrations.models import Registration

    event_id = new_event(app, participant_list="public")
    with app.app_context():
        event = db.session.get(Event, event_id)
        registration = make_registration(
            event=event, given_name="철수", family_name="김", email="cheolsu@example.org",
            publish_name=True,
        )
        db.session.commit()
        registration_id, slug = registration.id, event.slug
    listed = client.get(f"/events/{slug}/participants").get_data(as_text=True)
    assert "김철수" in listed  # listed while nothing asks otherwise
    speaker_id = invite(app, event_id)
    with app.app_context():
        speaker = db.session.get(Speaker, speaker_id)
        speakers.update_profile(speaker, speakers.ProfileInput(
            language="ko", affiliation="", bio="", appearance="pseudonym",
            pseudonym="증인 A", show_photo=False, recording_allowed=False, needs=""),
            actor=SYSTEM)
        speakers.answer(speaker, True, actor=SYSTEM)
        db.session.commit()
        found = db.session.get(Registration, registration_id)
        assert speaker.registration_id == registration_id
        assert found.do_not_publish
        assert door_name(found) == "철수"
    listed = client.get(f"/events/{slug}/participants").get_data(as_text=True)
    assert "김철수" not in listed and "증인 A" not in listed
