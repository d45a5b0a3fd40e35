"""Calendar files: published all-day runs with an exclusive DTEND, stable UIDs, SEQUENCE,
METHOD; never a meeting request (no ORGANIZER, no ATTENDEE)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from factories import make_event
from icalendar import Calendar

from nkhr_events.events.calendar import CalendarMethod, calendar_attachment, event_calendar

UID = "registration-42@events.example.org"


def vevents(data: bytes) -> tuple[Calendar, list]:
    calendar = Calendar.from_ical(data)
    return calendar, list(calendar.walk("VEVENT"))


def runs_of(events: list) -> list[tuple[date, date]]:
    return [(e.decoded("dtstart"), e.decoded("dtend")) for e in events]


@pytest.mark.parametrize(
    ("days", "expected_runs"),
    [
        pytest.param([date(2000, 12, 8)], [(date(2000, 12, 8), date(2000, 12, 9))], id="one-day"),
        pytest.param(
            [date(1999, 12, 1), date(1999, 12, 2), date(1999, 12, 3)],
            [(date(1999, 12, 1), date(1999, 12, 4))],
            id="three-days",
        ),
        pytest.param(
            [date(2004, 2, 29), date(2004, 3, 1), date(2004, 3, 2)],
            [(date(2004, 2, 29), date(2004, 3, 3))],
            id="across-a-leap-day-into-march",
        ),
        pytest.param(
            [date(2002, 2, 9), date(2002, 2, 11)],
            [(date(2002, 2, 9), date(2002, 2, 10)), (date(2002, 2, 11), date(2002, 2, 12))],
            id="non-contiguous",
        ),
        pytest.param(
            [date(2002, 2, 9), date(2002, 2, 10)],
            [(date(2002, 2, 9), date(2002, 2, 11))],
            id="february-9-and-10",
        ),
    ],
)
def test_each_run_of_days_is_one_all_day_event_with_exclusive_end(app, days, expected_runs):
    with app.app_context():
        event = make_event(days=days, title="International Conference on NKHR", venue="Hall A")
        calendar, events = vevents(event_calendar(event, uid=UID, sequence=3))

    assert str(calendar["method"]) == "PUBLISH"
    assert str(calendar["version"]) == "2.0"
    assert runs_of(events) == expected_runs
    for vevent in events:
        # All-day: plain dates, not date-times.
        assert vevent["dtstart"].params["VALUE"] == "DATE"
        assert type(vevent.decoded("dtstart")) is date
        assert vevent.decoded("sequence") == 3
        assert str(vevent["summary"]) == "International Conference on NKHR"
        assert str(vevent["location"]) == "Hall A, Seoul, South Korea"
        assert str(vevent["status"]) == "CONFIRMED"
        # A published event: nothing for a calendar to accept or decline, nobody to reply to.
        assert "organizer" not in vevent and "attendee" not in vevent
    uids = [str(e["uid"]) for e in events]
    assert uids[0] == UID
    assert len(set(uids)) == len(uids)


def test_uids_are_the_same_for_the_same_registration_and_sequence_is_kept(app):
    with app.app_context():
        event = make_event(days=[date(2002, 2, 9), date(2002, 2, 11)])
        first = vevents(event_calendar(event, uid=UID, sequence=0))[1]
        changed = vevents(event_calendar(event, uid=UID, sequence=1))[1]
    assert [str(e["uid"]) for e in first] == [str(e["uid"]) for e in changed]
    assert [str(e["uid"]) for e in first] == [UID, "registration-42-20020211@events.example.org"]
    assert {e.decoded("sequence") for e in changed} == {1}


def test_the_file_holds_the_registrations_days_only(app):
    """Someone coming on the first and third of four days has two entries, not the event's
    four days; a run keeps its UID (named by its first day) whatever else changes."""
    days = [date(2027, 3, 2), date(2027, 3, 3), date(2027, 3, 4), date(2027, 3, 5)]
    with app.app_context():
        event = make_event(days=days)
        events = vevents(event_calendar(event, uid=UID, days=[days[0], days[2], days[3]]))[1]
        every = vevents(event_calendar(event, uid=UID, days=[]))[1]
    assert runs_of(events) == [(date(2027, 3, 2), date(2027, 3, 3)),
                               (date(2027, 3, 4), date(2027, 3, 6))]
    assert [str(e["uid"]) for e in events] == [UID, "registration-42-20270304@events.example.org"]
    assert {str(e["status"]) for e in events} == {"CONFIRMED"}
    # No days given: the event's.
    assert runs_of(every) == [(date(2027, 3, 2), date(2027, 3, 6))]


@pytest.mark.parametrize(
    ("before", "after", "withdrawn"),
    [
        # 2 and 4 become 2 to 4: the run that began on the 4th has no successor.
        pytest.param([2, 4], [2, 3, 4], [(4, 5)], id="gap-filled"),
        # 2 to 4 become 2 and 4: the first run is replaced, the 4th's is new; nothing to withdraw.
        pytest.param([2, 3, 4], [2, 4], [], id="gap-made"),
        # 2 and 4 become 3 and 4: the first run (UID) now holds the 3rd and 4th; the run that
        # began on the 4th is gone.
        pytest.param([2, 4], [3, 4], [(4, 5)], id="moved"),
        pytest.param([2, 4], [2, 4], [], id="unchanged"),
    ],
)
def test_a_change_withdraws_the_runs_the_old_days_held(app, before, after, withdrawn):
    march = [date(2027, 3, d) for d in (2, 3, 4, 5)]
    with app.app_context():
        event = make_event(days=march)
        events = vevents(event_calendar(
            event, uid=UID, sequence=4,
            days=[date(2027, 3, d) for d in after],
            previous_days=[date(2027, 3, d) for d in before],
        ))[1]
        cancel = vevents(event_calendar(
            event, uid=UID, sequence=5, method=CalendarMethod.CANCEL,
            days=[date(2027, 3, d) for d in after],
            previous_days=[date(2027, 3, d) for d in before],
        ))[1]
    cancelled = [e for e in events if str(e["status"]) == "CANCELLED"]
    assert [(e.decoded("dtstart").day, e.decoded("dtend").day) for e in cancelled] == withdrawn
    confirmed = [e for e in events if str(e["status"]) == "CONFIRMED"]
    held = sorted(d.day for e in confirmed
                  for d in [e.decoded("dtstart") + timedelta(days=n)
                            for n in range((e.decoded("dtend") - e.decoded("dtstart")).days)])
    assert held == after
    assert {e.decoded("sequence") for e in events} == {4}
    uids = [str(e["uid"]) for e in events]
    assert len(set(uids)) == len(uids)
    # A cancellation withdraws what the registration holds now; nothing else is listed.
    assert {str(e["status"]) for e in cancel} == {"CANCELLED"}
    assert len(cancel) == len(confirmed)


def test_cancellation_has_method_cancel_and_cancelled_events(app):
    with app.app_context():
        event = make_event(days=[date(2000, 12, 8)])
        calendar, events = vevents(
            event_calendar(event, uid=UID, sequence=2, method=CalendarMethod.CANCEL)
        )
    assert str(calendar["method"]) == "CANCEL"
    [vevent] = events
    assert str(vevent["status"]) == "CANCELLED"
    assert str(vevent["uid"]) == UID
    assert vevent.decoded("sequence") == 2


def test_korean_invitation_uses_korean_title_city_and_country(app):
    with app.app_context():
        event = make_event(
            days=[date(2000, 12, 8)], title="Conference", title_ko="국제회의", venue=""
        )
        [vevent] = vevents(event_calendar(event, uid=UID, language="ko"))[1]
    assert str(vevent["summary"]) == "국제회의"
    # Written as Korean writes a place, from the largest, as the email's body writes it.
    assert str(vevent["location"]) == "대한민국 서울"


def test_a_title_with_line_breaks_stays_one_property(app):
    with app.app_context():
        event = make_event(days=[date(2000, 12, 8)], title="Conference\r\nMETHOD:CANCEL")
        data = event_calendar(event, uid=UID)
    calendar, [vevent] = vevents(data)
    assert str(calendar["method"]) == "PUBLISH"
    assert str(vevent["summary"]) == "Conference METHOD:CANCEL"


def test_the_stamp_is_the_moment_the_file_is_made_in_utc(app):
    stamp = datetime(2021, 3, 5, 0, 7, 30, tzinfo=UTC)
    with app.app_context():
        event = make_event(days=[date(2031, 9, 1)])
        [vevent] = vevents(event_calendar(event, uid=UID, stamp=stamp))[1]
        [later] = vevents(event_calendar(event, uid=UID, sequence=1))[1]
    assert vevent.decoded("dtstamp") == stamp
    assert b"DTSTAMP:20210305T000730Z" in vevent.to_ical()
    assert later.decoded("dtstamp") > stamp


def test_calendar_attachment_names_the_itip_method(app):
    with app.app_context():
        event = make_event(days=[date(2000, 12, 8)])
        attachment = calendar_attachment(event, uid=UID, method="CANCEL", filename="cancel.ics")
    assert attachment.filename == "cancel.ics"
    assert attachment.content_type == "text/calendar; charset=utf-8; method=CANCEL"
    assert str(Calendar.from_ical(attachment.data)["method"]) == "CANCEL"
