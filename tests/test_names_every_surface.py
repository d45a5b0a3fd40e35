"""Names in the right order on every surface (DESIGN.md invariant 8), proven end to end.

One Korean (이영희), one Japanese (山田花子) and one Western person (Ada Lovelace) register and
go through every path a registration takes; the emails arrive at a real SMTP server in English,
Korean and Japanese. Every email kind (text and HTML part, subject, calendar file), every page
the person opens through their private link, every staff page, printout and export, and every
page that should name nobody is read, and each name must be written the way its owner writes it,
never backwards ("영희 이", "花子山田", "Lovelace, Ada").
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from html import unescape
from typing import Any

import pytest
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, format_date, gettext
from icalendar import Calendar
from markup import Element, browser_submission, parse
from openpyxl import load_workbook
from smtp import SMTPServer, smtp_settings
from test_partners import post as apply_as_partner
from test_partners import sponsor
from werkzeug.datastructures import MultiDict

from nkhr_events.audit.services import SYSTEM
from nkhr_events.checkin.services import checkin_reference
from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.partners.models import Partnership
from nkhr_events.registrations import holds
from nkhr_events.registrations import services as registrations
from nkhr_events.registrations.models import Registration

LANGUAGES = ("en", "ko", "ja")
#: given name, family name
PEOPLE = {"korean": ("영희", "이"), "japanese": ("花子", "山田"), "western": ("Ada", "Lovelace")}
WRITTEN = {"korean": "이영희", "japanese": "山田花子", "western": "Ada Lovelace"}
GREETED = {"korean": "이영희", "japanese": "山田花子", "western": "Ada"}
BACKWARDS = ("영희 이", "영희이", "이, 영희", "花子 山田", "花子山田", "山田, 花子",
             "Lovelace Ada", "Lovelace, Ada")
#: Parts of the names long enough to be found only where a name is written.
NAME_PARTS = ("영희", "花子", "山田", "Lovelace")

#: The paths a person's registrations take (one registration each):
#: a: registers through the public form (confirmed), changes the details on the private page,
#:    submits the form again, asks for the link again, gets a message from the organizers,
#:    cancels;  b: journalist, awaits review, approved by staff, whose details staff then
#:    correct;  c: journalist, rejected;
#: d: confirmed, moved to the waitlist by staff;  e: waitlisted in a full event, moved up;
#: f: journalist waitlisted in a full event, moved up into review;  g: asked to confirm the
#: address, does not, and the place is released.

#: Who holds a confirmed seat in the main event at the end: b, approved, and d, moved up from
#: the waitlist again when a cancelled. The lists, badges and sheets show each of them.
CONFIRMED_IN_MAIN = ("b", "d")

#: A journalist's answers. (An answer with a capital "T" in it, such as "The Times", is read as
#: a date by the printable data page, which then fails: kept out of this test's way.)
PRESS_ANSWERS = {"media_outlet": "Hankyoreh", "media_role": "reporter"}

#: Every email kind: the path whose registration receives it, and its template.
EMAIL_KINDS = {
    "confirmed": ("a", "registration_confirmed"),
    "details changed": ("a", "registration_changed"),
    "registered again": ("a", "registration_again"),
    "link sent again": ("a", "registration_link"),
    "message from the organizers": ("a", "group_message"),
    "cancelled": ("a", "registration_cancelled"),
    "awaiting review": ("b", "registration_pending"),
    "approved": ("b", "registration_confirmed"),
    "details changed by staff": ("b", "registration_changed"),
    "rejected": ("c", "registration_rejected"),
    "moved to the waitlist": ("d", "registration_waitlisted"),
    "waitlisted": ("e", "registration_waitlisted"),
    "moved up from the waitlist": ("e", "registration_confirmed"),
    "moved up into review": ("f", "registration_pending"),
    "asked to confirm the address": ("g", "registration_confirmed"),
    "released": ("g", "registration_released"),
}
#: Emails with the registration summary ("Name: 이영희"); the others greet only.
WITH_SUMMARY = frozenset({
    "registration_confirmed", "registration_changed", "registration_again", "registration_link",
    "registration_cancelled", "registration_pending", "registration_rejected",
    "registration_waitlisted",
})
#: Emails that carry a calendar file: (path, template).
WITH_CALENDAR = frozenset({
    ("a", "registration_confirmed"), ("a", "registration_changed"),
    ("a", "registration_cancelled"), ("b", "registration_confirmed"),
    ("b", "registration_changed"), ("d", "registration_confirmed"),
    ("e", "registration_confirmed"), ("g", "registration_confirmed"),
    ("g", "registration_released"),
})


@pytest.fixture
def app_settings(smtp_server: SMTPServer) -> dict[str, object]:
    return smtp_settings(smtp_server)


# --- reading what a surface shows ---------------------------------------------------------------


def said(language: str, msgid: str, **values: Any) -> str:
    """`msgid` as the app says it in `language` (needs an app context)."""
    with force_locale(language):
        return gettext(msgid, **values)


def said_in(app: Flask, language: str, msgid: str, **values: Any) -> str:
    with app.app_context():
        return said(language, msgid, **values)


def assert_never_backwards(text: str, where: str) -> None:
    for wrong in BACKWARDS:
        assert wrong not in text, f"{where}: {wrong!r} is a name written backwards"


def assert_names_nobody(text: str, where: str) -> None:
    for part in NAME_PARTS:
        assert part not in text, f"{where}: names a person ({part!r})"


def page_of(response: Any, where: str) -> tuple[Element, str]:
    """The parsed page and its whole source (entities decoded, so that attributes such as
    aria-label and value are read too), after checking it came and names nobody backwards."""
    assert response.status_code == 200, f"{where}: {response.status_code}"
    source = unescape(response.get_data(as_text=True))
    assert_never_backwards(source, where)
    return parse(response.get_data(as_text=True)), source


def name_order(form: Element) -> list[str]:
    """The order in which a form asks for the parts of a name."""
    return [e.get("name") or "" for e in form.iter()
            if e.tag == "input" and e.get("name") in ("given_name", "family_name")]


def details_form(response: Any) -> Element:
    """The form on a page that asks for the name."""
    page = parse(response.get_data(as_text=True))
    return next(f for f in page.find_all("form")
                if any(e.get("name") == "given_name" for e in f.iter()))


def form_errors(response: Any) -> list[str]:
    """What a form refused, to say why a submission failed."""
    page = parse(response.get_data(as_text=True))
    return [e.text for e in page.iter() if (e.get("id") or "").endswith("-error")
            or e.has_class("error-summary")]


def expected_order(language: str) -> list[str]:
    """Korean and Japanese readers are asked for the family name first."""
    if language in ("ko", "ja"):
        return ["family_name", "given_name"]
    return ["given_name", "family_name"]


# --- the world: three people, every path, every email --------------------------------------------


@dataclass
class Delivered:
    """One message as the SMTP server received it, with what the outbox knew of it."""

    message: EmailMessage
    template: str
    registration_id: int | None
    outbox_id: int

    @property
    def text(self) -> str:
        return body(self.message, "plain")

    @property
    def html(self) -> str:
        return body(self.message, "html")

    def calendars(self) -> list[str]:
        return [
            bytes(part.get_payload(decode=True)).decode("utf-8")
            for part in self.message.iter_attachments()
            if part.get_content_type() == "text/calendar"
        ]


def body(message: EmailMessage, kind: str) -> str:
    """The plain-text or HTML part of a message, which every email of ours has."""
    part = message.get_body((kind,))
    assert part is not None, f"no {kind} part"
    return str(part.get_content())


@dataclass
class World:
    """The people's registrations (by person and path), the pages seen along the way and
    every email delivered, all in one language."""

    app: Flask
    language: str
    events: dict[str, int]
    slugs: dict[str, str]
    days: list[str]
    ids: dict[tuple[str, str], int]
    #: Pages seen along the way that cannot be asked for again later (flash messages, the
    #: answer to the form).
    pages: dict[tuple[str, str], Any] = field(default_factory=dict)
    delivered: list[Delivered] = field(default_factory=list)

    def said(self, msgid: str, **values: Any) -> str:
        """`msgid` as the app says it in this world's language."""
        with self.app.app_context():
            return said(self.language, msgid, **values)

    def day_label(self, iso_day: str) -> str:
        """A day as the check-in pages write it."""
        with self.app.app_context(), force_locale(self.language):
            return str(format_date(date.fromisoformat(iso_day), "full"))

    def who(self, registration_id: int | None) -> tuple[str, str] | None:
        """(person, path) of a registration, None for someone else's (the full event's)."""
        return next((key for key, rid in self.ids.items() if rid == registration_id), None)

    def mail_to(self, who: str, path: str, template: str) -> list[Delivered]:
        wanted = self.ids[who, path]
        return [d for d in self.delivered
                if d.registration_id == wanted and d.template == template]

    def link(self, who: str, path: str) -> str:
        """The private link in the latest email to that registration that carries one."""
        wanted = self.ids[who, path]
        links = [
            link
            for d in self.delivered if d.registration_id == wanted
            for link in re.findall(r"http://localhost(/registration/[A-Za-z0-9_-]+)", d.text)
        ]
        assert links, f"no private link sent to {who} ({path})"
        return str(links[-1])


