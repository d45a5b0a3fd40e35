"""Countries: only assigned ISO 3166-1 codes are offered, named by CLDR in the reader's language
and sorted by the Unicode Collation Algorithm; a code stored before still validates."""

from __future__ import annotations

import pycountry
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from markup import form_values, parse
from werkzeug.datastructures import MultiDict

from nkhr_events.extensions import db
from nkhr_events.registrations.links import issue_manage_token
from nkhr_events.registrations.models import Registration
from nkhr_events.web import country_choices, country_name
from tests.factories import make_event, make_registration

#: ISO 3166-1 alpha-2 as the standard assigns it (pycountry ships the iso-codes tables).
ASSIGNED = frozenset(country.alpha_2 for country in pycountry.countries)
#: Codes CLDR names that are no country: pseudo-locales, user-assigned, groupings, reserved.
NOT_COUNTRIES = ("XA", "XB", "XK", "ZZ", "EU", "EZ", "UN", "QO", "AC", "CP", "DG", "EA", "IC",
                 "TA")

#: Initial consonants of Hangul syllables, in dictionary order.
CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"


def choices_in(app: Flask, language: str) -> list[tuple[str, str]]:
    with app.test_request_context(), force_locale(language):
        return country_choices()


def names_in(app: Flask, language: str) -> list[str]:
    return [name for _code, name in choices_in(app, language)]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_only_assigned_iso_codes_are_offered(app: Flask, language: str) -> None:
    choices = choices_in(app, language)
    codes = [code for code, _name in choices]
    assert len(codes) == len(set(codes))
    assert set(codes) == ASSIGNED
    for code in NOT_COUNTRIES:
        assert code not in codes
    names = " ".join(name for _code, name in choices)
    assert "Pseudo" not in names


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_registration_form_offers_countries_only(
    app: Flask, client: FlaskClient, language: str
) -> None:
    with app.app_context():
        event = make_event()
        db.session.commit()
        slug = event.slug
    client.set_cookie("nkhr_lang", language)
    page = parse(
        client.get(f"/events/{slug}/register?category=general_public").get_data(as_text=True)
    )
    options = page.one("select", name="country").find_all("option")
    offered = [o.get("value") for o in options if o.get("value")]
    assert set(offered) == ASSIGNED
    assert "Pseudo-Accents" not in page.text and "Pseudo-Bidi" not in page.text
    expected = [code for code, _name in choices_in(app, language)]
    assert offered == expected


def test_english_names_are_collated_not_sorted_by_code_point(app: Flask) -> None:
    names = names_in(app, "en")

    def between(before: str, name: str, after: str) -> None:
        assert names.index(before) < names.index(name) < names.index(after), name

    between("Afghanistan", "Åland Islands", "Albania")
    between("Costa Rica", "Côte d’Ivoire", "Croatia")
    between("Cuba", "Curaçao", "Cyprus")
    between("Qatar", "Réunion", "Romania")
    between("San Marino", "São Tomé & Príncipe", "Saudi Arabia")
    between("Tunisia", "Türkiye", "Turkmenistan")
    assert names[0] == "Afghanistan" and names[-1] == "Zimbabwe"


def test_korean_names_are_in_hangul_order(app: Flask) -> None:
    names = names_in(app, "ko")
    assert names[0] == "가나"
    initials = []
    for name in names:
        syllable = ord(name[0]) - 0xAC00
        assert 0 <= syllable < 11172, name  # every Korean country name starts with Hangul
        initials.append(CHOSEONG[syllable // 588])
    assert initials == sorted(initials, key=CHOSEONG.index)
    order = [names.index(name) for name in ("대한민국", "미국", "일본", "헝가리")]
    assert order == sorted(order)


def test_country_names_come_from_cldr_in_the_readers_language(app: Flask) -> None:
    with app.test_request_context(), force_locale("ko"):
        assert country_name("KR") == "대한민국"
        assert country_name("no") == "노르웨이"
        assert country_name("") == ""
    with app.test_request_context(), force_locale("en"):
        assert country_name("KR") == "South Korea"
        assert country_name("XK") == "Kosovo"  # a stored code keeps its name


def manage_page(app: Flask, registration_id: int) -> str:
    with app.app_context():
        token = issue_manage_token(db.session.get(Registration, registration_id))
        db.session.commit()
    return f"/registration/{token}"


def test_a_stored_code_no_longer_offered_still_validates_unchanged(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        registration = make_registration(country="KR")
        registration.country = "XK"  # chosen when the list still offered it
        db.session.commit()
        registration_id = registration.id
    link = manage_page(app, registration_id)
    page = parse(client.get(link).get_data(as_text=True))
    select = page.one("select", name="country")
    chosen = [o for o in select.find_all("option") if "selected" in o.attrs]
    assert [(o.get("value"), o.text) for o in chosen] == [("XK", "Kosovo")]
    form = next(f for f in page.find_all("form") if f.find("select", name="country"))
    # What the browser sends: the fields as shown, and each checked box or radio button.
    data = MultiDict(form_values(form))
    for box in form.find_all("input"):
        if box.get("type") in {"checkbox", "radio"} and "checked" in box.attrs:
            data.add(box.get("name") or "", box.get("value") or "y")
    if not data.getlist("days"):  # the page leaves the days unticked: not what this test is about
        for box in form.find_all("input", name="days"):
            data.add("days", box.get("value") or "")
    response = client.post(link, data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Registration, registration_id).country == "XK"


def test_a_code_that_is_no_country_is_refused_on_a_new_registration(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        event = make_event()
        db.session.commit()
        slug, days = event.slug, [d.isoformat() for d in event.day_list]
    response = client.post(
        f"/events/{slug}/register?category=general_public",
        data={"given_name": "Min-ji", "family_name": "Kim", "email": "minji@example.org",
              "country": "XA", "language": "en", "interpretation": "none",
              "privacy_consent": "y", "days": days},
    )
    assert response.status_code == 200
    assert "Choose a country from the list." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(Registration)) is None
