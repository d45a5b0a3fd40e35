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
    HiddenField,
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
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from nkhr_events.partners import logos, services
from nkhr_events.partners.logos import CleanLogo
from nkhr_events.partners.models import PartnershipRole, PendingLogo
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
    Length,
    MultiCheckboxField,
    WholeNumberField,
    language_choices,
)


def choices(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


_SCHEME = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://")


def with_scheme(value: str | None) -> str | None:
    """A web address as people type it, made whole: "example.org" and
    "www.example.org/about" become "https://example.org" and "https://www.example.org/about".
    An address that names its scheme is left as it is (and `web_address` refuses any but
    http and https)."""
    if value is None:
        return None
    text = value.strip()
    if not text or _SCHEME.match(text):
        return text
    return "https:" + text if text.startswith("//") else "https://" + text


def web_address() -> list[Any]:
    """An http(s) address only: the website becomes a link on public pages. An address typed
    without "https://" is taken and made whole (`with_scheme`); one that is refused stays as
    it was typed, for the form shown again."""
    message = _l("Enter a web address like https://example.org.")
    url = URL(require_tld=True, message=message)

    def check(form: FlaskForm, field: Field) -> None:
        typed = field.data
        field.data = with_scheme(typed)
        try:
            if not re.match(r"(?i)^https?://", field.data or ""):
                raise ValidationError(message)
            url(form, field)
        except ValidationError:
            field.data = typed
            raise

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
    #: Names a logo accepted on an earlier try of this form and held on the server
    #: (services.hold_logo): the corrected form need not send the file again.
    logo_token = HiddenField(validators=[Optional()])
    logo_remove = BooleanField(_l("Send no logo"))
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

    #: A logo sent with this try and accepted (decoded and re-encoded), with its file name.
    new_logo: CleanLogo | None = None
    new_logo_name: str = ""
    #: The logo held from an earlier try, when this try sent none (see `check_kept_logo`).
    kept_logo: PendingLogo | None = None

    def validate_logo(self, field: Field) -> None:
        """Check the file with every other field, in the same round: a refused logo is
        reported beside the field together with any other mistake."""
        upload = field.data
        if not upload or not getattr(upload, "filename", ""):
            return
        try:
            self.new_logo = logos.clean_logo(upload.read(logos.MAX_UPLOAD_BYTES + 1))
        except logos.LogoRefused as error:
            raise ValidationError(error.message) from error
        self.new_logo_name = upload.filename

    def check_kept_logo(self, event_id: int) -> bool:
        """Find the logo held from an earlier try; False (with a message beside the field)
        when the form names one that is no longer held."""
        token = (self.logo_token.data or "").strip()
        if self.new_logo is not None or not token:
            return True
        if self.logo_remove.data:
            services.drop_held_logo(token)
            self.logo_token.data = ""
            return True
        self.kept_logo = services.held_logo(event_id, token)
        if self.kept_logo is None:
            self.logo_token.data = ""
            self.logo.errors = [
                *self.logo.errors,
                _l("The logo you sent earlier is no longer kept. Choose the file again, or "
                   "send the form without a logo."),
            ]
            return False
        return True

    def logo_to_store(self) -> CleanLogo | None:
        """The logo that goes with the application: a new one, else the one held."""
        if self.new_logo is not None:
            return self.new_logo
        if self.kept_logo is not None:
            return services.held_logo_image(self.kept_logo)
        return None

    def keep_logo(self, event_id: int) -> None:
        """After a failed try: hold the accepted new logo (in place of an earlier one), or
        hold the earlier one a while longer, so that the form shown again carries it."""
        token = (self.logo_token.data or "").strip()
        if self.new_logo is not None:
            if token:
                services.drop_held_logo(token)
            self.kept_logo, token = services.hold_logo(
                event_id, self.new_logo, self.new_logo_name
            )
            self.logo_token.data = token
        elif self.kept_logo is not None:
            services.extend_held_logo(self.kept_logo)

    def release_logo(self) -> None:
        """The application is stored: the logo held for the form is not needed any more."""
        services.drop_held_logo((self.logo_token.data or "").strip())

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
