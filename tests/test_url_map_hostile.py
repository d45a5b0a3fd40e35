"""Every URL the app answers, with hostile values in each slot of its path and in every query
parameter the code reads: ids and page numbers past 32 and 64 bits, negative and empty ones,
digits of other scripts ("²" is a digit to str.isdigit() and not to int(); "٣" is 3 to both),
letters, NUL and 5,000 characters. Anonymous and signed in as an admin, by GET and, where a
rule takes POST, with an empty and with a garbage body in which every form field the site has
holds the same hostile value. The answer is never a server error (5xx), on SQLite and on
PostgreSQL (where an id past 2**31 - 1 is out of range for an integer column).

The walk is over `app.url_map`, so a rule added later is walked too; a real record stands behind
each id slot (an event with a registration, its emails and attachments, a partner), so that
the views behind the slots run, not only their 404s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from wtforms.fields.core import UnboundField

from nkhr_events.accounts.models import StaffRole, TeamMember
from nkhr_events.accounts.services import create_staff
from nkhr_events.audit.services import SYSTEM
from nkhr_events.checkin import services as checkin
from nkhr_events.dbtypes import utcnow
from nkhr_events.documents import visa
from nkhr_events.documents.services import issue_document
from nkhr_events.extensions import db
from nkhr_events.inquiries.services import InquiryInput, submit_inquiry
from nkhr_events.invitations.groups import GroupInput, create_group
from nkhr_events.invitations.services import InvitationInput, invite
from nkhr_events.outbox.models import OutboxAttachment, OutboxMessage
from nkhr_events.partners.models import Partner, PartnershipRole
from nkhr_events.partners.services import ensure_approved_partnership, find_or_add_partner
from nkhr_events.programme.models import ArchiveDocument, ArchivePhoto
from nkhr_events.programme.services import SessionInput, create_session
from nkhr_events.programme.speakers import SpeakerInput, invite_speaker
from nkhr_events.registrations import links
from nkhr_events.registrations.categories import Category
from nkhr_events.registrations.services import save_category_settings
from nkhr_events.validators import Form
from tests.factories import make_event, make_registration

INT_MAX = 2**31 - 1

#: What goes into a path slot, beside the real value of the slot.
SLOT_VALUES = [
    "0", "-1", "+1", str(INT_MAX), str(INT_MAX + 1), "99999999999999999999", "9" * 400, "²",
    "٣", "ä", "", "a" * 5000, "\x00", f"{INT_MAX + 1}-code", "²-code",
]
#: What goes into each query parameter and each form field.
HOSTILE_VALUES = [
    "0", "-1", str(INT_MAX + 1), "99999999999999999999", "9" * 400, "²", "٣", "ä", "",
    "a" * 5000, "\t\n\r\n", "2027-02-30", "\x00",
]
#: Every query parameter the code reads (request.args, `int_arg`, RosterFilters.from_args,
#: the audit page's dates), and those Flask-SQLAlchemy's paginate reads when a view leaves
#: them out.
QUERY_PARAMETERS = [
    "page", "per_page", "event_id", "object_id", "object_type", "action", "actor", "since",
    "until", "status", "role", "recipient", "q", "day", "category", "next", "format",
    "columns", "include_protected", "include_real_names", "sort", "country", "checkin",
    "publish_name", "photo", "include_passport",
    "by",  # the public programme's view (by day, by room)
    "kind",  # which chart of a dashboard or series report
]
#: Fields of the pages whose forms are read by hand rather than through `validators.Form`.
HAND_READ_FIELDS = [
    "ids", "registration_id", "day", "action", "active", "status", "reason", "step", "subject_en",
    "body_en", "subject_ko", "body_ko", "subject_ja", "body_ja", "internal_notes", "lang", "next",
    "q",
    *(f"{c.value}-{name}" for c in Category
      for name in ("enabled", "by_invitation", "seat_cap", "needs_review", "extra_question",
                   "extra_question_ko")),
]


def form_field_names() -> list[str]:
    """Every field name of every form class on the site, and the hand-read ones."""
    names: set[str] = set(HAND_READ_FIELDS)
    pending = list(Form.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        names.update(n for n, v in vars(cls).items() if isinstance(v, UnboundField))
    names.update({"days", "q_extra", "q_media_outlet", "q_discipline", "q_artist_website"})
    return sorted(names - {"csrf_token"})


@dataclass
class Seeded:
    """The real value behind each slot name."""

    values: dict[str, str]
    series_slug: str

    def real(self, rule: Rule, name: str) -> str:
        if name == "slug" and rule.endpoint == "events.series":
            return self.series_slug
        if name == "session_id" and rule.endpoint.startswith("programme_manage."):
            return self.values["programme_session_id"]  # a programme session, not a sign-in's
        return self.values[name]


@pytest.fixture
def seeded(app: Flask) -> Seeded:
    """A published event with a confirmed registration (its emails, their attachments, its
    private link and check-in code), an approved partner, and a staff account to act upon."""
    with app.app_context():
        event = make_event(capacity=100)
        registration = make_registration(
            event=event, given_name="Min-ji", family_name="Kim", email="attendee@example.org"
        )
        token = links.issue_manage_token(registration)
        reference = checkin.checkin_reference(registration)
        visa_request = visa.request_letter(registration, visa.VisaInput(
            "KIM MINJI", "M70689123", "KR", date(1990, 1, 1), event.end_date + timedelta(days=400),
            "Embassy of the Republic of Korea in Nairobi", "ko"), actor=SYSTEM)
        partner = find_or_add_partner("Citizens' Alliance", country="KR")
        ensure_approved_partnership(partner, event, PartnershipRole.CO_ORGANIZER)
        other = create_staff("other@example.org", "Other Staff", "correct horse battery staple",
                             StaffRole.STAFF)
        member = TeamMember(user_id=other.id, event_id=event.id, role="door")
        db.session.add(member)
        save_category_settings(event, {"government": {"by_invitation": True}}, actor=SYSTEM)
        invitation = invite(event, InvitationInput("Ian Invited", "ian@example.org", "en",
                                                   "government"), actor=SYSTEM)
        group = create_group(event, GroupInput(
            "A delegation", "general_public", 2, event.start_date - timedelta(days=2),
            "Gil Group", "gil@example.org", "en"), actor=SYSTEM)
        speaker = invite_speaker(event, SpeakerInput("Sam", "Speaker", "sam@example.org", "en"),
                                 actor=SYSTEM)
        programme_session = create_session(event, SessionInput(
            day=event.day_list[0], starts_at=time(9), ends_at=time(10), kind="panel",
            texts={"title": "Opening"}, speakers=[(speaker.id, "speaker")]), actor=SYSTEM)
        archived = ArchiveDocument(event_id=event.id, title="Report", filename="report.pdf",
                                   data=b"%PDF-1.4", size=8, sha256="0" * 64)
        archived_photo = ArchivePhoto(event_id=event.id, caption="Photo",
                                      content_type="image/jpeg", data=b"x", width=1, height=1,
                                      consent_confirmed_at=utcnow())
        db.session.add_all([archived, archived_photo])
        db.session.flush()
        document, code = issue_document(registration, "certificate", "ko",
                                        [("성명", "김민지")], actor=SYSTEM)
        inquiry = submit_inquiry(InquiryInput("Quinn", "quinn@example.org", "A question",
                                              "When does it start?", "en"))
        db.session.commit()
        message = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).first()
        attachment = db.session.scalars(
            db.select(OutboxAttachment).order_by(OutboxAttachment.id)).first()
        partner_row = db.session.scalars(db.select(Partner)).one()
        assert message is not None and attachment is not None
        values = {
            "event_id": str(event.id),
            "series_id": str(event.series_id),
            "registration_id": str(registration.id),
            "partner_id": str(partner_row.id),
            "partnership_id": str(partner_row.partnerships[0].id),
            "message_id": str(message.id),
            "attachment_id": str(attachment.id),
            "user_id": str(other.id),
            "member_id": str(member.id),
            "invitation_id": str(invitation.id),
            "group_id": str(group.id),
            "request_id": str(visa_request.id),
            "document_id": str(document.id),
            "archive_document_id": str(archived.id),
            "archive_photo_id": str(archived_photo.id),
            "code": code,
            "language": "en",
            "session_id": "999999",  # not the walker's own: ending it would sign them out
            "passkey_id": "999999",
            "signup_id": "999999",
            "speaker_id": str(speaker.id),
            "programme_session_id": str(programme_session.id),
            "inquiry_id": str(inquiry.id),
            "slug": event.slug,
            "token": token,
            "reference": reference,
            "filename": "css/site.css",
        }
        return Seeded(values, event.series.slug)


_SLOT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def slots(rule: Rule) -> list[str]:
    return _SLOT.findall(rule.rule)


def build(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with each slot filled as a browser would send it (percent-encoded)."""
    return _SLOT.sub(lambda m: quote(values[m.group(1)], safe=""), rule.rule)


