"""The sign-in throttle: failures make the client that sent them wait longer and longer before
it tries that address again; every other client may still sign in with it, known and unknown
addresses get the same answers, and the count lives in the shared database."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pyotp
import pytest
from conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET, AuthActions, make_test_app, post_sign_in
from flask import Flask
from flask.testing import FlaskClient
from markup import parse

from nkhr_events.accounts import services, throttle, twofactor
from nkhr_events.accounts.models import PasswordResetToken, StaffUser
from nkhr_events.audit.models import AuditEntry
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.tokens import new_token, token_hash

WRONG_CREDENTIALS = "The email address or password is not correct."
NEW_PASSWORD = "a brand new passphrase 2031"
KNOWN = "known@example.org"


def waiting(minutes: int) -> str:
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed attempts. Try again in {minutes} {unit} or reset your password."


def post(client: FlaskClient, email: str, password: str = "not the password",
         ip: str = "127.0.0.1") -> tuple[int, str]:
    """Status and page of a sign-in attempt from `ip`."""
    response = post_sign_in(client.application, client,
                            {"email": email, "password": password},
                            environ_base={"REMOTE_ADDR": ip})
    return response.status_code, response.get_data(as_text=True)


def attempt(client: FlaskClient, email: str, password: str = "not the password",
            ip: str = "127.0.0.1") -> str:
    """The error shown after a sign-in attempt that does not succeed."""
    status, html = post(client, email, password, ip)
    assert status == 200
    return parse(html).one("div", id="error-summary").text


def is_signed_in(client: FlaskClient, ip: str = "127.0.0.1") -> bool:
    return client.get("/manage/", environ_base={"REMOTE_ADDR": ip}).status_code == 200


def trail(app: Flask, address: str) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(e.action, e.ip) for e in db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.actor == address).order_by(AuditEntry.id))]


def reset_password_by_link(app: Flask, client: FlaskClient, email: str, password: str) -> None:
    token = new_token()
    with app.app_context():
        user = db.session.scalars(db.select(StaffUser).where(StaffUser.email == email)).one()
        now = utcnow()
        db.session.add(PasswordResetToken(user_id=user.id, token_hash=token_hash(token),
                                          created_at=now, expires_at=now + timedelta(hours=1)))
        db.session.commit()
    response = client.post(f"/reset-password/{token}", data={"password": password},
                           environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert response.status_code == 303


# --- no lockout ---------------------------------------------------------------------------------


def test_twenty_failures_from_one_client_never_keep_the_right_password_out_from_another(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create(KNOWN)
    answers = [attempt(client, KNOWN, ip="10.0.0.1") for _n in range(20)]
    assert answers[:3] == [WRONG_CREDENTIALS] * 3
    assert all(a.startswith("Too many failed attempts.") for a in answers[3:])
    # The attacker's client must wait, even with the right password ...
    assert attempt(client, KNOWN, STAFF_PASSWORD, ip="10.0.0.1").startswith("Too many")
    assert not is_signed_in(client, "10.0.0.1")

    # ... while the staff member, elsewhere, signs in at once.
    staff_member = app.test_client()
    status, _html = post(staff_member, KNOWN, STAFF_PASSWORD, ip="10.0.0.2")
    assert status == 303
    assert is_signed_in(staff_member, "10.0.0.2")
    entries = trail(app, KNOWN)
    assert entries[-1] == ("auth.sign_in", "10.0.0.2")
    failed = [ip for action, ip in entries if action == "auth.sign_in_failed"]
    assert failed == ["10.0.0.1"] * 4  # the rest were refused unchecked while it waited
    assert entries.count(("auth.sign_in_delayed", "10.0.0.1")) == 17


def test_the_staff_account_page_shows_failed_sign_ins_and_from_how_many_clients(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    organizer = auth.create(KNOWN)
    for ip in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "203.0.113.5"):
        attempt(app.test_client(), KNOWN, ip=ip)
    auth.admin()
    page = parse(client.get(f"/manage/staff/{organizer.id}").get_data(as_text=True))
    facts = dict(zip([dt.text for dt in page.find_all("dt")],
                     [dd.text for dd in page.find_all("dd")], strict=True))
    assert facts["Failed sign-ins in the last 24 hours"].startswith("4 ·")
    assert facts["Client addresses they came from"] == "3"
    assert not any("lock" in key.lower() for key in facts)
    listing = client.get("/manage/staff").get_data(as_text=True)
    assert "locked" not in listing


# --- growing waits ------------------------------------------------------------------------------


def sign_in_at(app: Flask, now: datetime, password: str = "not the password",
               email: str = KNOWN, client: str = "10.0.0.1") -> str:
    """What the service answers at `now`: "signed in" or the message of its refusal."""
    with app.test_request_context():
        try:
            user = services.sign_in(email, password, client, now=now)
            if twofactor.second_step_needed(user):  # the code, as the next page asks for it
                code = pyotp.TOTP(STAFF_TOTP_SECRET).at(now)
                services.sign_in_second_step(user, code, client, now=now)
        except services.SignInDelayed as delayed:
            answer = f"wait: {delayed.message}"
        except services.SignInRefused as refused:
            answer = refused.message
        else:
            answer = "signed in"
        db.session.commit()
        return answer


def wait_for(app: Flask, now: datetime, email: str = KNOWN, client: str = "10.0.0.1"
             ) -> timedelta:
    with app.app_context():
        until = throttle.wait_until(email, client, now)
        return until - now if until else timedelta(0)


def test_one_client_waits_longer_after_each_failure_up_to_fifteen_minutes(
    app: Flask, auth: AuthActions
) -> None:
    auth.create(KNOWN)
    now = utcnow()
    for _n in range(3):
        assert sign_in_at(app, now) == WRONG_CREDENTIALS
    expected = [(timedelta(seconds=30), 1), (timedelta(minutes=1), 1),
                (timedelta(minutes=2), 2), (timedelta(minutes=4), 4),
                (timedelta(minutes=8), 8), (timedelta(minutes=15), 15),
                (timedelta(minutes=15), 15)]
    for wait, minutes in expected:
        assert sign_in_at(app, now) == f"wait: {waiting(minutes)}"
        assert wait_for(app, now) == wait
        # Until the wait is over, even the right password (in any spelling of the address)
        # is refused unchecked, and the refusal does not count as another failure.
        assert sign_in_at(app, now, STAFF_PASSWORD) == f"wait: {waiting(minutes)}"
        almost = now + wait - timedelta(seconds=1)
        assert sign_in_at(app, almost, STAFF_PASSWORD) == f"wait: {waiting(1)}"
        assert sign_in_at(app, almost, STAFF_PASSWORD, email=" KNOWN@Example.org ").startswith(
            "wait: ")
        assert wait_for(app, almost) == timedelta(seconds=1)
        now += wait
    assert sign_in_at(app, now, STAFF_PASSWORD) == "signed in"
    # A success from this client starts its count afresh.
    now += timedelta(seconds=1)
    for _n in range(3):
        assert sign_in_at(app, now) == WRONG_CREDENTIALS
    assert sign_in_at(app, now) == f"wait: {waiting(1)}"


def test_the_wait_names_the_time_left_rounded_up_to_minutes(
    app: Flask, auth: AuthActions
) -> None:
    now = utcnow()
    for _n in range(8):  # an unknown address waits as long as a known one
        now += wait_for(app, now, "nobody@example.org")
        sign_in_at(app, now, email="nobody@example.org")
    assert wait_for(app, now, "nobody@example.org") == timedelta(minutes=8)
    later = now + timedelta(minutes=5, seconds=10)
    assert sign_in_at(app, later, email="nobody@example.org") == f"wait: {waiting(3)}"
    later = now + timedelta(minutes=7, seconds=50)
    assert sign_in_at(app, later, email="nobody@example.org") == f"wait: {waiting(1)}"


def test_failures_older_than_a_day_do_not_count(app: Flask, auth: AuthActions) -> None:
    auth.create(KNOWN)
    start = utcnow() - timedelta(days=1, minutes=1)
    for n in range(6):
        sign_in_at(app, start + timedelta(seconds=n * 10))
    assert wait_for(app, start + timedelta(seconds=50)) > timedelta(0)
    day_later = start + timedelta(days=1, minutes=1)
    assert wait_for(app, day_later) == timedelta(0)
    for _n in range(3):
        assert sign_in_at(app, day_later) == WRONG_CREDENTIALS


def test_a_success_clears_its_own_clients_failures_only(
    app: Flask, auth: AuthActions
) -> None:
    auth.create(KNOWN)
    now = utcnow()
    for client in ("10.0.0.1", "10.0.0.2"):
        for _n in range(3):
            assert sign_in_at(app, now, client=client) == WRONG_CREDENTIALS
    assert sign_in_at(app, now, STAFF_PASSWORD, client="10.0.0.2") == "signed in"
    now += timedelta(seconds=1)
    for _n in range(3):
        assert sign_in_at(app, now, client="10.0.0.2") == WRONG_CREDENTIALS
    # The staff member signing in elsewhere gives a guesser no fresh attempts.
    assert sign_in_at(app, now, client="10.0.0.1") == f"wait: {waiting(1)}"


def test_a_password_reset_clears_every_clients_wait(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create(KNOWN)
    for ip in ("10.0.0.1", "10.0.0.2"):
        for _n in range(6):
            attempt(client, KNOWN, ip=ip)
        assert attempt(client, KNOWN, STAFF_PASSWORD, ip=ip).startswith("Too many")
    reset_password_by_link(app, client, KNOWN, NEW_PASSWORD)
    status, _html = post(client, KNOWN, NEW_PASSWORD, ip="10.0.0.1")
    assert status == 303 and is_signed_in(client, "10.0.0.1")
    assert attempt(app.test_client(), KNOWN, ip="10.0.0.2") == WRONG_CREDENTIALS


# --- no enumeration -----------------------------------------------------------------------------


def normalised(html: str, email: str) -> str:
    """The page with the address typed and the CSRF token (signed with the time) taken out."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "TOKEN", html.replace(email, "EMAIL"))


