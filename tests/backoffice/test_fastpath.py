"""The PostgreSQL hot path of POST /tickets (kiosk/backoffice/fastpath.py) answers exactly
as the general path: same ticket shape, numbers in sequence, events, idempotent retries,
the same refusals — with two server processes sharing the port (SO_REUSEPORT)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from tests.backoffice.conftest import SseReader, issue, ok


@pytest.mark.postgres
def test_hot_path_answers_as_the_general_path(backoffice_factory):
    server = backoffice_factory.start("postgres", workers=2)
    sse = SseReader(server.api("/events?ward=kita&service=moving"), server.display_token)
    try:
        sse.next("snapshot")
        # the first tickets of a process fill its caches on the general path, later ones
        # take the hot path: the answers must not differ in shape or numbering
        tickets = [ok(issue(server, service="moving"), 201) for _ in range(12)]
        assert [t["number"] for t in tickets] == [f"B-{n:03d}" for n in range(1, 13)]
        assert len({frozenset(t) for t in tickets}) == 1
        assert [t["position"] for t in tickets] == list(range(1, 13))
        assert all(t["status"] == "waiting" and t["status_url"].endswith(t["status_token"])
                   and t["estimated_wait_seconds"] > 0 for t in tickets)
        seen = [sse.next("ticket.issued")[1]["ticket"]["number"] for _ in tickets]
        assert seen == [t["number"] for t in tickets]  # NOTIFY from every statement

        key = uuid.uuid4().hex
        t = ok(issue(server, key=key, service="moving", language="en"), 201)
        again = ok(issue(server, key=key, service="moving", language="en"), 200)
        assert again["id"] == t["id"] and again["number"] == t["number"]
        r = issue(server, key=key, service="moving", language="ko")
        assert r.status_code == 409 and r.json()["error"] == "idempotency_mismatch"

        r = issue(server, service="nope")
        assert r.status_code == 422 and r.json()["error"] == "unknown_service"
        r = issue(server, service="moving", extra=1)
        assert r.status_code == 422 and r.json()["error"] == "validation_error"
        r = server.session("kiosk").post(server.api("/tickets"), data=b"{broken",
                                         headers={"Idempotency-Key": uuid.uuid4().hex,
                                                  "Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "bad_request"
        r = server.session("kiosk").post(server.api("/tickets"), json={"service": "moving"})
        assert r.status_code == 422  # no Idempotency-Key
        r = issue(server, "display", service="moving")
        assert r.status_code == 403
        assert ok(issue(server, service="moving"), 201)["number"] == "B-014"  # none burned
    finally:
        sse.close()


@pytest.mark.parametrize("db", [pytest.param("postgres", marks=pytest.mark.postgres), None])
def test_waiting_counts_follow_every_transition(backoffice_factory, db):
    """The trigger-kept counts behind the people-ahead of issuing (migrations 0201 and 0560)
    equal a real count after issuing, calling, holding, resuming, transferring, no-shows
    and cancelling, on PostgreSQL and SQLite."""
    server = backoffice_factory.start(db)
    staff = server.session("staff")
    a = [ok(issue(server, service="certificates"), 201) for _ in range(4)]
    p = ok(issue(server, service="certificates", priority="priority"), 201)
    assert p["people_ahead"] == 0 and a[3]["people_ahead"] == 3
    m = ok(issue(server, service="moving"), 201)
    ok(staff.post(server.api(f"/tickets/{a[0]['id']}/hold")))
    ok(staff.post(server.api(f"/tickets/{a[1]['id']}/transfer"), json={"service": "moving"}))
    ok(staff.post(server.api(f"/tickets/{m['id']}/transfer"), json={"service": "certificates"}))
    ok(staff.post(server.api(f"/tickets/{a[2]['id']}/cancel")))
    ok(staff.post(server.api(f"/tickets/{a[0]['id']}/resume")))
    called = ok(staff.post(server.api("/wards/kita/counters/1/call-next")))
    ok(staff.post(server.api(f"/tickets/{called['id']}/no-show")))
    kept = set(_rows(server, "SELECT ward, service, rank, n FROM waiting_counts WHERE n > 0"))
    real = set(_rows(server, "SELECT ward, service, rank, count(*) FROM tickets "
                             "WHERE status = 'waiting' GROUP BY 1, 2, 3"))
    assert kept == real and real
    t = ok(issue(server, service="certificates"), 201)
    queue = ok(staff.get(server.api("/wards/kita/queue")))
    waiting = next(s for s in queue["services"] if s["code"] == "certificates")["waiting"]
    assert t["people_ahead"] == len(waiting) - 1 and waiting[-1]["number"] == t["number"]


def _rows(server, sql):
    engine = sa.create_engine(server.db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql).all()]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_hot_path_stores_the_estimate_it_answers(backoffice_factory):
    """The hot path's one statement (ISSUE_PG_SHOWN) stores the estimate of each answer as
    the general path's INSERT does: same people ahead, same seconds (float8, round to even)."""
    server = backoffice_factory.start("postgres")
    tickets = [ok(issue(server, service=s), 201) for s in ("moving", "family") * 8]
    stored = _rows(server, "SELECT ticket_id, source, method, stage, people_ahead, "
                           "estimate_seconds, low_seconds, high_seconds FROM ticket_estimates "
                           "ORDER BY ticket_id")
    assert stored == [(t["id"], "issue", "learned", 0, t["people_ahead"],
                       t["estimated_wait_seconds"], None, None) for t in tickets]
    assert len({t["estimated_wait_seconds"] for t in tickets}) > 4
    assert "hot path failed" not in server.log_text()  # it did not fall back


