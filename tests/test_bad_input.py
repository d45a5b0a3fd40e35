"""Hostile input at every public form: overlong values, NUL bytes, right-to-left text, HTML and
SQL metacharacters, characters that lay out a line (line breaks, direction overrides, zero-width
characters), blank and oversized choices and numbers, missing or wrong CSRF tokens, wrong
content types and oversized bodies.

Whatever arrives, the answer is never a server error, a refused submission leaves the database
exactly as it was, an accepted one stores a whole record with the text exactly as typed, and
nothing typed comes back unescaped. A single-line field (a name, an organization, a subject, an
address) refuses the characters that lay out a line, beside the field, with what was typed kept:
such text reaches the subject and body of official emails.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import STAFF_TOTP_SECRET, post_sign_in
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse, encode_multipart

from nkhr_events.accounts.services import create_staff
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.registrations import links
from nkhr_events.registrations.models import Registration
from tests.factories import make_event, make_registration

STAFF_EMAIL = "organizer@example.org"
STAFF_PASSWORD = "correct horse battery staple"
ATTENDEE_EMAIL = "attendee@example.org"

#: Values typed into one field at a time. The last four are ordinary text to a name field.
HOSTILE: dict[str, str] = {
    "overlong": "x" * 100_000,
    "nul": "Kim\x00Young-hee",
    "rtl": "Kim 김영희 مرحبا שלום",
    "bidi": "\u202eKim\u202c",
    "script": "<script>alert(1)</script>",
    "attribute": "\"'><img src=x onerror=alert(1)>",
    "sql": "'; DROP TABLE registrations; --",
}
ORDINARY_TEXT = {"rtl", "script", "attribute", "sql"}
#: What must never come back as markup.
UNESCAPED = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")


@dataclass(frozen=True)
class Site:
    slug: str
    days: list[str]
    token: str
    registration_id: int


@dataclass(frozen=True)
class PublicForm:
    """A public form: where it is, a valid submission, what an accepted one adds."""

    name: str
    path: Callable[[Site], str]
    valid: Callable[[Site, int], dict[str, Any]]
    #: Rows an accepted submission adds, per table.
    adds: dict[str, int]
    #: Fields whose text is stored as typed (ordinary text in them must be accepted).
    stored: frozenset[str] = frozenset()
    #: Tables a refused attempt may still write (a wrong password is kept on the audit trail).
    may_write: frozenset[str] = frozenset()
    multipart: bool = False
    list_fields: frozenset[str] = field(default_factory=frozenset)


_numbers = itertools.count(1)


def _details(site: Site) -> dict[str, Any]:
    return {
        "given_name": "Min-ji",
        "family_name": "Kim",
        "badge_name": "",
        "organization": "Seoul Citizens",
        "position": "Volunteer",
        "country": "KR",
        "language": "en",
        "interpretation": "none",
        "accessibility_needs": "",
        "dietary_needs": "",
        "days": site.days,
    }


def _registration(site: Site, n: int) -> dict[str, Any]:
    return {
        **_details(site),
        "email": f"racer{n}@example.org",
        "privacy_consent": "y",
        "homepage": "",
        "q_discipline": "Painting",
        "q_artist_website": "https://example.org/art",
    }


def _partner(site: Site, n: int) -> dict[str, Any]:
    return {
        "organization_name": f"Citizens Group {n}",
        "organization_type": "ngo",
        "country": "KR",
        "website": "",
        "contact_name": "Lee Su-jin",
        "contact_role": "Director",
        "contact_email": f"partner{n}@example.org",
        "contact_phone": "",
        "role": "co_organizer",
        "offers": ["venue"],
        "offers_other": "",
        "message": "We would like to help.",
        "language": "en",
        "privacy_consent": "y",
        "homepage": "",
    }


TEXT_DETAILS = frozenset(
    {"given_name", "family_name", "badge_name", "organization", "position",
     "accessibility_needs", "dietary_needs"}
)

FORMS = [
    PublicForm(
        "contact",
        lambda site: "/contact",
        lambda site, n: {
            "name": "Kim Young-hee",
            "email": f"visitor{n}@example.org",
            "subject": "Interpretation",
            "message": "Will there be interpretation?",
            "language": "en",
            "website": "",
        },
        adds={"inquiry": 1, "outbox_message": 2},
        stored=frozenset({"name", "subject", "message"}),
    ),
    PublicForm(
        "register",
        lambda site: f"/events/{site.slug}/register?category=artist",
        _registration,
        # The private link's token is made when the email is sent, not with the registration.
        adds={"registration": 1, "registration_day": 3, "outbox_message": 1,
              "outbox_attachment": 2, "audit_entry": 1},
        stored=TEXT_DETAILS | {"q_discipline"},
        list_fields=frozenset({"days"}),
    ),
    PublicForm(
        "manage",
        lambda site: f"/registration/{site.token}",
        lambda site, n: {**_details(site), "organization": f"Seoul Citizens {n}"},
        # The summary email carries the updated calendar file.
        adds={"outbox_message": 1, "outbox_attachment": 1, "audit_entry": 1},
        stored=TEXT_DETAILS,
        list_fields=frozenset({"days"}),
    ),
    PublicForm(
        "lost-link",
        lambda site: "/registration/lost-link",
        lambda site, n: {"email": ATTENDEE_EMAIL},
        adds={"mail_request": 1},
    ),
    PublicForm(
        "partner",
        lambda site: f"/events/{site.slug}/partner",
        _partner,
        adds={"partner": 1, "partnership": 1, "outbox_message": 2, "audit_entry": 1},
        stored=frozenset({"contact_role", "offers_other", "message"}),
        multipart=True,
        list_fields=frozenset({"offers"}),
    ),
    PublicForm(
        "sign-in",
        lambda site: "/sign-in",
        lambda site, n: {"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "next": "/manage/"},
        # The password step of an organizer: the session starts after the one-time code.
        adds={"audit_entry": 1},
        # A wrong password is kept on the audit trail, where the sign-in throttle counts it.
        may_write=frozenset({"audit_entry"}),
    ),
    PublicForm(
        "forgot-password",
        lambda site: "/forgot-password",
        lambda site, n: {"email": STAFF_EMAIL},
        adds={"mail_request": 1},
    ),
    PublicForm(
        "language",
        lambda site: "/language",
        lambda site, n: {"lang": "ko", "next": "/contact"},
        adds={},
    ),
]
FORM_IDS = [form.name for form in FORMS]


#: Forms that need the staff account (hashing its password is the slow part of the set-up).
STAFF_FORMS = {"sign-in", "forgot-password"}


@pytest.fixture
def site(app: Flask, request: pytest.FixtureRequest) -> Site:
    """A published three-day event, one registration with its private link, and the staff
    account for the forms that need one."""
    params = getattr(request.node, "callspec", None)
    form = params.params.get("form") if params is not None else None
    with app.app_context():
        event = make_event(capacity=100)
        registration = make_registration(
            event=event, given_name="Min-ji", family_name="Kim", email=ATTENDEE_EMAIL
        )
        token = links.issue_manage_token(registration)
        if form is None or form.name in STAFF_FORMS:
            staff = create_staff(STAFF_EMAIL, "Test Staff", STAFF_PASSWORD, "organizer")
            staff.totp_secret = STAFF_TOTP_SECRET
            staff.two_factor_enrolled_at = utcnow()
        db.session.commit()
        return Site(event.slug, [d.isoformat() for d in event.day_list], token, registration.id)


#: Tables the database keeps from others (the seat counters, tests/test_seat_counters.py): a
#: registration inserts or updates a counter depending on who registered before.
DERIVED_TABLES = {"event_seat_count"}


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    return {
        table.name: [tuple(row) for row in db.session.execute(
            table.select().order_by(*table.primary_key.columns))]
        for table in db.metadata.sorted_tables
        if table.name not in DERIVED_TABLES
    }


def row_counts(rows: dict[str, list[tuple[Any, ...]]]) -> Counter[str]:
    return Counter({name: len(values) for name, values in rows.items()})


def _flat(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        for item in value:
            yield from _flat(item)
    else:
        yield value


def changed_values(before: dict[str, list], after: dict[str, list]) -> list[Any]:
    """Every value (JSON documents opened up) of every row that is new or different."""
    return [
        value
        for name, rows in after.items()
        for row in rows
        if row not in before[name]
        for value in _flat(row)
    ]


def assert_not_reflected(response: TestResponse) -> None:
    """No markup typed comes back; a redirect stays on this site; the language cookie only
    ever holds a language we offer."""
    body = response.get_data(as_text=True)
    for raw in UNESCAPED:
        assert raw not in body, f"{raw!r} reflected unescaped"
    location = response.headers.get("Location", "")
    assert location == "" or (location.startswith("/") and not location.startswith("//"))
    assert "<" not in location and '"' not in location
    chosen = re.search(r"nkhr_lang=([^;]*)", response.headers.get("Set-Cookie", ""))
    assert chosen is None or chosen.group(1) in {"en", "ko"}


class Poster:
    """Submits to one form with a fresh browser each time and checks what the database kept."""

    def __init__(self, app: Flask, site: Site, form: PublicForm) -> None:
        self.app, self.site, self.form = app, site, form

    def data(self, **overrides: Any) -> dict[str, Any]:
        data = self.form.valid(self.site, next(_numbers))
        for name, value in overrides.items():
            data[name] = [value] if name in self.form.list_fields else value
        return data

    def state(self) -> dict[str, list[tuple[Any, ...]]]:
        with self.app.app_context():
            rows = snapshot()
            db.session.remove()
            return rows

    def post(
        self, client: FlaskClient | None = None, **kwargs: Any
    ) -> tuple[TestResponse, dict[str, list], dict[str, list]]:
        """POST (kwargs as for the test client); the answer and the rows before and after."""
        client = client or self.app.test_client()
        before = self.state()
        response = client.post(self.form.path(self.site), **kwargs)
        after = self.state()
        assert response.status_code < 500, response.get_data(as_text=True)[:2000]
        assert_not_reflected(response)
        if response.status_code in {301, 302, 303}:
            assert_not_reflected(client.get(response.headers["Location"]))
        return response, before, after

    def assert_refused(self, before: dict[str, list], after: dict[str, list]) -> None:
        def kept(rows: dict[str, list]) -> dict[str, list]:
            return {name: v for name, v in rows.items() if name not in self.form.may_write}

        assert kept(after) == kept(before), "a refused submission changed the database"

    def assert_whole_or_nothing(self, before: dict[str, list], after: dict[str, list]) -> None:
        added = +(row_counts(after) - row_counts(before))
        if not added or set(added) <= self.form.may_write:
            self.assert_refused(before, after)
        else:
            assert dict(added) == self.form.adds, f"partial record: {dict(added)}"


def form_fields(client: FlaskClient, site: Site, form: PublicForm) -> tuple[list[str], set[str]]:
    """Every named field of the form as the page shows it (the CSRF token aside), and those
    of them that offer a fixed choice (or are hidden)."""
    if form.name == "language":
        page = parse(client.get("/contact").get_data(as_text=True))
        found = page.one("form", class_="language-switch")
    else:
        page = parse(client.get(form.path(site)).get_data(as_text=True))
        found = next(f for f in page.find_all("form", method="post")
                     if "language-switch" not in (f.get("class") or ""))
    elements = [e for e in found.iter() if e.tag in {"input", "select", "textarea", "button"}
                and e.get("name") not in {None, "", "csrf_token"}]
    text = {e.get("name") for e in elements if e.tag == "textarea" or (
        e.tag == "input" and e.get("type") in {"text", "email", "url", "tel", "password"})}
    names = {str(e.get("name")) for e in elements}
    return sorted(names), names - text


def single_line_fields(client: FlaskClient, path: str) -> list[str]:
    """The single-line text fields people type into on the page's main form: text, email,
    address, phone and search inputs, without the honeypot (kept out of reach, tabindex -1)."""
    page = parse(client.get(path).get_data(as_text=True))
    found = next(f for f in page.find_all("form", method="post")
                 if "language-switch" not in (f.get("class") or ""))
    return [str(e.get("name")) for e in found.iter()
            if e.tag == "input" and e.get("type") in {"text", "email", "url", "tel", "search"}
            and e.get("tabindex") != "-1" and e.get("name")]


def multipart(data: dict[str, Any]) -> dict[str, Any]:
    """A multipart body built in memory (the test client would spool a large one to a file)."""
    boundary, body = encode_multipart(MultiDict(
        [(k, v) for k, values in data.items()
         for v in (values if isinstance(values, list) else [values])]))
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_a_hostile_value_in_any_field_is_refused_or_stored_exactly(
    app: Flask, client: FlaskClient, site: Site, form: PublicForm
) -> None:
    poster = Poster(app, site, form)
    fields, choice_fields = form_fields(client, site, form)
    single_line = single_line_fields(client, form.path(site)) if form.name != "language" else []
    assert set(form.valid(site, 0)) <= set(fields) | {"days"}, "the form lost a field"
    for (payload, value), name in itertools.product(HOSTILE.items(), fields):
        if name in choice_fields and payload in {"rtl", "bidi", "sql", "script"}:
            continue  # a choice is refused whatever the text; one markup sample is enough
        where = f"{payload} in {name}"
        data = poster.data(**{name: value})
        response, before, after = poster.post(**(multipart(data) if form.multipart else
                                                 {"data": data}))
        poster.assert_whole_or_nothing(before, after)
        if payload in {"overlong", "nul"}:
            kept = [v for v in changed_values(before, after)
                    if isinstance(v, str) and ("\x00" in v or len(v) >= 100_000)]
            assert not kept, f"{where} was stored"
        if name in form.stored and payload in ORDINARY_TEXT:
            assert response.status_code == 303, f"{where} was refused"
            assert value.strip() in changed_values(before, after), f"{where} was changed"
        if name in single_line and payload == "bidi":
            poster.assert_refused(before, after)


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_a_valid_submission_is_accepted_whole_in_either_form_encoding(
    app: Flask, site: Site, form: PublicForm
) -> None:
    """The baseline the other tests compare with. Browsers may send multipart where
    urlencoded is usual and the other way round."""
    poster = Poster(app, site, form)
    for encode in (lambda d: {"data": d}, multipart):
        response, before, after = poster.post(**encode(poster.data()))
        assert response.status_code == 303
        assert dict(+(row_counts(after) - row_counts(before))) == form.adds
        if form.name == "language":
            assert "nkhr_lang=ko" in response.headers["Set-Cookie"]


def tampered(token: str) -> str:
    """The token with one character of its signature changed. Not the last: in base64 of a
    20-byte signature its low bits are padding, so changing it may leave the same signature."""
    position = len(token) - 5
    return token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1:]


@pytest.mark.parametrize("app_settings", [{"WTF_CSRF_ENABLED": True}])
@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_a_missing_or_wrong_csrf_token_is_refused_and_changes_nothing(
    app: Flask, site: Site, form: PublicForm
) -> None:
    poster = Poster(app, site, form)
    client = app.test_client()

    def token(browser: FlaskClient) -> str:
        page = browser.get("/contact" if form.name == "language" else form.path(site))
        found = parse(page.get_data(as_text=True)).find_all("input", name="csrf_token")
        return found[-1].get("value") or ""

    good, other = token(client), token(app.test_client())
    for bad in (None, "", "not-a-token", tampered(good), other, "\x00" + good):
        data = poster.data()
        if bad is not None:
            data["csrf_token"] = bad
        response, before, after = poster.post(client, data=data)
        assert response.status_code == 400, (bad, response.status_code)
        assert parse(response.get_data(as_text=True)).one("h1").text == "This form has expired"
        assert after == before
        assert "nkhr_lang" not in response.headers.get("Set-Cookie", "")
    response, before, after = poster.post(client, data={**poster.data(), "csrf_token": good})
    assert response.status_code == 303
    assert dict(+(row_counts(after) - row_counts(before))) == form.adds


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_a_body_in_another_format_is_refused_and_changes_nothing(
    app: Flask, site: Site, form: PublicForm
) -> None:
    poster = Poster(app, site, form)
    data = urlencode(poster.data(), doseq=True)
    for body, content_type in [
        (json.dumps(poster.data()), "application/json"),
        ('["a", "list"]', "application/json"),
        ('"text"', "application/json"),
        (data, "text/plain"),
        ("<form><name>x</name></form>", "application/xml"),
        ("{not json", "application/json"),
        (data, "multipart/form-data"),  # no boundary
        (data, "multipart/form-data; boundary=nowhere"),
        (data.encode() + b"&given_name=\xff\xfe\xc3(&email=%FF%00", "application/octet-stream"),
    ]:
        response, before, after = poster.post(data=body, content_type=content_type)
        poster.assert_refused(before, after)
        if form.name == "language":
            assert response.status_code == 303
            assert "nkhr_lang" not in response.headers.get("Set-Cookie", "")
        else:
            assert response.status_code in {200, 400, 415}, (content_type, response.status_code)
    # Bytes that are not UTF-8 in a form body: never an error, whole or nothing.
    tail = b"&given_name=\xff\xfe\xc3(&name=%FF%00%C3(&email=caf\xe9%40example.org"
    response, before, after = poster.post(
        data=data.encode() + tail, content_type="application/x-www-form-urlencoded"
    )
    poster.assert_whole_or_nothing(before, after)


@pytest.mark.parametrize("form", FORMS, ids=FORM_IDS)
def test_an_oversized_body_is_refused_with_413_and_changes_nothing(
    app: Flask, site: Site, form: PublicForm
) -> None:
    poster = Poster(app, site, form)
    body_limit = app.config["MAX_CONTENT_LENGTH"]
    too_long = {"message": "x" * (body_limit + 1)}
    requests = [
        {"data": {**poster.data(), **too_long}},
        multipart({**poster.data(), **too_long}),
        # Multipart alone is parsed piece by piece: one field, or too many parts, is enough.
        multipart({**poster.data(), "message": "x" * (app.config["MAX_FORM_MEMORY_SIZE"] + 1)}),
        multipart({**poster.data(), **{f"f{i}": "1" for i in range(app.config["MAX_FORM_PARTS"])}}),
    ]
    for request in requests:
        response, before, after = poster.post(**request)
        assert response.status_code == 413, (form.name, response.status_code)
        assert "What you sent is too large" in response.get_data(as_text=True)
        assert after == before


def test_ordinary_special_text_is_stored_exactly_and_shown_escaped(
    app: Flask, client: FlaskClient, site: Site
) -> None:
    """A name with markup characters or right-to-left text is a name: kept, shown as text."""
    poster = Poster(app, site, FORMS[FORM_IDS.index("manage")])
    typed = {
        "given_name": HOSTILE["script"],
        "family_name": HOSTILE["rtl"].strip(),
        "organization": HOSTILE["attribute"],
        "position": HOSTILE["sql"],
    }
    response, _, _ = poster.post(client, data=poster.data(**typed))
    assert response.status_code == 303
    with app.app_context():
        registration = db.session.get(Registration, site.registration_id)
        assert {name: getattr(registration, name) for name in typed} == typed
        assert db.session.scalar(db.select(db.func.count()).select_from(Registration)) == 1
    page = client.get(f"/registration/{site.token}").get_data(as_text=True)
    assert_not_reflected(client.get(f"/registration/{site.token}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert HOSTILE["rtl"].strip() in page


def test_hostile_query_and_path_values_on_public_form_pages_are_harmless(
    app: Flask, client: FlaskClient, site: Site
) -> None:
    for value, (path, name) in itertools.product(HOSTILE.values(), [
        (f"/events/{site.slug}/register", "category"),
        ("/sign-in", "next"),
        (f"/events/{site.slug}/partner", "role"),
        ("/contact", "subject"),
    ]):
        response = client.get(path, query_string={name: value})
        assert response.status_code < 500 and response.status_code != 413
        assert_not_reflected(response)
    for value, path in itertools.product(HOSTILE.values(), [
        "/events/{}/register", "/registration/{}", "/events/{}/partner",
        "/reset-password/{}", "/events/{}", "/series/{}", "/registration/{}/checkin.svg",
    ]):
        path = path.format(value[:200])
        response = client.get(path)
        assert response.status_code in {200, 400, 404}, (path[:40], response.status_code)
        assert_not_reflected(response)


def test_a_null_character_in_any_query_or_path_is_refused_before_a_view_runs(
    client: FlaskClient, auth, site: Site
) -> None:
    """Staff filters and searches included (PostgreSQL refuses NUL in text)."""
    auth.admin()
    for path, query in [
        ("/manage/audit", {"actor": "a\x00b"}),
        ("/manage/audit", {"action\x00": "x"}),
        ("/manage/outbox", {"q": "\x00"}),
        ("/", {"q": "\x00"}),
        (f"/events/{site.slug}\x00", {}),
    ]:
        response = client.get(path, query_string=query)
        assert response.status_code == 400, (path, query, response.status_code)




# --- characters that lay out a line, in single-line fields ----------------------------------

#: Every kind of character a single-line field refuses, each with all its members: what an
#: attacker would use to fake a line, a header or a reversed word in an official email.
LAYOUT_CLASSES: dict[str, str] = {
    "line breaks": "\n\r",
    "a header after a line break": "\r\nBcc: all@example.org",
    "other C0 controls and DEL": "\t\x01\x08\x0b\x0c\x1b\x1f\x7f",
    "C1 controls": "\x80\x85\x9b\x9f",
    "line and paragraph separators": "\u2028\u2029",
    "direction embeddings, overrides and isolates":
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    "direction marks": "\u200e\u200f\u061c",
    "zero-width characters": "\u200b\u200c\u200d\u2060\ufeff",
}
SINGLE_LINE_MESSAGE = "Write this on one line of plain text"
LAYOUT_FORMS = ["contact", "register", "manage", "lost-link", "partner"]


def test_every_layout_character_is_refused_and_ordinary_text_of_any_script_is_not() -> None:
    from nkhr_events.validators import has_layout_characters

    for name, characters in LAYOUT_CLASSES.items():
        for character in characters.replace("Bcc: all@example.org", ""):
            assert has_layout_characters(f"Kim{character}Lee"), (name, hex(ord(character)))
    for ordinary in ["Kim Young-hee", "김영희", "مرحبا", "שלום", "金 英姬", "Zoë O'Brien-Łukasz",
                     "Kim\u00a0Lee", "<script>", "'; DROP TABLE x; --"]:
        assert not has_layout_characters(ordinary), ordinary


def layout_samples(fields: list[str]) -> Iterator[tuple[str, str, str]]:
    """(class, characters, field): every class, and every field at least once."""
    classes = list(LAYOUT_CLASSES.items())
    for step in range(max(len(classes), len(fields))):
        name, characters = classes[step % len(classes)]
        yield name, characters, fields[step % len(fields)]


def typed_with(value: str, characters: str) -> str:
    """The characters put inside a value that is valid otherwise, where nobody would see them
    (a field left empty gets a name around them)."""
    value = value or "Kim Lee"
    return value[:1] + characters + value[1:]


def assert_refused_beside(response: TestResponse, name: str, typed: str) -> None:
    """Refused with a message beside this field only, the typed value shown again. (An email
    or web address field may say first that the address is not one.)"""
    assert response.status_code == 200, (name, response.status_code)
    page = parse(response.get_data(as_text=True))
    messages = [p.get("id") for p in page.find_all("p", class_="error-message")]
    assert messages == [f"{name}-error"], (name, messages)
    field = page.one("input", name=name)
    if field.get("type") not in {"email", "url"} and field.get("inputmode") != "url":
        assert SINGLE_LINE_MESSAGE in page.one("p", id=f"{name}-error").text
    assert field.get("value") == typed


@pytest.mark.parametrize("form", [FORMS[FORM_IDS.index(n)] for n in LAYOUT_FORMS],
                         ids=LAYOUT_FORMS)
def test_layout_characters_in_a_single_line_field_are_refused_beside_it_keeping_what_was_typed(
    app: Flask, client: FlaskClient, site: Site, form: PublicForm
) -> None:
    poster = Poster(app, site, form)
    fields = single_line_fields(client, form.path(site))
    assert fields and set(fields) <= set(form.valid(site, 0)), fields
    for name, characters, field_name in layout_samples(fields):
        data = poster.data()
        typed = typed_with(str(data[field_name]), characters)
        data[field_name] = typed
        response, before, after = poster.post(**(multipart(data) if form.multipart else
                                                 {"data": data}))
        assert row_counts(after) == row_counts(before), (name, field_name)
        poster.assert_refused(before, after)
        assert_refused_beside(response, field_name, typed)
    # The same form with ordinary text is accepted: what was refused was the characters.
    response, before, after = poster.post(**(multipart(poster.data()) if form.multipart else
                                             {"data": poster.data()}))
    assert response.status_code == 303


def test_a_value_of_line_breaks_only_is_refused_in_an_optional_single_line_field(
    app: Flask, site: Site
) -> None:
    """Optional() takes blanks for no answer and ends the field's own checks: the refusal
    must not depend on them."""
    poster = Poster(app, site, FORMS[FORM_IDS.index("manage")])
    for name in ("badge_name", "organization", "position"):
        response, before, after = poster.post(data=poster.data(**{name: "\r\n"}))
        poster.assert_refused(before, after)
        assert_refused_beside(response, name, "\r\n")


def test_staff_forms_refuse_layout_characters_beside_the_field_too(
    app: Flask, client: FlaskClient, site: Site
) -> None:
    """A staff member's edit of a person (emailed to them) and a message to a group (its
    subject is the subject of every email)."""
    response = post_sign_in(app, client, {"email": STAFF_EMAIL, "password": STAFF_PASSWORD})
    assert response.status_code == 303
    with app.app_context():
        event_id = db.session.get(Registration, site.registration_id).event_id
    edit = f"/manage/registrations/{site.registration_id}/edit"
    fields = single_line_fields(client, edit)
    assert fields == ["given_name", "family_name", "badge_name", "organization", "position"]
    staff_form = PublicForm("staff-edit", lambda s: edit, lambda s, n: _details(s), adds={},
                            list_fields=frozenset({"days"}))
    poster = Poster(app, site, staff_form)
    for name, characters, field_name in layout_samples(fields):
        data = poster.data()
        typed = typed_with(str(data[field_name]), characters)
        response, before, after = poster.post(client, data={**data, field_name: typed})
        assert row_counts(after) == row_counts(before), (name, field_name)
        poster.assert_refused(before, after)
        assert_refused_beside(response, field_name, typed)

    message = f"/manage/events/{event_id}/registrations/message"
    group = PublicForm("group-message", lambda s: message, lambda s, n: {}, adds={})
    poster = Poster(app, site, group)
    # Only the languages the group reads are asked: the one person of the site reads English.
    assert single_line_fields(client, message) == ["subject_en"]
    text = {"subject_en": "Programme", "body_en": "See you.\nThe team"}
    for name, characters in LAYOUT_CLASSES.items():
        typed = typed_with(text["subject_en"], characters)
        response, before, after = poster.post(
            client, data={**text, "subject_en": typed, "step": "send"})
        poster.assert_refused(before, after)
        page = parse(response.get_data(as_text=True))
        assert response.status_code == 200, name
        assert SINGLE_LINE_MESSAGE in page.one("p", id="subject_en-error").text
        assert page.one("input", name="subject_en").get("value") == typed.strip()
    # A message body keeps its lines.
    response, before, after = poster.post(client, data={**text, "step": "send"})
    assert response.status_code == 303
    assert row_counts(after)["outbox_message"] == row_counts(before)["outbox_message"] + 1


# --- blanks, huge numbers and other digits in choices and numbers ----------------------------


def test_a_country_of_blanks_is_refused_beside_the_field_and_nothing_is_stored(
    app: Flask, client: FlaskClient, site: Site
) -> None:
    """It was stored on SQLite and a server error on PostgreSQL (too long for the column)."""
    for form_name, typed in itertools.product(["register", "manage", "partner"],
                                              ["\t\n\r\n", " ", "\u3000"]):
        form = FORMS[FORM_IDS.index(form_name)]
        poster = Poster(app, site, form)
        data = poster.data(country=typed)
        response, before, after = poster.post(**(multipart(data) if form.multipart else
                                                 {"data": data}))
        assert response.status_code == 200, (form_name, repr(typed))
        poster.assert_refused(before, after)
        page = parse(response.get_data(as_text=True))
        assert "Choose a country from the list." in page.one("p", id="country-error").text
    # Blanks around a code are not an error.
    poster = Poster(app, site, FORMS[FORM_IDS.index("manage")])
    response, before, after = poster.post(data=poster.data(country=" JP "))
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Registration, site.registration_id).country == "JP"



def test_numbers_in_staff_forms_are_bounded_and_refused_beside_the_field(
    app: Flask, client: FlaskClient, site: Site
) -> None:
    """A 400-digit capacity was a server error (the range check turned it into a float);
    "²" passes str.isdigit() and not int(); "٣" is a digit of another script."""
    from nkhr_events.events.models import Event

    assert post_sign_in(app, client, {"email": STAFF_EMAIL, "password": STAFF_PASSWORD}
                        ).status_code == 303
    with app.app_context():
        event = db.session.scalar(db.select(Event).where(Event.slug == site.slug))
        event_id, series_id = event.id, event.series_id
    poster = Poster(app, site, PublicForm("event", lambda s: "/manage/events/new",
                                          lambda s, n: {}, adds={}))
    valid = {"series_id": str(series_id), "languages": "en", "title": "Seoul 2030",
             "slug": "seoul-2030",
             "start_date": "2030-03-02", "city": "Seoul", "country": "KR",
             "timezone": "Asia/Seoul", "participant_list": "off", "retention_days": "180"}
    not_a_number = "Not a valid integer value."
    for name, value, message in [
        ("capacity", "9" * 400, not_a_number),
        ("capacity", "99999999999999999999", not_a_number),
        ("capacity", str(2**31), "Enter a whole number from 0 to 100000."),
        ("capacity", "-1", "Enter a whole number from 0 to 100000."),
        ("capacity", "²", not_a_number),
        ("capacity", "٣", not_a_number),
        ("retention_days", "9" * 19, "Enter a whole number from 1 to 3650."),
        ("series_id", "99999999999999999999", "Not a valid choice."),
        ("series_id", "²", ""),
    ]:
        response, before, after = poster.post(client, data={**valid, name: value})
        assert response.status_code == 200, (name, value)
        poster.assert_refused(before, after)
        page = parse(response.get_data(as_text=True))
        assert message in page.one("p", id=f"{name}-error").text, (name, value)
        if name != "series_id":
            assert page.one("input", name=name).get("value") == value

    categories = PublicForm("categories", lambda s: f"/manage/events/{event_id}/categories",
                            lambda s, n: {}, adds={})
    poster = Poster(app, site, categories)
    for value in ("²", "٣", "99999999999999999999", "9" * 400, "-1", "1000000"):
        response, before, after = poster.post(client, data={"general_public-enabled": "y",
                                                            "general_public-seat_cap": value})
        assert response.status_code == 200, value
        poster.assert_refused(before, after)
        page = parse(response.get_data(as_text=True))
        assert "Enter a whole number of seats" in page.one(
            "p", id="general_public-seat_cap-error").text
