"""Two-factor sign-in: enrolment with a real authenticator code, the code after the password,
refused and reused codes, recovery codes, an admin's reset, and who must use it."""

from __future__ import annotations

import re

import pyotp
import pytest
from conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET, AuthActions, next_code
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from sqlalchemy import select

from nkhr_events.accounts.models import RecoveryCode, SessionEnd, StaffRole, StaffSession, StaffUser
from nkhr_events.audit.models import AuditEntry
from nkhr_events.extensions import db

ADMIN = "admin@example.org"
DOOR = "door@example.org"


def signed_in(browser: FlaskClient) -> bool:
    return browser.get("/manage/").status_code == 200


def password_step(browser: FlaskClient, email: str) -> str:
    """Where a correct password leads: the path of the redirect."""
    response = browser.post("/sign-in", data={"email": email, "password": STAFF_PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def code_step(browser: FlaskClient, code: str) -> tuple[int, str]:
    response = browser.post("/sign-in/code", data={"code": code})
    return response.status_code, response.get_data(as_text=True)


def actions(app: Flask, email: str) -> list[tuple[str, dict | None]]:
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        assert user is not None
        return [(e.action, e.detail) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "staff_user",
                                     AuditEntry.object_id == user.id).order_by(AuditEntry.id))]


def user_row(app: Flask, email: str) -> StaffUser:
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        assert user is not None
        db.session.expunge(user)
        return user


def enrol_by_page(browser: FlaskClient) -> tuple[str, list[str]]:
    """Enrol as a person does; returns the secret read from the page and the recovery codes."""
    page = browser.get("/sign-in/two-factor")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'src="data:image/png;base64,' in html  # the QR code, served with the page
    secret = parse(html).one("code", id="two-factor-secret").text.replace(" ", "")
    wrong = browser.post("/sign-in/two-factor", data={"code": "000000"})
    assert "The code is not correct." in wrong.get_data(as_text=True)
    done = browser.post("/sign-in/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = [li.text.strip() for li in parse(done.get_data(as_text=True)).find_all("li")
             if re.fullmatch(r"[a-z0-9]{5}-[a-z0-9]{5}", li.text.strip())]
    return secret, codes


