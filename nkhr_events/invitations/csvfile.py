"""A CSV file of people to invite: read, checked row by row, and carried between the preview
and the confirmation.

The file has a header row naming the columns `name`, `email`, `language`, `category` and
`organization` (any order, any case; `organization` may be left out); UTF-8 with or without a
byte order mark, quoted the way spreadsheets write it. At most MAX_ROWS rows and MAX_BYTES.

Nothing is stored until the staff member confirms. The preview page carries the file's text in
a hidden field with an HMAC of it (`sign`): the confirmation imports exactly what was shown,
re-checked then, without JavaScript and without keeping anything on the server in between.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _

from nkhr_events.errors import DomainError
from nkhr_events.invitations.services import InvitationInput

MAX_ROWS = 1000
MAX_BYTES = 256 * 1024
COLUMNS = ("name", "email", "language", "category", "organization")
REQUIRED = ("name", "email", "language", "category")


@dataclass
class CsvRow:
    line: int
    data: InvitationInput
    problem: str | None = None


@dataclass
class CsvFile:
    """The rows of a file, and what is wrong with each (filled in by `check`)."""

    text: str
    rows: list[CsvRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(row.problem is None for row in self.rows)

    @property
    def wrong(self) -> list[CsvRow]:
        return [row for row in self.rows if row.problem is not None]

    def numbered(self) -> list[tuple[int, InvitationInput]]:
        return [(row.line, row.data) for row in self.rows]

    def mark(self, problems: dict[int, str]) -> None:
        for row in self.rows:
            row.problem = problems.get(row.line)


def decode(raw: bytes) -> str:
    """The file's text; DomainError ("file") when too large or not UTF-8."""
    if len(raw) > MAX_BYTES:
        raise DomainError(_("The file is larger than %(n)d KB.", n=MAX_BYTES // 1024), "file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DomainError(
            _("The file is not UTF-8 text. Save it as \u201cCSV UTF-8\u201d and try again."),
            "file",
        ) from error


def parse(text: str) -> CsvFile:
    """The rows of the file's text; DomainError ("file") for a missing header, an unknown or
    missing column, no rows, or more than MAX_ROWS."""
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise DomainError(_("The file is not a CSV file."), "file")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as error:
        raise DomainError(_("The file is empty."), "file") from error
    names = [h.strip().lower() for h in header]
    unknown = [h for h in names if h and h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in names]
    if unknown or missing:
        raise DomainError(
            _("The first row must name the columns: %(columns)s.", columns=", ".join(COLUMNS)),
            "file",
        )
    found = CsvFile(text)
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(found.rows) >= MAX_ROWS:
                raise DomainError(_("A file may hold at most %(n)d rows.", n=MAX_ROWS), "file")
            if any(v.strip() for v in values[len(names):]):
                raise DomainError(
                    _("Line %(line)d has more values than the header has columns: put "
                      "quotation marks around values that contain commas.",
                      line=reader.line_num), "file")
            cells = dict(zip(names, values, strict=False))
            data = InvitationInput(
                name=cells.get("name", ""),
                email=cells.get("email", ""),
                language=cells.get("language", ""),
                category=cells.get("category", ""),
                organization=cells.get("organization", ""),
            )
            found.rows.append(CsvRow(reader.line_num, data))
    except csv.Error as error:
        raise DomainError(
            _("The file cannot be read as CSV (line %(line)d).", line=reader.line_num), "file"
        ) from error
    if not found.rows:
        raise DomainError(_("The file has no rows below its header."), "file")
    return found


def carried(text: str) -> str:
    """The text as the preview page carries it (base64: a browser normalises line ends of
    form fields, which would change what was signed)."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def uncarried(value: str) -> str | None:
    """The text a preview page carried back; None when it is not what `carried` made."""
    try:
        return base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (ValueError, UnicodeError):
        return None


def sign(event_id: int, text: str, reserve: bool, hold_until: str) -> str:
    """What the preview page carries beside the file's text and the batch's choices."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    message = f"invitations-csv\n{event_id}\n{int(reserve)}\n{hold_until}\n{text}"
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def signed(event_id: int, text: str, reserve: bool, hold_until: str, signature: str) -> bool:
    expected = sign(event_id, text, reserve, hold_until).encode("ascii")
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))
