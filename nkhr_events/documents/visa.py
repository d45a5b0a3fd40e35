"""Visa invitation letters: a confirmed attendee asks for one through their private link, the
event's organizers (or an admin) approve it, which issues the letter through the document
engine, or decline it with a note; the attendee is emailed either way and downloads the letter
from the private link.

The rules, and why:
- Only a confirmed attendee of an event that has not ended may ask (a letter for a seat that is
  not theirs, or for a past event, would mislead a consulate), and only one request of a
  registration is open (requested or approved) at a time.
- The passport data is special-category data (visa_models.py): read only by holders of
  `Permission.VISA` (admins, the event's organizers), each look recorded; never in an email,
  never in an audit entry, in an export only when a staff member ticks it (recorded with the
  tick), and blanked `purge_days` after the event's last day (`purge_passport_data`).
- A letter states what the attendee typed, as typed: the consulate compares it with the
  passport. Its statements kept by the engine for verification name the person and the event,
  and hold only the last characters of the passport number (`masked_passport_number`), so that
  the verification page never shows a passport number in full, before or after the purge.
- English always; a second letter in Korean or Japanese where asked. Each letter is a document
  of its own with its own reference and verification code: a consulate checks the one it holds,
  and either can be revoked, re-issued or verified without the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from nkhr_events.audit.services import SYSTEM, Actor, record
from nkhr_events.dbtypes import utcnow
from nkhr_events.documents import settings
from nkhr_events.documents.visa_models import (
    PASSPORT_FIELDS,
    SECOND_LANGUAGES,
    VisaLetterRequest,
    VisaStatus,
)
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.models import SECRET_PLACEHOLDER
from nkhr_events.outbox.periodic import periodic_task
from nkhr_events.outbox.services import LateSecret, enqueue_email
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.notify import MANAGE_LINK, manage_url
from nkhr_events.web import country_codes, country_name, event_days_text, localized, place_text

#: Limits on what the attendee types (characters).
NAME_LIMIT = 200
CONSULATE_LIMIT = 200
NOTE_LIMIT = 1000
#: A passport number: letters and digits only (spaces and hyphens typed are dropped), of a
#: length every issuing state's numbers fall within.
PASSPORT_NUMBER_MIN = 5
PASSPORT_NUMBER_MAX = 20
#: The oldest age a date of birth may give.
OLDEST_AGE_YEARS = 120
#: How many characters of the passport number the verification statements keep.
SHOWN_NUMBER_END = 3


@dataclass
class VisaInput:
    """What the attendee types (from the form or a test)."""

    passport_name: str
    passport_number: str
    nationality: str
    birth_date: date | None
    passport_expiry: date | None
    consulate: str
    second_language: str = ""


# --- who may ask -------------------------------------------------------------------------------


def event_ends(event: Event) -> datetime:
    """The end of the event's last day on its own clock, in UTC."""
    after = datetime.combine(event.end_date + timedelta(days=1), time.min, tzinfo=event.zone)
    return after.astimezone(UTC)


def may_request(registration: Registration, now: datetime | None = None) -> bool:
    """Whether the attendee may ask for a letter now: confirmed, not erased, and the event not
    over."""
    return (
        registration.status == RegistrationStatus.CONFIRMED
        and registration.anonymized_at is None
        and (now or utcnow()) < event_ends(registration.event)
    )


def requests_of(registration: Registration) -> list[VisaLetterRequest]:
    """The registration's requests, newest first."""
    return list(
        db.session.scalars(
            select(VisaLetterRequest)
            .where(VisaLetterRequest.registration_id == registration.id)
            .order_by(VisaLetterRequest.created_at.desc(), VisaLetterRequest.id.desc())
        )
    )


def open_request(registration: Registration) -> VisaLetterRequest | None:
    return next((r for r in requests_of(registration) if r.is_open), None)


# --- the attendee's request --------------------------------------------------------------------


