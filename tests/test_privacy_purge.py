"""Retention: `flask privacy purge` anonymizes exactly what is past its period, with the clock
moved forward; a dry run only counts, and a second run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.inquiries.models import Inquiry
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.partners.models import Partnership
from nkhr_events.partners.services import find_or_add_partner
from nkhr_events.privacy.services import purge
from nkhr_events.registrations.models import Registration
from tests.factories import make_event, make_registration

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def person(event: Event, n: int) -> Registration:
    return make_registration(
        event=event, given_name=f"Given{n}", family_name=f"Family{n}",
        email=f"person{n}@example.org", organization=f"Org{n}", dietary_needs="vegan",
    )


@pytest.fixture
def data(app):
    """Two events 60 days ahead: one keeps data 30 days, the other 3000; two inquiries."""
    with app.app_context():
        short = make_event(retention_days=30)
        long = make_event(retention_days=3000)
        person(short, 1)
        person(short, 2)
        person(long, 3)
        partner = find_or_add_partner("NK Watch")
        for event in (short, long):
            db.session.add(Partnership(
                partner=partner, event=event, role="sponsor", contact_name="Contact Person",
                contact_email="contact@example.org", contact_phone="+82 10 1234",
                message="We would like to help.",
            ))
        db.session.add_all([
            Inquiry(name="Old Asker", email="old@example.org", subject="Old question",
                    message="Old text", language="en", created_at=NOW - timedelta(days=200)),
            Inquiry(name="New Asker", email="new@example.org", subject="New question",
                    message="New text", language="en", created_at=NOW - timedelta(days=10)),
        ])
        db.session.commit()
        return {"short": short.id, "long": long.id, "short_end": short.end_date}


def snapshot() -> list[tuple]:
    rows = [
        (r.id, r.given_name, r.email, r.organization, r.dietary_needs, r.anonymized_at)
        for r in db.session.scalars(db.select(Registration).order_by(Registration.id))
    ]
    rows += [(i.id, i.name, i.email, i.message, i.anonymized_at)
             for i in db.session.scalars(db.select(Inquiry).order_by(Inquiry.id))]
    rows += [(p.id, p.contact_name, p.contact_email, p.contact_anonymized_at)
             for p in db.session.scalars(db.select(Partnership).order_by(Partnership.id))]
    return rows


def test_nothing_is_purged_before_the_retention_period_ends(app, data):
    with app.app_context():
        before = snapshot()
        end = datetime.combine(data["short_end"], datetime.max.time(), tzinfo=UTC)
        report = purge(now=end + timedelta(days=29), actor=SYSTEM)
        db.session.commit()
        assert (report.registrations, report.partner_contacts) == (0, 0)
        assert snapshot()[:3] == before[:3]


def test_purge_anonymizes_exactly_the_expired_ones(app, data):
    with app.app_context():
        report = purge(now=NOW.replace(year=2028), actor=SYSTEM)
        db.session.commit()
        assert (report.registrations, report.inquiries, report.partner_contacts) == (2, 0, 1)

        report = purge(now=NOW, actor=SYSTEM)
        db.session.commit()
        assert (report.registrations, report.inquiries, report.partner_contacts) == (0, 1, 0)

        rows = {r.given_name: r for r in db.session.scalars(db.select(Registration))}
        assert set(rows) == {"Erased", "Given3"}
        for row in db.session.scalars(
            db.select(Registration).where(Registration.event_id == data["short"])
        ):
            assert row.email.endswith("@invalid") and row.organization == ""
            assert row.dietary_needs == "" and row.anonymized_at is not None
            assert row.status == "confirmed"  # no cancellation: the event is over
            for message in db.session.scalars(
                db.select(OutboxMessage).where(OutboxMessage.registration_id == row.id)
            ):
                assert message.subject == message.text_body == "(erased)"
                assert "Given" not in message.recipient
        kept = rows["Given3"]
        assert kept.email == "person3@example.org" and kept.anonymized_at is None

        old, new = db.session.scalars(db.select(Inquiry).order_by(Inquiry.id))
        assert old.name != "Old Asker" and "old@example.org" != old.email
        assert old.message != "Old text" and old.anonymized_at is not None
        assert (new.name, new.email, new.anonymized_at) == ("New Asker", "new@example.org", None)

        by_event = {p.event_id: p for p in db.session.scalars(db.select(Partnership))}
        gone = by_event[data["short"]]
        assert (gone.contact_name, gone.contact_email, gone.contact_phone, gone.message) == (
            None, None, None, None)
        assert gone.contact_anonymized_at is not None
        assert by_event[data["long"]].contact_email == "contact@example.org"

        entries = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "privacy.purge")
            .order_by(AuditEntry.id)).all()
        assert [e.detail for e in entries] == [
            {"registrations": 2, "inquiries": 0, "partner_contacts": 1, "audit_entries": 0,
             "mail_requests": 0},
            {"registrations": 0, "inquiries": 1, "partner_contacts": 0, "audit_entries": 0,
             "mail_requests": 0},
        ]


def test_dry_run_prints_counts_and_changes_nothing(app, runner, data):
    with app.app_context():
        before = snapshot()
    result = runner.invoke(args=["privacy", "purge", "--dry-run", "--now", "2030-01-01"])
    assert result.exit_code == 0, result.output
    assert "2 registrations, 1 inquiries, 1 partner contacts" in result.output
    assert "nothing changed" in result.output
    with app.app_context():
        assert snapshot() == before
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id)).where(
            AuditEntry.action == "privacy.purge")) == 0


def test_purge_command_is_idempotent(app, runner, data):
    first = runner.invoke(args=["privacy", "purge", "--now", "2030-01-01"])
    assert first.exit_code == 0, first.output
    assert "Anonymized: 2 registrations, 1 inquiries, 1 partner contacts" in first.output
    with app.app_context():
        after_first = snapshot()
    second = runner.invoke(args=["privacy", "purge", "--now", "2030-01-01"])
    assert "Anonymized: 0 registrations, 0 inquiries, 0 partner contacts" in second.output
    with app.app_context():
        assert snapshot() == after_first


def test_purge_command_refuses_a_malformed_date(runner, data):
    result = runner.invoke(args=["privacy", "purge", "--now", "soon"])
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.output


def test_organizer_sets_the_retention_period_on_the_event_form(app, client, auth):
    from nkhr_events.events.models import Event
    from tests.factories import make_series
    from tests.test_staff import event_form_input

    with app.app_context():
        series_id = make_series().id
        db.session.commit()
    auth.organizer()
    created = client.post("/manage/events/new", data=event_form_input(series_id))
    event_id = int(created.headers["Location"].split("/")[-2])
    with app.app_context():
        assert db.session.get(Event, event_id).retention_days == 180
    form = client.get(f"/manage/events/{event_id}/edit").get_data(as_text=True)
    assert 'name="retention_days"' in form and 'value="180"' in form
    client.post(f"/manage/events/{event_id}/edit",
                data=event_form_input(series_id, retention_days="30"))
    with app.app_context():
        assert db.session.get(Event, event_id).retention_days == 30
    refused = client.post(f"/manage/events/{event_id}/edit",
                          data=event_form_input(series_id, retention_days="0"))
    assert refused.status_code == 200
    with app.app_context():
        assert db.session.get(Event, event_id).retention_days == 30


def _message(n: int, to: str, **about: int) -> OutboxMessage:
    return OutboxMessage(
        sender="conference@localhost", recipient=to, reply_to=f"reply{n}@example.org",
        subject=f"Personal subject {n}", text_body=f"Personal body {n}", html_body="<p>x</p>",
        template="inquiry_ack", language="en", message_id=f"<purge-{n}@localhost>", **about,
    )


def test_emails_about_purged_inquiries_and_partner_contacts_are_blanked(app, data):
    with app.app_context():
        old = db.session.scalar(db.select(Inquiry).where(Inquiry.name == "Old Asker"))
        new = db.session.scalar(db.select(Inquiry).where(Inquiry.name == "New Asker"))
        short = db.session.scalar(
            db.select(Partnership).where(Partnership.event_id == data["short"])
        )
        db.session.add_all([
            _message(1, "old@example.org", inquiry_id=old.id),
            _message(2, "intl-campaign@localhost", inquiry_id=old.id),
            _message(3, "new@example.org", inquiry_id=new.id),
            _message(4, "contact@example.org", partnership_id=short.id),
        ])
        db.session.commit()
        purge(now=NOW, actor=SYSTEM)
        db.session.commit()
        rows = {
            m.message_id: m
            for m in db.session.scalars(
                db.select(OutboxMessage).where(OutboxMessage.message_id.like("<purge-%"))
            )
        }
        for n in (1, 2, 4):
            message = rows[f"<purge-{n}@localhost>"]
            assert "Personal" not in message.subject + message.text_body
            assert message.html_body is None and message.reply_to is None
        assert rows["<purge-1@localhost>"].recipient.endswith("@invalid")
        assert rows["<purge-2@localhost>"].recipient == "intl-campaign@localhost"
        assert rows["<purge-4@localhost>"].recipient.endswith("@invalid")
        kept = rows["<purge-3@localhost>"]
        assert (kept.recipient, kept.subject) == ("new@example.org", "Personal subject 3")


def test_ip_addresses_and_typed_unknown_addresses_leave_the_audit_trail_after_90_days(app, data):
    old, recent = NOW - timedelta(days=91), NOW - timedelta(days=89)
    with app.app_context():
        db.session.execute(db.delete(AuditEntry))  # only the entries below
        db.session.add_all([
            AuditEntry(at=old, actor="attendee", action="registration.create", ip="203.0.113.9",
                       object_type="registration", object_id=1),
            AuditEntry(at=old, actor="stranger@example.org", action="auth.sign_in_failed",
                       ip="203.0.113.7"),
            AuditEntry(at=old, actor="staff@example.org", action="auth.sign_in_failed",
                       object_type="staff_user", object_id=7),
            AuditEntry(at=recent, actor="typo@example.org", action="auth.sign_in_failed",
                       ip="203.0.113.8"),
        ])
        db.session.commit()
        assert purge(now=NOW, dry_run=True, actor=SYSTEM).audit_entries == 2
        db.session.rollback()
        report = purge(now=NOW, actor=SYSTEM)
        db.session.commit()
        assert report.audit_entries == 2
        rows = [(e.at < NOW - timedelta(days=90), e.actor, e.ip) for e in db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action != "privacy.purge")
            .order_by(AuditEntry.id))]
        assert rows == [
            (True, "attendee", None),
            (True, "(unknown address)", None),
            (True, "staff@example.org", None),  # an account's own address stays
            (False, "typo@example.org", "203.0.113.8"),  # still within 90 days
        ]
        assert purge(now=NOW, actor=SYSTEM).audit_entries == 0


def test_mail_requests_no_worker_answered_within_a_day_are_dropped(app, data):
    from nkhr_events.outbox.models import MailRequest

    with app.app_context():
        db.session.add_all([
            MailRequest(kind="lost_link", email="old@example.org", language="en",
                        created_at=NOW - timedelta(days=2)),
            MailRequest(kind="lost_link", email="fresh@example.org", language="en",
                        created_at=NOW - timedelta(hours=2)),
        ])
        db.session.commit()
        assert purge(now=NOW, actor=SYSTEM).mail_requests == 1
        db.session.commit()
        assert db.session.scalars(db.select(MailRequest.email)).all() == ["fresh@example.org"]
