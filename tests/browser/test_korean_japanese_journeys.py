"""A Korean reader and a Japanese reader walk the whole attendee journey in Chromium, on a
phone: they choose their language with the header switch, register for two of the three days
of an event with an interpretation channel, change the days through the private link, cancel,
and apply as a partner. Every page they see and every email they receive (subject, text and
HTML parts, calendar file) is in their language, their name written family name first; the
only English is proper names, the organization's name and text marked as another language's.
Mail goes to a real SMTP server on a local port."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from babel.dates import format_skeleton
from flask import Flask
from flask_babel import gettext
from icalendar import Calendar
from playwright.sync_api import Page, expect

from nkhr_events.dbtypes import utcnow
from nkhr_events.events.dates import contiguous_runs
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.partners.models import Partnership
from nkhr_events.partners.services import partnership_reference
from nkhr_events.registrations.models import Registration
from nkhr_events.web import event_days_text
from tests.factories import make_event, make_series
from tests.language_leaks import Leaks, english_in, page_text, plain_text
from tests.smtp import SMTPServer, smtp_settings

from .browser_support import PHONE_VIEWPORT

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Reader:
    """A reader of Korean or Japanese and what they type."""

    language: str
    switch: str  # the header button that chooses the language
    family: str
    given: str
    greeting: str  # how an email greets them: family name first
    email: str
    country: str
    organization: str
    channel: str  # the interpretation they listen to...
    channel_label: str  # ...and its name
    partner: str  # the organization they apply for as a partner
    partner_email: str


READERS = [
    Reader(
        language="ko", switch="한국어", family="이", given="영희", greeting="이영희 님",
        email="younghee@example.org", country="KR", organization="북한인권시민연합",
        channel="en_to_ko", channel_label="English into Korean",
        partner="통일인권연구소", partner_email="partners@unification.example",
    ),
    Reader(
        language="ja", switch="日本語", family="山田", given="花子", greeting="山田花子様",
        email="hanako@example.org", country="JP", organization="北朝鮮難民救援基金",
        channel="ko_to_ja", channel_label="Korean into Japanese",
        partner="北朝鮮人権研究会", partner_email="partners@kitachosen.example",
    ),
]

#: The event's texts in its three languages.
EVENT_TEXTS = {
    "title": "17th International Conference on North Korean Human Rights and Refugees",
    "title_ko": "제17회 북한인권·난민문제 국제회의",
    "title_ja": "第17回北朝鮮人権・難民問題国際会議",
    "description": "Three days of panels on the rights of North Korean refugees.",
    "description_ko": "사흘 동안 탈북민의 인권을 주제로 토론합니다.",
    "description_ja": "三日間にわたり脱北者の人権について議論します。",
    "venue": "Korea Press Center",
    "venue_ko": "한국프레스센터",
    "venue_ja": "韓国プレスセンター",
    "city": "Seoul",
    "city_ko": "서울",
    "city_ja": "ソウル",
}
SERIES_TEXTS = {
    "name": "International Conference on North Korean Human Rights and Refugees",
    "name_ko": "북한인권·난민문제 국제회의",
    "name_ja": "北朝鮮人権・難民問題国際会議",
    "description": "Held since 1999 in Seoul, Tokyo, Prague and beyond.",
    "description_ko": "1999년부터 서울, 도쿄, 프라하 등에서 열렸습니다.",
    "description_ja": "1999年からソウル、東京、プラハなどで開かれています。",
}


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


@dataclass(frozen=True)
class ThreeDayEvent:
    slug: str
    days: list[date]


@pytest.fixture
def event(app: Flask) -> ThreeDayEvent:
    """A three-day event written in English, Korean and Japanese, interpreting both ways
    between English and Korean and between Japanese and Korean."""
    with app.app_context():
        first = utcnow().date() + timedelta(days=45)
        days = [first + timedelta(days=i) for i in range(3)]
        record = make_event(
            series=make_series(**SERIES_TEXTS), days=days, languages="en ko ja",
            interpretation_pairs="en-ko ja-ko", capacity=80, **EVENT_TEXTS,
        )
        db.session.commit()
        return ThreeDayEvent(record.slug, days)


class Journey:
    """One reader's walk: what they read on each page and in each email, and the English
    found there (kept for one report at the end rather than failing at the first)."""

    def __init__(
        self, app: Flask, page: Page, reader: Reader, smtp_server: SMTPServer,
        screenshot: Callable[[Page, str], Path | None],
    ) -> None:
        self.app, self.page, self.reader = app, page, reader
        self.smtp_server, self.screenshot = smtp_server, screenshot
        self.found: dict[str, Leaks] = {}
        self.too_wide: dict[str, int] = {}
        self.mails_read = 0
        # Proper names: the organization's (footer and emails) and the site's as the reader's
        # catalogue gives it (the Japanese keeps "NKHR Conferences", as the glossary says).
        # The test adds more.
        self.names = [app.config["NKHR_ORG_NAME"], self.t("NKHR Conferences")]

    def t(self, message: str, **values: object) -> str:
        """`message` as the app says it to this reader."""
        with self.app.test_request_context(headers={"Accept-Language": self.reader.language}):
            return gettext(message, **values)

    def days_text(self, days: list[date]) -> str:
        with self.app.test_request_context(headers={"Accept-Language": self.reader.language}):
            return event_days_text(days)

    def read_page(self, name: str, shoot: bool = False) -> None:
        """The page is in the reader's language, with no English but names; on a phone it is
        no wider than the screen."""
        expect(self.page.locator("html")).to_have_attribute("lang", self.reader.language)
        nodes = page_text(self.page.content(), self.reader.language)
        leaks = english_in(nodes, self.reader.language, self.names)
        if leaks:
            self.found[f"page {name}"] = leaks
        width = self.page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE_VIEWPORT["width"]:
            self.too_wide[name] = width
        if shoot:
            self.screenshot(self.page, f"journey-{self.reader.language}-{name}")

    def new_emails(self, expected: int) -> list[EmailMessage]:
        """Send what the outbox holds and return the `expected` messages that arrived."""
        with self.app.app_context():
            deliver_due()
        messages = self.smtp_server.messages[self.mails_read:]
        assert len(messages) == expected, [m["Subject"] for m in messages]
        self.mails_read += len(messages)
        return messages

    def read_email(self, name: str, message: EmailMessage) -> tuple[str, str]:
        """Subject, text and HTML parts and calendar file in the reader's language; returns
        the text and HTML parts."""
        language = self.reader.language
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert f'<html lang="{language}">' in html
        calendars = [calendar_of(message)] if has_calendar(message) else []
        for part, nodes in (
            ("subject", [" ".join(str(message["Subject"]).split())]),
            ("text", plain_text(text)),
            ("HTML", page_text(html, language)),
            ("calendar", [str(entry[key]) for calendar in calendars
                          for entry in calendar.walk("VEVENT")
                          for key in ("SUMMARY", "LOCATION", "DESCRIPTION") if key in entry]),
        ):
            leaks = english_in(nodes, language, self.names)
            if leaks:
                self.found[f"email {name} ({part})"] = leaks
        return text, html

    def report(self) -> str:
        lines = [f"{where}:\n{leaks.describe()}" for where, leaks in self.found.items()]
        lines += [f"page {name} is {width}px wide on a 390px screen"
                  for name, width in self.too_wide.items()]
        return "\n".join(lines)


def has_calendar(message: EmailMessage) -> bool:
    return any(p.get_content_type() == "text/calendar" for p in message.iter_attachments())


def calendar_of(message: EmailMessage) -> Calendar:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True))


def ticked(page: Page) -> list[bool]:
    boxes = page.locator("input[name=days]")
    expect(boxes).to_have_count(3)
    return [boxes.nth(i).is_checked() for i in range(3)]


def name_fields_in_order(page: Page) -> list[str]:
    return page.locator("input[name=family_name], input[name=given_name]").evaluate_all(
        "inputs => inputs.map(input => input.name)"
    )


def register(journey: Journey, event: ThreeDayEvent) -> None:
    """From the home page, in the reader's language, to "check your email", for the first
    and the last day, with an interpretation channel."""
    page, reader, t = journey.page, journey.reader, journey.t
    title = EVENT_TEXTS[f"title_{reader.language}"]
    # The reader chooses their language on the home page; the choice is kept from then on.
    page.goto("/")
    page.get_by_role("button", name=reader.switch).click()
    expect(page.get_by_role("button", name=reader.switch)).to_have_attribute(
        "aria-pressed", "true"
    )
    journey.read_page("home", shoot=True)

    page.get_by_role("link", name=title).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    journey.read_page("event", shoot=True)

    page.get_by_role("link", name=t("Register"), exact=True).click()
    journey.read_page("category")
    page.get_by_label(t("General public"), exact=True).check()
    page.get_by_role("button", name=t("Continue")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(t("General public"))

    # Korean and Japanese readers are asked for the family name first.
    assert name_fields_in_order(page) == ["family_name", "given_name"]
    page.get_by_label(t("Family name"), exact=True).fill(reader.family)
    page.get_by_label(t("Given name"), exact=True).fill(reader.given)
    page.get_by_label(t("Email"), exact=True).fill(reader.email)
    page.get_by_label(t("Organization or affiliation")).fill(reader.organization)
    page.get_by_label(t("Country"), exact=True).select_option(reader.country)
    # The emails' language starts as the page's.
    language_group = page.get_by_role("group", name=t("Language for our emails"))
    expect(language_group.get_by_role("radio", name=reader.switch)).to_be_checked()
    boxes = page.get_by_role("group", name=t("Days you attend")).get_by_role("checkbox")
    expect(boxes).to_have_count(3)
    boxes.nth(0).check()
    boxes.nth(2).check()
    page.get_by_label(t(reader.channel_label), exact=True).check()
    page.locator("input[name=privacy_consent]").check()
    journey.read_page("form", shoot=True)
    page.get_by_role("button", name=t("Register"), exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("Check your email"))
    journey.read_page("sent", shoot=True)


def read_confirmation(journey: Journey, days: list[date]) -> str:
    """The confirmation greets the reader family name first and gives the event's title and
    the days they attend, with their weekdays, in their language. Returns the private link."""
    reader, t = journey.reader, journey.t
    title = EVENT_TEXTS[f"title_{reader.language}"]
    [confirmation] = journey.new_emails(1)
    assert confirmation["To"] == reader.email
    assert confirmation["Subject"] == t("Your seat is confirmed: %(event)s", event=title)
    text, html = journey.read_email("confirmation", confirmation)
    assert text.lstrip().startswith(reader.greeting)
    assert f"{t('Name')}: {reader.family}{reader.given}" in text
    assert f"{t('Event')}: {title}" in text and title in html
    attending = journey.days_text(days)
    for day in days:
        assert format_skeleton("E", day, locale=reader.language) in attending
    assert f"{t('Days you attend')}: {attending}" in text and attending in html
    # The calendar holds the days they attend: one entry per run of them.
    entries = calendar_of(confirmation).walk("VEVENT")
    assert [e.decoded("DTSTART") for e in entries] == [run[0] for run in contiguous_runs(days)]
    assert {str(e["SUMMARY"]) for e in entries} == {title}
    link = re.search(r"/registration/[A-Za-z0-9_-]+", text)
    assert link is not None
    return link.group(0)


def change_days(journey: Journey, manage_url: str) -> None:
    """Through the private link: the first and last day are ticked; the reader attends the
    first two days instead."""
    page, t = journey.page, journey.t
    page.goto(manage_url)
    expect(page.locator(".status-box")).to_contain_text(t("Confirmed"))
    assert name_fields_in_order(page) == ["family_name", "given_name"]
    assert ticked(page) == [True, False, True]
    journey.read_page("manage", shoot=True)
    page.locator("input[name=days]").nth(2).uncheck()
    page.locator("input[name=days]").nth(1).check()
    page.get_by_role("button", name=t("Save changes")).click()
    expect(page.locator(".flash-success")).to_have_text(
        t("Your changes are saved. We have emailed you a summary.")
    )
    assert ticked(page) == [True, True, False]
    journey.read_page("manage-saved")


def read_change(journey: Journey, days: list[date]) -> None:
    title = EVENT_TEXTS[f"title_{journey.reader.language}"]
    [change] = journey.new_emails(1)
    assert change["Subject"] == journey.t(
        "Your registration details were changed: %(event)s", event=title
    )
    text, _html = journey.read_email("change", change)
    assert text.lstrip().startswith(journey.reader.greeting)
    assert f"{journey.t('Days you attend')}: {journey.days_text(days)}" in text
    # The new days replace the entries; a run the old days had and the new ones do not is
    # withdrawn in the same file.
    entries = calendar_of(change).walk("VEVENT")
    confirmed = [e.decoded("DTSTART") for e in entries if str(e["STATUS"]) == "CONFIRMED"]
    assert confirmed == [run[0] for run in contiguous_runs(days)]
    assert {str(e["SUMMARY"]) for e in entries} == {title}


def cancel(journey: Journey) -> None:
    """Asked once, then cancelled."""
    page, t = journey.page, journey.t
    page.get_by_role("link", name=t("Cancel my registration")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Cancel your registration"))
    journey.read_page("cancel", shoot=True)
    page.get_by_role("button", name=t("Yes, cancel my registration")).click()
    expect(page.locator(".status-box")).to_contain_text(t("Cancelled"))
    journey.read_page("cancelled")


def read_cancellation(journey: Journey) -> None:
    """The cancellation, with the calendar entry withdrawn."""
    title = EVENT_TEXTS[f"title_{journey.reader.language}"]
    [cancellation] = journey.new_emails(1)
    assert cancellation["Subject"] == journey.t(
        "Your registration is cancelled: %(event)s", event=title
    )
    text, _html = journey.read_email("cancellation", cancellation)
    assert text.lstrip().startswith(journey.reader.greeting)
    withdrawn = calendar_of(cancellation)
    assert str(withdrawn["METHOD"]) == "CANCEL"
    assert str(withdrawn.walk("VEVENT")[0]["SUMMARY"]) == title


def apply_as_partner(journey: Journey, event: ThreeDayEvent) -> None:
    """From the event page, the reader applies for their organization as a co-organizer."""
    page, reader, t = journey.page, journey.reader, journey.t
    page.goto(f"/events/{event.slug}")
    page.get_by_role("link", name=t("Become a co-organizer or sponsor")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Become a co-organizer or sponsor")
    )
    page.get_by_label(t("Organization name")).fill(reader.partner)
    page.get_by_label(t("Type of organization")).select_option("ngo")
    page.get_by_label(t("Country"), exact=True).select_option(reader.country)
    page.get_by_label(t("Website")).fill("https://partner.example")
    page.get_by_label(t("Contact person")).fill(reader.family + reader.given)
    page.get_by_label(t("Email"), exact=True).fill(reader.partner_email)
    page.get_by_label(t("Co-organizer"), exact=True).check()
    page.get_by_label(t("Speakers"), exact=True).check()
    language_group = page.get_by_role("group", name=t("Language for our emails"))
    expect(language_group.get_by_role("radio", name=reader.switch)).to_be_checked()
    page.locator("input[name=privacy_consent]").check()
    journey.read_page("partner-form", shoot=True)
    page.get_by_role("button", name=t("Send application")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Thank you for your application")
    )
    journey.read_page("partner-sent")


def read_acknowledgement(journey: Journey, reference: str) -> None:
    """Of the two emails, the team's is in the team's language; the applicant's in theirs."""
    reader = journey.reader
    title = EVENT_TEXTS[f"title_{reader.language}"]
    journey.names.append(reference)
    [acknowledgement] = [m for m in journey.new_emails(2) if m["To"] == reader.partner_email]
    assert acknowledgement["Subject"] == journey.t(
        "We received your application (reference %(reference)s)", reference=reference
    )
    text, html = journey.read_email("partner acknowledgement", acknowledgement)
    assert text.lstrip().startswith(
        journey.t("Hello %(name)s,", name=reader.family + reader.given)
    )
    assert title in text and title in html