def test_an_unknown_address_gets_byte_identical_pages_and_entries_to_a_known_one(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create(KNOWN)
    pages: dict[str, list[str]] = {}
    for email in (KNOWN, "nobody@example.org"):
        sequence = ["guess one", "guess two", "guess three", "guess four", STAFF_PASSWORD,
                    "guess five"]
        answers = []
        for password in sequence:
            status, html = post(client, email, password, ip="10.0.0.1")
            assert status == 200
            answers.append(normalised(html, email))
        pages[email] = answers
    assert pages[KNOWN] == pages["nobody@example.org"]
    errors = [parse(p).one("div", id="error-summary").text for p in pages[KNOWN]]
    assert errors == [WRONG_CREDENTIALS] * 3 + [waiting(1)] * 3
    assert trail(app, KNOWN) == trail(app, "nobody@example.org") == (
        [("auth.sign_in_failed", "10.0.0.1")] * 4 + [("auth.sign_in_delayed", "10.0.0.1")] * 2)


# --- one count for every process ----------------------------------------------------------------


def test_every_process_on_the_database_sees_the_same_count(
    app: Flask, auth: AuthActions, built: list[Flask]
) -> None:
    auth.create(KNOWN)
    other = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"])
    built.append(other)
    for n in range(4):
        process = (app, other)[n % 2]
        attempt(process.test_client(), KNOWN, ip="10.0.0.1")
    for process in (app, other):
        assert attempt(process.test_client(), KNOWN, STAFF_PASSWORD, ip="10.0.0.1") == (
            waiting(1))
        status, _html = post(process.test_client(), KNOWN, STAFF_PASSWORD, ip="10.0.0.2")
        assert status == 303


@pytest.mark.parametrize("failures", [0, 3])
def test_no_wait_for_the_first_three_failures(failures: int) -> None:
    assert throttle.wait_after(failures) == timedelta(0)


def test_the_waits_double_from_thirty_seconds_and_stop_at_fifteen_minutes() -> None:
    assert [throttle.wait_after(n).total_seconds() for n in range(4, 11)] == [
        30, 60, 120, 240, 480, 900, 900]
    assert throttle.wait_after(10_000) == timedelta(minutes=15)
