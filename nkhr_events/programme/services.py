"""The sessions of an event's programme: the rules staff build it by, and the reading of it.

A session lies on one of the event's days, from a start to an end time (wall-clock times in the
event's own zone); two sessions clash when they overlap on the same day in the same room (room
names folded by `room_key`), or when one speaker is on both. A clash is refused like any other
rule, beside the field at fault (`SessionClash`), unless staff say they know about it
(`SessionInput.accept_clashes`): then the session is saved and the audit entry names the
sessions it clashes with. Every change raises the session's calendar SEQUENCE and is audited;
an edit that changes nothing changes nothing (no audit entry, no new SEQUENCE).

Whoever reads the programme in public asks `programme_days(event, public_only=True)`; speakers
are shown through programme/display.py only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from nkhr_events.audit.services import Actor, changed_since, column_values, record
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.events.texts import CONTENT_LANGUAGES, local_text, text_column
from nkhr_events.extensions import db
from nkhr_events.programme import signups
from nkhr_events.programme.models import (
    SIGNUP_ACTIVE,
    SIGNUP_KINDS,
    ProgrammeSession,
    SessionKind,
    SessionSignup,
    SessionSpeaker,
    Speaker,
)

#: Longest texts, as the columns hold them (descriptions: a page of text).
TITLE_LIMIT = 200
ROOM_LIMIT = 120
DESCRIPTION_LIMIT = 5000
CAPACITY_LIMIT = 100_000
#: The most speakers one session lists.
SPEAKERS_LIMIT = 40

TEXT_FIELDS = ("title", "description", "room")
_LIMITS = {"title": TITLE_LIMIT, "description": DESCRIPTION_LIMIT, "room": ROOM_LIMIT}


class SpeakerPart:
    SPEAKER = "speaker"
    MODERATOR = "moderator"
    DISCUSSANT = "discussant"


SPEAKER_PARTS = (SpeakerPart.SPEAKER, SpeakerPart.MODERATOR, SpeakerPart.DISCUSSANT)


@dataclass(frozen=True)
class SessionInput:
    """What staff give for a session. `texts` maps a column ("title", "title_ko", "room_ja"...)
    to its text; `speakers` lists (speaker id, part) in the order printed."""

    day: date
    starts_at: time
    ends_at: time
    kind: str
    texts: dict[str, str]
    spoken_language: str = ""
    channels: Sequence[str] = ()
    closed_door: bool = False
    public: bool = True
    signup: bool = False
    capacity: int | None = None
    needs_review: bool = False
    speakers: Sequence[tuple[int, str]] = ()
    #: Staff know about the clashes and save anyway.
    accept_clashes: bool = False


@dataclass(frozen=True)
class Clash:
    """A clash of the session being saved with `other`: by room, or by a speaker's time."""

    field: str  # "room" or "speakers"
    other: ProgrammeSession
    speaker: Speaker | None = None


class SessionClash(DomainError):
    """The session clashes with others; `errors` holds one message per field at fault."""

    def __init__(self, clashes: list[Clash]) -> None:
        self.clashes = clashes
        self.errors = [DomainError(clash_message(c), c.field) for c in clashes]
        first = self.errors[0]
        super().__init__(first.message, first.field)


def _when(session: ProgrammeSession) -> str:
    return f"{session.starts_at.strftime('%H:%M')}–{session.ends_at.strftime('%H:%M')}"


def _title(session: ProgrammeSession, language: str = "en") -> str:
    return local_text(session, "title", language).text


def clash_message(clash: Clash) -> str:
    """Said to staff beside the field: which session it clashes with, and when. Speakers are
    named by their real name: only the event's organizers see this."""
    if clash.field == "room":
        return _(
            "This room is already taken at that time by “%(title)s” (%(when)s).",
            title=_title(clash.other), when=_when(clash.other),
        )
    return _(
        "%(name)s already speaks at that time in “%(title)s” (%(when)s).",
        name=clash.speaker.full_name if clash.speaker else "", title=_title(clash.other),
        when=_when(clash.other),
    )


