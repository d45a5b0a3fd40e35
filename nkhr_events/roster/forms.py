"""The staff form that chooses a flood of registrations to cancel (roster/flood.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateTimeLocalField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, Regexp

from nkhr_events.events.models import Event
from nkhr_events.registrations.categories import CATEGORY_LABELS, Category
from nkhr_events.roster.flood import FloodFilters
from nkhr_events.validators import Form, MultiCheckboxField, whole_number

#: A domain name as people write it after the "@" (letters in any script, digits, hyphens).
DOMAIN_PATTERN = r"^@?(?:[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?\.)+[^\W\d_]{2,63}$"


class FloodCancelForm(Form):
    """Staff choose a flood of registrations to cancel (flood.py)."""

    created_from = DateTimeLocalField(
        _l("Registered from"),
        description=_l("In the event's time zone; registrations made in this minute count."),
        validators=[Optional()],
    )
    created_until = DateTimeLocalField(
        _l("Registered until"),
        description=_l("In the event's time zone; registrations made in this minute count."),
        validators=[Optional()],
    )
    category = SelectField(_l("Category"), default="")
    statuses = MultiCheckboxField(
        _l("Status"),
        choices=[
            SelectChoice("pending", _l("Awaiting review")),
            SelectChoice("confirmed", _l("Confirmed")),
            SelectChoice("waitlisted", _l("Waitlisted")),
        ],
        description=_l("Leave all unticked for any of them."),
        validators=[Optional()],
    )
    unconfirmed_only = BooleanField(
        _l("Only those who have not confirmed their email address")
    )
    email_domain = StringField(
        _l("Email domain"),
        description=_l("Optional, e.g. example.com; its subdomains count too."),
        validators=[
            Optional(),
            Length(max=253),
            Regexp(DOMAIN_PATTERN, message=_l("Enter a domain such as example.com.")),
        ],
    )
    notify_people = BooleanField(
        _l("Email the people cancelled"),
        description=_l("Off unless you tick it: fake addresses should not get mail."),
    )
    understood = BooleanField(_l("I understand that these registrations will be cancelled"))
    expected_count = HiddenField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = [
            SelectChoice("", _l("Any category")),
            *(SelectChoice(c.value, CATEGORY_LABELS[c]) for c in Category),
        ]

    def ready_to_cancel(self) -> int | None:
        """The count the preview showed, if the person ticked that they understand; else
        None, with the message beside the tick box."""
        if not self.understood.data:
            self.understood.errors = [
                *self.understood.errors,
                _l("Tick the box to confirm that these registrations will be cancelled."),
            ]
            return None
        return whole_number(self.expected_count.data, minimum=0)


def _event_minute(value: datetime | None, event: Event) -> datetime | None:
    if value is None:
        return None
    return value.replace(second=0, microsecond=0, tzinfo=event.zone).astimezone(UTC)


def flood_filters(form: FloodCancelForm, event: Event) -> FloodFilters:
    """What a validated flood form selects; local times become UTC, and "until" includes its
    whole minute."""
    until = _event_minute(form.created_until.data, event)
    return FloodFilters(
        created_from=_event_minute(form.created_from.data, event),
        created_until=until + timedelta(minutes=1) if until is not None else None,
        category=form.category.data or "",
        statuses=tuple(form.statuses.data or ()),
        unconfirmed_only=bool(form.unconfirmed_only.data),
        email_domain=(form.email_domain.data or "").strip().lower().removeprefix("@"),
    )
