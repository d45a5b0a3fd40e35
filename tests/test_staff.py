"""Staff: access to /manage, sign-in and sign-out, the `flask staff` commands, the event form."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import STAFF_PASSWORD, AuthActions, post_sign_in
from factories import make_event, make_series
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from markup import Element, form_values, parse, ticked
from werkzeug.routing import Rule

from nkhr_events.accounts.models import RecoveryCode, StaffRole, StaffSession, StaffUser
from nkhr_events.accounts.services import account_kind, authenticate
from nkhr_events.audit.models import AuditEntry
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.extensions import db

#: Endpoints only admins may open. The walk below finds them; keep this set in step with it.
ADMIN_ONLY_ENDPOINTS = {"accounts_manage.staff_list", "accounts_manage.staff_new",
                        "accounts_manage.staff_account", "audit_manage.index",
                        "documents_manage.document_settings",
                        "documents_manage.signature_image", "inquiries_manage.index",
                        "inquiries_manage.inquiry"}

WRONG_CREDENTIALS = "The email address or password is not correct."
_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def manage_rules(app: Flask) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if r.rule.startswith("/manage")),
        key=lambda r: r.rule,
    )


def sample_url(rule: Rule, number: int = 1) -> str:
    """The rule's path with each argument filled in: `number` for integers, a word otherwise."""

    def fill(match: re.Match[str]) -> str:
        return str(number) if match["converter"] in {"int", "float"} else "sample"

    return _ARGUMENT.sub(fill, rule.rule)


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/manage/")
    return response.status_code == 200


# --- who may open /manage ---------------------------------------------------------------------


def test_every_manage_endpoint_sends_anonymous_visitors_to_sign_in(
    app: Flask, client: FlaskClient
) -> None:
    checked = []
    for rule in manage_rules(app):
        url = sample_url(rule)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            response = client.open(url, method=method)
            location = urlsplit(response.headers.get("Location", ""))
            assert response.status_code == 302, f"{method} {url}: {response.status_code}"
            assert location.path == "/sign-in", f"{method} {url} -> {location}"
            assert parse_qs(location.query)["next"] == [url], f"{method} {url} -> {location}"
            checked.append((method, rule.endpoint))
    assert ("GET", "events_manage.home") in checked
    assert ("POST", "events_manage.change_status") in checked


