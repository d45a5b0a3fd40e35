"""Roster exports: CSV and XLSX contents, chosen columns, filters, formula neutralisation, needs
only on request, the audit entry, a large streamed export; badges and the sign-in sheet."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from openpyxl import load_workbook
from sqlalchemy import insert
from test_roster import DAYS, build_roster

from nkhr_events.audit.models import AuditEntry
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration, RegistrationDay
from nkhr_events.roster.exports import neutralise

EVIL = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def roster(app: Flask) -> dict[str, int]:
    return build_roster(app)


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def xlsx_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    sheet = workbook.worksheets[0]
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return rows


def export_url(event_id: int, query: str = "") -> str:
    return f"/manage/events/{event_id}/registrations/export?{query}"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_default_columns_in_both_formats_with_korean_names_intact(
    client: FlaskClient, auth, roster: dict[str, int], kind: str
) -> None:
    auth.organizer()
    response = client.get(export_url(roster["event"], f"format={kind}&sort=registered"))
    rows = csv_rows(response) if kind == "csv" else xlsx_rows(response)
    assert rows[0] == ["Name", "Email", "Organization", "Category", "Status", "Days"]
    assert rows[1] == [
        "Ada Lovelace", "ada@example.org", "Analytical", "General public", "Confirmed",
        "2099-05-03",
    ]
    assert rows[2] == [
        "김 Minsu", "minsu@example.org", "서울대학교", "Academic", "Confirmed",
        "2099-05-03; 2099-05-04",
    ]
    assert len(rows) == 6


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(
    client: FlaskClient, auth, roster: dict[str, int], kind: str
) -> None:
    auth.organizer()
    response = client.get(export_url(roster["event"], f"format={kind}&q=eve"))
    rows = csv_rows(response) if kind == "csv" else xlsx_rows(response)
    assert rows[1][2] == "'" + EVIL


def test_neutralise_quotes_every_formula_start_and_nothing_else() -> None:
    for start in ["=", "+", "-", "@", "\t", "\r"]:
        assert neutralise(f"{start}1+1") == f"'{start}1+1"
    assert neutralise("Seoul = capital") == "Seoul = capital"
    assert neutralise("") == ""


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_needs_columns_appear_only_when_ticked(
    client: FlaskClient, auth, roster: dict[str, int], kind: str
) -> None:
    auth.organizer()
    default = client.get(export_url(roster["event"], f"format={kind}"))
    default_rows = csv_rows(default) if kind == "csv" else xlsx_rows(default)
    flat = " ".join(" ".join(r) for r in default_rows)
    assert "Accessibility needs" not in flat and "Step-free access" not in flat
    assert "Vegan" not in flat
    chosen = client.get(
        export_url(
            roster["event"],
            f"format={kind}&q=eve&columns=name&columns=accessibility_needs&columns=dietary_needs",
        )
    )
    rows = csv_rows(chosen) if kind == "csv" else xlsx_rows(chosen)
    assert rows == [
        ["Name", "Accessibility needs", "Dietary needs"],
        ["Eve Mallory", "Step-free access", "Vegan"],
    ]


def test_export_follows_the_roster_filters_and_the_chosen_columns(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    response = client.get(
        export_url(
            roster["event"],
            "format=csv&status=confirmed&photo=yes&sort=name"
            "&columns=email&columns=country&columns=checked_in&columns=answers&columns=bogus",
        )
    )
    assert csv_rows(response) == [
        ["Email", "Country", "Category answers", "Checked in"],
        ["eve@example.org", "GB", "", ""],
        ["minsu@example.org", "KR", "Institution: 서울대학교", "2099-05-04"],
    ]
    with app.app_context():
        entry = db.session.scalar(
            db.select(AuditEntry).where(AuditEntry.action == "roster.export")
        )
        assert entry.event_id == roster["event"]
        assert entry.detail == {
            "filters": {"status": "confirmed", "photo": "yes"},
            "columns": ["email", "country", "answers", "checked_in"],
            "format": "csv",
        }


@pytest.mark.parametrize(
    ("kind", "mimetype"),
    [
        ("csv", "text/csv"),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ],
)
def test_export_is_an_attachment_named_after_the_event_and_the_day(
    client: FlaskClient, auth, roster: dict[str, int], kind: str, mimetype: str
) -> None:
    auth.organizer()
    response = client.get(export_url(roster["event"], f"format={kind}"))
    today = datetime.now(UTC).strftime("%Y%m%d")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="seoul-2099-registrations-{today}.{kind}"'
    )
    assert response.mimetype == mimetype
    # A streamed body has no length known in advance; a page rendered whole has one.
    assert "Content-Length" not in response.headers
    response.close()


def test_an_unknown_format_is_refused(client: FlaskClient, auth, roster: dict[str, int]) -> None:
    auth.organizer()
    assert client.get(export_url(roster["event"], "format=pdf")).status_code == 400


@pytest.mark.slow
def test_a_large_export_streams_every_row(app: Flask, client: FlaskClient, auth) -> None:
    """20,000 registrations, inserted in bulk: the CSV comes out in pieces, all rows present."""
    from tests.factories import make_event

    total = 20_000
    with app.app_context():
        event = make_event(capacity=None, days=DAYS)
        event_id = event.id
        now = datetime.now(UTC)
        db.session.execute(
            insert(Registration),
            [
                {
                    "event_id": event_id,
                    "category": "general_public",
                    "status": "confirmed",
                    "given_name": f"Given{n}",
                    "family_name": "이" if n % 2 else "Family",
                    "badge_name": f"Given{n}",
                    "email": f"p{n}@example.org",
                    "email_key": f"p{n}@example.org",
                    "organization": "-minus" if n % 1000 == 0 else "Org",
                    "privacy_consent_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "status_changed_at": now,
                }
                for n in range(total)
            ],
        )
        ids = db.session.scalars(
            db.select(Registration.id).where(Registration.event_id == event_id)
        ).all()
        db.session.execute(
            insert(RegistrationDay), [{"registration_id": i, "day": DAYS[0]} for i in ids]
        )
        db.session.commit()
    auth.organizer()
    tracemalloc.start()
    response = client.get(export_url(event_id, "format=csv"))
    assert response.is_streamed and "Content-Length" not in response.headers
    pieces = []
    for piece in response.response:
        pieces.append(piece)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Rows are read in chunks: all 20,000 as objects at once would take several times this.
    assert peak < 12 * 1024 * 1024, peak
    assert len(pieces) > 10  # written out as it goes, not as one string
    rows = list(csv.reader(io.StringIO(b"".join(pieces).decode("utf-8-sig"))))
    assert len(rows) == total + 1
    assert sum(1 for r in rows if r[2] == "'-minus") == total // 1000
    assert all(r[5] == "2099-05-03" for r in rows[1:])


# --- badges and the sign-in sheet ---------------------------------------------------------------


def test_badges_show_confirmed_people_with_their_category_in_text_and_colour(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    page = parse(
        client.get(f"/manage/events/{roster['event']}/badges").get_data(as_text=True)
    )
    badges = [li for li in page.find_all("li") if li.has_class("badge")]
    names = [b.one("p", class_="badge-name").text for b in badges]
    assert names == ["Ada Lovelace", "Eve Mallory", "김 Minsu"]
    minsu = badges[2]
    assert minsu.has_class("badge-academic")
    assert minsu.one("p", class_="badge-category").text == "Academic"
    assert minsu.one("p", class_="badge-organization").text == "서울대학교"
    assert page.find("link", href="/static/css/print.css") is not None
    with app.app_context():
        entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "roster.print"))
        assert entry.detail == {"kind": "badges", "day": None, "count": 3}


def test_sign_in_sheet_lists_confirmed_people_of_the_chosen_day(
    client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    url = f"/manage/events/{roster['event']}/sign-in-sheet"
    page = parse(client.get(url).get_data(as_text=True))
    table = page.one("table", class_="sign-in-sheet")
    rows = [[c.text for c in tr.find_all() if c.tag in ("th", "td")] for tr in table.find_all("tr")]
    assert rows[0] == ["#", "Name", "Organization", "Signature"]
    assert rows[1:] == [
        ["1", "Ada Lovelace", "Analytical", ""],
        ["2", "Eve Mallory", EVIL, ""],
        ["3", "김 Minsu", "서울대학교", ""],
    ]
    day_two = parse(client.get(f"{url}?day=2099-05-04").get_data(as_text=True))
    names = [th.text for th in day_two.one("table").find_all("th", scope="row")]
    assert names == ["Eve Mallory", "김 Minsu"]  # Ada attends day one only; Jo is pending
