"""The door's rules and answers: check-in only on the event's days, from the hour the door opens
(local time) to the end of that day, only for the days a person registered for, with an
explicit override for organizers; every outcome green, amber or red; scans queued on a phone
answered at their own time; and two doors scanning one person at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.checkin import door
from nkhr_events.checkin import services as checkin
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
DAY_ONE, DAY_TWO = date(2027, 3, 2), date(2027, 3, 3)


def seoul(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SEOUL)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Set the door's clock (the pages', the scanner's and the rules')."""

    def _set(moment: datetime) -> None:
        monkeypatch.setattr(checkin, "utcnow", lambda: moment.astimezone(UTC))

    _set(seoul(DAY_ONE, 9, 12))
    return _set


@pytest.fixture
def conference(app: Flask) -> dict[str, Any]:
    """A two-day conference in Seoul (2 and 3 March 2027) and its people: one for both days,
    one for the first day only, and one of each status that cannot be checked in."""
    with app.app_context():
        event = make_event(days=[DAY_ONE, DAY_TWO], title="Seoul Conference")
        both = make_registration(
            event=event, given_name="민준", family_name="김", email="minjun@example.org",
            organization="북한인권시민연합",
        )
        first_only = make_registration(
            event=event, given_name="花子", family_name="山田", email="hanako@example.org",
            days=[DAY_ONE],
        )
        latin = make_registration(
            event=event, given_name="Minjun", family_name="Kim", email="kim@example.org",
            organization="NK Watch",
        )
        hidden = make_registration(
            event=event, given_name="Ji-ho", family_name="Secret", email="jiho@example.org",
            do_not_publish=True,
        )
        refused = {
            status: make_registration(
                event=event, email=f"{status}@example.org", given_name=status.title(),
                family_name="Press",
            )
            for status in ("pending", "waitlisted", "cancelled", "rejected")
        }
        for status, registration in refused.items():
            registration.status = status  # as the roster's decisions leave it
        other = make_event(days=[DAY_ONE], title="Tokyo Conference")
        stranger = make_registration(event=other, email="stranger@example.org")
        people = {"both": both, "first_only": first_only, "latin": latin, "hidden": hidden,
                  "stranger": stranger, **refused}
        codes = {name: checkin.checkin_url(r) for name, r in people.items()}
        db.session.commit()
        return {"event": event.id, "other": other.id, "codes": codes,
                "ids": {name: r.id for name, r in people.items()}}


def scan(app: Flask, world: dict[str, Any], who: str, day: date | None, **options: Any
         ) -> door.DoorOutcome:
    with app.app_context():
        event = db.session.get(Event, world["event"])
        code = world["codes"].get(who, who)
        outcome = door.scan_at_door(event, code, day, staff_id=None, actor=SYSTEM, **options)
        db.session.commit()
        return outcome


def rows(app: Flask, registration_id: int) -> list[RegistrationCheckin]:
    with app.app_context():
        found = db.session.scalars(db.select(RegistrationCheckin).where(
            RegistrationCheckin.registration_id == registration_id)).all()
        for row in found:
            db.session.expunge(row)
        return list(found)


# --- the day rule -------------------------------------------------------------------------------


def test_the_door_window_runs_from_the_local_opening_hour_to_midnight(app: Flask) -> None:
    with app.app_context():
        seoul_event = make_event(days=[DAY_ONE], timezone="Asia/Seoul")
        assert checkin.door_window(seoul_event, DAY_ONE) == (
            datetime(2027, 3, 1, 21, 0, tzinfo=UTC),  # 06:00 in Seoul, the day before in UTC
            datetime(2027, 3, 2, 15, 0, tzinfo=UTC),
        )
        # New York moves its clocks on 14 March 2027: the window follows the local hour.
        spring = date(2027, 3, 14)
        new_york = make_event(days=[spring], timezone="America/New_York",
                              door_opens_at=time(7, 30))
        opens, ends = checkin.door_window(new_york, spring)
        assert opens == datetime.combine(spring, time(7, 30), tzinfo=NEW_YORK)
        assert opens == datetime(2027, 3, 14, 11, 30, tzinfo=UTC)  # EDT, UTC-4
        assert ends == datetime(2027, 3, 15, 4, 0, tzinfo=UTC)
        # Events made before the door had an hour open at 06:00.
        assert make_event().door_opens_at == time(6, 0)


