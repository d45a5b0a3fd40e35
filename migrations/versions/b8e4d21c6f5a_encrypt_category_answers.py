"""Encrypt the answers to the category questions (and the event's own question) at rest

The column stays JSON; each non-empty value becomes a JSON string holding the Fernet token of
the answers' JSON text (nkhr_events/encryption.py; `EncryptedJSON` in dbtypes.py), with the keys of the
application running the upgrade. Downgrading writes the answers back as plain JSON.

This revision carries its own copy of the row walker and imports nothing from the application,
so a later change there cannot change what it does.

Revision ID: b8e4d21c6f5a
Revises: 14cfaa4c99c2
Create Date: 2026-11-29 01:00:00.000000

"""
import json

import sqlalchemy as sa
from alembic import op
from flask import current_app


# revision identifiers, used by Alembic.
revision = 'b8e4d21c6f5a'
down_revision = '14cfaa4c99c2'
branch_labels = None
depends_on = None

#: The columns this revision encrypts.
COLUMNS = {"registration": ("answers",)}
TYPE = sa.JSON


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
    if isinstance(value, str) and value.startswith(TOKEN_PREFIX):
        return keys.rotate(value)
    return keys.encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _decrypt(keys, value):
    if isinstance(value, str) and value.startswith(TOKEN_PREFIX):
        return json.loads(keys.decrypt(value))
    return None


def upgrade():
    _walk(_encrypt)


def downgrade():
    _walk(_decrypt)
