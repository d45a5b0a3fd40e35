"""Events may show the seats left and the people waiting on their public pages

Revision ID: c15a0b7e0001
Revises: c13c0f1d0003
Create Date: 2026-12-02 03:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c15a0b7e0001'
down_revision = 'c13c0f1d0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('show_seat_counts', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('show_seat_counts')