def test_check_in_is_refused_before_the_door_opens_and_after_the_day(
    app: Flask, conference: dict, clock: Callable[[datetime], None]
) -> None:
    clock(seoul(DAY_ONE, 5, 59))
    early = scan(app, conference, "both", DAY_ONE)
    assert (early.colour, early.outcome) == (door.Colour.RED, door.Outcome.DOOR_NOT_OPEN)
    assert early.message == "Check-in for Tuesday, March 2, 2027 opens at 6:00 AM that day."
    assert early.overridable and early.name == "김민준"
    # Day two, seen from day one: not open yet either.
    clock(seoul(DAY_ONE, 6, 0))
    assert scan(app, conference, "both", DAY_TWO).outcome == door.Outcome.DOOR_NOT_OPEN
    assert rows(app, conference["ids"]["both"]) == []

    green = scan(app, conference, "both", DAY_ONE)
    assert (green.colour, green.outcome) == (door.Colour.GREEN, door.Outcome.CHECKED_IN)
    # Day one is over at midnight in Seoul (15:00 UTC), whatever the clock of the server.
    clock(seoul(DAY_TWO, 0, 0))
    late = scan(app, conference, "latin", DAY_ONE)
    assert (late.colour, late.outcome) == (door.Colour.RED, door.Outcome.DAY_OVER)
    assert late.message == "Check-in for Tuesday, March 2, 2027 closed at the end of that day."
    # A day the event is not held, or a date that is no day of it.
    assert scan(app, conference, "latin", date(2027, 3, 4)).outcome == door.Outcome.NOT_EVENT_DAY
    assert scan(app, conference, "latin", None).outcome == door.Outcome.NOT_EVENT_DAY


def test_an_organizer_overrides_the_day_rule_explicitly_and_it_is_audited(
    app: Flask, conference: dict, clock: Callable[[datetime], None]
) -> None:
    clock(seoul(DAY_ONE, 4, 0))
    forced = scan(app, conference, "both", DAY_TWO, override=True)
    assert forced.colour == door.Colour.GREEN
    assert [r.day for r in rows(app, conference["ids"]["both"])] == [DAY_TWO]
    with app.app_context():
        detail = db.session.scalar(db.select(AuditEntry.detail).where(
            AuditEntry.action == "registration.checkin"))
    assert detail == {"day": DAY_TWO.isoformat(), "override": "door_not_open"}
    # The override is for the day rule only: never for someone without a confirmed seat.
    assert scan(app, conference, "cancelled", DAY_ONE, override=True).colour == door.Colour.RED


def test_a_person_registered_for_day_one_only_is_red_on_day_two(
    app: Flask, conference: dict, clock: Callable[[datetime], None]
) -> None:
    clock(seoul(DAY_ONE, 8, 0))
    assert scan(app, conference, "first_only", DAY_ONE).colour == door.Colour.GREEN
    clock(seoul(DAY_TWO, 8, 0))
    red = scan(app, conference, "first_only", DAY_TWO)
    assert (red.colour, red.outcome) == (door.Colour.RED, door.Outcome.NOT_REGISTERED_DAY)
    assert red.message == "Not registered for Wednesday, March 3, 2027."
    assert red.name == "山田花子"
    assert [r.day for r in rows(app, conference["ids"]["first_only"])] == [DAY_ONE]


# --- every outcome ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "outcome", "words"),
    [
        ("pending", door.Outcome.PENDING, "awaiting review"),
        ("waitlisted", door.Outcome.WAITLISTED, "on the waitlist"),
        ("cancelled", door.Outcome.CANCELLED, "cancelled this registration"),
        ("rejected", door.Outcome.REJECTED, "did not accept"),
        ("stranger", door.Outcome.ANOTHER_EVENT, "another event"),
        ("http://localhost/manage/checkin/1-AAAAAAAAAAAAAAAAAAAAAAAA", door.Outcome.UNKNOWN_CODE,
         "not a check-in code"),
        ("https://example.org/some/other/qr", door.Outcome.UNKNOWN_CODE, "not a check-in code"),
    ],
)
def test_every_red_outcome_says_why_and_checks_nobody_in(
    app: Flask, conference: dict, clock: Callable[[datetime], None], who: str,
    outcome: door.Outcome, words: str,
) -> None:
    red = scan(app, conference, who, DAY_ONE)
    assert (red.colour, red.outcome) == (door.Colour.RED, outcome)
    assert words in red.message
    if outcome in (door.Outcome.ANOTHER_EVENT, door.Outcome.UNKNOWN_CODE):
        # Another event's code names nobody at this door.
        assert (red.name, red.category, red.registration_id) == ("", "", None)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(RegistrationCheckin.id))) == 0


