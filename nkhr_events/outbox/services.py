"""The outbox API: render an email in the recipient's language and queue it in the caller's
transaction; staff actions on queued and failed messages.

`enqueue_email` only adds and flushes: the message exists exactly when the caller's
transaction commits, and a worker (`flask outbox work`) delivers it afterwards.

No secret is at rest. A message that carries a private link (a manage link, a password or
invitation link) is stored with `SECRET_PLACEHOLDER` where the link's token goes; the worker
asks the link's maker for a fresh token as it hands the message to the SMTP server (the maker
stores only its hash) and puts it in place of the placeholder in what it sends. Files that
carry a secret (the check-in QR code) are made at delivery in the same way and never kept.

An email the caller's visitor does not wait for can be written at delivery too: it is queued
with a `Snapshot` (the values it must say, as they are in the caller's transaction) instead of a
rendered body, and the worker writes the text and HTML from the snapshot when it first sends
the message and keeps what it wrote. What the recipient reads is what was true when the message
was queued; the request spends no time on templates it does not show.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, func, or_, select, update

from nkhr_events.audit.services import Actor, record, status_detail
from nkhr_events.database import rowcount
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.outbox import headers
from nkhr_events.outbox.models import (
    LATE_ATTACHMENT_MARKER,
    SECRET_PLACEHOLDER,
    OutboxAttachment,
    OutboxMessage,
    OutboxStatus,
)
from nkhr_events.validators import LANGUAGES

_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,80}$")


@dataclass(frozen=True)
class Attachment:
    """A file to send with a message, e.g. `event.ics` as `text/calendar; method=REQUEST`."""

    filename: str
    content_type: str
    data: bytes


#: Makers of attachments made at delivery (`late_attachment`), by name.
_makers: dict[str, Callable[[OutboxMessage], bytes]] = {}
#: Names of makers whose files carry nothing secret (a calendar file): staff may download them.
_shown_to_staff: set[str] = set()


def attachment_maker(
    name: str, shown_to_staff: bool = False,
) -> Callable[[Callable[[OutboxMessage], bytes]], Any]:
    """Register `maker(message) -> bytes` under `name` for `late_attachment(..., name)`.

    `shown_to_staff`: the file carries no secret (unlike a check-in QR code), so staff may
    download it from the outbox, made as it will be sent.
    """

    def register(maker: Callable[[OutboxMessage], bytes]) -> Callable[[OutboxMessage], bytes]:
        _makers[name] = maker
        if shown_to_staff:
            _shown_to_staff.add(name)
        return maker

    return register


def downloadable_by_staff(attachment: OutboxAttachment) -> bool:
    """Whether staff may download the attachment: a stored file, or one made at delivery that
    carries no secret."""
    return not attachment.made_at_delivery or _maker_name(attachment) in _shown_to_staff


def _maker_name(attachment: OutboxAttachment) -> str:
    """The name of the maker of an attachment made at delivery (`late_attachment`)."""
    return bytes(attachment.data).removeprefix(LATE_ATTACHMENT_MARKER).decode("ascii", "replace")


def late_attachment(filename: str, content_type: str, maker: str) -> Attachment:
    """An attachment made when the message is sent instead of when it is queued.

    For files that are slow to make and depend only on what the database already holds (a QR
    code image takes longer than the rest of a registration): the request that queues the
    message does not wait for it, and the recipient receives the same file.
    """
    if maker not in _makers:
        raise ValueError(f"no attachment maker {maker!r}")
    return Attachment(filename, content_type, LATE_ATTACHMENT_MARKER + maker.encode("ascii"))


def attachment_data(attachment: OutboxAttachment) -> bytes:
    """The attachment's content; a late one is made now (and not kept: it may carry a secret).

    Raises ValueError when it cannot be made (e.g. what it was made from was erased).
    """
    if not attachment.made_at_delivery:
        return bytes(attachment.data)
    maker = _makers.get(_maker_name(attachment))
    if maker is None:
        raise ValueError(f"no maker for attachment {attachment.filename!r}")
    return maker(attachment.message)


# --- private links made at delivery -------------------------------------------------------------


@dataclass(frozen=True)
class LateSecret:
    """The private link a message carries: `maker` (registered with `secret_maker`) makes a
    fresh token for the record `subject_id` each time the message is sent."""

    maker: str
    subject_id: int


#: Makers of private links, by name: `maker(subject_id) -> token`; each stores only a hash.
_secret_makers: dict[str, Callable[[int], str]] = {}


def secret_maker(name: str) -> Callable[[Callable[[int], str]], Callable[[int], str]]:
    """Register `maker(subject_id) -> token` under `name` for `LateSecret(name, ...)`.

    The maker adds the token's hash in the worker's transaction (committed before the message
    is handed to the server) and raises ValueError when the record is gone."""

    def register(maker: Callable[[int], str]) -> Callable[[int], str]:
        _secret_makers[name] = maker
        return maker

    return register


def fill_secret(message: OutboxMessage) -> tuple[str, str | None]:
    """The text and HTML bodies to send: with a freshly made private link in place of the
    placeholder, or as stored when the message carries none. Raises ValueError when the link
    cannot be made."""
    text_body, html_body = write_body(message)
    if not message.secret_maker:
        return text_body, html_body
    maker = _secret_makers.get(message.secret_maker)
    if maker is None or message.secret_subject_id is None:
        raise ValueError(f"no maker for the private link {message.secret_maker!r}")
    token = maker(message.secret_subject_id)
    html = html_body.replace(SECRET_PLACEHOLDER, token) if html_body else None
    return text_body.replace(SECRET_PLACEHOLDER, token), html


# --- emails written at delivery -----------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What an email must say, as JSON values taken in the caller's transaction; `reader`
    (registered with `context_reader`) turns them into the template's context when the worker
    writes the email."""

    reader: str
    values: Mapping[str, Any]


