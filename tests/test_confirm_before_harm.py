"""Nothing that hurts people or hides things happens in one click: rejecting and waitlisting
(one or many), taking an event back to draft or archiving it, and deactivating a staff account
go through a confirmation page that states the consequence; bulk actions cover the page or the
whole filter with the count shown first, and "nothing selected" is an error beside the control;
a person's page starts with the decision and can send the private link again."""

from __future__ import annotations

import re

import pytest
from markup import browser_submission, parse
from smtp import deliver_and_read, smtp_settings
from sqlalchemy import func, select

from nkhr_events.audit.models import AuditEntry
from nkhr_events.events.models import Event, EventStatus
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.registrations.models import Registration
from tests.factories import make_event, make_registration


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


@pytest.fixture
def world(app):
    """A published event of capacity 3: three pending journalists and one waitlisted."""
    with app.app_context():
        event = make_event(capacity=3)
        ids = [
            make_registration(
                event=event, category="journalist", status=None, given_name=f"J{n}",
                family_name="Reporter", email=f"j{n}@example.org",
                answers={"media_outlet": "Paper", "media_role": "Reporter"},
            ).id
            for n in range(4)
        ]
        db.session.commit()
        return {"event": event.id, "ids": ids}


def statuses(app, ids):
    with app.app_context():
        return [db.session.get(Registration, i).status for i in ids]


def counts(app):
    """(audit entries, outbox messages): what an unconfirmed request must leave as it was."""
    with app.app_context():
        return (db.session.scalar(select(func.count(AuditEntry.id))),
                db.session.scalar(select(func.count(OutboxMessage.id))))


def consequences(html: str) -> str:
    return parse(html).one(class_="consequences").text


def test_rejecting_one_person_asks_first_and_says_what_happens(app, client, auth, world):
    auth.organizer()
    first = world["ids"][0]
    before = counts(app)
    response = client.post(f"/manage/registrations/{first}/decision",
                           data={"action": "reject", "reason": "No accreditation."})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Reject J0 Reporter?" in html
    said = consequences(html)
    assert "1 person will be emailed that the registration is rejected." in said
    assert "No accreditation." in said
    assert "1 person is waiting" in said
    assert statuses(app, world["ids"]) == ["pending", "pending", "pending", "waitlisted"]
    assert counts(app) == before
    # The confirmation page carries the same request, with `confirmed`.
    form = parse(html).one("form", action=f"/manage/registrations/{first}/decision")
    fields = dict(browser_submission(form))
    assert fields["action"] == "reject" and fields["reason"] == "No accreditation."
    assert fields["confirmed"] == "1"
    response = client.post(f"/manage/registrations/{first}/decision", data=fields)
    assert response.status_code == 303
    assert statuses(app, world["ids"]) == ["rejected", "pending", "pending", "pending"]


def test_waitlisting_asks_first_and_approving_does_not(app, client, auth, world):
    auth.organizer()
    first, second = world["ids"][:2]
    page = client.post(f"/manage/registrations/{first}/decision", data={"action": "waitlist"})
    assert page.status_code == 200
    assert "lose their seat" in consequences(page.get_data(as_text=True))
    assert statuses(app, [first]) == ["pending"]
    approved = client.post(f"/manage/registrations/{second}/decision",
                           data={"action": "approve"})
    assert approved.status_code == 303
    assert statuses(app, [second]) == ["confirmed"]


def test_bulk_with_nothing_selected_is_an_error_beside_the_control(app, client, auth, world):
    auth.organizer()
    before = counts(app)
    response = client.post(f"/manage/events/{world['event']}/registrations/bulk",
                           data={"action": "approve"})
    assert response.status_code == 303
    assert "bulk=none" in response.headers["Location"]
    assert response.headers["Location"].endswith("#bulk")
    page = parse(client.get(response.headers["Location"]).get_data(as_text=True))
    box = page.one(id="bulk")
    assert box.get("aria-describedby") == "bulk-error"
    assert "Nothing is selected" in box.one(id="bulk-error").text
    assert "0 registrations updated" not in page.text
    assert statuses(app, world["ids"]) == ["pending", "pending", "pending", "waitlisted"]
    assert counts(app)[1] == before[1]


