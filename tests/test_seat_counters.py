"""The seats an event's categories hold are counted by the database (event_seat_count, kept by
triggers on registration), so the seat check costs the same in an empty event and a full one.
Every way a registration enters or leaves a seat — the services, staff steps, the release of
unconfirmed places, bulk updates, erasure, deletion, a deleted event — leaves the counters
equal to a recount of the rows; racing threads too, on SQLite and PostgreSQL. And the
duplicate-address check is answered from the one-active-registration index."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from sqlalchemy import delete, event, select, text, update

from nkhr_events.audit.services import ATTENDEE, SYSTEM
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.privacy.services import anonymize_registration
from nkhr_events.registrations import services
from nkhr_events.registrations.models import (
    EventSeatCount,
    Registration,
    RegistrationStatus,
)
from nkhr_events.registrations.seats import counted_seats, seats_taken
from nkhr_events.registrations.services import RegistrationInput
from tests.factories import make_event
from tests.races import race


def person(n: int, category: str = "general_public") -> RegistrationInput:
    answers = {"media_outlet": "Paper", "media_role": "Reporter"} if category == "journalist" \
        else {}
    return RegistrationInput(category=category, given_name=f"Given{n}",
                             family_name=f"Family{n}", email=f"seat{n}@example.org",
                             privacy_consent=True, language="en", answers=answers)


def assert_counted(event_id: int) -> dict[str | None, int]:
    """The counters agree with the rows; returns them."""
    taken = seats_taken(event_id)
    assert taken == counted_seats(event_id)
    return taken


def registration(event_id: int, n: int) -> Registration:
    found = db.session.scalar(select(Registration).where(
        Registration.event_id == event_id, Registration.email == f"seat{n}@example.org"))
    assert found is not None
    return found


def test_every_step_of_a_registration_keeps_the_counters_equal_to_a_recount(app: Flask) -> None:
    with app.app_context():
        event_id = make_event(capacity=6).id  # journalists are reviewed: pending holds a seat
        db.session.commit()
        steps: list[tuple[str, Callable[[], object]]] = [
            *[(f"register {n}", lambda n=n: services.register_attendee(
                event_id, person(n), actor=ATTENDEE)) for n in range(8)],
            ("register a journalist", lambda: services.register_attendee(
                event_id, person(20, "journalist"), actor=ATTENDEE)),
            ("cancel a confirmed", lambda: services.cancel_registration(
                registration(event_id, 0), actor=ATTENDEE)),
            ("move to the waitlist", lambda: services.move_to_waitlist(
                registration(event_id, 1), actor=SYSTEM)),
            ("reject", lambda: services.reject_registration(
                registration(event_id, 2), actor=SYSTEM)),
            ("erase", lambda: anonymize_registration(
                registration(event_id, 3), actor=SYSTEM)),
            ("bulk update to cancelled", lambda: db.session.execute(
                update(Registration)
                .where(Registration.event_id == event_id,
                       Registration.status == RegistrationStatus.WAITLISTED)
                .values(status=RegistrationStatus.CANCELLED))),
            ("category change", lambda: db.session.execute(
                update(Registration)
                .where(Registration.id == registration(event_id, 4).id)
                .values(category="academic"))),
            ("same status written again", lambda: db.session.execute(
                update(Registration).where(Registration.event_id == event_id)
                .values(status=Registration.status))),
            ("delete a seat holder", lambda: db.session.execute(
                delete(Registration).where(Registration.id == registration(event_id, 5).id))),
        ]
        seen = []
        for name, step in steps:
            step()
            db.session.flush()
            seen.append((name, assert_counted(event_id)))
            db.session.commit()
        # Not vacuous: the counts moved as the steps say.
        assert seen[5][1][None] == 6  # six seats after eight registrations on six seats
        assert dict(seen)["category change"]["academic"] == 1
        assert dict(seen)["delete a seat holder"][None] < dict(seen)["category change"][None]

        # A deleted event takes its counters with it.
        db.session.execute(delete(Registration).where(Registration.event_id == event_id))
        db.session.execute(delete(Event).where(Event.id == event_id))
        db.session.commit()
        assert db.session.scalars(
            select(EventSeatCount).where(EventSeatCount.event_id == event_id)).all() == []


def test_racing_registrations_and_cancellations_leave_exact_counters(app: Flask) -> None:
    with app.app_context():
        event_id = make_event(capacity=10).id
        for n in range(6):
            services.register_attendee(event_id, person(n), actor=ATTENDEE)
        db.session.commit()

    def cancel(n: int) -> Callable[[], object]:
        def job() -> object:
            return services.cancel_registration(registration(event_id, n), actor=ATTENDEE)
        return job

    def register(n: int) -> Callable[[], object]:
        return lambda: services.register_attendee(event_id, person(n), actor=ATTENDEE)

    errors = race(app, [*(register(n) for n in range(100, 124)), *(cancel(n) for n in range(6))])
    assert errors == []
    with app.app_context():
        taken = assert_counted(event_id)
        assert taken[None] == 10  # the cancelled seats went to racers or the waitlist
        statuses = db.session.scalars(
            select(Registration.status).where(Registration.event_id == event_id)).all()
        assert statuses.count(RegistrationStatus.CONFIRMED) == 10
        assert statuses.count(RegistrationStatus.CANCELLED) == 6
        assert statuses.count(RegistrationStatus.WAITLISTED) == 14


def test_the_duplicate_check_is_answered_from_the_active_address_index(app: Flask) -> None:
    """The statuses are written into the statement, so the planner can match the partial
    unique index's condition; with bound values SQLite scans the event."""
    with app.app_context():
        event_id = make_event().id
        services.register_attendee(event_id, person(1), actor=ATTENDEE)
        db.session.commit()
        statements: list[tuple[str, object]] = []

        def seen(_c: object, _cur: object, statement: str, parameters: object,
                 _ctx: object, _many: object) -> None:
            if "email_key" in statement and statement.lstrip().upper().startswith("SELECT"):
                statements.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            assert services.active_registration(event_id, "seat1@example.org") is not None
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        [(statement, parameters)] = statements
        assert "'pending', 'confirmed', 'waitlisted'" in statement
        connection = db.session.connection()
        if db.engine.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters))  # type: ignore[arg-type]
        else:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(row[0] for row in connection.exec_driver_sql(
                f"EXPLAIN {statement}", parameters))  # type: ignore[arg-type]
        assert "uq_registration_active_email" in plan, plan
        db.session.rollback()