#: Readers of snapshots, by name: `reader(values) -> template context`.
_context_readers: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {}

_Reader = TypeVar("_Reader", bound=Callable[[Mapping[str, Any]], dict[str, Any]])


def context_reader(name: str) -> Callable[[_Reader], _Reader]:
    """Register `reader(values) -> context` under `name` for `Snapshot(name, ...)`."""

    def register(reader: _Reader) -> _Reader:
        _context_readers[name] = reader
        return reader

    return register


def snapshot_values(message: OutboxMessage) -> Mapping[str, Any] | None:
    """The values a message was queued with (`Snapshot.values`), or None for a message rendered
    when it was queued (or erased)."""
    if not message.snapshot:
        return None
    values = json.loads(message.snapshot).get("values")
    return values if isinstance(values, Mapping) else None


def _snapshot_context(message: OutboxMessage) -> dict[str, Any]:
    data = json.loads(message.snapshot or "{}")
    reader = _context_readers.get(str(data.get("reader")))
    if reader is None:
        raise ValueError(f"no reader for the snapshot of {message.template!r}")
    return reader(data.get("values") or {})


def awaits_writing(message: OutboxMessage) -> bool:
    """Queued with a snapshot and not yet written by the worker."""
    return bool(message.snapshot) and not message.text_body


def write_body(message: OutboxMessage, keep: bool = True) -> tuple[str, str | None]:
    """The message's text and HTML bodies, written from its snapshot if it has not been yet
    (and then kept on the row with `keep`, so that staff see what was sent). Raises ValueError
    when the snapshot cannot be read or the written email has no place for its link."""
    if not awaits_writing(message):
        return message.text_body, message.html_body
    rendered = render_email(message.template, message.language, _snapshot_context(message))
    if message.secret_maker and SECRET_PLACEHOLDER not in rendered.text:
        raise ValueError(f"the email {message.template!r} has no place for its private link")
    if keep:
        message.text_body, message.html_body = rendered.text, rendered.html
    return rendered.text, rendered.html


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def withdraw_queued(maker: str, subject_id: int) -> int:
    """Cancel the queued emails that carry the private link `maker` makes for `subject_id`
    (an invitation, a group): a withdrawn link must not arrive after all. Returns how many."""
    return rowcount(db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.secret_maker == maker,
               OutboxMessage.secret_subject_id == subject_id,
               OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.CANCELLED, locked_until=None)
        .execution_options(synchronize_session=False)
    ))


def _variables(template: str, language: str, context: Mapping[str, Any]) -> dict[str, Any]:
    if not _TEMPLATE_NAME.match(template):
        raise ValueError(f"not an email template name: {template!r}")
    if language not in LANGUAGES:
        raise ValueError(f"no email language {language!r}")
    config = current_app.config
    return {
        "language": language,
        "org_name": config["NKHR_ORG_NAME"],
        "team_email": config["NKHR_TEAM_EMAIL"],
        "base_url": config["NKHR_BASE_URL"].rstrip("/"),
        **context,
    }


