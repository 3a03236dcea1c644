"""terminal keys: a kiosk's payment terminal, its key, and the answers already taken

A terminal result counts only from the kiosk that started the payment and only with the
terminal's own proof (an HMAC with the key registered here for that terminal); every
terminal transaction id is taken once.

Revision ID: 0420_terminal_keys
Revises: 0410_data_access
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0420_terminal_keys"
down_revision = "0410_data_access"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("device_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_payments_device_id_devices"), "devices",
                                 ["device_id"], ["id"])
    op.create_table(
        "payment_terminals",
        sa.Column("terminal_id", sa.String(64), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("ward", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name=op.f("fk_payment_terminals_device_id_devices")),
        sa.PrimaryKeyConstraint("terminal_id", name=op.f("pk_payment_terminals")),
        sa.UniqueConstraint("device_id", name=op.f("uq_payment_terminals_device_id")),
    )
    op.create_table(
        "payment_terminal_receipts",
        sa.Column("terminal_id", sa.String(64), nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("payment_id", BigId, nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"],
                                name=op.f("fk_payment_terminal_receipts_payment_id_payments")),
        sa.PrimaryKeyConstraint("terminal_id", "transaction_id",
                                name=op.f("pk_payment_terminal_receipts")),
    )


def downgrade() -> None:
    op.drop_table("payment_terminal_receipts")
    op.drop_table("payment_terminals")
    with op.batch_alter_table("payments") as batch:
        batch.drop_constraint(op.f("fk_payments_device_id_devices"), type_="foreignkey")
        batch.drop_column("device_id")
