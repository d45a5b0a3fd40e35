"""Delivery: claim due messages, send them over one SMTP connection, record each outcome.

A worker claims a batch by setting `status = sending` with a lease (`locked_until`) in a short
transaction of its own: `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so that any number of
workers never claim one row twice; `BEGIN IMMEDIATE` on SQLite, which lets one writer at a time
claim. Each outcome is committed as soon as the server has answered, so a worker that dies
mid-batch leaves only unsent rows in `sending`; their lease expires and another worker sends
them. Temporary failures (connection refused or reset, timeouts, 4xx) are retried with growing
delays; 5xx answers and exhausted attempts end as `failed` with the error kept for staff.
"""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.charset import QP, Charset
from email.encoders import encode_base64
from email.message import Message as Message_
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from typing import Any, cast

import flask_mail
from flask import current_app
from sqlalchemy import or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.outbox import headers
from nkhr_events.outbox.models import OutboxMessage, OutboxStatus
from nkhr_events.outbox.periodic import run_periodic_tasks
from nkhr_events.outbox.requests import resolve_requests
from nkhr_events.outbox.services import attachment_data, fill_secret

#: Waits after the 1st, 2nd, ... failed attempt; one more attempt than delays, then `failed`.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
    timedelta(hours=12),
    timedelta(hours=24),
)
DEFAULTS: dict[str, Any] = {
    "OUTBOX_BATCH_SIZE": 50,
    # Longer than a batch can take: a live worker must never lose its rows to another.
    "OUTBOX_LEASE_SECONDS": 600,
    "OUTBOX_POLL_SECONDS": 5.0,
    "OUTBOX_RETRY_DELAYS": RETRY_DELAYS,
    "MAIL_TIMEOUT": 30.0,
}
_MAX_ERROR_LENGTH = 2000
_LONG_LINE = 990


def setting(name: str) -> Any:
    return current_app.config.get(name, DEFAULTS[name])


def max_attempts() -> int:
    return len(setting("OUTBOX_RETRY_DELAYS")) + 1


@dataclass
class DeliveryReport:
    """What one batch (or a run of batches) did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __iadd__(self, other: DeliveryReport) -> DeliveryReport:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        return self

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.retrying} to retry later, {self.failed} failed"


@dataclass(frozen=True)
class Outcome:
    """How a failed attempt ends: retried later or failed for good; whether the link is gone."""

    retry: bool
    error: str
    connection_lost: bool = False


def _reply_text(code: int, reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", errors="replace")
    return f"{code} {reply}".strip()


def _by_code(code: int, reply: bytes | str, connection_lost: bool = False) -> Outcome:
    # 5xx is the server's final word; 4xx (and anything odd) may pass on a later attempt.
    return Outcome(
        retry=not 500 <= code < 600,
        error=_reply_text(code, reply),
        connection_lost=connection_lost,
    )


def classify(error: BaseException) -> Outcome:
    """Sort an exception raised while sending one message into retry-later or give-up."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(error.recipients.values()), (550, b"recipient refused"))
        return _by_code(code, reply)
    if isinstance(error, smtplib.SMTPResponseException):
        # 421: the server is closing the connection.
        return _by_code(error.smtp_code, error.smtp_error, connection_lost=error.smtp_code == 421)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return Outcome(True, f"Connection lost: {error}", connection_lost=True)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return Outcome(False, f"Not supported by the server: {error}")
    if isinstance(error, smtplib.SMTPException):
        return Outcome(True, f"SMTP error: {error}", connection_lost=True)
    if isinstance(error, OSError):  # refused, reset, timed out, name not found
        return Outcome(True, f"{type(error).__name__}: {error}", connection_lost=True)
    if isinstance(error, flask_mail.BadHeaderError):
        return Outcome(False, "Refused: a header contains a line break.")
    return Outcome(False, f"{type(error).__name__}: {error}")


def classify_connect(error: BaseException) -> Outcome:
    """A failure to open the connection is never the message's fault: every row is retried."""
    server = f"{current_app.config['MAIL_SERVER']}:{current_app.config['MAIL_PORT']}"
    if isinstance(error, smtplib.SMTPResponseException):
        detail = _reply_text(error.smtp_code, error.smtp_error)
    else:
        detail = f"{type(error).__name__}: {error}"
    return Outcome(True, f"Could not connect to {server}: {detail}", connection_lost=True)


class TimedConnection(flask_mail.Connection):
    """Flask-Mail's connection (what `mail.connect()` returns) with a socket timeout, so a
    server that stops answering cannot hold a worker forever."""

    def __init__(self, state: Any, timeout: float) -> None:
        super().__init__(state)
        self.timeout = timeout

    def configure_host(self) -> smtplib.SMTP:
        state = self.mail
        smtp_class = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
        host = smtp_class(state.server, state.port, timeout=self.timeout)
        try:
            host.set_debuglevel(int(state.debug))
            if state.use_tls:
                host.starttls()
            if state.username and state.password:
                host.login(state.username, state.password)
        except BaseException:
            host.close()
            raise
        return host


