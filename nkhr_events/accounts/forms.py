"""Forms for sign-in, passwords and staff accounts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from nkhr_events.validators import Form, email_address

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
    password = PasswordField(
        _l("Initial password"),
        validators=[Optional(), Length(max=200)],
        description=_l(
            "Leave empty to email the person a link to choose their own password (valid 48 "
            "hours). Otherwise at least 12 characters; give it to them in person."
        ),
        render_kw={"autocomplete": "new-password"},
    )


class RoleForm(Form):
    role = RadioField(_l("Role"), choices=ROLE_CHOICES,
                      validators=[DataRequired(_l("Choose a role."))])
