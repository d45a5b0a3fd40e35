"""A message to a filtered group asks for a text in each language the selected people read, and
only those (every email in the recipient's language, DESIGN.md invariant 8): the counts per
language on the form, each reader's own language in their email, Japanese included; a language
without a text sends nothing, also when its reader registered after the text was checked; and a
group of nobody offers no form at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import Element, parse
from smtp import smtp_settings
from sqlalchemy import event as sa_event
from sqlalchemy import func

from nkhr_events.audit.models import AuditEntry
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.validators import SINGLE_LINE_MESSAGE

ENGLISH = {"subject_en": "Room change", "body_en": "We meet in Hall B."}
KOREAN = {"subject_ko": "장소 변경 안내", "body_ko": "B홀에서 만납니다."}
JAPANESE = {"subject_ja": "会場変更のお知らせ", "body_ja": "B ホールで開催します。"}

#: Who registers, with the language they read.
MIXED = [
    {"given_name": "Ada", "family_name": "Lovelace", "email": "ada@example.org", "language": "en"},
    {"given_name": "민지", "family_name": "박", "email": "minji@example.org", "language": "ko"},
    {"given_name": "영수", "family_name": "김", "email": "youngsu@example.org", "language": "ko"},
    {"given_name": "花子", "family_name": "山田", "email": "hanako@example.org", "language": "ja"},
]


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


def group_of(app: Flask, people: list[dict[str, str]]) -> int:
    """An event whose confirmed registrations are `people`; returns its id."""
    with app.app_context():
        event = make_event(capacity=50)
        for person in people:
            make_registration(event=event, **person)
        db.session.commit()
        return event.id


def message_url(event_id: int, query: str = "") -> str:
    return f"/manage/events/{event_id}/registrations/message" + (f"?{query}" if query else "")


def outbox_size(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(db.select(func.count()).select_from(OutboxMessage)) or 0


def messages_sent(app: Flask) -> int:
    with app.app_context():
        return len(db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "roster.message")).all())


def legends(page: Element) -> list[str]:
    return [legend.text for legend in page.find_all("legend")]


def text_fields(page: Element) -> list[str]:
    """The names of the subject and message fields the write step asks for, in order."""
    return [str(e.get("name")) for e in page.iter()
            if e.tag in {"input", "textarea"} and str(e.get("name", "")).startswith(
                ("subject_", "body_")) and e.get("type") != "hidden"]


def send_form(page: Element) -> dict[str, str]:
    """What the confirm step's form sends when its send button is pressed."""
    [form] = [f for f in page.find_all("form", method="post")
              if f.find("button", value="send") is not None]
    data = {str(e.get("name")): str(e.get("value", "")) for e in form.find_all("input")}
    return {**data, "step": "send"}


def delivered(app: Flask, smtp_server: Any, since: int) -> dict[str, Any]:
    """The messages delivered since `since` messages had arrived, by recipient."""
    with app.app_context():
        deliver_due()
    return {m["To"]: m for m in smtp_server.messages[since:]}


@contextmanager
def grouped_counts(app: Flask) -> Iterator[list[str]]:
    """The SQL statements with a GROUP BY that run inside the block."""
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "GROUP BY" in statement.upper():
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)


def test_a_group_that_reads_only_english_is_asked_only_in_english_and_receives_it(
    app: Flask, client: FlaskClient, auth, smtp_server: Any
) -> None:
    event_id = group_of(app, [MIXED[0], {**MIXED[0], "given_name": "Bob", "family_name": "Ray",
                                         "email": "bob@example.org"}])
    auth.organizer()
    page = parse(client.get(message_url(event_id)).get_data(as_text=True))
    assert legends(page) == ["In English — 2 people"]
    assert text_fields(page) == ["subject_en", "body_en"]
    assert "In Korean" not in page.text and "In Japanese" not in page.text

    confirm = parse(client.post(message_url(event_id), data={**ENGLISH, "step": "confirm"})
                    .get_data(as_text=True))
    assert confirm.one("button", value="send").text == "Send to 2 people"
    data = send_form(confirm)
    assert {name for name in data if name.startswith(("subject_", "body_"))} == set(ENGLISH)

    with app.app_context():
        deliver_due()
    before = len(smtp_server.messages)
    response = client.post(message_url(event_id), data=data)
    assert response.status_code == 303
    group = delivered(app, smtp_server, before)
    assert set(group) == {"ada@example.org", "bob@example.org"}
    for email in group.values():
        assert email["Subject"] == "Room change"
        assert "We meet in Hall B." in email.get_body(("plain",)).get_content()


