"""The public contact form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email

from nkhr_events.validators import Form, Length, language_choices

MAX_NAME = 200
MAX_EMAIL = 254
MAX_SUBJECT = 200
MAX_MESSAGE = 5000


class ContactForm(Form):
    name = StringField(
        _l("Your name"),
        validators=[DataRequired(_l("Tell us your name.")), Length(max=MAX_NAME)],
        render_kw={"autocomplete": "name", "maxlength": MAX_NAME},
    )
    email = EmailField(
        _l("Your email address"),
        description=_l("We answer at this address and send a confirmation to it now."),
        validators=[
            DataRequired(_l("Enter your email address.")),
            Length(max=MAX_EMAIL),
            Email(
                message=_l("Enter an email address like name@example.org."),
                check_deliverability=False,
            ),
        ],
        render_kw={"autocomplete": "email", "maxlength": MAX_EMAIL},
    )
    subject = StringField(
        _l("Subject"),
        validators=[DataRequired(_l("Give your message a subject.")), Length(max=MAX_SUBJECT)],
        render_kw={"maxlength": MAX_SUBJECT},
    )
    message = TextAreaField(
        _l("Message"),
        description=_l("Up to %(n)d characters.", n=MAX_MESSAGE),
        validators=[DataRequired(_l("Write your message.")), Length(max=MAX_MESSAGE)],
        render_kw={"rows": 8, "maxlength": MAX_MESSAGE},
    )
    language = SelectField(
        _l("Language for our answer"),
        choices=language_choices(),
        validators=[DataRequired()],
    )
    # The honeypot: hidden from people (visually and from assistive technology), filled by bots.
    website = StringField(
        _l("Leave this field empty"),
        render_kw={"autocomplete": "off", "tabindex": "-1"},
    )


MAX_REPLY = 10000


class ReplyForm(Form):
    """The team's answer to an inquiry, sent through the outbox."""

    subject = StringField(
        _l("Subject"),
        validators=[DataRequired(_l("Give the reply a subject.")), Length(max=MAX_SUBJECT)],
        render_kw={"maxlength": MAX_SUBJECT},
    )
    body = TextAreaField(
        _l("Reply"),
        description=_l("Plain text, up to %(n)d characters. The email greets and signs it in "
                       "the language the person chose.", n=MAX_REPLY),
        validators=[DataRequired(_l("Write the reply.")), Length(max=MAX_REPLY)],
        render_kw={"rows": 12, "maxlength": MAX_REPLY},
    )