def normalised_passport_number(value: str) -> str:
    """Upper case, without the spaces and hyphens people type between groups."""
    return "".join(c for c in value.upper() if c not in " -\u00a0\t")


def check_input(event: Event, data: VisaInput, today: date) -> VisaInput:
    """The input with its text trimmed and the passport number normalised; raises DomainError
    beside the field at fault."""
    name = " ".join(data.passport_name.split())
    if not name:
        raise DomainError(_("Enter your name exactly as your passport writes it."),
                          "passport_name")
    if len(name) > NAME_LIMIT:
        raise DomainError(_("Use at most %(n)d characters.", n=NAME_LIMIT), "passport_name")
    number = normalised_passport_number(data.passport_number)
    if not number:
        raise DomainError(_("Enter your passport number."), "passport_number")
    if not (
        number.isascii() and number.isalnum()
        and PASSPORT_NUMBER_MIN <= len(number) <= PASSPORT_NUMBER_MAX
    ):
        raise DomainError(
            _("Enter the passport number as printed: %(min)d to %(max)d letters and digits.",
              min=PASSPORT_NUMBER_MIN, max=PASSPORT_NUMBER_MAX),
            "passport_number",
        )
    nationality = data.nationality.strip().upper()
    if nationality not in country_codes():
        raise DomainError(_("Choose your nationality."), "nationality")
    born = data.birth_date
    if born is None:
        raise DomainError(_("Enter your date of birth."), "birth_date")
    if born >= today or born.year < today.year - OLDEST_AGE_YEARS:
        raise DomainError(_("Enter a real date of birth."), "birth_date")
    expiry = data.passport_expiry
    if expiry is None:
        raise DomainError(_("Enter the date your passport expires."), "passport_expiry")
    if expiry <= event.end_date:
        raise DomainError(
            _("Your passport must be valid after the event: renew it before asking for a "
              "letter."),
            "passport_expiry",
        )
    consulate = " ".join(data.consulate.split())
    if not consulate:
        raise DomainError(_("Enter the consulate or embassy, with its city and country."),
                          "consulate")
    if len(consulate) > CONSULATE_LIMIT:
        raise DomainError(_("Use at most %(n)d characters.", n=CONSULATE_LIMIT), "consulate")
    if data.second_language not in ("", *SECOND_LANGUAGES):
        raise DomainError(_("Choose a language."), "second_language")
    return VisaInput(name, number, nationality, born, expiry, consulate, data.second_language)


