"""The participant list: who may see it, and the few people and fields it shows.

Only confirmed registrants who opted in and did not ask to stay unpublished appear, with name
and organization only; where the event asks for email confirmation, only once it is given.
The list is off unless staff switch it on for an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import get_locale
from sqlalchemy import SQLColumnExpression, case, func, select

from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.names import HAN, HANGUL, KANA, LATIN_AND_OTHERS, full_name
from nkhr_events.registrations.models import Registration, RegistrationStatus

OFF = "off"
PUBLIC = "public"
PARTICIPANTS = "participants"


#: The script groups of family names (names.name_sort_key) in the order a reader's collation
#: puts them, from CLDR: Korean "[reorder Hang Hani]", Japanese "[reorder Latn Kana Hani]";
#: the scripts not named follow in the default order. Other readers read the default order:
#: Latin (and the other alphabets), Hangul, Kana, Han.
READER_SCRIPT_ORDER: dict[str, tuple[str, ...]] = {
    "ko": (HANGUL, HAN, LATIN_AND_OTHERS, KANA),
    "ja": (LATIN_AND_OTHERS, KANA, HAN, HANGUL),
}


def reader_language() -> str:
    """The language of whoever reads the list now: the request's, or the one forced around
    a streamed export; English outside any."""
    return str(get_locale() or "en")


def name_order(language: str | None = None) -> tuple[SQLColumnExpression[Any], ...]:
    """ORDER BY terms that sort registrations by family name, then given name, in the
    collation of a reader of `language` (by default the current reader): the stored sort key,
    after its script group ranked the way that reader's collation ranks it."""
    base = (language or reader_language()).replace("-", "_").split("_")[0].lower()
    groups = READER_SCRIPT_ORDER.get(base)
    if groups is None:
        # The key's own order; a list of one event is then read from its index.
        return (Registration.name_sort,)
    rank = case(
        {group: position for position, group in enumerate(groups)},
        value=func.substr(Registration.name_sort, 1, 1),
        else_=len(groups),
    )
    return (rank, Registration.name_sort)


@dataclass(frozen=True)
class Participant:
    """What the list shows of one person; nothing else leaves the database."""

    name: str
    organization: str


def listed(
    event: Event, category: str | None = None, language: str | None = None
) -> list[Participant]:
    """The people on the list of `event`, by family name in the collation of a reader of
    `language` (by default the current reader); of one category when given."""
    query = select(
        Registration.given_name, Registration.family_name, Registration.organization
    ).where(
        Registration.event_id == event.id,
        Registration.status == RegistrationStatus.CONFIRMED,
        Registration.publish_name.is_(True),
        Registration.do_not_publish.is_(False),
        Registration.anonymized_at.is_(None),
        # A place still waiting for its address to be confirmed may be a fake sign-up.
        Registration.confirm_by.is_(None),
    )
    if category is not None:
        query = query.where(Registration.category == category)
    query = query.order_by(*name_order(language), Registration.id)
    return [
        Participant(name=full_name(given, family), organization=organization or "")
        for given, family, organization in db.session.execute(query)
    ]


def public_list(event: Event) -> list[Participant] | None:
    """The list for anyone, or None when the event does not publish one."""
    if event.participant_list != PUBLIC:
        return None
    return listed(event)


def list_for_participant(registration: Registration) -> list[Participant] | None:
    """The list a registrant sees through their private link, or None when they may not see one.

    Only a confirmed registrant sees it, and only when the event shares it (publicly or with
    participants); with the per-category setting, only their own category.
    """
    event = registration.event
    if event.participant_list not in (PUBLIC, PARTICIPANTS):
        return None
    if registration.status != RegistrationStatus.CONFIRMED:
        return None
    category = registration.category if event.participant_list_by_category else None
    return listed(event, category)