def _deliver(app: Flask, server: SMTPServer, world: World) -> None:
    with app.app_context():
        report = deliver_due()
        assert report.failed == 0
        rows = {
            row.message_id.strip("<>"): row
            for row in db.session.scalars(db.select(OutboxMessage))
        }
        for received in server.received[len(world.delivered):]:
            message = received.message  # parsed once: each reading parses the bytes again
            row = rows[str(message["Message-ID"]).strip("<>")]
            world.delivered.append(
                Delivered(message, row.template, row.registration_id, row.id)
            )


def _register_through_the_form(
    client: FlaskClient, world: World, who: str, path: str
) -> Any:
    """The public form as a person fills it in, in the page's language; the answer page."""
    slug = world.slugs["main"]
    url = f"/events/{slug}/register?category=general_public"
    form = details_form(client.get(url))
    assert name_order(form) == expected_order(world.language)
    given, family = PEOPLE[who]
    typed = {"given_name": given, "family_name": family, "email": f"{who}-{path}@example.org",
             "organization": "NKHR", "country": "KR", "language": world.language,
             "interpretation": "none", "privacy_consent": "y", "publish_name": "y"}
    sent = [(k, v) for k, v in browser_submission(form) if k not in typed and k != "days"]
    sent += [*typed.items(), *(("days", day) for day in world.days)]
    response = client.post(url, data=MultiDict(sent))
    assert response.status_code == 303, form_errors(response)
    return client.get(response.headers["Location"])


