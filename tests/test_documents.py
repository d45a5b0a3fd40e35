"""The document engine (PDF text, language and fonts in en/ko/ja, pages rendered to PNG),
public verification (valid, revoked, wrong code or reference, rate limit), certificates of
attendance (after the event, checked-in people only, the days attended, one document per
person, staff download for protected guests, "email all" through the worker and the real SMTP
server, run twice), staff revocation and the admin's document settings."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_babel import gettext as _
from PIL import Image
from pypdf import PdfReader
from smtp import SMTPServer, smtp_settings
from sqlalchemy import text

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.checkin.services import check_in
from nkhr_events.documents import certificates, services
from nkhr_events.documents.models import CertificateMailing, DocumentSettings, IssuedDocument
from nkhr_events.documents.pdf import DocumentBuilder
from nkhr_events.documents.settings import SettingsChange, update_settings
from nkhr_events.events.dates import format_days
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.invitations import protected
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.outbox.periodic import run_periodic_tasks
from nkhr_events.registrations.links import issue_manage_token
from nkhr_events.registrations.models import Registration
from nkhr_events.registrations.services import save_category_settings

#: Rendered pages, kept after the run to be looked at (CI keeps /tmp as the job's artefacts).
ARTEFACTS = Path("/tmp/nkhr-documents")
SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


# --- helpers ------------------------------------------------------------------------------


def past_event(app: Flask, days_ago: int = 10, count: int = 3, **overrides: object) -> int:
    """A published three-day event that ended `days_ago - count + 1` days ago, with the
    organizers' guests (protected guests) enabled."""
    today = datetime.now(SEOUL).date()
    first = today - timedelta(days=days_ago)
    with app.app_context():
        event = make_event(
            days=[first + timedelta(days=i) for i in range(count)],
            title="International Conference on North Korean Human Rights",
            title_ko="북한인권 국제회의",
            title_ja="北朝鮮人権国際会議",
            venue="Press Center",
            venue_ko="프레스센터",
            venue_ja="プレスセンター",
            city_ja="ソウル",
            registration_opens_at=_at(first - timedelta(days=40)),
            registration_closes_at=_at(first - timedelta(days=2)),
            **overrides,
        )
        save_category_settings(event, {"organizers_guest": {"enabled": True}}, actor=SYSTEM)
        db.session.commit()
        return event.id


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), SEOUL)


def attendee(
    app: Flask, event_id: int, attended: Sequence[int] = (0,), **fields: object
) -> tuple[int, str]:
    """A confirmed registration of the past event, checked in on the days at the indexes
    `attended`; returns its id and a private link token."""
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event is not None
        registration = make_registration(
            event=event, now=_at(event.day_list[0] - timedelta(days=10)), **fields
        )
        for index in attended:
            day = event.day_list[index]
            check_in(registration, day, actor=SYSTEM, at=_at(day), now=_at(day))
        token = issue_manage_token(registration)
        db.session.commit()
        return registration.id, token


def guest(app: Flask, event_id: int, attended: Sequence[int] = (0,)) -> int:
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event is not None
        registration = protected.register_protected(
            event,
            protected.ProtectedInput(
                pseudonym="Guest Seven", real_name="박영수", category="organizers_guest",
                language="ko", privacy_consent=True,
            ),
            _at(event.day_list[0] - timedelta(days=10)),
            actor=SYSTEM,
        )
        for index in attended:
            day = event.day_list[index]
            check_in(registration, day, actor=SYSTEM, at=_at(day), now=_at(day))
        db.session.commit()
        return registration.id


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def squeezed(value: str) -> str:
    """Text without any whitespace: a long address may wrap over lines."""
    return re.sub(r"\s+", "", value)


def pdf_language(data: bytes) -> str:
    root = PdfReader(io.BytesIO(data)).trailer["/Root"]
    return str(root["/Lang"])


def the_document(app: Flask, registration_id: int) -> IssuedDocument:
    with app.app_context():
        documents = list(db.session.scalars(db.select(IssuedDocument).where(
            IssuedDocument.registration_id == registration_id)))
        assert len(documents) == 1, documents
        db.session.expunge(documents[0])
        return documents[0]


def actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.id)))


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model)) or 0


def set_letterhead(app: Flask) -> None:
    image = Image.new("RGBA", (300, 90), (0, 0, 0, 0))
    for x in range(20, 280):
        image.putpixel((x, 45 + (x % 30) - 15), (10, 20, 110, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    with app.app_context():
        update_settings(SettingsChange(
            organisation_name="Citizens' Alliance for North Korean Human Rights",
            organisation_address="Seoul, Jung-gu, Sejong-daero 124\n04520 Republic of Korea",
            signatory_name="Kim Young-ja",
            signatory_title="Secretary General",
            visa_purge_days=30,
            signature_png=out.getvalue(),
        ), actor=SYSTEM)
        db.session.commit()


# --- the engine -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ko", "ja"])
def test_the_engine_writes_real_text_in_any_mix_of_scripts(app: Flask, language: str) -> None:
    """A Korean attendee's Latin passport name in a Japanese document, Kanji in a Korean one:
    every call takes any mix of Latin, Hangul, Kana and Han, and it comes back out as text."""
    mixed = "김민지 KIM Min-ji 山田花子 やまだ ヤマダ Zürich – №7"
    with app.app_context(), app.test_request_context():
        builder = DocumentBuilder(language, f"Title {language} 제목 表題")
        builder.letterhead()
        builder.heading(f"Heading {mixed}")
        builder.paragraph(f"Paragraph {mixed} " * 6)
        builder.facts([("이름 / 氏名 / Name", mixed), ("Empty", "")])
        builder.signature()
        builder.verification("http://localhost/verify/NKHR-2027-ABCDEF/ABCD-EFGH-JKMN",
                             "NKHR-2027-ABCDEF")
        data = builder.output()
    body = pdf_text(data)
    for word in ("김민지", "KIM Min-ji", "山田花子", "やまだ", "ヤマダ", "Zürich",
                 "NKHR-2027-ABCDEF"):
        assert word in body, (word, body)
    assert "http://localhost/verify/NKHR-2027-ABCDEF/ABCD-EFGH-JKMN" in squeezed(body)
    reader = PdfReader(io.BytesIO(data))
    assert pdf_language(data) == {"en": "en", "ko": "ko-KR", "ja": "ja-JP"}[language]
    assert reader.metadata is not None and reader.metadata.title == f"Title {language} 제목 表題"
    root = reader.trailer["/Root"]
    # Tagged: a structure tree with headings and paragraphs, and marked as such.
    assert bool(root["/MarkInfo"]["/Marked"])
    kinds: set[str] = set()
    pending = [root["/StructTreeRoot"]]
    while pending:
        node = pending.pop().get_object()
        if hasattr(node, "get") and node.get("/S") is not None:
            kinds.add(str(node["/S"]))
        kids = node.get("/K") if hasattr(node, "get") else None
        if isinstance(kids, list):
            pending.extend(k for k in kids if hasattr(k, "get_object"))
        elif kids is not None and hasattr(kids, "get_object"):
            pending.append(kids)
    assert {"/H1", "/P", "/Figure"} <= kinds, kinds
    # Only subsets of the fonts are embedded (a tag before the name), so a page stays small.
    fonts = {str(font.get_object()["/BaseFont"])
             for font in reader.pages[0]["/Resources"]["/Font"].values()}
    assert fonts and all(re.match(r"/[A-Z]{6}\+NotoSansCJK", name) for name in fonts), fonts
    assert len(data) < 120_000


def test_long_text_goes_on_over_pages(app: Flask) -> None:
    """A paragraph longer than a page is split at the page break (each part tagged on its own
    page); one that fits on a page is moved to the next page whole."""
    with app.app_context(), app.test_request_context():
        builder = DocumentBuilder("ko", "긴 문서")
        builder.paragraph("\n".join(f"{n}번째 줄입니다. Line {n}." for n in range(90)))
        builder.facts([(f"항목 {n}", f"값 {n}") for n in range(30)])
        builder.paragraph("마지막 문단은 한 페이지 안에 들어갑니다.")
        data = builder.output()
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 3
    body = pdf_text(data)
    for n in (0, 45, 89):
        assert f"{n}번째 줄입니다. Line {n}." in body
    assert "항목 29" in body and "마지막 문단은 한 페이지 안에 들어갑니다." in body
    last = reader.pages[-1].extract_text()
    assert "마지막 문단은 한 페이지 안에 들어갑니다." in last


def test_bad_language_is_refused(app: Flask) -> None:
    with app.app_context(), pytest.raises(ValueError):
        DocumentBuilder("fr", "Titre")


# --- certificates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "given", "family", "name"),
    [
        ("en", "Ada", "Lovelace", "Ada Lovelace"),
        ("ko", "민지", "김", "김민지"),
        ("ja", "花子", "山田", "山田花子"),
    ],
)
def test_certificate_names_the_person_and_the_days_attended_in_their_language(
    app: Flask, client: FlaskClient, language: str, given: str, family: str, name: str
) -> None:
    set_letterhead(app)
    event_id = past_event(app)
    registration_id, token = attendee(
        app, event_id, attended=(0, 2), given_name=given, family_name=family, language=language
    )
    page = client.get(f"/registration/{token}").get_data(as_text=True)
    assert f'/registration/{token}/certificate.pdf' in page
    response = client.get(f"/registration/{token}/certificate.pdf")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    data = response.data
    document = the_document(app, registration_id)
    assert document.kind == "certificate" and document.language == language
    assert re.fullmatch(r"NKHR-\d{4}-[0-9A-HJKMNP-TV-Z]{6}", document.reference)
    assert f'filename="certificate-{document.reference}.pdf"' in response.headers[
        "Content-Disposition"]

    with app.app_context():
        event = db.session.get(Event, event_id)
        assert event is not None
        days = event.day_list
        with force_locale(language):
            attended = format_days([days[0], days[2]], language, _("{days}, {year}"))
            every_day = format_days(days, language, _("{days}, {year}"))
            title = {"en": event.title, "ko": event.title_ko, "ja": event.title_ja}[language]
            heading = _("Certificate of attendance")
    assert attended != every_day
    statements = dict(document.statements)
    assert name in statements.values()
    assert attended in statements.values()
    body = pdf_text(data)
    for expected in (name, title, document.reference, heading, "Kim Young-ja",
                     "Citizens' Alliance for North Korean Human Rights"):
        assert expected in body, (expected, body)
    assert squeezed(attended) in squeezed(body)
    assert squeezed(every_day) not in squeezed(body)
    assert f"http://localhost/verify/{document.reference}/" in squeezed(body)
    assert pdf_language(data) == {"en": "en", "ko": "ko-KR", "ja": "ja-JP"}[language]

    # Issued once: the same document, reference and code on every download.
    again = client.get(f"/registration/{token}/certificate.pdf")
    assert again.status_code == 200
    assert the_document(app, registration_id).reference == document.reference
    # The code's own shape: in Korean and Japanese the sentence goes on right after it.
    printed = r"/verify/NKHR-\d{4}-\w{6}/([0-9A-Z]{4}(?:-[0-9A-Z]{4}){2})"
    code = re.search(printed, squeezed(body))
    code_again = re.search(printed, squeezed(pdf_text(again.data)))
    assert code and code_again and code.group(1) == code_again.group(1)
    # The code is printed on a line of its own as well, for typing into the form.
    assert any(line.strip().endswith(code.group(1)) and "/" not in line
               for line in body.splitlines()), body
    assert actions(app).count("documents.issue_certificate") == 1


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None,
    reason="pdftoppm (Debian's poppler-utils) is not installed: the pages are not rendered; "
    ".ci/run installs it",
)
def test_certificate_pages_render_to_png(app: Flask, client: FlaskClient) -> None:
    """Each language's certificate drawn by poppler, kept under /tmp/nkhr-documents to be
    looked at; the check here is that the page has ink in the places it should."""
    set_letterhead(app)
    event_id = past_event(app)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    people = {"en": ("Ada", "Lovelace"), "ko": ("민지", "김"), "ja": ("花子", "山田")}
    for language, (given, family) in people.items():
        _id, token = attendee(app, event_id, attended=(0, 1), given_name=given,
                              family_name=family, language=language)
        data = client.get(f"/registration/{token}/certificate.pdf").data
        pdf = ARTEFACTS / f"certificate-{language}.pdf"
        pdf.write_bytes(data)
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", "-singlefile", str(pdf),
             str(ARTEFACTS / f"certificate-{language}")],
            check=True, timeout=60,
        )
        with Image.open(ARTEFACTS / f"certificate-{language}.png") as page:
            grey = page.convert("L")
            width, height = grey.size
            assert width < height  # portrait A4

            def ink(top: float, bottom: float, grey: Image.Image = grey) -> int:
                """Dark pixels between two heights (fractions of the page)."""
                w, h = grey.size
                return sum(grey.crop((0, int(top * h), w, int(bottom * h))).histogram()[:128])

            assert ink(0.0, 0.15) > 200  # letterhead
            assert ink(0.15, 0.45) > 500  # heading, paragraph, facts
            assert ink(0.45, 1.0) > 500  # signature, verification and QR code


