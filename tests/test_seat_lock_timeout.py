"""A seat lock that answers: while another connection holds an event's seat lock for longer
than NKHR_SEAT_LOCK_TIMEOUT_MS, a request that needs it says "try again" and changes nothing,
never hangs and never fails with a server error. The same tests run on SQLite (where the seat
lock is the write lock) and on PostgreSQL (the event's row lock, `lock_timeout`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from test_registration_flow import public_form

from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations.links import issue_manage_token
from nkhr_events.registrations.models import Registration
from tests.factories import make_event, make_registration
from tests.markup import form_values, parse, ticked

BUSY = "Many people are registering right now. Please try again in a moment."


@pytest.fixture
def app_settings() -> dict[str, object]:
    return {"NKHR_SEAT_LOCK_TIMEOUT_MS": 300}


@contextmanager
def seat_lock_held_elsewhere(app: Flask, event_id: int) -> Iterator[None]:
    """The event's seat lock, taken by another connection (another process, say) and held in
    an open transaction until the block ends: the statement `lock_event_seats` runs."""
    with app.app_context():
        engine = db.engine
    with engine.connect() as other:
        other.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(status=Event.status, updated_at=Event.updated_at)
        )
        yield
        other.rollback()


@pytest.fixture
def event(app: Flask) -> dict[str, object]:
    with app.app_context():
        found = make_event(capacity=10)
        db.session.commit()
        return {"id": found.id, "slug": found.slug, "days": [d.isoformat() for d in found.day_list]}


def registrations(app: Flask, event_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                db.select(Registration.email).where(Registration.event_id == event_id)
            )
        )


def test_a_registration_waiting_too_long_for_the_seats_is_asked_to_try_again_with_its_form_kept(
    app: Flask, client: FlaskClient, event: dict[str, object]
) -> None:
    url = f"/events/{event['slug']}/register?category=general_public"
    typed = public_form(days=event["days"])
    with seat_lock_held_elsewhere(app, event["id"]):
        response = client.post(url, data=typed)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        page = parse(response.get_data(as_text=True))
        assert BUSY in page.one(id="error-summary").text
        kept = form_values(page.one("form", class_="form"))
        for name in ("given_name", "family_name", "email", "organization", "country"):
            assert kept[name] == typed[name]
        assert registrations(app, event["id"]) == []

    response = client.post(url, data=typed)
    assert response.status_code == 303
    assert registrations(app, event["id"]) == ["minji@example.org"]


def test_an_event_edit_waiting_too_long_for_the_seats_says_so_and_changes_nothing(
    app: Flask, client: FlaskClient, auth, event: dict[str, object]
) -> None:
    auth.organizer()
    url = f"/manage/events/{event['id']}/edit"
    shown = parse(client.get(url).get_data(as_text=True)).one("form", class_="form")
    form: dict[str, object] = {**form_values(shown), "languages": ticked(shown, "languages")}
    form.update(capacity="20", venue="Another Hall")
    with seat_lock_held_elsewhere(app, event["id"]):
        response = client.post(url, data=form)
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert BUSY in page.one(id="error-summary").text
    assert form_values(page.one("form", class_="form"))["capacity"] == "20"
    with app.app_context():
        found = db.session.get(Event, event["id"])
        assert (found.capacity, found.venue) == (10, "Press Center")


def test_a_cancellation_waiting_too_long_for_the_seats_is_asked_to_try_again(
    app: Flask, client: FlaskClient, event: dict[str, object]
) -> None:
    with app.app_context():
        registration = make_registration(event=event["id"])
        token = issue_manage_token(registration)
        db.session.commit()
    with seat_lock_held_elsewhere(app, event["id"]):
        response = client.post(f"/registration/{token}/cancel")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert BUSY in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(Registration.status)) == "confirmed"


def test_a_bulk_decision_waiting_too_long_for_the_seats_decides_nothing(
    app: Flask, client: FlaskClient, auth, event: dict[str, object]
) -> None:
    with app.app_context():
        ids = [
            make_registration(event=event["id"], category="journalist", status="pending").id
            for _n in range(2)
        ]
        db.session.commit()
    auth.organizer()
    with seat_lock_held_elsewhere(app, event["id"]):
        response = client.post(
            f"/manage/events/{event['id']}/registrations/bulk",
            data={"action": "approve", "ids": [str(i) for i in ids]},
        )
    assert response.status_code == 503
    assert BUSY in response.get_data(as_text=True)
    with app.app_context():
        assert set(db.session.scalars(db.select(Registration.status))) == {"pending"}
