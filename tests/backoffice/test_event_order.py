"""Audit-trail ids in commit order on PostgreSQL (db.EVENT_ORDER_LOCK): a transaction that
drew an event id and is still open holds back the next one's, on the general path and on
the hot path's one statement (alone and batched). Without the lock the later transaction
committed a higher id first, and an SSE client resuming with that Last-Event-ID (or a
snapshot with it as watermark) never saw the lower one."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from tests.backoffice.conftest import kiosk, make_backoffice, new_ticket, request

HOLD = 0.8  # seconds the first transaction stays open after drawing its event id


def _slow_event(bo: Any, drawn: threading.Event, committed: list[tuple[float, str]]) -> None:
    """An audit-trail entry written, then the transaction kept open for HOLD seconds."""
    from kiosk.backoffice.db import writing
    from kiosk.backoffice.engine.audit import record

    with writing(bo.engine) as conn:
        record(bo, conn, [], type="ward.note", ward="kita", service=None, ticket=None,
               counter=None, actor=None)
        drawn.set()
        time.sleep(HOLD)
    committed.append((time.monotonic(), "slow"))


def _hot(bo: Any, tickets: int) -> list[dict[str, Any]]:
    """`tickets` tickets issued at once through the hot path (FastIssuer: batched when
    more than one is queued)."""
    from kiosk.backoffice.fastpath import FastIssuer

    async def run() -> list[dict[str, Any]]:
        fast = FastIssuer(bo)
        await fast.open()
        try:
            got = await asyncio.gather(*(fast.issue(kiosk(bo), request("moving"),
                                                    uuid.uuid4().hex, "")
                                         for _ in range(tickets)))
        finally:
            await fast.close()
        assert all(t is not None for t in got), "the hot path answered every ticket"
        return list(got)  # type: ignore[arg-type]

    return asyncio.run(run())


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["general", "hot", "hot-batch"])
def test_event_ids_follow_commit_order(postgres_url: str, path: str) -> None:
    bo = make_backoffice(postgres_url)
    try:
        if path != "general":
            _hot(bo, 1)  # the caches the hot path reads, filled
        drawn = threading.Event()
        committed: list[tuple[float, str]] = []
        slow = threading.Thread(target=_slow_event, args=(bo, drawn, committed))
        slow.start()
        assert drawn.wait(10)
        if path == "general":
            tickets = [new_ticket(bo, "moving")]
        else:
            tickets = _hot(bo, 1 if path == "hot" else 6)
        committed.append((time.monotonic(), "tickets"))
        slow.join(10)
        e = sa.table("ticket_events", sa.column("id"), sa.column("type"),
                     sa.column("ticket_id"))
        with bo.engine.connect() as conn:
            note = conn.execute(sa.select(e.c.id).where(e.c.type == "ward.note")).scalar_one()
            issued = conn.execute(sa.select(e.c.id).where(
                e.c.ticket_id.in_([t["id"] for t in tickets]))).scalars().all()
        order = [who for _, who in sorted(committed)]
        # the tickets' transaction waited for the open one: it committed after it, and its
        # event ids are above the open one's (commit order = id order)
        assert order == ["slow", "tickets"], order
        assert len(issued) == len(tickets) and min(issued) > note
    finally:
        bo.engine.dispose()