@pytest.mark.parametrize(
    ("who", "shown"),
    [("both", "김민준"), ("first_only", "山田花子"), ("latin", "Minjun Kim"), ("hidden", "Ji-ho")],
)
def test_green_shows_the_name_as_the_person_writes_it_and_amber_follows(
    app: Flask, conference: dict, clock: Callable[[datetime], None], who: str, shown: str
) -> None:
    green = scan(app, conference, who, DAY_ONE)
    assert (green.colour, green.name, green.category, green.day) == (
        door.Colour.GREEN, shown, "general_public", DAY_ONE)
    amber = scan(app, conference, who, DAY_ONE)
    assert (amber.colour, amber.outcome) == (door.Colour.AMBER, door.Outcome.ALREADY)
    assert amber.checked_in_at == seoul(DAY_ONE, 9, 12)
    assert len(rows(app, conference["ids"][who])) == 1


# --- the scanner's endpoint ---------------------------------------------------------------------


def post_scans(client: FlaskClient, event_id: int, *scans: dict[str, Any], **extra: Any):
    return client.post(f"/manage/events/{event_id}/door/scans", json={"scans": list(scans),
                                                                       **extra})


def test_the_scanner_gets_green_then_amber_with_who_and_when(
    app: Flask, client: FlaskClient, auth: AuthActions, conference: dict,
    clock: Callable[[datetime], None],
) -> None:
    auth.member(conference["event"], "door", email="door@example.org")
    code = conference["codes"]["both"]
    first = post_scans(client, conference["event"], {"code": code, "day": "2027-03-02"})
    assert first.status_code == 200
    [green] = first.get_json()["results"]
    assert green == {
        "colour": "green", "outcome": "checked_in", "icon": "✓", "headline": "Checked in",
        "name": "김민준", "category": "General public", "day": "Tuesday, March 2, 2027",
        "day_iso": "2027-03-02", "detail": "김민준 is checked in for Tuesday, March 2, 2027.",
        "registration_id": conference["ids"]["both"], "overridable": False,
    }
    clock(seoul(DAY_ONE, 9, 40))
    [amber] = post_scans(client, conference["event"],
                         {"code": code, "day": "2027-03-02"}).get_json()["results"]
    assert (amber["colour"], amber["headline"]) == ("amber", "Already checked in")
    assert amber["detail"] == "Already checked in today at 9:12 AM by Test Staff."
    [red] = post_scans(client, conference["event"], {"code": conference["codes"]["stranger"],
                                                     "day": "2027-03-02"}).get_json()["results"]
    assert (red["colour"], red["name"], red["detail"]) == (
        "red", "", "This code is for another event.")


def test_queued_scans_are_answered_at_their_own_time(
    app: Flask, client: FlaskClient, auth: AuthActions, conference: dict,
    clock: Callable[[datetime], None],
) -> None:
    auth.organizer()
    # Sent on day two at 08:00 from a phone that lost the network on day one.
    clock(seoul(DAY_TWO, 8, 0))
    scans = [
        {"code": conference["codes"]["both"], "day": "2027-03-02",
         "scanned_at": seoul(DAY_ONE, 17, 5).astimezone(UTC).isoformat()},
        {"code": conference["codes"]["both"], "day": "2027-03-02",
         "scanned_at": "2027-03-02T08:06:00.000Z"},  # 17:06 in Seoul, JavaScript's format
        {"code": conference["codes"]["hidden"], "day": "2027-03-03",
         "scanned_at": seoul(DAY_TWO, 5, 0).isoformat()},  # before the door opened
        {"code": conference["codes"]["latin"], "day": "2027-03-03",
         "scanned_at": seoul(DAY_TWO, 8, 5).isoformat()},  # a phone clock 5 minutes ahead
        {"code": conference["codes"]["first_only"], "day": "2027-03-03",
         "scanned_at": seoul(DAY_TWO, 7, 0).isoformat()},
    ]
    answer = post_scans(client, conference["event"], *scans)
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert [(r["colour"], r["outcome"]) for r in results] == [
        ("green", "checked_in"), ("amber", "already"), ("red", "door_not_open"),
        ("red", "future_scan"), ("red", "not_registered_day"),
    ]
    assert results[1]["detail"] == (
        "Already checked in for Tuesday, March 2, 2027 at 5:05 PM by Test Staff.")
    # The organizer sees the way to override what the day rule refused.
    assert [r["overridable"] for r in results] == [False, False, True, False, True]
    [kept] = rows(app, conference["ids"]["both"])
    assert kept.checked_in_at == seoul(DAY_ONE, 17, 5)
    assert rows(app, conference["ids"]["latin"]) == []


