"""Participant categories (the source page's list of who may take part) and their questions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString


class Category(StrEnum):
    EXPERT = "expert"
    ACADEMIC = "academic"
    JOURNALIST = "journalist"
    HUMAN_RIGHTS_ORG = "human_rights_org"
    ACTIVIST = "activist"
    ARTIST = "artist"
    GOVERNMENT = "government"
    INTERNATIONAL_ORG = "international_org"
    GENERAL_PUBLIC = "general_public"
    # Event-specific categories, by invitation only: off until an event switches them on.
    SPEAKER = "speaker"
    DELEGATION = "delegation"
    ORGANIZERS_GUEST = "organizers_guest"


CATEGORY_LABELS: dict[Category, LazyString] = {
    Category.EXPERT: _l("Expert"),
    Category.ACADEMIC: _l("Academic"),
    Category.JOURNALIST: _l("Journalist"),
    Category.HUMAN_RIGHTS_ORG: _l("Human rights or humanitarian organization"),
    Category.ACTIVIST: _l("Activist"),
    Category.ARTIST: _l("Artist"),
    Category.GOVERNMENT: _l("Government representative"),
    Category.INTERNATIONAL_ORG: _l("International organization representative"),
    Category.GENERAL_PUBLIC: _l("General public"),
    Category.SPEAKER: _l("Speaker"),
    Category.DELEGATION: _l("Member of a delegation"),
    Category.ORGANIZERS_GUEST: _l("Guest of the organizers"),
}

#: Categories never offered on the public form: an event may switch them on, and only an
#: invitation, a group's link or staff register into them.
INVITATION_ONLY = frozenset({Category.SPEAKER, Category.DELEGATION, Category.ORGANIZERS_GUEST})

#: Categories whose registrations an organizer reviews unless the event says otherwise.
REVIEWED_BY_DEFAULT = frozenset(
    {Category.JOURNALIST, Category.GOVERNMENT, Category.INTERNATIONAL_ORG}
)


@dataclass(frozen=True)
class Question:
    """A question one category answers; answers are stored by `key`."""

    key: str
    label: LazyString
    required: bool = True
    max_length: int = 200
    kind: str = "text"  # "text" | "url" | "country"


QUESTIONS: dict[Category, tuple[Question, ...]] = {
    Category.JOURNALIST: (
        Question("media_outlet", _l("Media outlet")),
        Question("media_role", _l("Your role (e.g. reporter, editor, photographer)")),
        Question("press_card", _l("Press card number"), required=False, max_length=60),
    ),
    Category.GOVERNMENT: (
        Question("ministry", _l("Government or ministry")),
        Question("government_position", _l("Position in government")),
        Question("country_represented", _l("Country represented"), kind="country"),
    ),
    Category.INTERNATIONAL_ORG: (
        Question("international_organization", _l("International organization")),
        Question("organization_position", _l("Position in the organization")),
    ),
    Category.ACADEMIC: (Question("institution", _l("Institution")),),
    Category.EXPERT: (
        Question("expert_affiliation", _l("Affiliation")),
        Question("expert_field", _l("Field of expertise")),
    ),
    Category.HUMAN_RIGHTS_ORG: (Question("rights_organization", _l("Organization")),),
    Category.ARTIST: (
        Question("discipline", _l("Artistic discipline")),
        Question("artist_website", _l("Website"), required=False, max_length=300, kind="url"),
    ),
    Category.ACTIVIST: (
        Question("activist_organization", _l("Organization or group"), required=False),
    ),
    Category.GENERAL_PUBLIC: (),
    Category.SPEAKER: (),
    Category.DELEGATION: (),
    Category.ORGANIZERS_GUEST: (),
}

#: Every answer key any category may have, for validation of stored answers.
ALL_QUESTION_KEYS = frozenset(q.key for qs in QUESTIONS.values() for q in qs)


def category_name(value: str) -> Any:
    """The category's label as a lazy text, said in the language it is rendered in (an email
    to a Korean attendee says it in Korean, whoever's action sent it); unknown values as is."""
    try:
        return CATEGORY_LABELS[Category(value)]
    except ValueError:
        return value


def category_label(value: str) -> str:
    """The category's label in the current language."""
    return str(category_name(value))
