"""The base of every form on the site, the checks every value from outside goes through, the
form fields more than one package uses, and `show_error`, which shows a refused rule beside its
field.

`Form` reads only form-encoded bodies and, on top of each field's own validators, refuses:
- a NUL character in any field. PostgreSQL cannot store NUL in text, so a NUL that reached the
  database failed the whole request with a server error; refusing it beside its field keeps
  what the person typed and says what to change;
- in a single-line text field (names, organization, position, subject, email...), any
  character that lays text out or hides it: line breaks and other control characters,
  direction overrides and marks, zero-width characters. Such a value ends up in the subject
  and the body of official emails, where it could fake a line, a header or a reversed word;
- a choice field answered with blanks only, and a whole number outside what an integer
  column holds (see `whole_number`).
Flask-WTF on its own also reads a JSON body as the form, which none of our pages send: a JSON
list or string there was a server error, and a JSON object was a second, undocumented way in.
"""

from __future__ import annotations

import re
from typing import Any

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask import has_request_context, request
from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict
from wtforms import (
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import Choice, SelectChoice
from wtforms.validators import Length as _WTFormsLength
from wtforms.validators import NumberRange, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from nkhr_events.errors import DomainError

SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: The largest value of a PostgreSQL `integer` column (every id, capacity and count here).
INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
#: ASCII digits only: str.isdigit() also accepts "²" (which int() refuses) and "٣" (which it
#: reads as 3); no more digits than a 64-bit number has, so int() never works on a long string.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,19}")

#: Characters that lay a line out or hide part of it without being seen as such: the C0 and
#: C1 controls (line feed, carriage return, tab...) and DEL, the line and paragraph separators,
#: the direction marks, embeddings, overrides and isolates, and the zero-width characters.
LAYOUT_CHARACTERS = re.compile(
    "[\x00-\x1f\x7f-\x9f"
    "\u2028\u2029"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u200b\u200c\u200d\u2060\ufeff]"
)

SINGLE_LINE_MESSAGE = _l(
    "Write this on one line of plain text: remove line breaks and invisible formatting "
    "characters (such as direction marks or zero-width spaces)."
)
NUL_MESSAGE = _l(
    "This field contains a null character, which cannot be stored. Please remove it."
)
#: For NumberRange(min=..., max=..., message=RANGE_MESSAGE).
RANGE_MESSAGE = _l("Enter a whole number from %(min)s to %(max)s.")


class Length(_WTFormsLength):
    """wtforms' `Length` (it also gives the input its `maxlength`), saying a value that is too
    long in the project's own words: how many characters are allowed and how many were sent,
    in every language the site speaks (wtforms' own Korean catalog writes "200자 보다")."""

    def __call__(self, form: Any, field: Field) -> None:
        length = len(field.data or "")
        if self.message is None and self.max != -1 and length > self.max:
            raise ValidationError(ngettext(
                "Use at most %(num)d character (this has %(length)d).",
                "Use at most %(num)d characters (this has %(length)d).",
                self.max, length=length,
            ))
        super().__call__(form, field)


def whole_number(text: Any, minimum: int = 1, maximum: int = INT_MAX) -> int | None:
    """The whole number `text` writes in ASCII digits (optionally signed, blanks around it
    allowed) if it lies within minimum..maximum; None for anything else, including no text.

    Every integer taken from a path, a query or a form body goes through this (or a bounded
    URL converter, or `WholeNumberField`), so that no value reaches the database that an
    integer column cannot hold (PostgreSQL answers those with an error, SQLite with an
    overflow)."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def has_layout_characters(text: str) -> bool:
    return LAYOUT_CHARACTERS.search(text) is not None


def is_single_line(field: Field) -> bool:
    """A text field people type one line into. Passwords are left alone (never shown or sent,
    and refusing a character now could lock out a password chosen before), as are hidden
    fields (not typed, and an error beside them would not be seen)."""
    return isinstance(field, StringField) and not isinstance(
        field, TextAreaField | PasswordField | HiddenField
    )


def _strings(field: Field) -> list[str]:
    return [value for value in field.raw_data or () if isinstance(value, str)]


def refuse_nul(form: FlaskForm, field: Field) -> None:
    """Refuse a field whose submitted value holds a NUL character (U+0000)."""
    if any("\x00" in value for value in _strings(field)):
        raise ValidationError(NUL_MESSAGE)


def refuse_layout_characters(form: FlaskForm | None, field: Field) -> None:
    """Refuse a single-line value holding a line break, another control character, a
    direction control or a zero-width character (a NUL is left to `refuse_nul`)."""
    values = _strings(field)
    if any("\x00" in value for value in values):
        return
    if any(has_layout_characters(value) for value in values):
        raise ValidationError(SINGLE_LINE_MESSAGE)


def refuse_blank_choice(form: FlaskForm | None, field: Field) -> None:
    """Refuse a choice answered with blanks only. `Optional()` takes such an answer for no
    answer, ends the field's checks and clears the invalid-choice error, so the blanks
    themselves were stored (and were too long for a two-letter country column)."""
    if not isinstance(field, SelectField) or not getattr(field, "validate_choice", True):
        return
    if any(value and not value.strip() for value in _strings(field)):
        message = getattr(field, "invalid_choice_message", None)
        if callable(message):
            message = message(1)  # SelectMultipleField's: a message for so many values
        raise ValidationError(message or field.gettext("Not a valid choice."))


class WholeNumberField(IntegerField):
    """An IntegerField that reads only ASCII digits and is always bounded: by its own
    `NumberRange(min, max, message=RANGE_MESSAGE)`, else by what an integer column holds.
    Text that is not a whole number gets one message, not a second one from the range check."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        validators = list(validators or ())
        if not any(isinstance(v, NumberRange) for v in validators):
            validators.append(NumberRange(min=INT_MIN, max=INT_MAX, message=RANGE_MESSAGE))
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        raw = valuelist[0]
        if isinstance(raw, str) and not raw.strip():
            self.data = None  # no answer: Optional() or DataRequired() says what that means
            return
        # Any number of up to 19 digits: the range check says how large it may be.
        self.data = whole_number(raw, -(10**19), 10**19)
        if self.data is None:
            raise ValueError(
                self.invalid_value_message or self.gettext("Not a valid integer value.")
            )

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()  # the message is already there


