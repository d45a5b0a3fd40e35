"""Check-in at the door: the code in the QR code, the page a scan opens, per-day check-in and
undo, door mode, the audit trail, and the QR code on the manage page and in the email."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from conftest import STAFF_PASSWORD, AuthActions, post_sign_in
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import parse

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.checkin import services as checkin
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations.links import issue_manage_token
from nkhr_events.registrations.models import Registration
from nkhr_events.web import local_time


def seoul_today() -> date:
    """Today where the test events are held (Seoul)."""
    return utcnow().astimezone(ZoneInfo("Asia/Seoul")).date()


@pytest.fixture(autouse=True)
def door_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The door's clock stands at 10:00 today in Seoul: the door is open, whatever the hour
    the tests run at (the day rule itself: tests/test_door_rules.py)."""
    moment = datetime.combine(seoul_today(), time(10), tzinfo=ZoneInfo("Asia/Seoul"))
    monkeypatch.setattr(checkin, "utcnow", lambda: moment.astimezone(UTC))
    return moment


def attendee(event: Event | int, n: int, **overrides: object) -> Registration:
    """Attendee `n` of the event, registered (confirmed unless `status` says otherwise)."""
    values: dict[str, object] = {
        "given_name": f"Min-ji{n}",
        "family_name": "Kim",
        "email": f"attendee{n}@example.org",
        "organization": f"Citizens' Alliance {n}",
    }
    values.update(overrides)
    return make_registration(event=event, **values)


@pytest.fixture
def today_event(app: Flask) -> dict[str, object]:
    """A two-day event held today and tomorrow (Seoul), with one confirmed attendee."""
    with app.app_context():
        today = seoul_today()
        event = make_event(days=[today, today + timedelta(days=1)])
        registration = attendee(
            event,
            1,
            badge_name="MJ Kim",
            accessibility_needs="Step-free access",
            dietary_needs="Vegetarian",
            interpretation="ko_to_en",
        )
        reference = checkin.checkin_reference(registration)
        db.session.commit()
        return {
            "event": event.id,
            "registration": registration.id,
            "reference": reference,
            "today": today,
            "tomorrow": today + timedelta(days=1),
        }


def checkin_rows(app: Flask, registration_id: int) -> list[RegistrationCheckin]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(RegistrationCheckin)
            .where(RegistrationCheckin.registration_id == registration_id)
            .order_by(RegistrationCheckin.day)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def audit_actions(app: Flask, registration_id: int) -> list[tuple[str, dict, str]]:
    with app.app_context():
        entries = db.session.scalars(
            db.select(AuditEntry)
            .where(
                AuditEntry.object_type == "registration",
                AuditEntry.object_id == registration_id,
                AuditEntry.action.like("registration.checkin%"),
            )
            .order_by(AuditEntry.id)
        ).all()
        return [(e.action, e.detail, e.actor) for e in entries]


# --- the code -----------------------------------------------------------------------------------


def test_checkin_code_is_stable_long_and_separate_from_the_manage_token(
    app: Flask, today_event: dict
) -> None:
    with app.app_context():
        registration = db.session.get(Registration, today_event["registration"])
        assert registration.checkin_salt
        code = checkin.checkin_code(registration)
        assert today_event["reference"] == f"{registration.id}-{code}"
        # 144 bits in URL-safe base64: at least the 128 the design asks for, and URL-safe.
        assert len(code) >= 22
        assert set(code) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )
        token = issue_manage_token(registration)
        assert code not in token and token not in code
        assert checkin.checkin_url(registration) == (
            f"http://localhost/manage/checkin/{today_event['reference']}"
        )


