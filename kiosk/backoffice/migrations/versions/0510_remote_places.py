"""remote places: a place in today's queue taken from home (issue #19)

A code, the ward and service, when it was taken (its place in the line), the "almost your
turn" moment, the ticket once checked in at a kiosk. No personal data: the client's
network address only as a keyed hash (the limit per address).

Revision ID: 0510_remote_places
Revises: 0500_floor_requests
Create Date: 2026-12-05 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0510_remote_places"
down_revision = "0500_floor_requests"
branch_labels = None
depends_on = None


BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "remote_places",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("ward", sa.String(32), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("almost_at", sa.DateTime(), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(), nullable=True),
        sa.Column("address_hash", sa.String(64), nullable=True),
        sa.Column("ticket_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_remote_places_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remote_places")),
        sa.UniqueConstraint("code", name=op.f("uq_remote_places_code")),
    )
    op.create_index("ix_remote_places_ward", "remote_places",
                    ["ward", "service", "day", "status"])
    op.create_index("ix_remote_places_address", "remote_places", ["address_hash", "day"])


def downgrade() -> None:
    op.drop_index("ix_remote_places_address", "remote_places")
    op.drop_index("ix_remote_places_ward", "remote_places")
    op.drop_table("remote_places")
