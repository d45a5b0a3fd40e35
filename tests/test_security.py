"""Security headers on every response, cookie flags, and the request size limit."""

from __future__ import annotations

import io

import pytest
from conftest import STAFF_PASSWORD, AuthActions, post_sign_in
from factories import make_event
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from nkhr_events.events.history import import_history
from nkhr_events.events.models import Event
from nkhr_events.extensions import db

SAFE_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin",
                          "strict-origin-when-cross-origin"}


def directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy or Permissions-Policy header as name -> values."""
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def permissions(policy: str) -> dict[str, str]:
    return dict(item.strip().split("=", 1) for item in policy.split(",") if item.strip())


def assert_security_headers(response: TestResponse, where: str) -> None:
    headers = response.headers
    csp = directives(headers.get("Content-Security-Policy", ""))
    assert csp.get("default-src") == ["'self'"], where
    assert csp.get("frame-ancestors") == ["'none'"], where
    assert csp.get("object-src") == ["'none'"], where
    for name, sources in csp.items():
        assert "'unsafe-inline'" not in sources, f"{where}: {name} allows inline code"
        assert "'unsafe-eval'" not in sources, f"{where}: {name} allows eval"
        assert not any(s.startswith(("http:", "https:", "*")) or s == "*" for s in sources), (
            f"{where}: {name} allows another origin")
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in SAFE_REFERRER_POLICIES, where
    allowed = permissions(headers.get("Permissions-Policy", ""))
    for feature in ("camera", "microphone", "geolocation"):
        assert allowed.get(feature) == "()", f"{where}: {feature} not denied"
    assert headers.get("X-Frame-Options") == "DENY", where


@pytest.fixture
def published_slug(app: Flask) -> str:
    with app.app_context():
        import_history()
        slug = make_event().slug
        db.session.commit()
        return slug


def test_every_page_sends_the_security_headers(
    client: FlaskClient, auth: AuthActions, published_slug: str
) -> None:
    public = ["/", "/history", "/participate", "/privacy", "/series/international-conference",
              f"/events/{published_slug}", "/events/icnkhr-2008-london", "/sign-in",
              "/static/css/site.css", "/no-such-page", "/manage/"]
    for path in public:
        response = client.get(path)
        assert_security_headers(response, f"anonymous GET {path} ({response.status_code})")
        response.close()
    for method, path in [("POST", "/history"), ("POST", "/language"), ("POST", "/sign-in")]:
        assert_security_headers(client.open(path, method=method), f"{method} {path}")

    auth.organizer()
    for path in ["/manage/", "/manage/events/new", "/manage/staff", "/"]:
        response = client.get(path)
        assert_security_headers(response, f"organizer GET {path} ({response.status_code})")


def test_only_the_check_in_pages_may_use_the_camera(
    app: Flask, client: FlaskClient, auth: AuthActions, published_slug: str
) -> None:
    with app.app_context():
        event_id = db.session.scalar(db.select(Event.id).where(Event.slug == published_slug))
    auth.organizer()
    door = client.get(f"/manage/events/{event_id}/door")
    assert door.status_code == 200
    assert permissions(door.headers["Permissions-Policy"])["camera"] == "(self)"
    assert permissions(door.headers["Permissions-Policy"])["microphone"] == "()"
    for path in ["/manage/", f"/manage/events/{event_id}", f"/events/{published_slug}"]:
        assert permissions(client.get(path).headers["Permissions-Policy"])["camera"] == "()"


def test_staff_pages_and_the_sign_in_form_are_not_cached(
    client: FlaskClient, auth: AuthActions
) -> None:
    assert client.get("/sign-in").headers["Cache-Control"] == "no-store"
    auth.organizer()
    assert client.get("/manage/").headers["Cache-Control"] == "no-store"
    assert client.get("/manage/events/new").headers["Cache-Control"] == "no-store"


def test_pages_vary_on_the_language_inputs(client: FlaskClient) -> None:
    vary = {v.strip() for v in client.get("/").headers["Vary"].split(",")}
    assert {"Cookie", "Accept-Language"} <= vary


def test_strict_transport_security_only_over_https(client: FlaskClient) -> None:
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def cookie_attributes(response: TestResponse, name: str) -> dict[str, str]:
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        if first.split("=", 1)[0] == name:
            return {a.split("=", 1)[0].lower(): (a.split("=", 1) + [""])[1] for a in attributes}
    raise AssertionError(f"no {name} cookie set")


def test_session_cookie_is_http_only_and_same_site_lax(
    client: FlaskClient, auth: AuthActions
) -> None:
    response = auth.organizer()
    attributes = cookie_attributes(response, "session")
    assert "httponly" in attributes
    assert attributes["samesite"] == "Lax"
    assert "secure" not in attributes  # plain http in development; see the next test
    assert attributes["path"] == "/"


@pytest.mark.parametrize("app_settings", [{"SESSION_COOKIE_SECURE": True}])
def test_session_cookie_is_secure_when_configured(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.create()
    response = post_sign_in(app, client, base_url="https://localhost",
                           data={"email": "organizer@example.org", "password": STAFF_PASSWORD})
    assert response.status_code == 303
    attributes = cookie_attributes(response, "session")
    assert {"secure", "httponly"} <= set(attributes)
    assert attributes["samesite"] == "Lax"


def test_language_cookie_is_http_only_and_same_site_lax(client: FlaskClient) -> None:
    response = client.post("/language", data={"lang": "ko", "next": "/"})
    attributes = cookie_attributes(response, "nkhr_lang")
    assert "httponly" in attributes
    assert attributes["samesite"] == "Lax"
    assert int(attributes["max-age"]) >= 30 * 24 * 3600


def test_language_switch_ignores_unknown_languages(client: FlaskClient) -> None:
    response = client.post("/language", data={"lang": "xx", "next": "/history"})
    assert response.status_code == 303
    assert "nkhr_lang" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "history"]
)
def test_language_switch_returns_only_to_this_site(client: FlaskClient, target: str) -> None:
    response = client.post("/language", data={"lang": "ko", "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def post_multipart(client: FlaskClient, path: str, fields: dict[str, object]) -> TestResponse:
    """A multipart POST encoded in memory (the test client would spool a large body to an
    unclosed temporary file)."""
    boundary, body = encode_multipart(fields)  # type: ignore[arg-type]
    return client.post(path, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def test_request_body_over_the_limit_is_refused_with_413(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    auth.organizer()
    too_big = "x" * (limit + 1)
    response = client.post("/manage/events/new", data={"title": "Huge", "description": too_big})
    assert response.status_code == 413
    assert "What you sent is too large" in response.get_data(as_text=True)
    upload = post_multipart(
        client, "/manage/events/new",
        {"title": "Huge", "file": FileStorage(io.BytesIO(b"\0" * (limit + 1)), "big.bin")},
    )
    assert upload.status_code == 413
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Event.id))) == 0


def test_a_single_form_field_over_the_memory_limit_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    field_limit = app.config["MAX_FORM_MEMORY_SIZE"]
    assert field_limit < app.config["MAX_CONTENT_LENGTH"]
    response = post_multipart(
        client, "/sign-in", {"email": "a@example.org", "password": "x" * (field_limit + 1)}
    )
    assert response.status_code == 413


@pytest.mark.parametrize("app_settings", [{"MAX_CONTENT_LENGTH": 1024}])
def test_configured_body_limit_applies(client: FlaskClient) -> None:
    assert client.post("/sign-in", data={"email": "a@example.org", "password": "x" * 2000}
                       ).status_code == 413
    assert client.post("/sign-in", data={"email": "a@example.org", "password": "x" * 100}
                       ).status_code == 200
