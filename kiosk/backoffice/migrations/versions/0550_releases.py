"""releases: kiosk image releases and the release each ward's kiosks should run
(the kiosk fleet, issue #20)

Revision ID: 0550_releases
Revises: 0545_place_notifications
Create Date: 2026-12-05 04:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0550_releases"
down_revision = "0545_place_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("compatible", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(200), nullable=True),
        sa.Column("url", sa.String(500), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("notes", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.UniqueConstraint("version", name="uq_releases_version"),
    )
    op.create_table(
        "ward_releases",
        sa.Column("ward", sa.String(32), sa.ForeignKey("wards.code",
                  name="fk_ward_releases_ward_wards"), primary_key=True),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("canary_version", sa.String(64), nullable=True),
        sa.Column("canary", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("ward_releases")
    op.drop_table("releases")
