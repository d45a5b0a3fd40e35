"""Invitations in Chromium, with JavaScript and without: an event organizer marks government
representatives "by invitation only" on the category settings page, uploads a CSV file of 20
people with two rows wrong (both marked with their reasons, nothing stored), corrects the file,
uploads it again with a seat reserved for each, and confirms; the outbox worker delivers 20
invitations to a real SMTP server, each to its address and in its invitee's language. A Korean
invitee opens the link from their email and registers on a Korean form filled in with what the
organizer knew, their category fixed; another invitee declines, and their seat is free at
once. The organizer's list shows who registered and who declined."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest
from babel.dates import format_date
from flask import Flask
from flask_babel import force_locale, gettext, ngettext
from playwright.sync_api import Page, expect

from nkhr_events.accounts.models import StaffRole, TeamMember
from nkhr_events.accounts.services import create_staff
from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.invitations.models import Invitation, InvitationStatus, SeatReservation
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.registrations.models import Registration, RegistrationStatus
from nkhr_events.registrations.seats import seats_taken
from nkhr_events.registrations.services import category_settings
from tests.browser.browser_support import DESKTOP_VIEWPORT, PHONE_VIEWPORT, finish_sign_in
from tests.conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET
from tests.factories import make_event
from tests.smtp import SMTPServer, smtp_settings

pytestmark = pytest.mark.browser

ORGANIZER = "protocol@example.org"
TITLES = {
    "en": "Seoul Forum on North Korean Human Rights",
    "ko": "북한인권 서울 포럼",
    "ja": "北朝鮮人権ソウル・フォーラム",
}
HEADER = "name,email,language,category,organization\n"
#: The 20 people invited: name, address, language, organization.
PEOPLE = [
    ("김민지", "minji.kim@unification.example", "ko", "통일부"),
    ("Grace Hopper", "grace.hopper@navy.example", "en", "US Navy"),
    ("山田 花子", "hanako.yamada@mofa.example", "ja", "外務省"),
    ("이서준", "seojun.lee@unification.example", "ko", "통일부"),
    ("Omar Haddad", "omar.haddad@ohchr.example", "en", "OHCHR"),
    ("佐藤 健", "ken.sato@mofa.example", "ja", "外務省"),
    ("박지우", "jiwoo.park@assembly.example", "ko", "국회"),
    ("Ada Lovelace", "ada@parliament.example", "en", "House of Lords"),
    ("田中 由紀", "yuki.tanaka@cao.example", "ja", "内閣府"),
    ("최유나", "yuna.choi@mofa-kr.example", "ko", "외교부"),
    ("Jan Novák", "jan.novak@mzv.example", "en", "Ministry of Foreign Affairs, Czechia"),
    ("鈴木 一郎", "ichiro.suzuki@abduction.example", "ja", "拉致問題対策本部"),
    ("정하늘", "haneul.jung@nhrck.example", "ko", "국가인권위원회"),
    ("Maria Kowalska", "maria.kowalska@msz.example", "en", "MSZ Poland"),
    ("高橋 美咲", "misaki.takahashi@mofa.example", "ja", "外務省"),
    ("강도윤", "doyun.kang@unification.example", "ko", "통일부"),
    ("Ingrid Berg", "ingrid.berg@regjeringen.example", "en", "Norwegian MFA"),
    ("伊藤 翔", "sho.ito@cao.example", "ja", "内閣府"),
    ("윤서연", "seoyeon.yoon@assembly.example", "ko", "국회"),
    ("Liam O'Brien", "liam.obrien@dfat.example", "en", "DFAT Australia"),
]
KOREAN = PEOPLE[0]
DECLINER = PEOPLE[1]

Shoot = Callable[[Page, str], Path | None]


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


@pytest.fixture
def event_id(app: Flask) -> int:
    """A published event in three languages with room for 40, government representatives
    open (and, as by default, reviewed) but not yet by invitation; its organizer, enrolled
    for two-factor sign-in with the tests' known secret."""
    with app.app_context():
        event = make_event(
            title=TITLES["en"], title_ko=TITLES["ko"], title_ja=TITLES["ja"], capacity=40
        )
        assert not category_settings(event)["government"].by_invitation
        lead = create_staff(ORGANIZER, "Protocol Officer", STAFF_PASSWORD, StaffRole.STAFF)
        lead.totp_secret = STAFF_TOTP_SECRET
        lead.two_factor_enrolled_at = utcnow()
        db.session.flush()
        db.session.add(TeamMember(user_id=lead.id, event_id=event.id, role="organizer"))
        db.session.commit()
        return event.id


