"""Speaker rules: invite by private link, resend, accept or decline, the speaker's profile,
photo, needs and how they appear; their badge; their erasure.

The private link is made when the email is sent (outbox `LateSecret`, one token per email:
sending it again never breaks the first link); only a hash is stored (SpeakerToken). Every
change is audited with the actor passed in; a submission that changes nothing writes nothing.
How a speaker is shown to others is decided in display.py, never here.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Protocol, TypeVar

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from nkhr_events import names
from nkhr_events.audit.services import Actor, record, status_detail
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.events.texts import text_column
from nkhr_events.extensions import db
from nkhr_events.outbox.models import SECRET_PLACEHOLDER
from nkhr_events.outbox.services import LateSecret, enqueue_email, secret_maker
from nkhr_events.partners.logos import ImageTooLarge, ImageUnreadable, decode_rgba, fresh_png
from nkhr_events.programme import display
from nkhr_events.programme.models import (
    Appearance,
    ProgrammeSession,
    SessionSpeaker,
    Speaker,
    SpeakerPhoto,
    SpeakerStatus,
    SpeakerToken,
)
from nkhr_events.registrations.models import Registration
from nkhr_events.registrations.services import active_registration, email_key
from nkhr_events.tokens import new_token, token_hash
from nkhr_events.validators import LANGUAGES

#: The private link every speaker invitation carries (outbox/services.py, `LateSecret`).
SPEAKER_LINK = "speaker-link"
#: How long after the event's last day a speaker's link keeps working.
TOKEN_LIFETIME_AFTER_EVENT = timedelta(days=180)
#: Photos: at most this many bytes uploaded; stored within MAX_PHOTO_SIDE pixels a side.
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTO_SIDE = 800
PHOTO_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
#: The fields a speaker writes per language (the plain column is English).
TEXT_FIELDS = ("affiliation", "bio")
#: What anonymized speakers keep in place of their name and address.
ERASED_NAME = "Erased"


# --- inviting ---------------------------------------------------------------------------------


@dataclass
class SpeakerInput:
    """Who is invited to speak, from the staff form."""

    given_name: str
    family_name: str
    email: str
    language: str
    affiliation: str = ""


def _checked(event: Event, data: SpeakerInput) -> SpeakerInput:
    given, family = data.given_name.strip(), data.family_name.strip()
    if not given and not family:
        raise DomainError(_("Enter the name."), "given_name")
    if len(given) > 100:
        raise DomainError(_("Use at most %(n)d characters.", n=100), "given_name")
    if len(family) > 100:
        raise DomainError(_("Use at most %(n)d characters.", n=100), "family_name")
    if len(data.affiliation.strip()) > 200:
        raise DomainError(_("Use at most %(n)d characters.", n=200), "affiliation")
    address, key = email_key(data.email)
    if data.language not in LANGUAGES:
        raise DomainError(_("Unknown language: use en, ko or ja."), "language")
    taken = db.session.scalar(
        select(Speaker.id).where(
            Speaker.event_id == event.id,
            Speaker.email_key == key,
            Speaker.status != SpeakerStatus.DECLINED,
            Speaker.anonymized_at.is_(None),
        )
    )
    if taken is not None:
        raise DomainError(_("This address is already invited to speak at this event."), "email")
    return SpeakerInput(given, family, address, data.language, data.affiliation.strip())


def invite_speaker(event: Event, data: SpeakerInput, *, actor: Actor) -> Speaker:
    """Add a speaker (invited; "to be announced" until they choose) and queue the invitation
    in their language. Raises DomainError beside the field at fault."""
    clean = _checked(event, data)
    speaker = Speaker(
        event=event,
        given_name=clean.given_name,
        family_name=clean.family_name,
        email=clean.email,
        email_key=email_key(clean.email)[1],
        language=clean.language,
        affiliation=clean.affiliation,
        status=SpeakerStatus.INVITED,
        appearance=Appearance.TBA,
    )
    db.session.add(speaker)
    db.session.flush()
    record(
        "speaker.invite",
        object_type="speaker",
        object_id=speaker.id,
        event_id=event.id,
        actor=actor,
        detail={"language": clean.language},
    )
    _send(speaker)
    return speaker


def resend_invitation(speaker: Speaker, *, actor: Actor) -> None:
    """Email the speaker's link again (a new token; the earlier ones keep working)."""
    if speaker.anonymized_at is not None:
        raise DomainError(_("This speaker's data has been erased."))
    _send(speaker)
    record(
        "speaker.resend",
        object_type="speaker",
        object_id=speaker.id,
        event_id=speaker.event_id,
        actor=actor,
    )


