"""The emails a registration receives, queued through the outbox in the caller's transaction.

Each message is queued as the facts it must say (snapshots.py), taken in the caller's
transaction, and written by the outbox worker in the registrant's language when it sends it,
with its calendar file (`CALENDAR_FILE`). It carries a private link that the worker makes at
the same time (`MANAGE_LINK`): only the link's hash is stored, and the stored message holds a
placeholder, so neither a staff page nor a copy of the database shows a working link.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import update

from nkhr_events.checkin import services as checkin
from nkhr_events.events.calendar import (
    CalendarMethod,
    calendar_content_type,
    event_calendar,
)
from nkhr_events.events.calendar import calendar_attachment as event_calendar_attachment
from nkhr_events.extensions import db
from nkhr_events.invitations.models import RegistrationGroup
from nkhr_events.outbox.models import SECRET_PLACEHOLDER, OutboxMessage
from nkhr_events.outbox.services import (
    Attachment,
    LateSecret,
    Snapshot,
    attachment_maker,
    context_reader,
    enqueue_email,
    late_attachment,
    secret_maker,
    snapshot_values,
)
from nkhr_events.registrations.categories import category_name
from nkhr_events.registrations.links import issue_manage_token
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.snapshots import (
    EventFacts,
    RegistrationFacts,
    event_facts,
    facts_values,
    registration_facts,
)

#: The late attachment (outbox/services.py) that is a registration's check-in QR code.
CHECKIN_QR = "registration-checkin-qr"
#: The private link (outbox/services.py, `LateSecret`) every registration email carries.
MANAGE_LINK = "registration-manage-link"
#: The reader (outbox/services.py, `Snapshot`) of every registration email's facts.
EMAIL_FACTS = "registration-email"
#: The late attachment that is a registration email's calendar file, made from its facts.
CALENDAR_FILE = "registration-calendar"
#: What a snapshot holds besides the extra values its email's template reads as they are.
_FACT_KEYS = ("registration", "event", "category", "calendar")


def manage_url(token: str) -> str:
    return f"{current_app.config['NKHR_BASE_URL'].rstrip('/')}/registration/{token}"


def calendar_uid(registration: Registration) -> str:
    """The same for every calendar file of a registration, whoever asks and whenever: the
    registration's number at this site's host. Neither the private link's token nor anything
    the person typed is in it."""
    host = current_app.config["NKHR_BASE_URL"].split("//", 1)[-1].split("/", 1)[0].split(":")[0]
    return f"registration-{registration.id}@{host or 'localhost'}"


def calendar_attachment(registration: Registration, method: CalendarMethod) -> Attachment:
    """The event on the registration's days for its calendar (PUBLISH), or its withdrawal
    (CANCEL).

    SEQUENCE is the registration's counter (`Registration.sequence`), raised for every file
    that changes or withdraws what an earlier one said (`_raise_sequence`, and the status
    changes in services.py and holds.py)."""
    return event_calendar_attachment(
        registration.event,
        filename="cancel.ics" if method == CalendarMethod.CANCEL else "event.ics",
        uid=calendar_uid(registration),
        days=registration.day_list,
        sequence=registration.sequence,
        method=method,
        language=registration.language,
    )


def _raise_sequence(registration: Registration) -> None:
    """One more change to the calendar entry: in the database, so two changes at once never
    send the same number."""
    db.session.execute(
        update(Registration)
        .where(Registration.id == registration.id)
        .values(sequence=Registration.sequence + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(registration, ["sequence"])


def checkin_attachment(registration: Registration) -> Attachment:
    """The QR code the door staff scan, carrying the check-in URL (not the manage link).

    Drawn when the email is sent (`_checkin_png`): it takes longer than the rest of a
    registration, and a rush of registrations should not wait for it. The code it carries is
    fixed now (its salt is made in this transaction), as before.
    """
    checkin.checkin_code(registration)
    return late_attachment("checkin.png", "image/png", CHECKIN_QR)


@attachment_maker(CHECKIN_QR)
def _checkin_png(message: OutboxMessage) -> bytes:
    registration = (
        db.session.get(Registration, message.registration_id) if message.registration_id else None
    )
    if registration is None:
        raise ValueError("the registration of this check-in code no longer exists")
    return checkin.qr_png(registration)


@secret_maker(MANAGE_LINK)
def _manage_token(registration_id: int) -> str:
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise ValueError("the registration of this link no longer exists")
    return issue_manage_token(registration)


def _send(
    registration: Registration,
    template: str,
    calendar: CalendarMethod | None = None,
    previous_days: list[date] | None = None,
    **extra: Any,
) -> None:
    """Queue `template` for the registration (or its group's contact) as facts taken now;
    `extra` are JSON values the template reads (flags, a reason, names). `previous_days`: the
    days the calendar entry held before a change, so that the new file withdraws what they
    held and the new days do not (events/calendar.py)."""
    values: dict[str, Any] = {
        "registration": facts_values(RegistrationFacts.of(registration)),
        "event": facts_values(EventFacts.of(registration.event)),
        "category": registration.category,
        **extra,
    }
    to, language = registration.email, registration.language
    if not registration.has_email:
        contact = _group_contact(registration)
        if contact is None:
            # A protected guest: staff hand over what they need in person (the printed sheet).
            return
        to, language, values["on_behalf"] = contact
    attachments = []
    if calendar:
        values["calendar"] = {
            "method": calendar.value,
            "sequence": registration.sequence,
            "uid": calendar_uid(registration),
            "language": registration.language,
        }
        if previous_days:
            values["calendar"]["previous_days"] = [day.isoformat() for day in previous_days]
        attachments.append(late_attachment(
            "cancel.ics" if calendar == CalendarMethod.CANCEL else "event.ics",
            calendar_content_type(calendar),
            CALENDAR_FILE,
        ))
    if template == "registration_confirmed":
        attachments.append(checkin_attachment(registration))
    enqueue_email(
        to=to,
        template=template,
        language=language,
        snapshot=Snapshot(EMAIL_FACTS, values),
        attachments=attachments,
        registration_id=registration.id,
        secret=LateSecret(MANAGE_LINK, registration.id),
    )


@context_reader(EMAIL_FACTS)
def _email_context(values: Mapping[str, Any]) -> dict[str, Any]:
    """The template context of a registration email, from the facts it was queued with."""
    return {
        "registration": registration_facts(values["registration"]),
        "event": event_facts(values["event"]),
        "category": category_name(values["category"]),
        "manage_url": manage_url(SECRET_PLACEHOLDER),
        **{key: value for key, value in values.items() if key not in _FACT_KEYS},
    }


@attachment_maker(CALENDAR_FILE, shown_to_staff=True)
def _calendar_file(message: OutboxMessage) -> bytes:
    """The calendar file as the facts the message was queued with say (the registration's days
    then, the same UID, the SEQUENCE of then), stamped now."""
    values = snapshot_values(message)
    if values is None or not isinstance(values.get("calendar"), Mapping):
        raise ValueError("the facts of this calendar file are gone")
    entry = values["calendar"]
    return event_calendar(
        event_facts(values["event"]),
        uid=str(entry["uid"]),
        days=registration_facts(values["registration"]).day_list,
        previous_days=[date.fromisoformat(day) for day in entry.get("previous_days") or ()],
        sequence=int(entry["sequence"]),
        method=CalendarMethod(entry["method"]),
        language=str(entry.get("language") or message.language),
    )


def _group_contact(registration: Registration) -> tuple[str, str, dict[str, str]] | None:
    """Where the emails of a group member without an address go: to the group's contact, in
    the contact's language, saying whom they are about."""
    if registration.group_id is None:
        return None
    group = db.session.get(RegistrationGroup, registration.group_id)
    if group is None or not group.contact_email or group.contact_anonymized_at is not None:
        return None
    return group.contact_email, group.contact_language, {
        "member": registration.full_name,
        "group": group.name,
        "contact": group.contact_name,
    }


def outcome(registration: Registration) -> None:
    """The answer to a new registration: confirmed (with calendar), pending or waitlisted."""
    if registration.status == RegistrationStatus.CONFIRMED:
        _send(registration, "registration_confirmed", calendar=CalendarMethod.PUBLISH)
    elif registration.status == RegistrationStatus.PENDING:
        _send(registration, "registration_pending")
    else:
        _send(registration, "registration_waitlisted")


def promoted(registration: Registration) -> None:
    """A seat came free for someone on the waitlist."""
    if registration.status == RegistrationStatus.CONFIRMED:
        _send(registration, "registration_confirmed", calendar=CalendarMethod.PUBLISH,
              promoted=True)
    else:
        _send(registration, "registration_pending", promoted=True)


def approved(registration: Registration) -> None:
    _send(registration, "registration_confirmed", calendar=CalendarMethod.PUBLISH, approved=True)


def rejected(registration: Registration, send_calendar_cancel: bool) -> None:
    _send(
        registration,
        "registration_rejected",
        calendar=CalendarMethod.CANCEL if send_calendar_cancel else None,
        reason=registration.decision_reason,
    )


def cancelled(registration: Registration, send_calendar_cancel: bool) -> None:
    _send(
        registration,
        "registration_cancelled",
        calendar=CalendarMethod.CANCEL if send_calendar_cancel else None,
    )


def waitlisted_by_staff(registration: Registration) -> None:
    _send(registration, "registration_waitlisted", moved=True)


def already_registered(registration: Registration) -> None:
    """Someone submitted the form again with this address: tell the address, nobody else."""
    _send(registration, "registration_again")


def lost_link(registration: Registration) -> None:
    _send(registration, "registration_link")


def details_changed(
    registration: Registration, by_staff: bool = False, days_before: list[date] | None = None
) -> None:
    """A confirmed registration's summary comes with the calendar entry again (its days as
    they are now, its title and place in the language just chosen), replacing the earlier one;
    `days_before`, when the days changed, lets it withdraw what the old days held."""
    calendar = None
    if registration.status == RegistrationStatus.CONFIRMED:
        _raise_sequence(registration)
        calendar = CalendarMethod.PUBLISH
    _send(registration, "registration_changed", calendar=calendar, by_staff=by_staff,
          previous_days=days_before if calendar else None)


def released(registration: Registration, send_calendar_cancel: bool) -> None:
    """The place was released because the address was not confirmed in time (holds.py)."""
    _send(
        registration,
        "registration_released",
        calendar=CalendarMethod.CANCEL if send_calendar_cancel else None,
        reason=registration.cancel_reason,
    )


def cancelled_by_staff(registration: Registration, send_calendar_cancel: bool) -> None:
    """Staff cancelled the registration with a flood of others (roster/flood.py), and chose to
    say so."""
    released(registration, send_calendar_cancel)
