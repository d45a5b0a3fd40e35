"""The public registration form, built per event and category, and the manage-page forms."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    RadioField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Optional,
)

from nkhr_events.events.models import Event
from nkhr_events.events.texts import local_text
from nkhr_events.registrations import interpretation as interpreting
from nkhr_events.registrations.categories import QUESTIONS, Category
from nkhr_events.registrations.models import Registration
from nkhr_events.registrations.services import (
    CategorySettings,
    DetailsInput,
    RegistrationInput,
    has_extra_question,
)
from nkhr_events.validators import (
    CountryField,
    Form,
    Length,
    MultiCheckboxField,
    email_address,
    language_choices,
)


def interpretation_choices(event: Event, kept: str | None = None) -> list[SelectChoice]:
    """The interpretation options of `event`, and `kept`, a registration's stored choice the
    event no longer offers."""
    return [
        SelectChoice(code, interpreting.label(code))
        for code in interpreting.choices(event, kept)
    ]


def ask_interpretation(form: DetailsForm, event: Event, kept: str | None = None) -> None:
    """Give the form `event`'s interpretation options, or drop the question where there is
    nothing to choose but no interpretation (the event interprets nothing)."""
    options = interpretation_choices(event, kept)
    if len(options) > 1:
        form.interpretation.choices = options
    else:
        del form.interpretation


class DetailsForm(Form):
    """Fields an attendee fills in at registration and may change later without review."""

    given_name = StringField(
        _l("Given name"),
        validators=[DataRequired(_l("Enter your given name.")), Length(max=100)],
        render_kw={"autocomplete": "given-name"},
    )
    family_name = StringField(
        _l("Family name"),
        validators=[DataRequired(_l("Enter your family name.")), Length(max=100)],
        render_kw={"autocomplete": "family-name"},
    )
    badge_name = StringField(
        _l("Name for your badge"),
        description=_l("Leave empty to use your given and family name."),
        validators=[Optional(), Length(max=100)],
    )
    organization = StringField(
        _l("Organization or affiliation"),
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "organization"},
    )
    position = StringField(
        _l("Position"),
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "organization-title"},
    )
    country = CountryField(_l("Country"), validators=[Optional()])
    language = RadioField(
        _l("Language for our emails"),
        choices=language_choices(),
        validators=[InputRequired(_l("Choose a language."))],
    )
    #: Its options are the event's (`ask_interpretation`, when the form is made).
    interpretation = RadioField(
        _l("Interpretation"),
        choices=[],
        default=interpreting.NO_INTERPRETATION,
        validators=[InputRequired(_l("Choose an interpretation option."))],
        invalid_choice_message=interpreting.NOT_OFFERED,
    )
    accessibility_needs = TextAreaField(
        _l("Accessibility needs"),
        description=_l("For example step-free access, a sign language interpreter, seating."),
        validators=[Optional(), Length(max=1000)],
        render_kw={"rows": 3},
    )
    dietary_needs = TextAreaField(
        _l("Dietary needs"), validators=[Optional(), Length(max=500)], render_kw={"rows": 2}
    )
    publish_name = BooleanField(
        _l("Publish my name and organization in the participant list"),
        description=_l("Off unless you tick it. You can change it later."),
    )
    photo_consent = BooleanField(
        _l("I agree to appear in photos and video of the conference"),
        description=_l("Off unless you tick it."),
    )
    do_not_publish = BooleanField(
        _l("Do not publish or photograph me"),
        description=_l(
            "You stay off every participant list, your badge shows your given name only and "
            "organizers keep you out of photos and video."
        ),
    )


class RegistrationForm(DetailsForm):
    email = EmailField(
        _l("Email"),
        description=_l("Your confirmation and private link are sent here."),
        validators=[
            DataRequired(_l("Enter your email address.")), Length(max=254), email_address()
        ],
        render_kw={"autocomplete": "email"},
    )
    privacy_consent = BooleanField(
        _l("I have read the privacy notice and agree that my data is used to run this conference"),
        validators=[DataRequired(_l("Please accept the privacy notice to register."))],
    )
    # A field people never see; automated submitters fill it in.
    homepage = StringField(_l("Leave this field empty"), validators=[Optional(), Length(max=200)])


def _days_field(event: Event) -> Field:
    from nkhr_events.web import event_days_text

    return MultiCheckboxField(
        _l("Days you attend"),
        choices=[SelectChoice(d.isoformat(), event_days_text([d])) for d in event.day_list],
        validators=[DataRequired(_l("Choose at least one day."))],
    )


def _sessions_field() -> Field:
    return MultiCheckboxField(
        _l("Sessions with limited places"),
        description=_l(
            "You get a place in a session only with a seat at the event. If you are put on the "
            "waitlist, choose sessions on your registration page once you have a seat."
        ),
        choices=[],
        validators=[Optional()],
    )


def question_fields(
    category: Category, settings: CategorySettings, language: str
) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    for question in QUESTIONS[category]:
        validators: list[Any] = [Length(max=question.max_length)]
        if question.required:
            validators.insert(0, DataRequired(_l("This question needs an answer.")))
        else:
            validators.insert(0, Optional())
        if question.kind == "url":
            validators.append(URL(message=_l("Enter a web address starting with https://.")))
            fields[f"q_{question.key}"] = URLField(question.label, validators=validators)
        elif question.kind == "country":
            fields[f"q_{question.key}"] = CountryField(question.label, validators=validators)
        else:
            fields[f"q_{question.key}"] = StringField(question.label, validators=validators)
    if has_extra_question(settings):
        label = local_text(settings, "extra_question", language).text
        fields["q_extra"] = TextAreaField(
            label, validators=[Optional(), Length(max=1000)], render_kw={"rows": 2}
        )
    return fields


#: Form classes made by `registration_form`, by what they are made of (bounded: oldest out).
_FORM_CLASSES: dict[tuple[Any, ...], type[RegistrationForm]] = {}
_FORM_CLASSES_KEPT = 128


def registration_form(
    event: Event, category: Category, settings: CategorySettings, page_language: str,
    *, sessions: bool = False, **kwargs: Any,
) -> RegistrationForm:
    """A form class with the event's days and the category's questions, instantiated.

    The class is made once per event, days, category, extra question and language, not per
    request (WTForms binds fields per instance, so instances never share state)."""
    days = tuple(event.day_list)
    key = (event.id, days, category, settings.extra_question, settings.extra_question_ko,
           settings.extra_question_ja, page_language, sessions)
    form_class = _FORM_CLASSES.get(key)
    if form_class is None:
        attrs = question_fields(category, settings, page_language)
        if len(days) > 1:
            attrs["days"] = _days_field(event)
        if sessions:  # sessions with sign-up (programme/signups.py); choices set per request
            attrs["sessions"] = _sessions_field()
        form_class = type("EventRegistrationForm", (RegistrationForm,), attrs)
        if len(_FORM_CLASSES) >= _FORM_CLASSES_KEPT:
            _FORM_CLASSES.pop(next(iter(_FORM_CLASSES)))
        _FORM_CLASSES[key] = form_class
    form = form_class(**kwargs)
    ask_interpretation(form, event)
    return form


def details_form(
    event: Event, registration: Registration | None = None, **kwargs: Any
) -> DetailsForm:
    """The details form of `event` (with its days when it has more than one), showing what
    `registration` holds when one is given. The values are passed as data, never as `obj`:
    WTForms reads a field from `obj` before any value given for it, so `obj=registration`
    showed the `days` relationship (day rows, not ISO dates) and no day was ticked."""
    attrs: dict[str, Field] = {}
    if len(event.day_list) > 1:
        attrs["days"] = _days_field(event)
    form_class = type("EventDetailsForm", (DetailsForm,), attrs)
    if registration is not None:
        kwargs.setdefault("data", details_data(registration))
    form = form_class(**kwargs)
    ask_interpretation(form, event, registration.interpretation if registration else None)
    return form


def details_data(registration: Registration) -> dict[str, Any]:
    """What the details form shows for a registration, field by field."""
    data = {
        name: getattr(registration, name)
        for name, value in vars(DetailsForm).items()
        if isinstance(value, UnboundField)
    }
    data["days"] = [d.isoformat() for d in registration.day_list]
    return data


def chosen_days(form: FlaskForm) -> list[date]:
    field = getattr(form, "days", None)
    return [date.fromisoformat(v) for v in (field.data or [])] if field is not None else []


def answers(form: FlaskForm) -> dict[str, str]:
    return {
        name.removeprefix("q_"): (field.data or "").strip()
        for name, field in form._fields.items()
        if name.startswith("q_")
    }


class LostLinkForm(Form):
    email = EmailField(
        _l("Email"),
        description=_l("The address you registered with."),
        validators=[
            DataRequired(_l("Enter your email address.")), Length(max=254), email_address()
        ],
        render_kw={"autocomplete": "email"},
    )


def details_input(form: DetailsForm) -> DetailsInput:
    """What a details form says, as the service takes it."""
    return DetailsInput(
        given_name=form.given_name.data,
        family_name=form.family_name.data,
        badge_name=form.badge_name.data or "",
        organization=form.organization.data or "",
        position=form.position.data or "",
        country=form.country.data or "",
        language=form.language.data,
        days=chosen_days(form),
        interpretation=(
            form.interpretation.data if form.interpretation else interpreting.NO_INTERPRETATION
        ),
        accessibility_needs=form.accessibility_needs.data or "",
        dietary_needs=form.dietary_needs.data or "",
        publish_name=bool(form.publish_name.data),
        photo_consent=bool(form.photo_consent.data),
        do_not_publish=bool(form.do_not_publish.data),
    )


def registration_input(form: RegistrationForm, category: Category) -> RegistrationInput:
    return RegistrationInput(
        category=category.value,
        email=form.email.data,
        answers=answers(form),
        privacy_consent=bool(form.privacy_consent.data),
        **asdict(details_input(form)),
    )
