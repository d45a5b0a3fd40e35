"""Sign-up for sessions with limited places: cap, review, waitlist, promotion in the same
transaction with an email in the promoted person's language, the cascade when a registration
loses its seat, the attendee's programme page, the staff roster, decisions and the session door."""

from __future__ import annotations

from datetime import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from smtp import SMTPServer, smtp_settings

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import ATTENDEE, SYSTEM
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.privacy.services import anonymize_registration
from nkhr_events.programme import signups
from nkhr_events.programme.models import ProgrammeSession, SessionSignup, SignupStatus
from nkhr_events.registrations import services as registrations
from nkhr_events.registrations.links import issue_manage_token
from nkhr_events.registrations.models import Registration
from tests.factories import make_event, make_registration
from tests.markup import parse


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def make_session(event, **overrides) -> ProgrammeSession:
    values = dict(
        event_id=event.id, day=event.day_list[0], starts_at=time(14, 0), ends_at=time(15, 30),
        kind="roundtable", title="Roundtable on accountability", title_ko="책임 규명 원탁회의",
        title_ja="責任追及に関する円卓会議", room="Room 2", signup=True, capacity=2,
    )
    values.update(overrides)
    session = ProgrammeSession(**values)
    db.session.add(session)
    db.session.flush()
    return session


def status_of(signup_id: int) -> str:
    return db.session.get(SessionSignup, signup_id).status


def test_sign_up_up_to_the_cap_then_waitlist(app: Flask) -> None:
    with app.app_context():
        event = make_event()
        session = make_session(event, capacity=2)
        people = [make_registration(event=event) for _ in range(3)]
        made = [signups.sign_up(p, session, actor=ATTENDEE)[0] for p in people]
        assert [s.status for s in made] == ["confirmed", "confirmed", "waitlisted"]
        assert signups.counts(event.id)[session.id] == signups.SessionCount(2, 1)
        # Signing up again changes nothing: the same sign-up, nothing new written.
        entries = db.session.query(AuditEntry).count()
        again, created = signups.sign_up(people[0], session, actor=ATTENDEE)
        assert again.id == made[0].id and not created
        assert db.session.query(AuditEntry).count() == entries
        assert db.session.query(SessionSignup).count() == 3


def test_no_cap_means_a_place_for_everyone_and_review_holds_places_as_pending(app: Flask) -> None:
    with app.app_context():
        event = make_event()
        open_session = make_session(event, capacity=None)
        reviewed = make_session(event, capacity=1, needs_review=True, kind="side_event")
        people = [make_registration(event=event) for _ in range(3)]
        assert {signups.sign_up(p, open_session, actor=ATTENDEE)[0].status
                for p in people} == {"confirmed"}
        first = signups.sign_up(people[0], reviewed, actor=ATTENDEE)[0]
        second = signups.sign_up(people[1], reviewed, actor=ATTENDEE)[0]
        assert (first.status, second.status) == ("pending", "waitlisted")
        signups.approve_signup(first, actor=SYSTEM)
        assert first.status == "confirmed"


def test_only_a_registration_with_a_seat_signs_up(app: Flask) -> None:
    with app.app_context():
        event = make_event(capacity=1)
        session = make_session(event)
        make_registration(event=event)
        waiting = make_registration(event=event, status="waitlisted")
        with pytest.raises(signups.SignupRefused):
            signups.sign_up(waiting, session, actor=ATTENDEE)
        panel = make_session(event, kind="panel", signup=True)
        seated = db.session.scalars(db.select(Registration).where(
            Registration.status == "confirmed")).one()
        with pytest.raises(signups.SignupRefused):
            signups.sign_up(seated, panel, actor=ATTENDEE)
        assert db.session.query(SessionSignup).count() == 0


