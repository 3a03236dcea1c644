"""Which events a live stream's opening already covered (issue #21).

On PostgreSQL event ids come from a sequence when the row is written, and transactions
commit in another order: id 100 can commit after 101. A stream opens with a snapshot (or a
replay) and then relays the live events; judging "already covered" by `id <= the newest id
read` dropped 100 when it committed after a snapshot that saw 101 — that stream missed it
until its next snapshot. So each event row also carries its transaction's id (`xid`,
migration 0580) and a stream's opening keeps the database snapshot it read under: an event
is covered exactly when its transaction was visible to that snapshot. Writers stay
concurrent (no lock orders their commits).

On SQLite the single writer commits in id order, and the newest id read is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class Covered:
    """What an opening saw: `watermark`, the newest event id it read; on PostgreSQL also its
    snapshot (`xmin`, `xmax`, the transactions `running` then)."""

    watermark: int
    exact: bool = False
    xmin: int = 0
    xmax: int = 0
    running: frozenset[int] = field(default_factory=frozenset)

    def covers(self, event_id: int, xid: int) -> bool:
        """Whether the event `event_id` written by transaction `xid` (0: not known) is in
        what the opening sent."""
        if not self.exact or not xid:
            return event_id <= self.watermark
        if xid < self.xmin:
            return True
        if xid >= self.xmax:
            return False
        return xid not in self.running

    def with_watermark(self, watermark: int) -> Covered:
        return Covered(max(self.watermark, watermark), self.exact, self.xmin, self.xmax,
                       self.running)


def snapshot_of(conn: Connection, watermark: int = 0) -> Covered:
    """The snapshot `conn`'s transaction reads under (PostgreSQL; call it in a REPEATABLE
    READ transaction, before or with the reads it stands for); on SQLite the watermark
    alone."""
    if conn.dialect.name != "postgresql":
        return Covered(watermark)
    return parse(str(conn.execute(text("SELECT CAST(pg_current_snapshot() AS text)"))
                     .scalar_one()), watermark)


def parse(snapshot: str, watermark: int = 0) -> Covered:
    """`pg_current_snapshot()`'s text form `xmin:xmax:xip,xip,…`."""
    xmin, xmax, running = snapshot.split(":")
    return Covered(watermark, True, int(xmin), int(xmax),
                   frozenset(int(x) for x in running.split(",") if x))
