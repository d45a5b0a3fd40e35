"""Staff forms of the roster: the category settings of an event, and the form that chooses a
flood of registrations to cancel (roster/flood.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    Field,
    HiddenField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, Regexp

from nkhr_events.events.models import Event
from nkhr_events.registrations.categories import CATEGORY_LABELS, Category
from nkhr_events.registrations.services import CategorySettings
from nkhr_events.roster.flood import FloodFilters
from nkhr_events.validators import Form, Length, MultiCheckboxField, WholeNumberField, whole_number

#: A domain name as people write it after the "@" (letters in any script, digits, hyphens).
DOMAIN_PATTERN = r"^@?(?:[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?\.)+[^\W\d_]{2,63}$"


#: The settings staff edit per category, as the form names them ("<category>-<setting>").
CATEGORY_SETTINGS = (
    "enabled", "by_invitation", "needs_review", "seat_cap", "extra_question", "extra_question_ko",
    "extra_question_ja",
)
#: The extra question's text in each language, by setting name.
EXTRA_QUESTIONS = ("extra_question", "extra_question_ko", "extra_question_ja")
SEAT_CAP_MESSAGE = _l("Enter a whole number of seats, or leave it empty.")


class CategorySettingsForm(Form):
    """Every category's settings of one event on one page; `category_settings_form` adds the
    fields, named "<category>-<setting>" (e.g. `journalist-seat_cap`)."""

    def row(self, category: Category) -> dict[str, Field]:
        """The fields of one category, by setting."""
        return {name: self[f"{category.value}__{name}"] for name in CATEGORY_SETTINGS}

    def values(self) -> dict[str, dict[str, object]]:
        """What the form says, as `save_category_settings` takes it."""
        values: dict[str, dict[str, object]] = {}
        for category in Category:
            row = self.row(category)
            values[category.value] = {
                "enabled": bool(row["enabled"].data),
                "by_invitation": bool(row["by_invitation"].data),
                "seat_cap": row["seat_cap"].data,
                "needs_review": bool(row["needs_review"].data),
            } | {name: (row[name].data or "").strip() or None for name in EXTRA_QUESTIONS}
        return values


def category_settings_form(settings: dict[str, CategorySettings]) -> CategorySettingsForm:
    """The category settings form of an event, filled in with its current settings."""
    attrs: dict[str, Field] = {}
    data: dict[str, object] = {}
    for category in Category:
        prefix = category.value
        current = settings[prefix]
        fields: dict[str, Field] = {
            "enabled": BooleanField(_l("Open for registration")),
            "by_invitation": BooleanField(
                _l("By invitation only"),
                description=_l("Not offered on the public form; invited people register "
                               "through their invitation's link."),
            ),
            "needs_review": BooleanField(_l("Organizers review each registration")),
            "seat_cap": WholeNumberField(
                _l("Seat cap"),
                validators=[Optional(), NumberRange(0, 999999, message=SEAT_CAP_MESSAGE)],
                invalid_value_message=SEAT_CAP_MESSAGE,
                render_kw={"inputmode": "numeric", "maxlength": 6},
            ),
            **{
                name: StringField(
                    label,
                    validators=[Length(max=300, message=_l("Use at most 300 characters."))],
                    render_kw={"maxlength": 300, "lang": language},
                )
                for name, label, language in (
                    ("extra_question", _l("Extra question in English (optional)"), "en"),
                    ("extra_question_ko", _l("Extra question in Korean"), "ko"),
                    ("extra_question_ja", _l("Extra question in Japanese"), "ja"),
                )
            },
        }
        for name, field in fields.items():
            # The HTML name (and id) keeps the "<category>-<setting>" form of the page.
            field.name = f"{prefix}-{name}"
            attrs[f"{prefix}__{name}"] = field
            data[f"{prefix}__{name}"] = getattr(current, name)
    form_class = type("EventCategorySettingsForm", (CategorySettingsForm,), attrs)
    return form_class(data=data)


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
