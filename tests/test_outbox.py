"""The outbox: messages exist exactly when the caller commits, arrive at a real SMTP server
with the right headers, parts and attachments, and survive outages, refusals and crashes."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from factories import make_event
from icalendar import Calendar
from smtp import smtp_settings
from sqlalchemy import func

from nkhr_events.dbtypes import utcnow
from nkhr_events.events.calendar import calendar_attachment
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import claim_due, deliver_due
from nkhr_events.outbox.models import OutboxMessage, OutboxStatus
from nkhr_events.outbox.services import Attachment, enqueue_email

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


def queue_ack(to: str = "person@example.org", language: str = "en", **options) -> int:
    message = enqueue_email(
        to=to,
        template="inquiry_ack",
        language=language,
        context={"reference": "Q-00007"},
        **options,
    )
    db.session.commit()
    return message.id


def outbox_row(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def test_message_arrives_with_headers_both_parts_and_its_calendar(app, smtp_server):
    with app.app_context():
        event = make_event(days=[date(2000, 12, 8)], title="The 2nd International Conference")
        invitation = calendar_attachment(event, uid="registration-7@localhost", sequence=1)
        message_id = queue_ack(attachments=[invitation])
        message_id_header = outbox_row(message_id).message_id
        report = deliver_due()
        row = outbox_row(message_id)
        assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 1, None)
        assert row.sent_at is not None and row.locked_until is None
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)

    [received] = smtp_server.received
    assert received.rcpt_tos == ("person@example.org",)
    assert received.mail_from == "conference@localhost"
    mail = received.message
    assert mail["From"] == "NKHR Conferences <conference@localhost>"
    assert mail["To"] == "person@example.org"
    assert mail["Subject"] == "We received your message (reference Q-00007)"
    assert mail["Message-ID"] == message_id_header
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "reference Q-00007" in text and "<" not in text.split("--")[0]
    assert '<html lang="en">' in html and "reference Q-00007" in html
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "event.ics"
    calendar = Calendar.from_ical(attachment.get_payload(decode=True))
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["uid"]) == "registration-7@localhost"
    assert vevent.decoded("dtstart") == date(2000, 12, 8)
    assert vevent.decoded("dtend") == date(2000, 12, 9)


def test_message_is_rendered_in_the_recipients_language_when_queued(app, smtp_server):
    with app.app_context():
        queue_ack(language="ko")
        queue_ack(to="other@example.org", language="en")
        deliver_due()
    by_recipient = {r.rcpt_tos[0]: r.message for r in smtp_server.received}
    korean, english = by_recipient["person@example.org"], by_recipient["other@example.org"]
    assert HANGUL.search(korean["Subject"]) and "Q-00007" in korean["Subject"]
    assert HANGUL.search(korean.get_body(("plain",)).get_content())
    assert '<html lang="ko">' in korean.get_body(("html",)).get_content()
    assert not HANGUL.search(english.get_body(("plain",)).get_content())


def test_rolled_back_transaction_leaves_no_message(app, smtp_server):
    with app.app_context():
        enqueue_email(
            to="person@example.org",
            template="inquiry_ack",
            language="en",
            context={"reference": "Q-00001"},
        )
        db.session.rollback()
        assert db.session.scalar(db.select(func.count(OutboxMessage.id))) == 0
        assert deliver_due().claimed == 0
    assert smtp_server.received == []


def test_unsendable_addresses_and_attachments_are_refused_when_queued(app):
    with app.app_context():
        for bad in ["person@example.org\r\nBcc: victim@example.org", "two@a.org, b@b.org", "x"]:
            with pytest.raises(ValueError):
                enqueue_email(bad, "inquiry_ack", "en", {"reference": "Q"})
        with pytest.raises(ValueError):
            enqueue_email(
                "a@example.org", "inquiry_ack", "en", {"reference": "Q"},
                reply_to="Mallory <m@example.org>\r\nBcc: victim@example.org",
            )
        with pytest.raises(ValueError):
            enqueue_email(
                "a@example.org", "inquiry_ack", "en", {"reference": "Q"},
                attachments=[Attachment("a.ics", "text/calendar\r\nBcc: v@example.org", b"x")],
            )
        with pytest.raises(ValueError):
            enqueue_email("a@example.org", "inquiry_ack", "fr", {"reference": "Q"})
        with pytest.raises(ValueError):
            enqueue_email("a@example.org", "../base", "en", {})


def test_subject_and_reply_to_name_with_line_breaks_cannot_add_headers(app, smtp_server):
    injected = "Hello\r\nBcc: victim@example.org\r\nX-Injected: yes"
    with app.app_context():
        message = enqueue_email(
            to="team@example.org",
            template="inquiry_received",
            language="en",
            context={
                "reference": "Q-00009", "name": "Mallory", "email": "m@example.org",
                "subject": injected, "message": "Hi", "language_name": "English",
                "received": "now",
            },
            reply_to=("Mallory\r\nBcc: victim@example.org", "m@example.org"),
        )
        db.session.commit()
        assert deliver_due().sent == 1
        assert message.status == OutboxStatus.SENT
    [received] = smtp_server.received
    assert received.rcpt_tos == ("team@example.org",)
    header_block = received.data.split(b"\r\n\r\n", 1)[0].decode()
    assert not re.search(r"^(Bcc|X-Injected):", header_block, re.MULTILINE | re.IGNORECASE)
    mail = received.message
    assert mail["Bcc"] is None and mail["X-Injected"] is None
    assert mail["Subject"] == (
        "Contact form Q-00009: Hello Bcc: victim@example.org X-Injected: yes"
    )
    [reply_to] = mail["Reply-To"].addresses
    assert reply_to.addr_spec == "m@example.org"
    assert reply_to.display_name == "Mallory Bcc victim example.org"


@pytest.mark.parametrize(
    "name",
    [
        "Eve, victim@example.org",
        '"Eve" <victim@example.org>',
        "Eve; victim@example.org",
        "이브: victim@example.org (Eve)",
    ],
)
def test_a_display_name_never_becomes_a_second_address(app, smtp_server, name):
    # A long address makes the email package refold the header, which once undid the quoting.
    address = "a-rather-long-mailbox-name-for-folding@organization.example.org"
    with app.app_context():
        queue_ack(reply_to=(name, address))
        assert deliver_due().sent == 1
    [received] = smtp_server.received
    addresses = received.message["Reply-To"].addresses
    assert [a.addr_spec for a in addresses] == [address]
    assert "victim" in addresses[0].display_name


def test_long_lines_are_encoded_so_the_server_accepts_them(app, smtp_server):
    paragraph = "A paragraph typed without a line break. " * 80
    with app.app_context():
        enqueue_email(
            to="team@example.org",
            template="inquiry_received",
            language="en",
            context={
                "reference": "Q-00010", "name": "Kim", "email": "kim@example.org",
                "subject": "Long", "message": paragraph, "language_name": "English",
                "received": "now",
            },
        )
        db.session.commit()
        assert deliver_due().sent == 1
    [received] = smtp_server.received
    assert max(len(line) for line in received.data.split(b"\r\n")) <= 998
    assert paragraph.strip() in received.message.get_body(("plain",)).get_content()


def test_server_outage_keeps_the_message_queued_until_the_server_is_back(app, smtp_server):
    smtp_server.stop()
    with app.app_context():
        message_id = queue_ack()
        before = utcnow()
        report = deliver_due()
        assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
        row = outbox_row(message_id)
        assert row.status == OutboxStatus.QUEUED and row.attempts == 1
        assert "Connection refused" in row.last_error
        wait = row.next_attempt_at - before
        assert timedelta(seconds=55) < wait < timedelta(minutes=2)
        # Not due again yet.
        assert deliver_due().claimed == 0

        smtp_server.start()
        report = deliver_due(now=utcnow() + timedelta(minutes=2))
        assert report.sent == 1
        row = outbox_row(message_id)
        assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 2, None)
    assert len(smtp_server.received) == 1


def test_temporary_refusal_is_retried_with_growing_delays(app, smtp_server):
    smtp_server.answer("451 4.3.0 Mail server temporarily busy")
    with app.app_context():
        message_id = queue_ack()
        start = utcnow()
        deliver_due(now=start)
        first = outbox_row(message_id)
        assert first.status == OutboxStatus.QUEUED
        assert first.last_error == "451 4.3.0 Mail server temporarily busy"
        assert first.next_attempt_at == start + timedelta(minutes=1)

        later = start + timedelta(minutes=1)
        deliver_due(now=later)
        second = outbox_row(message_id)
        assert second.attempts == 2
        assert second.next_attempt_at == later + timedelta(minutes=5)

        smtp_server.answer(None)
        assert deliver_due(now=later + timedelta(minutes=5)).sent == 1
    assert len(smtp_server.received) == 1


def test_permanent_refusal_fails_at_once_with_the_servers_answer(app, smtp_server):
    smtp_server.answer("550 5.1.1 <person@example.org>: Recipient address rejected", "RCPT")
    with app.app_context():
        message_id = queue_ack()
        report = deliver_due()
        assert (report.sent, report.retrying, report.failed) == (0, 0, 1)
        row = outbox_row(message_id)
        assert row.status == OutboxStatus.FAILED and row.attempts == 1
        assert row.last_error == "550 5.1.1 <person@example.org>: Recipient address rejected"
        assert deliver_due(now=utcnow() + timedelta(days=3)).claimed == 0
    assert smtp_server.received == []


def test_retries_run_out_and_the_message_fails_with_its_last_error(app, smtp_server):
    app.config["OUTBOX_RETRY_DELAYS"] = (timedelta(0), timedelta(0))
    smtp_server.answer("421 4.7.0 Try again later")
    with app.app_context():
        message_id = queue_ack()
        report = deliver_due()
        row = outbox_row(message_id)
    assert (report.retrying, report.failed) == (2, 1)
    assert row.status == OutboxStatus.FAILED and row.attempts == 3
    assert row.last_error == "Gave up after 3 attempts. Last error: 421 4.7.0 Try again later"


def test_one_refused_message_does_not_stop_the_others_in_its_batch(app, smtp_server):
    smtp_server.answer("550 5.1.1 No such user", "RCPT", only={"refused@example.org"})
    with app.app_context():
        queue_ack(to="first@example.org")
        refused = queue_ack(to="refused@example.org")
        queue_ack(to="third@example.org")
        report = deliver_due(batch_size=10)
        assert outbox_row(refused).status == OutboxStatus.FAILED
    assert (report.claimed, report.sent, report.failed) == (3, 2, 1)
    assert [r.rcpt_tos[0] for r in smtp_server.received] == [
        "first@example.org", "third@example.org"
    ]


def test_a_crashed_sending_row_is_retried_once_its_lease_expires(app, smtp_server):
    with app.app_context():
        crashed = queue_ack(to="crashed@example.org")
        busy = queue_ack(to="busy@example.org")
        now = utcnow()
        # Two rows a worker claimed: one whose worker died long ago, one still leased.
        for message_id, locked_until in ((crashed, now - timedelta(minutes=1)),
                                         (busy, now + timedelta(minutes=5))):
            row = db.session.get(OutboxMessage, message_id)
            row.status, row.attempts, row.locked_until = OutboxStatus.SENDING, 1, locked_until
        db.session.commit()

        report = deliver_due(now=now)
        assert report.sent == 1
        assert outbox_row(crashed).status == OutboxStatus.SENT
        assert outbox_row(crashed).attempts == 2
        assert outbox_row(busy).status == OutboxStatus.SENDING
    assert [r.rcpt_tos for r in smtp_server.received] == [("crashed@example.org",)]


def test_a_message_sent_again_after_a_crash_keeps_its_message_id(app, smtp_server):
    with app.app_context():
        message_id = queue_ack()
        assert deliver_due().sent == 1
        # The worker died after the server accepted the message, before it recorded that.
        row = outbox_row(message_id)
        row.status, row.locked_until = OutboxStatus.SENDING, utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert deliver_due().sent == 1
        header = outbox_row(message_id).message_id
    first, second = smtp_server.received
    assert first.message["Message-ID"] == second.message["Message-ID"] == header


def test_a_message_that_keeps_killing_its_worker_ends_failed(app, smtp_server):
    with app.app_context():
        message_id = queue_ack()
        row = outbox_row(message_id)
        row.status, row.attempts = OutboxStatus.SENDING, 8
        row.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert deliver_due().failed == 1
        row = outbox_row(message_id)
    assert row.status == OutboxStatus.FAILED
    assert "interrupted" in row.last_error
    assert smtp_server.received == []


def test_claiming_marks_rows_sending_with_a_lease(app):
    with app.app_context():
        message_id = queue_ack()
        now = utcnow()
        assert claim_due(now, 10) == [message_id]
        row = outbox_row(message_id)
        assert row.status == OutboxStatus.SENDING and row.attempts == 1
        assert row.locked_until == now + timedelta(seconds=600)
        assert claim_due(now, 10) == []


def test_cancelled_messages_are_never_sent(app, smtp_server):
    with app.app_context():
        message_id = queue_ack()
        row = outbox_row(message_id)
        row.status = OutboxStatus.CANCELLED
        db.session.commit()
        assert deliver_due().claimed == 0
    assert smtp_server.received == []


def test_send_command_delivers_what_is_due_and_reports(app, runner, smtp_server):
    with app.app_context():
        queue_ack()
        queue_ack(to="other@example.org")
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "Outbox: 2 sent, 0 to retry later, 0 failed." in result.output
    assert len(smtp_server.received) == 2
    status = runner.invoke(args=["outbox", "status"])
    assert re.search(r"^sent\s+2$", status.output, re.MULTILINE)


def test_a_reply_reaches_the_team_not_the_sending_address(app, smtp_server):
    """The emails say "reply to this email" or name the team: with no Reply-To of its own, a
    message answers to the team's address; the team's own mail has none."""
    with app.app_context():
        team = app.config["NKHR_TEAM_EMAIL"]
        enqueue_email(to="person@example.org", template="inquiry_ack", language="ja",
                      context={"reference": "Q-00002"})
        enqueue_email(to=team, template="inquiry_ack", language="en",
                      context={"reference": "Q-00003"})
        db.session.commit()
        deliver_due()
    by_recipient = {str(m["To"]): m for m in smtp_server.messages}
    [reply_to] = by_recipient["person@example.org"]["Reply-To"].addresses
    assert reply_to.addr_spec == team
    assert by_recipient[team]["Reply-To"] is None
