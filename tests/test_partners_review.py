"""Staff review of partner applications (every action audited, decisions emailed in the
applicant's language with the note) and public recognition: only approved partners appear,
sponsors by tier with their logos, a page per partner, the history's co-organizers."""

from __future__ import annotations

import io

import pytest
from factories import make_event, make_series, past_days
from markup import parse
from PIL import Image
from smtp import smtp_settings

from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import PARTNER
from nkhr_events.extensions import db
from nkhr_events.outbox.delivery import deliver_due
from nkhr_events.outbox.models import OutboxMessage
from nkhr_events.partners import services
from nkhr_events.partners.logos import clean_logo
from nkhr_events.partners.models import Partner, Partnership, PartnershipRole


@pytest.fixture
def app_settings(smtp_server):
    return smtp_settings(smtp_server)


def logo_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 60), (0, 120, 60)).save(out, format="PNG")
    return out.getvalue()


def apply(event, name: str, role: str = "sponsor", tier: str | None = "principal",
          language: str = "ko", website: str | None = None, logo: bool = False) -> int:
    partnership = services.submit_application(
        event,
        services.ApplicationInput(
            organization_name=name, organization_type="company", country="KR",
            website=website, contact_name="Contact Person", contact_role=None,
            contact_email=f"{services.partner_name_key(name)}@example.org", contact_phone=None,
            role=role, sponsor_tier=tier if role == "sponsor" else None,
            contribution="Funding", offers=["venue"] if role == "co_organizer" else [],
            language=language,
        ),
        clean_logo(logo_png()) if logo else None, actor=PARTNER
    )
    return partnership.id


@pytest.fixture
def applied(app) -> dict[str, object]:
    with app.app_context():
        event = make_event(title="Berlin Conference", title_ko="베를린 회의")
        ids = {
            "event_id": event.id,
            "slug": event.slug,
            "sponsor": apply(event, "Hanwha Foundation", logo=True,
                             website="https://hanwha.example"),
            "supporting": apply(event, "Daily Herald", tier="supporting", language="en"),
            "co_organizer": apply(event, "Seoul University", role="co_organizer"),
        }
        db.session.commit()
        db.session.execute(db.delete(OutboxMessage))
        db.session.commit()
        return ids


def test_staff_pages_need_sign_in(client, applied):
    response = client.get("/manage/partners")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert client.get(f"/manage/partners/{applied['sponsor']}/logo").status_code == 302


def test_list_filters_by_event_status_and_role(client, auth, applied):
    auth.organizer()
    page = parse(client.get(f"/manage/partners?event_id={applied['event_id']}&role=sponsor")
                 .get_data(as_text=True))
    names = [a.text for a in page.one("table").find_all("a")]
    assert sorted(names) == ["Daily Herald", "Hanwha Foundation"]
    page = parse(client.get("/manage/partners?status=approved").get_data(as_text=True))
    assert "No application matches." in page.text


