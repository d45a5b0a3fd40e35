"""The roster of one event: filters read from GET parameters, the query they build, sorting, and
what staff do with the people a filter selects (notes, edits, a message to the group).

Filters travel as plain GET parameters so that every view works without JavaScript, and the
same parameters select the rows of the list, the export and a group message alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date
from enum import StrEnum
from typing import Any, TypeVarTuple
from zoneinfo import ZoneInfo

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, exists, false, func, or_, select

from nkhr_events import names
from nkhr_events.audit.sentences import Line, lines
from nkhr_events.audit.services import Actor, history_for, record
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import Busy, DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxStatus
from nkhr_events.outbox.services import RenderedEmail, enqueue_email, render_email
from nkhr_events.outbox.services import status_counts as outbox_status_counts
from nkhr_events.registrations import notify, services
from nkhr_events.registrations.categories import Category, category_name
from nkhr_events.registrations.models import (
    ACTIVE_STATUSES,
    Registration,
    RegistrationDay,
    RegistrationStatus,
)
from nkhr_events.registrations.participants import name_order
from nkhr_events.registrations.seats import seats_taken
from nkhr_events.validators import (
    LANGUAGES,
    NUL_MESSAGE,
    SINGLE_LINE_MESSAGE,
    has_layout_characters,
    known_language,
)

PAGE_SIZE = 50
YES_NO = ("yes", "no")

#: Sortable columns: the only names a `sort` parameter may carry (a "-" prefix reverses).
SORTS: dict[str, tuple[Any, ...]] = {
    # By family name (names.name_sort_key); `_order` puts the reader's own script first
    # (participants.name_order).
    "name": (Registration.name_sort,),
    "registered": (Registration.created_at,),
    "status": (Registration.status,),
    "category": (Registration.category,),
}


@dataclass(frozen=True)
class RosterFilters:
    """Which registrations of an event to show; every value is already validated."""

    status: str = ""
    category: str = ""
    country: str = ""
    day: str = ""  # an ISO date of the event: people who attend that day
    checkin: str = ""  # "any" | "none" | "<day>" | "not-<day>"
    publish_name: str = ""  # "yes" | "no"
    photo: str = ""  # "yes" | "no"
    q: str = ""
    sort: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str], event: Event) -> RosterFilters:
        """Read the filters from request arguments; values that are not valid are dropped."""
        days = {d.isoformat() for d in event.day_list}
        status = args.get("status", "")
        category = args.get("category", "")
        country = args.get("country", "").strip().upper()
        checkin = args.get("checkin", "")
        sort = args.get("sort", "")
        return cls(
            status=status if status in {s.value for s in RegistrationStatus} else "",
            category=category if category in {c.value for c in Category} else "",
            country=country if len(country) == 2 and country.isalpha() else "",
            day=args.get("day", "") if args.get("day", "") in days else "",
            checkin=checkin
            if checkin in {"any", "none"} or checkin.removeprefix("not-") in days
            else "",
            publish_name=args.get("publish_name", "") if args.get("publish_name") in YES_NO else "",
            photo=args.get("photo", "") if args.get("photo") in YES_NO else "",
            # The filters also come back as hidden fields of a form, where the site-wide NUL
            # check of query strings does not reach; PostgreSQL refuses NUL in a LIKE pattern.
            q=args.get("q", "").replace("\x00", "").strip()[:100],
            sort=sort if sort.removeprefix("-") in SORTS else "",
        )

    def params(self, **changes: Any) -> dict[str, Any]:
        """The non-empty filters as URL parameters (for links, hidden fields and redirects),
        with `changes` applied (an empty value drops a parameter)."""
        values = {**asdict(self), **changes}
        return {name: value for name, value in values.items() if value}

    def audit(self) -> dict[str, Any]:
        """The filters as the audit trail keeps them: the search text itself is left out, as it
        is often a person's name; only the fact that a search narrowed the list is kept."""
        kept = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in {"q", "sort"}}
        kept = {name: value for name, value in kept.items() if value}
        if self.q:
            kept["search"] = True
        return kept


def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _checked_in(day: date | None = None) -> ColumnElement[bool]:
    condition = RegistrationCheckin.registration_id == Registration.id
    if day is not None:
        condition = condition & (RegistrationCheckin.day == day)
    return exists().where(condition)


