"""Organizers review registrations, one by one and in bulk; settings and capacity refill seats."""

from __future__ import annotations

import pytest
from smtp import smtp_settings

from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.registrations.models import EventCategory, Registration
from tests.factories import make_event, make_registration


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


def journalist(event: Event, n: int) -> Registration:
    """Journalist `n` registers for the event, placed as the service decides."""
    return make_registration(
        event=event,
        category="journalist",
        status=None,
        given_name=f"J{n}",
        family_name="Reporter",
        email=f"j{n}@example.org",
        answers={"media_outlet": "Paper", "media_role": "Reporter"},
    )


@pytest.fixture
def reviewed(app):
    """An event of capacity 2 with two pending journalists and one waitlisted."""
    with app.app_context():
        event = make_event(capacity=2)
        ids = [journalist(event, i).id for i in range(3)]
        db.session.commit()
        return {"event": event.id, "ids": ids}


def status_of(app, registration_id):
    with app.app_context():
        return db.session.get(Registration, registration_id).status


def test_pending_registrations_hold_their_seats(app, reviewed):
    assert [status_of(app, i) for i in reviewed["ids"]] == ["pending", "pending", "waitlisted"]


def test_approve_confirms_and_emails_the_calendar(app, client, auth, reviewed, smtp_server):
    auth.organizer()
    first = reviewed["ids"][0]
    response = client.post(f"/manage/registrations/{first}/decision", data={"action": "approve"})
    assert response.status_code == 303
    assert status_of(app, first) == "confirmed"
    with app.app_context():
        deliver_due()
    approved = [m for m in smtp_server.messages if m["To"] == "j0@example.org"][-1]
    assert "confirmed" in approved["Subject"]
    assert "approved" in approved.get_body(("plain",)).get_content()
    assert any(p.get_content_type() == "text/calendar" for p in approved.iter_attachments())


def test_reject_with_reason_emails_it_and_promotes_the_waitlist(
    app, client, auth, reviewed, smtp_server
):
    auth.organizer()
    first, _second, third = reviewed["ids"]
    client.post(
        f"/manage/registrations/{first}/decision",
        data={"action": "reject", "reason": "Accreditation could not be verified.",
              "confirmed": "1"},
    )
    assert status_of(app, first) == "rejected"
    # The journalist on the waitlist moves up, to review again (the category needs review).
    assert status_of(app, third) == "pending"
    with app.app_context():
        deliver_due()
    rejected = [m for m in smtp_server.messages if m["To"] == "j0@example.org"][-1]
    assert "Accreditation could not be verified." in rejected.get_body(("plain",)).get_content()
    promoted = [m for m in smtp_server.messages if m["To"] == "j2@example.org"][-1]
    assert "awaiting review" in promoted["Subject"]


def test_bulk_approve_confirms_each_selected_pending_registration(app, client, auth, reviewed):
    auth.organizer()
    ids = reviewed["ids"]
    response = client.post(
        f"/manage/events/{reviewed['event']}/registrations/bulk",
        data={"action": "approve", "ids": [str(i) for i in ids]},
    )
    assert response.status_code == 303
    assert [status_of(app, i) for i in ids] == ["confirmed", "confirmed", "waitlisted"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 registrations updated." in page and "1 registration skipped" in page


def test_registration_list_filters_by_status_and_search(app, client, auth, reviewed):
    auth.organizer()
    page = client.get(
        f"/manage/events/{reviewed['event']}/registrations?status=waitlisted"
    ).get_data(as_text=True)
    assert "J2 Reporter" in page and "J0 Reporter" not in page
    page = client.get(f"/manage/events/{reviewed['event']}/registrations?q=j1@").get_data(
        as_text=True
    )
    assert "J1 Reporter" in page and "J0 Reporter" not in page


def test_category_settings_are_saved_and_a_cap_above_capacity_is_refused(
    app, client, auth, reviewed
):
    auth.organizer()
    url = f"/manage/events/{reviewed['event']}/categories"
    form = {"general_public-enabled": "y", "journalist-enabled": "y", "journalist-seat_cap": "5"}
    response = client.post(url, data=form)
    assert response.status_code == 200
    assert "cannot exceed the event" in response.get_data(as_text=True)
    form["journalist-seat_cap"] = "2"
    form["journalist-extra_question"] = "Which outlet accredits you?"
    assert client.post(url, data=form).status_code == 303
    with app.app_context():
        rows = {
            r.category: r
            for r in db.session.scalars(
                db.select(EventCategory).where(EventCategory.event_id == reviewed["event"])
            )
        }
        assert rows["journalist"].seat_cap == 2
        assert rows["journalist"].needs_review is False  # the box was not ticked
        assert rows["academic"].enabled is False
        assert rows["journalist"].extra_question == "Which outlet accredits you?"
    assert "Which outlet accredits you?" in client.get(
        f"/events/{_slug(app, reviewed['event'])}/register?category=journalist"
    ).get_data(as_text=True)


def _slug(app, event_id):
    with app.app_context():
        from nkhr_events.events.models import Event

        return db.session.get(Event, event_id).slug


def test_raising_capacity_in_the_event_form_promotes_from_the_waitlist(app, client, auth, reviewed):
    auth.organizer()
    event_id = reviewed["event"]
    page = client.get(f"/manage/events/{event_id}/edit").get_data(as_text=True)
    assert 'name="capacity"' in page
    with app.app_context():
        from nkhr_events.events.models import Event

        event = db.session.get(Event, event_id)
        form = {
            "series_id": str(event.series_id),
            "languages": ["en", "ko"],
            "title": event.title,
            "slug": event.slug,
            "start_date": event.start_date.isoformat(),
            "end_date": event.end_date.isoformat(),
            "city": event.city,
            "country": event.country,
            "timezone": event.timezone,
            "capacity": "3",
            "registration_opens_at": event.registration_opens_at.astimezone(event.zone).strftime(
                "%Y-%m-%dT%H:%M"
            ),
        }
    response = client.post(f"/manage/events/{event_id}/edit", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert status_of(app, reviewed["ids"][2]) == "pending"
    form["capacity"] = "1"
    response = client.post(f"/manage/events/{event_id}/edit", data=form)
    assert response.status_code == 200
    assert "seats are already taken" in response.get_data(as_text=True)


def test_staff_see_a_registration_with_every_email_sent_to_it(app, client, auth, reviewed):
    auth.organizer()
    first = reviewed["ids"][0]
    client.post(f"/manage/registrations/{first}/decision", data={"action": "approve"})
    page = client.get(f"/manage/registrations/{first}").get_data(as_text=True)
    assert "j0@example.org" in page and "Paper" in page
    assert "Your registration is awaiting review" in page
    assert "Your seat is confirmed" in page
    home = client.get("/manage/").get_data(as_text=True)
    assert "1 confirmed, 1 to review, 1 waiting" in home
