"""PostgreSQL hot path, many tickets per round trip (issue #21, faster serving).

On this machine a round trip to PostgreSQL costs more in system calls and process wake-ups
(the server's send, PostgreSQL's receive, its answer, the server's receive) than the
statement itself: py-spy showed psycopg's send alone at 29-43 % of the server's samples.
So the tickets that arrive while a statement is out are sent together, as **one set-based
statement** (engine/issuing_batch.py): the requests' columns as typed arrays (extended
protocol, the statement prepared once per connection), each number row bumped once by its
count, the tickets, events and estimates inserted, the people ahead counted as if each
ticket had been issued alone in the batch's order, and the events NOTIFYed as arrays
(one NOTIFY per ≈ 7.9 kB of events). Until 2026-12-05 ("speed4") a batch was one
simple-protocol query `EXECUTE ward_issue(…); …`, one statement a ticket.

A ticket is answered only after the batch committed. When the batch fails (a retry
under a used Idempotency-Key: unique violation; or anything else) nothing of it was kept —
no number burned — and each of its tickets is issued again alone (`engine.issuing.ISSUE_PG`
or `ISSUE_PG_SHOWN`, one statement each), where a unique violation goes on to the route.
A batch is whatever queued while the previous one was out (at most `[server]
group_commit_max`; 0 or 1: one statement per ticket).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from kiosk.backoffice.db import safe_error

log = logging.getLogger(__name__)

Item = tuple[Any, "asyncio.Future[Any]"]


def lock_key(params: dict[str, Any]) -> tuple[str, str, str]:
    """The number-sequence row issuing `params` locks (ward, service, day), as sortable."""
    return (str(params["ward"]), str(params["service"]), str(params["day"]))


# A connection's issuing statements (a batch or a ticket alone) after which its prepared
# statements are dropped (and prepared again on their next uses: psycopg sees DEALLOCATE
# ALL and forgets its own). Both statements count the people ahead the same way.
REPLAN_AT = frozenset((32, 128, 512, 2048))
_batches_on: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


async def replan_while_young(conn: Any) -> None:
    """Let a connection plan its statements again as the tables grow. PostgreSQL keeps the
    generic plan a prepared statement settles on after five executions; made while
    `tickets` was nearly empty it counted the people-ahead correction through the unique
    index on `ward` alone (the two indexes cost the planner the same then) — every ticket
    of the ward read for each ticket issued, 2-4× the CPU, until autovacuum's first
    ANALYZE, up to a minute later (docs/backoffice.md, the slow mode). Dropping the plans a
    few times over the connection's first ~2,000 statements costs a few custom plans each."""
    n = _batches_on.get(conn, 0) + 1
    _batches_on[conn] = n
    if n in REPLAN_AT:
        await conn.execute("DEALLOCATE ALL")


class Coalescing:
    """`submit(item)`: its result once the batch it went in has run. The items queued while
    a batch is out go together as the next one (at most `max_batch`); `_run` does a batch
    and answers one result per item. A request whose client went away was cancelled: its
    result is dropped."""

    def __init__(self, max_batch: int) -> None:
        self.max_batch = max(max_batch, 1)
        self._queue: deque[Item] = deque()
        self._running = False

    async def submit(self, item: Any) -> Any:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await done

    async def _run(self, items: list[Any]) -> list[Any]:
        raise NotImplementedError

    async def _drain(self) -> None:
        try:
            while self._queue:
                n = min(len(self._queue), self.max_batch)
                batch = [self._queue.popleft() for _ in range(n)]
                results: list[Any] = [None] * n
                try:
                    results = await self._run([item for item, _ in batch])
                except Exception:  # never leave a request waiting
                    log.exception("hot path batch failed; issuing the general way")
                for (_, done), row in zip(batch, results, strict=True):
                    if not done.done():
                        done.set_result(row)
        finally:
            self._running = False


