"""Text that staff write in several languages: an event's title, description, venue and city, a
series' name and description, a category's extra question.

Each text is a column per language: the plain column holds English, `<field>_ko` Korean and
`<field>_ja` Japanese. A reader gets their own language where staff wrote it; else the text of
the first of the object's languages that has it, marked with that language (`LocalText.language`)
so that the page can say so with a `lang` attribute. Nothing here knows about requests: the
caller says who reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The languages content may be written in, in the order a fallback tries them.
CONTENT_LANGUAGES = ("en", "ko", "ja")

#: An event's texts, in the order the staff form asks for them.
EVENT_TEXT_FIELDS = ("title", "venue", "city", "description")

#: The language pairs an event may interpret, written "<a>-<b>" in alphabetical order.
INTERPRETATION_PAIRS = ("en-ko", "en-ja", "ja-ko")


def text_column(field: str, language: str) -> str:
    """The column holding `field` in `language`: "title" (English), "title_ko", "title_ja"."""
    return field if language == "en" else f"{field}_{language}"


@dataclass(frozen=True)
class LocalText:
    """A text and the language it is written in; `fallback` when that is not the reader's."""

    text: str
    language: str
    fallback: bool

    def __str__(self) -> str:
        return self.text


def place_in_order(parts: list[Any], language: str) -> tuple[list[Any], str]:
    """A place's parts given from the smallest to the largest (venue, city, country), in the
    order `language` writes a place and with its separator: English "Venue, Seoul, South
    Korea"; Korean and Japanese from the largest ("대한민국 서울 장소", "韓国、ソウル、会場")."""
    if language in ("ko", "ja"):
        parts = list(reversed(parts))
    return parts, {"ko": " ", "ja": "、"}.get(language, ", ")


def languages_of(obj: Any) -> list[str]:
    """The languages `obj` is written in, its own order first (an event's chosen languages),
    then every other content language."""
    own = [code for code in getattr(obj, "language_list", []) if code in CONTENT_LANGUAGES]
    return own + [code for code in CONTENT_LANGUAGES if code not in own]


def local_text(obj: Any, field: str, reader: str) -> LocalText:
    """`field` of `obj` for a reader of `reader`'s language, falling back as described above."""
    for language in [reader, *languages_of(obj)]:
        value = getattr(obj, text_column(field, language), None)
        if value and value.strip():
            return LocalText(value, language, language != reader)
    return LocalText("", reader, False)


def missing_translations(event: Any) -> dict[str, list[str]]:
    """For each of the event's languages, the texts it lacks that another of them has:
    {"ja": ["description", "venue"]}. Languages that lack nothing are left out."""
    chosen = event.language_list
    missing: dict[str, list[str]] = {}
    for field in EVENT_TEXT_FIELDS:
        present = {
            language for language in chosen
            if (getattr(event, text_column(field, language), None) or "").strip()
        }
        if not present:
            continue
        for language in chosen:
            if language not in present:
                missing.setdefault(language, []).append(field)
    return missing


def canonical_languages(codes: Any) -> str:
    """Chosen content languages as the column stores them: known codes, in the standard order,
    space-separated ("ko en ko" -> "en ko")."""
    chosen = set(codes or ())
    return " ".join(code for code in CONTENT_LANGUAGES if code in chosen)


def canonical_pairs(pairs: Any) -> str:
    """Chosen interpretation pairs as the column stores them: known pairs in the standard order
    ("ko-en" is read as "en-ko")."""
    chosen = {"-".join(sorted(str(pair).split("-", 1))) for pair in pairs or ()}
    return " ".join(pair for pair in INTERPRETATION_PAIRS if pair in chosen)
