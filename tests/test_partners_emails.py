"""Partner emails as they arrive at a real SMTP server: the plain-text part keeps every line
break the HTML part has, greetings name the contact person, and Korean sentences never fall
back on double particles such as "이(가)" or "을(를)"."""

from __future__ import annotations

import re

import pytest
from factories import make_event
from flask_babel import force_locale, gettext
from markup import Element, parse
from smtp import smtp_settings
from test_partners import co_organizer, post, sponsor

from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.partners.models import Partnership

#: Blocks of the HTML part whose text is one line (or, for a pre-wrapped note, several).
BLOCKS = frozenset({"p", "tr", "div", "li", "h1", "h2", "h3"})
#: HTML text with no counterpart in the plain text: the layout's banner and a link whose
#: plain-text form spells out its address instead (in every language, see `html_only`).
HTML_ONLY = ("NKHR Conferences", "Review the application")
#: "이(가)", "을(를)", "은(는)", "(으)로" and the like: a particle left for the reader to choose.
DOUBLE_PARTICLE = re.compile(r"\((?:이|가|은|는|을|를|과|와|으|아|야|이나|나|이라|라)\)")


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


@pytest.fixture
def event_slug(app) -> str:
    with app.app_context():
        event = make_event(title="Seoul Conference 2027", title_ko="서울 회의 2027")
        db.session.commit()
        return event.slug


def _leaves(root: Element) -> list[Element]:
    return [
        e for e in root.iter()
        if e.tag in BLOCKS and not any(d.tag in BLOCKS for d in e.iter())
    ]


def html_lines(html: str) -> list[str]:
    """The lines a reader sees in the HTML part, in order: one per paragraph or table row
    ("Label: value"), one per line of a pre-wrapped block."""
    lines: list[str] = []
    for block in _leaves(parse(html)):
        if block.tag == "tr":
            cells = [c.text for c in block.iter() if c.tag in ("th", "td")]
            lines.append(": ".join(c for c in cells if c))
        elif "pre-wrap" in (block.get("style") or ""):
            lines.extend(" ".join(x.split()) for x in block.raw_text.splitlines() if x.strip())
        elif block.text:
            lines.append(block.text)
    return lines


def text_lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def html_only(app) -> frozenset[str]:
    with app.app_context():
        texts = set()
        for language in app.config["LANGUAGES"]:
            with force_locale(language):
                texts.update(gettext(msgid) for msgid in HTML_ONLY)
    return frozenset(texts)


def assert_same_line_structure(html: str, text: str, skip: frozenset[str]) -> None:
    """Every line of the HTML part is a line of its own in the text part, in the same order;
    a line that only appears run together with another is the fault this guards against."""
    plain = text_lines(text)
    position = -1
    for line in html_lines(html):
        if line in skip:
            continue
        found = [i for i, candidate in enumerate(plain) if candidate == line and i > position]
        if not found:
            joined = [candidate for candidate in plain if line in candidate]
            raise AssertionError(
                f"{line!r} is not a line of the text part"
                + (f"; it is run together in {joined[0]!r}" if joined else "")
                + "\n--- text part ---\n" + text
            )
        position = found[0]


def delivered(smtp_server) -> list[tuple[str, str, str, str]]:
    """(to, subject, text, html) of every message the SMTP server received."""
    assert deliver_due().failed == 0
    return [
        (
            m["To"],
            str(m["Subject"]),
            m.get_body(("plain",)).get_content().replace("\r\n", "\n"),
            m.get_body(("html",)).get_content(),
        )
        for m in smtp_server.messages
    ]


def decide(client, auth, partnership_id: int, action: str, note: str = "") -> None:
    auth.organizer()
    response = client.post(
        f"/manage/partners/{partnership_id}/decide", data={"action": action, "note": note}
    )
    assert response.status_code == 303
    auth.sign_out()


def _all_emails(app, client, auth, event_slug, smtp_server):
    """Two applications (a Korean sponsor with a tier, an English co-organizer with a message
    over several lines), one approved with a note over two lines, one declined."""
    assert post(client, event_slug, sponsor()).status_code == 303
    assert post(
        client, event_slug,
        co_organizer(message="First line of the message.\nSecond line.",
                     contribution="", contact_name="Jane Doe"),
    ).status_code == 303
    with app.app_context():
        ids = [p.id for p in db.session.scalars(db.select(Partnership).order_by(Partnership.id))]
    decide(client, auth, ids[0], "approve", "Welcome aboard.\nWe will send the guidelines.")
    decide(client, auth, ids[1], "decline", "Our places are filled this year.")
    with app.app_context():
        return delivered(smtp_server)