def test_admin_only_pages_refuse_organizers_and_open_for_admins(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        event_id = make_event().id
        # An inquiry under the same number, so that its admin page has something to open.
        from nkhr_events.inquiries.models import Inquiry

        db.session.add(Inquiry(id=event_id, name="Ada", email="ada@example.org",
                               subject="Visit", message="Hello", language="en"))
        db.session.commit()
    auth.organizer()
    forbidden = set()
    for rule in manage_rules(app):
        if "GET" not in (rule.methods or set()):
            continue
        response = client.get(sample_url(rule, event_id))
        assert response.status_code < 500, f"{rule.rule}: {response.status_code}"
        assert "/sign-in" not in response.headers.get("Location", ""), rule.rule
        if response.status_code == 403:
            forbidden.add(rule.endpoint)
            page = parse(response.get_data(as_text=True))
            assert page.one("h1").text == "You do not have access to this page"
    assert forbidden == ADMIN_ONLY_ENDPOINTS

    auth.sign_out()
    auth.admin()
    rules = {r.endpoint: r for r in manage_rules(app)}
    for endpoint in sorted(ADMIN_ONLY_ENDPOINTS):
        response = client.get(sample_url(rules[endpoint], event_id))
        assert response.status_code == 200, endpoint
    staff_page = client.get("/manage/staff").get_data(as_text=True)
    assert "admin@example.org" in staff_page and "organizer@example.org" in staff_page


def test_staff_home_lists_drafts_with_their_status(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        make_event(title="Quiet Draft", status=EventStatus.DRAFT)
        db.session.commit()
    auth.organizer()
    page = parse(client.get("/manage/").get_data(as_text=True))
    row = next(tr for tr in page.find_all("tr") if "Quiet Draft" in tr.text)
    assert "Draft" in row.text
    assert page.find("a", href="/manage/staff") is None  # organizers see no admin link


#: POST endpoints deliberately without a CSRF token (none: every form carries one).
CSRF_EXEMPT_ENDPOINTS: set[str] = set()


def database_snapshot() -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in primary-key order."""
    return {
        table.name: [tuple(row) for row in db.session.execute(
            table.select().order_by(*table.primary_key.columns))]
        for table in db.metadata.sorted_tables
    }


def csrf_token(client: FlaskClient, path: str) -> str:
    page = parse(client.get(path).get_data(as_text=True))
    return page.find_all("input", name="csrf_token")[-1].get("value") or ""


@pytest.mark.parametrize("app_settings", [{"WTF_CSRF_ENABLED": True}])
def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create("admin@example.org", StaffRole.ADMIN)
    with app.app_context():
        event_id = make_event(status=EventStatus.DRAFT).id
        db.session.commit()
    # Sign in the way a browser does, with the form's token.
    response = post_sign_in(app, client, data={"email": "admin@example.org",
                                             "password": STAFF_PASSWORD,
                                             "csrf_token": csrf_token(client, "/sign-in")})
    assert response.status_code == 303
    with app.app_context():
        before = database_snapshot()

    refused = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "POST" not in (rule.methods or set()) or rule.endpoint in CSRF_EXEMPT_ENDPOINTS:
            continue
        url = sample_url(rule, event_id)
        response = client.post(url, data={"status": "published", "lang": "ko", "next": "/",
                                          "email": "admin@example.org",
                                          "password": STAFF_PASSWORD})
        assert response.status_code == 400, f"POST {url}: {response.status_code}"
        assert parse(response.get_data(as_text=True)).one("h1").text == "This form has expired"
        assert "nkhr_lang" not in response.headers.get("Set-Cookie", "")
        refused.append(rule.endpoint)
    assert {"site.set_language", "accounts.sign_in", "accounts.sign_out",
            "events_manage.create", "events_manage.change_status"} <= set(refused)

    with app.app_context():
        assert database_snapshot() == before
    assert is_signed_in(client)
    assert client.get_cookie("nkhr_lang") is None

    # The same request with the page's token goes through.
    token = csrf_token(client, f"/manage/events/{event_id}/edit")
    response = client.post(f"/manage/events/{event_id}/status",
                           data={"status": "published", "csrf_token": token})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Event, event_id).status == EventStatus.PUBLISHED


# --- sign-in and sign-out ---------------------------------------------------------------------


def test_wrong_password_and_unknown_email_get_the_identical_answer(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create("known@example.org")
    with app.app_context():
        inactive = auth.create("inactive@example.org")
        db.session.get(StaffUser, inactive.id).active = False
        db.session.commit()
    answers = []
    for email, password in [
        ("known@example.org", "not the password"),
        ("nobody@example.org", "not the password"),
        ("inactive@example.org", STAFF_PASSWORD),
    ]:
        response = post_sign_in(app, client, data={"email": email, "password": password})
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert parse(html).one("div", id="error-summary").text == WRONG_CREDENTIALS
        # The page's CSRF tokens are signed with the time; they are the only other difference.
        answers.append(re.sub(r'name="csrf_token" value="[^"]*"', "TOKEN",
                              html.replace(email, "EMAIL")))
    assert answers[0] == answers[1] == answers[2]
    assert not is_signed_in(client)


def test_sign_in_lands_on_the_page_that_asked_for_it(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create(teams=({"event_id": None, "role": "organizer"},))
    redirect_to_sign_in = client.get("/manage/events/new").headers["Location"]
    page = parse(client.get(redirect_to_sign_in).get_data(as_text=True))
    values = form_values(page.one("form", class_="form narrow"))
    assert values["next"] == "/manage/events/new"
    values.update(email="organizer@example.org", password=STAFF_PASSWORD)
    response = post_sign_in(app, client, values)  # the password, then the code
    assert response.status_code == 303
    assert response.headers["Location"] == "/manage/events/new"
    assert "New event" in client.get("/manage/events/new").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "https://evil.example", "/\\evil", "\\\\evil.example", "http:/evil",
     "javascript:alert(1)", "/%0d%0aSet-Cookie:x=y", "evil.example/manage/"],
)
def test_sign_in_never_redirects_off_site(
    app: Flask, client: FlaskClient, auth: AuthActions, target: str
) -> None:
    auth.create()
    response = post_sign_in(app, client,
        data={"email": "organizer@example.org", "password": STAFF_PASSWORD, "next": target},
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    if target.startswith("/%0d"):
        # A path on this site (percent-encoded, so no header injection) may be returned to.
        assert location == target
    else:
        assert location == "/manage/"


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": True}])
def test_sign_in_is_rate_limited(client: FlaskClient, auth: AuthActions) -> None:
    auth.create()
    for attempt in range(10):
        # Different addresses, so that the sign-in throttle does not answer first.
        response = client.post(
            "/sign-in", data={"email": f"guess-{attempt}@example.org", "password": "guess"}
        )
        assert response.status_code == 200
        assert WRONG_CREDENTIALS in response.get_data(as_text=True)
    refused = client.post(
        "/sign-in", data={"email": "organizer@example.org", "password": STAFF_PASSWORD}
    )
    assert refused.status_code == 429
    assert parse(refused.get_data(as_text=True)).one("h1").text == "Too many attempts"
    assert not is_signed_in(client)
    assert client.get("/sign-in").status_code == 200  # reading the form is not limited


def test_sign_out_is_post_only_and_ends_the_session(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    assert client.get("/sign-out").status_code == 405
    assert is_signed_in(client)
    response = client.post("/sign-out")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert "You are signed out." in client.get("/").get_data(as_text=True)
    assert client.get("/manage/").status_code == 302
    assert client.post("/sign-out").status_code == 302  # nothing to sign out of


def test_signed_in_staff_are_sent_from_the_sign_in_page_to_manage(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    response = client.get("/sign-in")
    assert response.status_code == 302
    assert response.headers["Location"] == "/manage/"


# --- `flask staff` ------------------------------------------------------------------------------


def staff_rows(app: Flask) -> list[tuple[str, str, str, bool]]:
    with app.app_context():
        return [
            (u.email, u.name, str(account_kind(u)), u.active)
            for u in db.session.scalars(db.select(StaffUser).order_by(StaffUser.id))
        ]


def test_staff_create_adds_an_account_that_can_sign_in(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    result = runner.invoke(args=["staff", "create", "  New.Admin@Example.ORG ", "--role", "admin",
                                 "--name", "Kim Min-ji", "--password", STAFF_PASSWORD])
    assert result.exit_code == 0, result.output
    assert "Created admin account new.admin@example.org." in result.output
    assert staff_rows(app) == [("new.admin@example.org", "Kim Min-ji", "admin", True)]
    with app.app_context():
        user = db.session.scalars(db.select(StaffUser)).one()
        assert STAFF_PASSWORD not in user.password_hash
    response = post_sign_in(app, client, data={"email": "new.admin@example.org",
                                              "password": STAFF_PASSWORD})
    # A new admin sets up two-factor sign-in at the first sign-in.
    assert "Your recovery codes" in response.get_data(as_text=True)
    assert client.get("/manage/staff").status_code == 200


def test_staff_create_prompts_for_the_password_and_defaults_to_organizer(
    app: Flask, runner: FlaskCliRunner
) -> None:
    result = runner.invoke(args=["staff", "create", "team@example.org"],
                           input=f"{STAFF_PASSWORD}\n{STAFF_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert staff_rows(app) == [("team@example.org", "team@example.org", "organizer", True)]
    with app.app_context():
        assert authenticate("team@example.org", STAFF_PASSWORD) is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["taken@example.org", "--password", STAFF_PASSWORD],
         "A staff account with this address exists."),
        (["short@example.org", "--password", "too-short"], "Use at least 12 characters."),
        (["not-an-address", "--password", STAFF_PASSWORD], "Enter a valid email address."),
    ],
)
def test_staff_create_refuses_bad_input_and_adds_nothing(
    app: Flask, runner: FlaskCliRunner, args: list[str], message: str
) -> None:
    assert runner.invoke(args=["staff", "create", "taken@example.org", "--password",
                               STAFF_PASSWORD]).exit_code == 0
    result = runner.invoke(args=["staff", "create", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert [row[0] for row in staff_rows(app)] == ["taken@example.org"]


def test_staff_create_refuses_an_unknown_role(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["staff", "create", "x@example.org", "--role", "owner",
                                 "--password", STAFF_PASSWORD])
    assert result.exit_code == 2
    assert staff_rows(app) == []


def test_staff_bootstrap_uses_the_admin_settings_from_the_environment(
    app: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NKHR_ADMIN_EMAIL", "director@example.org")
    monkeypatch.setenv("NKHR_ADMIN_PASSWORD", "a long chosen passphrase")
    result = runner.invoke(args=["staff", "bootstrap"])
    assert result.exit_code == 0, result.output
    assert "director@example.org" in result.output
    assert "a long chosen passphrase" not in result.output
    assert staff_rows(app) == [("director@example.org", "Administrator", "admin", True)]
    with app.app_context():
        assert authenticate("director@example.org", "a long chosen passphrase") is not None


def test_staff_bootstrap_prints_a_generated_password_once_and_then_does_nothing(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NKHR_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("NKHR_ADMIN_PASSWORD", raising=False)
    first = runner.invoke(args=["staff", "bootstrap"])
    assert first.exit_code == 0, first.output
    email = re.search(r"email:\s+(\S+)", first.output)
    password = re.search(r"password:\s+(\S+)", first.output)
    assert email and password, first.output
    assert len(password[1]) >= 12
    with app.app_context():
        hash_before = db.session.scalars(db.select(StaffUser.password_hash)).one()

    second = runner.invoke(args=["staff", "bootstrap"])
    assert second.exit_code == 0
    assert "nothing to do" in second.output
    assert password[1] not in second.output
    assert staff_rows(app) == [(email[1], "Administrator", "admin", True)]
    with app.app_context():
        assert db.session.scalars(db.select(StaffUser.password_hash)).one() == hash_before

    response = post_sign_in(app, client, data={"email": email[1], "password": password[1]})
    assert "Your recovery codes" in response.get_data(as_text=True)  # enrolled at once
    assert client.get("/manage/staff").status_code == 200


def test_staff_bootstrap_adds_an_admin_beside_organizers_but_not_beside_an_admin(
    app: Flask, runner: FlaskCliRunner, auth: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NKHR_ADMIN_EMAIL", "first-admin@example.org")
    monkeypatch.setenv("NKHR_ADMIN_PASSWORD", STAFF_PASSWORD)
    auth.create("organizer@example.org", StaffRole.STAFF,
                ({"event_id": None, "role": "organizer"},))
    assert runner.invoke(args=["staff", "bootstrap"]).exit_code == 0
    monkeypatch.setenv("NKHR_ADMIN_EMAIL", "second-admin@example.org")
    assert "nothing to do" in runner.invoke(args=["staff", "bootstrap"]).output
    assert [(row[0], row[2]) for row in staff_rows(app)] == [
        ("organizer@example.org", "organizer"), ("first-admin@example.org", "admin")]


def test_staff_bootstrap_refuses_a_short_password_from_the_environment(
    app: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NKHR_ADMIN_EMAIL", "director@example.org")
    monkeypatch.setenv("NKHR_ADMIN_PASSWORD", "short")
    result = runner.invoke(args=["staff", "bootstrap"])
    assert result.exit_code == 1
    assert "Use at least 12 characters." in result.output
    assert staff_rows(app) == []


def test_staff_reset_two_factor_lets_a_lone_admin_back_in_after_a_lost_phone(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, auth: AuthActions
) -> None:
    auth.admin()  # enrolled, and signed in here with a code
    assert is_signed_in(client)
    with app.app_context():
        admin = db.session.scalars(db.select(StaffUser)).one()
        db.session.add(RecoveryCode(user_id=admin.id, code_hash="0" * 64))
        db.session.commit()

    result = runner.invoke(args=["staff", "reset-two-factor", " Admin@Example.org "])
    assert result.exit_code == 0, result.output
    assert "Two-factor sign-in of admin@example.org was on; it is reset now." in result.output
    assert "Sessions ended: 1." in result.output
    with app.app_context():
        admin = db.session.scalars(db.select(StaffUser)).one()
        assert admin.totp_secret is None and admin.two_factor_enrolled_at is None
        assert db.session.scalar(db.select(db.func.count(RecoveryCode.id))) == 0
        live = db.session.scalars(
            db.select(StaffSession).where(StaffSession.ended_at.is_(None))).all()
        assert live == []
        [entry] = db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.action == "account.two_factor_reset")).all()
        assert (entry.actor, entry.actor_id, entry.object_id) == ("system", None, admin.id)
        assert entry.detail == {"was_enrolled": True, "sessions_ended": 1}
    assert not is_signed_in(client)  # the session in this browser has ended

    # The admin signs in with the password and sets up a new authenticator app.
    again = post_sign_in(app, client, data={"email": "admin@example.org",
                                           "password": STAFF_PASSWORD})
    assert "Your recovery codes" in again.get_data(as_text=True)


def test_staff_reset_two_factor_refuses_an_unknown_address_and_changes_nothing(
    app: Flask, runner: FlaskCliRunner, auth: AuthActions
) -> None:
    auth.create("admin@example.org", StaffRole.ADMIN)
    result = runner.invoke(args=["staff", "reset-two-factor", "nobody@example.org"])
    assert result.exit_code == 1
    assert "No staff account has the address 'nobody@example.org'." in result.output
    with app.app_context():
        assert db.session.scalars(db.select(StaffUser.totp_secret)).one() is not None
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(
            AuditEntry.action == "account.two_factor_reset")) == 0


# --- the event form -----------------------------------------------------------------------------


@pytest.fixture
def series_id(app: Flask) -> int:
    with app.app_context():
        series = make_series(name="International Conference")
        make_event(series=series, slug="taken-slug", title="Another Edition")
        db.session.commit()
        return series.id


def event_form_input(series_id: int, **changes: str) -> dict[str, Any]:
    """What an organizer types for a four-day July 2031 event that skips its second day."""
    values = {
        "series_id": str(series_id),
        "languages": ["en", "ko"],
        "title": "International Conference, Seoul 2031",
        "title_ko": "북한인권·난민문제 국제회의, 서울 2031",
        "slug": "icnkhr-2031-seoul",
        "description": "Two days of panels.\n\nA day of workshops.",
        "start_date": "2031-07-10",
        "end_date": "2031-07-13",
        "skipped_days": "2031-07-11",
        "timezone": "Asia/Seoul",
        "venue": "Korea Press Center",
        "city": "Seoul",
        "city_ko": "서울",
        "country": "KR",
        "capacity": "250",
        "retention_days": "180",
        "participant_list": "public",
        "registration_opens_at": "2031-01-15T09:00",
        "registration_closes_at": "2031-06-30T18:00",
        "email_confirmation_minutes": "",
    }
    values.update(changes)
    return values


def event_form(html: str) -> Element:
    return parse(html).one("form", class_="form")


def the_event(app: Flask, slug: str) -> Event:
    with app.app_context():
        event = db.session.scalars(db.select(Event).where(Event.slug == slug)).one()
        event.day_list  # noqa: B018  (load the days before the session closes)
        db.session.expunge(event)
        return event


def test_event_form_round_trip_creates_a_draft_then_edits_it(
    app: Flask, client: FlaskClient, auth: AuthActions, series_id: int
) -> None:
    auth.organizer()
    assert "New event" in client.get("/manage/events/new").get_data(as_text=True)
    created = client.post("/manage/events/new", data=event_form_input(series_id))
    assert created.status_code == 303, created.get_data(as_text=True)

    event = the_event(app, "icnkhr-2031-seoul")
    assert created.headers["Location"] == f"/manage/events/{event.id}/edit"
    assert event.status == EventStatus.DRAFT
    assert event.day_list == [date(2031, 7, 10), date(2031, 7, 12), date(2031, 7, 13)]
    assert (event.start_date, event.end_date) == (date(2031, 7, 10), date(2031, 7, 13))
    assert (event.title, event.title_ko, event.venue, event.city, event.city_ko,
            event.country, event.timezone, event.capacity) == (
        "International Conference, Seoul 2031", "북한인권·난민문제 국제회의, 서울 2031",
        "Korea Press Center", "Seoul", "서울", "KR", "Asia/Seoul", 250)
    assert event.description == "Two days of panels.\n\nA day of workshops."
    # 09:00 and 18:00 in Seoul (UTC+9), stored in UTC.
    assert event.registration_opens_at == datetime(2031, 1, 15, 0, 0, tzinfo=UTC)
    assert event.registration_closes_at == datetime(2031, 6, 30, 9, 0, tzinfo=UTC)
    edit_page = client.get(created.headers["Location"])
    assert "The event was created as a draft." in edit_page.get_data(as_text=True)
    assert client.get("/events/icnkhr-2031-seoul").status_code == 404
    values = form_values(event_form(edit_page.get_data(as_text=True)))
    assert ticked(event_form(edit_page.get_data(as_text=True)), "languages") == ["en", "ko"]
    assert values["skipped_days"] == "2031-07-11"
    assert values["registration_opens_at"].replace(" ", "T").startswith("2031-01-15T09:00")
    assert values["registration_closes_at"].replace(" ", "T").startswith("2031-06-30T18:00")
    assert values["country"] == "KR" and values["timezone"] == "Asia/Seoul"

    # The conference moves to London: the same wall-clock times now mean GMT and BST.
    values.update(timezone="Europe/London", city="London", city_ko="런던", country="GB",
                  venue="Chatham House", skipped_days="", capacity="")
    edited = client.post(f"/manage/events/{event.id}/edit",
                         data={**values, "languages": ["en", "ko"]})
    assert edited.status_code == 303, edited.get_data(as_text=True)
    event = the_event(app, "icnkhr-2031-seoul")
    assert event.day_list == [date(2031, 7, d) for d in (10, 11, 12, 13)]
    assert (event.city, event.country, event.venue, event.capacity) == (
        "London", "GB", "Chatham House", None)
    assert event.registration_opens_at == datetime(2031, 1, 15, 9, 0, tzinfo=UTC)
    assert event.registration_closes_at == datetime(2031, 6, 30, 17, 0, tzinfo=UTC)
    assert event.status == EventStatus.DRAFT
    assert "Your changes are saved." in client.get(edited.headers["Location"]).get_data(
        as_text=True)


def assert_form_keeps(html: str, typed: dict[str, Any]) -> None:
    """The form shown again holds every value typed, the ticked languages included; the texts
    left empty stay empty."""
    form = event_form(html)
    shown = form_values(form)
    assert ticked(form, "languages") == typed["languages"]
    assert {name: shown[name] for name in typed if name != "languages"} == {
        name: value for name, value in typed.items() if name != "languages"
    }
    # The door's opening hour is never empty: left out, it shows its default.
    assert shown.get("door_opens_at") in (typed.get("door_opens_at"), "06:00")
    assert all(shown[name] == "" for name in shown
               if name not in typed and name not in ("csrf_token", "door_opens_at"))


def assert_error_beside_field(html: str, field: str, message: str) -> None:
    """The message sits in the field's own container and the input points at it."""
    page = parse(html)
    control = page.one(id=field)
    container = next(a for a in control.ancestors() if a.has_class("field"))
    assert container.has_class("field-error")
    error = container.one(id=f"{field}-error")
    assert message in error.text
    assert len(page.find_all(id=f"{field}-error")) == 1
    assert control.get("aria-invalid") == "true"
    assert f"{field}-error" in (control.get("aria-describedby") or "").split()
    summary = page.one(id="error-summary")
    assert message in summary.text
    assert summary.find("a", href=f"#{field}") is not None or message in summary.text
    invalid = [e.get("id") for e in page.iter() if e.get("aria-invalid") == "true"]
    assert invalid == [field]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("end_date", "2031-07-09", "The last day cannot be before the first."),
        ("slug", "Bad Slug!", "Use lower-case letters, digits and hyphens only."),
        ("slug", "taken-slug", "Another event already uses this web address."),
        ("registration_closes_at", "2031-01-15T08:00", "Registration must close after it opens."),
        ("skipped_days", "2031-07-20", "Only days strictly between the first and the last."),
        ("skipped_days", "July 11", "Write each day as YYYY-MM-DD, one per line."),
        ("title", "", "Give the event a title in at least one of its languages."),
    ],
    ids=["last-day-first", "bad-slug", "duplicate-slug", "closes-before-opens",
         "skipped-day-outside", "skipped-day-unreadable", "no-title"],
)
def test_event_form_error_is_shown_beside_the_field_and_keeps_every_typed_value(
    app: Flask, client: FlaskClient, auth: AuthActions, series_id: int,
    field: str, value: str, message: str,
) -> None:
    auth.organizer()
    typed = event_form_input(series_id, **{field: value})
    if field == "title":
        typed["title_ko"] = ""  # no title in any of the event's languages
    response = client.post("/manage/events/new", data=typed)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert_error_beside_field(html, field, message)
    assert_form_keeps(html, typed)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Event.id))) == 1


