"""The participant list: who may see it, and the few people and fields it shows.

Only confirmed registrants who opted in and did not ask to stay unpublished appear, with name
and organization only; where the event asks for email confirmation, only once it is given.
The list is off unless staff switch it on for an event.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.names import full_name
from nkhr_events.registrations.models import Registration, RegistrationStatus

OFF = "off"
PUBLIC = "public"
PARTICIPANTS = "participants"


@dataclass(frozen=True)
class Participant:
    """What the list shows of one person; nothing else leaves the database."""

    name: str
    organization: str


def listed(event: Event, category: str | None = None) -> list[Participant]:
    """The people on the list of `event`, by family name; of one category when given."""
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
    query = query.order_by(
        func.lower(Registration.family_name),
        func.lower(Registration.given_name),
        Registration.id,
    )
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