def room_key(session: Any) -> str:
    """What rooms are compared by: the English room name, else the first language's that has
    one, folded (compatibility forms, case, runs of blanks); "" when no room is named.
    `session` is a session or a mapping of the room columns."""
    for language in CONTENT_LANGUAGES:
        column = text_column("room", language)
        if isinstance(session, dict):
            name = session.get(column) or ""
        else:
            name = getattr(session, column, None) or ""
        if name.strip():
            folded = unicodedata.normalize("NFKC", name).casefold()
            return " ".join(folded.split())
    return ""


def _overlap(a_start: time, a_end: time, b_start: time, b_end: time) -> bool:
    return a_start < b_end and b_start < a_end


# --- checks -------------------------------------------------------------------------------------


def _check(event: Event, data: SessionInput, speakers: dict[int, Speaker]) -> None:
    """The rules of a session, in the order of the form; raises DomainError beside a field."""
    if data.day not in event.day_list:
        raise DomainError(_("Choose one of the event's days."), "day")
    if data.ends_at <= data.starts_at:
        raise DomainError(_("The session must end after it starts."), "ends_at")
    if data.kind not in set(SessionKind):
        raise DomainError(_("Choose a kind of session."), "kind")
    for name in TEXT_FIELDS:
        for language in CONTENT_LANGUAGES:
            column = text_column(name, language)
            if len(data.texts.get(column, "")) > _LIMITS[name]:
                raise DomainError(
                    _("Use at most %(limit)d characters.", limit=_LIMITS[name]), column
                )
    if not any(data.texts.get(text_column("title", lang), "").strip()
               for lang in CONTENT_LANGUAGES):
        raise DomainError(_("Give the session a title in at least one language."), "title")
    if data.spoken_language not in ("", *CONTENT_LANGUAGES):
        raise DomainError(_("Choose a language from the list."), "spoken_language")
    if any(code not in CONTENT_LANGUAGES for code in data.channels):
        raise DomainError(_("Choose interpretation channels from the list."), "channels")
    if data.signup and data.kind not in SIGNUP_KINDS:
        raise DomainError(
            _("Only roundtables, side events and receptions take sign-ups."), "signup"
        )
    if data.capacity is not None and not 0 <= data.capacity <= CAPACITY_LIMIT:
        raise DomainError(
            _("Enter a whole number from %(min)s to %(max)s.", min=0, max=CAPACITY_LIMIT),
            "capacity",
        )
    if len(data.speakers) > SPEAKERS_LIMIT:
        raise DomainError(
            _("A session lists at most %(limit)d speakers.", limit=SPEAKERS_LIMIT), "speakers"
        )
    seen: set[int] = set()
    for speaker_id, part in data.speakers:
        if speaker_id not in speakers or speaker_id in seen:
            raise DomainError(_("Choose speakers of this event from the list."), "speakers")
        if part not in SPEAKER_PARTS:
            raise DomainError(_("Choose the part each speaker takes."), "speakers")
        seen.add(speaker_id)


def clashes_with(
    event: Event,
    day: date,
    starts_at: time,
    ends_at: time,
    room: str,
    speaker_ids: set[int],
    exclude_id: int | None = None,
) -> list[Clash]:
    """The sessions of `event` that would clash with a session at this place and time: in the
    same room (non-empty `room`, a `room_key`), or with one of `speaker_ids`."""
    others = db.session.scalars(
        select(ProgrammeSession)
        .where(
            ProgrammeSession.event_id == event.id,
            ProgrammeSession.day == day,
            ProgrammeSession.starts_at < ends_at,
            ProgrammeSession.ends_at > starts_at,
        )
        .options(selectinload(ProgrammeSession.speakers).selectinload(SessionSpeaker.speaker))
        .order_by(ProgrammeSession.starts_at, ProgrammeSession.id)
    ).all()
    found: list[Clash] = []
    for other in others:
        if other.id == exclude_id:
            continue
        if room and room_key(other) == room:
            found.append(Clash("room", other))
        for link in other.speakers:
            if link.speaker_id in speaker_ids:
                found.append(Clash("speakers", other, link.speaker))
    return found


