"""Domain errors: raised by services, turned into messages by views."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request; `field` names the form field at fault, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