class CountryField(SelectField):
    """A select of some 250 countries: the answer is checked against a set of the values the
    view gives (`valid_values`), not by walking the whole list on every submission. Blanks
    around the code are dropped; an answer of blanks only is refused (validators.Form).

    A code stored before the list changed (the form made with `obj=` or `data=`) stays
    selectable and valid while it is left as it is, named by CLDR in the reader's language:
    an edit form submitted unchanged never fails on an answer the person gave earlier."""

    valid_values: frozenset[str] | None = None
    data: Any
    object_data: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("invalid_choice_message", _l("Choose a country from the list."))
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if isinstance(self.data, str):
            self.data = self.data.strip()

    def kept_code(self) -> str | None:
        """The stored code when the list no longer offers it, else None."""
        code = self.object_data.strip() if isinstance(self.object_data, str) else ""
        if not code:
            return None
        if self.valid_values is not None:
            offered = code in self.valid_values
        else:
            offered = any(c.value == code for c in self._choices_from_input(self.choices) or [])
        return None if offered else code

    def iter_choices(self) -> list[Choice]:
        choices = list(super().iter_choices())
        kept = self.kept_code()
        if kept is not None:
            name = Locale.parse(str(get_locale() or "en")).territories.get(kept.upper(), kept)
            at = 1 if choices and not choices[0].value else 0  # after "Choose…"
            choices.insert(at, Choice(kept, name, kept == self.data, {}))
        return choices

    def pre_validate(self, form: Any) -> None:
        if self.data and self.data == self.kept_code():
            return  # the stored answer, unchanged
        if self.valid_values is None:
            super().pre_validate(form)
        elif self.data not in self.valid_values:
            raise ValidationError(self.invalid_choice_message)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


#: The languages of the interface and of emails, each named in itself.
LANGUAGE_NAMES = {"en": "English", "ko": "한국어", "ja": "日本語"}
LANGUAGES = tuple(LANGUAGE_NAMES)


def language_choices() -> list[SelectChoice]:
    """Each language named in itself and marked as such (`lang`), so that it is read aloud in
    its own language whatever the page's."""
    return [
        SelectChoice(code, name, render_kw={"lang": code}) for code, name in LANGUAGE_NAMES.items()
    ]


def known_language(code: str | None) -> str:
    """`code` if it is one of ours, else English."""
    return code if code in LANGUAGE_NAMES else "en"


class Form(FlaskForm):
    """A FlaskForm that takes its data from the submitted form (never JSON), runs `refuse_nul`
    on every field after the field's own validators, and then the checks above: single-line
    text, blank choices, bounded integers."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            if formdata is None or hasattr(formdata, "getlist"):
                return formdata  # given by the caller
            if not has_request_context() or request.method not in SUBMIT_METHODS:
                return None
            # A body in any other format reads as a form with nothing filled in.
            return CombinedMultiDict((request.files, request.form))

    def validate(self, extra_validators: dict[str, list[Any]] | None = None) -> bool:
        self._bound_integers()
        extra = {
            name: [*(extra_validators or {}).get(name, ()), refuse_nul] for name in self._fields
        }
        valid = super().validate(extra)
        # After each field's own chain, not in it: `Optional()` ends the chain on blank input,
        # so a check there would never see "\r\n" or a choice of blanks.
        for field in self:
            if field.errors:
                continue  # one message at a time
            try:
                if is_single_line(field):
                    refuse_layout_characters(self, field)
                refuse_blank_choice(self, field)
            except ValidationError as error:
                field.errors = [*field.errors, error.args[0]]
                valid = False
        return valid

    def _bound_integers(self) -> None:
        """An IntegerField that is not a `WholeNumberField` still never holds more than an
        integer column does (and NumberRange fails on a number too large for a float)."""
        for field in self:
            if not isinstance(field, IntegerField) or isinstance(field, WholeNumberField):
                continue
            if field.data is not None and whole_number(str(field.data), INT_MIN, INT_MAX) is None:
                field.data = None
                field.process_errors = [
                    *field.process_errors, field.gettext("Not a valid integer value.")
                ]


def show_error(form: FlaskForm, error: DomainError) -> None:
    """Put a refused rule's message beside the field it names (by attribute or HTML name; a
    category question's field `q_<name>` too), or above the form when it names none. The one
    place that does this."""
    field = getattr(form, error.field or "", None) or getattr(form, f"q_{error.field}", None)
    if not isinstance(field, Field) and error.field:
        # A field whose HTML name differs from its attribute ("journalist-seat_cap").
        field = next((f for f in form if f.name == error.field), None)
    if isinstance(field, Field):
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def email_address() -> Any:
    """The address check of every form that takes an email address: the services' rules
    (email_validator, no network lookup; spaces around the address are dropped as they do),
    so that a bad address is reported in the first round, beside its field, with every other
    field's message."""
    message = _l("Enter a valid email address.")

    def check(form: FlaskForm | None, field: Field) -> None:
        value = (field.data or "").strip()
        if not value:
            return  # DataRequired (or Optional) speaks for an empty field
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError as error:
            raise ValidationError(str(message)) from error

    return check