def test_only_an_organizer_may_override_from_the_scanner(
    app: Flask, client: FlaskClient, auth: AuthActions, conference: dict,
    clock: Callable[[datetime], None],
) -> None:
    scan_day_two = {"code": conference["codes"]["both"], "day": "2027-03-03"}
    auth.member(conference["event"], "door", email="door@example.org")
    [red] = post_scans(client, conference["event"], scan_day_two,
                       override=True).get_json()["results"]
    assert (red["colour"], red["overridable"]) == ("red", False)
    assert rows(app, conference["ids"]["both"]) == []
    auth.sign_out()
    auth.organizer()
    [green] = post_scans(client, conference["event"], scan_day_two,
                         override=True).get_json()["results"]
    assert green["colour"] == "green"
    assert [r.day for r in rows(app, conference["ids"]["both"])] == [DAY_TWO]


@pytest.mark.parametrize(
    "body",
    [None, [], {"scans": []}, {"scans": "x"}, {"scans": [{"code": "x"}] * 51}],
)
def test_the_scanner_endpoint_refuses_what_no_door_page_sends(
    app: Flask, client: FlaskClient, auth: AuthActions, conference: dict,
    clock: Callable[[datetime], None], body: Any,
) -> None:
    auth.organizer()
    response = client.post(f"/manage/events/{conference['event']}/door/scans", json=body)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(RegistrationCheckin.id))) == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"day": "2027-03-02"}, {"code": 5}, "not a scan",
        {"code": "x", "scanned_at": "yesterday"},
        {"code": "x", "scanned_at": "2027-03-02T09:00:00"},  # no zone
        {"code": "x", "scanned_at": "0001-01-01T00:00:00+14:00"},  # before year 1 in UTC
        {"code": "x", "scanned_at": "9999-12-31T23:59:59-14:00"},  # after year 9999 in UTC
        {"code": "http://[x/1-abc", "day": "2027-03-02"},  # not even a URL
    ],
)
def test_an_unreadable_scan_is_red_and_the_rest_of_the_batch_goes_through(
    app: Flask, client: FlaskClient, auth: AuthActions, conference: dict,
    clock: Callable[[datetime], None], bad: Any,
) -> None:
    """A phone's queue never sticks on one odd entry: it is answered red, the others as
    always."""
    auth.organizer()
    good = {"code": conference["codes"]["both"], "day": "2027-03-02"}
    response = post_scans(client, conference["event"], bad, good)
    assert response.status_code == 200
    first, second = response.get_json()["results"]
    assert first["colour"] == "red" and first["name"] == ""
    assert second["colour"] == "green"
    assert [r.day for r in rows(app, conference["ids"]["both"])] == [DAY_ONE]


def test_a_scan_kept_on_a_phone_for_more_than_a_day_is_not_counted(
    app: Flask, client: FlaskClient, auth: AuthActions, conference: dict,
    clock: Callable[[datetime], None],
) -> None:
    auth.organizer()
    clock(seoul(DAY_TWO, 10, 0))
    old = {"code": conference["codes"]["both"], "day": "2027-03-02",
           "scanned_at": seoul(DAY_ONE, 9, 30).isoformat()}  # 24 hours and a half ago
    [red] = post_scans(client, conference["event"], old, override=True).get_json()["results"]
    assert (red["colour"], red["outcome"], red["overridable"]) == ("red", "stale_scan", False)
    assert red["detail"].startswith("This scan waited on the phone for more than a day")
    assert rows(app, conference["ids"]["both"]) == []