#: The categories a staff member reaches (accounts.access.Grant.categories); None: every one.
Categories = frozenset[str] | None
_Row = TypeVarTuple("_Row")


def in_categories(
    query: Select[*_Row], categories: Categories
) -> Select[*_Row]:
    """`query` narrowed to registrations of `categories` (a reviewer's); unchanged for None."""
    if categories is None:
        return query
    return query.where(Registration.category.in_(sorted(categories)))


def roster_query(
    event: Event,
    filters: RosterFilters,
    language: str | None = None,
    categories: Categories = None,
) -> Select[Registration]:
    """Registrations of `event` that the filters select, in the order they ask for; names in
    the collation of a reader of `language` (by default the current reader); only those of
    `categories` when given (a reviewer sees no other)."""
    query = in_categories(select(Registration).where(Registration.event_id == event.id),
                          categories)
    if filters.status:
        query = query.where(Registration.status == filters.status)
    if filters.category:
        query = query.where(Registration.category == filters.category)
    if filters.country:
        query = query.where(Registration.country == filters.country)
    if filters.day:
        query = query.where(
            exists().where(
                RegistrationDay.registration_id == Registration.id,
                RegistrationDay.day == date.fromisoformat(filters.day),
            )
        )
    if filters.checkin == "any":
        query = query.where(_checked_in())
    elif filters.checkin == "none":
        query = query.where(~_checked_in())
    elif filters.checkin.startswith("not-"):
        query = query.where(~_checked_in(date.fromisoformat(filters.checkin.removeprefix("not-"))))
    elif filters.checkin:
        query = query.where(_checked_in(date.fromisoformat(filters.checkin)))
    if filters.publish_name:
        query = query.where(Registration.publish_name.is_(filters.publish_name == "yes"))
    if filters.photo:
        query = query.where(Registration.photo_consent.is_(filters.photo == "yes"))
    if filters.q:
        like = _like(filters.q)
        folded = names.fold(filters.q)  # a name in either order, spaces, case, accents aside
        query = query.where(
            or_(
                Registration.name_search.contains(folded) if folded else false(),
                Registration.email_key.like(like, escape="\\"),
                func.lower(Registration.organization).like(like, escape="\\"),
            )
        )
    return query.order_by(*_order(filters, language))


def _order(filters: RosterFilters, language: str | None = None) -> tuple[Any, ...]:
    if not filters.sort:
        # The waitlist reads in its own order: who has waited longest comes first.
        if filters.status == RegistrationStatus.WAITLISTED:
            return (Registration.waitlisted_at, Registration.id)
        return (Registration.created_at, Registration.id)
    name = filters.sort.removeprefix("-")
    descending = filters.sort.startswith("-")
    sorts = name_order(language) if name == "name" else SORTS[name]
    columns = (*sorts, Registration.id)
    return tuple(c.desc() for c in columns) if descending else columns


def iterate_selected(
    event: Event,
    filters: RosterFilters,
    chunk: int = 500,
    language: str | None = None,
    categories: Categories = None,
) -> Iterator[list[Registration]]:
    """The selected registrations in chunks, read with a server-side cursor where there is one,
    so that tens of thousands of rows never sit in memory at once."""
    result = db.session.scalars(
        roster_query(event, filters, language, categories).execution_options(yield_per=chunk)
    )
    for part in result.partitions():
        yield list(part)


def record_view(
    event: Event, filters: RosterFilters, action: str = "roster.view", *, actor: Actor
) -> None:
    """Every look at a roster is logged, with its filters and never the names it showed."""
    record(
        action,
        object_type="event",
        object_id=event.id,
        event_id=event.id,
        detail={"filters": filters.audit()},
        actor=actor,
    )


# --- one person --------------------------------------------------------------------------------

#: Audit actions for looks at one person's decrypted data.
PERSON_VIEW = "registration.view"
PERSON_EDIT_VIEW = "registration.edit_view"
PERSON_DATA_DOWNLOAD = "registration.data_download"


def record_person_view(
    registration: Registration, action: str = PERSON_VIEW, *, actor: Actor
) -> None:
    """Every look at a person's page, edit form or data file (their needs, answers and notes
    decrypted) is logged, naming the record and never what it holds."""
    record(
        action,
        object_type="registration",
        object_id=registration.id,
        event_id=registration.event_id,
        actor=actor,
    )


