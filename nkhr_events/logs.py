"""Logs that never carry a secret.

Manage links, check-in references and password reset links are bearer secrets inside URL paths:
whoever reads a log line with one can cancel a registration, see a person's needs or take over
a staff account. Every log line the app or the development server writes passes through
`redact`, so such a path is logged as e.g. `/registration/[redacted]/cancel`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.serving import WSGIRequestHandler

REDACTED = "[redacted]"

#: Path segments that are secrets: the segment after each prefix. `/registration/lost-link` is
#: a public page, not a token.
#: A slash may be percent-encoded, as in a `?next=` query.
_SLASH = r"(?:/|%2[fF])"
_SECRET_PATH = re.compile(
    rf"(?P<prefix>{_SLASH}registration{_SLASH}(?!lost-link(?:[/?#&%\s\"']|$))"
    rf"|{_SLASH}reset-password{_SLASH}"
    rf"|{_SLASH}manage{_SLASH}checkin{_SLASH})"
    r"(?P<secret>[^/?#&%\s\"'<>]+)"
)


def redact(text: str) -> str:
    """`text` with every secret path segment replaced by a marker."""
    return _SECRET_PATH.sub(lambda match: match.group("prefix") + REDACTED, text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def _redacting_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        try:
            # Formatted here, so that an argument whose str() holds a path is covered too.
            message = record.getMessage()
        except Exception:  # noqa: BLE001  (a malformed call is reported by the handler)
            return record
        record.msg, record.args = redact(message), ()
        return record

    make_record.redacts = True  # type: ignore[attr-defined]
    return make_record


def init_app(app: Flask) -> None:
    """Redact every log record when it is made, whichever logger or handler it goes to.

    A record factory, not a logging.Filter: a filter on a logger misses records its child
    loggers pass up, and a filter on a handler misses handlers attached later.
    """
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "redacts", False):
        logging.setLogRecordFactory(_redacting_factory(factory))
    # SQL statements with their parameters (names, addresses) are logged only when someone
    # sets this logger's level on purpose, not because the root logger is at DEBUG.
    sql_logger = logging.getLogger("sqlalchemy")
    if sql_logger.level == logging.NOTSET:
        sql_logger.setLevel(logging.WARNING)


class RedactingRequestHandler(WSGIRequestHandler):
    """The development server's request handler; its access and error lines are redacted."""

    def log(self, type: str, message: str, *args: Any) -> None:
        # log_request and log_error both end here with the request line among the arguments.
        super().log(type, redact(message), *(_redact_value(arg) for arg in args))
