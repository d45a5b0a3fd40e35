"""The public partner application form and the staff review forms."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from nkhr_events.partners.models import PartnershipRole
from nkhr_events.partners.services import (
    CO_ORGANIZER_OFFERS,
    ORGANIZATION_TYPES,
    ROLE_LABELS,
    ApplicationInput,
)
from nkhr_events.validators import (
    RANGE_MESSAGE,
    CountryField,
    Form,
    MultiCheckboxField,
    WholeNumberField,
    language_choices,
)


def choices(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def web_address() -> list[Any]:
    """An http(s) address only: the website becomes a link on public pages."""
    message = _l("Enter a web address like https://example.org.")
    url = URL(require_tld=True, message=message)

    def check(form: FlaskForm, field: Field) -> None:
        if not re.match(r"(?i)^https?://", field.data or ""):
            raise ValidationError(message)
        url(form, field)

    return [check]


def _limit(n: int) -> dict[str, Any]:
    return {"maxlength": n}


class ApplicationForm(Form):
    """Every field is shown at once (no JavaScript needed); the sponsor-only and
    co-organizer-only fields are checked only for the role chosen."""

    organization_name = StringField(
        _l("Organization name"),
        validators=[
            DataRequired(_l("Enter your organization's name.")),
            Length(max=200),
            Regexp(r"\w", message=_l("Enter your organization's name.")),
        ],
        render_kw={"autocomplete": "organization", **_limit(200)},
    )
    organization_type = SelectField(
        _l("Type of organization"),
        choices=choices([("", _l("Choose…")), *ORGANIZATION_TYPES.items()]),
        validators=[DataRequired(_l("Choose the type of organization."))],
    )
    country = CountryField(_l("Country"), validators=[Optional()])
    website = StringField(
        _l("Website"),
        description=_l("For example https://example.org"),
        validators=[
            Optional(),
            Length(max=300),
            *web_address(),
        ],
        render_kw={"autocomplete": "url", "inputmode": "url", **_limit(300)},
    )
    contact_name = StringField(
        _l("Contact person"),
        validators=[DataRequired(_l("Enter the contact person's name.")), Length(max=200)],
        render_kw={"autocomplete": "name", **_limit(200)},
    )
    contact_role = StringField(
        _l("Their role in the organization"),
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "organization-title", **_limit(200)},
    )
    contact_email = EmailField(
        _l("Email"),
        description=_l("We answer at this address."),
        validators=[
            DataRequired(_l("Enter your email address.")),
            Length(max=254),
            Email(
                message=_l("Enter an email address like name@example.org."),
                check_deliverability=False,
            ),
        ],
        render_kw={"autocomplete": "email", **_limit(254)},
    )
    contact_phone = StringField(
        _l("Phone (optional)"),
        validators=[Optional(), Length(max=40)],
        render_kw={"autocomplete": "tel", "inputmode": "tel", **_limit(40)},
    )
    role = RadioField(
        _l("We would like to be"),
        choices=choices(ROLE_LABELS.items()),
        validators=[InputRequired(_l("Choose co-organizer or sponsor."))],
    )
    sponsor_tier = RadioField(
        _l("Sponsor tier (sponsors only)"), validators=[Optional()], validate_choice=False
    )
    contribution = TextAreaField(
        _l("Contribution (sponsors only)"),
        description=_l("Funding, or what you provide in kind."),
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 3, **_limit(2000)},
    )
    offers = MultiCheckboxField(
        _l("What you bring (co-organizers only)"),
        choices=choices(CO_ORGANIZER_OFFERS.items()),
        validators=[Optional()],
    )
    offers_other = StringField(
        _l("Anything else you bring"),
        validators=[Optional(), Length(max=500)],
        render_kw=_limit(500),
    )
    message = TextAreaField(
        _l("Message"),
        validators=[Optional(), Length(max=4000)],
        render_kw={"rows": 5, **_limit(4000)},
    )
    logo = FileField(
        _l("Logo (optional)"),
        description=_l("PNG, JPEG or WebP, up to 1 MB. Shown once your application is approved."),
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )
    language = RadioField(
        _l("Language for our emails"),
        choices=language_choices(),
        validators=[InputRequired(_l("Choose a language."))],
    )
    privacy_consent = BooleanField(
        _l("I have read the privacy notice and agree that these details are used to handle "
           "this application"),
        validators=[DataRequired(_l("Please accept the privacy notice to apply."))],
    )
    # A field people never see; automated submitters fill it in.
    homepage = StringField(_l("Leave this field empty"), validators=[Optional(), Length(max=200)])

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.role.data == PartnershipRole.SPONSOR:
            tiers = {choice.value for choice in self.sponsor_tier.choices or []}
            if self.sponsor_tier.data not in tiers:
                self.sponsor_tier.errors = [
                    *self.sponsor_tier.errors,
                    _l("Choose the tier you would like to sponsor at."),
                ]
                valid = False
        if self.role.data == PartnershipRole.CO_ORGANIZER and not (
            self.offers.data or (self.offers_other.data or "").strip()
        ):
            self.offers.errors = [*self.offers.errors, _l("Tell us what you would bring.")]
            valid = False
        return valid

    def to_input(self) -> ApplicationInput:
        sponsor = self.role.data == PartnershipRole.SPONSOR
        return ApplicationInput(
            organization_name=self.organization_name.data or "",
            organization_type=self.organization_type.data,
            country=self.country.data or None,
            website=self.website.data or None,
            contact_name=self.contact_name.data or "",
            contact_role=self.contact_role.data or None,
            contact_email=self.contact_email.data or "",
            contact_phone=self.contact_phone.data or None,
            role=self.role.data,
            sponsor_tier=self.sponsor_tier.data if sponsor else None,
            contribution=self.contribution.data or None,
            offers=[] if sponsor else list(self.offers.data or []),
            offers_other=None if sponsor else (self.offers_other.data or None),
            message=self.message.data or None,
            language=self.language.data,
        )


class DecisionForm(Form):
    note = TextAreaField(
        _l("Note to the applicant"),
        description=_l("Sent with the decision. Required when declining."),
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 3, **_limit(2000)},
    )


class PlacementForm(Form):
    sponsor_tier = SelectField(_l("Sponsor tier"), validators=[Optional()], validate_choice=False)
    display_order = WholeNumberField(
        _l("Display order"),
        description=_l("Lower numbers are listed first."),
        validators=[InputRequired(), NumberRange(min=0, max=999, message=RANGE_MESSAGE)],
    )


class PartnerForm(Form):
    name = StringField(
        _l("Public name"),
        validators=[DataRequired(_l("Enter the organization's name.")), Length(max=200)],
        render_kw=_limit(200),
    )
    website = StringField(
        _l("Website"),
        validators=[
            Optional(),
            Length(max=300),
            *web_address(),
        ],
        render_kw=_limit(300),
    )


class TiersForm(Form):
    tiers = TextAreaField(
        _l("Sponsor tiers"),
        description=_l("One per line, highest first. Leave empty for the default tiers."),
        validators=[Optional(), Length(max=1000)],
        render_kw={"rows": 4, **_limit(1000)},
    )
