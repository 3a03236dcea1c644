"""releases.signature: whether the back-office verified a bundle's signature when it was
registered (verified / unchecked; NULL for a release on another server) — issue #20

Revision ID: 0570_release_signature
Revises: 0560_sqlite_waiting_counts
Create Date: 2026-12-05 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0570_release_signature"
down_revision = "0560_sqlite_waiting_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.add_column(sa.Column("signature", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("signature")