def rules(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, sorted(r.methods or ())))


class Walker:
    """Sends the requests and keeps every answer of 500 or more (or exception) it meets."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.failures: list[str] = []
        self.count = 0

    def send(self, method: str, path: str, **kwargs: Any) -> int:
        self.count += 1
        where = f"{method} {path[:100]!r} {str(kwargs)[:160]}"
        try:
            response = self.client.open(path, method=method, **kwargs)
        except Exception as error:  # noqa: BLE001  (every failure is reported at the end)
            self.failures.append(f"{where}: {type(error).__name__}: {str(error)[:200]}")
            return 500
        status = response.status_code
        # /readyz says 503 while the schema is not at the newest migration, and a test
        # database is made from the models: that is its answer, not an error.
        not_ready = path == "/readyz" and status == 503 and response.is_json
        response.close()
        if status >= 500 and not not_ready:
            self.failures.append(f"{where}: {status}")
        return status


def walk(
    app: Flask, client: FlaskClient, seeded: Seeded, skip: set[str], staff_queries: bool
) -> Walker:
    """Every rule: each path slot with each hostile value (the other slots real); then, on
    the real path, every query parameter and every form field with each hostile value (for
    the staff pages only with `staff_queries`: a visitor is sent to sign in before they are
    read)."""
    walker = Walker(client)
    fields = form_field_names()

    def garbage(value: str) -> dict[str, list[str]]:
        return {name: [value, value] if name in {"ids", "days", "columns", "offers"} else [value]
                for name in fields}

    for rule in rules(app):
        if rule.endpoint in skip:
            continue
        methods = sorted((rule.methods or set()) & {"GET", "POST"})
        names = slots(rule)
        real = {name: seeded.real(rule, name) for name in names}
        # Each slot in turn gets each hostile value, the others their real value.
        for name in names:
            for value in SLOT_VALUES:
                path = build(rule, {**real, name: value})
                for method in methods:
                    walker.send(method, path)
                    if method == "POST":
                        walker.send(method, path, data=garbage("99999999999999999999"))
        if not staff_queries and rule.rule.startswith("/manage"):
            continue
        path = build(rule, real)
        for value in HOSTILE_VALUES:
            if "GET" in methods:
                walker.send("GET", path, query_string={p: value for p in QUERY_PARAMETERS})
            if "POST" in methods:
                walker.send("POST", path, data=garbage(value))
                walker.send("POST", path, data={}, query_string={"next": value})
        if "GET" in methods:
            # Each parameter alone too, so that a view refusing one early (an unknown export
            # format) cannot hide what it would do with another.
            for parameter in QUERY_PARAMETERS:
                walker.send("GET", path, query_string={parameter: "99999999999999999999"})
    return walker


#: Leaving would end the signed-in walk half-way (the anonymous walk takes it).
SIGN_OUT = {"accounts.sign_out"}


def test_no_url_answers_a_server_error_to_an_anonymous_visitor(
    app: Flask, client: FlaskClient, seeded: Seeded
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    walker = walk(app, client, seeded, skip=set(), staff_queries=False)
    assert not walker.failures, "\n".join(walker.failures[:40])
    assert walker.count > 1000


def test_no_url_answers_a_server_error_to_a_signed_in_admin(
    app: Flask, client: FlaskClient, auth, seeded: Seeded
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    auth.admin()
    walker = walk(app, client, seeded, skip=SIGN_OUT, staff_queries=True)
    assert not walker.failures, "\n".join(walker.failures[:40])
    # Still signed in at the end: the staff pages were walked, not their sign-in redirect.
    assert client.get("/manage/").status_code == 200


def test_an_id_beyond_a_database_integer_is_not_found_and_a_page_beyond_the_end_is_empty(
    app: Flask, client: FlaskClient, auth, seeded: Seeded
) -> None:
    """What the walk asks, and what the answer is: 404 for an id no integer column holds, the
    default for a query number that is not one."""
    partner = seeded.values["partner_id"]
    assert client.get(f"/partners/{partner}").status_code == 200
    for value in (str(INT_MAX + 1), "99999999999999999999", "0", "٣", "²"):
        assert client.get(f"/partners/{value}").status_code == 404, value
    auth.admin()
    event = seeded.values["event_id"]
    for value in ("99999999999999999999", "²", "٣", "-1", "a"):
        assert client.get(f"/manage/events/{event}/registrations",
                          query_string={"page": value}).status_code == 200
        assert client.get("/manage/partners", query_string={"event_id": value}).status_code == 200
        assert client.get("/manage/audit/", query_string={"page": value}).status_code == 200
        assert client.get("/manage/outbox/", query_string={"page": value}).status_code == 200
