"""Registrations of attendees, the per-event settings of each category, and manage tokens."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    DDL,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nkhr_events import names
from nkhr_events.dbtypes import EncryptedJSON, EncryptedText, UTCDateTime, utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import Model, db


class RegistrationStatus(StrEnum):
    PENDING = "pending"  # awaiting review; holds a seat
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"  # by the attendee
    REJECTED = "rejected"  # by an organizer


#: Statuses that count as "registered" for the one-registration-per-address rule.
ACTIVE_STATUSES = (
    RegistrationStatus.PENDING,
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.WAITLISTED,
)
#: Statuses that hold a seat.
SEAT_STATUSES = (RegistrationStatus.PENDING, RegistrationStatus.CONFIRMED)


class CancelReason(StrEnum):
    """Why a cancelled registration was cancelled, where it was not the attendee's own act."""

    EMAIL_NOT_CONFIRMED = "email_not_confirmed"  # released: the address was not confirmed
    FLOOD = "flood"  # cancelled by staff with a flood of registrations

#: How the `email_key` of a registration without an address starts (followed by a random
#: part): never a valid address's key, and unique, so the one-registration-per-address rule
#: leaves such registrations alone.
NO_EMAIL_PREFIX = "none:"

_ACTIVE_SQL = "status in ('pending', 'confirmed', 'waitlisted')"