def test_a_mixed_group_gets_a_fieldset_per_language_with_counts_and_each_their_own_text(
    app: Flask, client: FlaskClient, auth, smtp_server: Any
) -> None:
    event_id = group_of(app, MIXED)
    auth.organizer()
    with grouped_counts(app) as statements:
        page = parse(client.get(message_url(event_id)).get_data(as_text=True))
    assert len(statements) == 1, statements  # one count for all languages
    assert legends(page) == [
        "In English — 1 person", "In Korean — 2 people", "In Japanese — 1 person"]
    assert text_fields(page) == [
        "subject_en", "body_en", "subject_ko", "body_ko", "subject_ja", "body_ja"]
    assert page.one("input", name="subject_ja").get("lang") == "ja"
    assert page.one("textarea", name="body_ko").get("lang") == "ko"

    text = {**ENGLISH, **KOREAN, **JAPANESE}
    confirm = parse(client.post(message_url(event_id), data={**text, "step": "confirm"})
                    .get_data(as_text=True))
    assert "Send this message to 4 people?" in confirm.text
    assert [(h.get("lang"), h.text) for h in confirm.find_all("h3")] == [
        ("en", "Room change"), ("ko", "장소 변경 안내"), ("ja", "会場変更のお知らせ")]
    assert confirm.one("pre", lang="ja").text == "B ホールで開催します。"
    data = send_form(confirm)
    assert {name: data[name] for name in text} == text

    with app.app_context():
        deliver_due()
    before = len(smtp_server.messages)
    assert client.post(message_url(event_id), data=data).status_code == 303
    group = delivered(app, smtp_server, before)
    assert set(group) == {person["email"] for person in MIXED}
    bodies = {to: m.get_body(("plain",)).get_content() for to, m in group.items()}
    assert group["ada@example.org"]["Subject"] == "Room change"
    assert bodies["ada@example.org"].startswith("Hello Ada,")
    for korean in ("minji@example.org", "youngsu@example.org"):
        assert group[korean]["Subject"] == "장소 변경 안내"
        assert "B홀에서 만납니다." in bodies[korean] and "Hall B" not in bodies[korean]
    assert bodies["minji@example.org"].startswith("박민지 님")
    japanese = group["hanako@example.org"]
    assert japanese["Subject"] == "会場変更のお知らせ"
    assert bodies["hanako@example.org"].startswith("山田花子様")
    assert "B ホールで開催します。" in bodies["hanako@example.org"]
    assert "Hall B" not in bodies["hanako@example.org"]
    assert "B ホールで開催します。" in japanese.get_body(("html",)).get_content()
    with app.app_context():
        entry = db.session.scalar(
            db.select(AuditEntry).where(AuditEntry.action == "roster.message"))
        assert entry is not None and entry.detail == {"filters": {}, "count": 4}


def test_a_missing_japanese_text_is_asked_beside_its_field_and_nothing_is_queued(
    app: Flask, client: FlaskClient, auth
) -> None:
    event_id = group_of(app, MIXED)
    auth.organizer()
    queued = outbox_size(app)
    for step in ("confirm", "send"):
        response = client.post(message_url(event_id),
                               data={**ENGLISH, **KOREAN, "subject_ja": "会場", "step": step})
        assert response.status_code == 200, step
        page = parse(response.get_data(as_text=True))
        assert page.find("button", value="send") is None
        assert page.find("p", id="subject_ja-error") is None
        assert "Enter the message in Japanese." in page.one("p", id="body_ja-error").text
        assert page.one("textarea", name="body_ja").get("aria-invalid") == "true"
        summary = page.one("div", id="error-summary")
        assert [a.get("href") for a in summary.find_all("a")] == ["#body_ja"]
        # What was typed stays.
        assert page.one("input", name="subject_ja").get("value") == "会場"
        assert page.one("input", name="subject_ko").get("value") == "장소 변경 안내"
        assert page.one("textarea", name="body_en").text == "We meet in Hall B."
    # A Japanese subject is one line, like the others.
    response = client.post(message_url(event_id), data={
        **ENGLISH, **KOREAN, **JAPANESE, "subject_ja": "会場\u202e変更", "step": "send"})
    page = parse(response.get_data(as_text=True))
    assert str(SINGLE_LINE_MESSAGE) in page.one("p", id="subject_ja-error").text
    assert outbox_size(app) == queued
    assert messages_sent(app) == 0


