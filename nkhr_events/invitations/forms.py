"""Staff forms of invitations (one person, a CSV file, the preview's confirmation) and the
invitee's decline button."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional

from nkhr_events.registrations.categories import category_label
from nkhr_events.validators import Form, Length, email_address, language_choices


class _HoldFields(Form):
    reserve = BooleanField(
        _l("Reserve a seat"),
        description=_l(
            "The seat counts as taken until the day below; then it goes to the "
            "waitlist unless the person has registered."
        ),
    )
    hold_until = DateField(
        _l("Hold the seat until (inclusive)"),
        validators=[Optional()],
        format="%Y-%m-%d",
        render_kw={"type": "date"},
    )


class InviteForm(_HoldFields):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter the name.")), Length(max=200)]
    )
    email = EmailField(
        _l("Email"),
        description=_l("The invitation works for this address only."),
        validators=[DataRequired(_l("Enter an email address.")), Length(max=254), email_address()],
    )
    language = RadioField(
        _l("Language of the invitation"),
        choices=language_choices(),
        default="en",
        validators=[InputRequired(_l("Choose a language."))],
    )
    category = SelectField(_l("Category"), validators=[InputRequired(_l("Choose a category."))])
    organization = StringField(_l("Organization"), validators=[Optional(), Length(max=200)])


class UploadForm(_HoldFields):
    file = FileField(_l("CSV file"))


class ConfirmForm(Form):
    """What the preview page carries to the confirmation (csvfile.py)."""

    content = HiddenField()
    signature = HiddenField()
    reserve = HiddenField()
    hold_until = HiddenField()


class ActionForm(Form):
    """A button that changes one invitation (resend, revoke) or declines it: CSRF only."""


def category_choices(categories: list[str]) -> list[SelectChoice]:
    return [SelectChoice(c, category_label(c)) for c in categories]