def _registration_id(app: Flask, email: str) -> int:
    with app.app_context():
        found = db.session.scalar(db.select(Registration.id).where(Registration.email == email))
        assert found is not None
        return int(found)


def _make(world: World, who: str, path: str, event: str, **values: Any) -> Registration:
    """One of the person's registrations, made by the service as an attendee's is."""
    given, family = PEOPLE[who]
    made = make_registration(
        event=world.events[event], status=None, email=f"{who}-{path}@example.org",
        given_name=given, family_name=family, language=world.language, organization="NKHR",
        publish_name=True, **values,
    )
    world.ids[who, path] = made.id
    return made


def _create(app: Flask, world: World) -> None:
    """Paths b to g, made by the services the way the product makes them."""
    press = {"category": "journalist", "answers": PRESS_ANSWERS}
    with app.app_context():
        for who in PEOPLE:
            _make(world, who, "b", "main", **press)
            registrations.reject_registration(_make(world, who, "c", "main", **press),
                                              actor=SYSTEM)
            registrations.move_to_waitlist(_make(world, who, "d", "main"), actor=SYSTEM)
            _make(world, who, "e", "full")
            _make(world, who, "f", "full", **press)
            _make(world, who, "g", "confirm")
        db.session.commit()


def _move_up_and_release(app: Flask, world: World) -> None:
    with app.app_context():
        full = db.session.get(Event, world.events["full"])
        assert full is not None
        registrations.change_capacity(full, 20, actor=SYSTEM)
        holds.release_unconfirmed(utcnow() + timedelta(minutes=61), actor=SYSTEM)
        db.session.commit()


