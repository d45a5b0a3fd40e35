"""Staff sessions on the server: a cookie copied before sign-out, a password change, a reset
or a deactivation gets nothing after it; sessions run out (sooner when idle, later for the door
on its event's days); tokens rotate instead of binding a session to an address or browser; staff
see and end their own sessions; only a hash of the token is kept."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import STAFF_PASSWORD, AuthActions, make_test_app, post_sign_in
from factories import make_event
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
    TeamMember,
)
from nkhr_events.audit.models import AuditEntry
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
    response = post_sign_in(app, browser, {"email": email, "password": password})
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
                       data={"active": "0", "confirmed": "1"}).status_code == 303
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


def test_a_session_runs_out_after_thirty_idle_minutes_or_twelve_hours_at_most(
    app: Flask, auth: AuthActions
) -> None:
    user = auth.create()
    start = utcnow()
    with app.app_context():
        user = db.session.get(StaffUser, user.id)
        idle = sessions.start_session(user, start)
        busy = sessions.start_session(user, start)
        db.session.commit()

        assert sessions.live_session(idle, user.id, start + timedelta(minutes=29, seconds=59))
        assert sessions.live_session(idle, user.id, start + timedelta(minutes=30)) is None

        # In use every twenty minutes, a session still ends twelve hours after it began.
        at = start
        while at < start + timedelta(hours=12) - timedelta(minutes=20):
            at += timedelta(minutes=20)
            found = sessions.live_session(busy, user.id, at)
            assert found is not None, at - start
            assert sessions.mark_seen(found, at)
        assert sessions.live_session(busy, user.id, start + timedelta(hours=12)) is None


def test_the_idle_and_absolute_limits_follow_the_settings(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    other = make_test_app(url, NKHR_STAFF_IDLE_MINUTES=90, NKHR_STAFF_SESSION_HOURS=24)
    with other.app_context():
        assert sessions.idle_timeout() == timedelta(minutes=90)
        assert sessions.max_age() == timedelta(hours=24)
    for name, value in (("NKHR_STAFF_IDLE_MINUTES", 2), ("NKHR_STAFF_IDLE_MINUTES", 721),
                        ("NKHR_STAFF_IDLE_MINUTES", "soon"), ("NKHR_STAFF_SESSION_HOURS", 0),
                        ("NKHR_STAFF_SESSION_HOURS", 169)):
        with pytest.raises(ValueError, match=name):
            make_test_app(url, **{name: value})
    assert sessions.SEEN_INTERVAL < timedelta(minutes=sessions.IDLE_MINUTES_BOUNDS[0])


def age_the_session(app: Flask, idle: timedelta, since_sign_in: timedelta | None = None,
                    email: str = ORGANIZER) -> None:
    """As if the person's live session had last been used `idle` ago and begun
    `since_sign_in` ago (default: when last used)."""
    with app.app_context():
        row = db.session.scalars(
            db.select(StaffSession).join(StaffUser, StaffUser.id == StaffSession.user_id)
            .where(StaffUser.email == email, StaffSession.ended_at.is_(None))
        ).one()
        now = utcnow()
        row.last_seen_at = now - idle
        row.created_at = now - (since_sign_in or idle)
        db.session.commit()


def test_thirty_idle_minutes_sign_a_browser_out(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    age_the_session(app, timedelta(minutes=29))
    assert home_page(client) == "staff home"  # and that use counts
    age_the_session(app, timedelta(minutes=31))
    assert home_page(client) == "sign-in"


def test_twelve_hours_after_sign_in_a_busy_browser_is_signed_out(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    age_the_session(app, timedelta(minutes=1), since_sign_in=timedelta(hours=11, minutes=58))
    assert home_page(client) == "staff home"
    age_the_session(app, timedelta(minutes=1), since_sign_in=timedelta(hours=12, minutes=1))
    assert home_page(client) == "sign-in"


def door_page(browser: FlaskClient, event_id: int) -> str:
    """What the door page answers: "door", "not found" or "sign-in"."""
    response = browser.get(f"/manage/events/{event_id}/door")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/sign-in")
        return "sign-in"
    if response.status_code == 404:
        return "not found"
    assert response.status_code == 200
    assert parse(response.get_data(as_text=True)).one("h1").text == "Check-in at the door"
    return "door"


def event_on(app: Flask, day: datetime | None) -> int:
    """An event held today in Seoul (or on the Seoul day of `day`), or 60 days ahead (None)."""
    with app.app_context():
        days = None if day is None else [day.astimezone(ZoneInfo("Asia/Seoul")).date()]
        event = make_event(days=days) if days else make_event()
        db.session.commit()
        return event.id


@pytest.mark.parametrize("roles", [("door",), ("door", "door")])
def test_the_door_stays_signed_in_idle_on_an_event_day(
    app: Flask, client: FlaskClient, auth: AuthActions, roles: tuple[str, ...]
) -> None:
    today = event_on(app, utcnow())
    other = event_on(app, utcnow())
    teams = [{"event_id": today, "role": roles[0]}]
    if len(roles) > 1:
        teams.append({"event_id": other, "role": roles[1]})
    auth.sign_in("door@example.org", StaffRole.STAFF, tuple(teams))
    age_the_session(app, timedelta(hours=2), email="door@example.org")
    assert door_page(client, today) == "door"
    age_the_session(app, timedelta(hours=12, minutes=1), email="door@example.org")
    assert door_page(client, today) == "sign-in"


def test_the_door_gets_no_longer_idle_time_on_other_days(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    later = event_on(app, None)
    auth.member(later, "door", "door@example.org")
    age_the_session(app, timedelta(hours=2), email="door@example.org")
    assert door_page(client, later) == "sign-in"


def test_only_a_door_only_account_gets_the_event_day_idle_time(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    today = event_on(app, utcnow())
    auth.sign_in("both@example.org", StaffRole.STAFF, (
        {"event_id": today, "role": "door"}, {"event_id": event_on(app, None), "role": "reviewer"}
    ))
    age_the_session(app, timedelta(hours=2), email="both@example.org")
    assert door_page(client, today) == "sign-in"


def test_the_event_day_is_the_day_in_the_event_s_time_zone(app: Flask, auth: AuthActions) -> None:
    # 23:30 UTC on 1 March is already 2 March in Seoul, still 1 March in London.
    now = datetime(2031, 3, 1, 23, 30, tzinfo=ZoneInfo("UTC"))
    with app.app_context():
        seoul = make_event(days=[datetime(2031, 3, 2).date()])
        london = make_event(days=[datetime(2031, 3, 2).date()], timezone="Europe/London")
        db.session.commit()
        ids = seoul.id, london.id
    for event_id, door_day in zip(ids, (True, False), strict=True):
        user = auth.create(f"door-{event_id}@example.org",
                           teams=({"event_id": event_id, "role": "door"},))
        with app.app_context():
            user = db.session.get_one(StaffUser, user.id)
            assert sessions.door_day(user, now) is door_day
            token = sessions.start_session(user, now - timedelta(hours=2))
            db.session.commit()
            assert (sessions.live_session(token, user.id, now) is not None) is door_day
    every = auth.create("door-every@example.org", teams=({"event_id": None, "role": "door"},))
    with app.app_context():
        assert sessions.door_day(db.session.get_one(StaffUser, every.id), now)
        assert not sessions.door_day(db.session.get_one(StaffUser, every.id),
                                     now + timedelta(days=2))


# --- not tied to the address or browser; rotation instead ---------------------------------------


def test_a_new_address_or_browser_string_keeps_the_session(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    wifi = {"REMOTE_ADDR": "192.0.2.10", "HTTP_USER_AGENT": "Door phone/1.0"}
    mobile = {"REMOTE_ADDR": "198.51.100.77", "HTTP_USER_AGENT": "Door phone/1.1"}
    for environ in (wifi, mobile, wifi):
        response = client.get("/manage/", environ_overrides=environ)
        assert response.status_code == 200
        assert parse(response.get_data(as_text=True)).one("h1").text != "Staff sign-in"
    assert session_rows(app) == [(False, None)]


def cookie_token(app: Flask, browser: FlaskClient) -> str:
    cookie = browser.get_cookie("session")
    assert cookie is not None
    token = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    return str(token.get("_staff_session", ""))


def test_a_token_is_replaced_after_fifteen_minutes_and_the_old_one_stops_working(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    first = cookie_token(app, client)
    assert home_page(client) == "staff home"
    assert cookie_token(app, client) == first  # young tokens stay

    age_the_session(app, timedelta(minutes=1), since_sign_in=timedelta(minutes=16))
    thief = copy_of(app, client)
    assert home_page(client) == "staff home"
    second = cookie_token(app, client)
    assert second != first
    with app.app_context():
        row = db.session.scalars(db.select(StaffSession)).one()
        assert row.token_hash == token_hash(second)
        assert row.ended_at is None
    assert home_page(thief) == "sign-in"  # the copy taken before is worth nothing
    assert home_page(client) == "staff home"
    assert cookie_token(app, client) == second  # the new token is young
    assert session_rows(app) == [(False, None)]  # one session all along

    # Signing out, changing the password and the like name the session by its new token.
    assert client.post("/sign-out").status_code == 303
    assert session_rows(app) == [(True, "sign_out")]


def test_the_token_is_due_fifteen_minutes_after_it_was_handed_out(
    app: Flask, auth: AuthActions
) -> None:
    user = auth.create()
    start = utcnow()
    with app.app_context():
        user = db.session.get_one(StaffUser, user.id)
        token = sessions.start_session(user, start)
        found = sessions.live_session(token, user.id, start)
        assert found is not None
        assert not sessions.rotation_due(found, None, start + timedelta(minutes=14))
        assert sessions.rotation_due(found, None, start + timedelta(minutes=15))
        issued = start + timedelta(minutes=15)
        assert not sessions.rotation_due(found, issued, issued + timedelta(minutes=14))
        assert sessions.rotation_due(found, issued, issued + timedelta(minutes=15))

        fresh = sessions.rotate(found, token)
        assert fresh is not None and fresh != token
        # A request that raced this one with the old token does not rotate it again.
        assert sessions.rotate(found, token) is None
        db.session.commit()
        assert sessions.live_session(token, user.id, start) is None
        assert sessions.live_session(fresh, user.id, start) is not None
        assert not sessions.known_token(token) and sessions.known_token(fresh)


# --- roles are read on every request -----------------------------------------------------------


def test_removing_a_role_takes_effect_on_the_next_request(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = event_on(app, None)
    auth.member(event_id, "door", "door@example.org")
    assert door_page(client, event_id) == "door"
    with app.app_context():
        db.session.execute(db.delete(TeamMember))
        db.session.commit()
    assert door_page(client, event_id) == "not found"
    assert session_rows(app, "door@example.org") == [(False, None)]  # signed in, no rights


# --- one's own sessions -------------------------------------------------------------------------


def sessions_page(browser: FlaskClient) -> list[tuple[str, str]]:
    """(browser, the End button's form action) for each row of "Your sessions"."""
    response = browser.get("/manage/sessions")
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert page.one("h1").text == "Your sessions"
    return [(row.find_all("td")[1].text.strip(), row.one("form").get("action", ""))
            for row in page.one("tbody").find_all("tr")]


def audit_actions(app: Flask) -> list[tuple[str, dict[str, object]]]:
    with app.app_context():
        return [(e.action, e.detail) for e in db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action.like("auth.session%"))
            .order_by(AuditEntry.id))]


