"""Visa invitation letter requests: passport data encrypted at rest, one open request per
registration, the issued letters as documents of the document engine

Revision ID: c21b0b2c0002
Revises: c21a0a1b0001
Create Date: 2026-12-02 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c21b0b2c0002'
down_revision = 'c21a0a1b0001'
branch_labels = None
depends_on = None

OPEN = "status in ('requested', 'approved')"


def upgrade():
    op.create_table(
        'visa_letter_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('passport_name', sa.Text(), nullable=False),
        sa.Column('passport_number', sa.Text(), nullable=False),
        sa.Column('nationality', sa.Text(), nullable=False),
        sa.Column('birth_date_text', sa.Text(), nullable=False),
        sa.Column('passport_expiry_text', sa.Text(), nullable=False),
        sa.Column('consulate', sa.Text(), nullable=False),
        sa.Column('second_language', sa.String(length=2), nullable=False),
        sa.Column('decision_note', sa.Text(), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('document_id', sa.Integer(), nullable=True),
        sa.Column('translation_document_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status in ('requested', 'approved', 'declined', 'withdrawn')",
                           name=op.f('ck_visa_letter_request_status')),
        sa.CheckConstraint("second_language in ('', 'ko', 'ja')",
                           name=op.f('ck_visa_letter_request_second_language')),
        sa.ForeignKeyConstraint(['registration_id'], ['registration.id'],
                                name=op.f('fk_visa_letter_request_registration_id_registration'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'],
                                name=op.f('fk_visa_letter_request_event_id_event'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['staff_user.id'],
                                name=op.f('fk_visa_letter_request_decided_by_id_staff_user'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['document_id'], ['issued_document.id'],
                                name=op.f('fk_visa_letter_request_document_id_issued_document'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(
            ['translation_document_id'], ['issued_document.id'],
            name=op.f('fk_visa_letter_request_translation_document_id_issued_document'),
            ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visa_letter_request')),
    )
    with op.batch_alter_table('visa_letter_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visa_letter_request_registration_id'),
                              ['registration_id'], unique=False)
        batch_op.create_index('ix_visa_letter_request_event_status', ['event_id', 'status'],
                              unique=False)
        batch_op.create_index('uq_visa_letter_request_open', ['registration_id'], unique=True,
                              sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade():
    with op.batch_alter_table('visa_letter_request', schema=None) as batch_op:
        batch_op.drop_index('uq_visa_letter_request_open')
        batch_op.drop_index('ix_visa_letter_request_event_status')
        batch_op.drop_index(batch_op.f('ix_visa_letter_request_registration_id'))
    op.drop_table('visa_letter_request')
