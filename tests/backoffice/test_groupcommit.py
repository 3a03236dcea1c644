"""SQLite's group writer for POST /tickets (kiosk/backoffice/groupcommit.py): many tickets in
one transaction, answered only after it committed, each exactly as the general path issues
it — numbers in sequence, none twice, none burned, people ahead, the estimate stored, the
events published — and a retry under a used key leaves its batch to the others."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from kiosk.backoffice import models as m
from kiosk.backoffice.db import reading
from kiosk.backoffice.groupcommit import GroupIssuer
from tests.backoffice.conftest import SseReader, issue, kiosk, make_backoffice, new_ticket, ok
from tests.backoffice.conftest import request as ticket_request


def _issue_all(bo: Any, keys: list[str], services: list[str]) -> tuple[list[Any], GroupIssuer]:
    who = kiosk(bo)

    async def run() -> tuple[list[Any], GroupIssuer]:
        bo.hub.bind(asyncio.get_running_loop())
        writer = GroupIssuer(bo)
        await writer.open()
        try:
            got = await asyncio.gather(*(writer.issue(who, ticket_request(s), k, "http://x")
                                         for k, s in zip(keys, services, strict=True)))
        finally:
            await writer.close()
        return list(got), writer

    return asyncio.run(run())


def test_one_transaction_issues_many_as_the_general_path(tmp_path: Any) -> None:
    bo = make_backoffice(f"sqlite:///{tmp_path / 'bo.sqlite3'}")
    first = new_ticket(bo, "moving")  # the general path (and its caches)
    keys = [uuid.uuid4().hex for _ in range(40)]
    tickets, writer = _issue_all(bo, keys, ["moving"] * 40)
    assert all(t is not None for t in tickets)
    assert writer.tickets == 40 and writer.batches < 40  # grouped
    assert [t["number"] for t in tickets] == [f"B-{n:03d}" for n in range(2, 42)]
    assert [t["people_ahead"] for t in tickets] == list(range(1, 41))
    assert set(tickets[0]) == set(first)  # the same shape as the general path's answer
    assert all(t["status"] == "waiting" and t["estimated_wait_seconds"] > 0 for t in tickets)
    with reading(bo.engine) as conn:
        stored = conn.execute(select(func.count()).select_from(m.ticket_estimates)).scalar_one()
        events = conn.execute(select(func.count()).select_from(m.ticket_events).where(
            m.ticket_events.c.type == "ticket.issued")).scalar_one()
    assert stored == 41 and events == 41
    bo.engine.dispose()


def test_a_used_key_leaves_the_batch_to_the_others(tmp_path: Any) -> None:
    bo = make_backoffice(f"sqlite:///{tmp_path / 'bo.sqlite3'}")
    new_ticket(bo)
    used = uuid.uuid4().hex
    assert _issue_all(bo, [used], ["certificates"])[0][0] is not None
    keys = [uuid.uuid4().hex for _ in range(5)]
    again, _ = _issue_all(bo, [*keys[:2], used, *keys[2:]], ["certificates"] * 6)
    assert again[2] is None  # goes on to the route, which replays it
    numbers = [t["number"] for t in again if t is not None]
    assert numbers == [f"A-{n:03d}" for n in range(3, 8)]  # none burned by the rollback
    bo.engine.dispose()


def test_the_writer_checkpoints_after_answering_not_in_its_commits(
        tmp_path: Any, monkeypatch: Any, caplog: Any) -> None:
    """SQLite's automatic checkpoint is off on the writer's own connection (it ran inside
    every ~17th COMMIT, delaying that batch's answers); the checkpointer thread runs the same
    PASSIVE checkpoint after each CHECKPOINT_TICKETS tickets, and once the WAL has grown past
    WAL_RESTART_FRAMES the writer copies the rest itself so that SQLite starts it over."""
    from kiosk.backoffice import groupcommit

    monkeypatch.setattr(groupcommit, "CHECKPOINT_TICKETS", 8)
    bo = make_backoffice(f"sqlite:///{tmp_path / 'bo.sqlite3'}")
    new_ticket(bo)
    seen: list[int] = []
    run = GroupIssuer._write

    def write(self: GroupIssuer, batch: list[Any]) -> list[Any]:
        got = run(self, batch)
        assert self._conn is not None
        seen.append(self._conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())
        self._conn.commit()
        return got

    monkeypatch.setattr(GroupIssuer, "_write", write)
    tickets, writer = _issue_all(bo, [uuid.uuid4().hex for _ in range(40)], ["moving"] * 40)
    assert all(t is not None for t in tickets)
    assert seen and set(seen) == {0}
    assert writer.checkpointer.checkpoints >= 1  # asked for, and done by the time it stopped
    assert writer._conn is None  # closed with the writer
    with bo.engine.connect() as conn:  # everything copied back but what came after it
        busy, frames, copied = groupcommit.checkpoint(conn)
    assert busy == 0 and copied == frames > 0
    # the writer's own checkpoint once the WAL is long: a transaction after it starts the
    # WAL file over (its frames are few again)
    writer.checkpointer.frames = groupcommit.WAL_RESTART_FRAMES
    writer._restart_wal()
    assert writer.restarts == 1 and writer.checkpointer.frames == 0
    writer._disconnect()
    new_ticket(bo)
    with bo.engine.connect() as conn:
        assert groupcommit.checkpoint(conn)[1] < frames
    assert "failed" not in caplog.text
    bo.engine.dispose()


@pytest.mark.parametrize("db", [None, pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_server_issues_through_the_group_writer(backoffice_factory: Any,
                                                   db: str | None) -> None:
    """Through HTTP: concurrent kiosks, retries replayed, refusals as before, events live —
    SQLite's group writer, and PostgreSQL's batches (pgbatch.py), also with retries of used
    keys inside a batch."""
    from concurrent.futures import ThreadPoolExecutor

    server = backoffice_factory.start(db)
    sse = SseReader(server.api("/events?ward=kita&service=family"), server.display_token)
    try:
        sse.next("snapshot")
        first = ok(issue(server, service="family"), 201)  # warms the caches
        n0, ahead0 = int(first["number"][2:]), first["people_ahead"]  # a server shared
        with ThreadPoolExecutor(16) as pool:
            sent = [uuid.uuid4().hex for _ in range(48)]
            tickets = list(pool.map(lambda k: ok(issue(server, key=k, service="family"), 201),
                                    sent))
        numbers = sorted(t["number"] for t in tickets)
        assert numbers == [f"C-{n:03d}" for n in range(n0 + 1, n0 + 49)]
        assert sorted(t["people_ahead"] for t in tickets) == list(range(ahead0 + 1,
                                                                        ahead0 + 49))
        seen = {sse.next("ticket.issued")[1]["ticket"]["number"] for _ in range(49)}
        assert seen == {*numbers, first["number"]}
        # retries of used keys among new tickets: replayed, and no number burned
        retried = tickets[:6]
        jobs = sent[:6] + [uuid.uuid4().hex for _ in range(26)]
        with ThreadPoolExecutor(16) as pool:
            again = list(pool.map(lambda k: issue(server, service="family", key=k), jobs))
        assert [ok(r, 200)["id"] for r in again[:6]] == [t["id"] for t in retried]
        fresh = sorted(ok(r, 201)["number"] for r in again[6:])
        assert fresh == [f"C-{n:03d}" for n in range(n0 + 49, n0 + 75)]
        n0 += 26
        key = uuid.uuid4().hex
        t = ok(issue(server, key=key, service="family"), 201)
        assert ok(issue(server, key=key, service="family"), 200)["id"] == t["id"]
        r = issue(server, key=key, service="family", language="en")
        assert r.status_code == 409 and r.json()["error"] == "idempotency_mismatch"
        r = issue(server, service="nope")
        assert r.status_code == 422 and r.json()["error"] == "unknown_service"
        assert ok(issue(server, service="family"), 201)["number"] == f"C-{n0 + 50:03d}"
    finally:
        sse.close()
    if db == "postgres":  # tickets of one batch share their transaction
        import sqlalchemy as sa

        engine = sa.create_engine(server.db_url)
        with engine.connect() as conn:
            tx, n = conn.exec_driver_sql("SELECT count(DISTINCT xmin::text), count(*) "
                                         "FROM tickets").one()
        engine.dispose()
        assert tx < n
        assert "batch failed" not in server.log_text()