def _values(data: SessionInput) -> dict[str, Any]:
    """The columns a session takes from `data`, as they are stored."""
    values: dict[str, Any] = {
        "day": data.day,
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "kind": str(data.kind),
        "spoken_language": data.spoken_language,
        "channels": " ".join(c for c in CONTENT_LANGUAGES if c in set(data.channels)),
        "closed_door": data.closed_door,
        "public": data.public,
        "signup": data.signup,
        "capacity": data.capacity if data.signup else None,
        "needs_review": data.needs_review if data.signup else False,
    }
    for name in TEXT_FIELDS:
        for language in CONTENT_LANGUAGES:
            column = text_column(name, language)
            text = data.texts.get(column, "").strip()
            values[column] = text if language == "en" else (text or None)
    return values


def _speaker_rows(event: Event, data: SessionInput) -> dict[int, Speaker]:
    ids = [speaker_id for speaker_id, _part in data.speakers]
    if not ids:
        return {}
    rows = db.session.scalars(
        select(Speaker).where(Speaker.event_id == event.id, Speaker.id.in_(ids))
    ).all()
    return {s.id: s for s in rows}


def _refuse_clashes(event: Event, data: SessionInput, exclude_id: int | None) -> list[Clash]:
    clashes = clashes_with(
        event, data.day, data.starts_at, data.ends_at, room_key(data.texts),
        {speaker_id for speaker_id, _part in data.speakers}, exclude_id,
    )
    if clashes and not data.accept_clashes:
        raise SessionClash(clashes)
    return clashes


def _set_speakers(session: ProgrammeSession, wanted: Sequence[tuple[int, str]]) -> None:
    current = {link.speaker_id: link for link in session.speakers}
    keep = {speaker_id for speaker_id, _part in wanted}
    for speaker_id, gone in current.items():
        if speaker_id not in keep:
            session.speakers.remove(gone)
    for position, (speaker_id, part) in enumerate(wanted):
        link = current.get(speaker_id)
        if link is None:
            session.speakers.append(
                SessionSpeaker(speaker_id=speaker_id, part=part, position=position)
            )
        else:
            link.part, link.position = part, position


def _speaker_list(session: ProgrammeSession) -> list[tuple[int, str]]:
    return [(link.speaker_id, link.part) for link in session.speakers]


def _clash_detail(clashes: list[Clash]) -> dict[str, Any]:
    return {"clashes_accepted": sorted({c.other.id for c in clashes})} if clashes else {}


# --- changes ------------------------------------------------------------------------------------


def create_session(event: Event, data: SessionInput, *, actor: Actor) -> ProgrammeSession:
    """Add a session to `event`'s programme. Raises DomainError (SessionClash for clashes not
    accepted)."""
    _check(event, data, _speaker_rows(event, data))
    clashes = _refuse_clashes(event, data, None)
    session = ProgrammeSession(event_id=event.id, **_values(data))
    db.session.add(session)
    _set_speakers(session, data.speakers)
    db.session.flush()
    record("programme_session.create", actor=actor, object_type="programme_session",
           object_id=session.id, event_id=event.id, detail=_clash_detail(clashes))
    return session


def update_session(session: ProgrammeSession, data: SessionInput, *, actor: Actor) -> bool:
    """Change a session; False (and nothing written) when `data` is what it already holds.
    Raises DomainError (SessionClash for clashes not accepted)."""
    event = session.event
    values = _values(data)
    before = column_values(session)
    if all(before.get(k) == v for k, v in values.items()) and (
        _speaker_list(session) == list(data.speakers)
    ):
        return False
    _check(event, data, _speaker_rows(event, data))
    clashes = _refuse_clashes(event, data, session.id)
    # Places already given must still fit; the check takes the event's seat lock, held until
    # the commit, so the promotion below counts what is true.
    signups.check_session_places(session, values["signup"], values["capacity"])
    speakers_before = _speaker_list(session)
    for key, value in values.items():
        setattr(session, key, value)
    _set_speakers(session, data.speakers)
    changed = changed_since(before, session)
    if speakers_before != list(data.speakers):
        changed.append("speakers")
    session.sequence = (session.sequence or 0) + 1
    db.session.flush()
    if session.signup:
        # More places, or no review any more: the waitlist moves up at once.
        signups.promote(session, actor=actor)
    record("programme_session.update", actor=actor, object_type="programme_session",
           object_id=session.id, event_id=event.id,
           detail={"changed": changed, **_clash_detail(clashes)})
    return True


