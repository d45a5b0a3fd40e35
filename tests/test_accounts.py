"""Staff accounts: password reset links, password change, account management by admins, and
the session cookie. The sign-in throttle and the server-side sessions have files of their own
(test_sign_in_throttle.py, test_staff_sessions.py)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from conftest import STAFF_PASSWORD, AuthActions, post_sign_in
from factories import make_event
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from smtp import SMTPServer, deliver_and_read, smtp_settings

from nkhr_events.accounts.models import PasswordResetToken, StaffRole, StaffUser
from nkhr_events.accounts.services import change_role, set_active
from nkhr_events.audit.services import Actor
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.outbox.requests import resolve_requests

WRONG_CREDENTIALS = "The email address or password is not correct."
NEW_PASSWORD = "a brand new passphrase 2031"


def attempt(client: FlaskClient, email: str, password: str = "not the password") -> str:
    """The error shown after a sign-in attempt that does not succeed."""
    response = client.post("/sign-in", data={"email": email, "password": password})
    assert response.status_code == 200, response.headers.get("Location")
    return parse(response.get_data(as_text=True)).one("div", id="error-summary").text


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/manage/").status_code == 200


# --- password reset -------------------------------------------------------------------------------


def reset_emails(app: Flask, to: str) -> list[OutboxMessage]:
    """The reset emails to `to`, once the outbox worker has looked the requests up."""
    with app.app_context():
        resolve_requests()
        found = db.session.scalars(
            db.select(OutboxMessage)
            .where(OutboxMessage.recipient == to, OutboxMessage.template == "password_reset")
            .order_by(OutboxMessage.id)
        ).all()
        for message in found:
            db.session.expunge(message)
        return list(found)


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def emailed_link(app: Flask, server: SMTPServer, to: str) -> str:
    """The newest password link `to` received, once the outbox worker has sent it (the link
    is made then; the stored message holds only a placeholder)."""
    deliver_and_read(app, server)
    email = [m for m in server.messages if m["To"] == to][-1]
    text, html = (email.get_body((kind,)).get_content() for kind in ("plain", "html"))
    match = re.search(r"http://localhost(/reset-password/[A-Za-z0-9_-]+)", text)
    assert match, text
    assert match[0] in html
    return match[1]


def request_link(app: Flask, client: FlaskClient, email: str, server: SMTPServer) -> str:
    response = client.post("/forgot-password", data={"email": email})
    assert response.status_code == 303
    return emailed_link(app, server, email)


def test_the_sign_in_page_offers_a_reset_and_the_request_answers_the_same_for_any_address(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create("known@example.org")
    with app.app_context():
        inactive = db.session.get(StaffUser, auth.create("gone@example.org").id)
        inactive.active = False
        db.session.commit()
    sign_in_page = parse(client.get("/sign-in").get_data(as_text=True))
    assert sign_in_page.one("a", href="/forgot-password").text == "Forgot your password?"

    answers = []
    for email in ("known@example.org", "nobody@example.org", "gone@example.org"):
        response = client.post("/forgot-password", data={"email": email})
        assert response.status_code == 303
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        # The CSRF token carries a timestamp: the only part allowed to differ.
        page = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token"', page)
        answers.append((response.headers["Location"], page))
    assert answers[0] == answers[1] == answers[2]
    assert "If the address belongs to a staff account" in answers[0][1]

    assert [m.subject for m in reset_emails(app, "known@example.org")] == [
        "A link to choose a new password"]
    assert reset_emails(app, "nobody@example.org") == []
    assert reset_emails(app, "gone@example.org") == []


def test_a_reset_link_works_once_stores_only_a_hash_and_ends_other_sessions(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.create("known@example.org")
    other_browser = app.test_client()
    assert post_sign_in(app, other_browser, data={"email": "known@example.org",
                                                "password": STAFF_PASSWORD}).status_code == 303
    assert is_signed_in(other_browser)

    link = request_link(app, client, "known@example.org", smtp_server)
    message = reset_emails(app, "known@example.org")[0]
    assert "The link works once, for 1 hour." in message.text_body
    assert "/reset-password/PRIVATE-LINK-MADE-WHEN-SENT" in message.text_body
    token = link.rsplit("/", 1)[1]
    with app.app_context():
        stored = db.session.scalars(db.select(PasswordResetToken)).one()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert stored.expires_at - stored.created_at == timedelta(hours=1)

    form = parse(client.get(link).get_data(as_text=True))
    assert form.one("h1").text == "Choose a new password"
    short = client.post(link, data={"password": "too short"})
    assert "Use at least 12 characters." in short.get_data(as_text=True)
    response = client.post(link, data={"password": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/sign-in"

    assert not is_signed_in(other_browser)  # the session from before the reset has ended
    assert attempt(client, "known@example.org", STAFF_PASSWORD) == WRONG_CREDENTIALS
    assert post_sign_in(app, client, data={"email": "known@example.org",
                                         "password": NEW_PASSWORD}).status_code == 303
    auth.sign_out()

    # A second use of the same link changes nothing.
    again = client.get(link)
    assert parse(again.get_data(as_text=True)).one("h1").text == "This link no longer works"
    client.post(link, data={"password": "yet another passphrase"})
    assert post_sign_in(app, client, data={"email": "known@example.org",
                                         "password": NEW_PASSWORD}).status_code == 303


def test_a_reset_link_expires_after_an_hour(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.create("known@example.org")
    link = request_link(app, client, "known@example.org", smtp_server)
    with app.app_context():
        stored = db.session.scalars(db.select(PasswordResetToken)).one()
        stored.created_at -= timedelta(minutes=61)
        stored.expires_at -= timedelta(minutes=61)
        db.session.commit()
    assert "This link has expired or was already used." in client.get(link).get_data(
        as_text=True)
    client.post(link, data={"password": NEW_PASSWORD})
    assert attempt(client, "known@example.org", NEW_PASSWORD) == WRONG_CREDENTIALS
    assert post_sign_in(app, client, data={"email": "known@example.org",
                                         "password": STAFF_PASSWORD}).status_code == 303


def test_a_newer_reset_uses_up_every_older_link(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.create("known@example.org")
    first = request_link(app, client, "known@example.org", smtp_server)
    second = request_link(app, client, "known@example.org", smtp_server)
    assert client.post(second, data={"password": NEW_PASSWORD}).status_code == 303
    assert "This link no longer works" in client.get(first).get_data(as_text=True)


def test_an_unknown_reset_link_changes_nothing(client: FlaskClient, auth: AuthActions) -> None:
    auth.create("known@example.org")
    response = client.post("/reset-password/not-a-real-token", data={"password": NEW_PASSWORD})
    assert "This link no longer works" in response.get_data(as_text=True)
    auth.sign_in("known@example.org")


# --- password change ------------------------------------------------------------------------------


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    other_browser = app.test_client()
    post_sign_in(app, other_browser, data={"email": "organizer@example.org",
                                         "password": STAFF_PASSWORD})
    assert is_signed_in(other_browser)

    wrong = client.post("/manage/password", data={"current_password": "not it",
                                                   "new_password": NEW_PASSWORD})
    assert "Your current password is not correct." in wrong.get_data(as_text=True)
    short = client.post("/manage/password", data={"current_password": STAFF_PASSWORD,
                                                   "new_password": "eleven char"})
    assert "Use at least 12 characters." in short.get_data(as_text=True)
    assert is_signed_in(other_browser)

    done = client.post("/manage/password", data={"current_password": STAFF_PASSWORD,
                                                  "new_password": NEW_PASSWORD})
    assert done.status_code == 303
    assert "Your password is changed." in client.get(done.headers["Location"]).get_data(
        as_text=True)
    assert is_signed_in(client)
    assert not is_signed_in(other_browser)
    auth.sign_out()
    assert attempt(client, "organizer@example.org", STAFF_PASSWORD) == WRONG_CREDENTIALS
    assert post_sign_in(app, client, data={"email": "organizer@example.org",
                                         "password": NEW_PASSWORD}).status_code == 303


# --- account management ---------------------------------------------------------------------------


def staff(app: Flask, email: str) -> StaffUser:
    with app.app_context():
        user = db.session.scalars(db.select(StaffUser).where(StaffUser.email == email)).one()
        db.session.expunge(user)
        return user


def test_organizers_get_403_on_every_account_page_and_change_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    admin = auth.create("admin@example.org", StaffRole.ADMIN)
    auth.organizer()
    for method, url, data in [
        ("GET", "/manage/staff", {}),
        ("GET", "/manage/staff/new", {}),
        ("POST", "/manage/staff/new", {"name": "X", "email": "x@example.org",
                                       "role": "admin", "language": "en"}),
        ("GET", f"/manage/staff/{admin.id}", {}),
        ("POST", f"/manage/staff/{admin.id}/role", {"role": "organizer"}),
        ("POST", f"/manage/staff/{admin.id}/active", {"active": "0"}),
        ("GET", "/manage/audit/", {}),
    ]:
        response = client.open(url, method=method, data=data)
        assert response.status_code == 403, f"{method} {url}"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(StaffUser.id))) == 2
    assert (staff(app, "admin@example.org").role, staff(app, "admin@example.org").active) == (
        "admin", True)


def test_an_admin_never_types_a_password_for_a_new_account(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.admin()
    form = parse(client.get("/manage/staff/new").get_data(as_text=True))
    assert not form.find_all("input", type="password")
    response = client.post("/manage/staff/new", data={
        "name": "Lee Seo-yeon", "email": " Lee@Example.org", "role": "organizer",
        "password": NEW_PASSWORD})  # a password sent anyway is not used
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("The account lee@example.org is created and a link to choose a password is on its "
            "way.") in page
    assert len(reset_emails(app, "lee@example.org")) == 1
    auth.sign_out()
    assert attempt(client, "lee@example.org", NEW_PASSWORD) == WRONG_CREDENTIALS


def test_an_admin_creates_an_account_with_an_emailed_set_password_link(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    auth.admin()
    response = client.post("/manage/staff/new", data={
        "name": "Park Ji-hoon", "email": "park@example.org", "role": "admin"})
    assert response.status_code == 303
    [message] = reset_emails(app, "park@example.org")
    assert message.subject == "Choose a password for your staff account"
    assert "Hello Park Ji-hoon," in message.text_body
    assert "The link works once, for 48 hours." in message.text_body
    auth.sign_out()
    link = emailed_link(app, smtp_server, "park@example.org")
    assert client.post(link, data={"password": NEW_PASSWORD}).status_code == 303
    enrolled = post_sign_in(app, client, data={"email": "park@example.org",
                                               "password": NEW_PASSWORD})
    assert "Your recovery codes" in enrolled.get_data(as_text=True)  # two-factor set up
    assert client.get("/manage/staff").status_code == 200  # an admin


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "admin@example.org"}, "A staff account with this address exists."),
        ({"email": "not-an-address"}, "Enter a valid email address."),
    ],
)
def test_a_refused_new_account_keeps_the_typed_values_and_adds_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions, changes: dict[str, str], message: str
) -> None:
    auth.admin()
    typed = {"name": "Someone", "email": "someone@example.org", "role": "organizer",
             **changes}
    response = client.post("/manage/staff/new", data=typed)
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert message in page.one(id="error-summary").text
    assert page.one(id="name").get("value") == "Someone"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(StaffUser.id))) == 1


def test_an_admin_changes_roles_and_deactivates_but_never_themself(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    organizer = auth.create("organizer@example.org")
    auth.admin()
    admin = staff(app, "admin@example.org")
    organizer_browser = app.test_client()
    post_sign_in(app, organizer_browser, data={"email": "organizer@example.org",
                                             "password": STAFF_PASSWORD})
    assert is_signed_in(organizer_browser)

    def post(url: str, data: dict[str, str]) -> str:
        response = client.post(url, data=data)
        assert response.status_code == 303
        return client.get(response.headers["Location"]).get_data(as_text=True)

    assert "You cannot change your own role" in post(f"/manage/staff/{admin.id}/role",
                                                     {"role": "organizer"})
    assert "You cannot deactivate your own account." in post(
        f"/manage/staff/{admin.id}/active", {"active": "0"})
    assert (staff(app, "admin@example.org").role, staff(app, "admin@example.org").active) == (
        "admin", True)

    assert "The role is saved." in post(f"/manage/staff/{organizer.id}/role", {"role": "admin"})
    assert staff(app, "organizer@example.org").role == "admin"
    assert organizer_browser.get("/manage/staff").status_code == 200
    post(f"/manage/staff/{organizer.id}/role", {"role": "organizer"})
    assert organizer_browser.get("/manage/staff").status_code == 403

    assert "its sessions have ended" in post(f"/manage/staff/{organizer.id}/active",
                                             {"active": "0", "confirmed": "1"})
    assert not staff(app, "organizer@example.org").active
    assert not is_signed_in(organizer_browser)
    assert attempt(organizer_browser, "organizer@example.org", STAFF_PASSWORD) == (
        WRONG_CREDENTIALS)
    assert "The account is active again." in post(f"/manage/staff/{organizer.id}/active",
                                                  {"active": "1"})
    assert post_sign_in(app, organizer_browser, data={
        "email": "organizer@example.org", "password": STAFF_PASSWORD}).status_code == 303

    page = parse(client.get("/manage/staff").get_data(as_text=True))
    assert {a.text for a in page.find_all("a") if "/manage/staff/" in (a.get("href") or "")
            and a.get("href") != "/manage/staff/new"} == {"admin@example.org",
                                                          "organizer@example.org"}


def test_the_last_active_admin_can_never_be_demoted_or_deactivated(
    app: Flask, auth: AuthActions
) -> None:
    auth.create("admin@example.org", StaffRole.ADMIN)
    auth.create("organizer@example.org")
    auth.create("former@example.org", StaffRole.ADMIN)
    with app.app_context():
        admin = db.session.scalars(
            db.select(StaffUser).where(StaffUser.email == "admin@example.org")).one()
        former = db.session.scalars(
            db.select(StaffUser).where(StaffUser.email == "former@example.org")).one()
        organizer = db.session.scalars(
            db.select(StaffUser).where(StaffUser.email == "organizer@example.org")).one()
        set_active(former, False, actor=Actor.staff(admin))
        # Whoever asks (here a stale session of someone else), the last admin stays.
        for change in (lambda: change_role(admin, StaffRole.STAFF,
            actor=Actor.staff(organizer)),
                       lambda: set_active(admin, False, actor=Actor.staff(organizer))):
            with pytest.raises(DomainError, match="last active admin"):
                change()
        # An inactive admin does not count, and demoting one is allowed.
        change_role(former, StaffRole.STAFF, actor=Actor.staff(admin))
        db.session.commit()
        assert (admin.role, admin.active) == ("admin", True)


# --- the session cookie ---------------------------------------------------------------------------


def session_cookie_header(auth: AuthActions, base_url: str = "http://localhost") -> str:
    response = auth.post_sign_in(base_url=base_url, data={
        "email": "organizer@example.org", "password": STAFF_PASSWORD})
    assert response.status_code == 303
    return next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))


def test_the_session_cookie_is_httponly_samesite_and_not_secure_over_plain_http(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.create()
    cookie = session_cookie_header(auth)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_the_session_cookie_is_secure_over_https(client: FlaskClient, auth: AuthActions) -> None:
    auth.create()
    assert "Secure" in session_cookie_header(auth, "https://localhost")


@pytest.mark.parametrize("app_settings", [{"SESSION_COOKIE_SECURE": True}])
def test_the_session_cookie_is_secure_when_configured(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.create()
    assert "Secure" in session_cookie_header(auth)


# --- the list of staff accounts ------------------------------------------------------------------


def test_the_staff_list_shows_two_factor_and_the_team_roles_of_staff(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        seoul, tokyo = make_event(title="Seoul Forum"), make_event(title="Tokyo Forum")
        db.session.commit()
        seoul_id, tokyo_id = seoul.id, tokyo.id
    auth.create("door@example.org", teams=(
        {"event_id": seoul_id, "role": "door"},
        {"event_id": tokyo_id, "role": "liaison"}), two_factor=False)
    # Reads needs: must set up two-factor sign-in, and has not yet.
    auth.create("press@example.org", teams=(
        {"event_id": seoul_id, "role": "reviewer", "sees_needs": True},), two_factor=False)
    auth.create("nobody@example.org", teams=(), two_factor=False)
    auth.create("every@example.org")  # an organizer of every event, enrolled
    auth.admin()

    page = parse(client.get("/manage/staff").get_data(as_text=True))
    headers = [th.text for th in page.one("table").one("thead").find_all("th")]
    assert "Two-factor sign-in" in headers

    def row(email: str) -> tuple[str, str]:
        found = page.one("tr", **{"data-account": email})
        roles = found.one("td", class_="staff-roles").text
        return roles, found.one("td", class_="staff-two-factor").text

    assert row("admin@example.org") == ("Admin", "on")
    assert row("every@example.org") == ("Organizer of every event", "on")
    assert row("door@example.org") in {
        ("Door · Seoul Forum; Partner liaison · Tokyo Forum", "off"),
        ("Partner liaison · Tokyo Forum; Door · Seoul Forum", "off")}
    assert row("press@example.org") == (
        "Reviewer · Seoul Forum", "not set up yet: at the next sign-in")
    assert row("nobody@example.org") == ("Staff, on no team yet", "off")


@pytest.mark.parametrize(("role", "needs_app"), [("admin", True), ("staff", False)])
def test_a_new_account_email_names_the_authenticator_app_only_when_the_role_needs_it(
    app: Flask, client: FlaskClient, auth: AuthActions, role: str, needs_app: bool
) -> None:
    auth.admin()
    assert client.post("/manage/staff/new", data={
        "name": "Park", "email": "park@example.org", "role": role}).status_code == 303
    [message] = reset_emails(app, "park@example.org")
    assert ("an authenticator app on your phone" in message.text_body) is needs_app
    assert ("two-factor sign-in" in message.text_body) is needs_app
