"""The private manage link: a token per email, only its hash stored, valid until some time
after the event (then the link answers 404 like any unknown one)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.registrations.models import ManageToken, Registration
from nkhr_events.tokens import new_token, token_hash

#: How long after an event's last day its manage links keep working.
TOKEN_LIFETIME_AFTER_EVENT = timedelta(days=180)


def issue_manage_token(registration: Registration) -> str:
    """A new private link token (256 bits); only its hash is stored."""
    token = new_token()
    last_day = registration.event.end_date
    expires = datetime.combine(last_day, time.max, tzinfo=UTC) + TOKEN_LIFETIME_AFTER_EVENT
    db.session.add(
        ManageToken(registration=registration, token_hash=token_hash(token), expires_at=expires)
    )  # written with the email that carries it (or at the next query or commit)
    return token


def registration_for_token(token: str, now: datetime | None = None) -> Registration | None:
    """The registration a link token opens, or None for an unknown or expired token."""
    if not token or len(token) > 100:
        return None
    found = db.session.scalar(
        select(ManageToken).where(ManageToken.token_hash == token_hash(token))
    )
    if found is None or found.expires_at <= (now or utcnow()):
        return None
    return found.registration
