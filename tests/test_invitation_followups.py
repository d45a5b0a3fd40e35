"""Invitation rules added after the first release: a lapsed hold goes to the waitlist before a
newcomer, a previewed batch whose hold has passed is refused, a batch looks its addresses up
at once, the event-specific invitation-only categories, and the place written in the reader's
language's order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.invitations import services
from nkhr_events.invitations.models import ReleaseReason, SeatReservation
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.registrations import services as registrations
from nkhr_events.registrations.categories import INVITATION_ONLY, Category
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.seats import seats_taken
from nkhr_events.registrations.services import Admission, RegistrationInput
from nkhr_events.roster.services import GroupMessage, RosterFilters, send_group_message
from nkhr_events.web import place_text


def test_a_lapsed_hold_goes_to_the_waitlist_before_a_newcomer(app: Flask) -> None:
    """Between a hold's deadline and the periodic release, a newcomer on the public form
    does not take the seat ahead of the person who waited."""
    with app.app_context():
        event = make_event(capacity=2)
        registrations.save_category_settings(
            event, {"government": {"by_invitation": True}}, actor=SYSTEM
        )
        invitation = services.invite(
            event,
            services.InvitationInput("Kim Minji", "kim@example.go.kr", "ko", "government"),
            utcnow() + timedelta(days=5),
            actor=SYSTEM,
        )
        first = make_registration(event=event)
        waiting = make_registration(event=event, status=RegistrationStatus.WAITLISTED)
        db.session.commit()
        assert waiting.status == RegistrationStatus.WAITLISTED
        reservation = invitation.reservation
        assert reservation is not None
        reservation.held_until = utcnow() - timedelta(minutes=1)  # the deadline has passed
        db.session.commit()

        newcomer = make_registration(event=event, status=None)
        db.session.commit()

        db.session.refresh(waiting)
        db.session.refresh(reservation)
        assert waiting.status == RegistrationStatus.CONFIRMED
        assert newcomer.status == RegistrationStatus.WAITLISTED
        assert reservation.release_reason == ReleaseReason.LAPSED
        assert seats_taken(event.id)[None] == 2
        assert first.status == RegistrationStatus.CONFIRMED
        lapses = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "reservation.lapse")
        ).all()
        assert [entry.object_id for entry in lapses] == [reservation.id]
        # The periodic job finds nothing left to release.
        assert services.release_lapsed(actor=SYSTEM).released == 0


def test_a_previewed_batch_whose_hold_has_passed_is_refused(app: Flask) -> None:
    with app.app_context():
        event = make_event(capacity=10)
        registrations.save_category_settings(
            event, {"government": {"by_invitation": True}}, actor=SYSTEM
        )
        rows = [(2, services.InvitationInput("Ana", "ana@example.org", "en", "government"))]
        with pytest.raises(DomainError) as refused:
            services.invite_many(event, rows, utcnow() - timedelta(hours=1), actor=SYSTEM)
        assert refused.value.field == "hold_until"
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count(SeatReservation.id))) == 0


def test_a_batch_finds_invited_and_registered_addresses(app: Flask) -> None:
    with app.app_context():
        event = make_event(capacity=10)
        registrations.save_category_settings(
            event, {"government": {"by_invitation": True}}, actor=SYSTEM
        )
        services.invite(
            event, services.InvitationInput("Ana", "ana@example.org", "en", "government"),
            None, actor=SYSTEM,
        )
        make_registration(event=event, email="Reg@Example.org")
        db.session.commit()
        rows = [
            (2, services.InvitationInput("Ana", "ANA@example.org", "en", "government")),
            (3, services.InvitationInput("Reg", "reg@example.org", "en", "government")),
            (4, services.InvitationInput("New", "new@example.org", "en", "government")),
            (5, services.InvitationInput("Bad", "not an address", "en", "government")),
        ]
        problems = services.batch_problems(
            event, rows, registrations.category_settings(event), utcnow()
        )
        assert set(problems) == {2, 3, 5}
        assert "already invited" in problems[2]
        assert "already registered" in problems[3]


def test_event_specific_categories_are_off_and_by_invitation(app: Flask) -> None:
    with app.app_context():
        event = make_event()
        settings = registrations.category_settings(event)
        for category in INVITATION_ONLY:
            assert not settings[category.value].enabled
            assert settings[category.value].by_invitation
        # Switched on, they stay by invitation, whatever the form says.
        registrations.save_category_settings(
            event, {"speaker": {"enabled": True, "by_invitation": False}}, actor=SYSTEM
        )
        db.session.commit()
        speaker = registrations.category_settings(event)["speaker"]
        assert speaker.enabled and speaker.by_invitation
        assert services.invitation_categories(event) == ["speaker"]
        with pytest.raises(DomainError):
            make_registration(event=event, category=Category.SPEAKER.value)
        db.session.rollback()
        invitation = services.invite(
            event, services.InvitationInput("Lee Speaker", "lee@example.org", "en", "speaker"),
            None, actor=SYSTEM,
        )
        db.session.commit()
        assert invitation.category == "speaker"


def test_the_public_form_does_not_offer_event_specific_categories(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        event = make_event()
        registrations.save_category_settings(
            event, {"delegation": {"enabled": True}}, actor=SYSTEM
        )
        db.session.commit()
        slug = event.slug
    page = client.get(f"/events/{slug}/register").get_data(as_text=True)
    assert "Member of a delegation" not in page
    assert "General public" in page


def test_the_place_is_written_in_the_readers_order(app: Flask) -> None:
    with app.test_request_context():
        event = make_event(venue="Press Center", venue_ko="프레스센터", city="Seoul",
                           city_ko="서울", country="KR")
        with force_locale("en"):
            assert place_text(event) == "Press Center, Seoul, South Korea"
        with force_locale("ko"):
            assert place_text(event) == "대한민국 서울 프레스센터"
            assert place_text(event, venue=False) == "대한민국 서울"
        with force_locale("ja"):
            assert place_text(event).startswith("韓国、")
            assert "、" in str(place_text(event, html=True))


def test_a_group_message_skips_people_without_an_address(app: Flask) -> None:
    with app.app_context():
        event = make_event()
        make_registration(event=event, email="has@example.org")
        quiet = registrations.register_attendee(
            event.id,
            RegistrationInput(category="general_public", given_name="Guest", family_name="A",
                              email="", privacy_consent=True),
            actor=SYSTEM,
            admission=Admission(until=utcnow() + timedelta(days=1), email_optional=True,
                                by_staff=True),
        ).registration
        db.session.commit()
        assert quiet.email == "" and quiet.email_key.startswith("none:")
        assert not db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.registration_id == quiet.id)
        ).all()
        before = db.session.scalar(db.select(db.func.count(OutboxMessage.id)))
        sent = send_group_message(
            event, RosterFilters(), GroupMessage(subject_en="Hello", body_en="Body"), actor=SYSTEM
        )
        assert sent == 1
        assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == before + 1
        assert db.session.get(Registration, quiet.id).status == RegistrationStatus.CONFIRMED
