"""How a speaker is shown to anyone but the event's organizers and the speaker themselves.

Every public or shared surface (programme, speaker pages, feeds, badges, crew sheets, exports,
emails to others) asks these functions; none reads the name columns of a `Speaker` itself.
A speaker who has not confirmed appears as "to be announced", whatever they chose.
"""

from __future__ import annotations

from flask_babel import gettext as _

from nkhr_events.programme.models import Appearance, Speaker, SpeakerStatus


def appears_as(speaker: Speaker) -> str:
    """The appearance in force: the speaker's choice once confirmed, else `Appearance.TBA`."""
    if speaker.status != SpeakerStatus.CONFIRMED or speaker.anonymized_at is not None:
        return Appearance.TBA
    if speaker.appearance == Appearance.PSEUDONYM and not speaker.pseudonym.strip():
        return Appearance.TBA
    return speaker.appearance


def public_name(speaker: Speaker) -> str:
    """The name others see: the real name in its own order, the pseudonym, or "To be
    announced" (in the reader's language)."""
    shown = appears_as(speaker)
    if shown == Appearance.NAME:
        return speaker.full_name
    if shown == Appearance.PSEUDONYM:
        return speaker.pseudonym
    return _("To be announced")


def is_announced(speaker: Speaker) -> bool:
    """Whether others see a name (real or pseudonym) rather than "to be announced"."""
    return appears_as(speaker) != Appearance.TBA


def shows_affiliation(speaker: Speaker) -> bool:
    """Only a speaker shown by their real name has their affiliation and bio published: under a
    pseudonym those could name them."""
    return appears_as(speaker) == Appearance.NAME


def shows_photo(speaker: Speaker) -> bool:
    """A photo is public only when the speaker chose it, appears by name, and has one."""
    return (
        speaker.show_photo
        and appears_as(speaker) == Appearance.NAME
        and speaker.photo is not None
    )


def may_record(speaker: Speaker) -> bool:
    """Recording is allowed only on the speaker's confirmed say-so."""
    return speaker.status == SpeakerStatus.CONFIRMED and speaker.recording_allowed
