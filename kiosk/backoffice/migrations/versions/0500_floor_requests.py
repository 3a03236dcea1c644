"""floor requests: a kiosk's "ask staff" alerts the floor staff (案内係) (issue #18)

Which kiosk and when, and who took it: nothing about the resident.

Revision ID: 0500_floor_requests
Revises: 0490_admin
Create Date: 2026-12-04 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0500_floor_requests"
down_revision = "0490_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "floor_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ward", sa.String(32), sa.ForeignKey("wards.code"), nullable=False),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("place", sa.String(40), nullable=False, server_default=""),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("taken_by", sa.String(64), nullable=True),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_floor_requests_ward_id", "floor_requests", ["ward", "id"])


def downgrade() -> None:
    op.drop_index("ix_floor_requests_ward_id", "floor_requests")
    op.drop_table("floor_requests")