def test_no_certificate_before_the_event_is_over(app: Flask, client: FlaskClient) -> None:
    event_id = past_event(app, days_ago=1)  # its last day is tomorrow
    registration_id, token = attendee(app, event_id, attended=(0,))
    page = client.get(f"/registration/{token}").get_data(as_text=True)
    assert "certificate.pdf" not in page
    response = client.get(f"/registration/{token}/certificate.pdf")
    assert response.status_code == 409
    assert "available after the event" in response.get_data(as_text=True)
    assert count(app, IssuedDocument) == 0


def test_no_certificate_without_a_check_in(app: Flask, client: FlaskClient) -> None:
    event_id = past_event(app)
    _registration_id, token = attendee(app, event_id, attended=())
    assert "certificate.pdf" not in client.get(f"/registration/{token}").get_data(as_text=True)
    response = client.get(f"/registration/{token}/certificate.pdf")
    assert response.status_code == 409
    assert "checked in" in response.get_data(as_text=True)
    assert count(app, IssuedDocument) == 0


def test_the_event_clock_decides_when_it_is_over(app: Flask) -> None:
    with app.app_context():
        event = make_event(days=[date(2027, 3, 10)], timezone="Asia/Seoul")
        # 15:30 UTC on the 10th is already the 11th in Seoul; 14:00 UTC is still the 10th.
        utc = ZoneInfo("UTC")
        assert certificates.event_is_over(event, datetime(2027, 3, 10, 15, 30, tzinfo=utc))
        assert not certificates.event_is_over(event, datetime(2027, 3, 10, 14, 0, tzinfo=utc))


