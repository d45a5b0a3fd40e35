"""The Korean catalogue keeps up with the source: every message is translated, placeholders
survive translation, the catalogue compiles, and Korean readers see Korean pages and form errors.

Messages are extracted from the working tree at test time with the same mapping (babel.cfg) and
keywords as `make messages`, so a string added without a Korean translation fails here even when
nobody re-ran the extraction.
"""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Iterable
from datetime import date
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import CommandLineInterface, parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from factories import make_event
from flask import Flask
from flask.testing import FlaskClient
from wtforms.i18n import messages_path

from nkhr_events import PROJECT_ROOT
from nkhr_events.events.history import import_history
from nkhr_events.extensions import db
from nkhr_events.web import event_days_text

TRANSLATIONS = PROJECT_ROOT / "nkhr_events" / "translations"
KO_PO = TRANSLATIONS / "ko" / "LC_MESSAGES" / "messages.po"
KOREAN = {"Accept-Language": "ko"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")
PERCENT_PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
BRACE_PLACEHOLDER = re.compile(r"(?<!\{)\{(\w*)(?:![rsa])?(?::[^{}]*)?\}(?!\})")


def makefile_keywords() -> list[str]:
    """The -k options of the extraction in the Makefile's `messages` target."""
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    command = re.search(r"pybabel extract\b((?:.*\\\n)*.*)", makefile)
    assert command, "the Makefile has no `pybabel extract` command"
    words = shlex.split(command.group(1).replace("\\\n", " "))
    keywords = []
    for word, following in zip(words, [*words[1:], ""], strict=True):
        if word in {"-k", "--keyword"}:
            keywords.append(following)
        elif word.startswith(("--keyword=", "--keywords=")):
            keywords.append(word.partition("=")[2])
        elif word.startswith("-k") and len(word) > 2:
            keywords.append(word[2:])
    assert keywords, "the Makefile's extraction names no keywords"
    return keywords


def extract_source_messages() -> Catalog:
    """What `make messages` would put in messages.pot, extracted from the tree as it is now."""
    with (PROJECT_ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(makefile_keywords())}
    catalog = Catalog(fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PROJECT_ROOT), method_map, options_map, keywords=keywords, strip_comment_tags=True
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def load_catalog(path: Path) -> Catalog:
    with path.open("rb") as po_file:
        return read_po(po_file, locale=path.parent.parent.name, abort_invalid=True)


@pytest.fixture(scope="module")
def ko_catalog() -> Catalog:
    return load_catalog(KO_PO)


def strings_of(message: Message) -> list[str]:
    if isinstance(message.string, (list, tuple)):
        return list(message.string)
    return [message.string or ""]


def singular(message: Message) -> str:
    return message.id[0] if isinstance(message.id, (list, tuple)) else message.id


def placeholders(text: str) -> set[str]:
    """Named %-style and {}-style placeholders of a message ("%(n)d" -> "%(n)d")."""
    found = {match.group(0) for match in PERCENT_PLACEHOLDER.finditer(text)}
    found |= {f"{{{match.group(1)}}}" for match in BRACE_PLACEHOLDER.finditer(text)}
    return found


def describe(messages: Iterable[Message]) -> str:
    lines = []
    for message in messages:
        where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
        lines.append(f"  {singular(message)!r}" + (f"  ({where})" if where else ""))
    return "\n".join(lines)


#: Catalogues that must be complete: Korean, and Japanese (prepared before it is switched on,
#: so that no string lands without it).
COMPLETE = {"ko": "Korean", "ja": "Japanese"}


@pytest.mark.parametrize("language", list(COMPLETE))
def test_every_message_in_the_source_has_a_translation(language: str) -> None:
    po_path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    catalog = load_catalog(po_path)
    source = extract_source_messages()
    assert len(source) > 100, "extraction found too few messages: is babel.cfg still right?"
    missing = []
    for message in source:
        if not message.id:
            continue
        translated = catalog.get(message.id, message.context)
        if (
            translated is None
            or translated.fuzzy
            or not all(s.strip() for s in strings_of(translated))
            or (message.pluralizable and not translated.pluralizable)
        ):
            missing.append(message)
    assert not missing, (
        f"{len(missing)} message(s) have no {COMPLETE[language]} translation; run `make "
        f"messages` and translate them in {po_path.relative_to(PROJECT_ROOT)}:\n"
        f"{describe(missing)}"
    )


def test_both_languages_ship_a_catalogue_for_every_configured_language(app: Flask) -> None:
    for language in app.config["LANGUAGES"]:
        po_path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        assert po_path.is_file(), f"no catalogue for {language}"
        catalog = load_catalog(po_path)
        assert not catalog.fuzzy, f"{language} catalogue is marked fuzzy and would not compile"


@pytest.mark.parametrize("language", list(COMPLETE))
def test_translations_keep_every_placeholder_of_their_message(language: str) -> None:
    wrong = []
    for message in load_catalog(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"):
        if not message.id:
            continue
        # Korean and Japanese have one plural form, used for every number: it must say what
        # the plural says.
        expected = placeholders(message.id[-1] if message.pluralizable else message.id)
        for text in strings_of(message):
            if text and placeholders(text) != expected:
                wrong.append(f"  {singular(message)!r} -> {text!r}")
    assert not wrong, "placeholders differ from the message's:\n" + "\n".join(wrong)


def test_korean_catalogue_compiles_without_errors(ko_catalog: Catalog, tmp_path: Path) -> None:
    assert not ko_catalog.fuzzy
    problems = [
        f"  {singular(message)!r}: {'; '.join(map(str, errors))}"
        for message, errors in ko_catalog.check()
    ]
    assert not problems, "catalogue errors:\n" + "\n".join(problems)
    mo_path = tmp_path / "messages.mo"
    failures = CommandLineInterface().run(
        ["pybabel", "--quiet", "compile", "-l", "ko", "-i", str(KO_PO), "-o", str(mo_path)]
    )
    assert failures == 0
    with mo_path.open("rb") as mo_file:
        compiled = Translations(mo_file)
    assert compiled.gettext("History of the past conferences") == ko_catalog.get(
        "History of the past conferences"
    ).string
    buffer = BytesIO()
    write_mo(buffer, ko_catalog)
    assert buffer.getvalue()


class _TextNodes(HTMLParser):
    """Every piece of text a reader sees or hears: text nodes and labelling attributes; not the
    text inside an element marked English (`lang="en"`): a language's own name in the language
    switch, or an event's English text shown where staff wrote none in the reader's language."""

    SPOKEN_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                      "meta", "source", "track", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: list[str] = []
        self._skip = 0
        self._open: list[tuple[str, bool]] = []

    def _in_english(self) -> bool:
        return any(english for _tag, english in self._open)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        english = (dict(attrs).get("lang") or "").lower().startswith("en") and tag != "html"
        if not (english or self._in_english()):
            self.nodes.extend(v for k, v in attrs if k in self.SPOKEN_ATTRIBUTES and v)
        if tag not in self.VOID:
            self._open.append((tag, english))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._skip and not self._in_english():
            self.nodes.append(text)


def text_nodes(html: str) -> list[str]:
    parser = _TextNodes()
    parser.feed(html)
    parser.close()
    return parser.nodes


def _pattern(msgid: str) -> re.Pattern[str]:
    """The English message as it would appear on a page, its placeholders filled with anything."""
    parts = re.split(f"{PERCENT_PLACEHOLDER.pattern}|{BRACE_PLACEHOLDER.pattern}", msgid)
    literals = [p for i, p in enumerate(parts) if i % 3 == 0]
    # Whitespace is collapsed as in the page's text nodes, but kept: "%(a)s at %(b)s" must not
    # match every "Kathmandu".
    return re.compile(".+?".join(re.escape(re.sub(r"\s+", " ", p)) for p in literals))


def english_leaks(html: str, catalog: Catalog) -> list[str]:
    """Catalogue messages that appear untranslated on the page.

    A short message must fill a text node on its own ("Date" in a table header); a message of
    three words or more is caught anywhere in a text node. Messages the translation leaves
    identical to the English, and patterns with no English words, are not counted.
    """
    nodes = text_nodes(html)
    leaks = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        for msgid in ids:
            if msgid in strings_of(message):
                continue
            literal = BRACE_PLACEHOLDER.sub(" ", PERCENT_PLACEHOLDER.sub(" ", msgid))
            if not re.search("[A-Za-z]", literal):
                continue  # a pure pattern such as "{days}, {year}": nothing English to see
            pattern = _pattern(msgid)
            words = len(literal.split())
            for node in nodes:
                if pattern.fullmatch(node) or (words >= 3 and pattern.search(node)):
                    leaks.add(f"  {msgid!r} in {node!r}")
    return sorted(leaks)


@pytest.fixture
def history_and_an_upcoming_event(app: Flask) -> dict[str, str]:
    with app.app_context():
        import_history()
        event = make_event(days=[date(2099, 3, 2), date(2099, 3, 3), date(2099, 3, 5)])
        db.session.commit()
        return {"event": event.slug, "series": event.series.slug, "event_id": str(event.id)}


PUBLIC_PAGES = [
    "/", "/history", "/participate", "/privacy", "/contact", "/registration/lost-link",
    "/sign-in", "/no-such-page",
]
STAFF_PAGES = [
    "/manage/", "/manage/staff", "/manage/staff/new", "/manage/events/new", "/manage/outbox/",
    "/manage/audit/", "/manage/partners",
]


def test_pages_in_korean_show_no_english_text_from_the_catalogue(
    client: FlaskClient, auth, ko_catalog: Catalog, history_and_an_upcoming_event: dict[str, str]
) -> None:
    records = history_and_an_upcoming_event
    event, event_id = records["event"], records["event_id"]
    public = [
        *PUBLIC_PAGES,
        f"/events/{event}",
        f"/events/{event}/register",
        f"/events/{event}/partner",
        f"/series/{records['series']}",
    ]
    staff = [
        *STAFF_PAGES,
        f"/manage/events/{event_id}",
        *(f"/manage/events/{event_id}/{page}"
          for page in ("edit", "registrations", "categories", "door")),
    ]
    leaks = {}
    for path in [*public, "sign in", *staff]:
        if path == "sign in":
            auth.admin()
            continue
        response = client.get(path, headers=KOREAN)
        assert response.status_code == (404 if "no-such" in path else 200), path
        html = response.get_data(as_text=True)
        assert '<html lang="ko">' in html, path
        found = english_leaks(html, ko_catalog)
        if found:
            leaks[path] = found
    assert not leaks, "English text on Korean pages:\n" + "\n".join(
        f"{path}:\n" + "\n".join(found) for path, found in leaks.items()
    )


def test_the_leak_check_finds_english_on_an_english_page(
    client: FlaskClient, ko_catalog: Catalog, history_and_an_upcoming_event: dict[str, str]
) -> None:
    """Guards the test above: on the English page it must see the English messages."""
    html = client.get("/history", headers={"Accept-Language": "en"}).get_data(as_text=True)
    leaks = "\n".join(english_leaks(html, ko_catalog))
    assert "'History of the past conferences'" in leaks
    assert "'Year' in 'Year'" in leaks


def test_history_page_heading_and_table_headers_are_korean(
    client: FlaskClient, ko_catalog: Catalog, history_and_an_upcoming_event: dict[str, str]
) -> None:
    html = client.get("/history", headers=KOREAN).get_data(as_text=True)
    heading = ko_catalog.get("History of the past conferences").string
    assert HANGUL.search(heading)
    assert f"<h1>{heading}</h1>" in html
    headers = re.findall(r'<th scope="col">([^<]*)</th>', html)
    expected = [ko_catalog.get(text).string for text in ("Year", "Date", "Venue", "Co-organizers")]
    assert headers == expected
    assert all(HANGUL.search(header) for header in headers)
    # Dates and country names come from Babel in the reader's language.
    assert "2004년 2월 29일 (일)~3월 2일 (화)" in html
    assert "폴란드 바르샤바" in html  # the country first, as Korean writes a place


def test_korean_puts_the_year_before_the_days_of_an_event_held_on_separate_days(
    app: Flask,
) -> None:
    days = [date(2027, 3, 2), date(2027, 3, 4)]
    with app.test_request_context(headers=KOREAN):
        assert event_days_text(days) == "2027년 3월 2일 (화) 및 3월 4일 (목)"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert event_days_text(days) == "Tue, Mar 2 and Thu, Mar 4, 2027"


def test_wtforms_validation_messages_are_korean_on_a_korean_form(
    client: FlaskClient, auth
) -> None:
    """wtforms' own messages come from its Korean catalog; a value that is too long is said in
    the project's words (how many are allowed, how many were sent), not wtforms' Korean, which
    writes "200자 보다"."""
    wtforms_ko = Translations.load(messages_path(), ["ko"], domain="wtforms")
    not_a_number = "Not a valid integer value."
    assert HANGUL.search(wtforms_ko.gettext(not_a_number))
    auth.organizer()
    form = {"title": "T" * 201, "capacity": "many", "city": "Seoul", "country": "KR"}

    korean = client.post("/manage/events/new", data=form, headers=KOREAN)
    page = korean.get_data(as_text=True)
    assert korean.status_code == 200
    assert wtforms_ko.gettext(not_a_number) in page
    assert "200자 이내로 입력하십시오(지금 201자)." in page
    assert "자 보다" not in page
    assert not_a_number not in page

    english = client.post("/manage/events/new", data=form, headers={"Accept-Language": "en"})
    page = english.get_data(as_text=True)
    assert not_a_number in page
    assert "Use at most 200 characters (this has 201)." in page

    japanese = client.post("/manage/events/new", data=form, headers={"Accept-Language": "ja"})
    assert "200文字以内で入力してください（現在 201文字）。" in japanese.get_data(as_text=True)


def test_every_form_takes_length_from_the_project() -> None:
    """wtforms' `Length` says a too-long value in wtforms' words; every form uses the
    project's (validators.Length), which keeps wtforms' maxlength and says it in ours."""
    offenders = []
    for path in (PROJECT_ROOT / "nkhr_events").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "wtforms.validators":
                if any(alias.name == "Length" and alias.asname is None for alias in node.names):
                    offenders.append(str(path))
    assert offenders == []


#: Korean particles written both ways because the word before them is a placeholder: they
#: read like a form to fill in. A sentence with a name or value in it is phrased to need none.
DOUBLE_PARTICLES = re.compile(
    r"\((?:으|이|가|을|를|은|는|과|와)\)"  # "(으)로", "(이)"
    r"|(?:이|을|은|과)\((?:가|를|는|와)\)"  # "이(가)", "을(를)"
)


def test_no_korean_text_writes_a_particle_both_ways() -> None:
    with (PROJECT_ROOT / "nkhr_events/translations/ko/LC_MESSAGES/messages.po").open("rb") as f:
        catalog = read_po(f, locale="ko")
    found = []
    for message in catalog:
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        found += [text for text in texts if text and DOUBLE_PARTICLES.search(text)]
    assert found == []
