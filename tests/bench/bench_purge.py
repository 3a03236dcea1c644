"""How long the retention purge takes (kiosk/backoffice/retention.py).

Fills a back-office database with a day of tickets holding application records (90 %
finished, 10 % still open) on top of `--history` older tickets already purged, then times
a dry run, the purge after midnight (office day), and a second purge that finds nothing.
The purge works in batches of 500 tickets, one transaction each: on SQLite the write lock
is held for one batch at a time, so `per batch` is how long issuing may wait behind it.

    .venv/bin/python tests/bench/bench_purge.py [--quick] [--db sqlite|postgres|both]
                                                [--tickets 20000] [--history 100000]
                                                [--no-analyze]

Prints the figures, then one JSON line with them.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.backoffice import prepare_database  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402


def _fill(bo: Any, tickets: int, history: int, analyze: bool = True) -> None:
    from kiosk.backoffice import clock
    from kiosk.backoffice import models as m
    from kiosk.backoffice.db import writing

    now = clock.utcnow()
    today = clock.office_day(now, bo.tz)
    rows, events = [], []
    for i in range(history + tickets):
        old = i < history
        issued = now - timedelta(days=5, minutes=i % 600) if old else now - timedelta(hours=2)
        finished = old or i % 10 != 0
        app = None if old else {"procedure": "juminhyo", "identity": "card", "values": {
            "name": f"性能{i}太郎", "address": f"堺市北区性能町{i}", "birth_date": "1970-01-01",
            "copies": 1}}
        rows.append({
            "ward": "kita", "origin_service": "certificates", "service": "certificates",
            "day": clock.office_day(issued, bo.tz) if old else today, "number": i + 1,
            "label": f"A-{i + 1:03d}", "priority": "normal", "rank": 2, "language": "ja",
            "procedure": "juminhyo", "application": app, "fee_yen": 300,
            "status": "cancelled" if finished else "waiting", "queue_at": issued,
            "issued_at": issued, "idempotency_key": uuid.uuid4().hex,
            "request_hash": "purged" if old else uuid.uuid4().hex,
            "status_token": uuid.uuid4().hex + uuid.uuid4().hex,
            "application_purged_at": issued + timedelta(days=1) if old else None,
            "application_purge_reason": "finished" if old else None})
    t = m.tickets
    with writing(bo.engine) as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(t.insert(), rows[start:start + 5000])
        ids = conn.execute(t.select().with_only_columns(t.c.id, t.c.status, t.c.issued_at)
                           .order_by(t.c.id)).all()
        events = [{"ticket_id": r.id, "ward": "kita", "service": "certificates",
                   "type": "ticket.cancelled", "at": r.issued_at + timedelta(minutes=30),
                   "data": "{}"} for r in ids if r.status == "cancelled"]
        for start in range(0, len(events), 5000):
            conn.execute(m.ticket_events.insert(), events[start:start + 5000])
    if bo.is_pg and analyze:  # as autovacuum would have by then: the planner knows the tables
        with bo.engine.begin() as c:
            c.exec_driver_sql("ANALYZE tickets, ticket_events")


def _run(db_url: str, tickets: int, history: int, analyze: bool = True) -> dict[str, Any]:
    from kiosk.backoffice import clock, retention
    from kiosk.backoffice.config import load_settings
    from kiosk.backoffice.context import Backoffice
    from kiosk.configfile import load_catalog

    prepare_database(db_url)
    bo = Backoffice(db_url, load_settings(), load_catalog())
    try:
        t0 = time.perf_counter()
        _fill(bo, tickets, history, analyze)
        fill = time.perf_counter() - t0
        today = clock.office_day(clock.utcnow(), bo.tz)
        night = clock.to_utc(datetime.combine(today + timedelta(days=1), datetime.min.time(),
                                              tzinfo=bo.tz) + timedelta(minutes=30))
        t0 = time.perf_counter()
        dry = retention.purge(bo, now=night, dry_run=True)
        t_dry = time.perf_counter() - t0
        t0 = time.perf_counter()
        real = retention.purge(bo, now=night)
        t_real = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = retention.purge(bo, now=night)
        t_again = time.perf_counter() - t0
    finally:
        bo.engine.dispose()
    assert dry.tickets == real.tickets and again.tickets == 0
    batches = max(1, math.ceil(real.tickets / retention.BATCH))
    return {"db": "postgres" if "postgres" in db_url else "sqlite", "tickets": tickets,
            "history": history, "analyzed": analyze, "fill_s": round(fill, 2),
            "purged": real.tickets,
            "dry_run_s": round(t_dry, 3), "purge_s": round(t_real, 3),
            "per_second": round(real.tickets / t_real) if t_real else None,
            "per_batch_ms": round(1000 * t_real / batches, 1),
            "nothing_to_do_ms": round(1000 * t_again, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a small run (proves it works)")
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--tickets", type=int, default=20_000)
    ap.add_argument("--history", type=int, default=100_000)
    ap.add_argument("--no-analyze", action="store_true",
                    help="PostgreSQL: purge with the statistics of an empty table")
    args = ap.parse_args(argv)
    tickets, history = (1000, 2000) if args.quick else (args.tickets, args.history)
    root = Path(tempfile.mkdtemp(prefix="bench-purge-"))
    root.chmod(0o755)
    runs = []
    try:
        if args.db in ("sqlite", "both"):
            runs.append(_run(f"sqlite:///{root}/bo.sqlite3", tickets, history))
        if args.db in ("postgres", "both"):
            cluster = PostgresCluster(root / "pg")
            (root / "pg").mkdir()
            (root / "pg").chmod(0o755)
            cluster.start()
            try:
                runs.append(_run(cluster.create_database(), tickets, history,
                                 not args.no_analyze))
            finally:
                cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for r in runs:
        print(f"{r['db']:8} {r['tickets']:>7} tickets of the day + {r['history']:>7} purged "
              f"earlier: purged {r['purged']} in {r['purge_s']:.2f} s ({r['per_second']}/s, "
              f"{r['per_batch_ms']} ms per batch of 500); dry run {r['dry_run_s']:.2f} s; "
              f"nothing to do {r['nothing_to_do_ms']} ms")
    print(json.dumps({"runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
