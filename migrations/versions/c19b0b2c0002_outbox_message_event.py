"""Outbox messages tied to their event: invitations are about an event before any registration

Revision ID: c19b0b2c0002
Revises: c19a0a1b0001
Create Date: 2026-12-03 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c19b0b2c0002'
down_revision = 'c19a0a1b0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_event_id'), ['event_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_message_event_id_event'), 'event',
                                    ['event_id'], ['id'], ondelete='SET NULL')
    # Invitation emails queued before this revision: the invitation their link opens names
    # the event ("invitation-link" is the link's maker in invitations/services.py).
    op.execute(
        "UPDATE outbox_message SET event_id = "
        "(SELECT invitation.event_id FROM invitation "
        "WHERE invitation.id = outbox_message.secret_subject_id) "
        "WHERE secret_maker = 'invitation-link' AND event_id IS NULL"
    )


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_message_event_id_event'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_message_event_id'))
        batch_op.drop_column('event_id')