def test_bulk_on_everything_matching_the_filter_shows_the_count_then_acts(
    app, client, auth, world
):
    auth.organizer()
    url = f"/manage/events/{world['event']}/registrations/bulk"
    page = client.post(url, data={"action": "approve", "scope": "filter", "status": "pending"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Approve 3 registrations?" in html
    assert statuses(app, world["ids"]) == ["pending", "pending", "pending", "waitlisted"]
    form = parse(html).one("form", action=url)
    data: dict[str, list[str]] = {}
    for name, value in browser_submission(form):
        data.setdefault(name, []).append(value)
    assert sorted(map(int, data["ids"])) == sorted(world["ids"][:3])
    done = client.post(url, data=data)
    assert done.status_code == 303
    assert "3 registrations updated." in client.get(done.headers["Location"]).get_data(
        as_text=True)
    assert statuses(app, world["ids"]) == ["confirmed", "confirmed", "confirmed", "waitlisted"]


def test_bulk_reject_of_the_page_is_confirmed_with_its_count(app, client, auth, world):
    auth.organizer()
    url = f"/manage/events/{world['event']}/registrations/bulk"
    roster = parse(client.get(f"/manage/events/{world['event']}/registrations").get_data(
        as_text=True))
    page_ids = [i.get("value") for i in roster.find_all("input", name="page_ids")]
    assert sorted(map(int, page_ids)) == sorted(world["ids"])
    assert roster.one(id="scope-filter") is not None
    page = client.post(url, data={"action": "reject", "scope": "page", "page_ids": page_ids})
    assert "Reject 4 registrations?" in page.get_data(as_text=True)
    assert statuses(app, world["ids"]) == ["pending", "pending", "pending", "waitlisted"]
    client.post(url, data={"action": "reject", "ids": page_ids, "confirmed": "1"})
    assert statuses(app, world["ids"]) == ["rejected"] * 4


def test_back_to_draft_states_who_loses_the_page_and_waits_for_confirmation(
    app, client, auth, world
):
    auth.organizer()
    event_id = world["event"]
    with app.app_context():
        slug = db.session.get(Event, event_id).slug
        queued = db.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.registration_id.in_(world["ids"]), OutboxMessage.status == "queued"))
    assert queued >= 4
    page = client.post(f"/manage/events/{event_id}/status", data={"status": "draft"})
    assert page.status_code == 200
    said = consequences(page.get_data(as_text=True))
    assert "4 registered people will no longer see the event page." in said
    assert f"{queued} emails about the event are still queued" in said
    assert client.get(f"/events/{slug}").status_code == 200
    with app.app_context():
        assert db.session.get(Event, event_id).status == EventStatus.PUBLISHED
    archive = client.post(f"/manage/events/{event_id}/status", data={"status": "archived"})
    assert "Registration closes" in consequences(archive.get_data(as_text=True))
    done = client.post(f"/manage/events/{event_id}/status",
                       data={"status": "draft", "confirmed": "1"})
    assert done.status_code == 303
    assert client.get(f"/events/{slug}").status_code == 404


def test_deactivating_a_staff_account_asks_first(app, client, auth):
    target = auth.create("kim@example.org")
    auth.admin()
    page = client.post(f"/manage/staff/{target.id}/active", data={"active": "0"})
    assert page.status_code == 200
    said = consequences(page.get_data(as_text=True))
    assert "can no longer sign in" in said and "1 event team" in said
    from nkhr_events.accounts.models import StaffUser

    with app.app_context():
        assert db.session.get(StaffUser, target.id).active
    client.post(f"/manage/staff/{target.id}/active", data={"active": "0", "confirmed": "1"})
    with app.app_context():
        assert not db.session.get(StaffUser, target.id).active


def test_the_person_page_starts_with_the_decision_and_sends_the_link_again(
    app, client, auth, world, smtp_server
):
    auth.organizer()
    first = world["ids"][0]
    deliver_and_read(app, smtp_server)  # the confirmation emails of registering
    html = client.get(f"/manage/registrations/{first}").get_data(as_text=True)
    assert parse(html).one("form", id="decision") is not None
    assert html.index('id="person-status"') < html.index('id="decision"') < html.index("<dl")
    response = client.post(f"/manage/registrations/{first}/resend-link")
    assert response.status_code == 303
    texts = deliver_and_read(app, smtp_server, "j0@example.org")
    link = re.search(r"https?://\S+/registration/\S+", texts[-1])
    assert link, texts[-1]
    path = "/" + link.group(0).split("/", 3)[3]
    client.post("/sign-out")
    assert "J0 Reporter" in client.get(path).get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "registration.link_resent")).one()
        assert entry.object_id == first


def test_no_link_is_sent_for_a_person_without_an_address(app, client, auth, world):
    auth.organizer()
    with app.app_context():
        registration = db.session.get(Registration, world["ids"][0])
        registration.status = "rejected"
        db.session.commit()
    response = client.post(f"/manage/registrations/{world['ids'][0]}/resend-link")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Only an active registration has a private link to send." in page
    assert 'id="resend-link"' not in page
