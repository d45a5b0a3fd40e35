"""The event dashboard: seats, statuses by category, reviews waiting, check-ins, activity."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from test_roster import build_roster

from nkhr_events.audit.services import Actor, record
from nkhr_events.extensions import db


@pytest.fixture
def roster(app: Flask) -> dict[str, int]:
    return build_roster(app)


def table_rows(page, caption: str) -> list[list[str]]:
    table = next(t for t in page.find_all("table") if caption in t.one("caption").text)
    return [
        [c.text for c in tr.find_all() if c.tag in ("th", "td")] for tr in table.find_all("tr")
    ]


def test_dashboard_shows_seats_counts_reviews_waitlist_and_checkins(
    client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    event_id = roster["event"]
    page = parse(client.get(f"/manage/events/{event_id}").get_data(as_text=True))
    text = page.text
    assert "4 taken, 0 left of 4" in text
    assert "1 registration to review" in text and "1 person waiting" in text
    review = next(a for a in page.find_all("a") if a.text == "1 registration to review")
    assert review.get("href") == f"/manage/events/{event_id}/registrations?status=pending"
    counts = table_rows(page, "by category and status")
    assert counts[0] == [
        "Category", "Awaiting review", "Confirmed", "Waitlisted", "Cancelled", "Rejected", "Total",
    ]
    assert ["Academic", "0", "1", "0", "0", "0", "1"] in counts
    assert ["Journalist", "1", "0", "0", "0", "0", "1"] in counts
    assert ["General public", "0", "2", "1", "0", "0", "3"] in counts
    assert counts[-1] == ["Total", "1", "3", "1", "0", "0", "5"]
    assert table_rows(page, "Checked in per day")[1:] == [
        ["Sun, May 3, 2099", "1"], ["Mon, May 4, 2099", "1"], ["Tue, May 5, 2099", "0"],
    ]


def test_dashboard_recent_activity_shows_action_and_actor_of_this_event_only(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    with app.app_context():
        for n in range(25):
            record(f"test.action{n}", event_id=roster["event"], actor=Actor("door@example.org"))
        record("test.other_event", event_id=roster["event"] + 1000, actor=Actor("x@example.org"))
        db.session.commit()
    auth.organizer()
    page = parse(client.get(f"/manage/events/{roster['event']}").get_data(as_text=True))
    items = [li.text for li in page.one("ol", class_="activity").find_all("li")]
    assert len(items) == 20
    assert "action24" in items[0] and "door@example.org" in items[0]
    assert "test.action24" not in items[0]  # a sentence, not the raw code
    assert not any("other_event" in i for i in items)


def test_dashboard_counts_change_after_a_check_in_and_an_approval(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    from nkhr_events.checkin.models import RegistrationCheckin

    auth.organizer()
    client.post(f"/manage/registrations/{roster['Jo']}/decision", data={"action": "approve"})
    with app.app_context():
        from test_roster import DAYS

        db.session.add(RegistrationCheckin(registration_id=roster["Eve"], day=DAYS[0]))
        db.session.commit()
    page = parse(client.get(f"/manage/events/{roster['event']}").get_data(as_text=True))
    assert "0 registrations to review" in page.text
    assert table_rows(page, "Checked in per day")[1] == ["Sun, May 3, 2099", "2"]
    assert table_rows(page, "by category and status")[-1] == [
        "Total", "0", "4", "1", "0", "0", "5",
    ]


def test_staff_home_and_event_form_link_to_the_dashboard(
    client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    href = f"/manage/events/{roster['event']}"
    home = parse(client.get("/manage/").get_data(as_text=True))
    assert home.find("a", href=href) is not None
    form = parse(client.get(f"{href}/edit").get_data(as_text=True))
    assert form.find("a", href=href) is not None
