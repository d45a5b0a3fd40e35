"""Event teams: inviting people by email with a role, the invitation link, changing and removing
members, who may open an event's team page, and the admin's new-account form that invites."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import STAFF_PASSWORD, AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from smtp import SMTPServer, smtp_settings

from nkhr_events.accounts.models import StaffRole, StaffUser, TeamMember
from nkhr_events.audit.models import AuditEntry
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage

NEW_PASSWORD = "a passphrase of my own 2031"


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


@pytest.fixture
def events(app: Flask) -> dict[str, Any]:
    """Two events, each with a journalist's and an academic's registration."""
    with app.app_context():
        a = make_event(title="Seoul Forum")
        b = make_event(title="Tokyo Forum")
        ids: dict[str, Any] = {"a": a.id, "b": b.id}
        for key, event in (("a", a), ("b", b)):
            journalist = make_registration(event=event, category="journalist",
                                           given_name="Mina", family_name=f"Reporter{key.upper()}")
            academic = make_registration(event=event, category="academic", given_name="Jun",
                                         family_name=f"Scholar{key.upper()}")
            ids[f"{key}_journalist"], ids[f"{key}_academic"] = journalist.id, academic.id
        db.session.commit()
        return ids


def delivered(app: Flask, server: SMTPServer, to: str) -> list[Any]:
    """What `to` received once the outbox worker has sent what is due (links are made then)."""
    with app.app_context():
        deliver_due()
    return [m for m in server.messages if m["To"] == to]


def user_id(app: Flask, email: str) -> int | None:
    with app.app_context():
        return db.session.scalar(db.select(StaffUser.id).where(StaffUser.email == email))


def members(app: Flask, event_id: int) -> dict[str, tuple[str, str, bool, bool]]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(TeamMember).where(TeamMember.event_id == event_id)
        ).all()
        return {m.user.email: (m.role, m.categories, m.sees_needs, m.can_export) for m in rows}


def trail(app: Flask, prefix: str = "team_member.") -> list[tuple[str, int | None, str, dict]]:
    with app.app_context():
        entries = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        ).all()
        return [(e.action, e.event_id, e.actor, e.detail) for e in entries]


def invite(client: FlaskClient, event_id: int, **form: Any) -> Any:
    data = {"role": "reviewer", "language": "en", **form}
    return client.post(f"/manage/events/{event_id}/team", data=data)


# --- inviting someone new ------------------------------------------------------------------------


def test_a_new_reviewer_is_invited_in_their_language_sets_a_password_and_sees_only_that_event(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer,
    events: dict[str, Any],
) -> None:
    auth.admin()
    response = invite(client, events["a"], email=" Press@Example.org", name="Kim Press",
                      categories=["journalist"], language="ko")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "An invitation to choose a password is on its way to press@example.org." in page
    assert members(app, events["a"]) == {"press@example.org": ("reviewer", "journalist", False,
                                                               False)}
    assert members(app, events["b"]) == {}

    [email] = delivered(app, smtp_server, "press@example.org")
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert "Kim Press 님, 안녕하십니까." in text  # the chosen language
    assert 'lang="ko"' in html
    assert "Seoul Forum" in email["Subject"] and "Seoul Forum" in text
    assert "언론인" in text  # the category, in Korean
    link = re.search(r"http://localhost(/reset-password/[A-Za-z0-9_-]+)", text)
    assert link and link[0] in html
    with app.app_context():
        stored = db.session.scalars(db.select(OutboxMessage).where(
            OutboxMessage.recipient == "press@example.org")).one()
        assert stored.language == "ko" and stored.template == "team_invitation"
        assert link[1] not in stored.text_body  # the link is made at delivery, never kept

    auth.sign_out()
    # The link sets the person's own password (a reviewer without needs or exports signs in
    # without a second factor).
    assert client.post(link[1], data={"password": NEW_PASSWORD}).status_code == 303
    assert client.get(link[1]).status_code == 404  # single use
    assert client.post("/sign-in", data={"email": "press@example.org",
                                         "password": NEW_PASSWORD}).status_code == 303
    home = client.get("/manage/").get_data(as_text=True)
    assert "Seoul Forum" in home and "Tokyo Forum" not in home
    roster = client.get(f"/manage/events/{events['a']}/registrations")
    assert roster.status_code == 200
    body = roster.get_data(as_text=True)
    assert "ReporterA" in body and "ScholarA" not in body  # journalists only
    assert client.get(f"/manage/events/{events['b']}/registrations").status_code == 404
    assert client.get(f"/manage/events/{events['a']}/team").status_code == 404


def test_inviting_someone_new_records_the_account_and_the_membership(
    app: Flask, client: FlaskClient, auth: AuthActions, events: dict[str, Any]
) -> None:
    auth.member(events["a"], "organizer", "lead@example.org")
    invite(client, events["a"], email="door@example.org", role="door",
           categories=["journalist"], sees_needs="y")  # reviewers' settings: ignored for door
    assert members(app, events["a"])["door@example.org"] == ("door", "", False, False)
    [created] = trail(app, "account.create")
    assert created[:3] == ("account.create", events["a"], "lead@example.org")
    assert trail(app) == [("team_member.add", events["a"], "lead@example.org",
                           {"staff": "door@example.org", "role": "door"})]
    with app.app_context():
        user = db.session.scalars(db.select(StaffUser).where(
            StaffUser.email == "door@example.org")).one()
        assert user.role == StaffRole.STAFF and user.name == "door@example.org"
        assert not user.check_password(STAFF_PASSWORD) and user.password_hash


# --- existing accounts, changes, removal ---------------------------------------------------------


def test_an_existing_account_joins_as_door_and_is_told_without_a_password_link(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer,
    events: dict[str, Any],
) -> None:
    auth.create("helper@example.org", teams=({"event_id": events["b"], "role": "liaison"},))
    auth.member(events["a"], "organizer", "lead@example.org")
    response = invite(client, events["a"], email="helper@example.org", role="door",
                      language="ja")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "helper@example.org is on the team now and gets an email about it." in page
    assert members(app, events["a"])["helper@example.org"] == ("door", "", False, False)
    assert members(app, events["b"])["helper@example.org"][0] == "liaison"  # untouched
    assert user_id(app, "helper@example.org") is not None
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(StaffUser.id))) == 2

    [email] = delivered(app, smtp_server, "helper@example.org")
    text = email.get_body(("plain",)).get_content()
    assert "Seoul Forum" in text and "http://localhost/sign-in" in text
    assert "reset-password" not in text
    parsed = parse(page)
    row = parsed.one("tr", **{"data-member": "helper@example.org"})
    assert "Door" in row.text

    # The same address again with another role changes the role, recorded with its before.
    invite(client, events["a"], email="helper@example.org", role="reviewer",
           categories=["academic", "journalist"], can_export="y")
    assert members(app, events["a"])["helper@example.org"] == (
        "reviewer", "academic journalist", False, True)
    assert [a for a, *_ in trail(app)] == ["team_member.add", "team_member.change"]
    change = trail(app)[1][3]
    assert change["before"] == {"staff": "helper@example.org", "role": "door"}
    assert (change["role"], change["categories"], change["can_export"]) == (
        "reviewer", "academic journalist", True)


def test_a_removed_member_loses_the_event_on_their_next_request(
    app: Flask, client: FlaskClient, auth: AuthActions, events: dict[str, Any]
) -> None:
    auth.create("door@example.org", teams=({"event_id": events["a"], "role": "door"},))
    door = app.test_client()
    assert auth.post_sign_in({"email": "door@example.org", "password": STAFF_PASSWORD},
                             browser=door).status_code == 303
    door_page = f"/manage/events/{events['a']}/door"
    assert door.get(door_page).status_code == 200

    auth.admin()
    with app.app_context():
        member_id = db.session.scalar(db.select(TeamMember.id).where(
            TeamMember.event_id == events["a"]))
    remove_url = f"/manage/events/{events['a']}/team/{member_id}/remove"
    team = parse(client.get(f"/manage/events/{events['a']}/team").get_data(as_text=True))
    # A short button that still says, to a screen reader, whom it removes.
    button = team.one("a", href=remove_url)
    assert button.text == "Remove"
    assert button.get("aria-label") == "Remove door@example.org from the team"

    # The button opens a page that asks first; sent without its "Yes, remove", nobody goes.
    confirm = parse(client.get(remove_url).get_data(as_text=True)).one("main")
    assert confirm.one("h1").text == "Remove door@example.org from the team?"
    assert "Door" in confirm.one("dl").text and "Seoul Forum" in confirm.one("dl").text
    assert confirm.one("button", type="submit").text == "Yes, remove"
    assert confirm.one("input", type="hidden", name="confirm").get("value") == "yes"
    [keep] = [a for a in confirm.find_all("a") if a.text == "No, keep them"]
    assert keep.get("href") == f"/manage/events/{events['a']}/team"
    unconfirmed = client.post(remove_url)
    assert unconfirmed.status_code == 200
    assert "Remove door@example.org from the team?" in unconfirmed.get_data(as_text=True)
    assert client.post(remove_url, data={"confirm": "no"}).status_code == 200
    assert set(members(app, events["a"])) == {"door@example.org"}
    assert trail(app) == []
    assert door.get(door_page).status_code == 200

    response = client.post(remove_url, data={"confirm": "yes"})
    assert response.status_code == 303
    done = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "door@example.org is no longer on the team of this event." in done
    assert members(app, events["a"]) == {}
    assert trail(app) == [("team_member.remove", events["a"], "admin@example.org",
                           {"staff": "door@example.org", "role": "door"})]

    assert door.get(door_page).status_code == 404  # the same session, the next request


def test_the_last_organizer_cannot_remove_themself_but_an_admin_can(
    app: Flask, client: FlaskClient, auth: AuthActions, events: dict[str, Any]
) -> None:
    auth.member(events["a"], "organizer", "lead@example.org")
    with app.app_context():
        own = db.session.scalar(db.select(TeamMember.id).where(
            TeamMember.event_id == events["a"]))
    response = client.post(f"/manage/events/{events['a']}/team/{own}/remove",
                           data={"confirm": "yes"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You are the last organizer of this event" in page
    refused = invite(client, events["a"], email="lead@example.org", role="door")
    assert "You are the last organizer of this event" in refused.get_data(as_text=True)
    assert members(app, events["a"])["lead@example.org"][0] == "organizer"
    assert trail(app) == []

    # With a second organizer, they may leave.
    invite(client, events["a"], email="second@example.org", role="organizer")
    client.post(f"/manage/events/{events['a']}/team/{own}/remove", data={"confirm": "yes"})
    assert set(members(app, events["a"])) == {"second@example.org"}
    assert client.get(f"/manage/events/{events['a']}/team").status_code == 404


# --- who may open a team page --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["reviewer", "door", "liaison"])
def test_other_roles_and_another_events_organizer_get_404_and_change_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions, events: dict[str, Any], role: str
) -> None:
    auth.create("lead-b@example.org", teams=({"event_id": events["b"], "role": "organizer"},))
    with app.app_context():
        b_member = db.session.scalar(db.select(TeamMember.id).where(
            TeamMember.event_id == events["b"]))
    auth.member(events["a"], role)
    for method, url, data in [
        ("GET", f"/manage/events/{events['a']}/team", {}),
        ("POST", f"/manage/events/{events['a']}/team", {"email": "x@example.org",
                                                        "role": "organizer", "language": "en"}),
        ("GET", f"/manage/events/{events['b']}/team", {}),
        ("GET", f"/manage/events/{events['b']}/team/{b_member}/remove", {}),
        ("POST", f"/manage/events/{events['b']}/team/{b_member}/remove", {"confirm": "yes"}),
    ]:
        assert client.open(url, method=method, data=data).status_code == 404, (method, url)
    assert user_id(app, "x@example.org") is None
    assert set(members(app, events["b"])) == {"lead-b@example.org"}


def test_an_organizer_of_one_event_cannot_reach_anothers_team_or_members(
    app: Flask, client: FlaskClient, auth: AuthActions, events: dict[str, Any]
) -> None:
    auth.create("lead-b@example.org", teams=({"event_id": events["b"], "role": "organizer"},))
    with app.app_context():
        b_member = db.session.scalar(db.select(TeamMember.id).where(
            TeamMember.event_id == events["b"]))
    auth.member(events["a"], "organizer", "lead-a@example.org")
    assert client.get(f"/manage/events/{events['b']}/team").status_code == 404
    # Another event's member through this event's URL: not found either.
    for method in ("GET", "POST"):
        assert client.open(f"/manage/events/{events['a']}/team/{b_member}/remove", method=method,
                           data={"confirm": "yes"}).status_code == 404
    assert set(members(app, events["b"])) == {"lead-b@example.org"}
    page = client.get(f"/manage/events/{events['a']}/team")
    assert page.status_code == 200
    assert "lead-b@example.org" not in page.get_data(as_text=True)
    edit = client.get(f"/manage/events/{events['a']}/edit").get_data(as_text=True)
    assert f'href="/manage/events/{events["a"]}/team"' in edit


def test_admins_cannot_be_given_a_team_role_and_every_event_roles_are_listed(
    app: Flask, client: FlaskClient, auth: AuthActions, events: dict[str, Any]
) -> None:
    auth.create("everywhere@example.org")  # an organizer of every event
    auth.admin()
    refused = invite(client, events["a"], email="admin@example.org", role="door")
    assert "This person is an admin" in refused.get_data(as_text=True)
    page = parse(client.get(f"/manage/events/{events['a']}/team").get_data(as_text=True))
    assert "Event organizer" in page.one("li", **{"data-every": "everywhere@example.org"}).text
    assert page.one("li", **{"data-every": "admin@example.org"})
    assert members(app, events["a"]) == {}


# --- the admin's new-account form ----------------------------------------------------------------


def test_the_admin_new_account_form_has_no_password_and_sends_an_invitation(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer,
    events: dict[str, Any],
) -> None:
    auth.admin()
    form = parse(client.get("/manage/staff/new").get_data(as_text=True))
    assert not form.find_all("input", type="password")
    assert client.post("/manage/staff/new", data={
        "name": "Park", "email": "park@example.org", "role": "staff", "language": "ja",
        "password": "typed by someone else"}).status_code == 303
    [email] = delivered(app, smtp_server, "park@example.org")
    assert email["Subject"] != "Choose a password for your staff account"  # in Japanese
    assert re.search(r"/reset-password/[A-Za-z0-9_-]+", email.get_body(("plain",)).get_content())
    with app.app_context():
        user = db.session.scalars(db.select(StaffUser).where(
            StaffUser.email == "park@example.org")).one()
        assert not user.check_password("typed by someone else")

    # The account page lists the person's teams with links to each team page.
    invite(client, events["a"], email="park@example.org", role="door")
    account = client.get(f"/manage/staff/{user.id}").get_data(as_text=True)
    assert f'href="/manage/events/{events["a"]}/team"' in account
    assert "Seoul Forum" in account


# --- the invitation link's welcome ---------------------------------------------------------------

TWO_FACTOR_NOTE = ("Your role needs two-factor sign-in: when you first sign in, you set it up with "
                   "an authenticator app on your phone (any app for time-based one-time codes, "
                   "RFC 6238). Have one ready.")


def test_the_invitation_link_welcomes_the_person_with_their_events_roles_and_app_needed(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer,
    events: dict[str, Any],
) -> None:
    auth.admin()
    # Reading needs makes the role one that signs in with a second factor.
    invite(client, events["a"], email="press@example.org", categories=["journalist"],
           sees_needs="y")
    [email] = delivered(app, smtp_server, "press@example.org")
    text = email.get_body(("plain",)).get_content()
    assert TWO_FACTOR_NOTE in text
    assert TWO_FACTOR_NOTE in " ".join(email.get_body(("html",)).get_content().split())
    # The same person joins another event's team before they first sign in.
    invite(client, events["b"], email="press@example.org", role="door")
    link = re.search(r"http://localhost(/reset-password/[A-Za-z0-9_-]+)", text)
    assert link is not None
    auth.sign_out()

    page = parse(client.get(link[1]).get_data(as_text=True))
    main = page.one("main")
    assert main.one("h1").text == "Welcome — choose your password"
    assert main.one(id="welcome-account").text == (
        "This is the staff account of press@example.org.")
    assert main.one(id="welcome-roles-heading").text == "Your roles:"
    assert sorted(li.text for li in main.one("ul", id="welcome-roles").find_all("li")) == [
        "Seoul Forum: Reviewer (Journalist)", "Tokyo Forum: Door"]
    assert main.one(id="welcome-two-factor").text == TWO_FACTOR_NOTE
    assert "signs you out everywhere else" not in main.text
    assert "Choose a new password" not in main.text

    refused = parse(client.post(link[1], data={"password": "short"}).get_data(as_text=True))
    assert refused.one("h1").text == "Welcome — choose your password"  # still welcomed
    assert "Use at least 12 characters." in refused.one(id="error-summary").text
    response = client.post(link[1], data={"password": NEW_PASSWORD})
    assert response.status_code == 303
    assert "Your password is set. Sign in with it." in client.get(
        response.headers["Location"]).get_data(as_text=True)


def test_a_door_invitation_welcomes_without_asking_for_an_authenticator_app(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer,
    events: dict[str, Any],
) -> None:
    auth.member(events["a"], "organizer", "lead@example.org")
    invite(client, events["a"], email="door@example.org", role="door")
    [email] = delivered(app, smtp_server, "door@example.org")
    text = email.get_body(("plain",)).get_content()
    assert "two-factor" not in text and "authenticator" not in text
    link = re.search(r"http://localhost(/reset-password/[A-Za-z0-9_-]+)", text)
    assert link is not None
    auth.sign_out()
    main = parse(client.get(link[1]).get_data(as_text=True)).one("main")
    assert main.one("h1").text == "Welcome — choose your password"
    assert main.one(id="welcome-roles-heading").text == "Your role:"
    assert [li.text for li in main.one("ul", id="welcome-roles").find_all("li")] == [
        "Seoul Forum: Door"]
    assert main.find(id="welcome-two-factor") is None
    assert "authenticator" not in main.text


# --- where a refused invitation shows ------------------------------------------------------------


def test_the_invite_form_comes_back_at_itself_with_its_errors(
    app: Flask, client: FlaskClient, auth: AuthActions, events: dict[str, Any]
) -> None:
    auth.member(events["a"], "organizer", "lead@example.org")
    team_url = f"/manage/events/{events['a']}/team"
    page = parse(client.get(team_url).get_data(as_text=True))
    form = page.one("form", **{"aria-labelledby": "invite-heading"})
    assert form.get("action") == f"{team_url}#invite"
    section = page.one("section", id="invite")
    assert form in list(section.iter())

    refused = invite(client, events["a"], email="press@", name="Kim Press", role="door")
    assert refused.status_code == 200
    section = parse(refused.get_data(as_text=True)).one("section", id="invite")
    # The summary stands under the form's heading, where the browser lands (#invite).
    assert "Enter a valid email address." in section.one("div", id="error-summary").text
    assert section.one("input", id="email").get("value") == "press@"
    assert section.one("input", id="name").get("value") == "Kim Press"
    assert user_id(app, "press@") is None


# --- the staff home ------------------------------------------------------------------------------


def test_the_staff_home_keeps_its_links_apart_and_offers_the_team_to_who_manages_it(
    app: Flask, client: FlaskClient, auth: AuthActions, events: dict[str, Any]
) -> None:
    a_team, b_team = (f"/manage/events/{events[k]}/team" for k in ("a", "b"))

    auth.admin()
    home = parse(client.get("/manage/").get_data(as_text=True))
    links = home.one("ul", id="staff-links").find_all("li")
    assert [li.text for li in links] == [
        "New event", "Outbox", "Partner applications", "Staff accounts", "Audit trail", "Inquiries",
        "Document settings"]
    assert [a.text for a in home.find_all("a", href=a_team)] == ["Team"]
    assert [a.text for a in home.find_all("a", href=b_team)] == ["Team"]
    auth.sign_out()

    auth.member(events["a"], "organizer", "lead@example.org")
    home = parse(client.get("/manage/").get_data(as_text=True))
    assert [a.text for a in home.find_all("a", href=a_team)] == ["Team"]
    assert not home.find_all("a", href=b_team)
    assert [li.text for li in home.one("ul", id="staff-links").find_all("li")] == [
        "Outbox", "Partner applications"]
    auth.sign_out()

    # Door at one event, reviewer at the other: both listed, neither's team offered.
    auth.sign_in("helper@example.org", StaffRole.STAFF, (
        {"event_id": events["a"], "role": "door"},
        {"event_id": events["b"], "role": "reviewer"},
    ))
    body = client.get("/manage/").get_data(as_text=True)
    assert "Seoul Forum" in body and "Tokyo Forum" in body
    assert "/team" not in body
    assert 'data-label="Status"' in body  # each value carries its label for the phone layout
