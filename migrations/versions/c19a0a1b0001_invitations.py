"""Invitations: invitation-only categories, invitations with their links, seat reservations

Revision ID: c19a0a1b0001
Revises: c18a0d1e0001
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c19a0a1b0001'
down_revision = 'c18a0d1e0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event_category', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('by_invitation', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        'seat_reservation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('places', sa.Integer(), nullable=False),
        sa.Column('held_until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('release_reason', sa.String(length=16), nullable=True),
        sa.CheckConstraint('places >= 0', name=op.f('ck_seat_reservation_places_not_negative')),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'],
                                name=op.f('fk_seat_reservation_event_id_event'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_seat_reservation')),
    )
    with op.batch_alter_table('seat_reservation', schema=None) as batch_op:
        batch_op.create_index('ix_seat_reservation_event_open',
                              ['event_id', 'released_at', 'held_until'], unique=False)
        batch_op.create_index('ix_seat_reservation_held_until', ['held_until'], unique=False)
    op.create_table(
        'invitation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('email_key', sa.String(length=254), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('organization', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reservation_id', sa.Integer(), nullable=True),
        sa.Column('registration_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_count', sa.Integer(), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('remind_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status in ('sent', 'opened', 'registered', 'declined', 'revoked')",
            name=op.f('ck_invitation_status'),
        ),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'],
                                name=op.f('fk_invitation_event_id_event'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['registration_id'], ['registration.id'],
                                name=op.f('fk_invitation_registration_id_registration'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['reservation_id'], ['seat_reservation.id'],
                                name=op.f('fk_invitation_reservation_id_seat_reservation'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index('ix_invitation_event_email', ['event_id', 'email_key'],
                              unique=False)
        batch_op.create_index('ix_invitation_event_status', ['event_id', 'status'],
                              unique=False)
        batch_op.create_index('ix_invitation_deadline', ['status', 'remind_at'], unique=False)
    op.create_table(
        'invitation_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invitation_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'],
                                name=op.f('fk_invitation_token_invitation_id_invitation'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_invitation_token_token_hash')),
    )
    with op.batch_alter_table('invitation_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_token_invitation_id'),
                              ['invitation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('invitation_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_token_invitation_id'))
    op.drop_table('invitation_token')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index('ix_invitation_deadline')
        batch_op.drop_index('ix_invitation_event_status')
        batch_op.drop_index('ix_invitation_event_email')
    op.drop_table('invitation')
    with op.batch_alter_table('seat_reservation', schema=None) as batch_op:
        batch_op.drop_index('ix_seat_reservation_held_until')
        batch_op.drop_index('ix_seat_reservation_event_open')
    op.drop_table('seat_reservation')
    with op.batch_alter_table('event_category', schema=None) as batch_op:
        batch_op.drop_column('by_invitation')