def test_protected_guest_gets_theirs_through_staff_under_the_real_name(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = past_event(app)
    registration_id = guest(app, event_id, attended=(1,))
    auth.member(event_id, "reviewer")
    url = f"/manage/events/{event_id}/registrations/{registration_id}/certificate.pdf"
    assert client.get(url).status_code == 404
    auth.sign_out()
    auth.member(event_id, "organizer")
    person = client.get(f"/manage/registrations/{registration_id}").get_data(as_text=True)
    assert url in person
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    body = pdf_text(response.data)
    assert "박영수" in body and "Guest Seven" not in body
    assert pdf_language(response.data) == "ko-KR"
    assert the_document(app, registration_id).language == "ko"


def test_statements_are_encrypted_at_rest(app: Flask, client: FlaskClient) -> None:
    event_id = past_event(app)
    registration_id, token = attendee(app, event_id, given_name="Unique", family_name="Zebra")
    client.get(f"/registration/{token}/certificate.pdf")
    with app.app_context():
        raw = db.session.execute(text(
            "select statements, code_hash from issued_document where registration_id = :r"
        ), {"r": registration_id}).one()
    assert "Zebra" not in str(raw.statements)
    document = the_document(app, registration_id)
    assert ["Name", "Unique Zebra"] in document.statements
    # Only the code's hash is kept, and the code is not anywhere in the row.
    with app.app_context():
        code = services.document_code(db.session.get(IssuedDocument, document.id))
    assert raw.code_hash == services._code_hash(code)
    assert services.normalize(code) not in str(raw)


# --- verification -------------------------------------------------------------------------


def issued(app: Flask, client: FlaskClient, language: str = "en") -> tuple[IssuedDocument, str]:
    event_id = past_event(app)
    registration_id, token = attendee(app, event_id, given_name="Ada", family_name="Lovelace",
                                      language=language)
    assert client.get(f"/registration/{token}/certificate.pdf").status_code == 200
    document = the_document(app, registration_id)
    with app.app_context():
        code = services.document_code(db.session.get(IssuedDocument, document.id))
    return document, code


def test_valid_document_shows_what_it_states(app: Flask, client: FlaskClient) -> None:
    document, code = issued(app, client, language="ko")
    response = client.get(f"/verify/{document.reference}/{code}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="verify-status">Valid<' in page
    for label, value in document.statements:
        assert label in page and value in page
    assert 'lang="ko"' in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    # Typed into the form, in lower case with spaces, and O for 0: the same answer.
    typed = client.get("/verify", query_string={
        "reference": document.reference.lower().replace("-", " "),
        "code": code.lower().replace("0", "o"),
    })
    assert typed.status_code == 200 and "Valid" in typed.get_data(as_text=True)
    # A success is recorded, without the reader's address.
    with app.app_context():
        entries = db.session.scalars(db.select(AuditEntry).where(
            AuditEntry.action == "documents.verified")).all()
        assert len(entries) == 2 and all(e.ip is None for e in entries)


def test_the_form_works_in_the_readers_language(app: Flask, client: FlaskClient) -> None:
    page = client.get("/verify", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert 'name="reference"' in page and 'name="code"' in page
    assert '<form method="get"' in page


def test_revoked_document_says_so(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    document, code = issued(app, client)
    auth.member(document.event_id, "organizer")
    revoke_url = f"/manage/events/{document.event_id}/documents/{document.id}/revoke"
    listing = client.get(f"/manage/events/{document.event_id}/documents").get_data(as_text=True)
    assert document.reference in listing and revoke_url in listing
    confirm = client.get(revoke_url)
    assert confirm.status_code == 200 and "Ada Lovelace" in confirm.get_data(as_text=True)
    # No reason: refused beside the field, nothing revoked.
    refused = client.post(revoke_url, data={"reason": ""})
    assert refused.status_code == 200 and "Enter the reason." in refused.get_data(as_text=True)
    assert the_document(app, document.registration_id).revoked_at is None
    response = client.post(revoke_url, data={"reason": "Issued to the wrong person"})
    assert response.status_code == 303
    revoked = the_document(app, document.registration_id)
    assert revoked.revoked_at is not None and revoked.revoked_reason == "Issued to the wrong person"
    assert "documents.revoke" in actions(app)
    auth.sign_out()
    page = client.get(f"/verify/{document.reference}/{code}").get_data(as_text=True)
    assert 'id="verify-status">Revoked<' in page and "no longer valid" in page
    assert "wrong person" not in page  # the reason stays with the staff


def test_a_wrong_reference_looks_exactly_like_a_wrong_code(
    app: Flask, client: FlaskClient
) -> None:
    document, code = issued(app, client)
    wrong_code = "ZZZZ-ZZZZ-ZZZZ"
    other_reference = "NKHR-2027-ZZZZZZ"
    by_code = client.get(f"/verify/{document.reference}/{wrong_code}")
    by_reference = client.get(f"/verify/{other_reference}/{code}")
    assert by_code.status_code == by_reference.status_code == 404
    a = by_code.get_data(as_text=True).replace(document.reference, "REF").replace(wrong_code, "C")
    b = by_reference.get_data(as_text=True).replace(other_reference, "REF").replace(code, "C")
    assert a == b
    assert "No document matches" in a and "Ada" not in a
    # The form gives the same answer as the link.
    typed = client.get("/verify", query_string={"reference": other_reference, "code": code})
    assert typed.status_code == 404 and "No document matches" in typed.get_data(as_text=True)
    assert "documents.verified" not in actions(app)


@pytest.mark.parametrize(
    "app_settings", [{"RATELIMIT_ENABLED": True, "NKHR_VERIFY_LIMIT": "5 per minute"}]
)
def test_many_wrong_tries_are_refused(app: Flask, client: FlaskClient) -> None:
    statuses = [
        client.get(f"/verify/NKHR-2027-AAAAA{n}/ABCD-EFGH-JKMN").status_code for n in range(5)
    ]
    assert statuses == [404] * 5
    # The form and the link count together; a blank form costs nothing.
    assert client.get("/verify").status_code == 200
    refused = client.get("/verify", query_string={"reference": "NKHR-2027-AAAAAA", "code": "x"})
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers


# --- email all certificates ---------------------------------------------------------------


def certificate_mails(smtp_server: SMTPServer) -> list[EmailMessage]:
    return [m for m in smtp_server.messages if m.get_content_type() == "multipart/mixed"
            and any(p.get_content_type() == "application/pdf" for p in m.iter_attachments())]


def test_email_all_certificates_queues_one_job_and_the_worker_sends_each_once(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    event_id = past_event(app)
    ada, _t = attendee(app, event_id, attended=(0, 1), given_name="Ada", family_name="Lovelace",
                       email="ada@example.org", language="en")
    minji, _t = attendee(app, event_id, attended=(2,), given_name="민지", family_name="김",
                         email="minji@example.kr", language="ko")
    hanako, _t = attendee(app, event_id, attended=(0,), given_name="花子", family_name="山田",
                          email="hanako@example.jp", language="ja")
    attendee(app, event_id, attended=(), email="absent@example.org")
    guest(app, event_id, attended=(0,))
    with app.app_context():
        deliver_due()  # the registration emails, out of the way (none has a PDF)

    auth.member(event_id, "organizer")
    with app.app_context():
        queued_before = db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage))
    response = client.post(f"/manage/events/{event_id}/certificates/email")
    assert response.status_code == 303
    # The request queued one job and nothing else: no document, no email, no PDF yet.
    assert count(app, CertificateMailing) == 1
    assert count(app, IssuedDocument) == 0
    assert count(app, OutboxMessage) == queued_before
    assert "documents.certificates_mail" in actions(app)
    # Asked again while it waits: refused, still one job.
    again = client.post(f"/manage/events/{event_id}/certificates/email", follow_redirects=True)
    assert "already being sent" in again.get_data(as_text=True)
    assert count(app, CertificateMailing) == 1

    with app.app_context():
        outcome = run_periodic_tasks(force=True)
        assert outcome["documents.certificate_mailings"] is True
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == (
            queued_before + 3)
        deliver_due()
    mails = certificate_mails(smtp_server)
    assert sorted(m["To"] for m in mails) == [
        "ada@example.org", "hanako@example.jp", "minji@example.kr"]
    subjects = {m["To"]: m["Subject"] for m in mails}
    titles = {"ada@example.org": ("en", "International Conference on North Korean Human Rights"),
              "minji@example.kr": ("ko", "북한인권 국제회의"),
              "hanako@example.jp": ("ja", "北朝鮮人権国際会議")}
    for address, (language, title) in titles.items():
        with app.test_request_context(), force_locale(language):
            expected = _("Your certificate of attendance: %(event)s", event=title)
        assert subjects[address] == expected
    for mail, registration_id, name, language in (
        (next(m for m in mails if m["To"] == "ada@example.org"), ada, "Ada Lovelace", "en"),
        (next(m for m in mails if m["To"] == "minji@example.kr"), minji, "김민지", "ko"),
        (next(m for m in mails if m["To"] == "hanako@example.jp"), hanako, "山田花子", "ja"),
    ):
        document = the_document(app, registration_id)
        pdf = next(p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf")
        assert pdf.get_filename() == f"certificate-{document.reference}.pdf"
        data = pdf.get_content()
        assert name in pdf_text(data) and document.reference in pdf_text(data)
        assert pdf_language(data).startswith(language)
        assert document.reference in mail.get_body(("plain",)).get_content()

    # Run twice: nobody is emailed again.
    sent_before = len(smtp_server.messages)
    assert client.post(f"/manage/events/{event_id}/certificates/email").status_code == 303
    with app.app_context():
        run_periodic_tasks(force=True)
        deliver_due()
        mailings = db.session.scalars(db.select(CertificateMailing).order_by(
            CertificateMailing.id)).all()
        assert [m.queued for m in mailings] == [3, 0]
    assert len(smtp_server.messages) == sent_before
    assert count(app, IssuedDocument) == 3


def test_email_all_is_refused_before_the_event_ends(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = past_event(app, days_ago=1)
    auth.member(event_id, "organizer")
    page = client.get(f"/manage/events/{event_id}/documents").get_data(as_text=True)
    assert "email-certificates" not in page
    response = client.post(f"/manage/events/{event_id}/certificates/email",
                           follow_redirects=True)
    assert "available after the event" in response.get_data(as_text=True)
    assert count(app, CertificateMailing) == 0


# --- codes and keys -----------------------------------------------------------------------


def test_a_replaced_secret_key_still_prints_the_same_code(app: Flask, client: FlaskClient) -> None:
    document, code = issued(app, client)
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "a-new-secret-key"
    with app.app_context():
        stored = db.session.get(IssuedDocument, document.id)
        assert services.document_code(stored) == code
        app.config["SECRET_KEY_FALLBACKS"] = []
        with pytest.raises(services.CodeUnavailable):
            services.document_code(stored)
    # Verification compares the stored hash: the printed code still verifies.
    assert client.get(f"/verify/{document.reference}/{code}").status_code == 200


# --- settings -----------------------------------------------------------------------------


def test_admin_sets_the_letterhead_and_signature(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    assert client.get("/manage/documents/settings").status_code == 403
    auth.sign_out()
    auth.admin()
    page = client.get("/manage/documents/settings")
    assert page.status_code == 200
    assert count(app, DocumentSettings) == 0  # reading writes nothing
    image = Image.new("RGB", (600, 200), "white")
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    upload = io.BytesIO()
    image.save(upload, "JPEG", exif=exif)
    form = {
        "organisation_name": "Citizens' Alliance",
        "organisation_address": "Seoul\nRepublic of Korea",
        "signatory_name": "Kim Young-ja",
        "signatory_title": "Secretary General",
        "visa_purge_days": "30",
    }
    # A bad number and a file that is not an image: messages beside the fields, input kept.
    bad = client.post("/manage/documents/settings", data={
        **form, "visa_purge_days": "0",
        "signature": (io.BytesIO(b"not an image"), "sig.png"),
    }, content_type="multipart/form-data")
    body = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert "Enter a number from 1 to 365." in body
    assert "not a PNG or JPEG image" in body
    assert "Kim Young-ja" in body
    assert count(app, DocumentSettings) == 0
    response = client.post("/manage/documents/settings", data={
        **form, "signature": (io.BytesIO(upload.getvalue()), "sig.jpg"),
    }, content_type="multipart/form-data")
    assert response.status_code == 303
    with app.app_context():
        stored = db.session.get(DocumentSettings, 1)
        assert stored is not None and stored.signatory_name == "Kim Young-ja"
        assert stored.signature_png is not None
        kept = Image.open(io.BytesIO(stored.signature_png))
        assert kept.format == "PNG" and not kept.getexif() and b"secret" not in stored.signature_png
    assert actions(app).count("documents.settings_update") == 1
    # The same again changes nothing and records nothing.
    client.post("/manage/documents/settings", data=form)
    assert actions(app).count("documents.settings_update") == 1
    preview = client.get("/manage/documents/settings/signature.png")
    assert preview.mimetype == "image/png"


def test_staff_pages_are_for_organizers_and_admins(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = past_event(app)
    for role in ("reviewer", "door", "liaison"):
        auth.member(event_id, role)
        assert client.get(f"/manage/events/{event_id}/documents").status_code == 404, role
        assert client.post(f"/manage/events/{event_id}/certificates/email").status_code == 404
        auth.sign_out()
    auth.member(event_id, "organizer")
    assert client.get(f"/manage/events/{event_id}/documents").status_code == 200
    assert count(app, CertificateMailing) == 0


def test_registration_language_outside_the_three_falls_back_to_english(app: Flask) -> None:
    with app.app_context():
        assert certificates.document_language(Registration(language="fr")) == "en"