def render_subject(template: str, language: str, context: Mapping[str, Any]) -> str:
    """templates/email/<template>.subject.txt, rendered in `language`, as one header line."""
    variables = _variables(template, language, context)
    with force_locale(language):
        subject = render_template(f"email/{template}.subject.txt", **variables)
    return headers.single_line(subject, headers.MAX_SUBJECT_LENGTH)


def render_email(template: str, language: str, context: Mapping[str, Any]) -> RenderedEmail:
    """templates/email/<template>.subject.txt, .txt and .html, rendered in `language`."""
    variables = _variables(template, language, context)
    with force_locale(language):
        subject = render_template(f"email/{template}.subject.txt", **variables)
        text = render_template(f"email/{template}.txt", **variables)
        html = render_template(f"email/{template}.html", **variables)
    return RenderedEmail(
        subject=headers.single_line(subject, headers.MAX_SUBJECT_LENGTH),
        text=text.strip() + "\n",
        html=html,
    )


def _team_reply_to(recipient: str) -> str | None:
    """Where a reply goes when the caller names nobody: the team (NKHR_TEAM_EMAIL), whom the
    emails tell people to answer, rather than the sending address; none on the team's own
    mail."""
    team = str(current_app.config.get("NKHR_TEAM_EMAIL") or "").strip()
    if not team or team.lower() == recipient.lower():
        return None
    return headers.mailbox(team)


def enqueue_email(
    to: str,
    template: str,
    language: str,
    context: Mapping[str, Any] | None = None,
    attachments: Sequence[Attachment] = (),
    reply_to: str | tuple[str, str] | None = None,
    partnership_id: int | None = None,
    inquiry_id: int | None = None,
    registration_id: int | None = None,
    secret: LateSecret | None = None,
    admin_only: bool = False,
    event_id: int | None = None,
    snapshot: Snapshot | None = None,
) -> OutboxMessage:
    """Queue one email to `to`; it is sent only if the caller's transaction commits.

    Rendered now from `context`, or, with `snapshot` instead, only its subject now and the
    bodies by the worker when it sends the message (see the module's docstring).

    With `secret`, the context's link holds `SECRET_PLACEHOLDER` and the worker makes the link
    when it sends the message. `admin_only` messages (about staff accounts) are shown to
    admins only. `event_id` ties a message to its event when neither a registration nor a
    partnership does (an invitation), so that the event's organizers see it. Raises
    ValueError for an address, template, language, attachment or secret that cannot be sent.
    Without `reply_to`, a reply goes to the team (`_team_reply_to`).
    """
    recipient = headers.check_address(to)
    reply = headers.mailbox(reply_to) if reply_to else _team_reply_to(recipient)
    sender = headers.mailbox(current_app.config["MAIL_DEFAULT_SENDER"])
    if secret is not None and secret.maker not in _secret_makers:
        raise ValueError(f"no maker for the private link {secret.maker!r}")
    stored: str | None = None
    if snapshot is not None:
        if snapshot.reader not in _context_readers:
            raise ValueError(f"no reader for the snapshot {snapshot.reader!r}")
        stored = json.dumps({"reader": snapshot.reader, "values": snapshot.values},
                            ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        subject = render_subject(
            template, language, _context_readers[snapshot.reader](snapshot.values))
        rendered = RenderedEmail(subject=subject, text="", html="")
    else:
        rendered = render_email(template, language, context or {})
        if secret is not None and SECRET_PLACEHOLDER not in rendered.text:
            raise ValueError(f"the email {template!r} has no place for its private link")
    message = OutboxMessage(
        status=OutboxStatus.QUEUED,
        sender=sender,
        recipient=recipient,
        reply_to=reply,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html if snapshot is None else None,
        snapshot=stored,
        template=template,
        language=language,
        message_id=headers.new_message_id(sender),
        attempts=0,
        next_attempt_at=utcnow(),
        partnership_id=partnership_id,
        inquiry_id=inquiry_id,
        registration_id=registration_id,
        event_id=event_id,
        secret_maker=secret.maker if secret else None,
        secret_subject_id=secret.subject_id if secret else None,
        admin_only=admin_only,
        attachments=[
            OutboxAttachment(
                position=position,
                filename=headers.filename(attachment.filename),
                content_type=headers.content_type(attachment.content_type),
                data=bytes(attachment.data),
            )
            for position, attachment in enumerate(attachments)
        ],
    )
    db.session.add(message)
    db.session.flush()
    return message


# --- staff pages ------------------------------------------------------------------------------


def _of_events(event_ids: set[int]) -> ColumnElement[bool]:
    """Messages about one of `event_ids`: tied to it, or about one of its registrations or
    partnerships."""
    from nkhr_events.partners.models import Partnership
    from nkhr_events.registrations.models import Registration

    return or_(
        OutboxMessage.event_id.in_(event_ids),
        OutboxMessage.registration_id.in_(
            select(Registration.id).where(Registration.event_id.in_(event_ids))
        ),
        OutboxMessage.partnership_id.in_(
            select(Partnership.id).where(Partnership.event_id.in_(event_ids))
        ),
    )


_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


def _readable(query: _Query, admin: bool, event_ids: set[int] | None) -> _Query:
    """`query` narrowed to what the reader may see: messages about staff accounts only for an
    admin; with `event_ids`, only messages about those events (`_of_events`)."""
    if not admin:
        query = query.where(OutboxMessage.admin_only.is_(False))
    if event_ids is not None:
        query = query.where(_of_events(event_ids))
    return query


def messages_query(
    status: str | None = None, recipient: str | None = None, admin: bool = False,
    event_ids: set[int] | None = None,
) -> Select[OutboxMessage]:
    """Messages, newest first, optionally of one status and to addresses containing `recipient`;
    messages about staff accounts only for an admin; with `event_ids`, only those events'."""
    query = _readable(select(OutboxMessage).order_by(OutboxMessage.id.desc()), admin, event_ids)
    if status:
        query = query.where(OutboxMessage.status == status)
    if recipient:
        escaped = recipient.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            func.lower(OutboxMessage.recipient).like(f"%{escaped}%", escape="\\")
        )
    return query