def test_cancel_promotes_the_earliest_waitlisted_with_an_email_in_their_language(
    app: Flask, smtp_server: SMTPServer
) -> None:
    with app.app_context():
        event = make_event()
        session = make_session(event, capacity=1)
        first = make_registration(event=event)
        korean = make_registration(event=event, language="ko", email="minji@example.org")
        later = make_registration(event=event)
        taken = signups.sign_up(first, session, actor=ATTENDEE)[0]
        waiting_ko = signups.sign_up(korean, session, actor=ATTENDEE)[0]
        waiting_later = signups.sign_up(later, session, actor=ATTENDEE)[0]
        db.session.commit()
        promoted = signups.cancel_signup(taken, actor=ATTENDEE)
        assert [p.id for p in promoted] == [waiting_ko.id]
        # Same transaction: the promotion and its email are there before the commit.
        assert status_of(waiting_ko.id) == "confirmed"
        assert status_of(waiting_later.id) == "waitlisted"
        queued = db.session.scalars(db.select(OutboxMessage).where(
            OutboxMessage.recipient == "minji@example.org",
            OutboxMessage.template == "session_signup_outcome")).all()
        assert len(queued) == 2  # waitlisted, then promoted
        db.session.commit()
        deliver_due()
    mails = [m for m in smtp_server.messages if m["To"] == "minji@example.org"
             and "책임 규명 원탁회의" in str(m["Subject"])]
    assert mails, [m["Subject"] for m in smtp_server.messages]
    body = mails[-1].get_body(("plain",)).get_content()
    assert "책임 규명 원탁회의" in body and "/registration/" in body


def test_registration_cancelled_frees_its_places_and_the_next_moves_up(app: Flask) -> None:
    with app.app_context():
        event = make_event()
        session = make_session(event, capacity=1)
        leaving = make_registration(event=event)
        staying = make_registration(event=event)
        gone = signups.sign_up(leaving, session, actor=ATTENDEE)[0]
        waiting = signups.sign_up(staying, session, actor=ATTENDEE)[0]
        registrations.cancel_registration(leaving, actor=ATTENDEE)
        assert status_of(gone.id) == "cancelled"
        assert status_of(waiting.id) == "confirmed"


@pytest.mark.parametrize("how", ["reject", "erase", "waitlist"])
def test_registration_losing_its_seat_frees_its_places(app: Flask, how: str) -> None:
    with app.app_context():
        event = make_event()
        session = make_session(event, capacity=1)
        leaving = make_registration(event=event)
        staying = make_registration(event=event)
        gone = signups.sign_up(leaving, session, actor=ATTENDEE)[0]
        waiting = signups.sign_up(staying, session, actor=ATTENDEE)[0]
        if how == "reject":
            registrations.reject_registration(leaving, actor=SYSTEM)
        elif how == "erase":
            anonymize_registration(leaving, actor=ATTENDEE)
        else:
            registrations.move_to_waitlist(leaving, actor=SYSTEM)
        assert status_of(gone.id) == "cancelled"
        assert status_of(waiting.id) == "confirmed"


def _attendee(app: Flask, capacity: int | None = 1, public: bool = True, **kwargs):
    with app.app_context():
        event = make_event(**kwargs)
        session = make_session(event, capacity=capacity, public=public)
        registration = make_registration(event=event)
        token = issue_manage_token(registration)
        db.session.commit()
        return event.id, session.id, registration.id, token


def test_attendee_signs_up_and_cancels_through_the_private_link(
    app: Flask, client: FlaskClient
) -> None:
    event_id, session_id, registration_id, token = _attendee(app)
    page = client.get(f"/registration/{token}")
    assert f"/registration/{token}/programme" in page.get_data(as_text=True)
    programme = client.get(f"/registration/{token}/programme").get_data(as_text=True)
    assert "Roundtable on accountability" in programme and "Places available" in programme
    response = client.post(f"/registration/{token}/programme",
                           data={"session_id": session_id, "action": "sign_up"})
    assert response.status_code == 303
    with app.app_context():
        found = signups.active_signup(session_id, registration_id)
        assert found is not None and found.status == "confirmed"
    manage = client.get(f"/registration/{token}").get_data(as_text=True)
    assert parse(manage).one(id="programme") is not None
    assert "You are signed up" in manage
    # The same button again: nothing new (no row, no email, no audit entry).
    with app.app_context():
        before = (db.session.query(OutboxMessage).count(), db.session.query(AuditEntry).count())
    client.post(f"/registration/{token}/programme",
                data={"session_id": session_id, "action": "sign_up"})
    with app.app_context():
        assert db.session.query(SessionSignup).count() == 1
        assert (db.session.query(OutboxMessage).count(),
                db.session.query(AuditEntry).count()) == before
    client.post(f"/registration/{token}/programme",
                data={"session_id": session_id, "action": "cancel"})
    with app.app_context():
        assert signups.active_signup(session_id, registration_id) is None


