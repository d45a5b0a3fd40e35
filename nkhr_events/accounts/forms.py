"""Forms for sign-in, passwords and staff accounts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from nkhr_events.registrations.categories import CATEGORY_LABELS
from nkhr_events.validators import Form, Length, MultiCheckboxField, email_address, language_choices

ROLE_CHOICES = [
    SelectChoice("organizer", _l("Organizer of every event")),
    SelectChoice("staff", _l("Staff: rights only from the teams of single events")),
    SelectChoice("admin", _l("Admin")),
]


class SignInForm(Form):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class ForgotPasswordForm(Form):
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(_l("Enter your email address.")), Length(max=254), email_address()
        ],
        render_kw={"autocomplete": "username"},
    )


class ResetPasswordForm(Form):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Choose a new password.")), Length(max=200)],
        description=_l("At least 12 characters. A few unrelated words make a good password."),
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(Form):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Choose a new password.")), Length(max=200)],
        description=_l("At least 12 characters. A few unrelated words make a good password."),
        render_kw={"autocomplete": "new-password"},
    )


class NewStaffForm(Form):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)]
    )
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter an email address.")), Length(max=254), email_address()],
    )
    role = RadioField(_l("Role"), choices=ROLE_CHOICES, default="organizer",
                      validators=[DataRequired(_l("Choose a role."))])
    language = RadioField(
        _l("Language of the email"), choices=language_choices(), default="en",
        validators=[DataRequired(_l("Choose a language."))],
        description=_l("The person gets a link to choose their own password (valid 48 hours)."),
    )


class RoleForm(Form):
    role = RadioField(_l("Role"), choices=ROLE_CHOICES,
                      validators=[DataRequired(_l("Choose a role."))])


TEAM_ROLE_CHOICES = [
    SelectChoice("organizer", _l("Event organizer: everything about this event")),
    SelectChoice("reviewer", _l("Reviewer: sees and decides registrations of chosen categories")),
    SelectChoice("door", _l("Door: checks people in")),
    SelectChoice("liaison", _l("Partner liaison: partner applications and recognition")),
]


class TeamInviteForm(Form):
    """Invite a person to an event's team, or give a member of it another role."""

    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter an email address.")), Length(max=254), email_address()],
    )
    name = StringField(
        _l("Name"), validators=[Optional(), Length(max=200)],
        description=_l("For someone who has no staff account yet."),
    )
    role = RadioField(_l("Role"), choices=TEAM_ROLE_CHOICES, default="reviewer",
                      validators=[DataRequired(_l("Choose a role."))])
    categories = MultiCheckboxField(
        _l("Categories a reviewer sees"),
        choices=[SelectChoice(category.value, label)
                 for category, label in CATEGORY_LABELS.items()],
        description=_l("None ticked: every category."),
    )
    sees_needs = BooleanField(_l("May read needs and internal notes"))
    can_export = BooleanField(_l("May export lists and print badges"))
    language = RadioField(
        _l("Language of the email"), choices=language_choices(), default="en",
        validators=[DataRequired(_l("Choose a language."))],
        description=_l("Someone who already has an account gets the email in the language of "
                       "the emails they had before."),
    )


class CodeForm(Form):
    """The second step of sign-in, enrolment and new recovery codes."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(_l("Enter the code.")), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text",
                   "autocapitalize": "off", "spellcheck": "false"},
    )