def test_an_admin_enrols_at_first_sign_in_then_signs_in_with_password_and_code(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create(ADMIN, StaffRole.ADMIN, two_factor=False)
    assert password_step(client, ADMIN) == "/sign-in/two-factor"
    # Nothing else is reachable before enrolment: no session has started.
    assert not signed_in(client)
    with app.app_context():
        assert db.session.scalar(select(db.func.count(StaffSession.id))) == 0
    secret, codes = enrol_by_page(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert signed_in(client)

    user = user_row(app, ADMIN)
    assert user.two_factor_enrolled_at is not None and user.totp_secret == secret
    with app.app_context():
        stored = db.session.execute(db.text("SELECT totp_secret FROM staff_user")).scalar_one()
        hashes = set(db.session.scalars(select(RecoveryCode.code_hash)))
    assert secret not in stored  # encrypted at rest
    assert len(hashes) == 10 and not any(code.replace("-", "") in hashes for code in codes)
    assert [a for a, _ in actions(app, ADMIN)][-3:] == [
        "account.two_factor_enrol_failed", "account.two_factor_enrol", "auth.sign_in"]

    client.post("/sign-out")
    assert password_step(client, ADMIN) == "/sign-in/code"
    assert not signed_in(client)
    status, _ = code_step(client, next_code(app, ADMIN))
    assert status == 303 and signed_in(client)


def test_a_wrong_code_is_refused_and_counted_by_the_throttle(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create(ADMIN, StaffRole.ADMIN)
    password_step(client, ADMIN)
    answers = [code_step(client, "123456")[1] for _ in range(5)]
    assert "The code is not correct." in answers[0]
    assert "Too many failed attempts." in answers[-1]
    assert not signed_in(client)
    failures = [d for a, d in actions(app, ADMIN) if a == "auth.sign_in_failed"]
    assert len(failures) >= 4 and all(d == {"reason": "wrong_code"} for d in failures)
    # Even the right code waits now, and so does the password from this client.
    status, page = code_step(client, next_code(app, ADMIN))
    assert status == 200 and "Too many failed attempts." in page
    again = client.post("/sign-in", data={"email": ADMIN, "password": STAFF_PASSWORD})
    assert "Too many failed attempts." in again.get_data(as_text=True)


def test_a_code_is_never_accepted_twice_within_its_window(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create(ADMIN, StaffRole.ADMIN)
    code = next_code(app, ADMIN)
    password_step(client, ADMIN)
    assert code_step(client, code)[0] == 303
    client.post("/sign-out")
    password_step(client, ADMIN)
    status, page = code_step(client, code)
    assert status == 200 and "The code is not correct." in page
    assert not signed_in(client)


def test_a_recovery_code_works_once(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    auth.create(ADMIN, StaffRole.ADMIN, two_factor=False)
    password_step(client, ADMIN)
    _, codes = enrol_by_page(client)
    client.post("/sign-out")

    password_step(client, ADMIN)
    status, _ = code_step(client, codes[3].upper().replace("-", " "))
    assert status == 303 and signed_in(client)
    assert "account.two_factor_recovery_code_used" in [a for a, _ in actions(app, ADMIN)]
    client.post("/sign-out")
    password_step(client, ADMIN)
    status, page = code_step(client, codes[3])
    assert status == 200 and "The code is not correct." in page


def test_new_recovery_codes_need_a_current_code_and_replace_the_old(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create(ADMIN, StaffRole.ADMIN, two_factor=False)
    password_step(client, ADMIN)
    _, old = enrol_by_page(client)
    refused = client.post("/manage/two-factor", data={"code": "000000"})
    assert "The code is not correct." in refused.get_data(as_text=True)
    made = client.post("/manage/two-factor", data={"code": next_code(app, ADMIN)})
    new = [li.text.strip() for li in parse(made.get_data(as_text=True)).find_all("li")
           if re.fullmatch(r"[a-z0-9]{5}-[a-z0-9]{5}", li.text.strip())]
    assert len(new) == 10 and not set(new) & set(old)
    client.post("/sign-out")
    password_step(client, ADMIN)
    assert code_step(client, old[0])[0] == 200
    assert code_step(client, new[0])[0] == 303


def test_an_admin_reset_ends_the_sessions_and_forces_a_new_enrolment(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    lost = auth.create("lost@example.org")  # an organizer of every event: must use it
    phone = app.test_client()
    auth.post_sign_in({"email": "lost@example.org", "password": STAFF_PASSWORD}, phone)
    assert signed_in(phone)
    auth.admin()
    page = client.get(f"/manage/staff/{lost.id}").get_data(as_text=True)
    assert "Reset two-factor sign-in" in page
    reset = client.post(f"/manage/staff/{lost.id}/two-factor/reset", follow_redirects=True)
    assert "Two-factor sign-in is reset" in reset.get_data(as_text=True)

    assert not signed_in(phone)
    user = user_row(app, "lost@example.org")
    assert user.totp_secret is None and user.two_factor_enrolled_at is None
    with app.app_context():
        assert db.session.scalar(select(db.func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == lost.id)) == 0
        assert db.session.scalars(select(StaffSession.ended_reason).where(
            StaffSession.user_id == lost.id)).all() == [SessionEnd.TWO_FACTOR_RESET]
    assert ("account.two_factor_reset", {"was_enrolled": True, "sessions_ended": 1}) in actions(
        app, "lost@example.org")
    assert password_step(phone, "lost@example.org") == "/sign-in/two-factor"
    secret, _ = enrol_by_page(phone)
    assert secret != STAFF_TOTP_SECRET and signed_in(phone)


def test_a_signed_in_person_who_must_enrol_reaches_only_enrolment(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """A session from before the requirement (or a role that became sensitive)."""
    auth.create(DOOR, teams=({"event_id": None, "role": "door"},), two_factor=False)
    assert password_step(client, DOOR) == "/manage/"
    with app.app_context():
        member = db.session.scalar(select(StaffUser).where(StaffUser.email == DOOR))
        assert member is not None
        db.session.execute(db.text(
            "UPDATE team_member SET role = 'organizer' WHERE user_id = :id"), {"id": member.id})
        db.session.commit()
    blocked = client.get("/manage/")
    assert blocked.status_code == 303 and blocked.headers["Location"] == "/sign-in/two-factor"
    enrol_by_page(client)
    assert signed_in(client)


def test_a_role_that_does_not_need_it_signs_in_with_the_password_alone(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.create(DOOR, teams=({"event_id": None, "role": "door"},), two_factor=False)
    assert password_step(client, DOOR) == "/manage/"
    assert signed_in(client)


@pytest.mark.parametrize("app_settings", [{"NKHR_TWO_FACTOR": "all"}])
def test_two_factor_for_all_requires_it_of_a_door_member(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.create(DOOR, teams=({"event_id": None, "role": "door"},), two_factor=False)
    assert password_step(client, DOOR) == "/sign-in/two-factor"
    assert not signed_in(client)
    enrol_by_page(client)
    assert signed_in(client)
