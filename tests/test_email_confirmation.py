"""Email confirmation holds: an event may ask every new registration to confirm its address; the
place is held meanwhile and released to the waitlist when the time runs out unconfirmed."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_babel import gettext as _
from markup import form_values, parse, ticked
from races import race
from smtp import SMTPServer, smtp_settings
from sqlalchemy.orm import selectinload

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import ATTENDEE, SYSTEM
from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due, run_worker
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.outbox.periodic import _TASKS, periodic_task, run_periodic_tasks
from nkhr_events.outbox.services import write_body
from nkhr_events.registrations import holds, services
from nkhr_events.registrations.models import Registration
from nkhr_events.web import local_datetime
from tests.factories import make_event, make_registration

CONFIRM_TEXT = "Please confirm your email address."
RELEASED_TEXT = "was released because your email address was not confirmed in time"


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def person(event_id: int, n: int, **overrides: object) -> Registration:
    """Person `n` registers for the event, placed as the service decides."""
    values: dict[str, object] = {
        "given_name": f"Given{n}",
        "family_name": f"Family{n}",
        "email": f"person{n}@example.org",
    }
    values.update(overrides)
    return make_registration(event=event_id, status=None, **values)


def new_event(app: Flask, **overrides: object) -> int:
    with app.app_context():
        values: dict[str, object] = {"capacity": 1, "email_confirmation_minutes": 60}
        values.update(overrides)
        event = make_event(**values)
        db.session.commit()
        return event.id


def register(app: Flask, event_id: int, n: int, **overrides: object) -> int:
    with app.app_context():
        registration_id = person(event_id, n, **overrides).id
        db.session.commit()
        return registration_id


def confirm(app: Flask, registration_id: int) -> holds.ConfirmOutcome:
    with app.app_context():
        outcome = holds.confirm_email(db.session.get(Registration, registration_id), actor=ATTENDEE)
        db.session.commit()
        return outcome


def release(app: Flask, after: timedelta) -> holds.ReleaseReport:
    with app.app_context():
        report = holds.release_unconfirmed(utcnow() + after, actor=SYSTEM)
        db.session.commit()
        return report


def row(app: Flask, registration_id: int) -> Registration:
    with app.app_context():
        found = db.session.get(Registration, registration_id)
        db.session.expunge(found)
        return found


def messages(app: Flask, registration_id: int) -> list[OutboxMessage]:
    with app.app_context():
        found = list(db.session.scalars(
            db.select(OutboxMessage)
            .where(OutboxMessage.registration_id == registration_id)
            .options(selectinload(OutboxMessage.attachments))
            .order_by(OutboxMessage.id)
        ))
        for message in found:
            write_body(message)  # as the outbox worker writes it when it sends it
            db.session.expunge(message)
        return found


def audit(app: Flask, action: str) -> list[tuple[int | None, str]]:
    with app.app_context():
        return [
            (entry.object_id, entry.actor)
            for entry in db.session.scalars(
                db.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        ]


def delivered_link(app: Flask, smtp_server: SMTPServer, address: str) -> str:
    with app.app_context():
        deliver_due()
    message = [m for m in smtp_server.messages if m["To"] == address][-1]
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://localhost(/registration/[A-Za-z0-9_-]+)", text).group(1)


# --- events without the setting ------------------------------------------------------------------


def test_event_without_the_setting_registers_and_keeps_places_exactly_as_before(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app, email_confirmation_minutes=None)
    first = register(app, event_id, 1)
    second = register(app, event_id, 2)
    assert row(app, first).status == "confirmed" and row(app, second).status == "waitlisted"
    assert row(app, first).confirm_by is None and row(app, first).email_confirmed_at is None
    [mail] = messages(app, first)
    assert mail.template == "registration_confirmed" and CONFIRM_TEXT not in mail.text_body

    assert release(app, timedelta(days=30)) == holds.ReleaseReport(0, 0)
    assert (row(app, first).status, row(app, second).status) == ("confirmed", "waitlisted")
    page = client.get(delivered_link(app, smtp_server, "person1@example.org"))
    assert page.status_code == 200
    assert parse(page.get_data(as_text=True)).find(id="confirm-email") is None
    # Nothing to confirm: pressing a crafted button changes nothing.
    assert confirm(app, first) == holds.ConfirmOutcome.NOT_ASKED
    assert row(app, first).email_confirmed_at is None
    assert audit(app, "registration.email_confirm") == []


# --- confirm and keep ----------------------------------------------------------------------------


def test_confirming_through_the_private_link_keeps_the_held_seat(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    before = utcnow()
    first = register(app, event_id, 1)
    held = row(app, first)
    assert held.status == "confirmed" and held.email_confirmed_at is None
    assert timedelta(minutes=59) < held.confirm_by - before < timedelta(minutes=61)

    # The email says what to do and by when, in the event's time zone.
    [mail] = messages(app, first)
    with app.test_request_context(), force_locale("en"):
        deadline = local_datetime(held.confirm_by, "Asia/Seoul")
    assert CONFIRM_TEXT in mail.text_body and deadline in mail.text_body
    assert "Confirm my email address" in mail.text_body and "(South Korea Time)" in deadline
    assert CONFIRM_TEXT in mail.html_body

    link = delivered_link(app, smtp_server, "person1@example.org")
    page = parse(client.get(link).get_data(as_text=True))
    notice = page.one(id="confirm-email")
    assert "Confirm your email address to keep your place" in notice.text
    assert " ".join(deadline.split()) in notice.text
    form = notice.one("form")
    assert form.get("method") == "post" and form.get("action") == f"{link}/confirm-email"
    assert form.one("button").text == "Confirm my email address"
    assert form.one("input", name="csrf_token") is not None

    # Opening the page or the button's address never confirms.
    assert client.get(f"{link}/confirm-email").status_code == 405
    assert row(app, first).email_confirmed_at is None

    response = client.post(f"{link}/confirm-email")
    assert response.status_code == 303 and response.headers["Location"].endswith(link)
    page = parse(client.get(link).get_data(as_text=True))
    assert "your email address is confirmed and your place is kept" in page.text
    assert page.find(id="confirm-email") is None
    kept = row(app, first)
    assert kept.email_confirmed_at is not None and kept.confirm_by is None
    assert kept.status == "confirmed"
    assert audit(app, "registration.email_confirm") == [(first, "attendee")]

    # Pressing again changes nothing: no row, no audit entry.
    client.post(f"{link}/confirm-email")
    assert row(app, first).email_confirmed_at == kept.email_confirmed_at
    assert audit(app, "registration.email_confirm") == [(first, "attendee")]
    assert "already confirmed" in client.get(link).get_data(as_text=True)

    # Long after the deadline the confirmed seat stays.
    assert release(app, timedelta(hours=5)).released == 0
    assert row(app, first).status == "confirmed"


def test_saving_the_details_does_not_confirm_the_address(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    first = register(app, event_id, 1)
    link = delivered_link(app, smtp_server, "person1@example.org")
    with app.app_context():
        days = [d.isoformat() for d in db.session.get(Event, event_id).day_list]
    form = {"given_name": "Given1", "family_name": "Family1", "language": "en",
            "interpretation": "none", "badge_name": "G1", "days": days}
    assert client.post(link, data=form).status_code == 303
    assert row(app, first).badge_name == "G1"
    assert row(app, first).email_confirmed_at is None
    assert release(app, timedelta(minutes=61)).released == 1


# --- not confirmed: released -----------------------------------------------------------------


def test_unconfirmed_place_is_released_and_goes_to_the_earliest_waitlisted_who_is_emailed(
    app: Flask, client: FlaskClient, auth, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    holder = register(app, event_id, 1)
    earliest = register(app, event_id, 2)
    later = register(app, event_id, 3)
    assert row(app, earliest).status == row(app, later).status == "waitlisted"
    assert confirm(app, earliest) == confirm(app, later) == holds.ConfirmOutcome.CONFIRMED
    holder_link = delivered_link(app, smtp_server, "person1@example.org")

    # Before the deadline nothing happens.
    assert release(app, timedelta(minutes=59)) == holds.ReleaseReport(0, 0)
    assert row(app, holder).status == "confirmed"

    assert release(app, timedelta(minutes=61)) == holds.ReleaseReport(released=1, promoted=1)
    released = row(app, holder)
    assert (released.status, released.cancel_reason) == ("cancelled", "email_not_confirmed")
    assert row(app, earliest).status == "confirmed"
    assert row(app, later).status == "waitlisted"
    assert audit(app, "registration.release") == [(holder, "system")]
    assert audit(app, "registration.promote") == [(earliest, "system")]

    # The released address is told, with its link and no field it typed but its name.
    notice = messages(app, holder)[-1]
    assert notice.template == "registration_released" and notice.language == "en"
    assert RELEASED_TEXT in notice.text_body and "Given1" in notice.text_body
    assert "person1@example.org" not in notice.text_body
    assert [a.filename for a in notice.attachments] == ["cancel.ics"]
    promoted = messages(app, earliest)[-1]
    assert promoted.template == "registration_confirmed"
    assert "a seat became free and it is yours" in promoted.text_body
    assert CONFIRM_TEXT not in promoted.text_body  # they confirmed already

    # Again: nothing more to release.
    assert release(app, timedelta(minutes=90)) == holds.ReleaseReport(0, 0)
    assert len(messages(app, holder)) == 2

    # The person's own page says why; staff see the marker.
    assert "was released because your email address was not confirmed" in client.get(
        holder_link
    ).get_data(as_text=True)
    auth.organizer()
    page = parse(client.get(f"/manage/registrations/{holder}").get_data(as_text=True))
    assert page.one(id="hold-marker").text == "Released: email not confirmed"
    roster = client.get(f"/manage/events/{event_id}/registrations").get_data(as_text=True)
    assert "Released: email not confirmed" in roster

    # The button after the release keeps nothing.
    assert confirm(app, holder) == holds.ConfirmOutcome.NOT_ACTIVE
    assert row(app, holder).status == "cancelled" and row(app, holder).email_confirmed_at is None

    # The address may register again.
    again = register(app, event_id, 1)
    assert again != holder and row(app, again).status == "waitlisted"


def test_unconfirmed_waitlisted_registration_is_removed_from_the_waitlist(app: Flask) -> None:
    event_id = new_event(app)
    holder = register(app, event_id, 1)
    waiting = register(app, event_id, 2)
    confirm(app, holder)
    assert release(app, timedelta(minutes=61)) == holds.ReleaseReport(released=1, promoted=0)
    assert (row(app, waiting).status, row(app, waiting).cancel_reason) == (
        "cancelled", "email_not_confirmed")
    assert messages(app, waiting)[-1].template == "registration_released"
    assert [a.filename for a in messages(app, waiting)[-1].attachments] == []
    assert row(app, holder).status == "confirmed"


def test_a_seat_freed_before_the_release_runs_passes_a_lapsed_waitlisted_registration(
    app: Flask,
) -> None:
    event_id = new_event(app, capacity=1)
    with app.app_context():
        earlier = utcnow() - timedelta(hours=3)
        holder = person(event_id, 1, now=earlier).id
        lapsed = person(event_id, 2, now=earlier + timedelta(minutes=5)).id
        db.session.commit()
    assert confirm(app, holder) == holds.ConfirmOutcome.CONFIRMED  # late, but not yet released
    behind = register(app, event_id, 3)
    confirm(app, behind)
    assert row(app, lapsed).status == row(app, behind).status == "waitlisted"
    with app.app_context():
        services.cancel_registration(db.session.get(Registration, holder), actor=ATTENDEE)
        db.session.commit()
    assert row(app, lapsed).status == "waitlisted"
    assert row(app, behind).status == "confirmed"
    assert release(app, timedelta(0)) == holds.ReleaseReport(released=1, promoted=0)
    assert row(app, lapsed).status == "cancelled"


def test_korean_registration_gets_the_partial_in_korean_with_its_link(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = new_event(app)
    first = register(app, event_id, 1, language="ko")
    [mail] = messages(app, first)
    assert mail.language == "ko"
    with app.test_request_context(), force_locale("ko"):
        deadline = local_datetime(row(app, first).confirm_by, "Asia/Seoul")
        heading = _("Please confirm your email address.")
    with app.test_request_context(), force_locale("en"):
        english_deadline = local_datetime(row(app, first).confirm_by, "Asia/Seoul")
    assert heading in mail.text_body and deadline in mail.text_body
    if deadline != english_deadline:
        assert english_deadline not in mail.text_body
    link = delivered_link(app, smtp_server, "person1@example.org")
    delivered = smtp_server.messages[-1].get_body(("plain",)).get_content()
    # The partial stands before the link it points to.
    assert delivered.index(heading) < delivered.index(f"http://localhost{link}")
    client.set_cookie("nkhr_lang", "ko")
    page = parse(client.get(link).get_data(as_text=True))
    assert page.one(id="confirm-email").find("form").get("action") == f"{link}/confirm-email"


def test_pending_registration_is_held_and_released_like_a_confirmed_one(app: Flask) -> None:
    event_id = new_event(app, capacity=2)
    journalist = register(app, event_id, 1, category="journalist",
                          answers={"media_outlet": "Paper", "media_role": "Reporter"})
    assert row(app, journalist).status == "pending"
    [mail] = messages(app, journalist)
    assert mail.template == "registration_pending" and CONFIRM_TEXT in mail.text_body
    assert release(app, timedelta(minutes=61)).released == 1
    assert row(app, journalist).status == "cancelled"


# --- the event setting -----------------------------------------------------------------------


def test_staff_set_the_minutes_within_bounds_and_turning_it_off_lifts_waiting_holds(
    app: Flask, client: FlaskClient, auth
) -> None:
    event_id = new_event(app, email_confirmation_minutes=None)
    auth.organizer()
    edit_url = f"/manage/events/{event_id}/edit"
    page = parse(client.get(edit_url).get_data(as_text=True))
    typed: dict[str, object] = dict(form_values(page.one("form", class_="form")))
    typed["languages"] = ticked(page.one("form", class_="form"), "languages")
    assert typed["email_confirmation_minutes"] == ""
    hint = page.one(id="email_confirmation_minutes-hint").text
    assert "Confirm my email address" in hint and "Leave empty" in hint

    for wrong in ("5", "10081", "sixty"):
        answer = client.post(edit_url, data={**typed, "email_confirmation_minutes": wrong})
        field = parse(answer.get_data(as_text=True)).one(id="email_confirmation_minutes")
        assert field.get("aria-invalid") == "true", wrong
    with app.app_context():
        assert db.session.get(Event, event_id).email_confirmation_minutes is None

    client.post(edit_url, data={**typed, "email_confirmation_minutes": "60"})
    with app.app_context():
        assert db.session.get(Event, event_id).email_confirmation_minutes == 60
    assert len(audit(app, "event.email_confirmation")) == 1
    # Saved again unchanged: nothing more recorded about it.
    client.post(edit_url, data={**typed, "email_confirmation_minutes": "60"})
    assert len(audit(app, "event.email_confirmation")) == 1

    held = register(app, event_id, 1)
    assert row(app, held).confirm_by is not None
    client.post(edit_url, data={**typed, "email_confirmation_minutes": ""})
    with app.app_context():
        assert db.session.get(Event, event_id).email_confirmation_minutes is None
    assert row(app, held).confirm_by is None
    assert release(app, timedelta(days=1)).released == 0
    assert row(app, held).status == "confirmed"


# --- the worker and the command ----------------------------------------------------------------


def lapsed_registration(app: Flask, n: int = 1) -> int:
    """A registration made two hours ago in an event asking for confirmation within an hour."""
    event_id = new_event(app, capacity=5)
    with app.app_context():
        registration_id = person(event_id, n, now=utcnow() - timedelta(hours=2)).id
        db.session.commit()
        return registration_id


def test_the_outbox_worker_releases_lapsed_places_about_once_a_minute(app: Flask) -> None:
    lapsed = lapsed_registration(app)
    stop = threading.Event()

    def work() -> None:
        with app.app_context():
            run_worker(stop, poll_seconds=0.05)

    worker = threading.Thread(target=work)
    worker.start()
    try:
        for _attempt in range(200):
            if row(app, lapsed).status == "cancelled":
                break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(30)
    assert row(app, lapsed).cancel_reason == "email_not_confirmed"
    assert messages(app, lapsed)[-1].template == "registration_released"
    with app.app_context():
        # Within the minute the tasks do not run again.
        assert run_periodic_tasks() == {}


def test_a_failing_periodic_task_is_rolled_back_and_the_others_still_run(app: Flask) -> None:
    lapsed = lapsed_registration(app)

    @periodic_task("aaa.failing")
    def failing() -> None:
        db.session.add(AuditEntry(action="should.vanish", actor="test", detail={}))
        db.session.flush()
        raise RuntimeError("broken task")

    try:
        with app.app_context():
            outcome = run_periodic_tasks(force=True)
    finally:
        _TASKS.pop("aaa.failing")
    assert outcome.pop("aaa.failing") is False
    assert outcome["registrations.release_unconfirmed"] is True
    assert all(outcome.values())  # every other task (other domains' too) still ran
    assert audit(app, "should.vanish") == []
    assert row(app, lapsed).status == "cancelled"


def test_the_release_command_releases_lapsed_places(app: Flask, runner) -> None:
    lapsed = lapsed_registration(app)
    result = runner.invoke(args=["registrations", "release-unconfirmed"])
    assert result.exit_code == 0, result.output
    assert "1 released" in result.output
    assert row(app, lapsed).status == "cancelled"
    result = runner.invoke(args=["registrations", "release-unconfirmed"])
    assert "0 released" in result.output


# --- races -------------------------------------------------------------------------------------


def test_confirmations_racing_releases_keep_or_release_each_place_never_both(app: Flask) -> None:
    capacity = 6
    event_id = new_event(app, capacity=capacity)
    holders = [register(app, event_id, n) for n in range(capacity)]
    waiting = [register(app, event_id, 100 + n) for n in range(8)]
    # Half of those waiting confirmed their address and may move up; the others lapse.
    ready = waiting[::2]
    for registration_id in ready:
        confirm(app, registration_id)

    def confirming(registration_id: int):
        return lambda: holds.confirm_email(db.session.get(Registration, registration_id),
            actor=ATTENDEE)

    def releasing():
        return lambda: holds.release_unconfirmed(utcnow() + timedelta(minutes=61), actor=SYSTEM)

    jobs = [confirming(r) for r in holders[::2]] + [releasing() for _ in range(5)]
    jobs += [confirming(r) for r in holders[1::2]]
    errors = race(app, jobs)
    assert errors == []

    with app.app_context():
        rows = {r.id: r for r in db.session.scalars(
            db.select(Registration).where(Registration.event_id == event_id))}
        for registration_id in holders:
            r = rows[registration_id]
            kept = r.email_confirmed_at is not None and r.status == "confirmed"
            released = r.status == "cancelled" and r.cancel_reason == "email_not_confirmed"
            assert kept != released, (r.status, r.email_confirmed_at, r.cancel_reason)
            assert released == (r.email_confirmed_at is None)
        for registration_id in waiting:
            r = rows[registration_id]
            if registration_id in ready:
                assert r.status in ("confirmed", "waitlisted")
            else:
                assert (r.status, r.cancel_reason) == ("cancelled", "email_not_confirmed")
        statuses = Counter(r.status for r in rows.values())
        assert statuses["confirmed"] + statuses["pending"] <= capacity
        freed = sum(1 for r in holders if rows[r].status == "cancelled")
        promotions = Counter(object_id for object_id, _actor in audit(app, "registration.promote"))
        assert all(count == 1 for count in promotions.values())
        assert set(promotions) <= set(ready)
        assert len(promotions) == min(freed, len(ready))
        assert statuses["confirmed"] == capacity - freed + len(promotions)
        releases = Counter(object_id for object_id, _actor in audit(app, "registration.release"))
        assert all(count == 1 for count in releases.values())
        released_mail = Counter(
            m.registration_id for m in db.session.scalars(
                db.select(OutboxMessage).where(OutboxMessage.template == "registration_released"))
        )
        assert released_mail == releases
        for registration_id in promotions:
            promoted_mail = [m for m in messages(app, registration_id)
                             if m.template == "registration_confirmed"]
            assert len(promoted_mail) == 1


def test_the_participant_list_shows_a_held_place_only_once_its_address_is_confirmed(
    app: Flask, client: FlaskClient
) -> None:
    event_id = new_event(app, capacity=5, participant_list="public")
    listed_person = register(app, event_id, 1, publish_name=True, organization="Real NGO")
    with app.app_context():
        slug = db.session.get(Event, event_id).slug
    page = client.get(f"/events/{slug}/participants").get_data(as_text=True)
    assert "Given1" not in page
    confirm(app, listed_person)
    page = client.get(f"/events/{slug}/participants").get_data(as_text=True)
    assert "Given1 Family1" in page and "Real NGO" in page
