"""Seats never overbook: racing registrations, caps, cancellations, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from nkhr_events.audit.services import ATTENDEE, SYSTEM
from nkhr_events.extensions import db
from nkhr_events.registrations import services
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.services import RegistrationInput
from tests.factories import make_event


def person(n: int, category: str = "general_public", **overrides) -> RegistrationInput:
    values = dict(
        category=category,
        given_name=f"Given{n}",
        family_name=f"Family{n}",
        email=f"person{n}@example.org",
        privacy_consent=True,
        language="en",
    )
    values.update(overrides)
    return RegistrationInput(**values)


def race(app, count, work):
    """Run `work(i)` in `count` threads released at once; each thread uses its own session."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                work(i)
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                db.session.rollback()
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def statuses(app, event_id):
    with app.app_context():
        return Counter(
            db.session.scalars(
                db.select(Registration.status).where(Registration.event_id == event_id)
            )
        )


@pytest.fixture
def event_id(app):
    with app.app_context():
        event = make_event(capacity=5)
        db.session.commit()
        return event.id


def test_forty_racers_for_five_seats_give_five_confirmed_and_thirty_five_waitlisted(app, event_id):
    errors = race(app, 40, lambda i: services.register_attendee(event_id, person(i),
        actor=ATTENDEE))
    assert errors == []
    assert statuses(app, event_id) == {"confirmed": 5, "waitlisted": 35}


def test_category_cap_holds_under_a_race(app):
    with app.app_context():
        event = make_event(capacity=100)
        services.save_category_settings(event, {"academic": {"seat_cap": 3}}, actor=SYSTEM)
        db.session.commit()
        event_id = event.id
    errors = race(
        app,
        20,
        lambda i: services.register_attendee(
            event_id, person(i, "academic", answers={"institution": "Uni"}), actor=ATTENDEE
        ),
    )
    assert errors == []
    assert statuses(app, event_id) == {"confirmed": 3, "waitlisted": 17}


def test_ten_submissions_of_one_address_make_exactly_one_registration(app, event_id):
    errors = race(app, 10, lambda i: services.register_attendee(event_id, person(1),
        actor=ATTENDEE))
    assert errors == []
    assert sum(statuses(app, event_id).values()) == 1


def test_cancellations_racing_registrations_never_overbook(app, event_id):
    with app.app_context():
        for i in range(5):
            services.register_attendee(event_id, person(100 + i), actor=ATTENDEE)
        for i in range(5):
            services.register_attendee(event_id, person(200 + i), actor=ATTENDEE)
        db.session.commit()
        confirmed = db.session.scalars(
            db.select(Registration.id).where(Registration.status == "confirmed")
        ).all()
    assert len(confirmed) == 5

    def work(i: int) -> None:
        if i % 2 == 0:
            registration = db.session.get(Registration, confirmed[i // 2 % 5])
            if registration.status in ("confirmed", "pending", "waitlisted"):
                services.cancel_registration(registration, actor=ATTENDEE)
        else:
            services.register_attendee(event_id, person(300 + i), actor=ATTENDEE)

    errors = race(app, 20, work)
    assert [e for e in errors if not isinstance(e, Exception)] == []
    counts = statuses(app, event_id)
    assert counts["confirmed"] + counts["pending"] <= 5
    assert counts["confirmed"] == 5  # every freed seat was refilled from the waitlist


def test_review_category_is_pending_and_holds_its_seat(app):
    with app.app_context():
        event = make_event(capacity=1)
        result = services.register_attendee(
            event.id,
            person(1, "journalist", answers={"media_outlet": "Paper", "media_role": "Reporter"}),
                actor=ATTENDEE
        )
        assert result.registration.status == RegistrationStatus.PENDING
        second = services.register_attendee(event.id, person(2), actor=ATTENDEE)
        assert second.registration.status == RegistrationStatus.WAITLISTED
        services.approve_registration(result.registration, actor=SYSTEM)
        assert result.registration.status == RegistrationStatus.CONFIRMED


def test_a_freed_seat_goes_to_the_earliest_waitlisted_that_fits(app):
    with app.app_context():
        event = make_event(capacity=2)
        services.save_category_settings(event, {"artist": {"seat_cap": 1}}, actor=SYSTEM)
        a = services.register_attendee(
            event.id, person(1, "artist", answers={"discipline": "x"}), actor=ATTENDEE
        ).registration
        b = services.register_attendee(event.id, person(2), actor=ATTENDEE).registration
        c = services.register_attendee(
            event.id, person(3, "artist", answers={"discipline": "y"}), actor=ATTENDEE
        ).registration
        d = services.register_attendee(event.id, person(4), actor=ATTENDEE).registration
        assert [r.status for r in (a, b, c, d)] == [
            "confirmed",
            "confirmed",
            "waitlisted",
            "waitlisted",
        ]
        # b frees a general seat; c (artist) is earlier but the artist cap is full: d moves up.
        promoted = services.cancel_registration(b, actor=ATTENDEE)
        assert promoted == [d] and d.status == "confirmed" and c.status == "waitlisted"
        promoted = services.cancel_registration(a, actor=ATTENDEE)
        assert promoted == [c] and c.status == "confirmed"


def test_raising_capacity_promotes_from_the_waitlist(app):
    with app.app_context():
        event = make_event(capacity=1)
        services.register_attendee(event.id, person(1), actor=ATTENDEE)
        w = services.register_attendee(event.id, person(2), actor=ATTENDEE).registration
        assert w.status == "waitlisted"
        assert services.change_capacity(event, 2, actor=SYSTEM) == [w]
        assert w.status == "confirmed"


def test_forty_browsers_posting_at_once_all_get_an_answer_and_never_an_error(app, event_id):
    """The same race through the web form: every submission answered, seats exact."""
    with app.app_context():
        from nkhr_events.events.models import Event

        event = db.session.get(Event, event_id)
        slug, days = event.slug, [d.isoformat() for d in event.day_list]
    barrier = threading.Barrier(40)
    answers: list[int] = []

    def post(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/events/{slug}/register?category=general_public",
            data={
                "given_name": f"Given{i}",
                "family_name": "Racer",
                "email": f"racer{i}@example.org",
                "language": "en",
                "interpretation": "none",
                "privacy_consent": "y",
                "days": days,
            },
        )
        answers.append(response.status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [303] * 40
    assert statuses(app, event_id) == {"confirmed": 5, "waitlisted": 35}
