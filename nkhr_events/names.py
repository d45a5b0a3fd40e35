"""Names as people write them: checks that work on any script.

`mixes_lookalike_scripts` finds names that mix alphabets whose letters look alike within one
word, such as a Cyrillic "а" inside a Latin name ("Pаrk"): a way to pass as someone else on a
roster or a badge. Names written wholly in one script, names that put words of different scripts
side by side ("Kim 김"), and the usual mixes of East Asian scripts (Hangul with Hanja, Kanji with
Kana) are not marked.
"""

from __future__ import annotations

import unicodedata
from functools import cache, lru_cache
from typing import Protocol

from pyuca import Collator  # type: ignore[import-untyped]

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


class _Named(Protocol):
    @property
    def given_name(self) -> str: ...

    @property
    def family_name(self) -> str: ...


class WrittenName:
    """`full_name` and `greeting_name` of anything with `given_name` and `family_name` (a
    registration, the facts a queued email keeps of one)."""

    @property
    def full_name(self: _Named) -> str:
        """The name as the person writes it: "박민지", "山田花子", "Ada Lovelace"."""
        return full_name(self.given_name, self.family_name)

    @property
    def greeting_name(self: _Named) -> str:
        """What an email greets with: "박민지", "山田花子", "Ada"."""
        return greeting_name(self.given_name, self.family_name)


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


# --- the order of names in lists ----------------------------------------------------------------

#: The length of a stored sort key (Registration.name_sort).
NAME_SORT_LENGTH = 255
#: The first character of a sort key: the script group of the family name, so that a reader's
#: collation can put their own script first (ORDER BY a CASE on it). The digits follow the
#: default order of the Unicode Collation Algorithm: Latin (and the other alphabets), Hangul,
#: Kana, Han.
LATIN_AND_OTHERS, HANGUL, KANA, HAN = "1", "2", "3", "4"
_SCRIPT_GROUPS = {"HANGUL": HANGUL, "HIRAGANA": KANA, "KATAKANA": KANA, "CJK": HAN}
#: Hex digits per weight of the primary, secondary and tertiary level: the largest weights of
#: the collation table are 0xFFFF, 0x115 and 0x1E.
_LEVEL_WIDTHS = (4, 3, 2)


@cache
def collator() -> Collator:
    """The Unicode Collation Algorithm with its default table (DUCET), loaded once per process
    (about a second and 10 MiB), shared by every sort: it sorts "Åland Islands" beside
    "Albania" and Hangul in dictionary order, where code point order puts accented letters
    after "Z"."""
    return Collator()


def _script_group(text: str) -> str | None:
    """The script group of the first letter of `text` (halfwidth Kana and Hangul count as
    Kana and Hangul); None when `text` has no letter."""
    for character in text:
        script = _script(character)
        if script == "HALFWIDTH":
            script = unicodedata.name(character).split()[1]
        if script is not None:
            return _SCRIPT_GROUPS.get(script, LATIN_AND_OTHERS)
    return None


def _collation_levels(text: str) -> list[list[int]]:
    """The primary, secondary and tertiary weights of `text` (pyuca's sort key separates the
    levels with a 0)."""
    levels: list[list[int]] = [[]]
    for weight in collator().sort_key(text):
        if weight:
            levels[-1].append(weight)
        else:
            levels.append([])
    return levels[:3]


def name_sort_key(given: str, family: str) -> str:
    """What lists sort people by (stored with each registration): family name, then given
    name, in the order of the Unicode Collation Algorithm ("Émile" beside "Emil", not after
    "Zoe"; "김" before "박"), as lowercase hex that byte order in any database keeps.

    The first character is the script group of the family name (LATIN_AND_OTHERS, HANGUL,
    KANA, HAN). After it, level by level as UTS #10 compares fields: the family name's weights,
    a separator below every weight, the given name's weights; each weight in a fixed number of
    hex digits. A long name is cut at NAME_SORT_LENGTH, which only drops the least telling
    weights (accents and case of the latest letters)."""
    given, family = (given or "").strip(), (family or "").strip()
    group = _script_group(family) or _script_group(given) or LATIN_AND_OTHERS
    levels = []
    for width, family_weights, given_weights in zip(
        _LEVEL_WIDTHS, _collation_levels(family), _collation_levels(given), strict=True
    ):
        largest = 16**width - 1
        hexed = [
            "".join(f"{min(weight, largest):0{width}x}" for weight in weights)
            for weights in (family_weights, given_weights)
        ]
        # 1 parts the names, 0 ends the level: both sort below every weight.
        levels.append(f"{hexed[0]}{1:0{width}x}{hexed[1]}{0:0{width}x}")
    return (group + "".join(levels))[:NAME_SORT_LENGTH]
