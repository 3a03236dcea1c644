"""application purge: when and why a ticket's personal data was deleted

The application record (name, address, birth date, ...) is deleted from finished tickets
after a grace and from every ticket after `[retention] max_days` (kiosk/backoffice/
retention.py). The ticket row stays for the statistics and says when and why. Staff
notes in the audit trail go with it, also on tickets without an application record.

Revision ID: 0300_application_purge
Revises: 0201_waiting_counts
Create Date: 2026-11-22 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0300_application_purge"
down_revision = "0201_waiting_counts"
branch_labels = None
depends_on = None

NOTE_SQL = "data LIKE '%\"note\"%'"  # an event still holding a staff note (free text)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("application_purged_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("application_purge_reason", sa.String(16), nullable=True))
    op.create_index("ix_tickets_unpurged", "tickets", ["issued_at", "id"],
                    postgresql_where=sa.text("application IS NOT NULL"),
                    sqlite_where=sa.text("application IS NOT NULL"))
    op.create_index("ix_ticket_events_note", "ticket_events", ["ticket_id"],
                    postgresql_where=sa.text(NOTE_SQL), sqlite_where=sa.text(NOTE_SQL))


def downgrade() -> None:
    op.drop_index("ix_ticket_events_note", table_name="ticket_events")
    op.drop_index("ix_tickets_unpurged", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("application_purge_reason")
        batch.drop_column("application_purged_at")