def csv_file(rows: list[tuple[str, str, str, str]]) -> bytes:
    lines = [f'"{name}",{email},{lang},government,"{org}"' for name, email, lang, org in rows]
    return (HEADER + "\n".join(lines) + "\n").encode("utf-8")


def t(app: Flask, language: str, message: str, **values: object) -> str:
    """`message` as the app says it in `language`."""
    with app.test_request_context(), force_locale(language):
        return gettext(message, **values)


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size or DESKTOP_VIEWPORT
    assert width <= viewport["width"], f"{page.url} is {width} px wide at {viewport['width']}"


def shoot_both(page: Page, shoot: Shoot, name: str) -> None:
    """The page at 1280 and at 390 px (no sideways scrolling on either), then back to 1280."""
    no_sideways_scroll(page)
    shoot(page, f"{name}-1280")
    page.set_viewport_size(PHONE_VIEWPORT)
    no_sideways_scroll(page)
    shoot(page, f"{name}-390")
    page.set_viewport_size(DESKTOP_VIEWPORT)


def held_day(app: Flask, event_id: int) -> str:
    """The day the upload form suggests for the hold, as an English page writes it."""
    from nkhr_events.invitations.services import default_hold_day

    with app.test_request_context():
        event = db.session.get(Event, event_id)
        return format_date(default_hold_day(event), "medium", locale="en")


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model)) or 0


def mark_by_invitation(page: Page, app: Flask, event_id: int, shoot: Shoot, js: str) -> None:
    page.goto(f"/manage/events/{event_id}/categories")
    government = page.locator("fieldset", has=page.get_by_text("Government representative"))
    box = government.get_by_label("By invitation only")
    expect(box).not_to_be_checked()
    box.check()
    shoot_both(page, shoot, f"invitations-{js}-01-categories")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_load_state()
    with app.app_context():
        event = db.session.get(Event, event_id)
        assert category_settings(event)["government"].by_invitation
    page.goto(f"/manage/events/{event_id}/categories")
    government = page.locator("fieldset", has=page.get_by_text("Government representative"))
    expect(government.get_by_label("By invitation only")).to_be_checked()


def upload(page: Page, content: bytes) -> None:
    form = page.locator("#upload-form")
    form.locator("input[type=file]").set_input_files(
        {"name": "invitations.csv", "mimeType": "text/csv", "buffer": content}
    )
    form.get_by_role("button", name="Check the file").click()
    page.wait_for_load_state()


def upload_fix_and_send(page: Page, app: Flask, event_id: int, shoot: Shoot, js: str) -> None:
    """Two rows wrong: both marked with the reason, nothing stored; corrected: sent."""
    page.goto(f"/manage/events/{event_id}/invitations")
    expect(page.locator("#no-invitation-categories")).to_have_count(0)
    page.get_by_role("link", name="Invite from a CSV file").click()
    expect(page.locator("h1")).to_have_text("Invite from a CSV file")
    page.get_by_label("Reserve a seat").check()
    expect(page.locator("#hold_until")).not_to_have_value("")
    shoot_both(page, shoot, f"invitations-{js}-02-upload")

    wrong = list(PEOPLE)
    wrong[4] = ("Omar Haddad", "omar.haddad at ohchr.example", "en", "OHCHR")
    wrong[8] = ("田中 由紀", "yuki.tanaka@cao.example", "jp", "内閣府")
    upload(page, csv_file(wrong))
    expect(page.locator("#preview-wrong")).to_contain_text("2 rows are wrong")
    expect(page.locator("#preview tbody tr")).to_have_count(20)
    bad = page.locator("#preview tr[data-ok=no]")
    expect(bad).to_have_count(2)
    # Lines count the header: the fifth person is on line 6.
    expect(bad.nth(0)).to_have_attribute("data-line", "6")
    expect(bad.nth(0)).to_contain_text("Enter a valid email address.")
    expect(bad.nth(0)).to_contain_text("omar.haddad at ohchr.example")
    expect(bad.nth(1)).to_have_attribute("data-line", "10")
    expect(bad.nth(1)).to_contain_text("Unknown language: use en, ko or ja.")
    expect(page.locator("#preview tr[data-ok=yes]")).to_have_count(18)
    # The notice names them too, each a link to its row.
    expect(page.locator("#wrong-rows li")).to_have_text(
        ["Line 6: Enter a valid email address.", "Line 10: Unknown language: use en, ko or ja."]
    )
    page.get_by_role("link", name="Line 10: Unknown language: use en, ko or ja.").click()
    expect(page).to_have_url(re.compile(r"#line-10$"))
    expect(page.locator("#confirm-form")).to_have_count(0)
    # What was chosen is kept for the next try.
    expect(page.get_by_label("Reserve a seat")).to_be_checked()
    shoot_both(page, shoot, f"invitations-{js}-03-two-rows-wrong")
    assert count(app, Invitation) == 0
    assert count(app, OutboxMessage) == 0
    assert count(app, SeatReservation) == 0

    upload(page, csv_file(PEOPLE))
    expect(page.locator("#preview-ok")).to_contain_text("All 20 rows are ready.")
    # Held "until (inclusive)" the day chosen: written as that day's last minute.
    expect(page.locator("#preview-ok")).to_contain_text(f"until {held_day(app, event_id)}, 11:59")
    expect(page.locator("#preview tr[data-ok=yes]")).to_have_count(20)
    assert count(app, Invitation) == 0
    shoot_both(page, shoot, f"invitations-{js}-04-preview-ready")
    page.get_by_role("button", name="Send 20 invitations").click()
    page.wait_for_load_state()
    expect(page.locator("h1")).to_have_text("Invitations")
    expect(page.locator("main")).to_contain_text("20 invitations are on their way.")
    expect(page.locator("[data-count=sent]")).to_have_text("20")
    expect(page.locator("#invitations tbody tr")).to_have_count(20)
    expect(page.locator("#reserved-count")).to_have_text(
        "20 seats are reserved for invitations now."
    )
    shoot_both(page, shoot, f"invitations-{js}-05-sent")
    with app.app_context():
        assert seats_taken(event_id)[None] == 20


