"""Staff pages of speakers: the list of an event's speakers, inviting one, a speaker's page
(needs only with READ_NEEDS), sending the link again, and the recording crew's sheet."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import Permission, can, event_for
from nkhr_events.accounts.roles import require_staff
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.programme import display, speakers
from nkhr_events.programme.models import Appearance, Speaker, SpeakerStatus
from nkhr_events.programme.speaker_forms import (
    ButtonForm,
    InviteSpeakerForm,
    answer_choices,
    appearance_choices,
)
from nkhr_events.validators import show_error
from nkhr_events.web import current_actor

bp = require_staff(Blueprint("speakers_manage", __name__, url_prefix="/manage"))
#: Speakers are invited and their real names read by the event's organizers.
PERMISSION = Permission.EDIT_EVENT


def _speaker(event: Event, speaker_id: int) -> Speaker:
    found = speakers.speaker_of(event, speaker_id)
    if found is None:
        abort(404)
    return found


def _labels() -> dict[str, object]:
    return {
        "statuses": {
            SpeakerStatus.INVITED.value: _("Invited, no answer yet"),
            **{c.value: c.label for c in answer_choices()},
        },
        "appearances": {c.value: c.label for c in appearance_choices()},
        "Appearance": Appearance,
    }


@bp.get("/events/<int:event_id>/speakers")
def index(event_id: int) -> str:
    """Every speaker of the event: real name, status and choices."""
    event = event_for(event_id, PERMISSION)
    return render_template(
        "programme/speakers_manage.html",
        event=event,
        speakers=speakers.speakers_of(event),
        display=display,
        button=ButtonForm(),
        **_labels(),
    )


@bp.route("/events/<int:event_id>/speakers/new", methods=["GET", "POST"])
def new(event_id: int) -> Response | str:
    """Invite a speaker; the private link is emailed in the speaker's language."""
    event = event_for(event_id, PERMISSION)
    form = InviteSpeakerForm()
    if form.validate_on_submit():
        data = speakers.SpeakerInput(
            form.given_name.data or "",
            form.family_name.data or "",
            form.email.data or "",
            form.language.data or "en",
            form.affiliation.data or "",
        )
        try:
            speakers.invite_speaker(event, data, actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("The invitation is on its way to %(email)s.", email=data.email), "success")
            return redirect(url_for(".index", event_id=event.id), code=303)
    return render_template("programme/speakers_new.html", event=event, form=form)


@bp.get("/events/<int:event_id>/speakers/<int:speaker_id>")
def person(event_id: int, speaker_id: int) -> str:
    """One speaker for the organizers: real name, choices; needs only with READ_NEEDS."""
    event = event_for(event_id, PERMISSION)
    found = _speaker(event, speaker_id)
    sees_needs = can(event, Permission.READ_NEEDS)
    speakers.record_view(found, sees_needs, actor=current_actor())
    db.session.commit()
    return render_template(
        "programme/speaker_manage.html",
        event=event,
        speaker=found,
        display=display,
        sees_needs=sees_needs,
        button=ButtonForm(),
        **_labels(),
    )


@bp.post("/events/<int:event_id>/speakers/<int:speaker_id>/resend")
def resend(event_id: int, speaker_id: int) -> Response:
    """Email the speaker's private link again (a new link; the earlier ones keep working)."""
    event = event_for(event_id, PERMISSION)
    found = _speaker(event, speaker_id)
    if ButtonForm().validate_on_submit():
        try:
            speakers.resend_invitation(found, actor=current_actor())
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The link was sent again to %(email)s.", email=found.email), "success")
    return redirect(url_for(".person", event_id=event.id, speaker_id=found.id), code=303)


@bp.get("/events/<int:event_id>/programme/crew")
def crew(event_id: int) -> str:
    """The recording crew's sheet: per session, who may not be recorded (by public name)."""
    event = event_for(event_id, PERMISSION)
    return render_template(
        "programme/crew.html", event=event, sessions=speakers.crew_sheet(event)
    )
