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


def upgrade():
    crypto.rotate_all(op.get_bind(), current_app.extensions[crypto.EXTENSION])


def downgrade():
    crypto.decrypt_all(op.get_bind(), current_app.extensions[crypto.EXTENSION])
