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
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.db import safe_error, writing
from kiosk.backoffice.engine.issuing import TicketRequest, issue_sqlite
from kiosk.backoffice.engine.lookups import is_open
from kiosk.backoffice.engine.shapes import ticket_json
from kiosk.backoffice.fastpath import hot_params
from kiosk.backoffice.principal import Principal
from kiosk.domain.catalog import Ward

log = logging.getLogger(__name__)

# (ward, bound parameters, who, when, the asyncio future its answer goes to)
Item = tuple[Ward, dict[str, Any], Principal, datetime, "asyncio.Future[Any]"]

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

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        with self._ready:
            self._closing = True
            self._ready.notify()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10)

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
                    return  # closing, and nothing left to answer
                n = min(len(self._queue), self.max_batch)
                batch = [self._queue.popleft() for _ in range(n)]
            results = self._write(batch)
            assert self._loop is not None
            self._loop.call_soon_threadsafe(_answer, batch, results)

    def _write(self, batch: list[Item]) -> list[Any]:
        bo = self.bo
        results: list[Any] = [None] * len(batch)
        try:
            todo = [i for i, (ward, _, _, now, _) in enumerate(batch) if is_open(bo, ward, now)]
            while todo:
                pending: list[dict[str, Any]] = []
                at = 0
                try:
                    with writing(bo.engine) as conn:
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
                bo.after_commit(pending)
                break
        except Exception as exc:  # noqa: BLE001 — the general path answers (and logs) it
            log.warning("group commit failed (%s); issuing the general way", safe_error(exc))
            return [None] * len(batch)
        return results


def _answer(batch: list[Item], results: list[Any]) -> None:
    for (*_, done), result in zip(batch, results, strict=True):
        if not done.done():  # a request whose client went away was cancelled
            done.set_result(result)
