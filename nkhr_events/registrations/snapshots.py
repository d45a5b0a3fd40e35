"""What a registration email says, taken as values when it is queued (`outbox.services.Snapshot`).

The request that registers someone does not render the email it queues: it stores the facts
the email needs — the person's name, status and days, the event's texts, place and days, the
calendar entry's number — and the outbox worker writes the email from them when it sends it.
So the email says what was true when the person acted, even if the event or the registration
changes before it goes out, and the visitor's page answers without waiting for templates.

The facts are read back as small frozen objects with the attributes the email templates and
the calendar file use of a Registration and an Event (`RegistrationFacts`, `EventFacts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from nkhr_events import names
from nkhr_events.events.models import Event
from nkhr_events.events.texts import CONTENT_LANGUAGES, text_column
from nkhr_events.registrations.models import Registration

#: The event's texts an email or its calendar file shows.
_EVENT_TEXTS = tuple(
    text_column(field, language)
    for field in ("title", "venue", "city")
    for language in CONTENT_LANGUAGES
)


@dataclass(frozen=True)
class EventFacts:
    """An event as a registration email shows it (duck-types `Event` for the email templates,
    `local_text` and the calendar file)."""

    id: int
    slug: str
    country: str
    timezone: str
    languages: str
    days: tuple[date, ...]
    title: str = ""
    title_ko: str = ""
    title_ja: str = ""
    venue: str = ""
    venue_ko: str = ""
    venue_ja: str = ""
    city: str = ""
    city_ko: str = ""
    city_ja: str = ""

    @classmethod
    def of(cls, event: Event) -> EventFacts:
        return cls(
            id=event.id,
            slug=event.slug,
            country=event.country,
            timezone=event.timezone,
            languages=event.languages,
            days=tuple(event.day_list),
            **{name: getattr(event, name) or "" for name in _EVENT_TEXTS},
        )

    @property
    def day_list(self) -> list[date]:
        return list(self.days)

    @property
    def language_list(self) -> list[str]:
        return self.languages.split()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class RegistrationFacts(names.WrittenName):
    """A registration as its email shows it (duck-types `Registration` for the templates)."""

    id: int
    given_name: str
    family_name: str
    status: str
    days: tuple[date, ...]
    confirm_by: datetime | None
    awaits_email_confirmation: bool

    @classmethod
    def of(cls, registration: Registration) -> RegistrationFacts:
        return cls(
            id=registration.id,
            given_name=registration.given_name,
            family_name=registration.family_name,
            status=str(registration.status),
            days=tuple(registration.day_list),
            confirm_by=registration.confirm_by,
            awaits_email_confirmation=registration.awaits_email_confirmation,
        )

    @property
    def day_list(self) -> list[date]:
        return list(self.days)



def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_to_json(item) for item in value]
    return value


def facts_values(facts: EventFacts | RegistrationFacts) -> dict[str, Any]:
    """The facts as JSON values (dates and times as ISO 8601 text)."""
    return {key: _to_json(value) for key, value in asdict(facts).items()}


def _days(values: Any) -> tuple[date, ...]:
    return tuple(date.fromisoformat(day) for day in values or ())


def event_facts(values: Mapping[str, Any]) -> EventFacts:
    known = {f.name for f in fields(EventFacts)}
    data = {key: value for key, value in values.items() if key in known}
    data["days"] = _days(data.get("days"))
    return EventFacts(**data)


def registration_facts(values: Mapping[str, Any]) -> RegistrationFacts:
    known = {f.name for f in fields(RegistrationFacts)}
    data = {key: value for key, value in values.items() if key in known}
    data["days"] = _days(data.get("days"))
    confirm_by = data.get("confirm_by")
    data["confirm_by"] = datetime.fromisoformat(confirm_by) if confirm_by else None
    return RegistrationFacts(**data)
