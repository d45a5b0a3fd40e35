"""Inviting from a CSV file: the preview marks each row ok or wrong with the reason and stores
nothing; the confirmation imports every row or none, checked again; reserved seats for a batch
are refused as a whole when they do not all fit."""

from __future__ import annotations

import io
import re

import pytest
from conftest import AuthActions
from flask import Flask
from flask.testing import FlaskClient
from smtp import SMTPServer, smtp_settings
from test_invitations import invitation_event, invite

from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.invitations import csvfile
from nkhr_events.invitations.models import Invitation, SeatReservation
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage

HEADER = "name,email,language,category,organization\n"


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def people(count: int, start: int = 1) -> str:
    return "".join(
        f'"Guest {n}, Jr.",guest{n}@example.org,{("en", "ko", "ja")[n % 3]},government,'
        f'"Org ""{n}"""\n'
        for n in range(start, start + count)
    )


def upload(client: FlaskClient, event_id: int, content: bytes, **fields: str):
    data: dict[str, object] = {"file": (io.BytesIO(content), "people.csv"), **fields}
    return client.post(
        f"/manage/events/{event_id}/invitations/upload",
        data=data,
        content_type="multipart/form-data",
    )


def confirm_fields(page: str) -> dict[str, str]:
    form = page[page.index('id="confirm-form"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'name="(\w+)" type="hidden" value="([^"]*)"', form))


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model)) or 0


def test_the_preview_names_each_wrong_row_and_stores_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = invitation_event(app)
    invite(app, event_id, "invited@example.org", language="en", reserve_days=None)
    auth.organizer()
    rows = (
        people(3)
        + "Bad Address,not-an-address,en,government,\n"
        + "Unknown Language,ul@example.org,fr,government,\n"
        + "Unknown Category,uc@example.org,en,astronaut,\n"
        + "Public Category,pc@example.org,en,journalist,\n"
        + "Twice,GUEST1@example.org,en,government,\n"
        + "Invited,invited@example.org,en,government,\n"
    )
    page = upload(client, event_id, ("\ufeff" + HEADER + rows).encode("utf-8"))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.count('data-ok="yes"') == 3 and text.count('data-ok="no"') == 6
    for reason in (
        "Enter a valid email address.",
        "Unknown language: use en, ko or ja.",
        "Unknown category.",
        "This category is not by invitation only.",
        "The same address is on line 2.",
        "This address is already invited.",
    ):
        assert reason in text, reason
    assert "Guest 1, Jr." in text and "Org &#34;1&#34;" in text or 'Org "1"' in text
    assert 'id="confirm-form"' not in text  # nothing to confirm until every row is ready
    assert count(app, Invitation) == 1 and count(app, OutboxMessage) == 1


def test_confirming_imports_every_row_and_emails_each_in_their_language(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    event_id = invitation_event(app, capacity=50)
    auth.organizer()
    page = upload(client, event_id, (HEADER + people(20)).encode("utf-8"), reserve="y")
    text = page.get_data(as_text=True)
    assert 'id="confirm-form"' in text and text.count('data-ok="yes"') == 20
    assert count(app, Invitation) == 0
    fields = confirm_fields(text)
    response = client.post(f"/manage/events/{event_id}/invitations/upload/confirm", data=fields)
    assert response.status_code == 303
    with app.app_context():
        invitations = db.session.scalars(db.select(Invitation).order_by(Invitation.id)).all()
        assert len(invitations) == 20
        assert invitations[0].name == "Guest 1, Jr." and invitations[0].organization == 'Org "1"'
        assert {i.language for i in invitations} == {"en", "ko", "ja"}
        assert all(i.reservation is not None for i in invitations)
        deliver_due()
    assert len(smtp_server.messages) == 20
    # Sending the same preview again imports nothing: every address is invited now.
    page = client.post(f"/manage/events/{event_id}/invitations/upload/confirm", data=fields)
    assert page.status_code == 200 and "already invited" in page.get_data(as_text=True)
    assert count(app, Invitation) == 20


def test_a_changed_preview_is_refused(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    event_id = invitation_event(app)
    auth.organizer()
    fields = confirm_fields(
        upload(client, event_id, (HEADER + people(2)).encode()).get_data(as_text=True)
    )
    fields["content"] = csvfile.carried(HEADER + people(3))
    page = client.post(f"/manage/events/{event_id}/invitations/upload/confirm", data=fields)
    assert "The preview has expired. Upload the file again." in page.get_data(as_text=True)
    # A signature that is not even hexadecimal is refused the same way, not with an error.
    fields["signature"] = "é" * 64
    page = client.post(f"/manage/events/{event_id}/invitations/upload/confirm", data=fields)
    assert "The preview has expired. Upload the file again." in page.get_data(as_text=True)
    assert count(app, Invitation) == 0


def test_reserved_seats_for_a_batch_are_refused_as_a_whole_when_they_do_not_fit(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = invitation_event(app, capacity=3)
    auth.organizer()
    page = upload(client, event_id, (HEADER + people(4)).encode(), reserve="y")
    fields = confirm_fields(page.get_data(as_text=True))
    page = client.post(f"/manage/events/{event_id}/invitations/upload/confirm", data=fields)
    assert page.status_code == 200
    assert "There are not enough free seats to reserve 4." in page.get_data(as_text=True)
    assert count(app, Invitation) == 0 and count(app, SeatReservation) == 0
    # Without seats the same file goes in.
    page = upload(client, event_id, (HEADER + people(4)).encode())
    fields = confirm_fields(page.get_data(as_text=True))
    client.post(f"/manage/events/{event_id}/invitations/upload/confirm", data=fields)
    assert count(app, Invitation) == 4 and count(app, SeatReservation) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"name,email\nA,a@example.org\n", "The first row must name the columns"),
        (HEADER.encode(), "The file has no rows below its header."),
        (
            "name,email,language,category\nÄ,ä@x.org,en,government\n".encode("latin-1"),
            "The file is not UTF-8 text.",
        ),
        ((HEADER + people(1001)).encode(), "A file may hold at most 1000 rows."),
        (b"x" * (csvfile.MAX_BYTES + 1), "The file is larger than 256 KB."),
        (
            (HEADER + "Kim,kim@x.org,en,government,Ministry of Unification, ROK\n").encode(),
            "Line 2 has more values than the header has columns",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_beside_the_field(
    app: Flask, client: FlaskClient, auth: AuthActions, content: bytes, message: str
) -> None:
    event_id = invitation_event(app)
    auth.organizer()
    page = upload(client, event_id, content)
    assert page.status_code == 200
    assert message in page.get_data(as_text=True)
    assert count(app, Invitation) == 0


def test_excel_quoting_and_a_byte_order_mark_are_read() -> None:
    text = csvfile.decode(
        (
            "\ufeff" + "Name,EMAIL,Language,Category\r\n"
            '"Kim, Min-ji",kim@example.org,ko,government\r\n'
        ).encode("utf-8")
    )
    found = csvfile.parse(text)
    assert [(r.line, r.data.name, r.data.email, r.data.organization) for r in found.rows] == [
        (2, "Kim, Min-ji", "kim@example.org", "")
    ]
    with pytest.raises(DomainError):
        csvfile.parse("name,email,language,category,shoe size\n")