def test_only_the_right_code_opens_the_checkin_page(
    app: Flask, client: FlaskClient, auth: AuthActions, today_event: dict
) -> None:
    with app.app_context():
        other = attendee(today_event["event"], 2)
        other_reference = checkin.checkin_reference(other)
        db.session.commit()
    auth.organizer()
    own_id = today_event["registration"]
    own_code = today_event["reference"].split("-", 1)[1]
    other_id, other_code = other_reference.split("-", 1)

    right = client.get(f"/manage/checkin/{today_event['reference']}")
    assert right.status_code == 200
    assert parse(right.get_data(as_text=True)).one("h1").text == "MJ Kim"

    wrong = own_code[:-1] + ("A" if own_code[-1] != "A" else "B")
    assert client.get(f"/manage/checkin/{own_id}-{wrong}").status_code == 404
    # Another registration's code does not open this one, nor the other way round.
    assert client.get(f"/manage/checkin/{own_id}-{other_code}").status_code == 404
    assert client.get(f"/manage/checkin/{other_id}-{own_code}").status_code == 404
    assert client.get(f"/manage/checkin/{own_id}").status_code == 404
    assert client.get(f"/manage/checkin/x-{own_code}").status_code == 404
    assert client.get(f"/manage/checkin/999999-{own_code}").status_code == 404
    assert client.get(f"/manage/checkin/{other_reference}").status_code == 200


def test_a_different_secret_key_invalidates_every_code(
    app: Flask, client: FlaskClient, auth: AuthActions, today_event: dict
) -> None:
    auth.organizer()
    app.config["SECRET_KEY"] = "another-secret-key"
    # The session cookie is signed with the key too: sign in again under the new key.
    auth.organizer()
    assert client.get(f"/manage/checkin/{today_event['reference']}").status_code == 404


