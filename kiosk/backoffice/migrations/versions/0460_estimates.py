"""ticket_estimates: every wait estimate shown to a resident and the actual wait (issue #22)

Revision ID: 0460_estimates
Revises: 0430_visit_stages
Create Date: 2026-12-04 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0460_estimates"
down_revision = "0430_visit_stages"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ticket_estimates",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("ticket_id", BigId, nullable=False),
        sa.Column("ward", sa.String(32), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("stage", sa.Integer(), server_default="0", nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("people_ahead", sa.Integer(), nullable=False),
        sa.Column("estimate_seconds", sa.Integer(), nullable=False),
        sa.Column("low_seconds", sa.Integer(), nullable=True),
        sa.Column("high_seconds", sa.Integer(), nullable=True),
        sa.Column("actual_seconds", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_ticket_estimates_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_estimates")),
    )
    op.create_index("ix_ticket_estimates_ticket", "ticket_estimates", ["ticket_id", "stage"])
    op.create_index("ix_ticket_estimates_ward_at", "ticket_estimates", ["ward", "at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_estimates_ward_at", table_name="ticket_estimates")
    op.drop_index("ix_ticket_estimates_ticket", table_name="ticket_estimates")
    op.drop_table("ticket_estimates")
