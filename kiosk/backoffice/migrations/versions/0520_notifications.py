"""notifications: Web Push subscriptions, e-mail addresses and the outbox (issue #19)

A subscription (push endpoint + keys, or an e-mail address) lives only as long as its
ticket or booking; the outbox rows carry numbers, counters, wards and times only.

Revision ID: 0520_notifications
Revises: 0510_remote_places
Create Date: 2026-12-05 01:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0520_notifications"
down_revision = "0510_remote_places"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notify_subscriptions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("ward", sa.String(32), nullable=False),
        sa.Column("ticket_id", BigId, sa.ForeignKey("tickets.id"), nullable=True),
        sa.Column("appointment_id", BigId, sa.ForeignKey("appointments.id"), nullable=True),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("target", sa.String(1024), nullable=False),
        sa.Column("p256dh", sa.String(100), nullable=True),
        sa.Column("auth", sa.String(32), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_notify_subscriptions_ticket", "notify_subscriptions", ["ticket_id"])
    op.create_index("ix_notify_subscriptions_appointment", "notify_subscriptions",
                    ["appointment_id"])
    op.create_table(
        "notify_outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.BigInteger(), nullable=True),
        sa.Column("ward", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("dedupe", sa.String(120), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.UniqueConstraint("dedupe", name=op.f("uq_notify_outbox_dedupe")),
    )
    op.create_index("ix_notify_outbox_due", "notify_outbox", ["status", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_notify_outbox_due", "notify_outbox")
    op.drop_table("notify_outbox")
    op.drop_index("ix_notify_subscriptions_appointment", "notify_subscriptions")
    op.drop_index("ix_notify_subscriptions_ticket", "notify_subscriptions")
    op.drop_table("notify_subscriptions")
