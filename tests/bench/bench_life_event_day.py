"""An 引越し-season day at one ward through the real back-office engine (issue #17): time in
office with ONE routed ticket per visit against ONE TICKET PER PROCEDURE (each a new ticket
from the back of its queue once the previous procedure is done, as before routed visits).

A discrete-event simulation on an accelerated clock (no sleeping): the engine's `utcnow` is
the simulation's time, and every issue, call, start and completion goes through
`kiosk.backoffice.engine` (issuing, actions, visits) on a real database — the queue order
is the engine's own. Visitors arrive over the office day (more in the morning and after
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
import heapq
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kiosk.backoffice.principal import Principal  # noqa: E402
from tests.backoffice.conftest import kiosk  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402

# Minutes at the counter per procedure (mean; drawn from a gamma distribution, shape 4).
MINUTES = {"tennyu": 14, "tenkyo": 9, "tenshutsu": 7, "kokuho_kanyu": 9, "jidoteate": 8,
           "kokuho_dattai": 6, "juminhyo": 4, "inkan": 5, "koseki": 5, "shotoku": 4}
# Life events as bundles the kiosk derives (here fixed, with optional items by chance).
EVENTS = {
    "tennyu": (["tennyu"], ["kokuho_kanyu", "jidoteate", "juminhyo", "inkan"]),
    "tenkyo": (["tenkyo"], ["jidoteate", "juminhyo", "inkan"]),
    "tenshutsu": (["tenshutsu"], ["kokuho_dattai", "juminhyo", "koseki"]),
    "shussei": (["jidoteate"], ["kokuho_kanyu", "juminhyo"]),
}
EVENT_SHARE = {"tennyu": 0.45, "tenkyo": 0.25, "tenshutsu": 0.2, "shussei": 0.1}
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


@dataclass
class Visitor:
    vid: int
    arrive: float                   # seconds after opening
    procedures: list[str]           # in route order
    event: str | None
    first_issue: float | None = None
    done_at: float | None = None
    tickets: list[int] = field(default_factory=list)


def make_day(n: int, seed: int, share: float, catalog: Any) -> list[Visitor]:
    rng = random.Random(seed)
    hours = [h for h, w in enumerate(HOURLY) for _ in range(int(w * 10))]
    out = []
    for i in range(n):
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
        out.append(Visitor(i, at, procs, event))
    out.sort(key=lambda v: v.arrive)
    return out


def service_seconds(rng: random.Random, procedures: list[str]) -> float:
    return sum(rng.gammavariate(4, MINUTES[p] * 60 / 4) for p in procedures) + 60


class Sim:
    """One mode over one database: the clock, the event heap and the counters."""

    def __init__(self, bo: Any, visitors: list[Visitor], mode: str, reticket: float,
                 walk: float, seed: int) -> None:
        self.bo, self.mode, self.reticket, self.walk = bo, mode, reticket, walk
        self.visitors = visitors
        self.rng = random.Random(seed * 7 + 1)
        self.opening = datetime(2026, 3, 30, 23, 45)  # 08:45 JST on a Tuesday, naive UTC
        self.now = 0.0
        self.heap: list[tuple[float, int, str, Any]] = []
        self.seq = 0
        self.free = {n for n, _ in COUNTERS}
        self.by_ticket: dict[int, tuple[Visitor, list[str]]] = {}
        self.stages: dict[int, list[list[str]]] = {}
        self.waits: list[float] = []
        self.arrived: dict[tuple[int, int], float] = {}  # (ticket, stage) -> joined its queue
        self.ops = 0
        self.kiosk = kiosk(bo)
        self.clerk = Principal("staff", "kita", username="bench-clerk", role="staff")

    def clock(self) -> datetime:
        return self.opening + timedelta(seconds=self.now)

    def push(self, at: float, kind: str, data: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, self.seq, kind, data))

    def issue(self, v: Visitor, procedures: list[str]) -> None:
        from kiosk.backoffice.engine.issuing import TicketRequest, issue

        cat = self.bo.catalog
        if self.mode == "routed" and len(procedures) > 1:
            stages: list[list[str]] = []
            for p in procedures:
                if stages and cat.procedures[stages[-1][0]].service == cat.procedures[p].service:
                    stages[-1].append(p)
                else:
                    stages.append([p])
            route = [{"service": cat.procedures[s[0]].service, "procedures": s} for s in stages]
            req = TicketRequest(ward="kita", service=None, procedure=None, application=None,
                                priority="normal", language="ja", route=route,
                                life_event=v.event)
        else:
            stages = [procedures]
            req = TicketRequest(ward="kita", service=None, procedure=procedures[0],
                                application=None, priority="normal", language="ja")
        ticket, _ = issue(self.bo, self.kiosk, req, uuid.uuid4().hex, "")
        self.ops += 1
        if v.first_issue is None:
            v.first_issue = self.now
        v.tickets.append(ticket["id"])
        self.stages[ticket["id"]] = stages
        self.by_ticket[ticket["id"]] = (v, procedures)

    def call_free_counters(self) -> None:
        from kiosk.backoffice.engine.actions import call_next

        for number in sorted(self.free):
            ticket = call_next(self.bo, self.clerk, "kita", number, "")
            self.ops += 1
            if ticket is None:
                continue
            self.free.discard(number)
            seq = ticket.get("stage") or 1
            procs = self.stages[ticket["id"]][seq - 1]
            arrived = self.arrived.pop((ticket["id"], seq), None)
            if arrived is not None:
                self.waits.append(self.now - arrived)
            start = self.now + self.walk
            self.push(start, "start", ticket["id"])
            self.push(start + service_seconds(self.rng, procs), "complete",
                      (ticket["id"], number))

    def run(self) -> dict[str, Any]:
        from kiosk.backoffice.engine.actions import act

        for v in self.visitors:
            self.push(v.arrive, "arrive", v)
        started = time.perf_counter()
        while self.heap:
            self.now, _, kind, data = heapq.heappop(self.heap)
            if kind == "arrive":
                v = data
                todo = v.procedures if self.mode == "routed" else v.procedures[:1]
                self.issue(v, list(todo))
                self.arrived[(v.tickets[-1], 1)] = self.now
            elif kind == "start":
                act(self.bo, self.clerk, data, "start")
                self.ops += 1
                continue
            elif kind == "complete":
                ticket_id, number = data
                t = act(self.bo, self.clerk, ticket_id, "complete")
                self.ops += 1
                self.free.add(number)
                v, _ = self.by_ticket[ticket_id]
                if t["status"] == "waiting":  # a routed visit moved on to its next stage
                    self.arrived[(ticket_id, t["stage"])] = self.now
                elif self.mode == "per_procedure" and len(v.tickets) < len(v.procedures):
                    self.push(self.now + self.reticket, "reticket", v)
                else:
                    v.done_at = self.now
            elif kind == "reticket":
                v = data
                self.issue(v, [v.procedures[len(v.tickets)]])
                self.arrived[(v.tickets[-1], 1)] = self.now
            self.call_free_counters()
        return {"seconds": time.perf_counter() - started, "ops": self.ops}


def stats(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    if not values:
        return {"n": 0}
    p90 = values[max(0, -(-len(values) * 9 // 10) - 1)]
    return {"n": len(values), "mean_min": round(statistics.fmean(values) / 60, 1),
            "median_min": round(statistics.median(values) / 60, 1),
            "p90_min": round(p90 / 60, 1)}


def backoffice(url: str, stage_order: str) -> Any:
    from kiosk.domain.catalog import Counter
    from tests.backoffice.conftest import make_backoffice

    bo = make_backoffice(url, stage_order=stage_order)
    ward = bo.catalog.wards["kita"]
    counters = tuple(Counter(n, f"{n} 番窓口", s) for n, s in COUNTERS)
    bo.catalog = replace(bo.catalog, wards={**bo.catalog.wards,
                                            "kita": replace(ward, counters=counters)})
    return bo


def run_mode(url: str, args: argparse.Namespace, mode: str, reticket: float,
             stage_order: str) -> dict[str, Any]:
    from kiosk.backoffice.engine import actions, audit, issuing, lookups, views, visits

    bo = backoffice(url, stage_order)
    visitors = make_day(args.visitors, args.seed, args.share, bo.catalog)
    sim = Sim(bo, visitors, mode, reticket, args.walk, args.seed)
    with ExitStack() as stack:
        for module in (actions, audit, issuing, lookups, views, visits):
            stack.enter_context(mock.patch.object(module, "utcnow", sim.clock))
        perf = sim.run()
    bo.engine.dispose()
    life = [v.done_at - v.first_issue for v in visitors
            if v.event and v.done_at is not None and v.first_issue is not None]
    single = [v.done_at - v.first_issue for v in visitors
              if not v.event and v.done_at is not None and v.first_issue is not None]
    unfinished = sum(1 for v in visitors if v.done_at is None)
    return {"mode": mode, "reticket_seconds": reticket, "stage_order": stage_order,
            "life_event_time_in_office": stats(life), "single_time_in_office": stats(single),
            "all_time_in_office": stats(life + single), "queue_waits": stats(sim.waits),
            "unfinished": unfinished,
            "last_done_min": round(max(v.done_at or 0 for v in visitors) / 60),
            "engine_ops": perf["ops"], "wall_seconds": round(perf["seconds"], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=300)
    parser.add_argument("--share", type=float, default=0.4, help="life-event share")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--walk", type=float, default=30.0)
    parser.add_argument("--reticket", type=float, default=90.0)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-life-"))
    cluster = None
    try:
        if args.db == "postgres":
            (root / "pg").mkdir()
            (root / "pg").chmod(0o755)
            cluster = PostgresCluster(root / "pg")
            cluster.start()
        plan = [("routed", 0.0, "issued"), ("routed", 0.0, "arrival"), ("routed", 0.0, "front"),
                ("per_procedure", args.reticket, "issued"), ("per_procedure", 0.0, "issued")]
        runs = []
        for i, (mode, reticket, order) in enumerate(plan):
            url = (cluster.create_database() if cluster is not None
                   else f"sqlite:///{root}/day{i}.sqlite3")
            runs.append(run_mode(url, args, mode, reticket, order))
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
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
