"""data access: Idempotency-Keys scoped to the device or staff account that sent them

A ticket's stored key becomes "d<device id>:<key>" (a kiosk) or "s<staff id>:<key>" (a
staff account), so one kiosk's key can neither replay nor block another's ticket
(kiosk.backoffice.engine.lookups.issuer_key). The column grows to hold the prefix on PostgreSQL;
SQLite does not enforce VARCHAR lengths, so its table is not rebuilt for that.

Revision ID: 0410_data_access
Revises: 0400_accounts_security
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0410_data_access"
down_revision = "0400_accounts_security"
branch_labels = None
depends_on = None

UNSCOPE_PG = ("UPDATE tickets SET idempotency_key = "
              "substr(idempotency_key, strpos(idempotency_key, ':') + 1)")
UNSCOPE_SQLITE = ("UPDATE tickets SET idempotency_key = "
                  "substr(idempotency_key, instr(idempotency_key, ':') + 1)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("tickets", "idempotency_key", type_=sa.String(160),
                        existing_type=sa.String(128), existing_nullable=False)
    op.execute("UPDATE tickets SET idempotency_key = 'd' || device_id || ':' || idempotency_key "
               "WHERE device_id IS NOT NULL")
    op.execute("UPDATE tickets SET idempotency_key = 's' || staff_id || ':' || idempotency_key "
               "WHERE device_id IS NULL AND staff_id IS NOT NULL")


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.execute(UNSCOPE_PG if pg else UNSCOPE_SQLITE)
    if pg:
        op.alter_column("tickets", "idempotency_key", type_=sa.String(128),
                        existing_type=sa.String(160), existing_nullable=False)
