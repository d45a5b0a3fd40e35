"""The dashboard's and the series report's charts: each a `Figure` (a title, and a table of
numbers labelled in the reader's language) that the page shows as a data table and
`render_svg` draws as an SVG image with pygal.

The SVG is self-contained: no script (pygal's tooltips need one; the values are in the table
beside the chart), no reference to anything outside it, no XML comments naming web sites; its
only style is the <style> element pygal writes, which the chart's own response allows
(chart_views). Fonts are named, never fetched: the Noto fonts this site ships, then the
system's sans-serif."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

import pygal
from flask_babel import gettext as _
from flask_babel import ngettext
from pygal.style import Style

from nkhr_events.events.models import Event
from nkhr_events.registrations.categories import Category, category_label
from nkhr_events.registrations.interpretation import label as interpretation_label
from nkhr_events.registrations.models import RegistrationStatus
from nkhr_events.roster import figures
from nkhr_events.roster.dashboard import Dashboard, Receivers, interpretation_receivers
from nkhr_events.roster.exports import status_text
from nkhr_events.roster.services import Categories
from nkhr_events.web import country_name, local_date, localized

# Importing pygal puts a finder into sys.meta_path that only serves its map plugins
# (pygal.maps.*, not used here); it lacks find_spec, so every later import in the process warns
# (an error under the test suite's warning filter) and Pillow's lazy plugin imports fail. Take it
# out again.
sys.meta_path[:] = [
    finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"
]


class Kind(StrEnum):
    STACKED_AREA = "stacked_area"
    BARS = "bars"  # one bar per row and column, side by side
    STACKED_BARS = "stacked_bars"
    HORIZONTAL_BARS = "horizontal_bars"
    HORIZONTAL_STACKED_BARS = "horizontal_stacked_bars"


@dataclass(frozen=True)
class Figure:
    """One chart and its data table: `rows` are the x-axis (and the table's rows), `columns`
    the series (and the table's columns)."""

    key: str
    title: str
    kind: Kind
    row_header: str
    columns: list[str]
    rows: list[tuple[str, list[int]]]
    #: Said under the chart: what is counted.
    note: str = ""
    #: Whether the table ends with a total per row.
    totals: bool = False
    #: Shorter names of the rows for the chart's axis (default: the rows' own).
    axis_labels: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(any(values) for _label, values in self.rows)

    @property
    def horizontal(self) -> bool:
        return self.kind in (Kind.HORIZONTAL_BARS, Kind.HORIZONTAL_STACKED_BARS)

    @property
    def width(self) -> int:
        return 800

    @property
    def height(self) -> int:
        """Room for every bar of a horizontal chart, and for the legend's rows."""
        legend = 28 * -(-len(self.columns) // LEGEND_COLUMNS) if len(self.columns) > 1 else 0
        plot = max(300, 40 + 36 * len(self.rows)) if self.horizontal else 340
        return plot + legend


#: Okabe and Ito's palette: told apart with every common colour-vision deficiency.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
           "#999999", "#F0E442")
#: The Noto fonts of static/fonts by the names a system that has them knows, then any sans.
FONTS = ('"Noto Sans", "Noto Sans KR", "Noto Sans JP", "Noto Sans CJK KR", '
         '"Noto Sans CJK JP", sans-serif')
_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#595959",
    opacity=".85",
    opacity_hover=".95",
    colors=COLOURS,
    font_family=FONTS,
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=12,
    tooltip_font_size=12,
    no_data_font_size=16,
)
_CHART_TYPES: dict[Kind, Callable[..., Any]] = {
    Kind.STACKED_AREA: pygal.StackedLine,
    Kind.BARS: pygal.Bar,
    Kind.STACKED_BARS: pygal.StackedBar,
    Kind.HORIZONTAL_BARS: pygal.HorizontalBar,
    Kind.HORIZONTAL_STACKED_BARS: pygal.HorizontalStackedBar,
}
LEGEND_COLUMNS = 4
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
SVG_NS = "http://www.w3.org/2000/svg"


def _self_contained(title: str) -> Callable[[Any], Any]:
    """pygal's last pass over the tree: drop its scripts and comments (and those of its CSS,
    which name web sites), and give the image its name."""

    def clean(root: Any) -> Any:
        for parent in list(root.iter()):
            for child in list(parent):
                tag = child.tag
                if callable(tag) or (isinstance(tag, str) and tag.endswith("script")):
                    parent.remove(child)
                elif isinstance(tag, str) and tag.endswith("style") and child.text:
                    child.text = _CSS_COMMENT.sub("", child.text)
        named = root.makeelement(f"{{{SVG_NS}}}title", {})
        named.text = title
        root.insert(0, named)
        root.set("role", "img")
        return root

    return clean


def _ticks(top: int) -> list[int]:
    """Whole numbers from 0 to `top` or just past it, at most nine, a step of 1, 2 or 5 times
    a power of ten (pygal's own would repeat "1" for 0.5 and 1.5 at small counts)."""
    magnitude = 1
    while True:
        for base in (1, 2, 5):
            step = base * magnitude
            if top <= step * 8:
                return list(range(0, max(top, 1) + step, step))
        magnitude *= 10


def _top(figure: Figure) -> int:
    stacked = figure.kind in (Kind.STACKED_AREA, Kind.STACKED_BARS, Kind.HORIZONTAL_STACKED_BARS)
    return max(
        (sum(values) if stacked else max(values, default=0) for _label, values in figure.rows),
        default=0,
    )


def render_svg(figure: Figure) -> str:
    """`figure` as an SVG document (text), drawn without JavaScript."""
    horizontal = figure.horizontal
    rows = len(figure.rows)
    empty = not figure.columns or not figure.rows  # pygal then draws "No data yet"
    chart = _CHART_TYPES[figure.kind](
        js=[],
        disable_xml_declaration=True,
        style=_STYLE,
        width=figure.width,
        height=figure.height,
        fill=figure.kind is Kind.STACKED_AREA,
        include_x_axis=True,
        show_dots=rows <= 31,
        show_legend=len(figure.columns) > 1,
        legend_at_bottom=True,
        legend_at_bottom_columns=min(len(figure.columns), LEGEND_COLUMNS) or 1,
        print_values=len(figure.columns) == 1,
        print_zeroes=False,
        x_label_rotation=0 if horizontal else (30 if rows > 8 else 0),
        x_labels_major_count=10,
        show_minor_x_labels=rows <= 14,
        truncate_label=-1,
        truncate_legend=-1,
        min_scale=1,
        max_scale=6,
        value_formatter=lambda value: f"{value:,.0f}",
        no_data_text=_("No data yet"),
        margin=16,
        margin_right=48,
        margin_bottom=24,
    )
    labels = figure.axis_labels or [label for label, _values in figure.rows]
    values = [row_values for _label, row_values in figure.rows]
    if horizontal:  # pygal draws the first row at the bottom; the table reads top down
        labels, values = labels[::-1], values[::-1]
    chart.x_labels = labels
    if not empty:  # pygal places y labels only on a chart with values
        ticks = _ticks(_top(figure))
        chart.y_labels = ticks
        chart.range = (0, ticks[-1])
    for index, column in enumerate(figure.columns):
        chart.add(column, [row[index] for row in values])
    chart.add_xml_filter(_self_contained(figure.title))
    return str(chart.render(is_unicode=True))


# The figures of one event, each made from a `Source`.

_STATUSES = list(RegistrationStatus)


class Source:
    """What an event's figures are made of, for a reader who reaches `categories` (None:
    every one): each read once, when a figure first needs it; on the dashboard, what its
    `board` has already read (for the same reader), so that the page reads nothing twice."""

    def __init__(
        self, event: Event, categories: Categories, board: Dashboard | None = None
    ) -> None:
        self.event = event
        self.categories = categories
        self._board = board

    @cached_property
    def counts(self) -> dict[str, dict[str, int]]:
        if self._board is not None:
            return self._board.counts
        return figures.counts_by_category(self.event, self.categories)

    @cached_property
    def receivers(self) -> Receivers:
        if self._board is not None:
            return self._board.interpretation
        return interpretation_receivers(self.event, self.categories)

    @cached_property
    def checkin_hours(self) -> figures.CheckinHours:
        if self._board is not None:
            return self._board.checkin_hours
        return figures.checkins_by_hour(self.event, self.categories)

    @cached_property
    def tally(self) -> figures.Tally:
        """Countries and needs (and counts), one statement for both charts."""
        if self._board is not None:
            return self._board.tally
        return figures.tally(self.event, self.categories)


def _timeline(source: Source) -> Figure:
    timeline = figures.registrations_over_time(source.event, source.categories)
    statuses = [s for s in _STATUSES if s.value in timeline.cumulative]
    return Figure(
        key="timeline",
        title=_("Registrations over time, by status"),
        kind=Kind.STACKED_AREA,
        row_header=_("Day"),
        columns=[status_text(s) for s in statuses],
        rows=[
            (local_date(day), [timeline.cumulative[s.value][i] for s in statuses])
            for i, day in enumerate(timeline.days)
        ],
        note=_("Registrations received up to the end of each day (in the event's time zone), "
               "by the status each has now."),
        totals=True,
    )


def _categories(source: Source) -> Figure:
    counts = source.counts
    present = [s for s in _STATUSES if any(s.value in row for row in counts.values())]
    return Figure(
        key="categories",
        title=_("Registrations by category"),
        kind=Kind.HORIZONTAL_STACKED_BARS,
        row_header=_("Category"),
        columns=[status_text(s) for s in present],
        rows=[
            (category_label(c.value), [counts[c.value].get(s.value, 0) for s in present])
            for c in Category
            if c.value in counts
        ],
        totals=True,
    )


def _country_label(code: str) -> str:
    if code == figures.OTHER_COUNTRIES:
        return _("Other countries")
    if code == figures.NO_COUNTRY:
        return _("Not given")
    return country_name(code)


def _countries(source: Source) -> Figure:
    found = source.tally.countries
    return Figure(
        key="countries",
        title=_("Registrations by country"),
        kind=Kind.HORIZONTAL_BARS,
        row_header=_("Country"),
        columns=[_("Registrations")],
        rows=[(_country_label(code), [count]) for code, count in found.rows],
        note=ngettext(
            "Confirmed, awaiting review and waitlisted registrations; %(num)d country in all.",
            "Confirmed, awaiting review and waitlisted registrations; %(num)d countries in all.",
            found.countries,
        ),
    )


def _checkins(source: Source) -> Figure:
    found = source.checkin_hours
    return Figure(
        key="checkins",
        title=_("Check-ins per day and hour"),
        kind=Kind.BARS,
        row_header=_("Hour"),
        columns=[local_date(day) for day in found.days],
        rows=[
            (f"{hour:02d}:00", [found.per_day[day][i] for day in found.days])
            for i, hour in enumerate(found.hours)
        ],
        note=_("Hours in the event's time zone."),
        totals=True,
    )


def _interpretation(source: Source) -> Figure:
    receivers = source.receivers
    return Figure(
        key="interpretation",
        title=_("Interpretation listeners per channel and day"),
        kind=Kind.BARS,
        row_header=_("Day"),
        columns=[interpretation_label(row.channel) for row in receivers.rows],
        rows=[
            (local_date(day), [row.per_day[i] for row in receivers.rows])
            for i, day in enumerate(receivers.days)
        ],
        note=_("Confirmed registrations and those awaiting review, by the day they attend and "
               "the interpretation they chose."),
        totals=True,
    )


def _needs(source: Source) -> Figure:
    found = source.tally.needs
    return Figure(
        key="needs",
        title=_("Stated accessibility and dietary needs"),
        kind=Kind.HORIZONTAL_BARS,
        row_header=_("Needs"),
        columns=[_("Registrations")],
        rows=[(_("Accessibility needs"), [found.accessibility]),
              (_("Dietary needs"), [found.dietary])],
        note=ngettext(
            "How many of the %(num)d registration holding a seat stated needs; never what "
            "they wrote.",
            "How many of the %(num)d registrations holding a seat stated needs; never what "
            "they wrote.",
            found.seat_holders,
        ),
    )


EVENT_FIGURES: dict[str, Callable[[Source], Figure]] = {
    "timeline": _timeline,
    "categories": _categories,
    "countries": _countries,
    "checkins": _checkins,
    "interpretation": _interpretation,
    "needs": _needs,
}
#: Figures only those who may read needs see.
NEEDS_FIGURES = frozenset({"needs"})


def event_figure(
    event: Event, key: str, categories: Categories, read_needs: bool
) -> Figure | None:
    """The figure `key` of `event` for this reader; None if there is none such for them."""
    build = EVENT_FIGURES.get(key)
    if build is None or (key in NEEDS_FIGURES and not read_needs):
        return None
    return build(Source(event, categories))


def event_figures(source: Source, read_needs: bool) -> list[Figure]:
    """Every figure of the event this reader may see, in the order the dashboard shows them."""
    return [
        build(source)
        for key, build in EVENT_FIGURES.items()
        if read_needs or key not in NEEDS_FIGURES
    ]


# The figures of a series, one row per edition.


def _edition_label(edition: figures.Edition) -> str:
    return localized(edition.event, "title")


def _axis(editions: list[figures.Edition]) -> list[str]:
    """Year and city of each edition, short enough for the axis; the titles where two
    editions would read the same."""
    short = [f"{e.event.start_date.year} {localized(e.event, 'city')}".strip() for e in editions]
    return short if len(set(short)) == len(short) else [_edition_label(e) for e in editions]


def _series_statuses(editions: list[figures.Edition]) -> Figure:
    present = [s for s in _STATUSES if any(e.statuses.get(s.value) for e in editions)]
    return Figure(
        key="statuses",
        title=_("Registrations per edition, by status"),
        kind=Kind.STACKED_BARS,
        row_header=_("Edition"),
        columns=[status_text(s) for s in present],
        rows=[(_edition_label(e), [e.statuses.get(s.value, 0) for s in present])
              for e in editions],
        axis_labels=_axis(editions),
        totals=True,
    )


def _series_categories(editions: list[figures.Edition]) -> Figure:
    present = [c for c in Category if any(e.categories.get(c.value) for e in editions)]
    return Figure(
        key="categories",
        title=_("Confirmed registrations per edition, by category"),
        kind=Kind.STACKED_BARS,
        row_header=_("Edition"),
        columns=[category_label(c.value) for c in present],
        rows=[(_edition_label(e), [e.categories.get(c.value, 0) for c in present])
              for e in editions],
        axis_labels=_axis(editions),
        totals=True,
    )


def _series_checkins(editions: list[figures.Edition]) -> Figure:
    return Figure(
        key="checkins",
        title=_("People checked in per edition"),
        kind=Kind.BARS,
        row_header=_("Edition"),
        columns=[_("Checked in")],
        rows=[(_edition_label(e), [e.checked_in]) for e in editions],
        axis_labels=_axis(editions),
        note=_("Each person once, however many days they came."),
    )


def _series_countries(editions: list[figures.Edition]) -> Figure:
    return Figure(
        key="countries",
        title=_("Countries per edition"),
        kind=Kind.BARS,
        row_header=_("Edition"),
        columns=[_("Countries")],
        rows=[(_edition_label(e), [e.countries]) for e in editions],
        axis_labels=_axis(editions),
        note=_("Countries of the confirmed registrations."),
    )


SERIES_FIGURES: dict[str, Callable[[list[figures.Edition]], Figure]] = {
    "statuses": _series_statuses,
    "categories": _series_categories,
    "checkins": _series_checkins,
    "countries": _series_countries,
}


def series_figures(events: list[Event]) -> list[Figure]:
    editions = figures.series_editions(events)
    return [build(editions) for build in SERIES_FIGURES.values()]


def series_figure(events: list[Event], key: str) -> Figure | None:
    build = SERIES_FIGURES.get(key)
    return None if build is None else build(figures.series_editions(events))
