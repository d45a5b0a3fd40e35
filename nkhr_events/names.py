"""Names as people write them: checks that work on any script.

`mixes_lookalike_scripts` finds names that mix alphabets whose letters look alike within one
word, such as a Cyrillic "а" inside a Latin name ("Pаrk"): a way to pass as someone else on a
roster or a badge. Names written wholly in one script, names that put words of different scripts
side by side ("Kim 김"), and the usual mixes of East Asian scripts (Hangul with Hanja, Kanji with
Kana) are not marked.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

#: Scripts whose letters can stand in for each other's at a glance.
LOOKALIKE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE"})


@lru_cache(maxsize=4096)
def _script(character: str) -> str | None:
    """The script of a letter, from its Unicode name (e.g. "LATIN SMALL LETTER A" -> LATIN)."""
    if not character.isalpha():
        return None
    name = unicodedata.name(character, "")
    script = name.split(" ", 1)[0]
    # Fullwidth Latin ("ＡＢＣ") is Latin too, and the only script read here that has a prefix.
    if script == "FULLWIDTH" and " LATIN " in f" {name} ":
        return "LATIN"
    return script or None


def mixes_lookalike_scripts(name: str) -> bool:
    """True when one word of `name` mixes letters of two look-alike scripts (Latin, Cyrillic,
    Greek, ...), which a person rarely types but an impostor may."""
    for word in unicodedata.normalize("NFC", name or "").split():
        scripts = {_script(character) for character in word} & LOOKALIKE_SCRIPTS
        if len(scripts) > 1:
            return True
    return False


# --- the order of a name ------------------------------------------------------------------------

#: Scripts of names written family name first, without a space: Korean, Japanese, Chinese.
FAMILY_FIRST_SCRIPTS = frozenset({"HANGUL", "CJK", "HIRAGANA", "KATAKANA"})


def family_first(given: str, family: str) -> bool:
    """Whether the name is written family name first: when either part is in Hangul, Han
    characters or Kana. A Latin-script name is written given name first, whoever wrote it."""
    return any(_script(character) in FAMILY_FIRST_SCRIPTS for character in given + family)


def full_name(given: str, family: str) -> str:
    """A person's name as they write it: "박민지", "山田花子", "Min-ji Park", "Ada Lovelace";
    a name that mixes the scripts ("김" and "Minsu") family name first with a space. The one
    function every page, badge, list, export, calendar file and email uses."""
    given, family = (given or "").strip(), (family or "").strip()
    if not family_first(given, family):
        return f"{given} {family}".strip()
    if family_first(given, "") and family_first("", family) or not (given and family):
        return f"{family}{given}"
    return f"{family} {given}"


def greeting_name(given: str, family: str) -> str:
    """The name an email greets with: the whole name where it is written family name first
    ("박민지 님", "山田花子様"), else the given name ("Hello Ada,")."""
    if family_first(given, family):
        return full_name(given, family)
    return (given or "").strip() or (family or "").strip()


def fold(text: str) -> str:
    """`text` as searches compare it: letters and digits only, no case, no accents (Hangul
    syllables kept whole): "Min-ji  PARK" -> "minjipark", "José" -> "jose",
    "이 영희" -> "이영희"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in unicodedata.normalize("NFC", kept).casefold() if c.isalnum())


def name_search_key(given: str, family: str) -> str:
    """What a search by name matches (stored with each registration): the name folded in both
    orders, so that "이영희", "이 영희", "영희 이" and "Yeong-hui Lee" / "Lee Yeong-hui" all
    find the person."""
    return f"{fold(given + family)} {fold(family + given)}"
