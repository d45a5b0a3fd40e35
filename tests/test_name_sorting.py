"""Lists sort people by family name in the reader's collation: the Unicode Collation Algorithm
("Émile Zola" beside the other Z names, not after them), with the reader's own script first
(Korean: Hangul, then Han; Japanese: Latin, Kana, then Han, as CLDR orders them). The order
comes from a stored key compared byte by byte, so SQLite and PostgreSQL agree whatever the
database's collation."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from conftest import ON_POSTGRES, make_test_app
from factories import make_event, make_registration
from flask import Flask
from flask.testing import FlaskClient
from markup import parse
from sqlalchemy import MetaData, Table, create_engine, inspect, text
from test_migrations import run_flask

from nkhr_events.audit.services import ATTENDEE
from nkhr_events.config import database_url
from nkhr_events.extensions import db
from nkhr_events.names import NAME_SORT_LENGTH, full_name, name_sort_key
from nkhr_events.privacy.services import ERASED_NAME, anonymize_registration
from nkhr_events.registrations import services
from nkhr_events.registrations.models import Registration
from nkhr_events.registrations.participants import name_order

#: (given name, family name) of the people on every list.
PEOPLE = [
    ("Émile", "Zola"),
    ("Ada", "Lovelace"),
    ("Zoe", "Adams"),
    ("민지", "박"),
    ("철수", "김"),
    ("花子", "山田"),
    ("さくら", "やまもと"),
    ("영희", "이"),
]
LATIN = ["Zoe Adams", "Ada Lovelace", "Émile Zola"]
HANGUL = ["김철수", "박민지", "이영희"]
KANA = ["やまもとさくら"]
HAN = ["山田花子"]
#: The order each reader expects.
EXPECTED = {
    "en": LATIN + HANGUL + KANA + HAN,
    "ko": HANGUL + HAN + LATIN + KANA,  # CLDR ko: [reorder Hang Hani]
    "ja": LATIN + KANA + HAN + HANGUL,  # CLDR ja: [reorder Latn Kana Hani]
}
ORGANIZATION = "Sorting Society"


@pytest.fixture
def listed(app: Flask) -> dict[str, Any]:
    """One event with the eight people, confirmed and opted in to the public list."""
    with app.app_context():
        event = make_event(participant_list="public")
        for given, family in PEOPLE:
            make_registration(
                event=event, given_name=given, family_name=family,
                organization=ORGANIZATION, publish_name=True,
            )
        db.session.commit()
        return {"event": event.id, "slug": event.slug}


def reading_in(client: FlaskClient, language: str) -> None:
    client.set_cookie("nkhr_lang", language)


def row_names(page: str) -> list[str]:
    """The names heading the rows of a table (roster, sign-in sheet, door list)."""
    return [th.text for th in parse(page).find_all("th", scope="row")]


def roster_names(client: FlaskClient, event_id: int, sort: str = "name") -> list[str]:
    page = client.get(f"/manage/events/{event_id}/registrations?sort={sort}")
    assert page.status_code == 200
    return [th.one("a").text for th in parse(page.get_data(as_text=True)).find_all(
        "th", scope="row")]


# --- the key ------------------------------------------------------------------------------------


def test_the_key_orders_names_by_collation_in_plain_byte_order() -> None:
    keys = {full_name(given, family): name_sort_key(given, family) for given, family in PEOPLE}
    assert sorted(keys, key=keys.__getitem__) == EXPECTED["en"]
    for key in keys.values():
        assert key == key.encode("ascii").decode() and set(key[1:]) <= set("0123456789abcdef")
    # Family name first, then given name; accents and case only after the letters.
    assert name_sort_key("Bob", "Lovelace") < name_sort_key("Ada", "Lovelacey")
    assert name_sort_key("", "Lovelace") < name_sort_key("Ada", "Lovelace")
    assert name_sort_key("Emil", "Zola") < name_sort_key("Émile", "Zola")
    assert name_sort_key("zoe", "adams") < name_sort_key("Zoe", "Adams") < name_sort_key(
        "Zoe", "Adamson")
    # The script group of the family name leads the key.
    assert [name_sort_key(g, f)[0] for g, f in [("Ada", "Lovelace"), ("Ivan", "Petrov"),
            ("민지", "박"), ("さくら", "やまもと"), ("ｻｸﾗ", "ﾔﾏﾓﾄ"), ("花子", "山田")]] == [
        "1", "1", "2", "3", "3", "4"]


def test_a_long_name_is_cut_to_the_column_keeping_the_order() -> None:
    long_key = name_sort_key("Maria " * 30, "Lovelace-" * 10)
    assert len(long_key) == NAME_SORT_LENGTH
    assert name_sort_key("Ada", "Lovelace") < long_key < name_sort_key("Ada", "Lovelacf")


# --- the lists ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "ko", "ja"])
def test_roster_sign_in_sheet_export_and_door_list_sort_in_the_readers_collation(
    client: FlaskClient, auth: Any, listed: dict[str, Any], language: str
) -> None:
    expected = EXPECTED[language]
    auth.organizer()
    reading_in(client, language)
    event_id = listed["event"]

    assert roster_names(client, event_id) == expected
    assert roster_names(client, event_id, "-name") == expected[::-1]

    sheet = client.get(f"/manage/events/{event_id}/sign-in-sheet")
    assert row_names(sheet.get_data(as_text=True)) == expected
    badges = client.get(f"/manage/events/{event_id}/badges").get_data(as_text=True)
    positions = [badges.index(name) for name in expected]
    assert positions == sorted(positions)

    export = client.get(f"/manage/events/{event_id}/registrations/export?format=csv&sort=name")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.get_data().decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == expected  # the name is the first column

    door = client.get(f"/manage/events/{event_id}/door", query_string={"q": ORGANIZATION})
    results = parse(door.get_data(as_text=True)).one("ul", id="door-results")
    assert [name.one("a").text for name in results.find_all("h3")] == expected


@pytest.mark.parametrize("language", ["en", "ko", "ja"])
def test_the_public_participant_list_sorts_in_the_readers_collation(
    client: FlaskClient, listed: dict[str, Any], language: str
) -> None:
    reading_in(client, language)
    page = parse(client.get(f"/events/{listed['slug']}/participants").get_data(as_text=True))
    names = [row.find("td").text for row in page.find_all("tr") if row.find("td")]
    assert names == EXPECTED[language]


def test_the_order_follows_the_language_whatever_its_region(
    app: Flask, listed: dict[str, Any]
) -> None:
    """"ko-KR" reads as Korean; a language without its own order (German) reads the default
    one, and so does no reader at all."""
    readers = {"ko-KR": "ko", "ja_JP": "ja", "de": "en", None: "en"}
    with app.app_context():
        for language, reads_as in readers.items():
            query = db.select(Registration.given_name, Registration.family_name).where(
                Registration.event_id == listed["event"]
            ).order_by(*name_order(language), Registration.id)
            names = [full_name(given, family) for given, family in db.session.execute(query)]
            assert names == EXPECTED[reads_as], language


def test_changing_a_name_moves_the_person_in_the_list(
    app: Flask, client: FlaskClient, auth: Any, listed: dict[str, Any]
) -> None:
    with app.app_context():
        zoe = db.session.scalar(db.select(Registration).where(Registration.given_name == "Zoe"))
        assert zoe is not None and zoe.name_sort == name_sort_key("Zoe", "Adams")
        services.update_details(zoe, services.DetailsInput(
            given_name="Zoe", family_name="Zweig", badge_name="", organization=ORGANIZATION,
            position=zoe.position, country=zoe.country, language=zoe.language,
            days=zoe.day_list, interpretation=zoe.interpretation, accessibility_needs="",
            dietary_needs="", publish_name=True, photo_consent=zoe.photo_consent,
        ), actor=ATTENDEE)
        db.session.commit()
        stored = db.session.scalar(
            db.select(Registration.name_sort).where(Registration.id == zoe.id)
        )
        assert stored == name_sort_key("Zoe", "Zweig")
    auth.organizer()
    assert roster_names(client, listed["event"])[:3] == ["Ada Lovelace", "Émile Zola", "Zoe Zweig"]


def test_an_erased_name_leaves_no_sort_key_behind(app: Flask, listed: dict[str, Any]) -> None:
    """The key spells the name's letters as weights: an erasure replaces it with the key of
    the placeholder name."""
    with app.app_context():
        ada = db.session.scalar(db.select(Registration).where(Registration.given_name == "Ada"))
        assert ada is not None
        anonymize_registration(ada, actor=ATTENDEE)
        db.session.commit()
        stored = db.session.scalar(
            db.select(Registration.name_sort).where(Registration.id == ada.id)
        )
    assert stored == name_sort_key(ERASED_NAME, ERASED_NAME) != name_sort_key("Ada", "Lovelace")


def test_postgresql_compares_the_key_byte_by_byte(app: Flask) -> None:
    if not ON_POSTGRES:
        pytest.skip("set TEST_DATABASE_URL=postgresql://... to run on PostgreSQL")
    with app.app_context():
        collation = db.session.scalar(text(
            "select collation_name from information_schema.columns "
            "where table_name = 'registration' and column_name = 'name_sort' "
            "and table_schema = current_schema()"
        ))
    assert collation == "C"


# --- the migration ------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    if not ON_POSTGRES:
        pytest.skip("set TEST_DATABASE_URL=postgresql://... to run migrations on PostgreSQL")
    return str(request.getfixturevalue("throwaway_postgres"))


def test_the_migration_fills_the_key_of_every_existing_registration(
    fresh_database: str, tmp_path: Path
) -> None:
    """Registrations made before the key existed get it, in batches (more rows than one)."""
    url = database_url(fresh_database)
    upgrade = run_flask(url, tmp_path, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    app = make_test_app(url)
    with app.app_context():
        event = make_event(capacity=None)
        for given, family in PEOPLE:
            make_registration(event=event, given_name=given, family_name=family)
        db.session.commit()
        db.engine.dispose()
    engine = create_engine(url)
    try:
        table = Table("registration", MetaData(), autoload_with=engine)
        with engine.begin() as connection:
            model = dict(connection.execute(table.select().limit(1)).mappings().one())
            del model["id"]
            connection.execute(table.insert(), [
                {**model, "given_name": f"Copy{n}", "family_name": PEOPLE[n % 8][1],
                 "email": f"copy{n}@example.org", "email_key": f"copy{n}@example.org"}
                for n in range(1100)
            ])

        downgrade = run_flask(url, tmp_path, "db", "downgrade", "c16c0e3a0003")
        assert downgrade.returncode == 0, downgrade.stderr
        assert "name_sort" not in {c["name"] for c in inspect(engine).get_columns("registration")}
        upgrade = run_flask(url, tmp_path, "db", "upgrade")
        assert upgrade.returncode == 0, upgrade.stderr

        with engine.connect() as connection:
            rows = connection.execute(text(
                "select given_name, family_name, name_sort from registration order by name_sort"
            )).all()
        assert len(rows) == len(PEOPLE) + 1100
        assert all(row.name_sort == name_sort_key(row.given_name, row.family_name)
                   for row in rows)
        assert [row.family_name for row in rows if not row.given_name.startswith("Copy")] == [
            "Adams", "Lovelace", "Zola", "김", "박", "이", "やまもと", "山田"]
    finally:
        engine.dispose()
