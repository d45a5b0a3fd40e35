"""Encrypt accessibility and dietary needs and internal notes at rest

The columns stay text; their values become Fernet tokens (nkhr_events/privacy/crypto.py), with
the keys of the application running the upgrade (NKHR_ENCRYPTION_KEYS, else derived from
SECRET_KEY). Downgrading writes them back as plain text.

Revision ID: 7c1e2f0a9b3d
Revises: 5df4def58f23
Create Date: 2026-11-28 21:05:00.000000

"""
from alembic import op
from flask import current_app

from nkhr_events.privacy import crypto


# revision identifiers, used by Alembic.
revision = '7c1e2f0a9b3d'
down_revision = '5df4def58f23'
branch_labels = None
depends_on = None


#: The columns this revision encrypts (later revisions add their own).
TEXT_COLUMNS = {"registration": ("accessibility_needs", "dietary_needs", "internal_notes")}


def upgrade():
    crypto.rotate_all(
        op.get_bind(), current_app.extensions[crypto.EXTENSION], TEXT_COLUMNS, {}
    )


def downgrade():
    crypto.decrypt_all(
        op.get_bind(), current_app.extensions[crypto.EXTENSION], TEXT_COLUMNS, {}
    )
