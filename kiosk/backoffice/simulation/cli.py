"""`python -m kiosk.backoffice simulate`: replay a ward day (a trace CSV or a generated
scenario) through the real engine on a simulated clock and print its figures.

    python -m kiosk.backoffice simulate --scenario monday [--visitors 3000] [--json]
    python -m kiosk.backoffice simulate --trace day.csv --date 2026-03-25 [--lunch-closing 0.5]

The database is a fresh SQLite file in a temporary folder unless --db names one (a fresh
PostgreSQL database works too: it is migrated first; never point it at a live office).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import asdict, replace
from datetime import date, time
from pathlib import Path
from typing import Any

from kiosk.backoffice.simulation import report, scenario
from kiosk.backoffice.simulation.day import Day, read_trace, write_trace


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", default="normal", choices=sorted(scenario.PROFILES),
                   help="a generated day (default: %(default)s)")
    p.add_argument("--trace", type=Path, help="replay this trace CSV instead "
                   "(docs/statistics.md §Trace)")
    p.add_argument("--date", type=date.fromisoformat, help="the trace's day (YYYY-MM-DD)")
    p.add_argument("--ward", default="kita")
    p.add_argument("--visitors", type=int, help="the day's visitors (default: the profile's)")
    p.add_argument("--counters", type=int, help="counters in all (default: sized to the "
                   "day's work at 90 %% busy)")
    p.add_argument("--lunch-closing", type=float, help="share of counters closed 12-13")
    p.add_argument("--estimator", choices=("learned", "clerk"), help="the served estimate")
    p.add_argument("--seed", type=int, default=22)
    p.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    p.add_argument("--write-trace", type=Path, help="also write the day as a trace CSV")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.add_argument("--what-if", metavar="SERVICE:N@HH:MM-HH:MM",
                   help="a staffing what-if on the ward's own history in --db (read only): "
                   "N counters of SERVICE in that window, e.g. certificates:4@09:00-11:00")
    p.add_argument("--weekday", type=int, choices=range(7), help="what-if: history days of "
                   "this weekday only (0 = Monday)")
    p.add_argument("--months", help="what-if: history days of these months, e.g. 3,4")


def build_day(catalog: Any, args: argparse.Namespace) -> Day:
    if args.trace is None:
        day = scenario.generate(catalog, args.ward, args.scenario, visitors=args.visitors,
                                seed=args.seed, counters=args.counters)
        if args.lunch_closing is not None:
            day.shifts = scenario.plan_counters(catalog, args.ward, day.arrivals,
                                                day.open_seconds, args.lunch_closing,
                                                counters=args.counters)
        return day
    hours = catalog.wards[args.ward].hours
    arrivals = [a for a in read_trace(args.trace, catalog, hours.opens) if a.ward == args.ward]
    day = Day(args.ward, args.date or date.today(), hours.opens, hours.closes, arrivals,
              name=args.trace.stem)
    day.shifts = scenario.plan_counters(catalog, args.ward, arrivals, day.open_seconds,
                                        args.lunch_closing or 0.0, counters=args.counters)
    return day


def backoffice_for(db_url: str, estimator: str | None = None) -> Any:
    """A migrated back-office context for a simulation (opening hours not enforced: the
    simulated day is whenever the day says)."""
    from kiosk.backoffice.config import load_settings
    from kiosk.backoffice.context import Backoffice
    from kiosk.backoffice.db import make_engine, migrate
    from kiosk.backoffice.seed import sync_catalog
    from kiosk.configfile import load_catalog

    migrate(db_url)
    catalog = load_catalog()
    settings = load_settings()
    queue = replace(settings.queue, enforce_opening_hours=False)
    if estimator is not None:
        queue = replace(queue, estimator=estimator)
    bo = Backoffice(db_url, replace(settings, queue=queue), catalog,
                    engine=make_engine(db_url, pool_size=2))
    sync_catalog(bo.engine, catalog)
    return bo


def scratch_url(root: Path) -> str:
    return f"sqlite:///{root}/simulated-day.sqlite3"


def scratch_root() -> Path:
    """A RAM-backed folder when there is one: the day's database need not touch a disk."""
    shm = Path("/dev/shm")  # noqa: S108 - mkdtemp makes a private folder in it
    return Path(tempfile.mkdtemp(prefix="ward-sim-", dir=shm if shm.is_dir() else None))


def what_if_main(args: argparse.Namespace) -> int:
    from kiosk.backoffice.config import load_settings
    from kiosk.backoffice.context import Backoffice
    from kiosk.backoffice.simulation.history import text, what_if
    from kiosk.configfile import load_catalog

    try:
        service, rest = args.what_if.split(":", 1)
        n, window = rest.split("@", 1)
        start, end = (time.fromisoformat(x) for x in window.split("-", 1))
        months = {int(x) for x in args.months.split(",")} if args.months else None
    except ValueError:
        print("--what-if wants SERVICE:N@HH:MM-HH:MM and --months like 3,4", file=sys.stderr)
        return 2
    if args.db is None:
        print("--what-if reads the ward's history: give --db", file=sys.stderr)
        return 2
    bo = Backoffice(args.db, load_settings(), load_catalog())
    try:
        found = what_if(bo, args.ward, service, int(n), start, end, args.weekday, months)
    finally:
        bo.engine.dispose()
    print(json.dumps(asdict(found), default=str, ensure_ascii=False) if args.json
          else text(found))
    return 0


def main(args: argparse.Namespace) -> int:
    from kiosk.backoffice.simulation.driver import Driver, use_counters

    if args.what_if:
        return what_if_main(args)

    root = scratch_root()
    try:
        bo = backoffice_for(args.db or scratch_url(root), args.estimator)
        day = build_day(bo.catalog, args)
        if args.write_trace:
            write_trace(args.write_trace, day.arrivals, day.opens)
        use_counters(bo, day.ward, day.shifts)
        figures = report.day_report(Driver(bo, day).run())
        bo.engine.dispose()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(figures, ensure_ascii=False) if args.json else report.text(figures))
    return 0
