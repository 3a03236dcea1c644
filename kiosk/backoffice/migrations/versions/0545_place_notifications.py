"""place notifications: a place from home can opt in to push / e-mail ("almost your
turn: check in by HH:MM"), its subscription bound to the place (issue #19)

Revision ID: 0545_place_notifications
Revises: 0530_catalog_versions
Create Date: 2026-12-05 02:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0545_place_notifications"
down_revision = "0530_catalog_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notify_subscriptions") as batch:
        batch.add_column(sa.Column("remote_place_id", sa.BigInteger().with_variant(
            sa.Integer(), "sqlite"), sa.ForeignKey("remote_places.id"), nullable=True))
        batch.create_index("ix_notify_subscriptions_place", ["remote_place_id"])


def downgrade() -> None:
    with op.batch_alter_table("notify_subscriptions") as batch:
        batch.drop_index("ix_notify_subscriptions_place")
        batch.drop_column("remote_place_id")
