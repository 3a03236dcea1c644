"""Wait estimates compared on simulated ward days (issue #22): ZMS's static method, the
current learned estimate and the clerk estimate, on the same days through the real engine
(kiosk.backoffice.simulation): a normal day, a Monday peak, a March peak and a day with half
the counters closing at lunch. Each day starts on a fresh database and runs with the
learned estimate served; every method is asked at each issue for that ticket's wait,
compared with its wait to the first call.
The same weekday one week before (`--history`, other draws) is simulated first on the same
database: an office has a history to learn service times from.

    .venv/bin/python tests/bench/bench_estimates.py [--visitors 600] [--seed 22]
                                                    [--db sqlite|postgres]

Goals: the clerk estimate's MAE ≤ 0.5 × the static method's on each day; ≥ 80 % of actual
waits inside its range. Prints a table, then one JSON line with each method's error per day.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kiosk.backoffice.simulation import report, scenario  # noqa: E402
from kiosk.backoffice.simulation.cli import backoffice_for  # noqa: E402
from kiosk.backoffice.simulation.compare import METHODS, Comparison  # noqa: E402
from kiosk.backoffice.simulation.driver import Driver, use_counters  # noqa: E402
from tests.support.scratch import fresh_databases  # noqa: E402

DAYS = ("normal", "monday", "march", "lunch")


def run_day(url: str, name: str, args: argparse.Namespace) -> dict[str, Any]:
    bo = backoffice_for(url)
    base = scenario.PROFILES[name]
    visitors = round(args.visitors * base.factor) if args.visitors else None
    day = scenario.generate(bo.catalog, "kita", name, visitors=visitors, seed=args.seed)
    use_counters(bo, day.ward, day.shifts)
    for back in range(args.history, 0, -1):  # the same weekday of earlier weeks: history
        before = scenario.generate(bo.catalog, "kita", name, visitors=visitors,
                                   seed=args.seed + 100 * back)
        before.date -= timedelta(days=7 * back)
        before.shifts = day.shifts
        Driver(bo, before).run()
    comparison = Comparison()
    d = Driver(bo, day, observers=[comparison]).run()
    figures = report.day_report(d)
    bo.engine.dispose()
    return {"day": name, "visitors": len(day.arrivals), "counters": figures["counters"],
            "wait_p50_min": figures["waits"]["p50_min"],
            "wait_p90_min": figures["waits"]["p90_min"],
            "methods": comparison.summary(), "wall_seconds": figures["wall_seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=600,
                        help="a base day's visitors (a profile scales it)")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--days", default=",".join(DAYS))
    parser.add_argument("--history", type=int, default=1,
                        help="earlier weeks' same day simulated first (the learned history)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    with fresh_databases(args.db, "bench-estimates-") as new_database:
        runs = [run_day(new_database(), name, args) for name in args.days.split(",")]
    print(f"{'day':<8}{'visitors':>9}{'p90':>6}  " + "".join(
        f"{m + ' MAE / bias / ±5':>28}" for m in METHODS) + f"{'in range':>10}{'clerk÷static':>14}")
    goals = []
    for r in runs:
        ms = r["methods"]
        cells = "".join(f"{ms[m]['mae_min']:>12} /{ms[m]['bias_min']:>6} /{ms[m]['within_5min']:>6}"
                        for m in METHODS)
        ratio = ms["clerk"]["vs_static"]
        goals.append(ratio is not None and ratio <= 0.5)
        print(f"{r['day']:<8}{r['visitors']:>9}{r['wait_p90_min']:>6}  {cells}"
              f"{ms['clerk']['in_range']:>10}{ratio:>14}")
    in_range = [r["methods"]["clerk"]["in_range"] for r in runs]
    print(f"clerk MAE ≤ 0.5 × static on each day: {'met' if all(goals) else 'MISSED'}; "
          f"range holds ≥ 80 %: {'met' if all(x >= 0.8 for x in in_range) else 'MISSED'}")
    print(json.dumps({"bench": "estimates", "db": args.db, "seed": args.seed,
                      "base_visitors": args.visitors, "days": runs}, ensure_ascii=False))


if __name__ == "__main__":
    main()