def open_connection() -> TimedConnection:
    connection = TimedConnection(current_app.extensions["mail"], float(setting("MAIL_TIMEOUT")))
    connection.__enter__()
    return connection


def close_connection(connection: TimedConnection) -> None:
    host = connection.host
    connection.host = None
    if host is None:
        return
    try:
        host.quit()
    except (smtplib.SMTPException, OSError):
        host.close()


def body_charset(*bodies: str | None) -> Charset | None:
    """UTF-8 with quoted-printable bodies when a line is too long for SMTP (998 bytes; servers
    refuse longer ones), e.g. a long paragraph typed into the contact form; else the default
    (8bit, readable as it is)."""
    for body in bodies:
        if body and any(len(line.encode()) > _LONG_LINE for line in body.splitlines()):
            charset = Charset("utf-8")
            charset.body_encoding = QP
            return charset
    return None


class Message(flask_mail.Message):
    """A Flask-Mail message whose HTML may show images of its own (`cid:` links).

    Flask-Mail puts every file beside the text and HTML (multipart/mixed). An image the HTML
    shows belongs with it, in multipart/related, so that mail programs draw it in the body
    rather than only list it; the file is also attached as usual, to save or print.
    """

    def _message(self) -> Any:
        inline = [a for a in self.attachments if a.disposition == "inline"]
        self.attachments = [a for a in self.attachments if a.disposition != "inline"]
        try:
            msg = super()._message()
        finally:
            self.attachments = [*self.attachments, *inline]
        if not inline or not self.html:
            return msg
        parts = cast(list[Message_], msg.get_payload())
        alternative = next(part for part in parts if part.get_content_subtype() == "alternative")
        related = MIMEMultipart("related")
        related.attach(alternative)
        for attachment in inline:
            part = MIMEBase(*attachment.content_type.split("/"))
            part.set_payload(attachment.data)
            encode_base64(part)
            part.add_header("Content-Disposition", "inline", filename=attachment.filename)
            for key, value in attachment.headers.items():
                part.add_header(key, value)
            related.attach(part)
        msg.set_payload([related if p is alternative else p for p in parts])
        return msg


def inline_in(html: str | None, filename: str) -> bool:
    """Whether the HTML shows the file `filename` (``<img src="cid:checkin.png">``)."""
    return bool(html) and f'src="cid:{filename}"' in (html or "")


def build_message(row: OutboxMessage) -> flask_mail.Message:
    """The Flask-Mail message for a row, with the row's own Message-ID.

    Its private link and secret-bearing files are made now (the link's hash joins the
    worker's transaction, committed before the message is sent); the row keeps neither. A
    file the HTML shows (`cid:<filename>`) goes with the HTML as well as attached.
    """
    text_body, html_body = fill_secret(row)
    files = [(a, attachment_data(a)) for a in row.attachments]
    attachments = [flask_mail.Attachment(a.filename, a.content_type, data) for a, data in files]
    attachments += [
        flask_mail.Attachment(
            a.filename, a.content_type, data, "inline", {"Content-ID": f"<{a.filename}>"}
        )
        for a, data in files
        if inline_in(html_body, a.filename)
    ]
    message = Message(
        subject=headers.single_line(row.subject),
        recipients=[headers.check_address(row.recipient)],
        body=text_body,
        html=html_body or None,
        sender=headers.mailbox(row.sender),
        reply_to=headers.mailbox(row.reply_to) if row.reply_to else None,
        attachments=attachments,
        # Tells autoresponders not to answer (RFC 3834).
        extra_headers={"Auto-Submitted": "auto-generated"},
        charset=body_charset(text_body, html_body),  # type: ignore[arg-type]
    )
    message.msgId = row.message_id
    return message