def test_a_filter_that_selects_nobody_offers_no_form_and_no_send_button(
    app: Flask, client: FlaskClient, auth
) -> None:
    event_id = group_of(app, MIXED[:1])
    auth.organizer()
    queued = outbox_size(app)
    url = message_url(event_id, "status=cancelled")
    for response in (
        client.get(url),
        client.post(url, data={**ENGLISH, "step": "confirm"}),
        client.post(url, data={**ENGLISH, "step": "send"}),
    ):
        assert response.status_code == 200
        page = parse(response.get_data(as_text=True))
        assert "The filters you chose select nobody" in page.text
        assert "Send to 0" not in page.text
        assert page.find("button", value="send") is None
        assert page.find("button", value="confirm") is None
        assert not text_fields(page)
        [back] = [a for a in page.find_all("a")
                  if a.text == "Back to the registrations to change the filters"]
        assert back.get("href") == f"/manage/events/{event_id}/registrations?status=cancelled"
    assert outbox_size(app) == queued
    assert messages_sent(app) == 0


def test_someone_who_registers_in_japanese_after_the_confirm_step_stops_the_send(
    app: Flask, client: FlaskClient, auth
) -> None:
    event_id = group_of(app, MIXED[:1])
    auth.organizer()
    confirm = parse(client.post(message_url(event_id), data={**ENGLISH, "step": "confirm"})
                    .get_data(as_text=True))
    data = send_form(confirm)
    with app.app_context():
        make_registration(event=event_id, **MIXED[3])
        db.session.commit()
    queued = outbox_size(app)

    response = client.post(message_url(event_id), data=data)
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert "Nothing was sent" in page.one("div", class_="flashes").text
    assert legends(page) == ["In English — 1 person", "In Japanese — 1 person"]
    assert "Enter a subject in Japanese." in page.one("p", id="subject_ja-error").text
    assert "Enter the message in Japanese." in page.one("p", id="body_ja-error").text
    assert page.one("input", name="subject_en").get("value") == "Room change"
    assert page.find("p", id="subject_en-error") is None
    assert page.find("button", value="send") is None
    assert outbox_size(app) == queued
    assert messages_sent(app) == 0


def test_a_group_of_only_people_without_an_address_is_a_group_of_nobody(
    app: Flask, client: FlaskClient, auth
) -> None:
    from nkhr_events.audit.services import SYSTEM
    from nkhr_events.invitations.protected import ProtectedInput, register_protected

    with app.app_context():
        event = make_event(capacity=10)
        register_protected(event, ProtectedInput(
            pseudonym="Guest Seven", real_name="Real Person", category="general_public",
            privacy_consent=True), actor=SYSTEM)
        db.session.commit()
        event_id = event.id
    auth.organizer()
    queued = outbox_size(app)
    for response in (client.get(message_url(event_id)),
                     client.post(message_url(event_id), data={**ENGLISH, "step": "send"})):
        page = parse(response.get_data(as_text=True))
        assert "The filters you chose select nobody" in page.text
        assert "Send to" not in page.text
        assert page.find("button", value="send") is None
    assert outbox_size(app) == queued
    assert messages_sent(app) == 0


def test_the_confirm_step_previews_the_email_each_language_receives(
    app: Flask, client: FlaskClient, auth, smtp_server: Any
) -> None:
    event_id = group_of(app, MIXED)
    auth.organizer()
    text = {**ENGLISH, **KOREAN, **JAPANESE}
    queued = outbox_size(app)
    confirm = parse(client.post(message_url(event_id), data={**text, "step": "confirm"})
                    .get_data(as_text=True))
    previews = {lang: confirm.one(id=f"preview-{lang}") for lang in ("en", "ko", "ja")}
    # Each preview is the email as rendered for the first reader of that language: the
    # greeting by name in its own order, the organizer's text, the frame in that language.
    assert "Hello Ada," in previews["en"].text and "We meet in Hall B." in previews["en"].text
    assert "박민지" in previews["ko"].text and "B홀에서 만납니다." in previews["ko"].text
    assert "山田花子" in previews["ja"].text and "B ホールで開催します。" in previews["ja"].text
    assert "Hello" not in previews["ko"].text and "Hello" not in previews["ja"].text
    assert "장소 변경 안내" in previews["ko"].text
    # A preview queues nothing and records nothing.
    assert outbox_size(app) == queued
    assert messages_sent(app) == 0
    # What is previewed is what is sent.
    with app.app_context():
        deliver_due()
    before = len(smtp_server.messages)
    assert client.post(message_url(event_id), data=send_form(confirm)).status_code == 303
    group = delivered(app, smtp_server, before)
    sent_ko = group["minji@example.org"].get_body(("plain",)).get_content()
    shown_ko = previews["ko"].one("pre").text
    assert " ".join(sent_ko.split()) == " ".join(shown_ko.split())
