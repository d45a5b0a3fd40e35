"""Invitation emails in the outbox: tied to their event, so that the event's organizers see the
invitation and its reminder on the outbox page (list, counts, the message itself), while an
organizer of another event sees none of them (not listed, 404) and an admin sees them all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import AuthActions
from factories import make_event
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from smtp import SMTPServer, smtp_settings
from test_invitations import invitation, invitation_event, invite

from nkhr_events.extensions import db
from nkhr_events.invitations import services
from nkhr_events.outbox.models import OutboxMessage


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def listed(client: FlaskClient) -> list[str]:
    """The rows of the outbox page's list, as text."""
    response = client.get("/manage/outbox/")
    assert response.status_code == 200
    body = parse(response.get_data(as_text=True)).find("tbody")
    return [row.text for row in body.find_all("tr")] if body is not None else []


def messages_to(app: Flask, address: str) -> list[OutboxMessage]:
    with app.app_context():
        found = list(
            db.session.scalars(
                db.select(OutboxMessage)
                .where(OutboxMessage.recipient == address)
                .order_by(OutboxMessage.id)
            )
        )
        for message in found:
            db.session.expunge(message)
        return found


def test_the_events_organizers_see_its_invitation_emails_and_other_events_organizers_do_not(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = invitation_event(app)
    with app.app_context():
        other_id = make_event(title="Another Forum").id
        db.session.commit()
    invitation_id = invite(app, event_id, "minister@example.go.kr", reserve_days=10)
    # The reminder is tied to the event as well.
    row = invitation(app, invitation_id)
    assert row.remind_at is not None
    with app.app_context():
        assert services.send_reminders(row.remind_at + timedelta(minutes=1)) == 1
        db.session.commit()
    sent = messages_to(app, "minister@example.go.kr")
    assert [m.template for m in sent] == ["invitation", "invitation_reminder"]
    assert {m.event_id for m in sent} == {event_id}
    assert not any(m.admin_only for m in sent)

    # An organizer of the event: both in the list, the counts and on their own pages.
    auth.member(event_id, "organizer")
    rows = listed(client)
    assert sum("minister@example.go.kr" in r for r in rows) == 2, rows
    page = client.get("/manage/outbox/").get_data(as_text=True)
    assert "minister@example.go.kr" in page
    for message in sent:
        response = client.get(f"/manage/outbox/{message.id}")
        assert response.status_code == 200
        assert "minister@example.go.kr" in response.get_data(as_text=True)
    auth.sign_out()

    # An organizer of another event: neither listed nor reachable by id.
    auth.member(other_id, "organizer")
    assert not any("minister@example.go.kr" in r for r in listed(client))
    for message in sent:
        assert client.get(f"/manage/outbox/{message.id}").status_code == 404
    auth.sign_out()

    # A reviewer of the event reads no emails at all.
    auth.member(event_id, "reviewer", categories="government")
    assert client.get("/manage/outbox/").status_code == 404
    assert client.get(f"/manage/outbox/{sent[0].id}").status_code == 404
    auth.sign_out()

    # An admin sees every message.
    auth.admin()
    assert sum("minister@example.go.kr" in r for r in listed(client)) == 2


def test_a_resent_invitation_is_tied_to_its_event_too(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = invitation_event(app)
    invitation_id = invite(app, event_id, "again@example.org", reserve_days=None)
    auth.member(event_id, "organizer")
    response = client.post(f"/manage/events/{event_id}/invitations/{invitation_id}/resend")
    assert response.status_code == 303
    sent = messages_to(app, "again@example.org")
    assert [m.template for m in sent] == ["invitation", "invitation"]
    assert {m.event_id for m in sent} == {event_id}
    assert sum("again@example.org" in r for r in listed(client)) == 2
