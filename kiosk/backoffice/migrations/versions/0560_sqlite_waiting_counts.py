"""waiting counts on SQLite too, kept by triggers (issue #21, faster serving)

Migration 0201 keeps `waiting_counts` by a trigger on PostgreSQL only; SQLite went on
counting the waiting tickets of a queue on every issue (one index entry per waiting ticket:
with a queue of 1,000-2,000 it was half of the group writer's time). These triggers keep the
same per ward/service/rank counts on SQLite, so issuing there reads a few rows
(engine.issuing._AHEAD_SQLITE).

Note for later migrations: a `batch_alter_table("tickets")` on SQLite re-creates the table
and drops these triggers; such a migration must create them again (`create_triggers`).
`tests/backoffice/test_fastpath.py` checks the counts against a real count on both databases.

Revision ID: 0560_sqlite_waiting_counts
Revises: 0550_releases
Create Date: 2026-12-05 04:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0560_sqlite_waiting_counts"
down_revision = "0550_releases"
branch_labels = None
depends_on = None

_UP = ("INSERT INTO waiting_counts (ward, service, rank, n) "
       "SELECT NEW.ward, NEW.service, NEW.rank, 1 WHERE NEW.status = 'waiting' "
       "ON CONFLICT (ward, service, rank) DO UPDATE SET n = n + 1;")
_DOWN = ("UPDATE waiting_counts SET n = n - 1 WHERE OLD.status = 'waiting' "
         "AND ward = OLD.ward AND service = OLD.service AND rank = OLD.rank;")
TRIGGERS = {
    "tickets_waiting_insert": f"AFTER INSERT ON tickets WHEN NEW.status = 'waiting' "
                              f"BEGIN {_UP} END",
    "tickets_waiting_delete": f"AFTER DELETE ON tickets WHEN OLD.status = 'waiting' "
                              f"BEGIN {_DOWN} END",
    # a waiting ticket that stays waiting in the same queue changes nothing
    "tickets_waiting_update": "AFTER UPDATE OF status, service, rank, ward ON tickets "
                              "WHEN (OLD.status = 'waiting' OR NEW.status = 'waiting') AND NOT "
                              "(OLD.status = 'waiting' AND NEW.status = 'waiting' AND "
                              "OLD.ward = NEW.ward AND OLD.service = NEW.service AND "
                              f"OLD.rank = NEW.rank) BEGIN {_DOWN} {_UP} END",
}


def create_triggers() -> None:
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DELETE FROM waiting_counts")
    op.execute("INSERT INTO waiting_counts (ward, service, rank, n) SELECT ward, service, "
               "rank, count(*) FROM tickets WHERE status = 'waiting' GROUP BY 1, 2, 3")
    create_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DELETE FROM waiting_counts")
