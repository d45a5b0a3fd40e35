"""Command-line tasks: `flask history import`, `flask staff create`, `flask staff bootstrap`,
`flask staff reset-two-factor`."""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from nkhr_events.accounts import twofactor
from nkhr_events.accounts.models import StaffRole
from nkhr_events.accounts.services import (
    AccountKind,
    create_staff,
    generate_password,
    has_admin,
    staff_by_email,
)
from nkhr_events.audit.models import AuditEntry
from nkhr_events.audit.services import SYSTEM
from nkhr_events.errors import DomainError
from nkhr_events.events.history import import_history
from nkhr_events.extensions import db

history_cli = AppGroup("history", help="The history of past conferences.")
staff_cli = AppGroup("staff", help="Staff accounts.")


@history_cli.command("import")
def history_import() -> None:
    """Load the shipped series, past conferences and co-organizers (adds only what is missing)."""
    report = import_history()
    db.session.commit()
    click.echo(f"History import: {report}.")


@staff_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([k.value for k in AccountKind]), default="organizer",
              help="admin, organizer (of every event) or staff (rights from event teams only).")
@click.option("--name", default="", help="Display name (defaults to the address).")
@click.password_option(help="Prompted for when not given.")
def staff_create(email: str, role: str, name: str, password: str) -> None:
    """Create a staff account."""
    try:
        user = create_staff(email, name, password, AccountKind(role))
    except DomainError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Created {role} account {user.email}.")


@staff_cli.command("bootstrap")
def staff_bootstrap() -> None:
    """Create the first admin if there is none.

    Uses NKHR_ADMIN_EMAIL / NKHR_ADMIN_PASSWORD when set; otherwise a generated password is
    printed once.
    """
    if has_admin():
        click.echo("An admin account exists; nothing to do.")
        return
    email = os.environ.get("NKHR_ADMIN_EMAIL") or "admin@example.org"
    password = os.environ.get("NKHR_ADMIN_PASSWORD") or ""
    generated = not password
    if generated:
        password = generate_password()
    try:
        create_staff(email, "Administrator", password, StaffRole.ADMIN)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo("")
    click.echo("  First admin account created.")
    click.echo(f"    email:    {email}")
    if generated:
        click.echo(f"    password: {password}")
        click.echo("  Write the password down now: it is not shown again.")
    else:
        click.echo("    password: as given in NKHR_ADMIN_PASSWORD")
    click.echo("")


@staff_cli.command("reset-two-factor")
@click.argument("email")
def staff_reset_two_factor(email: str) -> None:
    """Turn off the two-factor sign-in of the account at EMAIL (a lost phone, and no other
    admin to reset it on the staff pages): its secret, recovery codes and passkeys go, its
    sessions end, and the person sets two-factor sign-in up again at their next sign-in.
    Recorded on the audit trail as done by the system."""
    user = staff_by_email(email)
    if user is None:
        raise click.ClickException(f"No staff account has the address {email.strip()!r}.")
    try:
        twofactor.reset(user, actor=SYSTEM)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    # What the reset did, as the trail keeps it.
    entry = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "account.two_factor_reset",
               AuditEntry.object_type == "staff_user", AuditEntry.object_id == user.id)
        .order_by(AuditEntry.id.desc()).limit(1)
    ).one()
    db.session.commit()
    state = "was on" if entry.detail.get("was_enrolled") else "was not set up"
    click.echo(f"Two-factor sign-in of {user.email} {state}; it is reset now.")
    click.echo(f"  Sessions ended: {entry.detail.get('sessions_ended', 0)}.")
    if entry.detail.get("passkeys_removed"):
        click.echo(f"  Passkeys removed: {entry.detail['passkeys_removed']}.")
    click.echo("  At the next sign-in with their password, they set up an authenticator app "
               "again.")
    if not user.active:
        click.echo("  The account is deactivated: an admin must reactivate it first.")


def init_app(app: Flask) -> None:
    app.cli.add_command(history_cli)
    app.cli.add_command(staff_cli)
