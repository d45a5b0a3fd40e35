"""Logos held between two tries of the partner form

Revision ID: d4e1a7c2b9f0
Revises: c15a0b7e0001
Create Date: 2026-12-02 03:00:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'd4e1a7c2b9f0'
down_revision = 'c15a0b7e0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pending_logo',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_pending_logo_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_pending_logo'))
    )
    with op.batch_alter_table('pending_logo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_logo_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_logo_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('pending_logo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_logo_expires_at'))
        batch_op.drop_index(batch_op.f('ix_pending_logo_event_id'))
    op.drop_table('pending_logo')
