"""Domain errors: raised by services, turned into messages by views."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request; `field` names the form field at fault, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Busy(DomainError):
    """A lock held by other requests did not come free in time. Nothing was changed, and the
    same request sent again a moment later normally succeeds: pages answer 503 with
    `Retry-After`, keeping what was typed (web.py answers any a view lets through)."""

    #: Seconds a client is asked to wait before it tries again.
    retry_after = 5
