"""Event teams: staff hold rights per event (organizer, reviewer, door, partner liaison); the
global roles are admin and staff; every organizer becomes an organizer of every event

Revision ID: c17a0a1b0001
Revises: c16d1a5b0004
Create Date: 2026-12-02 07:00:00.000000

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c17a0a1b0001'
down_revision = 'c16d1a5b0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'team_member',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('categories', sa.String(length=400), server_default='', nullable=False),
        sa.Column('sees_needs', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('can_export', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role in ('organizer', 'reviewer', 'door', 'liaison')",
                           name=op.f('ck_team_member_role')),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'],
                                name=op.f('fk_team_member_event_id_event'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'],
                                name=op.f('fk_team_member_user_id_staff_user'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_team_member')),
        sa.UniqueConstraint('user_id', 'event_id', name=op.f('uq_team_member_user_id_event_id')),
    )
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_member_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_member_user_id'), ['user_id'], unique=False)

    # Every organizer reached every event, new ones included: they stay organizers of every
    # event (an admin narrows that on each person's page), so nobody loses what they had.
    connection = op.get_bind()
    now = datetime.now(timezone.utc)
    organizers = connection.execute(
        sa.text("SELECT id FROM staff_user WHERE role = 'organizer' ORDER BY id")
    ).scalars().all()
    team = sa.table(
        'team_member', sa.column('user_id', sa.Integer()), sa.column('event_id', sa.Integer()),
        sa.column('role', sa.String()), sa.column('categories', sa.String()),
        sa.column('sees_needs', sa.Boolean()), sa.column('can_export', sa.Boolean()),
        sa.column('created_at', sa.DateTime(timezone=True)),
    )
    if organizers:
        op.bulk_insert(team, [
            {"user_id": user_id, "event_id": None, "role": "organizer", "categories": "",
             "sees_needs": False, "can_export": False, "created_at": now}
            for user_id in organizers
        ])
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_staff_user_role'), type_='check')
    op.execute("UPDATE staff_user SET role = 'staff' WHERE role = 'organizer'")
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_staff_user_role'), "role in ('admin', 'staff')")


def downgrade():
    # The older version knows only organizers, who reach every event. A staff member who was an
    # organizer of every event is one again; anyone narrower (a door volunteer, a reviewer)
    # would gain every roster, so their account is switched off instead (nothing is deleted).
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_staff_user_role'), type_='check')
    op.execute(
        "UPDATE staff_user SET active = false WHERE role = 'staff' AND id NOT IN ("
        "SELECT user_id FROM team_member WHERE event_id IS NULL AND role = 'organizer')"
    )
    op.execute("UPDATE staff_user SET role = 'organizer' WHERE role = 'staff'")
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_staff_user_role'),
                                         "role in ('admin', 'organizer')")
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_member_user_id'))
        batch_op.drop_index(batch_op.f('ix_team_member_event_id'))
    op.drop_table('team_member')