def _approve_as_staff(client: FlaskClient, world: World) -> None:
    """Staff approve each journalist on the person page; the page says who was approved."""
    for who in PEOPLE:
        registration_id = world.ids[who, "b"]
        response = client.post(f"/manage/registrations/{registration_id}/decision",
                               data={"action": "approve"})
        assert response.status_code == 303
        world.pages[who, "decision"] = client.get(response.headers["Location"])


def _edit_as_staff(client: FlaskClient, world: World) -> None:
    """Staff correct each approved journalist's position on the edit page."""
    for who in PEOPLE:
        url = f"/manage/registrations/{world.ids[who, 'b']}/edit"
        sent = browser_submission(details_form(client.get(url)))
        sent = [(k, "Reporter" if k == "position" else v) for k, v in sent]
        response = client.post(url, data=MultiDict(sent))
        assert response.status_code == 303, form_errors(response)


def _change_details(client: FlaskClient, world: World, who: str) -> None:
    """The person opens their private page and changes their organization."""
    link = world.link(who, "a")
    page = client.get(link)
    world.pages[who, "manage before change"] = page
    sent = browser_submission(details_form(page))
    sent = [(k, "NKHR Seoul" if k == "organization" else v) for k, v in sent]
    response = client.post(link, data=MultiDict(sent))
    assert response.status_code == 303, form_errors(response)


def _message_everyone(client: FlaskClient, world: World) -> None:
    """The organizers write to everyone with a confirmed seat in the main event's public
    category: each person's registration a."""
    text = {f"{part}_{language}": f"Programme update ({language})"
            for part in ("subject", "body") for language in LANGUAGES}
    filters = {"category": "general_public", "status": "confirmed"}  # a's, then
    response = client.post(f"/manage/events/{world.events['main']}/registrations/message",
                           data={"step": "send", **filters, **text})
    assert response.status_code == 303


@pytest.fixture(params=LANGUAGES)
def world(
    request: pytest.FixtureRequest, app: Flask, client: FlaskClient, auth: Any,
    smtp_server: SMTPServer,
) -> Iterator[World]:
    """Everyone's registrations in one language, through every path; the pages and the
    emails in that language too."""
    language = request.param
    client.set_cookie("nkhr_lang", language)
    with app.app_context():
        main = make_event(participant_list="public", capacity=100)
        full = make_event(capacity=1)
        make_registration(event=full)  # takes the only seat
        confirm = make_event(email_confirmation_minutes=60)
        events = {"main": main.id, "full": full.id, "confirm": confirm.id}
        slugs = {"main": main.slug}
        days = [d.isoformat() for d in main.day_list]
        db.session.commit()
    world = World(app, language, events, slugs, days, {})
    for who in PEOPLE:
        world.pages[who, "sent"] = _register_through_the_form(client, world, who, "a")
        world.ids[who, "a"] = _registration_id(app, f"{who}-a@example.org")
    _create(app, world)
    auth.organizer()
    _approve_as_staff(client, world)
    _edit_as_staff(client, world)
    _move_up_and_release(app, world)
    _deliver(app, smtp_server, world)
    for who in PEOPLE:
        _change_details(client, world, who)
        world.pages[who, "sent again"] = _register_through_the_form(client, world, who, "a")
        assert client.post("/registration/lost-link",
                           data={"email": f"{who}-a@example.org"}).status_code == 303
    _message_everyone(client, world)
    _deliver(app, smtp_server, world)
    for who in PEOPLE:
        response = client.post(world.link(who, "a") + "/cancel")
        assert response.status_code == 303
    _deliver(app, smtp_server, world)
    yield world


# --- emails ---------------------------------------------------------------------------------------


def check_email(delivered: Delivered, owner: tuple[str, str] | None, language: str) -> None:
    """Greeting, summary, subject and address of one email, in both parts."""
    where = f"{delivered.template} to {owner} in {language}"
    message = delivered.message
    for part in (str(message["Subject"]), delivered.text, unescape(delivered.html)):
        assert_never_backwards(part, where)
    if owner is None:
        return
    who, _path = owner
    display_name, _address = parseaddr(str(message["To"]))
    assert display_name in ("", WRITTEN[who]), where
    greeting = said(language, "Hello %(name)s,", name=GREETED[who])
    assert delivered.text.splitlines()[0] == greeting, where
    html = parse(delivered.html)
    assert greeting in html.text, where
    if delivered.template in WITH_SUMMARY:
        label = said(language, "Name")
        assert f"{label}: {WRITTEN[who]}" in delivered.text.splitlines(), where
        rows = [[cell.text for cell in row.find_all("td")] for row in html.find_all("tr")]
        assert [label, WRITTEN[who]] in rows, where


