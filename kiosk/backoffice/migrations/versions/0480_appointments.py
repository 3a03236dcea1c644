"""appointments (予約, issue #19): bookings by code and the count taken per slot

Revision ID: 0480_appointments
Revises: 0460_estimates
Create Date: 2026-12-04 22:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0480_appointments"
down_revision = "0460_estimates"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("ward", sa.String(32), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("procedure", sa.String(32), nullable=True),
        sa.Column("life_event", sa.String(32), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hold_until", sa.DateTime(), nullable=True),
        sa.Column("contact_hash", sa.String(64), nullable=True),
        sa.Column("address_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(), nullable=True),
        sa.Column("ticket_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_appointments_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("code", name=op.f("uq_appointments_code")),
    )
    op.create_index("ix_appointments_slot", "appointments",
                    ["ward", "service", "slot_at", "status"])
    op.create_index("ix_appointments_contact", "appointments", ["contact_hash", "status"])
    op.create_index("ix_appointments_address", "appointments", ["address_hash", "created_at"])
    op.create_table(
        "appointment_slots",
        sa.Column("ward", sa.String(32), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("slot_at", sa.DateTime(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ward", "service", "slot_at", name=op.f("pk_appointment_slots")),
    )


def downgrade() -> None:
    op.drop_table("appointment_slots")
    op.drop_index("ix_appointments_address", table_name="appointments")
    op.drop_index("ix_appointments_contact", table_name="appointments")
    op.drop_index("ix_appointments_slot", table_name="appointments")
    op.drop_table("appointments")
