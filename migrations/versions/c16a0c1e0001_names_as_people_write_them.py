"""Names as people write them: a search key in both orders, badge names in the name's order

Revision ID: c16a0c1e0001
Revises: d4e1a7c2b9f0
Create Date: 2026-12-02 04:00:00.000000

"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c16a0c1e0001'
down_revision = 'd4e1a7c2b9f0'
branch_labels = None
depends_on = None

# Frozen copies of nkhr_events/names.py as of this revision (a migration imports nothing from
# the application, so that a later change there cannot change what this migration did).
_FAMILY_FIRST_SCRIPTS = frozenset({"HANGUL", "CJK", "HIRAGANA", "KATAKANA"})


def _script(character):
    if not character.isalpha():
        return None
    name = unicodedata.name(character, "")
    return name.split(" ", 1)[0] or None


def _family_first(given, family):
    return any(_script(c) in _FAMILY_FIRST_SCRIPTS for c in given + family)


def _fold(text):
    decomposed = unicodedata.normalize("NFKD", text or "")
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in unicodedata.normalize("NFC", kept).casefold() if c.isalnum())


registration = sa.table(
    'registration',
    sa.column('id', sa.Integer),
    sa.column('given_name', sa.String),
    sa.column('family_name', sa.String),
    sa.column('badge_name', sa.String),
    sa.column('name_search', sa.String),
)


def upgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('name_search', sa.String(length=420), server_default='', nullable=False)
        )
    connection = op.get_bind()
    rows = connection.execute(sa.select(
        registration.c.id, registration.c.given_name, registration.c.family_name,
        registration.c.badge_name,
    )).all()
    for row in rows:
        given, family = (row.given_name or "").strip(), (row.family_name or "").strip()
        values = {"name_search": f"{_fold(given + family)} {_fold(family + given)}"}
        # A badge name that was only the default (given name first) follows the name's order.
        if _family_first(given, family) and row.badge_name == f"{given} {family}".strip():
            values["badge_name"] = f"{family}{given}"
        connection.execute(
            registration.update().where(registration.c.id == row.id).values(**values)
        )


def downgrade():
    connection = op.get_bind()
    rows = connection.execute(sa.select(
        registration.c.id, registration.c.given_name, registration.c.family_name,
        registration.c.badge_name,
    )).all()
    for row in rows:
        given, family = (row.given_name or "").strip(), (row.family_name or "").strip()
        if _family_first(given, family) and row.badge_name == f"{family}{given}":
            connection.execute(
                registration.update().where(registration.c.id == row.id)
                .values(badge_name=f"{given} {family}".strip())
            )
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_column('name_search')
