"""Emptying an SQLite write-ahead log after personal data was deleted, without stalling
the writers: shared by the kiosk's store and the back-office's purge."""

from __future__ import annotations

from typing import Any

CHECKPOINT_WAIT_MS = 250


def truncate_wal(raw: Any, wait_ms: int = CHECKPOINT_WAIT_MS) -> bool:
    """Checkpoint and truncate the WAL of the DB-API (sqlite3) connection `raw`, so old
    copies of deleted rows leave the disk (secure_delete has zeroed them in the database
    file). The checkpoint holds the write lock while it waits for readers, so it waits at
    most `wait_ms` (not the connection's busy timeout: tickets must keep being issued).
    False when a reader or writer kept it from completing: the caller tries again later."""
    busy_timeout = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
    raw.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
    try:
        row = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.execute(f"PRAGMA busy_timeout={busy_timeout}")
    return row is not None and not row[0]