def request_letter(
    registration: Registration, data: VisaInput, now: datetime | None = None, *, actor: Actor
) -> VisaLetterRequest:
    """The attendee asks for a letter. Raises DomainError (beside the field at fault, or with
    no field when they may not ask, or have a request open). Audited without the data."""
    now = now or utcnow()
    if not may_request(registration, now):
        raise DomainError(_("Only a confirmed attendee may ask for a letter, until the event "
                            "ends."))
    if open_request(registration) is not None:
        raise DomainError(_("You have asked for a letter already."))
    checked = check_input(registration.event, data, now.astimezone(registration.event.zone)
                          .date())
    assert checked.birth_date is not None and checked.passport_expiry is not None
    visa_request = VisaLetterRequest(
        registration_id=registration.id,
        event_id=registration.event_id,
        status=VisaStatus.REQUESTED,
        passport_name=checked.passport_name,
        passport_number=checked.passport_number,
        nationality=checked.nationality,
        birth_date_text=checked.birth_date.isoformat(),
        passport_expiry_text=checked.passport_expiry.isoformat(),
        consulate=checked.consulate,
        second_language=checked.second_language,
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(visa_request)
            db.session.flush()
    except IntegrityError:
        # Another request of the same registration was made at the same moment: the partial
        # unique index keeps one open.
        raise DomainError(_("You have asked for a letter already.")) from None
    _record("visa.request", visa_request, actor,
            {"languages": visa_request.languages})
    return visa_request


def withdraw(visa_request: VisaLetterRequest, *, actor: Actor) -> None:
    """The attendee withdraws a request not yet decided; its passport data is blanked at once
    (nobody needs it any more)."""
    _lock(visa_request)
    if visa_request.status != VisaStatus.REQUESTED:
        raise DomainError(_("Only a request not yet decided can be withdrawn."))
    visa_request.status = VisaStatus.WITHDRAWN
    _blank(visa_request, utcnow())
    db.session.flush()
    _record("visa.withdraw", visa_request, actor)


def _blank(visa_request: VisaLetterRequest, now: datetime) -> None:
    for field in PASSPORT_FIELDS:
        setattr(visa_request, field, "")
    visa_request.purged_at = now


def _record(action: str, visa_request: VisaLetterRequest, actor: Actor,
            detail: dict[str, object] | None = None) -> None:
    """Audit entries of requests name the request, its registration and the status: never the
    passport data or the note's text."""
    record(
        action,
        object_type="visa_letter_request",
        object_id=visa_request.id,
        event_id=visa_request.event_id,
        actor=actor,
        detail={"registration": visa_request.registration_id, "status": visa_request.status,
                **(detail or {})},
    )


# --- staff --------------------------------------------------------------------------------------


def event_requests(event: Event, status: str | None = None) -> list[VisaLetterRequest]:
    """The event's requests (of one status, if given), oldest first: the queue is worked from
    the top."""
    query = select(VisaLetterRequest).where(VisaLetterRequest.event_id == event.id)
    if status:
        query = query.where(VisaLetterRequest.status == status)
    return list(db.session.scalars(query.order_by(VisaLetterRequest.created_at,
                                                  VisaLetterRequest.id)))


def status_counts(event: Event) -> dict[str, int]:
    counts = dict.fromkeys(VisaStatus, 0)
    for visa_request in event_requests(event):
        counts[VisaStatus(visa_request.status)] += 1
    return {str(k): v for k, v in counts.items()}


def record_view(visa_request: VisaLetterRequest, *, actor: Actor) -> None:
    """A staff member opened a request's passport data."""
    _record("visa.view", visa_request, actor)


def _lock(visa_request: VisaLetterRequest) -> None:
    """Read the request again under a row lock (PostgreSQL), so that two decisions at once,
    or a decision and a withdrawal, are taken one after the other and the second sees the
    first's status."""
    db.session.refresh(visa_request, with_for_update=True)


def _decidable(visa_request: VisaLetterRequest) -> None:
    _lock(visa_request)
    if visa_request.status != VisaStatus.REQUESTED:
        raise DomainError(_("This request has been decided already."))
    if visa_request.purged_at is not None:
        raise DomainError(_("The passport data of this request has been deleted."))


def _checked_note(note: str, required: bool) -> str:
    note = note.strip()
    if required and not note:
        raise DomainError(_("Say why, for the attendee."), "note")
    if len(note) > NOTE_LIMIT:
        raise DomainError(_("Use at most %(n)d characters.", n=NOTE_LIMIT), "note")
    return note


def approve(
    visa_request: VisaLetterRequest, note: str = "", now: datetime | None = None, *, actor: Actor
) -> list[int]:
    """Approve the request: issue the letter in each of its languages through the document
    engine, email the attendee. Returns the issued documents' ids. Refused (DomainError) when
    the request was decided, the registration is no longer confirmed or the event is over.
    Audited with the letters' references, never the passport data."""
    from nkhr_events.documents import services as documents

    _decidable(visa_request)
    note = _checked_note(note, required=False)
    now = now or utcnow()
    registration = visa_request.registration
    if not may_request(registration, now):
        raise DomainError(_("The attendee's registration is no longer confirmed, or the event "
                            "is over."))
    issued: list[int] = []
    references: list[str] = []
    for language in visa_request.languages:
        document, _code = documents.issue_document(
            registration, "visa_letter", language, letter_statements(visa_request, language),
            actor=actor,
        )
        issued.append(document.id)
        references.append(document.reference)
    visa_request.document_id = issued[0]
    visa_request.translation_document_id = issued[1] if len(issued) > 1 else None
    visa_request.status = VisaStatus.APPROVED
    visa_request.decision_note = note
    visa_request.decided_at = now
    visa_request.decided_by_id = actor.staff_id
    db.session.flush()
    _record("visa.approve", visa_request, actor, {"references": references})
    _email(visa_request, "visa_approved")
    return issued


def decline(
    visa_request: VisaLetterRequest, note: str, now: datetime | None = None, *, actor: Actor
) -> None:
    """Decline with a note the attendee reads (required); their passport data is blanked at
    once, since no letter will state it. Audited without the note's text."""
    _decidable(visa_request)
    note = _checked_note(note, required=True)
    now = now or utcnow()
    visa_request.status = VisaStatus.DECLINED
    visa_request.decision_note = note
    visa_request.decided_at = now
    visa_request.decided_by_id = actor.staff_id
    _blank(visa_request, now)
    db.session.flush()
    _record("visa.decline", visa_request, actor)
    _email(visa_request, "visa_declined")


def _email(visa_request: VisaLetterRequest, template: str) -> None:
    """The attendee's email about the decision, in their language, with their private link
    (made when it is sent). No passport data is ever in it. A registration without an address
    of its own (a protected guest, a delegation member) is told through staff instead."""
    registration = visa_request.registration
    if not registration.has_email:
        return
    enqueue_email(
        to=registration.email,
        template=template,
        language=registration.language,
        context={
            "registration": registration,
            "event": registration.event,
            "note": visa_request.decision_note,
            "manage_url": manage_url(SECRET_PLACEHOLDER),
            "visa_url": manage_url(SECRET_PLACEHOLDER) + "/visa-letter",
        },
        registration_id=registration.id,
        secret=LateSecret(MANAGE_LINK, registration.id),
    )


# --- the letter ----------------------------------------------------------------------------------


def masked_passport_number(number: str) -> str:
    """The passport number as the verification statements keep it: its last characters."""
    if not number:
        return ""
    return "•" * max(len(number) - SHOWN_NUMBER_END, 0) + number[-SHOWN_NUMBER_END:]


def letter_statements(visa_request: VisaLetterRequest, language: str) -> list[tuple[str, str]]:
    """What the engine keeps of a letter and its verification page shows, in the letter's
    language: the person, their nationality, the passport number's end, the event, its dates
    and place. Neither the full number nor the date of birth: a verifier holds the letter."""
    event = visa_request.event
    with force_locale(language):
        return [
            (_("Name as in the passport"), visa_request.passport_name),
            (_("Nationality"), country_name(visa_request.nationality, language)),
            (_("Passport number (last characters)"),
             masked_passport_number(visa_request.passport_number)),
            (_("Event"), localized(event, "title")),
            (_("Dates"), event_days_text(event.day_list)),
            (_("Place"), str(place_text(event))),
        ]


def organisation_name() -> str:
    """The organisation that invites, as the letterhead names it."""
    return settings.organisation_name(settings.current_settings())


def letter_pdf(
    visa_request: VisaLetterRequest, language: str, reference: str, url: str, issued: date
) -> bytes:
    """The letter in `language` as a PDF: letterhead, heading, the date it was issued, the
    invitation, the facts from the passport, what the organisers do not pay, signature and
    verification."""
    from nkhr_events.documents.pdf import DocumentBuilder

    event = visa_request.event
    registration = visa_request.registration
    with force_locale(language):
        builder = DocumentBuilder(language, _("Letter of invitation"))
        builder.letterhead()
        builder.heading(_("Letter of invitation"))
        builder.paragraph(_("Date: %(date)s", date=_format_date(issued, language)))
        builder.paragraph(_("To: %(consulate)s", consulate=visa_request.consulate))
        builder.paragraph(_(
            "%(organisation)s invites %(name)s to attend %(event)s, held on %(dates)s at "
            "%(place)s. Their registration for the event is confirmed.",
            organisation=organisation_name(),
            name=visa_request.passport_name,
            event=localized(event, "title"),
            dates=event_days_text(event.day_list),
            place=str(place_text(event)),
        ))
        facts = [
            (_("Name as in the passport"), visa_request.passport_name),
            (_("Passport number"), visa_request.passport_number),
            (_("Nationality"), country_name(visa_request.nationality, language)),
            (_("Date of birth"), _format_date(visa_request.birth_date, language)),
            (_("Passport valid until"), _format_date(visa_request.passport_expiry, language)),
        ]
        if registration.organization:
            facts.append((_("Organization"), registration.organization))
        builder.facts(facts)
        builder.paragraph(_(
            "The organizers do not pay for the travel, accommodation, visa or any other costs "
            "of the visit. This letter does not guarantee a visa: that is the decision of the "
            "consulate."
        ))
        builder.signature()
        builder.verification(url, reference)
        return builder.output()


def _format_date(value: date | None, language: str) -> str:
    from babel.dates import format_date

    return format_date(value, "long", locale=language) if value else ""


# --- export --------------------------------------------------------------------------------------


def export_rows(event: Event, include_passport: bool) -> Iterator[list[str]]:
    """The event's requests as rows (header first): the attendee and the status, and the
    passport data only when asked for. Cells a spreadsheet would evaluate are neutralised."""
    from nkhr_events.roster.exports import neutralise

    head = [_("Name"), _("Email"), _("Status"), _("Requested"), _("Decided"), _("Languages")]
    if include_passport:
        head += [_("Name as in the passport"), _("Passport number"), _("Nationality"),
                 _("Date of birth"), _("Passport valid until"), _("Consulate or embassy")]
    yield head
    for visa_request in event_requests(event):
        registration = visa_request.registration
        row = [
            registration.full_name,
            registration.email if registration.has_email else "",
            visa_request.status,
            visa_request.created_at.date().isoformat(),
            visa_request.decided_at.date().isoformat() if visa_request.decided_at else "",
            " ".join(visa_request.languages),
        ]
        if include_passport:
            row += [visa_request.passport_name, visa_request.passport_number,
                    visa_request.nationality, visa_request.birth_date_text,
                    visa_request.passport_expiry_text, visa_request.consulate]
        yield [neutralise(cell) for cell in row]


def record_export(event: Event, include_passport: bool, *, actor: Actor) -> None:
    record("visa.export", object_type="event", object_id=event.id, event_id=event.id,
           actor=actor, detail={"passport_data": include_passport})


# --- the early purge ---------------------------------------------------------------------------


def purge_days() -> int:
    """Days after the event's last day until the passport data is blanked (the document
    settings an admin sets; 30 until then)."""
    return settings.visa_purge_days()


def purge_passport_data(now: datetime | None = None) -> int:
    """Blank the passport data of every request whose event ended `purge_days()` days ago or
    more. Safe to run by several workers at once (only rows not yet purged are changed, and
    each event's entry records what this run changed). Returns how many requests it blanked."""
    now = now or utcnow()
    days = timedelta(days=purge_days())
    event_ids = db.session.scalars(
        select(VisaLetterRequest.event_id).where(VisaLetterRequest.purged_at.is_(None)).distinct()
    ).all()
    total = 0
    for event_id in event_ids:
        event = db.session.get(Event, event_id)
        if event is None or event_ends(event) + days > now:
            continue
        due = db.session.scalars(
            select(VisaLetterRequest)
            .where(VisaLetterRequest.event_id == event_id, VisaLetterRequest.purged_at.is_(None))
            .with_for_update(skip_locked=True)
        ).all()
        for visa_request in due:
            _blank(visa_request, now)
        if due:
            db.session.flush()
            total += len(due)
            record("visa.purge", object_type="event", object_id=event_id, event_id=event_id,
                   actor=SYSTEM, detail={"requests": len(due), "days": days.days})
    return total


@periodic_task("visa-letter-purge")
def _purge_task() -> None:
    purge_passport_data()
