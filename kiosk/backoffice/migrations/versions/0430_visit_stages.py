"""visit stages: one ticket routed across several queues (issue #17)

A routed ticket keeps its current stage in `tickets.stage`, its life event and its
手続き案内票 (`guide`, non-personal); `ticket_stages` holds the ordered route.

Revision ID: 0430_visit_stages
Revises: 0420_terminal_keys
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0430_visit_stages"
down_revision = "0420_terminal_keys"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("stage", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("life_event", sa.String(32), nullable=True))
        batch.add_column(sa.Column("guide", sa.JSON(none_as_null=True), nullable=True))
    op.create_table(
        "ticket_stages",
        sa.Column("ticket_id", BigId, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("procedures", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=True),
        sa.Column("arrived_at", sa.DateTime(), nullable=True),
        sa.Column("called_at", sa.DateTime(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("ward", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_ticket_stages_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("ticket_id", "seq", name=op.f("pk_ticket_stages")),
    )
    op.create_index("ix_ticket_stages_ward_done", "ticket_stages", ["ward", "completed_at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_stages_ward_done", table_name="ticket_stages")
    op.drop_table("ticket_stages")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("guide")
        batch.drop_column("life_event")
        batch.drop_column("stage")
