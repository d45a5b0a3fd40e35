"""Group members added, replaced and removed while the public takes the last seats, and groups
given places while the public registers, in real threads (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set): never overbooked — confirmed + pending + reserved <= capacity — and
never more members than the group's places."""

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
from nkhr_events.invitations import groups
from nkhr_events.invitations.models import RegistrationGroup
from nkhr_events.registrations import services as registrations
from nkhr_events.registrations.models import SEAT_STATUSES, Registration, RegistrationStatus
from nkhr_events.registrations.seats import seats_taken

CAPACITY = 8
PLACES = 4
MEMBERS = 6  # two more than the group has places
PUBLIC = 10


def _event(app: Flask) -> int:
    with app.app_context():
        event = make_event(capacity=CAPACITY)
        registrations.save_category_settings(
            event, {"delegation": {"enabled": True}}, actor=SYSTEM)
        db.session.commit()
        return event.id


def _group(app: Flask, event_id: int, places: int = PLACES) -> int:
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event is not None
        group = groups.create_group(event, groups.GroupInput(
            "Delegation", "delegation", places, utcnow().date() + timedelta(days=10),
            "Focal Point", "focal@example.org", "en"), actor=SYSTEM)
        db.session.commit()
        return group.id


def _member(n: int, email: str = "") -> registrations.RegistrationInput:
    return registrations.RegistrationInput(
        category="delegation", email=email, given_name=f"Member{n}", family_name="Delegate",
        privacy_consent=True)


def _add(group_id: int, n: int) -> Callable[[], object]:
    def job() -> object:
        group = db.session.get(RegistrationGroup, group_id)
        assert group is not None
        email = f"member{n}@example.org" if n % 2 else ""
        return groups.add_member(group, _member(n, email), actor=ATTENDEE)

    return job


def _replace(group_id: int, registration_id: int, n: int) -> Callable[[], object]:
    def job() -> object:
        group = db.session.get(RegistrationGroup, group_id)
        assert group is not None
        return groups.replace_member(group, registration_id, _member(n), actor=ATTENDEE)

    return job


def _remove(group_id: int, registration_id: int) -> Callable[[], object]:
    def job() -> object:
        group = db.session.get(RegistrationGroup, group_id)
        assert group is not None
        groups.remove_member(group, registration_id, actor=ATTENDEE)
        return None

    return job


def _public(event_id: int, n: int) -> Callable[[], object]:
    def job() -> object:
        return make_registration(event=event_id, email=f"public{n}@example.org", status=None)

    return job


def _held(event_id: int) -> int:
    return int(db.session.scalar(
        db.select(db.func.count(Registration.id)).where(
            Registration.event_id == event_id, Registration.status.in_(SEAT_STATUSES))) or 0)


def _members(group_id: int) -> int:
    return int(db.session.scalar(
        db.select(db.func.count(Registration.id)).where(
            Registration.group_id == group_id, Registration.status.in_(SEAT_STATUSES))) or 0)


def test_members_and_the_public_racing_for_the_last_seats_never_overbook(app: Flask) -> None:
    event_id = _event(app)
    group_id = _group(app, event_id)
    with app.app_context():
        assert seats_taken(event_id)[None] == PLACES

    jobs = [_add(group_id, n) for n in range(MEMBERS)]
    jobs += [_public(event_id, n) for n in range(PUBLIC)]
    errors = race(app, jobs)
    assert not [e for e in errors if not isinstance(e, DomainError)], errors
    assert len(errors) == MEMBERS - PLACES  # "every place of this group is taken"

    with app.app_context():
        assert seats_taken(event_id)[None] <= CAPACITY
        assert _held(event_id) == CAPACITY  # every seat taken, none twice
        assert _members(group_id) == PLACES
        members = db.session.scalars(
            db.select(Registration).where(Registration.group_id == group_id)).all()
        assert {m.status for m in members} == {RegistrationStatus.CONFIRMED}
        group = db.session.get(RegistrationGroup, group_id)
        assert group is not None and group.reservation is not None
        assert group.reservation.places == 0


def test_replacing_and_removing_while_the_public_races_never_overbook(app: Flask) -> None:
    event_id = _event(app)
    group_id = _group(app, event_id)
    with app.app_context():
        group = db.session.get(RegistrationGroup, group_id)
        assert group is not None
        ids = [groups.add_member(group, _member(n), actor=SYSTEM).id for n in range(PLACES)]
        db.session.commit()

    jobs = [_replace(group_id, ids[0], 100), _replace(group_id, ids[1], 101),
            _remove(group_id, ids[2]), _add(group_id, 102), _add(group_id, 103)]
    jobs += [_public(event_id, n) for n in range(PUBLIC)]
    errors = race(app, jobs)
    assert not [e for e in errors if not isinstance(e, DomainError)], errors

    with app.app_context():
        assert seats_taken(event_id)[None] <= CAPACITY
        assert _held(event_id) <= CAPACITY
        # The group never holds more than its places, members and free places together.
        group = db.session.get(RegistrationGroup, group_id)
        assert group is not None and group.reservation is not None
        left = group.reservation.places if group.reservation.released_at is None else 0
        assert _members(group_id) + left == PLACES
        # The public got exactly the seats the group never had.
        public = _held(event_id) - _members(group_id)
        assert public == CAPACITY - PLACES


def test_groups_given_places_while_the_public_registers_never_overbook(app: Flask) -> None:
    event_id = _event(app)

    def give(places: int) -> Callable[[], object]:
        def job() -> object:
            event = db.session.get(Event, event_id)
            assert event is not None
            return groups.create_group(event, groups.GroupInput(
                f"Group of {places}", "delegation", places,
                utcnow().date() + timedelta(days=10), "Focal", "focal@example.org", "en"),
                actor=SYSTEM)

        return job

    jobs = [give(3), give(3), give(3)] + [_public(event_id, n) for n in range(PUBLIC)]
    errors = race(app, jobs)
    assert all(isinstance(e, DomainError) and e.field == "places" for e in errors), errors
    with app.app_context():
        assert seats_taken(event_id)[None] == CAPACITY
        given = db.session.scalar(db.select(db.func.sum(RegistrationGroup.places))) or 0
        assert _held(event_id) + given == CAPACITY
