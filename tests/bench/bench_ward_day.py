"""A ward day of 3,000 visitors through the simulator (issue #22): the wall time of
`python -m kiosk.backoffice simulate` without its start-up (migrations, imports). Goal
≤ 10 s on this machine; reported as measured.

    .venv/bin/python tests/bench/bench_ward_day.py [--visitors 3000] [--scenario monday]
                                                   [--db sqlite|postgres]

Prints the day's figures, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kiosk.backoffice.simulation import report, scenario  # noqa: E402
from kiosk.backoffice.simulation.cli import backoffice_for  # noqa: E402
from kiosk.backoffice.simulation.driver import Driver, use_counters  # noqa: E402
from tests.support.scratch import fresh_databases  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=3000)
    parser.add_argument("--scenario", default="monday", choices=sorted(scenario.PROFILES))
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    with fresh_databases(args.db, "bench-ward-day-") as new_database:
        bo = backoffice_for(new_database())
        day = scenario.generate(bo.catalog, "kita", args.scenario, visitors=args.visitors,
                                seed=args.seed)
        use_counters(bo, day.ward, day.shifts)
        figures = report.day_report(Driver(bo, day).run())
        bo.engine.dispose()
    print(report.text(figures))
    goal = figures["wall_seconds"] <= 10
    print(f"{figures['visitors']} visitors in {figures['wall_seconds']} s; goal ≤ 10 s: "
          f"{'met' if goal else 'MISSED'}")
    print(json.dumps({"bench": "ward_day", "db": args.db, **figures}, ensure_ascii=False))


if __name__ == "__main__":
    main()
