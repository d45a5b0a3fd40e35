"""Private links made at delivery: outbox secrets, admin-only messages, scrub stored links

Adds `secret_maker`, `secret_subject_id` and `admin_only` to `outbox_message`, then takes every
private link out of the stored messages: each manage or password link in a body becomes the
placeholder the worker fills when it sends a message. Messages still to be sent (queued,
sending, failed) are given the maker that makes them a fresh link; one whose account or
registration is gone is cancelled. Check-in QR codes kept after delivery become late attachments
again. Links already in people's mailboxes keep working until they expire: only their hashes
were ever stored, and those stay.

Downgrading drops the columns; the scrubbed links are not restored (they were never known).

This revision carries its own copies of the names it needs and imports nothing from the
application, so a later change there cannot change what it does.

Revision ID: c13a5ec7e701
Revises: b8e4d21c6f5a
Create Date: 2026-12-01 23:00:00.000000

"""
import hashlib
import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c13a5ec7e701'
down_revision = 'b8e4d21c6f5a'
branch_labels = None
depends_on = None

#: Frozen copies of nkhr_events.outbox.models.SECRET_PLACEHOLDER and the makers' names.
PLACEHOLDER = "PRIVATE-LINK-MADE-WHEN-SENT"
MANAGE_LINK = "registration-manage-link"
PASSWORD_LINK = "staff-password-link"
INVITATION_LINK = "staff-invitation-link"
LATE_QR = b"nkhr-outbox-late-attachment:registration-checkin-qr"
#: A link token as the application makes them (secrets.token_urlsafe(32): 43 characters).
LINK = re.compile(r"(/registration/|/reset-password/)([A-Za-z0-9_-]{40,100})")
UNSENT = ("queued", "sending", "failed")

outbox_message = sa.table(
    "outbox_message",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("template", sa.String),
    sa.column("text_body", sa.Text),
    sa.column("html_body", sa.Text),
    sa.column("registration_id", sa.Integer),
    sa.column("secret_maker", sa.String),
    sa.column("secret_subject_id", sa.Integer),
    sa.column("admin_only", sa.Boolean),
    sa.column("last_error", sa.Text),
)
outbox_attachment = sa.table(
    "outbox_attachment",
    sa.column("id", sa.Integer),
    sa.column("filename", sa.String),
    sa.column("content_type", sa.String),
    sa.column("data", sa.LargeBinary),
)
password_reset_token = sa.table(
    "password_reset_token",
    sa.column("user_id", sa.Integer),
    sa.column("token_hash", sa.String),
    sa.column("created_at", sa.DateTime),
    sa.column("expires_at", sa.DateTime),
)


def _password_maker(connection, tokens):
    """(maker, user id) of the password link among `tokens`, from its stored hash."""
    for token in tokens:
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
        row = connection.execute(
            sa.select(password_reset_token.c.user_id, password_reset_token.c.created_at,
                      password_reset_token.c.expires_at)
            .where(password_reset_token.c.token_hash == digest)
        ).first()
        if row is not None:
            lifetime = row.expires_at - row.created_at
            return (INVITATION_LINK if lifetime.total_seconds() > 2 * 3600 else PASSWORD_LINK,
                    row.user_id)
    return None, None


def _scrub_messages(connection):
    rows = connection.execute(
        sa.select(outbox_message.c.id, outbox_message.c.status, outbox_message.c.template,
                  outbox_message.c.text_body, outbox_message.c.html_body,
                  outbox_message.c.registration_id)
        .where(sa.or_(outbox_message.c.text_body.like("%/registration/%"),
                      outbox_message.c.text_body.like("%/reset-password/%")))
    ).all()
    for row in rows:
        tokens = [m.group(2) for m in LINK.finditer(row.text_body or "")]
        tokens += [m.group(2) for m in LINK.finditer(row.html_body or "")]
        if not tokens:
            continue
        values = {
            "text_body": LINK.sub(rf"\g<1>{PLACEHOLDER}", row.text_body or ""),
            "html_body": LINK.sub(rf"\g<1>{PLACEHOLDER}", row.html_body)
            if row.html_body else row.html_body,
        }
        if row.template == "password_reset":
            values["admin_only"] = True
            if row.status in UNSENT:
                maker, user_id = _password_maker(connection, tokens)
                if maker is None:
                    values.update(status="cancelled",
                                  last_error="Its link was removed; ask for a new one.")
                else:
                    values.update(secret_maker=maker, secret_subject_id=user_id)
        elif row.status in UNSENT:
            if row.registration_id is None:
                values.update(status="cancelled",
                              last_error="Its link was removed; ask for a new one.")
            else:
                values.update(secret_maker=MANAGE_LINK, secret_subject_id=row.registration_id)
        connection.execute(
            sa.update(outbox_message).where(outbox_message.c.id == row.id).values(**values)
        )
    # Staff-account messages whose links were already gone are still only for admins.
    connection.execute(
        sa.update(outbox_message)
        .where(outbox_message.c.template == "password_reset")
        .values(admin_only=True)
    )


def _scrub_qr_codes(connection):
    connection.execute(
        sa.update(outbox_attachment)
        .where(outbox_attachment.c.filename == "checkin.png",
               outbox_attachment.c.content_type == "image/png")
        .values(data=LATE_QR)
    )


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret_maker', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('secret_subject_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('admin_only', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    connection = op.get_bind()
    _scrub_messages(connection)
    _scrub_qr_codes(connection)


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('admin_only')
        batch_op.drop_column('secret_subject_id')
        batch_op.drop_column('secret_maker')