class Batcher(Coalescing):
    """`issue(params)`: the issuing statement's row for `params`, or None (the general path
    answers it). Batches as the module docstring says: `sql` issues one ticket,
    `batch_sql` a batch, bound with `batch_params(items)` (engine/issuing_batch.py), rows
    (ord, then `sql`'s columns) in the order of the items."""

    def __init__(self, pool: AsyncConnectionPool, sql: str, batch_sql: str,
                 batch_params: Callable[[list[dict[str, Any]]], dict[str, Any]],
                 max_batch: int) -> None:
        super().__init__(max_batch)
        self.pool = pool
        self.sql = sql
        self.batch_sql = batch_sql
        self.batch_params = batch_params
        self.alone_only = max_batch <= 1
        self.batches = 0
        self.tickets = 0

    async def issue(self, params: dict[str, Any]) -> Any:
        if self.alone_only:
            return await self._alone(params)
        return await self.submit(params)

    async def _run(self, items: list[dict[str, Any]]) -> list[Any]:
        if len(items) == 1:
            return [await self._alone(items[0])]
        try:
            return await self._together(items)
        except (psycopg.Error, ValueError) as exc:
            log.info("batch of %d failed (%s); each alone", len(items), safe_error(exc))
            return [await self._alone(params) for params in items]

    async def _alone(self, params: dict[str, Any]) -> Any:
        """One statement, extended protocol (psycopg prepares it after a few uses)."""
        try:
            async with self.pool.connection() as conn:
                await replan_while_young(conn)
                cur = await conn.execute(self.sql, params)
                return await cur.fetchone()
        except psycopg.errors.UniqueViolation:
            return None  # a retry under a used key: the general path replays it
        except psycopg.Error as exc:  # the general path answers (and logs) it properly
            log.warning("hot path failed (%s); issuing the general way", safe_error(exc))
            return None

    async def _together(self, batch: list[dict[str, Any]]) -> list[Any]:
        """The batch in one statement; raises when any of it fails (nothing kept).

        Its tickets go in the order of the number-sequence rows they lock, (ward, service,
        day), and the statement locks those rows in that order, the same in every batch of
        every process: two batches taking two services' rows in opposite orders deadlocked,
        and PostgreSQL found it only after `deadlock_timeout` (1 s), then both batches were
        issued again one by one — the 1-second p99 of two server processes. Tickets of one
        service keep their arrival order (a stable sort), so their numbers do too."""
        order = sorted(range(len(batch)), key=lambda i: lock_key(batch[i]))
        bound = self.batch_params([batch[i] for i in order])
        async with self.pool.connection() as conn:
            await replan_while_young(conn)
            cur = await conn.execute(self.batch_sql, bound)
            rows = await cur.fetchall()
        if [row[0] for row in rows] != list(range(1, len(batch) + 1)):
            raise ValueError("a batch answered other rows than it issued")
        self.batches += 1
        self.tickets += len(batch)
        answers: list[Any] = [None] * len(batch)
        for i, row in zip(order, rows, strict=True):
            answers[i] = row[1:]
        return answers


class RowBatcher(Coalescing):
    """`insert(row)`: True once the row is stored. The rows queued meanwhile go in one
    statement, `sql` taking one array per column of `columns` (the "clerk" estimates the hot
    path answers: one INSERT a batch instead of one a ticket); False when it failed."""

    def __init__(self, pool: AsyncConnectionPool, sql: str, columns: tuple[str, ...],
                 max_batch: int) -> None:
        super().__init__(max_batch)
        self.pool, self.sql, self.columns = pool, sql, columns
        self.batches = 0

    async def insert(self, row: dict[str, Any]) -> bool:
        return bool(await self.submit(row))

    async def _run(self, items: list[dict[str, Any]]) -> list[Any]:
        try:
            async with self.pool.connection() as conn:
                await conn.execute(self.sql, {c: [r[c] for r in items] for c in self.columns})
        except psycopg.Error as exc:
            log.warning("hot path could not store %d row(s) (%s)", len(items),
                        safe_error(exc))
            return [False] * len(items)
        self.batches += 1
        return [True] * len(items)