def check_calendar(ics: str, where: str) -> None:
    """A calendar file is the event, published: it names no attendee, under any order."""
    unfolded = ics.replace("\r\n ", "").replace("\r\n\t", "")
    assert_names_nobody(unfolded, where)
    assert_never_backwards(unfolded, where)
    for vevent in Calendar.from_ical(ics).walk("VEVENT"):
        assert "ATTENDEE" not in vevent and "ORGANIZER" not in vevent, where


def check_emails(world: World) -> None:
    """Every kind arrived for every person, each as expected; every message is checked."""
    with world.app.app_context():
        _check_emails(world, world.language)


def _check_emails(world: World, language: str) -> None:
    for who in PEOPLE:
        for kind, (path, template) in EMAIL_KINDS.items():
            assert world.mail_to(who, path, template), f"no {kind!r} email to {who}"
        asked = world.mail_to(who, "g", "registration_confirmed")[0].text
        assert said(language, "Please confirm your email address.") in asked
        approved = world.mail_to(who, "b", "registration_confirmed")[0].text
        assert said(language, "The organizers have approved your registration. "
                              "Your seat is confirmed.") in approved
        promoted = world.mail_to(who, "e", "registration_confirmed")[0].text
        assert said(language, "Good news: a seat became free and it is yours. "
                              "Your registration is confirmed.") in promoted
    for delivered in world.delivered:
        check_email(delivered, world.who(delivered.registration_id), language)


def check_calendars(world: World) -> None:
    """Every calendar file sent (published, changed, withdrawn) names nobody."""
    checked = set()
    for delivered in world.delivered:
        owner = world.who(delivered.registration_id)
        for ics in delivered.calendars():
            check_calendar(ics, f"{delivered.template} to {owner}")
            if owner is not None:
                checked.add((owner[1], delivered.template))
    assert checked == WITH_CALENDAR


# --- pages ----------------------------------------------------------------------------------------


def definitions(page: Element) -> dict[str, str]:
    """The terms and descriptions of every <dl> of a page."""
    found: dict[str, str] = {}
    for dl in page.find_all("dl"):
        terms = [e for e in dl.children if isinstance(e, Element) and e.tag in ("dt", "dd")]
        found.update({t.text: d.text for t, d in zip(terms[::2], terms[1::2], strict=True)})
    return found


def flashed(response: Any, where: str) -> list[str]:
    """The messages a page flashes after a redirect, once checked for backwards names."""
    page, _source = page_of(response, where)
    return [p.text for p in page.find_all("p") if p.has_class("flash")]


def check_attendee_pages(client: FlaskClient, world: World) -> None:
    """What the person sees: the answer to the form (the same for everyone, so it names
    nobody), their private page asking for the name in the reader's order, their data, the
    participant lists and the calendar download."""
    written_names = confirmed_names()
    for who, (given, family) in PEOPLE.items():
        written = WRITTEN[who]
        for key in ("sent", "sent again"):
            _page, source = page_of(world.pages[who, key], f"{key} page of {who}")
            assert_names_nobody(source, f"{key} page of {who}")
        link = world.link(who, "b")
        for where, response in (("private page", world.pages[who, "manage before change"]),
                                ("private page of the approved", client.get(link))):
            page_of(response, where)
            form = details_form(response)
            assert name_order(form) == expected_order(world.language), where
            typed = dict(browser_submission(form))
            assert (typed["given_name"], typed["family_name"], typed["badge_name"]) == (
                given, family, written), where
        page, _source = page_of(client.get(f"{link}/data"), "printable data page")
        facts = definitions(page)
        assert facts[world.said("Given name")] == given
        assert facts[world.said("Family name")] == family
        assert facts[world.said("Name for your badge")] == written
        labels = list(facts)
        first = "Family name" if world.language in ("ko", "ja") else "Given name"
        second = "Given name" if first == "Family name" else "Family name"
        assert labels.index(world.said(first)) < labels.index(world.said(second))
        stored = json.loads(client.get(f"{link}/data.json").get_data(as_text=True))
        assert (stored["registration"]["given_name"], stored["registration"]["family_name"],
                stored["registration"]["badge_name"]) == (given, family, written)
        page, _source = page_of(client.get(f"{link}/participants"), "private participant list")
        listed = [row.find_all("td")[0].text for row in page.find_all("tr")[1:]]
        assert sorted(listed) == written_names
        ics = client.get(f"{link}/calendar.ics")
        assert ics.status_code == 200
        check_calendar(ics.get_data(as_text=True), f"calendar download of {who}")
    page, _source = page_of(client.get(f"/events/{world.slugs['main']}/participants"),
                            "public participant list")
    listed = [row.find_all("td")[0].text for row in page.find_all("tr")[1:]]
    assert sorted(listed) == written_names


