"""Encrypt the answers to the category questions (and the event's own question) at rest

The column stays JSON; each non-empty value becomes a JSON string holding the Fernet token of
the answers' JSON text (nkhr_events/privacy/crypto.py, `EncryptedJSON`), with the keys of the
application running the upgrade. Downgrading writes the answers back as plain JSON.

Revision ID: b8e4d21c6f5a
Revises: 14cfaa4c99c2
Create Date: 2026-11-29 01:00:00.000000

"""
from alembic import op
from flask import current_app

from nkhr_events.privacy import crypto


# revision identifiers, used by Alembic.
revision = 'b8e4d21c6f5a'
down_revision = '14cfaa4c99c2'
branch_labels = None
depends_on = None

#: The columns this revision encrypts.
JSON_COLUMNS = {"registration": ("answers",)}


def upgrade():
    crypto.rotate_all(op.get_bind(), current_app.extensions[crypto.EXTENSION], {}, JSON_COLUMNS)


def downgrade():
    crypto.decrypt_all(op.get_bind(), current_app.extensions[crypto.EXTENSION], {}, JSON_COLUMNS)
