"""Invitations and seat reservations.

A `SeatReservation` holds places of one category of one event until a deadline: it counts
against the event's capacity and the category's cap exactly like a confirmed or pending
registration (registrations/seats.py counts it under the seat lock). An invitation may bring
one; partner blocks and delegations hold theirs the same way (`places` may be more than one).
A reservation stops holding places when it is used up, declined, revoked or lapses; a lapsed
one counts for nothing from its deadline on, whether or not the periodic release has marked it.

An `Invitation` is a single-use link for one address into an invitation-only category. Each
email that carries the link gets a token of its own (`InvitationToken`, only its hash stored).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, and_
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from nkhr_events import names
from nkhr_events.dbtypes import UTCDateTime, utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import Model
from nkhr_events.registrations.models import Registration


def shown_hold_end(held_until: datetime, zone: tzinfo) -> datetime:
    """The end of a hold as people read it. Staff hold a seat "until (inclusive)" a day, stored
    as the next midnight on the event's clock; written as that midnight it reads as the wrong
    day ("Dec 17, 12:00 AM"), so it is shown as the last minute of the day chosen."""
    local = held_until.astimezone(zone)
    if local.timetz().replace(tzinfo=None) == time.min:
        return held_until - timedelta(minutes=1)
    return held_until


class ReleaseReason(StrEnum):
    """Why a reservation no longer holds its places."""

    USED = "used"  # every place was taken by a registration
    LAPSED = "lapsed"  # its deadline passed
    DECLINED = "declined"  # the invitee declined
    REVOKED = "revoked"  # staff withdrew it


class SeatReservation(Model):
    """Places of one category held for someone until `held_until`."""

    __tablename__ = "seat_reservation"
    __table_args__ = (
        CheckConstraint("places >= 0", name="places_not_negative"),
        Index("ix_seat_reservation_event_open", "event_id", "released_at", "held_until"),
        Index("ix_seat_reservation_held_until", "held_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    #: Places still held (a registration that uses one takes it off).
    places: Mapped[int] = mapped_column(default=1)
    held_until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A `ReleaseReason` once released.
    release_reason: Mapped[str | None] = mapped_column(String(16))

    event: Mapped[Event] = relationship()

    @staticmethod
    def holding(now: datetime) -> ColumnElement[bool]:
        """In SQL, what `holds_places(now)` says in Python."""
        return and_(
            SeatReservation.released_at.is_(None),
            SeatReservation.places > 0,
            SeatReservation.held_until > now,
        )

    def holds_places(self, now: datetime) -> bool:
        return self.released_at is None and self.places > 0 and self.held_until > now

    @property
    def shown_until(self) -> datetime:
        """`held_until` as pages and emails write it (`shown_hold_end`)."""
        return shown_hold_end(self.held_until, self.event.zone)


class InvitationStatus(StrEnum):
    SENT = "sent"
    OPENED = "opened"  # the link was visited (no tracking pixel: the page itself)
    REGISTERED = "registered"
    DECLINED = "declined"
    REVOKED = "revoked"  # by staff
    EXPIRED = "expired"  # never stored: sent or opened, and past `expires_at`


#: Stored statuses in which the link still works (until it expires).
OPEN_STATUSES = (InvitationStatus.SENT, InvitationStatus.OPENED)
#: Every status the list shows, in its order.
LISTED_STATUSES = (
    InvitationStatus.SENT,
    InvitationStatus.OPENED,
    InvitationStatus.REGISTERED,
    InvitationStatus.DECLINED,
    InvitationStatus.EXPIRED,
    InvitationStatus.REVOKED,
)


class Invitation(Model):
    """An invitation of one address to one event, in one invitation-only category."""

    __table_args__ = (
        CheckConstraint(
            "status in ('sent', 'opened', 'registered', 'declined', 'revoked')", name="status"
        ),
        # One open invitation per (event, address) is the service's rule, checked under the
        # event's seat lock (an expired one stays "sent" and must not block a new one).
        Index("ix_invitation_event_email", "event_id", "email_key"),
        Index("ix_invitation_event_status", "event_id", "status"),
        Index("ix_invitation_deadline", "status", "remind_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="en")
    category: Mapped[str] = mapped_column(String(32))
    organization: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=InvitationStatus.SENT)
    #: The link works until then (never after the event starts).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("seat_reservation.id", ondelete="SET NULL")
    )
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_count: Mapped[int] = mapped_column(default=1)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the reminder is due (None: none is due, or it was sent).
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    reservation: Mapped[SeatReservation | None] = relationship()
    registration: Mapped[Registration | None] = relationship()

    @property
    def deadline(self) -> datetime:
        """What the invitee must answer by: the reserved seat's hold, else the link's end."""
        if self.reservation is not None and self.reservation.released_at is None:
            return min(self.reservation.held_until, self.expires_at)
        return self.expires_at

    def shown_status(self, now: datetime | None = None) -> InvitationStatus:
        """The status as the list shows it: an open invitation past its end is expired."""
        if self.status in OPEN_STATUSES and self.expires_at <= (now or utcnow()):
            return InvitationStatus.EXPIRED
        return InvitationStatus(self.status)

    @staticmethod
    def shown_as(status: InvitationStatus, now: datetime) -> ColumnElement[bool]:
        """In SQL, `shown_status(now) == status`."""
        if status == InvitationStatus.EXPIRED:
            return and_(Invitation.status.in_(OPEN_STATUSES), Invitation.expires_at <= now)
        if status in OPEN_STATUSES:
            return and_(Invitation.status == status, Invitation.expires_at > now)
        return Invitation.status == status

    @property
    def greeting_name(self) -> str:
        given, family = split_name(self.name, self.language)
        return names.greeting_name(given, family) if given or family else self.name


class InvitationToken(Model):
    """One emailed link of an invitation; only a SHA-256 of the token is stored."""

    __tablename__ = "invitation_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitation.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invitation: Mapped[Invitation] = relationship()


def _is_hangul(text: str) -> bool:
    return all("\uac00" <= ch <= "\ud7a3" for ch in text)


def split_name(name: str, language: str) -> tuple[str, str]:
    """A guess at (given, family) from one written name, to fill in the form (the invitee
    corrects it): "Ada Lovelace" → ("Ada", "Lovelace"); "김 민지", "山田 花子" → family first;
    "김민지" → ("민지", "김"); anything else whole as the given name."""
    parts = name.split()
    if len(parts) >= 2:
        if language in ("ko", "ja") or not parts[0].isascii():
            return " ".join(parts[1:]), parts[0]
        return " ".join(parts[:-1]), parts[-1]
    if parts and _is_hangul(parts[0]) and 2 <= len(parts[0]) <= 4:
        return parts[0][1:], parts[0][0]
    return name.strip(), ""


class GroupKind(StrEnum):
    DELEGATION = "delegation"  # a focal point registers their group
    PARTNER = "partner"  # places given to an approved co-organizer or sponsor


class GroupStatus(StrEnum):
    OPEN = "open"
    REVOKED = "revoked"  # by staff: the link stops working, unused places are released


class RegistrationGroup(Model):
    """A block of places of one category that one contact fills: a delegation registered by
    its focal point, or a partner's places. The places are held by `reservation` until
    `changes_until`; each member registered through the contact's link takes one of them, and
    until `changes_until` the contact may replace or remove a member (their place returns to
    the block). Members are registrations with `group_id` set; a member may have no email
    address of their own, and then their emails go to the contact."""

    __tablename__ = "registration_group"
    __table_args__ = (
        CheckConstraint("kind in ('delegation', 'partner')", name="kind"),
        CheckConstraint("status in ('open', 'revoked')", name="status"),
        CheckConstraint("places > 0", name="places_positive"),
        Index("ix_registration_group_event", "event_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    #: What the group is called on staff pages and in its emails ("Ministry of … delegation").
    name: Mapped[str] = mapped_column(String(200))
    #: The partnership whose places these are (kind "partner").
    partnership_id: Mapped[int | None] = mapped_column(
        ForeignKey("partnership.id", ondelete="SET NULL"), index=True
    )
    category: Mapped[str] = mapped_column(String(32))
    #: How many people the group may register (its reserved places at the start).
    places: Mapped[int]
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("seat_reservation.id", ondelete="SET NULL")
    )
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_email_key: Mapped[str] = mapped_column(String(254), index=True)
    contact_language: Mapped[str] = mapped_column(String(5), default="en")
    #: Members are added, replaced or removed until then; unused places are released then.
    changes_until: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=GroupStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set when the contact's details were erased (privacy/services.py).
    contact_anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    reservation: Mapped[SeatReservation | None] = relationship()

    def open_for_changes(self, now: datetime) -> bool:
        return self.status == GroupStatus.OPEN and now < self.changes_until


class RegistrationGroupToken(Model):
    """One emailed link of a group's contact; only a SHA-256 of the token is stored."""

    __tablename__ = "registration_group_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("registration_group.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[RegistrationGroup] = relationship()
