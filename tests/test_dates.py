"""Times and dates: in the event's time zone (staff pages of no event: the organization's),
in the reader's locale format, never with seconds, through the helpers of web.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from markup import parse

from nkhr_events.accounts.models import StaffUser
from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.checkin import services as checkin
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.events.dates import every_day, format_days
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.outbox.services import write_body
from nkhr_events.registrations import notify
from nkhr_events.registrations.links import issue_manage_token
from nkhr_events.registrations.models import Registration
from nkhr_events.web import (
    event_days_text,
    home_timezone,
    local_date,
    local_datetime,
    local_time,
)
from tests.factories import make_event, make_registration

#: One instant: 00:07:30 UTC is 01:07:30 in Oslo (CET) and 09:07:30 in Seoul.
MOMENT = datetime(2031, 3, 5, 0, 7, 30, tzinfo=UTC)
OSLO = {"en": "Mar 5, 2031, 1:07 AM", "ko": "2031. 3. 5. 오전 1:07"}
#: How each reader names the Oslo time zone (CLDR).
OSLO_ZONE = {"en": "Norway Time", "ko": "노르웨이 시간"}
SEOUL_ZONE = {"en": "South Korea Time", "ko": "대한민국 시간"}
OSLO_TIME = {"en": "1:07 AM", "ko": "오전 1:07"}
SEOUL = {"en": "Mar 5, 2031, 9:07 AM", "ko": "2031. 3. 5. 오전 9:07"}
#: A clock time with seconds (what str(datetime), strftime("%H:%M:%S") and CLDR's medium
#: time format print).
WITH_SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")


# --- the helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "when", "time", "day"),
    [
        ("en", "Mar 5, 2031, 1:07 AM (Norway Time)", "1:07 AM", "Mar 5, 2031"),
        ("ko", "2031. 3. 5. 오전 1:07 (노르웨이 시간)", "오전 1:07", "2031. 3. 5."),
        # Any locale CLDR knows, not only the site's languages today.
        ("ja", "2031/03/05 1:07 (ノルウェー時間)", "1:07", "2031/03/05"),
    ],
)
def test_helpers_format_in_the_given_zone_for_the_reader_without_seconds(
    app: Flask, language: str, when: str, time: str, day: str
) -> None:
    with app.test_request_context(), force_locale(language):
        assert local_datetime(MOMENT, "Europe/Oslo") == when
        assert local_datetime(MOMENT, "Europe/Oslo", with_zone=False) == when.split(" (")[0]
        assert local_time(MOMENT, "Europe/Oslo") == time
        assert local_date(MOMENT, "Europe/Oslo") == day
        assert local_datetime(None, "Europe/Oslo") == local_time(None) == ""


def test_the_date_is_the_one_in_the_zone_not_in_utc(app: Flask) -> None:
    late = datetime(2031, 3, 5, 20, 30, tzinfo=UTC)  # already March 6 in Seoul
    with app.test_request_context(), force_locale("en"):
        assert local_date(late, "Asia/Seoul") == "Mar 6, 2031"
        assert local_datetime(late, "Asia/Seoul") == "Mar 6, 2031, 5:30 AM (South Korea Time)"
        assert local_date(date(2031, 3, 5)) == "Mar 5, 2031"


def test_without_an_event_the_organizations_zone_is_used(app: Flask) -> None:
    with app.test_request_context(), force_locale("en"):
        assert home_timezone() == "Asia/Seoul"
        assert local_datetime(MOMENT) == "Mar 5, 2031, 9:07 AM (South Korea Time)"


@pytest.mark.parametrize("app_settings", [{"NKHR_TIMEZONE": "Europe/London"}])
def test_the_organizations_zone_comes_from_the_settings(app: Flask) -> None:
    with app.test_request_context(), force_locale("en"):
        assert home_timezone() == "Europe/London"
        assert local_datetime(MOMENT) == "Mar 5, 2031, 12:07 AM (United Kingdom Time)"


# --- every kind of page ------------------------------------------------------------------------


@dataclass
class World:
    oslo_event_id: int
    upcoming_slug: str
    registration_id: int
    korean_registration_id: int
    manage_path: str
    checkin_path: str
    door_path: str
    message_id: int
    staff_id: int


def _set_every_time(app: Flask) -> None:
    """Every stored time the pages show is MOMENT (registration, check-in, email, audit, staff)."""
    with app.app_context():
        for registration in db.session.scalars(db.select(Registration)):
            registration.created_at = MOMENT
            registration.confirm_by = MOMENT
        for row in db.session.scalars(db.select(RegistrationCheckin)):
            row.checked_in_at = MOMENT
        for message in db.session.scalars(db.select(OutboxMessage)):
            message.created_at = message.next_attempt_at = MOMENT
            message.last_attempt_at = MOMENT
        for entry in db.session.scalars(db.select(AuditEntry)):
            entry.at = MOMENT
        for user in db.session.scalars(db.select(StaffUser)):
            user.last_sign_in_at = user.password_changed_at = MOMENT
        db.session.commit()


@pytest.fixture
def world(app: Flask, client: FlaskClient, auth) -> World:
    with app.app_context():
        oslo = make_event(timezone="Europe/Oslo", city="Oslo", country="NO",
                          email_confirmation_minutes=60)
        upcoming = make_event(
            timezone="Europe/Oslo", days=[date(2031, 4, 1), date(2031, 4, 2)],
            registration_opens_at=MOMENT, registration_closes_at=MOMENT + timedelta(days=20),
        )
        person = make_registration(event=oslo, given_name="Solveig", family_name="Berg")
        korean = make_registration(event=oslo, given_name="민지", family_name="김", language="ko")
        checkin.check_in(person, oslo.day_list[0], actor=SYSTEM, override=True)
        token = issue_manage_token(person)
        reference = checkin.checkin_reference(person)
        db.session.commit()
        message_id = db.session.scalar(
            db.select(OutboxMessage.id).where(OutboxMessage.registration_id == person.id)
        )
        world = World(
            oslo_event_id=oslo.id,
            upcoming_slug=upcoming.slug,
            registration_id=person.id,
            korean_registration_id=korean.id,
            manage_path=f"/registration/{token}",
            checkin_path=f"/manage/checkin/{reference}",
            door_path=f"/manage/events/{oslo.id}/door?day={oslo.day_list[0].isoformat()}&q=Solveig",
            message_id=message_id,
            staff_id=0,
        )
    auth.admin()
    with app.app_context():
        world.staff_id = db.session.scalar(db.select(StaffUser.id))
    _set_every_time(app)
    return world


def page_text(client: FlaskClient, path: str, language: str, *, status: int = 200,
              data: dict[str, str] | None = None) -> str:
    client.set_cookie("nkhr_lang", language)
    response = client.post(path, data=data) if data is not None else client.get(path)
    assert response.status_code == status, path
    return parse(response.get_data(as_text=True)).text


def assert_local(text: str, expected: str, path: str) -> None:
    assert expected in text, f"{path}: {expected!r} not shown"
    assert not WITH_SECONDS.search(text), f"{path}: {WITH_SECONDS.search(text)} has seconds"


@pytest.mark.parametrize("language", ["en", "ko"])
def test_public_pages_show_the_registration_window_in_the_events_zone(
    client: FlaskClient, world: World, language: str
) -> None:
    expected = f"{OSLO[language]} ({OSLO_ZONE[language]})"
    for path, status in ((f"/events/{world.upcoming_slug}", 200),
                         (f"/events/{world.upcoming_slug}/register", 409)):
        assert_local(page_text(client, path, language, status=status), expected, path)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_manage_page_shows_the_deadline_in_the_events_zone(
    client: FlaskClient, world: World, language: str
) -> None:
    text = page_text(client, world.manage_path, language)
    assert_local(text, f"{OSLO[language]} ({OSLO_ZONE[language]})", world.manage_path)


def test_emails_show_the_deadline_in_the_events_zone_and_the_recipients_language(
    app: Flask, world: World
) -> None:
    with app.app_context():
        for registration_id in (world.registration_id, world.korean_registration_id):
            notify.outcome(db.session.get(Registration, registration_id))
        db.session.commit()
        for registration_id, language in ((world.registration_id, "en"),
                                          (world.korean_registration_id, "ko")):
            message = db.session.scalars(
                db.select(OutboxMessage)
                .where(OutboxMessage.registration_id == registration_id)
                .order_by(OutboxMessage.id.desc())
            ).first()
            assert message is not None and message.language == language
            text, html = write_body(message, keep=False)
            for body in (text, parse(html).text):
                assert_local(" ".join(body.split()), f"{OSLO[language]} ({OSLO_ZONE[language]})",
                             message.template)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_staff_pages_of_an_event_show_times_in_the_events_zone(
    client: FlaskClient, world: World, language: str
) -> None:
    event = world.oslo_event_id
    pages = {
        f"/manage/events/{event}/registrations": OSLO[language],
        f"/manage/registrations/{world.registration_id}": OSLO[language],
        f"/manage/events/{event}": OSLO[language],
        world.checkin_path: OSLO_TIME[language],
        world.door_path: OSLO_TIME[language],
    }
    for path, expected in pages.items():
        text = page_text(client, path, language)
        assert_local(text, expected, path)
        assert not re.search(r"\d UTC", text), path  # a time in UTC
    for path in (f"/manage/events/{event}/registrations",
                 f"/manage/registrations/{world.registration_id}", f"/manage/events/{event}"):
        assert OSLO_ZONE[language] in page_text(client, path, language), path
    flood = page_text(
        client, f"/manage/events/{event}/registrations/flood", language,
        data={"step": "preview", "created_from": "2031-03-05T01:00",
              "created_until": "2031-03-05T01:30"},
    )
    assert_local(flood, f"{OSLO[language]} ({OSLO_ZONE[language]})", "flood preview")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_staff_pages_of_no_event_show_times_in_the_organizations_zone_and_say_so(
    client: FlaskClient, world: World, language: str
) -> None:
    pages = ("/manage/outbox/", f"/manage/outbox/{world.message_id}", "/manage/audit/",
             "/manage/staff", f"/manage/staff/{world.staff_id}")
    for path in pages:
        text = page_text(client, path, language)
        assert_local(text, SEOUL[language], path)
        assert SEOUL_ZONE[language] in text, path  # the zone, named the reader's way


# --- the days of an event ----------------------------------------------------------------------

#: Each shape an event's days take, and how a reader of each language expects it: always with the
#: weekday, ranges and lists as CLDR writes them, the year once where every day shares it.
EVENT_DAYS: dict[str, tuple[list[date], dict[str, str]]] = {
    "one day": ([date(2027, 3, 10)], {
        "en": "Wed, March 10, 2027",
        "ko": "2027년 3월 10일 (수)",
        "ja": "2027年3月10日(水)",
    }),
    "a run in one month": (every_day(date(2027, 3, 10), date(2027, 3, 12)), {
        "en": "Wed, Mar 10 – Fri, Mar 12, 2027",
        "ko": "2027년 3월 10일 (수)~12일 (금)",
        "ja": "2027年3月10日(水)～12日(金)",
    }),
    "a run across months": (every_day(date(2027, 3, 30), date(2027, 4, 2)), {
        "en": "Tue, Mar 30 – Fri, Apr 2, 2027",
        "ko": "2027년 3월 30일 (화)~4월 2일 (금)",
        "ja": "2027年3月30日(火)～4月2日(金)",
    }),
    "a run across years": (every_day(date(2027, 12, 30), date(2028, 1, 2)), {
        "en": "Thu, Dec 30, 2027 – Sun, Jan 2, 2028",
        "ko": "2027년 12월 30일 (목)~2028년 1월 2일 (일)",
        "ja": "2027年12月30日(木)～2028年1月2日(日)",
    }),
    "separate days in one year": (
        [date(2027, 3, 10), date(2027, 3, 12), date(2027, 3, 31), date(2027, 4, 1)], {
            "en": "Wed, Mar 10, Fri, Mar 12, and Wed, Mar 31 – Thu, Apr 1, 2027",
            "ko": "2027년 3월 10일 (수), 3월 12일 (금) 및 3월 31일 (수)~4월 1일 (목)",
            "ja": "2027年3月10日(水)、3月12日(金)、3月31日(水)～4月1日(木)",
        }),
    "separate days across years": (
        [date(2027, 12, 30), date(2027, 12, 31), date(2028, 1, 3)], {
            "en": "Thu, Dec 30 – Fri, Dec 31, 2027 and Mon, Jan 3, 2028",
            "ko": "2027년 12월 30일 (목)~31일 (금) 및 2028년 1월 3일 (월)",
            "ja": "2027年12月30日(木)～31日(金)、2028年1月3日(月)",
        }),
}


@pytest.mark.parametrize("language", ["en", "ko", "ja"])
@pytest.mark.parametrize("shape", list(EVENT_DAYS))
def test_event_days_show_the_weekday_in_the_readers_language(
    app: Flask, shape: str, language: str
) -> None:
    days, expected = EVENT_DAYS[shape]
    with app.test_request_context(), force_locale(language):
        text = event_days_text(list(reversed(days)))  # the order given does not matter
    assert text == expected[language]
    assert "\u2009" not in text and "\u202f" not in text  # CLDR's thin spaces made plain


def test_format_days_defaults_to_the_english_year_pattern_and_is_empty_without_days() -> None:
    days, expected = EVENT_DAYS["separate days in one year"]
    assert format_days(days, "en") == expected["en"]
    assert format_days([date(2027, 3, 10), date(2027, 3, 10)], "en") == "Wed, March 10, 2027"
    assert format_days([], "ko") == ""


#: Far enough ahead that the event stays open for registration; March 10 is a Wednesday.
PAGE_DAYS = every_day(date(2038, 3, 10), date(2038, 3, 12))


@pytest.mark.parametrize(
    ("headers", "cookie", "expected"),
    [
        ({}, "ko", "2038년 3월 10일 (수)~12일 (금)"),
        ({"Accept-Language": "ja,en;q=0.5"}, None, "2038年3月10日(水)～12日(金)"),
    ],
    ids=["ko-cookie", "ja-accept-language"],
)
def test_an_event_page_shows_its_days_with_weekdays_in_korean_and_japanese(
    app: Flask, client: FlaskClient, headers: dict[str, str], cookie: str | None, expected: str
) -> None:
    with app.app_context():
        slug = make_event(days=PAGE_DAYS).slug
        db.session.commit()
    if cookie:
        client.set_cookie("nkhr_lang", cookie)
    page = parse(client.get(f"/events/{slug}", headers=headers).get_data(as_text=True))
    assert page.one("html").get("lang") == (cookie or "ja")
    facts = page.one("dl", class_="facts")
    assert facts.find_all("dd")[0].text == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["Wed, March 10, 2038", "Thu, March 11, 2038", "Fri, March 12, 2038"]),
        ("ko", ["2038년 3월 10일 (수)", "2038년 3월 11일 (목)", "2038년 3월 12일 (금)"]),
        ("ja", ["2038年3月10日(水)", "2038年3月11日(木)", "2038年3月12日(金)"]),
    ],
)
def test_the_day_boxes_of_the_registration_form_name_each_days_weekday(
    app: Flask, client: FlaskClient, language: str, expected: list[str]
) -> None:
    with app.app_context():
        slug = make_event(days=PAGE_DAYS).slug
        db.session.commit()
    client.set_cookie("nkhr_lang", language)
    page = parse(client.get(f"/events/{slug}/register?category=general_public").get_data(
        as_text=True))
    boxes = page.find_all("input", name="days")
    assert [b.get("value") for b in boxes] == [d.isoformat() for d in PAGE_DAYS]
    labels = [page.one("label", for_=b.get("id") or "").text for b in boxes]
    assert labels == expected
