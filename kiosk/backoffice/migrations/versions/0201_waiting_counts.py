"""waiting counts per ward/service/rank, kept by a trigger (PostgreSQL)

Issuing answers each ticket with the people ahead of it. Counting the waiting tickets of a
queue costs one index entry and heap visit per waiting ticket, on every issue; with this
table the count is a sum over at most a few rows plus the (almost always empty) range of
same-rank tickets queued after the new one. On SQLite the table stayed empty here; since
0560_sqlite_waiting_counts SQLite triggers keep it too (a later migration that rebuilds
`tickets` with batch_alter_table on SQLite drops those triggers: recreate them).

Revision ID: 0201_waiting_counts
Revises: 0200_offline_blocks
Create Date: 2026-11-22 03:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0201_waiting_counts"
down_revision = "0200_offline_blocks"
branch_labels = None
depends_on = None

INDEXES = [("ix_tickets_counter", ["ward", "counter", "status"], "counter IS NOT NULL"),
           ("ix_tickets_done", ["ward", "service", "completed_at"], "completed_at IS NOT NULL")]

# Rows are locked in (ward, service, rank) order when a ticket moves between queues, so
# two opposite transfers cannot deadlock.
TRIGGER = """
CREATE FUNCTION tickets_waiting_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  was boolean := TG_OP <> 'INSERT' AND OLD.status = 'waiting';
  now_ boolean := TG_OP <> 'DELETE' AND NEW.status = 'waiting';
BEGIN
  IF was AND now_ AND OLD.ward = NEW.ward AND OLD.service = NEW.service
     AND OLD.rank = NEW.rank THEN
    RETURN NULL;
  END IF;
  IF was AND now_ THEN
    PERFORM 1 FROM waiting_counts WHERE (ward, service, rank) IN
      ((OLD.ward, OLD.service, OLD.rank), (NEW.ward, NEW.service, NEW.rank))
      ORDER BY ward, service, rank FOR UPDATE;
  END IF;
  IF was THEN
    UPDATE waiting_counts SET n = n - 1
     WHERE ward = OLD.ward AND service = OLD.service AND rank = OLD.rank;
  END IF;
  IF now_ THEN
    INSERT INTO waiting_counts (ward, service, rank, n) VALUES (NEW.ward, NEW.service, NEW.rank, 1)
    ON CONFLICT (ward, service, rank) DO UPDATE SET n = waiting_counts.n + 1;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER tickets_waiting_count AFTER INSERT OR DELETE OR UPDATE OF status, service, rank
  ON tickets FOR EACH ROW EXECUTE FUNCTION tickets_waiting_count();
"""


def upgrade() -> None:
    op.create_table(
        "waiting_counts",
        sa.Column("ward", sa.String(32), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ward", "service", "rank", name=op.f("pk_waiting_counts")),
    )
    # Partial: with stale statistics the planner used these for queue counts and filtered
    # every ticket of the service or ward (2-5 ms at 3,000-15,000 tickets).
    for name, columns, where in INDEXES:
        op.drop_index(name, table_name="tickets")
        op.create_index(name, "tickets", columns, postgresql_where=sa.text(where),
                        sqlite_where=sa.text(where))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("LOCK TABLE tickets IN SHARE MODE")  # no change between count and trigger
        op.execute("INSERT INTO waiting_counts (ward, service, rank, n) SELECT ward, service, "
                   "rank, count(*) FROM tickets WHERE status = 'waiting' GROUP BY 1, 2, 3")
        op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tickets_waiting_count ON tickets")
        op.execute("DROP FUNCTION tickets_waiting_count()")
    for name, columns, _where in INDEXES:
        op.drop_index(name, table_name="tickets")
        op.create_index(name, "tickets", columns)
    op.drop_table("waiting_counts")
