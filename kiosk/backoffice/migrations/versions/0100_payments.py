"""payments: payment records per ticket, their audit trail, webhook nonces

Revision ID: 0100_payments
Revises: 0001
Create Date: 2026-11-22 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0100_payments"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("ticket_id", BigId, nullable=False),
        sa.Column("ward", sa.String(32), nullable=False),
        sa.Column("procedure", sa.String(32), nullable=False, server_default=""),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("amount_yen", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("provider_id", sa.String(64)),
        sa.Column("provider_sequence", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("external_ref", sa.String(64)),
        sa.Column("qr_payload", sa.Text()),
        sa.Column("expires_at", sa.DateTime()),
        sa.Column("error", sa.String(200)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime()),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_payments_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("reference", name=op.f("uq_payments_reference")),
        sa.UniqueConstraint("provider_id", name=op.f("uq_payments_provider_id")),
    )
    op.create_index("ix_payments_ticket", "payments", ["ticket_id"])
    op.create_index("ix_payments_ward_created", "payments", ["ward", "created_at"])
    op.create_table(
        "payment_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("payment_id", BigId, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64)),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("data", sa.Text(), nullable=False, server_default="{}"),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"],
                                name=op.f("fk_payment_events_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
    )
    op.create_index("ix_payment_events_payment", "payment_events", ["payment_id"])
    op.create_table(
        "payment_webhook_nonces",
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_payment_webhook_nonces")),
    )


def downgrade() -> None:
    op.drop_table("payment_webhook_nonces")
    op.drop_index("ix_payment_events_payment", table_name="payment_events")
    op.drop_table("payment_events")
    op.drop_index("ix_payments_ward_created", table_name="payments")
    op.drop_index("ix_payments_ticket", table_name="payments")
    op.drop_table("payments")
