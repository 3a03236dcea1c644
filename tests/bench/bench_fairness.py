"""Appointments mixed with walk-ins on a simulated office day (issue #19): how near its
time an appointment is called, and how much longer walk-ins wait because of them, under
the fairness rule (kiosk.domain.appointments.queued_at: an appointment queues as if it had
come `lead_minutes` before its slot, in the walk-ins' rank) against "appointments first"
(a rank of their own) and against no appointments at all.

One service (証明書の発行 of config/catalog.toml: its slot length, capacity and counters),
08:45-17:15, walk-ins arriving at random (Poisson), service times exponential around the
catalog's mean, appointments filling a share of the slots and checking in up to 20 minutes
early or a few minutes late. The same random day for every policy. Prints the figures;
the last line is one JSON object.

    python tests/bench/bench_fairness.py [--quick] [--days N] [--seed S]
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kiosk.backoffice.config import load_settings
from kiosk.configfile import load_catalog
from kiosk.domain.appointments import queued_at, slot_starts

DAY = datetime(2026, 12, 7)


def simulate(rng: random.Random, policy: str, *, walk_per_hour: float, fill: float,
             counters: int, service_minutes: float, lead: int) -> dict[str, list[float]]:
    catalog = load_catalog()
    ward = catalog.wards["kita"]
    rules = catalog.services["certificates"].appointments
    assert rules is not None
    cap = rules.capacity(service_minutes)
    opens = datetime.combine(DAY.date(), ward.hours.opens)
    closes = datetime.combine(DAY.date(), ward.hours.closes)
    people: list[tuple[datetime, datetime, str, datetime | None]] = []  # came, key, kind, slot
    t = opens
    while True:
        t += timedelta(hours=rng.expovariate(walk_per_hour))
        if t >= closes:
            break
        people.append((t, t, "walk", None))
    if policy != "none":
        for start in slot_starts(DAY.date(), ward.hours, rules):
            slot = datetime.combine(DAY.date(), start)
            for _ in range(cap):
                if rng.random() < fill:
                    came = slot + timedelta(minutes=rng.uniform(-20, 5))
                    key = (queued_at(came, slot, lead) if policy == "fair"
                           else datetime.min)  # "first": ahead of every walk-in
                    people.append((came, key, "appt", slot))
    people.sort(key=lambda p: p[0])
    services = [rng.expovariate(1 / service_minutes) for _ in people]
    free_at = [opens] * counters
    waiting: list[tuple[datetime, datetime, int]] = []
    out: dict[str, list[float]] = {"walk_wait": [], "appt_late": []}
    i, now = 0, opens
    while i < len(people) or waiting:
        counter = min(range(counters), key=lambda c: free_at[c])
        now = max(now, free_at[counter])
        while i < len(people) and people[i][0] <= now:
            came, key, _kind, _slot = people[i]
            heapq.heappush(waiting, (key, came, i))
            i += 1
        if not waiting:
            now = people[i][0]
            continue
        _key, came, j = heapq.heappop(waiting)
        kind, slot = people[j][2], people[j][3]
        called = max(now, came)
        if kind == "walk":
            out["walk_wait"].append((called - came).total_seconds() / 60)
        else:
            assert slot is not None
            out["appt_late"].append((called - slot).total_seconds() / 60)
        free_at[counter] = called + timedelta(minutes=services[j])
    return out


def stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "mean": None, "p90": None, "max": None}
    ordered = sorted(values)
    return {"n": len(values), "mean": round(sum(values) / len(values), 1),
            "p90": round(ordered[math.ceil(0.9 * len(ordered)) - 1], 1),
            "max": round(ordered[-1], 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--days", type=int, default=200)
    ap.add_argument("--seed", type=int, default=19)
    args = ap.parse_args()
    days = 20 if args.quick else args.days
    settings = load_settings().appointments
    catalog = load_catalog()
    svc = catalog.services["certificates"]
    rules = svc.appointments
    assert rules is not None
    counters = sum(1 for c in catalog.wards["kita"].counters if "certificates" in c.services)
    params = {"walk_per_hour": 14.0, "fill": 0.6, "counters": counters,
              "service_minutes": svc.default_service_minutes, "lead": settings.lead_minutes}
    runs = {}
    for policy in ("none", "fair", "first"):
        merged: dict[str, list[float]] = {"walk_wait": [], "appt_late": []}
        for d in range(days):
            day = simulate(random.Random(args.seed * 1000 + d), policy, **params)
            for k in merged:
                merged[k] += day[k]
        runs[policy] = {"walk_in_wait_minutes": stats(merged["walk_wait"]),
                        "appointment_called_after_slot_minutes": stats(merged["appt_late"])}
        print(f"{policy:6s} walk-in wait {runs[policy]['walk_in_wait_minutes']}  "
              f"appointment vs slot {runs[policy]['appointment_called_after_slot_minutes']}")
    cap = rules.capacity(svc.default_service_minutes)
    overtakers = cap * math.ceil((settings.lead_minutes + 5) / rules.slot_minutes)
    bound = round(overtakers * svc.default_service_minutes / counters, 1)
    print(f"bound: a walk-in is overtaken by at most {overtakers} appointments "
          f"≈ {bound} min of extra wait on average service times")
    print(json.dumps({"days": days, "params": params, "runs": runs,
                      "overtaking_bound_appointments": overtakers,
                      "overtaking_bound_minutes": bound}))


if __name__ == "__main__":
    main()