@pytest.mark.postgres
def test_one_statement_issues_a_batch_as_one_by_one(backoffice_factory):
    """Concurrent kiosks, three services, two ranks: the batches (one set-based statement
    each, engine/issuing_batch.py) give every ticket the number, the people ahead and the
    stored estimate one statement per ticket in that order would have, and every event
    reaches the live stream (NOTIFYed as arrays of events)."""
    from concurrent.futures import ThreadPoolExecutor

    server = backoffice_factory.start("postgres")
    sse = SseReader(server.api("/events?ward=kita"), server.display_token)
    try:
        sse.next("snapshot")
        for service in ("moving", "family", "insurance"):
            ok(issue(server, service=service), 201)  # the caches filled
        jobs = [(s, p) for s in ("moving", "family", "insurance")
                for p in ("normal", "priority", "normal", "normal")] * 8
        with ThreadPoolExecutor(24) as pool:
            tickets = [ok(r, 201) for r in pool.map(
                lambda job: issue(server, service=job[0], priority=job[1]), jobs)]
        seen = {sse.next("ticket.issued")[1]["ticket"]["number"]
                for _ in range(len(jobs) + 3)}
        assert {t["number"] for t in tickets} <= seen
    finally:
        sse.close()
    rows = _rows(server, "SELECT id, service, number, rank, queue_at FROM tickets ORDER BY id")
    for service in ("moving", "family", "insurance"):
        mine = [r for r in rows if r[1] == service]
        assert [r[2] for r in mine] == list(range(1, len(mine) + 1))  # in id order, no gap
    by_id = {r[0]: r for r in rows}
    for t in tickets:
        me = by_id[t["id"]]
        before = [r for r in rows if r[1] == me[1] and r[0] < me[0]]
        assert t["people_ahead"] == sum(1 for r in before if r[3] < me[3] or (
            r[3] == me[3] and r[4] <= me[4])), t
    stored = _rows(server, "SELECT ticket_id, people_ahead, estimate_seconds "
                           "FROM ticket_estimates ORDER BY ticket_id")
    assert set(stored) >= {(t["id"], t["people_ahead"], t["estimated_wait_seconds"])
                           for t in tickets}
    tx, n = _rows(server, "SELECT count(DISTINCT xmin::text), count(*) FROM tickets")[0]
    assert tx < n - 10  # batches of several tickets
    log = server.log_text()
    assert "each alone" not in log and "hot path" not in log  # no batch fell back


