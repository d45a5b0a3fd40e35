"""English left on a page or in an email written for a Korean or Japanese reader.

`test_translations.english_leaks` finds catalogue messages shown untranslated on a page. This
module points it at any page or email part for a reader of Korean or Japanese, and at every
message of the source, not only the catalogue's: a message added since the last
`make messages` is English on the page just the same. Each finding is sorted by its cause:

- `untranslated`: a message with no translation in the reader's catalogue yet;
- `ignored`: a translated message shown in English all the same (the page or email did not
  speak the reader's language);
- `latin`: words in Latin letters that are no catalogue message at all (English written
  outside gettext, or a library's own English).

A text marked as written in another language (`lang="en"`: the event's English where it has
no text in the reader's, or "English" on the language switch) is the event's own, not ours,
and is left out; so are the proper names and addresses a test names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from babel.messages.catalog import Catalog
from markupsafe import escape

from tests.markup import Element, parse
from tests.test_translations import (
    TRANSLATIONS,
    _TextNodes,
    english_leaks,
    extract_source_messages,
    load_catalog,
    strings_of,
)

#: Words in Latin letters that Korean and Japanese write so too: file types, units and
#: abbreviations a reader types or keeps ("QR 코드", "1MB", "NGO").
TECHNICAL_WORDS = frozenset({"QR", "ics", "JSON", "PNG", "JPEG", "WebP", "MB", "NGO"})

#: Addresses, links and file names ("checkin.png"), which are no words to translate.
_ADDRESS = re.compile(
    r"\S+@\S+|\bhttps?://\S+|\b[\w.-]+\.(?:org|example|com)\b|\b[\w-]+\.(?:png|ics|json|svg)\b"
)
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
#: A label and its value on a line of a text email ("Event: ...", "日程：..."), not the colon
#: of a link ("http://").
_LABEL_SEPARATOR = re.compile(r"\s*(?:：|:(?=\s|$))\s*")


@dataclass(frozen=True)
class Catalogues:
    """The source's messages split by whether `language` translates them."""

    translated: Catalog
    untranslated: Catalog


@cache
def catalogues(language: str) -> Catalogues:
    """Every message of the source (extracted as `make messages` does) and of the catalogue of
    `language`, in two catalogues: those it translates and those it does not (yet)."""
    existing = load_catalog(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    translated, untranslated = Catalog(locale=language), Catalog(locale=language)
    seen = set()
    for message in [*extract_source_messages(), *existing]:
        key = (message.id, message.context)
        if not message.id or key in seen:
            continue
        seen.add(key)
        found = existing.get(message.id, message.context)
        if found is not None and not found.fuzzy and all(s.strip() for s in strings_of(found)):
            translated.add(message.id, found.string, context=message.context)
        else:
            untranslated.add(message.id, "", context=message.context)
    return Catalogues(translated, untranslated)


def _walk(element: Element, language: str, nodes: list[str]) -> None:
    """Collect what a reader of `language` reads in `element`, skipping what is marked as
    written in another language, scripts and styles."""
    for child in element.children:
        if isinstance(child, str):
            text = " ".join(child.split())
            if text:
                nodes.append(text)
            continue
        if child.tag in {"script", "style"}:
            continue
        # The page's own language (on <html>) is for the caller to check: a page that ignored
        # the reader's choice says lang="en", and its English must still be found here.
        own = child.get("lang") if child.tag != "html" else None
        if own and own.split("-")[0] != language:
            continue
        nodes.extend(
            " ".join(value.split())
            for name, value in child.attrs.items()
            if name in _TextNodes.SPOKEN_ATTRIBUTES and value.strip()
        )
        _walk(child, language, nodes)


def page_text(html: str, language: str) -> list[str]:
    """The text nodes and labelling attributes of an HTML page or email part that a reader of
    `language` reads, without those inside an element marked with another language."""
    nodes: list[str] = []
    _walk(parse(html), language, nodes)
    return nodes


def plain_text(text: str) -> list[str]:
    """The lines of a text email, and each side of a "label: value" line on its own, so that a
    short label ("Event") is matched as on a page, where it stands alone in a cell."""
    nodes = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if not line:
            continue
        nodes.append(line)
        parts = [part for part in _LABEL_SEPARATOR.split(line) if part]
        if len(parts) > 1:
            nodes.extend(parts)
    return nodes


@dataclass
class Leaks:
    """What a reader of the language would read in English, by cause (see the module)."""

    untranslated: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    latin: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.untranslated or self.ignored or self.latin)

    def describe(self) -> str:
        parts = []
        for title, found in (
            ("not translated yet", self.untranslated),
            ("translated but shown in English", self.ignored),
            ("Latin-letter words outside the catalogue", self.latin),
        ):
            if found:
                parts.append(f"  {title}:\n" + "\n".join(f"    {line.strip()}" for line in found))
        return "\n".join(parts)


def _without(node: str, names: Iterable[str]) -> str:
    for name in names:
        node = node.replace(name, " ")
    return " ".join(node.split())


def english_in(nodes: Iterable[str], language: str, names: Iterable[str] = ()) -> Leaks:
    """English a reader of `language` would find in `nodes` (from `page_text` or
    `plain_text`), apart from `names`: proper names, the organization's name, addresses."""
    # Longest first, so that a name inside a longer one does not leave the rest behind.
    names = sorted({name for name in names if name}, key=len, reverse=True)
    kept = [text for text in (_without(node, names) for node in nodes) if text]
    # `english_leaks` reads a page: each node becomes a paragraph of its own.
    html = "".join(f"<p>{escape(node)}</p>" for node in kept)
    found = catalogues(language)
    leaks = Leaks(
        untranslated=english_leaks(html, found.untranslated),
        ignored=english_leaks(html, found.translated),
    )
    latin = set()
    for node in kept:
        words = _LATIN_WORD.findall(_ADDRESS.sub(" ", node))
        odd = [word for word in words if word not in TECHNICAL_WORDS]
        if odd:
            latin.add(f"{' '.join(odd)!r} in {node!r}")
    leaks.latin = sorted(latin)
    return leaks
