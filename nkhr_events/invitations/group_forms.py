"""Forms of delegations and partner blocks: the staff form that gives a group its places, and
the contact's form for one member (the registration details, an address that may be left
empty, and the contact's word that the person agreed to the privacy notice)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from nkhr_events.events.models import Event
from nkhr_events.invitations.groups import MAX_PLACES
from nkhr_events.registrations import forms as registration_forms
from nkhr_events.registrations.categories import Category
from nkhr_events.registrations.services import CategorySettings
from nkhr_events.validators import (
    RANGE_MESSAGE,
    Form,
    Length,
    WholeNumberField,
    email_address,
    language_choices,
)


class GroupForm(Form):
    """What staff give a delegation or a partner: places of one category until a day, and
    the contact who fills them."""

    name = StringField(
        _l("Name of the group"),
        description=_l("For example: Ministry of Unification delegation."),
        validators=[DataRequired(_l("Enter the group's name.")), Length(max=200)],
    )
    category = SelectField(_l("Category"), validators=[InputRequired(_l("Choose a category."))])
    places = WholeNumberField(
        _l("Places"),
        description=_l("They count as taken from now on, whether or not they are filled."),
        validators=[
            InputRequired(_l("Enter the number of places.")),
            NumberRange(min=1, max=MAX_PLACES, message=RANGE_MESSAGE),
        ],
        render_kw={"inputmode": "numeric"},
    )
    changes_until = DateField(
        _l("Changes until (inclusive)"),
        description=_l(
            "Until the end of this day the contact adds, replaces or removes members; "
            "then unused places go to the waitlist."
        ),
        validators=[InputRequired(_l("Choose a day."))],
        format="%Y-%m-%d",
        render_kw={"type": "date"},
    )
    contact_name = StringField(
        _l("Contact person"),
        validators=[DataRequired(_l("Enter the name.")), Length(max=200)],
    )
    contact_email = EmailField(
        _l("Contact's email"),
        description=_l("The link to register the group's members is sent here."),
        validators=[DataRequired(_l("Enter an email address.")), Length(max=254), email_address()],
    )
    contact_language = RadioField(
        _l("Language of the contact's emails"),
        choices=language_choices(),
        default="en",
        validators=[InputRequired(_l("Choose a language."))],
    )


class MemberForm(registration_forms.RegistrationForm):
    """One member, as their group's contact registers them."""

    given_name = StringField(
        _l("Given name"),
        validators=[DataRequired(_l("Enter the given name.")), Length(max=100)],
    )
    family_name = StringField(
        _l("Family name"),
        validators=[DataRequired(_l("Enter the family name.")), Length(max=100)],
    )
    badge_name = StringField(
        _l("Name for the badge"),
        description=_l("Leave empty to use the given and family name."),
        validators=[Optional(), Length(max=100)],
    )
    email = EmailField(
        _l("Their email"),
        description=_l(
            "Leave empty if they have none; their emails, with their check-in code, come to you."
        ),
        validators=[Optional(), Length(max=254), email_address()],
    )
    language = RadioField(
        _l("Language of their emails"),
        choices=language_choices(),
        validators=[InputRequired(_l("Choose a language."))],
    )
    publish_name = BooleanField(
        _l("Publish their name and organization in the participant list"),
        description=_l("Off unless you tick it."),
    )
    photo_consent = BooleanField(
        _l("They agree to appear in photos and video of the conference"),
        description=_l("Off unless you tick it."),
    )
    do_not_publish = BooleanField(
        _l("Do not publish or photograph them"),
        description=_l(
            "They stay off every participant list, their badge shows their given name only "
            "and organizers keep them out of photos and video."
        ),
    )
    privacy_consent = BooleanField(
        _l("This person agreed to the privacy notice"),
        validators=[
            DataRequired(_l("Tick this once the person has agreed to the privacy notice."))
        ],
    )


def member_form(
    event: Event, category: Category, settings: CategorySettings, page_language: str,
    **kwargs: Any,
) -> MemberForm:
    """The member form of the group's event and category: its days (when there are several),
    its category's questions and its interpretation options."""
    attrs: dict[str, Field] = registration_forms.question_fields(category, settings, page_language)
    if len(event.day_list) > 1:
        attrs["days"] = registration_forms._days_field(event)
    form_class = type("GroupMemberForm", (MemberForm,), attrs)
    form: MemberForm = form_class(**kwargs)
    registration_forms.ask_interpretation(form, event)
    return form
