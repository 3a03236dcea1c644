"""The fuller statistics (issue #22, kiosk/backoffice/stats.py) over simulated ward days:
`--days` office days of `--visitors` each, played through the real engine (the simulator's
driver) into a fresh database, then the wall time of computing every table for the
period, per ward and for both wards side by side (the central page's work).

    .venv/bin/python tests/bench/bench_statistics.py [--days 10] [--visitors 600]
                                                     [--db sqlite|postgres]

Prints the figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kiosk.backoffice import stats  # noqa: E402
from kiosk.backoffice.central import Period  # noqa: E402
from kiosk.backoffice.simulation import scenario  # noqa: E402
from kiosk.backoffice.simulation.cli import backoffice_for  # noqa: E402
from kiosk.backoffice.simulation.driver import Driver, use_counters  # noqa: E402
from tests.support.scratch import fresh_databases  # noqa: E402

FIRST = date(2026, 10, 5)  # a Monday


def office_days(n: int) -> list[date]:
    days, d = [], FIRST
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d += timedelta(days=1)
    return days


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--visitors", type=int, default=600)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    days = office_days(args.days)
    with fresh_databases(args.db, "bench-statistics-") as new_database:
        bo = backoffice_for(new_database())
        started = time.perf_counter()
        for i, d in enumerate(days):
            for ward in ("kita", "naka"):
                name = "monday" if d.weekday() == 0 else "normal"
                day = scenario.generate(bo.catalog, ward, name, visitors=args.visitors,
                                        seed=i * 2 + (ward == "naka"))
                day.date = d
                use_counters(bo, ward, day.shifts)
                Driver(bo, day).run()
        simulated = time.perf_counter() - started
        period = Period(days[0], days[-1])
        timings: dict[str, float] = {}
        found: dict[str, object] = {}
        for label, wards in (("ward", ["kita"]), ("central", ["kita", "naka"])):
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                found = stats.of_backoffice(bo, period, wards)
                best = min(best, time.perf_counter() - t0)
            timings[label] = round(best, 3)
        t0 = time.perf_counter()
        staff = stats.staff_figures(bo.engine, period, "kita", bo.tz, min_days=1)
        timings["staff"] = round(time.perf_counter() - t0, 3)
        bo.engine.dispose()
    summary = {r["ward"]: r for r in found["summary"]}  # type: ignore[index]
    tickets = sum(r["issued"] for r in summary.values())
    print(f"{len(days)} office days × 2 wards × {args.visitors} visitors: {tickets} tickets "
          f"(simulated in {simulated:.0f} s)")
    for w, r in summary.items():
        print(f"  {w}: p50 {r['p50_wait_seconds']} s, p90 {r['p90_wait_seconds']} s, "
              f"within target {r['within_target_share']}")
    print(f"statistics, one ward: {timings['ward']} s; both wards: {timings['central']} s; "
          f"per staff: {timings['staff']} s (best of {args.repeat})")
    print(json.dumps({"bench": "statistics", "db": args.db, "days": len(days),
                      "visitors_per_ward_day": args.visitors, "tickets": tickets,
                      "seconds": timings, "staff_completed": staff["ward_total"]["completed"]}))


if __name__ == "__main__":
    main()
