"""An edition's archive: the public page of every edition (the shipped history's too), checked
PDF uploads served as sent, photos re-encoded without their EXIF and published only on a
statement of consent, texts in the reader's language, and who may manage it."""

from __future__ import annotations

import io
from datetime import date, time

import pytest
from factories import make_event
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from nkhr_events.audit.models import AuditEntry
from nkhr_events.events.history import import_history
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.extensions import db
from nkhr_events.programme import archive
from nkhr_events.programme.models import (
    Appearance,
    ArchiveDocument,
    ArchivePhoto,
    ProgrammeSession,
    SessionSpeaker,
    Speaker,
    SpeakerStatus,
)

EMPTY = "Nothing in the archive yet."


def pdf_bytes(pages: int = 1, javascript: bool = False, password: str = "",
              attachment: bool = False) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if javascript:
        action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                   NameObject("/JS"): TextStringObject("app.alert('hello');")})
        writer.root_object[NameObject("/OpenAction")] = writer._add_object(action)
    if attachment:
        writer.add_attachment("payload.exe", b"MZ not really")
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def jpeg_with_gps(size: tuple[int, int] = (1200, 800)) -> bytes:
    image = Image.new("RGB", size, (30, 90, 160))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc"  # Make
    exif[0x0110] = "Model X"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (37.0, 33.0, 58.0)
    gps[3] = "E"
    gps[4] = (126.0, 58.0, 41.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def event_id(app: Flask) -> int:
    with app.app_context():
        event = make_event(title="Seoul Forum", title_ko="서울 포럼", slug="seoul-forum",
                           days=[date(2020, 3, 2), date(2020, 3, 3)], status=EventStatus.ARCHIVED)
        db.session.commit()
        return event.id


def upload_document(client: FlaskClient, event_id: int, data: bytes, **fields: str):
    form = {"kind": "report", "language": "en", "title": "Final report", "title_ko": "",
            "title_ja": "", **fields,
            "file": FileStorage(io.BytesIO(data), fields.get("filename", "Final report 2020.pdf"),
                                content_type="application/pdf")}
    form.pop("filename", None)
    # Encoded here, in memory: the test client spools a large body to a file it never closes.
    boundary, body = encode_multipart(form)
    return client.post(f"/manage/events/{event_id}/archive", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def upload_photo(client: FlaskClient, event_id: int, data: bytes, consent: bool, **fields: str):
    form: dict[str, object] = {"caption": "Opening session", "caption_ko": "", "caption_ja": "",
                               **fields, "photo": (io.BytesIO(data), "IMG_0001.JPG")}
    if consent:
        form["consent"] = "y"
    return client.post(f"/manage/events/{event_id}/archive", data=form,
                       content_type="multipart/form-data")


def count(model: type) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model)) or 0


def field_error(html: str, field_id: str) -> str:
    return parse(html).one(id=f"{field_id}-error").text


# --- the shipped history ------------------------------------------------------------------------


