"""The document engine: document settings (letterhead, signatory, visa-letter purge days),
issued documents (visa letters and certificates of attendance) and certificate mailings

Revision ID: c21a0a1b0001
Revises: c20a0a1b0001
Create Date: 2026-12-02 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c21a0a1b0001'
down_revision = 'c20a0a1b0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'document_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_name', sa.String(length=200), nullable=False),
        sa.Column('organisation_address', sa.Text(), nullable=False),
        sa.Column('signatory_name', sa.String(length=120), nullable=False),
        sa.Column('signatory_title', sa.String(length=200), nullable=False),
        sa.Column('signature_png', sa.LargeBinary(), nullable=True),
        sa.Column('visa_purge_days', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('visa_purge_days between 1 and 365',
                           name=op.f('ck_document_settings_visa_purge_days_range')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['staff_user.id'],
                                name=op.f('fk_document_settings_updated_by_id_staff_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_document_settings')),
    )
    op.create_table(
        'issued_document',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('reference', sa.String(length=32), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('statements', sa.JSON(), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('issued_by_id', sa.Integer(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_reason', sa.Text(), nullable=False),
        sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind in ('visa_letter', 'certificate')",
                           name=op.f('ck_issued_document_kind')),
        sa.CheckConstraint("language in ('en', 'ko', 'ja')",
                           name=op.f('ck_issued_document_language')),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'],
                                name=op.f('fk_issued_document_event_id_event'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['registration_id'], ['registration.id'],
                                name=op.f('fk_issued_document_registration_id_registration'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['issued_by_id'], ['staff_user.id'],
                                name=op.f('fk_issued_document_issued_by_id_staff_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_document')),
        sa.UniqueConstraint('reference', name=op.f('uq_issued_document_reference')),
    )
    with op.batch_alter_table('issued_document', schema=None) as batch_op:
        batch_op.create_index('ix_issued_document_event_kind', ['event_id', 'kind'],
                              unique=False)
        batch_op.create_index('ix_issued_document_registration_kind',
                              ['registration_id', 'kind'], unique=False)
        batch_op.create_index('uq_issued_document_certificate', ['registration_id'],
                              unique=True,
                              sqlite_where=sa.text("kind = 'certificate' and revoked_at is null"),
                              postgresql_where=sa.text(
                                  "kind = 'certificate' and revoked_at is null"))
    op.create_table(
        'certificate_mailing',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('queued', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'],
                                name=op.f('fk_certificate_mailing_event_id_event'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['staff_user.id'],
                                name=op.f('fk_certificate_mailing_requested_by_id_staff_user'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_mailing')),
    )
    with op.batch_alter_table('certificate_mailing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_mailing_event_id'), ['event_id'],
                              unique=False)
        batch_op.create_index('uq_certificate_mailing_waiting', ['event_id'], unique=True,
                              sqlite_where=sa.text('finished_at is null'),
                              postgresql_where=sa.text('finished_at is null'))


def downgrade():
    with op.batch_alter_table('certificate_mailing', schema=None) as batch_op:
        batch_op.drop_index('uq_certificate_mailing_waiting')
        batch_op.drop_index(batch_op.f('ix_certificate_mailing_event_id'))
    op.drop_table('certificate_mailing')
    with op.batch_alter_table('issued_document', schema=None) as batch_op:
        batch_op.drop_index('uq_issued_document_certificate')
        batch_op.drop_index('ix_issued_document_registration_kind')
        batch_op.drop_index('ix_issued_document_event_kind')
    op.drop_table('issued_document')
    op.drop_table('document_settings')