@pytest.mark.parametrize("reader", READERS, ids=[r.language for r in READERS])
def test_a_reader_walks_the_whole_journey_in_their_language(
    app: Flask, open_page: Callable[..., Page], event: ThreeDayEvent, smtp_server,
    screenshot, live_server: str, reader: Reader,
) -> None:
    journey = Journey(app, open_page(viewport=PHONE_VIEWPORT), reader, smtp_server, screenshot)
    first, second, third = event.days

    register(journey, event)
    with app.app_context():
        registration = db.session.scalars(db.select(Registration)).one()
        assert (registration.status, registration.language) == ("confirmed", reader.language)
        assert (registration.family_name, registration.given_name) == (reader.family, reader.given)
        assert registration.day_list == [first, third]
        assert registration.interpretation == reader.channel
        registration_id = registration.id
    manage_path = read_confirmation(journey, [first, third])

    change_days(journey, live_server + manage_path)
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        # Exactly the days chosen; the rest as it was.
        assert registration.day_list == [first, second]
        assert (registration.interpretation, registration.language) == (
            reader.channel, reader.language
        )
    read_change(journey, [first, second])

    cancel(journey)
    with app.app_context():
        assert db.session.get(Registration, registration_id).status == "cancelled"
    read_cancellation(journey)

    apply_as_partner(journey, event)
    with app.app_context():
        partnership = db.session.scalars(db.select(Partnership)).one()
        assert (partnership.language, partnership.role) == (reader.language, "co_organizer")
        reference = partnership_reference(partnership)
    read_acknowledgement(journey, reference)

    if journey.found or journey.too_wide:
        pytest.fail(f"English or overflow for a {reader.language} reader:\n{journey.report()}",
                    pytrace=False)


def test_the_check_finds_english_and_passes_over_text_marked_as_another_language(
    client, event: ThreeDayEvent
) -> None:
    """Guards the journey above: the check sees English on a page and in an email, and leaves
    out what is marked as another language's, links and file names."""
    english = client.get(f"/events/{event.slug}", headers={"Accept-Language": "en"})
    found = english_in(page_text(english.get_data(as_text=True), "ko"), "ko")
    assert "'Register' in 'Register'" in "\n".join(found.ignored)
    assert any("Seoul" in line for line in found.latin)

    marked = ('<html lang="ko"><p lang="en">Register</p>'
              '<p>서울, <span lang="en-GB">Past conferences</span></p></html>')
    assert not english_in(page_text(marked, "ko"), "ko")
    assert english_in(page_text("<p>Past conferences</p>", "ja"), "ja").ignored

    email = plain_text("Event: 서울 회의\n첨부(checkin.png)\nhttp://localhost/registration/a1")
    found = english_in(email, "ko")
    assert [line.strip() for line in found.ignored] == ["'Event' in 'Event'"]
    assert sorted(found.latin) == ["'Event' in 'Event'", "'Event' in 'Event: 서울 회의'"]
