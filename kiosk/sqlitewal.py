"""SQLite write-ahead log checkpoints on a DB-API (sqlite3) connection: emptying the log
after personal data was deleted, without stalling the writers (the kiosk's store and the
back-office's purge), and the back-office group writer's checkpoints beside its commits."""

from __future__ import annotations

from typing import Any

CHECKPOINT_WAIT_MS = 250


def checkpoint(raw: Any, mode: str = "PASSIVE") -> tuple[int, int, int]:
    """`PRAGMA wal_checkpoint(mode)` on the DB-API connection `raw`, outside any
    transaction (a connection inside one cannot checkpoint: SQLITE_LOCKED): (busy, the
    WAL's frames, the frames copied)."""
    if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
        raise ValueError(f"no checkpoint mode {mode!r}")
    cursor = raw.execute(f"PRAGMA wal_checkpoint({mode})")
    try:
        busy, frames, copied = cursor.fetchone()
    finally:
        cursor.close()
    return int(busy), int(frames), int(copied)


def truncate_wal(raw: Any, wait_ms: int = CHECKPOINT_WAIT_MS) -> bool:
    """Checkpoint and truncate the WAL of the DB-API (sqlite3) connection `raw`, so old
    copies of deleted rows leave the disk (secure_delete has zeroed them in the database
    file). The checkpoint holds the write lock while it waits for readers, so it waits at
    most `wait_ms` (not the connection's busy timeout: tickets must keep being issued).
    False when a reader or writer kept it from completing: the caller tries again later."""
    busy_timeout = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
    raw.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
    try:
        busy = checkpoint(raw, "TRUNCATE")[0]
    finally:
        raw.execute(f"PRAGMA busy_timeout={busy_timeout}")
    return not busy
