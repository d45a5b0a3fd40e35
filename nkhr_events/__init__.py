"""nkhr_events: registration and participant management for an NGO's conference series."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from nkhr_events import config
from nkhr_events.extensions import babel, csrf, db, limiter, login, mail, migrate

#: The checkout: templates/, static/ and migrations/ live beside the package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: defaults, then the environment, then `test_config`."""
    instance_path = os.environ.get("NKHR_INSTANCE_PATH") or str(PROJECT_ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=instance_path,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(config.defaults(app.instance_path))
    app.config.from_mapping(config.from_environment(os.environ))
    if test_config is not None:
        app.config.from_mapping(test_config)
    _require_secret_key(app)
    _require_encryption_keys(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        config.private_folder(app.instance_path)

    from nkhr_events.web import BoundedIntegerConverter

    # Before any blueprint adds a rule: every <int:...> is an id a database integer holds.
    app.url_map.converters["int"] = BoundedIntegerConverter

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    mail.init_app(app)
    csrf.init_app(app)
    login.init_app(app)
    limiter.init_app(app)

    from nkhr_events import (
        models,  # noqa: F401  (every table registered on the metadata)
        pagecache,
        web,
    )
    from nkhr_events.database import configure_engine

    babel.init_app(app, locale_selector=web.select_locale)
    with app.app_context():
        configure_engine(db.engine, app.config["NKHR_SEAT_LOCK_TIMEOUT_MS"])
    web.init_app(app)
    pagecache.init_app(app)

    from nkhr_events.registrations import interpretation

    interpretation.init_app(app)  # `interpretation_label` for the templates

    # In every package, views.py holds the public pages and manage.py the staff pages.
    from nkhr_events.accounts import manage as accounts_manage
    from nkhr_events.accounts import team_manage as accounts_teams
    from nkhr_events.accounts import views as accounts_views
    from nkhr_events.audit import manage as audit_manage
    from nkhr_events.checkin import manage as checkin_manage
    from nkhr_events.checkin import scan_manage as checkin_scan
    from nkhr_events.checkin import views as checkin_views
    from nkhr_events.documents import (
        certificate_views,
        documents_manage,
        verify_views,
        visa_manage,
        visa_views,
    )
    from nkhr_events.events import manage as events_manage
    from nkhr_events.events import views as events_views
    from nkhr_events.inquiries import inquiries_manage
    from nkhr_events.inquiries import views as inquiries_views
    from nkhr_events.invitations import (
        group_views,
        groups_manage,
        invitation_views,
        invitations_manage,
        protected_manage,
    )
    from nkhr_events.outbox import manage as outbox_manage
    from nkhr_events.partners import manage as partners_manage
    from nkhr_events.partners import views as partners_views
    from nkhr_events.programme import (
        archive_manage,
        archive_views,
        sessions_manage,
        signup_views,
        signups_manage,
        speaker_views,
        speakers_manage,
    )
    from nkhr_events.programme import views as programme_views
    from nkhr_events.registrations import views as registrations_views
    from nkhr_events.roster import chart_views as roster_charts
    from nkhr_events.roster import manage as roster_manage

    app.register_blueprint(events_views.bp)
    app.register_blueprint(accounts_views.bp)
    app.register_blueprint(accounts_manage.bp)
    app.register_blueprint(accounts_teams.bp)
    app.register_blueprint(audit_manage.bp)
    app.register_blueprint(events_manage.bp)
    app.register_blueprint(inquiries_views.bp)
    app.register_blueprint(inquiries_manage.bp)
    app.register_blueprint(outbox_manage.bp)
    app.register_blueprint(registrations_views.bp)
    app.register_blueprint(roster_manage.bp)
    app.register_blueprint(roster_charts.bp)
    app.register_blueprint(checkin_manage.bp)
    app.register_blueprint(checkin_scan.bp)
    app.register_blueprint(checkin_views.bp)
    app.register_blueprint(partners_views.bp)
    app.register_blueprint(partners_manage.bp)
    app.register_blueprint(invitation_views.bp)
    app.register_blueprint(invitations_manage.bp)
    app.register_blueprint(protected_manage.bp)
    app.register_blueprint(group_views.bp)
    app.register_blueprint(groups_manage.bp)
    app.register_blueprint(visa_views.bp)
    app.register_blueprint(visa_manage.bp)
    app.register_blueprint(verify_views.bp)
    app.register_blueprint(certificate_views.bp)
    app.register_blueprint(documents_manage.bp)
    app.register_blueprint(archive_views.bp)
    app.register_blueprint(archive_manage.bp)
    app.register_blueprint(signup_views.bp)
    app.register_blueprint(signups_manage.bp)
    app.register_blueprint(speaker_views.bp)
    app.register_blueprint(speakers_manage.bp)
    app.register_blueprint(programme_views.bp)
    app.register_blueprint(sessions_manage.bp)

    from nkhr_events import cli
    from nkhr_events.outbox import cli as outbox_cli
    from nkhr_events.privacy import cli as privacy_cli
    from nkhr_events.registrations import cli as registrations_cli

    cli.init_app(app)
    outbox_cli.init_app(app)
    privacy_cli.init_app(app)
    registrations_cli.init_app(app)

    from nkhr_events import logs, ops

    logs.init_app(app)
    ops.init_app(app)

    from nkhr_events import encryption

    encryption.init_app(app)  # after logging, so a warning about the keys is logged like the rest
    return app


def _require_secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    if app.config["NKHR_ENV"] == "development":
        app.config["SECRET_KEY"] = config.development_secret_key(app.instance_path)
        return
    raise RuntimeError(
        "SECRET_KEY is not set. Set it in the environment (outside development it is required)."
    )


#: A command that prints a new key without starting the app (which needs one to start).
NEW_KEY_COMMAND = "python -m nkhr_events.encryption"


def _require_encryption_keys(app: Flask) -> None:
    """Outside development, the keys of the data encrypted at rest come from the environment:
    a key derived from SECRET_KEY would sit on the same host as the database, beside the secret
    it comes from. Tests that configure no key get the derived one (encryption.py)."""
    if app.config.get("NKHR_ENCRYPTION_KEYS") or app.testing:
        return
    if app.config["NKHR_ENV"] == "development":
        app.config["NKHR_ENCRYPTION_KEYS"] = config.development_encryption_key(app.instance_path)
        return
    raise RuntimeError(
        "NKHR_ENCRYPTION_KEYS is not set. Set it in the environment (outside development it is "
        "required, and no key is derived from SECRET_KEY); `.venv/bin/" + NEW_KEY_COMMAND
        + "` prints a new key."
    )
