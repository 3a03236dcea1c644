"""The kiosk's local store: SQLite in WAL mode through SQLAlchemy (Core).

Tables:
- ``tickets``: every ticket this kiosk issued, online or offline, with its idempotency key.
- ``outbox``: what the back-office must still learn, in order; a row is deleted when the
  back-office acknowledges it, and its sealed personal data with it.
- ``number_blocks``: offline numbers reserved for this kiosk, per service and day.
- ``cache``: the last catalog, opening hours and wait estimates pulled.

A ticket and its outbox messages are written in one transaction, so a kiosk killed at
any instant either issued the ticket and will deliver it, or did not issue it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Connection, Engine

from kiosk.sqlitewal import truncate_wal

log = logging.getLogger(__name__)

metadata = MetaData()

tickets = Table(
    "tickets", metadata,
    Column("key", String(64), primary_key=True),          # idempotency key, uuid4 hex
    Column("service", String(32), nullable=False),
    Column("procedure", String(32)),
    Column("priority", Boolean, nullable=False, default=False),
    Column("language", String(16), nullable=False, default="ja"),
    Column("issued_at", String(40), nullable=False),      # ISO 8601 UTC, kiosk clock
    Column("day", String(10), nullable=False),            # local service day YYYY-MM-DD
    Column("number", String(16)),                         # "A-012"; None while issuing
    Column("offline", Boolean, nullable=False, default=False),
    Column("status_url", Text),
    Column("server_id", String(64)),
    Column("acked", Boolean, nullable=False, default=False),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),   # delivery order
    Column("key", String(80), nullable=False, unique=True),        # idempotency key
    Column("kind", String(24), nullable=False),
    Column("ticket_key", String(64)),
    Column("payload", Text, nullable=False),     # JSON, never personal data
    Column("sealed", LargeBinary),               # AES-GCM personal data, or NULL
    Column("created_at", Float, nullable=False),
    Column("not_before", Float, nullable=False, default=0.0),      # wall clock seconds
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("dead", Boolean, nullable=False, default=False),        # refused by the server
)

number_blocks = Table(
    "number_blocks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("block_id", String(64)),              # the back-office's id for the reservation
    Column("service", String(32), nullable=False),
    Column("prefix", String(4), nullable=False),
    Column("width", Integer, nullable=False, default=3),      # digits: A-012 → 3
    Column("day", String(10), nullable=False),
    Column("first", Integer, nullable=False),
    Column("last", Integer, nullable=False),
    Column("next", Integer, nullable=False),
    UniqueConstraint("service", "day", "first"),
)

cache = Table(
    "cache", metadata,
    Column("name", String(32), primary_key=True),
    Column("body", Text, nullable=False),
    Column("fetched_at", Float, nullable=False),
)


def _pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the process being killed (it is in the WAL,
        # the OS writes it out); WAL + FULL also survives power loss (fsync per commit).
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=10000")
        # Deleted rows (acknowledged sealed data) are overwritten, not left in free pages.
        cur.execute("PRAGMA secure_delete=ON")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()
    return on_connect


def _begin(conn: Any) -> None:
    # Writers take the lock at BEGIN: no deadlock between two read-then-write transactions.
    # Readers begin deferred and read a WAL snapshot without blocking anyone.
    readonly = conn.get_execution_options().get("kiosk_readonly", False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class Store:
    def __init__(self, path: str | Path, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self._flush_lock = threading.Lock()
        self._flush_wanted = threading.Event()
        self._flusher: threading.Thread | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None hands transaction control to us (BEGIN IMMEDIATE below);
        # pysqlite's own implicit transactions would start them lazily and too late.
        self.engine: Engine = create_engine(
            f"sqlite:///{self.path}", connect_args={"isolation_level": None,
                                                   "check_same_thread": False})
        event.listen(self.engine, "connect", _pragmas(synchronous))
        event.listen(self.engine, "begin", _begin)
        metadata.create_all(self.engine)

    @contextmanager
    def write(self, durable: bool = False) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT).

        `durable`: fsync at commit even when the store runs with synchronous=NORMAL —
        for records that exist nowhere else yet (an offline ticket's number)."""
        with self.engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            switch = durable and self.synchronous == "NORMAL"
            if switch:
                raw.execute("PRAGMA synchronous=FULL")   # autocommit mode: outside any txn
            try:
                with conn.begin():
                    yield conn
            finally:
                if switch:
                    raw.execute(f"PRAGMA synchronous={self.synchronous}")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(kiosk_readonly=True) as conn:
            yield conn

    def flush_soon(self) -> None:
        """fsync the WAL from a background thread, a few ms from now.

        For the acknowledgement of an online ticket: the caller returns at once (the
        commit already survives a killed process), and the ticket cannot be on paper
        before the fsync has finished — printing takes far longer than a disk flush."""
        with self._flush_lock:
            self._flush_wanted.set()
            if self._flusher is None or not self._flusher.is_alive():
                self._flusher = threading.Thread(target=self._flush_loop, daemon=True,
                                                 name="store-flush")
                self._flusher.start()

    def _flush_loop(self) -> None:
        while self._flush_wanted.wait(1.0):
            self._flush_wanted.clear()
            self.flush()

    def flush(self) -> None:
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            fd = os.open(wal, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def purge_wal(self) -> bool:
        """Checkpoint and truncate the WAL, so old copies of deleted rows leave the disk
        (secure_delete has already zeroed them in the database file), waiting for readers
        at most `CHECKPOINT_WAIT_MS`. False when one kept it from completing: try again
        later."""
        with self.engine.connect() as conn:
            return truncate_wal(conn.connection.dbapi_connection)

    def integrity_ok(self) -> bool:
        with self.engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"

    def close(self) -> None:
        self.flush()
        self.engine.dispose()
