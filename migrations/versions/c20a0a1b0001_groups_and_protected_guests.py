"""Delegations and partner blocks (registration groups), protected guests, event-specific
invitation-only categories

Revision ID: c20a0a1b0001
Revises: c19b0b2c0002
Create Date: 2026-12-04 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c20a0a1b0001'
down_revision = 'c19b0b2c0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'registration_group',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('partnership_id', sa.Integer(), nullable=True),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('places', sa.Integer(), nullable=False),
        sa.Column('reservation_id', sa.Integer(), nullable=True),
        sa.Column('contact_name', sa.String(length=200), nullable=False),
        sa.Column('contact_email', sa.String(length=254), nullable=False),
        sa.Column('contact_email_key', sa.String(length=254), nullable=False),
        sa.Column('contact_language', sa.String(length=5), nullable=False),
        sa.Column('changes_until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('contact_anonymized_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind in ('delegation', 'partner')",
                           name=op.f('ck_registration_group_kind')),
        sa.CheckConstraint("status in ('open', 'revoked')",
                           name=op.f('ck_registration_group_status')),
        sa.CheckConstraint('places > 0', name=op.f('ck_registration_group_places_positive')),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'],
                                name=op.f('fk_registration_group_event_id_event'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['partnership_id'], ['partnership.id'],
                                name=op.f('fk_registration_group_partnership_id_partnership'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['reservation_id'], ['seat_reservation.id'],
                                name=op.f('fk_registration_group_reservation_id_seat_reservation'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_group')),
    )
    with op.batch_alter_table('registration_group', schema=None) as batch_op:
        batch_op.create_index('ix_registration_group_event', ['event_id', 'created_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_registration_group_partnership_id'),
                              ['partnership_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_group_contact_email_key'),
                              ['contact_email_key'], unique=False)
    op.create_table(
        'registration_group_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['registration_group.id'],
                                name=op.f('fk_registration_group_token_group_id_registration_group'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_group_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_registration_group_token_token_hash')),
    )
    with op.batch_alter_table('registration_group_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_group_token_group_id'), ['group_id'],
                              unique=False)
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('protected', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column('real_name', sa.Text(), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_registration_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_registration_group_id_registration_group'),
                                    'registration_group', ['group_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_registration_group_id_registration_group'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_registration_group_id'))
        batch_op.drop_column('real_name')
        batch_op.drop_column('protected')
        batch_op.drop_column('group_id')
    with op.batch_alter_table('registration_group_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_group_token_group_id'))
    op.drop_table('registration_group_token')
    with op.batch_alter_table('registration_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_group_contact_email_key'))
        batch_op.drop_index(batch_op.f('ix_registration_group_partnership_id'))
        batch_op.drop_index('ix_registration_group_event')
    op.drop_table('registration_group')
