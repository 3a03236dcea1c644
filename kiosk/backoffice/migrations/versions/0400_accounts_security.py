"""accounts security: idle sessions, sign-in throttling, account audit trail

Sessions remember their last use (idle timeout, `[security] idle_minutes`). Sign-in
throttling counts per (username, address) and per address in `login_attempts`, one
conditional upsert per try (kiosk/backoffice/auth.py), instead of one `login_failures` row
per failure counted afterwards (parallel guesses passed the limit). `account_events` says
who created, reset, disabled or re-keyed which account or device.

Revision ID: 0400_accounts_security
Revises: 0300_application_purge
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0400_accounts_security"
down_revision = "0300_application_purge"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("last_seen", sa.DateTime(), nullable=True))
        batch.create_index("ix_sessions_staff_id", ["staff_id"])
    op.execute("UPDATE sessions SET last_seen = created_at")
    op.drop_table("login_failures")
    op.create_table(
        "login_attempts",
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("blocked_until", sa.Float(), nullable=False, server_default="0"),
        sa.Column("lockouts", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_attempts")))
    op.create_table(
        "account_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("target_kind", sa.String(8), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("ward", sa.String(32), nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_events")))
    op.create_index("ix_account_events_ward_id", "account_events", ["ward", "id"])


def downgrade() -> None:
    op.drop_index("ix_account_events_ward_id", table_name="account_events")
    op.drop_table("account_events")
    op.drop_table("login_attempts")
    op.create_table(
        "login_failures",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")))
    op.create_index("ix_login_failures_address_at", "login_failures", ["address", "at"])
    op.create_index("ix_login_failures_username_at", "login_failures", ["username", "at"])
    with op.batch_alter_table("sessions") as batch:
        batch.drop_index("ix_sessions_staff_id")
        batch.drop_column("last_seen")
