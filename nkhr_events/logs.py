"""Logs that never carry a secret.

Manage links, check-in references and password reset links are bearer secrets inside URL paths:
whoever reads a log line with one can cancel a registration, see a person's needs or take over
a staff account. Every log line the app or the development server writes passes through
`redact`, so such a path is logged as e.g. `/registration/[redacted]/cancel`.

Every request has an id (`X-Request-ID`, echoed in the response) that every line logged while
it is handled carries, so that the lines of one request can be found among many processes.
Lines are JSON objects (one per line, for a log collector) or plain text (NKHR_LOG_FORMAT;
text in development, JSON otherwise).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import Flask, current_app, g, has_request_context, request
from flask.logging import default_handler
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Response

REDACTED = "[redacted]"
REQUEST_ID_HEADER = "X-Request-ID"
#: What an incoming request id may look like: a UUID, nginx's $request_id, a trace id. Anything
#: else (too long, spaces, quotes, line breaks) is replaced, so it cannot forge log lines.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
LOG_FORMATS = ("json", "text")

#: Path segments that are secrets: the segment after each prefix. `/registration/lost-link` is
#: a public page, not a token.
#: A slash may be percent-encoded, as in a `?next=` query.
_SLASH = r"(?:/|%2[fF])"
_SECRET_PATH = re.compile(
    rf"(?P<prefix>{_SLASH}registration{_SLASH}(?!lost-link(?:[/?#&%\s\"']|$))"
    rf"|{_SLASH}reset-password{_SLASH}"
    rf"|{_SLASH}invitation{_SLASH}"
    rf"|{_SLASH}group{_SLASH}"
    rf"|{_SLASH}verify{_SLASH}[^/?#&%\s\"'<>]+{_SLASH}"
    r"|[?&]code="
    rf"|{_SLASH}manage{_SLASH}checkin{_SLASH})"
    r"(?P<secret>[^/?#&%\s\"'<>]+)"
)


def redact(text: str) -> str:
    """`text` with every secret path segment replaced by a marker."""
    return _SECRET_PATH.sub(lambda match: match.group("prefix") + REDACTED, text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def request_id() -> str | None:
    """The current request's id, chosen on first use; None outside a request.

    An `X-Request-ID` that arrives is kept only from a trusted proxy (NKHR_TRUSTED_PROXIES), as
    the proxy's own id ties its log to ours; a client cannot choose the id its lines carry.
    """
    if not has_request_context():
        return None
    current = g.get("request_id")
    if current is None:
        current = _incoming_request_id() or uuid.uuid4().hex
        g.request_id = current
    return current


def _incoming_request_id() -> str | None:
    if int(current_app.config.get("NKHR_TRUSTED_PROXIES") or 0) <= 0:
        return None
    value = request.headers.get(REQUEST_ID_HEADER, "")
    return value if _REQUEST_ID.fullmatch(value) else None


def _echo_request_id(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id() or ""
    return response


def _redacting_factory(base: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        record.request_id = request_id()
        try:
            # Formatted here, so that an argument whose str() holds a path is covered too.
            message = record.getMessage()
        except Exception:  # noqa: BLE001  (a malformed call is reported by the handler)
            return record
        record.msg, record.args = redact(message), ()
        return record

    make_record.redacts = True  # type: ignore[attr-defined]
    return make_record


def _fields(record: logging.LogRecord) -> Mapping[str, Any]:
    """Structured values a caller attached with `extra={"fields": {...}}` (the access log)."""
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, Mapping) else {}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, any fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        identifier = getattr(record, "request_id", None)
        if identifier:
            entry["request_id"] = identifier
        entry.update(_fields(record))
        if record.exc_info:
            # A traceback quotes values (a URL in an exception message): redacted too.
            entry["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """A readable line for a terminal, with the request id in brackets."""

    def __init__(self) -> None:
        super().__init__("[%(asctime)s] %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = _fields(record).get("request_id") or getattr(
            record, "request_id", None
        ) or "-"
        return super().format(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802  (logging's name)
        return redact(super().formatException(ei))


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def log_format(setting: str | None, environment: str | None) -> str:
    """NKHR_LOG_FORMAT if set, else text in development and JSON everywhere else."""
    chosen = (setting or ("text" if environment == "development" else "json")).strip().lower()
    if chosen not in LOG_FORMATS:
        raise RuntimeError(f"NKHR_LOG_FORMAT must be json or text, not {setting!r}.")
    return chosen


class _StandardErrorHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is written (a test or a CLI runner may
    have swapped it since the handler was made)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def _install_handler(log_format_name: str) -> None:
    """One handler on the root logger, made once per process; its format follows the app."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "nkhr_events", False)), None)
    if handler is None:
        handler = _StandardErrorHandler()
        handler.nkhr_events = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(formatter(log_format_name))


def init_app(app: Flask) -> None:
    """Redact every log record when it is made, whichever logger or handler it goes to; tag it
    with the request id; write it as JSON or text.

    A record factory, not a logging.Filter: a filter on a logger misses records its child
    loggers pass up, and a filter on a handler misses handlers attached later.
    """
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "redacts", False):
        logging.setLogRecordFactory(_redacting_factory(factory))
    chosen = log_format(app.config.get("NKHR_LOG_FORMAT"), app.config.get("NKHR_ENV"))
    app.config["NKHR_LOG_FORMAT"] = chosen
    _install_handler(chosen)
    # The root handler writes the app's lines; Flask's own would write each one twice.
    app.logger.removeHandler(default_handler)
    app.after_request(_echo_request_id)
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