def test_an_override_records_the_time_it_was_decided_not_the_phones(
    app: Flask, client: FlaskClient, auth: AuthActions, conference: dict,
    clock: Callable[[datetime], None],
) -> None:
    auth.organizer()
    clock(seoul(DAY_ONE, 9, 0))
    early = {"code": conference["codes"]["latin"], "day": "2027-03-02",
             "scanned_at": seoul(DAY_ONE, 5, 0).isoformat()}  # before the door opened
    [green] = post_scans(client, conference["event"], early, override=True).get_json()[
        "results"]
    assert green["colour"] == "green"
    [kept] = rows(app, conference["ids"]["latin"])
    assert kept.checked_in_at == seoul(DAY_ONE, 9, 0)
    with app.app_context():
        entry = db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.action == "registration.checkin")).one()
        assert entry.detail == {"day": "2027-03-02", "override": "door_not_open"}


def test_a_signed_out_scanner_is_told_so_in_json(
    app: Flask, client: FlaskClient, conference: dict, clock: Callable[[datetime], None],
) -> None:
    response = post_scans(client, conference["event"],
                          {"code": conference["codes"]["both"], "day": "2027-03-02"})
    assert response.status_code == 401
    assert response.get_json()["reason"] == "signed_out"
    assert rows(app, conference["ids"]["both"]) == []


@pytest.mark.parametrize("app_settings", [{"WTF_CSRF_ENABLED": True}])
def test_an_expired_page_is_told_so_in_json(
    app: Flask, client: FlaskClient, conference: dict, clock: Callable[[datetime], None],
) -> None:
    # The form token is checked before anything else, signed in or not.
    response = client.post(f"/manage/events/{conference['event']}/door/scans",
                           json={"scans": [{"code": "x"}]},
                           headers={"X-CSRFToken": "not-the-token"})
    assert response.status_code == 400
    assert response.get_json()["reason"] == "expired"


def test_the_scanner_endpoint_is_the_events_own(
    app: Flask, client: FlaskClient, auth: AuthActions, conference: dict,
    clock: Callable[[datetime], None],
) -> None:
    auth.member(conference["other"], "door", email="tokyo-door@example.org")
    response = post_scans(client, conference["event"],
                          {"code": conference["codes"]["both"], "day": "2027-03-02"})
    assert response.status_code == 404
    assert rows(app, conference["ids"]["both"]) == []


# --- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("김민준", "김민준"), ("민준 김", "김민준"), ("김 민준", "김민준"),
        ("Kim Minjun", "Minjun Kim"), ("Minjun Kim", "Minjun Kim"), ("minjunkim", "Minjun Kim"),
        ("山田花子", "山田花子"), ("花子 山田", "山田花子"),
        ("북한인권", "김민준"), ("nk watch", "Minjun Kim"),
    ],
)
def test_the_door_finds_a_name_in_either_order_or_an_organization(
    client: FlaskClient, auth: AuthActions, conference: dict, typed: str, found: str
) -> None:
    auth.member(conference["event"], "door", email="door@example.org")
    from markup import parse

    page = parse(client.get(f"/manage/events/{conference['event']}/door",
                            query_string={"q": typed}).get_data(as_text=True))
    names = [card.find("h3").text for card in page.one("ul", id="door-results").find_all("li")]
    assert names == [found]


def test_only_roles_that_see_addresses_search_by_email(
    client: FlaskClient, auth: AuthActions, conference: dict
) -> None:
    door_page = f"/manage/events/{conference['event']}/door"
    auth.member(conference["event"], "door", email="door@example.org")
    page = client.get(door_page, query_string={"q": "hanako@example"}).get_data(as_text=True)
    assert "山田花子" not in page and "Nobody found" in page
    auth.sign_out()
    auth.organizer()
    page = client.get(door_page, query_string={"q": "hanako@example"}).get_data(as_text=True)
    assert "山田花子" in page


