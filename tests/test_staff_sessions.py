"""Staff sessions on the server: a cookie copied before sign-out, a password change, a reset
or a deactivation gets nothing after it; sessions run out; only a hash of the token is kept."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from conftest import STAFF_PASSWORD, AuthActions
from flask import Flask
from flask.testing import FlaskClient
from markup import parse

from nkhr_events.accounts import sessions
from nkhr_events.accounts.models import (
    PasswordResetToken,
    SessionEnd,
    StaffRole,
    StaffSession,
    StaffUser,
)
from nkhr_events.audit.services import SYSTEM
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.privacy.services import purge
from nkhr_events.tokens import new_token, token_hash

NEW_PASSWORD = "a brand new passphrase 2031"
ORGANIZER = "organizer@example.org"


def signed_in_browser(app: Flask, email: str = ORGANIZER, password: str = STAFF_PASSWORD
                      ) -> FlaskClient:
    browser = app.test_client()
    response = browser.post("/sign-in", data={"email": email, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    return browser


def copy_of(app: Flask, browser: FlaskClient) -> FlaskClient:
    """Another browser holding the very same session cookie."""
    cookie = browser.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def home_page(browser: FlaskClient) -> str:
    """Where /manage/ lands: "staff home", or "sign-in" with the page's heading checked."""
    response = browser.get("/manage/", follow_redirects=True)
    assert response.status_code == 200
    heading = parse(response.get_data(as_text=True)).one("h1").text
    if response.request.path == "/sign-in":
        assert heading == "Staff sign-in"
        return "sign-in"
    assert response.request.path == "/manage/", response.request.path
    return "staff home"


def session_rows(app: Flask, email: str = ORGANIZER) -> list[tuple[bool, str | None]]:
    """(ended, why) for each session of the person, oldest first."""
    with app.app_context():
        return [
            (row.ended_at is not None, row.ended_reason)
            for row in db.session.scalars(
                db.select(StaffSession).join(StaffUser, StaffUser.id == StaffSession.user_id)
                .where(StaffUser.email == email).order_by(StaffSession.id)
            )
        ]


def reset_link(app: Flask, email: str = ORGANIZER) -> str:
    """A working reset link for the account, made as the emailed one is (only its hash kept)."""
    token = new_token()
    with app.app_context():
        user = db.session.scalars(db.select(StaffUser).where(StaffUser.email == email)).one()
        now = utcnow()
        db.session.add(PasswordResetToken(user_id=user.id, token_hash=token_hash(token),
                                          created_at=now, expires_at=now + timedelta(hours=1)))
        db.session.commit()
    return f"/reset-password/{token}"


# --- sign-out -----------------------------------------------------------------------------------