class EventCategory(Model):
    """How one participant category registers for one event."""

    __tablename__ = "event_category"
    __table_args__ = (
        UniqueConstraint("event_id", "category"),
        CheckConstraint("seat_cap is null or seat_cap >= 0", name="seat_cap_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(default=True)
    seat_cap: Mapped[int | None]
    needs_review: Mapped[bool] = mapped_column(default=False)
    extra_question: Mapped[str | None] = mapped_column(String(300))
    extra_question_ko: Mapped[str | None] = mapped_column(String(300))
    extra_question_ja: Mapped[str | None] = mapped_column(String(300))
    #: Not offered on the public form: only an invitation (invitations/) registers into it.
    by_invitation: Mapped[bool] = mapped_column(default=False, server_default=db.false())

    event: Mapped[Event] = relationship()


class Registration(names.WrittenName, Model):
    __table_args__ = (
        CheckConstraint(
            "status in ('pending', 'confirmed', 'waitlisted', 'cancelled', 'rejected')",
            name="status",
        ),
        # One active registration per (event, address): the database enforces it under races.
        Index(
            "uq_registration_active_email",
            "event_id",
            "email_key",
            unique=True,
            sqlite_where=db.text(_ACTIVE_SQL),
            postgresql_where=db.text(_ACTIVE_SQL),
        ),
        Index("ix_registration_event_status", "event_id", "status", "category"),
        # The roster's default order: any page, the last included, is read from the index.
        Index("ix_registration_event_created", "event_id", "created_at", "id"),
        # Holds whose time is up are found by their deadline (the column is empty otherwise).
        Index("ix_registration_confirm_by", "confirm_by"),
        # Lists of one event by name, in the default order, are read from the index.
        Index("ix_registration_event_name_sort", "event_id", "name_sort"),
        # An event's registration ids from the index alone: the rows that point at a
        # registration (check-ins, days) are found by event through it, without the table.
        Index("ix_registration_event_ids", "event_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    badge_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    organization: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    language: Mapped[str] = mapped_column(String(5), default="en")
    answers: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    interpretation: Mapped[str] = mapped_column(String(8), default="none")
    #: Special-category data: stored encrypted (dbtypes.py, encryption.py), read as plain text.
    accessibility_needs: Mapped[str] = mapped_column(EncryptedText, default="")
    dietary_needs: Mapped[str] = mapped_column(EncryptedText, default="")
    privacy_consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    publish_name: Mapped[bool] = mapped_column(default=False)
    photo_consent: Mapped[bool] = mapped_column(default=False)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    sequence: Mapped[int] = mapped_column(default=0)  # calendar SEQUENCE, bumped on change
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Staff-only notes about the registration (encrypted like the needs).
    internal_notes: Mapped[str] = mapped_column(EncryptedText, default="", server_default="")
    #: Random salt of the check-in code; the code is an HMAC of it under the secret key, so the
    #: QR code can be drawn again at any time while the database alone cannot forge one.
    checkin_salt: Mapped[str | None] = mapped_column(String(32))
    #: "Do not publish or photograph me": kept off every list and name-bearing badge layout.
    do_not_publish: Mapped[bool] = mapped_column(default=False, server_default=db.false())
    #: Set when the personal fields were anonymized (erasure or retention).
    anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the attendee confirmed the address through their private link (holds.py).
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: While the address is unconfirmed in an event that asks for it: the place is released
    #: at this time. Empty once confirmed, and for events that do not ask.
    confirm_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A `CancelReason` for a registration cancelled by a release or by staff; empty otherwise.
    cancel_reason: Mapped[str | None] = mapped_column(String(32))
    #: The name folded for searches, in both orders (names.name_search_key); kept up to date
    #: by `_keep_name_search_key` whenever the name changes.
    name_search: Mapped[str] = mapped_column(String(420), default="", server_default="")
    #: What lists sort by: family then given name as a collation key in hex
    #: (names.name_sort_key), kept up to date by `_keep_name_search_key`. Compared byte by
    #: byte ("C") on PostgreSQL, whatever the database's collation.
    name_sort: Mapped[str] = mapped_column(
        String(names.NAME_SORT_LENGTH).with_variant(
            String(names.NAME_SORT_LENGTH, collation="C"), "postgresql"
        ),
        default="",
        server_default="",
    )

    #: The delegation or partner block (invitations/models.py, `RegistrationGroup`) whose
    #: contact registered this person; empty for everyone else.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration_group.id", ondelete="SET NULL"), index=True
    )
    #: A protected guest, registered by staff without an email address: the name fields hold
    #: the pseudonym the staff chose (what badges, lists, the door and exports show) and the
    #: real name is kept encrypted in `real_name`, shown only to admins and the event's
    #: organizers.
    protected: Mapped[bool] = mapped_column(default=False, server_default=db.false())
    real_name: Mapped[str] = mapped_column(EncryptedText, default="", server_default="")

    event: Mapped[Event] = relationship()
    days: Mapped[list[RegistrationDay]] = relationship(
        back_populates="registration",
        order_by="RegistrationDay.day",
        cascade="all, delete-orphan",
    )

    @property
    def day_list(self) -> list[date]:
        return [d.day for d in self.days]

    @property
    def has_email(self) -> bool:
        """False for a protected guest or a group member registered without an address
        (their `email` is empty and `email_key` a unique placeholder, `NO_EMAIL_PREFIX`)."""
        return bool(self.email)

    @property
    def holds_seat(self) -> bool:
        return self.status in SEAT_STATUSES

    @property
    def awaits_email_confirmation(self) -> bool:
        """Active, and kept only if the attendee confirms the address by `confirm_by`."""
        return (
            self.confirm_by is not None
            and self.email_confirmed_at is None
            and self.status in ACTIVE_STATUSES
        )

    def __repr__(self) -> str:
        return f"<Registration {self.id} {self.status}>"


@sa_event.listens_for(Registration, "before_insert")
@sa_event.listens_for(Registration, "before_update")
def _keep_name_search_key(_mapper: Any, _connection: Any, target: Registration) -> None:
    target.name_search = names.name_search_key(target.given_name, target.family_name)
    target.name_sort = names.name_sort_key(target.given_name, target.family_name)


class EventSeatCount(Model):
    """Seats held (pending + confirmed registrations) per event and category, kept by the
    database itself: triggers on `registration` (`SEAT_COUNT_TRIGGERS`) add and take away one
    for every row that enters or leaves a seat status, changes category or is deleted, whatever
    code writes it. So the seat check under the seat lock reads a few rows instead of counting
    every seat holder of the event (registrations/seats.py `seats_taken`; tests recount)."""

    __tablename__ = "event_seat_count"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    held: Mapped[int] = mapped_column(default=0, server_default="0")


_SEAT_SQL = "('pending', 'confirmed')"

#: The triggers that keep `event_seat_count`, per dialect (the migration that introduced them,
#: c23a0a1b0001, holds the same statements).
SEAT_COUNT_TRIGGERS: dict[str, tuple[str, ...]] = {
    "sqlite": (
        f"""CREATE TRIGGER registration_seat_count_insert AFTER INSERT ON registration
WHEN NEW.status IN {_SEAT_SQL}
BEGIN
  INSERT INTO event_seat_count (event_id, category, held) VALUES (NEW.event_id, NEW.category, 1)
  ON CONFLICT (event_id, category) DO UPDATE SET held = held + 1;
END""",
        f"""CREATE TRIGGER registration_seat_count_delete AFTER DELETE ON registration
WHEN OLD.status IN {_SEAT_SQL}
BEGIN
  UPDATE event_seat_count SET held = held - 1
  WHERE event_id = OLD.event_id AND category = OLD.category;
END""",
        f"""CREATE TRIGGER registration_seat_count_update
AFTER UPDATE OF status, category, event_id ON registration
WHEN (OLD.status IN {_SEAT_SQL}) != (NEW.status IN {_SEAT_SQL})
  OR OLD.category != NEW.category OR OLD.event_id != NEW.event_id
BEGIN
  UPDATE event_seat_count SET held = held - 1
  WHERE OLD.status IN {_SEAT_SQL} AND event_id = OLD.event_id AND category = OLD.category;
  INSERT INTO event_seat_count (event_id, category, held)
  SELECT NEW.event_id, NEW.category, 1 WHERE NEW.status IN {_SEAT_SQL}
  ON CONFLICT (event_id, category) DO UPDATE SET held = held + 1;
END""",
    ),
    "postgresql": (
        f"""CREATE OR REPLACE FUNCTION registration_seat_count() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (OLD.status IN {_SEAT_SQL}) = (NEW.status IN {_SEAT_SQL})
     AND OLD.category = NEW.category AND OLD.event_id = NEW.event_id THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN {_SEAT_SQL} THEN
    UPDATE event_seat_count SET held = held - 1
    WHERE event_id = OLD.event_id AND category = OLD.category;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN {_SEAT_SQL} THEN
    INSERT INTO event_seat_count (event_id, category, held)
    VALUES (NEW.event_id, NEW.category, 1)
    ON CONFLICT (event_id, category) DO UPDATE SET held = event_seat_count.held + 1;
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql""",
        """CREATE TRIGGER registration_seat_count
AFTER INSERT OR DELETE OR UPDATE OF status, category, event_id ON registration
FOR EACH ROW EXECUTE FUNCTION registration_seat_count()""",
    ),
}

for _dialect, _statements in SEAT_COUNT_TRIGGERS.items():
    for _statement in _statements:
        # Databases made from the models (tests, `flask init-db`) get them as well.
        sa_event.listen(
            Registration.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect)
        )


class RegistrationDay(Model):
    """A day of a multi-day event that the registrant attends."""

    __tablename__ = "registration_day"
    __table_args__ = (UniqueConstraint("registration_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[date]

    registration: Mapped[Registration] = relationship(back_populates="days")


class ManageToken(Model):
    """A private link to a registration. Only a SHA-256 of the token is stored.

    Every email that carries a link gets a token of its own, so sending the link again never
    breaks a link sent before.
    """

    __tablename__ = "manage_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    registration: Mapped[Registration] = relationship()

