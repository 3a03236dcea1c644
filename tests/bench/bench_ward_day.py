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
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kiosk.backoffice.simulation import report, scenario  # noqa: E402
from kiosk.backoffice.simulation.cli import backoffice_for, scratch_root  # noqa: E402
from kiosk.backoffice.simulation.driver import Driver, use_counters  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=3000)
    parser.add_argument("--scenario", default="monday", choices=sorted(scenario.PROFILES))
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    root = scratch_root()
    cluster = None
    try:
        if args.db == "postgres":
            (root / "pg").mkdir()
            (root / "pg").chmod(0o755)
            cluster = PostgresCluster(root / "pg")
            cluster.start()
        url = (cluster.create_database() if cluster is not None
               else f"sqlite:///{root}/day.sqlite3")
        bo = backoffice_for(url)
        day = scenario.generate(bo.catalog, "kita", args.scenario, visitors=args.visitors,
                                seed=args.seed)
        use_counters(bo, day.ward, day.shifts)
        figures = report.day_report(Driver(bo, day).run())
        bo.engine.dispose()
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(report.text(figures))
    goal = figures["wall_seconds"] <= 10
    print(f"{figures['visitors']} visitors in {figures['wall_seconds']} s; goal ≤ 10 s: "
          f"{'met' if goal else 'MISSED'}")
    print(json.dumps({"bench": "ward_day", "db": args.db, **figures}, ensure_ascii=False))


if __name__ == "__main__":
    main()
