"""Calendar files (.ics) for an event, built with the icalendar library: the file a
registration email carries and the attendee's calendar download.

The file is a published event (iTIP METHOD:PUBLISH), not a meeting request: it names no
ORGANIZER and no ATTENDEE, so no calendar offers to accept or decline it or sends a reply to
the conference address. A change is the same file again with the same UID, a higher SEQUENCE
and a later DTSTAMP, which replaces the entry; a cancellation is METHOD:CANCEL with
STATUS:CANCELLED under the same UID and a higher SEQUENCE, which removes it.

An event is held on a list of days, not always a range (2002: February 9 and 10; a conference
may skip a day), and a person may come on some of them only: the file holds the days the
registration is for. It has no clock times: each contiguous run of those days becomes one
all-day VEVENT (dates in the event's own time zone, which no viewer's zone moves to another
day) whose DTEND is the day after its last day (DTEND is exclusive for dates, RFC 5545 3.6.1).
The first run carries the caller's UID, stable per registration; each further run gets the UID
with its first day (`registration-12-20270305@host`), because several VEVENTs sharing one UID
would be read as recurrences, and so that a run keeps its UID when other days change.

When the person changes their days, a run an earlier file held may have no successor under the
same UID (days 2 and 4 become 2 to 4: the run that began on the 4th is gone). The changed file
lists such runs again with STATUS:CANCELLED (allowed in PUBLISH, RFC 5546 3.2.1), so the
calendar drops them instead of keeping a stale entry beside the new one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from babel import Locale
from icalendar import Calendar
from icalendar import Event as VEvent

from nkhr_events.dbtypes import utcnow
from nkhr_events.events.dates import contiguous_runs
from nkhr_events.events.texts import local_text, place_in_order
from nkhr_events.outbox.headers import single_line
from nkhr_events.outbox.services import Attachment

PRODID = "-//nkhr_events//Conference registration//EN"


class CalendarEvent(Protocol):
    """What a calendar file needs of an event: an `Event`, or the facts a queued email keeps of
    one (registrations/snapshots.py); its texts are read with `local_text`."""

    @property
    def day_list(self) -> list[date]: ...

    @property
    def country(self) -> str: ...


class CalendarMethod(StrEnum):
    PUBLISH = "PUBLISH"  # the event for the attendee's calendar, or a change to it
    CANCEL = "CANCEL"  # the registration was cancelled, rejected or released


def run_uid(uid: str, first: date | None) -> str:
    """The UID of a run of days: `uid` itself for the first run (`first` None), else `uid` with
    the run's first day."""
    if first is None:
        return uid
    local, at, domain = uid.rpartition("@")
    if not at:
        return f"{uid}-{first:%Y%m%d}"
    return f"{local}-{first:%Y%m%d}@{domain}"


def _runs(uid: str, days: Iterable[date]) -> list[tuple[str, date, date]]:
    """Each run of `days` with its UID: (uid, first day, last day)."""
    return [
        (run_uid(uid, None if index == 0 else first), first, last)
        for index, (first, last) in enumerate(contiguous_runs(days))
    ]


def event_location(event: CalendarEvent, language: str) -> str:
    venue = local_text(event, "venue", language).text
    city = local_text(event, "city", language).text
    country = Locale.parse(language).territories.get(event.country.upper(), event.country)
    parts, separator = place_in_order([p for p in (venue, city, country) if p], language)
    return separator.join(parts)


def event_calendar(
    event: CalendarEvent,
    *,
    uid: str,
    days: Iterable[date] | None = None,
    previous_days: Iterable[date] | None = None,
    sequence: int = 0,
    method: CalendarMethod | str = CalendarMethod.PUBLISH,
    language: str = "en",
    url: str | None = None,
    description: str | None = None,
    stamp: datetime | None = None,
) -> bytes:
    """The .ics text of `event` for one registration.

    `uid`: stable per registration and free of personal data and secrets (e.g.
    `registration-12@events.example.org`); `days`: the registration's days (the event's when
    None or empty); `previous_days`: the days an earlier file covered, whose runs without a
    successor are withdrawn in this one; `sequence`: higher for every file sent after the
    first, so that it replaces what an earlier one put in the calendar.
    """
    method = CalendarMethod(method)
    runs = _runs(uid, list(days or ()) or event.day_list)
    if not runs:
        raise ValueError("the event has no days")
    cancel = method is CalendarMethod.CANCEL
    kept = {run[0] for run in runs}
    withdrawn = [] if cancel else [
        run for run in _runs(uid, previous_days or ()) if run[0] not in kept
    ]
    title = local_text(event, "title", language).text
    location = event_location(event, language)
    stamp = stamp or utcnow()

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method.value)
    entries = [(run, cancel) for run in runs] + [(run, True) for run in withdrawn]
    for (run_id, first, last), cancelled in entries:
        vevent = VEvent()
        vevent.add("uid", run_id)
        vevent.add("dtstamp", stamp)
        vevent.add("dtstart", first)
        vevent.add("dtend", last + timedelta(days=1))
        vevent.add("sequence", sequence)
        vevent.add("summary", single_line(title))
        if location:
            vevent.add("location", single_line(location))
        if description:
            vevent.add("description", description)
        if url:
            vevent.add("url", url)
        vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        vevent.add("transp", "OPAQUE")
        calendar.add_component(vevent)
    return calendar.to_ical()


def calendar_content_type(method: CalendarMethod | str) -> str:
    """The attachment's content type, naming its iTIP method."""
    return f"text/calendar; charset=utf-8; method={CalendarMethod(method).value}"


def calendar_attachment(
    event: CalendarEvent,
    *,
    uid: str,
    days: Iterable[date] | None = None,
    sequence: int = 0,
    method: CalendarMethod | str = CalendarMethod.PUBLISH,
    language: str = "en",
    url: str | None = None,
    description: str | None = None,
    filename: str = "event.ics",
) -> Attachment:
    """`event_calendar(...)` as an outbox attachment whose content type names the iTIP method."""
    method = CalendarMethod(method)
    return Attachment(
        filename=filename,
        content_type=calendar_content_type(method),
        data=event_calendar(
            event,
            uid=uid,
            days=days,
            sequence=sequence,
            method=method,
            language=language,
            url=url,
            description=description,
        ),
    )
