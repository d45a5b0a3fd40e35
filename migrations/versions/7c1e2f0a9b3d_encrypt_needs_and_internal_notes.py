"""Encrypt accessibility and dietary needs and internal notes at rest

The columns stay text; their values become Fernet tokens (nkhr_events/encryption.py), with
the keys of the application running the upgrade (NKHR_ENCRYPTION_KEYS, else derived from
SECRET_KEY). Downgrading writes them back as plain text.

This revision carries its own copy of the row walker and imports nothing from the application,
so a later change there cannot change what it does.

Revision ID: 7c1e2f0a9b3d
Revises: 5df4def58f23
Create Date: 2026-11-28 21:05:00.000000

"""
import sqlalchemy as sa
from alembic import op
from flask import current_app


# revision identifiers, used by Alembic.
revision = '7c1e2f0a9b3d'
down_revision = '5df4def58f23'
branch_labels = None
depends_on = None


#: The columns this revision encrypts (later revisions add their own).
COLUMNS = {"registration": ("accessibility_needs", "dietary_needs", "internal_notes")}
TYPE = sa.Text


#: The running application's key ring (its `encrypt`, `rotate` and `decrypt` take and give
#: text), found by the name the application registers it under; nothing is imported from it.
KEY_RING = "nkhr_crypto"
#: Every Fernet token starts with its version byte 0x80, which base64url-encodes to "gAAAAA".
TOKEN_PREFIX = "gAAAAA"


def _rows(connection, target):
    last_id = 0
    while True:
        batch = connection.execute(
            sa.select(target).where(target.c.id > last_id).order_by(target.c.id).limit(500)
        ).all()
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def _walk(change):
    """Write `change(column, value)` (None: leave it) into every row of COLUMNS."""
    keys = current_app.extensions[KEY_RING]
    connection = op.get_bind()
    for name, columns in COLUMNS.items():
        target = sa.table(name, sa.column("id"), *(sa.column(c, TYPE) for c in columns))
        for row in _rows(connection, target):
            values = {}
            for column in columns:
                new = change(keys, getattr(row, column))
                if new is not None:
                    values[column] = new
            if values:
                connection.execute(sa.update(target).where(target.c.id == row.id).values(**values))


def _encrypt(keys, value):
    if not value:
        return None
    return keys.rotate(value) if value.startswith(TOKEN_PREFIX) else keys.encrypt(value)


def _decrypt(keys, value):
    return keys.decrypt(value) if value and value.startswith(TOKEN_PREFIX) else None


def upgrade():
    _walk(_encrypt)


def downgrade():
    _walk(_decrypt)
