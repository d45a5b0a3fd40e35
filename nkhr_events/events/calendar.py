"""Calendar files (.ics) for an event, built with the icalendar library: the invitation a
registration email carries and the attendee's calendar download.

An event is held on a list of days, not always a range (2002: February 9 and 10; a conference
may skip a day). Each contiguous run of days becomes one all-day VEVENT whose DTEND is the day
after its last day (DTEND is exclusive for dates, RFC 5545 3.6.1). The first run carries the
caller's UID, which is stable per registration, so a later REQUEST with a higher SEQUENCE
updates the same calendar entry and a CANCEL removes it; further runs get the UID with a
"-part<n>" suffix, because several VEVENTs sharing one UID would be read as recurrences.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parseaddr
from enum import StrEnum

from babel import Locale
from flask import current_app
from icalendar import Calendar, vCalAddress, vText
from icalendar import Event as VEvent

from nkhr_events.dbtypes import utcnow
from nkhr_events.events.dates import contiguous_runs
from nkhr_events.events.models import Event
from nkhr_events.outbox.headers import single_line
from nkhr_events.outbox.services import Attachment

PRODID = "-//nkhr_events//Conference registration//EN"


class CalendarMethod(StrEnum):
    REQUEST = "REQUEST"  # a confirmation, or a change to one (higher SEQUENCE)
    CANCEL = "CANCEL"  # the registration was cancelled or rejected


def run_uid(uid: str, index: int) -> str:
    """The UID of the `index`-th run (0-based): `uid` itself for the first."""
    if index == 0:
        return uid
    local, at, domain = uid.rpartition("@")
    if not at:
        return f"{uid}-part{index + 1}"
    return f"{local}-part{index + 1}@{domain}"


def event_location(event: Event, language: str) -> str:
    city = (event.city_ko if language == "ko" and event.city_ko else event.city) or ""
    country = Locale.parse(language).territories.get(event.country.upper(), event.country)
    return ", ".join(part for part in (event.venue, city, country) if part)


def event_calendar(
    event: Event,
    *,
    uid: str,
    sequence: int = 0,
    method: CalendarMethod | str = CalendarMethod.REQUEST,
    language: str = "en",
    attendee: tuple[str, str] | None = None,
    url: str | None = None,
    description: str | None = None,
    stamp: datetime | None = None,
) -> bytes:
    """The .ics text of `event` for one registration.

    `uid`: stable per registration (e.g. `registration-12@events.example.org`); `sequence`:
    bumped whenever the invitation changes; `attendee`: (name, address) of the registrant.
    """
    method = CalendarMethod(method)
    runs = contiguous_runs(event.day_list)
    if not runs:
        raise ValueError("the event has no days")
    organizer_name, organizer_address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    title = (event.title_ko if language == "ko" and event.title_ko else event.title) or ""
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
        organizer = vCalAddress(f"mailto:{organizer_address}")
        if organizer_name:
            organizer.params["cn"] = vText(single_line(organizer_name))
        vevent.add("organizer", organizer)
        if attendee is not None:
            name, address = attendee
            person = vCalAddress(f"mailto:{address}")
            if name:
                person.params["cn"] = vText(single_line(name))
            person.params["role"] = vText("REQ-PARTICIPANT")
            person.params["rsvp"] = vText("FALSE")
            vevent.add("attendee", person)
        calendar.add_component(vevent)
    return calendar.to_ical()


def calendar_attachment(
    event: Event,
    *,
    uid: str,
    sequence: int = 0,
    method: CalendarMethod | str = CalendarMethod.REQUEST,
    language: str = "en",
    attendee: tuple[str, str] | None = None,
    url: str | None = None,
    description: str | None = None,
    filename: str = "event.ics",
) -> Attachment:
    """`event_calendar(...)` as an outbox attachment whose content type names the iTIP method."""
    method = CalendarMethod(method)
    return Attachment(
        filename=filename,
        content_type=f"text/calendar; charset=utf-8; method={method.value}",
        data=event_calendar(
            event,
            uid=uid,
            sequence=sequence,
            method=method,
            language=language,
            attendee=attendee,
            url=url,
            description=description,
        ),
    )
