"""The framework's ceiling: the registration rush's four pages in a minimal Flask application.

The same page sequence as the real flow — a category choice (a GET form), a form carrying a
token kept in the signed session cookie, a POST that checks the token, inserts one row and
redirects with 303, and a result page naming the address — with none of the application's work:
no extensions, no translations, no validation library, no seat lock, no email. Served by the
same gunicorn settings on the same kind of database, it is what Flask, Jinja, SQLAlchemy and
the database driver cost on this machine, and so the most the real flow could reach.

    CEILING_DATABASE_URL=sqlite:////tmp/x.sqlite3 gunicorn -w 2 bench.rush.ceiling_app:app
"""

from __future__ import annotations

import os
import secrets

from flask import Flask, abort, redirect, render_template, request, session, url_for
from jinja2 import DictLoader
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    insert,
)
from sqlalchemy.engine import Engine
from werkzeug.wrappers import Response

from nkhr_events.config import engine_options
from nkhr_events.database import configure_engine

CATEGORIES = ("expert", "academic", "journalist", "general_public")

metadata = MetaData()
entry = Table(
    "ceiling_entry",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("category", String(32), nullable=False),
    Column("given_name", String(100), nullable=False),
    Column("family_name", String(100), nullable=False),
    Column("email", String(254), nullable=False),
    Column("language", String(8), nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now()),
)

LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><main>{% block content %}{% endblock %}</main></body></html>"""

CHOOSE = """{% extends "layout.html" %}{% block content %}
<h1>Register</h1>
<form method="get" action="{{ url_for('form') }}">
{% for c in categories %}<label><input type="radio" name="category" value="{{ c }}"> {{ c }}</label>
{% endfor %}<button type="submit">Continue</button></form>{% endblock %}"""

FORM = """{% extends "layout.html" %}{% block content %}
<h1>Register: {{ category }}</h1>
<form method="post">
<input type="hidden" name="csrf_token" value="{{ token }}">
<label>Given name <input type="text" name="given_name"></label>
<label>Family name <input type="text" name="family_name"></label>
<label>Email <input type="email" name="email"></label>
<label><input type="radio" name="language" value="en"> English</label>
<label><input type="radio" name="language" value="ko"> 한국어</label>
<label><input type="checkbox" name="privacy_consent" value="y"> I agree</label>
<button type="submit">Register</button></form>{% endblock %}"""

DONE = """{% extends "layout.html" %}{% block content %}
<h1>Check your email</h1><p>Thank you. We have sent an email to {{ email }}.</p>{% endblock %}"""


def make_engine(url: str) -> Engine:
    """An engine with the application's settings for this database (pool, ping, SQLite's
    pragmas): the ceiling differs from the app in its work, not in its connections."""
    engine = create_engine(url, **engine_options(url, {}))
    configure_engine(engine)
    return engine


def create_app(url: str) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "ceiling")
    # Compiled once and cached, as Flask does with template files.
    app.jinja_loader = DictLoader(
        {"layout.html": LAYOUT, "choose.html": CHOOSE, "form.html": FORM, "done.html": DONE}
    )
    engine = make_engine(url)

    @app.get("/register")
    def choose() -> str:
        return render_template("choose.html", title="Register", categories=CATEGORIES)

    @app.route("/register/form", methods=["GET", "POST"])
    def form() -> str | Response:
        category = request.args.get("category", "")
        if category not in CATEGORIES:
            abort(404)
        if request.method == "POST":
            sent = request.form.get("csrf_token", "")
            if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
                abort(400)
            email = request.form.get("email", "").strip()
            if not email or "@" not in email or request.form.get("privacy_consent") != "y":
                abort(400)
            with engine.begin() as connection:
                connection.execute(insert(entry).values(
                    category=category,
                    given_name=request.form.get("given_name", ""),
                    family_name=request.form.get("family_name", ""),
                    email=email,
                    language=request.form.get("language", "en"),
                ))
            session["sent_to"] = email
            return redirect(url_for("done"), code=303)
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        return render_template(
            "form.html", title="Register", category=category, token=session["csrf"]
        )

    @app.get("/register/sent")
    def done() -> str:
        return render_template(
            "done.html", title="Check your email", email=session.get("sent_to")
        )

    return app


def create_tables(url: str) -> None:
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()


app = create_app(os.environ["CEILING_DATABASE_URL"]) if "CEILING_DATABASE_URL" in os.environ \
    else None