def messages_about(
    *, registration_id: int | None = None, partnership_id: int | None = None
) -> list[OutboxMessage]:
    """Every message sent about one registration or partnership, oldest first."""
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if registration_id is not None:
        query = query.where(OutboxMessage.registration_id == registration_id)
    if partnership_id is not None:
        query = query.where(OutboxMessage.partnership_id == partnership_id)
    return list(db.session.scalars(query))


def visible_message(
    message_id: int, admin: bool, event_ids: set[int] | None = None
) -> OutboxMessage | None:
    """The message, if the reader may see it (see `messages_query`)."""
    found: OutboxMessage | None = db.session.scalar(
        _readable(select(OutboxMessage).where(OutboxMessage.id == message_id), admin, event_ids)
    )
    return found


def status_counts(admin: bool = False, event_ids: set[int] | None = None) -> dict[str, int]:
    """How many messages the reader may see are in each status (every status, zero included)."""
    query = _readable(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status), admin,
        event_ids,
    )
    rows = db.session.execute(query).all()
    counts = {status.value: 0 for status in OutboxStatus}
    counts.update({status: count for status, count in rows})
    return counts


def retry_message(message: OutboxMessage, *, actor: Actor) -> None:
    """Queue a failed message again, with a fresh set of attempts.

    Raises DomainError unless the message is failed (checked in the database, not in memory).
    """
    changed = rowcount(db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status == OutboxStatus.FAILED)
        .values(
            status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=utcnow(), locked_until=None
        )
        .execution_options(synchronize_session=False)
    ))
    if not changed:
        raise DomainError(_("Only a failed message can be sent again."))
    db.session.refresh(message)
    record("outbox.retry", object_type="outbox_message", object_id=message.id,
           detail=status_detail(OutboxStatus.FAILED, OutboxStatus.QUEUED), actor=actor)


def cancel_message(message: OutboxMessage, *, actor: Actor) -> None:
    """Withdraw a queued message. Raises DomainError if it is being sent or already done."""
    changed = rowcount(db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.CANCELLED, locked_until=None)
        .execution_options(synchronize_session=False)
    ))
    if not changed:
        raise DomainError(_("Only a message that is waiting to be sent can be cancelled."))
    db.session.refresh(message)
    record("outbox.cancel", object_type="outbox_message", object_id=message.id,
           detail=status_detail(OutboxStatus.QUEUED, OutboxStatus.CANCELLED), actor=actor)