def test_every_edition_of_the_history_has_an_archive_page_linked_from_the_history(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        import_history()
        db.session.commit()
        slugs = list(db.session.scalars(db.select(Event.slug).order_by(Event.start_date)))
    assert len(slugs) >= 10
    history = parse(client.get("/history").get_data(as_text=True))
    links = {a.get("href") for a in history.find_all("a")}
    for slug in slugs:
        assert f"/events/{slug}/archive" in links, slug
        response = client.get(f"/events/{slug}/archive")
        assert response.status_code == 200, slug
        page = parse(response.get_data(as_text=True))
        assert page.one(id="archive-empty").text == EMPTY
        # An empty archive is not offered from the edition's page.
        assert parse(client.get(f"/events/{slug}").get_data(as_text=True)).find(
            id="archive-link") is None


def test_a_draft_has_no_archive(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        draft = make_event(slug="draft-edition", status=EventStatus.DRAFT)
        db.session.add(ArchiveDocument(event_id=draft.id, title="Hidden", filename="h.pdf",
                                       data=pdf_bytes(), size=1, sha256="0" * 64))
        db.session.commit()
        document_id = db.session.scalars(db.select(ArchiveDocument.id)).one()
    assert client.get("/events/draft-edition/archive").status_code == 404
    assert client.get(f"/events/draft-edition/archive/documents/{document_id}/h.pdf"
                      ).status_code == 404


# --- documents ----------------------------------------------------------------------------------


def test_a_pdf_is_kept_audited_and_served_byte_for_byte(
    app: Flask, client: FlaskClient, auth, event_id: int
) -> None:
    auth.organizer()
    data = pdf_bytes(pages=3)
    response = upload_document(client, event_id, data, title_ko="최종 보고서")
    assert response.status_code == 303
    with app.app_context():
        document = db.session.scalars(db.select(ArchiveDocument)).one()
        assert document.size == len(data) and document.kind == "report"
        assert document.filename == "Final-report-2020.pdf"
        import hashlib
        assert document.sha256 == hashlib.sha256(data).hexdigest()
        entry = db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.action == "archive.document_add")).one()
        assert entry.object_id == document.id and entry.event_id == event_id
        document_id = document.id
    auth.sign_out()
    page = client.get("/events/seoul-forum/archive").get_data(as_text=True)
    link = parse(page).one(id=f"document-{document_id}").find("a")
    assert link is not None and link.text == "Final report"
    served = client.get(link.get("href"))
    assert served.status_code == 200
    assert served.get_data() == data
    assert served.headers["Content-Type"] == "application/pdf"
    assert "Final-report-2020.pdf" in served.headers["Content-Disposition"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    # The edition's page now offers its archive.
    event_page = parse(client.get("/events/seoul-forum").get_data(as_text=True))
    assert event_page.one(id="archive-link").find("a").get("href") == "/events/seoul-forum/archive"
    # Another file name, or another event's slug, finds nothing.
    assert client.get(f"/events/seoul-forum/archive/documents/{document_id}/x.pdf"
                      ).status_code == 404


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "The file is empty."),
        (b"Hello, this is a text file, not a PDF.\n", "not a PDF document"),
        (b"%PDF-1.7\n this is not really a PDF \n%%EOF\n", "not a PDF document"),
        (pdf_bytes()[:-200], "not a PDF document"),
        (pdf_bytes(password="secret"), "encrypted or password-protected"),
        (pdf_bytes(javascript=True), "contains scripts"),
        (pdf_bytes(attachment=True), "embedded files"),
    ],
    ids=["empty", "text", "fake-header", "truncated", "encrypted", "javascript", "attachment"],
)
def test_a_file_that_is_not_a_plain_pdf_is_refused_beside_the_field(
    app: Flask, client: FlaskClient, auth, event_id: int, data: bytes, expected: str
) -> None:
    auth.organizer()
    response = upload_document(client, event_id, data, title="Kept title")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert expected in field_error(html, "file")
    assert parse(html).one(id="title").get("value") == "Kept title"
    with app.app_context():
        assert count(ArchiveDocument) == 0
        assert db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.action.like("archive.%"))).all() == []


def test_a_pdf_over_the_size_limit_is_refused_beside_the_field(
    app: Flask, client: FlaskClient, auth, event_id: int
) -> None:
    auth.organizer()
    data = pdf_bytes()
    padded = data[:9] + b"%" + b"x" * (archive.MAX_DOCUMENT_BYTES - len(data)) + b"\n" + data[9:]
    assert len(padded) > archive.MAX_DOCUMENT_BYTES
    response = upload_document(client, event_id, padded)
    assert response.status_code == 400
    assert "larger than 20 MB" in field_error(response.get_data(as_text=True), "file")
    with app.app_context():
        assert count(ArchiveDocument) == 0


def test_a_request_over_the_upload_limit_gets_the_page_back_not_an_error(
    app: Flask, client: FlaskClient, auth, event_id: int
) -> None:
    auth.organizer()
    response = upload_document(client, event_id, b"%PDF-" + b"0" * archive.MAX_REQUEST_BYTES)
    assert response.status_code == 413
    assert "larger than 20 MB" in parse(response.get_data(as_text=True)).one(
        id="upload-too-large").text
    with app.app_context():
        assert count(ArchiveDocument) == 0
    # Elsewhere the app's own limit (2 MB) still holds.
    big = client.post(f"/manage/events/{event_id}/archive/move",
                      data={"item": "x" * (3 * 1024 * 1024)})
    assert big.status_code == 413


