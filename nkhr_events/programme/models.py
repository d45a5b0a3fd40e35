"""The programme of an event: its sessions, its speakers, sign-up for capped sessions, and the
archive of an edition (outcome documents and photos).

Times of a session are wall-clock times on one of the event's days, in the event's own time
zone, as a programme is printed; `starts_at`/`ends_at` of a session are compared within its day.
Texts written per language follow events/texts.py: the plain column is English, `_ko` Korean,
`_ja` Japanese.

A speaker chooses how they appear (`Appearance`); every surface that shows a speaker to anyone
but the event's organizers and the speaker asks `display.public_name` (programme/display.py),
never the name columns.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nkhr_events import names
from nkhr_events.dbtypes import EncryptedText, UTCDateTime, utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import Model, db
from nkhr_events.registrations.models import Registration


class SessionKind(StrEnum):
    KEYNOTE = "keynote"
    PANEL = "panel"
    ROUNDTABLE = "roundtable"
    SIDE_EVENT = "side_event"
    RECEPTION = "reception"
    BREAK = "break"


#: Kinds that may take sign-ups with a cap of their own.
SIGNUP_KINDS = frozenset({SessionKind.ROUNDTABLE, SessionKind.SIDE_EVENT, SessionKind.RECEPTION})


class ProgrammeSession(Model):
    """One item of an event's programme on one of its days."""

    __tablename__ = "programme_session"
    __table_args__ = (
        CheckConstraint(
            "kind in ('keynote', 'panel', 'roundtable', 'side_event', 'reception', 'break')",
            name="kind",
        ),
        CheckConstraint("ends_at > starts_at", name="times_ordered"),
        CheckConstraint("capacity is null or capacity >= 0", name="capacity_not_negative"),
        Index("ix_programme_session_event_day", "event_id", "day", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    day: Mapped[date]
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)
    kind: Mapped[str] = mapped_column(String(16), default=SessionKind.PANEL)
    title: Mapped[str] = mapped_column(String(200), default="")
    title_ko: Mapped[str | None] = mapped_column(String(200))
    title_ja: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    description_ko: Mapped[str | None] = mapped_column(Text)
    description_ja: Mapped[str | None] = mapped_column(Text)
    #: The room as printed, per language; sessions in one room are compared by the English
    #: column, folded (services.room_key), or by the first language that has a room name.
    room: Mapped[str] = mapped_column(String(120), default="")
    room_ko: Mapped[str | None] = mapped_column(String(120))
    room_ja: Mapped[str | None] = mapped_column(String(120))
    #: The language spoken on the floor ("en", "ko", "ja"; "" when not set).
    spoken_language: Mapped[str] = mapped_column(String(5), default="", server_default="")
    #: Interpretation channels offered, space-separated language codes ("en ko"); "" for none.
    channels: Mapped[str] = mapped_column(String(32), default="", server_default="")
    #: No press, no recording.
    closed_door: Mapped[bool] = mapped_column(default=False, server_default=db.false())
    #: Shown on the public programme; when off, only registered attendees see it, through
    #: their manage link.
    public: Mapped[bool] = mapped_column(default=True, server_default=db.true())
    #: Sign-up (SIGNUP_KINDS only): when on, attendees choose the session and `capacity`
    #: (empty: no cap) and `needs_review` apply to it, as an event's do to the event.
    signup: Mapped[bool] = mapped_column(default=False, server_default=db.false())
    capacity: Mapped[int | None]
    needs_review: Mapped[bool] = mapped_column(default=False, server_default=db.false())
    #: Calendar SEQUENCE, bumped on every change that a calendar would show.
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    speakers: Mapped[list[SessionSpeaker]] = relationship(
        back_populates="session", order_by="SessionSpeaker.position", cascade="all, delete-orphan"
    )

    @property
    def channel_list(self) -> list[str]:
        return self.channels.split()

    def __repr__(self) -> str:
        return f"<ProgrammeSession {self.id} {self.day} {self.starts_at}>"


class Appearance(StrEnum):
    """How a speaker appears to everyone but the event's organizers."""

    NAME = "name"  # by name (the name in its own order and script)
    PSEUDONYM = "pseudonym"  # under `Speaker.pseudonym`; the real name is never shown
    TBA = "tba"  # "To be announced": neither name nor pseudonym


class SpeakerStatus(StrEnum):
    INVITED = "invited"  # the private link was sent; no answer yet
    CONFIRMED = "confirmed"  # the speaker accepted
    DECLINED = "declined"  # the speaker declined (or staff withdrew the invitation)


class Speaker(Model):
    """A speaker of one event. Until they confirm, they appear as "to be announced"."""

    __table_args__ = (
        CheckConstraint("appearance in ('name', 'pseudonym', 'tba')", name="appearance"),
        CheckConstraint("status in ('invited', 'confirmed', 'declined')", name="status"),
        CheckConstraint(
            "appearance != 'pseudonym' or pseudonym != ''", name="pseudonym_when_chosen"
        ),
        Index("ix_speaker_event_sort", "event_id", "name_sort"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    #: The language of the speaker's emails and private page.
    language: Mapped[str] = mapped_column(String(5), default="en")
    status: Mapped[str] = mapped_column(String(16), default=SpeakerStatus.INVITED)
    appearance: Mapped[str] = mapped_column(String(16), default=Appearance.TBA)
    pseudonym: Mapped[str] = mapped_column(String(100), default="", server_default="")
    show_photo: Mapped[bool] = mapped_column(default=False, server_default=db.false())
    recording_allowed: Mapped[bool] = mapped_column(default=False, server_default=db.false())
    affiliation: Mapped[str] = mapped_column(String(200), default="", server_default="")
    affiliation_ko: Mapped[str | None] = mapped_column(String(200))
    affiliation_ja: Mapped[str | None] = mapped_column(String(200))
    bio: Mapped[str] = mapped_column(Text, default="", server_default="")
    bio_ko: Mapped[str | None] = mapped_column(Text)
    bio_ja: Mapped[str | None] = mapped_column(Text)
    #: Travel and access needs: special-category data, stored encrypted.
    needs: Mapped[str] = mapped_column(EncryptedText, default="", server_default="")
    #: The speaker's registration in the event, once linked (badges follow the choices above).
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration.id", ondelete="SET NULL"), index=True
    )
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: What staff lists sort by (names.name_sort_key), kept by `_keep_speaker_sort_key`.
    name_sort: Mapped[str] = mapped_column(
        String(names.NAME_SORT_LENGTH).with_variant(
            String(names.NAME_SORT_LENGTH, collation="C"), "postgresql"
        ),
        default="",
        server_default="",
    )

    event: Mapped[Event] = relationship()
    registration: Mapped[Registration | None] = relationship()
    photo: Mapped[SpeakerPhoto | None] = relationship(
        back_populates="speaker", cascade="all, delete-orphan"
    )
    sessions: Mapped[list[SessionSpeaker]] = relationship(
        back_populates="speaker", cascade="all, delete-orphan"
    )

    @property
    def full_name(self) -> str:
        """The real name as the person writes it; for the speaker and the organizers only."""
        return names.full_name(self.given_name, self.family_name)

    def __repr__(self) -> str:
        return f"<Speaker {self.id} {self.status}>"


@sa_event.listens_for(Speaker, "before_insert")
@sa_event.listens_for(Speaker, "before_update")
def _keep_speaker_sort_key(_mapper: object, _connection: object, target: Speaker) -> None:
    target.name_sort = names.name_sort_key(target.given_name, target.family_name)


class SpeakerPhoto(Model):
    """A speaker's photo, re-encoded on the server (like partner logos); public only while the
    speaker chose to show it and appears by name or pseudonym."""

    __tablename__ = "speaker_photo"

    speaker_id: Mapped[int] = mapped_column(
        ForeignKey("speaker.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    width: Mapped[int]
    height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    speaker: Mapped[Speaker] = relationship(back_populates="photo")


class SpeakerToken(Model):
    """A speaker's private link; only a SHA-256 of the token is stored."""

    __tablename__ = "speaker_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    speaker_id: Mapped[int] = mapped_column(
        ForeignKey("speaker.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    speaker: Mapped[Speaker] = relationship()


class SessionSpeaker(Model):
    """A speaker on a session, in the order printed, with the part they take."""

    __tablename__ = "session_speaker"
    __table_args__ = (
        UniqueConstraint("session_id", "speaker_id"),
        CheckConstraint("part in ('speaker', 'moderator', 'discussant')", name="part"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("programme_session.id", ondelete="CASCADE"), index=True
    )
    speaker_id: Mapped[int] = mapped_column(
        ForeignKey("speaker.id", ondelete="CASCADE"), index=True
    )
    part: Mapped[str] = mapped_column(String(16), default="speaker")
    position: Mapped[int] = mapped_column(default=0)

    session: Mapped[ProgrammeSession] = relationship(back_populates="speakers")
    speaker: Mapped[Speaker] = relationship(back_populates="sessions")


class SignupStatus(StrEnum):
    PENDING = "pending"  # awaiting review; holds a place
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"  # by the attendee, or with their registration
    REJECTED = "rejected"  # by staff


SIGNUP_ACTIVE = (SignupStatus.PENDING, SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
SIGNUP_SEATED = (SignupStatus.PENDING, SignupStatus.CONFIRMED)
_SIGNUP_ACTIVE_SQL = "status in ('pending', 'confirmed', 'waitlisted')"


class SessionSignup(Model):
    """A registered attendee's place (or place in the queue) in a session with sign-up.

    Places are counted under the event's seat lock (registrations/seats.py) exactly as seats
    are: `pending + confirmed <= capacity` per session; a freed place goes to the earliest
    waitlisted sign-up in the same transaction."""

    __tablename__ = "session_signup"
    __table_args__ = (
        CheckConstraint(
            "status in ('pending', 'confirmed', 'waitlisted', 'cancelled', 'rejected')",
            name="status",
        ),
        Index(
            "uq_session_signup_active",
            "session_id",
            "registration_id",
            unique=True,
            sqlite_where=db.text(_SIGNUP_ACTIVE_SQL),
            postgresql_where=db.text(_SIGNUP_ACTIVE_SQL),
        ),
        Index("ix_session_signup_session_status", "session_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("programme_session.id", ondelete="CASCADE")
    )
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[ProgrammeSession] = relationship()
    registration: Mapped[Registration] = relationship()


class ArchiveDocumentKind(StrEnum):
    DECLARATION = "declaration"
    REPORT = "report"
    PROGRAMME = "programme"
    OTHER = "other"


class ArchiveDocument(Model):
    """An outcome document of an edition (a declaration, a report): a checked PDF upload."""

    __tablename__ = "archive_document"
    __table_args__ = (
        CheckConstraint(
            "kind in ('declaration', 'report', 'programme', 'other')", name="kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default=ArchiveDocumentKind.REPORT)
    title: Mapped[str] = mapped_column(String(200), default="")
    title_ko: Mapped[str | None] = mapped_column(String(200))
    title_ja: Mapped[str | None] = mapped_column(String(200))
    #: The language the document is written in.
    language: Mapped[str] = mapped_column(String(5), default="en")
    filename: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship()


class ArchivePhoto(Model):
    """A photo of an edition, re-encoded on the server, published only once staff have stated
    that everyone recognisable in it agreed to appear (`consent_confirmed_by`)."""

    __tablename__ = "archive_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    caption: Mapped[str] = mapped_column(String(300), default="")
    caption_ko: Mapped[str | None] = mapped_column(String(300))
    caption_ja: Mapped[str | None] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    width: Mapped[int]
    height: Mapped[int]
    #: The staff member who stated that the people shown agreed, and when.
    consent_confirmed_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    consent_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship()
