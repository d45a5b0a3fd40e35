"""Staff sessions kept on the server: a sign-in lasts as long as its row says it does.

Signing in adds a `StaffSession` row and puts a random token in the browser's signed session
cookie; the row keeps only the token's SHA-256. A request is signed in only while that row is
live:

- not ended: signing out ends it, and so does ending it from the "Your sessions" page;
  changing one's password ends every *other* session of the person, a password reset through
  an emailed link and a deactivation end all of them (a later reactivation brings none back:
  the person signs in afresh);
- used within the idle timeout: NKHR_STAFF_IDLE_MINUTES (30 by default), or DOOR_DAY_IDLE
  (12 hours) for someone whose only roles are at the door, on a day of one of their events in
  its own time zone, so that a phone lying on the check-in desk between arrivals stays signed
  in;
- begun less than NKHR_STAFF_SESSION_HOURS (12 by default) ago, however busy.

So a cookie copied before one of those moments gets nothing after it, on every process and host,
since they all read the same table. The session is not tied to the client's address or browser
string (a door phone moving from Wi-Fi to mobile data keeps its session); a copied cookie is
limited instead by rotation: a token older than ROTATE_INTERVAL (15 minutes) is replaced by a
new one on the next request, and the old one stops working at once. `last_seen_at` is written
at most every SEEN_INTERVAL (1 minute), not on every request. Rows that ended or ran out more
than KEEP_ENDED (30 days) ago are deleted by the retention purge (privacy/services.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, and_, delete, or_, select, update

from nkhr_events.accounts.access import memberships
from nkhr_events.accounts.models import SessionEnd, StaffSession, StaffUser, TeamRole
from nkhr_events.config import bounded_setting
from nkhr_events.database import rowcount
from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import Event, EventDay
from nkhr_events.extensions import db
from nkhr_events.tokens import new_token, token_hash

#: Idle minutes (NKHR_STAFF_IDLE_MINUTES) and hours from sign-in (NKHR_STAFF_SESSION_HOURS)
#: unless the settings say otherwise, and the bounds the settings must keep.
IDLE_MINUTES = 30
IDLE_MINUTES_BOUNDS = (5, 12 * 60)
SESSION_HOURS = 12
SESSION_HOURS_BOUNDS = (1, 7 * 24)
#: How long a door-only session may sit unused on a day of its event.
DOOR_DAY_IDLE = timedelta(hours=12)
#: How often use is written down; well under the shortest idle timeout.
SEEN_INTERVAL = timedelta(minutes=1)
#: How old a token grows before the next request replaces it.
ROTATE_INTERVAL = timedelta(minutes=15)
KEEP_ENDED = timedelta(days=30)


# --- settings -----------------------------------------------------------------------------------


def check_settings(config: Mapping[str, Any]) -> None:
    """Refuse to start with session settings out of bounds (raises ValueError), rather than
    sign everyone out at once or keep sessions alive for weeks."""
    bounded_setting(config, "NKHR_STAFF_IDLE_MINUTES", IDLE_MINUTES, IDLE_MINUTES_BOUNDS)
    bounded_setting(config, "NKHR_STAFF_SESSION_HOURS", SESSION_HOURS, SESSION_HOURS_BOUNDS)


def idle_timeout() -> timedelta:
    """How long an ordinary session may go unused (NKHR_STAFF_IDLE_MINUTES)."""
    return timedelta(minutes=bounded_setting(
        current_app.config, "NKHR_STAFF_IDLE_MINUTES", IDLE_MINUTES, IDLE_MINUTES_BOUNDS
    ))


def max_age() -> timedelta:
    """How long any session lasts from sign-in (NKHR_STAFF_SESSION_HOURS)."""
    return timedelta(hours=bounded_setting(
        current_app.config, "NKHR_STAFF_SESSION_HOURS", SESSION_HOURS, SESSION_HOURS_BOUNDS
    ))


def _longest_idle() -> timedelta:
    return max(idle_timeout(), DOOR_DAY_IDLE)


# --- which rows sign someone in -----------------------------------------------------------------


def _maybe_live(now: datetime) -> ColumnElement[bool]:
    """The rows of sessions that may still sign someone in at `now`: not ended, not past the
    absolute limit, and used within the longest idle timeout any session can have (whether
    this one has it is `_idle_ok`)."""
    return and_(
        StaffSession.ended_at.is_(None),
        StaffSession.last_seen_at > now - _longest_idle(),
        StaffSession.created_at > now - max_age(),
    )


def door_day(user: StaffUser, now: datetime | None = None) -> bool:
    """Whether the user's only roles are at the door and today, in the time zone of one of
    those events, is one of its days (a door role on every event: any event's day)."""
    if user.is_admin:
        return False
    members = memberships(user)
    if not members or any(m.role != TeamRole.DOOR for m in members):
        return False
    now = now or utcnow()
    query = select(Event.timezone, EventDay.day).join(EventDay, EventDay.event_id == Event.id)
    if all(m.event_id is not None for m in members):
        query = query.where(Event.id.in_([m.event_id for m in members]))
    utc_day = now.date()
    # Wherever an event is held, its today is within a day of UTC's.
    query = query.where(EventDay.day.between(utc_day - timedelta(days=1),
                                             utc_day + timedelta(days=1)))
    return any(now.astimezone(ZoneInfo(zone)).date() == day
               for zone, day in db.session.execute(query))


def idle_limit(user: StaffUser, now: datetime | None = None) -> timedelta:
    """How long this user's sessions may go unused at `now`."""
    ordinary = idle_timeout()
    return max(ordinary, DOOR_DAY_IDLE) if door_day(user, now) else ordinary


def _idle_ok(found: StaffSession, now: datetime) -> bool:
    """Whether the session was used recently enough; the door-day rule is looked up only for
    a session idle longer than the ordinary timeout."""
    if found.last_seen_at > now - idle_timeout():
        return True
    return found.last_seen_at > now - idle_limit(found.user, now)


# --- starting, using, rotating ------------------------------------------------------------------


def start_session(user: StaffUser, now: datetime | None = None) -> str:
    """A new session for a user who has just proven who they are; returns the token for the
    session cookie (the only place it is kept)."""
    now = now or utcnow()
    token = new_token()
    db.session.add(StaffSession(
        user_id=user.id, token_hash=token_hash(token), created_at=now, last_seen_at=now
    ))
    db.session.flush()
    return token


def live_session(token: str, user_id: int, now: datetime | None = None) -> StaffSession | None:
    """The live session of this token, if it belongs to `user_id` and the user is active."""
    if not token or len(token) > 100:
        return None
    now = now or utcnow()
    found = db.session.scalar(
        select(StaffSession).where(
            StaffSession.token_hash == token_hash(token),
            StaffSession.user_id == user_id,
            _maybe_live(now),
        )
    )
    if found is None or not found.user.active or not _idle_ok(found, now):
        return None
    return found


def known_token(token: str) -> bool:
    """Whether a session row (live or not) has this token: a token replaced by rotation has
    none, an ended session's has one."""
    if not token or len(token) > 100:
        return False
    return db.session.scalar(
        select(StaffSession.id).where(StaffSession.token_hash == token_hash(token))
    ) is not None


def mark_seen(found: StaffSession, now: datetime | None = None) -> bool:
    """Note that the session is in use, unless that was noted less than SEEN_INTERVAL ago;
    True when the row changed (the caller commits)."""
    now = now or utcnow()
    if found.last_seen_at > now - SEEN_INTERVAL:
        return False
    found.last_seen_at = now
    db.session.flush()
    return True


def rotation_due(found: StaffSession, issued_at: datetime | None, now: datetime | None = None
                 ) -> bool:
    """Whether the token the request came with is ROTATE_INTERVAL old (`issued_at`: when it
    was handed out; None for the sign-in's own token, which is as old as the session)."""
    return (issued_at or found.created_at) <= (now or utcnow()) - ROTATE_INTERVAL


def rotate(found: StaffSession, token: str) -> str | None:
    """Replace the session's token with a new one and return it (the caller commits and puts
    it in the cookie); None when a request running at the same time replaced it first, and
    this one goes on with the token it came with until its browser has the new one."""
    fresh = new_token()
    changed = rowcount(db.session.execute(
        update(StaffSession)
        .where(StaffSession.id == found.id, StaffSession.token_hash == token_hash(token))
        .values(token_hash=token_hash(fresh))
        .execution_options(synchronize_session=False)
    ))
    if not changed:
        return None
    found.token_hash = token_hash(fresh)
    return fresh


# --- ending -------------------------------------------------------------------------------------


def _end(condition: ColumnElement[bool], reason: SessionEnd, now: datetime) -> int:
    return rowcount(db.session.execute(
        update(StaffSession)
        .where(condition, _maybe_live(now))
        .values(ended_at=now, ended_reason=reason)
        .execution_options(synchronize_session=False)
    ))


def end_session(token: str, reason: SessionEnd, now: datetime | None = None) -> None:
    """End the session of this token (signing out), if it is still live."""
    if token:
        _end(StaffSession.token_hash == token_hash(token), reason, now or utcnow())


def end_session_of(user: StaffUser, session_id: int, reason: SessionEnd,
                   now: datetime | None = None) -> bool:
    """End one of the user's own sessions by its id; False when it is not theirs or no longer
    live."""
    condition = and_(StaffSession.id == session_id, StaffSession.user_id == user.id)
    return _end(condition, reason, now or utcnow()) > 0


def end_sessions(
    user: StaffUser, reason: SessionEnd, keep: str = "", now: datetime | None = None
) -> int:
    """End every live session of the user but the one of token `keep`; returns how many."""
    condition = StaffSession.user_id == user.id
    if keep:
        condition = and_(condition, StaffSession.token_hash != token_hash(keep))
    return _end(condition, reason, now or utcnow())


def live_sessions(user: StaffUser, now: datetime | None = None) -> list[StaffSession]:
    """The user's live sessions, the most recently used first."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(StaffSession)
        .where(StaffSession.user_id == user.id, _maybe_live(now))
        .order_by(StaffSession.last_seen_at.desc(), StaffSession.id.desc())
    )
    return [row for row in rows if _idle_ok(row, now)] if user.active else []


def live_session_count(user: StaffUser, now: datetime | None = None) -> int:
    return len(live_sessions(user, now))


def purge_sessions(now: datetime | None = None) -> int:
    """Delete the sessions that ended or ran out more than KEEP_ENDED ago; returns how many."""
    before = (now or utcnow()) - KEEP_ENDED
    return rowcount(db.session.execute(
        delete(StaffSession)
        .where(or_(
            StaffSession.ended_at < before,
            StaffSession.last_seen_at < before - _longest_idle(),
            StaffSession.created_at < before - max_age(),
        ))
        .execution_options(synchronize_session=False)
    ))
