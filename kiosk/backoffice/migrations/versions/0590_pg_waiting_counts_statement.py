"""PostgreSQL: inserted tickets counted into waiting_counts once per statement

The row trigger of 0201_waiting_counts ran its plpgsql function and one INSERT … ON
CONFLICT per inserted ticket; the hot path now inserts a batch of tickets with one
statement (engine/issuing_batch.py), and that trigger was the largest single part of the
statement (EXPLAIN ANALYZE, 24 tickets: 0.38-0.59 ms of about 3 ms). Inserts are now
counted by a statement trigger over the inserted rows (a transition table): one INSERT …
ON CONFLICT per statement, the counts' rows taken in (ward, service, rank) order, the
order the row trigger locks two of them in when a ticket moves. Updates and deletes keep
the row trigger. The counts stay exact (test_fastpath.test_waiting_counts_follow_every_
transition); SQLite keeps its own triggers (0560).

Revision ID: 0590_pg_waiting_counts_statement
Revises: 0580_event_order
Create Date: 2026-12-05 11:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0590_pg_waiting_counts_statement"
down_revision = "0580_event_order"
branch_labels = None
depends_on = None

UPGRADE = """
DROP TRIGGER tickets_waiting_count ON tickets;
CREATE TRIGGER tickets_waiting_count AFTER DELETE OR UPDATE OF status, service, rank
  ON tickets FOR EACH ROW EXECUTE FUNCTION tickets_waiting_count();
CREATE FUNCTION tickets_waiting_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO waiting_counts (ward, service, rank, n)
  SELECT ward, service, rank, count(*) FROM inserted WHERE status = 'waiting'
  GROUP BY ward, service, rank ORDER BY ward, service, rank
  ON CONFLICT (ward, service, rank) DO UPDATE SET n = waiting_counts.n + excluded.n;
  RETURN NULL;
END $$;
CREATE TRIGGER tickets_waiting_count_inserted AFTER INSERT ON tickets
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
  EXECUTE FUNCTION tickets_waiting_count_inserted();
"""

DOWNGRADE = """
DROP TRIGGER tickets_waiting_count_inserted ON tickets;
DROP FUNCTION tickets_waiting_count_inserted();
DROP TRIGGER tickets_waiting_count ON tickets;
CREATE TRIGGER tickets_waiting_count AFTER INSERT OR DELETE OR UPDATE OF status, service, rank
  ON tickets FOR EACH ROW EXECUTE FUNCTION tickets_waiting_count();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DOWNGRADE)