def delivered(app: Flask, smtp_server: SMTPServer) -> dict[str, EmailMessage]:
    """The outbox worker's run: every invitation delivered to the SMTP server, by address."""
    with app.app_context():
        report = deliver_due()
        assert report.claimed == 20
    received = {str(m["To"]): m for m in smtp_server.messages}
    assert sorted(received) == sorted(email for _n, email, _l, _o in PEOPLE)
    assert len(smtp_server.messages) == 20
    for _name, email, language, _org in PEOPLE:
        message = received[email]
        subject = t(app, language, "Invitation: %(event)s", event=TITLES[language])
        assert str(message["Subject"]) == subject
        text = message.get_body(("plain",)).get_content()
        invited = t(
            app,
            language,
            "The organizers invite you to %(event)s as: %(category)s.",
            event=TITLES[language],
            category=t(app, language, "Government representative"),
        )
        assert invited in text, (email, text)
        assert email in text
    return received


def link_in(message: EmailMessage) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(r"https?://[^/\s]+(/invitation/[A-Za-z0-9_-]+)\s", text)
    assert found is not None, text
    return found.group(1)


def korean_invitee_registers(
    page: Page, app: Flask, event_id: int, path: str, shoot: Shoot, js: str
) -> None:
    _name, email, _language, organization = KOREAN
    page.goto(path)
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("h1")).to_have_text(
        t(app, "ko", "You are invited: %(event)s", event=TITLES["ko"])
    )
    notice = page.locator("#invitation-notice")
    expect(notice).to_contain_text(t(app, "ko", "Government representative"))
    expect(page.locator("#held-until")).to_be_visible()
    # Filled in with what the organizer knew; the address shown, the category not a choice.
    expect(page.locator("#family_name")).to_have_value("김")
    expect(page.locator("#given_name")).to_have_value("민지")
    expect(page.locator("#organization")).to_have_value(organization)
    expect(page.locator("main")).to_contain_text(email)
    expect(page.locator("main form [name=email]")).to_have_count(0)
    expect(page.locator("main form [name=category]")).to_have_count(0)
    shoot_both(page, shoot, f"invitations-{js}-06-korean-form")

    page.locator("#q_ministry").fill("통일부")
    page.locator("#q_government_position").fill("과장")
    page.locator("#q_country_represented").select_option("KR")
    page.locator("#privacy_consent").check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("#answer")).to_have_attribute("data-status", "registered")
    expect(page.locator("h1")).to_have_text(t(app, "ko", "Thank you for registering"))
    shoot_both(page, shoot, f"invitations-{js}-07-korean-registered")
    with app.app_context():
        registration = db.session.scalars(
            db.select(Registration).where(Registration.email == email)
        ).one()
        assert registration.event_id == event_id
        assert registration.category == "government"
        assert registration.language == "ko"
        assert (registration.family_name, registration.given_name) == ("김", "민지")
        assert registration.status == RegistrationStatus.CONFIRMED  # its reserved seat
        invitation = db.session.scalars(
            db.select(Invitation).where(Invitation.email == email)
        ).one()
        assert invitation.status == InvitationStatus.REGISTERED
        assert invitation.registration_id == registration.id


