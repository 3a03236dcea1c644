"""The hot path of POST /tickets on SQLite: one writer thread, group commit.

SQLite has one writer at a time. With every request in its own worker thread opening its own
`BEGIN IMMEDIATE`, 32 kiosks queue for the lock inside SQLite's busy handler, which sleeps
(1, 2, 5, 10 … 100 ms) between tries: the tail grew to 150-230 ms and the server spent its
CPU on threads, pool and lock rather than on tickets. Here a request that may take the hot
path (`fastpath.hot_params`: an online ticket, not a routed visit) is queued; one
writer thread takes everything queued, issues it in **one** transaction — each ticket exactly
as the general path does (`engine.issuing.issue_sqlite`: sequence bump, insert, people ahead,
estimate served, audit event) — commits once and then answers all of them. A ticket is
answered only after its transaction committed. While one batch commits the next gathers, so
the batch grows with the load by itself. The writer also fills the caches it reads (the
ward's state, the served estimate) in the batch's own connection, so a cache expiring under
load does not send a burst of requests to the general path; a request for a ward that is
closed now goes on to the route (409, or the replay of a ticket issued before closing).

A ticket that fails (a retry under a used Idempotency-Key: unique violation) rolls its batch
back — no number is burned —, goes on alone to the FastAPI route, which replays it (or
refuses it) as before, and the rest of the batch is issued again without it. Any other
failure is logged and the whole batch goes the general way.
Other writers (counter actions, offline uploads, routed visits) keep their own transactions;
they and the group writer queue for SQLite's write lock as before.

The writer keeps one connection of its own (no pool check-out and reset a batch), on which
SQLite's automatic WAL checkpoint is off: that checkpoint ran inside the COMMIT of every
~17th batch at 32 clients (≈ 14 ms on a quiet machine, 30-50 ms on a busy one: copying the
WAL into the database file, and its fsyncs), so that batch's answers and the next batch
waited for it — most of the p99. Now a **checkpointer thread** with a connection of its own
runs the same PASSIVE checkpoint (the same copies and fsyncs) each `CHECKPOINT_TICKETS`
tickets (or `CHECKPOINT_BATCHES` batches), beside the writer, which goes on committing
meanwhile (WAL lets one checkpoint and one writer run together; the copy and the fsyncs
release the GIL). A checkpoint that runs beside commits cannot let SQLite start the WAL
file over (it never catches up with the last commit), so under a long burst the WAL grows;
once a checkpoint found more than `WAL_RESTART_FRAMES` frames in it, the writer itself
checkpoints the few frames left once, after handing its batch's answers over, and its next
transaction starts the WAL over.
Durability is unchanged (`synchronous` as before; every checkpoint syncs as SQLite's own).
Other connections keep SQLite's automatic checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from kiosk import sqlitewal
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import safe_error
from kiosk.backoffice.engine.issuing import TicketRequest, issue_sqlite
from kiosk.backoffice.engine.lookups import is_open
from kiosk.backoffice.engine.shapes import ticket_json
from kiosk.backoffice.fastpath import hot_params
from kiosk.backoffice.principal import Principal
from kiosk.domain.catalog import Ward

log = logging.getLogger(__name__)

# (ward, bound parameters, who, when, the asyncio future its answer goes to)
Item = tuple[Ward, dict[str, Any], Principal, datetime, "asyncio.Future[Any]"]

# The checkpointer runs after this many tickets or batches, whichever comes first: about the
# 1,000 WAL pages SQLite's own automatic checkpoint waits for (≈ 6 pages a ticket in batches
# at 32 clients, ≈ 15 a batch of one), so the WAL is synced at least as often as before. The
# writer lets SQLite start the WAL over once it has this many frames (4 KiB each: ≈ 128 MB,
# 3-4 s of 32 kiosks issuing flat out; a restart delays one batch, so it stays out of the p99).
CHECKPOINT_TICKETS = 160
CHECKPOINT_BATCHES = 64
WAL_RESTART_FRAMES = 32_000

class GroupIssuer:
    """`issue` as fastpath.FastIssuer's, answered by one writer thread (module docstring)."""

    def __init__(self, bo: Backoffice) -> None:
        self.bo = bo
        # tickets per transaction at most; a batch is whatever queued during the last commit
        self.max_batch = bo.settings.server.group_commit_max
        self._queue: deque[Item] = deque()
        self._ready = threading.Condition()
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.tickets = 0
        self._conn: Connection | None = None  # the writer thread's own (module docstring)
        self._unchecked = 0  # tickets written since the checkpointer last ran
        self._unchecked_batches = 0
        self.checkpointer = Checkpointer(bo.engine)
        self.restarts = 0  # checkpoints the writer ran itself to start the WAL over

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()
        self.checkpointer.start()

    async def close(self) -> None:
        with self._ready:
            self._closing = True
            self._ready.notify()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10)
        await asyncio.to_thread(self.checkpointer.stop)

    async def issue(self, principal: Principal, req: TicketRequest, key: str,
                    base_url: str) -> dict[str, Any] | None:
        """The new ticket, or None: take the general path (the module docstring)."""
        hot = hot_params(self.bo, principal, req, key)  # 4xx as usual
        if hot is None or self._loop is None:
            return None
        ward, params, now = hot
        done: asyncio.Future[Any] = self._loop.create_future()
        with self._ready:
            if self._closing:
                return None
            self._queue.append((ward, params, principal, now, done))
            self._ready.notify()
        got = await done
        if got is None:
            return None
        row, ahead, served = got
        return ticket_json(self.bo, row, ahead, base_url, served=served)

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closing:
                    self._ready.wait()
                if not self._queue:
                    self._disconnect()
                    return  # closing, and nothing left to answer
                n = min(len(self._queue), self.max_batch)
                batch = [self._queue.popleft() for _ in range(n)]
            results = self._write(batch)
            assert self._loop is not None
            self._loop.call_soon_threadsafe(_answer, batch, results)
            if self._unchecked >= CHECKPOINT_TICKETS or \
                    self._unchecked_batches >= CHECKPOINT_BATCHES:
                self._unchecked = self._unchecked_batches = 0
                self.checkpointer.ask()
            if self.checkpointer.frames >= WAL_RESTART_FRAMES:
                self._restart_wal()

    def _connection(self) -> Connection:
        """The writer's own connection: writing transactions (BEGIN IMMEDIATE), no automatic
        checkpoint."""
        if self._conn is None:
            conn = self.bo.engine.connect()
            conn.execution_options(immediate=True)
            _driver(conn).execute("PRAGMA wal_autocheckpoint=0").close()
            self._conn = conn
        return self._conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.close()
            except Exception as exc:  # noqa: BLE001 — a broken connection is dropped anyway
                log.warning("group commit: closing its connection failed (%s)", safe_error(exc))

    def _restart_wal(self) -> None:
        """The frames the checkpointer could not copy (committed while it ran) copied now,
        between two transactions of the writer, so that its next one starts the WAL over."""
        try:
            busy, frames, copied = checkpoint(self._connection())
        except Exception as exc:  # noqa: BLE001 — tried again after the next batch
            log.warning("group commit: WAL checkpoint failed (%s)", safe_error(exc))
            self._disconnect()
            return
        if not busy and copied == frames:  # else the checkpointer was running: next batch
            self.checkpointer.frames = 0
            self.restarts += 1

    def _write(self, batch: list[Item]) -> list[Any]:
        bo = self.bo
        results: list[Any] = [None] * len(batch)
        try:
            todo = [i for i, (ward, _, _, now, _) in enumerate(batch) if is_open(bo, ward, now)]
            while todo:
                pending: list[dict[str, Any]] = []
                at = 0
                try:
                    conn = self._connection()
                    with conn.begin():
                        for i in todo:
                            _, params, principal, _, _ = batch[i]
                            results[i] = issue_sqlite(bo, conn, params, principal, pending)
                            at += 1
                except IntegrityError:
                    # that one alone on the general path; the others again (nothing was kept)
                    for i in todo:
                        results[i] = None
                    del todo[at]
                    continue
                self.batches += 1
                self.tickets += len(todo)
                self._unchecked += len(todo)
                self._unchecked_batches += 1
                bo.after_commit(pending)
                break
        except Exception as exc:  # noqa: BLE001 — the general path answers (and logs) it
            log.warning("group commit failed (%s); issuing the general way", safe_error(exc))
            self._disconnect()  # a new connection for the next batch
            return [None] * len(batch)
        return results


