"""Invitations accepted while the public takes the last seats, in real threads (SQLite, and
PostgreSQL when TEST_DATABASE_URL is set): never overbooked — confirmed + pending + reserved
<= capacity — and every invitee with a reserved seat gets in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from factories import make_event, make_registration
from flask import Flask
from races import race

from nkhr_events.audit.services import ATTENDEE, SYSTEM
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.invitations import services
from nkhr_events.invitations.models import Invitation, InvitationStatus
from nkhr_events.registrations import services as registrations
from nkhr_events.registrations.models import SEAT_STATUSES, Registration, RegistrationStatus
from nkhr_events.registrations.seats import seats_taken

CAPACITY = 8
RESERVED = 4
UNRESERVED = 3
PUBLIC = 12


def _accept(app: Flask, invitation_id: int, n: int) -> Callable[[], object]:
    def job() -> object:
        invitation = db.session.get(Invitation, invitation_id)
        assert invitation is not None
        return services.accept(
            invitation,
            registrations.RegistrationInput(
                category="government",
                given_name=f"Invited{n}",
                family_name="Guest",
                email="ignored@example.org",
                privacy_consent=True,
                answers={"ministry": "M", "government_position": "P", "country_represented": "KR"},
            ),
            actor=ATTENDEE,
        )

    return job


def _public(event_id: int, n: int) -> Callable[[], object]:
    def job() -> object:
        return make_registration(event=event_id, email=f"public{n}@example.org", status=None)

    return job


def test_invitees_and_the_public_racing_for_the_last_seats_never_overbook(app: Flask) -> None:
    with app.app_context():
        event = make_event(capacity=CAPACITY)
        registrations.save_category_settings(
            event, {"government": {"by_invitation": True}}, actor=SYSTEM
        )
        invited: list[tuple[int, bool]] = []
        for n in range(RESERVED + UNRESERVED):
            reserved = n < RESERVED
            row = services.invite(
                event,
                services.InvitationInput(f"Guest {n}", f"guest{n}@example.org", "en", "government"),
                utcnow() + timedelta(days=5) if reserved else None,
                actor=SYSTEM,
            )
            invited.append((row.id, reserved))
        db.session.commit()
        event_id = event.id
        assert seats_taken(event_id)[None] == RESERVED

    jobs = [_accept(app, invitation_id, n) for n, (invitation_id, _r) in enumerate(invited)]
    jobs += [_public(event_id, n) for n in range(PUBLIC)]
    errors = race(app, jobs)
    assert not [e for e in errors if not isinstance(e, DomainError)], errors

    with app.app_context():
        event = db.session.get(Event, event_id)
        held = db.session.scalar(
            db.select(db.func.count(Registration.id)).where(
                Registration.event_id == event_id, Registration.status.in_(SEAT_STATUSES)
            )
        )
        assert seats_taken(event_id)[None] <= CAPACITY
        assert held == CAPACITY  # every seat taken, none twice
        for invitation_id, reserved in invited:
            invitation = db.session.get(Invitation, invitation_id)
            assert invitation.status == InvitationStatus.REGISTERED
            registration = invitation.registration
            assert registration is not None and registration.email == invitation.email
            if reserved:
                assert registration.status == RegistrationStatus.CONFIRMED
            assert invitation.reservation is None or invitation.reservation.places == 0
        waitlisted = db.session.scalar(
            db.select(db.func.count(Registration.id)).where(
                Registration.event_id == event_id,
                Registration.status == RegistrationStatus.WAITLISTED,
            )
        )
        assert held + waitlisted == RESERVED + UNRESERVED + PUBLIC
        assert event.capacity == CAPACITY
