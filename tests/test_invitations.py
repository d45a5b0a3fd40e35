"""Invitations: invitation-only categories, the link (opened, accepted in the invitee's
language, declined, used once), reserved seats that count and are released to the waitlist,
staff actions (invite, resend, revoke) with their audit entries, reminders, and the emails."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from flask_babel import gettext as _
from markup import Element, browser_submission, parse
from smtp import SMTPServer, smtp_settings

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.dbtypes import utcnow
from nkhr_events.errors import DomainError
from nkhr_events.extensions import db
from nkhr_events.invitations import services
from nkhr_events.invitations.models import (
    Invitation,
    InvitationStatus,
    InvitationToken,
    SeatReservation,
    split_name,
)
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.registrations import services as registrations
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.seats import seats_taken
from nkhr_events.web import localized

MAILS = Path("/tmp/invite19-mails")


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


def invitation_event(app: Flask, capacity: int | None = 3, **overrides: object) -> int:
    """A published event whose government representatives come by invitation only (and are
    reviewed, the default for that category)."""
    with app.app_context():
        event = make_event(capacity=capacity, title_ko="북한인권 국제회의", **overrides)
        registrations.save_category_settings(
            event, {"government": {"by_invitation": True}}, actor=SYSTEM
        )
        db.session.commit()
        return event.id


def invite(
    app: Flask,
    event_id: int,
    email: str = "minister@example.go.kr",
    language: str = "ko",
    reserve_days: int | None = 10,
    name: str = "김민지",
    organization: str = "Ministry of Unification",
) -> int:
    with app.app_context():
        event = db.session.get(registrations.Event, event_id)
        hold = utcnow() + timedelta(days=reserve_days) if reserve_days is not None else None
        invitation = services.invite(
            event,
            services.InvitationInput(name, email, language, "government", organization),
            hold,
            actor=SYSTEM,
        )
        db.session.commit()
        return invitation.id


def link_for(app: Flask, smtp_server: SMTPServer, address: str) -> str:
    with app.app_context():
        deliver_due()
    message = [m for m in smtp_server.messages if m["To"] == address][-1]
    text = message.get_body(("plain",)).get_content()
    found = re.search(r"http://localhost(/invitation/[A-Za-z0-9_-]+)\s", text)
    assert found is not None, text
    return found.group(1)


def invitation(app: Flask, invitation_id: int) -> Invitation:
    with app.app_context():
        found = db.session.get(Invitation, invitation_id)
        assert found is not None
        if found.reservation is not None:
            db.session.expunge(found.reservation)
        db.session.expunge(found)
        return found


def taken(app: Flask, event_id: int) -> dict[str | None, int]:
    with app.app_context():
        return seats_taken(event_id)


def actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.id)))


def main_form(page: str) -> Element:
    """The form the page is about: not the language switcher, not sign-out."""
    forms = [
        f
        for f in parse(page).find_all("form")
        if f.get("method", "").lower() == "post"
        and "language-switch" not in (f.get("class") or "")
        and "sign-out" not in (f.get("action") or "")
    ]
    assert forms, page
    return forms[0]


def shown(page: str) -> dict[str, str]:
    """Each field of the page's form as a browser would send it (the first value of each)."""
    values: dict[str, str] = {}
    for name, value in browser_submission(main_form(page)):
        values.setdefault(name, value)
    return values


def fill(page: str, **values: str) -> dict[str, object]:
    """The form as shown (what was pre-filled, ticked and chosen), with `values` over it."""
    data: dict[str, list[str]] = {}
    for name, value in browser_submission(main_form(page)):
        data.setdefault(name, []).append(value)
    data.update({name: [value] for name, value in values.items()})
    return dict(data)


# --- categories -------------------------------------------------------------------------------