def test_an_anonymous_scanner_signs_in_and_comes_back_to_the_checkin_page(
    client: FlaskClient, auth: AuthActions, today_event: dict
) -> None:
    path = f"/manage/checkin/{today_event['reference']}"
    response = client.get(path)
    location = urlsplit(response.headers["Location"])
    assert response.status_code == 302
    assert location.path == "/sign-in"
    assert parse_qs(location.query)["next"] == [path]
    assert "MJ Kim" not in response.get_data(as_text=True)

    auth.create()
    signed_in = auth.post_sign_in(
        {"email": "organizer@example.org", "password": STAFF_PASSWORD, "next": path},
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == path
    assert "MJ Kim" in client.get(path).get_data(as_text=True)


# --- the check-in page --------------------------------------------------------------------------


def test_checkin_page_shows_who_it_is_their_needs_and_one_button_for_today(
    client: FlaskClient, auth: AuthActions, today_event: dict
) -> None:
    auth.organizer()
    page = parse(client.get(f"/manage/checkin/{today_event['reference']}").get_data(as_text=True))
    assert page.one("h1").text == "MJ Kim"
    facts = page.one("dl", id="checkin-facts").text
    for expected in (
        "General public",
        "Citizens' Alliance 1",
        "Step-free access",
        "Vegetarian",
        "Korean into English",
    ):
        assert expected in facts
    buttons = [b for b in page.find_all("button") if b.get("value") == "checkin"]
    assert len(buttons) == 1
    assert buttons[0].text == "Check in"
    day_inputs = [i for i in page.find_all("input", name="day")]
    assert [i.get("value") for i in day_inputs] == [today_event["today"].isoformat()]
    assert page.find(id="checkin-warning") is None


def test_checking_in_twice_keeps_one_row_and_warns_with_the_local_time(
    app: Flask, client: FlaskClient, auth: AuthActions, today_event: dict
) -> None:
    auth.organizer()
    path = f"/manage/checkin/{today_event['reference']}"
    day = today_event["today"].isoformat()
    first = client.post(path, data={"action": "checkin", "day": day}, follow_redirects=True)
    # The result fills the door screen, and the door goes on with the same day.
    result = parse(first.get_data(as_text=True)).one("section", id="door-result")
    assert "door-result-green" in result.get("class")
    assert "MJ Kim is checked in for" in result.text
    assert first.request.path == f"/manage/events/{today_event['event']}/door"
    assert first.request.args["day"] == day
    second = client.post(path, data={"action": "checkin", "day": day}, follow_redirects=True)
    assert second.status_code == 200
    result = parse(second.get_data(as_text=True)).one("section", id="door-result")
    assert "door-result-amber" in result.get("class")
    assert "Already checked in today at" in result.text and "by Test Staff" in result.text

    rows = checkin_rows(app, today_event["registration"])
    assert [r.day for r in rows] == [today_event["today"]]
    with app.app_context():
        staff_id = db.session.scalar(
            db.select(AuditEntry.actor_id).where(AuditEntry.action == "registration.checkin")
        )
    assert rows[0].staff_id == staff_id is not None
    with app.test_request_context():
        local = local_time(rows[0].checked_in_at, "Asia/Seoul")  # the reader's clock format
    assert ":" in local and local.count(":") == 1  # no seconds

    page = parse(client.get(path).get_data(as_text=True))
    assert page.one(id="checkin-warning").text == f"Already checked in today at {local}."
    assert not [b for b in page.find_all("button") if b.get("value") == "checkin"]
    # One audit entry for one check-in, however many clicks.
    assert audit_actions(app, today_event["registration"]) == [
        ("registration.checkin", {"day": day}, "organizer@example.org")
    ]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("pending", "awaiting review"),
        ("waitlisted", "on the waitlist"),
        ("cancelled", "cancelled this registration"),
        ("rejected", "did not accept this registration"),
    ],
)
def test_an_unconfirmed_registration_is_flagged_and_cannot_be_checked_in(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    today_event: dict,
    status: str,
    reason: str,
) -> None:
    with app.app_context():
        db.session.get(Registration, today_event["registration"]).status = status
        db.session.commit()
    auth.organizer()
    path = f"/manage/checkin/{today_event['reference']}"
    page = parse(client.get(path).get_data(as_text=True))
    warning = page.one(id="checkin-warning").text
    assert "Do not check in: this registration is not confirmed." in warning
    assert reason in warning
    assert not [b for b in page.find_all("button") if b.get("value") == "checkin"]

    refused = client.post(
        path,
        data={"action": "checkin", "day": today_event["today"].isoformat()},
        follow_redirects=True,
    )
    assert refused.status_code == 200
    assert reason in refused.get_data(as_text=True)
    assert checkin_rows(app, today_event["registration"]) == []
    assert audit_actions(app, today_event["registration"]) == []


