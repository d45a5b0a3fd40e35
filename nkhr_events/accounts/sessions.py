"""Staff sessions kept on the server: a sign-in lasts as long as its row says it does.

Signing in adds a `StaffSession` row and puts a random token in the browser's signed session
cookie; the row keeps only the token's SHA-256. A request is signed in only while that row is
live:

- not ended: signing out ends it, changing one's password ends every *other* session of the
  person, a password reset through an emailed link and a deactivation end all of them (a later
  reactivation brings none back: the person signs in afresh);
- used within IDLE_TIMEOUT (12 hours: a long conference day at the door without signing in
  again, not the next morning);
- begun less than MAX_AGE ago (7 days), however busy.

So a cookie copied before one of those moments gets nothing after it, on every process and host,
since they all read the same table. `last_seen_at` is written at most every SEEN_INTERVAL
(5 minutes), not on every request. Rows that ended or ran out more than KEEP_ENDED (30 days) ago
are deleted by the retention purge (privacy/services.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update

from nkhr_events.accounts.models import SessionEnd, StaffSession, StaffUser
from nkhr_events.database import rowcount
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.tokens import new_token, token_hash

IDLE_TIMEOUT = timedelta(hours=12)
MAX_AGE = timedelta(days=7)
SEEN_INTERVAL = timedelta(minutes=5)
KEEP_ENDED = timedelta(days=30)


def _live(now: datetime) -> ColumnElement[bool]:
    """The rows of sessions that still sign someone in at `now`."""
    return and_(
        StaffSession.ended_at.is_(None),
        StaffSession.last_seen_at > now - IDLE_TIMEOUT,
        StaffSession.created_at > now - MAX_AGE,
    )


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
    found = db.session.scalar(
        select(StaffSession).where(
            StaffSession.token_hash == token_hash(token),
            StaffSession.user_id == user_id,
            _live(now or utcnow()),
        )
    )
    if found is None or not found.user.active:
        return None
    return found


def mark_seen(found: StaffSession, now: datetime | None = None) -> bool:
    """Note that the session is in use, unless that was noted less than SEEN_INTERVAL ago;
    True when the row changed (the caller commits)."""
    now = now or utcnow()
    if found.last_seen_at > now - SEEN_INTERVAL:
        return False
    found.last_seen_at = now
    db.session.flush()
    return True


def _end(condition: ColumnElement[bool], reason: SessionEnd, now: datetime) -> int:
    return rowcount(db.session.execute(
        update(StaffSession)
        .where(condition, _live(now))
        .values(ended_at=now, ended_reason=reason)
        .execution_options(synchronize_session=False)
    ))


def end_session(token: str, reason: SessionEnd, now: datetime | None = None) -> None:
    """End the session of this token (signing out), if it is still live."""
    if token:
        _end(StaffSession.token_hash == token_hash(token), reason, now or utcnow())


def end_sessions(
    user: StaffUser, reason: SessionEnd, keep: str = "", now: datetime | None = None
) -> int:
    """End every live session of the user but the one of token `keep`; returns how many."""
    condition = StaffSession.user_id == user.id
    if keep:
        condition = and_(condition, StaffSession.token_hash != token_hash(keep))
    return _end(condition, reason, now or utcnow())


def live_session_count(user: StaffUser, now: datetime | None = None) -> int:
    return db.session.scalar(
        select(func.count(StaffSession.id)).where(
            StaffSession.user_id == user.id, _live(now or utcnow())
        )
    ) or 0


def purge_sessions(now: datetime | None = None) -> int:
    """Delete the sessions that ended or ran out more than KEEP_ENDED ago; returns how many."""
    before = (now or utcnow()) - KEEP_ENDED
    return rowcount(db.session.execute(
        delete(StaffSession)
        .where(or_(
            StaffSession.ended_at < before,
            StaffSession.last_seen_at < before - IDLE_TIMEOUT,
            StaffSession.created_at < before - MAX_AGE,
        ))
        .execution_options(synchronize_session=False)
    ))
