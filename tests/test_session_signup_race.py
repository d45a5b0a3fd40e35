"""Session places under real concurrency (SQLite, and PostgreSQL when TEST_DATABASE_URL is set):
exactly the cap seated, the rest waitlisted; cancellations racing sign-ups never overbook and
every freed place is handed on in the same transaction."""

from __future__ import annotations

from collections import Counter
from datetime import time

from flask import Flask

from nkhr_events.audit.services import ATTENDEE
from nkhr_events.extensions import db
from nkhr_events.programme import signups
from nkhr_events.programme.models import ProgrammeSession, SessionSignup
from nkhr_events.registrations.models import Registration
from tests.factories import make_event, make_registration
from tests.races import race

CAP = 4


def _setup(app: Flask, people: int, cap: int = CAP) -> tuple[int, list[int]]:
    with app.app_context():
        event = make_event(capacity=None)
        session = ProgrammeSession(
            event_id=event.id, day=event.day_list[0], starts_at=time(10), ends_at=time(11),
            kind="side_event", title="Side event", signup=True, capacity=cap,
        )
        db.session.add(session)
        ids = [make_registration(event=event).id for _ in range(people)]
        db.session.commit()
        return session.id, ids


def _sign_up(session_id: int, registration_id: int) -> None:
    signups.sign_up(db.session.get(Registration, registration_id),
                    db.session.get(ProgrammeSession, session_id), actor=ATTENDEE)


def _statuses(app: Flask, session_id: int) -> Counter[str]:
    with app.app_context():
        return Counter(db.session.scalars(
            db.select(SessionSignup.status).where(SessionSignup.session_id == session_id)))


def test_twenty_racers_for_four_places_give_four_seated_and_sixteen_waitlisted(
    app: Flask,
) -> None:
    session_id, people = _setup(app, 20)
    errors = race(app, [lambda r=r: _sign_up(session_id, r) for r in people])
    assert errors == []
    assert _statuses(app, session_id) == Counter(confirmed=CAP, waitlisted=20 - CAP)


def test_one_person_pressing_ten_times_at_once_has_one_sign_up(app: Flask) -> None:
    session_id, people = _setup(app, 1)
    errors = race(app, [lambda: _sign_up(session_id, people[0]) for _ in range(10)])
    assert errors == []
    assert _statuses(app, session_id) == Counter(confirmed=1)


def test_cancellations_racing_sign_ups_never_overbook_and_hand_on_every_place(
    app: Flask,
) -> None:
    session_id, people = _setup(app, 16)
    seated, newcomers = people[:8], people[8:]
    with app.app_context():
        session = db.session.get(ProgrammeSession, session_id)
        for r in seated:  # four confirmed, four waiting
            signups.sign_up(db.session.get(Registration, r), session, actor=ATTENDEE)
        db.session.commit()
        leaving = [s.id for s in db.session.scalars(
            db.select(SessionSignup).where(SessionSignup.status == "confirmed"))][:3]

    def cancel(signup_id: int) -> None:
        signups.cancel_signup(db.session.get(SessionSignup, signup_id), actor=ATTENDEE)

    jobs = [lambda s=s: cancel(s) for s in leaving]
    jobs += [lambda r=r: _sign_up(session_id, r) for r in newcomers]
    assert race(app, jobs) == []
    counted = _statuses(app, session_id)
    assert counted["confirmed"] == CAP  # every freed place handed on, never more
    assert counted["cancelled"] == 3
    assert counted["waitlisted"] == 16 - CAP - 3
    with app.app_context():
        # The earliest of the first waitlist moved up before any newcomer.
        moved = db.session.scalars(db.select(SessionSignup.registration_id).where(
            SessionSignup.status == "confirmed")).all()
        assert set(seated[4:7]) <= set(moved)