def test_approval_is_audited_emailed_in_the_applicants_language_and_makes_it_public(
    app, client, auth, applied, smtp_server
):
    slug, sponsor_id = applied["slug"], applied["sponsor"]
    # Before approval: no partner page, no logo, not on the event page.
    with app.app_context():
        partner_id = db.session.get(Partnership, sponsor_id).partner_id
    assert client.get(f"/partners/{partner_id}").status_code == 404
    assert client.get(f"/partners/logos/{sponsor_id}.png").status_code == 404
    event_page = client.get(f"/events/{slug}").get_data(as_text=True)
    assert "Hanwha Foundation" not in parse(event_page).text

    auth.organizer()
    staff_logo = client.get(f"/manage/partners/{sponsor_id}/logo")
    assert staff_logo.status_code == 200 and staff_logo.mimetype == "image/png"
    response = client.post(
        f"/manage/partners/{sponsor_id}/decide",
        data={"action": "approve", "note": "Welcome aboard; we will send the logo guidelines."},
    )
    assert response.status_code == 303
    auth.sign_out()

    with app.app_context():
        partnership = db.session.get(Partnership, sponsor_id)
        assert partnership.status == "approved" and partnership.decided_at is not None
        assert partnership.partner.website_domain == "hanwha.example"
        entry = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action == "partnership.approve")
        ).one()
        assert (entry.object_type, entry.object_id, entry.actor) == (
            "partnership", sponsor_id, "organizer@example.org"
        )
        message = db.session.scalars(db.select(OutboxMessage)).one()
        assert (message.recipient, message.language, message.partnership_id) == (
            "hanwhafoundation@example.org", "ko", sponsor_id
        )
        assert deliver_due().sent == 1
    decision = smtp_server.received[0].message
    text = decision.get_body(("plain",)).get_content()
    assert "Welcome aboard; we will send the logo guidelines." in text
    assert "베를린 회의" in text and "Berlin Conference" not in text

    logo = client.get(f"/partners/logos/{sponsor_id}.png")
    assert logo.status_code == 200
    assert logo.headers["Content-Type"] == "image/png"
    assert logo.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(logo.data)).size == (120, 60)

    page = parse(client.get(f"/events/{slug}").get_data(as_text=True))
    tier = page.one("section", class_="sponsor-tier")
    assert tier.one("h4").text == "Principal sponsor"
    link = tier.one("a")
    assert link.text == "Hanwha Foundation"
    assert link.get("href") == f"/partners/{partner_id}"
    assert link.one("img").get("src") == f"/partners/logos/{sponsor_id}.png"
    # Still pending: not shown.
    assert "Daily Herald" not in page.text and "Seoul University" not in page.text


def test_decline_needs_a_note_and_sends_it(app, client, auth, applied, smtp_server):
    auth.organizer()
    target = applied["supporting"]
    page = parse(client.post(f"/manage/partners/{target}/decide",
                             data={"action": "decline", "note": ""}).get_data(as_text=True))
    assert "Tell the applicant why, in a short note." in page.one("p", id="note-error").text
    with app.app_context():
        assert db.session.get(Partnership, target).status == "applied"
        assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0

    client.post(f"/manage/partners/{target}/decide",
                data={"action": "decline", "note": "Our sponsor places are filled this year."})
    with app.app_context():
        partnership = db.session.get(Partnership, target)
        assert partnership.status == "declined"
        assert partnership.decision_note == "Our sponsor places are filled this year."
        actions = [e.action for e in db.session.scalars(db.select(AuditEntry))]
        assert [a for a in actions if a.startswith("partnership.")] == [
            "partnership.apply", "partnership.apply", "partnership.apply", "partnership.decline"
        ]
        assert deliver_due().sent == 1
    message = smtp_server.received[0].message
    assert message["Subject"] == "About your application (reference P-00002)"
    assert "Our sponsor places are filled this year." in message.get_body(("plain",)).get_content()


def test_withdrawal_is_audited_and_sends_nothing(app, client, auth, applied):
    auth.organizer()
    client.post(f"/manage/partners/{applied['co_organizer']}/decide", data={"action": "withdraw"})
    with app.app_context():
        assert db.session.get(Partnership, applied["co_organizer"]).status == "withdrawn"
        assert db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.id.desc())
                                  ).first() == "partnership.withdraw"
        assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))) == 0


