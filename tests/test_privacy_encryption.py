"""Needs, internal notes and category answers are encrypted at rest: the database file and a raw
SELECT hold only Fernet tokens, staff and the attendee read plain text, and keys rotate with
`flask privacy rotate-key`."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from nkhr_events import PROJECT_ROOT, encryption
from nkhr_events.audit.services import SYSTEM
from nkhr_events.extensions import db
from nkhr_events.registrations.models import Registration
from tests.conftest import make_test_app
from tests.factories import make_event, make_registration

ACCESS = "Wheelchair user, needs step-free route to Room 3"
DIET = "Severe peanut allergy; carries an EpiPen"
NOTE = "Arrives with a protection officer; do not seat near press"
PLAIN = (ACCESS, DIET, NOTE)
OUTLET = "Daily NK Investigations Desk"
ROLE = "Undercover reporter on the China border"
EXTRA = "I was detained in 2019 and still have family in Hyesan"
MIGRATIONS = str(PROJECT_ROOT / "migrations")


def register(app: Flask, client, category: str, settings=None, **fields: str) -> int:
    """A registration made through the public form (the event's first); its id."""
    from nkhr_events.registrations import services as registrations

    with app.app_context():
        event = make_event(capacity=5)
        if settings:
            registrations.save_category_settings(event, settings, actor=SYSTEM)
        db.session.commit()
        slug, days = event.slug, [d.isoformat() for d in event.day_list]
    response = client.post(
        f"/events/{slug}/register?category={category}",
        data={"country": "KR", "language": "en", "interpretation": "none",
              "privacy_consent": "y", "days": days, **fields},
    )
    assert response.status_code == 303
    with app.app_context():
        return db.session.scalar(db.select(Registration.id))


@pytest.fixture
def registered(app: Flask, client, auth) -> int:
    """A registration made through the public form, with a note added by an organizer."""
    registration_id = register(
        app, client, "general_public", given_name="Eun-hye", family_name="Park",
        email="eunhye@example.org", accessibility_needs=ACCESS, dietary_needs=DIET,
    )
    auth.organizer()
    response = client.post(
        f"/manage/registrations/{registration_id}/notes", data={"internal_notes": NOTE}
    )
    assert response.status_code == 303
    return registration_id


def raw_values(app: Flask, registration_id: int) -> tuple[str, str, str]:
    with app.app_context():
        row = db.session.execute(
            text(
                "SELECT accessibility_needs, dietary_needs, internal_notes "
                "FROM registration WHERE id = :id"
            ),
            {"id": registration_id},
        ).one()
        return tuple(row)


def test_raw_select_finds_only_tokens_and_the_model_reads_plain_text(app, registered):
    values = raw_values(app, registered)
    for stored, plain in zip(values, PLAIN, strict=True):
        assert stored.startswith(encryption.TOKEN_PREFIX)
        assert plain not in stored
    with app.app_context():
        registration = db.session.get(Registration, registered)
        assert (
            registration.accessibility_needs,
            registration.dietary_needs,
            registration.internal_notes,
        ) == PLAIN
        # Nothing else in the database carries the text either: mail, audit trail, any table.
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(text(f"SELECT * FROM {table.name}")):
                joined = " ".join(str(v) for v in row)
                for plain in PLAIN:
                    assert plain not in joined, (table.name, plain)


def test_the_sqlite_database_file_holds_no_plain_needs_or_notes(app, registered):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("reads the SQLite file; PostgreSQL is covered by the raw SELECT test")
    path = Path(url.removeprefix("sqlite:///"))
    with app.app_context():
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.commit()
        db.engine.dispose()
    files = [p for p in path.parent.glob(path.name + "*") if p.is_file()]
    data = b"".join(p.read_bytes() for p in files)
    assert b"Eun-hye" in data  # the file is readable: names are not encrypted, needs are
    for plain in PLAIN:
        assert plain.encode() not in data
        assert plain.encode("utf-16-le") not in data


def test_staff_see_the_plain_text_on_the_person_page_and_in_an_export(app, client, registered):
    page = client.get(f"/manage/registrations/{registered}").get_data(as_text=True)
    assert NOTE in page and "Wheelchair user" in page and "peanut allergy" in page
    with app.app_context():
        event_id = db.session.get(Registration, registered).event_id
    export = client.get(
        f"/manage/events/{event_id}/registrations/export",
        query_string={"format": "csv", "columns": ["given_name", "accessibility_needs",
                                                   "dietary_needs"]},
    ).get_data(as_text=True)
    assert ACCESS in export and DIET in export


def test_the_attendees_own_download_has_the_plain_needs(app, registered):
    from nkhr_events.privacy.services import registration_data

    with app.app_context():
        data = registration_data(db.session.get(Registration, registered))
    assert ACCESS in str(data) and DIET in str(data)


def test_rotate_key_re_encrypts_with_the_new_key_and_the_old_one_can_go(app, registered):
    old_key = app.config["NKHR_ENCRYPTION_KEYS"]
    new_key = encryption.new_key()
    before = raw_values(app, registered)
    url = app.config["SQLALCHEMY_DATABASE_URI"]

    both = make_test_app(url, NKHR_ENCRYPTION_KEYS=f"{new_key},{old_key}")
    result = both.test_cli_runner().invoke(args=["privacy", "rotate-key"])
    assert result.exit_code == 0, result.output
    # Needs and notes, and the signed-in organizer's two-factor secret.
    assert "4 values re-encrypted, 0 plain values encrypted" in result.output
    after = raw_values(both, registered)
    assert all(a != b and a.startswith(encryption.TOKEN_PREFIX) for a, b in zip(after, before,
                                                                            strict=True))
    with both.app_context():
        db.engine.dispose()

    only_new = make_test_app(url, NKHR_ENCRYPTION_KEYS=new_key)
    with only_new.app_context():
        registration = db.session.get(Registration, registered)
        assert registration.internal_notes == NOTE
        assert registration.dietary_needs == DIET
        db.session.remove()
        db.engine.dispose()

    # Data written under the new key is closed to the old key alone (and to SECRET_KEY).
    only_old = make_test_app(url, NKHR_ENCRYPTION_KEYS=old_key)
    with only_old.app_context():
        with pytest.raises(encryption.DecryptionError):
            db.session.get(Registration, registered)
        db.session.remove()
        db.engine.dispose()


def test_rotate_key_encrypts_plain_values_written_before_encryption(app, registered):
    with app.app_context():
        db.session.execute(
            text("UPDATE registration SET dietary_needs = 'vegetarian' WHERE id = :id"),
            {"id": registered},
        )
        db.session.commit()
        assert db.session.get(Registration, registered).dietary_needs == "vegetarian"
    result = app.test_cli_runner().invoke(args=["privacy", "rotate-key"])
    assert result.exit_code == 0, result.output
    # Two of the needs and notes, and the organizer's two-factor secret; the plain one.
    assert "3 values re-encrypted, 1 plain values encrypted" in result.output
    stored = raw_values(app, registered)[1]
    assert stored.startswith(encryption.TOKEN_PREFIX) and "vegetarian" not in stored
    with app.app_context():
        assert db.session.get(Registration, registered).dietary_needs == "vegetarian"


def test_rotate_key_changes_nothing_when_a_value_cannot_be_opened(app, registered):
    foreign = encryption.FieldCipher.from_config(encryption.new_key(), "another secret")
    with app.app_context():
        db.session.execute(
            text("UPDATE registration SET dietary_needs = :v WHERE id = :id"),
            {"v": foreign.encrypt("unreadable"), "id": registered},
        )
        db.session.commit()
    before = raw_values(app, registered)
    result = app.test_cli_runner().invoke(args=["privacy", "rotate-key"])
    assert result.exit_code != 0
    assert "cannot be decrypted" in result.output
    assert raw_values(app, registered) == before


def test_what_the_key_derived_from_secret_key_wrote_is_read_in_development_or_when_listed(app):
    """Without NKHR_ENCRYPTION_KEYS (a development database made before instance/encryption_key
    existed, an installation from before the key was required) values were encrypted with a
    key derived from SECRET_KEY. Development keeps reading them; anywhere else that key is
    used only when listed after the new one, until rotate-key has run."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    derived = make_test_app(url, NKHR_ENCRYPTION_KEYS="")
    assert not derived.extensions[encryption.EXTENSION].explicit
    with derived.app_context():
        registration = make_registration(accessibility_needs=ACCESS)
        db.session.commit()
        registration_id = registration.id
        db.session.remove()
        db.engine.dispose()
    assert raw_values(app, registration_id)[0].startswith(encryption.TOKEN_PREFIX)
    new_key = encryption.new_key()
    old_key = encryption.derived_key(derived.config["SECRET_KEY"]).decode()
    for settings, readable in [
        ({"NKHR_ENV": "development", "NKHR_ENCRYPTION_KEYS": new_key}, True),
        ({"NKHR_ENCRYPTION_KEYS": new_key}, False),
        ({"NKHR_ENCRYPTION_KEYS": f"{new_key},{old_key}"}, True),
    ]:
        other = make_test_app(url, **settings)
        with other.app_context():
            if readable:
                assert db.session.get(Registration, registration_id).accessibility_needs == ACCESS
            else:
                with pytest.raises(encryption.DecryptionError):
                    db.session.get(Registration, registration_id)
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def answered(app: Flask, client, auth) -> int:
    """A journalist's registration through the public form, with the event's own question."""
    return register(
        app, client, "journalist",
        settings={"journalist": {"extra_question": "Anything the organizers should know?"}},
        given_name="Ji-ho", family_name="Lee", email="jiho@example.org",
        q_media_outlet=OUTLET, q_media_role=ROLE, q_extra=EXTRA,
    )


def raw_answers(app: Flask, registration_id: int) -> str:
    """The stored JSON text, as a backup or a raw SELECT sees it."""
    with app.app_context():
        return db.session.scalar(
            text("SELECT CAST(answers AS TEXT) FROM registration WHERE id = :id"),
            {"id": registration_id},
        )


def test_category_answers_are_encrypted_and_read_back_by_staff(app, client, auth, answered):
    stored = raw_answers(app, answered)
    # A JSON string holding a token: the column stays JSON, the answers are unreadable.
    assert json.loads(stored).startswith(encryption.TOKEN_PREFIX)
    with app.app_context():
        registration = db.session.get(Registration, answered)
        assert registration.answers == {"media_outlet": OUTLET, "media_role": ROLE,
                                        "extra": EXTRA}
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(text(f"SELECT * FROM {table.name}")):
                joined = " ".join(str(v) for v in row)
                for plain in (OUTLET, ROLE, EXTRA, "Hyesan"):
                    assert plain not in joined, (table.name, plain)
        event_id = registration.event_id
    auth.organizer()
    page = client.get(f"/manage/registrations/{answered}").get_data(as_text=True)
    assert OUTLET in page and "Hyesan" in page
    export = client.get(
        f"/manage/events/{event_id}/registrations/export",
        query_string={"format": "csv", "columns": ["given_name", "answers"]},
    ).get_data(as_text=True)
    assert OUTLET in export and ROLE in export


def test_rotate_key_rotates_answers_and_encrypts_plain_ones(app, answered):
    with app.app_context():
        cast = "CAST(:a AS JSON)" if db.engine.dialect.name == "postgresql" else ":a"
        db.session.execute(
            text(f"UPDATE registration SET answers = {cast} WHERE id = :id"),
            {"a": json.dumps({"media_outlet": OUTLET}), "id": answered},
        )
        db.session.commit()
        # Written before encryption: read as it is.
        assert db.session.get(Registration, answered).answers == {"media_outlet": OUTLET}
    result = app.test_cli_runner().invoke(args=["privacy", "rotate-key"])
    assert result.exit_code == 0, result.output
    assert "0 values re-encrypted, 1 plain values encrypted" in result.output
    assert OUTLET not in raw_answers(app, answered)
    result = app.test_cli_runner().invoke(args=["privacy", "rotate-key"])
    assert "1 values re-encrypted, 0 plain values encrypted" in result.output
    with app.app_context():
        assert db.session.get(Registration, answered).answers == {"media_outlet": OUTLET}


@pytest.mark.parametrize("value", ["not-a-key", "short,", "x" * 44])
def test_a_malformed_key_stops_the_start_with_a_clear_message(value):
    with pytest.raises(encryption.KeyConfigurationError, match="NKHR_ENCRYPTION_KEYS entry 1"):
        make_test_app("sqlite://", NKHR_ENCRYPTION_KEYS=value)


def test_the_migration_encrypts_existing_rows_and_the_downgrade_decrypts(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
    migrated = make_test_app(url)
    with migrated.app_context():
        upgrade(directory=MIGRATIONS, revision="5df4def58f23")
        # Rows written as the previous schema stored them (by hand: today's models have
        # columns that schema lacks), the registration's in plain text.
        db.session.execute(text(
            "INSERT INTO series (id, slug, name, description, position) "
            "VALUES (1, 'old', 'Old series', '', 0)"
        ))
        db.session.execute(text(
            "INSERT INTO event (id, series_id, title, slug, start_date, end_date, venue, city, "
            "country, timezone, description, capacity, status, created_at, updated_at, "
            "retention_days, participant_list, participant_list_by_category) VALUES "
            "(1, 1, 'Old event', 'old-event', '2027-01-01', '2027-01-02', '', 'Seoul', 'KR', "
            "'Asia/Seoul', '', 10, 'published', '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00', 180, 'off', 0)"
        ))
        event = SimpleNamespace(id=1)
        db.session.execute(
            text(
                "INSERT INTO registration (event_id, category, status, given_name, "
                "family_name, badge_name, email, email_key, organization, position, country, "
                "language, answers, interpretation, accessibility_needs, dietary_needs, "
                "privacy_consent_at, publish_name, photo_consent, sequence, created_at, "
                "updated_at, status_changed_at, internal_notes, do_not_publish) VALUES "
                "(:event, 'general_public', 'confirmed', 'A', 'B', 'A B', 'a@x.org', "
                "'a@x.org', '', '', '', 'en', :answers, 'none', :access, :diet, "
                "'2026-01-01 00:00:00', 0, 0, 0, '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00', :note, 0)"
            ),
            {"event": event.id, "access": ACCESS, "diet": DIET, "note": NOTE,
             "answers": json.dumps({"media_outlet": OUTLET})},
        )
        db.session.commit()
        upgrade(directory=MIGRATIONS, revision="head")
        answers = db.session.scalar(text("SELECT answers FROM registration"))
        assert OUTLET not in answers and json.loads(answers).startswith(encryption.TOKEN_PREFIX)
        assert db.session.scalar(db.select(Registration)).answers == {"media_outlet": OUTLET}
        stored = db.session.execute(
            text("SELECT accessibility_needs, dietary_needs, internal_notes FROM registration")
        ).one()
        assert all(v.startswith(encryption.TOKEN_PREFIX) for v in stored)
        assert db.session.scalar(db.select(Registration)).internal_notes == NOTE
        db.session.commit()
        downgrade(directory=MIGRATIONS, revision="5df4def58f23")
        assert tuple(
            db.session.execute(
                text("SELECT accessibility_needs, dietary_needs, internal_notes FROM registration")
            ).one()
        ) == PLAIN
        answers = db.session.scalar(text("SELECT answers FROM registration"))
        assert json.loads(answers) == {"media_outlet": OUTLET}
        db.session.remove()
        db.engine.dispose()
