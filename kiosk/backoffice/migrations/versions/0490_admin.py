"""running a city (issue #20): device health history (one row per change of a device's
reported state) and one-time enrolment codes for devices

Revision ID: 0490_admin
Revises: 0480_appointments
Create Date: 2026-12-04 22:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0490_admin"
down_revision = "0480_appointments"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "device_reports",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("ward", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name=op.f("fk_device_reports_device_id_devices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_reports")),
    )
    op.create_index("ix_device_reports_device_at", "device_reports", ["device_id", "at"])
    op.create_table(
        "enrolment_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name=op.f("fk_enrolment_codes_device_id_devices")),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_enrolment_codes")),
    )


def downgrade() -> None:
    op.drop_table("enrolment_codes")
    op.drop_index("ix_device_reports_device_at", table_name="device_reports")
    op.drop_table("device_reports")