def test_staff_see_their_sessions_and_end_one(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    laptop = signed_in_browser(app)
    auth.create("colleague@example.org")
    colleague = signed_in_browser(app, "colleague@example.org")

    footer = parse(client.get("/manage/").get_data(as_text=True))
    assert "/manage/sessions" in [a.get("href") for a in footer.find_all("a")]
    rows = sessions_page(client)
    assert sorted(b for b, _action in rows) == ["Another browser or device", "This browser"]
    other = next(action for b, action in rows if b == "Another browser or device")

    # Someone else's session, or one already over, is not found.
    colleague_rows = sessions_page(colleague)
    assert len(colleague_rows) == 1
    assert client.post(colleague_rows[0][1]).status_code == 404
    assert home_page(colleague) == "staff home"

    response = client.post(other, follow_redirects=True)
    assert response.request.path == "/manage/sessions"
    assert "The session is ended." in response.get_data(as_text=True)
    assert home_page(laptop) == "sign-in"
    assert home_page(client) == "staff home"
    assert client.post(other).status_code == 404
    assert session_rows(app) == [(False, None), (True, "sign_out")]
    ended_id = int(other.split("/")[-2])
    assert audit_actions(app) == [("auth.session_end", {"session": ended_id})]

    # Ending this browser's own session signs it out.
    (here, action), = sessions_page(client)
    assert here == "This browser"
    assert client.post(action).headers["Location"] == "/sign-in"
    assert home_page(client) == "sign-in"


def test_staff_end_all_their_other_sessions(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    others = [signed_in_browser(app) for _n in range(2)]
    assert len(sessions_page(client)) == 3
    response = client.post("/manage/sessions/end-others", follow_redirects=True)
    assert "2 other sessions are ended." in response.get_data(as_text=True)
    assert [home_page(b) for b in others] == ["sign-in"] * 2
    assert [b for b, _action in sessions_page(client)] == ["This browser"]
    assert audit_actions(app) == [("auth.session_end_others", {"ended": 2})]


def test_the_sessions_page_needs_a_signed_in_person(client: FlaskClient) -> None:
    assert client.get("/manage/sessions").status_code == 302
    assert client.post("/manage/sessions/end-others").status_code == 302


def test_use_is_written_down_at_most_every_minute(
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
        # As if the last request had come two minutes ago.
        row.created_at -= timedelta(minutes=2)
        row.last_seen_at -= timedelta(minutes=2)
        db.session.commit()
        before = utcnow()
    assert home_page(client) == "staff home"
    with app.app_context():
        row = db.session.scalars(db.select(StaffSession)).one()
        assert row.last_seen_at >= before
        seen = row.last_seen_at
        assert not sessions.mark_seen(row, seen + timedelta(seconds=59))
        assert row.last_seen_at == seen
        assert sessions.mark_seen(row, seen + timedelta(minutes=1))
        assert row.last_seen_at == seen + timedelta(minutes=1)


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