def test_places_left_only_where_the_event_shows_seat_counts(
    app: Flask, client: FlaskClient
) -> None:
    _event, _session, _reg, token = _attendee(app, capacity=3, show_seat_counts=True)
    assert "3 places left" in client.get(f"/registration/{token}/programme").get_data(
        as_text=True)
    _event, _session, _reg, token = _attendee(app, capacity=3)
    text = client.get(f"/registration/{token}/programme").get_data(as_text=True)
    assert "places left" not in text and "Places available" in text


def test_a_session_not_public_is_seen_through_the_manage_link_only(
    app: Flask, client: FlaskClient
) -> None:
    _event, session_id, registration_id, token = _attendee(app, public=False)
    assert "Roundtable on accountability" in client.get(
        f"/registration/{token}/programme").get_data(as_text=True)
    with app.app_context():
        registrations.cancel_registration(db.session.get(Registration, registration_id),
                                          actor=ATTENDEE)
        db.session.commit()
    assert "Roundtable on accountability" not in client.get(
        f"/registration/{token}/programme").get_data(as_text=True)
    response = client.post(f"/registration/{token}/programme",
                           data={"session_id": session_id, "action": "sign_up"})
    assert response.status_code == 404
    assert client.get("/registration/not-a-token/programme").status_code == 404


