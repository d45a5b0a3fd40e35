"""Forms of an edition's archive: upload a document, upload a photo, confirm a photo's
consent, move an item, and the confirmation of a deletion."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Optional

from nkhr_events.programme.archive import KIND_LABELS, MAX_DOCUMENT_BYTES, MAX_PHOTO_BYTES
from nkhr_events.programme.models import ArchiveDocument, ArchivePhoto
from nkhr_events.validators import LANGUAGE_NAMES, Form, Length, language_choices

TITLE_MAX = ArchiveDocument.title.property.columns[0].type.length
CAPTION_MAX = ArchivePhoto.caption.property.columns[0].type.length


def _limit(n: int) -> dict[str, Any]:
    return {"maxlength": n}


def upload_of(field: Any) -> FileStorage | None:
    """The file sent in `field`, or None when none was chosen (or a string came instead)."""
    data = field.data
    if isinstance(data, FileStorage) and data.filename:
        return data
    return None


class DocumentForm(Form):
    kind = SelectField(
        _l("Kind of document"),
        choices=[SelectChoice(value, label) for value, label in KIND_LABELS.items()],
        validators=[InputRequired(_l("Choose what kind of document this is."))],
    )
    language = SelectField(
        _l("Language of the document"),
        choices=language_choices(),
        validators=[InputRequired(_l("Choose a language.")), AnyOf(list(LANGUAGE_NAMES))],
    )
    title = StringField(
        _l("Title in English"),
        description=_l("At least one title; readers see their own language where it is given."),
        validators=[Optional(), Length(max=TITLE_MAX)],
        render_kw=_limit(TITLE_MAX),
    )
    title_ko = StringField(_l("Title in Korean"), validators=[Optional(), Length(max=TITLE_MAX)],
                           render_kw={"lang": "ko", **_limit(TITLE_MAX)})
    title_ja = StringField(_l("Title in Japanese"),
                           validators=[Optional(), Length(max=TITLE_MAX)],
                           render_kw={"lang": "ja", **_limit(TITLE_MAX)})
    file = FileField(
        _l("PDF file"),
        description=_l("A PDF of up to %(size)s MB, not password-protected, without scripts or "
                       "attachments.", size=MAX_DOCUMENT_BYTES // (1024 * 1024)),
        render_kw={"accept": "application/pdf,.pdf"},
    )


class PhotoForm(Form):
    caption = StringField(
        _l("Caption in English"),
        description=_l("At least one caption; it is also the description read to people who "
                       "cannot see the photo."),
        validators=[Optional(), Length(max=CAPTION_MAX)],
        render_kw=_limit(CAPTION_MAX),
    )
    caption_ko = StringField(_l("Caption in Korean"),
                             validators=[Optional(), Length(max=CAPTION_MAX)],
                             render_kw={"lang": "ko", **_limit(CAPTION_MAX)})
    caption_ja = StringField(_l("Caption in Japanese"),
                             validators=[Optional(), Length(max=CAPTION_MAX)],
                             render_kw={"lang": "ja", **_limit(CAPTION_MAX)})
    photo = FileField(
        _l("Photo"),
        description=_l("JPEG, PNG or WebP, up to %(size)s MB and 4 megapixels. It is re-encoded "
                       "on our server: the camera's data and location are removed.",
                       size=MAX_PHOTO_BYTES // (1024 * 1024)),
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )
    consent = BooleanField(
        _l("Everyone recognisable in this photo agreed to appear"),
        description=_l("Leave this unticked if you are not sure: the photo is kept here but not "
                       "published until someone confirms it."),
    )


class ConsentForm(Form):
    consent = BooleanField(
        _l("Everyone recognisable in this photo agreed to appear"),
        validators=[DataRequired(_l("Tick this only when everyone recognisable agreed."))],
    )


class MoveForm(Form):
    item = HiddenField(validators=[InputRequired(), AnyOf(["document", "photo"])])
    item_id = HiddenField(validators=[InputRequired(), Length(max=10)])
    direction = HiddenField(validators=[InputRequired(), AnyOf(["up", "down"])])


class ActionForm(Form):
    """A button: nothing but the CSRF token."""