def speaker_url(token: str) -> str:
    return f"{current_app.config['NKHR_BASE_URL'].rstrip('/')}/speaker/{token}"


def _token_expiry(event: Event) -> datetime:
    return datetime.combine(event.end_date, time.max, tzinfo=UTC) + TOKEN_LIFETIME_AFTER_EVENT


@secret_maker(SPEAKER_LINK)
def _speaker_token(speaker_id: int) -> str:
    speaker = db.session.get(Speaker, speaker_id)
    if speaker is None or speaker.anonymized_at is not None:
        raise ValueError("the speaker of this link no longer exists")
    token = new_token()
    db.session.add(
        SpeakerToken(
            speaker_id=speaker.id,
            token_hash=token_hash(token),
            expires_at=_token_expiry(speaker.event),
        )
    )
    return token


def _send(speaker: Speaker) -> None:
    enqueue_email(
        to=speaker.email,
        template="speaker_invitation",
        language=speaker.language,
        context={
            "greeting": names.greeting_name(speaker.given_name, speaker.family_name),
            "event": speaker.event,
            "link": speaker_url(SECRET_PLACEHOLDER),
        },
        secret=LateSecret(SPEAKER_LINK, speaker.id),
        event_id=speaker.event_id,
    )


def speaker_for_token(token: str, now: datetime | None = None) -> Speaker | None:
    """The speaker a link opens; None for an unknown or expired token, or an erased speaker."""
    if not token or len(token) > 100:
        return None
    found = db.session.scalar(
        select(SpeakerToken).where(SpeakerToken.token_hash == token_hash(token))
    )
    if found is None or found.expires_at <= (now or utcnow()):
        return None
    if found.speaker.anonymized_at is not None:
        return None
    return found.speaker


# --- the speaker's answers --------------------------------------------------------------------


def answer(speaker: Speaker, accept: bool, now: datetime | None = None, *, actor: Actor) -> bool:
    """Accept or decline (either may be changed later); True if the status changed. On
    acceptance the speaker's registration for the event (same address) is linked."""
    wanted = SpeakerStatus.CONFIRMED if accept else SpeakerStatus.DECLINED
    if speaker.status == wanted:
        return False
    before = speaker.status
    speaker.status = wanted
    speaker.answered_at = now or utcnow()
    if accept:
        link_registration(speaker)
        keep_off_lists(speaker)
    record(
        "speaker.accept" if accept else "speaker.decline",
        object_type="speaker",
        object_id=speaker.id,
        event_id=speaker.event_id,
        actor=actor,
        detail=status_detail(before, wanted),
    )
    db.session.flush()
    return True


def link_registration(speaker: Speaker) -> None:
    """Tie the speaker to the event's active registration with the speaker's address, if any
    (their badge then follows the speaker's choices)."""
    found = active_registration(speaker.event_id, speaker.email_key)
    if found is not None:
        speaker.registration_id = found.id


def keep_off_lists(speaker: Speaker) -> None:
    """A speaker who appears under a pseudonym or as "to be announced" must not be findable by
    the registration their real name is on: that registration is marked "do not publish or
    photograph me" (off the participant list and name-bearing badge layouts; the door shows
    the given name only). Never undone here: the person may have asked for it themselves."""
    if speaker.registration_id is None or display.appears_as(speaker) == Appearance.NAME:
        return
    registration = db.session.get(Registration, speaker.registration_id)
    if registration is not None:
        registration.do_not_publish = True


@dataclass(frozen=True)
class ProfileInput:
    """What the speaker writes about themselves in one of the event's languages, and how
    they appear."""

    language: str
    affiliation: str
    bio: str
    appearance: str
    pseudonym: str
    show_photo: bool
    recording_allowed: bool
    needs: str


def update_profile(speaker: Speaker, data: ProfileInput, *, actor: Actor) -> list[str]:
    """Save the speaker's texts (in `data.language`), choices and needs; the names of the
    fields that changed (audited without their values), none when nothing did."""
    if data.language not in LANGUAGES:
        raise DomainError(_("Unknown language: use en, ko or ja."), "language")
    try:
        appearance = Appearance(data.appearance)
    except ValueError as error:
        raise DomainError(_("Choose how you appear."), "appearance") from error
    pseudonym = data.pseudonym.strip()
    if appearance == Appearance.PSEUDONYM and not pseudonym:
        raise DomainError(_("Enter the name you appear under."), "pseudonym")
    if appearance != Appearance.PSEUDONYM:
        pseudonym = speaker.pseudonym  # kept for a later change of mind, never shown
    wanted: dict[str, object] = {
        text_column("affiliation", data.language): data.affiliation.strip(),
        text_column("bio", data.language): data.bio.strip(),
        "appearance": appearance.value,
        "pseudonym": pseudonym,
        "show_photo": data.show_photo,
        "recording_allowed": data.recording_allowed,
        "needs": data.needs.strip(),
    }
    changed = []
    for column, value in wanted.items():
        current = getattr(speaker, column)
        if (current or "") != value if isinstance(value, str) else current != value:
            setattr(speaker, column, value)
            changed.append(column)
    if changed:
        keep_off_lists(speaker)
        record(
            "speaker.update",
            object_type="speaker",
            object_id=speaker.id,
            event_id=speaker.event_id,
            actor=actor,
            detail={"fields": changed},
        )
        db.session.flush()
    return changed


