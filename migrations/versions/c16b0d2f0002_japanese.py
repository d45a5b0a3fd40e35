"""Japanese: emails and inquiries may be in Japanese

Revision ID: c16b0d2f0002
Revises: c16a0c1e0001
Create Date: 2026-12-02 04:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c16b0d2f0002'
down_revision = 'c16a0c1e0001'
branch_labels = None
depends_on = None

TABLES = ('outbox_message', 'inquiry')


def _languages(allowed):
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_language'), type_='check')
            batch_op.create_check_constraint(op.f(f'ck_{table}_language'), f"language in {allowed}")


def upgrade():
    _languages("('en', 'ko', 'ja')")


def downgrade():
    # Japanese rows go back to English, which every older version can send.
    for table in TABLES:
        op.execute(f"UPDATE {table} SET language = 'en' WHERE language = 'ja'")
    _languages("('en', 'ko')")