def test_event_edit_with_a_duplicate_slug_keeps_the_values_and_changes_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions, series_id: int
) -> None:
    auth.organizer()
    created = client.post("/manage/events/new", data=event_form_input(series_id))
    edit_url = created.headers["Location"]
    typed = event_form_input(series_id, slug="taken-slug", venue="Somewhere Else",
                             skipped_days="")
    response = client.post(edit_url, data=typed)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert_error_beside_field(html, "slug", "Another event already uses this web address.")
    assert_form_keeps(html, typed)
    event = the_event(app, "icnkhr-2031-seoul")
    assert event.venue == "Korea Press Center"
    assert len(event.day_list) == 3


def change_status(client: FlaskClient, event_id: int, status: str) -> str:
    response = client.post(f"/manage/events/{event_id}/status",
                           data={"status": status, "confirmed": "1"})
    assert response.status_code == 303
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_publish_back_to_draft_and_archive_control_what_the_public_sees(
    app: Flask, client: FlaskClient, auth: AuthActions, series_id: int
) -> None:
    auth.organizer()
    client.post("/manage/events/new", data=event_form_input(series_id))
    event = the_event(app, "icnkhr-2031-seoul")
    public = "/events/icnkhr-2031-seoul"
    title = "International Conference, Seoul 2031"

    with app.app_context():
        series_page = f"/series/{db.session.get(Event, event.id).series.slug}"

    def visible() -> tuple[int, bool, bool]:
        """(event page status, listed on the home page, listed on the series page)"""
        return (client.get(public).status_code,
                title in client.get("/").get_data(as_text=True),
                title in client.get(series_page).get_data(as_text=True))

    assert visible() == (404, False, False)
    assert "The event is published." in change_status(client, event.id, "published")
    assert visible() == (200, True, True)
    assert "hidden from the public" in change_status(client, event.id, "draft")
    assert visible() == (404, False, False)
    change_status(client, event.id, "published")
    assert "The event is archived." in change_status(client, event.id, "archived")
    # Archived: still public, no longer announced as upcoming on the home page.
    assert visible() == (200, False, True)
    assert the_event(app, "icnkhr-2031-seoul").status == EventStatus.ARCHIVED


def test_a_status_move_that_is_not_allowed_changes_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions, series_id: int
) -> None:
    auth.organizer()
    client.post("/manage/events/new", data=event_form_input(series_id))
    event = the_event(app, "icnkhr-2031-seoul")
    page = change_status(client, event.id, "archived")
    assert "cannot move from draft to archived" in page
    assert the_event(app, "icnkhr-2031-seoul").status == EventStatus.DRAFT
    response = client.post(f"/manage/events/{event.id}/status", data={"status": "deleted"})
    assert response.status_code == 400
    assert the_event(app, "icnkhr-2031-seoul").status == EventStatus.DRAFT


def test_editing_an_unknown_event_is_404(client: FlaskClient, auth: AuthActions) -> None:
    auth.organizer()
    assert client.get("/manage/events/999999/edit").status_code == 404
    assert client.post("/manage/events/999999/status", data={"status": "published"}
                       ).status_code == 404