def save_internal_notes(registration: Registration, notes: str, *, actor: Actor) -> bool:
    """Store the staff notes; the audit entry says that they changed, not what they say.
    Returns whether they changed (notes sent back unchanged record nothing)."""
    notes = notes.strip()
    if notes == (registration.internal_notes or ""):
        return False
    registration.internal_notes = notes
    record(
        "registration.notes",
        object_type="registration",
        object_id=registration.id,
        event_id=registration.event_id,
        detail={"length": len(registration.internal_notes)},
        actor=actor,
    )
    db.session.flush()
    return True


def staff_update_details(
    registration: Registration, data: services.DetailsInput, *, actor: Actor
) -> list[str]:
    """Change an attendee's details for them (they are emailed a summary). Returns the names of
    the fields that changed; raises DomainError like `services.update_details`. Nothing
    changed: nothing is recorded or sent."""
    changed = services.update_details(registration, data, actor=actor, by_staff=True)
    if changed:
        record(
            "registration.edit",
            object_type="registration",
            object_id=registration.id,
            event_id=registration.event_id,
            detail={"fields": changed},
            actor=actor,
        )
        db.session.flush()
    return changed


def status_history(registration: Registration, *, real_speaker_names: bool = False) -> list[Line]:
    """What the audit trail says about this registration (status changes, edits, notes, views),
    oldest first, as sentences with names in the reader's language; a staff member's views of
    one kind on one day are one line with their count."""
    zone = registration.event.timezone
    newest_first = list(reversed(history_for("registration", registration.id)))
    found = lines(
        newest_first,
        zone=zone,
        today=utcnow().astimezone(ZoneInfo(zone)).date(),
        format_day=lambda day: format_date(day, "medium"),
        real_speaker_names=real_speaker_names,
    )
    return list(reversed(found))


# --- a message to a filtered group --------------------------------------------------------------


def reader_counts(event: Event, filters: RosterFilters) -> dict[str, int]:
    """How many of the people the filters select read each language, in the order of
    LANGUAGES, leaving out the languages nobody reads: only those need a text. One grouped
    query. A code that is not ours counts as English, the language such a person is sent.
    People without an address (a protected guest, a group member) are not counted: no message
    reaches them, so a group of only them is a group of nobody."""
    selected = (
        roster_query(event, filters).where(Registration.email != "").order_by(None).subquery()
    )
    rows = db.session.execute(
        select(selected.c.language, func.count()).group_by(selected.c.language)
    )
    counts = dict.fromkeys(LANGUAGES, 0)
    for language, count in rows:
        counts[known_language(language)] += count
    return {language: count for language, count in counts.items() if count}


def _required_messages() -> dict[str, str]:
    """What an empty field says, per field (translated when asked, in the reader's locale)."""
    return {
        "subject_en": _("Enter a subject in English."),
        "body_en": _("Enter the message in English."),
        "subject_ko": _("Enter a subject in Korean."),
        "body_ko": _("Enter the message in Korean."),
        "subject_ja": _("Enter a subject in Japanese."),
        "body_ja": _("Enter the message in Japanese."),
    }


@dataclass(frozen=True)
class GroupMessage:
    """An organizer's message: a subject and a text per language. Each person gets the one in
    their language, so a language needs a text only when someone selected reads it."""

    subject_en: str = ""
    body_en: str = ""
    subject_ko: str = ""
    body_ko: str = ""
    subject_ja: str = ""
    body_ja: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> GroupMessage:
        values: dict[str, str] = {}
        for language in LANGUAGES:
            subject, body = f"subject_{language}", f"body_{language}"
            values[subject] = form.get(subject, "").strip()[:200]
            values[body] = form.get(body, "").strip()[:10000]
        return cls(**values)

    def for_language(self, language: str) -> tuple[str, str]:
        """The subject and the text for a reader of `language` (not ours: English)."""
        language = known_language(language)
        subject: str = getattr(self, f"subject_{language}")
        body: str = getattr(self, f"body_{language}")
        return subject, body

    def errors(self, languages: Iterable[str]) -> dict[str, str]:
        """The fields of `languages` at fault, each with its message: a subject and a text are
        required, a subject is one line of plain text, and no field holds a NUL character.
        The fields of other languages are not asked for, so they are not checked."""
        required = _required_messages()
        found: dict[str, str] = {}
        for language in map(known_language, languages):
            for name in (f"subject_{language}", f"body_{language}"):
                value = getattr(self, name)
                if not value:
                    found[name] = required[name]
                elif "\x00" in value:
                    found[name] = str(NUL_MESSAGE)
                elif name.startswith("subject") and has_layout_characters(value):
                    found[name] = str(SINGLE_LINE_MESSAGE)
        return found

    def unwritten(self, languages: Iterable[str]) -> list[str]:
        """The languages among `languages` with neither a subject nor a text."""
        return [language for language in languages if not any(self.for_language(language))]


