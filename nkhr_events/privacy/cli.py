"""`flask privacy purge [--dry-run]`: anonymize what is kept past its retention period;
`flask privacy new-key` and `flask privacy rotate-key`: the keys of the data encrypted at rest."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import AppGroup

from nkhr_events.audit.services import SYSTEM, record
from nkhr_events.encryption import DecryptionError, cipher, new_key
from nkhr_events.extensions import db
from nkhr_events.privacy.rotation import rotate_all
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
    report = purge(now=now, dry_run=dry_run, actor=SYSTEM)
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run, nothing changed. Would anonymize: {report}.")
        return
    db.session.commit()
    click.echo(f"Anonymized: {report}.")


@privacy_cli.command("new-key")
def new_key_command() -> None:
    """Print a new encryption key for NKHR_ENCRYPTION_KEYS."""
    click.echo(new_key())


@privacy_cli.command("rotate-key")
def rotate_key_command() -> None:
    """Re-encrypt needs and notes with the first key of NKHR_ENCRYPTION_KEYS.

    Put the new key first and keep the old ones after it; run this; then the old keys can be
    removed. Values written before encryption existed are encrypted too. One transaction: a
    value that no configured key opens stops the run and changes nothing."""
    field_cipher = cipher()
    if not field_cipher.explicit:
        click.echo(
            "NKHR_ENCRYPTION_KEYS is not set: re-encrypting with the key derived from SECRET_KEY."
        )
    try:
        report = rotate_all(db.session.connection(), field_cipher)
    except DecryptionError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    record(
        "privacy.rotate_key",
        actor=SYSTEM,
        detail={"rotated": report.rotated, "encrypted": report.encrypted},
    )
    db.session.commit()
    click.echo(f"Done: {report}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(privacy_cli)
