"""Cancelling a flood of registrations: filter by time window and more, preview, confirm with the
count, one transaction; refused when the count changed; audited; the waitlist moves up after."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markup import Element, parse
from smtp import SMTPServer, smtp_settings

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import ATTENDEE, SYSTEM
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.outbox.services import write_body
from nkhr_events.registrations import holds
from nkhr_events.registrations.models import Registration
from nkhr_events.roster import flood
from tests.factories import make_event, make_registration

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def person(event_id: int, name: str, email: str, now: datetime) -> Registration:
    """`name` registers for the event at `now`, placed as the service decides."""
    return make_registration(event=event_id, status=None, given_name=name, family_name="Tester",
                             email=email, now=now)


#: The flood starts here: a whole minute, three hours ago.
FLOOD_START = (utcnow() - timedelta(hours=3)).replace(second=0, microsecond=0)


@pytest.fixture
def event(app: Flask) -> dict[str, object]:
    """Capacity 5: two real people registered before the flood (one waits, after the flood
    filled the event, another real person); 25 fake sign-ups from one domain within 25
    minutes."""
    with app.app_context():
        found = make_event(capacity=5, email_confirmation_minutes=600)
        ids: dict[str, list[int]] = {"real": [], "fake": [], "late": []}
        for n in range(2):
            registration = person(found.id, f"Real{n}", f"real{n}@example.org",
                                  now=FLOOD_START - timedelta(minutes=30 - n))
            ids["real"].append(registration.id)
        for n in range(25):
            registration = person(found.id, f"Fake{n:02d}", f"bot{n}@spam.example",
                                  now=FLOOD_START + timedelta(minutes=n, seconds=30))
            ids["fake"].append(registration.id)
        late = person(found.id, "Late", "late@example.org", now=FLOOD_START + timedelta(hours=1))
        ids["late"].append(late.id)
        holds.confirm_email(late, actor=ATTENDEE)
        db.session.commit()
        return {"id": found.id, "ids": ids}


def local(moment: datetime) -> str:
    return moment.astimezone(SEOUL).strftime("%Y-%m-%dT%H:%M")


def window(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "created_from": local(FLOOD_START),
        "created_until": local(FLOOD_START + timedelta(minutes=24)),
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def url(event: dict[str, object]) -> str:
    return f"/manage/events/{event['id']}/registrations/flood"


def preview(client: FlaskClient, event: dict[str, object], **changes: object) -> Element:
    response = client.post(url(event), data={"step": "preview", **window(**changes)})
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))


def statuses(app: Flask, ids: list[int]) -> list[str]:
    with app.app_context():
        return [db.session.get(Registration, i).status for i in ids]


def actions(app: Flask) -> Counter[str]:
    with app.app_context():
        return Counter(db.session.scalars(db.select(AuditEntry.action)))


def mail_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(OutboxMessage.id))) or 0


def test_roster_links_to_the_flood_page_and_the_form_asks_for_a_window(
    app: Flask, client: FlaskClient, auth, event: dict[str, object]
) -> None:
    auth.organizer()
    roster = parse(client.get(f"/manage/events/{event['id']}/registrations").get_data(
        as_text=True))
    assert roster.find("a", href=url(event)) is not None
    page = parse(client.get(url(event)).get_data(as_text=True))
    assert page.one("input", name="created_from").get("type") == "datetime-local"
    assert "Asia/Seoul" in page.text
    assert page.find(id="preview") is None

    answer = preview(client, event, created_from="", created_until="")
    field = answer.one(id="created_from")
    assert field.get("aria-invalid") == "true"
    assert "Give the start or the end of the time window" in answer.one(id="error-summary").text
    assert answer.find(id="preview") is None


def test_preview_shows_the_count_and_the_first_twenty_then_confirm_cancels_in_one_step(
    app: Flask, client: FlaskClient, auth, event: dict[str, object]
) -> None:
    ids = event["ids"]
    assert statuses(app, ids["fake"][:3]) == ["confirmed"] * 3
    assert statuses(app, ids["late"]) == ["waitlisted"]
    before = statuses(app, ids["fake"])
    assert Counter(before) == {"confirmed": 3, "waitlisted": 22}
    auth.organizer()
    page = preview(client, event)
    box = page.one(id="preview")
    assert box.one("h2").text == "25 registrations match"
    rows = box.one("tbody").find_all("tr")
    assert len(rows) == 20
    assert "Fake00" in rows[0].text and "bot0@spam.example" in rows[0].text
    assert "(South Korea Time)" in rows[0].text
    assert "The first 20" in box.one("caption").text
    assert "Real0" not in box.text
    confirm_form = box.one("form")
    assert confirm_form.one("input", name="expected_count").get("value") == "25"
    assert "I understand that 25 registrations will be cancelled." in confirm_form.text
    notify_box = confirm_form.one("input", name="notify_people")
    assert "checked" not in notify_box.attrs
    assert actions(app)["roster.flood_preview"] == 1
    assert actions(app)["registration.flood_cancel"] == 0

    # Without the tick nothing happens.
    hidden = {e.get("name"): e.get("value") for e in confirm_form.find_all("input")
              if e.get("type") == "hidden" and e.get("name") != "csrf_token"}
    answer = client.post(url(event), data={**hidden, "step": "cancel"})
    assert answer.status_code == 200
    assert parse(answer.get_data(as_text=True)).one(id="understood").get("aria-invalid") == "true"
    assert statuses(app, ids["fake"]) == before
    assert actions(app)["registration.flood_cancel"] == 0

    before_mail = mail_count(app)
    answer = client.post(url(event), data={**hidden, "step": "cancel", "understood": "y"})
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/manage/events/{event['id']}/registrations")
    roster = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "25 registrations cancelled." in roster
    assert "1 person moved up from the waitlist." in roster

    assert statuses(app, ids["fake"]) == ["cancelled"] * 25
    assert statuses(app, ids["real"]) == ["confirmed", "confirmed"]
    assert statuses(app, ids["late"]) == ["confirmed"]  # the freed seats moved the waitlist up
    with app.app_context():
        reasons = set(db.session.scalars(
            db.select(Registration.cancel_reason).where(Registration.id.in_(ids["fake"]))))
        assert reasons == {"flood"}
        entries = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action.in_(
                ["registration.flood_cancel", "roster.flood_cancel"]))).all()
        per_person = [e for e in entries if e.action == "registration.flood_cancel"]
        assert sorted(e.object_id for e in per_person) == sorted(ids["fake"])
        assert {e.actor for e in entries} == {"organizer@example.org"}
        assert all(e.actor_id is not None for e in entries)
        [summary] = [e for e in entries if e.action == "roster.flood_cancel"]
        assert summary.detail["cancelled"] == 25 and summary.detail["expected"] == 25
        assert summary.detail["promoted"] == 1 and summary.detail["emailed"] == 0
        assert summary.detail["filters"]["created_from"].startswith(FLOOD_START.isoformat()[:16])
        # Nobody cancelled was emailed; the person who moved up was.
        new_mail = db.session.scalars(
            db.select(OutboxMessage).order_by(OutboxMessage.id).offset(before_mail)).all()
        assert [(m.registration_id, m.template) for m in new_mail] == [
            (ids["late"][0], "registration_confirmed")]
    # The person page tells staff why.
    page = parse(client.get(f"/manage/registrations/{ids['fake'][0]}").get_data(as_text=True))
    assert page.one(id="hold-marker").text == "Cancelled by staff: flood of registrations"


def test_a_count_that_changed_since_the_preview_is_refused_and_nothing_is_cancelled(
    app: Flask, client: FlaskClient, auth, event: dict[str, object]
) -> None:
    auth.organizer()
    box = preview(client, event).one(id="preview")
    hidden = {e.get("name"): e.get("value") for e in box.find_all("input")
              if e.get("type") == "hidden" and e.get("name") != "csrf_token"}
    with app.app_context():
        person(event["id"], "Another", "bot99@spam.example",
               now=FLOOD_START + timedelta(minutes=10))
        db.session.commit()
    answer = client.post(url(event), data={**hidden, "step": "cancel", "understood": "y"})
    assert answer.status_code == 200
    page = parse(answer.get_data(as_text=True))
    assert "The filters now select 26 registrations" in page.text
    assert "Nothing was cancelled" in page.text
    assert page.one(id="preview").one("h2").text == "26 registrations match"
    assert page.one("input", name="expected_count").get("value") == "26"
    assert "checked" not in page.one("input", name="understood").attrs
    assert "cancelled" not in statuses(app, event["ids"]["fake"])
    assert actions(app)["registration.flood_cancel"] == 0
    assert actions(app)["roster.flood_cancel"] == 0


def test_filters_narrow_the_flood_and_the_window_is_read_in_the_event_time_zone(
    app: Flask, client: FlaskClient, auth, event: dict[str, object]
) -> None:
    auth.organizer()

    def count(**changes: object) -> int:
        heading = preview(client, event, **changes).one(id="preview").one("h2").text
        return int(heading.split()[0])

    assert count() == 25
    # "Until" includes its whole minute: the registration at +24:30 counts at until +24.
    assert count(created_until=local(FLOOD_START + timedelta(minutes=23))) == 24
    # From +24 on: the last fake one and the late real one.
    assert count(created_from=local(FLOOD_START + timedelta(minutes=24)), created_until=None) == 2
    # The flood's start written in UTC is read in Seoul: nine hours before anyone registered.
    utc_text = FLOOD_START.strftime("%Y-%m-%dT%H:%M")
    assert count(created_from=None, created_until=utc_text) == 0
    assert count(email_domain="spam.example") == 25
    assert count(email_domain="@SPAM.example", created_from=local(FLOOD_START - timedelta(hours=1)),
                 created_until=None) == 25
    assert count(email_domain="example.org", created_from=local(FLOOD_START - timedelta(hours=1)),
                 created_until=None) == 3
    assert count(email_domain="pam.example") == 0
    assert count(statuses="waitlisted") == 22
    assert count(statuses=["confirmed", "waitlisted"]) == 25
    assert count(category="journalist") == 0
    assert count(unconfirmed_only="y", created_until=None) == 25
    bad = preview(client, event, email_domain="spam example")
    assert bad.one(id="email_domain").get("aria-invalid") == "true"


def test_emailing_the_people_cancelled_is_a_choice(
    app: Flask, client: FlaskClient, auth, event: dict[str, object]
) -> None:
    auth.organizer()
    box = preview(client, event, statuses="waitlisted").one(id="preview")
    hidden = {e.get("name"): e.get("value") for e in box.find_all("input")
              if e.get("type") == "hidden" and e.get("name") != "csrf_token"}
    data = {**hidden, "statuses": "waitlisted", "step": "cancel", "understood": "y",
            "notify_people": "y"}
    assert client.post(url(event), data=data).status_code == 303
    with app.app_context():
        cancelled = db.session.scalars(
            db.select(Registration.id).where(Registration.status == "cancelled")).all()
        assert len(cancelled) == 22
        told = db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.template == "registration_released")
        ).all()
        assert sorted(m.registration_id for m in told) == sorted(cancelled)
        assert all("The organizers have cancelled your registration" in write_body(m, keep=False)[0]
                   for m in told)
        assert all(not m.attachments for m in told)  # none of them held a confirmed seat
        [summary] = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "roster.flood_cancel")).all()
        assert summary.detail["emailed"] == 22 and summary.detail["promoted"] == 0


def test_cancel_flood_service_refuses_a_changed_count_and_a_missing_window(
    app: Flask, event: dict[str, object]
) -> None:
    with app.app_context():
        found = db.session.get(Registration, event["ids"]["fake"][0]).event
        filters = flood.FloodFilters(created_from=FLOOD_START,
                                     created_until=FLOOD_START + timedelta(minutes=25))
        with pytest.raises(flood.FloodChanged) as refused:
            flood.cancel_flood(found, filters, expected_count=24, actor=SYSTEM)
        assert refused.value.count == 25
        db.session.rollback()
        with pytest.raises(flood.DomainError):
            flood.cancel_flood(found, flood.FloodFilters(), expected_count=0, actor=SYSTEM)
        db.session.rollback()
        result = flood.cancel_flood(found, filters, expected_count=25, actor=SYSTEM)
        db.session.commit()
        assert result == flood.FloodResult(cancelled=25, promoted=1, emailed=0)
