"""Staff read the contact form's inquiries and answer them through the outbox: a list newest
first with an open/answered filter, one inquiry with its emails, a reply in the inquirer's
language that marks it answered, the status set by hand; all audited, admins only, an erased
inquiry shown as erased."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from smtp import smtp_settings

from nkhr_events.audit.models import AuditEntry
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.inquiries.models import Inquiry, InquiryStatus
from nkhr_events.inquiries.services import InquiryInput, submit_inquiry
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage


@pytest.fixture
def app_settings(smtp_server: Any) -> dict[str, Any]:
    return smtp_settings(smtp_server)


def ask(app: Flask, subject: str, language: str = "en", minutes_ago: int = 0,
        email: str = "asker@example.org") -> int:
    with app.app_context():
        inquiry = submit_inquiry(InquiryInput("Sun Asker", email, subject,
                                              f"About: {subject}", language))
        inquiry.created_at = utcnow() - timedelta(minutes=minutes_ago)
        db.session.commit()
        return inquiry.id


def listed(client: FlaskClient, query: str = "") -> list[str]:
    page = parse(client.get(f"/manage/inquiries/?{query}").get_data(as_text=True))
    return [" ".join(row.find_all("td")[2].text.split())
            for row in page.find_all("tr") if row.get("data-inquiry")]


def audit_actions(app: Flask, inquiry_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            db.select(AuditEntry.action).where(AuditEntry.object_type == "inquiry",
                                               AuditEntry.object_id == inquiry_id)
            .order_by(AuditEntry.id)))


def test_the_list_is_newest_first_and_filters_by_status(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    ask(app, "Old question", minutes_ago=30)
    done = ask(app, "Answered question", minutes_ago=20)
    ask(app, "New question", minutes_ago=10)
    with app.app_context():
        found = db.session.get(Inquiry, done)
        assert found is not None
        found.status = InquiryStatus.ANSWERED
        db.session.commit()
    auth.admin()
    assert listed(client) == ["New question", "Answered question", "Old question"]
    assert listed(client, "status=open") == ["New question", "Old question"]
    assert listed(client, "status=answered") == ["Answered question"]
    assert listed(client, "status=nonsense") == listed(client)
    page = parse(client.get("/manage/inquiries/?status=open").get_data(as_text=True))
    assert "Open (2)" in page.text and "Answered (1)" in page.text
    home = parse(client.get("/manage/").get_data(as_text=True))
    assert home.one(id="inquiries-link").get("href") == "/manage/inquiries/"


def test_a_reply_goes_out_in_the_inquirers_language_marks_answered_and_is_audited(
    app: Flask, client: FlaskClient, auth: Any, smtp_server: Any
) -> None:
    inquiry_id = ask(app, "Visa question", language="ko", email="minji@example.org")
    with app.app_context():
        deliver_due()
    auth.admin()
    page = parse(client.get(f"/manage/inquiries/{inquiry_id}").get_data(as_text=True))
    assert page.one(id="subject").get("value") == "Re: Visa question"
    assert page.one(id="inquiry-message").text == "About: Visa question"
    # The team's copy and the acknowledgement are listed with the inquiry.
    assert "minji@example.org" in page.text
    before = len(smtp_server.messages)
    response = client.post(f"/manage/inquiries/{inquiry_id}/reply", data={
        "subject": "Re: Visa question", "body": "We can send a visa letter after you register."})
    assert response.status_code == 303
    with app.app_context():
        deliver_due()
        inquiry = db.session.get(Inquiry, inquiry_id)
        assert inquiry is not None
        assert inquiry.status == InquiryStatus.ANSWERED and inquiry.answered_at is not None
        assert inquiry.answered_by_id is not None
        reply = db.session.scalars(db.select(OutboxMessage).where(
            OutboxMessage.inquiry_id == inquiry_id).order_by(OutboxMessage.id.desc())).first()
        assert reply is not None and reply.recipient == "minji@example.org"
    [email] = smtp_server.messages[before:]
    assert email["To"] == "minji@example.org"
    assert email["Subject"] == "Re: Visa question"
    text = email.get_body(("plain",)).get_content()
    assert "We can send a visa letter after you register." in text
    assert text.lstrip().startswith("안녕하십니까.")  # the frame in the inquirer's language
    assert "Q-" in text  # the reference
    assert audit_actions(app, inquiry_id) == ["inquiry.reply"]
    shown = parse(client.get(f"/manage/inquiries/{inquiry_id}").get_data(as_text=True))
    assert shown.one(id="inquiry-status").text.startswith("Answered")
    assert "Re: Visa question" in shown.text  # the reply among the emails


def test_bad_input_is_shown_beside_the_field_and_kept(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    inquiry_id = ask(app, "Hello")
    auth.admin()
    with app.app_context():
        queued = db.session.query(OutboxMessage).count()
    response = client.post(f"/manage/inquiries/{inquiry_id}/reply",
                           data={"subject": "Re: Hello", "body": ""})
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert page.one(id="body-error").text.strip() == "Write the reply."
    assert page.one(id="body").get("aria-describedby").endswith("body-error")
    assert page.one(id="subject").get("value") == "Re: Hello"
    response = client.post(f"/manage/inquiries/{inquiry_id}/reply",
                           data={"subject": "x" * 201, "body": "Kept text"})
    page = parse(response.get_data(as_text=True))
    assert page.find(id="subject-error") is not None
    assert page.one(id="body").text == "Kept text"
    with app.app_context():
        assert db.session.query(OutboxMessage).count() == queued
        inquiry = db.session.get(Inquiry, inquiry_id)
        assert inquiry is not None and inquiry.status == InquiryStatus.OPEN
    assert audit_actions(app, inquiry_id) == []


def test_the_status_is_set_by_hand_audited_and_unchanged_writes_nothing(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    inquiry_id = ask(app, "Phoned instead")
    auth.admin()
    url = f"/manage/inquiries/{inquiry_id}/status"
    assert client.post(url, data={"status": "answered"}).status_code == 303
    assert client.post(url, data={"status": "answered"}).status_code == 303
    assert client.post(url, data={"status": "bogus"}).status_code == 400
    assert audit_actions(app, inquiry_id) == ["inquiry.status"]
    assert client.post(url, data={"status": "open"}).status_code == 303
    with app.app_context():
        inquiry = db.session.get(Inquiry, inquiry_id)
        assert inquiry is not None
        assert inquiry.status == InquiryStatus.OPEN and inquiry.answered_at is None
    assert audit_actions(app, inquiry_id) == ["inquiry.status", "inquiry.status"]
    trail = parse(client.get("/manage/audit/?object_type=inquiry").get_data(as_text=True))
    assert "changed the status of an inquiry" in trail.text


@pytest.mark.parametrize("who", ["organizer", "anonymous"])
def test_only_admins_reach_the_inquiries(
    app: Flask, client: FlaskClient, auth: Any, who: str
) -> None:
    inquiry_id = ask(app, "Private question")
    if who == "organizer":
        auth.organizer()
    for method, url in (("GET", "/manage/inquiries/"), ("GET", f"/manage/inquiries/{inquiry_id}"),
                        ("POST", f"/manage/inquiries/{inquiry_id}/reply"),
                        ("POST", f"/manage/inquiries/{inquiry_id}/status")):
        response = client.open(url, method=method, data={"status": "answered", "body": "x",
                                                         "subject": "x"})
        if who == "organizer":
            assert response.status_code == 403
            assert "Private question" not in response.get_data(as_text=True)
        else:
            assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert audit_actions(app, inquiry_id) == []
    if who == "organizer":
        home = parse(client.get("/manage/").get_data(as_text=True))
        assert home.find(id="inquiries-link") is None


def test_an_erased_inquiry_shows_as_erased_and_cannot_be_answered(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    inquiry_id = ask(app, "Secret subject")
    with app.app_context():
        inquiry = db.session.get(Inquiry, inquiry_id)
        assert inquiry is not None
        inquiry.anonymized_at = utcnow()
        db.session.commit()
    auth.admin()
    assert "Secret subject" not in " ".join(listed(client))
    assert "(erased)" in listed(client)
    page = parse(client.get(f"/manage/inquiries/{inquiry_id}").get_data(as_text=True))
    assert page.find(id="erased") is not None
    assert page.find(id="body") is None and page.find(id="inquiry-message") is None
    response = client.post(f"/manage/inquiries/{inquiry_id}/reply",
                           data={"subject": "Re: x", "body": "Hello"})
    assert response.status_code == 200
    assert "there is no one to answer" in response.get_data(as_text=True)
    assert audit_actions(app, inquiry_id) == []
