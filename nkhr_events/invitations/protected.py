"""Protected guests: people at risk (a defector, a refugee's family) whom staff register
without an email address.

Such a guest appears everywhere under a pseudonym the staff choose: the registration's name
fields hold it, so that the roster, the door, badges, sign-in sheets, searches and exports show
it without knowing anything of protection. The real name is kept apart, encrypted at rest
(`Registration.real_name`), and read only through `reveal_real_name` by those who hold
`Permission.PROTECTED` (admins and the event's organizers); every reading is audited, and no
audit entry ever holds a name. A protected guest gets no email at all (registrations/notify.py):
staff print the handout sheet (the check-in code) and give it to them in person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _

from nkhr_events.audit.services import Actor, record
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration
from nkhr_events.registrations.services import (
    Admission,
    RegistrationInput,
    category_settings,
    register_attendee,
)
from nkhr_events.validators import LANGUAGES

#: The longest real name kept (characters).
REAL_NAME_LIMIT = 200
#: The longest pseudonym: it is stored in the name and badge-name columns.
PSEUDONYM_LIMIT = 100


@dataclass
class ProtectedInput:
    """What staff enter for a protected guest (from the staff form or a test)."""

    pseudonym: str
    real_name: str
    category: str
    language: str = "en"
    days: list[date] = field(default_factory=list)
    interpretation: str = "none"
    accessibility_needs: str = ""
    dietary_needs: str = ""
    #: Staff read the privacy notice with the person, who agreed to it in person.
    privacy_consent: bool = False


def protected_categories(event: Event) -> list[str]:
    """The categories a protected guest may be registered in: every one enabled for the event,
    by invitation only or not (staff chose the person)."""
    return [c for c, s in category_settings(event).items() if s.enabled]


def event_ends(event: Event) -> datetime:
    """The end of the event's last day on its own clock: staff may register a protected guest
    until then, at the door too."""
    after = datetime.combine(event.end_date + timedelta(days=1), time.min, tzinfo=event.zone)
    return after.astimezone(UTC)


def _checked_names(pseudonym: str, real_name: str) -> tuple[str, str]:
    pseudonym, real_name = pseudonym.strip(), real_name.strip()
    if not pseudonym:
        raise DomainError(_("Enter the pseudonym."), "pseudonym")
    if len(pseudonym) > PSEUDONYM_LIMIT:
        raise DomainError(_("Use at most %(n)d characters.", n=PSEUDONYM_LIMIT), "pseudonym")
    if not real_name:
        raise DomainError(_("Enter the real name."), "real_name")
    if len(real_name) > REAL_NAME_LIMIT:
        raise DomainError(_("Use at most %(n)d characters.", n=REAL_NAME_LIMIT), "real_name")
    if pseudonym.casefold() == real_name.casefold():
        raise DomainError(_("Choose a pseudonym that is not the real name."), "pseudonym")
    return pseudonym, real_name


def _checked_category(event: Event, value: str) -> str:
    """An enabled category. Its questions are not asked: the answers (a media outlet, a
    ministry) would identify the person (registrations/services.py skips them for staff)."""
    if value not in protected_categories(event):
        raise DomainError(_("Choose a category enabled for this event."), "category")
    return value


def register_protected(
    event: Event, data: ProtectedInput, now: datetime | None = None, *, actor: Actor
) -> Registration:
    """Register a protected guest under a pseudonym, without an email address: confirmed when
    a seat is free (staff chose the person: no review), else waitlisted like anyone. Never
    published or photographed (`do_not_publish`). Raises DomainError beside the field at
    fault (RegistrationClosed when the event is not published or is over), or SeatsBusy.
    Audited without any name."""
    pseudonym, real_name = _checked_names(data.pseudonym, data.real_name)
    category = _checked_category(event, data.category)
    if data.language not in LANGUAGES:
        raise DomainError(_("Choose a language."), "language")
    if not data.privacy_consent:
        raise DomainError(
            _("Confirm that the person agreed to the privacy notice."), "privacy_consent"
        )
    if len(data.accessibility_needs) > 1000:
        raise DomainError(_("Use at most %(n)d characters.", n=1000), "accessibility_needs")
    if len(data.dietary_needs) > 500:
        raise DomainError(_("Use at most %(n)d characters.", n=500), "dietary_needs")
    result = register_attendee(
        event.id,
        RegistrationInput(
            category=category,
            given_name=pseudonym,
            family_name="",
            email="",
            badge_name=pseudonym,
            language=data.language,
            days=data.days,
            interpretation=data.interpretation,
            accessibility_needs=data.accessibility_needs,
            dietary_needs=data.dietary_needs,
            privacy_consent=True,
            do_not_publish=True,
        ),
        now or utcnow(),
        actor=actor,
        admission=Admission(until=event_ends(event), email_optional=True, by_staff=True),
    )
    registration = result.registration
    registration.protected = True
    registration.real_name = real_name
    db.session.flush()
    record(
        "protected.register",
        object_type="registration",
        object_id=registration.id,
        event_id=event.id,
        actor=actor,
        detail={"category": category, "status": str(registration.status)},
    )
    return registration


def _only_protected(registration: Registration) -> None:
    if not registration.protected:
        raise DomainError(_("This person is not a protected guest."))


def reveal_real_name(registration: Registration, *, actor: Actor) -> str:
    """The guest's real name, for a holder of `Permission.PROTECTED`; every reading is
    recorded (`protected.reveal`), never the name itself."""
    _only_protected(registration)
    record(
        "protected.reveal",
        object_type="registration",
        object_id=registration.id,
        event_id=registration.event_id,
        actor=actor,
    )
    return registration.real_name


def change_names(
    registration: Registration, pseudonym: str, real_name: str, *, actor: Actor
) -> list[str]:
    """Change a protected guest's pseudonym and/or real name. Returns what changed
    ("pseudonym", "real_name"); unchanged, nothing is written or recorded. The audit entry
    names the fields, never their values."""
    _only_protected(registration)
    pseudonym, real_name = _checked_names(pseudonym, real_name)
    changed: list[str] = []
    if pseudonym != registration.given_name or registration.family_name:
        registration.given_name = pseudonym
        registration.family_name = ""
        registration.badge_name = pseudonym
        changed.append("pseudonym")
    if real_name != registration.real_name:
        registration.real_name = real_name
        changed.append("real_name")
    if changed:
        db.session.flush()
        record(
            "protected.change",
            object_type="registration",
            object_id=registration.id,
            event_id=registration.event_id,
            actor=actor,
            detail={"fields": changed},
        )
    return changed


def record_handout(registration: Registration, *, actor: Actor) -> None:
    """The handout sheet (the check-in code to give in person) was opened."""
    record(
        "protected.handout",
        object_type="registration",
        object_id=registration.id,
        event_id=registration.event_id,
        actor=actor,
    )

