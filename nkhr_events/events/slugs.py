"""A web address (slug) suggested from an event's title, in any script.

Latin titles lose their accents; Korean is romanized after the Revised Romanization of Korean
(syllables taken apart into their letters, with the one sound change that matters most in
names: a final consonant carried over to a following vowel); Japanese kana after Hepburn.
A title with anything else (kanji, Cyrillic, ...) gives series, year and city instead, since a
half-transliterated address would mislead. Suggestions are made unique with -2, -3, ...
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from nkhr_events.events.models import Event
from nkhr_events.extensions import db

#: Room left for a "-NN" suffix within the 80 characters of a slug.
MAX_LENGTH = 70

# --- Korean: Revised Romanization -----------------------------------------------------------

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_INITIALS = (
    "g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t",
    "p", "h",
)
_VOWELS = (
    "a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo",
    "we", "wi", "yu", "eu", "ui", "i",
)
#: Each final consonant at the end of a syllable...
_FINALS = (
    "", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m", "p", "p",
    "t", "t", "ng", "t", "t", "k", "t", "p", "t",
)
#: ...and when the next syllable starts with a vowel (silent ㅇ), carried over to it: 한국어
#: hangugeo. Double finals keep their first letter and carry the second; ㅎ falls silent.
_CARRIED = (
    "", "g", "kk", "ks", "n", "nj", "n", "d", "r", "lg", "lm", "lb", "ls", "lt", "lp", "r",
    "m", "b", "bs", "s", "ss", "ng", "j", "ch", "k", "t", "p", "",
)
_SILENT_INITIAL = 11  # ㅇ
_NG = 21  # ㅇ as a final: never carried
_RIEUL = 8  # ㄹ as a final
_RIEUL_INITIAL = 5


def _hangul_parts(char: str) -> tuple[int, int, int] | None:
    code = ord(char)
    if not _HANGUL_FIRST <= code <= _HANGUL_LAST:
        return None
    offset = code - _HANGUL_FIRST
    return offset // 588, (offset % 588) // 28, offset % 28


def romanize_korean(word: str) -> str | None:
    """A run of Hangul syllables in Revised Romanization (서울 → seoul, 한국 → hanguk);
    None if it holds anything else."""
    parts = [_hangul_parts(char) for char in word]
    if not parts or any(p is None for p in parts):
        return None
    syllables = [p for p in parts if p is not None]
    out = []
    for index, (initial, vowel, final) in enumerate(syllables):
        following = syllables[index + 1][0] if index + 1 < len(syllables) else None
        if index and syllables[index - 1][2] == _RIEUL and initial == _RIEUL_INITIAL:
            start = "l"  # ㄹㄹ is written ll: 별래 byeollae
        else:
            start = _INITIALS[initial]
        if following == _SILENT_INITIAL and final and final != _NG:
            end = _CARRIED[final]
        else:
            end = _FINALS[final]
        out.append(start + _VOWELS[vowel] + end)
    return "".join(out)


# --- Japanese: Hepburn -------------------------------------------------------------------------

_KANA = {
    "あ": "a", "い": "i", "う": "u", "え": "e", "お": "o",
    "か": "ka", "き": "ki", "く": "ku", "け": "ke", "こ": "ko",
    "が": "ga", "ぎ": "gi", "ぐ": "gu", "げ": "ge", "ご": "go",
    "さ": "sa", "し": "shi", "す": "su", "せ": "se", "そ": "so",
    "ざ": "za", "じ": "ji", "ず": "zu", "ぜ": "ze", "ぞ": "zo",
    "た": "ta", "ち": "chi", "つ": "tsu", "て": "te", "と": "to",
    "だ": "da", "ぢ": "ji", "づ": "zu", "で": "de", "ど": "do",
    "な": "na", "に": "ni", "ぬ": "nu", "ね": "ne", "の": "no",
    "は": "ha", "ひ": "hi", "ふ": "fu", "へ": "he", "ほ": "ho",
    "ば": "ba", "び": "bi", "ぶ": "bu", "べ": "be", "ぼ": "bo",
    "ぱ": "pa", "ぴ": "pi", "ぷ": "pu", "ぺ": "pe", "ぽ": "po",
    "ま": "ma", "み": "mi", "む": "mu", "め": "me", "も": "mo",
    "や": "ya", "ゆ": "yu", "よ": "yo",
    "ら": "ra", "り": "ri", "る": "ru", "れ": "re", "ろ": "ro",
    "わ": "wa", "ゐ": "i", "ゑ": "e", "を": "o", "ん": "n", "ゔ": "vu",
    "ぁ": "a", "ぃ": "i", "ぅ": "u", "ぇ": "e", "ぉ": "o",
}
#: A syllable ending in i followed by a small ya, yu, yo: きゃ kya, しゃ sha, ちゃ cha, じゃ ja.
_SMALL_Y = {"ゃ": "a", "ゅ": "u", "ょ": "o"}
_SMALL_TSU = "っ"
_LONG_MARK = "ー"


def _hiragana(char: str) -> str:
    """Katakana as hiragana (the tables are kept once)."""
    code = ord(char)
    return chr(code - 0x60) if 0x30A1 <= code <= 0x30F6 else char


def romanize_kana(word: str) -> str | None:
    """A run of hiragana or katakana in Hepburn without macrons (ソウル → souru, とうきょう →
    toukyou); None if it holds anything else."""
    text = [_hiragana(char) for char in word]
    out: list[str] = []
    double_next = False
    for char in text:
        if char == _SMALL_TSU:
            double_next = True
            continue
        if char == _LONG_MARK:
            continue  # a slug has no macron; the vowel is written once
        if char in _SMALL_Y:
            if not out or not out[-1].endswith("i") or out[-1] == "i":
                return None
            stem = out[-1][:-1]
            out[-1] = stem + (_SMALL_Y[char] if stem.endswith(("sh", "ch", "j")) else
                              "y" + _SMALL_Y[char])
            continue
        roman = _KANA.get(char)
        if roman is None:
            return None
        if double_next:
            roman = ("t" + roman) if roman.startswith("ch") else (roman[0] + roman)
            double_next = False
        out.append(roman)
    return "".join(out) or None


# --- Latin and the whole ------------------------------------------------------------------------

#: Latin letters that carry no accent to strip (NFKD leaves them as they are).
_LATIN_LETTERS = str.maketrans(
    {"ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
     "ß": "ss", "đ": "d", "Đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)
_WORDS = re.compile(r"[\w\u30fc]+")
_SCRIPT_RUNS = re.compile(r"[\uac00-\ud7a3]+|[\u3041-\u3096\u30a1-\u30fa\u30fc]+|[^\uac00-\ud7a3"
                          r"\u3041-\u3096\u30a1-\u30fa\u30fc]+")


def _latin(word: str) -> str | None:
    plain = unicodedata.normalize("NFKD", word.translate(_LATIN_LETTERS))
    letters = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return letters if letters.isascii() else None


def _word(word: str) -> str | None:
    """One word in Latin letters, taking each run of one script on its own ("2031년" →
    "2031nyeon"); None when any part has no transliteration here."""
    parts = []
    for run in _SCRIPT_RUNS.findall(word):
        roman = romanize_korean(run) or romanize_kana(run) or _latin(run)
        if roman is None:
            return None
        parts.append(roman)
    return "".join(parts)


def _joined(words: Iterable[str]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", "-".join(words)).strip("-")
    if len(slug) > MAX_LENGTH:
        slug = slug[:MAX_LENGTH].rsplit("-", 1)[0]
    return slug


def slugify(title: str) -> str | None:
    """`title` as a slug, if every word of it can be written in Latin letters; else None.
    "International Conference Seoul 2031" → "international-conference-seoul-2031"."""
    words = [_word(w) for w in _WORDS.findall(title.replace("_", " "))]
    if not words or any(w is None for w in words):
        return None
    return _joined(w for w in words if w) or None


def suggest_slug(
    titles: Iterable[str], series_slug: str, year: int | None, cities: Iterable[str]
) -> str:
    """A web address for a new event: from the first of `titles` (English, Korean, Japanese)
    that can be transliterated, else series, year and the first city that can; unique among
    the events."""
    base = next((s for s in (slugify(t) for t in titles if t and t.strip()) if s), None)
    if base is None:
        city = next((s for s in (slugify(c) for c in cities if c and c.strip()) if s), "")
        base = _joined(p for p in (series_slug, str(year or ""), city) if p) or "event"
    return unique_slug(base)


def unique_slug(base: str) -> str:
    """`base`, or `base-2`, `base-3`, ... whichever no event uses yet."""
    taken = set(
        db.session.scalars(
            db.select(Event.slug).where(
                (Event.slug == base) | Event.slug.startswith(f"{base}-", autoescape=True)
            )
        )
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"
