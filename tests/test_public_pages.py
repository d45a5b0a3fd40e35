"""Public pages: the shared layout on every page, drafts kept out of sight, error pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from factories import make_event, make_series, past_days
from flask import Flask
from flask.testing import FlaskClient
from markup import Document, parse
from sqlalchemy import text

from nkhr_events.dbtypes import utcnow
from nkhr_events.events.history import import_history
from nkhr_events.events.models import EventStatus
from nkhr_events.extensions import db

HANGUL = re.compile(r"[\uac00-\ud7a3]")
ASSET_ATTRIBUTES = {"script": "src", "link": "href", "img": "src", "source": "src",
                    "video": "src", "audio": "src", "track": "src", "input": "src"}


@dataclass
class Site:
    series_slug: str
    other_series_slug: str
    published_slug: str
    published_title: str
    archived_slug: str
    draft_slug: str
    draft_title: str
    past_draft_slug: str
    past_draft_title: str


@pytest.fixture
def site(app: Flask) -> Site:
    """The shipped history plus an upcoming published event and two drafts (one in the past)."""
    with app.app_context():
        import_history()
        db.session.commit()
        from nkhr_events.events.services import series_by_slug

        series = series_by_slug("international-conference")
        other = make_series(slug="new-approaches-test", name="Another Series")
        published = make_event(series=series, title="Seoul Summit on Refugees")
        make_event(series=other, title="New Approaches Workshop")
        draft = make_event(series=series, title="Unannounced Draft Forum",
                           status=EventStatus.DRAFT)
        past_draft = make_event(series=series, title="Forgotten Draft Meeting",
                                city="Geneva", country="CH", timezone="Europe/Zurich",
                                days=past_days(2015, 6, 1, 2), status=EventStatus.DRAFT)
        db.session.commit()
        return Site(
            series_slug=series.slug,
            other_series_slug=other.slug,
            published_slug=published.slug,
            published_title=published.title,
            archived_slug="icnkhr-2004-warsaw",
            draft_slug=draft.slug,
            draft_title=draft.title,
            past_draft_slug=past_draft.slug,
            past_draft_title=past_draft.title,
        )


def public_paths(site: Site) -> list[str]:
    return [
        "/",
        f"/series/{site.series_slug}",
        f"/events/{site.published_slug}",
        f"/events/{site.archived_slug}",
        "/history",
        "/participate",
        "/privacy",
        "/sign-in",
    ]


def assert_page_layout(page: Document, language: str) -> None:
    """The base layout's promises: lang, title, one h1, skip link, main landmark, no
    third-party assets and nothing inline that the Content-Security-Policy would block."""
    assert page.doctype is not None and page.doctype.lower() == "doctype html"
    assert page.one("html").get("lang") == language
    title = page.one("title").text
    assert title and not title.startswith("·"), f"empty page title: {title!r}"
    assert page.one("h1").text
    body = page.one("body")
    first_link = body.find("a")
    assert first_link is not None and first_link.get("href") == "#main", "skip link comes first"
    assert page.one("main").get("id") == "main"
    viewport = page.one("meta", name="viewport").get("content") or ""
    assert "width=device-width" in viewport
    description = page.one("meta", name="description").get("content") or ""
    assert len(description) > 30, "a meta description says what the page is"
    for element in page.iter():
        attribute = ASSET_ATTRIBUTES.get(element.tag)
        url = (element.get(attribute) or "") if attribute else ""
        assert not re.match(r"^(https?:)?//", url, re.I), f"off-site asset {element}"
        assert element.tag not in {"iframe", "object", "embed", "style", "base"}, element
        if element.tag == "script":
            assert element.get("src") and not element.raw_text.strip(), "inline script"
        assert "style" not in element.attrs, f"inline style on {element}"
        assert not any(name.startswith("on") for name in element.attrs), f"handler on {element}"


@pytest.mark.parametrize("language", ["en", "ko"])
def test_every_public_page_has_the_accessible_self_contained_layout(
    client: FlaskClient, site: Site, language: str
) -> None:
    for path in public_paths(site):
        response = client.get(path, headers={"Accept-Language": language})
        assert response.status_code == 200, path
        assert response.mimetype == "text/html"
        assert_page_layout(parse(response.get_data(as_text=True)), language)


def test_an_event_page_describes_that_event(client: FlaskClient, site: Site) -> None:
    page = parse(client.get(f"/events/{site.published_slug}").get_data(as_text=True))
    assert page.one("meta", name="description").get("content").startswith(site.published_title)


def test_page_titles_differ_per_page_and_name_the_site(client: FlaskClient, site: Site) -> None:
    titles = [parse(client.get(p).get_data(as_text=True)).one("title").text
              for p in public_paths(site)]
    assert len(set(titles)) == len(titles)
    assert all(t.endswith("· NKHR Conferences") for t in titles)


def test_layout_stylesheet_and_icon_are_served_from_this_site(
    client: FlaskClient, site: Site
) -> None:
    page = parse(client.get("/").get_data(as_text=True))
    hrefs = [link.get("href") or "" for link in page.find_all("link")]
    assert hrefs, "the layout links its stylesheet"
    for href in hrefs:
        assert href.startswith("/static/")
        asset = client.get(href)
        assert asset.status_code == 200, href
        asset.close()


def test_drafts_are_invisible_to_the_public(client: FlaskClient, site: Site) -> None:
    assert client.get(f"/events/{site.draft_slug}").status_code == 404
    assert client.get(f"/events/{site.past_draft_slug}").status_code == 404
    pages = {
        "home": client.get("/").get_data(as_text=True),
        "series": client.get(f"/series/{site.series_slug}").get_data(as_text=True),
        "history": client.get("/history").get_data(as_text=True),
    }
    for name, html in pages.items():
        for hidden in (site.draft_title, site.draft_slug, site.past_draft_title,
                       site.past_draft_slug, "Geneva"):
            assert hidden not in html, f"{hidden} shows on {name}"


def test_published_and_archived_events_are_visible(client: FlaskClient, site: Site) -> None:
    home = client.get("/").get_data(as_text=True)
    assert site.published_title in home
    assert f"/events/{site.published_slug}" in home

    series = client.get(f"/series/{site.series_slug}").get_data(as_text=True)
    assert site.published_title in series
    assert f"/events/{site.archived_slug}" in series
    assert series.count('href="/events/') == 11  # ten past editions and the upcoming one
    assert "New Approaches Workshop" not in series
    other = client.get(f"/series/{site.other_series_slug}").get_data(as_text=True)
    assert "New Approaches Workshop" in other

    published = client.get(f"/events/{site.published_slug}")
    assert published.status_code == 200
    assert "Registration is open" in published.get_data(as_text=True)
    archived = client.get(f"/events/{site.archived_slug}")
    assert archived.status_code == 200
    html = archived.get_data(as_text=True)
    assert "This conference has taken place." in html
    assert "Warsaw, Poland" in html


def test_a_published_event_that_has_ended_joins_the_history(
    app: Flask, client: FlaskClient, site: Site
) -> None:
    with app.app_context():
        make_event(title="Recently Held Forum", city="Berlin", country="DE",
                   timezone="Europe/Berlin", days=[utcnow().date() - timedelta(days=3)])
        db.session.commit()
    assert "Berlin, Germany" in client.get("/history").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert "Recently Held Forum" not in parse(home).one("section", **{
        "aria-labelledby": "upcoming-heading"}).text


def test_unknown_series_and_event_give_404(client: FlaskClient, site: Site) -> None:
    assert client.get("/series/no-such-series").status_code == 404
    assert client.get("/events/no-such-event").status_code == 404


def test_participation_page_names_every_category_and_the_privacy_notice_the_contact(
    client: FlaskClient,
) -> None:
    html = client.get("/participate").get_data(as_text=True)
    for category in ("Experts", "Academics", "Journalists",
                     "Human rights and humanitarian organizations", "Activists", "Artists",
                     "Government representatives", "International organization representatives",
                     "The general public"):
        assert category in html
    privacy = parse(client.get("/privacy").get_data(as_text=True))
    assert privacy.find("a", href="mailto:intl-campaign@localhost") is not None


# --- error pages -----------------------------------------------------------------------------


def error_page(response_html: str, language: str) -> str:
    page = parse(response_html)
    assert_page_layout(page, language)
    heading = page.one("h1").text
    if language == "ko":
        assert HANGUL.search(heading), f"untranslated error page heading {heading!r}"
    return heading


@pytest.mark.parametrize("language", ["en", "ko"])
def test_not_found_page_in_each_language(client: FlaskClient, language: str) -> None:
    response = client.get("/no-such-page", headers={"Accept-Language": language})
    assert response.status_code == 404
    heading = error_page(response.get_data(as_text=True), language)
    if language == "en":
        assert heading == "Page not found"


@pytest.mark.parametrize("language", ["en", "ko"])
def test_method_not_allowed_page_in_each_language(client: FlaskClient, language: str) -> None:
    response = client.get("/sign-out", headers={"Accept-Language": language})
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == {"OPTIONS", "POST"}
    heading = error_page(response.get_data(as_text=True), language)
    if language == "en":
        assert heading == "This action is not allowed here"
    assert client.post("/history", headers={"Accept-Language": language}).status_code == 405


@pytest.mark.parametrize("language", ["en", "ko"])
def test_too_large_request_page_in_each_language(client: FlaskClient, language: str) -> None:
    response = client.post(
        "/language",
        data={"lang": "ko", "next": "/", "padding": "x" * (3 * 1024 * 1024)},
        headers={"Accept-Language": language},
    )
    assert response.status_code == 413
    heading = error_page(response.get_data(as_text=True), language)
    if language == "en":
        assert heading == "What you sent is too large"
    assert "nkhr_lang" not in response.headers.get("Set-Cookie", "")


def add_failing_routes(app: Flask) -> None:
    """Two pages that fail: one with a plain exception, one inside the database."""

    def crash() -> str:
        raise RuntimeError("internal detail that must not leak")

    def bad_query() -> str:
        db.session.execute(text("select * from no_such_table"))
        return "unreachable"

    app.add_url_rule("/test-crash", "test_crash", crash)
    app.add_url_rule("/test-bad-query", "test_bad_query", bad_query)


@pytest.mark.parametrize("app_settings", [{"PROPAGATE_EXCEPTIONS": False}])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_server_error_page_in_each_language_hides_the_details(
    app: Flask, client: FlaskClient, language: str
) -> None:
    add_failing_routes(app)
    response = client.get("/test-crash", headers={"Accept-Language": language})
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    heading = error_page(html, language)
    if language == "en":
        assert heading == "Something went wrong on our side"
    assert "internal detail" not in html and "Traceback" not in html


@pytest.mark.parametrize("app_settings", [{"PROPAGATE_EXCEPTIONS": False}])
def test_server_error_page_renders_after_a_failed_database_statement(
    app: Flask, client: FlaskClient, auth: Any
) -> None:
    """A signed-in reader's error page still loads their account after the failed query."""
    add_failing_routes(app)
    auth.organizer()
    response = client.get("/test-bad-query")
    assert response.status_code == 500
    page = parse(response.get_data(as_text=True))
    assert page.one("h1").text == "Something went wrong on our side"
    assert "organizer@example.org" in page.one("footer").text
    assert client.get("/manage/").status_code == 200


def test_every_font_the_stylesheet_names_is_served_from_here(client: FlaskClient) -> None:
    """The Hangul fallback font is this app's own file (no font service), and it exists."""
    css = client.get("/static/css/site.css").get_data(as_text=True)
    urls = re.findall(r"url\(\s*[\"']?([^\"')]+)", css)
    assert urls, "the stylesheet names no font file"
    for url in urls:
        assert "//" not in url and not url.startswith(("http", "data:")), url
        response = client.get("/static/css/" + url)
        assert response.status_code == 200, url
        assert response.data[:4] == b"wOF2", url  # a WOFF2 file
        response.close()
    # Used for Hangul, and for kana and kanji, only: an English-only page never needs them.
    ranges = re.findall(r"unicode-range:\s*([^;]+);", css)
    assert ranges and all("U+0" not in r for r in ranges)
    assert any("U+AC00-D7A3" in r for r in ranges) and any("U+3040-30FF" in r for r in ranges)