def test_a_cookie_copied_before_sign_out_gets_nothing_after_it(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    thief = copy_of(app, client)
    assert home_page(thief) == "staff home"  # a copy works while the session lives
    assert session_rows(app) == [(False, None)]

    assert client.post("/sign-out").status_code == 303
    assert session_rows(app) == [(True, "sign_out")]
    assert home_page(client) == "sign-in"
    assert home_page(thief) == "sign-in"
    assert thief.get("/manage/staff").status_code == 302
    assert thief.post("/manage/password", data={
        "current_password": STAFF_PASSWORD, "new_password": NEW_PASSWORD}).status_code == 302
    with app.app_context():
        user = db.session.scalars(db.select(StaffUser)).one()
        assert user.check_password(STAFF_PASSWORD)

    auth.sign_in()  # signing in again starts a new session
    assert home_page(client) == "staff home" and home_page(thief) == "sign-in"
    assert session_rows(app) == [(True, "sign_out"), (False, None)]


def test_signing_in_again_never_revives_the_copied_session(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    thief = copy_of(app, client)
    client.post("/sign-out")
    # The thief learns nothing from the form and cannot sign in without the password.
    assert thief.post("/sign-in", data={"email": ORGANIZER, "password": "a guess"}
                      ).status_code == 200
    assert home_page(thief) == "sign-in"


def test_the_cookie_holds_a_token_the_database_keeps_only_as_a_hash(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    cookie = client.get_cookie("session")
    assert cookie is not None
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    token = data["_staff_session"]
    assert len(token) >= 43
    with app.app_context():
        row = db.session.scalars(db.select(StaffSession)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.created_at == row.last_seen_at
        for column in StaffSession.__table__.columns:
            assert getattr(row, column.key) != token


def test_a_session_token_signs_in_only_the_person_it_was_made_for(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    admin = auth.create("admin@example.org", StaffRole.ADMIN)
    auth.organizer()
    cookie = client.get_cookie("session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(cookie.value)
    # Even with the secret key, an organizer's token does not open an admin's account.
    data["_user_id"] = str(admin.id)
    forged = app.test_client()
    forged.set_cookie("session", serializer.dumps(data))
    assert home_page(forged) == "sign-in"
    assert forged.get("/manage/staff").status_code == 302


# --- password change, reset, deactivation -------------------------------------------------------


def test_a_password_change_ends_every_other_session_and_keeps_its_own(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    laptop = signed_in_browser(app)
    thief = copy_of(app, laptop)
    assert home_page(thief) == "staff home"

    response = client.post("/manage/password", data={"current_password": STAFF_PASSWORD,
                                                      "new_password": NEW_PASSWORD})
    assert response.status_code == 303
    assert home_page(client) == "staff home"  # the session that changed it goes on
    assert home_page(laptop) == "sign-in"
    assert home_page(thief) == "sign-in"
    assert session_rows(app) == [(False, None), (True, "password_change")]
    # A copy of the session that changed the password goes on with it (it is that session).
    assert home_page(copy_of(app, client)) == "staff home"


def test_a_reset_by_link_ends_every_session_of_the_person(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create()
    office, laptop = signed_in_browser(app), signed_in_browser(app)
    thief = copy_of(app, office)
    link = reset_link(app)

    response = client.post(link, data={"password": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/sign-in"
    assert [home_page(b) for b in (office, laptop, thief)] == ["sign-in"] * 3
    assert session_rows(app) == [(True, "password_reset")] * 2
    assert home_page(signed_in_browser(app, password=NEW_PASSWORD)) == "staff home"


def test_a_reset_in_a_browser_signed_in_as_someone_else_signs_that_browser_out(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create()
    auth.sign_in("colleague@example.org")
    thief = copy_of(app, client)
    assert client.post(reset_link(app), data={"password": NEW_PASSWORD}).status_code == 303
    assert home_page(client) == "sign-in" and home_page(thief) == "sign-in"
    assert session_rows(app, "colleague@example.org") == [(True, "sign_out")]


def test_deactivation_ends_every_session_and_reactivation_needs_a_fresh_sign_in(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    organizer = auth.create()
    office, laptop = signed_in_browser(app), signed_in_browser(app)
    thief = copy_of(app, office)
    auth.admin()

    assert client.post(f"/manage/staff/{organizer.id}/active",
                       data={"active": "0"}).status_code == 303
    assert [home_page(b) for b in (office, laptop, thief)] == ["sign-in"] * 3
    assert session_rows(app) == [(True, "deactivation")] * 2
    page = parse(client.get(f"/manage/staff/{organizer.id}").get_data(as_text=True))
    facts = dict(zip([dt.text for dt in page.find_all("dt")],
                     [dd.text for dd in page.find_all("dd")], strict=True))
    assert facts["Open sessions"] == "0"

    assert client.post(f"/manage/staff/{organizer.id}/active",
                       data={"active": "1"}).status_code == 303
    assert [home_page(b) for b in (office, laptop, thief)] == ["sign-in"] * 3
    fresh = signed_in_browser(app)
    assert home_page(fresh) == "staff home"
    assert session_rows(app) == [(True, "deactivation")] * 2 + [(False, None)]


# --- running out --------------------------------------------------------------------------------


def test_a_session_runs_out_after_twelve_idle_hours_or_seven_days_at_most(
    app: Flask, auth: AuthActions
) -> None:
    user = auth.create()
    start = utcnow()
    with app.app_context():
        user = db.session.get(StaffUser, user.id)
        idle = sessions.start_session(user, start)
        busy = sessions.start_session(user, start)
        db.session.commit()

        assert sessions.live_session(idle, user.id, start + timedelta(hours=11, minutes=59))
        assert sessions.live_session(idle, user.id, start + timedelta(hours=12)) is None

        # In use every few hours, a session still ends seven days after it began.
        at = start
        while at < start + timedelta(days=7) - timedelta(hours=6):
            at += timedelta(hours=6)
            found = sessions.live_session(busy, user.id, at)
            assert found is not None, at - start
            assert sessions.mark_seen(found, at)
        assert sessions.live_session(busy, user.id, start + timedelta(days=7)) is None


def test_use_is_written_down_at_most_every_five_minutes(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    with app.app_context():
        row = db.session.scalars(db.select(StaffSession)).one()
        signed_in_at = row.last_seen_at
    for _n in range(3):
        assert home_page(client) == "staff home"
    with app.app_context():
        row = db.session.scalars(db.select(StaffSession)).one()
        assert row.last_seen_at == signed_in_at  # no write per request
        # As if the last request had come six minutes ago.
        row.created_at -= timedelta(minutes=6)
        row.last_seen_at -= timedelta(minutes=6)
        db.session.commit()
        before = utcnow()
    assert home_page(client) == "staff home"
    with app.app_context():
        row = db.session.scalars(db.select(StaffSession)).one()
        assert row.last_seen_at >= before
        seen = row.last_seen_at
        assert not sessions.mark_seen(row, seen + timedelta(minutes=4, seconds=59))
        assert row.last_seen_at == seen
        assert sessions.mark_seen(row, seen + timedelta(minutes=5))
        assert row.last_seen_at == seen + timedelta(minutes=5)


def test_the_purge_deletes_sessions_ended_or_run_out_more_than_thirty_days_ago(
    app: Flask, auth: AuthActions
) -> None:
    user = auth.create()
    now = utcnow()
    with app.app_context():
        user = db.session.get(StaffUser, user.id)

        def started(days_ago: float, signed_out_days_ago: float | None = None) -> StaffSession:
            token = sessions.start_session(user, now - timedelta(days=days_ago))
            if signed_out_days_ago is not None:
                sessions.end_session(token, SessionEnd.SIGN_OUT,
                                     now - timedelta(days=signed_out_days_ago))
            return db.session.scalars(
                db.select(StaffSession).where(StaffSession.token_hash == token_hash(token))
            ).one()

        signed_out_long_ago = started(31.2, signed_out_days_ago=31)
        signed_out_lately = started(29.2, signed_out_days_ago=29)
        idle_long_ago = started(31)  # ran out 12 hours later, 30.5 days ago
        idle_lately = started(30)  # ran out 29.5 days ago
        live = started(0)
        db.session.commit()
        kept = {idle_lately.id, signed_out_lately.id, live.id}
        gone = {signed_out_long_ago.id, idle_long_ago.id}

        purge(now=now, dry_run=True, actor=SYSTEM)
        db.session.rollback()
        assert len(db.session.scalars(db.select(StaffSession)).all()) == 5
        purge(now=now, actor=SYSTEM)
        db.session.commit()
        assert set(db.session.scalars(db.select(StaffSession.id))) == kept
        assert not kept & gone
