"""Email confirmation to keep a seat, and flood cancellation

Revision ID: c13c0f1d0003
Revises: c13b5e55f002
Create Date: 2026-12-01 23:00:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'c13c0f1d0003'
down_revision = 'c13b5e55f002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmation_minutes', sa.Integer(), nullable=True))

    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('confirm_by', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_registration_confirm_by', ['confirm_by'], unique=False)


def downgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index('ix_registration_confirm_by')
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('confirm_by')
        batch_op.drop_column('email_confirmed_at')

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('email_confirmation_minutes')