def claim_due(now: datetime, limit: int) -> list[int]:
    """Mark up to `limit` due rows as `sending` for this worker and commit; their ids.

    Due: queued with `next_attempt_at` reached, or `sending` with an expired lease (a worker
    died). Commits the session, so call it with no unfinished work of your own.
    """
    session = db.session()
    if session.in_transaction():
        session.commit()
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # Take the write lock first: a second worker waits here instead of claiming the same rows.
        session.execute(text("BEGIN IMMEDIATE"))
    query = (
        select(OutboxMessage.id)
        .where(
            or_(
                (OutboxMessage.status == OutboxStatus.QUEUED)
                & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == OutboxStatus.SENDING)
                & (OutboxMessage.locked_until < now),
            )
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if dialect != "sqlite":
        query = query.with_for_update(skip_locked=True)
    try:
        ids = list(session.scalars(query))
        if ids:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(
                    status=OutboxStatus.SENDING,
                    locked_until=now + timedelta(seconds=int(setting("OUTBOX_LEASE_SECONDS"))),
                    attempts=OutboxMessage.attempts + 1,
                    last_attempt_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return ids


def _finish(row_id: int, **values: Any) -> None:
    """Record an outcome, only if the row is still this worker's (`sending`), and commit."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == OutboxStatus.SENDING)
        .values(locked_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _record_sent(row_id: int) -> None:
    _finish(row_id, status=OutboxStatus.SENT, sent_at=utcnow(), last_error=None)


def _record_failure(row_id: int, attempts: int, outcome: Outcome, now: datetime) -> bool:
    """Queue the row again or fail it; True if it will be retried."""
    error = outcome.error[:_MAX_ERROR_LENGTH]
    delays: Sequence[timedelta] = setting("OUTBOX_RETRY_DELAYS")
    if outcome.retry and attempts <= len(delays):
        _finish(
            row_id,
            status=OutboxStatus.QUEUED,
            next_attempt_at=now + delays[attempts - 1],
            last_error=error,
        )
        return True
    if outcome.retry:
        error = f"Gave up after {attempts} attempts. Last error: {error}"[:_MAX_ERROR_LENGTH]
    _finish(row_id, status=OutboxStatus.FAILED, last_error=error)
    return False


def deliver_batch(now: datetime | None = None, batch_size: int | None = None) -> DeliveryReport:
    """Resolve waiting mail requests, then claim one batch and send it over one SMTP
    connection."""
    resolve_requests()
    now = now or utcnow()
    ids = claim_due(now, batch_size or int(setting("OUTBOX_BATCH_SIZE")))
    report = DeliveryReport(claimed=len(ids))
    if not ids:
        return report
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .options(selectinload(OutboxMessage.attachments))
        .order_by(OutboxMessage.id)
    ).all()
    pending: list[tuple[int, int, flask_mail.Message | Outcome]] = []
    for row in rows:
        if row.attempts > max_attempts():
            # Claimed again and again without an outcome: a worker dies on this message.
            item: flask_mail.Message | Outcome = Outcome(
                False, f"Delivery was interrupted {row.attempts - 1} times; not tried again."
            )
        else:
            try:
                item = build_message(row)
            except ValueError as error:
                item = Outcome(False, f"Cannot be sent: {error}")
        pending.append((row.id, row.attempts, item))
    db.session.commit()

    def failed(row_id: int, attempts: int, outcome: Outcome) -> None:
        if _record_failure(row_id, attempts, outcome, now):
            report.retrying += 1
        else:
            report.failed += 1

    connection: TimedConnection | None = None
    try:
        for index, (row_id, attempts, item) in enumerate(pending):
            if isinstance(item, Outcome):
                failed(row_id, attempts, item)
                continue
            if connection is None:
                try:
                    connection = open_connection()
                except Exception as error:
                    outcome = classify_connect(error)
                    current_app.logger.warning("Outbox: %s", outcome.error)
                    for rest_id, rest_attempts, _item in pending[index:]:
                        failed(rest_id, rest_attempts, outcome)
                    break
            try:
                connection.send(item)
            except Exception as error:
                outcome = classify(error)
                current_app.logger.warning("Outbox message %s: %s", row_id, outcome.error)
                failed(row_id, attempts, outcome)
                if outcome.connection_lost:
                    close_connection(connection)
                    connection = None
            else:
                _record_sent(row_id)
                report.sent += 1
    finally:
        if connection is not None:
            close_connection(connection)
    return report


def deliver_due(now: datetime | None = None, batch_size: int | None = None) -> DeliveryReport:
    """Send everything that is due, batch after batch, then return."""
    total = DeliveryReport()
    while True:
        report = deliver_batch(now, batch_size)
        total += report
        if report.claimed == 0:
            return total


def run_worker(
    stop: threading.Event,
    poll_seconds: float | None = None,
    on_batch: Callable[[DeliveryReport], None] | None = None,
) -> DeliveryReport:
    """Deliver until `stop` is set, waiting `poll_seconds` whenever nothing is due.

    `stop` is only looked at between batches, so a batch in progress is always finished. A
    database that is briefly unavailable (or locked) is waited out, not fatal.
    """
    poll = float(poll_seconds if poll_seconds is not None else setting("OUTBOX_POLL_SECONDS"))
    batch_size = int(setting("OUTBOX_BATCH_SIZE"))
    total = DeliveryReport()
    while not stop.is_set():
        run_periodic_tasks()  # at most once a minute; a failing task is logged, never raised
        try:
            report = deliver_batch(batch_size=batch_size)
        except SQLAlchemyError as error:
            db.session.rollback()
            current_app.logger.warning("Outbox worker: database unavailable (%s)", error)
            stop.wait(poll)
            continue
        total += report
        if report.claimed and on_batch is not None:
            on_batch(report)
        if report.claimed < batch_size:
            stop.wait(poll)
    return total