@pytest.mark.postgres
def test_hot_path_batches_clerk_estimates(backoffice_factory):
    """With the "clerk" estimate (not arithmetic alone) the hot path batches the tickets by
    the statement without the estimate and stores their estimates one INSERT a batch: each
    answer's estimate and range stored once, with its people ahead."""
    from concurrent.futures import ThreadPoolExecutor

    server = backoffice_factory.start("postgres", config={"queue": {"estimator": "clerk"}})
    ok(issue(server, service="moving"), 201)  # the caches filled
    with ThreadPoolExecutor(16) as pool:
        tickets = [ok(r, 201) for r in pool.map(
            lambda s: issue(server, service=s), ("moving", "family") * 24)]
    first = min(t["id"] for t in tickets)
    stored = _rows(server, "SELECT ticket_id, source, method, people_ahead, estimate_seconds, "
                           "low_seconds IS NOT NULL FROM ticket_estimates "
                           f"WHERE ticket_id >= {first:d} ORDER BY ticket_id")
    assert stored == sorted((t["id"], "issue", "clerk", t["people_ahead"],
                             t["estimated_wait_seconds"], True) for t in tickets)
    log = server.log_text()
    assert "hot path" not in log and "each alone" not in log  # nothing fell back


@pytest.mark.postgres
def test_batch_arrays_quote_or_refuse(postgres_url):
    """issuing_batch.array_literal writes a batch's columns as array text that PostgreSQL
    reads back exactly; anything it cannot write keeps the batch off (ValueError: each
    ticket goes alone)."""
    from datetime import UTC, date, datetime

    import psycopg

    from kiosk.backoffice.engine.issuing_batch import array_literal

    texts = ["it's a \\ \"key\"", "NULL", "{a,b}", " ", "", "北区 ,x", None]
    numbers, floats = [7, -2, None, 2**40], [0.1, 300.0, 1e-7]
    times = [datetime(2026, 12, 5, 4, 5, 6, 7), datetime(2026, 12, 5), None]
    dsn = sa.engine.make_url(postgres_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(dsn) as conn:
        got = conn.execute(
            "SELECT CAST(%s AS varchar[]), CAST(%s AS bigint[]), CAST(%s AS float8[]), "
            "CAST(%s AS timestamp[]), CAST(%s AS date[])",
            [array_literal(v) for v in (texts, numbers, floats, times, [date(2026, 12, 5)])]
        ).fetchone()
    assert list(got) == [texts, numbers, floats, times, [date(2026, 12, 5)]]
    assert array_literal([]) == "{}"
    for bad in ("a\x00b", float("nan"), datetime(2026, 12, 5, tzinfo=UTC), b"x", [1], True):
        with pytest.raises(ValueError):
            array_literal([bad])


@pytest.mark.postgres
def test_batches_lock_number_rows_in_one_order(backoffice_factory):
    """Two server processes' batches took two services' number rows in opposite orders and
    deadlocked: PostgreSQL broke it after `deadlock_timeout` (1 s) — the p99 of 1,015 ms
    with two workers. The batch statement (engine/issuing_batch.py) locks them in (ward,
    service, day) order whatever order its tickets came in: one holding a later row never
    waits for an earlier one. Shown on the real database: while the batch [moving,
    certificates] waits for the certificates row (held elsewhere), the moving row is free;
    then both are issued, answered in the order asked."""
    import asyncio
    from functools import partial

    import psycopg
    from psycopg_pool import AsyncConnectionPool

    from kiosk.backoffice.engine import issuing_batch
    from kiosk.backoffice.fastpath import SQL
    from kiosk.backoffice.pgbatch import Batcher

    server = backoffice_factory.start("postgres")
    for service in ("certificates", "moving"):  # the number rows exist
        ok(issue(server, service=service), 201)
    dsn = sa.engine.make_url(server.db_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    day = _rows(server, "SELECT max(day) FROM ticket_sequences")[0][0]
    items = [_batch_item(service, day) for service in ("moving", "certificates")]

    async def scenario() -> list[object]:
        pool = AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False,
                                   kwargs={"autocommit": True})
        await pool.open(wait=True)
        try:
            with psycopg.connect(dsn) as blocker, psycopg.connect(dsn) as probe:
                blocker.execute("SELECT 1 FROM ticket_sequences WHERE service = 'certificates' "
                                "FOR UPDATE")
                batch = asyncio.create_task(Batcher(
                    pool, SQL, issuing_batch.sql(shown=False),
                    partial(issuing_batch.params, shown=False), 10)._together(items))
                for _ in range(200):  # until the batch waits for the certificates row
                    waiting = probe.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query LIKE 'WITH r AS%%'").fetchone()
                    probe.rollback()
                    if waiting and waiting[0]:
                        break
                    await asyncio.sleep(0.02)
                else:
                    raise AssertionError("the batch never waited for the certificates row")
                try:
                    probe.execute("SELECT 1 FROM ticket_sequences WHERE service = 'moving' "
                                  "FOR UPDATE NOWAIT")
                finally:
                    probe.rollback()
                    blocker.rollback()
                return list(await batch)
        finally:
            await pool.close()

    rows = asyncio.run(scenario())
    assert [r[2] for r in rows] == ["B-002", "A-002"]  # answered in the order asked
    assert [r[3] for r in rows] == [1, 1]  # the people ahead: the first ticket of each


@pytest.mark.postgres
def test_a_batch_notifies_its_events_in_arrays_below_the_limit(backoffice_factory):
    """A batch NOTIFYs its events as JSON arrays, cut below NOTIFY's 8,000-byte payload
    limit; each element is the event a single notification carries (the stored row's
    text with its id), and the listener publishes each in turn."""
    import asyncio
    import json
    from functools import partial

    import psycopg
    from psycopg_pool import AsyncConnectionPool

    from kiosk.backoffice.engine import issuing_batch
    from kiosk.backoffice.events import Hub, publish_payload
    from kiosk.backoffice.fastpath import SQL
    from kiosk.backoffice.pgbatch import Batcher

    server = backoffice_factory.start("postgres")
    ok(issue(server, service="moving"), 201)
    dsn = sa.engine.make_url(server.db_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    day = _rows(server, "SELECT max(day) FROM ticket_sequences")[0][0]
    items = [_batch_item(s, day) for s in ("moving", "certificates") * 30]

    async def scenario() -> list[str]:
        pool = AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False,
                                   kwargs={"autocommit": True})
        await pool.open(wait=True)
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as listen:
                await listen.execute("LISTEN ward_events")
                await Batcher(pool, SQL, issuing_batch.sql(shown=False),
                              partial(issuing_batch.params, shown=False), 100)._together(items)
                got: list[str] = []
                async for note in listen.notifies(timeout=2):
                    got.append(note.payload)
                return got
        finally:
            await pool.close()

    payloads = asyncio.run(scenario())
    assert len(payloads) > 1 and all(len(p.encode()) < 8000 for p in payloads)
    events = [e for p in payloads for e in json.loads(p)]
    # each carries the batch's one transaction id (kiosk.backoffice.event_order)
    assert len({e.pop("xid") for e in events}) == 1
    stored = _rows(server, "SELECT id, data FROM ticket_events WHERE type = 'ticket.issued' "
                           "ORDER BY id")[1:]
    assert events == [{"id": i, **json.loads(data)} for i, data in stored]
    assert [e["ticket"]["number"] for e in events] == (  # in (ward, service, day) order
        [f"A-{n:03d}" for n in range(1, 31)] + [f"B-{n:03d}" for n in range(2, 32)])
    hub, published = Hub(), []
    hub.watchers.append(published.append)
    for p in payloads:
        publish_payload(hub, p)
    assert published == events


def _batch_item(service, day):
    """One online ticket's bound parameters, as pg_issue_params builds them."""
    import json

    from kiosk.backoffice.clock import utcnow

    now = utcnow()  # stored times are naive UTC
    prefix = {"certificates": "A", "moving": "B"}[service]
    event = {"type": "ticket.issued", "at": now.isoformat(), "ward": "kita",
             "service": service, "counter": None, "ticket": {"id": 0, "number": ""},
             "data": {}}
    return {"ward": "kita", "service": service, "day": day, "prefix": prefix,
            "priority": "normal", "rank": 2, "language": "ja", "procedure": None,
            "application": None, "fee_yen": 0, "queue_at": now, "issued_at": now,
            "key": uuid.uuid4().hex, "digest": "x", "token": uuid.uuid4().hex,
            "block_id": None, "device_id": None, "staff_id": None, "actor": "test",
            "at": now, "event": json.dumps(event), "off_first": 901, "off_span": 1099,
            "channel": "ward_events"}


def test_base_url_remembered_per_host_as_starlette_builds_it():
    """FastTickets remembers each request's base URL (the status_url's, without a
    public_url) per scheme, server, root path and first Host header — a request with two
    Host headers cannot file its URL under the key of another."""
    from starlette.requests import Request

    from kiosk.backoffice.fastpath import FastTickets

    def scope(*hosts, scheme="http", root=""):
        return {"type": "http", "scheme": scheme, "server": ("127.0.0.1", 8000),
                "root_path": root, "path": "/api/v1/tickets", "query_string": b"",
                "headers": [(b"host", h) for h in hosts]}

    fast = FastTickets(None, None)
    cases = [scope(b"a.example"), scope(b"b.example"), scope(b"a.example", b"b.example"),
             scope(b"b.example", b"a.example"), scope(), scope(b"a.example", scheme="https"),
             scope(b"a.example", root="/ward")]
    for _ in range(2):
        for s in cases:
            assert fast._base_url(s) == str(Request(s).base_url)
    assert len(fast._bases) == 5


def test_batch_statement_stays_parsed_once():
    """psycopg parses a statement longer than 4,096 characters anew on every execute (its
    cache's limit): the batch statement stays below it (one more field in each event is
    room enough)."""
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH

    from kiosk.backoffice.engine import issuing_batch

    assert MAX_CACHED_STATEMENT_LENGTH == 4096
    assert all(len(issuing_batch.sql(shown)) < 4096 - 60 for shown in (True, False))


@pytest.mark.postgres
def test_a_connection_plans_its_batches_again_as_the_tables_grow(backoffice_factory):
    """The slow mode (docs/backoffice.md): a generic plan made while `tickets` was nearly
    empty read every ticket of the ward for each ticket issued until the first ANALYZE. So
    a hot-path connection drops its prepared statements after its 32nd, 128th, … batch
    (pgbatch.REPLAN_AT); psycopg forgets its own with them and prepares again — no batch
    fails on a statement that is gone."""
    import asyncio
    from functools import partial

    from psycopg_pool import AsyncConnectionPool

    from kiosk.backoffice.engine import issuing_batch
    from kiosk.backoffice.fastpath import SQL
    from kiosk.backoffice.pgbatch import REPLAN_AT, Batcher

    server = backoffice_factory.start("postgres")
    ok(issue(server, service="moving"), 201)
    dsn = sa.engine.make_url(server.db_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    day = _rows(server, "SELECT max(day) FROM ticket_sequences")[0][0]
    first = min(REPLAN_AT)

    async def scenario() -> list[int]:
        pool = AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False,
                                   kwargs={"autocommit": True})
        await pool.open(wait=True)
        batcher = Batcher(pool, SQL, issuing_batch.sql(shown=False),
                          partial(issuing_batch.params, shown=False), 100)
        prepared = []
        try:
            for _ in range(first + 7):
                await batcher._together([_batch_item(s, day) for s in ("moving", "certificates")])
                async with pool.connection() as conn:
                    cur = await conn.execute("SELECT count(*) FROM pg_prepared_statements")
                    prepared.append(int((await cur.fetchone())[0]))
        finally:
            await pool.close()
        return prepared

    prepared = asyncio.run(scenario())
    assert prepared[first - 2] >= 1  # prepared after a few batches …
    assert prepared[first - 1] == 0  # … dropped at the 32nd …
    assert prepared[-1] >= 1  # … and prepared again
    assert len(_rows(server, "SELECT id FROM tickets")) == 1 + 2 * (first + 7)