def test_sessions_chosen_on_the_registration_form_are_signed_up_with_the_registration(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        event = make_event()
        session = make_session(event, capacity=5)
        hidden = make_session(event, capacity=5, public=False, title="Closed meeting")
        db.session.commit()
        slug, session_id, hidden_id = event.slug, session.id, hidden.id
    url = f"/events/{slug}/register?category=general_public"
    form = client.get(url).get_data(as_text=True)
    assert "Sessions with limited places" in form and "Closed meeting" not in form
    data = {"given_name": "Ada", "family_name": "Lovelace", "email": "ada@example.org",
            "language": "en", "privacy_consent": "y", "interpretation": "none",
            "days": [], "sessions": [str(session_id)]}
    with app.app_context():
        days = db.session.get(ProgrammeSession, session_id).event.day_list
    data["days"] = [d.isoformat() for d in days]
    response = client.post(url, data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        registration = db.session.scalars(db.select(Registration)).one()
        assert [s.session_id for s in signups.signups_of(registration)] == [session_id]
    # A session that is not offered cannot be chosen.
    data.update(email="grace@example.org", sessions=[str(hidden_id)])
    assert client.post(url, data=data).status_code == 200


def _staff_setup(app: Flask):
    with app.app_context():
        event = make_event()
        other = make_event()
        session = make_session(event, capacity=1)
        other_session = make_session(other)
        journalist = make_registration(event=event, category="academic",
                                       given_name="Jin", family_name="Park",
                                       organization="Daily", photo_consent=True)
        public = make_registration(event=event, given_name="Aiko", family_name="Sato")
        first = signups.sign_up(journalist, session, actor=ATTENDEE)[0]
        second = signups.sign_up(public, session, actor=ATTENDEE)[0]
        db.session.commit()
        return event.id, session.id, other.id, other_session.id, first.id, second.id


def test_roster_decisions_and_reach_of_a_reviewer(app: Flask, client: FlaskClient, auth) -> None:
    event_id, session_id, other_id, other_session, first, second = _staff_setup(app)
    url = f"/manage/events/{event_id}/programme/{session_id}/signups"
    auth.member(event_id, "reviewer", categories="academic")
    text = client.get(url).get_data(as_text=True)
    assert "Park" in text and "Sato" not in text
    # Another category's sign-up, another event's ids: 404.
    assert client.post(f"{url}/{second}/decision", data={"decision": "reject"}).status_code == 404
    assert client.get(
        f"/manage/events/{other_id}/programme/{session_id}/signups").status_code == 404
    assert client.get(
        f"/manage/events/{event_id}/programme/{other_session}/signups").status_code == 404
    response = client.post(f"{url}/{first}/decision", data={"decision": "reject"})
    assert response.status_code == 303
    with app.app_context():
        assert status_of(first) == "rejected" and status_of(second) == "confirmed"
        assert db.session.scalars(db.select(AuditEntry.action).where(
            AuditEntry.object_id == second, AuditEntry.object_type == "session_signup")
        ).all()[-1] == "session_signup.promote"


def test_door_role_checks_in_per_session_and_sees_no_roster(
    app: Flask, client: FlaskClient, auth
) -> None:
    event_id, session_id, other_id, _other_session, first, second = _staff_setup(app)
    auth.member(event_id, "door")
    roster = f"/manage/events/{event_id}/programme/{session_id}/signups"
    assert client.get(roster).status_code == 404
    assert client.post(f"{roster}/{first}/decision",
                       data={"decision": "reject"}).status_code == 404
    door = f"/manage/events/{event_id}/door/sessions/{session_id}"
    assert client.get(f"/manage/events/{other_id}/door/sessions/{session_id}").status_code == 404
    page = parse(client.get(door, query_string={"q": "park"}).get_data(as_text=True))
    cards = page.one(id="session-door").text
    assert "Park Jin" in cards or "Jin Park" in cards
    assert "Daily" in cards and "Agreed to photos" in cards and "@" not in cards
    response = client.post(door, data={"signup_id": first, "action": "checkin", "q": "park"})
    assert response.status_code == 303
    with app.app_context():
        checked = db.session.get(SessionSignup, first).checked_in_at
        assert checked is not None
        entries = db.session.query(AuditEntry).count()
    # Checking in again changes nothing.
    client.post(door, data={"signup_id": first, "action": "checkin"})
    with app.app_context():
        assert db.session.get(SessionSignup, first).checked_in_at == checked
        assert db.session.query(AuditEntry).count() == entries
    # The waitlisted one cannot be checked in.
    client.post(door, data={"signup_id": second, "action": "checkin"})
    with app.app_context():
        assert db.session.get(SessionSignup, second).checked_in_at is None
        assert db.session.get(SessionSignup, second).status == SignupStatus.WAITLISTED


def test_a_registration_released_unconfirmed_frees_its_places(app: Flask) -> None:
    from datetime import timedelta

    from nkhr_events.registrations.holds import release_unconfirmed

    with app.app_context():
        event = make_event(email_confirmation_minutes=60)
        session = make_session(event, capacity=1)
        lapsing = make_registration(event=event)
        staying = make_registration(event=event)
        gone = signups.sign_up(lapsing, session, actor=ATTENDEE)[0]
        waiting = signups.sign_up(staying, session, actor=ATTENDEE)[0]
        staying.email_confirmed_at, staying.confirm_by = staying.created_at, None
        db.session.commit()
        release_unconfirmed(lapsing.confirm_by + timedelta(minutes=1), actor=SYSTEM)
        assert lapsing.status == "cancelled"
        assert status_of(gone.id) == "cancelled" and status_of(waiting.id) == "confirmed"


def test_staff_move_to_the_waitlist_hands_the_place_to_who_waited_before(app: Flask) -> None:
    with app.app_context():
        event = make_event()
        session = make_session(event, capacity=1, needs_review=True)
        a, b = make_registration(event=event), make_registration(event=event)
        first = signups.sign_up(a, session, actor=ATTENDEE)[0]
        second = signups.sign_up(b, session, actor=ATTENDEE)[0]
        assert (first.status, second.status) == ("pending", "waitlisted")
        promoted = signups.waitlist_signup(first, actor=SYSTEM)
        assert [p.id for p in promoted] == [second.id]
        assert (status_of(first.id), status_of(second.id)) == ("waitlisted", "pending")
        with pytest.raises(signups.SignupRefused):
            signups.approve_signup(first, actor=SYSTEM)


def test_the_attendee_programme_shows_a_speaker_only_as_they_chose(
    app: Flask, client: FlaskClient
) -> None:
    from nkhr_events.programme.models import SessionSpeaker, Speaker

    with app.app_context():
        event = make_event()
        session = make_session(event)
        speaker = Speaker(event_id=event.id, given_name="Real", family_name="Person",
                          email="real@example.org", email_key="real@example.org",
                          status="confirmed", appearance="pseudonym", pseudonym="Witness A")
        db.session.add(speaker)
        db.session.flush()
        db.session.add(SessionSpeaker(session_id=session.id, speaker_id=speaker.id))
        token = issue_manage_token(make_registration(event=event))
        db.session.commit()
    text = client.get(f"/registration/{token}/programme").get_data(as_text=True)
    assert "Witness A" in text and "Real" not in text and "Person" not in text


def test_a_registration_waitlisted_on_the_form_gets_no_session_places(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        event = make_event(capacity=1)
        session = make_session(event, capacity=5)
        make_registration(event=event)
        db.session.commit()
        slug, session_id, days = event.slug, session.id, event.day_list
    response = client.post(f"/events/{slug}/register?category=general_public", data={
        "given_name": "Ada", "family_name": "Lovelace", "email": "ada@example.org",
        "language": "en", "privacy_consent": "y", "interpretation": "none",
        "days": [d.isoformat() for d in days], "sessions": [str(session_id)]})
    assert response.status_code == 303
    with app.app_context():
        ada = db.session.scalars(db.select(Registration).where(
            Registration.email == "ada@example.org")).one()
        assert ada.status == "waitlisted"
        assert db.session.query(SessionSignup).count() == 0


def test_places_cannot_drop_below_the_sign_ups_and_more_places_promote(app: Flask) -> None:
    from nkhr_events.errors import DomainError

    with app.app_context():
        event = make_event()
        session = make_session(event, capacity=1)
        a, b = make_registration(event=event), make_registration(event=event)
        signups.sign_up(a, session, actor=ATTENDEE)
        waiting = signups.sign_up(b, session, actor=ATTENDEE)[0]
        with pytest.raises(DomainError) as lower:
            signups.check_session_places(session, True, 0)
        assert lower.value.field == "capacity"
        with pytest.raises(DomainError) as off:
            signups.check_session_places(session, False, None)
        assert off.value.field == "signup"
        signups.check_session_places(session, True, 2)
        session.capacity = 2
        assert [p.id for p in signups.promote(session, actor=SYSTEM)] == [waiting.id]


def test_the_programme_form_keeps_places_given_and_a_raise_moves_the_waitlist_up(
    app: Flask,
) -> None:
    """The staff programme builder changes a session through `update_session`: a capacity
    below the places taken is refused beside the field with nothing written; a raise promotes
    the waitlist in the same transaction."""
    from nkhr_events.errors import DomainError
    from nkhr_events.programme import services as programme

    with app.app_context():
        event = make_event()
        session = make_session(event, capacity=1)
        a, b = make_registration(event=event), make_registration(event=event)
        signups.sign_up(a, session, actor=ATTENDEE)
        waiting = signups.sign_up(b, session, actor=ATTENDEE)[0]
        db.session.commit()

        def edit(capacity: int) -> programme.SessionInput:
            return programme.SessionInput(
                day=session.day, starts_at=session.starts_at, ends_at=session.ends_at,
                kind=session.kind, texts={"title": session.title, "room": session.room},
                signup=True, capacity=capacity,
            )

        with pytest.raises(DomainError) as refused:
            programme.update_session(session, edit(0), actor=SYSTEM)
        assert refused.value.field == "capacity"
        db.session.rollback()
        assert db.session.get(ProgrammeSession, session.id).capacity == 1
        assert programme.update_session(session, edit(2), actor=SYSTEM)
        db.session.commit()
        assert status_of(waiting.id) == "confirmed"
