"""Staff outbox pages: staff only; counts, filters and pages; a message shown safely with its
error; failed messages sent again, queued ones cancelled."""

from __future__ import annotations

from datetime import date

import pytest
from factories import make_event
from markup import parse
from smtp import smtp_settings

from nkhr_events.events.calendar import calendar_attachment
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage, OutboxStatus
from nkhr_events.outbox.services import enqueue_email


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


def queue(to: str = "person@example.org", status: OutboxStatus = OutboxStatus.QUEUED) -> int:
    message = enqueue_email(to, "inquiry_ack", "en", {"reference": "Q-00003"})
    message.status = status
    db.session.commit()
    return message.id


def row(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def test_outbox_pages_are_for_signed_in_staff_only(app, client):
    with app.app_context():
        message_id = queue()
    for path in ("/manage/outbox/", f"/manage/outbox/{message_id}"):
        response = client.get(path)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    refused = client.post(f"/manage/outbox/{message_id}/cancel")
    assert refused.status_code == 302
    with app.app_context():
        assert row(message_id).status == OutboxStatus.QUEUED


def test_staff_home_links_to_the_outbox(client, auth):
    auth.organizer()
    page = parse(client.get("/manage/").get_data(as_text=True))
    assert page.find("a", href="/manage/outbox/") is not None


def test_list_counts_by_status_and_filters_by_status_and_recipient(app, client, auth):
    with app.app_context():
        queue("ana@example.org")
        queue("ANA.LEE@example.org", OutboxStatus.FAILED)
        queue("bo@example.org", OutboxStatus.SENT)
        queue("cy@example.org", OutboxStatus.SENT)
    auth.organizer()

    page = parse(client.get("/manage/outbox/").get_data(as_text=True))
    counts = {e.get("data-count"): e.text for e in page.find_all("span") if e.get("data-count")}
    assert counts == {"queued": "1", "sending": "0", "sent": "2", "failed": "1", "cancelled": "0"}
    assert len(page.one("tbody").find_all("tr")) == 4

    def recipients(query: str) -> list[str]:
        listing = parse(client.get(f"/manage/outbox/?{query}").get_data(as_text=True))
        body = listing.find("tbody")
        if body is None:
            assert "No message matches." in listing.one("main").text
            return []
        return [tr.find_all("td")[0].text for tr in body.find_all("tr")]

    assert recipients("status=sent") == ["cy@example.org", "bo@example.org"]
    assert recipients("recipient=ana") == ["ANA.LEE@example.org", "ana@example.org"]
    assert recipients("status=failed&recipient=ana") == ["ANA.LEE@example.org"]
    assert recipients("recipient=%25") == []
    # An unknown status is ignored rather than an error.
    assert len(recipients("status=bogus")) == 4


def test_list_is_paginated(app, client, auth):
    with app.app_context():
        for n in range(55):
            queue(f"p{n:02d}@example.org")
    auth.organizer()
    first = parse(client.get("/manage/outbox/").get_data(as_text=True))
    assert len(first.one("tbody").find_all("tr")) == 50
    assert first.one("a", rel="next").get("href") == "/manage/outbox/?page=2"
    second = parse(client.get("/manage/outbox/?page=2").get_data(as_text=True))
    assert [tr.find_all("td")[0].text for tr in second.one("tbody").find_all("tr")] == [
        f"p{n:02d}@example.org" for n in range(4, -1, -1)
    ]


def test_message_page_shows_headers_both_parts_and_attachments_safely(app, client, auth):
    with app.app_context():
        event = make_event(days=[date(2000, 12, 8)])
        message = enqueue_email(
            to="team@example.org",
            template="inquiry_received",
            language="en",
            context={
                "reference": "Q-00004", "name": "Eve", "email": "eve@example.org",
                "subject": "Hello", "message": "<script>alert(1)</script>",
                "language_name": "English", "received": "now",
            },
            attachments=[calendar_attachment(event, uid="registration-4@localhost")],
            reply_to=("Eve", "eve@example.org"),
            inquiry_id=None,
        )
        db.session.commit()
        message_id, message_id_header = message.id, message.message_id
    auth.organizer()
    response = client.get(f"/manage/outbox/{message_id}")
    html = response.get_data(as_text=True)
    page = parse(html)
    facts = page.find_all("dl")[1].text
    assert "NKHR Conferences" in facts and "team@example.org" in facts
    assert '"Eve" <eve@example.org>' in facts
    assert message_id_header in facts
    text_part, html_part = page.find_all("pre")
    assert "<script>alert(1)</script>" in text_part.text
    # The HTML part is shown as source text: its tags are text, nothing in it is markup here.
    assert '<html lang="en">' in html_part.text
    assert "&lt;script&gt;" in html_part.text
    assert "<script" not in html and "<html lang=\"en\">" not in html.split("<body", 1)[1]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    [link] = page.one("table").find_all("a")
    assert link.text == "event.ics"
    download = client.get(link.get("href"))
    assert download.mimetype == "text/calendar"
    assert download.headers["Content-Disposition"] == "attachment; filename=event.ics"
    assert download.data.startswith(b"BEGIN:VCALENDAR")


def test_a_refused_message_shows_the_servers_answer_and_can_be_sent_again(
    app, client, auth, smtp_server
):
    smtp_server.answer("550 5.7.1 Message rejected as spam", "DATA")
    with app.app_context():
        message_id = queue()
        assert deliver_due().failed == 1
    auth.organizer()
    listing = client.get("/manage/outbox/?status=failed").get_data(as_text=True)
    assert "550 5.7.1 Message rejected as spam" in listing
    page = parse(client.get(f"/manage/outbox/{message_id}").get_data(as_text=True))
    assert "550 5.7.1 Message rejected as spam" in page.one("dd", class_="outbox-error").text
    assert page.one("button", type="submit", class_="button").text == "Send again"

    smtp_server.answer(None)
    response = client.post(f"/manage/outbox/{message_id}/retry", follow_redirects=True)
    assert "The message is queued and will be sent again shortly." in response.get_data(
        as_text=True
    )
    with app.app_context():
        assert (row(message_id).status, row(message_id).attempts) == (OutboxStatus.QUEUED, 0)
        assert deliver_due().sent == 1
        assert row(message_id).status == OutboxStatus.SENT
    assert len(smtp_server.received) == 1


def test_a_queued_message_can_be_cancelled_and_is_then_never_sent(
    app, client, auth, smtp_server
):
    with app.app_context():
        message_id = queue()
    auth.organizer()
    response = client.post(f"/manage/outbox/{message_id}/cancel", follow_redirects=True)
    assert "The message is cancelled and will not be sent." in response.get_data(as_text=True)
    with app.app_context():
        assert row(message_id).status == OutboxStatus.CANCELLED
        assert deliver_due().claimed == 0
    assert smtp_server.received == []


def test_only_failed_messages_are_retried_and_only_queued_ones_cancelled(app, client, auth):
    with app.app_context():
        sent = queue(status=OutboxStatus.SENT)
        failed = queue(status=OutboxStatus.FAILED)
    auth.organizer()
    refused = client.post(f"/manage/outbox/{sent}/cancel", follow_redirects=True)
    assert "Only a message that is waiting to be sent can be cancelled." in refused.get_data(
        as_text=True
    )
    refused = client.post(f"/manage/outbox/{sent}/retry", follow_redirects=True)
    assert "Only a failed message can be sent again." in refused.get_data(as_text=True)
    client.post(f"/manage/outbox/{failed}/cancel")
    with app.app_context():
        assert row(sent).status == OutboxStatus.SENT
        assert row(failed).status == OutboxStatus.FAILED
    assert client.get("/manage/outbox/999999").status_code == 404
