"""Every edit form in the product, staff and public, opened and sent back unchanged the way a
browser sends it, changes nothing: no row, no email, no audit entry (DESIGN.md, invariant 7).

Each form is read from its page like a browser reads it (ticked boxes, chosen radios and
options, text as shown), on one-day and multi-day events, with Korean and Japanese names, in
English and Korean. Then the edited record's forms are checked the other way round: a real
change is saved, and a multi-day registration keeps the days nobody touched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from factories import make_event
from flask import Flask
from flask.testing import FlaskClient
from markup import Element, browser_submission, parse
from werkzeug.datastructures import MultiDict

from nkhr_events.audit.services import ATTENDEE, PARTNER, SYSTEM
from nkhr_events.dbtypes import utcnow
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.partners import services as partner_services
from nkhr_events.registrations import links, services
from nkhr_events.registrations.models import Registration
from nkhr_events.registrations.services import RegistrationInput
from nkhr_events.web import LANGUAGE_COOKIE


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for table in db.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows = db.session.execute(db.select(table).order_by(*order)).all()
        tables[table.name] = [tuple(row) for row in rows]
    return tables


def differences(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> dict[str, Any]:
    return {
        name: {"before": [r for r in before[name] if r not in after[name]],
               "after": [r for r in after[name] if r not in before[name]]}
        for name in before
        if before[name] != after[name]
    }


def the_form(page: Element, has_field: str) -> Element:
    forms = [
        f for f in page.find_all("form")
        if (f.get("method") or "").lower() == "post" and f.find(name=has_field) is not None
    ]
    assert len(forms) == 1, f"expected one form with {has_field!r}, found {len(forms)}"
    return forms[0]


def send_back_unchanged(app: Flask, client: FlaskClient, url: str, has_field: str) -> str:
    """Open `url`, send its form back as shown; fail if anything in the database changed."""
    opened = client.get(url)
    assert opened.status_code == 200, url
    form = the_form(parse(opened.get_data(as_text=True)), has_field)
    with app.app_context():
        before = snapshot()
    action = form.get("action") or url
    answer = client.post(action, data=MultiDict(browser_submission(form)))
    assert answer.status_code in (200, 303), (url, answer.status_code)
    if answer.status_code == 200:
        body = parse(answer.get_data(as_text=True))
        errors = [e.text for e in body.find_all("p", class_="error-message")]
        assert not errors, (url, errors)
    with app.app_context():
        after = snapshot()
    assert differences(before, after) == {}, (url, repr(differences(before, after)))
    return answer.get_data(as_text=True) if answer.status_code == 200 else answer.location


def registrant(
    event: Event, n: int, *, language: str, days: list[Any] | None = None, **overrides: Any
) -> RegistrationInput:
    values: dict[str, Any] = {
        "category": "journalist",
        "given_name": "지은",
        "family_name": "김",
        "email": f"person{n}@example.org",
        "privacy_consent": True,
        "organization": "Daily NK",
        "position": "Reporter",
        "country": "KR",
        "language": language,
        "interpretation": "ko_to_en",
        "accessibility_needs": "Step-free access",
        "dietary_needs": "Vegetarian",
        "publish_name": True,
        "photo_consent": False,
        "days": days if days is not None else event.day_list,
        "answers": {"media_outlet": "Daily NK", "media_role": "Reporter", "press_card": "P-1"},
    }
    values.update(overrides)
    return RegistrationInput(**values)


@pytest.fixture
def site(app: Flask) -> dict[str, Any]:
    """A one-day and a three-day event, each with a confirmed registration whose private link
    is known; on the three-day event the person attends the first and the last day only."""
    with app.app_context():
        first = utcnow().date() + timedelta(days=40)
        # As staff set them: to the minute.
        now = utcnow().replace(second=0, microsecond=0)
        window = {"registration_opens_at": now - timedelta(days=1),
                  "registration_closes_at": now + timedelta(days=30)}
        one_day = make_event(days=[first], title="One-day Forum", title_ko="하루 포럼", **window)
        three_days = make_event(
            days=[first + timedelta(days=i) for i in range(3)],
            title="Three-day Conference", title_ko="사흘 회의", **window,
        )
        people = {}
        for n, (event, language, days, names) in enumerate([
            (one_day, "en", None, {}),
            (three_days, "ko", [first, first + timedelta(days=2)], {}),
            (three_days, "en", [first + timedelta(days=1)],
             {"given_name": "花子", "family_name": "山田", "country": "JP"}),
        ]):
            result = services.register_attendee(
                event.id, registrant(event, n, language=language, days=days, **names),
                actor=ATTENDEE,
            )
            registration = result.registration
            people[n] = {"id": registration.id, "token": links.issue_manage_token(registration)}
        partnership = partner_services.submit_application(
            three_days,
            partner_services.ApplicationInput(
                organization_name="Seoul Peace Foundation", organization_type="foundation",
                country="KR", website="https://peace.example", contact_name="박민수",
                contact_role=None, contact_email="contact@peace.example", contact_phone=None,
                role="sponsor", sponsor_tier="principal", contribution="Funding", offers=[],
                language="ko",
            ),
            None,
            actor=PARTNER,
        )
        partner_services.approve(partnership, actor=SYSTEM)
        db.session.commit()
        return {
            "one_day": one_day.id,
            "three_days": three_days.id,
            "people": people,
            "partnership": partnership.id,
        }


@pytest.fixture(params=["en", "ko", "ja"])
def language(request: pytest.FixtureRequest, client: FlaskClient) -> str:
    client.set_cookie(LANGUAGE_COOKIE, request.param)
    return request.param


@pytest.mark.parametrize("person", [0, 1, 2], ids=["one-day", "multi-day", "one-of-three"])
def test_the_private_manage_page_sent_back_unchanged_changes_nothing(
    app: Flask, client: FlaskClient, site: dict[str, Any], language: str, person: int
) -> None:
    token = site["people"][person]["token"]
    send_back_unchanged(app, client, f"/registration/{token}", "given_name")


STAFF_FORMS: dict[str, tuple[Callable[[dict[str, Any]], str], str]] = {
    "registration edit, one day": (
        lambda s: f"/manage/registrations/{s['people'][0]['id']}/edit", "given_name"),
    "registration edit, two of three days": (
        lambda s: f"/manage/registrations/{s['people'][1]['id']}/edit", "given_name"),
    "registration edit, one of three days": (
        lambda s: f"/manage/registrations/{s['people'][2]['id']}/edit", "given_name"),
    "internal notes": (
        lambda s: f"/manage/registrations/{s['people'][1]['id']}", "internal_notes"),
    "event, one day": (lambda s: f"/manage/events/{s['one_day']}/edit", "title"),
    "event, three days": (lambda s: f"/manage/events/{s['three_days']}/edit", "title"),
    "category settings": (
        lambda s: f"/manage/events/{s['three_days']}/categories", "journalist-seat_cap"),
    "sponsor tiers": (lambda s: f"/manage/events/{s['three_days']}/sponsor-tiers", "tiers"),
    "partner placement": (
        lambda s: f"/manage/partners/{s['partnership']}", "display_order"),
    "partner details": (lambda s: f"/manage/partners/{s['partnership']}", "website"),
}


@pytest.mark.parametrize("name", list(STAFF_FORMS))
def test_every_staff_edit_form_sent_back_unchanged_changes_nothing(
    app: Flask, client: FlaskClient, auth: Any, site: dict[str, Any], language: str, name: str
) -> None:
    auth.organizer()
    url, field = STAFF_FORMS[name]
    send_back_unchanged(app, client, url(site), field)


def days_of(app: Flask, registration_id: int) -> list[str]:
    with app.app_context():
        found = db.session.get(Registration, registration_id)
        return [d.isoformat() for d in found.day_list]


def test_a_multi_day_registration_shows_its_days_and_a_change_keeps_the_untouched_ones(
    app: Flask, client: FlaskClient, site: dict[str, Any]
) -> None:
    person = site["people"][1]
    kept = days_of(app, person["id"])
    assert len(kept) == 2
    page = parse(client.get(f"/registration/{person['token']}").get_data(as_text=True))
    form = the_form(page, "given_name")
    ticked = [b.get("value") for b in form.find_all("input", name="days") if "checked" in b.attrs]
    assert ticked == kept
    data = browser_submission(form)
    data = [(k, "Daily NK Seoul" if k == "organization" else v) for k, v in data]
    answer = client.post(f"/registration/{person['token']}", data=MultiDict(data))
    assert answer.status_code == 303
    assert days_of(app, person["id"]) == kept
    with app.app_context():
        found = db.session.get(Registration, person["id"])
        assert found.organization == "Daily NK Seoul"
        changed = db.session.scalars(
            db.select(OutboxMessage).where(OutboxMessage.registration_id == person["id"])
            .order_by(OutboxMessage.id.desc())
        ).first()
    assert changed is not None and changed.template == "registration_changed"


def test_staff_edit_of_a_multi_day_registration_keeps_its_days(
    app: Flask, client: FlaskClient, auth: Any, site: dict[str, Any]
) -> None:
    auth.organizer()
    person = site["people"][1]
    kept = days_of(app, person["id"])
    url = f"/manage/registrations/{person['id']}/edit"
    form = the_form(parse(client.get(url).get_data(as_text=True)), "given_name")
    data = [(k, "Editor" if k == "position" else v) for k, v in browser_submission(form)]
    assert client.post(url, data=MultiDict(data)).status_code == 303
    assert days_of(app, person["id"]) == kept
    with app.app_context():
        assert db.session.get(Registration, person["id"]).position == "Editor"
