"""`flask registrations release-unconfirmed`: registration tasks from the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import AppGroup

from nkhr_events.audit.services import SYSTEM
from nkhr_events.extensions import db
from nkhr_events.registrations.holds import release_unconfirmed

registrations_cli = AppGroup("registrations", help="Registrations.")


@registrations_cli.command("release-unconfirmed")
@click.option(
    "--now",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]),
    default=None,
    help="Release as if it were this UTC time (default: now).",
)
def release_unconfirmed_command(now: datetime | None) -> None:
    """Release the places whose email address was not confirmed in time (the outbox worker
    also does this about once a minute)."""
    report = release_unconfirmed(now.replace(tzinfo=UTC) if now is not None else None,
                                 actor=SYSTEM)
    db.session.commit()
    click.echo(f"Email confirmation: {report}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(registrations_cli)