def confirmed_names() -> list[str]:
    return sorted(WRITTEN[who] for who in PEOPLE for _path in CONFIRMED_IN_MAIN)


def check_roster_and_person_pages(client: FlaskClient, world: World) -> None:
    """The roster lists, each person's page, the edit page and what a decision says."""
    for event in ("main", "full"):
        url = f"/manage/events/{world.events[event]}/registrations"
        page, _source = page_of(client.get(url), f"roster of the {event} event")
        listed = [th.one("a").text for th in page.find_all("th", scope="row")]
        for who in PEOPLE:
            assert WRITTEN[who] in listed, f"roster of the {event} event: {who}"
    for (who, path), registration_id in world.ids.items():
        where = f"person page of {who} ({path})"
        url = f"/manage/registrations/{registration_id}"
        page, _source = page_of(client.get(url), where)
        assert page.one("h1").text == WRITTEN[who], where
        assert page.one("title").text.startswith(WRITTEN[who]), where
        assert definitions(page)[world.said("Name for the badge")] == WRITTEN[who], where
        if path == "b":
            stored = json.loads(client.get(f"{url}/data.json").get_data(as_text=True))
            assert stored["registration"]["badge_name"] == WRITTEN[who], where
    for who, (given, family) in PEOPLE.items():
        where = f"edit page of {who}"
        response = client.get(f"/manage/registrations/{world.ids[who, 'b']}/edit")
        page, _source = page_of(response, where)
        assert page.one("p", class_="breadcrumb").text == WRITTEN[who], where
        form = details_form(response)
        assert name_order(form) == expected_order(world.language), where
        typed = dict(browser_submission(form))
        assert (typed["given_name"], typed["family_name"], typed["badge_name"]) == (
            given, family, WRITTEN[who]), where
        saved = world.said("Saved: %(name)s is now %(status)s.", name=WRITTEN[who],
                           status=world.said("Confirmed"))
        assert saved in flashed(world.pages[who, "decision"], f"decision on {who}")


