"""offline blocks: their own number range (block_sequences) and idempotent reservations

Revision ID: 0200_offline_blocks
Revises: 0100_payments
Create Date: 2026-11-22 03:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0200_offline_blocks"
down_revision = "0100_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "block_sequences",
        sa.Column("ward", sa.String(32), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ward", "service", "day", name=op.f("pk_block_sequences")),
    )
    with op.batch_alter_table("number_blocks") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(128), nullable=True))
        batch.add_column(sa.Column("request_hash", sa.String(64), nullable=True))
    op.create_index("ux_number_blocks_device_key", "number_blocks",
                    ["device_id", "idempotency_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_number_blocks_device_key", table_name="number_blocks")
    with op.batch_alter_table("number_blocks") as batch:
        batch.drop_column("request_hash")
        batch.drop_column("idempotency_key")
    op.drop_table("block_sequences")