def test_on_a_day_without_the_event_staff_choose_the_day(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        event = make_event()  # three days, sixty days ahead
        days = event.day_list
        registration = attendee(event, 3)
        reference = checkin.checkin_reference(registration)
        registration_id = registration.id
        db.session.commit()
    auth.organizer()
    path = f"/manage/checkin/{reference}"
    page = parse(client.get(path).get_data(as_text=True))
    assert "Today is not a day of this event" in page.text
    options = page.one("select", name="day").find_all("option")
    assert [o.get("value") for o in options] == [d.isoformat() for d in days]

    # Months ahead the door is not open: refused, with the reason, and an organizer's
    # explicit override.
    refused = client.post(
        path, data={"action": "checkin", "day": days[1].isoformat()}, follow_redirects=True
    )
    result = parse(refused.get_data(as_text=True)).one("section", id="door-result")
    assert "door-result-red" in result.get("class")
    assert "opens at 6:00 AM that day" in result.text
    assert [b.text for b in result.find_all("button") if b.has_class("door-override")] == [
        "Check in anyway (organizer)"
    ]
    assert checkin_rows(app, registration_id) == []
    client.post(path, data={"action": "checkin", "day": days[1].isoformat(), "override": "1"})
    client.post(path, data={"action": "checkin", "day": "2001-01-01", "override": "1"})
    assert [r.day for r in checkin_rows(app, registration_id)] == [days[1]]
    page = parse(client.get(path).get_data(as_text=True))
    assert len(page.one("ul", id="checkin-days").find_all("li")) == 1


def test_checkin_is_per_day_and_undo_removes_only_that_day_with_audit_entries(
    app: Flask, client: FlaskClient, auth: AuthActions, today_event: dict
) -> None:
    auth.organizer()
    path = f"/manage/checkin/{today_event['reference']}"
    today, tomorrow = today_event["today"].isoformat(), today_event["tomorrow"].isoformat()
    client.post(path, data={"action": "checkin", "day": today})
    client.post(path, data={"action": "checkin", "day": tomorrow, "override": "1"})
    assert [r.day.isoformat() for r in checkin_rows(app, today_event["registration"])] == [
        today,
        tomorrow,
    ]
    undone = client.post(path, data={"action": "undo", "day": today}, follow_redirects=True)
    assert "undone" in undone.get_data(as_text=True)
    again = client.post(path, data={"action": "undo", "day": today}, follow_redirects=True)
    assert "was not checked in for that day" in again.get_data(as_text=True)
    assert [r.day.isoformat() for r in checkin_rows(app, today_event["registration"])] == [
        tomorrow
    ]
    assert [(a, d) for a, d, _actor in audit_actions(app, today_event["registration"])] == [
        ("registration.checkin", {"day": today}),
        ("registration.checkin", {"day": tomorrow, "override": "door_not_open"}),
        ("registration.checkin_undo", {"day": today}),
    ]
    # Undone today: the button is back.
    page = parse(client.get(path).get_data(as_text=True))
    assert [b.text for b in page.find_all("button") if b.get("value") == "checkin"] == [
        "Check in"
    ]


# --- two at once --------------------------------------------------------------------------------


def test_two_staff_checking_in_one_person_at_once_record_one_row(
    app: Flask, today_event: dict
) -> None:
    barrier = threading.Barrier(2)
    results: list[bool] = []
    errors: list[BaseException] = []

    def scan() -> None:
        try:
            with app.app_context():
                registration = db.session.get(Registration, today_event["registration"])
                assert registration is not None
                registration.event.day_list  # noqa: B018  (loaded before the race)
                barrier.wait(timeout=10)
                result = checkin.check_in(registration, today_event["today"], actor=SYSTEM)
                db.session.commit()
                results.append(result.created)
        except BaseException as error:  # noqa: BLE001  (reported by the test below)
            errors.append(error)

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results) == [False, True]
    assert len(checkin_rows(app, today_event["registration"])) == 1
    assert len(audit_actions(app, today_event["registration"])) == 1


