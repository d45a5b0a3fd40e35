"""Event days: grouping into runs and formatting in the reader's language.

An event is held on a list of days, not always a contiguous range; these helpers turn the list
into text with the weekday, as readers expect on a programme ("Wed, Mar 10 – Fri, Mar 12, 2027";
"2027년 3월 10일 (수)~12일 (금)"; "2027年3月10日(水)～12日(金)") and into contiguous runs, which
the calendar file needs too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from babel.dates import format_interval, format_skeleton
from babel.lists import format_list

#: CLDR skeletons, each with the weekday (E). One day spells the month out ("Wed, March 10,
#: 2027"); ranges and lists take the abbreviated month, the only English shape CLDR has
#: intervals with weekdays for (Korean and Japanese write the month the same either way).
ONE_DAY = "yMMMMEd"
WITH_YEAR = "yMMMEd"
WITHOUT_YEAR = "MMMEd"


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


def format_days(days: Iterable[date], locale: str, year_pattern: str = "{days}, {year}") -> str:
    """The days of an event as a reader of `locale` would write them, weekdays included, e.g.
    "Wed, March 10, 2027" or "Wed, Mar 10 – Fri, Mar 12, 2027".

    CLDR separates ranges with thin spaces; they become plain spaces so that the text searches
    and copies like any other.
    """
    text = _format_days(days, locale, year_pattern)
    return text.replace("\u2009", " ").replace("\u202f", " ")


def _format_days(days: Iterable[date], locale: str, year_pattern: str) -> str:
    """CLDR has a shape for one day and for any one run, whatever months and years it spans, but
    none for a list of runs sharing a year: there `year_pattern`, a translated pattern from the
    caller, places the year once around the list (English after it, Korean and Japanese before).
    """
    runs = contiguous_runs(days)
    if not runs:
        return ""
    if len(runs) == 1:
        first, last = runs[0]
        return _run(first, last, ONE_DAY if first == last else WITH_YEAR, locale)
    if runs[0][0].year == runs[-1][1].year:
        parts = [_run(first, last, WITHOUT_YEAR, locale) for first, last in runs]
        return year_pattern.format(days=format_list(parts, locale=locale), year=runs[0][0].year)
    parts = [_run(first, last, WITH_YEAR, locale) for first, last in runs]
    return format_list(parts, locale=locale)


def _run(first: date, last: date, skeleton: str, locale: str) -> str:
    """One day or one run of days in the shape of `skeleton`."""
    if first == last:
        return format_skeleton(skeleton, first, locale=locale)
    return format_interval(first, last, skeleton, locale=locale)