# --- the photo --------------------------------------------------------------------------------


class PhotoRefused(DomainError):
    """The uploaded file is not a photo we accept; the message says why (beside "photo")."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "photo")


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    width: int
    height: int


def _upright(rgba: Image.Image, data: bytes) -> Image.Image:
    """The pixels turned as the camera's orientation tag says (the tag itself is dropped
    with every other piece of metadata); read only after the file decoded within limits."""
    with Image.open(io.BytesIO(data)) as probe:
        orientation = probe.getexif().get(0x0112)
    if not orientation or orientation == 1:
        return rgba
    holder = rgba.copy()
    holder.getexif()[0x0112] = orientation
    return ImageOps.exif_transpose(holder)


def clean_photo(data: bytes) -> CleanPhoto:
    """The photo in `data` decoded under the limits of partner logos, turned upright,
    downscaled and re-encoded as PNG without metadata. Raises PhotoRefused."""
    if not data:
        raise PhotoRefused(_("The file is empty."))
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused(_("The photo is larger than 5 MB. Please send a smaller file."))
    try:
        rgba = decode_rgba(data, PHOTO_FORMATS)
    except ImageTooLarge as error:
        raise PhotoRefused(
            _("The image is too large: at most 4 megapixels (for example 2000 × 2000 pixels). "
              "Please send a smaller photo.")
        ) from error
    except ImageUnreadable as error:
        raise PhotoRefused(_("This file is not a PNG, JPEG or WebP image we can read.")) from error
    rgba = _upright(rgba, data)
    rgba.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE))
    clean = fresh_png(rgba)
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return CleanPhoto(out.getvalue(), clean.width, clean.height)


def set_photo(speaker: Speaker, photo: CleanPhoto, *, actor: Actor) -> None:
    """Replace the speaker's photo with one re-encoded by `clean_photo`."""
    if speaker.photo is None:
        speaker.photo = SpeakerPhoto(content_type="image/png", data=b"", width=0, height=0)
    speaker.photo.data = photo.data
    speaker.photo.width = photo.width
    speaker.photo.height = photo.height
    speaker.photo.created_at = utcnow()
    record(
        "speaker.photo",
        object_type="speaker",
        object_id=speaker.id,
        event_id=speaker.event_id,
        actor=actor,
        detail={"width": photo.width, "height": photo.height},
    )
    db.session.flush()


def remove_photo(speaker: Speaker, *, actor: Actor) -> bool:
    """Delete the speaker's photo; True if there was one."""
    if speaker.photo is None:
        return False
    speaker.photo = None
    record(
        "speaker.photo_remove",
        object_type="speaker",
        object_id=speaker.id,
        event_id=speaker.event_id,
        actor=actor,
    )
    db.session.flush()
    return True


# --- reading ----------------------------------------------------------------------------------


def speakers_of(event: Event) -> list[Speaker]:
    """Every speaker of the event, for its organizers, by name."""
    return list(
        db.session.scalars(
            select(Speaker).where(Speaker.event_id == event.id).order_by(Speaker.name_sort)
        )
    )


def record_view(speaker: Speaker, with_needs: bool, *, actor: Actor) -> None:
    """Log a look at a speaker's page (real name; needs when shown), like a look at a
    registration."""
    record(
        "speaker.view",
        object_type="speaker",
        object_id=speaker.id,
        event_id=speaker.event_id,
        actor=actor,
        detail={"needs": with_needs},
    )


def announced_speakers(event: Event) -> list[Speaker]:
    """Speakers others may see listed: confirmed and shown by name or pseudonym, in the
    order of the name shown."""
    found = db.session.scalars(
        select(Speaker).where(
            Speaker.event_id == event.id,
            Speaker.status == SpeakerStatus.CONFIRMED,
            Speaker.anonymized_at.is_(None),
        )
    )
    shown = [s for s in found if display.is_announced(s)]
    return sorted(shown, key=lambda s: display.public_name(s).casefold())


def announced_speaker(event: Event, speaker_id: int) -> Speaker | None:
    found = db.session.get(Speaker, speaker_id)
    if found is None or found.event_id != event.id or not display.is_announced(found):
        return None
    return found


