"""Conference series and their editions."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nkhr_events.dbtypes import UTCDateTime, utcnow
from nkhr_events.extensions import Model, db

#: How long a seat may wait for its email confirmation, when an event asks for one (minutes).
EMAIL_CONFIRMATION_MINUTES_MIN = 10
EMAIL_CONFIRMATION_MINUTES_MAX = 7 * 24 * 60
#: When the door opens on each day of an event, unless its staff set another hour.
DEFAULT_DOOR_OPENS_AT = time(6, 0)


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Series(Model):
    """A named conference series, e.g. the International Conference on NKHR and Refugees."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_ko: Mapped[str | None] = mapped_column(String(200))
    name_ja: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    description_ko: Mapped[str | None] = mapped_column(Text)
    description_ja: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)

    events: Mapped[list[Event]] = relationship(back_populates="series", order_by="Event.start_date")

    def __repr__(self) -> str:
        return f"<Series {self.slug}>"


class Event(Model):
    """One edition of a series, held on a list of days in its own time zone."""

    __table_args__ = (
        CheckConstraint("status in ('draft', 'published', 'archived')", name="status"),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
        CheckConstraint("capacity is null or capacity >= 0", name="capacity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    #: The languages the event is held and written in, space-separated in the staff's order of
    #: preference ("en ko"): its public text exists in these, and a reader of another language
    #: reads the first of them that has the text.
    languages: Mapped[str] = mapped_column(String(16), default="en ko", server_default="en ko")
    #: Each text in English (the plain column, "" where the event has no English text), Korean
    #: (`_ko`) and Japanese (`_ja`); see web.localized.
    title: Mapped[str] = mapped_column(String(200))
    title_ko: Mapped[str | None] = mapped_column(String(200))
    title_ja: Mapped[str | None] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    start_date: Mapped[date]
    end_date: Mapped[date]
    venue: Mapped[str] = mapped_column(String(200), default="")
    venue_ko: Mapped[str | None] = mapped_column(String(200))
    venue_ja: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    city_ko: Mapped[str | None] = mapped_column(String(100))
    city_ja: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Seoul")
    description: Mapped[str] = mapped_column(Text, default="")
    description_ko: Mapped[str | None] = mapped_column(Text)
    description_ja: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[int | None]
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.DRAFT, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: Days after the last day before personal data of this event is anonymized.
    retention_days: Mapped[int] = mapped_column(default=180, server_default="180")
    #: The participant list: "off" (default), "public", or "participants" (through manage links).
    participant_list: Mapped[str] = mapped_column(
        String(16), default="off", server_default="off"
    )
    #: When set, a participant sees only the participants of their own category.
    participant_list_by_category: Mapped[bool] = mapped_column(
        default=False, server_default=db.false()
    )
    #: When set, a new registration keeps its place only if the attendee confirms the address
    #: within this many minutes (registrations/holds.py); empty: no confirmation is asked.
    email_confirmation_minutes: Mapped[int | None]
    #: When set, the public pages show each category's seats left and people waiting; off,
    #: they say only whether a new registration gets a seat, is reviewed or waitlisted.
    show_seat_counts: Mapped[bool] = mapped_column(default=False, server_default=db.false())
    #: The language pairs interpreted at the event, space-separated ("en-ko ja-ko"); each pair
    #: offers a channel into either of its languages. Empty: no interpretation.
    interpretation_pairs: Mapped[str] = mapped_column(
        String(32), default="en-ko", server_default="en-ko"
    )
    #: When the door opens on each day of the event, local time: check-in is accepted from then
    #: until the end of that day (checkin/services.door_window).
    door_opens_at: Mapped[time] = mapped_column(
        Time, default=DEFAULT_DOOR_OPENS_AT, server_default="06:00:00"
    )

    series: Mapped[Series] = relationship(back_populates="events")
    days: Mapped[list[EventDay]] = relationship(
        back_populates="event", order_by="EventDay.day", cascade="all, delete-orphan"
    )

    @property
    def day_list(self) -> list[date]:
        return [d.day for d in self.days]

    @property
    def language_list(self) -> list[str]:
        """The event's languages, in its order ("en ko" -> ["en", "ko"])."""
        return self.languages.split()

    @property
    def interpretation_pair_list(self) -> list[tuple[str, str]]:
        """The interpreted pairs, in the event's order ("en-ko" -> [("en", "ko")])."""
        return [tuple(pair.split("-", 1)) for pair in self.interpretation_pairs.split()]  # type: ignore[misc]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def __repr__(self) -> str:
        return f"<Event {self.slug}>"


class EventDay(Model):
    """A day on which an event is held (dates in the event's own time zone)."""

    __table_args__ = (UniqueConstraint("event_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    day: Mapped[date]

    event: Mapped[Event] = relationship(back_populates="days")
