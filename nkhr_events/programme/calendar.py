"""Calendar files (.ics) of a programme: the whole public programme as one feed, and one file
per session. Built like an event's files (events/calendar.py): a published calendar (METHOD:
PUBLISH) naming no ORGANIZER or ATTENDEE, a UID that stays the same for a session whatever the
file or the reader's language, and SEQUENCE from the session's counter, so that a changed
session replaces the entry an earlier download made.

Sessions have clock times in the event's zone; the files carry them as UTC instants (DTSTART
with "Z"), which every calendar shows on the reader's own clock, so no VTIMEZONE is needed.
Speakers are named only through programme/display.py; sessions that are not public are never
in the feed (the caller gives the public programme).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from flask_babel import gettext as _
from icalendar import Calendar
from icalendar import Event as VEvent

from nkhr_events.dbtypes import utcnow
from nkhr_events.events.calendar import PRODID, event_location
from nkhr_events.events.models import Event
from nkhr_events.events.texts import local_text
from nkhr_events.outbox.headers import single_line
from nkhr_events.programme import display
from nkhr_events.programme.models import ProgrammeSession


def session_uid(session: ProgrammeSession, host: str) -> str:
    """Stable per session: its number at this site's host; nothing a person typed."""
    return f"programme-session-{session.id}@{host or 'localhost'}"


def session_start(session: ProgrammeSession, event: Event) -> datetime:
    return datetime.combine(session.day, session.starts_at, event.zone).astimezone(UTC)


def session_end(session: ProgrammeSession, event: Event) -> datetime:
    return datetime.combine(session.day, session.ends_at, event.zone).astimezone(UTC)


def speaker_line(session: ProgrammeSession) -> str:
    """The session's speakers as others see them (display.public_name), in printed order."""
    return ", ".join(display.public_name(link.speaker) for link in session.speakers)


def _vevent(session: ProgrammeSession, event: Event, host: str, language: str,
            url: str | None, stamp: datetime) -> VEvent:
    vevent = VEvent()
    vevent.add("uid", session_uid(session, host))
    vevent.add("dtstamp", stamp)
    vevent.add("dtstart", session_start(session, event))
    vevent.add("dtend", session_end(session, event))
    vevent.add("sequence", session.sequence)
    vevent.add("summary", single_line(local_text(session, "title", language).text))
    room = local_text(session, "room", language).text
    location = ", ".join(p for p in (room, event_location(event, language)) if p)
    if location:
        vevent.add("location", single_line(location))
    lines = []
    speakers = speaker_line(session)
    if speakers:
        lines.append(_("Speakers: %(names)s", names=speakers))
    if session.closed_door:
        lines.append(_("Closed to press, not recorded."))
    description = local_text(session, "description", language).text
    if description:
        lines.append(description)
    if lines:
        vevent.add("description", "\n\n".join(lines))
    if url:
        vevent.add("url", url)
    vevent.add("status", "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    return vevent


def _calendar(event: Event, language: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", single_line(local_text(event, "title", language).text))
    return calendar


def programme_calendar(
    event: Event, sessions: Iterable[ProgrammeSession], *, host: str, language: str,
    url: str | None = None, stamp: datetime | None = None,
) -> bytes:
    """The .ics feed of `sessions` (the public programme of `event`)."""
    calendar = _calendar(event, language)
    stamp = stamp or utcnow()
    for session in sessions:
        calendar.add_component(_vevent(session, event, host, language, url, stamp))
    data: bytes = calendar.to_ical()
    return data


def session_calendar(
    session: ProgrammeSession, event: Event, *, host: str, language: str,
    url: str | None = None, stamp: datetime | None = None,
) -> bytes:
    """The .ics file of one session."""
    return programme_calendar(event, [session], host=host, language=language, url=url,
                              stamp=stamp)
