"""The roster: each filter narrows it, sorting and paging, every view audited, a person's page
(notes, history, staff edit) and a message to a filtered group in each person's language."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from smtp import smtp_settings

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM, Actor, record
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.registrations.models import Registration
from tests.factories import make_event, make_registration

DAYS = [date(2099, 5, 3), date(2099, 5, 4), date(2099, 5, 5)]


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


def person(event: Event | int, given: str, family: str, **overrides: object) -> Registration:
    """`given` registers for the event from Great Britain (confirmed unless told)."""
    values: dict[str, object] = {
        "given_name": given,
        "family_name": family,
        "email": f"{given.lower()}@example.org",
        "country": "GB",
        "days": DAYS,
    }
    values.update(overrides)
    return make_registration(event=event, **values)


def build_roster(app: Flask) -> dict[str, int]:
    """Five people of one event (capacity 4): the fifth waits. Ada checked in on day 1 and
    Min-su on day 2. Returns the event id and each person's registration id by given name."""
    with app.app_context():
        event = make_event(capacity=4, days=DAYS, slug="seoul-2099")
        people = [
            person(event, "Ada", "Lovelace", publish_name=True, days=[DAYS[0]],
                   organization="Analytical"),
            person(
                event,
                "Minsu",
                "김",
                email="minsu@example.org",
                category="academic",
                country="KR",
                language="ko",
                photo_consent=True,
                days=DAYS[:2],
                answers={"institution": "서울대학교"},
                organization="서울대학교",
            ),
            person(
                event,
                "Jo",
                "Reporter",
                category="journalist",
                status="pending",
                country="US",
                answers={"media_outlet": "Daily", "media_role": "Editor"},
            ),
            person(
                event,
                "Eve",
                "Mallory",
                organization='=HYPERLINK("http://evil.example","click")',
                accessibility_needs="Step-free access",
                dietary_needs="Vegan",
                publish_name=True,
                photo_consent=True,
            ),
            person(event, "Wai", "Ting", country="CA", status="waitlisted"),
        ]
        ids = {r.given_name: r.id for r in people}
        db.session.add_all(
            [
                RegistrationCheckin(registration_id=ids["Ada"], day=DAYS[0]),
                RegistrationCheckin(registration_id=ids["Minsu"], day=DAYS[1]),
            ]
        )
        db.session.commit()
        return {"event": event.id, **ids}


@pytest.fixture
def roster(app: Flask) -> dict[str, int]:
    return build_roster(app)


def listed_names(client: FlaskClient, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    page = parse(response.get_data(as_text=True))
    table = page.find("table")
    if table is None:
        return []
    return [th.one("a").text for th in table.find_all("th", scope="row")]


def test_statuses_of_the_roster_fixture(app: Flask, roster: dict[str, int]) -> None:
    with app.app_context():
        statuses = {
            r.given_name: r.status for r in db.session.scalars(db.select(Registration))
        }
    assert statuses == {
        "Ada": "confirmed",
        "Minsu": "confirmed",
        "Jo": "pending",
        "Eve": "confirmed",
        "Wai": "waitlisted",
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"Ada Lovelace", "김 Minsu", "Jo Reporter", "Eve Mallory", "Wai Ting"}),
        ("status=pending", {"Jo Reporter"}),
        ("status=waitlisted", {"Wai Ting"}),
        ("category=academic", {"김 Minsu"}),
        ("category=journalist&status=confirmed", set()),
        ("country=kr", {"김 Minsu"}),
        ("country=GB", {"Ada Lovelace", "Eve Mallory"}),
        ("day=2099-05-04", {"김 Minsu", "Jo Reporter", "Eve Mallory", "Wai Ting"}),
        ("day=2099-05-05", {"Jo Reporter", "Eve Mallory", "Wai Ting"}),
        ("checkin=any", {"Ada Lovelace", "김 Minsu"}),
        ("checkin=2099-05-04", {"김 Minsu"}),
        ("checkin=not-2099-05-03", {"김 Minsu", "Jo Reporter", "Eve Mallory", "Wai Ting"}),
        ("checkin=none", {"Jo Reporter", "Eve Mallory", "Wai Ting"}),
        ("publish_name=yes", {"Ada Lovelace", "Eve Mallory"}),
        ("publish_name=no", {"김 Minsu", "Jo Reporter", "Wai Ting"}),
        ("photo=yes", {"김 Minsu", "Eve Mallory"}),
        ("photo=yes&publish_name=yes", {"Eve Mallory"}),
        ("q=LOVE", {"Ada Lovelace"}),
        ("q=서울", {"김 Minsu"}),
        ("q=jo@example", {"Jo Reporter"}),
        ("q=%25", set()),  # a literal percent sign, not a wildcard
        # Values that are not valid are ignored rather than failing the page.
        ("status=deleted&country=XYZ&day=1999-01-01&checkin=sometimes", None),
    ],
)
def test_each_filter_narrows_the_roster(
    client: FlaskClient, auth, roster: dict[str, int], query: str, expected: set[str] | None
) -> None:
    auth.organizer()
    names = listed_names(client, f"/manage/events/{roster['event']}/registrations?{query}")
    everyone = {"Ada Lovelace", "김 Minsu", "Jo Reporter", "Eve Mallory", "Wai Ting"}
    assert set(names) == (everyone if expected is None else expected)


