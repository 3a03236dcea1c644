"""Central office (本庁) figures: how long the SQL takes over a city's year of tickets.

    .venv/bin/python tests/bench/bench_central.py [--quick] [--days N] [--per-day N]
                                                  [--db sqlite|postgres|both]

Fills a fresh database (SQLite file and/or a private PostgreSQL cluster) with `days` office
days of tickets for every ward of the catalog (`per-day` per ward and day, with their
first-call events), then times `kiosk.backoffice.central`: the waits now, a day's, a
month's and the whole range's figures (median of 5). Prints the figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sqlalchemy import Engine, insert  # noqa: E402

from kiosk.backoffice import central  # noqa: E402
from kiosk.backoffice import models as m  # noqa: E402
from kiosk.backoffice.db import make_engine, migrate  # noqa: E402
from kiosk.backoffice.seed import sync_catalog  # noqa: E402
from kiosk.configfile import load_catalog  # noqa: E402

LAST_DAY = date(2026, 11, 20)
STATES = ["done"] * 85 + ["no_show"] * 6 + ["cancelled"] * 4 + ["held"] * 5


def fill(engine: Engine, days: int, per_day: int) -> int:
    catalog = load_catalog()
    rng = random.Random(5)
    procedures: dict[str, list[str | None]] = {}
    for p in catalog.procedures.values():
        procedures.setdefault(p.service, []).append(p.code)
    next_id = 1
    for offset in range(days):
        day = LAST_DAY - timedelta(days=offset)
        opening = datetime(day.year, day.month, day.day, 0, 0)  # 09:00 JST as naive UTC
        tickets: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for ward in catalog.wards.values():
            numbers: dict[str, int] = {}
            for _ in range(per_day):
                service = rng.choice(ward.services)
                numbers[service] = numbers.get(service, 0) + 1
                issued = opening + timedelta(seconds=rng.randint(0, 8 * 3600))
                status = rng.choice(STATES)
                wait = rng.expovariate(1 / 900) if status != "cancelled" else None
                called = issued + timedelta(seconds=wait) if wait is not None else None
                tickets.append({
                    "id": next_id, "ward": ward.code, "origin_service": service,
                    "service": service, "day": day, "number": numbers[service],
                    "label": f"{service[0].upper()}-{numbers[service]:03d}",
                    "priority": "normal", "rank": 1, "language": "ja",
                    "procedure": rng.choice(procedures.get(service, [None])),
                    "status": status, "queue_at": issued, "issued_at": issued,
                    "called_at": called, "idempotency_key": uuid.uuid4().hex,
                    "request_hash": "bench", "status_token": uuid.uuid4().hex})
                if called is not None:
                    events.append({"ticket_id": next_id, "ward": ward.code, "service": service,
                                   "type": "ticket.called", "at": called, "counter": 1,
                                   "data": "{}"})
                next_id += 1
        with engine.begin() as conn:
            conn.execute(insert(m.tickets), tickets)
            if events:
                conn.execute(insert(m.ticket_events), events)
    return next_id - 1


def median_ms(fn: Any, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def measure(url: str, days: int, per_day: int, label: str) -> dict[str, Any]:
    migrate(url)
    engine = make_engine(url, pool_size=2)
    catalog = load_catalog()
    try:
        sync_catalog(engine, catalog)
        start = time.perf_counter()
        count = fill(engine, days, per_day)
        fill_s = round(time.perf_counter() - start, 1)
        if not url.startswith("sqlite"):
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        month = min(days, 30)
        out = {
            f"{label}_tickets": count, f"{label}_fill_s": fill_s,
            f"{label}_now_ms": median_ms(lambda: central.now_figures(
                engine, catalog, datetime(2026, 11, 20, 3))),
            f"{label}_day_ms": median_ms(lambda: central.period_figures(
                engine, catalog, central.Period(LAST_DAY, LAST_DAY))),
            f"{label}_month_ms": median_ms(lambda: central.period_figures(
                engine, catalog, central.Period(LAST_DAY - timedelta(days=month - 1), LAST_DAY))),
            f"{label}_all_ms": median_ms(lambda: central.period_figures(
                engine, catalog, central.Period(LAST_DAY - timedelta(days=days - 1), LAST_DAY)),
                runs=3),
        }
    finally:
        engine.dispose()
    for key, value in out.items():
        print(f"{key:>24}: {value}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (5 days, SQLite)")
    parser.add_argument("--days", type=int, default=245, help="office days (245 ≈ a year)")
    parser.add_argument("--per-day", type=int, default=400, help="tickets per ward and day")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    days, per_day, db = (5, 50, "sqlite") if args.quick else (args.days, args.per_day, args.db)
    figures: dict[str, Any] = {"days": days, "per_day_per_ward": per_day}
    print(f"{days} office days, {per_day} tickets per ward and day", flush=True)
    root = Path(tempfile.mkdtemp(prefix="bench-central-"))
    root.chmod(0o755)  # the postgres user must reach its cluster below
    try:
        if db in ("sqlite", "both"):
            figures.update(measure(f"sqlite:///{root / 'central.db'}", days, per_day, "sqlite"))
        if db in ("postgres", "both"):
            from tests.support.postgres import scratch_database

            with scratch_database(root) as url:
                figures.update(measure(url, days, per_day, "postgres"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps({"bench": "central", **figures}))


if __name__ == "__main__":
    main()