def _driver(conn: Connection) -> Any:
    return conn.connection.driver_connection


def checkpoint(conn: Connection) -> tuple[int, int, int]:
    """SQLite's PASSIVE checkpoint, as the automatic one runs it, on `conn`'s DB-API
    connection (SQLAlchemy's execute would open a transaction): (busy, frames, copied)."""
    return sqlitewal.checkpoint(_driver(conn))


class Checkpointer:
    """A thread with a connection of its own that runs a PASSIVE checkpoint when asked
    (the module docstring); `frames`: the WAL's frames its last checkpoint found."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.frames = 0
        self.checkpoints = 0
        self._wanted = threading.Event()
        self._asked = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def ask(self) -> None:
        self._asked = True
        self._wanted.set()

    def stop(self) -> None:
        self._stopping = True
        self._wanted.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        conn: Connection | None = None
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if not self._asked:  # stopping, and nothing asked for meanwhile
                    return
                self._asked = False
                try:
                    if conn is None:
                        conn = self.engine.connect()
                    _, self.frames, _ = checkpoint(conn)
                    self.checkpoints += 1
                except Exception as exc:  # noqa: BLE001 — asked again after more tickets
                    log.warning("WAL checkpoint failed (%s)", safe_error(exc))
                    if conn is not None:
                        conn.invalidate()
                        conn.close()
                        conn = None
                if self._stopping:
                    return
        finally:
            if conn is not None:
                conn.close()


def _answer(batch: list[Item], results: list[Any]) -> None:
    for (*_, done), result in zip(batch, results, strict=True):
        if not done.done():  # a request whose client went away was cancelled
            done.set_result(result)