def test_a_title_in_one_language_is_required(
    app: Flask, client: FlaskClient, auth, event_id: int
) -> None:
    auth.organizer()
    response = upload_document(client, event_id, pdf_bytes(), title="")
    assert response.status_code == 400
    assert "at least one language" in field_error(response.get_data(as_text=True), "title")


# --- photos -------------------------------------------------------------------------------------


def test_a_photo_loses_its_exif_and_is_public_only_once_consent_is_confirmed(
    app: Flask, client: FlaskClient, auth, event_id: int
) -> None:
    auth.organizer()
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # GPS is there
    assert upload_photo(client, event_id, original, consent=False).status_code == 303
    with app.app_context():
        photo = db.session.scalars(db.select(ArchivePhoto)).one()
        stored, photo_id = photo.data, photo.id
        assert photo.consent_confirmed_at is None and photo.consent_confirmed_by is None
    clean = Image.open(io.BytesIO(stored))
    assert clean.format == "JPEG" and clean.size == (1200, 800)
    assert len(clean.getexif()) == 0 and "exif" not in clean.info
    assert b"SpyCam" not in stored and b"GPS" not in stored
    # The staff see it; the public do not.
    assert client.get(f"/manage/events/{event_id}/archive/photos/{photo_id}.jpg").get_data(
    ) == stored
    auth.sign_out()
    public = f"/events/seoul-forum/archive/photos/{photo_id}.jpg"
    assert client.get(public).status_code == 404
    assert "Opening session" not in client.get("/events/seoul-forum/archive").get_data(
        as_text=True)
    # Publishing needs the box ticked.
    auth.organizer()
    client.post(f"/manage/events/{event_id}/archive/photos/{photo_id}/consent", data={})
    auth.sign_out()
    assert client.get(public).status_code == 404
    auth.organizer()
    client.post(f"/manage/events/{event_id}/archive/photos/{photo_id}/consent",
                data={"consent": "y"})
    with app.app_context():
        photo = db.session.get(ArchivePhoto, photo_id)
        assert photo is not None and photo.consent_confirmed_by is not None
        assert db.session.scalars(db.select(AuditEntry.action).where(
            AuditEntry.object_type == "archive_photo")).all() == [
                "archive.photo_add", "archive.photo_consent"]
    auth.sign_out()
    served = client.get(public)
    assert served.status_code == 200 and served.get_data() == stored
    assert served.headers["Content-Type"] == "image/jpeg"
    figure = parse(client.get("/events/seoul-forum/archive").get_data(as_text=True)).one(
        id=f"photo-{photo_id}")
    assert figure.find("figcaption").text == "Opening session"
    # Taken down again when someone withdraws.
    auth.organizer()
    client.post(f"/manage/events/{event_id}/archive/photos/{photo_id}/consent",
                data={"withdraw": "1"})
    auth.sign_out()
    assert client.get(public).status_code == 404


def test_a_photo_ticked_at_upload_is_published_and_scaled_down(
    app: Flask, client: FlaskClient, auth, event_id: int
) -> None:
    auth.organizer()
    assert upload_photo(client, event_id, jpeg_with_gps((2400, 1600)), consent=True
                        ).status_code == 303
    with app.app_context():
        photo = db.session.scalars(db.select(ArchivePhoto)).one()
        assert photo.consent_confirmed_at is not None
        assert (photo.width, photo.height) == (1600, 1067)