def test_the_roster_and_the_dashboard_link_to_the_door(
    client: FlaskClient, auth: AuthActions, conference: dict
) -> None:
    from markup import parse

    auth.organizer()
    door_page = f"/manage/events/{conference['event']}/door"
    for page in (f"/manage/events/{conference['event']}",
                 f"/manage/events/{conference['event']}/registrations"):
        links = parse(client.get(page).get_data(as_text=True)).find_all("a")
        assert [a.text for a in links if a.get("href") == door_page] == [
            "Check-in at the door"], page


# --- two doors at once --------------------------------------------------------------------------


def test_two_doors_scanning_one_person_at_once_give_one_green_and_one_amber(
    app: Flask, conference: dict, clock: Callable[[datetime], None]
) -> None:
    """Two real threads, each with its own database connection, scan the same code at the
    same moment: one check-in, and the other door sees amber (SQLite and PostgreSQL)."""
    barrier = threading.Barrier(2)
    outcomes: list[door.DoorOutcome] = []
    errors: list[BaseException] = []

    def scan_at_door() -> None:
        try:
            with app.app_context():
                event = db.session.get(Event, conference["event"])
                assert event is not None
                db.session.get(Registration, conference["ids"]["both"]).days  # noqa: B018
                event.day_list  # noqa: B018  (loaded before the race)
                barrier.wait(timeout=10)
                outcome = door.scan_at_door(event, conference["codes"]["both"], DAY_ONE,
                                            staff_id=None, actor=SYSTEM)
                db.session.commit()
                outcomes.append(outcome)
        except BaseException as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    threads = [threading.Thread(target=scan_at_door) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(o.colour for o in outcomes) == [door.Colour.AMBER, door.Colour.GREEN]
    assert len(rows(app, conference["ids"]["both"])) == 1
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(
            AuditEntry.action == "registration.checkin")) == 1


def test_undo_at_the_door_is_audited_and_lets_the_person_in_again(
    app: Flask, client: FlaskClient, auth: AuthActions, conference: dict,
    clock: Callable[[datetime], None],
) -> None:
    auth.member(conference["event"], "door", email="door@example.org")
    door_page = f"/manage/events/{conference['event']}/door"
    form = {"registration_id": str(conference["ids"]["latin"]), "day": "2027-03-02"}
    client.post(door_page, data={**form, "action": "checkin"})
    client.post(door_page, data={**form, "action": "undo"})
    assert rows(app, conference["ids"]["latin"]) == []
    again = client.post(door_page, data={**form, "action": "checkin"}, follow_redirects=True)
    assert "door-result-green" in again.get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEntry.action).where(
            AuditEntry.object_id == conference["ids"]["latin"],
            AuditEntry.action.like("registration.checkin%")).order_by(AuditEntry.id)).all()
    assert actions == ["registration.checkin", "registration.checkin_undo",
                       "registration.checkin"]


@pytest.mark.parametrize(
    ("language", "warning", "booked"),
    [
        ("en", "Not registered for this day", "Registered for Tue, March 2, 2027"),
        ("ko", "이날은 등록하지 않음", "등록한 날: 2027년 3월 2일 (화)"),
        ("ja", "この日の登録なし", "登録した日: 2027年3月2日(火)"),
    ],
)
def test_a_card_says_the_days_of_someone_who_does_not_come_every_day(
    client: FlaskClient, auth: AuthActions, conference: dict, language: str, warning: str,
    booked: str,
) -> None:
    """The volunteer sees before pressing the button that the person found is not registered
    for the day at the door (and which days they are); someone coming every day has no line."""
    from markup import parse

    auth.member(conference["event"], "door", email="door@example.org")
    door_page = f"/manage/events/{conference['event']}/door"
    headers = {"Accept-Language": language}

    def card(q: str, day: date) -> str:
        page = parse(client.get(door_page, query_string={"q": q, "day": day.isoformat()},
                                headers=headers).get_data(as_text=True))
        [found] = page.one("ul", id="door-results").find_all("li")
        return found.text

    second_day = card("山田", DAY_TWO)
    assert warning in second_day and booked in second_day
    first_day = card("山田", DAY_ONE)
    assert booked in first_day and warning not in first_day
    every_day = card("북한인권시민연합", DAY_TWO)
    label = booked.split(":")[0] if ":" in booked else "Registered for"
    assert warning not in every_day and label not in every_day