def invitee_declines(page: Page, app: Flask, path: str, shoot: Shoot, js: str) -> None:
    _name, email, _language, _org = DECLINER
    page.goto(path)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("#decline-link").click()
    expect(page.locator("h1")).to_have_text("Decline the invitation?")
    shoot_both(page, shoot, f"invitations-{js}-08-decline-ask")
    with app.app_context():
        invitation = db.session.scalars(
            db.select(Invitation).where(Invitation.email == email)
        ).one()
        assert invitation.status == InvitationStatus.OPENED
        before = seats_taken(invitation.event_id)[None]
    page.locator("#decline-button").click()
    page.wait_for_load_state()
    expect(page.locator("#answer")).to_have_attribute("data-status", "declined")
    expect(page.locator("h1")).to_have_text("You declined the invitation")
    shoot_both(page, shoot, f"invitations-{js}-09-declined")
    with app.app_context():
        invitation = db.session.scalars(
            db.select(Invitation).where(Invitation.email == email)
        ).one()
        assert invitation.status == InvitationStatus.DECLINED
        assert invitation.reservation is not None
        assert invitation.reservation.release_reason == "declined"
        assert seats_taken(invitation.event_id)[None] == before - 1  # the seat is free
    # The link, once more: it says what became of it, and declines nothing twice.
    page.goto(path)
    expect(page.locator("#answer")).to_have_attribute("data-status", "declined")


def the_list_shows_the_answers(
    page: Page, app: Flask, event_id: int, shoot: Shoot, js: str
) -> None:
    page.goto(f"/manage/events/{event_id}/invitations")
    with app.app_context():
        ids = {
            email: db.session.scalars(
                db.select(Invitation.id).where(Invitation.email == email)
            ).one()
            for email in (KOREAN[1], DECLINER[1])
        }
    korean = page.locator(f"tr[data-invitation='{ids[KOREAN[1]]}']")
    expect(korean.locator("td[data-status]")).to_have_attribute("data-status", "registered")
    expect(korean).to_contain_text("Registered")
    expect(korean.get_by_role("link", name="Registration")).to_be_visible()
    expect(korean).to_contain_text("taken by the registration")
    expect(korean.get_by_role("button")).to_have_count(0)  # nothing left to resend or revoke
    declined = page.locator(f"tr[data-invitation='{ids[DECLINER[1]]}']")
    expect(declined.locator("td[data-status]")).to_have_attribute("data-status", "declined")
    expect(declined).to_contain_text("Declined")
    expect(declined).to_contain_text("released")
    for status, number in (("sent", 18), ("opened", 0), ("registered", 1), ("declined", 1)):
        expect(page.locator(f"[data-count={status}]")).to_have_text(str(number))
    with app.test_request_context():
        reserved = ngettext(
            "%(num)d seat is reserved for invitations now.",
            "%(num)d seats are reserved for invitations now.",
            18,
        )
    expect(page.locator("#reserved-count")).to_have_text(reserved)
    shoot_both(page, shoot, f"invitations-{js}-10-list-answered")
    page.get_by_role("link", name="Declined: 1").click()
    expect(page.locator("#invitations tbody tr")).to_have_count(1)
    expect(page.locator("#invitations tbody")).to_contain_text(DECLINER[0])


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_organizer_invites_twenty_from_a_csv_and_invitees_accept_in_korean_or_decline(
    app: Flask,
    open_page: Callable[..., Page],
    smtp_server: SMTPServer,
    event_id: int,
    javascript: bool,
    screenshot: Shoot,
) -> None:
    js = "js" if javascript else "nojs"
    lead = open_page(javascript=javascript)
    lead.goto("/sign-in")
    lead.get_by_label("Email").fill(ORGANIZER)
    lead.get_by_label("Password").fill(STAFF_PASSWORD)
    lead.get_by_role("button", name="Sign in").click()
    finish_sign_in(lead, app, ORGANIZER)
    expect(lead.locator("h1")).to_have_text("Events")

    mark_by_invitation(lead, app, event_id, screenshot, js)
    upload_fix_and_send(lead, app, event_id, screenshot, js)
    mails = delivered(app, smtp_server)

    korean_invitee_registers(
        open_page(javascript=javascript), app, event_id, link_in(mails[KOREAN[1]]), screenshot, js
    )
    invitee_declines(
        open_page(javascript=javascript), app, link_in(mails[DECLINER[1]]), screenshot, js
    )
    the_list_shows_the_answers(lead, app, event_id, screenshot, js)
