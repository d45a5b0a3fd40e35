"""An event's capacity and its categories' seat caps change in one place
(`registrations.services.change_capacity`): under the seat lock, never below the seats taken,
and a raised limit moves people up from the waitlist in the same transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import ATTENDEE, SYSTEM
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.registrations import services
from nkhr_events.registrations.models import EventCategory, Registration
from nkhr_events.registrations.services import KEEP, RegistrationInput
from tests.factories import make_event, make_registration
from tests.markup import form_values, parse
from tests.races import race


def person(n: int, category: str = "general_public", **answers: str) -> RegistrationInput:
    return RegistrationInput(
        category=category,
        given_name=f"Given{n}",
        family_name="Person",
        email=f"person{n}@example.org",
        privacy_consent=True,
        answers=answers,
    )


def statuses(app: Flask, event_id: int) -> Counter[str]:
    with app.app_context():
        return Counter(
            db.session.scalars(
                db.select(Registration.status).where(Registration.event_id == event_id)
            )
        )


def capacity_of(app: Flask, event_id: int) -> int | None:
    with app.app_context():
        return db.session.get(Event, event_id).capacity


def emails_to(registration_id: int) -> list[str]:
    return list(
        db.session.scalars(
            db.select(OutboxMessage.template)
            .where(OutboxMessage.registration_id == registration_id)
            .order_by(OutboxMessage.id)
        )
    )


def full_event(app: Flask, capacity: int = 2, waiting: int = 2) -> dict[str, object]:
    """An event whose `capacity` seats are taken, with `waiting` people on the waitlist."""
    with app.app_context():
        event = make_event(capacity=capacity)
        ids = [
            make_registration(event=event, status="confirmed" if n < capacity else "waitlisted").id
            for n in range(capacity + waiting)
        ]
        db.session.commit()
        return {"id": event.id, "slug": event.slug, "held": ids[:capacity],
                "waiting": ids[capacity:]}


def edit_form(app: Flask, event_id: int, **changes: str) -> dict[str, str]:
    """The event form as an organizer would send it unchanged, but for `changes`."""
    with app.app_context():
        event = db.session.get(Event, event_id)
        values = {
            "series_id": str(event.series_id),
            "languages": ["en", "ko"],
            "title": event.title,
            "slug": event.slug,
            "start_date": event.start_date.isoformat(),
            "end_date": event.end_date.isoformat(),
            "venue": event.venue,
            "city": event.city,
            "country": event.country,
            "timezone": event.timezone,
            "capacity": str(event.capacity),
            "retention_days": str(event.retention_days),
            "participant_list": event.participant_list,
            "registration_opens_at": event.registration_opens_at.astimezone(event.zone).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "registration_closes_at": event.registration_closes_at.astimezone(
                event.zone
            ).strftime("%Y-%m-%dT%H:%M"),
        }
    values.update(changes)
    return values


def test_a_capacity_below_the_seats_taken_is_refused_beside_the_field_with_the_value_kept(
    app: Flask, client: FlaskClient, auth
) -> None:
    event = full_event(app, capacity=3, waiting=0)
    auth.organizer()
    response = client.post(
        f"/manage/events/{event['id']}/edit",
        data=edit_form(app, event["id"], capacity="2", venue="Another Hall"),
    )
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert page.one(id="capacity-error").text == (
        "3 seats are already taken; the capacity cannot be lower."
    )
    values = form_values(page.one("form", class_="form"))
    assert (values["capacity"], values["venue"]) == ("2", "Another Hall")
    with app.app_context():
        found = db.session.get(Event, event["id"])
        assert (found.capacity, found.venue) == (3, "Press Center")
        assert db.session.scalar(
            db.select(db.func.count(AuditEntry.id)).where(AuditEntry.action == "event.update")
        ) == 0


def test_raising_the_capacity_moves_people_up_and_emails_them_in_the_same_transaction(
    app: Flask,
) -> None:
    event = full_event(app, capacity=2, waiting=2)
    first, second = event["waiting"]
    with app.app_context():
        found = db.session.get(Event, event["id"])
        moved = services.change_capacity(found, 3, actor=SYSTEM)
        assert [r.id for r in moved] == [first]
        # Not committed: undone together, the capacity, the seat and the email.
        db.session.rollback()
        assert emails_to(first) == ["registration_waitlisted"]
    assert capacity_of(app, event["id"]) == 2
    assert statuses(app, event["id"]) == {"confirmed": 2, "waitlisted": 2}

    with app.app_context():
        found = db.session.get(Event, event["id"])
        moved = services.change_capacity(found, 3, actor=SYSTEM)
        db.session.commit()
        assert [r.id for r in moved] == [first]
        assert emails_to(first) == ["registration_waitlisted", "registration_confirmed"]
        assert emails_to(second) == ["registration_waitlisted"]
        assert db.session.scalars(
            db.select(AuditEntry.object_id).where(AuditEntry.action == "registration.promote")
        ).all() == [first]
    assert capacity_of(app, event["id"]) == 3
    assert statuses(app, event["id"]) == {"confirmed": 3, "waitlisted": 1}


def test_the_event_form_raises_the_capacity_through_its_owner_and_says_who_moved_up(
    app: Flask, client: FlaskClient, auth
) -> None:
    event = full_event(app, capacity=2, waiting=3)
    auth.organizer()
    response = client.post(
        f"/manage/events/{event['id']}/edit", data=edit_form(app, event["id"], capacity="4"),
        follow_redirects=True,
    )
    assert "2 people moved up from the waitlist." in response.get_data(as_text=True)
    assert statuses(app, event["id"]) == {"confirmed": 4, "waitlisted": 1}
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "event.update"))
        assert "capacity" in entry.detail["fields"]


def test_a_seat_cap_below_its_categorys_seats_taken_is_refused_beside_it(
    app: Flask, client: FlaskClient, auth
) -> None:
    with app.app_context():
        event = make_event(capacity=10)
        for _n in range(3):
            make_registration(event=event, category="academic")
        db.session.commit()
        event_id = event.id
    auth.organizer()
    form = {"academic-enabled": "y", "academic-seat_cap": "2", "general_public-enabled": "y"}
    response = client.post(f"/manage/events/{event_id}/categories", data=form)
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert page.one(id="academic-seat_cap-error").text == (
        "3 seats in this category are already taken; the seat cap cannot be lower."
    )
    assert page.one("input", name="academic-seat_cap").get("value") == "2"
    with app.app_context():
        assert db.session.scalars(
            db.select(EventCategory.seat_cap).where(EventCategory.event_id == event_id)
        ).all() == []

    form["academic-seat_cap"] = "3"
    assert client.post(f"/manage/events/{event_id}/categories", data=form).status_code == 303


def test_raising_a_seat_cap_moves_that_category_up_from_the_waitlist(app: Flask) -> None:
    with app.app_context():
        event = make_event(capacity=10)
        services.save_category_settings(event, {"artist": {"seat_cap": 1}}, actor=SYSTEM)
        for n in range(3):
            make_registration(event=event, category="artist", given_name=f"Given{n}",
                              status="confirmed" if n == 0 else "waitlisted")
        moved = services.change_capacity(event, KEEP, category_caps={"artist": 2}, actor=SYSTEM)
        db.session.commit()
        assert [r.given_name for r in moved] == ["Given1"]
        assert event.capacity == 10
        assert statuses(app, event.id) == {"confirmed": 2, "waitlisted": 1}


def test_the_category_page_raises_a_seat_cap_through_the_owner_and_says_who_moved_up(
    app: Flask, client: FlaskClient, auth
) -> None:
    with app.app_context():
        event = make_event(capacity=10)
        services.save_category_settings(event, {"artist": {"seat_cap": 1}}, actor=SYSTEM)
        for n in range(3):
            make_registration(event=event, category="artist", given_name=f"Given{n}",
                              status="confirmed" if n == 0 else "waitlisted")
        db.session.commit()
        event_id = event.id
    auth.organizer()
    response = client.post(
        f"/manage/events/{event_id}/categories",
        data={"artist-enabled": "y", "artist-seat_cap": "3"},
        follow_redirects=True,
    )
    assert "2 people moved up from the waitlist." in response.get_data(as_text=True)
    assert statuses(app, event_id) == {"confirmed": 3}


def test_capacity_changes_racing_registrations_never_overbook_nor_strand_the_waitlist(
    app: Flask,
) -> None:
    with app.app_context():
        event_id = make_event(capacity=4).id
        db.session.commit()

    def register(n: int) -> Callable[[], object]:
        return lambda: services.register_attendee(event_id, person(n), actor=ATTENDEE)

    def set_capacity(capacity: int) -> Callable[[], object]:
        def change() -> object:
            return services.change_capacity(db.session.get(Event, event_id), capacity, actor=SYSTEM)

        return change

    work = [register(n) for n in range(16)]
    work[3:3] = [set_capacity(2)]
    work[8:8] = [set_capacity(9)]
    work[12:12] = [set_capacity(3)]
    work.append(set_capacity(6))
    errors = race(app, work)

    # A lower capacity is refused once more seats are taken; nothing else fails.
    assert all(isinstance(e, DomainError) and e.field == "capacity" for e in errors), errors
    capacity = capacity_of(app, event_id)
    counts = statuses(app, event_id)
    assert sum(counts.values()) == 16
    held = counts["confirmed"] + counts["pending"]
    assert held <= capacity
    # Every seat a raise freed went to the waitlist at once.
    assert held == capacity or counts["waitlisted"] == 0
