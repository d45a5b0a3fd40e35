"""Forms of the document engine: the admin's document settings, verifying a document,
revoking one, and the buttons that only need their CSRF token."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.fields import Field
from wtforms.validators import (
    DataRequired,
    InputRequired,
    NumberRange,
    Optional,
    ValidationError,
)

from nkhr_events.documents import models, services, signature
from nkhr_events.validators import Form, Length, WholeNumberField


def _limit(n: int) -> dict[str, Any]:
    return {"maxlength": n}


class SettingsForm(Form):
    organisation_name = StringField(
        _l("Organisation name"),
        description=_l("On the letterhead. Left empty, the name the site is set up with."),
        validators=[Optional(), Length(max=models.ORGANISATION_NAME_MAX)],
        render_kw={"autocomplete": "organization", **_limit(models.ORGANISATION_NAME_MAX)},
    )
    organisation_address = TextAreaField(
        _l("Postal address"),
        description=_l("On the letterhead, one line of the address per line."),
        validators=[Optional(), Length(max=models.ORGANISATION_ADDRESS_MAX)],
        render_kw={"rows": 4, **_limit(models.ORGANISATION_ADDRESS_MAX)},
    )
    signatory_name = StringField(
        _l("Signatory's name"),
        validators=[Optional(), Length(max=models.SIGNATORY_NAME_MAX)],
        render_kw=_limit(models.SIGNATORY_NAME_MAX),
    )
    signatory_title = StringField(
        _l("Signatory's title"),
        description=_l("For example: Secretary General."),
        validators=[Optional(), Length(max=models.SIGNATORY_TITLE_MAX)],
        render_kw=_limit(models.SIGNATORY_TITLE_MAX),
    )
    signature = FileField(
        _l("Signature image (optional)"),
        description=_l(
            "PNG or JPEG, up to 1 MB; a transparent PNG prints best. Leave empty to keep the "
            "current one."
        ),
        render_kw={"accept": "image/png,image/jpeg"},
    )
    remove_signature = BooleanField(_l("Remove the signature image"))
    visa_purge_days = WholeNumberField(
        _l("Days after an event until its visa-letter passport data is deleted"),
        validators=[
            InputRequired(_l("Enter a number of days.")),
            NumberRange(
                min=models.PURGE_DAYS_MIN,
                max=models.PURGE_DAYS_MAX,
                message=_l("Enter a number from %(min)s to %(max)s."),
            ),
        ],
        render_kw={"inputmode": "numeric"},
    )

    #: The signature sent with this try, decoded and re-encoded (documents/signature.py).
    new_signature: bytes | None = None

    def validate_signature(self, field: Field) -> None:
        upload = field.data
        if not upload or not getattr(upload, "filename", ""):
            return
        try:
            self.new_signature = signature.clean_signature(
                upload.read(signature.MAX_UPLOAD_BYTES + 1)
            )
        except signature.SignatureRefused as error:
            raise ValidationError(error.message) from error


class VerifyForm(Form):
    reference = StringField(
        _l("Reference"),
        description=_l("As printed on the document, for example NKHR-2027-4F7K2Q."),
        validators=[
            DataRequired(_l("Enter the reference.")),
            Length(max=services.REFERENCE_MAX * 2),
        ],
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            **_limit(services.REFERENCE_MAX * 2),
        },
    )
    code = StringField(
        _l("Verification code"),
        description=_l("The code printed beside the reference, for example ABCD-EFGH-JKMN."),
        validators=[DataRequired(_l("Enter the code.")), Length(max=services.CODE_MAX * 2)],
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            **_limit(services.CODE_MAX * 2),
        },
    )

    class Meta(Form.Meta):
        # The page is public and needs no session: a consulate's clerk may open it from a
        # QR code in a browser that refuses cookies.
        csrf = False


class RevokeForm(Form):
    reason = TextAreaField(
        _l("Reason"),
        description=_l("Kept with the staff; the verification page shows only that it is revoked."),
        validators=[
            DataRequired(_l("Enter the reason.")),
            Length(max=services.REVOKE_REASON_MAX),
        ],
        render_kw={"rows": 3, **_limit(services.REVOKE_REASON_MAX)},
    )


class ActionForm(Form):
    """A button: nothing but the CSRF token."""
