"""Forms of visa letter requests: the attendee's request, and the staff's decision."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional

from nkhr_events.documents import visa
from nkhr_events.documents.visa_models import SECOND_LANGUAGES
from nkhr_events.validators import LANGUAGE_NAMES, CountryField, Form, Length
from nkhr_events.web import country_choices, country_codes


class VisaRequestForm(Form):
    passport_name = StringField(
        _l("Name as in your passport"),
        description=_l("Exactly as the passport writes it, in Latin letters."),
        validators=[
            DataRequired(_l("Enter your name exactly as your passport writes it.")),
            Length(max=visa.NAME_LIMIT),
        ],
        render_kw={"autocomplete": "off", "maxlength": visa.NAME_LIMIT},
    )
    passport_number = StringField(
        _l("Passport number"),
        validators=[
            DataRequired(_l("Enter your passport number.")),
            Length(max=40),
        ],
        render_kw={"autocomplete": "off", "maxlength": 40, "spellcheck": "false"},
    )
    nationality = CountryField(
        _l("Nationality"),
        validators=[DataRequired(_l("Choose your nationality."))],
        invalid_choice_message=_l("Choose your nationality."),
    )
    birth_date = DateField(
        _l("Date of birth"),
        format="%Y-%m-%d",
        validators=[InputRequired(_l("Enter your date of birth."))],
        render_kw={"type": "date", "autocomplete": "off"},
    )
    passport_expiry = DateField(
        _l("Passport valid until"),
        description=_l("The passport must be valid after the event."),
        format="%Y-%m-%d",
        validators=[InputRequired(_l("Enter the date your passport expires."))],
        render_kw={"type": "date"},
    )
    consulate = StringField(
        _l("Consulate or embassy"),
        description=_l("Where you apply for the visa, with its city and country, e.g. "
                       "\u201cEmbassy of the Republic of Korea in Nairobi, Kenya\u201d."),
        validators=[
            DataRequired(_l("Enter the consulate or embassy, with its city and country.")),
            Length(max=visa.CONSULATE_LIMIT),
        ],
        render_kw={"maxlength": visa.CONSULATE_LIMIT},
    )
    second_language = RadioField(
        _l("Language of the letter"),
        description=_l("Every letter is in English; you may have a second one in Korean or "
                       "Japanese."),
        default="",
        validators=[Optional()],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.nationality.choices = [SelectChoice("", _l("Choose…")),
                                    *(SelectChoice(c, n) for c, n in country_choices())]
        self.nationality.valid_values = country_codes()
        self.second_language.choices = [
            SelectChoice("", _l("English only")),
            *(SelectChoice(code, _l("English and %(language)s",
                                    language=LANGUAGE_NAMES[code]))
              for code in SECOND_LANGUAGES),
        ]

    def data_input(self) -> visa.VisaInput:
        return visa.VisaInput(
            passport_name=self.passport_name.data or "",
            passport_number=self.passport_number.data or "",
            nationality=self.nationality.data or "",
            birth_date=self.birth_date.data,
            passport_expiry=self.passport_expiry.data,
            consulate=self.consulate.data or "",
            second_language=self.second_language.data or "",
        )


class DecisionForm(Form):
    note = TextAreaField(
        _l("Note to the attendee"),
        description=_l("Emailed to the attendee with the decision; required when declining."),
        validators=[Optional(), Length(max=visa.NOTE_LIMIT)],
        render_kw={"rows": 3, "maxlength": visa.NOTE_LIMIT},
    )
