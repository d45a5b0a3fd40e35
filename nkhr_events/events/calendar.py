"""Calendar files (.ics) for an event, built with the icalendar library: the file a
registration email carries and the attendee's calendar download.

The file is a published event (iTIP METHOD:PUBLISH), not a meeting request: it names no
ORGANIZER and no ATTENDEE, so no calendar offers to accept or decline it or sends a reply to
the conference address. A change is the same file again with the same UID, a higher SEQUENCE
and a later DTSTAMP, which replaces the entry; a cancellation is METHOD:CANCEL with
STATUS:CANCELLED under the same UID and a higher SEQUENCE, which removes it.

An event is held on a list of days, not always a range (2002: February 9 and 10; a conference
may skip a day), and has no clock times: each contiguous run of days becomes one all-day
VEVENT (dates in the event's own time zone, which no viewer's zone moves to another day) whose
DTEND is the day after its last day (DTEND is exclusive for dates, RFC 5545 3.6.1). The first
run carries the caller's UID, stable per registration; further runs get the UID with a
"-part<n>" suffix, because several VEVENTs sharing one UID would be read as recurrences.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from babel import Locale
from icalendar import Calendar
from icalendar import Event as VEvent

from nkhr_events.dbtypes import utcnow
from nkhr_events.events.dates import contiguous_runs
from nkhr_events.events.texts import local_text
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


def run_uid(uid: str, index: int) -> str:
    """The UID of the `index`-th run (0-based): `uid` itself for the first."""
    if index == 0:
        return uid
    local, at, domain = uid.rpartition("@")
    if not at:
        return f"{uid}-part{index + 1}"
    return f"{local}-part{index + 1}@{domain}"


def event_location(event: CalendarEvent, language: str) -> str:
    venue = local_text(event, "venue", language).text
    city = local_text(event, "city", language).text
    country = Locale.parse(language).territories.get(event.country.upper(), event.country)
    return ", ".join(part for part in (venue, city, country) if part)


def event_calendar(
    event: CalendarEvent,
    *,
    uid: str,
    sequence: int = 0,
    method: CalendarMethod | str = CalendarMethod.PUBLISH,
    language: str = "en",
    url: str | None = None,
    description: str | None = None,
    stamp: datetime | None = None,
) -> bytes:
    """The .ics text of `event` for one registration.

    `uid`: stable per registration and free of personal data and secrets (e.g.
    `registration-12@events.example.org`); `sequence`: higher for every file sent after the
    first, so that it replaces what an earlier one put in the calendar.
    """
    method = CalendarMethod(method)
    runs = contiguous_runs(event.day_list)
    if not runs:
        raise ValueError("the event has no days")
    title = local_text(event, "title", language).text
    location = event_location(event, language)
    stamp = stamp or utcnow()

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method.value)
    for index, (first, last) in enumerate(runs):
        vevent = VEvent()
        vevent.add("uid", run_uid(uid, index))
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
        vevent.add("status", "CANCELLED" if method is CalendarMethod.CANCEL else "CONFIRMED")
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
            sequence=sequence,
            method=method,
            language=language,
            url=url,
            description=description,
        ),
    )