def test_every_partner_email_keeps_the_line_breaks_of_its_html_part(
    app, client, auth, event_slug, smtp_server
):
    emails = _all_emails(app, client, auth, event_slug, smtp_server)
    # Team notice and acknowledgement twice, then the two decisions.
    assert len(emails) == 6
    for _to, _subject, text, html in emails:
        assert_same_line_structure(html, text, html_only(app))


def test_the_team_notice_has_one_line_per_field(app, client, event_slug, smtp_server):
    assert post(client, event_slug, sponsor()).status_code == 303
    with app.app_context():
        team = delivered(smtp_server)[0]
    lines = team[2].splitlines()
    role = lines.index("Role: Sponsor (Supporting sponsor)")
    assert lines[role + 1] == "Contact person: Park Ji-won <jiwon@chosun.example>"
    assert lines[role + 2] == "Language: Korean"
    assert "Contribution: Coverage and a printed programme" in lines


def test_an_approval_with_a_tier_and_a_note_keeps_its_paragraphs(
    app, client, auth, event_slug, smtp_server
):
    post(client, event_slug, sponsor(language="en"))
    with app.app_context():
        partnership_id = db.session.scalars(db.select(Partnership.id)).one()
        deliver_due()
    decide(client, auth, partnership_id, "approve", "See you in Seoul.")
    with app.app_context():
        text = delivered(smtp_server)[-1][2]
    paragraphs = [p.strip() for p in text.split("\n\n")]
    assert paragraphs[0] == "Hello Park Ji-won,"
    assert paragraphs[1] == (
        "We are glad to tell you that Chosun Ilbo is approved as a sponsor of Seoul "
        "Conference 2027. (Supporting sponsor)"
    )
    assert paragraphs[2] == "A note from the organizers:\nSee you in Seoul."
    assert paragraphs[3].startswith("To answer, reply to this email")


def test_greetings_use_the_contact_persons_name_in_both_languages(
    app, client, auth, event_slug, smtp_server
):
    emails = _all_emails(app, client, auth, event_slug, smtp_server)
    to_applicants = [e for e in emails if e[0] != "intl-campaign@localhost"]
    assert len(to_applicants) == 4
    for to, _subject, text, html in to_applicants:
        if to == "jiwon@chosun.example":
            greeting = "Park Ji-won 님, 안녕하십니까."
        else:
            greeting = "Hello Jane Doe,"
        assert text.splitlines()[0] == greeting
        assert greeting in parse(html).text
        assert "Hello," not in text and "안녕하십니까." != text.splitlines()[0]


def test_a_korean_name_is_greeted_in_korean_order(app, client, event_slug, smtp_server):
    post(client, event_slug, sponsor(contact_name="박지원"))
    with app.app_context():
        ack = delivered(smtp_server)[1]
    assert ack[2].splitlines()[0] == "박지원 님, 안녕하십니까."


def test_korean_partner_emails_and_pages_never_show_double_particles(
    app, client, auth, event_slug, smtp_server
):
    post(client, event_slug, sponsor(organization_name="한국인권재단", website=""))
    post(client, event_slug, sponsor(organization_name="Citizens Alliance", website="",
                                     contact_email="alliance@nkhr.example"))
    # The same organization again: the page explains, in Korean.
    client.set_cookie("nkhr_lang", "ko")
    again = post(client, event_slug, sponsor(organization_name="한국인권재단", website=""))
    assert again.status_code == 200
    notice = parse(again.get_data(as_text=True)).one("div", id="duplicate-application").text
    assert "한국인권재단" in notice
    assert not DOUBLE_PARTICLE.search(notice), notice
    with app.app_context():
        ids = [p.id for p in db.session.scalars(db.select(Partnership).order_by(Partnership.id))]
    decide(client, auth, ids[0], "approve", "환영합니다.")
    decide(client, auth, ids[1], "decline", "올해는 자리가 찼습니다.")
    with app.app_context():
        emails = delivered(smtp_server)
    korean = [e for e in emails if e[0] != "intl-campaign@localhost"]
    assert len(korean) == 4
    for _to, subject, text, html in korean:
        for part in (subject, text, parse(html).text):
            assert not DOUBLE_PARTICLE.search(part), part
    approved = korean[2][2]
    assert "한국인권재단" in approved and "P-00001" in approved
