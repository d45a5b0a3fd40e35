"""The attendee's registration flow over HTTP, with mail delivered to a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from smtp import smtp_settings

from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import EventStatus
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.outbox.requests import resolve_requests
from nkhr_events.registrations.models import ManageToken, Registration
from tests.factories import make_event


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


def public_form(**overrides):
    data = {
        "given_name": "Min-ji",
        "family_name": "Kim",
        "email": "minji@example.org",
        "organization": "Seoul Citizens",
        "country": "KR",
        "language": "en",
        "interpretation": "none",
        "privacy_consent": "y",
        "days": [],
    }
    data.update(overrides)
    return data


@pytest.fixture
def event(app):
    with app.app_context():
        found = make_event(capacity=2)
        db.session.commit()
        return {"id": found.id, "slug": found.slug, "days": [d.isoformat() for d in found.day_list]}


def register(client, event, category="general_public", **overrides):
    form = public_form(days=event["days"], **overrides)
    return client.post(f"/events/{event['slug']}/register?category={category}", data=form)


def deliver(app):
    with app.app_context():
        return deliver_due()


def manage_link(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://localhost(/registration/[A-Za-z0-9_-]+)", text).group(1)


def test_category_step_then_only_that_categorys_questions(client, event):
    page = client.get(f"/events/{event['slug']}/register").get_data(as_text=True)
    for label in ("Journalist", "Academic", "General public", "Government representative"):
        assert label in page
    page = client.get(f"/events/{event['slug']}/register?category=journalist").get_data(
        as_text=True
    )
    assert "Media outlet" in page and "Press card number" in page
    assert "Institution" not in page and "Artistic discipline" not in page


def test_member_of_the_public_is_confirmed_and_gets_calendar_and_private_link(
    app, client, event, smtp_server
):
    response = register(client, event)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "mi•••@ex•••.org" in page and "Check your email" in page
    with app.app_context():
        registration = db.session.scalar(db.select(Registration))
        assert registration.status == "confirmed"
        assert registration.email == "minji@example.org"
        # The private link is made when the email is sent, not before.
        assert db.session.scalar(db.select(ManageToken)) is None
    assert deliver(app).sent == 1
    with app.app_context():
        token_row = db.session.scalar(db.select(ManageToken))
        assert len(token_row.token_hash) == 64
    [message] = smtp_server.messages
    assert message["To"] == "minji@example.org"
    assert "Your seat is confirmed" in message["Subject"]
    ics = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(ics) == 1
    calendar = Calendar.from_ical(
        ics[0].get_content()
        if isinstance(ics[0].get_content(), bytes)
        else ics[0].get_content().encode()
    )
    assert calendar["METHOD"] == "PUBLISH"
    link = manage_link(message)
    with app.app_context():
        # The link's token is not stored in clear.
        assert link.rsplit("/", 1)[1] not in {
            t.token_hash for t in db.session.scalars(db.select(ManageToken))
        }
    manage_page = client.get(link).get_data(as_text=True)
    assert "Confirmed" in manage_page and "Min-ji" in manage_page


def test_journalist_is_pending_and_told_so(app, client, event, smtp_server):
    response = register(
        client, event, "journalist", q_media_outlet="Daily", q_media_role="Reporter"
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(Registration.status)) == "pending"
    deliver(app)
    assert "awaiting review" in smtp_server.messages[0]["Subject"]


def test_error_is_shown_beside_its_field_and_every_value_is_kept(app, client, event):
    response = register(
        client,
        event,
        family_name="",
        organization="Keep Me Org",
        accessibility_needs="Step-free access",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="family_name-error"' in page and "Enter your family name." in page
    assert 'aria-invalid="true"' in page
    assert 'value="Keep Me Org"' in page and "Step-free access" in page
    assert 'value="minji@example.org"' in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0


def test_missing_privacy_consent_is_refused_with_its_message(app, client, event):
    response = register(client, event, privacy_consent="")
    assert response.status_code == 200
    assert "Please accept the privacy notice" in response.get_data(as_text=True)


def test_second_submission_of_an_address_changes_nothing_and_answers_the_same(
    app, client, event, smtp_server
):
    first = register(client, event)
    second = register(client, event, given_name="Someone Else")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        rows = db.session.scalars(db.select(Registration)).all()
        assert len(rows) == 1 and rows[0].given_name == "Min-ji"
    deliver(app)
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert any("already registered" in s for s in subjects)


def test_honeypot_submission_stores_nothing_but_looks_accepted(app, client, event):
    response = register(client, event, homepage="http://spam.example")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0
        assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0


def test_cancel_through_the_link_frees_the_seat_for_the_waitlist(app, client, event, smtp_server):
    register(client, event, email="a@example.org")
    register(client, event, email="b@example.org")
    register(client, event, email="c@example.org")
    with app.app_context():
        statuses = dict(
            db.session.execute(db.select(Registration.email, Registration.status)).all()
        )
    assert statuses == {
        "a@example.org": "confirmed",
        "b@example.org": "confirmed",
        "c@example.org": "waitlisted",
    }
    deliver(app)
    link = manage_link(next(m for m in smtp_server.messages if m["To"] == "a@example.org"))
    assert "Cancel your registration" in client.get(link + "/cancel").get_data(as_text=True)
    assert client.post(link + "/cancel").status_code == 303
    with app.app_context():
        statuses = dict(
            db.session.execute(db.select(Registration.email, Registration.status)).all()
        )
    assert statuses["a@example.org"] == "cancelled"
    assert statuses["c@example.org"] == "confirmed"
    deliver(app)
    cancel_mail = [m for m in smtp_server.messages if m["To"] == "a@example.org"][-1]
    ics = next(p for p in cancel_mail.iter_attachments() if p.get_content_type() == "text/calendar")
    assert b"METHOD:CANCEL" in ics.get_payload(decode=True)
    promoted = [m for m in smtp_server.messages if m["To"] == "c@example.org"][-1]
    assert "confirmed" in promoted["Subject"]
    # The cancelled page offers to register again (registration is open), and no longer
    # tells the person to cancel.
    page = client.get(link).get_data(as_text=True)
    assert f'href="/events/{event["slug"]}/register">Register again</a>' in page
    assert "Cancel my registration" not in page and "cancel and register again" not in page


def test_details_change_through_the_link_keeps_the_seat(app, client, event, smtp_server):
    register(client, event)
    deliver(app)
    link = manage_link(smtp_server.messages[0])
    form = public_form(days=event["days"][:1], badge_name="MJ Kim", language="ko")
    form.pop("email")
    form.pop("privacy_consent")
    assert client.post(link, data=form).status_code == 303
    with app.app_context():
        registration = db.session.scalar(db.select(Registration))
        assert registration.badge_name == "MJ Kim" and registration.language == "ko"
        assert [d.isoformat() for d in registration.day_list] == event["days"][:1]
        assert registration.status == "confirmed"


def test_calendar_download_for_a_confirmed_registration(app, client, event, smtp_server):
    register(client, event)
    deliver(app)
    link = manage_link(smtp_server.messages[0])
    response = client.get(link + "/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert b"BEGIN:VEVENT" in response.data


def test_wrong_or_expired_token_is_404_and_says_nothing(app, client, event, smtp_server):
    register(client, event)
    deliver(app)
    link = manage_link(smtp_server.messages[0])
    wrong = client.get("/registration/" + "x" * 43)
    assert wrong.status_code == 404 and "Min-ji" not in wrong.get_data(as_text=True)
    with app.app_context():
        for token in db.session.scalars(db.select(ManageToken)):
            token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    expired = client.get(link)
    assert expired.status_code == 404 and "Min-ji" not in expired.get_data(as_text=True)


def test_lost_link_answers_the_same_for_known_and_unknown_addresses(
    app, client, event, smtp_server
):
    register(client, event)
    deliver(app)
    before = len(smtp_server.messages)
    known = client.post("/registration/lost-link", data={"email": "minji@example.org"})
    unknown = client.post("/registration/lost-link", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    known_page = client.get(known.headers["Location"]).get_data(as_text=True)
    assert "a new private link is on its way" in known_page
    deliver(app)
    new = smtp_server.messages[before:]
    assert [m["To"] for m in new] == ["minji@example.org"]
    # Both links work: a new link never breaks an old one.
    assert client.get(manage_link(smtp_server.messages[0])).status_code == 200
    assert client.get(manage_link(new[0])).status_code == 200


@pytest.mark.parametrize("status", [EventStatus.DRAFT])
def test_draft_event_registration_is_404(app, client, status):
    with app.app_context():
        found = make_event(status=status)
        db.session.commit()
        slug = found.slug
    assert client.get(f"/events/{slug}/register").status_code == 404
    assert (
        client.post(
            f"/events/{slug}/register?category=general_public", data=public_form()
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"status": EventStatus.ARCHIVED},
        {"registration_opens_at": None, "registration_closes_at": None},
        {"registration_opens_at": utcnow() + timedelta(days=2)},
        {
            "registration_closes_at": utcnow() - timedelta(hours=1),
            "registration_opens_at": utcnow() - timedelta(days=3),
        },
    ],
    ids=["archived", "no-window", "not-yet-open", "closed"],
)
def test_registration_outside_its_window_is_refused_with_a_clear_page(app, client, overrides):
    with app.app_context():
        found = make_event(**overrides)
        db.session.commit()
        slug = found.slug
    response = client.post(f"/events/{slug}/register?category=general_public", data=public_form())
    assert response.status_code == 409
    assert "Registration is not open" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0


def test_too_long_values_are_refused_next_to_the_field(app, client, event):
    response = register(client, event, organization="x" * 201)
    assert response.status_code == 200
    assert 'id="organization-error"' in response.get_data(as_text=True)


def test_invalid_email_is_refused_next_to_the_field(app, client, event):
    response = register(client, event, email="not-an-address")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="email-error"' in page
    assert 'value="not-an-address"' in page


@pytest.mark.parametrize(
    "app_settings",
    [
        {
            "RATELIMIT_ENABLED": True,
            "NKHR_REGISTRATION_EMAIL_LIMIT": "2 per hour",
            "NKHR_REGISTRATION_LIMIT": "100 per minute",
        }
    ],
)
def test_repeated_submissions_for_one_address_are_rate_limited(app, client, event):
    answers = [register(client, event).status_code for _ in range(3)]
    assert answers == [303, 303, 429]
    # Another address from the same client still gets through.
    assert register(client, event, email="other@example.org").status_code == 303


@pytest.mark.parametrize(
    "app_settings",
    [{"RATELIMIT_ENABLED": True, "NKHR_REGISTRATION_LIMIT": "3 per minute"}],
)
def test_submissions_from_one_client_are_rate_limited(app, client, event):
    answers = [register(client, event, email=f"p{i}@example.org").status_code for i in range(4)]
    assert answers == [303, 303, 303, 429]
    lost = [
        client.post("/registration/lost-link", data={"email": "x@example.org"}).status_code
        for _ in range(4)
    ]
    assert lost[-1] == 429


def _statements_of(app, client, url: str, email: str) -> list[str]:
    """The SQL statements (parameters left out) that one POST runs."""
    from sqlalchemy import event as sa_event

    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post(url, data={"email": email})
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 303
    return seen


@pytest.mark.parametrize("url", ["/registration/lost-link", "/forgot-password"])
def test_known_and_unknown_addresses_cost_the_web_request_the_same_work(
    app, client, event, auth, url
):
    """The timing class: the request runs the very same statements for an address with a
    registration or an account and for a stranger's; the lookup and the mail happen in the
    outbox worker (outbox/requests.py)."""
    register(client, event)
    auth.create("staff-known@example.org")
    known_address = "minji@example.org" if "lost" in url else "staff-known@example.org"
    with app.app_context():
        outbox_before = db.session.scalar(db.select(db.func.count(OutboxMessage.id)))
    known = _statements_of(app, client, url, known_address)
    unknown = _statements_of(app, client, url, "nobody@example.org")
    assert known == unknown
    assert not any("registration" in s or "staff_user" in s for s in known)
    with app.app_context():
        # Nothing was rendered or queued during the request ...
        assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == outbox_before
        resolve_requests()
        new = db.session.scalars(
            db.select(OutboxMessage.recipient).where(OutboxMessage.id > outbox_before)
        ).all()
    # ... the worker sends one email, to the known address only.
    assert new == [known_address]


def test_a_private_link_speaks_the_language_the_person_chose(app, client) -> None:
    """The link from a Japanese email opens in Japanese whatever the browser asks for; the
    language switch still wins."""
    from nkhr_events.extensions import db as database
    from nkhr_events.registrations.links import issue_manage_token
    from tests.factories import make_registration

    with app.app_context():
        registration = make_registration(given_name="花子", family_name="山田",
                                         email="hanako@example.jp", language="ja")
        token = issue_manage_token(registration)
        database.session.commit()
    page = client.get(f"/registration/{token}").get_data(as_text=True)
    assert '<html lang="ja"' in page and "山田花子" in page
    page = client.get(f"/registration/{token}",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ja"' in page
    client.set_cookie("nkhr_lang", "en")
    page = client.get(f"/registration/{token}").get_data(as_text=True)
    assert '<html lang="en"' in page


@pytest.mark.parametrize(("language", "first", "second"), [
    ("ko", "성", "이름"), ("ja", "姓", "名"), ("en", "Given name", "Family name"),
])
def test_the_error_summary_lists_the_names_in_the_order_the_form_asks_for_them(
    client, event, language, first, second
) -> None:
    """Korean and Japanese forms ask for the family name first; so does the summary. (In
    English the first listed is the given name.)"""
    client.set_cookie("nkhr_lang", language)
    page = register(client, event, given_name="", family_name="").get_data(as_text=True)
    summary = page[page.index('id="error-summary"'):]
    summary = summary[:summary.index("</ul>")]
    labels = re.findall(r'<a href="#(family_name|given_name)">([^<:]+):', summary)
    assert [label for _id, label in labels] == [first, second], labels
