"""The sign-in throttle: growing waits per typed address *and* client address, never a lock.

Failures are counted per pair (the address as typed and normalised, whether or not an account
has it; the client's IP address) from the audit trail, which keeps every failed sign-in with
both, in the shared database: every process and host sees the same count. A pair's first
FREE_FAILURES failures cost nothing; after each further one the pair waits FIRST_WAIT, then
twice as long each time (30 s, 1, 2, 4, 8 minutes), at most LONGEST_WAIT (15 minutes).
Only failures of the last WINDOW (a day) count, and only those since the pair's last success
or the address's last password reset.

Failures from one client never make another client wait, so nobody can lock a staff member
out from elsewhere; guessing from many clients at once is left to the per-client rate limits
of the sign-in route and to long passwords.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select

from nkhr_events.audit.models import AuditEntry
from nkhr_events.extensions import db

FREE_FAILURES = 3
FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(minutes=15)
WINDOW = timedelta(days=1)

# Audit actions the throttle reads.
SIGN_IN = "auth.sign_in"
SIGN_IN_FAILED = "auth.sign_in_failed"
PASSWORD_RESET = "account.password_reset"


def wait_after(failures: int) -> timedelta:
    """How long a pair waits after its `failures`-th counted failure."""
    if failures <= FREE_FAILURES:
        return timedelta(0)
    doublings = min(failures - FREE_FAILURES - 1, 10)  # 30 s × 2¹⁰ is past the cap already
    factor: int = 2**doublings  # doublings >= 0: an int (typed Any, as a power may be a float)
    return min(FIRST_WAIT * factor, LONGEST_WAIT)


def client_ip(client: str) -> str | None:
    """The client address as the audit trail keeps it."""
    return client[:45] or None


def _sent_from(client: str) -> ColumnElement[bool]:
    ip = client_ip(client)
    return AuditEntry.ip.is_(None) if ip is None else AuditEntry.ip == ip


def wait_until(address: str, client: str, now: datetime) -> datetime | None:
    """When this client may next try this address, if that is later than `now`."""
    db.session.flush()
    window = and_(AuditEntry.actor == address, AuditEntry.at > now - WINDOW,
                  AuditEntry.at <= now)
    cleared = db.session.scalar(
        select(func.max(AuditEntry.at)).where(
            window,
            or_(AuditEntry.action == PASSWORD_RESET,
                and_(AuditEntry.action == SIGN_IN, _sent_from(client))),
        )
    )
    conditions = [window, AuditEntry.action == SIGN_IN_FAILED, _sent_from(client)]
    if cleared is not None:
        conditions.append(AuditEntry.at > cleared)
    count, last = db.session.execute(
        select(func.count(AuditEntry.id), func.max(AuditEntry.at)).where(*conditions)
    ).one()
    if not count:
        return None
    until = last + wait_after(count)
    return until if until > now else None


@dataclass(frozen=True)
class RecentFailures:
    """Failed sign-ins with an address in the last WINDOW, and how many clients sent them."""

    count: int
    clients: int


def recent_failures(address: str, now: datetime) -> RecentFailures:
    count, clients = db.session.execute(
        select(func.count(AuditEntry.id), func.count(AuditEntry.ip.distinct())).where(
            AuditEntry.action == SIGN_IN_FAILED,
            AuditEntry.actor == address,
            AuditEntry.at > now - WINDOW,
        )
    ).one()
    return RecentFailures(count or 0, clients or 0)
