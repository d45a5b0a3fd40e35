"""Event text in every language the event uses: the event's languages, and Japanese (and the
missing Korean) versions of its title, description, venue and city, of the series' name and
description, and of each category's extra question; the language pairs each event interprets

Revision ID: c16c0e3a0003
Revises: c16b0d2f0002
Create Date: 2026-12-02 06:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c16c0e3a0003'
down_revision = 'c16b0d2f0002'
branch_labels = None
depends_on = None

EVENT_COLUMNS = (
    ('title_ja', sa.String(length=200)),
    ('venue_ko', sa.String(length=200)),
    ('venue_ja', sa.String(length=200)),
    ('city_ja', sa.String(length=100)),
    ('description_ko', sa.Text()),
    ('description_ja', sa.Text()),
)


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('languages', sa.String(length=16), server_default='en ko', nullable=False)
        )
        for name, type_ in EVENT_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        # Every event so far offered Korean <-> English interpretation.
        batch_op.add_column(
            sa.Column('interpretation_pairs', sa.String(length=32), server_default='en-ko',
                      nullable=False)
        )
    # The existing text is the English version, and the Korean one where the event has one;
    # an event with no Korean text at all is an English-only event.
    op.execute(
        "UPDATE event SET languages = 'en' WHERE title_ko IS NULL AND city_ko IS NULL"
    )
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_ja', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('description_ja', sa.Text(), nullable=True))
    with op.batch_alter_table('event_category', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extra_question_ja', sa.String(length=300), nullable=True))


def downgrade():
    # The English and Korean title, city and extra question stay where they always were; the
    # texts only the newer version has (Japanese, and the Korean description and venue) go.
    with op.batch_alter_table('event_category', schema=None) as batch_op:
        batch_op.drop_column('extra_question_ja')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_column('description_ja')
        batch_op.drop_column('name_ja')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('interpretation_pairs')
        for name, _type in reversed(EVENT_COLUMNS):
            batch_op.drop_column(name)
        batch_op.drop_column('languages')
