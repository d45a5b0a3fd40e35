"""The attendee's own data through the private link: download it all, or erase it."""

from __future__ import annotations

import json
from datetime import date

import pytest

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import ATTENDEE
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxAttachment, OutboxMessage
from nkhr_events.registrations import services
from nkhr_events.registrations.links import issue_manage_token
from nkhr_events.registrations.models import ManageToken, Registration
from tests.factories import make_event, make_registration

PERSONAL = ("Minji", "Secretname", "minji@example.org", "Hanyang Institute", "wheelchair",
            "no peanuts", "Seoul Univ")


def minji(event: Event) -> Registration:
    return make_registration(
        event=event,
        category="academic",
        given_name="Minji",
        family_name="Secretname",
        email="minji@example.org",
        organization="Hanyang Institute",
        country="KR",
        answers={"institution": "Seoul Univ"},
        accessibility_needs="wheelchair",
        dietary_needs="no peanuts",
        publish_name=True,
        photo_consent=True,
    )


@pytest.fixture
def setup(app):
    """One seat: Minji holds it, confirmed; Jisoo waits for it."""
    with app.app_context():
        event = make_event(capacity=1)
        minji_row = minji(event)
        jisoo = make_registration(event=event, status="waitlisted", given_name="Jisoo",
                                  family_name="Kim", email="jisoo@example.org")
        minji_row.checkin_salt = "0123456789abcdef"
        minji_row.internal_notes = "met at the embassy"
        db.session.add(RegistrationCheckin(registration=minji_row, day=event.start_date))
        token = issue_manage_token(minji_row)
        db.session.commit()
        assert (minji_row.status, jisoo.status) == ("confirmed", "waitlisted")
        return {"token": token, "id": minji_row.id, "jisoo": jisoo.id, "event": event.id,
                "first_day": event.start_date}


def trail_entries(registration_id: int) -> list[AuditEntry]:
    return list(db.session.scalars(db.select(AuditEntry).where(
        AuditEntry.object_type == "registration", AuditEntry.object_id == registration_id)))


def test_data_download_holds_everything_stored_about_the_attendee(client, setup):
    response = client.get(f"/registration/{setup['token']}/data.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    person = data["registration"]
    assert (person["given_name"], person["family_name"], person["email"]) == (
        "Minji", "Secretname", "minji@example.org")
    assert person["organization"] == "Hanyang Institute"
    assert person["accessibility_needs"] == "wheelchair"
    assert person["status"] == "confirmed"
    assert data["answers"] == {"institution": "Seoul Univ"}
    assert len(data["days"]) == 3 and data["days"][0] == setup["first_day"].isoformat()
    assert data["consents"]["publish_name"] is True and data["consents"]["photo_consent"] is True
    assert data["consents"]["privacy_consent_at"]
    assert [c["day"] for c in data["checkins"]] == [setup["first_day"].isoformat()]
    assert len(data["emails"]) == 1
    assert data["emails"][0]["status"] == "queued" and data["emails"][0]["subject"]
    # Staff-only notes and the check-in secret are not the attendee's to download.
    assert "met at the embassy" not in response.get_data(as_text=True)


def test_data_download_with_a_wrong_token_is_404(client, setup):
    assert client.get("/registration/not-a-token/data.json").status_code == 404


def test_manage_page_links_to_download_and_erase(client, setup):
    page = client.get(f"/registration/{setup['token']}").get_data(as_text=True)
    assert f"/registration/{setup['token']}/data.json" in page
    assert f"/registration/{setup['token']}/erase" in page


def test_erase_asks_first_and_changes_nothing_until_confirmed(app, client, setup):
    page = client.get(f"/registration/{setup['token']}/erase").get_data(as_text=True)
    assert "Yes, erase my registration" in page and "waitlist" in page
    with app.app_context():
        assert db.session.get(Registration, setup["id"]).given_name == "Minji"


def test_erasure_frees_the_seat_to_the_waitlist_and_leaves_nothing_personal(app, client, setup):
    response = client.post(f"/registration/{setup['token']}/erase")
    assert response.status_code == 200
    assert "Your registration is erased." in response.get_data(as_text=True)

    with app.app_context():
        row = db.session.get(Registration, setup["id"])
        assert row.status == "cancelled" and row.anonymized_at is not None
        assert (row.given_name, row.family_name) == ("Erased", "Erased")
        assert row.email == row.email_key and row.email.endswith("@invalid")
        assert (row.organization, row.position, row.country, row.badge_name) == ("", "", "", "")
        assert row.answers == {}
        assert (row.accessibility_needs, row.dietary_needs, row.internal_notes) == ("", "", "")
        assert not row.publish_name and not row.photo_consent
        assert row.checkin_salt is None
        stored = repr({c.key: getattr(row, c.key) for c in Registration.__table__.columns})
        for value in PERSONAL:
            assert value not in stored
        assert db.session.scalar(
            db.select(db.func.count(ManageToken.id)).where(ManageToken.registration_id == row.id)
        ) == 0

        messages = list(db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.registration_id == row.id)))
        assert len(messages) == 2  # the first answer and the cancellation, both unsent
        for message in messages:
            assert message.status == "cancelled"
            assert message.subject == message.text_body == "(erased)"
            assert message.html_body is None and message.recipient == row.email
            assert db.session.scalar(db.select(db.func.count(OutboxAttachment.id)).where(
                OutboxAttachment.outbox_message_id == message.id)) == 0

        jisoo = db.session.get(Registration, setup["jisoo"])
        assert jisoo.status == "confirmed"
        promoted = db.session.scalars(db.select(OutboxMessage).where(
            OutboxMessage.registration_id == jisoo.id).order_by(OutboxMessage.id)).all()[-1]
        assert promoted.recipient == "jisoo@example.org"
        assert promoted.template == "registration_confirmed" and promoted.status == "queued"

        entry = db.session.scalar(
            db.select(AuditEntry).where(AuditEntry.action == "registration.erase"))
        assert entry.actor == "attendee" and entry.object_id == row.id
        trail = repr([(e.action, e.actor, e.detail) for e in db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.object_id == row.id))])
        for value in PERSONAL:
            assert value not in trail
        # Not even the client addresses of the requests that made, changed or erased it.
        assert [e.ip for e in db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.object_type == "registration", AuditEntry.object_id == row.id))] == [
            None] * len(trail_entries(row.id))

    assert client.get(f"/registration/{setup['token']}").status_code == 404
    assert client.get(f"/registration/{setup['token']}/data.json").status_code == 404
    assert client.post(f"/registration/{setup['token']}/erase").status_code == 404


def test_erasing_a_cancelled_registration_sends_nothing_new(app, client, setup):
    with app.app_context():
        services.cancel_registration(db.session.get(Registration, setup["id"]), actor=ATTENDEE)
        db.session.commit()
        before = db.session.scalar(db.select(db.func.count(OutboxMessage.id)))
    client.post(f"/registration/{setup['token']}/erase")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == before
        row = db.session.get(Registration, setup["id"])
        assert row.given_name == "Erased" and row.status == "cancelled"
        assert date.today() >= row.anonymized_at.date()
