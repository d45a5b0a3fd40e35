"""Roster exports: CSV and XLSX of the filtered registrations, with the columns an organizer
ticks, and the people on badges and sign-in sheets.

Exports are streamed: rows are read in chunks from a server-side cursor and written out as they
come, so memory stays flat at tens of thousands of rows. Every cell that a spreadsheet would
read as a formula is neutralised.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from itertools import chain
from tempfile import SpooledTemporaryFile
from typing import IO
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from nkhr_events.accounts.models import StaffUser
from nkhr_events.audit.services import Actor, record
from nkhr_events.checkin import services as checkin
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.programme.speakers import speakers_on_badges
from nkhr_events.registrations import interpretation as interpreting
from nkhr_events.registrations.categories import QUESTIONS, Category, category_label
from nkhr_events.registrations.models import (
    CancelReason,
    Registration,
    RegistrationDay,
    RegistrationStatus,
)
from nkhr_events.registrations.participants import name_order
from nkhr_events.roster.services import (
    Categories,
    RosterFilters,
    in_categories,
    iterate_selected,
)

#: Characters that make a spreadsheet read a cell as a formula (or hide one behind a tab).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Control characters an XLSX file cannot hold (openpyxl refuses them).
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Keep up to this much of a spreadsheet in memory before it spills to disk.
SPOOL_LIMIT = 8 * 1024 * 1024
CSV_FLUSH_AT = 64 * 1024


@dataclass
class RowExtras:
    """What one chunk of rows needs beyond the registration itself (one query each)."""

    days: dict[int, list[date]] = field(default_factory=dict)
    checkins: dict[int, list[date]] = field(default_factory=dict)
    #: When each person checked in on each day (aware, UTC), for spreadsheets.
    checkin_times: dict[tuple[int, date], datetime] = field(default_factory=dict)
    #: The event's time zone: spreadsheet times are its wall-clock times.
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    #: The day a per-day sheet lists, if any.
    day: date | None = None


#: What a spreadsheet cell holds: text, or a date or time Excel reads as one.
Cell = str | date | datetime


@dataclass(frozen=True)
class Column:
    key: str
    label: LazyString
    value: Callable[[Registration, RowExtras], str]
    #: Health data: exported only when an organizer ticks it.
    sensitive: bool = False
    #: The value as a spreadsheet cell (a real date or time), where it is not text.
    cell: Callable[[Registration, RowExtras], Cell | None] | None = None
    #: The header in a spreadsheet, with %(zone)s for the event's time zone.
    sheet_label: LazyString | None = None


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def _dates(values: list[date]) -> str:
    return "; ".join(d.isoformat() for d in values)


@lru_cache(maxsize=64)
def _answer_labels(language: str, category: str) -> dict[str, str]:
    """The question labels of a category in `language` (the current one when called)."""
    try:
        questions = QUESTIONS[Category(category)]
    except ValueError:
        questions = ()
    return {q.key: str(q.label) for q in questions} | {"extra": _("Additional answer")}


@lru_cache(maxsize=256)
def _label(language: str, kind: str, value: str) -> str:
    """A translated label, computed once per language instead of once per exported row."""
    if kind == "category":
        return category_label(value)
    if kind == "status":
        return status_text(value)
    if kind == "interpretation":
        return interpreting.label(value)
    return _yes_no(value == "1")


def _text(kind: str, value: str) -> str:
    return _label(str(get_locale()), kind, value)


def _consent(value: bool) -> str:
    return _text("yes_no", "1" if value else "0")


def _answers(registration: Registration) -> str:
    labels = _answer_labels(str(get_locale()), registration.category)
    return "; ".join(
        f"{labels.get(key, key)}: {value}" for key, value in (registration.answers or {}).items()
    )


def _wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """An aware time as the clock on the wall of `zone` showed it, without a zone: a
    spreadsheet has no time zones, so the header names the zone."""
    return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)


def _checked_in_cell(registration: Registration, extras: RowExtras) -> Cell | None:
    """On a day's sheet, the time the person checked in that day; on the sheet of all days,
    the days (text: a person may have checked in on several)."""
    if extras.day is None:
        return _dates(extras.checkins.get(registration.id, []))
    moment = extras.checkin_times.get((registration.id, extras.day))
    return _wall_clock(moment, extras.zone) if moment else None


def status_text(status: str) -> str:
    labels: dict[str, str] = {
        RegistrationStatus.PENDING: _("Awaiting review"),
        RegistrationStatus.CONFIRMED: _("Confirmed"),
        RegistrationStatus.WAITLISTED: _("Waitlisted"),
        RegistrationStatus.CANCELLED: _("Cancelled"),
        RegistrationStatus.REJECTED: _("Rejected"),
    }
    return labels.get(status, status)


def hold_text(registration: Registration) -> str:
    """Beside the status on staff pages: why a registration was cancelled other than by the
    attendee, or that its address still awaits confirmation; else ""."""
    if registration.cancel_reason == CancelReason.EMAIL_NOT_CONFIRMED:
        return _("Released: email not confirmed")
    if registration.cancel_reason == CancelReason.FLOOD:
        return _("Cancelled by staff: flood of registrations")
    if registration.awaits_email_confirmation:
        return _("Email not confirmed yet")
    return ""


COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("name", _l("Name"), lambda r, x: r.full_name),
        Column("given_name", _l("Given name"), lambda r, x: r.given_name),
        Column("family_name", _l("Family name"), lambda r, x: r.family_name),
        Column("badge_name", _l("Name for the badge"), lambda r, x: r.badge_name),
        Column("email", _l("Email"), lambda r, x: r.email),
        Column("organization", _l("Organization"), lambda r, x: r.organization),
        Column("position", _l("Position"), lambda r, x: r.position),
        Column("country", _l("Country"), lambda r, x: r.country),
        Column("language", _l("Language"), lambda r, x: r.language),
        Column("category", _l("Category"), lambda r, x: _text("category", r.category)),
        Column("status", _l("Status"), lambda r, x: _text("status", r.status)),
        Column("days", _l("Days"), lambda r, x: _dates(x.days.get(r.id, []))),
        Column(
            "interpretation",
            _l("Interpretation"),
            lambda r, x: _text("interpretation", r.interpretation),
        ),
        Column("answers", _l("Category answers"), lambda r, x: _answers(r)),
        Column("publish_name", _l("Participant list"), lambda r, x: _consent(r.publish_name)),
        Column("photo_consent", _l("Photos and video"), lambda r, x: _consent(r.photo_consent)),
        Column(
            "registered",
            _l("Registered (UTC)"),
            lambda r, x: r.created_at.strftime("%Y-%m-%d %H:%M"),
            cell=lambda r, x: _wall_clock(r.created_at, x.zone),
            sheet_label=_l("Registered (%(zone)s)"),
        ),
        Column(
            "checked_in",
            _l("Checked in"),
            lambda r, x: _dates(x.checkins.get(r.id, [])),
            cell=_checked_in_cell,
            sheet_label=_l("Checked in (%(zone)s)"),
        ),
        Column(
            "accessibility_needs",
            _l("Accessibility needs"),
            lambda r, x: r.accessibility_needs,
            sensitive=True,
        ),
        Column("dietary_needs", _l("Dietary needs"), lambda r, x: r.dietary_needs, sensitive=True),
    )
}
DEFAULT_COLUMNS = ("name", "email", "organization", "category", "status", "days")
#: Columns that identify a person: masked for people who asked not to be published.
PROTECTED_COLUMNS = frozenset(
    {"name", "given_name", "family_name", "badge_name", "email", "organization", "position"}
)


#: Added to an export only when a holder of the protected-guests permission ticks it: the
#: real name of each protected guest (empty for everyone else), whose name columns hold the
#: pseudonym (invitations/protected.py).
REAL_NAME_COLUMN = Column(
    "real_name", _l("Real name (protected guest)"), lambda r, x: r.real_name if r.protected else ""
)


def _masked(column: Column, registration: Registration, include_protected: bool) -> bool:
    # A protected guest's name columns hold the pseudonym chosen to be shown: never masked.
    return (
        registration.do_not_publish
        and not registration.protected
        and not include_protected
        and column.key in PROTECTED_COLUMNS
    )


def offered_columns(with_needs: bool = True) -> dict[str, Column]:
    """The columns one may tick: the needs columns only for those who read needs."""
    return {key: c for key, c in COLUMNS.items() if with_needs or not c.sensitive}


def chosen_columns(keys: Iterable[str], with_needs: bool = True) -> list[Column]:
    """The ticked columns in their list order; the defaults when none is ticked. Needs columns
    come only from an explicit tick: they are never among the defaults, and never at all
    without `with_needs`."""
    offered = offered_columns(with_needs)
    wanted = set(keys) & offered.keys()
    if not wanted:
        wanted = set(DEFAULT_COLUMNS)
    return [column for key, column in offered.items() if key in wanted]


def saved_columns(user: StaffUser, with_needs: bool = True) -> tuple[str, ...]:
    """The columns to tick for `user`: those they last exported with, if any is still one they
    may choose; else the defaults. Health data is never ticked in advance."""
    offered = offered_columns(with_needs)
    saved = set((user.export_columns or "").split())
    keys = tuple(k for k, c in offered.items() if k in saved and not c.sensitive)
    return keys or DEFAULT_COLUMNS


def remember_columns(user: StaffUser, columns: list[Column]) -> None:
    """Keep the columns `user` chose, for their next export; health data and unknown keys
    are not kept. The caller commits."""
    keys = " ".join(c.key for c in columns if c.key in COLUMNS and not c.sensitive)
    if keys and keys != (user.export_columns or ""):
        user.export_columns = keys[:1000]


def neutralise(text: str) -> str:
    """A cell a spreadsheet would evaluate becomes plain text: prefix it with a quote."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _extras(registrations: list[Registration], columns: list[Column]) -> RowExtras:
    extras = RowExtras()
    ids = [r.id for r in registrations]
    keys = {c.key for c in columns}
    if "days" in keys:
        for registration_id, day in db.session.execute(
            db.select(RegistrationDay.registration_id, RegistrationDay.day)
            .where(RegistrationDay.registration_id.in_(ids))
            .order_by(RegistrationDay.day)
        ):
            extras.days.setdefault(registration_id, []).append(day)
    if "checked_in" in keys:
        for registration_id, day, moment in db.session.execute(
            db.select(
                RegistrationCheckin.registration_id,
                RegistrationCheckin.day,
                RegistrationCheckin.checked_in_at,
            )
            .where(RegistrationCheckin.registration_id.in_(ids))
            .order_by(RegistrationCheckin.day)
        ):
            extras.checkins.setdefault(registration_id, []).append(day)
            extras.checkin_times[(registration_id, day)] = moment
    return extras


