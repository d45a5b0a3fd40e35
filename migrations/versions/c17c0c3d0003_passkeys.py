"""Passkeys (WebAuthn) as an alternative second factor: the public key of each credential a
staff member registered, with its signature counter

Revision ID: c17c0c3d0003
Revises: c17b0b2c0002
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c17c0c3d0003'
down_revision = 'c17b0b2c0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staff_passkey',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.String(length=1400), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('sign_count', sa.BigInteger(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('transports', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'],
                                name=op.f('fk_staff_passkey_user_id_staff_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_passkey')),
        sa.UniqueConstraint('credential_id', name=op.f('uq_staff_passkey_credential_id')),
    )
    with op.batch_alter_table('staff_passkey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_passkey_user_id'), ['user_id'], unique=False)


def downgrade():
    # The older version signs in with codes only; every enrolled account still has them.
    with op.batch_alter_table('staff_passkey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_passkey_user_id'))
    op.drop_table('staff_passkey')
