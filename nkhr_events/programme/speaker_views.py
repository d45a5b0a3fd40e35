"""Speakers' public pages, and the speaker's private page reached by the invitation's link.

Public pages list only confirmed speakers who are announced, by the name display.py gives;
affiliation, biography and photo only where display.py allows. The private page speaks the
speaker's language unless the reader chose one on this site (the language cookie).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from nkhr_events.errors import DomainError
from nkhr_events.events import services as event_services
from nkhr_events.events.models import Event
from nkhr_events.events.texts import text_column
from nkhr_events.extensions import db, limiter
from nkhr_events.programme import display, speakers
from nkhr_events.programme.models import (
    Appearance,
    ProgrammeSession,
    SessionSpeaker,
    Speaker,
    SpeakerPhoto,
    SpeakerStatus,
)
from nkhr_events.programme.speaker_forms import SpeakerProfileForm
from nkhr_events.validators import show_error
from nkhr_events.web import attendee_actor, current_language, speak_language_of

bp = Blueprint("speakers", __name__)


def _event_or_404(slug: str) -> Event:
    found = event_services.public_event(slug)
    if found is None:
        abort(404)
    return found


def _speaker_or_404(event: Event, speaker_id: int) -> Speaker:
    found = speakers.announced_speaker(event, speaker_id)
    if found is None:
        abort(404)
    return found


def _public_sessions(speaker: Speaker) -> list[tuple[ProgrammeSession, str]]:
    """The public sessions the speaker is on, in programme order, with the part they take."""
    rows = db.session.execute(
        select(ProgrammeSession, SessionSpeaker.part)
        .join(SessionSpeaker, SessionSpeaker.session_id == ProgrammeSession.id)
        .where(SessionSpeaker.speaker_id == speaker.id, ProgrammeSession.public.is_(True))
        .order_by(ProgrammeSession.day, ProgrammeSession.starts_at)
    )
    return [(s, part) for s, part in rows]


@bp.get("/events/<slug>/speakers")
def index(slug: str) -> str:
    """The event's announced speakers (none "to be announced" are listed)."""
    event = _event_or_404(slug)
    return render_template(
        "programme/speakers.html",
        event=event,
        speakers=speakers.announced_speakers(event),
        display=display,
    )


@bp.get("/events/<slug>/speakers/<int:speaker_id>")
def speaker(slug: str, speaker_id: int) -> str:
    """One announced speaker: name shown, affiliation, biography and photo where allowed."""
    event = _event_or_404(slug)
    found = _speaker_or_404(event, speaker_id)
    return render_template(
        "programme/speaker_public.html",
        event=event,
        speaker=found,
        display=display,
        sessions=_public_sessions(found),
    )


@bp.get("/events/<slug>/speakers/<int:speaker_id>/photo.png")
def photo(slug: str, speaker_id: int) -> Response:
    """A speaker's photo, only where the speaker chose to show it (else 404)."""
    event = _event_or_404(slug)
    found = _speaker_or_404(event, speaker_id)
    if not display.shows_photo(found):
        abort(404)
    data = db.session.scalar(select(SpeakerPhoto.data).where(SpeakerPhoto.speaker_id == found.id))
    response = make_response(data or b"")
    response.headers["Content-Type"] = "image/png"
    response.headers["Cache-Control"] = "no-cache"
    return response


# --- the speaker's private page ---------------------------------------------------------------


def _unknown_link() -> tuple[str, int]:
    page = render_template(
        "errors/error.html",
        code=404,
        title=_("This link does not work"),
        text=_("The link is unknown or has expired. If you were invited to speak, write to "
               "the organizers and they will send you a new one."),
    )
    return page, 404


def _form(speaker: Speaker) -> SpeakerProfileForm:
    language = current_language()
    data = {
        "answer": speaker.status if speaker.status != SpeakerStatus.INVITED else None,
        "appearance": speaker.appearance,
        "pseudonym": speaker.pseudonym,
        "show_photo": speaker.show_photo,
        "recording_allowed": speaker.recording_allowed,
        "affiliation": getattr(speaker, text_column("affiliation", language)) or "",
        "bio": getattr(speaker, text_column("bio", language)) or "",
        "needs": speaker.needs,
    }
    return SpeakerProfileForm(data=data)


def _save(speaker: Speaker, form: SpeakerProfileForm) -> bool:
    """Apply the valid form; True if anything changed. Raises DomainError."""
    actor = attendee_actor()
    changed = speakers.answer(speaker, form.answer.data == SpeakerStatus.CONFIRMED, actor=actor)
    data = speakers.ProfileInput(
        language=current_language(),
        affiliation=form.affiliation.data or "",
        bio=form.bio.data or "",
        appearance=form.appearance.data or Appearance.TBA,
        pseudonym=form.pseudonym.data or "",
        show_photo=bool(form.show_photo.data),
        recording_allowed=bool(form.recording_allowed.data),
        needs=form.needs.data or "",
    )
    changed = bool(speakers.update_profile(speaker, data, actor=actor)) or changed
    if form.new_photo is not None:
        speakers.set_photo(speaker, form.new_photo, actor=actor)
        changed = True
    elif form.remove_photo.data:
        changed = speakers.remove_photo(speaker, actor=actor) or changed
    return changed


def _page(speaker: Speaker, token: str) -> Response | str:
    form = _form(speaker) if request.method == "GET" else SpeakerProfileForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                changed = _save(speaker, form)
            except DomainError as error:
                db.session.rollback()
                show_error(form, error)
                form.photo_not_kept()
            else:
                db.session.commit()
                flash(_("Your answers are saved.") if changed else _("Nothing changed."),
                      "success" if changed else "info")
                return redirect(url_for(".private", token=token), code=303)
        else:
            form.photo_not_kept()
    return render_template(
        "programme/speaker_private.html",
        speaker=speaker,
        event=speaker.event,
        form=form,
        token=token,
        display=display,
        writing_in=current_language(),
    )


@bp.route("/speaker/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def private(token: str) -> Response | str | tuple[str, int]:
    """The speaker's page: accept or decline, texts, photo, needs and how they appear."""
    found = speakers.speaker_for_token(token)
    if found is None:
        return _unknown_link()
    speak_language_of(found.language)
    return _page(found, token)


@bp.get("/speaker/<token>/photo.png")
@limiter.limit("60 per minute")
def own_photo(token: str) -> Response:
    """The speaker's own photo, shown to them on their page whatever they chose."""
    found = speakers.speaker_for_token(token)
    if found is None or found.photo is None:
        abort(404)
    response = make_response(found.photo.data)
    response.headers["Content-Type"] = "image/png"
    response.headers["Cache-Control"] = "no-store"
    return response
