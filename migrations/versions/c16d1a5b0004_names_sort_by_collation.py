"""Names sort by collation: a stored sort key, family name then given name, that lists order by

Revision ID: c16d1a5b0004
Revises: c16c0e3a0003
Create Date: 2026-12-02 08:00:00.000000

"""
import unicodedata

from alembic import op
import sqlalchemy as sa
from pyuca import Collator


# revision identifiers, used by Alembic.
revision = 'c16d1a5b0004'
down_revision = 'c16c0e3a0003'
branch_labels = None
depends_on = None

BATCH = 1000

# Frozen copy of names.name_sort_key as of this revision (a migration imports nothing from the
# application, so that a later change there cannot change what this migration did).
_LENGTH = 255
_LATIN_AND_OTHERS = "1"
_SCRIPT_GROUPS = {"HANGUL": "2", "HIRAGANA": "3", "KATAKANA": "3", "CJK": "4"}
_LEVEL_WIDTHS = (4, 3, 2)


def _script(character):
    if not character.isalpha():
        return None
    name = unicodedata.name(character, "")
    script = name.split(" ", 1)[0]
    if script == "FULLWIDTH" and " LATIN " in f" {name} ":
        return "LATIN"
    return script or None


def _script_group(text):
    for character in text:
        script = _script(character)
        if script == "HALFWIDTH":
            script = unicodedata.name(character).split()[1]
        if script is not None:
            return _SCRIPT_GROUPS.get(script, _LATIN_AND_OTHERS)
    return None


def _collation_levels(collator, text):
    levels = [[]]
    for weight in collator.sort_key(text):
        if weight:
            levels[-1].append(weight)
        else:
            levels.append([])
    return levels[:3]


def _name_sort_key(collator, given, family):
    given, family = (given or "").strip(), (family or "").strip()
    group = _script_group(family) or _script_group(given) or _LATIN_AND_OTHERS
    levels = []
    for width, family_weights, given_weights in zip(
        _LEVEL_WIDTHS, _collation_levels(collator, family), _collation_levels(collator, given)
    ):
        largest = 16**width - 1
        hexed = [
            "".join(f"{min(weight, largest):0{width}x}" for weight in weights)
            for weights in (family_weights, given_weights)
        ]
        levels.append(f"{hexed[0]}{1:0{width}x}{hexed[1]}{0:0{width}x}")
    return (group + "".join(levels))[:_LENGTH]


registration = sa.table(
    'registration',
    sa.column('id', sa.Integer),
    sa.column('given_name', sa.String),
    sa.column('family_name', sa.String),
    sa.column('name_sort', sa.String),
)


def upgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'name_sort',
            sa.String(length=255).with_variant(sa.String(length=255, collation='C'), 'postgresql'),
            server_default='',
            nullable=False,
        ))
    connection = op.get_bind()
    collator = None
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(registration.c.id, registration.c.given_name, registration.c.family_name)
            .where(registration.c.id > last_id)
            .order_by(registration.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        collator = collator or Collator()  # loaded only when there is a name to sort
        connection.execute(
            registration.update()
            .where(registration.c.id == sa.bindparam('row_id'))
            .values(name_sort=sa.bindparam('key')),
            [
                {"row_id": row.id, "key": _name_sort_key(collator, row.given_name, row.family_name)}
                for row in rows
            ],
        )
        last_id = rows[-1].id
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index(
            'ix_registration_event_name_sort', ['event_id', 'name_sort'], unique=False
        )


def downgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index('ix_registration_event_name_sort')
        batch_op.drop_column('name_sort')