def delete_session(session: ProgrammeSession, *, actor: Actor) -> None:
    """Remove a session. Refused while attendees hold a place (or a place in the queue)."""
    held = db.session.scalar(
        select(func.count()).select_from(SessionSignup).where(
            SessionSignup.session_id == session.id, SessionSignup.status.in_(SIGNUP_ACTIVE)
        )
    ) or 0
    if held:
        raise DomainError(
            _("Attendees have signed up for this session. Cancel their sign-ups before "
              "deleting it."),
        )
    event_id, session_id = session.event_id, session.id
    db.session.execute(delete(SessionSpeaker).where(SessionSpeaker.session_id == session_id))
    db.session.delete(session)
    db.session.flush()
    record("programme_session.delete", actor=actor, object_type="programme_session",
           object_id=session_id, event_id=event_id)


# --- reading ------------------------------------------------------------------------------------


@dataclass
class ProgrammeDay:
    day: date
    sessions: list[ProgrammeSession] = field(default_factory=list)


@dataclass
class RoomColumn:
    """The sessions of one room on one day; `key` "" for sessions without a room."""

    key: str
    sessions: list[ProgrammeSession]


def _sessions_query(event: Event, public_only: bool) -> Any:
    query = (
        select(ProgrammeSession)
        .where(ProgrammeSession.event_id == event.id)
        .options(selectinload(ProgrammeSession.speakers).selectinload(SessionSpeaker.speaker))
        .order_by(ProgrammeSession.day, ProgrammeSession.starts_at, ProgrammeSession.ends_at,
                  ProgrammeSession.id)
    )
    if public_only:
        query = query.where(ProgrammeSession.public.is_(True))
    return query


def event_sessions(event: Event, public_only: bool = False) -> list[ProgrammeSession]:
    """The event's sessions in programme order (day, start, end)."""
    return list(db.session.scalars(_sessions_query(event, public_only)))


def programme_days(event: Event, public_only: bool = True) -> list[ProgrammeDay]:
    """The programme day by day (only the days that have sessions), each in time order; the
    public's (`public_only`) leaves out the sessions that are not public."""
    days: dict[date, ProgrammeDay] = {}
    for session in event_sessions(event, public_only):
        days.setdefault(session.day, ProgrammeDay(session.day)).sessions.append(session)
    return [days[d] for d in sorted(days)]


def by_room(day: ProgrammeDay) -> list[RoomColumn]:
    """One day's sessions per room, rooms in the order they are first used; sessions without a
    room last."""
    rooms: dict[str, list[ProgrammeSession]] = {}
    for session in day.sessions:
        rooms.setdefault(room_key(session), []).append(session)
    keys = [k for k in rooms if k] + ([""] if "" in rooms else [])
    return [RoomColumn(k, rooms[k]) for k in keys]


def has_sessions(event: Event, public_only: bool = True) -> bool:
    query = select(ProgrammeSession.id).where(ProgrammeSession.event_id == event.id)
    if public_only:
        query = query.where(ProgrammeSession.public.is_(True))
    return db.session.scalar(query.limit(1)) is not None


def session_of(event: Event, session_id: int) -> ProgrammeSession | None:
    """The session `session_id` if it belongs to `event`."""
    session = db.session.get(ProgrammeSession, session_id)
    return session if session is not None and session.event_id == event.id else None


def event_speakers(event: Event) -> list[Speaker]:
    """Every speaker of the event, in the staff lists' name order."""
    return list(db.session.scalars(
        select(Speaker).where(Speaker.event_id == event.id).order_by(Speaker.name_sort, Speaker.id)
    ))


def clashing_ids(sessions: Sequence[ProgrammeSession]) -> set[int]:
    """The sessions among `sessions` (one event's) that clash with another of them: what the
    staff programme flags."""
    found: set[int] = set()
    ordered = sorted(sessions, key=lambda s: (s.day, s.starts_at))
    for index, first in enumerate(ordered):
        first_room = room_key(first)
        first_speakers = {link.speaker_id for link in first.speakers}
        for second in ordered[index + 1:]:
            if second.day != first.day or second.starts_at >= first.ends_at:
                break
            if not _overlap(first.starts_at, first.ends_at, second.starts_at, second.ends_at):
                continue
            same_room = bool(first_room) and first_room == room_key(second)
            shared = first_speakers & {link.speaker_id for link in second.speakers}
            if same_room or shared:
                found.update((first.id, second.id))
    return found
