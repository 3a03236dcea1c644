"""An 引越し-season day at one ward through the real back-office engine (issue #17): time in
office with ONE routed ticket per visit against ONE TICKET PER PROCEDURE (each a new ticket
from the back of its queue once the previous procedure is done, as before routed visits).

Driven by the ward-day simulator's driver (kiosk/backoffice/simulation/driver.py): a
discrete-event simulation on a simulated clock (no sleeping), every issue, call, start and
completion through `kiosk.backoffice.engine` on a real database — the queue order is the
engine's own. Visitors arrive over the office day (more in the morning and after
lunch); 40 % come for a life event (転入・転居・転出・出生 bundles of 2-5 procedures), the rest
for one procedure; service times are drawn per procedure around realistic minutes; every
counter calls the next ticket of its services as soon as it is free, the resident takes
`--walk` seconds to reach it. In the per-procedure mode the resident goes back to the kiosk
for the next ticket (`--reticket` seconds) — also run with 0 s, so the gain of the route
itself is shown apart from the saved kiosk trips.

    .venv/bin/python tests/bench/bench_life_event_day.py [--visitors 300] [--seed 17]
                                                        [--db sqlite|postgres]

Prints a table, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from datetime import date, time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kiosk.backoffice.simulation.day import Arrival, Day, Shift, stages_of  # noqa: E402
from kiosk.backoffice.simulation.driver import Driver, use_counters  # noqa: E402
from kiosk.backoffice.simulation.scenario import EVENT_SHARE, EVENTS, MINUTES  # noqa: E402
from tests.support.scratch import fresh_databases  # noqa: E402

# Minutes per procedure, life events as the kiosk bundles them and their shares: the
# simulator's scenario assumptions (kiosk/backoffice/simulation/scenario.py).
SINGLE = {"juminhyo": 0.35, "inkan": 0.15, "koseki": 0.15, "shotoku": 0.15, "tenkyo": 0.05,
          "kokuho_kanyu": 0.05, "jidoteate": 0.05, "kokuho_dattai": 0.05}
ROUTE_ORDER = ("moving", "insurance", "certificates")  # 住民記録 first, then the rest
# A season day's counters: (number, services).
COUNTERS = ((1, ("certificates",)), (2, ("certificates",)), (3, ("certificates",)),
            (4, ("moving",)), (5, ("moving",)), (6, ("moving",)), (7, ("moving",)),
            (8, ("moving", "insurance")), (9, ("insurance",)), (10, ("insurance",)),
            (11, ("insurance",)))
# Arrival weight per office hour from 08:45 (morning and after-lunch peaks).
HOURLY = (1.5, 1.6, 1.3, 0.8, 1.1, 1.2, 0.9, 0.6)


def make_day(n: int, seed: int, share: float, catalog: Any, mode: str) -> Day:
    """The day's visitors (the same for every mode: one seed): routed, consecutive
    procedures of one service are one stage; one ticket per procedure, each its own."""
    rng = random.Random(seed)
    hours = [h for h, w in enumerate(HOURLY) for _ in range(int(w * 10))]
    arrivals = []
    for _ in range(n):
        at = (rng.choice(hours) + rng.random()) * 3600
        if rng.random() < share:
            event = rng.choices(list(EVENT_SHARE), weights=list(EVENT_SHARE.values()))[0]
            must, maybe = EVENTS[event]
            extra = [p for p in maybe if rng.random() < 0.55]
            procs = (must + extra)[:5]
            while len(procs) < 2:  # a life event here bundles 2-5 procedures
                procs.append(next(p for p in maybe if p not in procs))
            procs.sort(key=lambda p: ROUTE_ORDER.index(catalog.procedures[p].service))
        else:
            event = None
            procs = [rng.choices(list(SINGLE), weights=list(SINGLE.values()))[0]]
        # minutes at the counter per procedure; each ticket adds a minute of its own
        mins = [rng.gammavariate(4, MINUTES[p] / 4) for p in procs]
        if mode == "routed":
            stages, per_stage = stages_of(catalog, procs, mins)
        else:
            stages = tuple((catalog.procedures[p].service, (p,)) for p in procs)
            per_stage = tuple(mins)
        arrivals.append(Arrival(at, "kita", stages, tuple(m + 1 for m in per_stage),
                                life_event=event if mode == "routed" else None))
    arrivals.sort(key=lambda a: a.at)
    shifts = [Shift(number, services, 0, 8.5 * 3600) for number, services in COUNTERS]
    return Day("kita", date(2026, 3, 31), time(8, 45), time(17, 15), arrivals, shifts)


def stats(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    if not values:
        return {"n": 0}
    p90 = values[max(0, -(-len(values) * 9 // 10) - 1)]
    return {"n": len(values), "mean_min": round(statistics.fmean(values) / 60, 1),
            "median_min": round(statistics.median(values) / 60, 1),
            "p90_min": round(p90 / 60, 1)}


def run_mode(url: str, args: argparse.Namespace, mode: str, reticket: float,
             stage_order: str) -> dict[str, Any]:
    from tests.backoffice.conftest import make_backoffice

    bo = make_backoffice(url, stage_order=stage_order)
    day = make_day(args.visitors, args.seed, args.share, bo.catalog, mode)
    use_counters(bo, day.ward, day.shifts)
    d = Driver(bo, day, walk=args.walk, reticket=None if mode == "routed" else reticket).run()
    bo.engine.dispose()
    # which visits are life events: the routed day knows; the per-procedure day has the
    # same visitors in the same order (one seed), so the routed day's flags apply
    routed_day = day if mode == "routed" else make_day(args.visitors, args.seed, args.share,
                                                      bo.catalog, "routed")
    events = [a.life_event for a in routed_day.arrivals]
    done = [(e, v.done - v.issued) for e, v in zip(events, d.visits, strict=True)
            if v.done is not None]
    life = [t for e, t in done if e]
    single = [t for e, t in done if not e]
    waits = [w for v in d.visits for w in v.waits]
    return {"mode": mode, "reticket_seconds": reticket, "stage_order": stage_order,
            "life_event_time_in_office": stats(life), "single_time_in_office": stats(single),
            "all_time_in_office": stats(life + single), "queue_waits": stats(waits),
            "unfinished": sum(1 for v in d.visits if v.done is None),
            "last_done_min": round(max(v.done or 0 for v in d.visits) / 60),
            "engine_ops": d.ops, "wall_seconds": round(d.wall_seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=300)
    parser.add_argument("--share", type=float, default=0.4, help="life-event share")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--walk", type=float, default=30.0)
    parser.add_argument("--reticket", type=float, default=90.0)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    plan = [("routed", 0.0, "issued"), ("routed", 0.0, "arrival"), ("routed", 0.0, "front"),
            ("per_procedure", args.reticket, "issued"), ("per_procedure", 0.0, "issued")]
    with fresh_databases(args.db, "bench-life-") as new_database:
        runs = [run_mode(new_database(), args, mode, reticket, order)
                for mode, reticket, order in plan]
    print(f"{args.visitors} visitors, {args.share:.0%} life events, {len(COUNTERS)} counters, "
          f"seed {args.seed}, {args.db}")
    print(f"{'mode':<15}{'re-ticket':>10}{'order':>9}  {'life event: mean / median / p90':>33}"
          f"  {'single: mean':>13}  {'all: mean':>10}  {'unfinished':>10}  {'wall':>6}")
    for r in runs:
        life, single = r["life_event_time_in_office"], r["single_time_in_office"]
        print(f"{r['mode']:<15}{r['reticket_seconds']:>9.0f}s{r['stage_order']:>9}  "
              f"{life['mean_min']:>14} / {life['median_min']:>6} / {life['p90_min']:>6} min"
              f"  {single['mean_min']:>9} min  {r['all_time_in_office']['mean_min']:>6} min"
              f"  {r['unfinished']:>10}  {r['wall_seconds']:>5}s")
    base = runs[3]["life_event_time_in_office"]["mean_min"]
    base0 = runs[4]["life_event_time_in_office"]["mean_min"]
    routed = runs[0]["life_event_time_in_office"]["mean_min"]
    saving = round(1 - routed / base, 3)
    saving0 = round(1 - routed / base0, 3)
    print(f"routed (stage_order=issued) vs one ticket per procedure: {saving:.1%} less time in "
          f"office for life-event visitors ({saving0:.1%} with no kiosk trip between tickets); "
          f"goal ≥ 30 %: {'met' if saving >= 0.30 else 'MISSED'}")
    print(json.dumps({"bench": "life_event_day", "visitors": args.visitors, "db": args.db,
                      "share": args.share, "seed": args.seed, "counters": len(COUNTERS),
                      "saving": saving, "saving_no_reticket": saving0, "runs": runs},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
