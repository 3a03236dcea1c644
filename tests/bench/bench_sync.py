"""Sync benchmark: queue tickets offline, reconnect, time the drain; and the added
latency of the local store + outbox on an online ticket.

    .venv/bin/python tests/bench/bench_sync.py [--quick] [--tickets N] [--single]
                                               [--db sqlite|postgres]

Runs a real back-office subprocess (SQLite, or a private PostgreSQL cluster) on a free
port, a kiosk link going through the TCP fault proxy (blackhole = offline). The drain
uploads offline tickets through POST /tickets/batch; `--single` measures the one request
per ticket path instead (what a back-office without the batch endpoint gets). Prints
figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from kiosk.sync import KioskLink, blocks  # noqa: E402
from kiosk.sync.link import API  # noqa: E402
from kiosk.sync.store import outbox  # noqa: E402
from tests.support.backoffice import ServerFactory  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402
from tests.sync.faultproxy import FaultProxy  # noqa: E402
from tests.sync.helpers import juminhyo, settings  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def tickets_pending(link: KioskLink) -> int:
    # Only tickets: the withdrawal of the one lost online request waits out its grace.
    with link.store.read() as conn:
        return len(conn.execute(outbox.select().where(outbox.c.kind == "ticket",
                                                       outbox.c.dead.is_(False))).all())


def reserve(link: KioskLink, n: int) -> None:
    day = link.now().date().isoformat()
    while link.status().offline_numbers_left.get("certificates", 0) < n:
        answer = link.client.post(f"{API}/number-blocks",
                                  {"service": "certificates", "day": day, "size": 200})
        with link.store.write() as conn:
            blocks.add_block(conn, answer)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a small run (proves it works)")
    ap.add_argument("--tickets", type=int, default=500)
    ap.add_argument("--online", type=int, default=200)
    ap.add_argument("--single", action="store_true",
                    help="drain with one request per ticket (no batch upload)")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = ap.parse_args()
    n_offline = 50 if args.quick else args.tickets
    n_online = 20 if args.quick else args.online

    root = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    cluster = None
    if args.db == "postgres":
        pg_root = Path(tempfile.mkdtemp(prefix="bench-sync-pg-"))
        pg_root.chmod(0o755)      # the postgres user runs the server when we are root
        cluster = PostgresCluster(pg_root)
        cluster.start()
    factory = ServerFactory(root, cluster=cluster)
    server = factory.start("postgres" if cluster is not None else None)
    proxy = FaultProxy("127.0.0.1", server.port)
    link = KioskLink(settings(root, proxy.url, token=server.kiosk_token, issue_timeout=2.0))
    link.sender.batch_upload = not args.single
    figures: dict[str, Any] = {"bench": "sync", "offline_tickets": n_offline, "db": args.db,
                               "drain": "single" if args.single else "batch"}
    try:
        reserve(link, n_offline)
        app = juminhyo()

        # --- 1. online tickets: with the store + outbox vs the bare HTTP request ------
        for _ in range(5):   # warm up connections and the server
            link.issue_ticket("certificates", "juminhyo", app)
        with_store: list[float] = []
        bare: list[float] = []
        store_only: list[float] = []
        for i in range(n_online):
            t0 = time.perf_counter()
            link.issue_ticket("certificates", "juminhyo", app)
            with_store.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            link.client.post(f"{API}/tickets", {"service": "certificates",
                                                "procedure": "juminhyo", "language": "ja",
                                                "priority": "normal",
                                                "application": app.to_dict()},
                             idempotency_key=f"bench-bare-{i:06d}-{time.time_ns()}")
            bare.append(time.perf_counter() - t0)
        # The local part alone: the ticket + sealed outbox row, then the acknowledgement.
        for i in range(n_online):
            key = f"bench-local-{i:06d}-{time.time_ns()}"
            body = {"service": "certificates", "procedure": "juminhyo", "language": "ja",
                    "priority": "normal"}
            t0 = time.perf_counter()
            with link.store.write() as conn:
                link._insert_ticket(conn, key, body, link.now(), app.to_dict(),
                                    not_before=1e18)
            link._issued_online(key, body, {"number": "A-999", "id": 0})
            store_only.append(time.perf_counter() - t0)
        figures.update(
            online_p50_ms=round(statistics.median(with_store) * 1000, 2),
            online_p99_ms=round(pct(with_store, 99) * 1000, 2),
            bare_http_p50_ms=round(statistics.median(bare) * 1000, 2),
            added_latency_p50_ms=round((statistics.median(with_store)
                                        - statistics.median(bare)) * 1000, 2),
            store_outbox_p50_ms=round(statistics.median(store_only) * 1000, 2),
            store_outbox_p99_ms=round(pct(store_only, 99) * 1000, 2),
        )

        # --- 2. offline burst, then reconnect and drain ---------------------------------
        proxy.set_mode("blackhole")
        link.issue_ticket("certificates", "juminhyo", app)   # finds out it is offline
        issue: list[float] = []
        for _ in range(n_offline - 1):
            t0 = time.perf_counter()
            link.issue_ticket("certificates", "juminhyo", app)
            issue.append(time.perf_counter() - t0)
        pending = tickets_pending(link)
        proxy.set_mode("pass")
        link.sender.requests.clear()
        timed = link.client.post
        request_s: list[float] = []

        def post(*a: Any, **kw: Any) -> Any:   # how long the back-office takes per request
            t = time.perf_counter()
            try:
                return timed(*a, **kw)
            finally:
                request_s.append(time.perf_counter() - t)
        link.client.post = post  # type: ignore[method-assign]
        t0 = time.perf_counter()
        while tickets_pending(link) > 0 and time.perf_counter() - t0 < 120:
            link.sync_now(budget_s=60)
        drain = time.perf_counter() - t0
        figures.update(
            offline_issue_p50_ms=round(statistics.median(issue) * 1000, 2),
            offline_issue_p99_ms=round(pct(issue, 99) * 1000, 2),
            queued=pending, left_after_drain=tickets_pending(link),
            drain_seconds=round(drain, 3),
            drain_tickets_per_s=round(pending / drain, 1) if drain else None,
            drain_requests=dict(link.sender.requests),
            drain_request_p50_ms=round(statistics.median(request_s) * 1000, 1),
            drain_request_max_ms=round(max(request_s) * 1000, 1),
        )
    finally:
        link.stop()
        proxy.close()
        factory.close()
        if cluster is not None:
            cluster.stop()

    print(f"online ticket p50 {figures['online_p50_ms']} ms (bare HTTP "
          f"{figures['bare_http_p50_ms']} ms): added {figures['added_latency_p50_ms']} ms; "
          f"store+outbox alone p50 {figures['store_outbox_p50_ms']} ms, "
          f"p99 {figures['store_outbox_p99_ms']} ms")
    print(f"offline ticket p50 {figures['offline_issue_p50_ms']} ms, "
          f"p99 {figures['offline_issue_p99_ms']} ms")
    print(f"drained {figures['queued']} queued tickets in {figures['drain_seconds']} s "
          f"({figures['drain_tickets_per_s']} tickets/s) in {figures['drain_requests']} "
          f"requests ({figures['drain']}, {figures['db']}; request p50 "
          f"{figures['drain_request_p50_ms']} ms, max {figures['drain_request_max_ms']} ms), "
          f"left {figures['left_after_drain']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