def test_an_invitation_only_category_is_not_offered_on_the_public_form(
    app: Flask, client: FlaskClient
) -> None:
    event_id = invitation_event(app)
    with app.app_context():
        slug = db.session.get(registrations.Event, event_id).slug
    page = client.get(f"/events/{slug}/register").get_data(as_text=True)
    assert 'value="journalist"' in page
    assert 'value="government"' not in page
    # Asked for directly, the category is not open: the choice page again.
    page = client.get(f"/events/{slug}/register?category=government").get_data(as_text=True)
    assert 'name="given_name"' not in page
    with app.app_context(), pytest.raises(DomainError):
        make_registration(event=event_id, category="government")


def test_staff_mark_a_category_by_invitation_on_the_settings_page(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        event_id = make_event().id
        db.session.commit()
    auth.organizer()
    page = client.get(f"/manage/events/{event_id}/categories").get_data(as_text=True)
    assert 'name="government-by_invitation"' in page
    data = fill(page, **{"government-by_invitation": "y"})
    assert client.post(f"/manage/events/{event_id}/categories", data=data).status_code == 303
    with app.app_context():
        event = db.session.get(registrations.Event, event_id)
        assert registrations.category_settings(event)["government"].by_invitation
        assert services.invitation_categories(event) == ["government"]


# --- inviting ---------------------------------------------------------------------------------


def test_a_reserved_seat_counts_against_capacity_and_a_full_event_refuses_another(
    app: Flask,
) -> None:
    event_id = invitation_event(app, capacity=2)
    invite(app, event_id, "one@example.org")
    with app.app_context():
        make_registration(event=event_id, email="public@example.org")
        db.session.commit()
    assert taken(app, event_id)[None] == 2
    with pytest.raises(DomainError) as refused:
        invite(app, event_id, "two@example.org")
    assert refused.value.field == "reserve"
    # The public gets the waitlist: the reserved seat is not theirs.
    with app.app_context():
        late = make_registration(event=event_id, email="late@example.org", status=None)
        assert late.status == RegistrationStatus.WAITLISTED
        db.session.commit()
    # Without a reserved seat, an invitation is still possible.
    invite(app, event_id, "two@example.org", reserve_days=None)


def test_the_same_address_is_not_invited_twice(app: Flask) -> None:
    event_id = invitation_event(app)
    invite(app, event_id, "minister@example.go.kr")
    with pytest.raises(DomainError, match="already invited"):
        invite(app, event_id, "Minister@Example.go.kr")


def test_staff_invite_one_person_with_a_seat_held_until_the_day_they_choose(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    event_id = invitation_event(app)
    auth.organizer()
    page = client.get(f"/manage/events/{event_id}/invitations/new").get_data(as_text=True)
    data = fill(
        page,
        name="Ada Lovelace",
        email="not an address",
        language="en",
        category="government",
        organization="Analytical Society",
        reserve="y",
    )
    page = client.post(f"/manage/events/{event_id}/invitations/new", data=data)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Enter a valid email address." in text and 'value="Ada Lovelace"' in text
    data["email"] = "ada@example.org"
    response = client.post(f"/manage/events/{event_id}/invitations/new", data=data)
    assert response.status_code == 303
    with app.app_context():
        row = db.session.scalar(db.select(Invitation))
        assert row.email == "ada@example.org" and row.status == InvitationStatus.SENT
        assert row.reservation is not None and row.reservation.places == 1
        event = row.event
        expected = services.hold_end(event, services.default_hold_day(event))
        assert row.reservation.held_until == expected
        assert row.remind_at == expected - timedelta(days=services.DEFAULT_REMINDER_DAYS)
        assert db.session.scalar(db.select(InvitationToken.id)) is None  # made at delivery
    assert "invitation.create" in actions(app)
    link_for(app, smtp_server, "ada@example.org")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(InvitationToken.id))) == 1
    listing = client.get(f"/manage/events/{event_id}/invitations").get_data(as_text=True)
    assert "ada@example.org" in listing and 'data-count="sent">1<' in listing
    assert "1 seat is reserved for invitations now." in listing