def test_a_double_click_from_two_clients_gives_no_error_page_and_one_row(
    app: Flask, today_event: dict
) -> None:
    clients = [app.test_client(), app.test_client()]
    for n, staff_client in enumerate(clients):
        email = f"door{n}@example.org"
        AuthActions(app, staff_client).create(email)
        post_sign_in(app, staff_client, {"email": email, "password": STAFF_PASSWORD})
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def click(staff_client: FlaskClient) -> None:
        barrier.wait(timeout=10)
        response = staff_client.post(
            f"/manage/checkin/{today_event['reference']}",
            data={"action": "checkin", "day": today_event["today"].isoformat()},
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [303, 303]
    assert len(checkin_rows(app, today_event["registration"])) == 1


# --- door mode ----------------------------------------------------------------------------------


def door_cards(page) -> list:
    """The people a door search found, one card each."""
    found = page.find("ul", id="door-results")
    return found.find_all("li") if found is not None else []


def card_name(card) -> str:
    return card.find("h3").text


def test_door_mode_finds_people_and_checks_them_in_for_the_chosen_day(
    app: Flask, client: FlaskClient, auth: AuthActions, today_event: dict
) -> None:
    with app.app_context():
        other = attendee(
            today_event["event"], 4, given_name="Joon", family_name="Park", organization="NK Watch"
        ).id
        pending = attendee(
            today_event["event"], 5, category="journalist", status="pending",
            given_name="Sara", family_name="Reporter",
            answers={"media_outlet": "Paper", "media_role": "Reporter"},
        ).id
        db.session.commit()
    auth.organizer()
    door = f"/manage/events/{today_event['event']}/door"

    page = parse(client.get(door).get_data(as_text=True))
    counts = page.one("table", id="checkin-counts").find_all("td")
    assert [c.text for c in counts] == ["0", "0"]
    assert door_cards(page) == []
    assert page.one("section", id="door-result").get("hidden") is not None

    for term in ("park", "NK WATCH", "attendee4@example"):
        found = parse(client.get(door, query_string={"q": term}).get_data(as_text=True))
        assert [card_name(c) for c in door_cards(found)] == ["Joon Park"], term

    response = client.post(
        door,
        data={
            "registration_id": str(other),
            "day": today_event["tomorrow"].isoformat(),
            "action": "checkin",
            "q": "park",
            "override": "1",
        },
    )
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert parse_qs(target.query) == {
        "day": [today_event["tomorrow"].isoformat()],
        "q": ["park"],
    }
    assert [r.day for r in checkin_rows(app, other)] == [today_event["tomorrow"]]

    page = parse(client.get(f"{target.path}?{target.query}").get_data(as_text=True))
    result = page.one("section", id="door-result")
    assert result.get("hidden") is None
    assert "door-result-green" in result.get("class")
    assert result.find("h2").text == "Checked in"
    assert "Joon Park" in result.text and "General public" in result.text
    # "Next person": the search again, for the same day.
    assert result.one("a", id="door-next").get("href") == (
        f"{door}?day={today_event['tomorrow'].isoformat()}"
    )
    counts = page.one("table", id="checkin-counts").find_all("td")
    assert [c.text for c in counts] == ["0", "1"]
    card = door_cards(page)[0]
    assert "Checked in at" in card.text
    assert [b.text for b in card.find_all("button")] == ["Undo"]
    # The result is shown once.
    again = parse(client.get(f"{target.path}?{target.query}").get_data(as_text=True))
    assert again.one("section", id="door-result").get("hidden") is not None

    client.post(
        door,
        data={
            "registration_id": str(other),
            "day": today_event["tomorrow"].isoformat(),
            "action": "undo",
        },
    )
    assert checkin_rows(app, other) == []

    # A pending registration shows why instead of a button, and a forced post is refused.
    found = parse(client.get(door, query_string={"q": "reporter"}).get_data(as_text=True))
    card = door_cards(found)[0]
    assert "awaiting review" in card.text
    assert card.find("button") is None
    client.post(
        door,
        data={"registration_id": str(pending), "day": today_event["today"].isoformat(),
              "action": "checkin"},
    )
    assert checkin_rows(app, pending) == []


def test_door_mode_refuses_a_registration_of_another_event(
    app: Flask, client: FlaskClient, auth: AuthActions, today_event: dict
) -> None:
    with app.app_context():
        elsewhere = make_event().id
        db.session.commit()
    auth.organizer()
    response = client.post(
        f"/manage/events/{elsewhere}/door",
        data={"registration_id": str(today_event["registration"]), "action": "checkin"},
    )
    assert response.status_code == 404
    assert checkin_rows(app, today_event["registration"]) == []


def test_the_event_page_links_to_door_mode(
    client: FlaskClient, auth: AuthActions, today_event: dict
) -> None:
    auth.organizer()
    page = parse(client.get(f"/manage/events/{today_event['event']}/edit").get_data(as_text=True))
    link = next(a for a in page.find_all("a") if a.text == "Check-in at the door")
    assert link.get("href") == f"/manage/events/{today_event['event']}/door"

