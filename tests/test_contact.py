"""The contact form: a valid message is stored with both emails in one commit; bots, floods,
oversized and invalid input are turned away without losing what a person typed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from markup import form_values, parse
from smtp import smtp_settings
from sqlalchemy import func

from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.inquiries.models import Inquiry
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage, OutboxStatus

TEAM = "intl-campaign@localhost"


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


def valid(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Kim Young-hee",
        "email": "younghee@example.org",
        "subject": "Interpretation at the Seoul conference",
        "message": "Will there be interpretation into Korean?\nThank you.",
        "language": "ko",
        "website": "",
    }
    data.update(overrides)
    return data


def count(model) -> int:
    return db.session.scalar(db.select(func.count()).select_from(model))


def test_contact_page_is_linked_from_every_page_and_offers_the_page_language(client):
    home = parse(client.get("/", headers={"Accept-Language": "ko"}).get_data(as_text=True))
    assert home.find("a", href="/contact") is not None
    page = parse(client.get("/contact", headers={"Accept-Language": "ko"}).get_data(as_text=True))
    form = page.one("form", id="contact-form")
    assert form_values(form)["language"] == "ko"
    honeypot = form.one("input", name="website")
    assert honeypot.get("tabindex") == "-1"
    assert any(a.get("aria-hidden") == "true" for a in honeypot.ancestors())


def test_a_message_is_stored_and_both_emails_are_queued_together(app, client, smtp_server):
    response = client.post("/contact", data=valid())
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/contact/thanks")

    with app.app_context():
        inquiry = db.session.scalars(db.select(Inquiry)).one()
        assert (inquiry.name, inquiry.email, inquiry.language) == (
            "Kim Young-hee", "younghee@example.org", "ko"
        )
        assert inquiry.message == "Will there be interpretation into Korean?\nThank you."
        messages = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(m.recipient, m.language, m.inquiry_id, m.status) for m in messages] == [
            (TEAM, "en", inquiry.id, OutboxStatus.QUEUED),
            ("younghee@example.org", "ko", inquiry.id, OutboxStatus.QUEUED),
        ]
        assert messages[0].reply_to == '"Kim Young-hee" <younghee@example.org>'
        assert deliver_due().sent == 2

    team, ack = (r.message for r in smtp_server.received)
    assert team["To"] == TEAM
    assert team["Subject"] == "Contact form Q-00001: Interpretation at the Seoul conference"
    assert team["Reply-To"].addresses[0].addr_spec == "younghee@example.org"
    team_text = team.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Will there be interpretation into Korean?\nThank you." in team_text
    assert "Kim Young-hee <younghee@example.org>" in team_text
    assert "Korean" in team_text
    assert ack["To"] == "younghee@example.org"
    assert "Q-00001" in ack["Subject"]
    ack_text = ack.get_body(("plain",)).get_content().replace("\r\n", "\n")
    # The acknowledgement quotes nothing the visitor typed.
    assert "interpretation" not in ack_text.lower() and "Kim Young-hee" not in ack_text


def test_thank_you_page_says_what_happens_next(client):
    page = parse(client.get("/contact/thanks").get_data(as_text=True))
    text = page.one("main").text
    assert "What happens next" in text
    assert "confirmation with a reference number" in text
    assert "within a few working days" in text


def test_when_mail_is_down_the_inquiry_is_kept_and_mail_follows_later(app, client, smtp_server):
    smtp_server.stop()
    assert client.post("/contact", data=valid()).status_code == 303
    with app.app_context():
        assert count(Inquiry) == 1
        report = deliver_due()
        assert report.retrying == 2
        rows = db.session.scalars(db.select(OutboxMessage)).all()
        assert {(r.status, r.attempts) for r in rows} == {(OutboxStatus.QUEUED, 1)}
        assert all(r.next_attempt_at > utcnow() for r in rows)
        smtp_server.start()
        assert deliver_due(now=utcnow() + timedelta(minutes=2)).sent == 2
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [TEAM, "younghee@example.org"]


def test_line_breaks_in_name_and_subject_are_refused_beside_the_fields_and_nothing_is_sent(
    app, client, smtp_server
):
    """They would end up in the subject and body of the emails (the outbox also keeps every
    header on one line: tests/test_outbox.py)."""
    typed = {
        "name": "Mallory\r\nBcc: victim@example.org",
        "subject": "Hello\r\nBcc: victim@example.org\r\nX-Injected: yes",
    }
    response = client.post("/contact", data=valid(**typed))
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    for name, value in typed.items():
        assert "one line of plain text" in page.one("p", id=f"{name}-error").text
        assert page.one("input", name=name).get("value") == value
    with app.app_context():
        assert count(Inquiry) == 0 and count(OutboxMessage) == 0
        assert deliver_due().sent == 0
    assert smtp_server.received == []


def test_filled_honeypot_is_answered_like_success_but_nothing_is_kept(app, client):
    response = client.post("/contact", data=valid(website="http://spam.example"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/contact/thanks")
    with app.app_context():
        assert count(Inquiry) == 0 and count(OutboxMessage) == 0


def test_errors_are_shown_beside_their_fields_and_typed_values_are_kept(app, client):
    response = client.post(
        "/contact", data=valid(email="not-an-address", subject="", message="My question.")
    )
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert "Enter an email address like name@example.org." in page.one(id="email-error").text
    assert "Give your message a subject." in page.one(id="subject-error").text
    assert page.one("input", name="email").get("aria-invalid") == "true"
    assert page.one(id="error-summary") is not None
    values = form_values(page.one("form", id="contact-form"))
    assert values["name"] == "Kim Young-hee"
    assert values["email"] == "not-an-address"
    assert values["message"] == "My question."
    assert values["language"] == "ko"
    with app.app_context():
        assert count(Inquiry) == 0 and count(OutboxMessage) == 0


def test_values_over_the_length_limits_are_refused_and_kept(app, client):
    long_message = "x" * 5001
    response = client.post("/contact", data=valid(message=long_message, name="n" * 201))
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert page.one(id="message-error").text
    assert page.one(id="name-error").text
    values = form_values(page.one("form", id="contact-form"))
    assert values["message"] == long_message
    with app.app_context():
        assert count(Inquiry) == 0


def test_an_address_with_a_reserved_domain_is_refused_without_a_dns_lookup(app, client):
    response = client.post("/contact", data=valid(email="someone@nowhere.invalid"))
    page = parse(response.get_data(as_text=True))
    assert page.one(id="email-error").text
    # A syntactically fine address on a domain without mail servers is accepted.
    assert client.post("/contact", data=valid(email="a@example.org")).status_code == 303


@pytest.mark.parametrize("app_settings", [{"WTF_CSRF_ENABLED": True}])
def test_a_post_without_the_csrf_token_is_refused(app, client):
    refused = client.post("/contact", data=valid())
    assert refused.status_code == 400
    with app.app_context():
        assert count(Inquiry) == 0
    page = parse(client.get("/contact").get_data(as_text=True))
    token = page.one("form", id="contact-form").one("input", name="csrf_token").get("value")
    assert client.post("/contact", data=valid(csrf_token=token)).status_code == 303
    with app.app_context():
        assert count(Inquiry) == 1


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": True}])
def test_one_address_cannot_send_more_than_three_messages_an_hour(app, client):
    for n in range(3):
        assert client.post("/contact", data=valid(subject=f"Q{n}")).status_code == 303
    assert client.post("/contact", data=valid(subject="Q4")).status_code == 429
    # Another address from the same client is still welcome.
    assert client.post("/contact", data=valid(email="other@example.org")).status_code == 303
    with app.app_context():
        assert count(Inquiry) == 4


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": True}])
def test_one_client_cannot_flood_the_form(app, client):
    statuses = [
        client.post("/contact", data=valid(email=f"p{n}@example.org")).status_code
        for n in range(6)
    ]
    assert statuses == [303] * 5 + [429]
    assert client.get("/contact").status_code == 200
    with app.app_context():
        assert count(Inquiry) == 5
