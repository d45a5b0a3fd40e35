"""Events say when the door opens on each of their days (local time; 06:00 unless set)

Revision ID: c18a0d1e0001
Revises: c17c0c3d0003
Create Date: 2026-12-02 11:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c18a0d1e0001'
down_revision = 'c17c0c3d0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('door_opens_at', sa.Time(), server_default='06:00:00', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('door_opens_at')
