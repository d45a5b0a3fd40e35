"""Delegations and partner blocks: places that count from the start (refused when they do not
fit), the contact's link and page (in the contact's language, members with or without an
address, bad input kept), replacing and removing members (the place stays with the group),
the deadline and revoking (unused places go to the waitlist, members stay), partner places
from an approved partnership, who may open the staff pages, the emails in three languages and
erasing the contacts."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from smtp import SMTPServer, smtp_settings
from test_invitations import fill, shown

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.invitations import groups, services
from nkhr_events.invitations.models import (
    GroupKind,
    GroupStatus,
    RegistrationGroup,
    RegistrationGroupToken,
    SeatReservation,
)
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.outbox.services import render_email
from nkhr_events.partners.models import Partnership, PartnershipRole, PartnershipStatus
from nkhr_events.partners.services import find_or_add_partner
from nkhr_events.privacy.services import purge
from nkhr_events.registrations import services as registrations
from nkhr_events.registrations.models import (
    NO_EMAIL_PREFIX,
    Registration,
    RegistrationStatus,
)
from nkhr_events.registrations.seats import seats_taken

MAILS = Path("/tmp/groups-mails")
CONTACT = "protocol@unikorea.example"


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def group_event(app: Flask, capacity: int | None = 10, **caps: object) -> int:
    """A published event that takes members of delegations (an invitation-only category)."""
    with app.app_context():
        event = make_event(capacity=capacity, title_ko="북한인권 국제회의")
        registrations.save_category_settings(
            event, {"delegation": {"enabled": True, **caps}}, actor=SYSTEM
        )
        db.session.commit()
        return event.id


def make_group(
    app: Flask, event_id: int, places: int = 3, language: str = "ko", days: int = 10,
    category: str = "delegation", kind: GroupKind = GroupKind.DELEGATION,
    partnership_id: int | None = None,
) -> int:
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event is not None
        group = groups.create_group(event, groups.GroupInput(
            name="통일부 대표단", category=category, places=places,
            changes_until=utcnow().date() + timedelta(days=days),
            contact_name="김민지", contact_email=CONTACT, contact_language=language,
            kind=kind, partnership_id=partnership_id,
        ), actor=SYSTEM)
        db.session.commit()
        return group.id


def contact_link(app: Flask, smtp_server: SMTPServer, address: str = CONTACT) -> str:
    with app.app_context():
        deliver_due()
    message = [m for m in smtp_server.messages if m["To"] == address][-1]
    text = message.get_body(("plain",)).get_content()
    found = re.search(r"http://localhost(/group/[A-Za-z0-9_-]+)\s", text)
    assert found is not None, text
    return found.group(1)


def member_data(**values: str) -> dict[str, object]:
    return {"given_name": "민준", "family_name": "이", "language": "ko", "privacy_consent": "y",
            **values}


def add(client: FlaskClient, link: str, **values: str) -> tuple[int, str]:
    page = client.get(link).get_data(as_text=True)
    response = client.post(link, data=fill(page, **member_data(**values)))
    return response.status_code, response.get_data(as_text=True)


def members(app: Flask, group_id: int) -> list[Registration]:
    with app.app_context():
        found = list(db.session.scalars(
            db.select(Registration).where(Registration.group_id == group_id)
            .order_by(Registration.id)))
        for row in found:
            db.session.expunge(row)
        return found


def group_row(app: Flask, group_id: int) -> tuple[RegistrationGroup, SeatReservation]:
    with app.app_context():
        group = db.session.get(RegistrationGroup, group_id)
        assert group is not None and group.reservation is not None
        reservation = group.reservation
        db.session.expunge(reservation)
        db.session.expunge(group)
        return group, reservation


def taken(app: Flask, event_id: int) -> int:
    with app.app_context():
        return seats_taken(event_id)[None]


def audit(app: Flask, action: str) -> list[AuditEntry]:
    with app.app_context():
        found = list(db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
        for row in found:
            db.session.expunge(row)
        return found


_public = iter(range(10**6))


def fill_public(app: Flask, event_id: int, count: int) -> list[int]:
    with app.app_context():
        ids = [make_registration(event=event_id, email=f"public{next(_public)}@example.org",
                                 status=None).id
               for _n in range(count)]
        db.session.commit()
        return ids


def status_of(app: Flask, registration_id: int) -> str:
    with app.app_context():
        found = db.session.get(Registration, registration_id)
        assert found is not None
        return found.status


# --- places -------------------------------------------------------------------------------------


def test_the_places_count_from_the_start_and_too_many_are_refused(app: Flask) -> None:
    event_id = group_event(app, capacity=5)
    fill_public(app, event_id, 2)
    with pytest.raises(DomainError) as refused:
        make_group(app, event_id, places=4)
    assert refused.value.field == "places"
    group_id = make_group(app, event_id, places=3)
    assert taken(app, event_id) == 5
    # The public now waits: the group's places are taken though nobody filled them yet.
    [late] = fill_public(app, event_id, 1)
    assert status_of(app, late) == RegistrationStatus.WAITLISTED
    _group, reservation = group_row(app, group_id)
    assert reservation.places == 3 and reservation.category == "delegation"


def test_the_category_cap_counts_too(app: Flask) -> None:
    event_id = group_event(app, capacity=50, seat_cap=2)
    with pytest.raises(DomainError) as refused:
        make_group(app, event_id, places=3)
    assert refused.value.field == "places"
    make_group(app, event_id, places=2)
    with app.app_context():
        assert seats_taken(event_id)["delegation"] == 2


# --- the staff pages ----------------------------------------------------------------------------


def test_staff_give_a_delegation_places_and_the_contact_is_emailed_in_korean(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app, capacity=4)
    auth.member(event_id, "organizer")
    url = f"/manage/events/{event_id}/groups/new"
    page = client.get(url).get_data(as_text=True)
    assert shown(page)["changes_until"]  # a day is suggested
    data = fill(page, name="통일부 대표단", category="delegation", places="5",
                contact_name="김민지", contact_email=CONTACT, contact_language="ko")
    refused = client.post(url, data=data)
    assert refused.status_code == 200
    document = parse(refused.get_data(as_text=True))
    error = document.find(id="places-error")
    assert error is not None and "5" in error.text  # beside the field
    kept = shown(refused.get_data(as_text=True))
    assert kept["name"] == "통일부 대표단" and kept["contact_name"] == "김민지"
    assert kept["places"] == "5"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(RegistrationGroup.id))) == 0
    data["places"] = ["4"]
    response = client.post(url, data=data)
    assert response.status_code == 303
    with app.app_context():
        group = db.session.scalars(db.select(RegistrationGroup)).one()
        assert group.places == 4 and group.kind == GroupKind.DELEGATION
        assert group.contact_language == "ko"
        group_id = group.id
    assert taken(app, event_id) == 4
    assert [e.detail["places"] for e in audit(app, "group.create")] == [4]
    link = contact_link(app, smtp_server)
    mail = [m for m in smtp_server.messages if m["To"] == CONTACT][-1]
    assert "대표단" in mail["Subject"] or "대표단" in mail.get_body(("plain",)).get_content()
    # The staff list and the group's page.
    listed = client.get(f"/manage/events/{event_id}/groups").get_data(as_text=True)
    assert "통일부 대표단" in listed and 'data-places>4<' in listed
    one = client.get(f"/manage/events/{event_id}/groups/{group_id}").get_data(as_text=True)
    assert CONTACT in one and "김민지" in one
    assert client.get(link).status_code == 200
    # The invitations page links the groups.
    invitations_page = client.get(f"/manage/events/{event_id}/invitations")
    assert f"/manage/events/{event_id}/groups" in invitations_page.get_data(as_text=True)


@pytest.mark.parametrize("role", ["reviewer", "door", "liaison"])
def test_only_the_events_organizers_reach_the_group_pages(
    app: Flask, client: FlaskClient, auth: AuthActions, role: str
) -> None:
    event_id = group_event(app)
    group_id = make_group(app, event_id)
    auth.member(event_id, role)
    for url in (f"/manage/events/{event_id}/groups", f"/manage/events/{event_id}/groups/new",
                f"/manage/events/{event_id}/groups/{group_id}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/manage/events/{event_id}/groups/{group_id}/revoke").status_code == 404
    group, _reservation = group_row(app, group_id)
    assert group.status == GroupStatus.OPEN


def test_another_events_organizer_finds_no_group(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = group_event(app)
    group_id = make_group(app, event_id)
    other = group_event(app)
    auth.member(other, "organizer")
    assert client.get(f"/manage/events/{other}/groups/{group_id}").status_code == 404
    assert client.get(f"/manage/events/{event_id}/groups/{group_id}").status_code == 404


def test_a_wrong_token_is_not_found(client: FlaskClient) -> None:
    assert client.get("/group/not-a-token").status_code == 404
    assert client.post("/group/not-a-token", data={}).status_code == 404
    assert client.get("/group/not-a-token/members/1/sheet").status_code == 404


# --- the contact's page -------------------------------------------------------------------------


def test_a_member_without_email_is_confirmed_and_their_emails_go_to_the_contact_with_the_code(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app, capacity=3)
    group_id = make_group(app, event_id, places=2)
    link = contact_link(app, smtp_server)
    page = client.get(link)
    text = page.get_data(as_text=True)
    assert '<html lang="ko"' in text and "통일부 대표단" in text
    assert shown(text)["language"] == "ko"
    status, _body = add(client, link, email="")
    assert status == 303
    [member] = members(app, group_id)
    assert member.status == RegistrationStatus.CONFIRMED
    assert member.email == "" and member.email_key.startswith(NO_EMAIL_PREFIX)
    assert taken(app, event_id) == 2  # the place became the member's seat: nothing more
    with app.app_context():
        deliver_due()
    to_contact = [m for m in smtp_server.messages if m["To"] == CONTACT]
    confirmation = to_contact[-1]
    body = confirmation.get_body(("plain",)).get_content()
    assert "이민준" in body and "통일부 대표단" in body  # says whom it is for
    attachments = {part.get_filename(): part.get_content_type()
                   for part in confirmation.iter_attachments()}
    assert attachments.get("checkin.png") == "image/png"
    # The page lists the member as having no email, with their check-in sheet.
    page_text = client.get(link).get_data(as_text=True)
    row = parse(page_text).find(data_member=str(member.id))
    assert row is not None and "이민준" in row.text
    sheet = client.get(f"{link}/members/{member.id}/sheet")
    assert sheet.status_code == 200 and "data:image/png;base64," in sheet.get_data(as_text=True)
    assert sheet.headers["Cache-Control"] == "no-store"
    assert [e.detail["registration"] for e in audit(app, "group.add")] == [member.id]


def test_a_member_with_an_address_gets_their_own_emails(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app)
    group_id = make_group(app, event_id, places=2)
    link = contact_link(app, smtp_server)
    status, _body = add(client, link, email="minjun@example.org", language="en")
    assert status == 303
    [member] = members(app, group_id)
    assert member.email == "minjun@example.org" and member.status == RegistrationStatus.CONFIRMED
    with app.app_context():
        deliver_due()
    own = [m for m in smtp_server.messages if m["To"] == "minjun@example.org"]
    assert len(own) == 1
    assert "checkin.png" in [p.get_filename() for p in own[0].iter_attachments()]
    # A second member with the same address is refused beside the field.
    status, body = add(client, link, email="minjun@example.org", given_name="서연")
    assert status == 200
    error = parse(body).find(id="email-error")
    assert error is not None
    assert len(members(app, group_id)) == 1


def test_bad_input_keeps_what_was_typed_with_messages_beside_the_fields(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app)
    group_id = make_group(app, event_id)
    link = contact_link(app, smtp_server)
    page = client.get(link).get_data(as_text=True)
    data = fill(page, given_name="서연", family_name="", email="not-an-address",
                organization="통일부", dietary_needs="채식")
    data.pop("privacy_consent", None)
    response = client.post(link, data=data)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    document = parse(body)
    for field in ("family_name", "email", "privacy_consent"):
        assert document.find(id=f"{field}-error") is not None, field
    kept = shown(body)
    assert kept["given_name"] == "서연" and kept["email"] == "not-an-address"
    assert kept["organization"] == "통일부" and kept["dietary_needs"].strip() == "채식"
    assert members(app, group_id) == []


def test_no_more_members_than_places(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app)
    group_id = make_group(app, event_id, places=1)
    link = contact_link(app, smtp_server)
    assert add(client, link)[0] == 303
    body = client.get(link).get_data(as_text=True)
    assert parse(body).find(id="no-places") is not None
    with app.app_context():
        group = db.session.get(RegistrationGroup, group_id)
        assert group is not None
        with pytest.raises(DomainError):
            groups.add_member(group, registrations.RegistrationInput(
                category="delegation", email="", given_name="A", family_name="B",
                privacy_consent=True), actor=SYSTEM)
    assert len(members(app, group_id)) == 1


def test_replacing_a_member_keeps_the_count_and_is_audited_without_names(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app, capacity=3)
    group_id = make_group(app, event_id, places=2)
    fill_public(app, event_id, 1)
    [waiting] = fill_public(app, event_id, 1)  # the event is full
    link = contact_link(app, smtp_server)
    assert add(client, link, given_name="민준")[0] == 303
    assert add(client, link, given_name="서연", email="")[0] == 303
    first, second = members(app, group_id)
    before = taken(app, event_id)
    url = f"{link}/members/{first.id}/replace"
    page = client.get(url).get_data(as_text=True)
    response = client.post(url, data=fill(page, **member_data(given_name="지우", email="")))
    assert response.status_code == 303, response.get_data(as_text=True)
    rows = {m.id: m for m in members(app, group_id)}
    assert rows[first.id].status == RegistrationStatus.CANCELLED
    new = [m for m in rows.values() if m.id not in (first.id, second.id)][0]
    assert new.status == RegistrationStatus.CONFIRMED and new.given_name == "지우"
    assert taken(app, event_id) == before == 3
    assert status_of(app, waiting) == RegistrationStatus.WAITLISTED
    [entry] = audit(app, "group.replace")
    assert entry.detail == {"cancelled": first.id, "registration": new.id}
    assert "민준" not in str(entry.detail) and "지우" not in str(entry.detail)


def test_a_failed_replacement_changes_nothing(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app)
    group_id = make_group(app, event_id, places=1)
    link = contact_link(app, smtp_server)
    assert add(client, link)[0] == 303
    [member] = members(app, group_id)
    url = f"{link}/members/{member.id}/replace"
    page = client.get(url).get_data(as_text=True)
    data = fill(page, **member_data(given_name="지우", family_name=""))
    response = client.post(url, data=data)
    assert response.status_code == 200
    assert shown(response.get_data(as_text=True))["given_name"] == "지우"
    assert [m.status for m in members(app, group_id)] == [RegistrationStatus.CONFIRMED]


def test_removing_a_member_gives_the_place_back_to_the_group_not_the_public(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app, capacity=2)
    group_id = make_group(app, event_id, places=1)
    fill_public(app, event_id, 1)
    [waiting] = fill_public(app, event_id, 1)
    link = contact_link(app, smtp_server)
    assert add(client, link)[0] == 303
    [member] = members(app, group_id)
    _group, reservation = group_row(app, group_id)
    assert reservation.places == 0 and reservation.release_reason == "used"
    url = f"{link}/members/{member.id}/remove"
    page = client.get(url).get_data(as_text=True)
    assert client.post(url, data=fill(page)).status_code == 303
    assert status_of(app, member.id) == RegistrationStatus.CANCELLED
    assert status_of(app, waiting) == RegistrationStatus.WAITLISTED
    _group, reservation = group_row(app, group_id)
    assert reservation.places == 1 and reservation.released_at is None
    assert taken(app, event_id) == 2
    # The place is the group's again.
    assert add(client, link, given_name="서연")[0] == 303
    assert [e.detail for e in audit(app, "group.remove")] == [{"registration": member.id}]


def test_after_the_deadline_unused_places_go_to_the_waitlist_and_the_page_is_read_only(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app, capacity=3)
    group_id = make_group(app, event_id, places=3)
    waiting = fill_public(app, event_id, 3)
    link = contact_link(app, smtp_server)
    assert add(client, link)[0] == 303
    [member] = members(app, group_id)
    with app.app_context():
        group = db.session.get(RegistrationGroup, group_id)
        assert group is not None and group.reservation is not None
        past = utcnow() - timedelta(minutes=1)
        group.changes_until = past
        group.reservation.held_until = past
        db.session.commit()
        report = services.release_lapsed(actor=SYSTEM)
        db.session.commit()
    assert report.released == 1 and report.promoted == 2
    assert [status_of(app, r) for r in waiting] == [
        RegistrationStatus.CONFIRMED, RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED]
    assert status_of(app, member.id) == RegistrationStatus.CONFIRMED
    page = client.get(link).get_data(as_text=True)
    document = parse(page)
    assert document.find(id="group-closed") is not None
    assert document.find(id="member-submit") is None
    # A form sent anyway changes nothing; replace and remove lead back to the page.
    response = client.post(link, data=member_data(given_name="늦은"))
    assert response.status_code == 200
    assert len(members(app, group_id)) == 1
    assert client.post(f"{link}/members/{member.id}/remove").status_code == 303
    assert status_of(app, member.id) == RegistrationStatus.CONFIRMED
    assert client.get(f"{link}/members/{member.id}/sheet").status_code == 200


def test_revoking_releases_unused_places_to_the_waitlist_and_members_stay(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app, capacity=3)
    group_id = make_group(app, event_id, places=3)
    link = contact_link(app, smtp_server)
    assert add(client, link)[0] == 303
    [member] = members(app, group_id)
    [waiting] = fill_public(app, event_id, 1)
    auth.member(event_id, "organizer")
    page = client.get(f"/manage/events/{event_id}/groups/{group_id}").get_data(as_text=True)
    token = parse(page).find("input", name="csrf_token")
    assert token is not None
    response = client.post(f"/manage/events/{event_id}/groups/{group_id}/revoke",
                           data={"csrf_token": token.get("value")})
    assert response.status_code == 303
    group, reservation = group_row(app, group_id)
    assert group.status == GroupStatus.REVOKED and reservation.release_reason == "revoked"
    assert status_of(app, waiting) == RegistrationStatus.CONFIRMED
    assert status_of(app, member.id) == RegistrationStatus.CONFIRMED
    assert taken(app, event_id) == 2
    [entry] = audit(app, "group.revoke")
    assert entry.detail["places_released"] == 2
    auth.sign_out()
    closed = parse(client.get(link).get_data(as_text=True))
    assert closed.find(id="group-closed") is not None


def test_resend_sends_a_new_link_and_the_first_still_works(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app)
    group_id = make_group(app, event_id)
    first = contact_link(app, smtp_server)
    auth.member(event_id, "organizer")
    page = client.get(f"/manage/events/{event_id}/groups/{group_id}").get_data(as_text=True)
    form = [f for f in parse(page).find_all("form") if "resend" in (f.get("action") or "")][0]
    csrf = parse(page).find("input", name="csrf_token")
    assert csrf is not None
    response = client.post(form.get("action") or "", data={"csrf_token": csrf.get("value")})
    assert response.status_code == 303
    second = contact_link(app, smtp_server)
    assert second != first
    assert client.get(first).status_code == 200 and client.get(second).status_code == 200
    assert len(audit(app, "group.resend")) == 1


# --- partners -----------------------------------------------------------------------------------


def test_an_approved_partner_is_given_places_with_its_contact_prefilled(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app, capacity=20)
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event is not None
        alliance = find_or_add_partner("Citizens' Alliance", country="KR")
        waiting = find_or_add_partner("Waiting Foundation")
        db.session.add_all([alliance, waiting])
        db.session.flush()
        approved = Partnership(
            partner_id=alliance.id, event_id=event.id,
            role=PartnershipRole.CO_ORGANIZER, status=PartnershipStatus.APPROVED,
            contact_name="Park Ji-hoon", contact_email="jihoon@alliance.example", language="en")
        pending = Partnership(
            partner_id=waiting.id, event_id=event.id,
            role=PartnershipRole.SPONSOR, status=PartnershipStatus.APPLIED,
            contact_name="Wai Ting", contact_email="wait@foundation.example")
        db.session.add_all([approved, pending])
        db.session.commit()
        approved_id, pending_id = approved.id, pending.id
    auth.member(event_id, "organizer")
    partner_page = client.get(f"/manage/partners/{approved_id}")
    assert f"/manage/partnerships/{approved_id}/places" in partner_page.get_data(as_text=True)
    url = f"/manage/partnerships/{approved_id}/places"
    page = client.get(url).get_data(as_text=True)
    values = shown(page)
    assert values["name"] == "Citizens' Alliance" and values["contact_name"] == "Park Ji-hoon"
    assert values["contact_email"] == "jihoon@alliance.example"
    response = client.post(url, data=fill(page, category="general_public", places="5"))
    assert response.status_code == 303
    with app.app_context():
        group = db.session.scalars(db.select(RegistrationGroup)).one()
        assert group.kind == GroupKind.PARTNER and group.partnership_id == approved_id
        assert group.places == 5
    link = contact_link(app, smtp_server, "jihoon@alliance.example")
    assert client.get(link).status_code == 200
    # A partnership not approved is given nothing.
    refused = client.get(f"/manage/partnerships/{pending_id}/places")
    assert refused.status_code == 200
    assert parse(refused.get_data(as_text=True)).find(id="error-summary") is not None
    client.post(f"/manage/partnerships/{pending_id}/places",
                data=fill(page, category="general_public", places="2"))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(RegistrationGroup.id))) == 1


# --- emails and privacy -------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ko", "ja"])
@pytest.mark.parametrize("kind", [GroupKind.DELEGATION, GroupKind.PARTNER])
def test_the_link_email_renders_in_each_language(
    app: Flask, language: str, kind: GroupKind
) -> None:
    event_id = group_event(app)
    group_id = make_group(app, event_id, places=5, language=language, kind=kind)
    with app.app_context():
        group = db.session.get(RegistrationGroup, group_id)
        assert group is not None and group.reservation is not None
        rendered = render_email("group_link", language, {
            "group": group, "event": group.event, "category": "Member of a delegation",
            "places": 5, "changes_until": group.reservation.shown_until,
            "link": "http://localhost/group/TOKEN",
        })
    MAILS.mkdir(exist_ok=True)
    (MAILS / f"{kind}-{language}.html").write_text(rendered.html or "")
    (MAILS / f"{kind}-{language}.txt").write_text(rendered.subject + "\n\n" + rendered.text)
    assert "http://localhost/group/TOKEN" in rendered.text
    assert "통일부 대표단" in rendered.text and "김민지" in rendered.text
    assert "5" in rendered.text
    assert "{{" not in rendered.text and "%(" not in rendered.text
    assert "%(" not in (rendered.html or "")


def test_erasing_the_contacts_blanks_them_and_the_link_stops_working(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app)
    group_id = make_group(app, event_id)
    link = contact_link(app, smtp_server)
    assert add(client, link, email="")[0] == 303
    with app.app_context():
        assert groups.erase_group_contacts(event_id, actor=SYSTEM) == 1
        db.session.commit()
        group = db.session.get(RegistrationGroup, group_id)
        assert group is not None
        assert (group.contact_name, group.contact_email) == ("", "")
        assert group.contact_anonymized_at is not None
        assert db.session.scalar(db.select(db.func.count(RegistrationGroupToken.id))) == 0
        assert groups.erase_group_contacts(event_id, actor=SYSTEM) == 0
    assert client.get(link).status_code == 404
    [member] = members(app, group_id)
    assert member.status == RegistrationStatus.CONFIRMED


def test_a_contact_reaches_no_member_of_another_group(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = group_event(app)
    first = make_group(app, event_id)
    link_first = contact_link(app, smtp_server)
    second = make_group(app, event_id)
    link_second = contact_link(app, smtp_server)
    assert link_first != link_second
    assert add(client, link_second, given_name="서연")[0] == 303
    [other] = members(app, second)
    for path in ("sheet", "replace", "remove"):
        assert client.get(f"{link_first}/members/{other.id}/{path}").status_code == 404, path
    assert client.post(f"{link_first}/members/{other.id}/remove").status_code == 404
    assert status_of(app, other.id) == RegistrationStatus.CONFIRMED
    assert members(app, first) == []
    assert "서연" not in client.get(link_first).get_data(as_text=True)


def test_the_retention_purge_erases_the_contact_everywhere(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    """Past the event's retention, the contact's name and address leave the group and every
    outbox row (the link emails and the mail of members without an address of their own)."""
    event_id = group_event(app)
    group_id = make_group(app, event_id)
    link = contact_link(app, smtp_server)
    assert add(client, link, email="")[0] == 303
    with app.app_context():
        deliver_due()
        to_contact = db.session.scalar(
            db.select(db.func.count(OutboxMessage.id)).where(OutboxMessage.recipient == CONTACT)
        )
        assert to_contact >= 2  # the link, and the member's confirmation
        event = db.session.get(Event, event_id)
        assert event is not None
        later = utcnow() + timedelta(days=(event.end_date - utcnow().date()).days
                                     + event.retention_days + 2)
        purge(later, actor=SYSTEM)
        db.session.commit()
        group = db.session.get(RegistrationGroup, group_id)
        assert group is not None and group.contact_email == "" and group.contact_name == ""
        recipients = list(db.session.scalars(db.select(OutboxMessage.recipient)))
        assert CONTACT not in recipients
        assert not any("김민지" in (m.text_body or "") for m in
                       db.session.scalars(db.select(OutboxMessage)))


def test_a_members_page_names_their_group_and_where_their_mail_goes(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer, auth: AuthActions
) -> None:
    event_id = group_event(app)
    group_id = make_group(app, event_id)
    link = contact_link(app, smtp_server)
    assert add(client, link, email="")[0] == 303
    [member] = members(app, group_id)
    auth.member(event_id, "organizer")
    page = parse(client.get(f"/manage/registrations/{member.id}").get_data(as_text=True))
    assert "통일부 대표단" in page.one(id="person-group").text
    assert "김민지" in page.one(id="person-group").text
    assert page.one(id="person-group").one("a").get("href") == (
        f"/manage/events/{event_id}/groups/{group_id}")
    assert "group's contact" in page.text
