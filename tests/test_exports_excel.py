"""Exports people open in Excel: a frozen, filtered header, fitted column widths, times as real
Excel times in the event's zone, one sheet per day of a multi-day event, formula-like text kept
as text; each staff member's column choices come back as their default ticks; the export page
says how protected people appear."""

from __future__ import annotations

import io
import time
import tracemalloc
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from markup import ticked as ticked_boxes
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from sqlalchemy import insert
from test_roster import DAYS, build_roster

from nkhr_events.accounts.models import StaffUser
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration, RegistrationDay
from tests.factories import make_event

EVIL = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def roster(app: Flask) -> dict[str, int]:
    """Five people of a three-day event in Seoul: Ada attends day 1, Min-su days 1 and 2, the
    others all three; Ada checked in on day 1 and Min-su on day 2."""
    return build_roster(app)


def export(client: FlaskClient, event_id: int, query: str = "") -> Workbook:
    response = client.get(f"/manage/events/{event_id}/registrations/export?format=xlsx&{query}")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.get_data()))


def values(sheet) -> list[list[object]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def roster_page(client: FlaskClient, event_id: int):
    response = client.get(f"/manage/events/{event_id}/registrations")
    assert response.status_code == 200
    return parse(response.get_data(as_text=True))


def ticked(page) -> list[str]:
    return ticked_boxes(page, "columns")


def test_the_sheet_has_a_frozen_bold_header_a_filter_over_the_data_and_fitted_widths(
    client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    book = export(client, roster["event"], "columns=name&columns=organization&columns=answers")
    sheet = book.worksheets[0]
    assert sheet.title == "Registrations"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C6"
    assert [c.font.b for c in sheet[1]] == [True, True, True]
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABC"}
    # Fitted: the name column is narrower than the organization with its long formula text,
    # and the widest is capped.
    assert 8 <= widths["A"] < widths["B"] <= 60
    assert all(width <= 60 for width in widths.values())


def test_times_are_excel_times_in_the_event_zone_named_in_the_header(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    with app.app_context():
        ada = db.session.get(Registration, roster["Ada"])
        ada.created_at = datetime(2020, 4, 1, 23, 30, tzinfo=UTC)  # 08:30 on 2 April in Seoul
        db.session.commit()
    auth.organizer()
    sheet = export(client, roster["event"], "columns=name&columns=registered&sort=registered")
    sheet = sheet.worksheets[0]
    assert sheet["B1"].value == "Registered (Asia/Seoul)"
    cell = sheet["B2"]
    assert cell.value == datetime(2020, 4, 2, 8, 30)
    assert cell.is_date and cell.number_format == "yyyy-mm-dd hh:mm"
    assert all(isinstance(row[1], datetime) for row in values(sheet)[1:])


def test_one_sheet_per_day_lists_the_people_attending_that_day(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    with app.app_context():
        checkin = db.session.scalar(db.select(RegistrationCheckin).where(
            RegistrationCheckin.registration_id == roster["Minsu"]))
        checkin.checked_in_at = datetime(2099, 5, 4, 0, 15, tzinfo=UTC)  # 09:15 in Seoul
        db.session.commit()
    auth.organizer()
    book = export(client, roster["event"],
                  "columns=name&columns=status&columns=checked_in&sort=name&per_day=1")
    assert book.sheetnames == ["2099-05-03", "2099-05-04", "2099-05-05"]
    names = {title: [row[0] for row in values(book[title])[1:]] for title in book.sheetnames}
    # Those who hold a seat (confirmed, awaiting review): Wai Ting is waitlisted and is on no
    # day's sheet unless the filter asks for the waitlist.
    assert names == {
        "2099-05-03": ["Ada Lovelace", "Eve Mallory", "Jo Reporter", "김 Minsu"],
        "2099-05-04": ["Eve Mallory", "Jo Reporter", "김 Minsu"],
        "2099-05-05": ["Eve Mallory", "Jo Reporter"],
    }
    waitlist = export(client, roster["event"], "columns=name&status=waitlisted&per_day=1")
    assert [row[0] for row in values(waitlist["2099-05-05"])[1:]] == ["Wai Ting"]
    second = book["2099-05-04"]
    assert second.freeze_panes == "A2" and second.auto_filter.ref == "A1:C4"
    assert second["C1"].value == "Checked in (Asia/Seoul)"
    minsu = next(row for row in second.iter_rows(min_row=2) if row[0].value == "김 Minsu")
    assert minsu[2].value == datetime(2099, 5, 4, 9, 15) and minsu[2].is_date
    # Everyone else on that day has not checked in: the cell is empty, not "no".
    assert [row[2].value for row in second.iter_rows(min_row=2) if row[0].value != "김 Minsu"] \
        == [None, None]


def test_one_sheet_per_day_follows_the_status_and_day_filters(
    client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    book = export(client, roster["event"], "columns=name&status=confirmed&per_day=1&sort=name")
    assert [row[0] for row in values(book["2099-05-05"])[1:]] == ["Eve Mallory"]
    book = export(client, roster["event"], f"columns=name&day={DAYS[1]}&per_day=1&sort=name")
    assert book.sheetnames == ["2099-05-04"]


def test_formula_like_text_is_stored_as_text_never_as_a_formula(
    client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    book = export(client, roster["event"], "columns=name&columns=organization&per_day=1")
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    eve = next(r for r in values(book.worksheets[0]) if r[0] == "Eve Mallory")
    assert eve[1] == "'" + EVIL


def test_chosen_columns_come_back_as_default_ticks_for_that_staff_member_only(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    event_id = roster["event"]
    auth.organizer()
    assert ticked(roster_page(client, event_id)) == [
        "name", "email", "organization", "category", "status", "days"]
    client.get(f"/manage/events/{event_id}/registrations/export?format=csv&columns=country"
               "&columns=name&columns=dietary_needs&columns=nonsense")
    # Health data is never ticked in advance; unknown keys are dropped; list order is kept.
    assert ticked(roster_page(client, event_id)) == ["name", "country"]
    with app.app_context():
        saved = db.session.scalar(db.select(StaffUser.export_columns).where(
            StaffUser.email == "organizer@example.org"))
    assert saved == "name country"
    # Exporting without choosing columns (a bookmarked link) does not forget the choice.
    client.get(f"/manage/events/{event_id}/registrations/export?format=csv")
    assert ticked(roster_page(client, event_id)) == ["name", "country"]
    auth.sign_out()
    auth.admin()
    assert ticked(roster_page(client, event_id)) == [
        "name", "email", "organization", "category", "status", "days"]


def test_saved_columns_the_person_may_no_longer_see_are_not_ticked(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    event_id = roster["event"]
    auth.member(event_id, "reviewer", email="rev@example.org", can_export=True)
    with app.app_context():
        person = db.session.scalar(db.select(StaffUser).where(StaffUser.email == "rev@example.org"))
        person.export_columns = "accessibility_needs gone"
        db.session.commit()
    page = roster_page(client, event_id)
    assert page.find("input", id="column-accessibility_needs") is None
    assert ticked(page) == ["name", "email", "organization", "category", "status", "days"]


def test_the_export_form_offers_a_sheet_per_day_and_says_how_protected_people_appear(
    client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    page = roster_page(client, roster["event"])
    box = page.one(id="export-per-day")
    assert box.get("name") == "per_day"
    assert page.one("label", **{"for": "export-per-day"}).text == "One sheet per day (XLSX)"
    section = page.one("section", class_="export-privacy")
    text = " ".join(section.text.split())
    assert "How protected people appear" in text
    assert "appear as “(protected)” in the name, email, organization and position columns" in text
    assert "appear under their pseudonym" in text
    assert "Include protected guests' real names" in text
    assert "can be forwarded, printed or lost" in text  # why
    assert "Only an admin can include them" not in text  # the organizer is not one


def test_a_one_day_event_offers_no_sheet_per_day(app: Flask, client: FlaskClient, auth) -> None:
    with app.app_context():
        event_id = make_event(days=[date(2099, 6, 1)]).id
        db.session.commit()
    auth.organizer()
    assert roster_page(client, event_id).find("input", id="export-per-day") is None


@pytest.mark.slow
def test_ten_thousand_rows_stay_within_memory_and_time(
    app: Flask, client: FlaskClient, auth
) -> None:
    total = 10_000
    with app.app_context():
        event_id = make_event(capacity=None, days=DAYS).id
        now = datetime.now(UTC)
        db.session.execute(insert(Registration), [
            {"event_id": event_id, "category": "general_public", "status": "confirmed",
             "given_name": f"Given{n}", "badge_name": f"Given{n}",
             "family_name": "이" if n % 2 else "Family",
             "email": f"p{n}@example.org", "email_key": f"p{n}@example.org",
             "organization": "=cmd" if n % 1000 == 0 else "Organization",
             "privacy_consent_at": now, "created_at": now, "updated_at": now,
             "status_changed_at": now}
            for n in range(total)
        ])
        ids = db.session.scalars(db.select(Registration.id).where(
            Registration.event_id == event_id)).all()
        db.session.execute(insert(RegistrationDay), [
            {"registration_id": i, "day": DAYS[n % 3]} for n, i in enumerate(ids)])
        assert db.session.get(Event, event_id) is not None
        db.session.commit()
    auth.organizer()
    started = time.perf_counter()
    tracemalloc.start()
    response = client.get(f"/manage/events/{event_id}/registrations/export?format=xlsx"
                          "&columns=name&columns=email&columns=organization&columns=registered"
                          "&per_day=1")
    data = b"".join(response.response)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert peak < 20 * 1024 * 1024, peak
    assert elapsed < 60, elapsed
    book = load_workbook(io.BytesIO(data), read_only=True)
    rows = {t: sum(1 for _ in book[t].iter_rows(values_only=True)) for t in book.sheetnames}
    assert rows == {"2099-05-03": 3335, "2099-05-04": 3334, "2099-05-05": 3334}
    print(f"10,000 rows in three sheets: {elapsed:.1f} s, peak {peak / 2**20:.1f} MiB")