def test_tier_order_and_public_details_are_set_by_staff_and_audited(app, client, auth, applied):
    auth.organizer()
    for target in ("sponsor", "supporting"):
        client.post(f"/manage/partners/{applied[target]}/decide", data={"action": "approve"})
    response = client.post(f"/manage/partners/{applied['supporting']}/placement",
                           data={"sponsor_tier": "principal", "display_order": "0"})
    assert response.status_code == 303
    client.post(f"/manage/partners/{applied['sponsor']}/placement",
                data={"sponsor_tier": "principal", "display_order": "5"})
    refused = client.post(f"/manage/partners/{applied['sponsor']}/placement",
                          data={"sponsor_tier": "platinum", "display_order": "1"})
    assert "Choose one of this event&#39;s tiers." in refused.get_data(as_text=True)
    client.post(f"/manage/partners/{applied['supporting']}/partner",
                data={"name": "The Daily Herald", "website": "https://herald.example"})
    taken = client.post(f"/manage/partners/{applied['sponsor']}/partner",
                        data={"name": "Hanwha", "website": "https://www.herald.example/"})
    assert "Another partner already has this website." in parse(
        taken.get_data(as_text=True)).one("p", id="website-error").text
    auth.sign_out()

    with app.app_context():
        herald = db.session.get(Partnership, applied["supporting"]).partner
        assert (herald.name, herald.website_domain) == ("The Daily Herald", "herald.example")
        actions = [e.action for e in db.session.scalars(db.select(AuditEntry))]
        assert actions.count("partnership.placement") == 2 and actions.count("partner.edit") == 1
    page = parse(client.get(f"/events/{applied['slug']}").get_data(as_text=True))
    tiers = page.find_all("section", class_="sponsor-tier")
    assert [(t.one("h4").text, [a.text for a in t.find_all("a")]) for t in tiers] == [
        ("Principal sponsor", ["The Daily Herald", "Hanwha Foundation"])
    ]


def test_an_event_can_have_its_own_tiers(app, client, auth, applied):
    auth.organizer()
    client.post(f"/manage/events/{applied['event_id']}/sponsor-tiers",
                data={"tiers": "Gold\nSilver\n\nGold"})
    with app.app_context():
        assert services.event_tiers(applied["event_id"]) == [("gold", "Gold"), ("silver", "Silver")]
        assert db.session.scalars(db.select(AuditEntry.action).order_by(AuditEntry.id.desc())
                                  ).first() == "partnership.tiers"
    form = parse(client.get(f"/events/{applied['slug']}/partner").get_data(as_text=True))
    assert [i.get("value") for i in form.find_all("input", name="sponsor_tier")] == [
        "gold", "silver"
    ]


def test_partner_page_lists_the_editions_and_the_history_comes_from_partnerships(app, client):
    with app.app_context():
        series = make_series()
        first = make_event(series=series, title="Seoul 2005", days=past_days(2005, 11, 1),
                           slug="seoul-2005")
        second = make_event(series=series, title="Tokyo 2012", days=past_days(2012, 6, 10),
                            slug="tokyo-2012")
        partner = services.find_or_add_partner("NK Watch")
        services.ensure_approved_partnership(partner, first, PartnershipRole.CO_ORGANIZER)
        services.ensure_approved_partnership(partner, second, PartnershipRole.SPONSOR)
        # A pending application elsewhere lists nowhere.
        hidden = make_event(title="Later", days=past_days(2015, 3, 3), slug="later")
        db.session.add(Partnership(partner=partner, event=hidden, role="co_organizer"))
        db.session.commit()
        partner_id = partner.id
        assert db.session.scalar(db.select(db.func.count(Partner.id))) == 1

    page = parse(client.get(f"/partners/{partner_id}").get_data(as_text=True))
    assert page.one("h1").text == "NK Watch"
    editions = [li.text for li in page.one("ul", class_="partner-editions").find_all("li")]
    assert editions == ["2012 · Tokyo 2012 — Sponsor", "2005 · Seoul 2005 — Co-organizer"]

    history = parse(client.get("/history").get_data(as_text=True))
    rows = {r.one("th").text: r.find_all("td")[-1].text
            for r in history.one("tbody").find_all("tr")}
    assert rows == {"2005": "NK Watch", "2012": "", "2015": ""}
    assert f"/partners/{partner_id}" in [
        a.get("href") for a in history.find_all("a")
    ]
    event_page = parse(client.get("/events/seoul-2005").get_data(as_text=True))
    assert event_page.find("a", href=f"/partners/{partner_id}") is not None
