"""The audit trail: every listed action leaves an entry with the right actor and no secret,
the admin page filters it, and nothing can change it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from conftest import STAFF_PASSWORD, AuthActions, post_sign_in
from factories import make_event, make_registration, make_series
from flask import Flask
from flask.testing import FlaskClient
from flask_login import login_user
from markup import parse
from smtp import SMTPServer, deliver_and_read, smtp_settings
from test_staff import event_form_input

from nkhr_events.accounts.models import StaffRole, StaffUser
from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import Actor, history_for, record
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxStatus
from nkhr_events.outbox.services import enqueue_email
from nkhr_events.registrations import services as registrations
from nkhr_events.registrations.models import Registration
from nkhr_events.registrations.services import DetailsInput
from nkhr_events.web import attendee_actor, current_actor

NEEDS = "wheelchair access and a quiet room"
NEW_PASSWORD = "a brand new passphrase 2031"


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def entries(app: Flask, prefix: str = "") -> list[AuditEntry]:
    with app.app_context():
        found = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        ).all()
        for entry in found:
            db.session.expunge(entry)
        return list(found)


def summary(app: Flask, prefix: str = "") -> list[tuple[str, str, dict[str, object]]]:
    return [(e.action, e.actor, e.detail) for e in entries(app, prefix)]


def assert_no_secret(app: Flask, *secrets: str) -> None:
    text = json.dumps([(e.actor, e.action, e.detail) for e in entries(app)], ensure_ascii=False)
    for secret in secrets:
        assert secret not in text


@contextmanager
def acting_as(app: Flask, email: str) -> Iterator[None]:
    """A request by a signed-in staff user, from 192.0.2.7."""
    with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.7"}):
        login_user(db.session.scalars(db.select(StaffUser).where(StaffUser.email == email)).one())
        yield


# --- sign-in, sign-out, accounts, passwords -------------------------------------------------------


def test_sign_in_success_failure_and_sign_out_are_recorded_without_passwords(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = auth.create("known@example.org")
    post_sign_in(app, client, data={"email": "  Known@Example.ORG ", "password": "my secret guess"},
                environ_base={"REMOTE_ADDR": "198.51.100.4"})
    post_sign_in(app, client, data={"email": "Nobody@Example.org", "password": "another guess"})
    post_sign_in(app, client, data={"email": "known@example.org", "password": STAFF_PASSWORD})
    client.post("/sign-out")
    assert summary(app) == [
        ("auth.sign_in_failed", "known@example.org", {"reason": "wrong_password"}),
        ("auth.sign_in_failed", "nobody@example.org", {"reason": "unknown_address"}),
        ("auth.password_accepted", "known@example.org", {}),
        ("auth.sign_in", "known@example.org", {"second_factor": "code"}),
        ("auth.sign_out", "known@example.org", {}),
    ]
    failed, unknown, accepted, success, out = entries(app)
    assert accepted.actor_id == user.id
    assert failed.ip == "198.51.100.4" and failed.actor_id is None
    assert (failed.object_type, failed.object_id) == ("staff_user", user.id)
    assert unknown.object_id is None
    assert success.actor_id == user.id and out.actor_id == user.id
    assert success.at.tzinfo is not None
    assert_no_secret(app, "my secret guess", "another guess", STAFF_PASSWORD)


def test_account_changes_are_recorded_by_the_admin_who_made_them(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.admin()
    client.post("/manage/staff/new", data={"name": "Kim", "email": "kim@example.org",
                                           "role": "organizer"})
    client.post("/manage/staff/new", data={"name": "Lee", "email": "lee@example.org",
                                           "role": "organizer"})
    kim = db_user(app, "kim@example.org")
    client.post(f"/manage/staff/{kim}/role", data={"role": "admin"})
    client.post(f"/manage/staff/{kim}/active", data={"active": "0", "confirmed": "1"})
    client.post(f"/manage/staff/{kim}/active", data={"active": "1"})
    assert summary(app, "account.") == [
        ("account.create", "admin@example.org",
         {"email": "kim@example.org", "role": "organizer", "invited": True}),
        ("account.create", "admin@example.org",
         {"email": "lee@example.org", "role": "organizer", "invited": True}),
        ("account.role_change", "admin@example.org", {"from": "organizer", "to": "admin"}),
        ("account.deactivate", "admin@example.org", {"from": "active", "to": "inactive"}),
        ("account.reactivate", "admin@example.org", {"from": "inactive", "to": "active"}),
    ]
    assert all(e.object_id == kim for e in entries(app, "account.")[2:])
    [link] = deliver_and_read(app, smtp_server, "lee@example.org")
    token = re.search(r"/reset-password/(\S+)", link)[1]  # type: ignore[index]
    assert_no_secret(app, NEW_PASSWORD, token)


def test_password_change_reset_request_and_reset_are_recorded_without_secrets(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.organizer()
    client.post("/manage/password", data={"current_password": STAFF_PASSWORD,
                                          "new_password": NEW_PASSWORD})
    auth.sign_out()
    client.post("/forgot-password", data={"email": "Organizer@example.org"})
    client.post("/forgot-password", data={"email": "stranger@example.org"})
    [body] = deliver_and_read(app, smtp_server)
    link = re.search(r"http://localhost(/reset-password/(\S+))", body)
    assert link
    client.post(link[1], data={"password": "the third passphrase"})
    assert summary(app, "account.") == [
        ("account.password_change", "organizer@example.org", {}),
        ("account.password_reset_request", "organizer@example.org", {}),
        ("account.password_reset_request", "stranger@example.org", {}),
        ("account.password_reset", "organizer@example.org", {}),
    ]
    assert_no_secret(app, STAFF_PASSWORD, NEW_PASSWORD, "the third passphrase", link[2])


def db_user(app: Flask, email: str) -> int:
    with app.app_context():
        return db.session.scalars(db.select(StaffUser.id).where(StaffUser.email == email)).one()


# --- events ---------------------------------------------------------------------------------------


def test_event_create_edit_publish_and_archive_are_recorded(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        series_id = make_series().id
        db.session.commit()
    auth.organizer()
    created = client.post("/manage/events/new", data=event_form_input(series_id))
    event_id = int(created.headers["Location"].split("/")[-2])
    client.post(f"/manage/events/{event_id}/edit",
                data=event_form_input(series_id, venue="Chatham House", capacity="300"))
    client.post(f"/manage/events/{event_id}/status", data={"status": "published"})
    client.post(f"/manage/events/{event_id}/status", data={"status": "archived", "confirmed": "1"})
    assert summary(app, "event.") == [
        ("event.create", "organizer@example.org",
         {"slug": "icnkhr-2031-seoul", "status": "draft"}),
        ("event.update", "organizer@example.org", {"fields": ["capacity", "venue"]}),
        ("event.publish", "organizer@example.org", {"from": "draft", "to": "published"}),
        ("event.archive", "organizer@example.org", {"from": "published", "to": "archived"}),
    ]
    assert {(e.event_id, e.object_type, e.object_id) for e in entries(app, "event.")} == {
        (event_id, "event", event_id)}


# --- registrations --------------------------------------------------------------------------------


def journalist(event: Event, n: int, **overrides: object) -> Registration:
    return make_registration(
        event=event, category="journalist", given_name=f"J{n}", family_name="Reporter",
        email=f"j{n}@example.org", answers={"media_outlet": "Paper", "media_role": "Reporter"},
        **overrides,
    )


def details(registration: Registration, **changes: object) -> DetailsInput:
    values: dict[str, object] = {
        name: getattr(registration, name)
        for name in ("given_name", "family_name", "badge_name", "organization", "position",
                     "country", "language", "interpretation", "accessibility_needs",
                     "dietary_needs", "publish_name", "photo_consent")
    }
    values["days"] = [d.day for d in registration.days]
    values.update(changes)
    return DetailsInput(**values)  # type: ignore[arg-type]


def test_registration_life_is_recorded_with_who_acted_and_no_personal_detail(
    app: Flask, auth: AuthActions
) -> None:
    auth.create("organizer@example.org")
    with app.app_context():
        event = make_event(capacity=2)
        first, second, third = (
            journalist(event, n, status=status, accessibility_needs=NEEDS).id
            for n, status in enumerate(["pending", "pending", "waitlisted"])
        )
        event_id = event.id
        db.session.commit()
    with acting_as(app, "organizer@example.org"):
        registrations.approve_registration(db.session.get(Registration, first),
            actor=current_actor())
        registrations.move_to_waitlist(db.session.get(Registration, first), actor=current_actor())
        db.session.commit()
    with app.test_request_context():
        registration = db.session.get(Registration, second)
        registrations.update_details(registration, details(
            registration, organization="New Paper", dietary_needs="no pork"),
                actor=attendee_actor())
        registrations.cancel_registration(db.session.get(Registration, second),
            actor=attendee_actor())
        db.session.commit()
    with acting_as(app, "organizer@example.org"):
        registrations.reject_registration(db.session.get(Registration, third), "private reason",
                                          actor=current_actor())
        db.session.commit()

    assert [(a, actor, d, e.object_id) for (a, actor, d), e in zip(
        summary(app), entries(app), strict=True)] == [
        ("registration.create", "attendee", {"status": "pending", "category": "journalist"},
         first),
        ("registration.create", "attendee", {"status": "pending", "category": "journalist"},
         second),
        ("registration.create", "attendee", {"status": "waitlisted", "category": "journalist"},
         third),
        ("registration.approve", "organizer@example.org",
         {"from": "pending", "to": "confirmed"}, first),
        ("registration.waitlist", "organizer@example.org",
         {"from": "confirmed", "to": "waitlisted"}, first),
        ("registration.promote", "system", {"from": "waitlisted", "to": "pending"}, third),
        ("registration.update", "attendee", {"fields": ["dietary_needs", "organization"]},
         second),
        ("registration.cancel", "attendee", {"from": "pending", "to": "cancelled"}, second),
        ("registration.promote", "system", {"from": "waitlisted", "to": "pending"}, first),
        ("registration.reject", "organizer@example.org",
         {"from": "pending", "to": "rejected"}, third),
    ]
    assert {e.event_id for e in entries(app)} == {event_id}
    staff_entries = [e for e in entries(app) if e.actor == "organizer@example.org"]
    assert {e.ip for e in staff_entries} == {"192.0.2.7"}
    assert all(e.actor_id is not None for e in staff_entries)
    assert_no_secret(app, NEEDS, "no pork", "private reason", "New Paper", "j0@example.org")


def test_history_for_a_registration_lists_its_entries_oldest_first(
    app: Flask, auth: AuthActions
) -> None:
    auth.create("organizer@example.org")
    with app.app_context():
        event = make_event(capacity=5)
        registration_id = journalist(event, 1, status="pending").id
        other_id = journalist(event, 2, status="pending").id
        db.session.commit()
    with acting_as(app, "organizer@example.org"):
        actor = current_actor()
        registrations.approve_registration(db.session.get(Registration, registration_id),
                                           actor=actor)
        registrations.approve_registration(db.session.get(Registration, other_id), actor=actor)
        registrations.reject_registration(db.session.get(Registration, registration_id),
                                          actor=actor)
        db.session.commit()
    with app.app_context():
        history = history_for("registration", registration_id)
        assert [(e.action, e.detail.get("to")) for e in history] == [
            ("registration.create", None),
            ("registration.approve", "confirmed"),
            ("registration.reject", "rejected"),
        ]
        assert [e.at for e in history] == sorted(e.at for e in history)


def test_category_settings_saved_are_recorded(app: Flask, auth: AuthActions) -> None:
    auth.create("organizer@example.org")
    with app.app_context():
        event_id = make_event().id
        db.session.commit()
    with acting_as(app, "organizer@example.org"):
        event = db.session.get(Event, event_id)
        registrations.save_category_settings(event, {"journalist": {
            "enabled": True, "seat_cap": 10, "needs_review": False,
            "extra_question": None, "extra_question_ko": None}}, actor=current_actor())
        db.session.commit()
    [entry] = entries(app)
    assert (entry.action, entry.actor, entry.event_id) == (
        "event.categories", "organizer@example.org", event_id)
    assert entry.detail["categories"]["journalist"]["seat_cap"] == 10


# --- outbox ---------------------------------------------------------------------------------------


def test_outbox_retry_and_cancel_are_recorded(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        failed = enqueue_email("a@example.org", "inquiry_ack", "en", {"reference": "Q-00001"})
        failed.status = OutboxStatus.FAILED
        queued = enqueue_email("b@example.org", "inquiry_ack", "en", {"reference": "Q-00002"})
        ids = failed.id, queued.id
        db.session.commit()
    auth.organizer()
    client.post(f"/manage/outbox/{ids[0]}/retry")
    client.post(f"/manage/outbox/{ids[1]}/cancel")
    assert [(e.action, e.actor, e.object_id, e.detail) for e in entries(app, "outbox.")] == [
        ("outbox.retry", "organizer@example.org", ids[0], {"from": "failed", "to": "queued"}),
        ("outbox.cancel", "organizer@example.org", ids[1], {"from": "queued", "to": "cancelled"}),
    ]


# --- the audit page -------------------------------------------------------------------------------


def test_no_route_under_manage_audit_changes_anything(app: Flask) -> None:
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/manage/audit")]
    assert rules
    for rule in rules:
        assert not (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}, rule.rule


def test_the_audit_page_is_for_admins_only(client: FlaskClient, auth: AuthActions) -> None:
    assert client.get("/manage/audit/").status_code == 302
    auth.organizer()
    assert client.get("/manage/audit/").status_code == 403
    auth.sign_out()
    auth.admin()
    assert client.get("/manage/audit/").status_code == 200


@pytest.fixture
def trail(app: Flask) -> None:
    """Entries of several kinds, actors, events and days (all times UTC)."""
    with app.app_context():
        def add(action: str, actor: str, day: int, **kwargs: object) -> None:
            entry = record(action, actor=Actor(actor), **kwargs)  # type: ignore[arg-type]
            entry.at = datetime(2031, 3, day, 12, 0, tzinfo=UTC)

        add("registration.approve", "kim@example.org", 1, object_type="registration",
            object_id=7, event_id=3)
        add("registration.reject", "lee@example.org", 2, object_type="registration",
            object_id=8, event_id=3)
        add("registration.promote", "system", 3, object_type="registration", object_id=7,
            event_id=4)
        add("event.publish", "Kim@Example.org", 4, object_type="event", object_id=3, event_id=3)
        add("registrations_export", "kim@example.org", 5)
        db.session.commit()


def shown(client: FlaskClient, query: str) -> list[tuple[str, str]]:
    page = parse(client.get(f"/manage/audit/?{query}").get_data(as_text=True))
    return [(row.get("data-action") or "", row.find_all("td")[1].text)
            for row in page.find_all("tr") if row.get("data-action")]


def test_the_audit_page_lists_newest_first_and_filters(
    app: Flask, client: FlaskClient, auth: AuthActions, trail: None
) -> None:
    auth.admin()

    def actions(query: str) -> list[str]:
        return [a for a, _actor in shown(client, query) if not a.startswith("auth.")]

    assert actions("") == ["registrations_export", "event.publish", "registration.promote",
                           "registration.reject", "registration.approve"]
    # The prefix is literal: "_" is no wildcard.
    assert actions("action=registration.") == [
        "registration.promote", "registration.reject", "registration.approve"]
    assert actions("action=registration_") == []
    assert actions("actor=KIM@example.org") == [
        "registrations_export", "event.publish", "registration.approve"]
    assert actions("event_id=3") == ["event.publish", "registration.reject",
                                     "registration.approve"]
    assert actions("object_type=registration&object_id=7") == [
        "registration.promote", "registration.approve"]
    assert actions("since=2031-03-02&until=2031-03-04") == [
        "event.publish", "registration.promote", "registration.reject"]
    assert actions("since=not-a-date&event_id=x") == actions("")
    page = parse(client.get("/manage/audit/?action=registration.").get_data(as_text=True))
    assert page.one(id="filter-action").get("value") == "registration."


def test_the_audit_page_is_paginated(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        for n in range(60):
            entry = record("event.update", actor=Actor("kim@example.org"), object_type="event",
                           object_id=n)
            entry.at = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
        db.session.commit()
    auth.admin()
    first = parse(client.get("/manage/audit/?action=event.").get_data(as_text=True))
    assert len([r for r in first.find_all("tr") if r.get("data-action")]) == 50
    older = first.one("a", rel="next").get("href") or ""
    assert "action=event." in older and "page=2" in older
    second = parse(client.get(older).get_data(as_text=True))
    records = [r.find_all("td")[3].text for r in second.find_all("tr") if r.get("data-action")]
    assert records == [f"Event {n}" for n in range(9, -1, -1)]


def test_staff_account_page_links_to_its_audit_entries(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    organizer = auth.create("organizer@example.org", StaffRole.STAFF)
    auth.admin()
    page = parse(client.get(f"/manage/staff/{organizer.id}").get_data(as_text=True))
    link = page.one("a", href=f"/manage/audit/?object_type=staff_user&object_id={organizer.id}")
    assert link.text == "Audit entries about this account"
