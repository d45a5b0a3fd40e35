"""Event days: grouping into runs and formatting in the reader's language.

An event is held on a list of days, not always a contiguous range; these helpers turn the list
into text ("December 1 – 3, 1999"; "1999년 12월 1일~3일") and into contiguous runs, which the
calendar file needs too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from babel.dates import format_interval, format_skeleton
from babel.lists import format_list


def contiguous_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted, de-duplicated days grouped into (first, last) runs of consecutive days."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def every_day(first: date, last: date) -> list[date]:
    """Each day from first to last, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _run_without_year(first: date, last: date, locale: str) -> str:
    if first == last:
        return format_skeleton("MMMMd", first, locale=locale)
    return format_interval(first, last, "MMMMd", locale=locale)


def format_days(days: Iterable[date], locale: str, year_pattern: str = "{days}, {year}") -> str:
    """The days of an event as a reader of `locale` would write them, e.g. "December 1 – 3, 1999".

    CLDR separates ranges with thin spaces; they become plain spaces so that the text searches
    and copies like any other.
    """
    text = _format_days(days, locale, year_pattern)
    return text.replace("\u2009", " ").replace("\u202f", " ")


def _format_days(days: Iterable[date], locale: str, year_pattern: str) -> str:
    """`year_pattern` places the year around the days of a single-year event; the caller passes a
    translated pattern (Korean puts the year first).
    """
    runs = contiguous_runs(days)
    if not runs:
        return ""
    if len(runs) == 1:
        first, last = runs[0]
        if first == last:
            return format_skeleton("yMMMMd", first, locale=locale)
        if first.year == last.year and locale == "en":
            # CLDR has no full-month interval with a year for English; build it from parts.
            return year_pattern.format(days=_run_without_year(first, last, locale), year=first.year)
        return format_interval(first, last, "yMMMd" if locale == "en" else "yMMMMd", locale=locale)
    if runs[0][0].year == runs[-1][1].year:
        parts = [_run_without_year(a, b, locale) for a, b in runs]
        return year_pattern.format(days=format_list(parts, locale=locale), year=runs[0][0].year)
    parts = [format_interval(a, b, "yMMMd", locale=locale) if a != b
             else format_skeleton("yMMMMd", a, locale=locale) for a, b in runs]
    return format_list(parts, locale=locale)
