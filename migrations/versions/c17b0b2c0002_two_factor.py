"""Two-factor sign-in: a one-time code secret per staff account (encrypted), the last step
accepted, single-use recovery codes (hashed), and the session end of a two-factor reset

Revision ID: c17b0b2c0002
Revises: c17a0a1b0001
Create Date: 2026-12-02 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c17b0b2c0002'
down_revision = 'c17a0a1b0001'
branch_labels = None
depends_on = None

REASONS_BEFORE = "'sign_out', 'password_change', 'password_reset', 'deactivation'"
REASONS_AFTER = REASONS_BEFORE + ", 'two_factor_reset'"


def upgrade():
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('two_factor_enrolled_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))

    op.create_table(
        'recovery_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'],
                                name=op.f('fk_recovery_code_user_id_staff_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code')),
        sa.UniqueConstraint('code_hash', name=op.f('uq_recovery_code_code_hash')),
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_staff_session_ended_reason'), type_='check')
        batch_op.create_check_constraint(op.f('ck_staff_session_ended_reason'),
                                         f"ended_reason in ({REASONS_AFTER})")


def downgrade():
    # The older version knows no such session end: those sessions ended as a deactivation
    # does (all of the person's sessions, at once).
    op.execute("UPDATE staff_session SET ended_reason = 'deactivation' "
               "WHERE ended_reason = 'two_factor_reset'")
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_staff_session_ended_reason'), type_='check')
        batch_op.create_check_constraint(op.f('ck_staff_session_ended_reason'),
                                         f"ended_reason in ({REASONS_BEFORE})")

    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))
    op.drop_table('recovery_code')

    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('two_factor_enrolled_at')
        batch_op.drop_column('totp_secret')
