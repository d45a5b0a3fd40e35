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
