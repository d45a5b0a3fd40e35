"""Interpretation at an event: the channels its language pairs offer, what each is called in the
reader's language, and which channel a registration may hold.

Staff set the pairs an event interprets (`Event.interpretation_pairs`, "en-ko ja-ko"); each pair
offers a channel into either of its languages, named "<from>_to_<to>" ("ja_to_ko": Japanese
into Korean). That code, or "none", is what `Registration.interpretation` stores.

When an event stops offering a channel, a registration that chose it keeps it: it is still
named everywhere, and still accepted when the attendee changes other details, so nobody is made
to give it up by editing their badge name. Only a new choice must be one the event offers.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event

#: The choice of whoever needs no interpretation, and of everyone at an event that has none.
NO_INTERPRETATION = "none"
#: The longest code `Registration.interpretation` holds.
CODE_LENGTH = 8
#: The refusal of a choice the event does not offer (a page from before staff changed the
#: pairs, or a hand-made request).
NOT_OFFERED = _l(
    "This event does not offer that interpretation. Choose one of the options shown."
)

#: No interpretation, and every channel between the languages of the site. Literal, one by one:
#: the message extraction reads them here.
_LABELS: dict[str, LazyString] = {
    NO_INTERPRETATION: _l("No interpretation needed"),
    "ko_to_en": _l("Korean into English"),
    "en_to_ko": _l("English into Korean"),
    "ja_to_ko": _l("Japanese into Korean"),
    "ko_to_ja": _l("Korean into Japanese"),
    "ja_to_en": _l("Japanese into English"),
    "en_to_ja": _l("English into Japanese"),
}


def channel(source: str, target: str) -> str:
    """The code of the channel that interprets `source` into `target` ("ja", "ko": "ja_to_ko")."""
    return f"{source}_to_{target}"


def event_channels(event: Event) -> list[str]:
    """The channels `event` offers: both directions of each of its pairs, in the event's order,
    each once ("en-ko ja-ko": en_to_ko, ko_to_en, ja_to_ko, ko_to_ja). A pair that is not two
    different languages, or whose code would not fit the column, offers nothing."""
    channels: list[str] = []
    for pair in event.interpretation_pair_list:
        languages: tuple[str, ...] = pair  # a pair written without its "-" is one language
        if len(set(languages)) != 2 or not all(languages):
            continue
        first, second = languages
        for code in (channel(first, second), channel(second, first)):
            if len(code) <= CODE_LENGTH and code not in channels:
                channels.append(code)
    return channels


def choices(event: Event, kept: str | None = None) -> list[str]:
    """What a registration of `event` may choose: no interpretation, then the event's channels,
    then `kept` (the registration's stored choice) when the event no longer offers it."""
    offered = [NO_INTERPRETATION, *event_channels(event)]
    if kept and kept not in offered:
        offered.append(kept)
    return offered


def check_choice(event: Event, choice: str, kept: str | None = None) -> None:
    """Refuse a choice `event` does not offer, unless it is `kept`, the one the registration
    already holds. Raises DomainError beside the interpretation question."""
    if choice not in choices(event, kept):
        raise DomainError(str(NOT_OFFERED), "interpretation")


def label(code: str) -> str:
    """What a stored choice is called, in the reader's language. A channel between languages
    this site has no name for reads "zh → ko"; anything else reads as it is stored."""
    known = _LABELS.get(code)
    if known is not None:
        return str(known)
    source, to, target = code.partition("_to_")
    return f"{source} → {target}" if to and source and target else code


def init_app(app: Flask) -> None:
    """Templates name a stored choice with `interpretation_label(registration.interpretation)`."""
    app.add_template_global(label, "interpretation_label")
