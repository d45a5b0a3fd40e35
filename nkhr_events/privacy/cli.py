"""`flask privacy purge [--dry-run]`: anonymize what is kept past its retention period."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import AppGroup

from nkhr_events.extensions import db
from nkhr_events.privacy.services import purge

privacy_cli = AppGroup("privacy", help="Personal data: retention and erasure.")


@privacy_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be anonymized; change nothing.")
@click.option(
    "--now",
    "now_text",
    default=None,
    help="Act as if it were this date (YYYY-MM-DD, UTC); for checking a schedule ahead.",
)
def purge_command(dry_run: bool, now_text: str | None) -> None:
    """Anonymize registrations, inquiries and partner contacts past their retention period."""
    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError as error:
            raise click.BadParameter("use YYYY-MM-DD", param_hint="--now") from error
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
    report = purge(now=now, dry_run=dry_run)
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run, nothing changed. Would anonymize: {report}.")
        return
    db.session.commit()
    click.echo(f"Anonymized: {report}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(privacy_cli)
