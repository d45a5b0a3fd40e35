"""The participant list (off by default; public or through a confirmed registrant's link; per
category) and "do not publish or photograph me" on the form, badges, sign-in sheets and exports."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Flask
from flask.testing import FlaskClient

from nkhr_events.audit.models import AuditEntry
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.registrations import links
from nkhr_events.registrations.models import Registration
from tests.factories import make_event, make_registration

DAYS = [date(2099, 6, 1)]
EVERYONE = {
    "Ada Listed",
    "Bo Unlisted",
    "Cy Pending",
    "Di Waitlisted",
    "Ed Cancelled",
    "Fay Protected",
    "Gil Academic",
}


def person(event: Event, given: str, family: str, **overrides: object) -> Registration:
    """`given` registers for the event, opted in to the list (confirmed unless told)."""
    values: dict[str, object] = {
        "given_name": given,
        "family_name": family,
        "email": f"{given.lower()}@example.org",
        "organization": f"{given} Org",
        "publish_name": True,
        "days": DAYS,
    }
    values.update(overrides)
    return make_registration(event=event, **values)


def build(app: Flask, participant_list: str = "public", by_category: bool = False) -> dict:
    """Seven people with capacity 5: Ada, Bo, Fay and Gil confirmed (Bo not opted in, Fay
    protected, Gil an academic); Ed cancelled; Cy pending (journalists are reviewed); Di
    waitlisted. Everyone opted in to the list but Bo. Returns the slug, the event id, a manage
    token and the status by given name."""
    with app.app_context():
        event = make_event(capacity=5, days=DAYS, slug="list-2099")
        event.participant_list = participant_list
        event.participant_list_by_category = by_category
        people = [
            person(event, "Ada", "Listed"),
            person(event, "Bo", "Unlisted", publish_name=False),
            person(event, "Fay", "Protected", do_not_publish=True),
            person(event, "Ed", "Cancelled", status="cancelled"),
            person(event, "Gil", "Academic", category="academic", answers={"institution": "Uni"}),
            person(
                event,
                "Cy",
                "Pending",
                category="journalist",
                status="pending",
                answers={"media_outlet": "Daily", "media_role": "Editor"},
            ),
            person(event, "Di", "Waitlisted", status="waitlisted"),
        ]
        found = {r.given_name: r for r in people}
        tokens = {name: links.issue_manage_token(r) for name, r in found.items()}
        db.session.commit()
        statuses = {r.given_name: r.status for r in found.values()}
        return {"slug": event.slug, "id": event.id, "tokens": tokens, "statuses": statuses}


def names_on(client: FlaskClient, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    text = response.get_data(as_text=True)
    return {name for name in EVERYONE if name in text}


def test_the_fixture_has_the_statuses_the_list_tests_rely_on(app: Flask) -> None:
    built = build(app)
    assert built["statuses"] == {
        "Ada": "confirmed",
        "Bo": "confirmed",
        "Fay": "confirmed",
        "Ed": "cancelled",
        "Gil": "confirmed",
        "Di": "waitlisted",
        "Cy": "pending",
    }


def test_public_list_shows_only_confirmed_opted_in_unprotected_people(
    app: Flask, client: FlaskClient
) -> None:
    built = build(app)
    url = f"/events/{built['slug']}/participants"
    assert names_on(client, url) == {"Ada Listed", "Gil Academic"}
    text = client.get(url).get_data(as_text=True)
    assert "Ada Org" in text
    assert "ada@example.org" not in text and "Fay Org" not in text
    assert url in client.get(f"/events/{built['slug']}").get_data(as_text=True)


def test_list_is_off_by_default_and_answers_404(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        event = make_event(days=DAYS)
        db.session.commit()
        assert event.participant_list == "off"
        slug = event.slug
    assert client.get(f"/events/{slug}/participants").status_code == 404
    assert "/participants" not in client.get(f"/events/{slug}").get_data(as_text=True)


def test_off_list_is_hidden_from_participants_too(app: Flask, client: FlaskClient) -> None:
    built = build(app, participant_list="off")
    assert client.get(f"/events/{built['slug']}/participants").status_code == 404
    token = built["tokens"]["Ada"]
    assert client.get(f"/registration/{token}/participants").status_code == 404


def test_participants_only_list_is_reached_through_a_confirmed_link(
    app: Flask, client: FlaskClient
) -> None:
    built = build(app, participant_list="participants")
    assert client.get(f"/events/{built['slug']}/participants").status_code == 404
    ada = built["tokens"]["Ada"]
    assert names_on(client, f"/registration/{ada}/participants") == {
        "Ada Listed",
        "Gil Academic",
    }
    manage_page = client.get(f"/registration/{ada}").get_data(as_text=True)
    assert f"/registration/{ada}/participants" in manage_page
    # Someone not listed themself but confirmed still sees the list.
    assert client.get(f"/registration/{built['tokens']['Bo']}/participants").status_code == 200
    for name in ("Cy", "Di", "Ed"):
        token = built["tokens"][name]
        assert client.get(f"/registration/{token}/participants").status_code == 404, name
    assert client.get("/registration/" + "x" * 43 + "/participants").status_code == 404


def test_by_category_a_participant_sees_only_their_own_category(
    app: Flask, client: FlaskClient
) -> None:
    built = build(app, participant_list="participants", by_category=True)
    ada, gil = built["tokens"]["Ada"], built["tokens"]["Gil"]
    assert names_on(client, f"/registration/{ada}/participants") == {"Ada Listed"}
    assert names_on(client, f"/registration/{gil}/participants") == {"Gil Academic"}


def test_do_not_publish_is_a_choice_on_the_form_and_the_manage_page(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        event = make_event(days=DAYS)
        db.session.commit()
        slug = event.slug
    form = {
        "given_name": "Min-ji",
        "family_name": "Kim",
        "email": "minji@example.org",
        "country": "KR",
        "language": "en",
        "interpretation": "none",
        "privacy_consent": "y",
        "publish_name": "y",
        "do_not_publish": "y",
    }
    page = client.get(f"/events/{slug}/register?category=general_public")
    assert "Do not publish or photograph me" in page.get_data(as_text=True)
    response = client.post(f"/events/{slug}/register?category=general_public", data=form)
    assert response.status_code == 303
    with app.app_context():
        registration = db.session.scalar(db.select(Registration))
        assert registration.do_not_publish is True
        token = links.issue_manage_token(registration)
        db.session.commit()
    form.pop("email")
    form.pop("privacy_consent")
    form.pop("do_not_publish")
    assert client.post(f"/registration/{token}", data=form).status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(Registration)).do_not_publish is False


def test_staff_see_and_set_the_flag_and_the_change_is_audited(
    app: Flask, client: FlaskClient, auth
) -> None:
    built = build(app)
    auth.organizer()
    with app.app_context():
        ada = db.session.scalar(db.select(Registration).where(Registration.given_name == "Ada"))
        ada_id = ada.id
    page = client.get(f"/manage/registrations/{ada_id}")
    assert "Do not publish or photograph me" in page.get_data(as_text=True)
    form = {
        "given_name": "Ada",
        "family_name": "Listed",
        "language": "en",
        "interpretation": "none",
        "publish_name": "y",
        "do_not_publish": "y",
    }
    response = client.post(f"/manage/registrations/{ada_id}/edit", data=form)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Registration, ada_id).do_not_publish is True
        entry = db.session.scalar(
            db.select(AuditEntry).where(AuditEntry.action == "registration.edit")
        )
        assert "do_not_publish" in entry.detail["fields"]
    assert names_on(client, f"/events/{built['slug']}/participants") == {"Gil Academic"}


def export_rows(client: FlaskClient, event_id: int, extra: str = "") -> dict[str, list[str]]:
    response = client.get(
        f"/manage/events/{event_id}/registrations/export?format=csv&status=confirmed"
        "&columns=name&columns=email&columns=organization&columns=category" + extra
    )
    assert response.status_code == 200
    reader = csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    next(reader)
    return {row[0]: row for row in reader}


def test_export_masks_protected_people(app: Flask, client: FlaskClient, auth) -> None:
    built = build(app)
    auth.organizer()
    rows = export_rows(client, built["id"], "&include_protected=1")
    assert set(rows) == {"Ada Listed", "Bo Unlisted", "Gil Academic", "(protected)"}
    assert rows["(protected)"][1:3] == ["(protected)", "(protected)"]
    text = str(rows)
    assert "Fay" not in text and "fay@example.org" not in text
    with app.app_context():
        assert (
            db.session.scalar(
                db.select(AuditEntry).where(AuditEntry.action == "roster.export_protected")
            )
            is None
        )


def test_admin_may_include_protected_people_and_it_is_audited(
    app: Flask, client: FlaskClient, auth
) -> None:
    built = build(app)
    auth.admin()
    assert "(protected)" in export_rows(client, built["id"])
    with app.app_context():
        assert (
            db.session.scalar(
                db.select(AuditEntry).where(AuditEntry.action == "roster.export_protected")
            )
            is None
        )
    rows = export_rows(client, built["id"], "&include_protected=1")
    assert rows["Fay Protected"][1:3] == ["fay@example.org", "Fay Org"]
    with app.app_context():
        entry = db.session.scalar(
            db.select(AuditEntry).where(AuditEntry.action == "roster.export_protected")
        )
        assert entry is not None and entry.event_id == built["id"]


def test_badges_and_sign_in_sheet_show_a_protected_person_by_given_name_only(
    app: Flask, client: FlaskClient, auth
) -> None:
    built = build(app)
    auth.organizer()
    for page in ("badges", "sign-in-sheet"):
        text = client.get(f"/manage/events/{built['id']}/{page}").get_data(as_text=True)
        assert "Fay" in text, page
        assert "Protected" not in text and "Fay Org" not in text, page
        assert "Listed" in text and "Ada Org" in text, page


def test_event_form_sets_the_participant_list(app: Flask, client: FlaskClient, auth) -> None:
    with app.app_context():
        event = make_event(days=DAYS)
        db.session.commit()
        event_id, series_id, slug = event.id, event.series_id, event.slug
    auth.organizer()
    page = client.get(f"/manage/events/{event_id}/edit").get_data(as_text=True)
    assert 'name="participant_list"' in page
    form = {
        "series_id": series_id,
        "languages": ["en", "ko"],
        "title": "Listed Conference",
        "slug": slug,
        "start_date": DAYS[0].isoformat(),
        "city": "Seoul",
        "country": "KR",
        "timezone": "Asia/Seoul",
        "participant_list": "participants",
        "participant_list_by_category": "y",
    }
    assert client.post(f"/manage/events/{event_id}/edit", data=form).status_code == 303
    with app.app_context():
        saved = db.session.get(Event, event_id)
        assert saved.participant_list == "participants"
        assert saved.participant_list_by_category is True
