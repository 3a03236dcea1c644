"""Numbers under real concurrency: many threads and processes issue at once, kiosks reserve
offline blocks in between; no number is handed out twice and none goes missing."""

from __future__ import annotations

import multiprocessing
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import select

from kiosk.backoffice import models as m
from kiosk.backoffice.clock import office_day, utcnow
from kiosk.backoffice.db import reading
from kiosk.backoffice.engine import issuing, offline_blocks
from tests.backoffice.conftest import issue, kiosk, make_backoffice, ok, request

THREADS = 16
PER_THREAD = 20


def _issue_many(bo, n: int, service: str = "certificates") -> list[int]:
    k = kiosk(bo)
    out = []
    for _ in range(n):
        t, created = issuing.issue(bo, k, request(service), uuid.uuid4().hex, "")
        assert created
        out.append(int(t["number"].split("-")[1]))
    return out


def _process_worker(db_url: str, threads: int, per_thread: int) -> list[int]:
    from tests.backoffice.conftest import make_backoffice_no_prepare

    bo = make_backoffice_no_prepare(db_url)
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda _: _issue_many(bo, per_thread), range(threads)))
    bo.engine.dispose()
    return [n for r in results for n in r]


def _blocks(bo, service: str = "certificates") -> list[tuple[int, int]]:
    with reading(bo.engine) as conn:
        return [(r.first, r.last) for r in conn.execute(
            select(m.number_blocks).where(m.number_blocks.c.service == service))]


def _check_accounted(bo, online: list[int], blocks: list[tuple[int, int]]) -> None:
    q = bo.settings.queue
    assert len(online) == len(set(online)), "duplicate online numbers"
    reserved = [n for first, last in blocks for n in range(first, last + 1)]
    assert len(reserved) == len(set(reserved)), "overlapping blocks"
    assert not set(online) & set(reserved), "an online number inside a reserved block"
    assert sorted(online) == [issuing.online_number(bo, n) for n in range(1, len(online) + 1)], \
        "an online number went missing"
    assert not [n for n in online if q.offline_first <= n <= q.offline_last]
    assert sorted(reserved) == list(range(q.offline_first, q.offline_first + len(reserved))), \
        "an offline number went missing"


def _hammer(bo, db_url: str, processes: int) -> None:
    k = kiosk(bo)
    today = office_day(utcnow(), bo.tz)

    def reserve(i: int) -> None:
        for j in range(5):
            offline_blocks.reserve_block(bo, k, "certificates", today, 7, f"hammer-{i}-{j}")
            # a retry of the same reservation (lost answer) gets the same block
            assert not offline_blocks.reserve_block(bo, k, "certificates", today, 7,
                                                    f"hammer-{i}-{j}")[1]

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as procs:
        async_results = [procs.apply_async(_process_worker, (db_url, 4, 10))
                         for _ in range(processes)]
        with ThreadPoolExecutor(THREADS + 2) as pool:
            futures = [pool.submit(_issue_many, bo, PER_THREAD) for _ in range(THREADS)]
            futures += [pool.submit(reserve, i) for i in range(2)]
            local = [f.result() for f in futures[:THREADS]]
            for f in futures[THREADS:]:
                f.result()
        remote = [r.get(timeout=240) for r in async_results]
    online = [n for r in local + remote for n in r]
    assert len(online) == THREADS * PER_THREAD + processes * 40
    _check_accounted(bo, online, _blocks(bo))
    with reading(bo.engine) as conn:
        rows = conn.execute(select(m.tickets.c.label, m.tickets.c.number).where(
            m.tickets.c.origin_service == "certificates")).all()
    assert sorted(r.number for r in rows) == sorted(online)
    assert len({r.label for r in rows}) == len(rows)


@pytest.mark.slow
@pytest.mark.parametrize(("db", "processes"), [
    pytest.param("postgres", 3, marks=pytest.mark.postgres), ("sqlite", 2)])
def test_threads_and_processes(db, processes, request, tmp_path):
    url = (request.getfixturevalue("postgres_url") if db == "postgres"
           else f"sqlite:///{tmp_path}/db.sqlite3")
    bo = make_backoffice(url)
    try:
        _hammer(bo, url, processes=processes)
    finally:
        bo.engine.dispose()


@pytest.mark.postgres
def test_http_clients_against_two_server_processes(backoffice_factory):
    server = backoffice_factory.start("postgres", workers=2)
    with ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(lambda _: issue(server), range(160)))
    numbers = [ok(r, 201)["number"] for r in responses]
    assert len(set(numbers)) == 160
    assert sorted(numbers) == [f"A-{n:03d}" for n in range(1, 161)]


def test_online_numbers_jump_over_the_offline_range_and_blocks_run_out(tmp_path):
    """Small ranges so both ends are reached: online 1-4 then 8, 9, …; offline 5-7."""
    from kiosk.backoffice.engine.errors import Conflict

    bo = make_backoffice(f"sqlite:///{tmp_path}/db.sqlite3", offline_first=5, offline_last=7,
                         max_block_size=10)
    try:
        k = kiosk(bo)
        today = office_day(utcnow(), bo.tz)
        assert _issue_many(bo, 6) == [1, 2, 3, 4, 8, 9]
        block, created = offline_blocks.reserve_block(bo, k, "certificates", today, 2, "block-one")
        assert created and (block["first"], block["last"]) == (5, 6)
        assert block["numbers"] == ["A-005", "A-006"]
        short, _ = offline_blocks.reserve_block(bo, k, "certificates", today, 2, "block-two")
        assert (short["first"], short["last"]) == (7, 7)  # the rest of the range
        with pytest.raises(Conflict) as exc:
            offline_blocks.reserve_block(bo, k, "certificates", today, 1, "block-three")
        assert exc.value.code == "offline_numbers_exhausted"
        assert "5-7" in exc.value.message and "offline_last" in exc.value.message
        with pytest.raises(Conflict) as exc:  # a refusal reserves nothing, even later
            offline_blocks.reserve_block(bo, k, "certificates", today, 1)
        assert exc.value.code == "offline_numbers_exhausted"
        assert _blocks(bo) == [(5, 6), (7, 7)]
        # a retry of an answered reservation still gets its block, not the 409
        again, created = offline_blocks.reserve_block(bo, k, "certificates", today, 2, "block-one")
        assert not created and again == block
        with pytest.raises(Conflict) as exc:  # same key, other request
            offline_blocks.reserve_block(bo, k, "certificates", today, 3, "block-one")
        assert exc.value.code == "idempotency_mismatch"
        assert _issue_many(bo, 1) == [10]
        moving, _ = offline_blocks.reserve_block(bo, k, "moving", today, 2)
        assert moving["first"] == 5  # per service
    finally:
        bo.engine.dispose()


def test_numbers_restart_every_office_day(tmp_path):
    bo = make_backoffice(f"sqlite:///{tmp_path}/db.sqlite3")
    from kiosk.backoffice.db import writing
    from kiosk.backoffice.engine.issuing import bump

    with writing(bo.engine) as conn:
        assert bump(bo, conn, "kita", "certificates", date(2030, 1, 1), 1) == 1
        assert bump(bo, conn, "kita", "certificates", date(2030, 1, 1), 1) == 2
        assert bump(bo, conn, "kita", "certificates", date(2030, 1, 2), 1) == 1
        assert bump(bo, conn, "naka", "certificates", date(2030, 1, 1), 1) == 1
    bo.engine.dispose()