def _reader_without_text() -> DomainError:
    return DomainError(
        _(
            "Nothing was sent: since you checked the message, someone who reads a language it"
            " is not written in joined the group. Write the message in that language too."
        )
    )


def send_group_message(
    event: Event, filters: RosterFilters, message: GroupMessage, *, actor: Actor
) -> int:
    """Queue the message to every registration the filters select, each in their language.

    The readers are counted again here: people may have registered, or changed their
    language, since the organizer checked the text. Raises DomainError when nobody is
    selected, a language someone reads has no text, or a text is at fault; the caller rolls
    back (a late refusal comes after some emails are queued). Returns how many were queued.
    """
    readers = reader_counts(event, filters)
    if not readers:
        raise DomainError(_("Nothing was sent: the filters you chose select nobody now."))
    if message.unwritten(readers):
        raise _reader_without_text()
    if message.errors(readers):
        raise DomainError(_("Nothing was sent: correct the message first."))
    ready = set(readers)
    sent = 0
    for chunk in iterate_selected(event, filters):
        for registration in chunk:
            if not registration.has_email:
                # A protected guest or a group member without an address: staff or the
                # group's contact tell them.
                continue
            language = known_language(registration.language)
            if language not in ready:
                # Registered between the count and this read: never send them another language.
                if message.errors([language]):
                    raise _reader_without_text()
                ready.add(language)
            subject, body = message.for_language(language)
            enqueue_email(
                to=registration.email,
                template="group_message",
                language=language,
                context={
                    "registration": registration,
                    "event": event,
                    "category": category_name(registration.category),
                    "subject": subject,
                    "body": body,
                },
                registration_id=registration.id,
            )
            sent += 1
    record(
        "roster.message",
        object_type="event",
        object_id=event.id,
        event_id=event.id,
        detail={"filters": filters.audit(), "count": sent},
        actor=actor,
    )
    db.session.flush()
    return sent


def preview_group_message(
    event: Event, filters: RosterFilters, message: GroupMessage
) -> dict[str, RenderedEmail]:
    """The email as it goes out, per language the selected people read: rendered for the
    first selected reader of that language (their greeting, the frame in their language).
    Queues nothing."""
    previews: dict[str, RenderedEmail] = {}
    for language in reader_counts(event, filters):
        query = (
            roster_query(event, filters)
            .where(Registration.email != "")
            .order_by(None)
            .order_by(Registration.id)
        )
        if language == "en":
            query = query.where(Registration.language.not_in([x for x in LANGUAGES if x != "en"]))
        else:
            query = query.where(Registration.language == language)
        reader = db.session.scalars(query.limit(1)).first()
        if reader is None:
            continue
        subject, body = message.for_language(language)
        previews[language] = render_email(
            "group_message",
            language,
            {
                "registration": reader,
                "event": event,
                "category": category_name(reader.category),
                "subject": subject,
                "body": body,
            },
        )
    return previews


class Decision(StrEnum):
    """What staff decide about a registration, one by one or for a ticked group."""

    APPROVE = "approve"
    REJECT = "reject"
    WAITLIST = "waitlist"


def apply_decision(
    registration: Registration, decision: Decision, reason: str = "", *, actor: Actor
) -> list[Registration]:
    """Apply one decision; returns the people moved up from the waitlist by the seat it freed.
    Refuses (DomainError) when the registration's status does not allow it."""
    if decision is Decision.APPROVE:
        services.approve_registration(registration, actor=actor)
        return []
    if decision is Decision.REJECT:
        return services.reject_registration(registration, reason, actor=actor)
    return services.move_to_waitlist(registration, actor=actor)


@dataclass(frozen=True)
class BulkOutcome:
    """What a decision for a ticked group did."""

    done: int
    skipped: int  # not of this event or its categories, gone, or its status does not allow it
    promoted: int  # moved up from the waitlist by the seats the decisions freed