def test_a_phone_photo_is_turned_upright_before_its_exif_is_dropped(
    app: Flask, client: FlaskClient, auth, event_id: int
) -> None:
    """A camera held upright stores the pixels sideways with "rotate 90°" in the EXIF; with
    the EXIF gone, the pixels themselves must be upright."""
    image = Image.new("RGB", (300, 200), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    auth.organizer()
    assert upload_photo(client, event_id, out.getvalue(), consent=True).status_code == 303
    with app.app_context():
        photo = db.session.scalars(db.select(ArchivePhoto)).one()
        assert (photo.width, photo.height) == (200, 300)
        assert len(Image.open(io.BytesIO(photo.data)).getexif()) == 0


def test_a_file_that_is_not_an_image_is_refused_and_nothing_kept(
    app: Flask, client: FlaskClient, auth, event_id: int
) -> None:
    auth.organizer()
    response = upload_photo(client, event_id, pdf_bytes(), consent=True, caption="Kept")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "not a JPEG, PNG or WebP" in field_error(html, "photo")
    assert parse(html).one(id="caption").get("value") == "Kept"
    with app.app_context():
        assert count(ArchivePhoto) == 0


# --- languages, order, deletion -----------------------------------------------------------------


def test_a_korean_reader_sees_korean_titles_and_captions_and_falls_back_to_others(
    app: Flask, client: FlaskClient, auth, event_id: int
) -> None:
    auth.organizer()
    upload_document(client, event_id, pdf_bytes(), title="Seoul Declaration",
                    title_ko="서울 선언문", kind="declaration")
    upload_document(client, event_id, pdf_bytes(), title="Report only in English")
    upload_photo(client, event_id, jpeg_with_gps(), consent=True, caption="Panel",
                 caption_ko="토론회")
    upload_photo(client, event_id, jpeg_with_gps(), consent=True, caption="",
                 caption_ja="閉会式")
    auth.sign_out()
    client.set_cookie("nkhr_lang", "ko")
    page = parse(client.get("/events/seoul-forum/archive").get_data(as_text=True))
    assert page.one("h1").text.endswith(": 서울 포럼")  # the heading in its own words once merged
    documents = page.one(id="archive-documents")
    titles = [a.text for a in documents.find_all("a")]
    assert titles == ["서울 선언문", "Report only in English"]
    fallback = documents.find_all("a")[1]
    assert fallback.get("lang") == "en"
    captions = page.one(id="archive-photos").find_all("figcaption")
    assert [c.text for c in captions] == ["토론회", "閉会式"]
    assert captions[1].get("lang") == "ja"
    client.set_cookie("nkhr_lang", "en")
    page = parse(client.get("/events/seoul-forum/archive").get_data(as_text=True))
    assert [a.text for a in page.one(id="archive-documents").find_all("a")] == [
        "Seoul Declaration", "Report only in English"]


def test_documents_are_reordered_and_deleted_after_a_confirmation(
    app: Flask, client: FlaskClient, auth, event_id: int
) -> None:
    auth.organizer()
    for title in ("First", "Second"):
        upload_document(client, event_id, pdf_bytes(), title=title)
    with app.app_context():
        first, second = (d.id for d in archive.documents(event_id))
    client.post(f"/manage/events/{event_id}/archive/move",
                data={"item": "document", "item_id": str(second), "direction": "up"})
    with app.app_context():
        assert [d.title for d in archive.documents(event_id)] == ["Second", "First"]
    confirm = client.get(f"/manage/events/{event_id}/archive/documents/{first}/delete")
    assert confirm.status_code == 200 and "First" in confirm.get_data(as_text=True)
    with app.app_context():
        assert count(ArchiveDocument) == 2
    assert client.post(f"/manage/events/{event_id}/archive/documents/{first}/delete"
                       ).status_code == 303
    with app.app_context():
        assert [d.title for d in archive.documents(event_id)] == ["Second"]
        actions = db.session.scalars(db.select(AuditEntry.action).where(
            AuditEntry.action.like("archive.%")).order_by(AuditEntry.id)).all()
        assert actions == ["archive.document_add", "archive.document_add", "archive.move",
                           "archive.document_delete"]


def test_the_programme_shows_public_sessions_in_order_and_speakers_as_they_chose(
    app: Flask, client: FlaskClient, event_id: int
) -> None:
    with app.app_context():
        def speaker(given: str, family: str, **choices: object) -> Speaker:
            found = Speaker(event_id=event_id, given_name=given, family_name=family,
                            email=f"{given}@example.org", email_key=f"{given}@example.org",
                            status=SpeakerStatus.CONFIRMED, **choices)
            db.session.add(found)
            return found

        named = speaker("Ada", "Lovelace", appearance=Appearance.NAME)
        hidden = speaker("Real", "Person", appearance=Appearance.PSEUDONYM, pseudonym="Witness A")
        secret = speaker("Quiet", "Someone", appearance=Appearance.TBA)
        day1, day2 = date(2020, 3, 2), date(2020, 3, 3)
        sessions = [
            ProgrammeSession(event_id=event_id, day=day2, starts_at=time(9), ends_at=time(10),
                             title="Closing", title_ko="폐회"),
            ProgrammeSession(event_id=event_id, day=day1, starts_at=time(14), ends_at=time(15),
                             title="Testimonies"),
            ProgrammeSession(event_id=event_id, day=day1, starts_at=time(9), ends_at=time(10),
                             title="Opening"),
            ProgrammeSession(event_id=event_id, day=day1, starts_at=time(11), ends_at=time(12),
                             title="Members only", public=False),
        ]
        db.session.add_all(sessions)
        db.session.flush()
        for position, person in enumerate((named, hidden, secret)):
            db.session.add(SessionSpeaker(session_id=sessions[1].id, speaker_id=person.id,
                                          position=position))
        db.session.commit()
    html = client.get("/events/seoul-forum/archive").get_data(as_text=True)
    programme = parse(html).one(id="archive-programme")
    titles = [s.text for s in programme.find_all("span") if s.has_class("archive-session-title")]
    assert titles == ["Opening", "Testimonies", "Closing"]
    assert "Ada Lovelace, Witness A" in programme.text
    for hidden_text in ("Real", "Person", "Quiet", "Someone", "Members only"):
        assert hidden_text not in html
    # The event page links to an archive that has a programme.
    assert parse(client.get("/events/seoul-forum").get_data(as_text=True)).find(
        id="archive-link") is not None


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["door", "reviewer", "liaison"])
def test_roles_other_than_the_organizer_find_no_archive_page(
    app: Flask, client: FlaskClient, auth, event_id: int, role: str
) -> None:
    auth.member(event_id, role)
    assert client.get(f"/manage/events/{event_id}/archive").status_code == 404
    response = upload_document(client, event_id, pdf_bytes())
    assert response.status_code == 404
    with app.app_context():
        assert count(ArchiveDocument) == 0


