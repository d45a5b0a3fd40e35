"""Forms of session sign-up: the attendee's buttons, the staff decision, the session door, and
the choice of sessions on the registration form."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import HiddenField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Optional

from nkhr_events.events.models import Event
from nkhr_events.programme import signups
from nkhr_events.programme.models import ProgrammeSession
from nkhr_events.programme.signups import SessionCount
from nkhr_events.validators import Form, Length, WholeNumberField

#: The label of the registration form's choice of sessions (registrations/forms.py).
CHOICE_LABEL = _l("Sessions with limited places")


class SignupForm(Form):
    """One button on the attendee's programme page: sign up for a session, or cancel."""

    session_id = WholeNumberField(validators=[DataRequired()])
    action = HiddenField(validators=[DataRequired(), AnyOf(("sign_up", "cancel"))])


class DecisionForm(Form):
    """A staff decision about one sign-up."""

    decision = HiddenField(validators=[DataRequired(), AnyOf(("approve", "reject", "waitlist"))])


class DoorForm(Form):
    """Check one sign-up in at the session's door, or undo it."""

    signup_id = WholeNumberField(validators=[DataRequired()])
    action = HiddenField(validators=[DataRequired(), AnyOf(("checkin", "undo"))])
    q = StringField(validators=[Optional(), Length(max=100)])


def place_text(session: ProgrammeSession, count: SessionCount, show_counts: bool) -> str:
    """What a new sign-up gets now, in the reader's language: the places left only where the
    event shows seat counts, else whether places are available or the waitlist."""
    left = count.places_left(session.capacity)
    if left == 0:
        return _("Full: you join the waitlist")
    if show_counts and left is not None:
        return ngettext("%(num)d place left", "%(num)d places left", left)
    if session.needs_review:
        return _("Places available (reviewed by the organizers)")
    return _("Places available")


def session_choices(
    event: Event, sessions: list[ProgrammeSession], counts: dict[int, SessionCount]
) -> list[SelectChoice]:
    """The registration form's choices: one per session with sign-up, its day, time and
    what a sign-up gets now."""
    from nkhr_events.web import event_days_text, localized

    return [
        SelectChoice(
            str(s.id),
            f"{localized(s, 'title')} · {event_days_text([s.day])} "
            f"{s.starts_at:%H:%M}–{s.ends_at:%H:%M} · "
            f"{place_text(s, counts.get(s.id, SessionCount()), event.show_seat_counts)}",
        )
        for s in sessions
    ]


def chosen_sessions(form: object) -> list[int]:
    """The session ids a registration form chose (none when it offers no sessions)."""
    field = getattr(form, "sessions", None)
    if field is None or not field.data:
        return []
    return [int(value) for value in field.data if str(value).isdigit()]


def offered_choices(event: Event) -> list[SelectChoice]:
    """What the public registration form offers: the event's public sessions with sign-up
    that are not over (sessions that are not public are chosen through the private link)."""
    sessions = [
        s for s in signups.signup_sessions(event.id)
        if s.public and not signups.session_over(s, event)
    ]
    return session_choices(event, sessions, signups.counts(event.id)) if sessions else []