def test_a_hold_after_the_event_starts_is_refused_beside_the_field(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = invitation_event(app)
    with app.app_context():
        start = db.session.get(registrations.Event, event_id).start_date
    auth.organizer()
    page = client.get(f"/manage/events/{event_id}/invitations/new").get_data(as_text=True)
    data = fill(
        page,
        name="Ada",
        email="ada@example.org",
        language="en",
        category="government",
        reserve="y",
        hold_until=start.isoformat(),
    )
    text = client.post(f"/manage/events/{event_id}/invitations/new", data=data).get_data(
        as_text=True
    )
    assert "Hold the seat until a day before the event starts." in text
    with app.app_context():
        assert db.session.scalar(db.select(Invitation.id)) is None


# --- the invitee ------------------------------------------------------------------------------


def test_the_link_opens_the_form_in_korean_filled_in_and_accepting_uses_the_reserved_seat(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = invitation_event(app, capacity=1)
    invitation_id = invite(app, event_id)
    link = link_for(app, smtp_server, "minister@example.go.kr")
    # The event fills up with the public meanwhile: the reserved seat is the one seat.
    with app.app_context():
        full = make_registration(event=event_id, email="public@example.org", status=None)
        assert full.status == RegistrationStatus.WAITLISTED
        db.session.commit()
    page = client.get(link)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<html lang="ko"' in text
    assert "등록" in text  # the page speaks Korean
    values = shown(text)
    assert values["family_name"] == "김" and values["given_name"] == "민지"
    assert values["organization"] == "Ministry of Unification"
    assert values["language"] == "ko"
    assert "email" not in values and "minister@example.go.kr" in text
    assert invitation(app, invitation_id).status == InvitationStatus.OPENED
    # The invitee sends the form (even with another address typed in: the invitation's counts).
    data = fill(
        text,
        privacy_consent="y",
        email="someone-else@example.org",
        q_ministry="Ministry of Unification",
        q_government_position="Director",
        q_country_represented="KR",
    )
    response = client.post(link, data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        registration = db.session.scalar(
            db.select(Registration).where(Registration.category == "government")
        )
        assert registration.email == "minister@example.go.kr"
        assert registration.status == RegistrationStatus.CONFIRMED  # reserved: no review
        assert registration.language == "ko"
        assert seats_taken(event_id)[None] == 1  # one seat: the reservation became it
        reservation = db.session.scalar(db.select(SeatReservation))
        assert reservation.places == 0 and reservation.release_reason == "used"
    row = invitation(app, invitation_id)
    assert row.status == InvitationStatus.REGISTERED and row.registration_id == registration.id
    # Used once: the link now says so, and a second submission registers nothing.
    again = client.get(link).get_data(as_text=True)
    assert 'data-status="registered"' in again
    client.post(link, data=data)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 2
    texts = [
        m.get_body(("plain",)).get_content()
        for m in smtp_server.messages
        if m["To"] == "minister@example.go.kr"
    ]
    with app.app_context():
        deliver_due()
    texts = [
        m.get_body(("plain",)).get_content()
        for m in smtp_server.messages
        if m["To"] == "minister@example.go.kr"
    ]
    assert any("/registration/" in t for t in texts)  # the confirmation with its private link
    assert "invitation.accept" in actions(app) and "invitation.open" in actions(app)


def test_without_a_reserved_seat_the_usual_rules_apply(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = invitation_event(app, capacity=5)
    invite(
        app, event_id, "guest@example.org", language="en", reserve_days=None, name="Grace Hopper"
    )
    link = link_for(app, smtp_server, "guest@example.org")
    text = client.get(link).get_data(as_text=True)
    values = shown(text)
    assert values["given_name"] == "Grace" and values["family_name"] == "Hopper"
    data = fill(
        text,
        privacy_consent="y",
        q_ministry="Navy",
        q_government_position="Rear Admiral",
        q_country_represented="US",
    )
    assert client.post(link, data=data).status_code == 303
    with app.app_context():
        registration = db.session.scalar(
            db.select(Registration).where(Registration.email == "guest@example.org")
        )
        assert registration.status == RegistrationStatus.PENDING  # the category is reviewed


def test_a_form_with_mistakes_comes_back_with_what_was_typed(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = invitation_event(app)
    invite(app, event_id, "ada@example.org", language="en", name="Ada Lovelace")
    link = link_for(app, smtp_server, "ada@example.org")
    text = client.get(link).get_data(as_text=True)
    data = fill(text, dietary_needs="No nuts", q_ministry="")
    page = client.post(link, data=data)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Please accept the privacy notice to register." in body
    assert "No nuts" in body
    with app.app_context():
        assert db.session.scalar(db.select(Registration.id)) is None


def test_declining_frees_the_reserved_seat_for_the_waitlist_at_once(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = invitation_event(app, capacity=1)
    invitation_id = invite(app, event_id, "declines@example.org", language="ja", name="山田 花子")
    link = link_for(app, smtp_server, "declines@example.org")
    with app.app_context():
        waiting = make_registration(event=event_id, email="waiting@example.org", status=None)
        assert waiting.status == RegistrationStatus.WAITLISTED
        waiting_id = waiting.id
        db.session.commit()
    page = client.get(link + "/decline")
    assert page.status_code == 200
    with app.test_request_context(), force_locale("ja"):
        asked = _("Decline the invitation?")
    assert f"<h1>{asked}</h1>" in page.get_data(as_text=True)  # in Japanese
    assert '<html lang="ja"' in page.get_data(as_text=True)
    assert invitation(app, invitation_id).status == InvitationStatus.SENT  # asked, not done
    assert client.post(link + "/decline").status_code == 303
    row = invitation(app, invitation_id)
    assert row.status == InvitationStatus.DECLINED
    assert row.reservation is not None and row.reservation.release_reason == "declined"
    with app.app_context():
        assert db.session.get(Registration, waiting_id).status == RegistrationStatus.CONFIRMED
    assert actions(app)[-2:] == ["invitation.decline", "registration.promote"]
    assert 'data-status="declined"' in client.get(link).get_data(as_text=True)
    # The form is closed now, too.
    assert client.post(link, data={"privacy_consent": "y"}).status_code == 200
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 1


def test_an_unknown_link_is_404_and_an_expired_one_says_so(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = invitation_event(app)
    invitation_id = invite(app, event_id, "late@example.org", language="en")
    link = link_for(app, smtp_server, "late@example.org")
    assert client.get("/invitation/not-a-token").status_code == 404
    with app.app_context():
        db.session.get(Invitation, invitation_id).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    page = client.get(link)
    assert page.status_code == 410
    assert 'data-status="expired"' in page.get_data(as_text=True)


def test_an_invitee_registered_already_keeps_that_registration_and_frees_the_seat(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer
) -> None:
    event_id = invitation_event(app, capacity=2)
    invitation_id = invite(app, event_id, "twice@example.org", language="en", name="Ada Byron")
    link = link_for(app, smtp_server, "twice@example.org")
    assert client.get(link).status_code == 200  # opened
    # Registered in another category through the public form meanwhile: that answers the
    # invitation and frees its seat at once.
    with app.app_context():
        make_registration(event=event_id, email="twice@example.org")
        db.session.commit()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 1
        assert seats_taken(event_id)[None] == 1
    assert invitation(app, invitation_id).status == InvitationStatus.REGISTERED
    assert 'data-status="registered"' in client.get(link).get_data(as_text=True)


# --- staff actions --------------------------------------------------------------------------


def test_staff_resend_and_revoke_and_the_list_filters_by_status(
    app: Flask, client: FlaskClient, auth: AuthActions, smtp_server: SMTPServer
) -> None:
    event_id = invitation_event(app, capacity=1)
    first = invite(app, event_id, "first@example.org", language="en")
    second = invite(app, event_id, "second@example.org", language="en", reserve_days=None)
    first_link = link_for(app, smtp_server, "first@example.org")
    with app.app_context():
        waiting_id = make_registration(event=event_id, email="w@example.org", status=None).id
        db.session.commit()
    auth.organizer()
    base = f"/manage/events/{event_id}/invitations"
    assert client.post(f"{base}/{first}/resend").status_code == 303
    second_link = link_for(app, smtp_server, "first@example.org")
    assert second_link != first_link
    # Both links work: a resend never breaks the first one.
    assert client.get(first_link).status_code == 200
    assert client.get(second_link).status_code == 200
    assert invitation(app, first).sent_count == 2
    assert client.post(f"{base}/{first}/revoke").status_code == 303
    assert invitation(app, first).status == InvitationStatus.REVOKED
    with app.app_context():
        assert db.session.get(Registration, waiting_id).status == RegistrationStatus.CONFIRMED
    assert client.get(first_link).status_code == 410
    listing = client.get(f"{base}?status=revoked").get_data(as_text=True)
    assert "first@example.org" in listing and "second@example.org" not in listing
    listing = client.get(f"{base}?status=sent").get_data(as_text=True)
    assert "second@example.org" in listing and "first@example.org" not in listing
    assert 'data-count="revoked">1<' in listing and 'data-count="opened">0<' in listing
    # A revoked one is neither resent nor revoked again.
    client.post(f"{base}/{first}/resend")
    assert invitation(app, first).sent_count == 2
    recorded = actions(app)
    assert "invitation.resend" in recorded and "invitation.revoke" in recorded
    assert second


def test_another_events_invitation_is_404_and_a_reviewer_has_no_invitation_pages(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    event_id = invitation_event(app)
    other_id = invitation_event(app)
    invitation_id = invite(app, other_id, "x@example.org", language="en")
    auth.member(event_id, "reviewer")
    assert client.get(f"/manage/events/{event_id}/invitations").status_code == 404
    auth.sign_out()
    auth.member(event_id, "organizer")
    assert client.get(f"/manage/events/{event_id}/invitations").status_code == 200
    response = client.post(f"/manage/events/{event_id}/invitations/{invitation_id}/revoke")
    assert response.status_code == 404
    assert invitation(app, invitation_id).status == InvitationStatus.SENT


# --- the periodic jobs ------------------------------------------------------------------------


def test_a_lapsed_reservation_is_released_to_the_waitlist_by_the_periodic_job(
    app: Flask,
) -> None:
    event_id = invitation_event(app, capacity=1)
    invitation_id = invite(app, event_id, "slow@example.org", language="en", reserve_days=2)
    with app.app_context():
        waiting_id = make_registration(event=event_id, email="w@example.org", status=None).id
        db.session.commit()
    with app.app_context():
        report = services.release_lapsed(utcnow() + timedelta(days=1), actor=SYSTEM)
        assert report.released == 0
        report = services.release_lapsed(utcnow() + timedelta(days=3), actor=SYSTEM)
        db.session.commit()
        assert (report.released, report.promoted) == (1, 1)
        assert db.session.get(Registration, waiting_id).status == RegistrationStatus.CONFIRMED
    row = invitation(app, invitation_id)
    assert row.reservation is not None and row.reservation.release_reason == "lapsed"
    # The invitation itself still works, without a seat: the usual rules apply.
    assert row.shown_status() == InvitationStatus.SENT
    assert "reservation.lapse" in actions(app)


def test_a_reminder_goes_once_before_the_deadline_in_the_invitees_language(
    app: Flask, smtp_server: SMTPServer
) -> None:
    event_id = invitation_event(app)
    invitation_id = invite(
        app, event_id, "busy@example.org", language="ja", reserve_days=5, name="山田 花子"
    )
    row = invitation(app, invitation_id)
    assert row.remind_at is not None
    with app.app_context():
        assert services.send_reminders(row.remind_at - timedelta(minutes=1)) == 0
        assert services.send_reminders(row.remind_at + timedelta(minutes=1)) == 1
        assert services.send_reminders(row.remind_at + timedelta(hours=2)) == 0
        db.session.commit()
        deliver_due()
    reminders = [m for m in smtp_server.messages if m["To"] == "busy@example.org"]
    assert len(reminders) == 2  # the invitation and one reminder
    with app.test_request_context(), force_locale("ja"):
        event = db.session.get(registrations.Event, event_id)
        subject = _("Reminder: your invitation to %(event)s", event=localized(event, "title"))
    assert str(reminders[-1]["Subject"]) == subject
    assert "/invitation/" in reminders[-1].get_body(("plain",)).get_content()


# --- the emails -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "name", "greeting", "title"),
    [
        ("en", "Ada Lovelace", "Hello Ada,", "Test Conference"),
        ("ko", "김민지", "김민지", "북한인권 국제회의"),
        ("ja", "山田 花子", "山田花子", "Test Conference"),
    ],
)
def test_the_invitation_email_reads_in_the_invitees_language(
    app: Flask, smtp_server: SMTPServer, language: str, name: str, greeting: str, title: str
) -> None:
    event_id = invitation_event(app)
    address = f"{language}@example.org"
    invite(app, event_id, address, language=language, name=name)
    with app.app_context():
        deliver_due()
        message = db.session.scalar(db.select(OutboxMessage))
        assert "SECRET" not in message.subject
    mail = [m for m in smtp_server.messages if m["To"] == address][-1]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert greeting in text and title in str(mail["Subject"])
    links = re.findall(r"http://localhost/invitation/([A-Za-z0-9_-]+)(/decline)?", text)
    assert len({token for token, _d in links}) == 1 and any(d for _t, d in links)
    assert "/invitation/" in html and "<img" not in html  # no tracking pixel
    assert address in text
    with app.test_request_context(), force_locale(language):
        event = db.session.get(registrations.Event, event_id)
        category = _("Government representative")
        invited = _(
            "The organizers invite you to %(event)s as: %(category)s.",
            event=localized(event, "title"),
            category=category,
        )
    assert invited in text and category in text
    MAILS.mkdir(parents=True, exist_ok=True)
    (MAILS / f"invitation-{language}.txt").write_text(
        f"Subject: {mail['Subject']}\n\n{text}", encoding="utf-8"
    )
    (MAILS / f"invitation-{language}.html").write_text(html, encoding="utf-8")


def test_split_name_guesses_the_order_of_the_invitees_script() -> None:
    assert split_name("Ada Lovelace", "en") == ("Ada", "Lovelace")
    assert split_name("김민지", "ko") == ("민지", "김")
    assert split_name("山田 花子", "ja") == ("花子", "山田")
    assert split_name("Kim Min-ji", "ko") == ("Min-ji", "Kim")
    assert split_name("Madonna", "en") == ("Madonna", "")


def test_an_invitee_who_registers_on_the_public_form_holds_one_seat_not_two(
    app: Flask,
) -> None:
    """Their invitation is answered (registered, no reminder) and its reserved place is freed
    before the seats are counted, so the event is not full because of their own seat."""
    event_id = invitation_event(app, capacity=2)
    invitation_id = invite(app, event_id, "public@example.org", language="en")
    with app.app_context():
        other = make_registration(event=event_id, email="other@example.org")
        mine = make_registration(event=event_id, email="Public@Example.org",
                                 category="general_public")
        db.session.commit()
        assert (other.status, mine.status) == (RegistrationStatus.CONFIRMED,
                                               RegistrationStatus.CONFIRMED)
        mine_id = mine.id
    assert taken(app, event_id)[None] == 2
    row = invitation(app, invitation_id)
    assert (row.status, row.registration_id, row.remind_at) == (
        InvitationStatus.REGISTERED, mine_id, None)
    assert row.reservation is not None and row.reservation.release_reason == "used"


def test_revoking_withdraws_the_invitation_email_still_waiting(app: Flask) -> None:
    event_id = invitation_event(app)
    invitation_id = invite(app, event_id, "mistake@example.org", language="en")
    with app.app_context():
        row = db.session.get(Invitation, invitation_id)
        services.revoke(row, actor=SYSTEM)
        db.session.commit()
        statuses = list(db.session.scalars(db.select(OutboxMessage.status).where(
            OutboxMessage.recipient == "mistake@example.org")))
    assert statuses == ["cancelled"]


def test_a_lapsed_hold_declined_before_the_job_still_moves_the_waitlist_up(
    app: Flask, client: FlaskClient, smtp_server: SMTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id = invitation_event(app, capacity=1)
    invitation_id = invite(app, event_id, "late@example.org", language="en", reserve_days=2)
    link = link_for(app, smtp_server, "late@example.org")
    with app.app_context():
        waiting_id = make_registration(event=event_id, email="w@example.org", status=None).id
        db.session.commit()
    later = utcnow() + timedelta(days=3)  # the hold has lapsed; no job has run
    from nkhr_events.invitations import invitation_views

    monkeypatch.setattr(services, "utcnow", lambda: later)
    monkeypatch.setattr(invitation_views, "utcnow", lambda: later)
    assert client.post(link + "/decline").status_code == 303
    assert invitation(app, invitation_id).status == InvitationStatus.DECLINED
    with app.app_context():
        assert db.session.get(Registration, waiting_id).status == RegistrationStatus.CONFIRMED


def test_an_invitation_link_is_kept_out_of_the_logs() -> None:
    from nkhr_events.logs import redact

    assert "abcDEF123456" not in redact("GET /invitation/abcDEF123456/decline HTTP/1.1")
    assert "abcDEF123456" not in redact("GET /invitation/abcDEF123456 HTTP/1.1")


def test_the_public_event_page_does_not_list_an_invitation_only_category(
    app: Flask, client: FlaskClient
) -> None:
    event_id = invitation_event(app)
    with app.app_context():
        slug = db.session.get(registrations.Event, event_id).slug
    page = parse(client.get(f"/events/{slug}").get_data(as_text=True))
    assert "Government representative" not in page.text
    assert "Journalist" in page.text


def test_invitees_data_goes_with_the_events_other_personal_data(
    app: Flask, smtp_server: SMTPServer
) -> None:
    from datetime import date

    from nkhr_events.privacy.services import ERASED_NAME, anonymize_registration, purge

    event_id = invitation_event(app)
    unanswered = invite(app, event_id, "quiet@example.org", language="en", name="Quiet One")
    answered = invite(app, event_id, "public2@example.org", language="en")
    with app.app_context():
        deliver_due()
        registration = make_registration(event=event_id, email="public2@example.org",
                                         category="general_public")
        db.session.commit()
        # The registrant asks to be erased: their invitation goes too.
        anonymize_registration(registration, actor=SYSTEM)
        db.session.commit()
        row = db.session.get(Invitation, answered)
        assert (row.name, row.organization) == (ERASED_NAME, "")
        assert row.email == f"erased-invitation-{answered}@invalid"
        assert db.session.get(Invitation, unanswered).name == "Quiet One"
        # The event ends and its retention runs out: every invitation and its emails go.
        event = db.session.get(registrations.Event, event_id)
        event.start_date = event.end_date = date(2000, 1, 1)
        db.session.commit()
        purge(actor=SYSTEM)
        db.session.commit()
        row = db.session.get(Invitation, unanswered)
        assert (row.name, row.email) == (ERASED_NAME, f"erased-invitation-{unanswered}@invalid")
        kept = list(db.session.scalars(db.select(OutboxMessage.recipient).where(
            OutboxMessage.recipient.in_(["quiet@example.org", "public2@example.org"]))))
        assert kept == []
