"""The audit trail reads as words in the reader's language, never as the codes it stores:
every action recorded anywhere has its own sentence (page views one at a time included), event
and staff account states and the second factor of a sign-in are said in words, the Actor column
names attendees and the system instead of "attendee" and "system", and the Record column and
its filter name kinds of record ("Staff account 3") while the filter still sends the code.

Expected texts are the app's own messages in the page's language (`said`), so a Korean page
that falls back to an English label where a Korean one exists fails here."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from markup import Element, parse

import nkhr_events
from nkhr_events.accounts.models import StaffRole, StaffUser
from nkhr_events.accounts.services import set_active
from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.sentences import OWN_SENTENCES, SENTENCES, Names, sentence
from nkhr_events.audit.services import SYSTEM, Actor, record
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.events.services import change_event_status
from nkhr_events.extensions import db
from nkhr_events.web import LANGUAGE_COOKIE

LANGUAGES = ["en", "ko"]
ADMIN = "admin@example.org"
ADMIN_NAME = "Sora Admin"
PACKAGE = Path(nkhr_events.__file__).parent
ACTION = re.compile(r"^([a-z_]+)\.([a-z_]+)$")
#: Actions built with an f-string where they are recorded, by their fixed start: every value
#: the code can put in.
BUILT_ACTIONS = {
    "partnership.": ("approve", "decline", "withdraw"),
    "documents.issue_": ("visa_letter", "certificate"),
}
#: Strings shaped like an action in a module that records, which are not actions.
NOT_ACTIONS = frozenset({"documents.certificate_mailings"})  # a periodic task's name


# --- every action code has a sentence ------------------------------------------------------------


def _records(tree: ast.AST) -> Iterator[ast.expr]:
    """The first argument of each call to `record` (or a module's own `_record…` helper)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "record" or name.startswith("_record"):
                yield node.args[0]


def recorded_actions() -> set[str]:
    """Every action code nkhr_events records: written in a `record(...)` call (also either
    side of a conditional), built with an f-string there (`BUILT_ACTIONS`), passed as a
    module's constant (`SIGN_IN`, from wherever it is defined), or kept in a constant, default
    or dictionary of a module that records (`action: str = "roster.view"`,
    `PERSON_VIEW = "registration.view"`, `{EventStatus.PUBLISHED: "event.publish"}`)."""
    codes: set[str] = set()
    recording: list[ast.AST] = []
    passed: set[str] = set()
    constants: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "audit":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for statement in tree.body:
            if (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
                    and isinstance(statement.value.value, str)):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        constants.setdefault(target.id, set()).add(statement.value.value)
        arguments = list(_records(tree))
        if not arguments:
            continue
        recording.append(tree)
        for argument in arguments:
            for node in ast.walk(argument):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    codes.add(node.value)
                if isinstance(node, ast.Name):
                    passed.add(node.id)
                if isinstance(node, ast.JoinedStr):
                    start = node.values[0]
                    assert isinstance(start, ast.Constant), ast.unparse(node)
                    assert start.value in BUILT_ACTIONS, f"{path}: {ast.unparse(node)}"
                    codes.update(f"{start.value}{rest}" for rest in BUILT_ACTIONS[start.value])
    # Constants passed by name, wherever they are defined (`throttle.SIGN_IN`).
    for name in passed:
        codes |= constants.get(name, set())
    areas = {found.group(1) for found in map(ACTION.match, codes) if found}
    for module in recording:
        for node in ast.walk(module):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found = ACTION.match(node.value)
                if found and found.group(1) in areas and node.value not in NOT_ACTIONS:
                    codes.add(node.value)
    return {code for code in codes - set(BUILT_ACTIONS) if ACTION.match(code)}


def test_the_walk_finds_the_actions_recorded_in_every_way() -> None:
    codes = recorded_actions()
    assert len(codes) > 100, sorted(codes)
    # Literal, conditional, f-string, default argument, module constant, dictionary value.
    assert {"registration.approve", "account.deactivate", "account.reactivate",
            "partnership.withdraw", "documents.issue_certificate", "roster.view",
            "registration.view", "registration.edit_view", "event.publish",
            "auth.sign_in", "outbox.view", "visa.view", "speaker.view"} <= codes


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_recorded_action_reads_as_its_own_sentence(app: Flask, language: str) -> None:
    codes = sorted(recorded_actions())
    assert not [code for code in codes if code not in SENTENCES], "actions without a sentence"
    minji = "박민지 (Journalist)"
    names = Names(staff={1: "Jiwoo Han"}, registrations={7: minji})
    with app.test_request_context(), force_locale(language):
        for code in codes:
            area, _dot, verb = code.partition(".")
            raw = f"{area.replace('_', ' ')}: {verb.replace('_', ' ')}"
            for actor, actor_id in (("jiwoo@example.org", 1), ("attendee", None)):
                entry = AuditEntry(action=code, actor=actor, actor_id=actor_id,
                                   object_type="registration", object_id=7, event_id=3)
                text = sentence(entry, names)
                assert code not in text and raw not in text, (code, text)
                template = SENTENCES[code]
                if actor == "attendee":
                    template = OWN_SENTENCES.get(code, template)
                values = {"actor": minji if actor == "attendee" else "Jiwoo Han",
                          "object": minji}
                assert text == str(template) % values, (code, text)
                assert "%(" not in text, text


# --- the audit page ----------------------------------------------------------------------------


def said(app: Flask, language: str, message: str, **values: Any) -> str:
    """The app's own message in `language`, as the page states it."""
    with app.test_request_context(), force_locale(language):
        return gettext(message, **values)


def rows(client: FlaskClient, query: str = "") -> dict[str, list[Element]]:
    """The audit page's rows by action."""
    page = parse(client.get(f"/manage/audit/?{query}").get_data(as_text=True))
    found: dict[str, list[Element]] = {}
    for row in page.find_all("tr"):
        if row.get("data-action"):
            found.setdefault(row.get("data-action") or "", []).append(row)
    return found


def cells(row: Element) -> list[str]:
    return [cell.text for cell in row.find_all("td")]


def details(row: Element) -> dict[str, str]:
    """The entry's labelled details, label to value."""
    return {item.one("dt").text: item.one("dd").text
            for item in row.find_all("div") if item.find("dt") is not None}


@pytest.fixture
def trail(app: Flask, client: FlaskClient, auth: AuthActions) -> dict[str, int]:
    """An admin with a name signed in with a code; they took an event back to draft,
    published and archived it, deactivated a staff account and looked at the roster; an
    attendee cancelled and the system released a seat."""
    kim = auth.create("kim@example.org", StaffRole.STAFF)
    auth.admin()
    with app.app_context():
        admin = db.session.scalar(db.select(StaffUser).where(StaffUser.email == ADMIN))
        assert admin is not None
        admin.name = ADMIN_NAME
        actor = Actor.staff(admin)
        event = make_event(capacity=20)
        ada = make_registration(event=event, given_name="Ada", family_name="Lovelace")
        db.session.flush()
        change_event_status(event, EventStatus.DRAFT, actor=actor)
        change_event_status(event, EventStatus.PUBLISHED, actor=actor)
        change_event_status(event, EventStatus.ARCHIVED, actor=actor)
        user = db.session.get(StaffUser, kim.id)
        assert user is not None
        set_active(user, False, actor=actor)
        record("roster.view", actor=actor, object_type="event", object_id=event.id,
               event_id=event.id, detail={"filters": {"status": "confirmed"}})
        record("registration.cancel", actor=Actor.attendee(), object_type="registration",
               object_id=ada.id, event_id=event.id,
               detail={"from": "confirmed", "to": "cancelled"})
        record("registration.release", actor=SYSTEM, object_type="registration",
               object_id=ada.id, event_id=event.id)
        db.session.commit()
        return {"event": event.id, "ada": ada.id, "kim": kim.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_page_view_on_the_trail_is_a_sentence_with_the_name(
    app: Flask, client: FlaskClient, trail: dict[str, int], language: str
) -> None:
    client.set_cookie(LANGUAGE_COOKIE, language)
    (view,) = rows(client)["roster.view"]
    text = view.one("span", class_="sentence").text
    assert text == said(app, language, "%(actor)s viewed the roster", actor=ADMIN_NAME)
    assert "roster: view" not in text and "roster.view" not in text
    assert details(view) == {said(app, language, "Filters"): "{} = {}".format(
        said(app, language, "Status"), said(app, language, "Confirmed"))}


@pytest.mark.parametrize(("language", "published", "archived", "draft", "active"), [
    ("en", "Published", "Archived", "Draft", "Active"),
    ("ko", "공개됨", "보관됨", "초안", "활성"),
])
def test_event_and_account_states_are_words(
    app: Flask, client: FlaskClient, trail: dict[str, int], language: str, published: str,
    archived: str, draft: str, active: str,
) -> None:
    client.set_cookie(LANGUAGE_COOKIE, language)
    shown = rows(client)
    status = said(app, language, "Status")
    assert details(shown["event.unpublish"][0]) == {status: f"{published} → {draft}"}
    assert details(shown["event.publish"][0]) == {status: f"{draft} → {published}"}
    assert details(shown["event.archive"][0]) == {status: f"{published} → {archived}"}
    assert details(shown["account.deactivate"][0]) == {
        status: f"{active} → {said(app, language, 'Inactive')}"}
    values = " ".join(value for found in shown.values() for row in found
                      for value in details(row).values())
    assert not re.search(r"\b(draft|published|archived|active|inactive)\b", values), values


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_second_factor_of_a_sign_in_is_said_in_words(
    app: Flask, client: FlaskClient, trail: dict[str, int], language: str
) -> None:
    client.set_cookie(LANGUAGE_COOKIE, language)
    sign_ins = [details(row) for row in rows(client, "action=auth.sign_in")["auth.sign_in"]]
    assert {said(app, language, "Second factor"):
            said(app, language, "Code from the authenticator app")} in sign_ins, sign_ins
    for shown in sign_ins:
        assert not {"code", "recovery_code", "passkey"} & set(shown.values()), shown


@pytest.mark.parametrize(("language", "attendee", "system"), [
    ("en", "Attendee", "The system"),
    ("ko", "참가자", "시스템"),
])
def test_the_actor_column_says_attendee_and_system_in_words(
    app: Flask, client: FlaskClient, trail: dict[str, int], language: str, attendee: str,
    system: str,
) -> None:
    client.set_cookie(LANGUAGE_COOKIE, language)
    shown = rows(client)
    (cancel,) = shown["registration.cancel"]
    assert re.fullmatch(rf"Ada Lovelace \(.+\) {attendee}", cells(cancel)[1]), cells(cancel)
    (release,) = shown["registration.release"]
    assert cells(release)[1] == system
    # Staff: the name, and the address they acted as beneath it.
    (view,) = shown["roster.view"]
    assert cells(view)[1] == f"{ADMIN_NAME} {ADMIN}"
    actors = " ".join(cells(row)[1] for found in shown.values() for row in found)
    assert not re.search(r"\b(attendee|system)\b", actors.replace(system, "")), actors


@pytest.mark.parametrize(("language", "registration", "event"), [
    ("en", "Registration", "Event"),
    ("ko", "참가 신청", "행사"),
])
def test_the_record_column_and_its_filter_name_kinds_of_record(
    app: Flask, client: FlaskClient, trail: dict[str, int], language: str, registration: str,
    event: str,
) -> None:
    client.set_cookie(LANGUAGE_COOKIE, language)
    shown = rows(client)
    staff_account = said(app, language, "Staff account")
    (deactivate,) = shown["account.deactivate"]
    assert cells(deactivate)[3] == f"{staff_account} {trail['kim']}"
    assert cells(shown["registration.cancel"][0])[3] == f"{registration} {trail['ada']}"
    assert cells(shown["event.publish"][0])[3] == f"{event} {trail['event']}"
    # The link still filters by the code.
    link = deactivate.find_all("td")[3].one("a").get("href") or ""
    assert f"object_type=staff_user&object_id={trail['kim']}" in link
    page = parse(client.get("/manage/audit/?object_type=staff_user").get_data(as_text=True))
    options = {option.get("value"): option.text
               for option in page.one("select", id="filter-object-type").find_all("option")}
    assert options == {"": said(app, language, "Any"), "event": event,
                       "registration": registration, "staff_user": staff_account}
    selected = [o for o in page.one("select", id="filter-object-type").find_all("option")
                if o.get("selected") is not None]
    assert [o.get("value") for o in selected] == ["staff_user"]
    records = " ".join(cells(row)[3] for found in rows(client).values() for row in found)
    assert "staff_user" not in records and "registration " not in records


def test_the_filter_still_narrows_by_the_code(
    app: Flask, client: FlaskClient, trail: dict[str, int]
) -> None:
    assert set(rows(client, f"object_type=staff_user&object_id={trail['kim']}")) == {
        "account.deactivate"}
    assert set(rows(client, f"object_type=registration&object_id={trail['ada']}")) == {
        "registration.create", "registration.cancel", "registration.release"}


def test_the_event_itself_has_the_state_it_was_given(
    app: Flask, trail: dict[str, int]
) -> None:
    with app.app_context():
        event = db.session.get(Event, trail["event"])
        assert event is not None and event.status == EventStatus.ARCHIVED
        kim = db.session.get(StaffUser, trail["kim"])
        assert kim is not None and not kim.active


def recorded_detail_keys() -> set[str]:
    """The keys of every detail the code writes: dictionaries in a `detail=` argument, assigned
    to a name `detail` or set as `detail["key"]`."""
    keys: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            found: list[ast.expr | None] = []
            if isinstance(node, ast.Call):
                # Every dictionary inside the argument: `**({"override": ...} if ... else {})`.
                found = [k for kw in node.keywords if kw.arg == "detail"
                         for inner in ast.walk(kw.value) if isinstance(inner, ast.Dict)
                         for k in inner.keys]
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id == "detail" \
                        and isinstance(node.value, ast.Dict):
                    found = list(node.value.keys)
                elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                        and target.value.id == "detail":
                    found = [target.slice]
            keys |= {k.value for k in found if isinstance(k, ast.Constant)}
    return keys


def test_every_detail_the_code_records_has_a_label_in_words() -> None:
    """A detail without a label would show its code ("Filename", "override") in English on a
    Korean page; "from" and "to" read as one status change."""
    from nkhr_events.audit.sentences import DETAIL_LABELS

    keys = recorded_detail_keys()
    assert {"fields", "filename", "override", "template"} <= keys  # the walk finds them
    assert keys - set(DETAIL_LABELS) - {"from", "to"} == set()


@pytest.mark.parametrize("language", ["ko", "ja"])
def test_an_edits_fields_and_a_door_override_read_in_the_readers_language(
    app: Flask, language: str
) -> None:
    from nkhr_events.audit.sentences import details_of

    with app.test_request_context(headers={"Accept-Language": language}):
        with force_locale(language):
            shown = {d.label: d.value for d in details_of(
                {"fields": ["day_list", "registration_opens_at", "given_name"],
                 "override": "door_not_open", "filename": "a.pdf"})}
            assert shown == {
                gettext("Fields"): ", ".join([gettext("Days you attend"),
                                              gettext("Registration opens"),
                                              gettext("Given name")]),
                gettext("Rule overridden"): gettext("The door was not open yet"),
                gettext("File name"): "a.pdf",
            }
            text = " ".join(f"{k} {v}" for k, v in shown.items())
            assert not re.search(r"[a-z]+_[a-z]+", text), text
            assert "Fields" not in text and "Filename" not in text
