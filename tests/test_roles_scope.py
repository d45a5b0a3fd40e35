"""Each staff page shows only what the signer's role allows: a reviewer sees the categories they
review (needs, notes and exports only when granted), the door sees the door, a partner liaison
sees partner applications, and an event organizer sees their own event, never another."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import AuthActions
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import parse

from nkhr_events.checkin import services as checkin
from nkhr_events.checkin.models import RegistrationCheckin
from nkhr_events.dbtypes import utcnow
from nkhr_events.extensions import db
from nkhr_events.partners import services as partners
from nkhr_events.registrations.models import Registration

NEEDS = "Needs a ramp at gate four"
DIET = "No sesame whatsoever"
NOTES = "Internal remark about the delegation"
#: The registrants' addresses (the door never sees one).
ADDRESSES = tuple(f"{key}@example.org" for key in (
    "presspending", "pressconfirmed", "govpending", "publicperson", "betapress", "betapublic"))


def seoul_today() -> date:
    return utcnow().astimezone(ZoneInfo("Asia/Seoul")).date()


def person(event_id: int, key: str, category: str, status: str, **overrides: object) -> int:
    """A registration with needs and an internal note, named after `key`."""
    values: dict[str, object] = {
        "given_name": key.capitalize(),
        "family_name": "Alliance",
        "email": f"{key}@example.org",
        "organization": f"{key.capitalize()} Org",
        "accessibility_needs": f"{NEEDS} ({key})",
        "dietary_needs": f"{DIET} ({key})",
        "interpretation": "ko_to_en",
        "photo_consent": True,
        **overrides,
    }
    registration = make_registration(
        event=event_id, category=category, status=status, **values
    )
    registration.internal_notes = f"{NOTES} ({key})"
    return registration.id


def apply_as_partner(event_id: int, name: str) -> int:
    from nkhr_events.audit.services import PARTNER
    from nkhr_events.events.models import Event

    event = db.session.get(Event, event_id)
    return partners.submit_application(
        event,
        partners.ApplicationInput(
            organization_name=name, organization_type="company", country="KR", website=None,
            contact_name="Contact Person", contact_role=None,
            contact_email=f"{partners.partner_name_key(name)}@example.org", contact_phone=None,
            role="sponsor", sponsor_tier="principal", contribution="Funding", offers=[],
            language="en",
        ),
        None,
        actor=PARTNER,
    ).id


@pytest.fixture
def world(app: Flask) -> dict[str, int]:
    """Event A, held today and tomorrow (Seoul), and event B, later; registrations of several
    categories in each, and a partner application to each."""
    with app.app_context():
        today = seoul_today()
        # The door open all day: a check-in today is taken whatever the hour of the run.
        a = make_event(title="Alpha Forum", days=[today, today + timedelta(days=1)],
                       door_opens_at=time(0)).id
        b = make_event(title="Beta Forum").id
        ids = {
            "a": a,
            "b": b,
            "press_pending": person(a, "presspending", "journalist", "pending"),
            "press_confirmed": person(a, "pressconfirmed", "journalist", "confirmed"),
            "gov": person(a, "govpending", "government", "pending"),
            "public": person(a, "publicperson", "general_public", "confirmed",
                             photo_consent=False),
            "b_press": person(b, "betapress", "journalist", "pending"),
            "b_public": person(b, "betapublic", "general_public", "confirmed"),
            "partner_a": apply_as_partner(a, "Alpha Sponsor"),
            "partner_b": apply_as_partner(b, "Beta Sponsor"),
        }
        db.session.commit()
        return ids


def text(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def roster_names(html: str) -> set[str]:
    table = parse(html).one("table")
    return {row.find("th").find("a").text.split()[0] for row in table.find("tbody").find_all("tr")}


def status_of(app: Flask, registration_id: int) -> str:
    with app.app_context():
        return str(db.session.get(Registration, registration_id).status)


# --- reviewer ---------------------------------------------------------------------------------


def test_a_reviewer_sees_only_their_categories_without_needs_notes_or_exports(
    client: FlaskClient, auth: AuthActions, world: dict[str, int]
) -> None:
    auth.member(world["a"], "reviewer", categories="journalist")
    a = world["a"]

    roster = text(client, f"/manage/events/{a}/registrations")
    assert roster_names(roster) == {"Presspending", "Pressconfirmed"}
    for absent in ("govpending", "publicperson", "betapress", NEEDS, DIET, NOTES,
                   "Export these registrations", "/badges", "/sign-in-sheet",
                   "/registrations/message", "/registrations/flood", "/categories"):
        assert absent not in roster, absent
    options = parse(roster).one("select", id="filter-category").find_all("option")
    assert [o.get("value") for o in options] == ["", "journalist"]
    # A filter for a category they do not review selects nobody.
    assert "Govpending" not in text(client, f"/manage/events/{a}/registrations?category=government")

    dashboard = text(client, f"/manage/events/{a}")
    rows = parse(dashboard).one("table", **{"class": "counts"}).find("tbody").find_all("tr")
    assert [r.find("th").text for r in rows] == ["Journalist"]
    assert "/badges" not in dashboard and "govpending" not in dashboard

    page = text(client, f"/manage/registrations/{world['press_pending']}")
    assert "presspending@example.org" in page
    for absent in (NEEDS, DIET, NOTES, "Internal notes", "data.json", "/edit"):
        assert absent not in page, absent
    assert parse(page).find("button", value="approve") is not None

    home = text(client, "/manage/")
    assert "Alpha Forum" in home and "Beta Forum" not in home
    assert "New event" not in home and "Outbox" not in home
    # The counts on the home page are those of the categories they review.
    assert "0 confirmed, 1 to review" in home or "1 confirmed, 1 to review" in home
    assert "2 to review" not in home


def test_a_reviewer_decides_within_their_categories_only(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, int]
) -> None:
    auth.member(world["a"], "reviewer", categories="journalist")
    response = client.post(f"/manage/registrations/{world['press_pending']}/decision",
                           data={"action": "approve"})
    assert response.status_code == 303
    assert status_of(app, world["press_pending"]) == "confirmed"

    assert client.post(f"/manage/registrations/{world['gov']}/decision",
                       data={"action": "approve"}).status_code == 404
    assert status_of(app, world["gov"]) == "pending"

    # A bulk decision that slips in ids outside their scope decides only those within it.
    with app.app_context():
        db.session.get(Registration, world["press_confirmed"])
    response = client.post(
        f"/manage/events/{world['a']}/registrations/bulk",
        data={"action": "waitlist", "confirmed": "1",
              "ids": [world["press_confirmed"], world["gov"], world["public"], world["b_press"]]},
        follow_redirects=True,
    )
    assert "1 registration updated." in response.get_data(as_text=True)
    assert status_of(app, world["press_confirmed"]) == "waitlisted"
    assert status_of(app, world["gov"]) == "pending"
    assert status_of(app, world["public"]) == "confirmed"
    assert status_of(app, world["b_press"]) == "pending"


def test_a_reviewer_gets_404_outside_their_scope(
    client: FlaskClient, auth: AuthActions, world: dict[str, int]
) -> None:
    auth.member(world["a"], "reviewer", categories="journalist")
    a, b = world["a"], world["b"]
    for url in (
        f"/manage/registrations/{world['gov']}",
        f"/manage/registrations/{world['public']}",
        f"/manage/registrations/{world['b_press']}",
        f"/manage/registrations/{world['press_pending']}/data.json",
        f"/manage/events/{b}",
        f"/manage/events/{b}/registrations",
        f"/manage/events/{a}/registrations/export?format=csv",
        f"/manage/events/{a}/badges",
        f"/manage/events/{a}/door",
        f"/manage/events/{a}/edit",
        f"/manage/partners/{world['partner_a']}",
    ):
        assert client.get(url).status_code == 404, url


def test_granted_needs_and_exports_appear_for_a_reviewer(
    client: FlaskClient, auth: AuthActions, world: dict[str, int]
) -> None:
    auth.member(world["a"], "reviewer", categories="journalist", sees_needs=True,
                can_export=True)
    a = world["a"]
    page = text(client, f"/manage/registrations/{world['press_pending']}")
    assert f"{NEEDS} (presspending)" in page and f"{NOTES} (presspending)" in page
    assert "data.json" in page

    roster = text(client, f"/manage/events/{a}/registrations")
    assert "Export these registrations" in roster and 'value="accessibility_needs"' in roster

    export = client.get(f"/manage/events/{a}/registrations/export?format=csv"
                        "&columns=name&columns=accessibility_needs")
    body = export.get_data(as_text=True)
    assert export.status_code == 200
    assert f"{NEEDS} (presspending)" in body and f"{NEEDS} (pressconfirmed)" in body
    assert "Govpending" not in body and "Publicperson" not in body and "Betapress" not in body

    badges = text(client, f"/manage/events/{a}/badges")
    assert "Pressconfirmed" in badges and "Publicperson" not in badges


def test_an_export_without_needs_leaves_the_needs_columns_out(
    client: FlaskClient, auth: AuthActions, world: dict[str, int]
) -> None:
    auth.member(world["a"], "reviewer", categories="journalist", can_export=True)
    a = world["a"]
    roster = text(client, f"/manage/events/{a}/registrations")
    assert "Export these registrations" in roster
    assert 'value="accessibility_needs"' not in roster and 'value="dietary_needs"' not in roster
    body = client.get(f"/manage/events/{a}/registrations/export?format=csv"
                      "&columns=name&columns=accessibility_needs&columns=dietary_needs"
                      ).get_data(as_text=True)
    assert "Pressconfirmed" in body and "Govpending" not in body
    assert NEEDS not in body and DIET not in body and "Accessibility needs" not in body
    # The person's data file holds needs and notes: not for them.
    assert client.get(
        f"/manage/registrations/{world['press_pending']}/data.json").status_code == 404
    assert "data.json" not in text(client, f"/manage/registrations/{world['press_pending']}")


# --- door -------------------------------------------------------------------------------------


def test_a_door_account_lands_on_the_door_page_with_only_what_the_door_needs(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, int]
) -> None:
    auth.member(world["a"], "door")
    a = world["a"]
    home = client.get("/manage/")
    assert home.status_code == 302
    assert home.headers["Location"].endswith(f"/manage/events/{a}/door")

    door = text(client, f"/manage/events/{a}/door?q=Alliance")
    results = parse(door).one("ul", id="door-results")
    names = {card.find("h3").text.split()[0] for card in results.find_all("li")}
    assert names == {"Presspending", "Pressconfirmed", "Govpending", "Publicperson"}
    assert "Pressconfirmed Org" in door and "Journalist" in door
    # The photo marker is beside the one who said no to photos.
    public_row = next(card for card in results.find_all("li")
                      if "Publicperson" in card.find("h3").text)
    assert "No photos" in public_row.text
    assert door.count("No photos") == 1 and door.count("Agreed to photos") == 3
    for absent in (*ADDRESSES, NEEDS, DIET, NOTES, "Korean into English",
                   "/manage/registrations/", "/registrations", "Beta Forum", "/edit"):
        assert absent not in door, absent

    with app.app_context():
        reference = checkin.checkin_reference(db.session.get(Registration,
                                                             world["press_confirmed"]))
    page = text(client, f"/manage/checkin/{reference}")
    assert parse(page).one("h1").text == "Pressconfirmed Alliance"
    for absent in (*ADDRESSES, NEEDS, DIET, NOTES, "Interpretation",
                   "/manage/registrations/", "Full registration"):
        assert absent not in page, absent
    response = client.post(f"/manage/checkin/{reference}",
                           data={"action": "checkin", "day": seoul_today().isoformat()})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(RegistrationCheckin.day).where(
            RegistrationCheckin.registration_id == world["press_confirmed"])) == seoul_today()


def test_a_door_account_gets_404_beyond_the_door(
    app: Flask, client: FlaskClient, auth: AuthActions, world: dict[str, int]
) -> None:
    auth.member(world["a"], "door")
    a, b = world["a"], world["b"]
    with app.app_context():
        other = checkin.checkin_reference(db.session.get(Registration, world["b_public"]))
    for url in (
        f"/manage/events/{a}",
        f"/manage/events/{a}/registrations",
        f"/manage/events/{a}/registrations/export?format=csv",
        f"/manage/events/{a}/badges",
        f"/manage/events/{a}/sign-in-sheet",
        f"/manage/events/{a}/edit",
        f"/manage/registrations/{world['press_confirmed']}",
        f"/manage/registrations/{world['press_confirmed']}/data.json",
        f"/manage/events/{b}/door",
        f"/manage/checkin/{other}",
        f"/manage/partners/{world['partner_a']}",
    ):
        assert client.get(url).status_code == 404, url


def test_a_door_account_without_a_current_event_sees_the_list(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    with app.app_context():
        past = make_event(title="Gone Forum", days=[seoul_today() - timedelta(days=30)]).id
        db.session.commit()
    auth.member(past, "door")
    home = text(client, "/manage/")
    assert "Gone Forum" in home
    links = [a.get("href") for a in parse(home).one("table").find_all("a")]
    assert links == [f"/manage/events/{past}/door"]


# --- partner liaison --------------------------------------------------------------------------


def test_a_liaison_sees_their_event_partner_applications_only(
    client: FlaskClient, auth: AuthActions, world: dict[str, int]
) -> None:
    auth.member(world["a"], "liaison")
    listing = text(client, "/manage/partners")
    assert "Alpha Sponsor" in listing and "Beta Sponsor" not in listing
    assert "Alpha Sponsor" in text(client, f"/manage/partners/{world['partner_a']}")
    home = text(client, "/manage/")
    assert "Alpha Forum" in home and "Beta Forum" not in home
    assert "Partner applications" in home and "Outbox" not in home and "Dashboard" not in home
    for url in (
        f"/manage/partners/{world['partner_b']}",
        f"/manage/events/{world['b']}/sponsor-tiers",
        f"/manage/events/{world['a']}",
        f"/manage/events/{world['a']}/registrations",
        f"/manage/events/{world['a']}/door",
        f"/manage/registrations/{world['press_pending']}",
    ):
        assert client.get(url).status_code == 404, url


# --- event organizer --------------------------------------------------------------------------


def test_an_event_organizer_sees_only_their_event_on_the_home_page_and_in_the_outbox(
    client: FlaskClient, auth: AuthActions, world: dict[str, int]
) -> None:
    auth.member(world["a"], "organizer")
    home = text(client, "/manage/")
    assert "Alpha Forum" in home and "Beta Forum" not in home
    assert "Outbox" in home and "New event" not in home and "Audit trail" not in home
    outbox = text(client, "/manage/outbox/")
    assert "presspending@example.org" in outbox and "govpending@example.org" in outbox
    assert "betapress@example.org" not in outbox and "betapublic@example.org" not in outbox
    # Everything of their own event is offered, with the needs.
    edit = text(client, f"/manage/events/{world['a']}/edit")
    links = {a.text for a in parse(edit).one("p", id="event-links").find_all("a")}
    assert links == {"Dashboard", "Registrations", "Category settings", "Check-in at the door",
                     "Partner applications", "Team", "Programme", "Edition archive"}
    page = text(client, f"/manage/registrations/{world['gov']}")
    assert f"{NEEDS} (govpending)" in page and f"{NOTES} (govpending)" in page
    assert client.get(f"/manage/events/{world['b']}/registrations").status_code == 404