def speaker_of(event: Event, speaker_id: int) -> Speaker | None:
    """A speaker of `event` for its organizers (None for another event's id)."""
    found = db.session.get(Speaker, speaker_id)
    return found if found is not None and found.event_id == event.id else None


def local_field(speaker: Speaker, field: str, language: str) -> str:
    """A speaker's text in `language`, else English, else any language written."""
    for code in (language, "en", *LANGUAGES):
        value = getattr(speaker, text_column(field, code)) or ""
        if value.strip():
            return str(value)
    return ""


# --- badges -----------------------------------------------------------------------------------


class _Badge(Protocol):
    """What a badge (roster/exports.py `Badge`, a frozen dataclass) holds that this changes."""

    @property
    def registration_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def organization(self) -> str: ...
    @property
    def no_photos(self) -> bool: ...


BadgeT = TypeVar("BadgeT", bound=_Badge)


def speakers_on_badges(badges: Sequence[BadgeT]) -> list[BadgeT]:
    """Badges (frozen dataclasses) of registrations linked to a speaker, as the speaker
    chose: a speaker under a pseudonym is named by it (without an organization, which could
    name them too), and one who may not be recorded
    carries no photo-consent marker. Other badges are returned as they are."""
    ids = [b.registration_id for b in badges]
    if not ids:
        return list(badges)
    linked = {
        s.registration_id: s
        for s in db.session.scalars(select(Speaker).where(Speaker.registration_id.in_(ids)))
        if s.status == SpeakerStatus.CONFIRMED
    }
    result = []
    for badge in badges:
        speaker = linked.get(badge.registration_id)
        if speaker is not None:
            if display.appears_as(speaker) == Appearance.PSEUDONYM:
                badge = replace(  # type: ignore[type-var]
                    badge, name=display.public_name(speaker), organization=""
                )
            if not display.may_record(speaker):
                badge = replace(badge, no_photos=True)  # type: ignore[type-var]
        result.append(badge)
    return result


# --- erasure ----------------------------------------------------------------------------------


def anonymize_speakers(event_ids: list[int], now: datetime) -> list[tuple[int, str]]:
    """Erase the speakers of the events: names, address, pseudonym, texts, needs, photo and
    links. Returns (id, former address) of each, for the caller to blank their emails."""
    erased = []
    for speaker in list(db.session.scalars(
        select(Speaker).where(Speaker.event_id.in_(event_ids), Speaker.anonymized_at.is_(None))
    )):
        erased.append((speaker.id, speaker.email))
        address = f"erased-speaker-{speaker.id}@invalid"
        speaker.given_name = ERASED_NAME
        speaker.family_name = ""
        speaker.email = address
        speaker.email_key = address
        speaker.pseudonym = ""
        speaker.appearance = Appearance.TBA
        speaker.show_photo = False
        for field in TEXT_FIELDS:
            for code in LANGUAGES:
                setattr(speaker, text_column(field, code), "" if code == "en" else None)
        speaker.needs = ""
        speaker.photo = None
        speaker.registration_id = None
        speaker.anonymized_at = now
        db.session.execute(delete(SpeakerToken).where(SpeakerToken.speaker_id == speaker.id))
    db.session.flush()
    return erased


# --- the recording crew's sheet ---------------------------------------------------------------


@dataclass(frozen=True)
class CrewSpeaker:
    """A speaker as the crew sees them: the public name only, and whether to record."""

    name: str
    part: str
    may_record: bool


@dataclass(frozen=True)
class CrewSession:
    session: ProgrammeSession
    speakers: list[CrewSpeaker]

    @property
    def do_not_record(self) -> list[str]:
        """Who may not be recorded: everyone on a closed-door session."""
        return [s.name for s in self.speakers if self.session.closed_door or not s.may_record]


def crew_sheet(event: Event) -> list[CrewSession]:
    """Every session of the event in programme order, with its speakers by the name others
    see (never the real name of a speaker under a pseudonym or to be announced)."""
    sessions = db.session.scalars(
        select(ProgrammeSession)
        .where(ProgrammeSession.event_id == event.id)
        .order_by(ProgrammeSession.day, ProgrammeSession.starts_at, ProgrammeSession.id)
        .options(selectinload(ProgrammeSession.speakers).joinedload(SessionSpeaker.speaker))
    )
    return [
        CrewSession(
            session,
            [
                CrewSpeaker(display.public_name(link.speaker), link.part,
                            display.may_record(link.speaker))
                for link in session.speakers
                if link.speaker.status != SpeakerStatus.DECLINED
            ],
        )
        for session in sessions
    ]
