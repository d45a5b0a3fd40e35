"""Index of an event's registration ids (event_id, id): the dashboard's check-ins are found by
event from the index alone

Revision ID: c22c0c3d0003
Revises: c22b0b2c0002
Create Date: 2026-12-03 00:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c22c0c3d0003'
down_revision = 'c22b0b2c0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index('ix_registration_event_ids', ['event_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index('ix_registration_event_ids')
