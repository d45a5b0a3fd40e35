"""The registration factory makes rows exactly as the product does: through the registration
service, under the seat lock, never overbooking, and reaching other statuses by the product's
own steps."""

from __future__ import annotations

import pytest
from flask import Flask

from nkhr_events.audit.models import AuditEntry
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.registrations.models import Registration
from nkhr_events.registrations.seats import seats_taken
from tests.factories import make_event, make_registration


def actions(registration: Registration) -> list[str]:
    return list(db.session.scalars(
        db.select(AuditEntry.action)
        .where(AuditEntry.object_type == "registration", AuditEntry.object_id == registration.id)
        .order_by(AuditEntry.id)
    ))


def templates(registration: Registration) -> list[str]:
    return list(db.session.scalars(
        db.select(OutboxMessage.template)
        .where(OutboxMessage.registration_id == registration.id)
        .order_by(OutboxMessage.id)
    ))


def test_a_default_registration_is_a_confirmed_one_made_by_the_service(app: Flask) -> None:
    with app.app_context():
        registration = make_registration(email="  Min-ji.Kim@Example.ORG ")
        other = make_registration(event=registration.event_id)
        db.session.commit()
        assert (registration.status, registration.category) == ("confirmed", "general_public")
        assert registration.email == "Min-ji.Kim@example.org"
        assert registration.email_key == "min-ji.kim@example.org"
        assert registration.day_list == registration.event.day_list
        assert registration.badge_name == registration.full_name
        assert registration.language == "en" and registration.privacy_consent_at is not None
        assert registration.checkin_salt  # a confirmed registration's email carries its code
        assert actions(registration) == ["registration.create"]
        assert templates(registration) == ["registration_confirmed"]
        assert other.event_id == registration.event_id and other.email != registration.email


def test_it_never_overbooks_an_event(app: Flask) -> None:
    with app.app_context():
        event = make_event(capacity=1)
        make_registration(event=event)
        with pytest.raises(ValueError, match="no seat is free"):
            make_registration(event=event)
        assert seats_taken(event.id)[None] == 1
        assert make_registration(event=event, status=None).status == "waitlisted"
        assert make_registration(event=event, status="waitlisted").status == "waitlisted"


def test_other_statuses_are_reached_by_the_products_own_steps(app: Flask) -> None:
    with app.app_context():
        event = make_event(capacity=2)
        pending = make_registration(event=event, category="journalist", status="pending")
        approved = make_registration(event=event, category="journalist")
        cancelled = make_registration(event=event, status="cancelled")
        assert (pending.status, approved.status, cancelled.status) == (
            "pending", "confirmed", "cancelled"
        )
        assert pending.answers  # the required questions of the category are answered
        assert actions(approved) == ["registration.create", "registration.approve"]
        assert actions(cancelled) == ["registration.create", "registration.cancel"]
        rejected = make_registration(event=event, status="rejected")
        assert actions(rejected) == ["registration.create", "registration.reject"]
        with pytest.raises(ValueError, match="does not review"):
            make_registration(event=make_event(), status="pending")


def test_an_address_already_registered_is_refused_not_returned(app: Flask) -> None:
    with app.app_context():
        first = make_registration(email="minji@example.org")
        with pytest.raises(ValueError, match="already has an active registration"):
            make_registration(event=first.event, email="MINJI@example.org")
        with pytest.raises(TypeError, match="unknown fields"):
            make_registration(emial="minji@example.org")
