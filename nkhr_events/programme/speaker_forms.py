"""Forms of speakers: the staff invitation, the speaker's own page, and a plain button."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, Field, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional, ValidationError

from nkhr_events.programme import speakers
from nkhr_events.programme.models import Appearance, SpeakerStatus
from nkhr_events.validators import Form, Length, email_address, language_choices


class InviteSpeakerForm(Form):
    given_name = StringField(
        _l("Given name"), validators=[Optional(), Length(max=100)],
        description=_l("Write the name in the speaker's own script; it is shown in the order "
                       "of that script (Korean and Japanese family name first)."),
    )
    family_name = StringField(_l("Family name"), validators=[Optional(), Length(max=100)])
    email = EmailField(
        _l("Email"),
        description=_l("The speaker's private link goes to this address."),
        validators=[DataRequired(_l("Enter an email address.")), Length(max=254), email_address()],
    )
    language = RadioField(
        _l("Language of the invitation and the speaker's page"),
        choices=language_choices(),
        default="en",
        validators=[InputRequired(_l("Choose a language."))],
    )
    affiliation = StringField(_l("Affiliation"), validators=[Optional(), Length(max=200)])

    def validate_given_name(self, field: Field) -> None:
        if not (field.data or "").strip() and not (self.family_name.data or "").strip():
            raise ValidationError(str(_l("Enter the name.")))


def answer_choices() -> list[SelectChoice]:
    return [
        SelectChoice(SpeakerStatus.CONFIRMED.value, _l("Yes, I will speak")),
        SelectChoice(SpeakerStatus.DECLINED.value, _l("No, I cannot speak")),
    ]


def appearance_choices() -> list[SelectChoice]:
    return [
        SelectChoice(Appearance.NAME.value, _l("By my name")),
        SelectChoice(Appearance.PSEUDONYM.value,
                     _l("Under a pseudonym (my real name is never shown)")),
        SelectChoice(Appearance.TBA.value,
                     _l("As “to be announced” (neither name nor pseudonym)")),
    ]


class SpeakerProfileForm(Form):
    """The speaker's own page: the answer, the texts in the page's language, the photo,
    how they appear, and their needs."""

    answer = RadioField(
        _l("Will you speak at this event?"),
        choices=answer_choices(),
        validators=[InputRequired(_l("Choose whether you will speak."))],
    )
    appearance = RadioField(
        _l("How you appear in the programme, on speaker pages and on your badge"),
        choices=appearance_choices(),
        default=Appearance.TBA.value,
        validators=[InputRequired(_l("Choose how you appear."))],
    )
    pseudonym = StringField(
        _l("Pseudonym"),
        description=_l("Only when you appear under a pseudonym."),
        validators=[Optional(), Length(max=100)],
    )
    show_photo = BooleanField(
        _l("Show my photo"),
        description=_l("Only when you appear by your name."),
    )
    recording_allowed = BooleanField(
        _l("I agree to be recorded (audio, video and photographs of my session)"),
        description=_l("Off unless you tick it. The recording crew gets a list of speakers "
                       "who may not be recorded."),
    )
    affiliation = StringField(_l("Affiliation"), validators=[Optional(), Length(max=200)])
    bio = TextAreaField(
        _l("Short biography"),
        validators=[Optional(), Length(max=3000)],
        render_kw={"rows": 6, "maxlength": 3000},
    )
    photo = FileField(
        _l("Photo (optional)"),
        description=_l("PNG, JPEG or WebP, up to 5 MB and 4 megapixels. We re-encode it on our "
                       "server and keep no camera data."),
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )
    remove_photo = BooleanField(_l("Remove my photo"))
    needs = TextAreaField(
        _l("Travel and access needs"),
        description=_l("For example step-free access, interpretation, travel or visa help. "
                       "Stored encrypted; read only by the organizers who need it."),
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 4, "maxlength": 2000},
    )

    #: The photo sent with this try, accepted (decoded and re-encoded).
    new_photo: speakers.CleanPhoto | None = None

    def validate_photo(self, field: Field) -> None:
        """Checked with every other field, so a refused file is reported in the same round."""
        upload = field.data
        if not upload or not getattr(upload, "filename", ""):
            return
        try:
            self.new_photo = speakers.clean_photo(upload.read(speakers.MAX_PHOTO_BYTES + 1))
        except speakers.PhotoRefused as error:
            raise ValidationError(error.message) from error

    def validate_pseudonym(self, field: Field) -> None:
        if self.appearance.data == Appearance.PSEUDONYM and not (field.data or "").strip():
            raise ValidationError(str(_l("Enter the name you appear under.")))

    def photo_not_kept(self) -> None:
        """After a failed try with an accepted photo: it was not saved; say so beside it."""
        if self.new_photo is not None and not self.photo.errors:
            self.photo.errors = [
                *self.photo.errors,
                str(_l("Your photo was not saved because of the other mistakes. Please choose "
                       "it again.")),
            ]


class ButtonForm(Form):
    """A button that changes one speaker (resend): CSRF only."""
