"""The base of every form on the site: it reads only form-encoded bodies and refuses a NUL
character in any field.

PostgreSQL cannot store NUL in text, so a NUL that reached the database failed the whole
request with a server error; refusing it beside its field keeps what the person typed and says
what to change. Flask-WTF on its own also reads a JSON body as the form, which none of our
pages send: a JSON list or string there was a server error, and a JSON object was a second,
undocumented way in.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict
from wtforms import Field
from wtforms.validators import ValidationError

SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def refuse_nul(form: FlaskForm, field: Field) -> None:
    """Refuse a field whose submitted value holds a NUL character (U+0000)."""
    if any(isinstance(value, str) and "\x00" in value for value in field.raw_data or ()):
        raise ValidationError(
            _l("This field contains a null character, which cannot be stored. Please remove it.")
        )


class Form(FlaskForm):
    """A FlaskForm that takes its data from the submitted form (never JSON) and runs
    `refuse_nul` on every field after the field's own validators."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            if formdata is None or hasattr(formdata, "getlist"):
                return formdata  # given by the caller
            if not has_request_context() or request.method not in SUBMIT_METHODS:
                return None
            # A body in any other format reads as a form with nothing filled in.
            return CombinedMultiDict((request.files, request.form))

    def validate(self, extra_validators: dict[str, list[Any]] | None = None) -> bool:
        extra = {
            name: [*(extra_validators or {}).get(name, ()), refuse_nul] for name in self._fields
        }
        return super().validate(extra)
