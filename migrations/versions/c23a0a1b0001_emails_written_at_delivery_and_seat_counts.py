"""Registration emails are written at delivery from a snapshot kept on the outbox row; the
seats held per event and category are counted by triggers on registration

Revision ID: c23a0a1b0001
Revises: c22c0c3d0003
Create Date: 2026-12-03 00:20:00.000000

The trigger statements are those of nkhr_events/registrations/models.py (SEAT_COUNT_TRIGGERS)
as they were when this revision was written.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c23a0a1b0001'
down_revision = 'c22c0c3d0003'
branch_labels = None
depends_on = None

SEATS = "('pending', 'confirmed')"

TRIGGERS = {
    "sqlite": (
        f"""CREATE TRIGGER registration_seat_count_insert AFTER INSERT ON registration
WHEN NEW.status IN {SEATS}
BEGIN
  INSERT INTO event_seat_count (event_id, category, held) VALUES (NEW.event_id, NEW.category, 1)
  ON CONFLICT (event_id, category) DO UPDATE SET held = held + 1;
END""",
        f"""CREATE TRIGGER registration_seat_count_delete AFTER DELETE ON registration
WHEN OLD.status IN {SEATS}
BEGIN
  UPDATE event_seat_count SET held = held - 1
  WHERE event_id = OLD.event_id AND category = OLD.category;
END""",
        f"""CREATE TRIGGER registration_seat_count_update
AFTER UPDATE OF status, category, event_id ON registration
WHEN (OLD.status IN {SEATS}) != (NEW.status IN {SEATS})
  OR OLD.category != NEW.category OR OLD.event_id != NEW.event_id
BEGIN
  UPDATE event_seat_count SET held = held - 1
  WHERE OLD.status IN {SEATS} AND event_id = OLD.event_id AND category = OLD.category;
  INSERT INTO event_seat_count (event_id, category, held)
  SELECT NEW.event_id, NEW.category, 1 WHERE NEW.status IN {SEATS}
  ON CONFLICT (event_id, category) DO UPDATE SET held = held + 1;
END""",
    ),
    "postgresql": (
        f"""CREATE OR REPLACE FUNCTION registration_seat_count() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND (OLD.status IN {SEATS}) = (NEW.status IN {SEATS})
     AND OLD.category = NEW.category AND OLD.event_id = NEW.event_id THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN {SEATS} THEN
    UPDATE event_seat_count SET held = held - 1
    WHERE event_id = OLD.event_id AND category = OLD.category;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status IN {SEATS} THEN
    INSERT INTO event_seat_count (event_id, category, held)
    VALUES (NEW.event_id, NEW.category, 1)
    ON CONFLICT (event_id, category) DO UPDATE SET held = event_seat_count.held + 1;
  END IF;
  RETURN NULL;
END
$$ LANGUAGE plpgsql""",
        """CREATE TRIGGER registration_seat_count
AFTER INSERT OR DELETE OR UPDATE OF status, category, event_id ON registration
FOR EACH ROW EXECUTE FUNCTION registration_seat_count()""",
    ),
}


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('snapshot', sa.Text(), nullable=True))

    op.create_table(
        'event_seat_count',
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('held', sa.Integer(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'],
                                name=op.f('fk_event_seat_count_event_id_event'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('event_id', 'category', name=op.f('pk_event_seat_count')),
    )
    op.execute(
        "INSERT INTO event_seat_count (event_id, category, held) "
        "SELECT event_id, category, count(*) FROM registration "
        f"WHERE status IN {SEATS} GROUP BY event_id, category"
    )
    for statement in TRIGGERS.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS registration_seat_count_{name}")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS registration_seat_count ON registration")
        op.execute("DROP FUNCTION IF EXISTS registration_seat_count()")
    op.drop_table('event_seat_count')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('snapshot')
