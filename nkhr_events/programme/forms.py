"""The staff session form: a session of an event's programme, its texts per language, its
speakers (checkboxes of the event's speakers, each with the part they take) and the box that
saves a session although it clashes with others."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from wtforms import BooleanField, SelectField, StringField, TextAreaField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from nkhr_events.events.models import Event
from nkhr_events.events.texts import CONTENT_LANGUAGES, languages_of, text_column
from nkhr_events.programme import services
from nkhr_events.programme.models import ProgrammeSession, SessionKind, Speaker
from nkhr_events.validators import RANGE_MESSAGE, Form, Length, MultiCheckboxField, WholeNumberField

#: Each kind of session as the reader's language calls it. Literal: the extraction reads them.
KIND_LABELS: dict[str, LazyString] = {
    SessionKind.KEYNOTE: _l("Keynote"),
    SessionKind.PANEL: _l("Panel"),
    SessionKind.ROUNDTABLE: _l("Roundtable"),
    SessionKind.SIDE_EVENT: _l("Side event"),
    SessionKind.RECEPTION: _l("Reception"),
    SessionKind.BREAK: _l("Break"),
}
#: The content languages, named in the reader's language.
LANGUAGE_LABELS: dict[str, LazyString] = {
    "en": _l("English"),
    "ko": _l("Korean"),
    "ja": _l("Japanese"),
}
PART_LABELS: dict[str, LazyString] = {
    services.SpeakerPart.SPEAKER: _l("Speaker"),
    services.SpeakerPart.MODERATOR: _l("Moderator"),
    services.SpeakerPart.DISCUSSANT: _l("Discussant"),
}
#: How parts are listed on a session: the moderator first, discussants last.
PART_ORDER = {
    services.SpeakerPart.MODERATOR: 0,
    services.SpeakerPart.SPEAKER: 1,
    services.SpeakerPart.DISCUSSANT: 2,
}
TEXT_LABELS: dict[str, LazyString] = {
    "title": _l("Title"),
    "room": _l("Room"),
    "description": _l("Description"),
}


class SessionForm(Form):
    day = SelectField(_l("Day"), validators=[InputRequired(_l("Choose a day."))])
    starts_at = TimeField(
        _l("Starts at"), validators=[DataRequired(_l("Give the start time (HH:MM)."))]
    )
    ends_at = TimeField(
        _l("Ends at"), validators=[DataRequired(_l("Give the end time (HH:MM)."))]
    )
    kind = SelectField(
        _l("Kind"),
        choices=[SelectChoice(k.value, label) for k, label in
                 ((SessionKind(k), v) for k, v in KIND_LABELS.items())],
        default=SessionKind.PANEL.value,
        validators=[InputRequired(_l("Choose a kind of session."))],
    )
    title = StringField(_l("Title"), validators=[Length(max=services.TITLE_LIMIT)])
    title_ko = StringField(_l("Title"), validators=[Length(max=services.TITLE_LIMIT)])
    title_ja = StringField(_l("Title"), validators=[Length(max=services.TITLE_LIMIT)])
    room = StringField(_l("Room"), validators=[Length(max=services.ROOM_LIMIT)])
    room_ko = StringField(_l("Room"), validators=[Length(max=services.ROOM_LIMIT)])
    room_ja = StringField(_l("Room"), validators=[Length(max=services.ROOM_LIMIT)])
    description = TextAreaField(
        _l("Description"), validators=[Length(max=services.DESCRIPTION_LIMIT)],
        render_kw={"rows": 4},
    )
    description_ko = TextAreaField(
        _l("Description"), validators=[Length(max=services.DESCRIPTION_LIMIT)],
        render_kw={"rows": 4},
    )
    description_ja = TextAreaField(
        _l("Description"), validators=[Length(max=services.DESCRIPTION_LIMIT)],
        render_kw={"rows": 4},
    )
    spoken_language = SelectField(
        _l("Language spoken"),
        choices=[SelectChoice("", _l("Not set")),
                 *(SelectChoice(code, label) for code, label in LANGUAGE_LABELS.items())],
        default="",
        validators=[Optional()],
    )
    channels = MultiCheckboxField(
        _l("Interpretation channels"),
        description=_l("The languages the session is interpreted into."),
        choices=[SelectChoice(code, label) for code, label in LANGUAGE_LABELS.items()],
        invalid_choice_message=_l("Choose interpretation channels from the list."),
    )
    closed_door = BooleanField(
        _l("Closed door: no press, no recording"),
    )
    public = BooleanField(
        _l("Public: shown on the public programme"),
        description=_l("Untick to show it only to registered attendees, through their link."),
        default=True,
    )
    signup = BooleanField(
        _l("Attendees sign up for this session"),
        description=_l("Roundtables, side events and receptions only."),
    )
    capacity = WholeNumberField(
        _l("Places"),
        description=_l("Leave empty for no limit."),
        validators=[Optional(), NumberRange(min=0, max=services.CAPACITY_LIMIT,
                                            message=RANGE_MESSAGE)],
    )
    needs_review = BooleanField(_l("Sign-ups need review"))
    speakers = MultiCheckboxField(
        _l("Speakers"),
        invalid_choice_message=_l("Choose speakers of this event from the list."),
    )
    accept_clashes = BooleanField(
        _l("Save anyway: I know about the clash"),
    )

    def __init__(self, *args: Any, event: Event, speakers: list[Speaker],
                 days: list[SelectChoice], session: ProgrammeSession | None = None,
                 **kwargs: Any) -> None:
        """`days`: the event's days as choices (value ISO date, label as the reader writes
        it)."""
        super().__init__(*args, obj=session, **kwargs)
        self.event = event
        self.speaker_rows = speakers
        self.language_order = [c for c in languages_of(event) if c in CONTENT_LANGUAGES]
        self.day.choices = days
        self.speakers.choices = [SelectChoice(str(s.id), s.full_name) for s in speakers]
        for name in services.TEXT_FIELDS:
            for language in CONTENT_LANGUAGES:
                field = getattr(self, text_column(name, language))
                field.render_kw = {**(field.render_kw or {}), "lang": language}
        self._stored_parts: dict[int, str] = {}
        if session is not None and not self.is_submitted():
            self.day.data = session.day.isoformat()
            self.channels.data = session.channel_list
            self.speakers.data = [str(link.speaker_id) for link in session.speakers]
            self._stored_parts = {link.speaker_id: link.part for link in session.speakers}
        elif session is None and not self.is_submitted() and event.day_list:
            self.day.data = event.day_list[0].isoformat()

    def text_fields(self, language: str) -> list[Any]:
        return [getattr(self, text_column(name, language)) for name in services.TEXT_FIELDS]

    def part_of(self, speaker_id: int) -> str:
        """The part chosen for a speaker: as submitted, else as stored, else "speaker"."""
        if self.is_submitted():
            return request.form.get(f"part-{speaker_id}", services.SpeakerPart.SPEAKER)
        return self._stored_parts.get(speaker_id, services.SpeakerPart.SPEAKER)

    def chosen_speakers(self) -> list[tuple[int, str]]:
        """(speaker id, part) of the ticked speakers, in the order printed: moderators, then
        speakers, then discussants, each in the list's order. An unknown part is kept for the
        service to refuse."""
        order = {s.id: index for index, s in enumerate(self.speaker_rows)}
        chosen: list[tuple[int, str]] = []
        for value in self.speakers.data or []:
            speaker_id = int(value)
            chosen.append((speaker_id, self.part_of(speaker_id)))
        return sorted(chosen, key=lambda c: (PART_ORDER.get(c[1], 9), order.get(c[0], 0)))

    def session_input(self) -> services.SessionInput:
        texts = {
            text_column(name, language): (getattr(self, text_column(name, language)).data or "")
            for name in services.TEXT_FIELDS
            for language in CONTENT_LANGUAGES
        }
        return services.SessionInput(
            day=date.fromisoformat(self.day.data),
            starts_at=self.starts_at.data,
            ends_at=self.ends_at.data,
            kind=self.kind.data,
            texts=texts,
            spoken_language=self.spoken_language.data or "",
            channels=list(self.channels.data or []),
            closed_door=bool(self.closed_door.data),
            public=bool(self.public.data),
            signup=bool(self.signup.data),
            capacity=self.capacity.data,
            needs_review=bool(self.needs_review.data),
            speakers=self.chosen_speakers(),
            accept_clashes=bool(self.accept_clashes.data),
        )


class DeleteForm(Form):
    """The confirmation of a deletion: only the CSRF token."""
