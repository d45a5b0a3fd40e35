"""Mail requests: address lookups taken out of the web request (see `MailRequest`).

A domain registers a resolver per kind; the outbox worker runs `resolve_requests()` before each
batch. A row is claimed by deleting it, in the transaction that enqueues the resulting mail, so
two workers never resolve one request twice and a crash leaves it to be resolved again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import delete, select

from nkhr_events.extensions import db
from nkhr_events.outbox.models import MailRequest

logger = logging.getLogger(__name__)

#: kind -> resolver(email, language); the resolver enqueues mail (or nothing) and never commits.
Resolver = Callable[[str, str], None]
_RESOLVERS: dict[str, Resolver] = {}


def resolver(kind: str) -> Callable[[Resolver], Resolver]:
    """Register the function that resolves requests of `kind`."""

    def register(function: Resolver) -> Resolver:
        _RESOLVERS[kind] = function
        return function

    return register


def request_mail(kind: str, email: str, language: str) -> None:
    """Queue a lookup in the caller's transaction; the same work whatever the address."""
    if kind not in _RESOLVERS:
        raise ValueError(f"no resolver for mail requests of kind {kind!r}")
    db.session.add(MailRequest(kind=kind, email=email[:254], language=language[:8]))
    db.session.flush()


def resolve_requests(limit: int = 100) -> int:
    """Resolve waiting requests, oldest first, each in its own transaction. Returns how many
    this call resolved."""
    ids = db.session.scalars(select(MailRequest.id).order_by(MailRequest.id).limit(limit)).all()
    db.session.rollback()
    resolved = 0
    for request_id in ids:
        claimed = db.session.execute(
            delete(MailRequest)
            .where(MailRequest.id == request_id)
            .returning(MailRequest.kind, MailRequest.email, MailRequest.language)
        ).first()
        if claimed is None:  # another worker resolved it first
            db.session.rollback()
            continue
        kind, email, language = claimed
        try:
            _RESOLVERS[kind](email, language)
            db.session.commit()
            resolved += 1
        except Exception:
            # A request that cannot be resolved must not block the ones after it; it is
            # dropped (its address is not logged).
            db.session.rollback()
            logger.exception("Mail request %s (%s) could not be resolved; dropped", request_id,
                             kind)
            db.session.execute(delete(MailRequest).where(MailRequest.id == request_id))
            db.session.commit()
    return resolved