def header(columns: list[Column]) -> list[str]:
    return [neutralise(str(column.label)) for column in columns]


def rows(
    event: Event,
    filters: RosterFilters,
    columns: list[Column],
    include_protected: bool = False,
    categories: Categories = None,
) -> Iterator[list[str]]:
    """The selected registrations (of `categories` when given) as rows of neutralised text,
    read chunk by chunk.

    A person who asked not to be published is masked unless an admin included them.
    """
    protected = _("(protected)")
    for chunk in iterate_selected(event, filters, categories=categories):
        extras = _extras(chunk, columns)
        for registration in chunk:
            yield [
                protected
                if _masked(column, registration, include_protected)
                else neutralise(column.value(registration, extras) or "")
                for column in columns
            ]


def csv_chunks(head: list[str], body: Iterable[list[str]]) -> Iterator[bytes]:
    """CSV in UTF-8 with a byte order mark (so spreadsheets read Korean names right), yielded
    in pieces of about 64 KiB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(head)
    for row in body:
        writer.writerow(row)
        if buffer.tell() >= CSV_FLUSH_AT:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def stream_csv(
    app: Flask,
    event_id: int,
    filters: RosterFilters,
    columns: list[Column],
    language: str,
    include_protected: bool = False,
    categories: Categories = None,
) -> Iterator[bytes]:
    """The CSV export as a lazy generator with an application context of its own.

    Nothing runs until the server reads the first piece, after the request has ended; the
    context (and its database session) is opened then and closed with the last piece, so a
    response that is never read holds nothing open.
    """
    with app.app_context(), force_locale(language):
        event = db.session.get(Event, event_id)
        if event is None:
            return
        yield from csv_chunks(
            header(columns), rows(event, filters, columns, include_protected, categories)
        )


#: Rows read before the columns' widths are fixed (a streamed sheet writes them first).
WIDTH_SAMPLE = 1000
MIN_WIDTH, MAX_WIDTH = 8, 60
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass
class Sheet:
    """One sheet of an XLSX export: its title, header and rows (read lazily)."""

    title: str
    head: list[str]
    body: Iterable[list[Cell | None]]


def _sheet_head(columns: list[Column], event: Event, day: date | None) -> list[str]:
    """The header of a sheet: a column of times names the event's time zone (check-in times
    are on the sheets of single days only)."""
    labels = []
    for column in columns:
        label = str(column.label)
        if column.sheet_label is not None and (column.key != "checked_in" or day):
            label = str(column.sheet_label) % {"zone": event.timezone}
        labels.append(neutralise(label))
    return labels


def sheet_rows(
    event: Event,
    filters: RosterFilters,
    columns: list[Column],
    include_protected: bool = False,
    categories: Categories = None,
    day: date | None = None,
) -> Iterator[list[Cell | None]]:
    """Like `rows`, for a spreadsheet: times and dates stay what they are (wall-clock times of
    the event's zone), text is neutralised. With `day`, only the people attending that day:
    those booked for it who hold a seat (confirmed or awaiting review), unless the filter
    names a status — a cancelled or waitlisted person is not on a day's sheet by default."""
    protected = _("(protected)")
    if day is not None:
        filters = replace(filters, day=day.isoformat())
    shown = (
        {RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING}
        if day is not None and not filters.status else None
    )
    zone = event.zone
    for chunk in iterate_selected(event, filters, categories=categories):
        if shown is not None:
            chunk = [r for r in chunk if r.status in shown]
        extras = _extras(chunk, columns)
        extras.zone, extras.day = zone, day
        for registration in chunk:
            row: list[Cell | None] = []
            for column in columns:
                if _masked(column, registration, include_protected):
                    row.append(protected)
                    continue
                value = (column.cell or column.value)(registration, extras)
                row.append(neutralise(value) if isinstance(value, str) else value)
            yield row


def xlsx_sheets(
    event: Event,
    filters: RosterFilters,
    columns: list[Column],
    include_protected: bool = False,
    categories: Categories = None,
    per_day: bool = False,
) -> list[Sheet]:
    """One sheet of the selection, or with `per_day` one per day of the event (only the day
    of the filter, when it names one), each listing the people attending that day."""
    if not per_day:
        return [Sheet(_("Registrations")[:31], _sheet_head(columns, event, None),
                      sheet_rows(event, filters, columns, include_protected, categories))]
    days = [d for d in event.day_list if not filters.day or d.isoformat() == filters.day]
    return [
        Sheet(day.isoformat(), _sheet_head(columns, event, day),
              sheet_rows(event, filters, columns, include_protected, categories, day))
        for day in days
    ]


def _display_width(value: Cell | None) -> int:
    """About how many character widths a cell needs: wide (CJK) characters count twice."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len(DATETIME_FORMAT)
    if isinstance(value, date):
        return len(DATE_FORMAT)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in value)


def _cell(sheet: WriteOnlyWorksheet, value: Cell | None) -> object:
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    return _ILLEGAL_XML.sub("", value) if value else None


def _write_sheet(workbook: Workbook, spec: Sheet) -> None:
    """A streamed sheet with a frozen, bold header, a filter over the data, and columns as
    wide as the header and the first rows need (capped). Widths are written before the rows,
    so they are fitted to a sample, never to the whole sheet held in memory."""
    sheet = workbook.create_sheet(title=spec.title)
    rows = iter(spec.body)
    sample = [row for _, row in zip(range(WIDTH_SAMPLE), rows, strict=False)]
    for index, label in enumerate(spec.head, start=1):
        wanted = max([_display_width(label) + 3, *(_display_width(r[index - 1]) for r in sample)])
        sheet.column_dimensions[get_column_letter(index)].width = min(
            MAX_WIDTH, max(MIN_WIDTH, wanted + 1)
        )
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for label in spec.head:
        cell = WriteOnlyCell(sheet, value=_ILLEGAL_XML.sub("", label))
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    count = 0
    for values in chain(sample, rows):
        sheet.append([_cell(sheet, value) for value in values])
        count += 1
    last = get_column_letter(max(len(spec.head), 1))
    sheet.auto_filter.ref = f"A1:{last}{count + 1}"


def xlsx_file(sheets: list[Sheet]) -> IO[bytes]:
    """A workbook written in openpyxl's write-only mode into a spooled file, rewound."""
    workbook = Workbook(write_only=True)
    for spec in sheets:
        _write_sheet(workbook, spec)
    spool: IO[bytes] = SpooledTemporaryFile(max_size=SPOOL_LIMIT)
    workbook.save(spool)
    spool.seek(0)
    return spool


def file_chunks(spool: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    """Stream a file, closing it at the end (or when the client goes away)."""
    try:
        while piece := spool.read(size):
            yield piece
    finally:
        spool.close()


def export_filename(event: Event, extension: str, today: date) -> str:
    return f"{event.slug}-registrations-{today:%Y%m%d}.{extension}"


# --- badges and sign-in sheets ----------------------------------------------------------------


def confirmed_attendees(
    event: Event,
    day: date | None = None,
    language: str | None = None,
    categories: Categories = None,
) -> list[Registration]:
    """Confirmed registrations, by family name in the collation of a reader of `language` (by
    default the current reader), optionally of those who attend `day`, only of `categories`
    when given."""
    query = in_categories(
        db.select(Registration).where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
        ),
        categories,
    )
    if day is not None:
        query = query.where(
            Registration.days.any(RegistrationDay.day == day),
        )
    return list(
        db.session.scalars(
            query.order_by(*name_order(language), Registration.id)
        )
    )


#: Modules of a QR code's quiet zone (the white margin a scanner needs around it).
QR_QUIET_ZONE = 4


@dataclass(frozen=True)
class BadgeLayout:
    """A way to print badges: its key in the page's address, its name in the chooser and how
    many badges one sheet holds (None: as many as fit, cut by hand). The sizes themselves, and
    the `@page` each sheet is printed on, are in static/css/print.css."""

    key: str
    label: LazyString
    per_sheet: int | None = None


BADGE_LAYOUTS = {
    layout.key: layout
    for layout in (
        BadgeLayout("cards", _l("Cards on any paper, cut by hand")),
        BadgeLayout("a6", _l("A6 (105 × 148 mm), 4 per A4 sheet"), 4),
        BadgeLayout("90x55", _l("90 × 55 mm, 10 per A4 sheet (2 × 5)"), 10),
    )
}
DEFAULT_BADGE_LAYOUT = BADGE_LAYOUTS["cards"]


def badge_layout(key: str | None) -> BadgeLayout:
    """The layout `key` names; the default one for a missing or unknown key."""
    return BADGE_LAYOUTS.get(key or "", DEFAULT_BADGE_LAYOUT)


@dataclass(frozen=True)
class Badge:
    """What one badge prints: never the email address, the needs or the notes."""

    registration_id: int
    #: As the person writes it (their badge name, else their full name); only the given name
    #: of someone who asked not to be published.
    name: str
    #: Empty for someone who asked not to be published.
    organization: str
    category: str
    #: Declined photos, or asked not to be published (which includes photographs).
    no_photos: bool
    #: The check-in QR code as inline SVG (paths only), opening /manage/checkin/<reference>.
    qr_svg: Markup


def _qr_markup(registration: Registration) -> Markup:
    buffer = io.BytesIO()
    checkin.qr_code(registration).save(
        buffer,
        kind="svg",
        xmldecl=False,
        svgns=False,
        omitsize=True,
        svgclass="badge-qr",
        lineclass=None,
        border=QR_QUIET_ZONE,
        light="#fff",
        title=_("Check-in code"),
        nl=False,
    )
    # segno writes the paths itself and escapes the title.
    return Markup(buffer.getvalue().decode("utf-8"))


def badges(people: Iterable[Registration]) -> list[Badge]:
    """The badges of `people`, in their order. A registration without a check-in salt yet is
    given one (the caller commits). Speakers' badges follow the speakers' choices."""
    return speakers_on_badges([
        Badge(
            registration_id=r.id,
            name=r.given_name if r.do_not_publish else (r.badge_name or r.full_name),
            organization="" if r.do_not_publish else r.organization,
            category=r.category,
            no_photos=r.do_not_publish or not r.photo_consent,
            qr_svg=_qr_markup(r),
        )
        for r in people
    ])


def record_export(
    event: Event,
    filters: RosterFilters,
    columns: list[Column],
    kind: str,
    include_protected: bool,
    include_real_names: bool = False,
    *,
    actor: Actor,
) -> None:
    """Audit an export before it is made; one that includes protected people, or protected
    guests' real names, is recorded a second time under its own action, so that it can be
    found on its own."""
    record(
        "roster.export",
        object_type="event",
        object_id=event.id,
        event_id=event.id,
        detail={"filters": filters.audit(), "columns": [c.key for c in columns], "format": kind,
                **({"real_names": True} if include_real_names else {})},
        actor=actor,
    )
    if include_real_names:
        record(
            "roster.export_real_names",
            object_type="event",
            object_id=event.id,
            event_id=event.id,
            detail={"filters": filters.audit(), "format": kind},
            actor=actor,
        )
    if include_protected:
        record(
            "roster.export_protected",
            object_type="event",
            object_id=event.id,
            event_id=event.id,
            detail={"filters": filters.audit(), "format": kind},
            actor=actor,
        )
