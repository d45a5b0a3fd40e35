"""Passkeys as an alternative second factor: added after a current code, used instead of a
code at sign-in, verified for real (signature, challenge, origin, counter) by py_webauthn;
refused answers are counted by the throttle; an admin's reset removes them."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import STAFF_PASSWORD, AuthActions, next_code
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from test_two_factor import actions
from webauthn_device import SoftPasskey

from nkhr_events.accounts.models import StaffPasskey, StaffRole, StaffUser
from nkhr_events.extensions import db

ORGANIZER = "organizer@example.org"
ORIGIN = "http://localhost"


def stored(app: Flask) -> list[StaffPasskey]:
    with app.app_context():
        keys = list(db.session.scalars(select(StaffPasskey).order_by(StaffPasskey.id)))
        for key in keys:
            db.session.expunge(key)
        return keys


def add(app: Flask, client: FlaskClient, device: SoftPasskey, name: str = "Work laptop",
        origin: str = ORIGIN) -> Any:
    options = client.post("/manage/two-factor/passkeys/options",
                          json={"code": next_code(app, ORGANIZER)})
    assert options.status_code == 200, options.get_data(as_text=True)
    answer = device.create(options.get_json(), origin)
    return client.post("/manage/two-factor/passkeys", json={"name": name, "credential": answer})


def password_step(client: FlaskClient, email: str = ORGANIZER) -> None:
    response = client.post("/sign-in", data={"email": email, "password": STAFF_PASSWORD})
    assert response.headers["Location"] == "/sign-in/code"


def passkey_step(client: FlaskClient, device: SoftPasskey, origin: str = ORIGIN) -> Any:
    options = client.post("/sign-in/passkey/options")
    assert options.status_code == 200, options.get_data(as_text=True)
    return client.post("/sign-in/passkey", json={"credential": device.get(options.get_json(),
                                                                           origin)})


def signed_in(client: FlaskClient) -> bool:
    return client.get("/manage/").status_code == 200


@pytest.fixture
def with_passkey(app: Flask, client: FlaskClient, auth: AuthActions) -> SoftPasskey:
    """An organizer who added a passkey, then signed out."""
    auth.organizer()
    device = SoftPasskey()
    response = add(app, client, device)
    assert response.status_code == 200, response.get_data(as_text=True)
    client.post("/sign-out")
    return device


def test_a_passkey_is_added_after_a_code_and_listed(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    page = client.get("/manage/two-factor").get_data(as_text=True)
    assert "You have no passkey." in page and 'data-passkey="add"' in page
    # Without the current code there are no options to make one with.
    refused = client.post("/manage/two-factor/passkeys/options", json={"code": "000000"})
    assert refused.status_code == 400 and refused.get_json()["field"] == "code"

    device = SoftPasskey()
    response = add(app, client, device, name="  Work   laptop ")
    assert response.status_code == 200 and response.get_json() == {
        "redirect": "/manage/two-factor"}
    [key] = stored(app)
    assert key.name == "Work laptop" and key.sign_count == 1 and key.transports == "internal"
    assert key.credential_id and key.public_key  # the public key only
    page = client.get("/manage/two-factor").get_data(as_text=True)
    assert "Passkey “Work laptop” added." in page and "Remove Work laptop" in page
    assert ("account.passkey_add", {"passkey": key.id, "name": "Work laptop"}) in actions(
        app, ORGANIZER)
    # The same device cannot be added twice (the page excludes it; the server refuses it).
    again = add(app, client, device)
    assert again.status_code == 400 and len(stored(app)) == 1


def test_a_passkey_made_for_another_origin_is_refused(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    response = add(app, client, SoftPasskey(), origin="https://phishing.example")
    assert response.status_code == 400
    assert response.get_json()["error"] == "The passkey could not be checked. Try again."
    assert stored(app) == []
    assert ("account.passkey_add_failed", {"reason": "not_verified"}) in actions(app, ORGANIZER)


def test_an_answer_without_options_first_is_refused(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    device = SoftPasskey()
    fake_options = {"rp": {"id": "localhost"}, "challenge": "AAAA"}
    response = client.post("/manage/two-factor/passkeys",
                           json={"name": "x", "credential": device.create(fake_options, ORIGIN)})
    assert response.status_code == 400 and stored(app) == []


def test_sign_in_with_a_passkey_instead_of_a_code(
    app: Flask, client: FlaskClient, with_passkey: SoftPasskey
) -> None:
    password_step(client)
    page = client.get("/sign-in/code").get_data(as_text=True)
    assert 'data-passkey="sign-in"' in page and 'name="code"' in page  # codes still work
    assert not signed_in(client)
    response = passkey_step(client, with_passkey)
    assert response.status_code == 200 and response.get_json() == {"redirect": "/manage/"}
    assert signed_in(client)
    [key] = stored(app)
    assert key.sign_count == 2 and key.last_used_at is not None
    assert actions(app, ORGANIZER)[-1] == ("auth.sign_in", {"second_factor": "passkey"})


def test_an_answer_is_used_once(
    app: Flask, client: FlaskClient, with_passkey: SoftPasskey
) -> None:
    password_step(client)
    options = client.post("/sign-in/passkey/options").get_json()
    answer = with_passkey.get(options, ORIGIN)
    assert client.post("/sign-in/passkey", json={"credential": answer}).status_code == 200
    client.post("/sign-out")
    password_step(client)
    client.post("/sign-in/passkey/options")  # a new challenge; the old answer does not fit it
    replay = client.post("/sign-in/passkey", json={"credential": answer})
    assert replay.status_code == 400 and not signed_in(client)


def test_a_cloned_key_whose_counter_went_back_is_refused(
    app: Flask, client: FlaskClient, with_passkey: SoftPasskey
) -> None:
    password_step(client)
    assert passkey_step(client, with_passkey).status_code == 200
    client.post("/sign-out")
    with_passkey.sign_count = 0  # a copy of the key that has not seen the last use
    password_step(client)
    response = passkey_step(client, with_passkey)
    assert response.status_code == 400 and not signed_in(client)
    assert actions(app, ORGANIZER)[-1] == ("auth.sign_in_failed", {"reason": "passkey_refused"})


def test_a_passkey_without_a_counter_works_again_and_again(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    device = SoftPasskey(counter=False)  # synced passkeys report 0 every time
    assert add(app, client, device).status_code == 200
    for _ in range(2):
        client.post("/sign-out")
        password_step(client)
        assert passkey_step(client, device).status_code == 200 and signed_in(client)


def test_refused_passkeys_are_counted_by_the_throttle(
    app: Flask, client: FlaskClient, with_passkey: SoftPasskey
) -> None:
    password_step(client)
    answers = []
    for _ in range(5):
        response = passkey_step(client, with_passkey, origin="https://phishing.example")
        answers.append(response.get_json()["error"])
    assert answers[0].startswith("The passkey was not accepted.")
    assert answers[-1].startswith("Too many failed attempts.")
    # The right passkey waits too now.
    assert passkey_step(client, with_passkey).status_code == 400 and not signed_in(client)


def test_no_passkey_step_without_a_password_first(
    app: Flask, client: FlaskClient, with_passkey: SoftPasskey
) -> None:
    assert client.post("/sign-in/passkey/options").status_code == 409
    response = client.post("/sign-in/passkey", json={"credential": {}})
    assert response.status_code == 409 and not signed_in(client)


def test_another_persons_passkey_does_not_sign_me_in(
    app: Flask, client: FlaskClient, auth: AuthActions, with_passkey: SoftPasskey
) -> None:
    other = "other@example.org"
    auth.create(other)
    password_step(client, other)
    # The other account has no passkey: no options, and my passkey's answer does not fit it.
    assert client.post("/sign-in/passkey/options").status_code == 400
    mine = app.test_client()
    password_step(mine)
    answer = with_passkey.get(mine.post("/sign-in/passkey/options").get_json(), ORIGIN)
    response = client.post("/sign-in/passkey", json={"credential": answer})
    assert response.status_code == 400 and not signed_in(client)


def test_removing_a_passkey_and_an_admin_reset(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.organizer()
    first, second = SoftPasskey(), SoftPasskey()
    assert add(app, client, first, "Phone").status_code == 200
    assert add(app, client, second, "Key").status_code == 200
    phone, key = stored(app)
    page = client.post(f"/manage/two-factor/passkeys/{phone.id}/remove", follow_redirects=True)
    assert "The passkey is removed." in page.get_data(as_text=True)
    assert [k.name for k in stored(app)] == ["Key"]
    assert ("account.passkey_remove", {"passkey": phone.id, "name": "Phone"}) in actions(
        app, ORGANIZER)

    # Someone else cannot remove my passkey.
    other = app.test_client()
    auth.create("other@example.org")
    auth.post_sign_in({"email": "other@example.org", "password": STAFF_PASSWORD}, other)
    answer = other.post(f"/manage/two-factor/passkeys/{key.id}/remove", follow_redirects=True)
    assert "No such passkey on your account." in answer.get_data(as_text=True)
    assert len(stored(app)) == 1

    # An admin's reset (a lost phone) removes the passkeys with the codes.
    admin = app.test_client()
    auth.create("admin@example.org", StaffRole.ADMIN)
    auth.post_sign_in({"email": "admin@example.org", "password": STAFF_PASSWORD}, admin)
    with app.app_context():
        user_id = db.session.scalar(select(StaffUser.id).where(StaffUser.email == ORGANIZER))
    admin.post(f"/manage/staff/{user_id}/two-factor/reset")
    assert stored(app) == []
    assert actions(app, ORGANIZER)[-1] == ("account.two_factor_reset", {
        "was_enrolled": True, "sessions_ended": 1, "passkeys_removed": 1})


def test_without_codes_no_passkey_can_be_added(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    """A passkey never replaces the codes: an account without them cannot add one."""
    auth.create("door@example.org", two_factor=False,
                teams=({"event_id": None, "role": "door"},))
    auth.post_sign_in({"email": "door@example.org", "password": STAFF_PASSWORD})
    response = client.post("/manage/two-factor/passkeys/options", json={"code": "123456"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "Set up two-factor sign-in with codes first."


def test_a_malformed_answer_for_a_real_passkey_is_refused_and_counted(
    app: Flask, client: FlaskClient, with_passkey: SoftPasskey
) -> None:
    password_step(client)
    options = client.post("/sign-in/passkey/options").get_json()
    answer = with_passkey.get(options, ORIGIN)
    answer["response"] = {"clientDataJSON": 5}  # not what any browser sends
    response = client.post("/sign-in/passkey", json={"credential": answer})
    assert response.status_code == 400 and not signed_in(client)
    assert actions(app, ORGANIZER)[-1] == ("auth.sign_in_failed", {"reason": "passkey_refused"})
