"""ticket_events.xid / horizon: an event's writing transaction and the oldest one running
when it was written (PostgreSQL), so a live stream neither skips an event whose id
committed late nor repeats one its opening covered — issue #21

Revision ID: 0580_event_order
Revises: 0570_release_signature
Create Date: 2026-12-05 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0580_event_order"
down_revision = "0570_release_signature"
branch_labels = None
depends_on = None

# xid8 as bigint: transaction ids stay far below 2^63.
XID = "CAST(CAST(pg_current_xact_id() AS text) AS bigint)"
HORIZON = "CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text) AS bigint)"


def upgrade() -> None:
    op.add_column("ticket_events", sa.Column("xid", sa.BigInteger()))
    op.add_column("ticket_events", sa.Column("horizon", sa.BigInteger()))
    if op.get_bind().dialect.name == "postgresql":
        # Defaults set after the columns exist: the rows already there keep NULL ("long
        # committed") instead of the migration's own transaction id.
        op.execute(f"ALTER TABLE ticket_events ALTER COLUMN xid SET DEFAULT {XID}")
        op.execute(f"ALTER TABLE ticket_events ALTER COLUMN horizon SET DEFAULT {HORIZON}")
    op.create_index("ix_ticket_events_xid", "ticket_events", ["xid"],
                    postgresql_where=sa.text("xid IS NOT NULL"),
                    sqlite_where=sa.text("xid IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_ticket_events_xid", table_name="ticket_events")
    with op.batch_alter_table("ticket_events") as batch:
        batch.drop_column("horizon")
        batch.drop_column("xid")
