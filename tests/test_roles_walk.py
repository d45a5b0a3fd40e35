"""Every staff URL, walked by every kind of staff member, with the real records of two events.

Event A and event B each have a journalist's registration, a partner application, emails in the
outbox and a check-in code. For each role (anonymous, door of A, reviewer of A's journalists,
partner liaison of A, organizer of B, organizer of A, admin) every GET and POST of the URL map is
opened with A's ids; the answer must be the one `EXPECTED` names: allowed, 404 (another event's
records do not exist for you), 403 (pages only admins have) or a redirect to sign in. No page
a role may open shows anything of the event it has no part in, and a refused POST changes
nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from conftest import AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from test_partners_review import apply

from nkhr_events.accounts.models import StaffRole, StaffUser, TeamMember
from nkhr_events.accounts.services import create_staff
from nkhr_events.audit.services import SYSTEM
from nkhr_events.checkin.services import checkin_reference
from nkhr_events.documents import visa
from nkhr_events.documents.services import issue_document
from nkhr_events.extensions import db
from nkhr_events.inquiries.services import InquiryInput, submit_inquiry
from nkhr_events.invitations.groups import GroupInput, create_group
from nkhr_events.invitations.services import InvitationInput, invite
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.outbox.services import downloadable_by_staff
from nkhr_events.programme.models import ArchiveDocument, ArchivePhoto
from nkhr_events.programme.speakers import SpeakerInput, invite_speaker
from nkhr_events.registrations.services import save_category_settings

ROLES = ("anonymous", "door", "reviewer", "liaison", "other_organizer", "organizer", "admin")
STAFF = ROLES[1:]
EVENT_STAFF = ("organizer", "admin")

#: Who may open each endpoint with event A's ids; every other signed-in role gets 404 (or 403
#: where the endpoint is in ADMIN_PAGES), anonymous visitors are sent to sign in.
EXPECTED: dict[str, tuple[str, ...]] = {
    # Everyone signed in: their own lists, filtered to what they may see.
    "events_manage.home": STAFF,
    "partners_manage.applications": ("liaison", "other_organizer", *EVENT_STAFF),
    "outbox_manage.index": ("other_organizer", *EVENT_STAFF),
    "accounts_manage.password": STAFF,
    "accounts_manage.my_sessions": STAFF,
    "accounts_manage.two_factor": STAFF,
    "accounts_manage.passkey_add_options": STAFF,
    "accounts_manage.passkey_add": STAFF,
    "accounts_manage.passkey_remove": STAFF,
    "accounts_manage.end_my_other_sessions": STAFF,
    # Walked with the id of another person's session: that is nobody's to end but its owner's.
    "accounts_manage.end_my_session": (),
    # The event's own pages.
    "events_manage.create": ("admin",),
    "events_manage.edit": EVENT_STAFF,
    "events_manage.change_status": EVENT_STAFF,
    "roster_manage.dashboard": ("reviewer", *EVENT_STAFF),
    "charts_manage.event_chart": ("reviewer", *EVENT_STAFF),
    # Event A's series (id 1) has event A alone: its organizers see the series' report.
    "charts_manage.series": EVENT_STAFF,
    "charts_manage.series_chart": EVENT_STAFF,
    "roster_manage.registrations": ("reviewer", *EVENT_STAFF),
    "roster_manage.registration": ("reviewer", *EVENT_STAFF),
    "roster_manage.decide": ("reviewer", *EVENT_STAFF),
    "roster_manage.resend_link": ("reviewer", *EVENT_STAFF),
    "roster_manage.bulk": ("reviewer", *EVENT_STAFF),
    "roster_manage.export": EVENT_STAFF,
    "roster_manage.badges": EVENT_STAFF,
    "roster_manage.sign_in_sheet": EVENT_STAFF,
    "roster_manage.data_download": EVENT_STAFF,
    "roster_manage.notes": EVENT_STAFF,
    "roster_manage.edit": EVENT_STAFF,
    "roster_manage.message": EVENT_STAFF,
    "roster_manage.categories": EVENT_STAFF,
    "roster_manage.flood_cancel": EVENT_STAFF,
    "checkin_manage.door": ("door", *EVENT_STAFF),
    "checkin_manage.door_act": ("door", *EVENT_STAFF),
    "checkin_manage.page": ("door", *EVENT_STAFF),
    "checkin_manage.act": ("door", *EVENT_STAFF),
    "checkin_scan.scans": ("door", *EVENT_STAFF),
    "partners_manage.application": ("liaison", *EVENT_STAFF),
    "partners_manage.decide": ("liaison", *EVENT_STAFF),
    "partners_manage.placement": ("liaison", *EVENT_STAFF),
    "partners_manage.edit_partner": ("liaison", *EVENT_STAFF),
    "partners_manage.logo": ("liaison", *EVENT_STAFF),
    "partners_manage.tiers": ("liaison", *EVENT_STAFF),
    "outbox_manage.message": EVENT_STAFF,
    "outbox_manage.attachment": EVENT_STAFF,
    "outbox_manage.retry": EVENT_STAFF,
    "outbox_manage.cancel": EVENT_STAFF,
    # Only admins.
    "accounts_manage.staff_list": ("admin",),
    "accounts_manage.staff_new": ("admin",),
    "accounts_manage.staff_account": ("admin",),
    "accounts_manage.staff_role": ("admin",),
    "accounts_manage.staff_active": ("admin",),
    "accounts_manage.staff_two_factor_reset": ("admin",),
    "audit_manage.index": ("admin",),
    "inquiries_manage.index": ("admin",),
    "inquiries_manage.inquiry": ("admin",),
    "inquiries_manage.reply": ("admin",),
    "inquiries_manage.status": ("admin",),
    "invitations_manage.index": EVENT_STAFF,
    "invitations_manage.new": EVENT_STAFF,
    "invitations_manage.upload": EVENT_STAFF,
    "invitations_manage.confirm": EVENT_STAFF,
    "invitations_manage.resend": EVENT_STAFF,
    "invitations_manage.revoke": EVENT_STAFF,
    "groups_manage.index": EVENT_STAFF,
    "groups_manage.new": EVENT_STAFF,
    "groups_manage.partner_places": EVENT_STAFF,
    "groups_manage.group": EVENT_STAFF,
    "groups_manage.resend": EVENT_STAFF,
    "groups_manage.revoke": EVENT_STAFF,
    "protected_manage.new": EVENT_STAFF,
    "protected_manage.handout": EVENT_STAFF,
    "protected_manage.reveal": EVENT_STAFF,
    "protected_manage.change": EVENT_STAFF,
    "visa_manage.index": EVENT_STAFF,
    "visa_manage.export": EVENT_STAFF,
    "visa_manage.one": EVENT_STAFF,
    "visa_manage.approve": EVENT_STAFF,
    "visa_manage.decline": EVENT_STAFF,
    "documents_manage.index": EVENT_STAFF,
    "documents_manage.revoke": EVENT_STAFF,
    "documents_manage.email_certificates": EVENT_STAFF,
    "documents_manage.certificate": EVENT_STAFF,
    "documents_manage.document_settings": ("admin",),
    "documents_manage.signature_image": ("admin",),
    "teams_manage.team": EVENT_STAFF,
    "teams_manage.remove": EVENT_STAFF,
    "archive_manage.index": EVENT_STAFF,
    "archive_manage.photo_image": EVENT_STAFF,
    "archive_manage.photo_consent": EVENT_STAFF,
    "archive_manage.move": EVENT_STAFF,
    "archive_manage.delete_document": EVENT_STAFF,
    "archive_manage.delete_photo": EVENT_STAFF,
    # Walked with session id 999999 (the slot is a staff session's elsewhere): no such programme
    # session, so 404 for every role; tests/test_session_signup.py walks the roles for real.
    "signups_manage.roster": (),
    "signups_manage.decision": (),
    "signups_manage.door": (),
    "speakers_manage.index": EVENT_STAFF,
    "speakers_manage.new": EVENT_STAFF,
    "speakers_manage.person": EVENT_STAFF,
    "speakers_manage.resend": EVENT_STAFF,
    "speakers_manage.crew": EVENT_STAFF,
    "programme_manage.programme": EVENT_STAFF,
    "programme_manage.new": EVENT_STAFF,
    # Walked with session id 999999 (as above): no such programme session, so 404 for every
    # role; tests/test_programme_sessions.py walks the roles on a real session.
    "programme_manage.edit": (),
    "programme_manage.delete": (),
}
#: Pages of no event that only admins have: others are told so (403), as before teams.
ADMIN_PAGES = {"accounts_manage.staff_list", "accounts_manage.staff_new",
               "accounts_manage.staff_account", "accounts_manage.staff_role",
               "accounts_manage.staff_active", "accounts_manage.staff_two_factor_reset",
               "audit_manage.index", "documents_manage.document_settings",
               "documents_manage.signature_image",
               "inquiries_manage.index", "inquiries_manage.inquiry", "inquiries_manage.reply",
               "inquiries_manage.status"}

_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


@dataclass
class World:
    ids: dict[str, Any]
    #: Text that belongs to event B alone: no page opened with A's ids, by a role of A, shows it.
    b_only: tuple[str, ...]


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        a = make_event(title="Alpha Conference")
        b = make_event(title="Bravo Conference")
        reg_a = make_registration(event=a, category="journalist", given_name="Ada",
                                  family_name="Alpha", email="ada@alpha.example",
                                  answers={"media_outlet": "Alpha Times",
                                           "media_role": "reporter"})
        reg_b = make_registration(event=b, category="journalist", given_name="Bea",
                                  family_name="Bravo", email="bea@bravo.example",
                                  answers={"media_outlet": "Bravo Post", "media_role": "editor"})
        partner_a = apply(a, "Alpha Foundation", logo=True)
        apply(b, "Bravo Foundation")
        messages_a = db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.registration_id == reg_a.id)
            .order_by(OutboxMessage.id)
        ).all()
        # A message with a file staff may download (the calendar), not a check-in QR code.
        message_a, attachment = next(
            (m, a.id) for m in messages_a for a in m.attachments if downloadable_by_staff(a)
        )
        volunteer = create_staff("volunteer@alpha.example", "Volunteer", "x" * 16,
                                 StaffRole.STAFF)
        member = TeamMember(user_id=volunteer.id, event_id=a.id, role="door")
        db.session.add(member)
        save_category_settings(a, {"government": {"by_invitation": True}}, actor=SYSTEM)
        invited = invite(a, InvitationInput("Ian Alpha", "ian@alpha.example", "en",
                                            "government"), actor=SYSTEM)
        group = create_group(a, GroupInput(
            "Alpha delegation", "general_public", 2, a.start_date - timedelta(days=2),
            "Gil Alpha", "gil@alpha.example", "en"), actor=SYSTEM)
        visa_request = visa.request_letter(reg_a, visa.VisaInput(
            "ALPHA ADA", "M70689123", "KR", date(1990, 1, 1), a.end_date + timedelta(days=400),
            "Embassy of the Republic of Korea in Nairobi", ""), actor=SYSTEM)
        speaker = invite_speaker(a, SpeakerInput("Sam", "Alpha", "sam@alpha.example", "en"),
                                 actor=SYSTEM)
        archived = ArchiveDocument(event_id=a.id, title="Alpha report", filename="a.pdf",
                                   data=b"%PDF-1.4", size=8, sha256="0" * 64)
        archived_photo = ArchivePhoto(event_id=a.id, caption="Alpha photo",
                                      content_type="image/jpeg", data=b"x", width=1, height=1)
        db.session.add_all([archived, archived_photo])
        db.session.flush()
        document, _code = issue_document(reg_a, "certificate", "en", [("Name", "Ada Alpha")],
                                         actor=SYSTEM)
        inquiry = submit_inquiry(InquiryInput("Quinn", "quinn@example.org", "A question",
                                              "When does it start?", "en"))
        db.session.commit()
        ids = {
            "member_id": member.id, "request_id": visa_request.id,
            "event_id": a.id, "registration_id": reg_a.id, "partnership_id": partner_a,
            "message_id": message_a.id, "attachment_id": attachment,
            "reference": checkin_reference(reg_a), "invitation_id": invited.id,
            "group_id": group.id, "document_id": document.id,
            "archive_document_id": archived.id, "archive_photo_id": archived_photo.id,
            "speaker_id": speaker.id,
            "inquiry_id": inquiry.id,
            "b_event": b.id, "b_registration": reg_b.id,
        }
        return World(ids, ("Bravo Conference", "Bea Bravo", "bea@bravo.example",
                           "Bravo Foundation", "Bravo Post"))


def sign_in_as(auth: AuthActions, role: str, world: World) -> None:
    a, b = world.ids["event_id"], world.ids["b_event"]
    if role == "admin":
        auth.admin()
    elif role == "organizer":
        auth.member(a, "organizer")
    elif role == "other_organizer":
        auth.member(b, "organizer")
    elif role == "reviewer":
        auth.member(a, "reviewer", categories="journalist")
    elif role in ("door", "liaison"):
        auth.member(a, role)


def url_for_rule(rule: Any, ids: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match["name"]
        if name == "user_id":
            return "1"
        if name == "session_id":
            return "999999"
        return str(ids.get(name, 1))

    return _ARGUMENT.sub(fill, rule.rule)


def manage_rules(app: Flask) -> list[Any]:
    return sorted(
        (r for r in app.url_map.iter_rules()
         if r.rule.startswith("/manage") and r.endpoint != "static"),
        key=lambda r: r.rule,
    )


def test_every_manage_endpoint_is_in_the_table(app: Flask) -> None:
    """A new staff page must say who may open it."""
    assert {r.endpoint for r in manage_rules(app)} <= set(EXPECTED), (
        sorted({r.endpoint for r in manage_rules(app)} - set(EXPECTED)))


def row_count() -> int:
    return sum(
        db.session.scalar(db.select(db.func.count()).select_from(table)) or 0
        for table in db.metadata.sorted_tables
        if table.name not in ("audit_entry", "staff_session", "sign_in_attempt")
    )


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_what_its_job_needs_and_nothing_else(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World, role: str
) -> None:
    sign_in_as(auth, role, world)
    # What a form of these pages sends about A's journalist (a check-in at the door, ...).
    post_data = {"registration_id": str(world.ids["registration_id"]), "action": "undo"}
    wrong: list[str] = []
    for rule in manage_rules(app):
        url = url_for_rule(rule, world.ids)
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            with app.app_context():
                before = row_count()
            response = client.open(url, method=method, data=post_data)
            status = response.status_code
            allowed = role in EXPECTED.get(rule.endpoint, ())
            if role == "anonymous":
                ok = status == 302 and "/sign-in" in response.headers.get("Location", "")
            elif allowed:
                ok = status not in (401, 403, 404) and status < 500
            elif rule.endpoint in ADMIN_PAGES:
                ok = status == 403
            else:
                ok = status == 404
            if not ok:
                wrong.append(f"{role}: {method} {url} -> {status}")
                continue
            if not allowed or role == "anonymous":
                with app.app_context():
                    if row_count() != before:
                        wrong.append(f"{role}: {method} {url} changed rows")
            elif method == "GET" and role != "admin" and status == 200 and (
                response.mimetype.startswith("text/")
            ):
                body = response.get_data(as_text=True)
                leaked = [text for text in world.b_only if text in body]
                if role == "other_organizer":
                    leaked = []  # B is theirs
                if leaked:
                    wrong.append(f"{role}: GET {url} shows {leaked}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ("door", "reviewer", "liaison", "organizer"))
def test_a_role_of_event_a_finds_nothing_of_event_b(
    app: Flask, client: FlaskClient, auth: AuthActions, world: World, role: str
) -> None:
    sign_in_as(auth, role, world)
    b, reg_b = world.ids["b_event"], world.ids["b_registration"]
    for url in (f"/manage/events/{b}", f"/manage/events/{b}/registrations",
                f"/manage/events/{b}/door", f"/manage/events/{b}/edit",
                f"/manage/registrations/{reg_b}",
                f"/manage/events/{b}/registrations/export?format=csv"):
        assert client.get(url).status_code == 404, (role, url)
    for url in ("/manage/", "/manage/partners", "/manage/outbox/"):
        body = client.get(url, follow_redirects=True).get_data(as_text=True)
        assert not [text for text in world.b_only if text in body], (role, url)


def test_the_migration_made_every_organizer_an_organizer_of_every_event(
    app: Flask, auth: AuthActions
) -> None:
    """What an organizer of every event is, in this version: a staff account with that team
    role; new events included."""
    auth.create("every@example.org", StaffRole.STAFF)
    with app.app_context():
        user = db.session.scalar(db.select(StaffUser).where(
            StaffUser.email == "every@example.org"))
        from nkhr_events.accounts.access import grant_of
        from nkhr_events.accounts.services import AccountKind, account_kind

        assert account_kind(user) == AccountKind.ORGANIZER
        event = make_event()
        db.session.commit()
        with app.test_request_context():
            found = grant_of(user, event.id)
            assert found is not None and found.role == "organizer"