def test_another_events_organizer_and_ids_find_nothing(
    app: Flask, client: FlaskClient, auth, event_id: int
) -> None:
    with app.app_context():
        other = make_event(slug="other-edition")
        db.session.add(ArchiveDocument(event_id=other.id, title="Theirs", filename="t.pdf",
                                       data=pdf_bytes(), size=1, sha256="0" * 64))
        db.session.add(ArchivePhoto(event_id=other.id, caption="Theirs", content_type="image/jpeg",
                                    data=b"x", width=1, height=1))
        db.session.commit()
        other_id = other.id
        document_id = db.session.scalars(db.select(ArchiveDocument.id)).one()
        photo_id = db.session.scalars(db.select(ArchivePhoto.id)).one()
    auth.member(other_id, "organizer")
    assert client.get(f"/manage/events/{event_id}/archive").status_code == 404
    auth.sign_out()
    auth.member(event_id, "organizer", email="lead@example.org")
    base = f"/manage/events/{event_id}/archive"
    assert client.get(f"{base}/documents/{document_id}/delete").status_code == 404
    assert client.post(f"{base}/documents/{document_id}/delete").status_code == 404
    assert client.get(f"{base}/photos/{photo_id}.jpg").status_code == 404
    assert client.post(f"{base}/photos/{photo_id}/consent", data={"consent": "y"}
                       ).status_code == 404
    assert client.post(f"{base}/photos/{photo_id}/delete").status_code == 404
    client.post(f"{base}/move", data={"item": "document", "item_id": str(document_id),
                                      "direction": "up"})
    # And the public pages of this edition do not serve the other's files.
    assert client.get(f"/events/seoul-forum/archive/documents/{document_id}/t.pdf"
                      ).status_code == 404
    with app.app_context():
        assert count(ArchiveDocument) == 1 and count(ArchivePhoto) == 1
        photo = db.session.get(ArchivePhoto, photo_id)
        assert photo is not None and photo.consent_confirmed_at is None