def test_sorting_by_name_status_category_and_date_both_ways(
    client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    url = f"/manage/events/{roster['event']}/registrations"
    assert listed_names(client, f"{url}?sort=name") == [
        "Ada Lovelace", "Eve Mallory", "Jo Reporter", "Wai Ting", "김 Minsu",
    ]
    assert listed_names(client, f"{url}?sort=-name")[0] == "김 Minsu"
    assert listed_names(client, f"{url}?sort=registered") == [
        "Ada Lovelace", "김 Minsu", "Jo Reporter", "Eve Mallory", "Wai Ting",
    ]
    assert listed_names(client, f"{url}?sort=-registered")[0] == "Wai Ting"
    by_status = listed_names(client, f"{url}?sort=status")
    assert by_status[:3] == ["Ada Lovelace", "김 Minsu", "Eve Mallory"]  # confirmed first
    assert by_status[3:] == ["Jo Reporter", "Wai Ting"]  # then pending, waitlisted
    assert listed_names(client, f"{url}?sort=category")[0] == "김 Minsu"  # academic
    # A column that is not on the list falls back to the registration order.
    assert listed_names(client, f"{url}?sort=email_key") == listed_names(client, url)


def test_the_sort_link_of_the_current_column_reverses_it(
    client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    html = client.get(
        f"/manage/events/{roster['event']}/registrations?sort=name&country=GB"
    ).get_data(as_text=True)
    hrefs = [a.get("href") or "" for a in parse(html).find_all("a")]
    assert any("sort=-name" in h and "country=GB" in h for h in hrefs)


def test_pagination_walks_every_registration_once(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    with app.app_context():
        for n in range(55):
            person(roster["event"], f"P{n:02d}", "Extra", days=[], status="waitlisted")
        db.session.commit()
    auth.organizer()
    url = f"/manage/events/{roster['event']}/registrations?sort=name&country=GB"
    first = listed_names(client, url)
    assert len(first) == 50
    page = parse(client.get(url).get_data(as_text=True))
    pager = next(n for n in page.find_all("nav") if n.has_class("pager"))
    href = pager.one("a").get("href") or ""
    assert "page=2" in href and "country=GB" in href and "sort=name" in href
    second = listed_names(client, href)
    assert len(second) == 7  # Ada, Eve and 55 extras in Great Britain
    assert not set(first) & set(second)
    assert "Ada Lovelace" in first + second and "Eve Mallory" in first + second


def test_every_roster_view_is_audited_with_its_filters_and_no_names(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    client.get(
        f"/manage/events/{roster['event']}/registrations"
        "?status=confirmed&country=KR&q=Lovelace&photo=yes&sort=name"
    )
    client.get(f"/manage/events/{roster['event']}/registrations")
    with app.app_context():
        entries = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "roster.view").order_by(AuditEntry.id)
        ).all()
        assert [(e.object_type, e.object_id, e.event_id) for e in entries] == [
            ("event", roster["event"], roster["event"])
        ] * 2
        assert entries[0].detail == {
            "filters": {"status": "confirmed", "country": "KR", "photo": "yes", "search": True}
        }
        assert entries[1].detail == {"filters": {}}
        assert entries[0].actor == "organizer@example.org"
        assert "Lovelace" not in str(entries[0].detail)


def test_internal_notes_are_saved_and_audited_without_their_text(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    url = f"/manage/registrations/{roster['Jo']}"
    response = client.post(f"{url}/notes", data={"internal_notes": "  Called the editor. "})
    assert response.status_code == 303 and response.headers["Location"] == url
    page = client.get(url).get_data(as_text=True)
    assert "Called the editor.</textarea>" in page
    with app.app_context():
        assert db.session.get(Registration, roster["Jo"]).internal_notes == "Called the editor."
        entry = db.session.scalar(
            db.select(AuditEntry).where(AuditEntry.action == "registration.notes")
        )
        assert (entry.object_type, entry.object_id) == ("registration", roster["Jo"])
        assert entry.event_id == roster["event"]
        assert "Called" not in str(entry.detail)


def test_the_person_page_shows_the_status_history_from_the_audit_trail(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    with app.app_context():
        record(
            "registration.approve",
            object_type="registration",
            object_id=roster["Jo"],
            event_id=roster["event"],
            detail={"from": "pending", "to": "confirmed"},
            actor=Actor("reviewer@example.org"),
        )
        record("registration.approve", object_type="registration", object_id=roster["Ada"],
            actor=SYSTEM)
        db.session.commit()
    auth.organizer()
    page = parse(client.get(f"/manage/registrations/{roster['Jo']}").get_data(as_text=True))
    history = page.one("ol", class_="history-list")
    items = [li.text for li in history.find_all("li")]
    # Sentences with names, never the action's code.
    approvals = [i for i in items if " approved " in i]
    assert len(approvals) == 1  # not Ada's
    assert "reviewer@example.org approved" in approvals[0]
    assert "Awaiting review → Confirmed" in approvals[0]
    assert not any("registration.approve" in i for i in items)
    # The organizer's own look at the page is in the history too, in words.
    assert any("viewed" in i for i in items)


def test_staff_edit_changes_details_emails_a_summary_and_is_audited(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int], smtp_server
) -> None:
    auth.organizer()
    url = f"/manage/registrations/{roster['Ada']}/edit"
    form = parse(client.get(url).get_data(as_text=True))
    assert form.one("input", name="given_name").get("value") == "Ada"
    response = client.post(
        url,
        data={
            "given_name": "Augusta Ada",
            "family_name": "King",
            "badge_name": "Ada King",
            "organization": "Analytical Society",
            "position": "",
            "country": "GB",
            "language": "en",
            "days": ["2099-05-03", "2099-05-05"],
            "interpretation": "en_to_ko",
            "accessibility_needs": "",
            "dietary_needs": "No nuts",
            "publish_name": "",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        found = db.session.get(Registration, roster["Ada"])
        assert (found.full_name, found.badge_name, found.interpretation) == (
            "Augusta Ada King", "Ada King", "en_to_ko",
        )
        assert found.day_list == [DAYS[0], DAYS[2]]
        assert (found.publish_name, found.dietary_needs) == (False, "No nuts")
        entry = db.session.scalar(
            db.select(AuditEntry).where(AuditEntry.action == "registration.edit")
        )
        assert entry.object_id == roster["Ada"]
        assert set(entry.detail["fields"]) >= {
            "given_name", "family_name", "badge_name", "organization", "day_list",
            "interpretation", "dietary_needs", "publish_name",
        }
        assert "No nuts" not in str(entry.detail)
        deliver_due()
    summary = [m for m in smtp_server.messages if m["To"] == "ada@example.org"][-1]
    text = summary.get_body(("plain",)).get_content()
    assert "Augusta Ada" in text
    assert "The organizers have updated your registration details" in text
    assert "through your private link" not in text
    with app.app_context():
        # A staff edit is one entry, by the organizer; the attendee did nothing.
        actions = db.session.scalars(
            db.select(AuditEntry.action).where(AuditEntry.object_id == roster["Ada"])
        ).all()
        assert "registration.update" not in actions


def test_staff_edit_with_a_missing_name_keeps_the_values_and_changes_nothing(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    response = client.post(
        f"/manage/registrations/{roster['Ada']}/edit",
        data={"given_name": "", "family_name": "Typed", "language": "en", "interpretation": "none"},
    )
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert page.one("input", name="family_name").get("value") == "Typed"
    with app.app_context():
        assert db.session.get(Registration, roster["Ada"]).family_name == "Lovelace"


GROUP_TEXT = {
    "subject_en": "Venue change & <new> room",
    "body_en": "Dear all,\nwe meet in <b>Hall B</b> & not Hall A.",
    "subject_ko": "장소 변경 안내",
    "body_ko": "안녕하세요,\n B홀에서 만납니다.",
}


def test_group_message_asks_for_confirmation_with_the_count_then_reaches_each_person_in_their_language(  # noqa: E501
    app: Flask, client: FlaskClient, auth, roster: dict[str, int], smtp_server
) -> None:
    auth.organizer()
    url = f"/manage/events/{roster['event']}/registrations/message?status=confirmed"
    confirm = client.post(url, data={**GROUP_TEXT, "step": "confirm"})
    assert confirm.status_code == 200
    page = parse(confirm.get_data(as_text=True))
    assert "Send this message to 3 people?" in page.text
    # Two read English and one Korean; nobody Japanese, so no Japanese text is asked.
    assert [p.text for p in page.find_all("p", class_="hint")] == [
        "In English — 2 people", "In Korean — 1 person"]
    with app.app_context():
        deliver_due()
        queued = len(smtp_server.messages)
    sent = client.post(url, data={**GROUP_TEXT, "status": "confirmed", "step": "send"})
    assert sent.status_code == 303
    assert "status=confirmed" in sent.headers["Location"]
    with app.app_context():
        deliver_due()
    group = {m["To"]: m for m in smtp_server.messages[queued:]}
    assert set(group) == {"ada@example.org", "minsu@example.org", "eve@example.org"}
    english, korean = group["ada@example.org"], group["minsu@example.org"]
    assert english["Subject"] == "Venue change & <new> room"
    text = english.get_body(("plain",)).get_content()
    assert "we meet in <b>Hall B</b> & not Hall A." in text
    html = english.get_body(("html",)).get_content()
    assert "&lt;b&gt;Hall B&lt;/b&gt; &amp; not Hall A." in html and "<b>Hall B" not in html
    assert korean["Subject"] == "장소 변경 안내"
    assert "B홀에서 만납니다." in korean.get_body(("plain",)).get_content()
    assert "Hall B" not in korean.get_body(("plain",)).get_content()
    with app.app_context():
        entry = db.session.scalar(
            db.select(AuditEntry).where(AuditEntry.action == "roster.message")
        )
        assert entry.detail == {"filters": {"status": "confirmed"}, "count": 3}
        assert "Venue" not in str(entry.detail)


def test_group_message_needs_each_language_its_readers_read_and_sends_nothing_without_it(
    app: Flask, client: FlaskClient, auth, roster: dict[str, int]
) -> None:
    auth.organizer()
    url = f"/manage/events/{roster['event']}/registrations/message"
    response = client.post(
        url, data={"subject_en": "Hello", "body_en": "Text", "step": "send"}
    )
    assert response.status_code == 200
    page = parse(response.get_data(as_text=True))
    assert "Enter a subject in Korean." in page.text and "Enter the message in Korean." in page.text
    assert page.one("input", name="subject_en").get("value") == "Hello"
    assert page.find("input", name="subject_ja") is None  # nobody selected reads Japanese
    with app.app_context():
        assert db.session.scalar(
            db.select(AuditEntry).where(AuditEntry.action == "roster.message")
        ) is None