def decide_many(
    event: Event,
    ids: list[int],
    decision: Decision,
    reason: str = "",
    categories: Categories = None,
    *,
    actor: Actor,
) -> BulkOutcome:
    """Apply one decision to each registration of `event` among `ids`, each on its own: one
    that its status does not allow, or outside `categories` (a reviewer's), is skipped, and the
    rest go on. If the seat lock stays busy, `Busy` is raised and the caller rolls the whole
    group back."""
    done = skipped = promoted = 0
    for registration_id in ids:
        found = db.session.get(Registration, registration_id)
        if (
            found is None
            or found.event_id != event.id
            or (categories is not None and found.category not in categories)
        ):
            skipped += 1
            continue
        try:
            # The services check the status before they change anything, so a refusal leaves
            # nothing half-done.
            promoted += len(apply_decision(found, decision, reason, actor=actor))
        except Busy:
            raise
        except DomainError:
            skipped += 1
        else:
            done += 1
    return BulkOutcome(done=done, skipped=skipped, promoted=promoted)


@dataclass(frozen=True)
class RosterSummary:
    """The figures above an event's roster."""

    counts: dict[str, int]  # registrations by status
    taken: dict[str | None, int]  # seats taken: in all (None) and by category
    countries: list[str]  # the countries people gave, for the filter


def status_counts(event_id: int, categories: Categories = None) -> dict[str, int]:
    """How many registrations of the event, in `categories` when given, hold each status."""
    if categories is None:
        return services.status_counts_by_event([event_id])[event_id]
    query = in_categories(
        select(Registration.status, func.count(Registration.id))
        .where(Registration.event_id == event_id)
        .group_by(Registration.status),
        categories,
    )
    return {status: count for status, count in db.session.execute(query)}


def roster_summary(event: Event, categories: Categories = None) -> RosterSummary:
    """The figures above the roster; the counts and countries of `categories` when given (the
    seats taken are the event's, as its capacity is)."""
    counts = status_counts(event.id, categories)
    countries = db.session.scalars(
        in_categories(
            db.select(Registration.country)
            .where(Registration.event_id == event.id, Registration.country != "")
            .distinct()
            .order_by(Registration.country),
            categories,
        )
    ).all()
    return RosterSummary(
        counts=counts, taken=seats_taken(event.id), countries=list(countries)
    )


@dataclass(frozen=True)
class EventReach:
    """Who an event's status change reaches: what the confirmation step states."""

    active: int  # registrations pending, confirmed or waitlisted
    queued: int  # emails about the event still waiting to be sent


def event_reach(event: Event) -> EventReach:
    people = status_counts(event.id)
    mail = outbox_status_counts(admin=True, event_ids={event.id})
    return EventReach(
        active=sum(people.get(status, 0) for status in ACTIVE_STATUSES),
        queued=mail[OutboxStatus.QUEUED] + mail[OutboxStatus.SENDING],
    )


def waiting_count(event: Event) -> int:
    """How many people wait on the event's waitlist."""
    return status_counts(event.id).get(RegistrationStatus.WAITLISTED, 0)


#: At most this many registrations are decided in one bulk action.
BULK_LIMIT = 1000


def matching_ids(event: Event, filters: RosterFilters, categories: Categories = None) -> list[int]:
    """The ids of the registrations the roster's filters select (the roster's order), at most
    BULK_LIMIT + 1 so that the caller can tell "too many"."""
    query = roster_query(event, filters, categories=categories)
    rows = db.session.execute(
        query.with_only_columns(Registration.id).limit(BULK_LIMIT + 1)
    ).scalars()
    return list(rows)


def resend_link(registration: Registration, *, actor: Actor) -> None:
    """Email a fresh private link (to the person, or to their group's contact when they have
    no address); links sent before keep working. Audited."""
    if registration.status not in ACTIVE_STATUSES:
        raise DomainError(_("Only an active registration has a private link to send."))
    if not registration.has_email and registration.group_id is None:
        raise DomainError(_("This person has no email address: no link can be sent."))
    notify.lost_link(registration)
    record(
        "registration.link_resent",
        actor=actor,
        object_type="registration",
        object_id=registration.id,
        event_id=registration.event_id,
    )