def check_printouts_and_door(app: Flask, client: FlaskClient, world: World) -> None:
    """Badges and sign-in sheets (every day and each day), door search, the page a scanned
    code opens and what checking in says, at the door and on that page."""
    main = world.events["main"]
    written_names = confirmed_names()
    for day in ("", *world.days):
        query = {"day": day} if day else {}
        page, _source = page_of(client.get(f"/manage/events/{main}/badges", query_string=query),
                                f"badges {day}")
        assert sorted(p.text for p in page.find_all("p", class_="badge-name")) == written_names
        page, _source = page_of(
            client.get(f"/manage/events/{main}/sign-in-sheet", query_string=query),
            f"sign-in sheet {day}",
        )
        assert sorted(th.text for th in page.find_all("th", scope="row")) == written_names
    for who in PEOPLE:
        written, registration_id = WRITTEN[who], world.ids[who, "b"]
        page, _source = page_of(
            client.get(f"/manage/events/{main}/door", query_string={"q": written}),
            f"door search for {who}",
        )
        results = page.one("ul", id="door-results")
        assert {name.one("a").text for name in results.find_all("h3")} == {written}
        first, second = world.days[0], world.days[1]
        answer = client.post(f"/manage/events/{main}/door", data={
            "registration_id": registration_id, "day": first, "action": "checkin",
            "q": written, "override": "1"})  # an organizer, before the event's days
        assert answer.status_code == 303
        checked_in = world.said("%(name)s is checked in for %(day)s.", name=written,
                                day=world.day_label(first))
        assert checked_in in flashed(client.get(answer.headers["Location"]), "door")
        with app.app_context():
            found = db.session.get(Registration, registration_id)
            assert found is not None
            reference = checkin_reference(found)
        page, _source = page_of(client.get(f"/manage/checkin/{reference}"),
                                f"check-in page of {who}")
        assert page.one("h1").text == written
        answer = client.post(f"/manage/checkin/{reference}",
                             data={"day": second, "action": "checkin", "override": "1"})
        assert answer.status_code == 303
        checked_in = world.said("%(name)s is checked in for %(day)s.", name=written,
                                day=world.day_label(second))
        assert checked_in in flashed(client.get(answer.headers["Location"]), "check-in page")


def check_flood_preview(client: FlaskClient, world: World) -> None:
    response = client.post(
        f"/manage/events/{world.events['main']}/registrations/flood",
        data={"step": "preview", "created_from": "2000-01-01T00:00",
              "email_domain": "example.org"},
    )
    page, _source = page_of(response, "flood preview")
    listed = {th.one("a").text for th in page.find_all("th", scope="row")}
    assert listed == set(WRITTEN.values())


def check_outbox(client: FlaskClient, world: World) -> None:
    """The outbox list names nobody (subjects and addresses); each message shows its text
    and HTML part as sent, names in order."""
    _page, source = page_of(client.get("/manage/outbox/"), "outbox list")
    assert_names_nobody(source, "outbox list")
    seen = set()
    for delivered in world.delivered:
        owner = world.who(delivered.registration_id)
        if owner is None or (owner[0], delivered.template) in seen:
            continue
        seen.add((owner[0], delivered.template))
        where = f"outbox view of {delivered.template} to {owner}"
        page, source = page_of(client.get(f"/manage/outbox/{delivered.outbox_id}"), where)
        who = owner[0]
        greeting = world.said("Hello %(name)s,", name=GREETED[who])
        assert greeting in page.text, where
        if delivered.template in WITH_SUMMARY:
            assert f"{world.said('Name')}: {WRITTEN[who]}" in page.text, where


def check_exports(client: FlaskClient, world: World) -> None:
    """CSV and XLSX, with every name column: the name as written, its parts as given."""
    url = f"/manage/events/{world.events['main']}/registrations/export"
    columns = ["name", "given_name", "family_name", "badge_name", "email"]
    header = [world.said(label) for label in
              ("Name", "Given name", "Family name", "Name for the badge", "Email")]
    response = client.get(url, query_string={"format": "csv", "columns": columns})
    assert response.status_code == 200
    text = response.get_data(as_text=True).lstrip("\ufeff")
    check_rows(list(csv.reader(io.StringIO(text))), header, "CSV")
    response = client.get(url, query_string={"format": "xlsx", "columns": columns})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
    assert sheet is not None
    rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    check_rows(rows, header, "XLSX")
    response = client.get(url, query_string={"format": "csv"})
    text = response.get_data(as_text=True).lstrip("\ufeff")
    named = {row[world.said("Name")] for row in csv.DictReader(io.StringIO(text))}
    assert named == set(WRITTEN.values()), "CSV with the default columns"


def check_rows(rows: list[list[str]], header: list[str], where: str) -> None:
    assert rows[0] == header, where
    seen = set()
    for name, given, family, badge, email in rows[1:]:
        who = email.split("-")[0]
        assert (name, given, family, badge) == (WRITTEN[who], *PEOPLE[who], WRITTEN[who]), where
        seen.add(email.split("@")[0])
    assert seen == {f"{who}-{path}" for who in PEOPLE for path in "abcd"}, where


def check_activity_and_audit(client: FlaskClient, auth: Any, world: World) -> None:
    """The dashboard's recent activity and the audit trail are sentences that name people
    (staff who read them can see those people anyway): each name in its own order, never
    backwards (`page_of`)."""
    _page, source = page_of(client.get(f"/manage/events/{world.events['main']}"), "dashboard")
    assert any(WRITTEN[who] in source for who in PEOPLE), "dashboard activity names nobody"
    auth.sign_out()
    auth.admin()
    for query in ({}, {"action": "registration."}, {"event_id": world.events["main"]}):
        page_of(client.get("/manage/audit/", query_string=query), f"audit trail {query}")


@pytest.mark.slow  # every path of three people and about seventy emails, per language
def test_every_surface_writes_each_name_in_its_order(
    client: FlaskClient, auth: Any, world: World
) -> None:
    """Emails of every kind (text, HTML, calendar), the person's pages, the staff pages,
    printouts, door, outbox, exports, the activity and the audit trail."""
    check_emails(world)
    check_calendars(world)
    check_attendee_pages(client, world)
    check_roster_and_person_pages(client, world)
    check_printouts_and_door(world.app, client, world)
    check_flood_preview(client, world)
    check_outbox(client, world)
    check_exports(client, world)
    check_activity_and_audit(client, auth, world)


# --- names typed in one field: partners' contact people, senders of the contact form ------------

#: The language each one writes in: a name is kept as typed, whatever the language around it.
TYPED_IN = {"korean": "ja", "japanese": "ko", "western": "en"}


def test_a_name_typed_in_one_field_is_written_as_typed_in_every_email_and_page(
    app: Flask, client: FlaskClient, auth: Any, smtp_server: SMTPServer
) -> None:
    """A partner's contact person and a sender of the contact form type their whole name in
    one field: greetings, the team's notice, the Reply-To header and the staff page write it as
    typed, in any language, never turned around."""
    with app.app_context():
        event = make_event(title="Seoul Conference 2027")
        db.session.commit()
        slug = event.slug
    for who, written in WRITTEN.items():
        language = TYPED_IN[who]
        applied = apply_as_partner(client, slug, sponsor(
            contact_name=written, contact_email=f"{who}@partner.example", language=language,
            organization_name=f"Partner of {who}", website="", contact_role="Director"))
        assert applied.status_code == 303
        sent = client.post("/contact", data={
            "name": written, "email": f"{who}@sender.example", "subject": "Interpretation",
            "message": "Will there be interpretation?", "language": language, "website": ""})
        assert sent.status_code == 303
    with app.app_context():
        partnerships = {p.contact_email.split("@")[0]: p.id
                        for p in db.session.scalars(db.select(Partnership))}
    auth.organizer()
    for who, partnership_id in partnerships.items():
        page, _source = page_of(client.get(f"/manage/partners/{partnership_id}"),
                                f"partner page of {who}")
        contact = definitions(page)[said_in(app, "en", "Contact person")]
        assert contact == f"{WRITTEN[who]}, Director", who
        decided = client.post(f"/manage/partners/{partnership_id}/decide",
                              data={"action": "approve", "note": ""})
        assert decided.status_code == 303
    with app.app_context():
        assert deliver_due().failed == 0
    messages = smtp_server.messages
    for who, written in WRITTEN.items():
        to_them = [m for m in messages if str(m["To"]).split("@")[0] == who]
        # As a partner's contact: acknowledgement and decision; as a sender: acknowledgement.
        assert len(to_them) == 3, who
        for message in to_them:
            text, html = body(message, "plain"), body(message, "html")
            assert_never_backwards(text + unescape(html), f"email to {who}")
            if "partner.example" in str(message["To"]):
                greeting = said_in(app, TYPED_IN[who], "Hello %(name)s,", name=written)
                assert text.splitlines()[0] == greeting, who
                assert greeting in parse(html).text, who
        to_team = [m for m in messages if parseaddr(str(m["Reply-To"]))[1].split("@")[0] == who]
        assert len(to_team) == 2, who  # the application and the contact form
        for message in to_team:
            assert parseaddr(str(message["Reply-To"]))[0] == written, who
            text = body(message, "plain")
            assert_never_backwards(text, f"team notice about {who}")
            assert written in text, who
